"""The shipped ONNX agrees with XGBoost; a fresh export (with remapped features and a non-default
base score) agrees too."""

from __future__ import annotations

import hashlib
import json
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
                        n_estimators=30, max_depth=3, n_jobs=2, random_state=0, base_score=base_score
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
