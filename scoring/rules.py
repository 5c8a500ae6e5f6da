"""The browser engine's input rules, for batch scoring (the same test vectors pin both sides:
tests/fixtures/reading-rules.json). Mirrors workers/engine/columns.ts (which column feeds which sensor, which
names the wafer) and workers/engine/validate.ts (which cell text is a reading)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

FLOAT32_MAX = 3.4028234663852886e38
# The JS engine trims these around a reading: space, TAB, LF, CR, NO-BREAK SPACE, BOM.
_WHITESPACE = " \t\n\r\u00a0\ufeff"
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
# With a decimal comma, a point only between groups of three digits, as a thousands separator: "2.968" = 2968.
_DECIMAL_COMMA = re.compile(r"[+-]?(?:(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d*)?|,\d+)(?:[eE][+-]?\d+)?")
_MISSING = {"", "na", "n/a", "nan", "null", "none", "-"}


def reading(raw: str | None, decimal_comma: bool = False) -> float:
    """The reading a cell holds in the file's number format, or NaN when it holds none (empty, a missing
    marker, text, not finite)."""
    if raw is None:
        return math.nan
    text = raw.strip(_WHITESPACE)
    if decimal_comma:
        if _DECIMAL_COMMA.fullmatch(text):
            return _finite(float(text.replace(".", "").replace(",", ".", 1)))
        return math.nan
    return _finite(float(text)) if _DECIMAL.fullmatch(text) else math.nan


def detect_number_format(cells: Iterable[str]) -> bool:
    """Whether a file's sensor cells are written with a decimal comma, as the page decides it from the first
    rows: when more cells are numbers only with a comma than only with a point."""
    comma_only = point_only = 0
    for raw in cells:
        as_point, as_comma = reading(raw, False), reading(raw, True)
        if not math.isnan(as_comma) and math.isnan(as_point):
            comma_only += 1
        elif not math.isnan(as_point) and math.isnan(as_comma):
            point_only += 1
    return comma_only > point_only


def _finite(v: float) -> float:
    return v if math.isfinite(v) and abs(v) <= FLOAT32_MAX else math.nan


def _norm(s: str) -> str:
    return s.strip().lower()


@dataclass(frozen=True)
class ColumnMap:
    """Per file column, the feature index it feeds (-1 for none, duplicates included); the id column."""

    feature_of_column: list[int]
    id_column: int | None

    @property
    def mapped(self) -> int:
        return sum(1 for f in self.feature_of_column if f >= 0)


def map_columns(header: list[str], model: dict[str, Any]) -> ColumnMap:
    """Names first, then aliases; the first column of a feature feeds it; label columns feed nothing."""
    features: list[str] = model["features"]
    lookup: dict[str, int] = {}
    for i, f in enumerate(features):
        lookup.setdefault(_norm(f), i)
    for i, f in enumerate(features):
        for alias in model.get("aliases", {}).get(f, []):
            lookup.setdefault(_norm(alias), i)
    id_names = {_norm(n) for n in model.get("id_column_names", [])} | {"unnamed: 0"}
    label_names = {_norm(n) for n in model["label"]["column_names"]}
    feature_of_column = [-1] * len(header)
    taken: set[int] = set()
    id_column: int | None = None
    label_seen = False
    unnamed: int | None = None
    for index, h in enumerate(header):
        key = _norm(h)
        fi = lookup.get(key)
        if fi is not None:
            if fi not in taken:
                taken.add(fi)
                feature_of_column[index] = fi
            continue
        if not label_seen and key in label_names:
            label_seen = True
            continue
        if id_column is None and key != "" and key in id_names:
            id_column = index
            continue
        if key == "" and unnamed is None:
            unnamed = index
    # The unnamed index column pandas and Excel write names the wafers, unless a named id column exists.
    if id_column is None and unnamed is not None and "" in id_names:
        id_column = unnamed
    return ColumnMap(feature_of_column, id_column)


# The quote states of workers/engine/quote-scan.ts: a quote opens a quoted field only at a field's start;
# inside, "" is a quote; a closing quote may be followed by spaces or tabs before the delimiter.
_FIELD_START, _UNQUOTED, _QUOTED, _QUOTE_IN_QUOTED, _SPACE_AFTER_QUOTE = range(5)


def _step(state: int, c: str, is_delimiter: bool) -> int:
    if state == _QUOTED:
        return _QUOTE_IN_QUOTED if c == '"' else _QUOTED
    if state == _FIELD_START:
        return _QUOTED if c == '"' else _FIELD_START if is_delimiter else _UNQUOTED
    if state == _UNQUOTED:
        return _FIELD_START if is_delimiter else _UNQUOTED
    if state == _QUOTE_IN_QUOTED and c == '"':
        return _QUOTED
    if is_delimiter:
        return _FIELD_START
    return _SPACE_AFTER_QUOTE if c in " \t" else _QUOTED


def sniff_delimiter(header_line: str) -> str:
    """The most frequent of , ; TAB separating the header's fields (',' on a tie), as the page sniffs it: the
    delimiter is not known yet, so each candidate separates fields."""
    counts = {",": 0, ";": 0, "\t": 0}
    state = _FIELD_START
    for c in header_line:
        state = _step(state, c, c in counts)
        if state == _FIELD_START and c in counts:
            counts[c] += 1
    best = ","
    for d in (";", "\t"):
        if counts[d] > counts[best]:
            best = d
    return best


def reading_column(col: Any, dtype: str, decimal_comma: bool) -> Any:
    """``reading`` as a Spark column expression (null = no reading), for a column of Spark type ``dtype``:
    text by the page's rules, numbers as they are (beyond float32 is no reading)."""
    from pyspark.sql import functions as F

    if dtype in NUMERIC_SPARK_TYPES:
        value = col.cast("double")
    else:
        text = F.regexp_replace(col.cast("string"), f"^[{_WHITESPACE}]+|[{_WHITESPACE}]+$", "")
        if decimal_comma:
            pointed = F.regexp_replace(F.regexp_replace(text, "\\.", ""), ",", ".")
            value = F.when(text.rlike(f"^(?:{_DECIMAL_COMMA.pattern})$"), pointed.cast("double"))
        else:
            value = F.when(text.rlike(f"^(?:{_DECIMAL.pattern})$"), text.cast("double"))
    # NaN and ±Infinity fail the comparison too.
    return F.when(F.abs(value) <= FLOAT32_MAX, value.cast("float"))


NUMERIC_SPARK_TYPES = {"tinyint", "smallint", "int", "bigint", "float", "double"}
