"""Score a folder of wafer files (CSV or Parquet) on Apache Spark with a model bundle, by the page's rules.

    python -m scoring.spark_job --input DIR --model public/models --output OUT [--format parquet|csv]
        [--threshold T] [--master local[2]]

Each CSV file's header is read on the driver and mapped like the page maps it; files with the same header are
read together, by position, as text, so Spark never guesses a type or re-reads a header. Rows are scored in
``mapInPandas`` by one onnxruntime session per executor process. The output holds, per wafer, its source file,
its id (null without an id column), ``fault_probability`` (float32, as in the page) and ``prediction``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .bundle import Bundle, BundleError, load_bundle
from .frame import Scorer, score_frame
from .rules import ColumnMap, detect_number_format, map_columns, reading_column, sniff_delimiter

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

OUTPUT_SCHEMA = "source_file string, id string, fault_probability float, prediction string"

# One scorer per executor process (Python workers are reused across tasks): the model is loaded once there.
_SCORERS: dict[str, Scorer] = {}


def _scorer(bundle_dir: str) -> Scorer:
    if bundle_dir not in _SCORERS:
        _SCORERS[bundle_dir] = Scorer(load_bundle(bundle_dir))
    return _SCORERS[bundle_dir]


class InputError(ValueError):
    """An input file or folder cannot be scored; the message names it and says why."""


@dataclass(frozen=True)
class CsvGroup:
    """CSV files with the same header line, so the same column mapping."""

    header: list[str]
    delimiter: str
    files: list[str]


# The page decides a file's number format from its first rows' sensor cells.
NUMBER_FORMAT_SAMPLE_ROWS = 100


def _sample_rows(path: Path, delimiter: str) -> list[list[str]]:
    """The first data rows of a CSV file (after its header), split as fields."""
    import csv
    import itertools

    with path.open("r", encoding="utf-8-sig", newline="") as f:
        rows = (r for r in csv.reader(f, delimiter=delimiter) if any(c.strip(" ") for c in r))
        return list(itertools.islice(rows, 1, NUMBER_FORMAT_SAMPLE_ROWS + 1))


def decimal_comma_for(path: Path, delimiter: str, columns: ColumnMap, number_format: str) -> bool:
    """The number format: the user's, else detected as the page detects it."""
    if number_format != "auto":
        return number_format == "comma"
    features = [i for i, f in enumerate(columns.feature_of_column) if f >= 0]
    cells = (row[i] for row in _sample_rows(path, delimiter) for i in features if i < len(row))
    return detect_number_format(cells)


def _header_line(path: Path) -> str:
    with path.open("r", encoding="utf-8-sig", newline="") as f:
        for line in f:
            if line.strip(" \r\n") != "":
                return line.rstrip("\r\n")
    raise InputError(f"{path} is empty (it holds no header row).")


def _split_header(line: str, delimiter: str) -> list[str]:
    import csv

    return next(csv.reader([line], delimiter=delimiter))


def group_csv_files(files: list[Path]) -> list[CsvGroup]:
    groups: dict[tuple[str, str], CsvGroup] = {}
    for path in files:
        line = _header_line(path)
        delimiter = sniff_delimiter(line)
        key = (line, delimiter)
        if key not in groups:
            groups[key] = CsvGroup(_split_header(line, delimiter), delimiter, [])
        groups[key].files.append(str(path))
    return list(groups.values())


def input_files(root: Path, fmt: str) -> list[Path]:
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise InputError(f"{root} is neither a file nor a folder.")
    suffixes = {".csv", ".txt"} if fmt == "csv" else {".parquet"}
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
    if not files:
        raise InputError(f"{root} holds no {' or '.join(sorted(suffixes))} files.")
    return files


def _score_partitions(bundle_dir: str, columns: ColumnMap, threshold: float):  # noqa: ANN202
    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        scorer = _scorer(bundle_dir)
        for batch in batches:
            source = batch.pop("__source_file")
            # The readings arrive as float columns, parsed in the JVM by the page's rules.
            out = score_frame(batch, scorer, columns, threshold)
            out.insert(0, "source_file", source.to_numpy())
            yield out

    return run


def _check_mapping(columns: ColumnMap, where: str) -> None:
    if columns.mapped == 0:
        raise InputError(
            f"No column of {where} matches the model's sensors (expected headers like Sensor-1)."
        )


