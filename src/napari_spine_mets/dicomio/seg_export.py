"""Label maps -> DICOM Segmentation objects (highdicom) that overlay their source series.

One SEG per label map (vertebrae, parts, lesions...), BINARY type (read by 3D Slicer,
OHIF and most PACS viewers), one segment per label id, referencing every source
instance and the frame of reference. What the round trip needs is stored in standard
attributes: the label id in TrackingID (``<map>:<id>``), the label name in SegmentLabel,
the map name in SeriesDescription, the label map's source in ContentDescription.
"""

from __future__ import annotations

import logging
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..io import geometry
from ..volume import LabelMap
from .deidentify import DeidProfile
from .errors import DicomExportError
from .export_file import source_series_of, write_dataset
from .source_series import SourceSeries

__all__ = ["SERIES_PREFIX", "export_seg", "build_seg"]

log = logging.getLogger(__name__)

#: SeriesDescription = SERIES_PREFIX + map name; the import reads the map name back from it.
SERIES_PREFIX = "napari-spine-mets "
MANUFACTURER = "napari-spine-mets"


def export_seg(
    labels: LabelMap,
    source: str | PathLike[str] | SourceSeries,
    out_path: str | PathLike[str],
    *,
    series: str | None = None,
    deidentify: DeidProfile | None = None,
    lesion_levels: dict[int, str] | None = None,
    series_number: int = 300,
    uid_seed: str | None = None,
) -> Path:
    """Write ``labels`` as a DICOM-SEG file at ``out_path`` (atomically) and return the path.

    ``source`` is the folder of the DICOM series the labels were made on (or a loaded
    :class:`SourceSeries`); the labels must lie exactly on the grid the project's reader
    builds from it. ``lesion_levels`` maps lesion ids to levels for the anatomic region.
    ``uid_seed`` makes the SEG's UIDs deterministic.
    """
    src = source_series_of(source, series)
    seg = build_seg(labels, src, lesion_levels=lesion_levels, series_number=series_number, uid_seed=uid_seed)
    out = write_dataset(seg, out_path, deidentify)
    log.info("wrote SEG '%s' (%d segments) to %s", labels.name, len(seg.SegmentSequence), out.name)
    return out


def build_seg(
    labels: LabelMap,
    src: SourceSeries,
    *,
    lesion_levels: dict[int, str] | None = None,
    series_number: int = 300,
    uid_seed: str | None = None,
) -> Any:
    """The highdicom Segmentation dataset for ``labels`` on ``src`` (not yet written)."""
    import highdicom as hd
    from pydicom.uid import generate_uid

    if not geometry.same_grid(labels.array.shape, labels.affine, src.grid_shape, src.grid_affine):
        raise DicomExportError(
            src.folder,
            f"label map '{labels.name}' {tuple(labels.array.shape)} does not lie on the grid of this series "
            f"{src.grid_shape}: export the labels made on this series (or resample them onto it first)",
        )
    array = np.asarray(labels.array)
    present = [int(v) for v in np.unique(array) if v != 0]
    if present and (min(present) < 0 or max(present) > 65535):
        raise DicomExportError(None, f"label map '{labels.name}': label ids must be 0-65535")
    ids = sorted(set(present) | {int(k) for k in labels.names if int(k) > 0})
    if not present:
        raise DicomExportError(None, f"label map '{labels.name}' is empty: nothing to export as a SEG")
    lookup = np.zeros(max(ids) + 1, dtype=np.uint16)
    for number, label_id in enumerate(ids, start=1):
        lookup[label_id] = number
    stack = lookup[src.to_stack(array)]
    stack = stack.astype(np.uint8) if len(ids) < 256 else stack
    seed = uid_seed
    uid = (lambda *parts: str(generate_uid(entropy_srcs=[seed, *parts]))) if seed else (lambda *_: str(generate_uid()))
    descriptions = [
        _describe(number, label_id, labels, lesion_levels or {}, uid("segment", labels.name, str(label_id)))
        for number, label_id in enumerate(ids, start=1)
    ]
    seg = hd.seg.Segmentation(
        source_images=src.datasets,
        pixel_array=stack,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=uid("series", src.series_uid, labels.name),
        series_number=series_number,
        sop_instance_uid=uid("sop", src.series_uid, labels.name),
        instance_number=1,
        manufacturer=MANUFACTURER,
        manufacturer_model_name=MANUFACTURER,
        software_versions=str(__version__),
        device_serial_number="none",
        content_description=labels.source[:64] or None,
        content_label="SPINEMETS",
    )
    seg.SeriesDescription = (SERIES_PREFIX + labels.name)[:64]
    return seg


def _describe(number: int, label_id: int, labels: LabelMap, lesion_levels: dict[int, str], tracking_uid: str) -> Any:
    import highdicom as hd
    from .codes import segment_codes

    name = labels.names.get(label_id, f"label {label_id}")
    codes_ = segment_codes(labels.name, name, lesion_levels.get(label_id))
    manual = labels.source.strip().lower().startswith("manual")
    algorithm = None
    if not manual:
        algorithm = hd.AlgorithmIdentificationSequence(
            name=(labels.source or "napari-spine-mets")[:64],
            family=_ai_family(),
            version=str(__version__),
        )
    description = hd.seg.SegmentDescription(
        segment_number=number,
        segment_label=name[:64],
        segmented_property_category=codes_.category,
        segmented_property_type=codes_.type,
        algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL if manual else hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
        algorithm_identification=algorithm,
        tracking_uid=tracking_uid,
        tracking_id=f"{labels.name}:{label_id}"[:64],
        anatomic_regions=[codes_.region] if codes_.region is not None else None,
    )
    if codes_.modifier is not None:
        item = hd.sr.CodedConcept(codes_.modifier.value, codes_.modifier.scheme_designator, codes_.modifier.meaning)
        description.SegmentedPropertyTypeCodeSequence[0].SegmentedPropertyTypeModifierCodeSequence = [item]
    return description


def _ai_family() -> Any:
    from pydicom.sr.codedict import codes

    return codes.cid7162.ArtificialIntelligence
