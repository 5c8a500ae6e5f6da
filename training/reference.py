"""reference.json: the training distribution per sensor (for the page's drift report) and the chosen recipe's
out-of-fold predictions (for its cost helper). See docs/bundle.md.

The page bins a file's readings into the 100 intervals between these quantiles, so the quantiles are those of
the readings as the page reads them (float32); ties stay ties, which matters for the many SECOM sensors that
take only a few values.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from training.data_io import SecomData

REFERENCE_NAME = "reference.json"
FORMAT = 1
QUANTILE_LEVELS = np.linspace(0.0, 1.0, 101)
CV_OOF_PROTOCOL = (
    "Out-of-fold P(fail) of the first repeat of the repeated stratified 5-fold CV of the chosen recipe: "
    "every training wafer predicted once, by a fit that never saw it."
)


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


def gain_shares(keep: np.ndarray, gains: dict[str, float], features: list[str]) -> dict[str, float]:
    """Each model sensor's share of the booster's total gain (inputs f0, f1, … are `keep` in order)."""
    total = sum(gains.values())
    if total <= 0:
        raise ValueError("the booster has no gain to share out")
    shares: dict[str, float] = {}
    for name, gain in sorted(gains.items()):
        sensor = features[int(keep[int(name.lstrip("f"))])]
        shares[sensor] = round(gain / total, 6)
    return shares


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
        "reliance": {"measure": "share of the booster's total gain", "sensors": reliance},
        "oof": {
            "protocol": oof_protocol,
            "y": [int(v) for v in oof_y],
            "p": [round(float(v), 6) for v in oof_p],
        },
    }


def write_reference(
    mj: dict[str, Any], models_dir: Path, data: SecomData, oof_p: np.ndarray, est: Any
) -> None:
    """Write reference.json next to model.json and list it in model.json's `bundle.files` (pipeline hook)."""
    from training.export import split_pipeline

    keep, booster = split_pipeline(est)
    gains = booster.get_booster().get_score(importance_type="total_gain")
    reliance = gain_shares(keep, gains, data.features)
    ref = reference_json(data.X, data.features, data.y, oof_p, CV_OOF_PROTOCOL, reliance)
    text = json.dumps(ref, separators=(",", ":"), allow_nan=False) + "\n"
    raw = text.encode("utf-8")
    (models_dir / REFERENCE_NAME).write_bytes(raw)
    bundle = mj.setdefault("bundle", {"format": 2, "files": {}})
    bundle["files"]["reference"] = {
        "file": REFERENCE_NAME,
        "sha256": hashlib.sha256(raw).hexdigest(),
        "bytes": len(raw),
    }