def _readings_projection(
    raw: DataFrame, columns: ColumnMap, bundle: Bundle, decimal_comma: bool
) -> tuple[DataFrame, ColumnMap]:
    """Only what the model and the output need — the id and the mapped sensors as float readings, parsed in
    the JVM by the page's rules (moving 590 text columns to Python costs far more than scoring them) — and the
    column map of that projection."""
    from pyspark.sql import functions as F

    names = raw.columns
    # Sensors the model never reads cannot change a probability or the coverage: they stay missing.
    used = set(bundle.read_features)
    wanted = [(i, f) for i, f in enumerate(columns.feature_of_column) if f in used]
    id_col = (
        F.col(names[columns.id_column]).cast("string") if columns.id_column is not None else F.lit(None)
    )
    dtypes = dict(raw.dtypes)
    projected = raw.select(
        id_col.cast("string").alias("__id"),
        *[
            reading_column(F.col(names[i]), dtypes[names[i]], decimal_comma).alias(f"f{f}")
            for i, f in wanted
        ],
        F.input_file_name().alias("__source_file"),
    )
    return projected, ColumnMap([-1, *[f for _, f in wanted]], 0)


def score_csv(
    spark: SparkSession, files: list[Path], bundle: Bundle, threshold: float, number_format: str = "auto"
) -> DataFrame:
    from pyspark.sql.types import StringType, StructField, StructType

    frames = []
    for group in group_csv_files(files):
        columns = map_columns(group.header, bundle.model)
        _check_mapping(columns, group.files[0])
        # Positional names: the header was read and mapped above; Spark only splits the rows, as text.
        schema = StructType([StructField(f"c{i}", StringType()) for i in range(len(group.header))])
        raw = (
            spark.read.option("header", True)
            .option("sep", group.delimiter)
            .option("enforceSchema", True)
            .option("mode", "PERMISSIVE")
            .schema(schema)
            .csv(group.files)
        )
        decimal_comma = decimal_comma_for(Path(group.files[0]), group.delimiter, columns, number_format)
        projected, projected_columns = _readings_projection(raw, columns, bundle, decimal_comma)
        run = _score_partitions(str(bundle.directory), projected_columns, threshold)
        frames.append(projected.mapInPandas(run, OUTPUT_SCHEMA))
    return _union(frames)


def score_parquet(spark: SparkSession, files: list[Path], bundle: Bundle, threshold: float) -> DataFrame:
    raw = spark.read.parquet(*[str(f) for f in files])
    columns = map_columns(list(raw.columns), bundle.model)
    _check_mapping(columns, str(files[0].parent))
    projected, projected_columns = _readings_projection(raw, columns, bundle, False)
    return projected.mapInPandas(
        _score_partitions(str(bundle.directory), projected_columns, threshold), OUTPUT_SCHEMA
    )


def _union(frames: list[DataFrame]) -> DataFrame:
    out = frames[0]
    for f in frames[1:]:
        out = out.unionByName(f)
    return out


def spark_session(master: str | None) -> SparkSession:
    from pyspark.sql import SparkSession

    # Python workers run this interpreter (this environment's onnxruntime) unless the cluster says otherwise.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName("sensor-fault-scoring")
    if master:
        builder = builder.master(master)
    return builder.config("spark.sql.execution.arrow.maxRecordsPerBatch", 5000).getOrCreate()


def score(
    spark: SparkSession,
    input_path: Path,
    bundle_dir: Path,
    fmt: str,
    threshold: float | None = None,
    number_format: str = "auto",
) -> DataFrame:
    bundle = load_bundle(bundle_dir.resolve())
    t = bundle.threshold if threshold is None else threshold
    if not 0 <= t <= 1:
        raise InputError(f"Threshold {t} is not in [0, 1].")
    files = input_files(input_path, fmt)
    if fmt == "parquet":
        return score_parquet(spark, files, bundle, t)
    return score_csv(spark, files, bundle, t, number_format)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scoring.spark_job", description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", required=True, type=Path, help="a wafer file or a folder of them")
    ap.add_argument("--model", default=Path("public/models"), type=Path, help="the model bundle folder")
    ap.add_argument(
        "--output", required=True, type=Path, help="the output folder (Spark writes part files)"
    )
    ap.add_argument("--input-format", choices=("csv", "parquet"), default="csv")
    ap.add_argument("--format", choices=("parquet", "csv"), default="parquet", help="output format")
    ap.add_argument("--threshold", type=float, default=None, help="default: the bundle's threshold")
    ap.add_argument("--master", default=None, help="e.g. local[2]; default: what spark-submit gives")
    ap.add_argument(
        "--number-format",
        choices=("auto", "point", "comma"),
        default="auto",
        help="CSV readings' decimal mark; auto: detected from each file's first rows, as the page does",
    )
    args = ap.parse_args(argv)
    try:
        spark = spark_session(args.master)
        result = score(spark, args.input, args.model, args.input_format, args.threshold, args.number_format)
        writer = result.write.mode("overwrite")
        (
            writer.option("header", True).csv(str(args.output))
            if args.format == "csv"
            else writer.parquet(str(args.output))
        )
    except (BundleError, InputError) as e:
        print(f"sensor-fault scoring: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
