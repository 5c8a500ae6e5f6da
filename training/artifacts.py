"""model.json, golden.json and the comparison report."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from training.data_io import FEATURES, SecomData
from training.evaluate import Evaluation

SOURCE = (
    "UCI Machine Learning Repository, SECOM data set (id 179), donated by Michael McCann and "
    "Adrian Johnston (2008), https://doi.org/10.24432/C54305. First 1175 of 1567 wafers "
    "(2008-07-19 to 2008-09-29); the later 392 wafers are held out."
)
LICENCE = (
    "Creative Commons Attribution 4.0 International (CC BY 4.0), https://creativecommons.org/licenses/by/4.0/"
)
ID_COLUMN_NAMES = ["", "Unnamed: 0", "wafer", "Wafer", "wafer_id", "Wafer ID", "id", "ID"]
LABEL_COLUMN_NAMES = ["Good/Bad", "Pass/Fail", "label", "Label", "class", "target"]
FAIL_VALUES = ["1", "fail", "bad", "fault"]
PASS_VALUES = ["-1", "0", "pass", "good", "ok"]
LIMITATIONS = [
    "Severe class imbalance: about 6.8 % of training wafers failed (80 of 1175); precision at any "
    "useful recall is low, so most flagged wafers will in fact pass.",
    "Trained on 2008 data from a single semiconductor fab and process (SECOM); sensor meanings are "
    "anonymised and the model does not transfer to other lines, tools or recipes without retraining.",
    "Process drift: sensors shift over time, so monitor inputs against the training ranges. The "
    "time-forward figures rest on only 8 fails and were used to choose among the recipes, so they are "
    "optimistic: on new wafers expect the cross-validated figures or lower.",
    "Few failures in the evaluation sets make every metric noisy; see the 95 % bootstrap intervals.",
    "Missing readings are handled natively by the trees (learned default branch); wafers with many "
    "missing or out-of-range readings are less reliable.",
    "A flag is a prioritisation aid for inspection, not a root-cause diagnosis or a pass/fail decision.",
]
VERSION_PACKAGES = [
    "numpy",
    "pandas",
    "scikit-learn",
    "imbalanced-learn",
    "xgboost-cpu",
    "onnx",
    "onnxmltools",
    "skl2onnx",
    "onnxruntime",
]


def aliases_for(i: int) -> list[str]:
    """Accepted alternative header names of sensor i (1-based)."""
    return [
        f"Sensor-{i}",
        f"sensor_{i}",
        f"sensor {i}",
        f"Sensor {i}",
        f"{i - 1}",
        f"F{i - 1}",
        f"feature_{i - 1}",
        f"V{i}",
    ]


def all_aliases() -> dict[str, list[str]]:
    out = {f: aliases_for(i) for i, f in enumerate(FEATURES, start=1)}
    seen: dict[str, str] = {}
    for feat, names in out.items():
        for name in names:
            key = name.strip().lower()
            if key in seen and seen[key] != feat:
                raise AssertionError(f"alias {name!r} of {feat} collides with {seen[key]}")
            seen[key] = feat
    return out


def git_commit(repo: Path) -> str:
    """`git rev-parse HEAD`, suffixed "+dirty" when `git status --porcelain -- training` shows
    uncommitted changes of the training code (the run's code is then not exactly that commit)."""
    try:
        res = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=False
        )
        status = subprocess.run(
            ["git", "status", "--porcelain", "--", "training"],
            cwd=repo,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return "uncommitted"
    sha = res.stdout.strip()
    if res.returncode != 0 or len(sha) != 40:
        return "uncommitted"
    dirty = status.returncode != 0 or bool(status.stdout.strip())
    return sha + ("+dirty" if dirty else "")


def format_reading(v: float) -> str:
    """A reading as text like the data files write it ("0.1242", "2968.33", "100")."""
    text = f"{v:.10g}"
    if "e" in text or "E" in text:
        text = f"{v:.10f}".rstrip("0").rstrip(".")
    return text


def most_important_sensor(est: Any) -> int:
    """0-based sensor index (of the 590 inputs) with the highest total gain in the fitted recipe."""
    from training.export import split_pipeline

    keep, model = split_pipeline(est)
    gain = model.get_booster().get_score(importance_type="total_gain")
    best = max(sorted(gain), key=lambda f: gain[f])  # ties: lexicographically first name
    return int(keep[int(best.lstrip("f"))])


def edit_probe(est: Any, data: SecomData, sample_csv: Path, min_delta: float = 0.1) -> dict[str, Any]:
    """A one-cell edit of the sample CSV that moves XGBoost's P(fail) by at least `min_delta`.

    Feature: the shipped model's most important sensor. Value: a reading of that sensor seen in the
    training data (one of its 1st..99th percentiles). Among all rows of the sample file and those
    values, the edit with the largest |change| is chosen (first row / lowest value on ties), so the
    probe is far from any borderline. Probabilities use float32 input, as the app and ONNX do."""
    from training.data_io import read_wafer_csv
    from training.export import xgb_predict

    j = most_important_sensor(est)
    present = data.X[:, j][~np.isnan(data.X[:, j])]
    cand = sorted({float(np.percentile(present, q, method="nearest")) for q in range(1, 100, 2)})
    texts = [format_reading(v) for v in cand]
    _, Xs = read_wafer_csv(sample_csv)
    base = xgb_predict(est, Xs)
    best: tuple[float, int, int, float] | None = None
    for k, text in enumerate(texts):
        Xe = Xs.copy()
        Xe[:, j] = float(text)
        pe = xgb_predict(est, Xe)
        for r in range(Xs.shape[0]):
            if not np.isnan(Xs[r, j]) and float(text) == Xs[r, j]:
                continue
            d = abs(pe[r] - base[r])
            if best is None or d > best[0] + 1e-12:
                best = (d, r, k, float(pe[r]))
    if best is None or best[0] < min_delta:
        raise RuntimeError(f"no single-cell edit of {FEATURES[j]} moves P(fail) by {min_delta}")
    _, r, k, prob = best
    return {"row": r, "feature": FEATURES[j], "value": texts[k], "probability": prob}


def versions() -> dict[str, str]:
    out = {"python": ".".join(str(v) for v in sys.version_info[:3])}
    for pkg in VERSION_PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def created_stamp(data: SecomData) -> str:
    sde = os.environ.get("SOURCE_DATE_EPOCH")
    if sde:
        return datetime.fromtimestamp(int(sde), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return data.timestamps[-1].strftime("%Y-%m-%dT%H:%M:%SZ")


def _num(v: float) -> float | None:
    return None if v is None or not math.isfinite(v) else float(v)


def sensor_stats(X: np.ndarray) -> dict[str, dict[str, float | None]]:
    out: dict[str, dict[str, float | None]] = {}
    for j, f in enumerate(FEATURES):
        col = X[:, j]
        present = col[~np.isnan(col)]
        rate = round(1.0 - present.size / col.size, 6)
        if present.size == 0:
            out[f] = {"missing_rate": rate, "min": None, "max": None, "p01": None, "p99": None}
            continue
        p01, p99 = np.percentile(present, [1, 99])
        out[f] = {
            "missing_rate": rate,
            "min": float(present.min()),
            "max": float(present.max()),
            "p01": round(float(p01), 6),
            "p99": round(float(p99), 6),
        }
    return out


def protocol_metrics(protocol: str, rows: int, fails: int, m: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"protocol": protocol, "rows": rows, "fails": fails}
    out.update(m)
    return out


def model_json(
    *,
    data: SecomData,
    onnx_file: str,
    onnx_sha256: str,
    onnx_bytes: int,
    threshold: float,
    threshold_rule: str,
    ev: Evaluation,
    cv_protocol: str,
    tf_protocol: str,
    recipe_summary: str,
    recipe_params: dict[str, Any],
    selected_features: int,
    commit: str,
    version: str,
) -> dict[str, Any]:
    return {
        "name": "SECOM wafer fault detector (XGBoost)",
        "version": version,
        "created": created_stamp(data),
        "description": (
            "Estimates the probability that a semiconductor wafer fails the in-line quality test "
            "from its 590 anonymised process-sensor readings (UCI SECOM). Wafers whose probability "
            "is at or above the threshold are flagged for inspection."
        ),
        "onnx": {
            "file": onnx_file,
            "sha256": onnx_sha256,
            "bytes": onnx_bytes,
            "input": "input",
            "outputs": {"label": "label", "probability": "probabilities"},
            "opset": {"": 15, "ai.onnx.ml": 3},
        },
        "features": list(FEATURES),
        "aliases": all_aliases(),
        "id_column_names": list(ID_COLUMN_NAMES),
        "label": {
            "column_names": list(LABEL_COLUMN_NAMES),
            "fail_values": list(FAIL_VALUES),
            "pass_values": list(PASS_VALUES),
            "positive_class": "fail",
        },
        "threshold": {"value": round(threshold, 8), "rule": threshold_rule},
        "metrics": {
            "cv": protocol_metrics(cv_protocol, data.n_rows, int(data.y.sum()), ev.cv_metrics),
            "time_forward": protocol_metrics(tf_protocol, ev.tf_rows, ev.tf_fails, ev.tf_metrics),
        },
        "recipe": {
            "summary": recipe_summary,
            "params": {k: _param(v) for k, v in recipe_params.items()},
            "selected_features": int(selected_features),
        },
        "training": {
            "rows": data.n_rows,
            "fails": int(data.y.sum()),
            "from": data.timestamps[0].strftime("%Y-%m-%dT%H:%M:%S"),
            "to": data.timestamps[-1].strftime("%Y-%m-%dT%H:%M:%S"),
            "data_files": [{"name": n, "sha256": s} for n, s in data.files.items()],
            "source": SOURCE,
            "licence": LICENCE,
            "commit": commit,
            "versions": versions(),
        },
        "limitations": list(LIMITATIONS),
        "sensors": sensor_stats(data.X),
    }


def _param(v: Any) -> float | int | str | bool | None:
    if v is None or isinstance(v, bool | int | str):
        return v
    if isinstance(v, float):
        return v
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    return str(v)


def golden_rows(data: SecomData, n_missing: int = 10, n_fail: int = 15, n_pass: int = 15) -> list[int]:
    """Deterministic choice of ~40 wafers: the most-missing ones plus evenly spaced fails and passes."""
    miss = np.isnan(data.X).sum(axis=1)
    order = np.argsort(-miss, kind="mergesort")
    chosen: list[int] = [int(i) for i in order[:n_missing]]
    for cls, k in ((1, n_fail), (0, n_pass)):
        idx = [int(i) for i in np.flatnonzero(data.y == cls) if int(i) not in chosen]
        pick = np.linspace(0, len(idx) - 1, num=min(k, len(idx))).round().astype(int)
        chosen.extend(idx[p] for p in pick)
    return sorted(set(chosen))


def dump_json(obj: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    path.write_text(text, encoding="utf-8")
