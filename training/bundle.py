"""Fit the chosen recipe's bag, export it, and write the model bundle (docs/bundle.md, format 2).

`write_bundle` is the one place the bundle's files are written: the ONNX graph, then every writer in
`BUNDLE_WRITERS` (each receives the fitted bag, the data, the evaluation and the folder, and returns
the bundle files it wrote), then model.json listing them with their hashes. An extra file (e.g.
explanations) is one more writer in that list.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from training.artifacts import git_commit, versions
from training.dataset import (
    FAIL_VALUES,
    ID_COLUMN_NAMES,
    LABEL_COLUMN_NAMES,
    PASS_VALUES,
    WaferData,
    aliases,
    read_wafer_csv,
)
from training.evaluate import TARGET_RECALL, Evaluation, Oof
from training.explain import write_explain
from training.export import (
    ONNX_OPSET,
    check_parity,
    onnx_predict,
    serialize,
    sha256_bytes,
    to_onnx,
    used_inputs,
)
from training.metrics import ProtocolMetrics
from training.models import SEED, Bag, Recipe
from training.reference import bag_gain, write_reference
from training.report import report_markdown

REPO_ROOT = Path(__file__).resolve().parent.parent
MODEL_VERSION = "2.0.0"
BUNDLE_FORMAT = 2
GOLDEN_FILE = "golden.json"
REPORT_FILE = "report.md"
PROBE_MIN_DELTA = 0.1
FAST_PROBE_MIN_DELTA = 0.005


@dataclass
class Fitted:
    """The shipped bag, its exported graph and what the bundle writers need about it."""

    recipe: Recipe
    bag: Bag
    onnx_bytes: bytes
    parity: float  # max |P_python - P_onnxruntime| over every training wafer
    used: list[int]  # 0-based sensors the model reads
    threshold: float
    oof: Oof  # the chosen recipe's out-of-fold forward-in-time predictions (y, p)
    commit: str


BundleFile = dict[str, str | int]
BundleWriter = Callable[[Fitted, WaferData, Evaluation, Path], dict[str, BundleFile]]


def fit_and_export(recipe: Recipe, data: WaferData, ev: Evaluation, k: int, fast: bool) -> Fitted:
    """Refit the recipe on every wafer with K seeds, export the bag, check parity on every wafer."""
    commit = git_commit(REPO_ROOT)
    members = [recipe.make(SEED + i, fast).fit(data.X, data.y) for i in range(k)]
    bag = Bag(members)
    d = len(data.features)
    blob = serialize(to_onnx(bag, d, data.config.onnx_file.removesuffix(".onnx")))
    res = ev.result(recipe.key)
    parity = check_parity(bag, blob, data.X, res.threshold)
    print(
        f"[parity] {data.n_rows} training wafers + an all-missing one: max |dP(fail)| Python vs onnxruntime "
        f"= {parity:.3g}"
    )
    return Fitted(recipe, bag, blob, parity, used_inputs(bag, d), res.threshold, res.oof, commit)


def file_entry(path: Path) -> BundleFile:
    blob = path.read_bytes()
    return {"file": path.name, "sha256": sha256_bytes(blob), "bytes": len(blob)}


def dump_json(obj: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")


# ---------------------------------------------------------------- golden


def golden_rows(data: WaferData, n_missing: int = 10, n_fail: int = 15, n_pass: int = 15) -> list[int]:
    """Deterministic choice of ~40 wafers: the most-missing ones plus evenly spaced fails and passes."""
    miss = np.isnan(data.X).sum(axis=1)
    chosen: list[int] = [int(i) for i in np.argsort(-miss, kind="mergesort")[:n_missing]]
    for cls, k in ((1, n_fail), (0, n_pass)):
        idx = [int(i) for i in np.flatnonzero(data.y == cls) if int(i) not in chosen]
        pick = np.linspace(0, len(idx) - 1, num=min(k, len(idx))).round().astype(int)
        chosen.extend(idx[p] for p in pick)
    return sorted(set(chosen))


def format_reading(v: float) -> str:
    """A reading as text like the data files write it ("0.1242", "2968.33", "100")."""
    text = f"{v:.10g}"
    if "e" in text or "E" in text:
        text = f"{v:.10f}".rstrip("0").rstrip(".")
    return text


def important_sensors(fitted: Fitted, d: int, n: int = 8) -> list[int]:
    """The n sensors with the largest total gain over the bag's trees (or the largest |coefficient|)."""
    score = bag_gain(fitted, d)
    return [int(j) for j in np.argsort(-score[:d], kind="mergesort")[:n]]


