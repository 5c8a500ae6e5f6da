"""explain.json (docs/bundle.md): what exact per-wafer explanations need, written from a fitted recipe.

The ONNX file cannot carry it: onnxmltools leaves `nodes_hitrates` (the node covers path-dependent
TreeSHAP needs) out. So the trees are written again here, as xgboost's own JSON-model arrays with
`sum_hessian`, and the golden wafers get xgboost's `pred_contribs`, so every consumer's explanation is checked
against xgboost itself.

Generic over what an exportable recipe may hold, walked step by step with a map "input column of this step ->
model feature (or -1 = the missing-reading count)":
- `SensorScreen` (a column subset, `keep_`), `MissingCount` (appends the count of missing readings);
- a tree booster (`XGBClassifier` and subclasses): one "trees" member;
- a linear model (median `SimpleImputer` + `StandardScaler`/`RobustScaler` + `LogisticRegression`): one
  "linear" member with its exact attribution coef * (x' - mean x' over the training rows);
- a bag (`training.models.Bag`, or any estimator with `members_` and optional `weights_`) whose margins are
  averaged, 1/K each. An average of probabilities would have no exact additive explanation.

Feature count and names come from the data set (`features`), never from code.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import RobustScaler, StandardScaler
from xgboost import DMatrix, XGBClassifier

from training.models import Bag, ClipScaled, MissingCount, SensorScreen

EXPLAIN_FORMAT = 1
EXPLAIN_NAME = "explain.json"
MISSING_COUNT = -1
MISSING_COUNT_NAME = "Missing readings (count)"
TREE_KEYS = (
    "left_children",
    "right_children",
    "split_indices",
    "split_conditions",
    "default_left",
    "sum_hessian",
)


class NotExplainable(ValueError):
    """The recipe holds a step whose exact explanation is not defined here."""


@dataclass
class Member:
    """One additive part of the margin: `weight` x (its own margin), over model features `inputs`."""

    weight: float
    inputs: list[int]
    estimator: Any
    linear_steps: list[Any]


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _booster_json(model: XGBClassifier) -> dict[str, Any]:
    return json.loads(bytes(model.get_booster().save_raw("json")))


def _base_margin(model: XGBClassifier) -> float:
    raw = _booster_json(model)["learner"]["learner_model_param"]["base_score"]
    return _logit(float(str(raw).strip("[]")))


def _members(est: Any, weight: float, inputs: list[int]) -> list[Member]:
    """Flatten a fitted recipe into additive members (weights multiply through nested bags)."""
    if isinstance(est, Bag):
        parts = list(est.members)
        return [m for part in parts for m in _members(part, weight / len(parts), inputs)]
    if hasattr(est, "members_"):
        parts = list(est.members_)
        weights = list(getattr(est, "weights_", [1.0 / len(parts)] * len(parts)))
        return [m for part, w in zip(parts, weights, strict=True) for m in _members(part, weight * w, inputs)]
    if isinstance(est, Pipeline):
        return _pipeline_members(est, weight, inputs)
    if isinstance(est, XGBClassifier | LogisticRegression):
        return [Member(weight, inputs, est, [])]
    raise NotExplainable(f"no exact explanation for {type(est).__name__}")


def _pipeline_members(pipe: Pipeline, weight: float, inputs: list[int]) -> list[Member]:
    cols = list(inputs)
    linear_steps: list[Any] = []
    for _, step in pipe.steps[:-1]:
        if isinstance(step, MissingCount):
            if step.n_features_in_ != len(cols) or cols != list(range(len(cols))):
                raise NotExplainable("the missing-reading count is defined over all model features only")
            cols = [*cols, MISSING_COUNT]
        elif isinstance(step, SensorScreen):
            cols = [cols[int(k)] for k in step.keep_]
        elif isinstance(step, SimpleImputer | StandardScaler | RobustScaler | ClipScaled):
            linear_steps.append(step)
        else:
            raise NotExplainable(f"no exact explanation through a {type(step).__name__} step")
    final = pipe.steps[-1][1]
    if linear_steps and not isinstance(final, LogisticRegression):
        raise NotExplainable("imputation/scaling steps are explained only in front of a logistic regression")
    members = _members(final, weight, cols)
    for m in members:
        m.linear_steps = linear_steps + m.linear_steps
    return members


def _trees_member(m: Member) -> dict[str, Any]:
    model = m.estimator
    booster = _booster_json(model)
    gb = booster["learner"]["gradient_booster"]
    if gb.get("name") != "gbtree":
        raise NotExplainable(f"booster {gb.get('name')!r} is not a tree booster")
    if int(booster["learner"]["learner_model_param"].get("num_class", "0")) > 1:
        raise NotExplainable("multi-class boosters are not explained")
    trees = [{k: tree[k] for k in TREE_KEYS} for tree in gb["model"]["trees"]]
    for t in trees:
        t["default_left"] = [int(v) for v in t["default_left"]]
    return {
        "kind": "trees",
        "weight": m.weight,
        "base_margin": _base_margin(model),
        "inputs": m.inputs,
        "trees": trees,
    }


def member_inputs(X: np.ndarray, inputs: list[int]) -> np.ndarray:
    """The member's input columns (float64) from model-feature rows X (NaN = missing)."""
    X = np.asarray(X, dtype=np.float64)
    count = np.isnan(X).sum(axis=1).astype(np.float64)
    cols = [count if j == MISSING_COUNT else X[:, j] for j in inputs]
    return np.column_stack(cols) if cols else np.zeros((X.shape[0], 0))


