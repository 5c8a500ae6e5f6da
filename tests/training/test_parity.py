"""The shipped ONNX agrees with XGBoost; a fresh export (with remapped features and a non-default
base score) agrees too."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import onnx
from sklearn.pipeline import Pipeline

from training.data_io import load_secom
from training.export import PARITY_TOL, check_parity, onnx_predict, serialize, to_onnx, xgb_predict
from training.models import BalancedXGB, SensorScreen


def golden(repo: Path) -> dict:
    return json.loads((repo / "tests" / "fixtures" / "golden.json").read_text())


def test_shipped_onnx_matches_golden(repo: Path) -> None:
    g = golden(repo)
    blob = (repo / "public" / "models" / "secom-xgb.onnx").read_bytes()
    assert hashlib.sha256(blob).hexdigest() == g["model_sha256"]
    model = json.loads((repo / "public" / "models" / "model.json").read_text())
    assert g["threshold"] == model["threshold"]["value"]
    assert g["features"] == model["features"]
    X = np.array([[np.nan if v is None else v for v in w["values"]] for w in g["wafers"]], dtype=np.float64)
    assert X.shape == (len(g["wafers"]), 590) and len(g["wafers"]) >= 30
    assert np.isnan(X).sum(axis=1).max() > 50, "golden set includes wafers with many missing values"
    labels = load_secom(repo / "training" / "data").y[[w["secom_index"] for w in g["wafers"]]]
    assert set(labels.tolist()) == {0, 1}
    label, p = onnx_predict(blob, X)
    expected = np.array([w["probability"] for w in g["wafers"]])
    assert np.max(np.abs(p - expected)) <= PARITY_TOL
    assert np.array_equal(p >= g["threshold"], expected >= g["threshold"])
    assert np.array_equal(label, (p > 0.5).astype(np.int64))
    assert len(g["sample"]["probabilities"]) == 100


def test_shipped_onnx_structure(repo: Path) -> None:
    m = onnx.load(str(repo / "public" / "models" / "secom-xgb.onnx"))
    onnx.checker.check_model(m)
    assert {o.domain: o.version for o in m.opset_import}["ai.onnx.ml"] == 3
    ops = [n.op_type for n in m.graph.node]
    assert "TreeEnsembleClassifier" in ops and "ZipMap" not in ops
    assert [i.name for i in m.graph.input] == ["input"]
    dims = m.graph.input[0].type.tensor_type.shape.dim
    assert dims[1].dim_value == 590
    assert [o.name for o in m.graph.output] == ["label", "probabilities"]
    assert m.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.INT64
    assert m.graph.output[1].type.tensor_type.elem_type == onnx.TensorProto.FLOAT


def test_fresh_export_parity_with_screening_and_base_score(repo: Path) -> None:
    d = load_secom(repo / "training" / "data")
    X, y = d.X[:500], d.y[:500]
    for base_score in (None, 0.2):
        est = Pipeline(
            [
                ("screen", SensorScreen(max_missing=0.3, max_mode_share=0.95)),
                (
                    "xgb",
                    BalancedXGB(
                        n_estimators=30, max_depth=3, n_jobs=1, random_state=0, base_score=base_score
                    ),
                ),
            ]
        ).fit(X, y)
        assert est.named_steps["screen"].keep_.size < 590
        blob = serialize(to_onnx(est))
        # all wafers, including ones with missing readings, plus a row of all-missing readings
        Xall = np.vstack([d.X, np.full((1, 590), np.nan)])
        diff = check_parity(est, blob, Xall, threshold=0.1)
        assert diff <= PARITY_TOL
        _, p = onnx_predict(blob, Xall)
        assert np.max(np.abs(p - xgb_predict(est, Xall))) <= PARITY_TOL


def test_edit_probe_matches_shipped_onnx(repo: Path) -> None:
    """The e2e test edits one cell of the sample CSV in the browser; the expected probability is here."""
    from training.data_io import FEATURES, read_wafer_csv

    g = golden(repo)
    probe = g["edit_probe"]
    assert set(probe) == {"row", "feature", "value", "probability"}
    assert isinstance(probe["row"], int) and isinstance(probe["value"], str)
    assert re.fullmatch(r"-?\d+(\.\d+)?", probe["value"]), "formatted like the file's numbers"
    blob = (repo / "public" / "models" / "secom-xgb.onnx").read_bytes()
    _, Xs = read_wafer_csv(repo / "tests" / "fixtures" / "wafer" / g["sample"]["file"])
    assert 0 <= probe["row"] < Xs.shape[0]
    j = FEATURES.index(probe["feature"])
    Xe = Xs[probe["row"] : probe["row"] + 1].copy()
    assert not float(probe["value"]) == Xe[0, j], "the edit changes the cell"
    Xe[0, j] = float(probe["value"])
    _, p_before = onnx_predict(blob, Xs[probe["row"] : probe["row"] + 1])
    _, p_after = onnx_predict(blob, Xe)
    assert abs(float(p_after[0]) - probe["probability"]) <= PARITY_TOL
    assert abs(float(p_before[0]) - g["sample"]["probabilities"][probe["row"]]) <= PARITY_TOL
    assert abs(float(p_after[0]) - float(p_before[0])) >= 0.1
    # the value lies inside the sensor's training range
    stats = json.loads((repo / "public" / "models" / "model.json").read_text())["sensors"][probe["feature"]]
    assert stats["min"] <= float(probe["value"]) <= stats["max"]


def test_git_commit_marks_dirty_training_code(tmp_path: Path) -> None:
    import subprocess

    from training.artifacts import git_commit

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    git("config", "user.email", "t@example.com")
    git("config", "user.name", "t")
    (tmp_path / "training").mkdir()
    (tmp_path / "training" / "a.py").write_text("x = 1\n")
    (tmp_path / "other.txt").write_text("o\n")
    git("add", ".")
    git("commit", "-q", "-m", "c")
    sha = git_commit(tmp_path)
    assert len(sha) == 40 and "+" not in sha
    (tmp_path / "other.txt").write_text("changed\n")
    assert git_commit(tmp_path) == sha, "only training/ counts"
    (tmp_path / "training" / "a.py").write_text("x = 2\n")
    assert git_commit(tmp_path) == sha + "+dirty"
