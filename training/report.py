"""The bundle's report.md: the recipe comparison that chose the model."""

from __future__ import annotations

from training.dataset import WaferData
from training.evaluate import TARGET_RECALL, Evaluation, RecipeResult
from training.metrics import MetricCI, ProtocolMetrics
from training.models import RECIPES

COLS: list[tuple[str, str]] = [
    ("roc_auc", "ROC-AUC"),
    ("pr_auc", "PR-AUC"),
    ("recall", "Recall"),
    ("precision", "Precision"),
    ("flagged_share", "Flagged"),
]
AIM = {"roc_auc": 0.70, "pr_auc": 0.15}


def _fmt(m: MetricCI) -> str:
    return f"{m.value:.3f} [{m.ci95[0]:.2f}–{m.ci95[1]:.2f}]"


def _table(ev: Evaluation, pick: str, title: str) -> list[str]:
    lines = [
        f"## {title}",
        "",
        "| Recipe | " + " | ".join(h for _, h in COLS) + " |",
        "|---|" + "---|" * len(COLS),
    ]
    for r in ev.results:
        m: ProtocolMetrics | None = getattr(r, pick)
        if m is None:
            continue
        tag = " (**chosen**)" if r.key == ev.chosen else ""
        lines.append(f"| `{r.key}`{tag} | " + " | ".join(_fmt(getattr(m, k)) for k, _ in COLS) + " |")
    return [*lines, ""]


def _differences(ev: Evaluation) -> list[str]:
    ref = ev.comparisons[0].reference if ev.comparisons else ""
    lines = [
        f"## Paired differences to the best recipe (`{ref}`) on the headline protocol",
        "",
        "95 % intervals from a paired stratified bootstrap of the wafers (both recipes scored on each "
        "resample).",
        "",
        "| Recipe | Δ ROC-AUC | Δ PR-AUC | beaten beyond the interval (either) |",
        "|---|---|---|---|",
    ]
    for r in ev.results:
        c = {x.metric: x for x in ev.comparisons if x.recipe == r.key}
        auc, ap = c["roc_auc"], c["pr_auc"]
        lines.append(
            f"| `{r.key}` | {auc.diff:+.3f} [{auc.ci95[0]:+.3f}, {auc.ci95[1]:+.3f}] | "
            f"{ap.diff:+.3f} [{ap.ci95[0]:+.3f}, {ap.ci95[1]:+.3f}] | "
            f"{'yes' if auc.ci95[1] < 0 or ap.ci95[1] < 0 else 'no'} |"
        )
    return [*lines, ""]


def _seeds_and_blocks(ev: Evaluation) -> list[str]:
    if ev.headline != "rolling_origin":
        return []
    n = len(ev.results[0].block_roc_auc)
    lines = [
        "## Seeds and blocks (rolling origin)",
        "",
        "Single-seed pooled ROC-AUC (min–max over the seeds) and the bag's ROC-AUC per block (— = a block "
        "without a fail).",
        "",
        "| Recipe | seeds | earlier blocks | later blocks | "
        + " | ".join(f"b{i + 1}" for i in range(n))
        + " |",
        "|---|---|---|---|" + "---|" * n,
    ]
    for r in ev.results:
        blocks = " | ".join("—" if b is None else f"{b:.2f}" for b in r.block_roc_auc)
        lines.append(
            f"| `{r.key}` | {min(r.seed_roc_auc):.3f}–{max(r.seed_roc_auc):.3f} | {_opt(r.early_roc_auc)} | "
            f"{_opt(r.late_roc_auc)} | {blocks} |"
        )
    return [*lines, ""]


def _opt(v: float | None) -> str:
    return "—" if v is None else f"{v:.3f}"


def _gap(r: RecipeResult) -> str:
    if r.rolling_origin is None:
        return ""
    d = r.cv.roc_auc.value - r.rolling_origin.roc_auc.value
    dp = r.cv.pr_auc.value - r.rolling_origin.pr_auc.value
    return (
        f"Shuffled CV ROC-AUC {r.cv.roc_auc.value:.3f} against forward-in-time "
        f"{r.rolling_origin.roc_auc.value:.3f}: "
        f"CV {'overstates' if d > 0 else 'understates'} what the model does on later wafers by {abs(d):.3f} "
        f"ROC-AUC ({dp:+.3f} PR-AUC)."
    )


