"""Scoring on a real Spark (local[2]): a folder of wafer files in, the page's probabilities out."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring.spark_job import InputError, main, score

TOL = 1e-5


def golden(repo: Path) -> dict:
    return json.loads((repo / "public" / "models" / "golden.json").read_text(encoding="utf-8"))


def write_golden_csvs(repo: Path, folder: Path) -> dict[str, float]:
    """The golden wafers split over three CSV files with different column orders and delimiters."""
    g = golden(repo)
    features = g["features"]
    expected: dict[str, float] = {}
    rows = []
    for w in g["wafers"]:
        wid = w["id"]
        expected[wid] = w["probability"]
        rows.append([wid, *["" if v is None else repr(v) for v in w["values"]]])
    parts = [rows[:15], rows[15:30], rows[30:]]
    folder.mkdir(parents=True)
    # 1: as the page's own download would be; 2: columns reversed; 3: semicolons.
    (folder / "a.csv").write_text("\n".join(",".join(r) for r in [["wafer_id", *features], *parts[0]]) + "\n")
    rev = [["wafer_id", *features[::-1]]] + [[r[0], *r[1:][::-1]] for r in parts[1]]
    (folder / "b.csv").write_text("\r\n".join(",".join(r) for r in rev) + "\r\n")
    semi = [["wafer_id", *features]] + [[r[0], *[v.replace(".", ",") for v in r[1:]]] for r in parts[2]]
    (folder / "c.csv").write_text("\n".join(";".join(r) for r in semi) + "\n")
    return expected


def test_a_folder_of_csv_files_gives_the_golden_probabilities(repo: Path, spark: object, tmp_path: Path):
    expected = write_golden_csvs(repo, tmp_path / "in")
    sample_file = repo / "tests" / "fixtures" / "wafer" / "wafer_23012020_041211.csv"
    shutil.copy(sample_file, tmp_path / "in" / "sample.csv")
    out = score(spark, tmp_path / "in", repo / "public" / "models", "csv").toPandas()  # type: ignore[arg-type]
    assert len(out) == len(expected) + 100
    assert set(out["source_file"].map(lambda s: Path(s).name)) == {"a.csv", "b.csv", "c.csv", "sample.csv"}
    golden_rows = out[out["id"].str.startswith("W")].set_index("id")
    got = golden_rows.loc[list(expected), "fault_probability"].to_numpy(dtype=np.float64)
    assert np.max(np.abs(got - np.array(list(expected.values())))) <= TOL
    sample = out[out["source_file"].str.endswith("sample.csv")]
    want = np.array(golden(repo)["sample"]["probabilities"])
    # The sample's wafers are named in its first (unnamed) column, in file order within the one file.
    order = sample["id"].map(lambda s: int(s.split("-")[1])).argsort().to_numpy()
    assert sample["id"].iloc[order].tolist()[0] == "Wafer-801"
    assert np.max(np.abs(sample["fault_probability"].to_numpy(dtype=np.float64)[order] - want)) <= TOL
    threshold = golden(repo)["threshold"]
    flagged = out["fault_probability"].astype(np.float64) >= threshold
    assert (out["prediction"] == np.where(flagged, "Fault", "OK")).all()


def test_parquet_in_and_csv_out_through_the_command_line(repo: Path, spark: object, tmp_path: Path) -> None:
    g = golden(repo)
    frame = pd.DataFrame(
        [[np.nan if v is None else v for v in w["values"]] for w in g["wafers"]], columns=g["features"]
    )
    frame.insert(0, "id", [w["id"] for w in g["wafers"]])
    (tmp_path / "in").mkdir()
    frame.to_parquet(tmp_path / "in" / "wafers.parquet")
    models = str(repo / "public" / "models")
    args = ["--input", str(tmp_path / "in"), "--input-format", "parquet", "--model", models]
    assert main([*args, "--output", str(tmp_path / "out"), "--format", "csv", "--threshold", "0.5"]) == 0
    out = pd.concat(pd.read_csv(p) for p in sorted((tmp_path / "out").glob("part-*.csv"))).set_index("id")
    expected = {w["id"]: w["probability"] for w in g["wafers"]}
    got = out.loc[list(expected), "fault_probability"].to_numpy(dtype=np.float64)
    assert np.max(np.abs(got - np.array(list(expected.values())))) <= TOL
    assert (out["prediction"] == np.where(out["fault_probability"] >= 0.5, "Fault", "OK")).all()


def test_inputs_that_cannot_be_scored_are_named(repo: Path, spark: object, tmp_path: Path) -> None:
    (tmp_path / "none").mkdir()
    with pytest.raises(InputError, match=r"holds no \.csv or \.txt files"):
        score(spark, tmp_path / "none", repo / "public" / "models", "csv")  # type: ignore[arg-type]
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match=r"No column of .*x\.csv matches the model's sensors"):
        score(spark, tmp_path / "bad", repo / "public" / "models", "csv")  # type: ignore[arg-type]
    # A folder without a bundle: a plain message and exit code 2, no traceback.
    no_bundle = ["--input", str(tmp_path / "bad"), "--model", str(tmp_path), "--output", str(tmp_path / "o")]
    assert main(no_bundle) == 2


@pytest.mark.parametrize(("table", "decimal_comma"), [("point", False), ("comma", True)])
def test_jvm_readings_follow_the_shared_vectors(repo: Path, spark: object, table: str, decimal_comma: bool):
    from pyspark.sql import functions as F

    from scoring.rules import reading_column

    vectors = repo / "tests" / "fixtures" / "reading-rules.json"
    cases = json.loads(vectors.read_text(encoding="utf-8"))[table]
    frame = spark.createDataFrame([(raw,) for raw, _ in cases], "cell string")  # type: ignore[attr-defined]
    got = frame.select(reading_column(F.col("cell"), "string", decimal_comma).alias("v")).collect()
    for (raw, expected), row in zip(cases, got, strict=True):
        want = None if expected is None else float(np.float32(expected))
        assert row["v"] == want, raw


def test_low_coverage_wafers_are_not_scored_as_the_page_does(repo: Path, spark: object, tmp_path: Path):
    (tmp_path / "in").mkdir()
    shutil.copy(repo / "tests" / "fixtures" / "bad" / "low-coverage.csv", tmp_path / "in" / "low.csv")
    out = score(spark, tmp_path / "in", repo / "public" / "models", "csv").toPandas()  # type: ignore[arg-type]
    out = out.set_index("id").loc[[f"Wafer-{801 + i}" for i in range(12)]]
    # The 3rd wafer has no readings, the 6th only Sensor-1 … Sensor-60: the page's messages name them so.
    used = golden(repo)["model_sensors"]
    sixth = pd.read_csv(repo / "tests" / "fixtures" / "bad" / "low-coverage.csv").iloc[5]
    k = int(sum(pd.notna(sixth.get(name)) for name in used))
    assert 0 < k < len(used) / 2
    assert out["prediction"].iloc[2] == f"Not scored: low coverage (0 of {len(used)} model sensors read)"
    assert out["prediction"].iloc[5] == f"Not scored: low coverage ({k} of {len(used)} model sensors read)"
    assert out["fault_probability"].iloc[[2, 5]].isna().all()
    want = np.array(golden(repo)["sample"]["probabilities"][:12])
    scored = [i for i in range(12) if i not in (2, 5)]
    got = out["fault_probability"].to_numpy(dtype=np.float64)[scored]
    assert np.max(np.abs(got - want[scored])) <= TOL
