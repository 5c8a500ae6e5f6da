"""Evaluation protocols and the typed, cached evaluation record.

Every fit is one task (recipe, seed, training rows, validation rows): a fresh pipeline from the recipe
is fitted on the training rows only and returns the margins (log-odds) of the validation rows. A recipe
with several seeds is scored as the bag of its seeds (mean margin), exactly as the shipped bag scores.

Protocols, on rows in time order:
- rolling origin (the headline and the one that chooses): the latest half of the wafers is cut into
  consecutive blocks; each block is scored by models trained on every earlier wafer; the blocks'
  predictions are pooled.
- shuffled CV (repeated stratified 5-fold): reported, never chooses.
- the single time-forward 75/25 split: reported, never chooses.
Without a time column only the CV runs (and then it chooses; the model card says so).
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import asdict, dataclass, field, replace
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from sklearn.model_selection import RepeatedStratifiedKFold, StratifiedKFold
from threadpoolctl import threadpool_limits

from training.metrics import MetricCI, ProtocolMetrics, metrics_with_ci, threshold_for_recall
from training.models import Recipe, margin, sigmoid

TARGET_RECALL = 0.6
EVALUATION_FORMAT = 1


@dataclass(frozen=True)
class Settings:
    n_blocks: int
    forward_share: float  # share of the latest wafers the rolling-origin blocks cover
    seeds: list[int]
    cv_repeats: int
    n_boot: int
    fast: bool


@dataclass(frozen=True)
class Task:
    recipe: str
    seed: int
    train: np.ndarray
    val: np.ndarray


@dataclass
class Oof:
    """Out-of-fold P(fail) of the bag (one entry per predicted wafer, in time order)."""

    protocol: str
    rows: list[int]
    y: list[int]
    p: list[float]


@dataclass
class RecipeResult:
    key: str
    cv: ProtocolMetrics
    cv_threshold: float
    time_forward: ProtocolMetrics | None
    rolling_origin: ProtocolMetrics | None
    threshold: float  # the rule applied to the headline protocol's out-of-fold predictions
    oof: Oof  # the headline protocol's bag predictions
    seed_roc_auc: list[float]  # each single seed's headline ROC-AUC (the spread a seed moves it)
    block_roc_auc: list[float | None]  # per rolling-origin block (None: a block of one class)
    early_roc_auc: float | None  # pooled over the first half of the blocks
    late_roc_auc: float | None  # pooled over the second half
    cpu_seconds: float


@dataclass
class Comparison:
    """metric(recipe) - metric(reference) on the headline protocol, paired bootstrap interval."""

    recipe: str
    reference: str
    metric: str
    diff: float
    ci95: tuple[float, float]


@dataclass
class Evaluation:
    format: int
    data_files: dict[str, str]
    rows: int
    fails: int
    has_time: bool
    headline: str  # "rolling_origin" or "cv"
    settings: Settings
    protocols: dict[str, str]
    results: list[RecipeResult]
    comparisons: list[Comparison] = field(default_factory=list)
    chosen: str = ""
    why: str = ""
    foresight: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0

    def result(self, key: str) -> RecipeResult:
        return next(r for r in self.results if r.key == key)


# ---------------------------------------------------------------- splits


def rolling_origin_blocks(n: int, n_blocks: int, forward_share: float) -> list[np.ndarray]:
    """Consecutive validation blocks over the latest `forward_share` of the rows."""
    start = round(n * (1 - forward_share))
    return [b for b in np.array_split(np.arange(start, n), n_blocks) if b.size]


def time_forward_split(n: int, train_share: float = 0.75) -> tuple[np.ndarray, np.ndarray]:
    cut = round(n * train_share)
    return np.arange(cut), np.arange(cut, n)


def cv_splits(y: np.ndarray, repeats: int, seed: int) -> list[list[tuple[np.ndarray, np.ndarray]]]:
    rskf = RepeatedStratifiedKFold(n_splits=5, n_repeats=repeats, random_state=seed)
    s = list(rskf.split(np.zeros(len(y)), y))
    return [s[r * 5 : (r + 1) * 5] for r in range(repeats)]


# ---------------------------------------------------------------- fitting


def fit_margins(
    recipe: Recipe, fast: bool, X: np.ndarray, y: np.ndarray, task: Task
) -> tuple[np.ndarray, float]:
    """One fit, single-threaded: (margins of the validation rows, CPU seconds)."""
    c0 = time.process_time()
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore", category=FutureWarning)
        est = recipe.make(task.seed, fast).fit(X[task.train], y[task.train])
        m = margin(est, X[task.val])
    return m, time.process_time() - c0


def run_tasks(
    recipes: dict[str, Recipe], fast: bool, X: np.ndarray, y: np.ndarray, tasks: list[Task], jobs: int
) -> tuple[list[np.ndarray], list[float]]:
    """Every task's margins (task order) and CPU seconds; fits are deterministic, so `jobs` changes
    only the wall time."""
    if jobs <= 1:
        out = [fit_margins(recipes[t.recipe], fast, X, y, t) for t in tasks]
    else:
        out = Parallel(n_jobs=jobs, backend="loky")(
            delayed(fit_margins)(recipes[t.recipe], fast, X, y, t) for t in tasks
        )
    return [m for m, _ in out], [c for _, c in out]


def seeds_for(recipe: Recipe, seeds: list[int]) -> list[int]:
    return seeds if recipe.seeded else seeds[:1]


def plan(recipe: Recipe, y: np.ndarray, has_time: bool, s: Settings) -> dict[str, list[Task]]:
    """Every fit one recipe needs, by protocol."""
    n = len(y)
    seeds = seeds_for(recipe, s.seeds)
    out: dict[str, list[Task]] = {"cv": []}
    for r, repeat in enumerate(cv_splits(y, s.cv_repeats, s.seeds[0])):
        seed = seeds[r % len(seeds)]
        out["cv"] += [Task(recipe.key, seed, tr, va) for tr, va in repeat]
    if not has_time:
        return out
    blocks = rolling_origin_blocks(n, s.n_blocks, s.forward_share)
    out["ro"] = [Task(recipe.key, seed, np.arange(b[0]), b) for seed in seeds for b in blocks]
    tr, va = time_forward_split(n)
    out["tf"] = [Task(recipe.key, seed, tr, va) for seed in seeds]
    inner = StratifiedKFold(n_splits=5, shuffle=True, random_state=s.seeds[0])
    out["tf_inner"] = [
        Task(recipe.key, seeds[0], tr[itr], tr[iva]) for itr, iva in inner.split(np.zeros(tr.size), y[tr])
    ]
    return out


def _bag(margins: list[np.ndarray]) -> np.ndarray:
    return sigmoid(np.mean(margins, axis=0))


def _auc(p: np.ndarray, y: np.ndarray) -> float | None:
    from training.metrics import weighted_metrics

    if y.min() == y.max():
        return None
    return round(float(weighted_metrics(p, y, 0.5, np.ones((1, y.size)))["roc_auc"][0]), 6)


def summarise(
    recipe: Recipe,
    y: np.ndarray,
    has_time: bool,
    s: Settings,
    tasks: dict[str, list[Task]],
    margins: dict[str, list[np.ndarray]],
    cpu: float,
    protocols: dict[str, str],
) -> RecipeResult:
    """The metrics of one recipe from its tasks' margins."""
    n, boot_seed = len(y), s.seeds[0]
    seeds = seeds_for(recipe, s.seeds)
    oofs = []
    for r in range(s.cv_repeats):
        oof = np.full(n, np.nan)
        for t, m in zip(tasks["cv"][r * 5 : (r + 1) * 5], margins["cv"][r * 5 : (r + 1) * 5], strict=True):
            oof[t.val] = sigmoid(m)
        oofs.append(oof)
    cv_thr = float(np.median([threshold_for_recall(o, y, TARGET_RECALL) for o in oofs]))
    cv = metrics_with_ci(oofs, y, cv_thr, s.n_boot, boot_seed, protocols["cv"])
    # Without a time column, shuffled CV is the headline: its threshold and first repeat's predictions.
    cv_only = RecipeResult(
        key=recipe.key,
        cv=cv,
        cv_threshold=cv_thr,
        time_forward=None,
        rolling_origin=None,
        threshold=cv_thr,
        oof=Oof("cv", list(range(n)), [int(v) for v in y], [float(v) for v in oofs[0]]),
        seed_roc_auc=[float(_auc(o, y) or 0.0) for o in oofs],
        block_roc_auc=[],
        early_roc_auc=None,
        late_roc_auc=None,
        cpu_seconds=cpu,
    )
    if not has_time:
        return cv_only
    n_blocks = len(tasks["ro"]) // len(seeds)
    per_seed = [np.concatenate(margins["ro"][k * n_blocks : (k + 1) * n_blocks]) for k in range(len(seeds))]
    rows = np.concatenate([t.val for t in tasks["ro"][:n_blocks]])
    p_ro = _bag(per_seed)
    thr = threshold_for_recall(p_ro, y[rows], TARGET_RECALL)
    ro = metrics_with_ci([p_ro], y[rows], thr, s.n_boot, boot_seed, protocols["rolling_origin"])
    bounds = np.cumsum([0] + [t.val.size for t in tasks["ro"][:n_blocks]])
    blocks = [_auc(p_ro[a:b], y[rows][a:b]) for a, b in pairwise(bounds)]
    half = int(bounds[n_blocks // 2])
    tr_rows = np.concatenate([t.val for t in tasks["tf_inner"]])
    inner = np.concatenate([sigmoid(m) for m in margins["tf_inner"]])
    tf_thr = threshold_for_recall(inner, y[tr_rows], TARGET_RECALL)
    va = tasks["tf"][0].val
    tf = metrics_with_ci([_bag(margins["tf"])], y[va], tf_thr, s.n_boot, boot_seed, protocols["time_forward"])
    return replace(
        cv_only,
        time_forward=tf,
        rolling_origin=ro,
        threshold=thr,
        oof=Oof(
            "rolling_origin", [int(v) for v in rows], [int(v) for v in y[rows]], [float(v) for v in p_ro]
        ),
        seed_roc_auc=[float(_auc(sigmoid(m), y[rows]) or 0.0) for m in per_seed],
        block_roc_auc=blocks,
        early_roc_auc=_auc(p_ro[:half], y[rows][:half]),
        late_roc_auc=_auc(p_ro[half:], y[rows][half:]),
    )


def protocol_texts(s: Settings, n: int, has_time: bool) -> dict[str, str]:
    seeds = f"{len(s.seeds)} training seeds"
    out = {
        "cv": (
            f"Shuffled CV: repeated stratified 5-fold, {s.cv_repeats} repeats, out-of-fold predictions; "
            "every "
            "preprocessing/screening/resampling step fitted inside the training folds only. Wafers are "
            "shuffled, so later wafers help predict earlier ones: this overstates accuracy on new wafers."
        )
    }
    if has_time:
        blocks = rolling_origin_blocks(n, s.n_blocks, s.forward_share)
        out["rolling_origin"] = (
            f"Forward in time (rolling origin): the latest {sum(b.size for b in blocks)} wafers in "
            f"{len(blocks)} consecutive blocks, each scored by models trained only on the wafers before it "
            f"(the bag of {seeds}, as shipped); predictions pooled. 95 % interval from a stratified "
            "bootstrap "
            "of the pooled wafers; threshold metrics at the threshold chosen on these same predictions."
        )
        out["time_forward"] = (
            f"Single time-forward split: trained on the earliest 75 % of wafers (bag of {seeds}), validated "
            "on the latest 25 %; threshold by the same rule on an inner 5-fold CV of the training period."
        )
    return out


def evaluate_recipes(
    recipes: list[Recipe],
    X: np.ndarray,
    y: np.ndarray,
    has_time: bool,
    settings: Settings,
    data_files: dict[str, str],
    jobs: int,
    log: Any = print,
) -> Evaluation:
    """All protocols for every recipe (fits of all recipes in one parallel pool)."""
    t0 = time.time()
    protocols = protocol_texts(settings, len(y), has_time)
    plans = {r.key: plan(r, y, has_time, settings) for r in recipes}
    flat = [(k, proto, t) for k, p in plans.items() for proto, ts in p.items() for t in ts]
    log(f"[eval] {len(recipes)} recipes, {len(flat)} fits, {jobs} worker processes")
    margins, cpus = run_tasks({r.key: r for r in recipes}, settings.fast, X, y, [t for *_, t in flat], jobs)
    results: list[RecipeResult] = []
    for r in recipes:
        idx = [i for i, (k, _, _) in enumerate(flat) if k == r.key]
        by_proto: dict[str, list[np.ndarray]] = {}
        for i in idx:
            by_proto.setdefault(flat[i][1], []).append(margins[i])
        res = summarise(
            r, y, has_time, settings, plans[r.key], by_proto, float(sum(cpus[i] for i in idx)), protocols
        )
        results.append(res)
        log(_eval_line(res))
    return Evaluation(
        format=EVALUATION_FORMAT,
        data_files=data_files,
        rows=len(y),
        fails=int(y.sum()),
        has_time=has_time,
        headline="rolling_origin" if has_time else "cv",
        settings=settings,
        protocols=protocols,
        results=results,
        wall_seconds=round(time.time() - t0, 1),
        cpu_seconds=round(float(sum(cpus)), 1),
    )


def _eval_line(r: RecipeResult) -> str:
    parts = [f"[eval] {r.key:18s} CV AUC {r.cv.roc_auc.value:.3f} AP {r.cv.pr_auc.value:.3f}"]
    if r.rolling_origin and r.time_forward:
        parts.append(
            f"RO AUC {r.rolling_origin.roc_auc.value:.3f} AP {r.rolling_origin.pr_auc.value:.3f}"
            f" (seeds {min(r.seed_roc_auc):.3f}–{max(r.seed_roc_auc):.3f}) | "
            f"TF AUC {r.time_forward.roc_auc.value:.3f}"
        )
    parts.append(f"{r.cpu_seconds:.0f}s CPU")
    return " | ".join(parts)


# ---------------------------------------------------------------- cache


def save_evaluation(ev: Evaluation, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(ev), indent=1, allow_nan=False) + "\n", encoding="utf-8")


def _metric(d: dict[str, Any]) -> MetricCI:
    return MetricCI(float(d["value"]), (float(d["ci95"][0]), float(d["ci95"][1])))


def _protocol(d: dict[str, Any] | None) -> ProtocolMetrics | None:
    if d is None:
        return None
    metrics: dict[str, Any] = {k: _metric(v) for k, v in d.items() if k not in ("protocol", "rows", "fails")}
    return ProtocolMetrics(protocol=str(d["protocol"]), rows=int(d["rows"]), fails=int(d["fails"]), **metrics)


def load_evaluation(path: Path) -> Evaluation:
    raw = json.loads(path.read_text(encoding="utf-8"))
    if raw.get("format") != EVALUATION_FORMAT:
        raise ValueError(f"{path}: evaluation format {raw.get('format')!r}, expected {EVALUATION_FORMAT}")
    results = []
    for r in raw["results"]:
        cv = _protocol(r["cv"])
        assert cv is not None
        results.append(
            RecipeResult(
                **{k: r[k] for k in ("key", "cv_threshold", "threshold", "seed_roc_auc", "block_roc_auc")},
                early_roc_auc=r["early_roc_auc"],
                late_roc_auc=r["late_roc_auc"],
                cpu_seconds=r["cpu_seconds"],
                cv=cv,
                time_forward=_protocol(r["time_forward"]),
                rolling_origin=_protocol(r["rolling_origin"]),
                oof=Oof(**r["oof"]),
            )
        )
    return Evaluation(
        **{k: raw[k] for k in ("format", "data_files", "rows", "fails", "has_time", "headline", "protocols")},
        settings=Settings(**raw["settings"]),
        results=results,
        comparisons=[Comparison(**{**c, "ci95": tuple(c["ci95"])}) for c in raw["comparisons"]],
        chosen=raw["chosen"],
        why=raw["why"],
        foresight=raw["foresight"],
        wall_seconds=raw["wall_seconds"],
        cpu_seconds=raw["cpu_seconds"],
    )
