"""Vectorised, weight-aware classification metrics (for fast bootstrap intervals)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

METRIC_NAMES: tuple[str, ...] = (
    "roc_auc",
    "pr_auc",
    "balanced_error_rate",
    "g_mean",
    "recall",
    "precision",
    "f1",
    "flagged_share",
)


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.zeros_like(num, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def weighted_metrics(
    scores: np.ndarray, y: np.ndarray, threshold: float, weights: np.ndarray
) -> dict[str, np.ndarray]:
    """All metrics for each row of `weights` [B, n] (row of ones = plain metrics).

    ROC-AUC with ties counted half; PR-AUC = average precision (step-wise, as scikit-learn);
    threshold metrics flag `score >= threshold`; positive class = fail (y == 1).
    """
    scores = np.asarray(scores, dtype=np.float64)
    y = np.asarray(y).astype(bool)
    W = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    order = np.argsort(-scores, kind="mergesort")
    s_sorted = scores[order]
    y_sorted = y[order]
    w_sorted = W[:, order]
    # distinct score groups (descending)
    starts = np.flatnonzero(np.r_[True, s_sorted[1:] != s_sorted[:-1]])
    wp = np.add.reduceat(w_sorted * y_sorted, starts, axis=1)  # [B, G]
    wn = np.add.reduceat(w_sorted * ~y_sorted, starts, axis=1)
    P = wp.sum(axis=1)
    N = wn.sum(axis=1)
    # ROC-AUC: for each group, positives beat negatives with lower scores (later groups)
    neg_below = N[:, None] - np.cumsum(wn, axis=1)
    auc = _safe_div((wp * (neg_below + 0.5 * wn)).sum(axis=1), P * N)
    # average precision
    tp = np.cumsum(wp, axis=1)
    fp = np.cumsum(wn, axis=1)
    prec = _safe_div(tp, tp + fp)
    ap = _safe_div((wp * prec).sum(axis=1), P)
    # threshold metrics
    flag = (scores >= threshold).astype(np.float64)
    yf = y.astype(np.float64)
    TP = W @ (flag * yf)
    FP = W @ (flag * (1 - yf))
    tpr = _safe_div(TP, P)
    fpr = _safe_div(FP, N)
    tnr = 1.0 - fpr
    precision = _safe_div(TP, TP + FP)
    f1 = _safe_div(2 * precision * tpr, precision + tpr)
    total = W.sum(axis=1)
    return {
        "roc_auc": auc,
        "pr_auc": ap,
        "balanced_error_rate": 0.5 * ((1 - tpr) + fpr),
        "g_mean": np.sqrt(tpr * tnr),
        "recall": tpr,
        "precision": precision,
        "f1": f1,
        "flagged_share": _safe_div(TP + FP, total),
    }


def stratified_bootstrap_weights(y: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """[n_boot, n] multiplicities of a bootstrap that resamples fails and passes separately."""
    rng = np.random.default_rng(seed)
    y = np.asarray(y).astype(bool)
    n = y.shape[0]
    W = np.zeros((n_boot, n), dtype=np.float64)
    for cls in (True, False):
        idx = np.flatnonzero(y == cls)
        draws = rng.integers(0, idx.size, size=(n_boot, idx.size))
        counts = np.zeros((n_boot, idx.size))
        np.add.at(counts, (np.arange(n_boot)[:, None], draws), 1.0)
        W[:, idx] = counts
    return W


@dataclass(frozen=True)
class MetricCI:
    """A metric with its 95 % bootstrap interval."""

    value: float
    ci95: tuple[float, float]


@dataclass(frozen=True)
class ProtocolMetrics:
    """The metrics of one evaluation protocol (the keys of model.json's `metrics.*`)."""

    protocol: str
    rows: int
    fails: int
    roc_auc: MetricCI
    pr_auc: MetricCI
    balanced_error_rate: MetricCI
    g_mean: MetricCI
    recall: MetricCI
    precision: MetricCI
    f1: MetricCI
    flagged_share: MetricCI


def metrics_with_ci(
    score_sets: list[np.ndarray],
    y: np.ndarray,
    threshold: float,
    n_boot: int,
    seed: int,
    protocol: str,
) -> ProtocolMetrics:
    """Metrics averaged over `score_sets` (e.g. CV repeats) with a stratified bootstrap 95 % interval.

    The same bootstrap resample of wafers is applied to every score set; the interval is the
    2.5/97.5 percentile of the set-averaged metric.
    """
    ones = np.ones((1, len(y)))
    Wb = stratified_bootstrap_weights(y, n_boot, seed)
    point = dict.fromkeys(METRIC_NAMES, 0.0)
    boot = {k: np.zeros(n_boot) for k in METRIC_NAMES}
    for s in score_sets:
        m1 = weighted_metrics(s, y, threshold, ones)
        mb = weighted_metrics(s, y, threshold, Wb)
        for k in METRIC_NAMES:
            point[k] += float(m1[k][0]) / len(score_sets)
            boot[k] += mb[k] / len(score_sets)
    out: dict[str, MetricCI] = {}
    for k in METRIC_NAMES:
        lo, hi = np.percentile(boot[k], [2.5, 97.5])
        out[k] = MetricCI(round(point[k], 6), (round(float(lo), 6), round(float(hi), 6)))
    return ProtocolMetrics(protocol=protocol, rows=len(y), fails=int(np.sum(y)), **out)


def paired_difference(
    a: np.ndarray, b: np.ndarray, y: np.ndarray, metric: str, n_boot: int, seed: int
) -> tuple[float, tuple[float, float]]:
    """metric(a) - metric(b) on the same wafers, with a 95 % interval from a paired stratified bootstrap
    (each resample of wafers is scored by both recipes, so what they share cancels)."""
    ones = np.ones((1, len(y)))
    Wb = stratified_bootstrap_weights(y, n_boot, seed)
    d = float(weighted_metrics(a, y, 0.5, ones)[metric][0] - weighted_metrics(b, y, 0.5, ones)[metric][0])
    db = weighted_metrics(a, y, 0.5, Wb)[metric] - weighted_metrics(b, y, 0.5, Wb)[metric]
    lo, hi = np.percentile(db, [2.5, 97.5])
    return round(d, 6), (round(float(lo), 6), round(float(hi), 6))


def threshold_for_recall(scores: np.ndarray, y: np.ndarray, target_recall: float) -> float:
    """Highest threshold t such that flagging `score >= t` catches >= target_recall of fails.

    The highest such threshold is the one that flags the fewest wafers.
    """
    pos = np.sort(np.asarray(scores, dtype=np.float64)[np.asarray(y) == 1])[::-1]
    k = int(np.ceil(target_recall * pos.size - 1e-9))
    k = min(max(k, 1), pos.size)
    return float(pos[k - 1])