def report_markdown(ev: Evaluation, data: WaferData, parity: float, onnx_bytes: int, bag_size: int) -> str:
    s = ev.settings
    chosen = ev.result(ev.chosen)
    lines = [f"# Recipe comparison — {data.config.name}", ""]
    if s.fast:
        lines += [
            "> **FAST run (for tests): fewer wafers, seeds, blocks and trees — not a real evaluation.**",
            "",
        ]
    span = f"{data.times[0]:%Y-%m-%d} to {data.times[-1]:%Y-%m-%d}" if data.times else "no time column"
    lines += [
        f"Data: `{data.config.file.name}`, {ev.rows} wafers ({ev.fails} fails), {len(data.features)} "
        f"sensors, {span}. "
        "Positive class = fail.",
        "",
    ]
    head = chosen.rolling_origin
    if head is not None:
        lines += [
            "## Headline (the chosen recipe, forward in time)",
            "",
            f"`{ev.chosen}`, bag of {bag_size}: pooled rolling-origin ROC-AUC **{_fmt(head.roc_auc)}**, "
            f"PR-AUC **{_fmt(head.pr_auc)}** over {head.rows} later wafers ({head.fails} fails). "
            + "; ".join(
                f"aim {k.replace('_', '-').upper()} ≥ {v:.2f}: "
                f"{'met' if getattr(head, k).value >= v else 'NOT met'}"
                for k, v in AIM.items()
            )
            + ".",
            "",
            _gap(chosen),
            "",
        ]
    else:
        lines += [
            "## Headline",
            "",
            "**The data has no time column: the forward-in-time protocols were skipped.** The figures are "
            f"shuffled CV (`{ev.chosen}`: ROC-AUC {_fmt(chosen.cv.roc_auc)}), which overstates accuracy on "
            "wafers made later.",
            "",
        ]
    lines += ["## Protocols", ""] + [f"- **{k}**: {v}" for k, v in ev.protocols.items()]
    lines += [
        f"- **Threshold rule**: highest threshold that still catches ≥ {TARGET_RECALL:.0%} of fails in the "
        "headline protocol's out-of-fold predictions.",
        f"- **Seeds**: {len(s.seeds)} ({', '.join(map(str, s.seeds))}); a seeded recipe is scored as the "
        "bag of "
        "its seeds (mean margin), as it is shipped; deterministic recipes are fitted once.",
        f"- **Intervals**: {s.n_boot} stratified bootstrap resamples of the wafers.",
        "- **Selection**: " + (ev.why or "—"),
        "- Every recipe exports to the app's ONNX graph; the shipped bag is checked against onnxruntime on "
        "every "
        "training wafer. The evaluation scores fold models in Python (the same margins; parity is checked on "
        "the shipped graph, not per fold).",
        "",
    ]
    if ev.headline == "rolling_origin":
        lines += _table(ev, "rolling_origin", "Forward in time: pooled rolling origin (chooses)")
    lines += _differences(ev)
    lines += _seeds_and_blocks(ev)
    lines += _table(ev, "cv", "Shuffled CV (reported, does not choose)")
    if ev.headline == "rolling_origin":
        lines += _table(ev, "time_forward", "Single time-forward 75/25 split (reported, does not choose)")
    lines += ["## How well each protocol foresaw the next", ""] + [f"- {t}" for t in ev.foresight] + [""]
    lines += ["## Recipes (simplest first)", ""]
    lines += [f"- `{r.key}`: {r.summary}" for r in RECIPES if any(x.key == r.key for x in ev.results)]
    lines += [
        "",
        "## Run",
        "",
        (
            "Evaluation time is not recorded in a fast run (its bundle is reproducible byte for byte)."
            if s.fast
            else f"Evaluation: {ev.wall_seconds:.0f} s wall, {ev.cpu_seconds:.0f} s CPU in fits (one "
            "thread per fit, worker processes in parallel, on a 2-core machine shared with other jobs)."
        ),
        "Shipped: "
        f"`{ev.chosen}` bag of {bag_size} refit on all {ev.rows} wafers; threshold {chosen.threshold:.6f}; "
        f"ONNX {onnx_bytes} bytes; max |ΔP(fail)| Python vs onnxruntime over every training wafer = "
        f"{parity:.2e}.",
        "",
    ]
    return "\n".join(lines)
