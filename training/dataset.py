"""Any wafer data set: a config file (TOML) describing the files, columns, label values, time column,
aliases and provenance, or — for a CSV in the app's wafer layout — detection alone.

Two formats:
- `csv`: one CSV, an id column, sensor columns of any names and count, a label column with declared
  fail/pass values, an optional time column.
- `uci`: the UCI SECOM layout: a space-separated readings file (`NaN` = missing) and a labels file
  `<label> "<time stamp>"` per line; sensors are named from a template.

Rows are returned in time order when there is a time column (stable sort; the on-disk order is
reported), otherwise in file order with `times = None`.
"""

from __future__ import annotations

import csv
import hashlib
import math
import re
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from pathlib import Path

import numpy as np

# Header names recognised when detecting a CSV's roles, and the label codings the app accepts.
ID_COLUMN_NAMES = ["", "Unnamed: 0", "wafer", "Wafer", "wafer_id", "Wafer ID", "id", "ID"]
LABEL_COLUMN_NAMES = ["Good/Bad", "Pass/Fail", "label", "Label", "class", "target"]
TIME_COLUMN_NAMES = ["timestamp", "time", "datetime", "date", "time_stamp", "processed_at"]
FAIL_VALUES = ["1", "fail", "bad", "fault"]
PASS_VALUES = ["-1", "0", "pass", "good", "ok"]
MISSING_CELLS = {"", "nan", "na", "null"}
FORMATS = ("csv", "uci")
CONFIG_KEYS = {
    "format",
    "name",
    "description",
    "file",
    "labels_file",
    "id_column",
    "label_column",
    "fail_values",
    "pass_values",
    "time_column",
    "time_format",
    "sensor_columns",
    "sensor_name",
    "alias_templates",
    "aliases",
    "onnx_file",
    "sample_file",
    "source",
    "licence",
    "limitations",
}


class DataValidationError(ValueError):
    """An input file or config does not describe a usable wafer data set; the message names where."""


@dataclass(frozen=True)
class DatasetConfig:
    """What the pipeline needs to know about a data set (from a TOML file or detection)."""

    format: str
    file: Path
    name: str = "Wafer fault detector"
    description: str = ""
    labels_file: Path | None = None
    id_column: str | None = None
    label_column: str | None = None
    fail_values: tuple[str, ...] = ()
    pass_values: tuple[str, ...] = ()
    time_column: str | None = None
    time_format: str = "iso"
    sensor_columns: tuple[str, ...] | None = None
    sensor_name: str = "Sensor-{i}"
    alias_templates: tuple[str, ...] = ()
    aliases: dict[str, list[str]] = field(default_factory=dict)
    onnx_file: str = "model.onnx"
    sample_file: Path | None = None
    source: str = "not stated"
    licence: str = "not stated"
    limitations: tuple[str, ...] = ()
    origin: str = "config"  # "config" or "detected": how the roles were found


