"""ONNX export of a bag of fitted recipe members, and the parity check.

The graph takes float32 [N, d] (NaN = missing) and computes one margin, the mean of the members'
margins (docs/bundle.md "The score"):
- tree members: one TreeEnsembleClassifier holding every member's trees, leaf weights x 1/K,
  base_values = the mean base margin, post_transform LOGISTIC; optionally fed by an in-graph median
  Imputer and/or the missing-reading count (IsNaN -> Cast -> ReduceSum -> Concat);
- a linear member: Gather (screened sensors) -> Imputer -> Scaler -> Clip -> LinearClassifier (LOGISTIC).
Outputs are tensors only: `label` int64 [N] and `probabilities` float32 [N, 2].
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnxmltools import convert_xgboost
from onnxmltools.convert.common.data_types import FloatTensorType
from xgboost import XGBClassifier

from training.models import Bag

INPUT_NAME = "input"
LABEL_OUTPUT = "label"
PROB_OUTPUT = "probabilities"
ONNX_OPSET = {"": 15, "ai.onnx.ml": 3}
PARITY_TOL = 1e-5
ML = "ai.onnx.ml"


class ParityError(RuntimeError):
    """The exported ONNX graph disagrees with the Python bag."""


def _steps(member: Any) -> dict[str, Any]:
    return dict(member.steps)


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def booster_base_margin(model: XGBClassifier) -> float:
    """The base margin (log-odds) the booster starts from, read from its saved config."""
    cfg = json.loads(model.get_booster().save_config())
    return _logit(float(cfg["learner"]["learner_model_param"]["base_score"].strip("[]")))


def _member_trees(member: Any, width: int) -> dict[str, list[Any]]:
    """The TreeEnsembleClassifier attributes of one member, feature ids in input columns of `width`."""
    steps = _steps(member)
    fitted = steps["xgb"]
    keep = steps["screen"].keep_ if "screen" in steps else np.arange(width)
    # the converter dispatches on the exact class: a plain XGBClassifier with the same booster
    model = XGBClassifier()
    model.load_model(bytearray(fitted.get_booster().save_raw("ubj")))
    onx = convert_xgboost(
        model, initial_types=[(INPUT_NAME, FloatTensorType([None, len(keep)]))], target_opset=15
    )
    (te,) = [n for n in onx.graph.node if n.op_type == "TreeEnsembleClassifier"]
    attrs = {
        a.name: list(helper.get_attribute_value(a))
        for a in te.attribute
        if a.name.startswith(("nodes_", "class_"))
    }
    attrs["nodes_featureids"] = [int(keep[i]) for i in attrs["nodes_featureids"]]
    post = next(a for a in te.attribute if a.name == "post_transform")
    if helper.get_attribute_value(post) != b"LOGISTIC":
        raise RuntimeError("expected a LOGISTIC post-transform from the xgboost converter")
    attrs["base_margin"] = [booster_base_margin(model)]
    return attrs


def _merged_trees(members: list[Any], width: int) -> onnx.NodeProto:
    k = len(members)
    merged: dict[str, list[Any]] = {}
    offset, base = 0, 0.0
    for m in members:
        a = _member_trees(m, width)
        base += a.pop("base_margin")[0] / k
        a["nodes_treeids"] = [t + offset for t in a["nodes_treeids"]]
        a["class_treeids"] = [t + offset for t in a["class_treeids"]]
        a["class_weights"] = [w / k for w in a["class_weights"]]
        offset = max(a["nodes_treeids"]) + 1
        for name, vals in a.items():
            merged.setdefault(name, []).extend(vals)
    attrs: dict[str, Any] = dict(merged)
    return helper.make_node(
        "TreeEnsembleClassifier",
        ["trees_in"],
        [LABEL_OUTPUT, PROB_OUTPUT],
        domain=ML,
        classlabels_int64s=[0, 1],
        post_transform="LOGISTIC",
        base_values=[base],
        **attrs,
    )


def _tree_graph(members: list[Any], d: int) -> tuple[list[onnx.NodeProto], list[onnx.TensorProto]]:
    steps = _steps(members[0])
    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = []
    x = INPUT_NAME
    if "impute" in steps:
        stats = [np.asarray(_steps(m)["impute"].statistics_) for m in members]
        if any(not np.array_equal(stats[0], s) for s in stats):
            raise RuntimeError("bag members imputed with different medians; one Imputer cannot serve them")
        nodes.append(_imputer(x, "imputed", stats[0]))
        x = "imputed"
    width = d
    if "count" in steps:
        inits.append(numpy_helper.from_array(np.array([1], dtype=np.int64), "count_axes"))
        nodes += [
            helper.make_node("IsNaN", [INPUT_NAME], ["is_missing"]),
            helper.make_node("Cast", ["is_missing"], ["missing_f"], to=TensorProto.FLOAT),
            helper.make_node("ReduceSum", ["missing_f", "count_axes"], ["missing_count"], keepdims=1),
            helper.make_node("Concat", [x, "missing_count"], ["with_count"], axis=1),
        ]
        x, width = "with_count", d + 1
    nodes.append(helper.make_node("Identity", [x], ["trees_in"]))
    nodes.append(_merged_trees(members, width))
    return nodes, inits


def _imputer(x: str, out: str, medians: np.ndarray) -> onnx.NodeProto:
    return helper.make_node(
        "Imputer",
        [x],
        [out],
        domain=ML,
        imputed_value_floats=[float(v) for v in medians],
        replaced_value_float=float("nan"),
    )


def _linear_graph(member: Any) -> tuple[list[onnx.NodeProto], list[onnx.TensorProto]]:
    s = _steps(member)
    keep = np.asarray(s["screen"].keep_, dtype=np.int64)
    scaler, lr = s["scale"], s["lr"]
    inits = [
        numpy_helper.from_array(keep, "kept_sensors"),
        numpy_helper.from_array(np.array(-s["clip"].limit, dtype=np.float32), "clip_lo"),
        numpy_helper.from_array(np.array(s["clip"].limit, dtype=np.float32), "clip_hi"),
    ]
    nodes = [
        helper.make_node("Gather", [INPUT_NAME, "kept_sensors"], ["kept"], axis=1),
        _imputer("kept", "imputed", np.asarray(s["impute"].statistics_)),
        helper.make_node(
            "Scaler",
            ["imputed"],
            ["scaled"],
            domain=ML,
            offset=[float(v) for v in scaler.mean_],
            scale=[float(1 / v) for v in scaler.scale_],
        ),
        helper.make_node("Clip", ["scaled", "clip_lo", "clip_hi"], ["clipped"]),
        helper.make_node(
            "LinearClassifier",
            ["clipped"],
            [LABEL_OUTPUT, PROB_OUTPUT],
            domain=ML,
            coefficients=[float(v) for v in lr.coef_.ravel()],
            intercepts=[float(lr.intercept_[0])],
            classlabels_ints=[0, 1],
            post_transform="LOGISTIC",
        ),
    ]
    return nodes, inits


def to_onnx(bag: Bag, d: int, name: str) -> onnx.ModelProto:
    """The bag as one ONNX graph over all d sensors."""
    if "lr" in _steps(bag.members[0]):
        if len(bag.members) != 1:
            raise RuntimeError("a linear recipe is deterministic: bag it once, not per seed")
        nodes, inits = _linear_graph(bag.members[0])
    else:
        nodes, inits = _tree_graph(bag.members, d)
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, [None, d])],
        [
            helper.make_tensor_value_info(LABEL_OUTPUT, TensorProto.INT64, [None]),
            helper.make_tensor_value_info(PROB_OUTPUT, TensorProto.FLOAT, [None, 2]),
        ],
        initializer=inits,
    )
    onx = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid(dom, v) for dom, v in ONNX_OPSET.items()],
        producer_name="sensor-fault-detection training",
        producer_version="2",
        doc_string=f"P(fail) of a bag of {len(bag.members)}; input float32 [N,{d}], NaN = missing",
    )
    onx.ir_version = 8
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


def check_parity(bag: Bag, model_bytes: bytes, X: np.ndarray, threshold: float) -> float:
    """Max |P_python - P_onnx| over rows of X (plus a wafer with every reading missing); raises
    ParityError beyond tolerance or when a wafer's flag at `threshold` differs."""
    X = np.vstack([X, np.full((1, X.shape[1]), np.nan)])
    p_py = bag.predict_proba1(X)
    _, p_onnx = onnx_predict(model_bytes, X)
    diff = float(np.max(np.abs(p_py - p_onnx.astype(np.float64))))
    flips = int(np.sum((p_py >= threshold) != (p_onnx >= threshold)))
    if diff > PARITY_TOL or flips:
        raise ParityError(
            f"ONNX/Python PARITY FAILED: max |dP(fail)| = {diff:.3g} (tolerance {PARITY_TOL}), "
            f"{flips} flag flips at threshold {threshold:.6g}"
        )
    return diff


def sha256_bytes(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def used_inputs(bag: Bag, d: int) -> list[int]:
    """The sensors (0-based) the graph's model reads: split features of the trees (the count input
    reads every sensor's missingness and is not counted), or the linear model's kept sensors."""
    s = _steps(bag.members[0])
    if "lr" in s:
        return sorted(int(i) for i in s["screen"].keep_)
    used: set[int] = set()
    for m in bag.members:
        st = _steps(m)
        keep = st["screen"].keep_ if "screen" in st else np.arange(d + ("count" in st))
        trees = st["xgb"].get_booster().trees_to_dataframe()
        for f in trees.loc[trees["Feature"] != "Leaf", "Feature"].unique():
            used.add(int(keep[int(str(f).lstrip("f"))]))
    return sorted(i for i in used if i < d)