def edit_probe(fitted: Fitted, data: WaferData, Xs: np.ndarray, min_delta: float) -> dict[str, Any]:
    """A one-cell edit of the sample file that moves P(fail) by at least `min_delta`: one of the most
    important sensors set to one of its training percentiles; the edit with the largest change (first
    sensor / row / lowest value on ties), so the probe is far from any borderline."""
    base = fitted.bag.predict_proba1(Xs)
    best: tuple[float, int, int, str, float] | None = None
    for j in important_sensors(fitted, len(data.features)):
        present = data.X[:, j][~np.isnan(data.X[:, j])]
        values = sorted({float(np.percentile(present, q, method="nearest")) for q in range(1, 100, 2)})
        for text in (format_reading(v) for v in values):
            Xe = Xs.copy()
            Xe[:, j] = float(text)
            pe = fitted.bag.predict_proba1(Xe)
            for r in range(Xs.shape[0]):
                if not np.isnan(Xs[r, j]) and float(text) == Xs[r, j]:
                    continue
                if best is None or abs(pe[r] - base[r]) > best[0] + 1e-12:
                    best = (abs(pe[r] - base[r]), r, j, text, float(pe[r]))
    if best is None or best[0] < min_delta:
        raise RuntimeError(f"no single-cell edit of the most important sensors moves P(fail) by {min_delta}")
    _, r, j, text, prob = best
    return {"row": r, "feature": data.features[j], "value": text, "probability": prob}


def write_golden(fitted: Fitted, data: WaferData, ev: Evaluation, out: Path) -> dict[str, BundleFile]:
    """Golden wafers scored by the Python bag (cross-checked with onnxruntime), every training wafer's
    probability, and for a data set with a sample file its probabilities and an edit probe."""
    rows = golden_rows(data)
    p_all = fitted.bag.predict_proba1(data.X)
    golden: dict[str, Any] = {
        "model_sha256": sha256_bytes(fitted.onnx_bytes),
        "threshold": round(fitted.threshold, 8),
        "features": list(data.features),
        # the sensors the model reads (the coverage rule counts them); every reader of the graph must agree
        "model_sensors": [data.features[j] for j in fitted.used],
        "wafers": [
            {"id": data.ids[i], "row": i, "values": data.raw_values[i], "probability": float(p_all[i])}
            for i in rows
        ],
        # every training wafer (time order), for parity over the whole training set in every consumer
        "training": {"ids": list(data.ids), "probabilities": [float(p) for p in p_all]},
    }
    sample = data.config.sample_file
    if sample is not None:
        _, Xs = read_wafer_csv(sample, data.features)
        ps = fitted.bag.predict_proba1(Xs)
        golden["sample"] = {"file": sample.name, "probabilities": [float(p) for p in ps]}
        # a fast run's small trees move little; the e2e tests use the full run's probe
        golden["edit_probe"] = edit_probe(
            fitted, data, Xs, FAST_PROBE_MIN_DELTA if ev.settings.fast else PROBE_MIN_DELTA
        )
        probe = golden["edit_probe"]
        Xp = Xs[probe["row"] : probe["row"] + 1].copy()
        Xp[0, data.features.index(probe["feature"])] = float(probe["value"])
        checks = [(Xs, ps), (Xp, np.array([probe["probability"]]))]
    else:
        checks = []
    for X_, p_ in [(data.X[rows], p_all[rows]), *checks]:
        if np.max(np.abs(onnx_predict(fitted.onnx_bytes, X_)[1] - p_)) > 1e-5:
            raise RuntimeError("PARITY FAILED on the golden / sample / probe wafers")
    dump_json(golden, out / GOLDEN_FILE)
    return {"golden": file_entry(out / GOLDEN_FILE)}


def write_report(fitted: Fitted, data: WaferData, ev: Evaluation, out: Path) -> dict[str, BundleFile]:
    (out / REPORT_FILE).write_text(
        report_markdown(ev, data, fitted.parity, len(fitted.onnx_bytes), len(fitted.bag.members)),
        encoding="utf-8",
    )
    return {"report": file_entry(out / REPORT_FILE)}


# explain.json (training/explain.py) adds the contributions to golden.json, so it comes after write_golden
BUNDLE_WRITERS: list[BundleWriter] = [write_golden, write_report, write_reference, write_explain]


# ---------------------------------------------------------------- model.json