@dataclass(frozen=True)
class WaferData:
    """Validated readings in time order: X float64 [n, d] (NaN = missing), y int {0 pass, 1 fail}."""

    X: np.ndarray
    y: np.ndarray
    ids: list[str]
    times: list[datetime] | None
    features: list[str]
    files: dict[str, str]  # file name -> sha256
    config: DatasetConfig
    disk_order_breaks: int = 0  # rows whose time is earlier than the row before them on disk

    @property
    def n_rows(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_fails(self) -> int:
        return int(self.y.sum())

    @property
    def raw_values(self) -> list[list[float | None]]:
        return [[None if math.isnan(v) else float(v) for v in row] for row in self.X.tolist()]


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------- config


def _str_list(raw: object, key: str, where: Path) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        raise DataValidationError(f"{where.name}: `{key}` must be a list of strings")
    return tuple(raw)


def _opt_str(raw: dict[str, object], key: str, where: Path) -> str | None:
    v = raw.get(key)
    if v is None:
        return None
    if not isinstance(v, str):
        raise DataValidationError(f"{where.name}: `{key}` must be a string")
    return v


def load_config(path: Path, data_file: Path | None = None) -> DatasetConfig:
    """Read a TOML data set config; relative file names are relative to the config's folder.
    `data_file` (the command's --data) replaces the config's `file`."""
    if not path.is_file():
        raise DataValidationError(f"config file not found: {path}")
    try:
        raw: dict[str, object] = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise DataValidationError(f"{path.name}: not valid TOML: {exc}") from None
    unknown = sorted(set(raw) - CONFIG_KEYS)
    if unknown:
        raise DataValidationError(f"{path.name}: unknown key(s) {unknown}; known: {sorted(CONFIG_KEYS)}")
    fmt = raw.get("format", "csv")
    if fmt not in FORMATS:
        raise DataValidationError(f"{path.name}: `format` is {fmt!r}; expected one of {list(FORMATS)}")
    base = path.parent
    file_name = _opt_str(raw, "file", path)
    if data_file is None and file_name is None:
        raise DataValidationError(f"{path.name}: `file` (the data file) is missing and no --data was given")
    file = data_file if data_file is not None else base / str(file_name)
    labels = _opt_str(raw, "labels_file", path)
    if fmt == "uci" and labels is None:
        raise DataValidationError(f"{path.name}: format 'uci' needs `labels_file`")
    if fmt == "csv" and raw.get("label_column") is None:
        raise DataValidationError(f"{path.name}: format 'csv' needs `label_column`")
    fail = _str_list(raw.get("fail_values", []), "fail_values", path)
    pas = _str_list(raw.get("pass_values", []), "pass_values", path)
    if not fail or not pas:
        raise DataValidationError(f"{path.name}: `fail_values` and `pass_values` must both be given")
    overlap = {v.lower() for v in fail} & {v.lower() for v in pas}
    if overlap:
        raise DataValidationError(f"{path.name}: {sorted(overlap)} is both a fail and a pass value")
    aliases_raw = raw.get("aliases", {})
    if not isinstance(aliases_raw, dict):
        raise DataValidationError(f"{path.name}: `aliases` must be a table of sensor = [names]")
    aliases = {str(k): list(_str_list(v, f"aliases.{k}", path)) for k, v in aliases_raw.items()}
    sensors = raw.get("sensor_columns")
    sample = _opt_str(raw, "sample_file", path)
    return DatasetConfig(
        format=str(fmt),
        file=file,
        name=_opt_str(raw, "name", path) or "Wafer fault detector",
        description=_opt_str(raw, "description", path) or "",
        labels_file=base / labels if labels else None,
        id_column=_opt_str(raw, "id_column", path),
        label_column=_opt_str(raw, "label_column", path),
        fail_values=fail,
        pass_values=pas,
        time_column=_opt_str(raw, "time_column", path),
        time_format=_opt_str(raw, "time_format", path) or "iso",
        sensor_columns=_str_list(sensors, "sensor_columns", path) if sensors is not None else None,
        sensor_name=_opt_str(raw, "sensor_name", path) or "Sensor-{i}",
        alias_templates=_str_list(raw.get("alias_templates", []), "alias_templates", path),
        aliases=aliases,
        onnx_file=_opt_str(raw, "onnx_file", path) or "model.onnx",
        sample_file=base / sample if sample else None,
        source=_opt_str(raw, "source", path) or "not stated",
        licence=_opt_str(raw, "licence", path) or "not stated",
        limitations=_str_list(raw.get("limitations", []), "limitations", path),
    )


# ---------------------------------------------------------------- detection


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    if not path.is_file():
        raise DataValidationError(f"data file not found: {path}")
    with open(path, encoding="utf-8-sig", newline="") as fh:
        sample = fh.read(1 << 16)
        fh.seek(0)
        try:
            dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        reader = csv.reader(fh, dialect)
        header = next(reader, None)
        if header is None:
            raise DataValidationError(f"{path.name}: the file is empty")
        rows = [r for r in reader if any(c.strip() for c in r)]
    header = [h.strip() for h in header]
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise DataValidationError(f"{path.name}: duplicate column name(s) {dupes}")
    for line_no, r in enumerate(rows, start=2):
        if len(r) != len(header):
            raise DataValidationError(
                f"{path.name}: row {line_no} has {len(r)} cells, the header {len(header)}"
            )
    if not rows:
        raise DataValidationError(f"{path.name}: no data rows")
    return header, rows


def _find(header: list[str], names: list[str]) -> str | None:
    lower = {h.lower(): h for h in header}
    for n in names:
        if n.lower() in lower:
            return lower[n.lower()]
    return None


def _parses_as_time(cells: list[str]) -> bool:
    try:
        for c in cells[:50]:
            datetime.fromisoformat(c.strip())
    except ValueError:
        return False
    return True


def detect_config(path: Path) -> DatasetConfig:
    """Roles of a CSV in the app's wafer layout, found from its header and cells alone."""
    header, rows = _read_csv(path)
    label = _find(header, LABEL_COLUMN_NAMES)
    if label is None:
        raise DataValidationError(
            f"{path.name}: no label column found (looked for {LABEL_COLUMN_NAMES}); "
            "name it so or describe the file with --config"
        )
    j = header.index(label)
    seen = sorted({r[j].strip() for r in rows})
    fail = [v for v in seen if v.lower() in FAIL_VALUES]
    pas = [v for v in seen if v.lower() in PASS_VALUES]
    other = [v for v in seen if v not in fail and v not in pas]
    if other or not fail or not pas:
        raise DataValidationError(
            f"{path.name}: label column {label!r} holds {seen[:6]}; cannot tell fail from pass "
            f"(known fail values {FAIL_VALUES}, pass values {PASS_VALUES}); declare them with --config"
        )
    id_col = _find(header, ID_COLUMN_NAMES)
    if id_col is None and not _numeric_column([r[0] for r in rows]):
        id_col = header[0]
    time_col = _find(header, TIME_COLUMN_NAMES)
    if time_col is None:
        for k, h in enumerate(header):
            if h not in (label, id_col) and _parses_as_time([r[k] for r in rows]):
                time_col = h
                break
    return DatasetConfig(
        format="csv",
        file=path,
        name=f"Wafer fault detector ({path.stem})",
        id_column=id_col,
        label_column=label,
        fail_values=tuple(fail),
        pass_values=tuple(pas),
        time_column=time_col,
        time_format="iso",
        origin="detected",
    )


def _numeric_column(cells: list[str]) -> bool:
    for c in cells[:50]:
        t = c.strip()
        if t.lower() in MISSING_CELLS:
            continue
        try:
            float(t)
        except ValueError:
            return False
    return True


# ---------------------------------------------------------------- readers


def _parse_reading(cell: str, file: str, row: int, column: str) -> float:
    t = cell.strip()
    if t.lower() in MISSING_CELLS:
        return math.nan
    try:
        v = float(t)
    except ValueError:
        raise DataValidationError(
            f"{file}: row {row}, column {column!r}: {cell!r} is not a number (a missing reading is an empty "
            "cell)"
        ) from None
    if not math.isfinite(v):
        raise DataValidationError(f"{file}: row {row}, column {column!r}: non-finite value {cell!r}")
    return v


def _parse_time(cell: str, fmt: str, file: str, row: int, column: str) -> datetime:
    t = cell.strip()
    try:
        return datetime.fromisoformat(t) if fmt == "iso" else datetime.strptime(t, fmt)
    except ValueError:
        want = "an ISO 8601 date-time" if fmt == "iso" else f"the format {fmt!r}"
        raise DataValidationError(f"{file}: row {row}, column {column!r}: {cell!r} is not {want}") from None


def _label(cell: str, cfg: DatasetConfig, file: str, row: int, column: str) -> int:
    t = cell.strip().lower()
    if t in {v.lower() for v in cfg.fail_values}:
        return 1
    if t in {v.lower() for v in cfg.pass_values}:
        return 0
    raise DataValidationError(
        f"{file}: row {row}, column {column!r}: label {cell!r} is neither a fail value "
        f"{list(cfg.fail_values)} nor a pass value {list(cfg.pass_values)}"
    )


def _read_csv_data(
    cfg: DatasetConfig,
) -> tuple[np.ndarray, np.ndarray, list[str], list[datetime] | None, list[str]]:
    header, rows = _read_csv(cfg.file)
    name = cfg.file.name
    for role, col in (
        ("label_column", cfg.label_column),
        ("id_column", cfg.id_column),
        ("time_column", cfg.time_column),
    ):
        if col is not None and col not in header:
            raise DataValidationError(f"{name}: {role} {col!r} is not a column (header: {header[:8]}…)")
    roles = {c for c in (cfg.label_column, cfg.id_column, cfg.time_column) if c is not None}
    if cfg.sensor_columns is not None:
        absent = [c for c in cfg.sensor_columns if c not in header]
        if absent:
            raise DataValidationError(f"{name}: sensor column(s) {absent[:5]} not in the header")
        sensors = list(cfg.sensor_columns)
    else:
        sensors = [h for h in header if h not in roles]
    if not sensors:
        raise DataValidationError(f"{name}: no sensor columns (every column has another role)")
    empty = [s for s in sensors if s == ""]
    if empty:
        raise DataValidationError(
            f"{name}: a sensor column has an empty name; name it or give it the id role"
        )
    idx = {h: k for k, h in enumerate(header)}
    X = np.empty((len(rows), len(sensors)))
    y = np.empty(len(rows), dtype=np.int64)
    times: list[datetime] | None = [] if cfg.time_column else None
    ids: list[str] = []
    label_col = str(cfg.label_column)
    for r, rec in enumerate(rows):
        line = r + 2
        X[r] = [_parse_reading(rec[idx[s]], name, line, s) for s in sensors]
        y[r] = _label(rec[idx[label_col]], cfg, name, line, label_col)
        ids.append(rec[idx[cfg.id_column]].strip() if cfg.id_column else str(r + 1))
        if times is not None and cfg.time_column:
            times.append(_parse_time(rec[idx[cfg.time_column]], cfg.time_format, name, line, cfg.time_column))
    return X, y, ids, times, sensors


_UCI_LABEL_RE = re.compile(r'^\s*(\S+)\s+"([^"]*)"\s*$')


def _read_uci_data(
    cfg: DatasetConfig,
) -> tuple[np.ndarray, np.ndarray, list[str], list[datetime] | None, list[str]]:
    data_path, label_path = cfg.file, cfg.labels_file
    assert label_path is not None  # load_config enforces it for 'uci'
    for p in (data_path, label_path):
        if not p.is_file():
            raise DataValidationError(f"missing input file: {p}")
    rows: list[list[float]] = []
    with open(data_path, encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            tokens = line.split()
            if rows and len(tokens) != len(rows[0]):
                raise DataValidationError(
                    f"{data_path.name}: line {line_no} has {len(tokens)} columns, expected {len(rows[0])}"
                )
            rows.append(
                [_parse_reading(t, data_path.name, line_no, f"column {j + 1}") for j, t in enumerate(tokens)]
            )
    if not rows:
        raise DataValidationError(f"{data_path.name}: no data rows")
    labels: list[int] = []
    times: list[datetime] = []
    with open(label_path, encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            m = _UCI_LABEL_RE.match(line)
            if m is None:
                raise DataValidationError(
                    f'{label_path.name}: line {line_no}: expected `<label> "<time stamp>"`, got '
                    f"{line.strip()!r}"
                )
            labels.append(_label(m.group(1), cfg, label_path.name, line_no, "label"))
            times.append(_parse_time(m.group(2), cfg.time_format, label_path.name, line_no, "time stamp"))
    if len(rows) != len(labels):
        raise DataValidationError(
            f"{data_path.name} has {len(rows)} rows but {label_path.name} has {len(labels)} labels"
        )
    d = len(rows[0])
    features = [cfg.sensor_name.format(i=i, i0=i - 1) for i in range(1, d + 1)]
    ids = [f"W{i}" for i in range(len(rows))]  # no id column: the wafer's 0-based row in the files
    return np.asarray(rows, dtype=np.float64), np.asarray(labels, dtype=np.int64), ids, times, features


def load_dataset(cfg: DatasetConfig) -> WaferData:
    """Read, validate and time-order a data set."""
    X, y, ids, times, features = (_read_uci_data if cfg.format == "uci" else _read_csv_data)(cfg)
    where = cfg.file.name
    if len(set(features)) != len(features):
        raise DataValidationError(f"{where}: sensor names repeat")
    n_fail = int(y.sum())
    if n_fail == 0 or n_fail == len(y):
        raise DataValidationError(f"{where}: the labels hold a single class; need both pass and fail wafers")
    if n_fail < 10:
        raise DataValidationError(f"{where}: only {n_fail} failing wafers; at least 10 are needed to learn")
    breaks = 0
    if times is not None:
        breaks = sum(1 for a, b in pairwise(times) if b < a)
        order = np.argsort(np.array([t.timestamp() for t in times]), kind="stable")
        X, y = X[order], y[order]
        ids = [ids[i] for i in order]
        times = [times[i] for i in order]
    files = {cfg.file.name: sha256_file(cfg.file)}
    if cfg.labels_file is not None:
        files[cfg.labels_file.name] = sha256_file(cfg.labels_file)
    return WaferData(
        X=X, y=y, ids=ids, times=times, features=features, files=files, config=cfg, disk_order_breaks=breaks
    )


def subset(data: WaferData, idx: np.ndarray) -> WaferData:
    """Rows `idx` (kept in the given order) of `data`."""
    idx = np.asarray(idx)
    return WaferData(
        X=data.X[idx],
        y=data.y[idx],
        ids=[data.ids[i] for i in idx],
        times=[data.times[i] for i in idx] if data.times is not None else None,
        features=data.features,
        files=data.files,
        config=data.config,
        disk_order_breaks=data.disk_order_breaks,
    )


def aliases(data: WaferData) -> dict[str, list[str]]:
    """Accepted header names of every sensor: the templates, then the config's own lists."""
    out: dict[str, list[str]] = {}
    cfg = data.config
    for i, f in enumerate(data.features, start=1):
        names = [t.format(i=i, i0=i - 1) for t in cfg.alias_templates] or [f]
        names += [n for n in cfg.aliases.get(f, []) if n not in names]
        out[f] = names
    seen: dict[str, str] = {}
    for feat, names in out.items():
        for n in names:
            key = n.strip().lower()
            if seen.setdefault(key, feat) != feat:
                raise DataValidationError(f"alias {n!r} of {feat} collides with {seen[key]}")
    unknown = sorted(set(cfg.aliases) - set(data.features))
    if unknown:
        raise DataValidationError(f"aliases given for unknown sensor(s) {unknown[:5]}")
    return out


def read_wafer_csv(path: Path, features: list[str]) -> tuple[list[str], np.ndarray]:
    """An app-style wafer CSV (first column = id, the model's sensors by name): ids and X [n, d]."""
    header, rows = _read_csv(path)
    col = {name: j for j, name in enumerate(header)}
    missing = [f for f in features if f not in col]
    if missing:
        raise DataValidationError(f"{path.name}: missing sensor columns {missing[:5]}")
    X = np.array(
        [[_parse_reading(r[col[f]], path.name, k + 2, f) for f in features] for k, r in enumerate(rows)]
    )
    return [r[0] for r in rows], X
