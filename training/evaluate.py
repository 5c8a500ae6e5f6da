"""Evaluation protocols. Every fold fits a fresh estimator from `make()` on the fold's training rows
only; validation rows are only ever passed to `predict_proba`."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from sklearn.model_selection import RepeatedStratifiedKFold, StratifiedKFold
from threadpoolctl import threadpool_limits

from training.metrics import metrics_with_ci, threshold_for_recall

TARGET_RECALL = 0.6
THRESHOLD_RULE = (
    "Highest probability threshold that still flags at least 60 % of the failing wafers in the "
    "out-of-fold predictions of repeated stratified 5-fold CV (5 repeats); i.e. the threshold that "
    "catches 60 % of fails at the fewest flagged wafers. The median over the 5 repeats is used."
)

Split = tuple[np.ndarray, np.ndarray]
FitHook = Callable[[Any, np.ndarray, np.ndarray], None]


def fit_predict(
    make: Callable[[], Any],
    X: np.ndarray,
    y: np.ndarray,
    train_idx: np.ndarray,
    val_idx: np.ndarray,
    on_fit: FitHook | None = None,
) -> np.ndarray:
    """Fit a fresh estimator on the training rows and return P(fail) for the validation rows."""
    est = make()
    est.fit(X[train_idx], y[train_idx])
    if on_fit is not None:
        on_fit(est, train_idx, val_idx)
    return np.asarray(est.predict_proba(X[val_idx])[:, 1], dtype=np.float64)


def _fit_predict_task(
    make: Callable[[], Any], X: np.ndarray, y: np.ndarray, train_idx: np.ndarray, val_idx: np.ndarray
) -> tuple[np.ndarray, float]:
    """One fit in a worker process, single-threaded (BLAS + OpenMP): (P(fail) of val rows, CPU s)."""
    import warnings

    c0 = time.process_time()
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*probability.*deprecated", category=FutureWarning)
        p = fit_predict(make, X, y, train_idx, val_idx)
    return p, time.process_time() - c0


def run_fits(
    make: Callable[[], Any],
    X: np.ndarray,
    y: np.ndarray,
    tasks: list[Split],
    *,
    jobs: int,
    on_fit: FitHook | None = None,
) -> tuple[list[np.ndarray], float]:
    """Fit/predict every (train, val) task; returns predictions in task order and the CPU seconds used.

    With jobs > 1 the fits run in `jobs` single-threaded worker processes (no thread oversubscription;
    every fit is deterministic, so the result does not depend on `jobs`). A fit hook forces in-process
    sequential fits (it needs the fitted estimator)."""
    if on_fit is not None or jobs <= 1:
        c0 = time.process_time()
        with threadpool_limits(limits=1):
            preds = [fit_predict(make, X, y, tr, va, on_fit) for tr, va in tasks]
        return preds, time.process_time() - c0
    out = Parallel(n_jobs=jobs, backend="loky")(
        delayed(_fit_predict_task)(make, X, y, tr, va) for tr, va in tasks
    )
    return [p for p, _ in out], float(sum(c for _, c in out))


def cv_splits(y: np.ndarray, n_splits: int, n_repeats: int, seed: int) -> list[list[Split]]:
    """Repeated stratified K-fold, grouped by repeat."""
    rskf = RepeatedStratifiedKFold(n_splits=n_splits, n_repeats=n_repeats, random_state=seed)
    all_splits = list(rskf.split(np.zeros(len(y)), y))
    return [all_splits[r * n_splits : (r + 1) * n_splits] for r in range(n_repeats)]


def oof_predictions(
    make: Callable[[], Any],
    X: np.ndarray,
    y: np.ndarray,
    splits: list[list[Split]],
    on_fit: FitHook | None = None,
) -> list[np.ndarray]:
    """One out-of-fold P(fail) vector per repeat."""
    out: list[np.ndarray] = []
    for repeat in splits:
        oof = np.full(len(y), np.nan)
        for tr, va in repeat:
            oof[va] = fit_predict(make, X, y, tr, va, on_fit)
        assert not np.isnan(oof).any(), "every row must be predicted once per repeat"
        out.append(oof)
    return out


def cv_threshold(oofs: list[np.ndarray], y: np.ndarray) -> float:
    return float(np.median([threshold_for_recall(o, y, TARGET_RECALL) for o in oofs]))


def time_forward_split(n: int, train_share: float = 0.75) -> Split:
    """Rows are in time order: train on the earliest share, validate on the rest."""
    cut = round(n * train_share)
    return np.arange(cut), np.arange(cut, n)


def rolling_origin_splits(n: int, origins: tuple[float, ...] = (0.5, 0.6, 0.7, 0.8, 0.9)) -> list[Split]:
    """Expanding window: train on rows before each origin, validate on the next block."""
    cuts = [round(n * o) for o in origins] + [n]
    return [(np.arange(cuts[i]), np.arange(cuts[i], cuts[i + 1])) for i in range(len(origins))]


@dataclass
class Evaluation:
    key: str
    cv_threshold: float
    cv_oofs: list[np.ndarray]
    cv_metrics: dict[str, Any]
    cv_accuracy: float
    tf_threshold: float
    tf_scores: np.ndarray
    tf_metrics: dict[str, Any]
    ro_roc_auc: float
    ro_pr_auc: float
    tf_rows: int
    tf_fails: int
    cpu_seconds: float = 0.0


def evaluate(
    key: str,
    make: Callable[[], Any],
    X: np.ndarray,
    y: np.ndarray,
    *,
    n_repeats: int,
    n_boot: int,
    seed: int,
    rolling: bool = True,
    on_fit: FitHook | None = None,
    jobs: int = 1,
) -> Evaluation:
    """Both protocols for one recipe (plus the rolling-origin check)."""
    from training.metrics import weighted_metrics

    splits = cv_splits(y, 5, n_repeats, seed)
    cv_tasks = [sp for repeat in splits for sp in repeat]
    # time-forward: threshold chosen by the same rule on inner CV of the training period only
    tr, va = time_forward_split(len(y))
    inner = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    inner_tasks = [(tr[itr], tr[iva]) for itr, iva in inner.split(np.zeros(tr.size), y[tr])]
    ro_tasks = (
        [(rtr, rva) for rtr, rva in rolling_origin_splits(len(y)) if y[rtr].sum() >= 2] if rolling else []
    )
    tasks = cv_tasks + inner_tasks + [(tr, va)] + ro_tasks
    preds, cpu = run_fits(make, X, y, tasks, jobs=jobs, on_fit=on_fit)

    oofs: list[np.ndarray] = []
    for r, repeat in enumerate(splits):
        oof = np.full(len(y), np.nan)
        for f, (_, cva) in enumerate(repeat):
            oof[cva] = preds[r * len(repeat) + f]
        assert not np.isnan(oof).any(), "every row must be predicted once per repeat"
        oofs.append(oof)
    k = len(cv_tasks)
    thr = cv_threshold(oofs, y)
    cv_m = metrics_with_ci(oofs, y, thr, n_boot, seed)
    acc = float(np.mean([np.mean((o >= 0.5) == (y == 1)) for o in oofs]))

    inner_oof = np.full(tr.size, np.nan)
    for (_, iva), p in zip(inner_tasks, preds[k : k + len(inner_tasks)], strict=True):
        inner_oof[np.searchsorted(tr, iva)] = p
    assert not np.isnan(inner_oof).any()
    tf_thr = threshold_for_recall(inner_oof, y[tr], TARGET_RECALL)
    tf_scores = preds[k + len(inner_tasks)]
    tf_m = metrics_with_ci([tf_scores], y[va], tf_thr, n_boot, seed)

    ro_auc = ro_ap = float("nan")
    if ro_tasks:
        idx = np.concatenate([rva for _, rva in ro_tasks])
        pooled = np.concatenate(preds[k + len(inner_tasks) + 1 :])
        m = weighted_metrics(pooled, y[idx], 0.5, np.ones((1, idx.size)))
        ro_auc, ro_ap = float(m["roc_auc"][0]), float(m["pr_auc"][0])
    return Evaluation(
        key=key,
        cv_threshold=thr,
        cv_oofs=oofs,
        cv_metrics=cv_m,
        cv_accuracy=acc,
        tf_threshold=tf_thr,
        tf_scores=tf_scores,
        tf_metrics=tf_m,
        ro_roc_auc=ro_auc,
        ro_pr_auc=ro_ap,
        tf_rows=int(va.size),
        tf_fails=int(y[va].sum()),
        cpu_seconds=cpu,
    )
