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
N_JOBS = 2


class SensorScreen(TransformerMixin, BaseEstimator):
    """Drops sensors that are mostly missing or (near-)constant, using the fitting rows only."""

    def __init__(self, max_missing: float = 0.5, max_mode_share: float = 1.0) -> None:
        self.max_missing = max_missing
        self.max_mode_share = max_mode_share

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
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X)[:, self.keep_]


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


def _xgb_native(key: str, summary: str, screen: dict[str, float] | None, **xo: Any) -> Candidate:
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


def candidates(fast: bool = False) -> list[Candidate]:
    """All compared recipes (in table order)."""
    n_est = 30 if fast else 200
    out: list[Candidate] = []

    # --- old app recipe: KNN imputation k=5 + RobustScaler, best of SVC / RF / XGB by accuracy ---
    def old(model: Any) -> Callable[[], Any]:
        def make() -> Any:
            return Pipeline(
                [("impute", KNNImputer(n_neighbors=5)), ("scale", RobustScaler()), ("model", model)]
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
            {"max_missing": 0.5, "max_mode_share": 0.95},
            n_estimators=n_est,
        )
    )
    out.append(
        _xgb_native(
            "xgb_screen_d2_reg",
            "Sensor screening + shallow (depth 2), strongly regularised XGBoost, native missing",
            {"max_missing": 0.5, "max_mode_share": 0.95},
            n_estimators=300,
            max_depth=2,
            learning_rate=0.03,
            min_child_weight=5.0,
            reg_lambda=10.0,
            colsample_bytree=0.3,
        )
    )
    out.append(
        _xgb_native(
            "xgb_screen_stumps",
            "Sensor screening + boosted stumps (depth 1), regularised, native missing",
            {"max_missing": 0.5, "max_mode_share": 0.95},
            n_estimators=400,
            max_depth=1,
            learning_rate=0.05,
            min_child_weight=5.0,
            reg_lambda=10.0,
            colsample_bytree=0.3,
        )
    )
    if fast:
        return [c for c in out if c.key in FAST_KEYS]
    return out
