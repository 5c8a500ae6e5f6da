"""End-to-end training: ingest -> compare recipes (CV + time-forward) -> choose -> export ONNX ->
parity check -> model.json, golden.json, comparison report.

Run from the repo root: `python -m training.pipeline [--data-dir D] [--out-dir O] [--fast]`.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from training.artifacts import dump_json, edit_probe, git_commit, golden_rows, model_json
from training.data_io import (
    DEFAULT_DATA_DIR,
    FEATURES,
    DataValidationError,
    load_secom,
    read_wafer_csv,
    subset,
)
from training.evaluate import THRESHOLD_RULE, Evaluation, evaluate
from training.explain import write_explain
from training.export import (
    ParityError,
    check_parity,
    onnx_predict,
    serialize,
    sha256_bytes,
    split_pipeline,
    to_onnx,
    xgb_predict,
)
from training.models import SEED, Candidate, candidates
from training.report import comparison_markdown

REPO_ROOT = Path(__file__).resolve().parent.parent
ONNX_NAME = "secom-xgb.onnx"
SAMPLE_NAME = "wafer_23012020_041211.csv"
MODEL_VERSION = "1.0.0"
FAST_ROWS = 400
JOBS = 2  # worker processes, one thread each
TIE_MARGIN = 0.01


def cv_protocol(n_repeats: int) -> str:
    return (
        f"Repeated stratified 5-fold CV, {n_repeats} repeats, out-of-fold predictions; every "
        "preprocessing/screening/resampling step fitted inside the training folds only. Metrics "
        "averaged over repeats; 95 % interval from a stratified bootstrap of wafers."
    )


TF_PROTOCOL = (
    "Time-forward: trained on the earliest 75 % of wafers (time order), validated on the latest 25 %; "
    "threshold chosen by the same rule on an inner 5-fold CV of the training period only. 95 % "
    "interval from a stratified bootstrap of the validation wafers."
)


def tf_score(ev: Evaluation) -> float:
    """Selection score: mean of time-forward (75/25) and rolling-origin ROC-AUC."""
    vals = [ev.tf_metrics["roc_auc"]["value"]]
    if np.isfinite(ev.ro_roc_auc):
        vals.append(ev.ro_roc_auc)
    return float(np.mean(vals))


def choose(cands: list[Candidate], evs: dict[str, Evaluation]) -> tuple[str, str]:
    """Pick among exportable recipes by the time-forward score first, then CV PR-AUC."""
    pool = [c for c in cands if c.exportable]
    best = max(tf_score(evs[c.key]) for c in pool)
    near = [c for c in pool if tf_score(evs[c.key]) >= best - TIE_MARGIN]
    chosen = max(near, key=lambda c: (evs[c.key].cv_metrics["pr_auc"]["value"], -pool.index(c)))
    why = (
        f"Highest time-forward score (mean of 75/25 and rolling-origin ROC-AUC) among exportable "
        f"recipes was {best:.3f}; recipes within {TIE_MARGIN} of it "
        f"({', '.join(c.key for c in near)}) were separated by CV PR-AUC. "
        f"Chosen: {chosen.key}."
    )
    return chosen.key, why


def baseline_key(cands: list[Candidate], evs: dict[str, Evaluation]) -> str | None:
    """The old app chose among SVC / RF / XGB by accuracy; mirror that for the baseline row."""
    old = [c for c in cands if c.baseline_group == "old"]
    if not old:
        return None
    return max(old, key=lambda c: evs[c.key].cv_accuracy).key


def run(
    data_dir: Path,
    out_dir: Path,
    fast: bool,
    only: list[str] | None = None,
    n_repeats: int | None = None,
    n_boot: int | None = None,
    jobs: int = JOBS,
) -> int:
    warnings.filterwarnings("ignore", message=".*probability.*deprecated", category=FutureWarning)
    cache_dir = tempfile.mkdtemp(prefix="secom-knn-cache-")
    try:
        return _run(data_dir, out_dir, fast, only, n_repeats, n_boot, jobs, cache_dir)
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)


def _run(
    data_dir: Path,
    out_dir: Path,
    fast: bool,
    only: list[str] | None,
    n_repeats: int | None,
    n_boot: int | None,
    jobs: int,
    cache_dir: str,
) -> int:
    t0, c0 = time.time(), time.process_time()
    commit = git_commit(REPO_ROOT)  # at run start: the code that produced the artifacts
    data = load_secom(data_dir)
    if fast:
        data = subset(data, np.arange(min(FAST_ROWS, data.n_rows)))
    n_repeats = n_repeats or (2 if fast else 5)
    n_boot = n_boot or (100 if fast else 1000)
    print(
        f"[data] {data.n_rows} wafers, {int(data.y.sum())} fails, "
        f"{data.timestamps[0]:%Y-%m-%d} .. {data.timestamps[-1]:%Y-%m-%d}"
    )

    cands = candidates(fast=fast, cache_dir=cache_dir)
    if only:
        unknown = set(only) - {c.key for c in cands}
        if unknown:
            raise SystemExit(f"unknown candidate(s): {sorted(unknown)}")
        cands = [c for c in cands if c.key in only]
    evs: dict[str, Evaluation] = {}
    for c in cands:
        t = time.time()
        evs[c.key] = evaluate(
            c.key,
            c.make,
            data.X,
            data.y,
            n_repeats=n_repeats,
            n_boot=n_boot,
            seed=SEED,
            rolling=not fast,
            jobs=jobs,
        )
        e = evs[c.key]
        print(
            f"[eval] {c.key:20s} CV AUC {e.cv_metrics['roc_auc']['value']:.3f} "
            f"AP {e.cv_metrics['pr_auc']['value']:.3f} | TF AUC {e.tf_metrics['roc_auc']['value']:.3f} "
            f"AP {e.tf_metrics['pr_auc']['value']:.3f} | RO AUC {e.ro_roc_auc:.3f} AP {e.ro_pr_auc:.3f} "
            f"| acc {e.cv_accuracy:.3f} ({time.time() - t:.0f}s wall, {e.cpu_seconds:.0f}s CPU in fits)",
            flush=True,
        )

    chosen_key, why = choose(cands, evs)
    base_key = baseline_key(cands, evs)
    chosen = next(c for c in cands if c.key == chosen_key)
    ev = evs[chosen_key]
    threshold = ev.cv_threshold

    # refit the chosen recipe on every training wafer and export
    final = chosen.make()
    final.fit(data.X, data.y)
    keep, _ = split_pipeline(final)
    onx = to_onnx(final)
    model_bytes = serialize(onx)
    try:
        diff = check_parity(final, model_bytes, data.X, threshold)
    except ParityError as exc:
        print("\n" + "!" * 78 + f"\n{exc}\n" + "!" * 78, file=sys.stderr)
        return 2
    print(f"[parity] {data.n_rows} training wafers: max |dP(fail)| XGBoost vs onnxruntime = {diff:.3g}")

    models_dir = out_dir / "public" / "models"
    models_dir.mkdir(parents=True, exist_ok=True)
    (models_dir / ONNX_NAME).write_bytes(model_bytes)
    sha = sha256_bytes(model_bytes)
    mj = model_json(
        data=data,
        onnx_file=ONNX_NAME,
        onnx_sha256=sha,
        onnx_bytes=len(model_bytes),
        threshold=threshold,
        threshold_rule=THRESHOLD_RULE.replace("5 repeats", f"{n_repeats} repeats"),
        ev=ev,
        cv_protocol=cv_protocol(n_repeats),
        tf_protocol=TF_PROTOCOL,
        recipe_summary=chosen.summary,
        recipe_params=chosen.params,
        selected_features=int(keep.size),
        commit=commit,
        version=MODEL_VERSION,
    )
    dump_json(mj, models_dir / "model.json")

    # golden wafers + the sample CSV, scored by XGBoost (and cross-checked with ONNX)
    rows = golden_rows(data)
    Xg = data.X[rows]
    pg = xgb_predict(final, Xg)
    sample_path = REPO_ROOT / "tests" / "fixtures" / "wafer" / SAMPLE_NAME
    _, Xs = read_wafer_csv(sample_path)
    ps = xgb_predict(final, Xs)
    for X_, p_ in ((Xg, pg), (Xs, ps)):
        _, po = onnx_predict(model_bytes, X_)
        if np.max(np.abs(po - p_)) > 1e-5:
            print("PARITY FAILED on golden/sample wafers", file=sys.stderr)
            return 2
    golden: dict[str, Any] = {
        "model_sha256": sha,
        "threshold": mj["threshold"]["value"],
        "features": list(FEATURES),
        "wafers": [
            {"secom_index": int(i), "values": data.raw_values[i], "probability": float(p)}
            for i, p in zip(rows, pg, strict=True)
        ],
        "sample": {"file": SAMPLE_NAME, "probabilities": [float(p) for p in ps]},
        "edit_probe": edit_probe(final, data, sample_path),
    }
    probe = golden["edit_probe"]
    Xp = Xs[probe["row"] : probe["row"] + 1].copy()
    Xp[0, FEATURES.index(probe["feature"])] = float(probe["value"])
    if abs(float(onnx_predict(model_bytes, Xp)[1][0]) - probe["probability"]) > 1e-5:
        print("PARITY FAILED on the edit probe", file=sys.stderr)
        return 2
    print(
        f"[probe] sample row {probe['row']}, {probe['feature']} -> {probe['value']}: "
        f"P(fail) {ps[probe['row']]:.4f} -> {probe['probability']:.4f}"
    )
    # Explanations (training/explain.py): explain.json in the bundle, pred_contribs on the golden wafers.
    write_explain(final, data.X, Xg, golden["wafers"], models_dir, mj)
    dump_json(mj, models_dir / "model.json")
    dump_json(golden, out_dir / "tests" / "fixtures" / "golden.json")

    report = comparison_markdown(
        cands=cands,
        evs=evs,
        chosen_key=chosen_key,
        why=why,
        baseline_key=base_key,
        data=data,
        n_repeats=n_repeats,
        n_boot=n_boot,
        threshold=threshold,
        parity=diff,
        onnx_bytes=len(model_bytes),
        fast=fast,
    )
    rep = out_dir / "training" / "reports" / "comparison.md"
    rep.parent.mkdir(parents=True, exist_ok=True)
    rep.write_text(report, encoding="utf-8")
    print(
        f"[export] {models_dir / ONNX_NAME} ({len(model_bytes)} bytes, sha256 {sha[:12]}…), "
        f"chosen {chosen_key}, threshold {threshold:.4f}, {int(keep.size)} sensors used"
    )
    import resource

    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = time.process_time() - c0 + (sum(e.cpu_seconds for e in evs.values()) if jobs > 1 else 0.0)
    print(
        f"[done] {time.time() - t0:.0f}s wall; CPU {cpu:.0f}s (this process + fits in workers; "
        f"reaped children {ch.ru_utime + ch.ru_stime:.0f}s)"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    ap.add_argument(
        "--out-dir", type=Path, default=Path("."), help="root for public/, tests/, training/reports"
    )
    ap.add_argument("--fast", action="store_true", help=f"subset run (first {FAST_ROWS} wafers, fewer fits)")
    ap.add_argument("--candidates", default="", help="comma-separated recipe keys (default: all)")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--n-boot", type=int, default=None)
    ap.add_argument("--jobs", type=int, default=JOBS, help="worker processes for the fits (1 thread each)")
    args = ap.parse_args(argv)
    only = [k for k in args.candidates.split(",") if k] or None
    try:
        return run(args.data_dir, args.out_dir, args.fast, only, args.repeats, args.n_boot, args.jobs)
    except DataValidationError as exc:
        print(f"ERROR: invalid input data: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