def _linear_transform(steps: list[Any], Z: np.ndarray) -> np.ndarray:
    for step in steps:
        Z = step.transform(Z)
    return np.asarray(Z, dtype=np.float64)


def _linear_member(m: Member, X_train: np.ndarray) -> dict[str, Any]:
    lr: LogisticRegression = m.estimator
    n = len(m.inputs)
    impute, center, scale = np.full(n, np.nan), np.zeros(n), np.ones(n)
    clip: float | None = None
    for step in m.linear_steps:
        if clip is not None:
            raise NotExplainable("clipping is supported as the last step before the logistic regression only")
        if isinstance(step, SimpleImputer):
            if step.strategy != "median" or np.isnan(impute).sum() != n:
                raise NotExplainable("one median imputation, before any scaling, is supported")
            impute = np.asarray(step.statistics_, dtype=np.float64)
        elif isinstance(step, StandardScaler):
            center = np.asarray(step.mean_ if step.with_mean else np.zeros(n), dtype=np.float64)
            scale = np.asarray(step.scale_ if step.with_std else np.ones(n), dtype=np.float64)
        elif isinstance(step, RobustScaler):
            center = np.asarray(step.center_ if step.with_centering else np.zeros(n), dtype=np.float64)
            scale = np.asarray(step.scale_ if step.with_scaling else np.ones(n), dtype=np.float64)
        elif isinstance(step, ClipScaled):
            clip = float(step.limit)
    if np.isnan(impute).any():
        raise NotExplainable("a linear member needs a median imputation of every input")
    # the attribution's reference point: the mean transformed input over the rows the model was fitted on
    mean = _linear_transform(m.linear_steps, member_inputs(X_train, m.inputs)).mean(axis=0)
    return {
        "kind": "linear",
        "weight": m.weight,
        "inputs": m.inputs,
        "impute": impute.tolist(),
        "center": center.tolist(),
        "scale": scale.tolist(),
        "mean": mean.tolist(),
        # the scaled reading is clipped to [-clip, clip] (null: not clipped); the model stays linear in it
        "clip": clip,
        "coef": np.asarray(lr.coef_, dtype=np.float64).ravel().tolist(),
        "intercept": float(np.asarray(lr.intercept_).ravel()[0]),
    }


def build_explain(est: Any, X_train: np.ndarray, features: list[str]) -> dict[str, Any]:
    """explain.json for a fitted recipe over all model features; X_train = the rows it was fitted on."""
    members = _members(est, 1.0, list(range(len(features))))
    out: list[dict[str, Any]] = []
    for m in members:
        if isinstance(m.estimator, XGBClassifier):
            if m.linear_steps:
                raise NotExplainable("imputation/scaling in front of a booster is not explained")
            out.append(_trees_member(m))
        else:
            out.append(_linear_member(m, X_train))
    return {
        "format": EXPLAIN_FORMAT,
        "output": "margin",
        "features": list(features),
        "missing_count_name": MISSING_COUNT_NAME,
        "members": out,
    }


@dataclass
class Contribs:
    """Per-row contributions over model features (+ the missing-count pseudo-feature) and the bias."""

    features: np.ndarray  # [rows, n_features]
    missing_count: np.ndarray  # [rows]
    bias: np.ndarray  # [rows]
    margin: np.ndarray  # [rows], the recipe's own margin


def _add_member(out: Contribs, weight: float, inputs: list[int], phi: np.ndarray, bias: np.ndarray) -> None:
    for k, j in enumerate(inputs):
        if j == MISSING_COUNT:
            out.missing_count += weight * phi[:, k]
        else:
            out.features[:, j] += weight * phi[:, k]
    out.bias += weight * bias


def reference_contribs(est: Any, X_train: np.ndarray, X: np.ndarray, features: list[str]) -> Contribs:
    """The training library's own contributions for rows X: xgboost `pred_contribs` (path-dependent
    TreeSHAP, missing readings down the default branch) for boosters; the exact linear attribution for a
    linear member."""
    rows = X.shape[0]
    out = Contribs(np.zeros((rows, len(features))), np.zeros(rows), np.zeros(rows), np.zeros(rows))
    explain = build_explain(est, X_train, features)
    for m, spec in zip(_members(est, 1.0, list(range(len(features)))), explain["members"], strict=True):
        # float32 input, as the page, the ONNX graph and xgb_predict give it
        Z = member_inputs(np.asarray(X, dtype=np.float32), m.inputs)
        if spec["kind"] == "trees":
            booster = m.estimator.get_booster()
            dm = DMatrix(Z.astype(np.float32), missing=np.nan)
            phi = np.asarray(booster.predict(dm, pred_contribs=True), dtype=np.float64)
            margin = np.asarray(booster.predict(dm, output_margin=True), dtype=np.float64)
            _add_member(out, m.weight, m.inputs, phi[:, :-1], phi[:, -1])
        else:
            T = _linear_transform(m.linear_steps, Z)
            coef, mean = np.asarray(spec["coef"]), np.asarray(spec["mean"])
            phi = coef * (T - mean)
            bias = np.full(rows, spec["intercept"] + float(coef @ mean))
            margin = T @ coef + spec["intercept"]
            _add_member(out, m.weight, m.inputs, phi, bias)
        out.margin += m.weight * margin
    return out


