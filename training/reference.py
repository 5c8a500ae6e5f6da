"""reference.json: the training distribution per sensor (for the page's drift report) and the chosen recipe's
out-of-fold predictions (for its cost helper). See docs/bundle.md.

The page bins a file's readings into the 100 intervals between these quantiles, so the quantiles are those of
the readings as the page reads them (float32); ties stay ties, which matters for the many SECOM sensors that
take only a few values.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from training.bundle import BundleFile, Fitted
    from training.dataset import WaferData
    from training.evaluate import Evaluation

REFERENCE_NAME = "reference.json"
FORMAT = 1
QUANTILE_LEVELS = np.linspace(0.0, 1.0, 101)


def _finite(v: float) -> float:
    if not math.isfinite(v):
        raise ValueError(f"non-finite value {v!r} in the reference")
    return float(v)


def _float32(v: float) -> float:
    """The float32 the page compares with, in the fewest digits that give it back (halves the file)."""
    return float(repr(np.float32(_finite(v))).removeprefix("np.float32(").removesuffix(")"))


def sensor_reference(column: np.ndarray) -> dict[str, Any]:
    """Present count, missing rate, 101 quantiles (0 %, 1 %, …, 100 %) and standard deviation."""
    values = column[~np.isnan(column)].astype(np.float32).astype(np.float64)
    rate = round(1.0 - values.size / column.size, 6)
    if values.size == 0:
        return {"present": 0, "missing_rate": rate, "quantiles": None, "std": None}
    quantiles = np.quantile(values, QUANTILE_LEVELS, method="linear")
    return {
        "present": int(values.size),
        "missing_rate": rate,
        "quantiles": [_float32(q) for q in quantiles],
        "std": _float32(float(values.std())),
    }


def gain_shares(scores: np.ndarray, features: list[str]) -> dict[str, float]:
    """Each sensor's share of the model's total score (gain), for the sensors with a positive score."""
    total = float(scores[: len(features)].clip(min=0).sum())
    if total <= 0:
        raise ValueError("the model has no gain to share out")
    return {features[j]: round(float(v) / total, 6) for j, v in enumerate(scores[: len(features)]) if v > 0}


def bag_gain(fitted: Fitted, d: int) -> np.ndarray:
    """Total gain per input over the bag's trees (|coefficient| for a linear member); index d is the
    missing-reading count of a composed graph."""
    from training.export import _steps

    score = np.zeros(d + 1)
    for m in fitted.bag.members:
        s = _steps(m)
        if "lr" in s:
            score[np.asarray(s["screen"].keep_)] += np.abs(s["lr"].coef_.ravel())
            continue
        keep = s["screen"].keep_ if "screen" in s else np.arange(d + ("count" in s))
        for name, g in s["xgb"].get_booster().get_score(importance_type="total_gain").items():
            score[int(keep[int(name.lstrip("f"))])] += g
    return score


def reference_json(
    X: np.ndarray,
    features: list[str],
    oof_y: np.ndarray,
    oof_p: np.ndarray,
    oof_protocol: str,
    reliance: dict[str, float],
) -> dict[str, Any]:
    if X.shape[1] != len(features):
        raise ValueError(f"{X.shape[1]} columns for {len(features)} features")
    if oof_y.shape != oof_p.shape or not np.all(np.isfinite(oof_p)):
        raise ValueError("out-of-fold labels and probabilities must be finite and of the same length")
    return {
        "format": FORMAT,
        "rows": int(X.shape[0]),
        "sensors": {f: sensor_reference(X[:, j]) for j, f in enumerate(features)},
        "reliance": {"measure": "share of the total gain over the bag's trees", "sensors": reliance},
        "oof": {
            "protocol": oof_protocol,
            "y": [int(v) for v in oof_y],
            "p": [round(float(v), 6) for v in oof_p],
        },
    }


def write_reference(fitted: Fitted, data: WaferData, ev: Evaluation, out: Path) -> dict[str, BundleFile]:
    """Bundle writer (training/bundle.py BUNDLE_WRITERS): reference.json next to model.json."""
    from training.bundle import file_entry

    reliance = gain_shares(bag_gain(fitted, len(data.features)), data.features)
    oof = fitted.oof
    ref = reference_json(data.X, data.features, np.asarray(oof.y), np.asarray(oof.p), oof.protocol, reliance)
    path = out / REFERENCE_NAME
    path.write_text(json.dumps(ref, separators=(",", ":"), allow_nan=False) + "\n", encoding="utf-8")
    return {"reference": file_entry(path)}
