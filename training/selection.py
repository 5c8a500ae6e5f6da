"""The selection rule and the check of how well each protocol foresaw the next.

Rule: on the headline protocol (pooled rolling origin; shuffled CV only when the data has no time
column), the recipe with the best ROC-AUC of its seed bag is the reference. Every recipe is compared
with it by a paired bootstrap of the wafers. The chosen recipe is the simplest (first in `RECIPES`)
whose differences to the reference (ROC-AUC and PR-AUC) have intervals that include 0: a more complex
recipe is preferred only when it wins beyond its interval."""

from __future__ import annotations

import numpy as np

from training.evaluate import Comparison, Evaluation, RecipeResult
from training.metrics import paired_difference

METRICS = ("roc_auc", "pr_auc")


def headline(r: RecipeResult, ev: Evaluation) -> float:
    m = r.rolling_origin if ev.headline == "rolling_origin" else r.cv
    assert m is not None
    return m.roc_auc.value


def _scores(r: RecipeResult) -> np.ndarray:
    return np.asarray(r.oof.p)


def compare(ev: Evaluation, reference: str) -> list[Comparison]:
    ref = ev.result(reference)
    y = np.asarray(ref.oof.y)
    out = []
    for r in ev.results:
        for metric in METRICS:
            if r.oof.rows != ref.oof.rows:
                raise AssertionError("recipes were not scored on the same wafers")
            d, ci = paired_difference(
                _scores(r), _scores(ref), y, metric, ev.settings.n_boot, ev.settings.seeds[0]
            )
            out.append(Comparison(r.key, reference, metric, d, ci))
    return out


def _first_not_beaten(ev: Evaluation, metrics: tuple[str, ...]) -> list[str]:
    """Recipes (simplest first) whose difference to the reference includes 0 on every metric."""
    beaten = {c.recipe for c in ev.comparisons if c.metric in metrics and c.ci95[1] < 0.0}
    return [r.key for r in ev.results if r.key not in beaten]


def choose(ev: Evaluation) -> None:
    """Fill ev.comparisons, ev.chosen, ev.why and ev.foresight."""
    best = max(ev.results, key=lambda r: headline(r, ev))
    ev.comparisons = compare(ev, best.key)
    tied = _first_not_beaten(ev, METRICS)
    chosen = ev.result(tied[0])
    roc_only = _first_not_beaten(ev, ("roc_auc",))[0]
    diff = {(c.recipe, c.metric): c for c in ev.comparisons}
    name = (
        "pooled rolling-origin"
        if ev.headline == "rolling_origin"
        else "shuffled-CV (the data has no time column)"
    )
    ev.chosen = chosen.key
    d = diff[(chosen.key, "roc_auc")]
    ev.why = (
        f"Best {name} ROC-AUC: `{best.key}` ({headline(best, ev):.3f}). Recipes not beaten by it beyond the "
        f"paired-bootstrap interval on ROC-AUC or PR-AUC: {', '.join(f'`{k}`' for k in tied)}. Chosen: the "
        f"simplest of them, `{chosen.key}` ({headline(chosen, ev):.3f}, difference {d.diff:+.3f} "
        f"[{d.ci95[0]:+.3f}, {d.ci95[1]:+.3f}])."
    )
    if roc_only != chosen.key:
        ap = diff[(roc_only, "pr_auc")]
        ev.why += (
            f" On ROC-AUC alone the rule would pick `{roc_only}`, which is beaten on PR-AUC beyond the "
            "interval "
            f"({ap.diff:+.3f} [{ap.ci95[0]:+.3f}, {ap.ci95[1]:+.3f}]). Disclosure: the rule first judged "
            "ROC-AUC "
            "only; PR-AUC was added after the first full run showed this (both are the headline metrics)."
        )
    ev.foresight = foresight(ev)


def _rank(values: dict[str, float], key: str) -> int:
    return 1 + sum(1 for v in values.values() if v > values[key])


def _spearman(a: list[float], b: list[float]) -> float:
    ra = np.argsort(np.argsort(a))
    rb = np.argsort(np.argsort(b))
    if np.std(ra) == 0 or np.std(rb) == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def foresight(ev: Evaluation) -> list[str]:
    """Would choosing on one protocol have picked the recipe that wins the next one?"""
    if ev.headline != "rolling_origin":
        return [
            "No time column: the forward-in-time protocols were skipped, so nothing can be said about later "
            "wafers."
        ]
    keys = [r.key for r in ev.results]
    cv = {r.key: r.cv.roc_auc.value for r in ev.results}
    tf = {r.key: r.time_forward.roc_auc.value for r in ev.results if r.time_forward}
    ro = {r.key: headline(r, ev) for r in ev.results}
    early = {r.key: r.early_roc_auc or 0.0 for r in ev.results}
    late = {r.key: r.late_roc_auc or 0.0 for r in ev.results}
    n = len(keys)
    out = []
    for label, src in (
        ("shuffled CV", cv),
        ("the single 75/25 split", tf),
        ("the earlier rolling-origin blocks", early),
    ):
        win = max(src, key=lambda k: src[k])
        target, tname = (late, "the later blocks") if src is early else (ro, "the pooled rolling origin")
        out.append(
            f"The winner of {label}, `{win}` ({src[win]:.3f}), ranks {_rank(target, win)} of {n} on {tname} "
            f"({target[win]:.3f}; best there {max(target.values()):.3f})."
        )
    out.append(
        "Rank agreement across recipes (Spearman): CV vs rolling origin "
        f"{_spearman([cv[k] for k in keys], [ro[k] for k in keys]):+.2f}; "
        f"75/25 vs rolling origin {_spearman([tf[k] for k in keys], [ro[k] for k in keys]):+.2f}; "
        f"earlier vs later blocks {_spearman([early[k] for k in keys], [late[k] for k in keys]):+.2f}."
    )
    spread = [max(r.seed_roc_auc) - min(r.seed_roc_auc) for r in ev.results if len(r.seed_roc_auc) > 1]
    if spread:
        out.append(
            f"One training seed against another moves a recipe's pooled rolling-origin ROC-AUC by "
            f"{min(spread):.3f}–{max(spread):.3f} (range over the seeds); the bag of seeds removes that luck."
        )
    return out
