from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def sensor_1_aliases() -> list[str]:
    """The names a SECOM sensor column answers to, as the data set's aliases and model.json both give them."""
    return ["Sensor-1", "sensor_1", "sensor 1", "Sensor 1", "0", "F0", "feature_0", "V1"]
