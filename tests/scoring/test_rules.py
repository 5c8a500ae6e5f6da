"""Batch scoring reads cells and maps columns as the page does: the shared vectors, and the mapping cases."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from scoring.bundle import BundleError, load_bundle
from scoring.rules import detect_number_format, map_columns, reading, sniff_delimiter


def vectors(repo: Path) -> dict:
    return json.loads((repo / "tests" / "fixtures" / "reading-rules.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(("table", "decimal_comma"), [("point", False), ("comma", True)])
def test_readings_match_the_shared_vectors(repo: Path, table: str, decimal_comma: bool) -> None:
    for raw, expected in vectors(repo)[table]:
        got = reading(raw, decimal_comma)
        if expected is None:
            assert math.isnan(got), raw
        else:
            assert got == expected, raw


def test_null_is_missing() -> None:
    assert math.isnan(reading(None))


def model(repo: Path) -> dict:
    return json.loads((repo / "public" / "models" / "model.json").read_text(encoding="utf-8"))


def test_mapping_by_name_alias_and_first_duplicate(repo: Path) -> None:
    m = model(repo)
    cols = map_columns(["", "Sensor-1", " sensor-2 ", "2", "Sensor-1", "Good/Bad", "Operator"], m)
    assert cols.id_column == 0
    # "2" is the Kaggle alias of Sensor-3; the second Sensor-1 column is kept out of the model.
    assert cols.feature_of_column == [-1, 0, 1, 2, -1, -1, -1]


def test_named_id_column_wins_over_the_unnamed_index(repo: Path) -> None:
    cols = map_columns(["", "wafer_id", "Sensor-5"], model(repo))
    assert cols.id_column == 1
    assert map_columns(["Sensor-5", "Sensor-6"], model(repo)).id_column is None


def test_delimiter_as_the_page_sniffs_it() -> None:
    assert sniff_delimiter("a,b,c") == ","
    assert sniff_delimiter("a;b;c") == ";"
    assert sniff_delimiter("a\tb\tc") == "\t"
    assert sniff_delimiter('"x;y;z",b,c') == ","
    # A quote inside a field is literal: it does not hide the delimiters after it.
    assert sniff_delimiter('pipe 5";b;c') == ";"
    assert sniff_delimiter("") == ","


def test_a_bundle_whose_onnx_differs_from_model_json_is_refused(repo: Path, tmp_path: Path) -> None:
    src = repo / "public" / "models"
    (tmp_path / "model.json").write_text((src / "model.json").read_text(encoding="utf-8"), encoding="utf-8")
    blob = bytearray((src / "secom-xgb.onnx").read_bytes())
    blob[-1] ^= 1
    (tmp_path / "secom-xgb.onnx").write_bytes(bytes(blob))
    with pytest.raises(BundleError, match=r"does not match model\.json: sha256"):
        load_bundle(tmp_path)
    with pytest.raises(BundleError, match=r"No model\.json"):
        load_bundle(tmp_path / "nowhere")


def test_number_format_is_detected_as_the_page_detects_it() -> None:
    # More cells readable only with a comma than only with a point: a decimal comma.
    assert detect_number_format(["0,5", "1,25", "3.5"]) is True
    assert detect_number_format(["0.5", "1.5e-3", "1,5"]) is False
    # Cells readable both ways ("2.968", "12") decide nothing: the decimal point stays.
    assert detect_number_format(["2.968", "12", ""]) is False
