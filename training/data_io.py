"""Ingest and validate the UCI SECOM files."""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

N_SENSORS = 590
FEATURES: list[str] = [f"Sensor-{i}" for i in range(1, N_SENSORS + 1)]
DATA_FILE = "secom_train.data"
LABEL_FILE = "secom_train_labels.data"
DEFAULT_DATA_DIR = Path("training/data")

_LABEL_RE = re.compile(r'^\s*(\S+)\s+"([^"]*)"\s*$')


class DataValidationError(ValueError):
    """Raised when an input file does not have the expected SECOM format."""


@dataclass(frozen=True)
class SecomData:
    """Validated SECOM readings: X float64 [n, 590] (NaN = missing), y int {0 pass, 1 fail}."""

    X: np.ndarray
    y: np.ndarray
    timestamps: list[datetime]
    features: list[str]
    raw_values: list[list[float | None]]
    files: dict[str, str]  # file name -> sha256

    @property
    def n_rows(self) -> int:
        return int(self.X.shape[0])


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _parse_number(token: str, path: Path, line_no: int, col: int) -> float:
    if token == "NaN":
        return math.nan
    try:
        value = float(token)
    except ValueError:
        raise DataValidationError(
            f"{path.name}: line {line_no}, column {col}: non-numeric text {token!r} "
            "(expected a number or NaN)"
        ) from None
    if not math.isfinite(value):
        raise DataValidationError(f"{path.name}: line {line_no}, column {col}: non-finite value {token!r}")
    return value


def read_readings(path: Path) -> np.ndarray:
    """Read the space-separated readings file; NaN = missing."""
    rows: list[list[float]] = []
    with open(path, encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            tokens = line.split()
            if len(tokens) != N_SENSORS:
                raise DataValidationError(
                    f"{path.name}: line {line_no} has {len(tokens)} columns, expected {N_SENSORS}"
                )
            rows.append([_parse_number(t, path, line_no, j + 1) for j, t in enumerate(tokens)])
    if not rows:
        raise DataValidationError(f"{path.name}: no data rows")
    return np.asarray(rows, dtype=np.float64)


def read_labels(path: Path) -> tuple[np.ndarray, list[datetime]]:
    """Read the labels file: `-1|1 "dd/mm/yyyy HH:MM:SS"` per line. Returns y (1 = fail) and times."""
    labels: list[int] = []
    times: list[datetime] = []
    with open(path, encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            m = _LABEL_RE.match(line)
            if m is None:
                raise DataValidationError(
                    f'{path.name}: line {line_no}: expected `<label> "dd/mm/yyyy HH:MM:SS"`, '
                    f"got {line.strip()!r}"
                )
            label, stamp = m.group(1), m.group(2)
            if label not in ("-1", "1"):
                raise DataValidationError(
                    f"{path.name}: line {line_no}: label {label!r} is not -1 (pass) or 1 (fail)"
                )
            try:
                t = datetime.strptime(stamp, "%d/%m/%Y %H:%M:%S")
            except ValueError:
                raise DataValidationError(
                    f"{path.name}: line {line_no}: time stamp {stamp!r} is not dd/mm/yyyy HH:MM:SS"
                ) from None
            labels.append(1 if label == "1" else 0)
            times.append(t)
    if not labels:
        raise DataValidationError(f"{path.name}: no label rows")
    return np.asarray(labels, dtype=np.int64), times


def load_secom(data_dir: Path | str = DEFAULT_DATA_DIR) -> SecomData:
    """Load and validate `secom_train.data` + `secom_train_labels.data` from `data_dir`."""
    data_dir = Path(data_dir)
    data_path, label_path = data_dir / DATA_FILE, data_dir / LABEL_FILE
    for p in (data_path, label_path):
        if not p.is_file():
            raise DataValidationError(f"missing input file: {p}")
    X = read_readings(data_path)
    y, times = read_labels(label_path)
    if X.shape[0] != y.shape[0]:
        raise DataValidationError(
            f"{DATA_FILE} has {X.shape[0]} rows but {LABEL_FILE} has {y.shape[0]} labels"
        )
    if y.sum() == 0 or y.sum() == len(y):
        raise DataValidationError("labels contain a single class; need both pass and fail")
    raw = [[None if math.isnan(v) else float(v) for v in row] for row in X.tolist()]
    files = {DATA_FILE: sha256_file(data_path), LABEL_FILE: sha256_file(label_path)}
    return SecomData(X=X, y=y, timestamps=times, features=list(FEATURES), raw_values=raw, files=files)


def subset(data: SecomData, idx: np.ndarray) -> SecomData:
    """Rows `idx` (kept in the given order) of `data`."""
    idx = np.asarray(idx)
    return SecomData(
        X=data.X[idx],
        y=data.y[idx],
        timestamps=[data.timestamps[i] for i in idx],
        features=data.features,
        raw_values=[data.raw_values[i] for i in idx],
        files=data.files,
    )


def read_wafer_csv(path: Path) -> tuple[list[str], np.ndarray]:
    """Read an app-style wafer CSV (id column, Sensor-1..590, Good/Bad). Returns ids and X [n, 590]."""
    import csv

    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        col = {name.strip(): j for j, name in enumerate(header)}
        missing = [f for f in FEATURES if f not in col]
        if missing:
            raise DataValidationError(f"{path.name}: missing columns {missing[:5]}")
        ids: list[str] = []
        rows: list[list[float]] = []
        for line_no, rec in enumerate(reader, start=2):
            ids.append(rec[0])
            vals: list[float] = []
            for f in FEATURES:
                cell = rec[col[f]].strip()
                vals.append(
                    math.nan
                    if cell == "" or cell.lower() == "nan"
                    else _parse_number(cell, path, line_no, col[f] + 1)
                )
            rows.append(vals)
    return ids, np.asarray(rows, dtype=np.float64)
