"""All preprocessing, screening and resampling is fitted inside the training folds only."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline as ImbPipeline
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from xgboost import XGBClassifier

from training.evaluate import evaluate
from training.models import BalancedXGB, SensorScreen


class Spy(TransformerMixin, BaseEstimator):
    """Records the exact rows it is fitted on (class-level log; clones share it)."""

    log: ClassVar[list[tuple[int, np.ndarray]]] = []

    def fit(self, X: np.ndarray, y: Any = None) -> Spy:
        self.fitted_rows_ = np.asarray(X).copy()
        Spy.log.append((id(self), self.fitted_rows_))
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X)


def make_data(n: int = 160, d: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X[rng.random(size=X.shape) < 0.1] = np.nan
    X[:, 0] = np.arange(n)  # unique row id in column 0
    y = (rng.random(n) < 0.15).astype(int)
    y[:10] = 1
    return X, y


def small_xgb() -> dict[str, Any]:
    return dict(n_estimators=5, max_depth=2, n_jobs=1, random_state=0)


def run_with_spy(make: Any) -> None:
    X, y = make_data()
    Spy.log.clear()
    fits: list[tuple[Any, np.ndarray, np.ndarray]] = []

    def on_fit(est: Any, tr: np.ndarray, va: np.ndarray) -> None:
        fits.append((est, tr.copy(), va.copy()))

    evaluate("spy", make, X, y, n_repeats=2, n_boot=20, seed=1, rolling=True, on_fit=on_fit)
    # 2x5 CV + 5 inner + 1 time-forward + 5 rolling
    assert len(fits) == len(Spy.log) == 21
    # a fresh pipeline object per fold
    assert len({id(e) for e, _, _ in fits}) == len(fits)
    assert len({sid for sid, _ in Spy.log}) == len(fits)
    for (est, tr, va), (_, rows) in zip(fits, Spy.log, strict=True):
        spy = est.named_steps["spy"]
        seen = set(spy.fitted_rows_[:, 0].astype(int).tolist())
        assert seen == set(tr.tolist()), "the spy was fitted on exactly the training rows"
        assert seen.isdisjoint(va.tolist()), "no validation row reached the fit"
        np.testing.assert_array_equal(rows, X[tr])


def test_native_pipeline_fits_per_fold_without_leak() -> None:
    run_with_spy(
        lambda: Pipeline(
            [("spy", Spy()), ("screen", SensorScreen(max_missing=0.5)), ("xgb", BalancedXGB(**small_xgb()))]
        )
    )


def test_smote_pipeline_fits_per_fold_without_leak() -> None:
    run_with_spy(
        lambda: ImbPipeline(
            [
                ("spy", Spy()),
                ("impute", SimpleImputer(strategy="median")),
                ("smote", SMOTE(k_neighbors=3, random_state=0)),
                ("xgb", XGBClassifier(**small_xgb())),
            ]
        )
    )


def test_fold_statistics_come_from_training_rows_only() -> None:
    X, y = make_data()
    X[:, 5] = np.nan
    X[:40, 5] = 1.0  # column 5 present only in the first 40 rows
    fits: list[tuple[Any, np.ndarray]] = []

    def make() -> Pipeline:
        return Pipeline([("screen", SensorScreen(max_missing=0.5)), ("xgb", BalancedXGB(**small_xgb()))])

    evaluate(
        "s",
        make,
        X,
        y,
        n_repeats=1,
        n_boot=20,
        seed=2,
        rolling=False,
        on_fit=lambda e, tr, va: fits.append((e, tr)),
    )
    for est, tr in fits:
        ref = SensorScreen(max_missing=0.5).fit(X[tr])
        np.testing.assert_array_equal(est.named_steps["screen"].keep_, ref.keep_)
        spw = est.named_steps["xgb"].get_params()["scale_pos_weight"]
        assert spw == (y[tr] == 0).sum() / (y[tr] == 1).sum()


def test_parallel_fits_equal_sequential_fits() -> None:
    """Worker processes give exactly the in-process predictions (artifacts do not depend on --jobs)."""
    from training.evaluate import run_fits

    X, y = make_data()
    tasks = [(np.arange(0, 120), np.arange(120, 160)), (np.arange(40, 160), np.arange(0, 40))]

    def make() -> Pipeline:
        return Pipeline([("screen", SensorScreen(max_missing=0.5)), ("xgb", BalancedXGB(**small_xgb()))])

    seq, _ = run_fits(make, X, y, tasks, jobs=1)
    par, _ = run_fits(make, X, y, tasks, jobs=2)
    for a, b in zip(seq, par, strict=True):
        np.testing.assert_array_equal(a, b)


def test_supervised_top_k_screen_fits_per_fold_without_leak() -> None:
    run_with_spy(
        lambda: Pipeline(
            [
                ("spy", Spy()),
                ("screen", SensorScreen(max_missing=0.5, top_k=4, seed=0)),
                ("xgb", BalancedXGB(**small_xgb())),
            ]
        )
    )
