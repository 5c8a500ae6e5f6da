"""Train a model bundle from any wafer data set.

  npm run train                                   # the shipped SECOM model -> public/models/
  npm run train -- --data FILE [--config FILE] --out DIR
  npm run train -- --from-evaluation training/reports/evaluation.json   # refit + bundle, no evaluation

Stages: load (config or detection) -> evaluate candidates (rolling origin, CV, 75/25; cached as
evaluation.json) -> choose -> fit the bag and export -> write the bundle (model.json, ONNX, golden, report).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from training.dataset import (
    DatasetConfig,
    DataValidationError,
    WaferData,
    detect_config,
    load_config,
    load_dataset,
    subset,
)
from training.evaluate import Evaluation, Settings, evaluate_recipes, load_evaluation, save_evaluation
from training.models import SEED, recipes
from training.selection import choose

REPO_ROOT = Path(__file__).resolve().parent.parent
SECOM_CONFIG = REPO_ROOT / "training" / "data" / "secom.toml"
SHIPPED_OUT = REPO_ROOT / "public" / "models"
SHIPPED_EVALUATION = REPO_ROOT / "training" / "reports" / "evaluation.json"
FAST_ROWS = 400
JOBS = 2  # worker processes, one thread each
SEEDS = [SEED + k for k in range(5)]
BAG_SIZE = 5


def settings(fast: bool, n_boot: int | None) -> Settings:
    return Settings(
        n_blocks=6 if fast else 12,
        forward_share=0.5,
        seeds=SEEDS[:2] if fast else SEEDS,
        cv_repeats=1 if fast else 3,
        n_boot=n_boot or (200 if fast else 1000),
        fast=fast,
    )


def resolve_config(data: Path | None, config: Path | None) -> DatasetConfig:
    if config is not None:
        return load_config(config, data)
    if data is None:
        return load_config(SECOM_CONFIG)
    if data.suffix.lower() == ".toml":
        return load_config(data)
    return detect_config(data)


def describe(data: WaferData) -> str:
    span = (
        f"{data.times[0]:%Y-%m-%d} .. {data.times[-1]:%Y-%m-%d}"
        + (
            f", {data.disk_order_breaks} rows out of time order on disk (sorted)"
            if data.disk_order_breaks
            else ""
        )
        if data.times
        else "no time column: the time-forward protocols are skipped"
    )
    return (
        f"[data] {data.config.file.name}: {data.n_rows} wafers, {data.n_fails} fails, "
        f"{len(data.features)} sensors, {span} (roles {data.config.origin})"
    )


def evaluate_candidates(
    data: WaferData, fast: bool, only: list[str] | None, n_boot: int | None, jobs: int
) -> Evaluation:
    ev = evaluate_recipes(
        recipes(fast, only), data.X, data.y, data.times is not None, settings(fast, n_boot), data.files, jobs
    )
    choose(ev)
    print(f"[choice] {ev.why}")
    for line in ev.foresight:
        print(f"[foresight] {line}")
    return ev


def run(
    data_path: Path | None,
    config_path: Path | None,
    out: Path,
    *,
    fast: bool,
    only: list[str] | None,
    n_boot: int | None,
    jobs: int,
    evaluation_out: Path | None,
    from_evaluation: Path | None,
    evaluate_only: bool = False,
) -> int:
    t0 = time.time()
    cfg = resolve_config(data_path, config_path)
    data = load_dataset(cfg)
    if fast and data.n_rows > FAST_ROWS:
        data = subset(data, np.arange(FAST_ROWS))
    print(describe(data), flush=True)
    if from_evaluation is not None:
        ev = load_evaluation(from_evaluation)
        if ev.data_files != data.files or ev.rows != data.n_rows:
            raise DataValidationError(
                f"{from_evaluation} was computed on other data ({ev.data_files}, {ev.rows} rows)"
            )
        choose(ev)  # the rule is cheap: recomputed so a changed rule needs no re-evaluation
    else:
        ev = evaluate_candidates(data, fast, only, n_boot, jobs)
        if evaluation_out is not None:
            save_evaluation(ev, evaluation_out)
            print(
                f"[eval] cached in {evaluation_out} ({ev.wall_seconds:.0f}s wall, {ev.cpu_seconds:.0f}s CPU "
                "in fits)"
            )
    if evaluate_only:
        return 0
    from training.bundle import fit_and_export, write_bundle

    recipe = next(r for r in recipes(only=[ev.chosen]))
    fitted = fit_and_export(recipe, data, ev, BAG_SIZE if recipe.seeded else 1, fast)
    write_bundle(fitted, data, ev, out)
    print(f"[done] bundle in {out}, {time.time() - t0:.0f}s wall")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=None, help="wafer CSV (or a .toml config); default: SECOM")
    ap.add_argument("--config", type=Path, default=None, help="TOML config describing the data set")
    ap.add_argument("--out", type=Path, default=None, help="bundle folder (default: public/models for SECOM)")
    ap.add_argument("--fast", action="store_true", help=f"quick run (first {FAST_ROWS} wafers, fewer fits)")
    ap.add_argument("--candidates", default="", help="comma-separated recipe keys (default: all)")
    ap.add_argument("--n-boot", type=int, default=None)
    ap.add_argument("--jobs", type=int, default=JOBS, help="worker processes for the fits (1 thread each)")
    ap.add_argument("--evaluation-out", type=Path, default=None, help="where to cache the evaluation (JSON)")
    ap.add_argument("--from-evaluation", type=Path, default=None, help="skip evaluation: use this cached one")
    ap.add_argument("--evaluate-only", action="store_true", help="stop after caching the evaluation")
    args = ap.parse_args(argv)
    shipped = args.data is None and args.config is None
    out = args.out or (SHIPPED_OUT if shipped else None)
    if out is None:
        ap.error("--out DIR is required with --data/--config")
    evaluation_out = args.evaluation_out or (SHIPPED_EVALUATION if shipped and not args.fast else None)
    only = [k for k in args.candidates.split(",") if k] or None
    try:
        return run(
            args.data,
            args.config,
            out,
            fast=args.fast,
            only=only,
            n_boot=args.n_boot,
            jobs=args.jobs,
            evaluation_out=evaluation_out,
            from_evaluation=args.from_evaluation,
            evaluate_only=args.evaluate_only,
        )
    except (DataValidationError, ValueError) as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
