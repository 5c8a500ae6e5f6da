"""Every protocol fits each fold's pipeline on that fold's training rows only; the rolling origin never
trains on a wafer at or after the block it scores."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline

from training.evaluate import Settings, plan, rolling_origin_blocks, run_tasks
from training.models import RECIPES, BalancedXGB, Recipe, SensorScreen


class Spy(TransformerMixin, BaseEstimator):
    """Records the row ids (column 0) it is fitted on (class-level log; clones share it)."""

    log: ClassVar[list[np.ndarray]] = []

    def fit(self, X: np.ndarray, y: Any = None) -> Spy:
        Spy.log.append(np.asarray(X)[:, 0].astype(int).copy())
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X)


def make_data(n: int = 240, d: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X[rng.random(size=X.shape) < 0.1] = np.nan
    X[:, 0] = np.arange(n)  # row id in column 0
    y = (rng.random(n) < 0.15).astype(int)
    y[::12] = 1
    return X, y


SETTINGS = Settings(n_blocks=6, forward_share=0.5, seeds=[1, 2], cv_repeats=2, n_boot=20, fast=True)


def spy_recipe(inner: Recipe) -> Recipe:
    def make(seed: int, fast: bool) -> Any:
        est = inner.make(seed, fast)
        return type(est)([("spy", Spy()), *est.steps])  # the same Pipeline class (imblearn's for SMOTE)

    return Recipe("spy_" + inner.key, inner.summary, make, inner.seeded, inner.params)


def test_every_fit_sees_only_its_training_rows() -> None:
    X, y = make_data()
    for inner in RECIPES:
        recipe = spy_recipe(inner)
        tasks = [t for ts in plan(recipe, y, True, SETTINGS).values() for t in ts]
        Spy.log.clear()
        run_tasks({recipe.key: recipe}, True, X, y, tasks, jobs=1)
        fitted = list(Spy.log)
        # one spy fit per task, in task order
        assert len(fitted) == len(tasks), inner.key
        for rows, t in zip(fitted, tasks, strict=True):
            assert set(rows.tolist()) == set(t.train.tolist()), inner.key
            assert set(rows.tolist()).isdisjoint(t.val.tolist()), inner.key


def test_rolling_origin_trains_only_on_earlier_wafers() -> None:
    _, y = make_data()
    recipe = RECIPES[1]
    p = plan(recipe, y, True, SETTINGS)
    blocks = rolling_origin_blocks(len(y), 6, 0.5)
    assert len(blocks) == 6 and blocks[0][0] == 120 and blocks[-1][-1] == 239
    for t in p["ro"]:
        assert t.train.max() < t.val.min(), "a later wafer never trains the model scoring an earlier one"
    assert len(p["ro"]) == 6 * 2, "one fit per block and seed"
    tr, va = p["tf"][0].train, p["tf"][0].val
    assert tr.max() < va.min() and all(set(t.train) <= set(tr) for t in p["tf_inner"])


def test_without_time_only_cv_is_planned() -> None:
    _, y = make_data()
    assert set(plan(RECIPES[1], y, False, SETTINGS)) == {"cv"}


def test_fold_statistics_come_from_training_rows_only() -> None:
    X, y = make_data()
    X[:, 5] = np.nan
    X[:40, 5] = 1.0  # column 5 present only in the first 40 rows
    screen = SensorScreen(max_missing=0.5)
    est = Pipeline([("screen", screen), ("xgb", BalancedXGB(n_estimators=5, max_depth=2, n_jobs=1))])
    tr = np.arange(100, 240)
    est.fit(X[tr], y[tr])
    ref = SensorScreen(max_missing=0.5).fit(X[tr])
    np.testing.assert_array_equal(screen.keep_, ref.keep_)
    assert est.named_steps["xgb"].get_params()["scale_pos_weight"] == (y[tr] == 0).sum() / (y[tr] == 1).sum()


def test_parallel_fits_equal_sequential_fits() -> None:
    """Worker processes give exactly the in-process margins (results do not depend on --jobs)."""
    X, y = make_data()
    recipe = next(r for r in RECIPES if r.key == "xgb_count_d2_reg")
    tasks = plan(recipe, y, True, SETTINGS)["ro"][:4]
    seq, _ = run_tasks({recipe.key: recipe}, True, X, y, tasks, jobs=1)
    par, _ = run_tasks({recipe.key: recipe}, True, X, y, tasks, jobs=2)
    for a, b in zip(seq, par, strict=True):
        np.testing.assert_array_equal(a, b)
