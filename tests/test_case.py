"""The Case model: grid checks, edits and steps, equality, and the JSON codec of its parts."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import numpy as np
import pytest

from napari_spine_mets import __version__
from napari_spine_mets.case import (
    Case,
    ClinicalEntries,
    Edit,
    Finding,
    GridMismatchError,
    HuStats,
    Lesion,
    LesionKind,
    LesionStatus,
    Origin,
    Polygon,
    Provenance,
    ProvenanceStep,
    Roi,
    RoiKind,
    case_differences,
)
from napari_spine_mets.case_codec import decode, encode
from napari_spine_mets.errors import SpineMetsError
from napari_spine_mets.volume import LabelMap, Volume


def _affine(spacing=(2.0, 0.8, 0.8), origin=(-100.0, -120.0, -500.0)) -> np.ndarray:
    a = np.eye(4)
    a[0, 2], a[1, 1], a[2, 0] = spacing[2], spacing[1], spacing[0]  # (z, y, x) index -> LPS
    a[:3, 3] = origin
    return a


def _ct() -> Volume:
    return Volume(np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6), _affine(), name="CT")


def test_new_case_records_software_version_and_times() -> None:
    case = Case()
    assert case.provenance.software_version == __version__
    assert case.provenance.created.tzinfo is not None
    assert len(case.case_id) == 32 and case.case_id != Case().case_id


def test_set_label_map_accepts_labels_on_a_volume_grid() -> None:
    case = Case()
    case.add_volume(_ct())
    labels = LabelMap(np.zeros((4, 5, 6), np.uint8), _affine())
    case.set_label_map("vertebrae", labels)
    assert case.label_maps["vertebrae"] is labels
    case.set_label_map("again", labels, volume="CT")


@pytest.mark.parametrize(
    "shape, affine",
    [((4, 5, 7), _affine()), ((4, 5, 6), _affine(spacing=(2.0, 0.8, 0.9))), ((4, 5, 6), _affine(origin=(0, 0, 0)))],
)
def test_set_label_map_refuses_labels_off_the_grid(shape, affine) -> None:
    case = Case()
    case.add_volume(_ct())
    with pytest.raises(GridMismatchError, match="does not lie on the grid") as info:
        case.set_label_map("vertebrae", LabelMap(np.zeros(shape, np.uint8), affine))
    assert isinstance(info.value, SpineMetsError)
    assert "vertebrae" not in case.label_maps


def test_set_label_map_needs_a_volume() -> None:
    labels = LabelMap(np.zeros((4, 5, 6), np.uint8), _affine())
    with pytest.raises(GridMismatchError):
        Case().set_label_map("vertebrae", labels)
    case = Case()
    case.add_volume(_ct())
    with pytest.raises(GridMismatchError, match="no volume 'T2'"):
        case.set_label_map("vertebrae", labels, volume="T2")


def test_record_edit_and_step() -> None:
    case = Case()
    before = case.provenance.modified
    edit = case.record_edit("dr_smith", "accepted lesion", "lesion:3")
    assert case.provenance.edits == [edit]
    assert edit.when.tzinfo is not None and case.provenance.modified == edit.when >= before
    step = case.record_step("segmentation", model="unet", model_version="1.2", weights_sha256="ab" * 32,
                            parameters={"tile": (96, 96, 96), "threshold": np.float32(0.5), "n": np.int64(3)})
    assert case.provenance.steps == [step]
    assert step.parameters == {"tile": [96, 96, 96], "threshold": 0.5, "n": 3}
    assert type(step.parameters["n"]) is int and step.finished is not None


def test_non_json_parameters_fail_when_recorded() -> None:
    with pytest.raises(TypeError, match="not JSON"):
        Case().record_step("x", parameters={"f": object()})


def test_equality_sees_array_dtype_affine_and_parts() -> None:
    def make() -> Case:
        case = Case(case_id="c1")
        case.add_volume(_ct())
        case.lesions.append(Lesion(id=1, level="T12"))
        case.provenance = Provenance(software_version="x", created=datetime(2024, 1, 1, tzinfo=timezone.utc),
                                     modified=datetime(2024, 1, 1, tzinfo=timezone.utc))
        return case

    a, b = make(), make()
    assert a == b and case_differences(a, b) == []
    b.volumes["CT"].array = b.volumes["CT"].array.astype(np.int32)
    assert "volumes['CT'].dtype int16 != int32" in case_differences(a, b)
    b = make()
    b.volumes["CT"].array[0, 0, 0] += 1
    assert case_differences(a, b) == ["volumes['CT'].array values"]
    b = make()
    b.volumes["CT"].affine[0, 3] += 1e-9
    assert case_differences(a, b) == ["volumes['CT'].affine"]
    b = make()
    b.lesions[0].kind = LesionKind.LYTIC
    assert case_differences(a, b) == ["lesions"] and a != b


def _parts() -> list[object]:
    when = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=timezone.utc)
    return [
        Lesion(id=2, level="L1", kind=LesionKind.MIXED, volume_mm3=1234.5,
               hu=HuStats(mean=310.25, sd=40.0, median=300.0, minimum=-20.0, maximum=900.0, n_voxels=812),
               status=LesionStatus.ACCEPTED, confidence=0.87, source="detector 0.3", notes="n"),
        Roi(id=1, level="T12", kind=RoiKind.TRABECULAR_HU, label_map="rois", label_id=1, origin=Origin.AUTOMATIC,
            measurements={"hu_mean": 160.5}),
        Roi(id=2, kind=RoiKind.MANUAL, origin=Origin.MANUAL,
            polygons=[Polygon(-790.5, [(1.0, 2.0, -790.5), (3.5, 2.0, -790.5), (3.5, 4.0, -790.5)])]),
        ClinicalEntries(age_years=64, sex="F", pain="mechanical", karnofsky=70, primary_site="breast",
                        alp_u_per_l=180.0, frankel_grade="E", visceral_metastases=False, extras={"ki67": 20}),
        Finding(name="SINS", value=9, unit="points", level="T12", basis="location 2 + pain 3 + ...",
                source="Fisher CG et al. Spine 2010;35:E1221"),
        Finding(name="category", value="indeterminate"),
        ProvenanceStep(name="seg", model="m", parameters={"a": [1, 2]}, started=when, finished=when),
        Edit(who="dr", when=when, what="drew", target="lesion:2"),
    ]


@pytest.mark.parametrize("part", _parts(), ids=lambda p: type(p).__name__)
def test_codec_round_trips_every_part_exactly(part) -> None:
    text = json.dumps(encode(part))
    back = decode(type(part), json.loads(text))
    assert back == part
    assert type(back) is type(part)


def test_codec_keeps_tuples_and_integer_keys() -> None:
    back = decode(Roi, json.loads(json.dumps(encode(_parts()[2]))))
    assert isinstance(back.polygons[0].vertices_mm[0], tuple)
    assert decode(dict[int, str], {"32": "vertebrae_T12"}) == {32: "vertebrae_T12"}


@pytest.mark.parametrize(
    "cls, data, message",
    [
        (Lesion, {"id": 1, "kind": "cancerous"}, "Lesion.kind"),
        (Lesion, {"id": "1"}, "Lesion.id: expected an integer"),
        (Lesion, {"id": True}, "Lesion.id"),
        (Edit, {"who": "a", "when": "yesterday", "what": "x"}, "Edit.when"),
        (Lesion, {"kind": "lytic"}, "Lesion"),  # id missing: no default
        (Roi, {"id": 1, "polygons": [{"slice_position_mm": 1.0, "vertices_mm": [[1, 2]]}]}, "expected 3 items"),
    ],
)
def test_codec_names_the_bad_field(cls, data, message) -> None:
    with pytest.raises(ValueError, match=message):
        decode(cls, data)