def golden_contribs(c: Contribs, row: int, features: list[str], tol: float = 0.0) -> dict[str, Any]:
    """One golden wafer's contributions, sparse (only features that contribute), with bias and margin."""
    values = {features[j]: float(c.features[row, j]) for j in np.flatnonzero(np.abs(c.features[row]) > tol)}
    if c.missing_count[row] != 0.0:
        values[MISSING_COUNT_NAME] = float(c.missing_count[row])
    return {"bias": float(c.bias[row]), "margin": float(c.margin[row]), "values": values}


def write_explain(fitted: Any, data: Any, ev: Any, out: Path) -> dict[str, dict[str, str | int]]:
    """The bundle writer (training/bundle.py BUNDLE_WRITERS, after write_golden): explain.json for the fitted
    bag, checked to reproduce its margin on every training wafer, and xgboost's pred_contribs on golden.json's
    wafers (golden.json is rewritten, so both entries are returned)."""
    features = list(data.features)
    explain = build_explain(fitted.bag, data.X, features)
    check_explain_margin(explain, fitted.bag, data.X, data.X, features)
    explain_path = out / EXPLAIN_NAME
    explain_path.write_text(
        json.dumps(explain, separators=(",", ":"), allow_nan=False) + "\n", encoding="utf-8"
    )
    golden_path = out / "golden.json"
    golden = json.loads(golden_path.read_text(encoding="utf-8"))
    rows = [int(w["row"]) for w in golden["wafers"]]
    c = reference_contribs(fitted.bag, data.X, data.X[rows], features)
    for i, wafer in enumerate(golden["wafers"]):
        wafer["contribs"] = golden_contribs(c, i, features)
    text = json.dumps(golden, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    golden_path.write_text(text, encoding="utf-8")
    return {"explain": _file_entry(explain_path), "golden": _file_entry(golden_path)}


def _file_entry(path: Path) -> dict[str, str | int]:
    blob = path.read_bytes()
    return {"file": path.name, "sha256": hashlib.sha256(blob).hexdigest(), "bytes": len(blob)}


def _tree_margin(tree: dict[str, Any], Z: np.ndarray) -> np.ndarray:
    """One tree's leaf value per row, walked as xgboost does: float32 `x < split`, missing -> default."""
    left, right = tree["left_children"], tree["right_children"]
    split, cond = tree["split_indices"], np.asarray(tree["split_conditions"], dtype=np.float32)
    out = np.empty(Z.shape[0])
    for r in range(Z.shape[0]):
        node = 0
        while left[node] != -1:
            x = Z[r, split[node]]
            go_left = bool(tree["default_left"][node]) if np.isnan(x) else bool(np.float32(x) < cond[node])
            node = left[node] if go_left else right[node]
        out[r] = float(cond[node])
    return out


def explain_margin(explain: dict[str, Any], X: np.ndarray) -> np.ndarray:
    """The margin explain.json's members compute for rows X (NaN = missing)."""
    X32 = np.asarray(X, dtype=np.float32)
    total = np.zeros(X32.shape[0])
    for spec in explain["members"]:
        Z = member_inputs(X32, spec["inputs"]).astype(np.float32)
        if spec["kind"] == "trees":
            m = spec["base_margin"] + sum(_tree_margin(t, Z) for t in spec["trees"])
        else:
            Zi = np.where(np.isnan(Z), np.asarray(spec["impute"]), Z.astype(np.float64))
            T = (Zi - np.asarray(spec["center"])) / np.asarray(spec["scale"])
            if spec.get("clip") is not None:
                T = np.clip(T, -spec["clip"], spec["clip"])
            m = T @ np.asarray(spec["coef"]) + spec["intercept"]
        total += spec["weight"] * m
    return total


MARGIN_TOL = 1e-4


def check_explain_margin(
    explain: dict[str, Any], est: Any, X_train: np.ndarray, X: np.ndarray, features: list[str]
) -> float:
    """Max |margin(explain.json) - margin(recipe)| over rows X; raises beyond MARGIN_TOL (float32 sums)."""
    ref = reference_contribs(est, X_train, X, features).margin
    diff = float(np.max(np.abs(explain_margin(explain, X) - ref))) if X.shape[0] else 0.0
    if diff > MARGIN_TOL:
        raise RuntimeError(f"explain.json does not reproduce the recipe's margin: max |d| = {diff:.3g}")
    return diff
