"""Batch scoring throughput on Spark in local mode: `training/.venv/bin/python bench/spark.py [--rows 10000]`.

Scores a generated SECOM-shaped CSV (bench/generated/wafers-N.csv; `npm run bench` makes them) with
scoring.spark_job on local[2], twice (the first run includes Spark's and the Python workers' start), and
prints rows/s and MB/s. Nothing asserts timings.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scoring.spark_job import score, spark_session  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=10000)
    ap.add_argument("--master", default="local[2]")
    args = ap.parse_args()
    data = REPO / "bench" / "generated" / f"wafers-{args.rows}.csv"
    if not data.exists():
        print(f"{data} is missing: run `npm run bench` (or node bench/generate.mjs) first.", file=sys.stderr)
        return 2
    spark = spark_session(args.master)
    spark.sparkContext.setLogLevel("ERROR")
    mb = data.stat().st_size / 1e6
    for run in ("cold", "warm"):
        start = time.perf_counter()
        n = score(spark, data, REPO / "public" / "models", "csv").count()
        s = time.perf_counter() - start
        print(f"{run}: {n:,} wafers ({mb:.0f} MB) in {s:.1f} s = {n / s:,.0f} wafers/s, {mb / s:.1f} MB/s")
    spark.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
