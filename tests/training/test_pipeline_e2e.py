"""The pipeline end to end on the synthetic data set (37 sensors with other names, Pass/Fail, a timestamp
column, rows out of time order on disk): a complete, valid bundle, equal to the committed fixture bundle
(tests/fixtures/bundles/synthetic/, which the app's tests load), rebuilt from the cached evaluation in one
step, and the same from detection alone."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from training.export import onnx_predict
from training.pipeline import main

SYNTH = Path(__file__).resolve().parents[1] / "fixtures" / "synthetic"
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "bundles" / "synthetic"


def without_commit(model_json: bytes) -> dict:
    m = json.loads(model_json)
    m["training"].pop("commit")
    return m


def check_bundle(out: Path) -> dict:
    model = json.loads((out / "model.json").read_text())
    blob = (out / model["onnx"]["file"]).read_bytes()
    assert model["onnx"]["sha256"] == hashlib.sha256(blob).hexdigest()
    for entry in model["bundle"]["files"].values():
        assert hashlib.sha256((out / entry["file"]).read_bytes()).hexdigest() == entry["sha256"]
    golden = json.loads((out / "golden.json").read_text())
    assert golden["model_sha256"] == model["onnx"]["sha256"] and golden["features"] == model["features"]
    X = np.array([[np.nan if v is None else v for v in w["values"]] for w in golden["wafers"]])
    _, p = onnx_predict(blob, X)
    assert np.max(np.abs(p - np.array([w["probability"] for w in golden["wafers"]]))) <= 1e-5
    assert len(model["features"]) == 37 and model["features"][0] == "chamber_pressure_01"
    assert "rolling_origin" in model["metrics"] and model["training"]["from"] < model["training"]["to"]
    report = (out / "report.md").read_text()
    assert "FAST run" in report and "How well each protocol foresaw the next" in report
    return model


def test_synthetic_bundle_end_to_end_matches_the_fixture_and_the_cache(tmp_path: Path) -> None:
    out, again, cache = tmp_path / "a", tmp_path / "b", tmp_path / "evaluation.json"
    config = str(SYNTH / "synthetic.toml")
    base = ["--config", config, "--fast", "--jobs", "1"]
    assert main([*base, "--out", str(out), "--evaluation-out", str(cache)]) == 0
    model = check_bundle(out)
    assert model["label"]["fail_values"][0] == "Fail" and "wafer_id" in model["id_column_names"]
    assert model["aliases"]["chamber_pressure_01"] == ["chamber_pressure_01", "cp01", "Chamber Pressure 1"]
    # one step from the cached evaluation gives the same bundle
    assert main([*base, "--out", str(again), "--from-evaluation", str(cache)]) == 0
    for f in sorted(p.name for p in out.iterdir()):
        assert (out / f).read_bytes() == (again / f).read_bytes(), f
    # the committed fixture is this run's output (regenerate it with the command in the README)
    assert sorted(p.name for p in FIXTURE.iterdir()) == sorted(p.name for p in out.iterdir())
    for f in sorted(p.name for p in out.iterdir()):
        if f == "model.json":
            assert without_commit((out / f).read_bytes()) == without_commit((FIXTURE / f).read_bytes())
        else:
            assert (out / f).read_bytes() == (FIXTURE / f).read_bytes(), f


def test_detection_alone_trains_from_the_csv(tmp_path: Path) -> None:
    out = tmp_path / "d"
    args = ["--data", str(SYNTH / "synthetic.csv"), "--out", str(out), "--fast", "--jobs", "1"]
    assert main([*args, "--candidates", "logreg_l2,xgb_d2_reg"]) == 0
    model = check_bundle(out)
    assert model["training"]["source"] == "not stated"
