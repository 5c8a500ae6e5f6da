"""The shipped public/models/model.json and the synthetic bundle's match workers/model-json.ts."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

from training.metrics import METRIC_NAMES

METRIC = {"value": float, "ci95": [float, float]}
PROTOCOL: dict[str, Any] = {"protocol": str, "rows": int, "fails": int} | {k: METRIC for k in METRIC_NAMES}
SCHEMA: dict[str, Any] = {
    "name": str,
    "version": str,
    "created": str,
    "description": str,
    "onnx": {
        "file": str,
        "sha256": str,
        "bytes": int,
        "input": str,
        "outputs": {"label": str, "probability": str},
        "opset": ("record", int),
    },
    "features": [str],
    "aliases": ("record", [str]),
    "id_column_names": [str],
    "label": {"column_names": [str], "fail_values": [str], "pass_values": [str], "positive_class": str},
    "threshold": {"value": float, "rule": str},
    "metrics": {
        "rolling_origin": ("optional", PROTOCOL),
        "cv": PROTOCOL,
        "time_forward": ("optional", PROTOCOL),
    },
    "recipe": {
        "summary": str,
        "params": ("record", (float, int, str, bool, type(None))),
        "selected_features": int,
    },
    "training": {
        "rows": int,
        "fails": int,
        "from": (str, None),
        "to": (str, None),
        "data_files": [{"name": str, "sha256": str}],
        "source": str,
        "licence": str,
        "commit": str,
        "versions": ("record", str),
    },
    "limitations": [str],
    "bundle": {
        "format": int,
        "files": ("record", {"file": str, "sha256": str, "bytes": int}),
    },
    "sensors": (
        "record",
        {
            "missing_rate": float,
            "min": (float, None),
            "max": (float, None),
            "p01": (float, None),
            "p99": (float, None),
        },
    ),
}


def check(value: Any, spec: Any, path: str) -> None:
    if spec is float:
        assert isinstance(value, int | float) and not isinstance(value, bool), path
    elif spec is int:
        assert isinstance(value, int) and not isinstance(value, bool), path
    elif spec in (str, bool):
        assert isinstance(value, spec), path
    elif isinstance(spec, tuple) and spec and spec[0] == "record":
        assert isinstance(value, dict), path
        for k, v in value.items():
            check(v, spec[1], f"{path}.{k}")
    elif isinstance(spec, tuple):  # union
        errors = 0
        for alt in spec:
            try:
                if alt is None or alt is type(None):
                    assert value is None
                else:
                    check(value, alt, path)
                return
            except AssertionError:
                errors += 1
        raise AssertionError(path)
    elif isinstance(spec, list) and len(spec) == 1:
        assert isinstance(value, list), path
        for i, v in enumerate(value):
            check(v, spec[0], f"{path}[{i}]")
    elif isinstance(spec, list):  # fixed tuple
        assert isinstance(value, list) and len(value) == len(spec), path
        for i, (v, s) in enumerate(zip(value, spec, strict=True)):
            check(v, s, f"{path}[{i}]")
    elif isinstance(spec, dict):
        assert isinstance(value, dict), path
        required = {k for k, s in spec.items() if not (isinstance(s, tuple) and s and s[0] == "optional")}
        assert required <= set(value) <= set(spec), f"{path}: keys {sorted(set(value) ^ set(spec))}"
        for k, s in spec.items():
            if k in value:
                check(
                    value[k], s[1] if isinstance(s, tuple) and s and s[0] == "optional" else s, f"{path}.{k}"
                )
    else:
        raise AssertionError(f"bad spec at {path}")


def spec_keys(spec: Any) -> set[str]:
    out: set[str] = set()
    if isinstance(spec, dict):
        for k, v in spec.items():
            out.add(k)
            out |= spec_keys(v)
    elif isinstance(spec, list | tuple):
        for v in spec:
            out |= spec_keys(v)
    return out


BUNDLES = ["public/models", "tests/fixtures/bundles/synthetic"]


@pytest.fixture(scope="module")
def model(repo: Path) -> dict[str, Any]:
    return json.loads((repo / "public" / "models" / "model.json").read_text())


def test_schema_covers_every_key_of_the_typescript_contract(repo: Path) -> None:
    ts = (repo / "workers" / "model-json.ts").read_text()
    ts = re.sub(r"/\*.*?\*/", "", ts, flags=re.S)
    ts_keys = set(re.findall(r"^\s*(\w+)\??\s*:", ts, flags=re.M))
    missing = ts_keys - spec_keys(SCHEMA)
    assert not missing, f"keys in model-json.ts not covered by the test schema: {missing}"


@pytest.mark.parametrize("bundle", BUNDLES)
def test_bundles_match_schema_and_their_files(repo: Path, bundle: str) -> None:
    folder = repo / bundle
    m = json.loads((folder / "model.json").read_text())
    check(m, SCHEMA, "model")
    assert m["bundle"]["format"] == 2
    assert {"golden", "report"} <= set(m["bundle"]["files"])
    for entry in [*m["bundle"]["files"].values(), m["onnx"]]:
        assert "/" not in entry["file"] and ".." not in entry["file"]
        blob = (folder / entry["file"]).read_bytes()
        assert hashlib.sha256(blob).hexdigest() == entry["sha256"] and len(blob) == entry["bytes"], entry[
            "file"
        ]
    assert set(m["sensors"]) == set(m["features"]) == set(m["aliases"])
    assert "rolling_origin" in m["metrics"], (
        "both data sets have a time column: the headline is forward in time"
    )


def test_model_json_matches_schema(model: dict[str, Any]) -> None:
    check(model, SCHEMA, "model")


def test_model_json_content(model: dict[str, Any], repo: Path, sensor_1_aliases: list[str]) -> None:
    onnx_path = repo / "public" / "models" / model["onnx"]["file"]
    blob = onnx_path.read_bytes()
    assert hashlib.sha256(blob).hexdigest() == model["onnx"]["sha256"]
    assert len(blob) == model["onnx"]["bytes"]
    assert 20_000 < len(blob) < 2_000_000
    assert model["features"] == [f"Sensor-{i}" for i in range(1, 591)]
    assert list(model["aliases"]) == model["features"]
    assert model["onnx"]["opset"]["ai.onnx.ml"] == 3
    assert model["onnx"]["input"] == "input"
    assert model["onnx"]["outputs"] == {"label": "label", "probability": "probabilities"}
    seen: dict[str, str] = {}
    for feat, names in model["aliases"].items():
        for n in names:
            assert seen.setdefault(n.strip().lower(), feat) == feat, f"alias {n} collides"
    assert model["aliases"]["Sensor-1"] == sensor_1_aliases
    assert 0.0 < model["threshold"]["value"] < 1.0 and model["threshold"]["rule"]
    cv, ro = model["metrics"]["cv"], model["metrics"]["rolling_origin"]
    assert 0.5 < cv["roc_auc"]["value"] < 0.9, "CV ROC-AUC > 0.9 would indicate a leak"
    assert ro["rows"] >= model["training"]["rows"] // 2, "the rolling origin covers at least the latest half"
    for proto in model["metrics"].values():
        for k, m in proto.items():
            if isinstance(m, dict):
                lo, hi = m["ci95"]
                assert lo <= m["value"] + 1e-9 and m["value"] <= hi + 1e-9, k
    tr = model["training"]
    assert tr["rows"] == 1175 and tr["fails"] == 80
    assert tr["from"].startswith("2008-07-19") and tr["to"].startswith("2008-09-29")
    assert "UCI" in tr["source"] and "CC BY 4.0" in tr["licence"]
    assert model["recipe"]["params"]["bag_size"] >= 5 or model["recipe"]["params"].get("C") is not None
    for f in tr["data_files"]:
        assert (
            hashlib.sha256((repo / "training" / "data" / f["name"]).read_bytes()).hexdigest() == f["sha256"]
        )


def test_evaluation_cache_rebuilds_the_shipped_choice(repo: Path, model: dict[str, Any]) -> None:
    """The committed evaluation is the one the shipped model.json reports (so --from-evaluation is honest)."""
    from training.evaluate import load_evaluation
    from training.selection import choose

    ev = load_evaluation(repo / "training" / "reports" / "evaluation.json")
    choose(ev)
    res = ev.result(ev.chosen)
    assert res.rolling_origin is not None
    assert model["metrics"]["rolling_origin"]["roc_auc"]["value"] == res.rolling_origin.roc_auc.value
    assert model["threshold"]["value"] == round(res.threshold, 8)
    assert ev.data_files == {f["name"]: f["sha256"] for f in model["training"]["data_files"]}
