"""explain.json (training/explain.py): its trees reproduce the booster's margin, and the golden
contributions (xgboost pred_contribs, linear attribution) add up to the margin, for every kind of member a
recipe may hold."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import BaseEstimator, clone
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import RobustScaler, StandardScaler

from training.dataset import load_config, load_dataset
from training.explain import (
    MISSING_COUNT,
    MISSING_COUNT_NAME,
    NotExplainable,
    build_explain,
    explain_margin,
    golden_contribs,
    reference_contribs,
)
from training.models import Bag, BalancedXGB, MissingCount, SensorScreen, recipes

# The linear members are fitted on raw SECOM scales and may stop short of convergence: their attribution is
# exact for whatever coefficients they have, which is all these tests are about.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


class MarginBag(BaseEstimator):
    """A bag whose margins are averaged (the protocol training/explain.py reads: `members_`, `weights_`)."""

    def __init__(self, member: object, seeds: tuple[int, ...] = (1, 2)) -> None:
        self.member = member
        self.seeds = seeds

    def fit(self, X: np.ndarray, y: np.ndarray) -> MarginBag:
        self.members_ = []
        for s in self.seeds:
            m = clone(self.member)
            m.set_params(xgb__random_state=s)
            self.members_.append(m.fit(X, y))
        self.weights_ = [1.0 / len(self.seeds)] * len(self.seeds)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        margin = sum(w * _margin(m, X) for m, w in zip(self.members_, self.weights_, strict=True))
        p = 1 / (1 + np.exp(-margin))
        return np.column_stack([1 - p, p])


def _margin(est: object, X: np.ndarray) -> np.ndarray:
    p = np.asarray(est.predict_proba(np.asarray(X, dtype=np.float32))[:, 1], dtype=np.float64)  # type: ignore[attr-defined]
    return np.log(p / (1 - p))


@pytest.fixture(scope="module")
def data(repo: Path):
    return load_dataset(load_config(repo / "training" / "data" / "secom.toml"))


def _small_xgb(**kw: object) -> BalancedXGB:
    return BalancedXGB(n_estimators=25, max_depth=3, n_jobs=1, random_state=0, learning_rate=0.1, **kw)


RECIPES = {
    "screen+trees": lambda: Pipeline(
        [("screen", SensorScreen(max_missing=0.3, top_k=25)), ("xgb", _small_xgb())]
    ),
    "count+screen+trees": lambda: Pipeline(
        [
            ("count", MissingCount()),
            ("screen", SensorScreen(max_missing=0.5)),
            ("xgb", _small_xgb(base_score=0.2)),
        ]
    ),
    "bag of trees": lambda: MarginBag(
        Pipeline([("screen", SensorScreen(max_missing=0.5)), ("xgb", _small_xgb())])
    ),
    "linear (standard)": lambda: Pipeline(
        [
            ("screen", SensorScreen(max_missing=0.5, max_mode_share=0.95)),
            ("impute", SimpleImputer(strategy="median")),
            ("scale", StandardScaler()),
            ("lr", LogisticRegression(C=0.05, max_iter=2000)),
        ]
    ),
    "linear (robust) with count": lambda: Pipeline(
        [
            ("count", MissingCount()),
            ("screen", SensorScreen(max_missing=0.5, max_mode_share=0.95)),
            ("impute", SimpleImputer(strategy="median")),
            ("scale", RobustScaler()),
            ("lr", LogisticRegression(C=0.05, max_iter=2000)),
        ]
    ),
}


@pytest.mark.parametrize("name", list(RECIPES))
def test_contributions_add_up_and_trees_reproduce_the_margin(name: str, data) -> None:
    X, y = data.X[:400], data.y[:400]
    est = RECIPES[name]().fit(X, y)
    rows = X[::7]
    explain = build_explain(est, X, data.features)
    json.dumps(explain, allow_nan=False)  # writable as JSON
    c = reference_contribs(est, X, rows, data.features)
    recipe_margin = _margin(est, rows)
    total = c.features.sum(axis=1) + c.missing_count + c.bias
    assert np.max(np.abs(total - c.margin)) < 1e-4
    assert np.max(np.abs(c.margin - recipe_margin)) < 1e-4
    assert np.max(np.abs(explain_margin(explain, rows) - recipe_margin)) < 1e-4
    # rows with missing readings are among them, and features outside the recipe's inputs get nothing
    assert np.isnan(rows).any()
    used = {j for m in explain["members"] for j in m["inputs"] if j != MISSING_COUNT}
    assert not np.any(c.features[:, sorted(set(range(len(data.features))) - used)])
    if "count" in name:
        assert any(MISSING_COUNT in m["inputs"] for m in explain["members"])
        if _uses_count(explain):
            assert np.any(c.missing_count != 0)


def _uses_count(explain: dict) -> bool:
    """Some member's model depends on the missing-reading count (a split on it, or a non-zero coefficient)."""
    for m in explain["members"]:
        if MISSING_COUNT not in m["inputs"]:
            continue
        k = m["inputs"].index(MISSING_COUNT)
        if m["kind"] == "linear" and m["coef"][k] != 0:
            return True
        for t in m.get("trees", []):
            if any(
                t["split_indices"][n] == k
                for n in range(len(t["left_children"]))
                if t["left_children"][n] != -1
            ):
                return True
    return False


