"""Measurements on the images: trabecular bone HU in each vertebral body (issue 5, HU half).

* :mod:`.vertebral_body` -- the body of each vertebra per axial slice (parts map, or
  derived from a whole-vertebra label such as TotalSegmentator's);
* :mod:`.hu_roi` -- automatic elliptical trabecular ROIs on three axial slices per body,
  with per-slice and combined statistics and caveats;
* :mod:`.manual_roi` -- ROI primitives and statistics of user-drawn ROIs (ellipse,
  polygon, labels mask);
* :mod:`.hu_flags` -- screw-failure and L1 osteoporosis-band flags, each with its source.

numpy only at import time (scipy and matplotlib are imported when used); no Qt, no napari.
"""

from __future__ import annotations

from .hu_flags import HuFlag, evaluate_flags, l1_band
from .hu_roi import HuParams, HuReport, LevelHu, check_hu_volume, measure_level, measure_trabecular_hu, record_hu_in_case
from .manual_roi import Ellipse, RoiStats, SliceRoi, measure_ellipse_roi, measure_mask_roi, measure_polygon_roi
from .vertebral_body import NoBodyError, VertebralBody, find_vertebral_body

__all__ = [
    "Ellipse",
    "HuFlag",
    "HuParams",
    "HuReport",
    "LevelHu",
    "NoBodyError",
    "RoiStats",
    "SliceRoi",
    "VertebralBody",
    "check_hu_volume",
    "evaluate_flags",
    "find_vertebral_body",
    "l1_band",
    "measure_ellipse_roi",
    "measure_level",
    "measure_mask_roi",
    "measure_polygon_roi",
    "measure_trabecular_hu",
    "record_hu_in_case",
]
