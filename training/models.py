"""The candidate recipes, in one place (`RECIPES`, simplest first). Every recipe makes a fresh, unfitted
scikit-learn / imbalanced-learn pipeline for a given seed, so that all preprocessing, screening and
resampling is fitted inside each training fold only. Every recipe exports to ONNX (training/export.py):
the step names below are what the exporter reads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline as ImbPipeline
from scipy.special import expit
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from xgboost import XGBClassifier

SEED = 20080719
# One thread per fit: parallelism comes from running folds in separate processes (evaluate.run_fits).
# Two OpenMP threads per XGBoost fit on a loaded 2-core machine spin at every barrier: the old-app
# XGBoost took 75 s wall / 17 s CPU per fit with nthread=2 against 1.4 s with nthread=1.
N_JOBS = 1


class SensorScreen(TransformerMixin, BaseEstimator):
    """Drops sensors that are mostly missing or (near-)constant, using the fitting rows only; with
    `top_k`, then keeps only the `top_k` most important remaining sensors (gain of a preliminary
    XGBoost fitted on the same rows). The result is a column subset, so it exports into the ONNX graph."""

    def __init__(
        self,
        max_missing: float = 0.5,
        max_mode_share: float = 1.0,
        top_k: int | None = None,
        seed: int = 0,
    ) -> None:
        self.max_missing = max_missing
        self.max_mode_share = max_mode_share
        self.top_k = top_k
        self.seed = seed

    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> SensorScreen:
        X = np.asarray(X, dtype=np.float64)
        keep: list[int] = []
        for j in range(X.shape[1]):
            col = X[:, j]
            present = col[~np.isnan(col)]
            if present.size == 0 or present.size < (1 - self.max_missing) * col.size:
                continue
            _, counts = np.unique(present, return_counts=True)
            if counts.size <= 1 or counts.max() / present.size >= self.max_mode_share:
                continue
            keep.append(j)
        self.keep_ = np.asarray(keep, dtype=np.int64)
        if self.top_k is not None and y is not None and self.keep_.size > self.top_k:
            # supervised step, fitted on the same (training-fold) rows: keep the top_k sensors by total
            # gain of a preliminary balanced XGBoost
            pre = BalancedXGB(**xgb_params(n_estimators=100, random_state=self.seed))
            pre.fit(X[:, self.keep_], y)
            gain = pre.get_booster().get_score(importance_type="total_gain")
            scores = np.zeros(self.keep_.size)
            for name, g in gain.items():
                scores[int(name.lstrip("f"))] = g
            top = np.sort(np.argsort(-scores, kind="mergesort")[: self.top_k])
            self.keep_ = self.keep_[top]
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X)[:, self.keep_]


class MissingCount(TransformerMixin, BaseEstimator):
    """Appends the number of missing readings of each wafer as an extra column (stateless)."""

    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> MissingCount:
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        return np.hstack([X, np.isnan(X).sum(axis=1, keepdims=True).astype(np.float64)])


class ClipScaled(TransformerMixin, BaseEstimator):
    """Clips standardised readings to [-limit, limit] (stateless): SECOM-like sensors have readings
    tens of standard deviations out, which would otherwise dominate a linear model's margin."""

    def __init__(self, limit: float = 5.0) -> None:
        self.limit = limit

    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> ClipScaled:
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return np.clip(np.asarray(X, dtype=np.float64), -self.limit, self.limit)


def scale_pos_weight(y: np.ndarray) -> float:
    y = np.asarray(y)
    return float((y == 0).sum()) / max(float((y == 1).sum()), 1.0)


class BalancedXGB(XGBClassifier):
    """XGBClassifier whose scale_pos_weight is set from the class ratio of the rows it is fitted on
    (fitted-fold statistic only)."""

    def fit(self, X: Any, y: Any, **kwargs: Any) -> BalancedXGB:
        self.set_params(scale_pos_weight=scale_pos_weight(y))
        super().fit(X, y, **kwargs)
        return self


