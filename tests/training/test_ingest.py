from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training.data_io import DataValidationError, load_secom, read_wafer_csv

ROW = " ".join(["1.5"] * 589 + ["NaN"])


def write(tmp: Path, data_lines: list[str], label_lines: list[str]) -> Path:
    (tmp / "secom_train.data").write_text("\n".join(data_lines) + "\n")
    (tmp / "secom_train_labels.data").write_text("\n".join(label_lines) + "\n")
    return tmp


GOOD_LABELS = ['-1 "19/07/2008 11:55:00"', '1 "20/07/2008 01:02:03"']


def test_happy_path(tmp_path: Path) -> None:
    d = load_secom(write(tmp_path, [ROW, ROW], GOOD_LABELS))
    assert d.X.shape == (2, 590)
    assert np.isnan(d.X[0, 589]) and d.X[0, 0] == 1.5
    assert d.y.tolist() == [0, 1]
    assert d.timestamps[1].isoformat() == "2008-07-20T01:02:03"  # day/month/year
    assert d.features[0] == "Sensor-1" and d.features[-1] == "Sensor-590"
    assert d.raw_values[0][589] is None


def test_wrong_column_count(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match=r"line 2 has 589 columns, expected 590"):
        load_secom(write(tmp_path, [ROW, " ".join(["1"] * 589)], GOOD_LABELS))


def test_non_numeric_text(tmp_path: Path) -> None:
    bad = " ".join(["1"] * 10 + ["abc"] + ["1"] * 579)
    with pytest.raises(DataValidationError, match=r"line 1, column 11: non-numeric text 'abc'"):
        load_secom(write(tmp_path, [bad, ROW], GOOD_LABELS))


@pytest.mark.parametrize("label", ["0", "2", "fail", "-1.0"])
def test_bad_label(tmp_path: Path, label: str) -> None:
    with pytest.raises(DataValidationError, match="is not -1 \\(pass\\) or 1 \\(fail\\)"):
        load_secom(write(tmp_path, [ROW, ROW], [GOOD_LABELS[0], f'{label} "20/07/2008 01:02:03"']))


def test_bad_timestamp_and_row_mismatch(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="time stamp"):
        load_secom(write(tmp_path, [ROW, ROW], [GOOD_LABELS[0], '1 "2008-07-20 01:02:03"']))
    with pytest.raises(DataValidationError, match=r"2 rows but .* 1 labels"):
        load_secom(write(tmp_path, [ROW, ROW], [GOOD_LABELS[0]]))


def test_cli_reports_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from training.pipeline import main

    write(tmp_path, [ROW, " ".join(["1"] * 12)], GOOD_LABELS)
    assert main(["--data-dir", str(tmp_path), "--out-dir", str(tmp_path / "out")]) == 1
    assert "columns, expected 590" in capsys.readouterr().err


def test_real_files_and_sample_csv(repo: Path) -> None:
    d = load_secom(repo / "training" / "data")
    assert d.X.shape == (1175, 590) and int(d.y.sum()) == 80
    assert d.timestamps == sorted(d.timestamps)
    _, Xs = read_wafer_csv(repo / "tests" / "fixtures" / "wafer" / "wafer_23012020_041211.csv")
    np.testing.assert_array_equal(np.isnan(Xs), np.isnan(d.X[830:930]))
    np.testing.assert_allclose(np.nan_to_num(Xs), np.nan_to_num(d.X[830:930]))
