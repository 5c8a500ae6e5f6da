"""Candidate recipes. Every candidate is a fresh, unfitted scikit-learn / imbalanced-learn pipeline,
so that all preprocessing, screening and resampling is fitted inside each training fold only."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline as ImbPipeline
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import KNNImputer, SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import RobustScaler
from sklearn.svm import SVC
from xgboost import XGBClassifier

SEED = 20080719
FAST_KEYS = ("xgb_native_d3", "xgb_screen_d3")
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


class MeanProba(BaseEstimator):
    """Small soft-voting ensemble: mean P(fail) of fresh clones of `members` (fitted on the same rows)."""

    def __init__(self, members: list[Any]) -> None:
        self.members = members

    def fit(self, X: np.ndarray, y: np.ndarray) -> MeanProba:
        from sklearn.base import clone

        self.fitted_ = [clone(m).fit(X, y) for m in self.members]
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        p = np.mean([m.predict_proba(X)[:, 1] for m in self.fitted_], axis=0)
        return np.column_stack([1 - p, p])


def scale_pos_weight(y: np.ndarray) -> float:
    y = np.asarray(y)
    return float((y == 0).sum()) / max(float((y == 1).sum()), 1.0)


class BalancedXGB(XGBClassifier):
    """XGBClassifier whose scale_pos_weight is set from the class ratio of the rows it is fitted on
    (fitted-fold statistic only)."""

    def fit(self, X: Any, y: Any, **kwargs: Any) -> BalancedXGB:  # type: ignore[override]
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


@dataclass
class Candidate:
    """A named recipe: `make()` returns a fresh unfitted estimator with predict_proba."""

    key: str
    summary: str
    make: Callable[[], Any]
    exportable: bool
    params: dict[str, Any] = field(default_factory=dict)
    baseline_group: str | None = None


def _xgb_native(key: str, summary: str, screen: dict[str, Any] | None, **xo: Any) -> Candidate:
    params = xgb_params(**xo)

    def make() -> Any:
        steps: list[tuple[str, Any]] = []
        if screen is not None:
            steps.append(("screen", SensorScreen(**screen)))
        steps.append(("xgb", BalancedXGB(**params)))
        return Pipeline(steps)

    p: dict[str, Any] = {k: v for k, v in params.items() if k not in ("eval_metric",)}
    p["scale_pos_weight"] = "n_pass / n_fail of the fitting rows"
    p["missing_values"] = "native (XGBoost default direction)"
    if screen is not None:
        p.update({f"screen_{k}": v for k, v in screen.items()})
    return Candidate(key, summary, make, exportable=True, params=p)


SCREEN: dict[str, float] = {"max_missing": 0.5, "max_mode_share": 0.95}
D2_REG: dict[str, Any] = dict(
    n_estimators=300,
    max_depth=2,
    learning_rate=0.03,
    min_child_weight=5.0,
    reg_lambda=10.0,
    colsample_bytree=0.3,
)
D2_STRONG: dict[str, Any] = dict(
    n_estimators=500,
    max_depth=2,
    learning_rate=0.02,
    min_child_weight=10.0,
    reg_lambda=20.0,
    subsample=0.7,
    colsample_bytree=0.2,
)
STUMPS: dict[str, Any] = dict(
    n_estimators=400,
    max_depth=1,
    learning_rate=0.05,
    min_child_weight=5.0,
    reg_lambda=10.0,
    colsample_bytree=0.3,
)


def candidates(fast: bool = False, cache_dir: str | None = None) -> list[Candidate]:
    """All compared recipes (in table order).

    `cache_dir`: joblib cache for the old recipe's KNN imputation + scaling. The three old-app models
    see the same folds, so the (deterministic) imputation fitted on a fold's training rows is computed
    once and reused — a memo of a fold-local computation, so nothing crosses folds."""
    n_est = 30 if fast else 200
    out: list[Candidate] = []

    # --- old app recipe: KNN imputation k=5 + RobustScaler, best of SVC / RF / XGB by accuracy ---
    def old(model: Any) -> Callable[[], Any]:
        def make() -> Any:
            return Pipeline(
                [("impute", KNNImputer(n_neighbors=5)), ("scale", RobustScaler()), ("model", model)],
                memory=cache_dir,
            )

        return make

    from sklearn.base import clone

    svc = SVC(probability=True, random_state=SEED)
    rf = RandomForestClassifier(n_estimators=100, n_jobs=N_JOBS, random_state=SEED)
    xgb_plain = XGBClassifier(**xgb_params(n_estimators=n_est, subsample=1.0, colsample_bytree=1.0))
    for key, model in (("old_svc", svc), ("old_rf", rf), ("old_xgb", xgb_plain)):
        out.append(
            Candidate(
                key,
                f"Old app recipe: KNN imputation (k=5) + RobustScaler + {type(model).__name__}",
                (lambda m=model: old(clone(m))()),
                exportable=False,
                baseline_group="old",
            )
        )

    out.append(
        _xgb_native(
            "xgb_native_d3",
            "XGBoost, native missing handling, scale_pos_weight, depth 3",
            None,
            n_estimators=n_est,
        )
    )

    def smote_make() -> Any:
        return ImbPipeline(
            [
                ("impute", SimpleImputer(strategy="median")),
                ("smote", SMOTE(k_neighbors=5, random_state=SEED)),
                ("xgb", XGBClassifier(**xgb_params(n_estimators=n_est))),
            ]
        )

    out.append(
        Candidate(
            "xgb_smote_d3",
            "Median imputation + SMOTE (in-fold) + XGBoost depth 3",
            smote_make,
            exportable=False,
        )
    )
    out.append(
        _xgb_native(
            "xgb_screen_d3",
            "Sensor screening (<=50 % missing, not near-constant) + XGBoost native missing, "
            "scale_pos_weight, depth 3",
            SCREEN,
            n_estimators=n_est,
        )
    )
    out.append(
        _xgb_native(
            "xgb_screen_d2_reg",
            "Sensor screening + shallow (depth 2), strongly regularised XGBoost, native missing",
            SCREEN,
            **D2_REG,
        )
    )
    out.append(
        _xgb_native(
            "xgb_screen_stumps",
            "Sensor screening + boosted stumps (depth 1), regularised, native missing",
            SCREEN,
            **STUMPS,
        )
    )

    out.append(
        _xgb_native(
            "xgb_screen_d2_strong",
            "Sensor screening + depth-2 XGBoost with stronger regularisation (lr 0.02, 500 trees, "
            "min_child_weight 10, lambda 20, subsample 0.7, 20 % of sensors per tree), native missing",
            SCREEN,
            **D2_STRONG,
        )
    )
    out.append(
        _xgb_native(
            "xgb_top40_d2_reg",
            "XGBoost (depth 2, regularised, native missing values) on the 40 most informative sensors: "
            "mostly-missing and near-constant sensors are screened out, then a preliminary XGBoost ranks the "
            "rest by gain; both steps are fitted on the training rows only",
            dict(SCREEN, top_k=40, seed=SEED),
            **D2_REG,
        )
    )

    def counts_make() -> Any:
        return Pipeline(
            [
                ("count", MissingCount()),
                ("screen", SensorScreen(**SCREEN)),
                ("xgb", BalancedXGB(**xgb_params(n_estimators=n_est))),
            ]
        )

    out.append(
        Candidate(
            "xgb_counts_d3",
            "Missing-reading count per wafer as an extra feature + sensor screening + XGBoost native "
            "missing, scale_pos_weight, depth 3 (the app would have to compute the count)",
            counts_make,
            exportable=False,
        )
    )

    def ens_make() -> Any:
        return MeanProba(
            [
                Pipeline([("xgb", BalancedXGB(**xgb_params(n_estimators=n_est)))]),
                Pipeline([("screen", SensorScreen(**SCREEN)), ("xgb", BalancedXGB(**xgb_params(**D2_REG)))]),
                Pipeline([("screen", SensorScreen(**SCREEN)), ("xgb", BalancedXGB(**xgb_params(**STUMPS)))]),
            ]
        )

    out.append(
        Candidate(
            "ens_small",
            "Small ensemble: mean P(fail) of xgb_native_d3, xgb_screen_d2_reg and xgb_screen_stumps "
            "(an average of probabilities is not one tree ensemble)",
            ens_make,
            exportable=False,
        )
    )
    if fast:
        return [c for c in out if c.key in FAST_KEYS]
    return out
