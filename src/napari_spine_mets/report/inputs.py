"""Which volume and label maps of a case the report draws, whatever they are called.

A case saved by the pipeline names them "CT", "vertebrae", "lesions"; a case taken from
napari layers names them after the layers ("vertebrae (ground truth)"). So the CT is the
volume called "CT", else the first CT volume, else the first volume; a label map is
found by its key, then by the structure names it holds, and is used only when it lies
on the image's grid. What could not be found is said in ``missing``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..anatomy import level_of_label
from ..case import Case
from ..io import geometry
from ..volume import LabelMap, Volume

__all__ = ["ReportInputs", "find_inputs"]


@dataclass
class ReportInputs:
    """The image and label maps the report draws (None when the case has none usable)."""

    volume_key: str | None = None
    volume: Volume | None = None
    vertebrae_key: str | None = None
    vertebrae: LabelMap | None = None
    lesions_key: str | None = None
    lesions: LabelMap | None = None
    missing: list[str] = field(default_factory=list)


def find_inputs(case: Case) -> ReportInputs:
    """Pick the image, vertebra and lesion label maps of ``case`` for the report."""
    out = ReportInputs()
    out.volume_key = _pick_volume(case)
    if out.volume_key is None:
        out.missing.append("no image volume in the case: no images can be shown")
        return out
    out.volume = case.volumes[out.volume_key]
    on_grid = {k: m for k, m in case.label_maps.items()
               if geometry.same_grid(m.array.shape, m.affine, out.volume.shape, out.volume.affine, tolerance_mm=1e-2)}
    off_grid = sorted(set(case.label_maps) - set(on_grid))
    if off_grid:
        out.missing.append(f"label map(s) {', '.join(off_grid)} not on the grid of '{out.volume_key}': not drawn")
    out.vertebrae_key = _pick_vertebrae(on_grid)
    out.vertebrae = on_grid.get(out.vertebrae_key) if out.vertebrae_key else None
    if out.vertebrae is None:
        out.missing.append("no vertebra labels: levels are not marked on the images")
    out.lesions_key = _pick_lesions(on_grid, exclude=out.vertebrae_key)
    out.lesions = on_grid.get(out.lesions_key) if out.lesions_key else None
    if out.lesions is None:
        out.missing.append("no lesion label map: lesions are not outlined")
    return out


def _pick_volume(case: Case) -> str | None:
    if not case.volumes:
        return None
    if "CT" in case.volumes:
        return "CT"
    for key, v in case.volumes.items():
        if (v.metadata.modality or "").upper() == "CT":
            return key
    return next(iter(case.volumes))


def _pick_vertebrae(maps: dict[str, LabelMap]) -> str | None:
    if "vertebrae" in maps:
        return "vertebrae"
    for key, m in maps.items():  # TotalSegmentator vertebra ids named as such
        if any(level_of_label(k) and str(v).startswith("vertebrae_") for k, v in m.names.items()):
            return key
    return next((k for k in maps if "vertebra" in k.lower() and "part" not in k.lower()), None)


def _pick_lesions(maps: dict[str, LabelMap], exclude: str | None) -> str | None:
    if "lesions" in maps:
        return "lesions"
    return next((k for k in maps if k != exclude and "lesion" in k.lower()), None)
