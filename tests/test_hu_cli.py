"""``spine-mets hu``: per level the ROI statistics, flags and caveats, as a table or JSON."""

from __future__ import annotations

import json

import pytest

from napari_spine_mets.cli import main
from napari_spine_mets.synthetic import LesionSpec, SpineParams, generate_spine_ct, write_synthetic_case


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    case = generate_spine_ct(SpineParams(levels=("T12", "L1", "L2"), spacing_mm=(2.0, 0.8, 0.8), fov_mm=220,
                                         lesions=(LesionSpec(level="L2", kind="lytic", radius_mm=8.0),), fracture=None))
    return case, write_synthetic_case(case, tmp_path_factory.mktemp("hu_case"))


def test_hu_json_on_dicom_with_labels(written, capsys) -> None:
    case, paths = written
    code = main(["hu", str(paths["dicom"]), "--labels", str(paths["vertebrae"]), "--lesions", str(paths["lesions"]),
                 "--liv", "L1", "--json"])
    out = capsys.readouterr().out
    assert code == 0
    report = json.loads(out)
    assert "not a diagnosis" in report["notice"]
    levels = {lv["level"]: lv for lv in report["levels"]}
    assert list(levels) == ["T12", "L1", "L2"]
    truth = case.params.trabecular_hu
    for name in ("T12", "L1"):
        lv = levels[name]
        assert lv["origin"] == "automatic" and len(lv["slices"]) == 3
        assert lv["combined"]["mean"] == pytest.approx(truth, abs=10)
        assert lv["combined"]["n_voxels"] == sum(s["n_voxels"] for s in lv["slices"])
        assert {"mean", "median", "sd", "n_voxels"} <= set(lv["slices"][0])
    names = {f["name"]: f for f in levels["L1"]["flags"]}
    assert set(names) == {"screw_failure_risk", "l1_osteoporosis_band"}
    assert "127.273" in names["screw_failure_risk"]["source"]
    assert levels["T12"]["flags"] == []  # the construct is given: the screw rule applies at the LIV only
    assert any("contrast" in c.lower() for c in levels["L1"]["caveats"])
    assert any("touches a lesion" in c for c in levels["L2"]["caveats"])


def test_hu_table_and_errors(written, capsys, tmp_path) -> None:
    _, paths = written
    assert main(["hu", str(paths["dicom"]), "--labels", str(paths["vertebrae"])]) == 0
    out = capsys.readouterr().out
    assert "level" in out and "T12" in out and "source: J. Clin. Med. 2024" in out and "caveat" in out
    assert main(["hu", str(paths["dicom"])]) == 2
    assert "no vertebra labels: give --labels" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["hu", str(empty), "--labels", str(paths["vertebrae"])]) == 2
    assert "spine-mets hu:" in capsys.readouterr().err
