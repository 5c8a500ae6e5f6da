"""reference.json: what the page's drift report and cost helper read (docs/bundle.md)."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from training.dataset import load_config, load_dataset
from training.reference import gain_shares, reference_json, sensor_reference

FEATURES = [f"Sensor-{i}" for i in range(1, 591)]


def test_sensor_reference_quantiles_missing_rate_and_ties():
    col = np.array([1.0, 2.0, 2.0, 2.0, np.nan, 3.0, 0.1242, np.nan], dtype=np.float64)
    ref = sensor_reference(col)
    assert ref["present"] == 6
    assert ref["missing_rate"] == pytest.approx(0.25)
    q = ref["quantiles"]
    assert len(q) == 101
    assert q[0] == pytest.approx(0.1242, rel=1e-6) and q[100] == 3.0
    assert q == sorted(q)
    # the median of a value taken by half the readings is that value exactly (a tie the page must see as one)
    assert q[50] == 2.0
    # quantiles are of the float32 readings the page compares against
    assert ref["std"] == pytest.approx(np.std(col[~np.isnan(col)].astype(np.float32)), rel=1e-6)
    # every value is a float32 written in its shortest form
    assert all(repr(np.float32(v)) == f"np.float32({v!r})" for v in q)
    assert q[0] == 0.1242


def test_sensor_never_read_has_no_quantiles():
    ref = sensor_reference(np.full(5, np.nan))
    assert ref == {"present": 0, "missing_rate": 1.0, "quantiles": None, "std": None}


def test_gain_shares_are_shares_of_the_sensors_total_not_the_missing_count():
    scores = np.zeros(591)
    scores[4], scores[17], scores[590] = 3.0, 1.0, 100.0  # index 590: the missing-reading count input
    assert gain_shares(scores, FEATURES) == {"Sensor-5": 0.75, "Sensor-18": 0.25}
    with pytest.raises(ValueError):
        gain_shares(np.zeros(591), FEATURES)


def test_reference_json_refuses_mismatched_oof():
    X = np.zeros((3, 2))
    with pytest.raises(ValueError):
        reference_json(X, ["a", "b"], np.array([0, 1]), np.array([0.1]), "p", {})
    with pytest.raises(ValueError):
        reference_json(X, ["a"], np.array([0]), np.array([0.1]), "p", {})


def test_shipped_reference_matches_training_data_and_model_json(repo):
    mj = json.loads((repo / "public/models/model.json").read_text(encoding="utf-8"))
    entry = mj["bundle"]["files"]["reference"]
    raw = (repo / "public/models" / entry["file"]).read_bytes()
    assert hashlib.sha256(raw).hexdigest() == entry["sha256"] and len(raw) == entry["bytes"]
    ref = json.loads(raw)
    data = load_dataset(load_config(repo / "training/data/secom.toml"))
    assert ref["rows"] == data.n_rows and list(ref["sensors"]) == FEATURES
    for j in (0, 21, 59, 488):
        assert ref["sensors"][FEATURES[j]] == sensor_reference(data.X[:, j])
    # p01 / p99 of model.json are the 1 % and 99 % quantiles (model.json rounds them to 6 decimals)
    for f, stats in mj["sensors"].items():
        q = ref["sensors"][f]["quantiles"]
        if q is None:
            assert stats["p01"] is None
        else:
            assert q[1] == pytest.approx(stats["p01"], abs=1e-5, rel=1e-5)
            assert q[99] == pytest.approx(stats["p99"], abs=1e-5, rel=1e-5)
    oof = ref["oof"]
    assert 0 < len(oof["y"]) == len(oof["p"]) <= data.n_rows
    assert set(oof["y"]) == {0, 1} and all(0.0 <= p <= 1.0 for p in oof["p"])
    shares = ref["reliance"]["sensors"]
    assert sum(shares.values()) == pytest.approx(1.0, abs=1e-4)
    assert set(shares) <= set(FEATURES)
