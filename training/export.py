"""ONNX export, parity check and the model.json / golden.json artifacts."""

from __future__ import annotations

import hashlib
import math
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper
from onnxmltools import convert_xgboost
from onnxmltools.convert.common.data_types import FloatTensorType
from xgboost import XGBClassifier

from training.data_io import N_SENSORS

INPUT_NAME = "input"
LABEL_OUTPUT = "label"
PROB_OUTPUT = "probabilities"
ONNX_OPSET = {"": 15, "ai.onnx.ml": 3}
PARITY_TOL = 1e-5


class ParityError(RuntimeError):
    """The exported ONNX model disagrees with XGBoost."""


def split_pipeline(est: Any) -> tuple[np.ndarray, XGBClassifier]:
    """(sensor indices fed to XGBoost, the fitted XGBClassifier) of an exportable recipe."""
    steps = dict(est.steps) if hasattr(est, "steps") else {"xgb": est}
    model = steps["xgb"]
    keep = steps["screen"].keep_ if "screen" in steps else np.arange(N_SENSORS)
    return np.asarray(keep, dtype=np.int64), model


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def booster_base_margin(model: XGBClassifier) -> float:
    """The base margin (log-odds) the booster starts from, read from its saved config."""
    import json

    cfg = json.loads(model.get_booster().save_config())
    raw = cfg["learner"]["learner_model_param"]["base_score"]
    base_score = float(raw.strip("[]"))
    return _logit(base_score)


def to_onnx(est: Any) -> onnx.ModelProto:
    """Convert a fitted exportable recipe to an ONNX TreeEnsembleClassifier over all 590 sensors."""
    keep, fitted = split_pipeline(est)
    # the converter dispatches on the exact class: hand it a plain XGBClassifier with the same booster
    model = XGBClassifier()
    model.load_model(bytearray(fitted.get_booster().save_raw("ubj")))
    onx = convert_xgboost(
        model,
        initial_types=[(INPUT_NAME, FloatTensorType([None, int(keep.size)]))],
        target_opset=ONNX_OPSET[""],
    )
    nodes = [n for n in onx.graph.node if n.op_type == "TreeEnsembleClassifier"]
    if len(onx.graph.node) != 1 or len(nodes) != 1:
        raise RuntimeError(f"unexpected converted graph: {[n.op_type for n in onx.graph.node]}")
    te = nodes[0]
    attrs = {a.name: a for a in te.attribute}
    # remap tree feature ids from the screened subset to the 590 input columns
    if keep.size != N_SENSORS:
        fid = attrs["nodes_featureids"]
        fid.ints[:] = [int(keep[i]) for i in fid.ints]
    # carry the booster's base score (newer xgboost estimates it; converters may drop it)
    margin = booster_base_margin(model)
    if attrs.get("post_transform") is None or attrs["post_transform"].s != b"LOGISTIC":
        raise RuntimeError("expected a LOGISTIC post-transform")
    # binary classifier with one tree output: base_values has a single entry (the margin)
    if "base_values" in attrs:
        vals = list(attrs["base_values"].floats)
        if len(vals) != 1 or abs(vals[0] - margin) > 1e-6:
            attrs["base_values"].floats[:] = [margin]
    elif abs(margin) > 1e-12:
        te.attribute.append(helper.make_attribute("base_values", [margin]))
    # tensor outputs with fixed names, input with 590 columns
    te.output[:] = [LABEL_OUTPUT, PROB_OUTPUT]
    graph = onx.graph
    del graph.input[:]
    graph.input.append(helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, [None, N_SENSORS]))
    te.input[:] = [INPUT_NAME]
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info(LABEL_OUTPUT, TensorProto.INT64, [None]))
    graph.output.append(helper.make_tensor_value_info(PROB_OUTPUT, TensorProto.FLOAT, [None, 2]))
    del onx.opset_import[:]
    for domain, version in ONNX_OPSET.items():
        onx.opset_import.append(helper.make_opsetid(domain, version))
    graph.name = "secom_xgb"
    onx.producer_name = "sensor-fault-detection training"
    onx.producer_version = "1"
    onx.doc_string = "XGBoost (SECOM) -> TreeEnsembleClassifier; input float32 [N,590], NaN = missing"
    del onx.metadata_props[:]
    onnx.checker.check_model(onx, full_check=True)
    return onx


def serialize(onx: onnx.ModelProto) -> bytes:
    return onx.SerializeToString(deterministic=True)


def onnx_predict(model_bytes: bytes, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(label int64 [N], P(fail) float32 [N]) from onnxruntime on float32 input."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(model_bytes, opts, providers=["CPUExecutionProvider"])
    label, prob = sess.run([LABEL_OUTPUT, PROB_OUTPUT], {INPUT_NAME: np.asarray(X, dtype=np.float32)})
    return np.asarray(label), np.asarray(prob)[:, 1]


def xgb_predict(est: Any, X: np.ndarray) -> np.ndarray:
    return np.asarray(est.predict_proba(np.asarray(X, dtype=np.float32))[:, 1], dtype=np.float64)


def check_parity(est: Any, model_bytes: bytes, X: np.ndarray, threshold: float) -> float:
    """Max |P_xgb - P_onnx| over rows of X; raises ParityError beyond tolerance or on label flips."""
    p_xgb = xgb_predict(est, X)
    label, p_onnx = onnx_predict(model_bytes, X)
    diff = float(np.max(np.abs(p_xgb - p_onnx.astype(np.float64))))
    flips = int(np.sum((p_xgb >= threshold) != (p_onnx >= threshold)))
    internal = int(np.sum(label != (p_onnx > 0.5).astype(np.int64)))
    if diff > PARITY_TOL or flips or (internal > 0 and diff > PARITY_TOL):
        raise ParityError(
            f"ONNX/XGBoost PARITY FAILED: max |dP(fail)| = {diff:.3g} (tolerance {PARITY_TOL}), "
            f"{flips} label flips at threshold {threshold:.6g}"
        )
    return diff


def sha256_bytes(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()
