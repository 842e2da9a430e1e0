"""Overlay core: per-vertebra metrics from a Case, their colours and legends, text labels in world mm."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest

from napari_spine_mets.anatomy import TOTALSEG_SACRUM, TOTALSEG_SPINAL_CORD, VertebraPart, label_of_level
from napari_spine_mets.case import Case, Finding, Lesion, LesionKind, LesionStatus, Polygon, Roi, RoiKind
from napari_spine_mets.io import geometry
from napari_spine_mets.measure import evaluate_flags, measure_trabecular_hu, record_hu_in_case
from napari_spine_mets.overlay.text import FRONT_GAP_MM, text_anchor
from napari_spine_mets.overlay import (
    LESION_KIND_COLOURS,
    NOT_COMPUTED_COLOUR,
    Metric,
    OverlayInputs,
    OverlayValues,
    choose_label_map,
    follow_slice,
    label_text,
    lesion_colours,
    overlay_inputs,
    overlay_values,
    roi_outlines,
    vertebra_colours,
    vertebra_geometry,
    vertebra_texts,
)
from napari_spine_mets.overlay.colours import (
    OKABE_ITO,
    SEQUENTIAL_ANCHORS,
    hu_band_order,
    level_colour,
    sequential,
    sins_band_ranges,
)
from napari_spine_mets.overlay.metrics import (
    LevelValues,
    burden_of,
    hu_by_level,
    lesion_kinds,
    nomogram_by_level,
    sins_by_level,
)
from napari_spine_mets.scores import sins
from napari_spine_mets.scores.hu_bands import NORMAL_HU, OSTEOPOROSIS_HU, hu_band
from napari_spine_mets.scores.sins import sins_band
from napari_spine_mets.synthetic import LesionSpec, SpineParams, generate_spine_ct
from napari_spine_mets.volume import LabelMap

SPACING = (2.0, 0.8, 0.5)  # (z, y, x) mm, all different so a swapped axis shows
T12, L1 = label_of_level("T12"), label_of_level("L1")


def _affine(origin_lps=(-40.0, -30.0, 100.0)) -> np.ndarray:
    a = np.eye(4)
    a[:3, :3] = np.array([[0, 0, SPACING[2]], [0, SPACING[1], 0], [SPACING[0], 0, 0]], dtype=float)
    a[:3, 3] = origin_lps
    return a


@pytest.fixture
def maps() -> OverlayInputs:
    """Two vertebrae as boxes: T12 above L1 (z up), each half body (anterior) half posterior elements."""
    shape = (40, 60, 50)
    vert = np.zeros(shape, np.uint8)
    parts = np.zeros(shape, np.uint8)
    lesions = np.zeros(shape, np.uint8)
    vert[22:34, 10:50, 10:40] = T12  # higher z = superior
    vert[4:16, 12:52, 10:40] = L1
    vert[36:38, 0:2, 0:2] = TOTALSEG_SACRUM  # not a vertebra with a level: ignored
    vert[0:2, 58:60, 48:50] = TOTALSEG_SPINAL_CORD
    parts[vert > 0] = VertebraPart.POSTERIOR_ELEMENTS
    parts[22:34, 10:30, 10:40][vert[22:34, 10:30, 10:40] == T12] = VertebraPart.BODY
    parts[4:16, 12:32, 10:40] = VertebraPart.BODY
    # L1's body: 12 x 20 x 30 = 7200 voxels; lesion 1 fills a quarter (6 x 10 x 30) plus 100 posterior voxels
    lesions[4:10, 12:22, 10:40] = 1
    lesions[4:5, 40:50, 10:20] = 1
    # lesion 2 (rejected by the user) takes another quarter of L1's body
    lesions[10:16, 12:22, 10:40] = 2
    affine = _affine()
    return OverlayInputs(
        vertebrae=LabelMap(vert, affine, names={T12: "vertebrae_T12", L1: "vertebrae_L1"}, name="vertebrae"),
        parts=LabelMap(parts, affine, name="parts"),
        lesions=LabelMap(lesions, affine, names={1: "lesion_1_L1_lytic", 2: "lesion_2_L1_blastic"}, name="lesions"),
    )


def _sins_findings(level: str, **components: str) -> list[Finding]:
    base = dict(location=level, pain="none", bone_lesion="blastic", alignment="normal", collapse="none",
                posterolateral="none")
    return sins(**{**base, **components}).to_findings()


# ----------------------------------------------------------------------------- inputs
def test_label_maps_are_found_by_role_from_layer_names() -> None:
    names = ["synthetic CT", "vertebra parts (ground truth)", "lesions (ground truth)", "vertebrae (ground truth)"]
    assert choose_label_map(names, "vertebrae") == "vertebrae (ground truth)"
    assert choose_label_map(names, "parts") == "vertebra parts (ground truth)"
    assert choose_label_map(names, "lesions") == "lesions (ground truth)"
    # the exact role name wins over a name that merely contains the word
    assert choose_label_map(["vertebrae (old)", "vertebrae"], "vertebrae") == "vertebrae"
    assert choose_label_map(["CT", "tissues"], "lesions") is None


def test_maps_off_the_vertebra_grid_are_dropped(maps: OverlayInputs) -> None:
    shifted = LabelMap(maps.lesions.array, _affine((-39.0, -30.0, 100.0)), name="lesions")
    picked = overlay_inputs({"vertebrae": maps.vertebrae, "parts": maps.parts, "lesions": shifted})
    assert picked.vertebrae is maps.vertebrae and picked.parts is maps.parts and picked.lesions is None


# ----------------------------------------------------------------------------- geometry
def test_vertebra_centroids_are_in_napari_world_mm(maps: OverlayInputs) -> None:
    geo = vertebra_geometry(maps.vertebrae)
    assert list(geo) == [T12, L1]  # cranial to caudal; sacrum and cord have no level
    kw = geometry.napari_transform(maps.vertebrae.affine)
    scale, translate = np.asarray(kw["scale"]), np.asarray(kw["translate"])
    np.testing.assert_allclose(scale, SPACING)
    for label_id, g in geo.items():
        index = np.column_stack(np.nonzero(maps.vertebrae.array == label_id)).mean(axis=0)
        # napari places data index i at translate + scale * i: the centroid must be that point
        np.testing.assert_allclose(g.centroid_world, translate + scale * index, atol=1e-9)
        assert g.n_voxels == int((maps.vertebrae.array == label_id).sum())
        assert g.volume_mm3 == pytest.approx(g.n_voxels * np.prod(SPACING))
        assert all(lo < c < hi for lo, c, hi in zip(g.lo_world, g.centroid_world, g.hi_world))
    # T12 is superior (larger world z) to L1
    assert geo[T12].centroid_world[0] > geo[L1].centroid_world[0]
    # the box spans the voxels' edges: 12 slices of 2 mm
    assert geo[T12].hi_world[0] - geo[T12].lo_world[0] == pytest.approx(12 * SPACING[0])


# ----------------------------------------------------------------------------- metrics
def test_lesion_burden_is_the_lesioned_fraction_of_the_body(maps: OverlayInputs) -> None:
    geo = vertebra_geometry(maps.vertebrae)
    rejected = [Lesion(id=2, level="L1", kind=LesionKind.BLASTIC, status=LesionStatus.REJECTED)]
    burden = burden_of(maps, geo, rejected)
    assert burden.basis == "vertebral body"
    assert burden.fractions[L1] == pytest.approx(0.25)  # posterior voxels and the rejected lesion do not count
    assert burden.fractions[T12] == 0.0  # computed and zero, not "not computed"
    # with the rejected lesion accepted, half the body
    assert burden_of(maps, geo, []).fractions[L1] == pytest.approx(0.5)
    # without a parts map: a fraction of the whole vertebra (L1 is 12 x 40 x 30 voxels)
    whole = burden_of(OverlayInputs(maps.vertebrae, None, maps.lesions), geo, rejected)
    assert whole.basis == "whole vertebra"
    assert whole.fractions[L1] == pytest.approx((6 * 10 * 30 + 100) / (12 * 40 * 30))


def test_lesion_burden_without_a_map_uses_lesion_volumes_or_says_not_computed(maps: OverlayInputs) -> None:
    geo = vertebra_geometry(maps.vertebrae)
    no_map = OverlayInputs(maps.vertebrae, maps.parts, None)
    records = [Lesion(id=1, level="L1", volume_mm3=geo[L1].volume_mm3 / 5)]
    burden = burden_of(no_map, geo, records)
    assert burden.fractions == {L1: pytest.approx(0.2)} and "no lesion map" in burden.basis
    nothing = overlay_values(no_map)
    assert all(v.lesion_burden is None for v in nothing.levels.values())
    assert any("lesion burden not computed" in n for n in nothing.notes)


def test_sins_hu_and_risk_per_level_from_findings() -> None:
    findings = [
        *_sins_findings("L1", bone_lesion="lytic", pain="mechanical", collapse="lt50"),  # 3+3+2+2 = 10
        *_sins_findings("L1"),  # a second, milder lesion at L1: 3
        *_sins_findings("T12", bone_lesion="lytic", pain="mechanical", collapse="gt50", posterolateral="bilateral",
                        alignment="de_novo_deformity"),  # 3+3+2+2+3+3 = 16
        Finding(name="trabecular_hu", value=148.4, unit="HU", level="T12"),
        Finding(name="trabecular_hu", value=None, unit="HU", level="L2"),  # measured, failed: not computed
        Finding(name="nomogram: demo", value=0.82, level="L1"),
        Finding(name="Nomogram survival", value={"probability": 0.4}, level="T12"),
        Finding(name="nomogram: demo", value=0.3, level=None),
        Finding(name="nomogram: demo", value=7.0, level="L2"),  # not a probability: ignored
    ]
    assert sins_by_level(findings) == {"L1": 10, "T12": 16}  # the worst lesion of a level decides; flags ignored
    assert hu_by_level(findings) == {"T12": 148.4}
    risk, notes = nomogram_by_level(findings)
    assert risk == {"L1": 0.82, "T12": 0.4}
    assert len(notes) == 1 and "whole case" in notes[0]
    # the models dock's finding: a logistic probability counts, a survival curve does not
    from napari_spine_mets.models.from_case import MODEL_FINDING

    risk, notes = nomogram_by_level([Finding(name=MODEL_FINDING, value=0.91, level="L2"),
                                     Finding(name=MODEL_FINDING, value={"3_months": 0.8}, level="L3"),
                                     Finding(name=MODEL_FINDING, value=0.2)])
    assert risk == {"L2": 0.91} and len(notes) == 1 and MODEL_FINDING in notes[0]
    v = LevelValues(label_id=T12, level="T12", hu=148.4, sins=16)
    assert v.sins_band == sins_band(16) and v.hu_band == hu_band(148.4)
    assert LevelValues(label_id=L1, level="L1").value(Metric.SINS_BAND) is None


def test_hu_falls_back_to_the_voxel_weighted_mean_of_trabecular_rois() -> None:
    rois = [Roi(id=1, level="L1", kind=RoiKind.TRABECULAR_HU, measurements={"hu_mean": 100.0, "hu_n_voxels": 300}),
            Roi(id=2, level="L1", kind=RoiKind.TRABECULAR_HU, measurements={"hu_mean": 200.0, "hu_n_voxels": 100}),
            Roi(id=3, level="L1", kind=RoiKind.MANUAL, measurements={"hu_mean": 900.0, "hu_n_voxels": 100})]
    assert hu_by_level([], rois) == {"L1": pytest.approx(125.0)}
    # a finding for the level wins over its ROIs
    assert hu_by_level([Finding(name="trabecular_hu", value=140.0, level="L1")], rois) == {"L1": 140.0}


@pytest.fixture(scope="module")
def small_case():
    return generate_spine_ct(SpineParams(levels=("T12", "L1", "L2"), spacing_mm=(2.0, 0.8, 0.8), fov_mm=220,
                                         age_years=70, fracture=None,
                                         lesions=(LesionSpec(level="L1", kind="lytic", radius_mm=8.0),)))


def test_values_from_a_case_measured_by_the_core(small_case) -> None:
    """HU from measure_trabecular_hu + record_hu_in_case, SINS from scores: the overlay reads the same numbers."""
    sc = small_case
    case = Case()
    case.add_volume(sc.ct, "CT")
    for key, lm in (("vertebrae", sc.vertebrae), ("parts", sc.parts), ("lesions", sc.lesions)):
        case.set_label_map(key, lm)
    report = evaluate_flags(measure_trabecular_hu(sc.ct, sc.vertebrae, parts=sc.parts, lesions=sc.lesions))
    record_hu_in_case(case, report, sc.ct)
    case.findings += _sins_findings("L1", bone_lesion="lytic", pain="mechanical")
    values = overlay_values(overlay_inputs(case.label_maps), findings=case.findings, rois=case.rois,
                            lesions=case.lesions)
    by_level = {v.level: v for v in values.levels.values()}
    assert list(by_level) == ["T12", "L1", "L2"]
    for level in by_level:
        recorded = next(f.value for f in case.findings if f.name == "trabecular_hu" and f.level == level)
        assert by_level[level].hu == pytest.approx(recorded)
        assert by_level[level].hu_band == hu_band(recorded)
    assert by_level["L1"].sins == 8 and by_level["T12"].sins is None
    assert by_level["L1"].lesion_burden > 0.02 and by_level["T12"].lesion_burden == 0.0
    assert values.burden_basis == "vertebral body"


# ----------------------------------------------------------------------------- colours
def _values(**per_level: dict) -> OverlayValues:
    levels = {label_of_level(lv): LevelValues(label_id=label_of_level(lv), level=lv, **kw)
              for lv, kw in per_level.items()}
    return OverlayValues(levels=levels, burden_basis="vertebral body")


def test_band_ranges_come_from_the_scores_modules() -> None:
    ranges = sins_band_ranges()
    assert [b for b, _, _ in ranges] == ["stable", sins_band(7), "unstable"]
    assert ranges[0][1] == 0 and all(a[2] + 1 == b[1] for a, b in zip(ranges, ranges[1:]))
    for band, lo, hi in ranges:  # each range's ends fall in its band and one step out does not
        assert sins_band(lo) == band and sins_band(hi) == band
        if hi < ranges[-1][2]:
            assert sins_band(hi + 1) != band
    assert hu_band_order() == [hu_band(NORMAL_HU + 1), hu_band(NORMAL_HU), hu_band(OSTEOPOROSIS_HU)]


def test_band_colours_follow_each_levels_band_and_missing_is_grey() -> None:
    values = _values(T12={"sins": 16, "hu": 90.0}, L1={"sins": 3, "hu": 200.0}, L2={"sins": 9}, L3={})
    scheme = vertebra_colours(values, Metric.SINS_BAND)
    legend = {e.text.split(" (SINS")[0]: e.colour for e in scheme.legend}
    assert scheme.colours[label_of_level("T12")] == legend["unstable"]
    assert scheme.colours[label_of_level("L1")] == legend["stable"]
    assert scheme.colours[label_of_level("L2")] == legend[sins_band(9)]
    assert scheme.colours[label_of_level("L3")] == NOT_COMPUTED_COLOUR
    assert len({legend["stable"], legend["unstable"], legend[sins_band(9)], NOT_COMPUTED_COLOUR}) == 4
    assert scheme.legend[-1].text == "not computed (L3)"
    assert all(e.colour in OKABE_ITO.values() for e in scheme.legend[:-1])
    hu = vertebra_colours(values, "hu_band")
    hu_legend = {e.text: e.colour for e in hu.legend}
    assert hu.colours[label_of_level("T12")] == hu_legend[hu_band(90.0)]
    assert hu.colours[label_of_level("L1")] == hu_legend[hu_band(200.0)]
    assert hu.colours[label_of_level("L2")] == NOT_COMPUTED_COLOUR
    assert hu.legend[-1].text == "not computed (L2, L3)"


def test_level_colours_are_fixed_and_neighbours_differ() -> None:
    from napari_spine_mets.anatomy import LEVELS

    assert all(level_colour(a) != level_colour(b) for a, b in zip(LEVELS, LEVELS[1:]))
    values = _values(T12={}, L1={})
    scheme = vertebra_colours(values, Metric.LEVEL)
    assert [e.text for e in scheme.legend] == ["T12", "L1"]
    assert scheme.colours[label_of_level("T12")] == level_colour("T12")
    # structures without a level are grey and named, under every metric
    for metric in Metric:
        scheme = vertebra_colours(values, metric, others={TOTALSEG_SACRUM: "sacrum"})
        assert scheme.colours[TOTALSEG_SACRUM] == NOT_COMPUTED_COLOUR
        assert scheme.legend[-1].text == "no level: sacrum"


def test_continuous_scale_is_sequential_with_its_range_in_the_legend() -> None:
    assert sequential(0.0) == SEQUENTIAL_ANCHORS[0] and sequential(1.0) == SEQUENTIAL_ANCHORS[-1]
    assert sequential(-1.0) == sequential(0.0) and sequential(2.0) == sequential(1.0)
    lightness = [colorsys.rgb_to_hls(*sequential(f)[:3])[1] for f in np.linspace(0, 1, 21)]
    assert all(a >= b - 1e-9 for a, b in zip(lightness, lightness[1:]))  # darker as the value rises
    values = _values(T12={"lesion_burden": 0.0}, L1={"lesion_burden": 0.5}, L2={})
    scheme = vertebra_colours(values, Metric.LESION_BURDEN)
    assert "0–100 %" in scheme.title and "vertebral body" in scheme.title
    assert [e.text for e in scheme.legend][:5] == ["0 %", "25 %", "50 %", "75 %", "100 %"]
    assert scheme.colours[label_of_level("L1")] == sequential(0.5) == scheme.legend[2].colour
    assert scheme.colours[label_of_level("T12")] == sequential(0.0) != NOT_COMPUTED_COLOUR
    assert scheme.colours[label_of_level("L2")] == NOT_COMPUTED_COLOUR
    assert "observed 0 %–50 %" in scheme.notes
    risk = vertebra_colours(_values(L1={"nomogram_risk": 0.75}), Metric.NOMOGRAM_RISK)
    assert risk.colours[label_of_level("L1")] == sequential(0.75) and "probability" in risk.title


def test_lesions_coloured_by_type_from_records_then_names(maps: OverlayInputs) -> None:
    kinds = lesion_kinds(maps.lesions)
    assert kinds == {1: LesionKind.LYTIC, 2: LesionKind.BLASTIC}
    # a reviewed record overrides the name
    kinds = lesion_kinds(maps.lesions, [Lesion(id=2, kind=LesionKind.MIXED), Lesion(id=7)])
    assert kinds == {1: LesionKind.LYTIC, 2: LesionKind.MIXED, 7: LesionKind.UNKNOWN}
    scheme = lesion_colours(kinds, rejected={7})
    assert scheme.colours[1] == LESION_KIND_COLOURS[LesionKind.LYTIC]
    assert scheme.colours[2] == LESION_KIND_COLOURS[LesionKind.MIXED]
    assert scheme.colours[7][3] < 0.5 and scheme.default == LESION_KIND_COLOURS[LesionKind.UNKNOWN]
    assert set(LESION_KIND_COLOURS) == set(LesionKind)
    assert len(set(LESION_KIND_COLOURS.values())) == len(LesionKind)
    assert [e.text for e in scheme.legend] == ["lytic", "blastic", "mixed", "unknown", "rejected by a user"]


# ----------------------------------------------------------------------------- text
def test_label_text_shows_only_what_was_computed() -> None:
    v = LevelValues(label_id=T12, level="T12", hu=148.4, sins=9, lesion_burden=0.234, nomogram_risk=0.5)
    assert label_text(v) == "T12 · 148 HU · SINS 9"
    assert label_text(v, Metric.LESION_BURDEN) == "T12 · 148 HU · SINS 9 · lesion 23 %"
    assert label_text(v, "nomogram_risk") == "T12 · 148 HU · SINS 9 · risk 50 %"
    assert label_text(LevelValues(label_id=L1, level="L1")) == "L1"
    assert label_text(LevelValues(label_id=L1, level="L1", sins=4), Metric.LESION_BURDEN) == "L1 · SINS 4"


def test_text_anchors_follow_the_slice_in_2d_and_sit_at_centroids_in_3d(maps: OverlayInputs) -> None:
    values = overlay_values(maps, findings=[Finding(name="trabecular_hu", value=150.0, level="T12")])
    texts = vertebra_texts(values)
    assert [t.text for t in texts] == ["T12 · 150 HU", "L1"]
    centroids = np.array([t.anchor_world for t in texts])
    np.testing.assert_allclose(centroids, [values.geometry[T12].centroid_world, values.geometry[L1].centroid_world])
    pos, shown = follow_slice(texts, (0, 1, 2), (0.0, 0.0, 0.0))
    assert shown.all() and np.array_equal(pos, centroids)
    # axial view (z sliced) through T12's middle: only T12, on that slice, at its in-plane centroid
    z = centroids[0, 0] + 1.0
    pos, shown = follow_slice(texts, (1, 2), (z, 0.0, 0.0))
    assert shown.tolist() == [True, False]
    in_front = [t.lo_world[1] - FRONT_GAP_MM for t in texts]  # y grows towards the back
    np.testing.assert_allclose(pos[0], [z, in_front[0], centroids[0, 2]])
    # sagittal view (x sliced) through the midline: both, at their own heights, in front of the bodies
    x = centroids[0, 2]
    pos, shown = follow_slice(texts, (0, 1), (0.0, 0.0, x))
    assert shown.all()
    np.testing.assert_allclose(pos[:, 0], centroids[:, 0])
    np.testing.assert_allclose(pos[:, 1], in_front)
    assert (pos[:, 1] < centroids[:, 1]).all()
    # coronal view (y sliced): at the centroids left to right
    pos, shown = follow_slice(texts, (0, 2), (0.0, centroids[0, 1], 0.0))
    assert shown.any()
    np.testing.assert_allclose(pos[shown][:, 2], centroids[shown][:, 2])
    # a slice outside every vertebra shows none
    assert not follow_slice(texts, (0, 1), (0.0, 0.0, x + 1000.0))[1].any()


def test_overlapping_boxes_show_only_the_nearer_label(maps: OverlayInputs) -> None:
    texts = vertebra_texts(overlay_values(maps))
    from dataclasses import replace

    # make L1's box reach into T12's slices (a sloping spinous process) with nearly the same in-plane centroid
    t12, l1 = texts
    l1 = replace(l1, hi_world=(t12.hi_world[0], *l1.hi_world[1:]))
    z = t12.anchor_world[0]
    _, shown = follow_slice([t12, l1], (1, 2), (z, 0.0, 0.0))
    assert shown.tolist() == [True, False]


def test_roi_outlines_are_reversed_lps(maps: OverlayInputs) -> None:
    roi = Roi(id=4, level="L1", kind=RoiKind.TRABECULAR_HU, measurements={"hu_mean": 151.6},
              polygons=[Polygon(slice_position_mm=120.0, vertices_mm=[(1.0, 2.0, 120.0), (3.0, 2.0, 120.0),
                                                                     (3.0, 5.0, 120.0)]),
                        Polygon(slice_position_mm=122.0, vertices_mm=[(1.0, 2.0, 122.0)])])  # too few vertices
    (outline,) = roi_outlines([roi])
    np.testing.assert_allclose(outline.vertices_world, [[120.0, 2.0, 1.0], [120.0, 2.0, 3.0], [120.0, 5.0, 3.0]])
    assert outline.text == "L1: 152 HU" and outline.kind == "trabecular_hu" and outline.origin == "automatic"


def test_text_is_black_where_the_window_draws_the_vertebra_bright(maps: OverlayInputs) -> None:
    from napari_spine_mets.display import contrast_limits
    from napari_spine_mets.overlay.text import text_colour
    from napari_spine_mets.overlay.vertebrae import median_values

    image = np.where(maps.vertebrae.array == T12, 300.0, 0.0)
    image[maps.vertebrae.array == L1] = np.arange(int((maps.vertebrae.array == L1).sum())) % 3 * 100.0  # 0/100/200
    geo = vertebra_geometry(maps.vertebrae)
    medians = median_values(image, maps.vertebrae, geo)
    assert medians == {T12: 300.0, L1: 100.0}
    assert text_colour(medians[T12], contrast_limits("bone")) == "white"  # bone drawn mid-grey
    assert text_colour(medians[T12], contrast_limits("soft tissue")) == "black"  # bone drawn white
    assert text_colour(None, contrast_limits("soft tissue")) == "white"
    with pytest.raises(ValueError, match="one grid"):
        median_values(image[:-1], maps.vertebrae, geo)


def test_legend_as_text_names_each_colour() -> None:
    from napari_spine_mets.overlay.colours import legend_text

    values = _values(T12={"sins": 16}, L1={})
    full = legend_text(vertebra_colours(values, Metric.SINS_BAND, others={TOTALSEG_SACRUM: "sacrum"}))
    assert "vermillion: unstable (SINS 13–18)" in full and "grey: not computed (L1)" in full
    assert "grey: no level: sacrum" in full
    short = legend_text(vertebra_colours(values, Metric.SINS_BAND, others={TOTALSEG_SACRUM: "sacrum"}), compact=True)
    assert short.splitlines() == ["SINS band", "bluish green: stable (SINS 0–6)", "yellow: indeterminate (SINS 7–12)",
                                  "vermillion: unstable (SINS 13–18)", "grey: not computed / no level"]
    burden = legend_text(vertebra_colours(_values(L1={"lesion_burden": 0.2}), Metric.LESION_BURDEN), compact=True)
    assert burden.splitlines() == ["Lesion burden (% of vertebral body)", "pale yellow 0 % → dark red 100 %"]
    assert legend_text(vertebra_colours(values, Metric.LEVEL), compact=True) == "Level (one colour per level)"


def test_text_anchor_keeps_sagittal_labels_in_front() -> None:
    assert text_anchor((0, 1)) == "upper_right"  # sagittal: front-to-back across the screen
    assert text_anchor((1, 2)) == "center"  # axial: the label sits above the body
    assert text_anchor((0, 2)) == "center"  # coronal
    assert text_anchor((0, 1, 2)) == "center"  # 3D
