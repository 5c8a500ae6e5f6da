"""Fast end-to-end run of `python -m training.pipeline --fast` into a temp dir."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from training.export import onnx_predict
from training.pipeline import main


def test_fast_pipeline_end_to_end(tmp_path: Path, repo: Path) -> None:
    out = tmp_path / "out"
    assert main(["--fast", "--data-dir", str(repo / "training" / "data"), "--out-dir", str(out)]) == 0
    onnx_path = out / "public" / "models" / "secom-xgb.onnx"
    model = json.loads((out / "public" / "models" / "model.json").read_text())
    golden = json.loads((out / "tests" / "fixtures" / "golden.json").read_text())
    blob = onnx_path.read_bytes()
    assert model["onnx"]["sha256"] == hashlib.sha256(blob).hexdigest() == golden["model_sha256"]
    assert set(model) == set(json.loads((repo / "public" / "models" / "model.json").read_text()))
    X = np.array([[np.nan if v is None else v for v in w["values"]] for w in golden["wafers"]])
    _, p = onnx_predict(blob, X)
    assert np.max(np.abs(p - np.array([w["probability"] for w in golden["wafers"]]))) <= 1e-5
    probe = golden["edit_probe"]
    assert probe["feature"] in model["features"] and isinstance(probe["value"], str)
    report = (out / "training" / "reports" / "comparison.md").read_text()
    assert "FAST subset run" in report and "chosen" in report
    # reproducible: a second run gives identical artifacts
    out2 = tmp_path / "out2"
    assert main(["--fast", "--data-dir", str(repo / "training" / "data"), "--out-dir", str(out2)]) == 0
    for rel in (
        "public/models/secom-xgb.onnx",
        "public/models/model.json",
        "tests/fixtures/golden.json",
        "training/reports/comparison.md",
    ):
        assert (out / rel).read_bytes() == (out2 / rel).read_bytes(), rel
