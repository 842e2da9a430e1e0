"""`spine-mets score ...`: each calculator, --json, --list, and bad input as one line with exit 2."""

from __future__ import annotations

import json

import pytest

from napari_spine_mets.cli import main

SINS = ["score", "sins", "--location", "T12", "--pain", "mechanical", "--lesion", "lytic", "--alignment", "normal",
        "--collapse", "lt50", "--posterolateral", "unilateral"]
TOKUHASHI = ["score", "tokuhashi", "--karnofsky", "80", "--extraspinal-bone-metastases", "0",
             "--vertebral-metastases", "1", "--major-organ-metastases", "none", "--primary-site", "breast",
             "--frankel-grade", "E"]


def _run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_sins_text_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, SINS)
    assert code == 0 and "SINS at T12: 11 points" in out and "surgical consultation" in out
    assert "not a diagnosis" in out
    code, out, _ = _run(capsys, [*SINS, "--json"])
    data = json.loads(out)
    assert code == 0 and data["total"] == 11 and data["band"].startswith("indeterminate")
    assert [i["points"] for i in data["items"]] == [3, 3, 2, 0, 2, 1] and data["notice"]


@pytest.mark.parametrize("argv,key,value", [
    (["score", "pni", "--albumin", "3.5", "--lymphocytes", "1500"], "total", 42.5),
    (["score", "bed", "--dose-per-fraction", "8", "--fractions", "3", "--alpha-beta", "3"], "total", 88.0),
    (["score", "hu", "--hu", "127", "--level", "L1", "--kvp", "120", "--contrast", "no"], "total", 127.0),
    (TOKUHASHI, "total", 15),
    (["score", "tomita", "--primary-site", "kidney", "--visceral-metastases", "treatable", "--bone-metastases",
      "multiple"], "total", 6),
    (["score", "bauer", "--visceral-metastases", "no", "--primary-site", "breast", "--solitary-skeletal-metastasis",
      "yes"], "total", 4),
    (["score", "bilsky", "--grade", "1b", "--level", "T8"], "total", "1b"),
    (["score", "bilsky-ct", "--lesion-area", "135", "--above-area", "280", "--below-area", "260"], "total", 0.5),
])
def test_each_calculator_json(capsys: pytest.CaptureFixture[str], argv: list[str], key: str, value: object) -> None:
    code, out, _ = _run(capsys, [*argv, "--json"])
    assert code == 0
    data = json.loads(out)
    assert data[key] == (pytest.approx(value) if isinstance(value, float) else value)
    assert data["citation"] and data["disclaimer"]


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, ["score", "--list"])
    assert code == 0 and "sins" in out and "bed" in out and "breast" in out
    code, out, _ = _run(capsys, ["score", "--list", "--json"])
    assert "tokuhashi" in json.loads(out)["calculators"]


@pytest.mark.parametrize("argv,message", [
    ([*TOKUHASHI[:3], "130", *TOKUHASHI[4:]], "Karnofsky performance status (%) 130 is above"),
    ([*TOKUHASHI[:11], "atlantis", *TOKUHASHI[12:]], "primary site 'atlantis' is not recognised"),
    (["score", "pni", "--albumin", "35", "--lymphocytes", "1500"], "probably g/L"),
    (["score", "pni", "--lymphocytes", "1500"], "serum albumin is missing"),
    (["score", "sins", "--location", "T12"], "missing: pain"),
    (["score", "bed", "--dose-per-fraction", "-8", "--fractions", "3"], "dose per fraction"),
    (["score"], "name a calculator"),
])
def test_bad_input_is_one_line_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    code, out, err = _run(capsys, argv)
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err