def created_stamp(data: WaferData) -> str:
    sde = os.environ.get("SOURCE_DATE_EPOCH")
    if sde:
        return datetime.fromtimestamp(int(sde), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if data.times:
        return data.times[-1].strftime("%Y-%m-%dT%H:%M:%SZ")
    return datetime.now(tz=UTC).strftime("%Y-%m-%dT00:00:00Z")  # the day: reruns that day are identical


def sensor_stats(data: WaferData) -> dict[str, dict[str, float | None]]:
    out: dict[str, dict[str, float | None]] = {}
    for j, f in enumerate(data.features):
        col = data.X[:, j]
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


def _protocol_json(m: ProtocolMetrics) -> dict[str, Any]:
    out: dict[str, Any] = {"protocol": m.protocol, "rows": m.rows, "fails": m.fails}
    for k, v in vars(m).items():
        if k not in out:
            out[k] = {"value": v.value, "ci95": list(v.ci95)}
    return out


def _param(v: Any) -> float | int | str | bool | None:
    if v is None or isinstance(v, bool | int | str | float):
        return v
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    return str(v)


def threshold_rule(ev: Evaluation) -> str:
    where = (
        "the pooled forward-in-time (rolling-origin) out-of-fold predictions"
        if ev.headline == "rolling_origin"
        else f"the out-of-fold predictions of the shuffled CV (median over {ev.settings.cv_repeats} repeats)"
    )
    return (
        f"Highest probability threshold that still flags at least {TARGET_RECALL:.0%} of the failing wafers "
        "in "
        f"{where}: {TARGET_RECALL:.0%} of fails caught at the fewest flagged wafers."
    )


def limitations(data: WaferData, ev: Evaluation) -> list[str]:
    out = list(data.config.limitations)
    if not data.times:
        out.append(
            "The data has no time column, so the model was never tested on wafers made after the ones it "
            "learned from; the figures are shuffled cross-validation, which overstates accuracy on new "
            "wafers."
        )
    if not out:
        out = [
            f"Trained on {data.n_rows} wafers ({data.n_fails} fails) of one data set; retrain for other "
            "tools, "
            "recipes or lines.",
            "A flag is a prioritisation aid for inspection, not a root-cause diagnosis.",
        ]
    return out


def model_json(
    fitted: Fitted, data: WaferData, ev: Evaluation, files: dict[str, BundleFile]
) -> dict[str, Any]:
    res = ev.result(fitted.recipe.key)
    cfg = data.config
    metrics: dict[str, Any] = {"cv": _protocol_json(res.cv)}
    if res.rolling_origin is not None:
        metrics["rolling_origin"] = _protocol_json(res.rolling_origin)
    if res.time_forward is not None:
        metrics["time_forward"] = _protocol_json(res.time_forward)
    params = {k: _param(v) for k, v in fitted.recipe.params.items()}
    params["bag_size"] = len(fitted.bag.members)
    return {
        "name": cfg.name,
        "version": MODEL_VERSION,
        "created": created_stamp(data),
        "description": cfg.description
        or f"Estimates the probability that a wafer fails from its {len(data.features)} sensor readings.",
        "onnx": {
            "file": cfg.onnx_file,
            "sha256": sha256_bytes(fitted.onnx_bytes),
            "bytes": len(fitted.onnx_bytes),
            "input": "input",
            "outputs": {"label": "label", "probability": "probabilities"},
            "opset": dict(ONNX_OPSET),
        },
        "features": list(data.features),
        "aliases": aliases(data),
        "id_column_names": list(
            dict.fromkeys([*ID_COLUMN_NAMES, *([cfg.id_column] if cfg.id_column else [])])
        ),
        "label": {
            "column_names": list(
                dict.fromkeys([*LABEL_COLUMN_NAMES, *([cfg.label_column] if cfg.label_column else [])])
            ),
            "fail_values": list(dict.fromkeys([*cfg.fail_values, *FAIL_VALUES])),
            "pass_values": list(dict.fromkeys([*cfg.pass_values, *PASS_VALUES])),
            "positive_class": "fail",
        },
        "threshold": {"value": round(fitted.threshold, 8), "rule": threshold_rule(ev)},
        "metrics": metrics,
        "recipe": {
            "summary": f"{fitted.recipe.summary}; a bag of {len(fitted.bag.members)} (mean margin)"
            if len(fitted.bag.members) > 1
            else fitted.recipe.summary,
            "params": params,
            "selected_features": len(fitted.used),
        },
        "training": {
            "rows": data.n_rows,
            "fails": data.n_fails,
            "from": data.times[0].strftime("%Y-%m-%dT%H:%M:%S") if data.times else None,
            "to": data.times[-1].strftime("%Y-%m-%dT%H:%M:%S") if data.times else None,
            "data_files": [{"name": n, "sha256": s} for n, s in data.files.items()],
            "source": cfg.source,
            "licence": cfg.licence,
            "commit": fitted.commit,
            "versions": versions(),
        },
        "limitations": limitations(data, ev),
        "sensors": sensor_stats(data),
        "bundle": {"format": BUNDLE_FORMAT, "files": files},
    }


def write_bundle(fitted: Fitted, data: WaferData, ev: Evaluation, out: Path) -> None:
    """Every file of the bundle into `out`; model.json last, naming the others with their hashes."""
    out.mkdir(parents=True, exist_ok=True)
    (out / data.config.onnx_file).write_bytes(fitted.onnx_bytes)
    files: dict[str, BundleFile] = {}
    for writer in BUNDLE_WRITERS:
        files.update(writer(fitted, data, ev, out))
    dump_json(model_json(fitted, data, ev, files), out / "model.json")
    print(
        f"[export] {out / data.config.onnx_file} ({len(fitted.onnx_bytes)} bytes), chosen "
        f"{fitted.recipe.key} "
        f"(bag of {len(fitted.bag.members)}), threshold {fitted.threshold:.4f}, {len(fitted.used)} sensors "
        "used"
    )
