"""The shipped bundle's ONNX agrees with its golden file on every training wafer; every recipe's bag
exports to a graph that agrees with Python within 1e-5 (missing readings, an all-missing wafer, the
in-graph imputation and missing-reading count, a linear member)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest

from training.dataset import load_config, load_dataset, read_wafer_csv
from training.export import PARITY_TOL, check_parity, onnx_predict, serialize, to_onnx, used_inputs
from training.models import RECIPES, SEED, Bag

SHIPPED = Path(__file__).resolve().parents[2] / "public" / "models"


def golden(folder: Path = SHIPPED) -> dict[str, Any]:
    return json.loads((folder / "golden.json").read_text())


@pytest.fixture(scope="module")
def secom(repo: Path) -> Any:
    return load_dataset(load_config(repo / "training" / "data" / "secom.toml"))


def test_shipped_onnx_matches_golden_on_every_training_wafer(secom: Any) -> None:
    g = golden()
    model = json.loads((SHIPPED / "model.json").read_text())
    blob = (SHIPPED / model["onnx"]["file"]).read_bytes()
    assert hashlib.sha256(blob).hexdigest() == g["model_sha256"]
    assert g["threshold"] == model["threshold"]["value"] and g["features"] == model["features"]
    X = np.array([[np.nan if v is None else v for v in w["values"]] for w in g["wafers"]], dtype=np.float64)
    assert X.shape == (len(g["wafers"]), 590) and len(g["wafers"]) >= 30
    assert np.isnan(X).sum(axis=1).max() > 50, "golden set includes wafers with many missing values"
    assert set(secom.y[[w["row"] for w in g["wafers"]]].tolist()) == {0, 1}
    label, p = onnx_predict(blob, X)
    expected = np.array([w["probability"] for w in g["wafers"]])
    assert np.max(np.abs(p - expected)) <= PARITY_TOL
    assert np.array_equal(label, (p > 0.5).astype(np.int64))
    # every training wafer
    assert g["training"]["ids"] == secom.ids
    _, p_all = onnx_predict(blob, secom.X)
    assert np.max(np.abs(p_all - np.array(g["training"]["probabilities"]))) <= PARITY_TOL
    assert len(g["sample"]["probabilities"]) == 100


def test_shipped_onnx_structure() -> None:
    model = json.loads((SHIPPED / "model.json").read_text())
    m = onnx.load(str(SHIPPED / model["onnx"]["file"]))
    onnx.checker.check_model(m)
    assert {o.domain: o.version for o in m.opset_import}["ai.onnx.ml"] == 3
    ops = [n.op_type for n in m.graph.node]
    assert "ZipMap" not in ops and ("TreeEnsembleClassifier" in ops or "LinearClassifier" in ops)
    assert [i.name for i in m.graph.input] == ["input"]
    assert [o.name for o in m.graph.output] == ["label", "probabilities"]
    assert m.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda r: r.key)
def test_every_recipe_exports_a_bag_with_parity(secom: Any, recipe: Any) -> None:
    X, y = secom.X[:400], secom.y[:400]
    k = 3 if recipe.seeded else 1
    bag = Bag([recipe.make(SEED + i, True).fit(X, y) for i in range(k)])
    onx = to_onnx(bag, 590, "t")
    blob = serialize(onx)
    assert check_parity(bag, blob, secom.X, threshold=0.3) <= PARITY_TOL  # every wafer + an all-missing one
    ops = [n.op_type for n in onx.graph.node]
    assert ops.count("TreeEnsembleClassifier") + ops.count("LinearClassifier") == 1
    if "count" in dict(bag.members[0].steps):
        assert {"IsNaN", "ReduceSum", "Concat"} <= set(ops)
    used = used_inputs(bag, 590)
    assert 0 < len(used) <= 590 and max(used) < 590


def test_bag_averages_margins_not_probabilities(secom: Any) -> None:
    from training.models import margin, sigmoid

    recipe = next(r for r in RECIPES if r.key == "xgb_d2_reg")
    bag = Bag([recipe.make(SEED + i, True).fit(secom.X[:300], secom.y[:300]) for i in range(3)])
    m = np.mean([margin(b, secom.X[300:400]) for b in bag.members], axis=0)
    _, p = onnx_predict(serialize(to_onnx(bag, 590, "t")), secom.X[300:400])
    assert np.max(np.abs(p - sigmoid(m))) <= PARITY_TOL
    mean_p = np.mean([sigmoid(margin(b, secom.X[300:400])) for b in bag.members], axis=0)
    assert np.max(np.abs(mean_p - sigmoid(m))) > 1e-4, (
        "the two averages differ, so the check above means something"
    )


def test_edit_probe_matches_shipped_onnx(repo: Path, secom: Any) -> None:
    """The e2e test edits one cell of the sample CSV in the browser; the expected probability is here."""
    g = golden()
    probe = g["edit_probe"]
    assert set(probe) == {"row", "feature", "value", "probability"}
    assert isinstance(probe["row"], int) and isinstance(probe["value"], str)
    assert re.fullmatch(r"-?\d+(\.\d+)?", probe["value"]), "formatted like the file's numbers"
    model = json.loads((SHIPPED / "model.json").read_text())
    blob = (SHIPPED / model["onnx"]["file"]).read_bytes()
    _, Xs = read_wafer_csv(repo / "tests" / "fixtures" / "wafer" / g["sample"]["file"], secom.features)
    j = secom.features.index(probe["feature"])
    Xe = Xs[probe["row"] : probe["row"] + 1].copy()
    assert not float(probe["value"]) == Xe[0, j], "the edit changes the cell"
    Xe[0, j] = float(probe["value"])
    _, p_before = onnx_predict(blob, Xs[probe["row"] : probe["row"] + 1])
    _, p_after = onnx_predict(blob, Xe)
    assert abs(float(p_after[0]) - probe["probability"]) <= PARITY_TOL
    assert abs(float(p_before[0]) - g["sample"]["probabilities"][probe["row"]]) <= PARITY_TOL
    assert abs(float(p_after[0]) - float(p_before[0])) >= 0.1
    stats = model["sensors"][probe["feature"]]
    assert stats["min"] <= float(probe["value"]) <= stats["max"]


def test_git_commit_marks_dirty_training_code(tmp_path: Path) -> None:
    import subprocess

    from training.artifacts import git_commit

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    git("config", "user.email", "t@example.com")
    git("config", "user.name", "t")
    (tmp_path / "training").mkdir()
    (tmp_path / "training" / "a.py").write_text("x = 1\n")
    (tmp_path / "other.txt").write_text("o\n")
    git("add", ".")
    git("commit", "-q", "-m", "c")
    sha = git_commit(tmp_path)
    assert len(sha) == 40 and "+" not in sha
    (tmp_path / "other.txt").write_text("changed\n")
    assert git_commit(tmp_path) == sha, "only training/ counts"
    (tmp_path / "training" / "a.py").write_text("x = 2\n")
    assert git_commit(tmp_path) == sha + "+dirty"
