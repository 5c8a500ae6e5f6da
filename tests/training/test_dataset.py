"""Any wafer data set: the UCI layout and CSVs described by a config or by detection; bad configs and data
sets get specific errors naming the file, column and row."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training.dataset import (
    DataValidationError,
    aliases,
    detect_config,
    load_config,
    load_dataset,
    read_wafer_csv,
)

SYNTH = Path(__file__).resolve().parents[1] / "fixtures" / "synthetic"
ROW = " ".join(["1.5"] * 9 + ["NaN"])
UCI_TOML = """format = "uci"
file = "r.data"
labels_file = "l.data"
fail_values = ["1"]
pass_values = ["-1"]
time_format = "%d/%m/%Y %H:%M:%S"
sensor_name = "S{i}"
"""


def uci(tmp: Path, data: list[str], labels: list[str], toml: str = UCI_TOML) -> Path:
    (tmp / "r.data").write_text("\n".join(data) + "\n")
    (tmp / "l.data").write_text("\n".join(labels) + "\n")
    (tmp / "c.toml").write_text(toml)
    return tmp / "c.toml"


def labels(n: int, fails: int) -> list[str]:
    return [f'{"1" if i < fails else "-1"} "{28 - i % 28:02d}/07/2008 11:55:00"' for i in range(n)]


def csv_file(tmp: Path, text: str, name: str = "w.csv") -> Path:
    (tmp / name).write_text(text)
    return tmp / name


def wafers_csv(
    n: int = 30, fails: int = 12, label: str = "Pass/Fail", codes: tuple[str, str] = ("Fail", "Pass")
) -> str:
    lines = [f"wafer_id,timestamp,temp_a,flow b,{label}"]
    for i in range(n):
        flow = "" if i % 7 == 0 else str(i)
        code = codes[0] if i < fails else codes[1]
        lines.append(f"W{i},2025-01-{1 + (n - i) % 28:02d}T10:00:00,{i * 0.5},{flow},{code}")
    return "\n".join(lines) + "\n"


def test_uci_layout_from_a_config(tmp_path: Path) -> None:
    d = load_dataset(load_config(uci(tmp_path, [ROW] * 20, labels(20, 10))))
    assert d.X.shape == (20, 10) and d.features[0] == "S1" and d.features[-1] == "S10"
    assert np.isnan(d.X[:, 9]).all() and d.n_fails == 10
    assert d.times is not None and d.times == sorted(d.times), "rows are sorted by time"
    assert d.disk_order_breaks > 0


def test_csv_config_sorts_by_time_and_takes_sensor_names_from_the_header(tmp_path: Path) -> None:
    f = csv_file(tmp_path, wafers_csv())
    (tmp_path / "c.toml").write_text(
        'file = "w.csv"\nid_column = "wafer_id"\nlabel_column = "Pass/Fail"\nfail_values = ["Fail"]\n'
        'pass_values = ["Pass"]\ntime_column = "timestamp"\n[aliases]\ntemp_a = ["Temperature A"]\n'
    )
    d = load_dataset(load_config(tmp_path / "c.toml"))
    assert d.features == ["temp_a", "flow b"] and d.config.file == f
    assert d.times == sorted(d.times or [])
    assert aliases(d)["temp_a"] == ["temp_a", "Temperature A"]
    assert np.isnan(d.X[d.ids.index("W0"), 1]), "an empty cell is a missing reading"


def test_detection_alone_finds_id_label_and_time(tmp_path: Path) -> None:
    cfg = detect_config(csv_file(tmp_path, wafers_csv(label="Good/Bad", codes=("1", "-1"))))
    assert (cfg.id_column, cfg.label_column, cfg.time_column) == ("wafer_id", "Good/Bad", "timestamp")
    assert cfg.fail_values == ("1",) and cfg.pass_values == ("-1",) and cfg.origin == "detected"
    d = load_dataset(cfg)
    assert d.features == ["temp_a", "flow b"] and d.n_fails == 12


def test_without_a_time_column_rows_stay_in_file_order(tmp_path: Path) -> None:
    text = "\n".join(
        ",".join(c for k, c in enumerate(line.split(",")) if k != 1) for line in wafers_csv().splitlines()
    )
    d = load_dataset(detect_config(csv_file(tmp_path, text + "\n")))
    assert d.times is None and d.ids[:3] == ["W0", "W1", "W2"]


def test_the_synthetic_fixture_is_what_its_generator_writes(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_synthetic", SYNTH / "make_synthetic.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    header, rows = mod.generate()
    lines = (SYNTH / "synthetic.csv").read_text().splitlines()
    assert lines[0].split(",") == header and len(lines) == len(rows) + 1
    assert lines[1].split(",") == rows[0]
    d = load_dataset(load_config(SYNTH / "synthetic.toml"))
    assert len(d.features) == 37 and d.features[2] == "gas_flow_03"
    assert d.disk_order_breaks > 100 and 0.005 < np.isnan(d.X).mean() < 0.1


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('format = "excel"\n', r"c.toml: `format` is 'excel'"),
        (
            'file = "w.csv"\nlabel_column = "Pass/Fail"\n',
            r"`fail_values` and `pass_values` must both be given",
        ),
        (
            'file = "w.csv"\nfail_values = ["Fail"]\npass_values = ["Pass"]\n',
            r"format 'csv' needs `label_column`",
        ),
        (
            'file = "w.csv"\nlabel_column = "x"\nfail_values = ["F"]\npass_values = ["f"]\n',
            r"\['f'\] is both",
        ),
        ('file = "w.csv"\nlabel_colum = "x"\n', r"unknown key\(s\) \['label_colum'\]"),
        ("file = [\n", r"not valid TOML"),
        (
            'format = "uci"\nfile = "r.data"\nfail_values = ["1"]\npass_values = ["-1"]\n',
            r"needs `labels_file`",
        ),
    ],
)
def test_bad_configs_say_what_is_wrong(tmp_path: Path, toml: str, message: str) -> None:
    (tmp_path / "c.toml").write_text(toml)
    with pytest.raises(DataValidationError, match=message):
        load_config(tmp_path / "c.toml")


def _cfg(tmp: Path, text: str, extra: str = "") -> Path:
    csv_file(tmp, text)
    (tmp / "c.toml").write_text(
        'file = "w.csv"\nlabel_column = "Pass/Fail"\nfail_values = ["Fail"]\npass_values = ["Pass"]\n'
        'id_column = "wafer_id"\ntime_column = "timestamp"\n' + extra
    )
    return tmp / "c.toml"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda t: t.replace(",3.5,", ",abc,", 1), r"w.csv: row \d+, column 'temp_a': 'abc' is not a number"),
        (
            lambda t: t.replace(",Fail\n", ",Broken\n", 1),
            r"w.csv: row 2, column 'Pass/Fail': label 'Broken' is neither",
        ),
        (lambda t: t.replace("2025-01-", "Jan ", 1), r"w.csv: row 2, column 'timestamp': 'Jan .*' is not"),
        (lambda t: t.replace(",Fail\n", ",Pass\n"), r"single class"),
        (lambda t: t.replace("Pass/Fail", "Outcome"), r"label_column 'Pass/Fail' is not a column"),
        (lambda t: t.replace(",flow b,", ",temp_a,"), r"duplicate column name\(s\) \['temp_a'\]"),
        (lambda t: t + "W99,2025-01-01T00:00:00,1\n", r"w.csv: row 32 has 3 cells, the header 5"),
    ],
)
def test_bad_data_sets_name_the_file_row_and_column(tmp_path: Path, mutate: object, message: str) -> None:
    cfg = _cfg(tmp_path, mutate(wafers_csv()))  # type: ignore[operator]
    with pytest.raises(DataValidationError, match=message):
        load_dataset(load_config(cfg))


def test_detection_refuses_what_it_cannot_tell(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match=r"no label column found"):
        detect_config(csv_file(tmp_path, wafers_csv(label="outcome")))
    with pytest.raises(DataValidationError, match=r"cannot tell fail from pass .* --config"):
        detect_config(csv_file(tmp_path, wafers_csv(codes=("A", "B"))))
    with pytest.raises(DataValidationError, match=r"data file not found"):
        detect_config(tmp_path / "nope.csv")


def test_too_few_fails_and_alias_collisions(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match=r"only 3 failing wafers"):
        load_dataset(load_config(_cfg(tmp_path, wafers_csv(fails=3))))
    cfg = _cfg(tmp_path, wafers_csv(), '[aliases]\ntemp_a = ["x"]\n"flow b" = ["X"]\n')
    with pytest.raises(DataValidationError, match=r"alias 'X' of flow b collides with temp_a"):
        aliases(load_dataset(load_config(cfg)))


def test_uci_errors(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match=r"r.data: line 2 has 3 columns, expected 10"):
        load_dataset(load_config(uci(tmp_path, [ROW, "1 2 3"], labels(2, 1))))
    with pytest.raises(DataValidationError, match=r"r.data has 2 rows but l.data has 1 labels"):
        load_dataset(load_config(uci(tmp_path, [ROW, ROW], labels(1, 1))))


def test_cli_reports_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from training.pipeline import main

    f = csv_file(tmp_path, wafers_csv(codes=("A", "B")))
    assert main(["--data", str(f), "--out", str(tmp_path / "out")]) == 1
    assert "cannot tell fail from pass" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse: --out is required with --data
        main(["--data", str(f)])
    assert "--out DIR is required" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # a fast run does not overwrite the shipped bundle
        main(["--fast"])


def test_real_secom_files_and_sample_csv(repo: Path, sensor_1_aliases: list[str]) -> None:
    cfg = load_config(repo / "training" / "data" / "secom.toml")
    d = load_dataset(cfg)
    assert d.X.shape == (1175, 590) and d.n_fails == 80 and d.disk_order_breaks == 0
    assert aliases(d)["Sensor-1"] == sensor_1_aliases
    assert cfg.sample_file is not None
    _, Xs = read_wafer_csv(cfg.sample_file, d.features)
    np.testing.assert_array_equal(np.isnan(Xs), np.isnan(d.X[830:930]))
    np.testing.assert_allclose(np.nan_to_num(Xs), np.nan_to_num(d.X[830:930]))