def test_bag_weights_and_base_margins(data) -> None:
    est = RECIPES["bag of trees"]().fit(data.X[:300], data.y[:300])
    explain = build_explain(est, data.X[:300], data.features)
    assert [m["weight"] for m in explain["members"]] == [0.5, 0.5]
    for m in explain["members"]:
        assert m["kind"] == "trees" and len(m["trees"]) == 25
        assert all(len(t["sum_hessian"]) == len(t["left_children"]) for t in m["trees"])


def test_a_step_without_an_exact_explanation_is_refused(data) -> None:
    from sklearn.impute import KNNImputer

    est = Pipeline([("impute", KNNImputer()), ("xgb", _small_xgb())]).fit(data.X[:200], data.y[:200])
    with pytest.raises(NotExplainable, match="KNNImputer"):
        build_explain(est, data.X[:200], data.features)


def test_shipped_explain_is_the_shipped_models(repo: Path, data) -> None:
    """The shipped explain.json is what the bundle writer writes for a refit of the shipped bag, its sha256 is
    in model.json, and the golden wafers carry that bag's pred_contribs (adding up to their margin)."""
    from training.models import SEED

    models = repo / "public" / "models"
    manifest = json.loads((models / "model.json").read_text())
    entry = manifest["bundle"]["files"]["explain"]
    blob = (models / entry["file"]).read_bytes()
    assert hashlib.sha256(blob).hexdigest() == entry["sha256"] and len(blob) == entry["bytes"]
    shipped = json.loads(blob)
    # the shipped recipe, found by its summary in model.json (so a retrained bundle needs no change here)
    summary = manifest["recipe"]["summary"]
    chosen = next(r for r in recipes() if summary.startswith(r.summary))
    k = int(manifest["recipe"]["params"]["bag_size"])
    bag = Bag([chosen.make(SEED + i, False).fit(data.X, data.y) for i in range(k)])
    assert build_explain(bag, data.X, data.features) == shipped
    golden = json.loads((models / "golden.json").read_text())
    rows = [w["row"] for w in golden["wafers"]]
    c = reference_contribs(bag, data.X, data.X[rows], data.features)
    for i, w in enumerate(golden["wafers"]):
        assert w["contribs"] == golden_contribs(c, i, data.features)
        p = w["probability"]
        assert (
            abs(sum(w["contribs"]["values"].values()) + w["contribs"]["bias"] - math.log(p / (1 - p))) < 1e-5
        )
    # golden has wafers with many missing readings, and their missing sensors do get contributions
    Xg = data.X[rows]
    many = [i for i in range(len(rows)) if np.isnan(Xg[i]).sum() > 50]
    assert many and any(
        golden["wafers"][i]["contribs"]["values"].get(data.features[j], 0.0) != 0.0
        for i in many
        for j in np.flatnonzero(np.isnan(Xg[i]))
    )


class _Mixed(BaseEstimator):
    """A margin-averaging combination of unlike members (trees with the missing count, and a linear model)."""

    def __init__(self, members: list, weights: list[float]) -> None:
        self.members = members
        self.weights = weights

    def fit(self, X: np.ndarray, y: np.ndarray) -> _Mixed:
        self.members_ = [clone(m).fit(X, y) for m in self.members]
        self.weights_ = list(self.weights)
        return self


MIXED_FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "explain-mixed.json"


def mixed_fixture(data) -> dict:
    """explain.json of a mixed recipe (0.7 x trees with the missing-reading count + 0.3 x linear) and the
    training library's contributions for 12 wafers with missing readings: the engine's cross-language fixture
    for the members the shipped model does not have."""
    X, y = data.X[:400], data.y[:400]
    members = [RECIPES["count+screen+trees"](), RECIPES["linear (robust) with count"]()]
    est = _Mixed(members, [0.7, 0.3]).fit(X, y)
    miss = np.isnan(X).sum(axis=1)
    rows = np.argsort(-miss, kind="mergesort")[:6].tolist() + list(range(0, 60, 10))
    c = reference_contribs(est, X, X[rows], data.features)
    return {
        "explain": build_explain(est, X, data.features),
        "wafers": [
            {
                "values": [None if np.isnan(v) else float(v) for v in X[r]],
                "contribs": golden_contribs(c, i, data.features),
            }
            for i, r in enumerate(rows)
        ],
    }


def test_mixed_fixture_is_current(data) -> None:
    """tests/fixtures/explain-mixed.json is what the code writes (UPDATE_FIXTURES=1 rewrites it)."""
    import os

    fresh = json.loads(json.dumps(mixed_fixture(data), allow_nan=False))
    if os.environ.get("UPDATE_FIXTURES") == "1":
        MIXED_FIXTURE.write_text(json.dumps(fresh, separators=(",", ":")) + "\n", encoding="utf-8")
    kinds = [m["kind"] for m in fresh["explain"]["members"]]
    assert kinds == ["trees", "linear"] and [m["weight"] for m in fresh["explain"]["members"]] == [0.7, 0.3]
    assert any(MISSING_COUNT_NAME in w["contribs"]["values"] for w in fresh["wafers"])
    assert json.loads(MIXED_FIXTURE.read_text()) == fresh