def xgb_params(**overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = dict(
        n_estimators=200,
        max_depth=3,
        learning_rate=0.05,
        subsample=0.8,
        colsample_bytree=0.5,
        min_child_weight=1.0,
        reg_lambda=1.0,
        tree_method="hist",
        max_bin=256,
        n_jobs=N_JOBS,
        random_state=SEED,
        eval_metric="logloss",
    )
    params.update(overrides)
    return params


SCREEN: dict[str, Any] = {"max_missing": 0.5, "max_mode_share": 0.95}
D2_REG: dict[str, Any] = dict(
    n_estimators=300,
    max_depth=2,
    learning_rate=0.03,
    min_child_weight=5.0,
    reg_lambda=10.0,
    colsample_bytree=0.3,
)
STUMPS: dict[str, Any] = dict(
    n_estimators=400,
    max_depth=1,
    learning_rate=0.05,
    min_child_weight=5.0,
    reg_lambda=10.0,
    colsample_bytree=0.3,
)
D3: dict[str, Any] = dict(n_estimators=200, max_depth=3)
LOGREG_C = 0.01  # strong L2: hundreds of sensors, tens of fails
CLIP_LIMIT = 5.0  # standardised readings beyond ±5 SD are clipped (declared before any run, not tuned)


@dataclass(frozen=True)
class Recipe:
    """A named recipe. `make(seed, fast)` returns a fresh unfitted pipeline whose step names the exporter
    knows: `count` (missing-reading count appended), `impute` (median), `smote` (training rows only),
    `screen` (column subset), then `xgb` or `impute` + `scale` + `clip` + `lr`. `seeded`: the fit depends
    on the seed (a
    deterministic recipe is fitted once, not once per seed)."""

    key: str
    summary: str
    make: Callable[[int, bool], Any]
    seeded: bool
    params: dict[str, Any]


def _xgb_steps(
    seed: int, fast: bool, tree: dict[str, Any], screen: dict[str, Any] | None, count: bool, smote: bool
) -> Any:
    steps: list[tuple[str, Any]] = []
    if count:
        steps.append(("count", MissingCount()))
    if smote:
        steps.append(("impute", SimpleImputer(strategy="median", keep_empty_features=True)))
        steps.append(("smote", SMOTE(k_neighbors=5, random_state=seed)))
    if screen is not None:
        steps.append(("screen", SensorScreen(**{**screen, **({"seed": seed} if "top_k" in screen else {})})))
    params = xgb_params(**tree, random_state=seed)
    if fast:
        params["n_estimators"] = min(params["n_estimators"], 60)
    # SMOTE balances the classes itself; the others weight the fails by the fitting rows' class ratio
    steps.append(("xgb", XGBClassifier(**params) if smote else BalancedXGB(**params)))
    return ImbPipeline(steps) if smote else Pipeline(steps)


def _xgb_recipe(
    key: str,
    summary: str,
    tree: dict[str, Any],
    screen: dict[str, Any] | None = SCREEN,
    count: bool = False,
    smote: bool = False,
) -> Recipe:
    def make(seed: int, fast: bool) -> Any:
        return _xgb_steps(seed, fast, tree, screen, count, smote)

    p: dict[str, Any] = {
        k: v for k, v in xgb_params(**tree).items() if k not in ("eval_metric", "random_state")
    }
    p["scale_pos_weight"] = "1 (SMOTE balances)" if smote else "n_pass / n_fail of the fitting rows"
    p["missing_values"] = "median imputation (in the graph)" if smote else "native (learned default branch)"
    if screen is not None:
        p.update({f"screen_{k}": v for k, v in screen.items() if k != "seed"})
    if count:
        p["missing_count_feature"] = True
    return Recipe(key, summary, make, seeded=True, params=p)


def _logreg_make(seed: int, fast: bool) -> Any:
    return Pipeline(
        [
            ("screen", SensorScreen(**SCREEN)),
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("scale", StandardScaler()),
            ("clip", ClipScaled(CLIP_LIMIT)),
            ("lr", LogisticRegression(C=LOGREG_C, class_weight="balanced", max_iter=5000)),
        ]
    )


RECIPES: list[Recipe] = [
    Recipe(
        "logreg_l2",
        "Sensor screening + median imputation + standard scaling (clipped at ±5 SD) + L2 logistic regression "
        f"(C = {LOGREG_C}, classes balanced)",
        _logreg_make,
        seeded=False,
        params={
            **{f"screen_{k}": v for k, v in SCREEN.items()},
            "C": LOGREG_C,
            "clip_sd": CLIP_LIMIT,
            "class_weight": "balanced",
            "missing_values": "median imputation (in the graph)",
        },
    ),
    _xgb_recipe(
        "xgb_stumps",
        "Sensor screening (<= 50 % missing, not near-constant) + boosted stumps (depth 1), regularised, "
        "native missing values",
        STUMPS,
    ),
    _xgb_recipe(
        "xgb_d2_reg",
        "Sensor screening + shallow (depth 2), strongly regularised XGBoost, native missing values",
        D2_REG,
    ),
    _xgb_recipe(
        "xgb_d3",
        "Sensor screening + XGBoost depth 3 (200 trees), native missing values",
        D3,
    ),
    _xgb_recipe(
        "xgb_top40_d2_reg",
        "XGBoost (depth 2, regularised, native missing values) on the 40 most informative sensors: "
        "mostly-missing and near-constant sensors are screened out, then a preliminary XGBoost ranks the "
        "rest by gain; both steps are fitted on the training rows only",
        D2_REG,
        screen=dict(SCREEN, top_k=40),
    ),
    _xgb_recipe(
        "xgb_count_d2_reg",
        "Missing-reading count per wafer as an extra input (computed in the graph) + sensor screening + "
        "depth-2 regularised XGBoost, native missing values",
        D2_REG,
        count=True,
    ),
    _xgb_recipe(
        "xgb_smote_d2_reg",
        "Median imputation + SMOTE (training rows only) + sensor screening + depth-2 regularised XGBoost",
        D2_REG,
        smote=True,
    ),
]
FAST_KEYS = ("logreg_l2", "xgb_d2_reg", "xgb_count_d2_reg")


def recipes(fast: bool = False, only: list[str] | None = None) -> list[Recipe]:
    """The recipes to compare, simplest first (the order the selection rule prefers)."""
    keys = {r.key for r in RECIPES}
    if only:
        unknown = sorted(set(only) - keys)
        if unknown:
            raise ValueError(f"unknown recipe(s) {unknown}; known: {sorted(keys)}")
        return [r for r in RECIPES if r.key in only]
    return [r for r in RECIPES if r.key in FAST_KEYS] if fast else list(RECIPES)


def margin(est: Any, X: np.ndarray) -> np.ndarray:
    """The fitted pipeline's log-odds of fail on float32-rounded input (as ONNX sees it)."""
    X32 = np.asarray(X, dtype=np.float32).astype(np.float64)
    head = est[:-1].transform(X32) if len(est.steps) > 1 else X32
    last = est.steps[-1][1]
    if isinstance(last, XGBClassifier):
        return np.asarray(last.predict(head, output_margin=True), dtype=np.float64)
    return np.asarray(last.decision_function(head), dtype=np.float64)


def sigmoid(m: np.ndarray) -> np.ndarray:
    return np.asarray(expit(np.asarray(m, dtype=np.float64)), dtype=np.float64)


class Bag:
    """K fitted members of one recipe; the score is the mean of their margins (docs/bundle.md)."""

    def __init__(self, members: list[Any]) -> None:
        self.members = members

    def margin(self, X: np.ndarray) -> np.ndarray:
        return np.mean([margin(m, X) for m in self.members], axis=0)

    def predict_proba1(self, X: np.ndarray) -> np.ndarray:
        return sigmoid(self.margin(X))
