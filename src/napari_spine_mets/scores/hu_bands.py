"""Bone quality from trabecular CT attenuation (HU): screening bands and the screw-failure flag.

Bands: Pickhardt PJ, Pooler BD, Lauder T, et al. Opportunistic screening for osteoporosis
using abdominal computed tomography scans obtained for other indications. Ann Intern Med
2013;158(8):588-595. At L1 (120 kVp), 160 HU or less was 90 % sensitive and 110 HU or less
more than 90 % specific for DXA osteoporosis. The three bands shown here (> 160 normal,
110-160 osteopenia range, <= 110 osteoporosis range) are the common reading of those two
thresholds, not a classification published as such; the 110 boundary follows Pickhardt
("110 HU or less"), where clinical-reference.md writes "below 110".

Screw failure: Lee HR, Cho JH, Seok SY, Kim S, Cho DW, Yang JH. Can preoperative Hounsfield
unit measurement help predict mechanical failure in metastatic spinal tumor surgery?
J Clin Med 2024;13(23):7017, doi:10.3390/jcm13237017: HU at the lowest instrumented
vertebra < 127.273 predicted mechanical failure after instrumentation without fusion
(sensitivity 59.1 %, specificity 73.4 %, AUC 0.655). Both checked against the abstracts.

Every HU figure carries its caveats: thresholds assume 120 kVp; contrast raises
trabecular HU (Pickhardt reported no effect on their thresholds' performance, but the
project warns anyway); a lesion, fracture or sclerosis inside the ROI invalidates it.
"""

from __future__ import annotations

from ..case_parts import HuStats
from .result import Basis, Measurement, ScoreItem, ScoreResult, Threshold, require_number

__all__ = ["CITATION", "OSTEOPOROSIS_HU", "NORMAL_HU", "SCREW_FAILURE_HU", "hu_bone_quality", "hu_band"]

CITATION = (
    "Pickhardt PJ et al. Ann Intern Med 2013;158(8):588-595 (110/160 HU at L1, 120 kVp); "
    "Lee HR et al. J Clin Med 2024;13(23):7017, doi:10.3390/jcm13237017 (LIV < 127.273 HU, mechanical failure)."
)

#: At or below: "osteoporosis range" (Pickhardt 2013, > 90 % specific).
OSTEOPOROSIS_HU = 110.0
#: Above: "normal range"; at or below: at least osteopenia range (Pickhardt 2013, 90 % sensitive).
NORMAL_HU = 160.0
#: Below: flag for mechanical failure of instrumentation without fusion (J Clin Med 2024).
SCREW_FAILURE_HU = 127.273


def hu_band(hu: float) -> str:
    """> 160 normal range; 110 < HU <= 160 osteopenia range; <= 110 osteoporosis range."""
    if hu > NORMAL_HU:
        return "normal range (> 160 HU)"
    if hu > OSTEOPOROSIS_HU:
        return "osteopenia range (110-160 HU)"
    return "osteoporosis range (<= 110 HU)"


def hu_bone_quality(
    *,
    hu_mean: float | None,
    level: str | None = None,
    kvp: float | None = None,
    contrast: bool | None = None,
    stats: HuStats | None = None,
    roi_source: str = "",
) -> ScoreResult:
    """Band and flags for the mean trabecular HU of one vertebral body (ROI free of lesion and cortex)."""
    hu = require_number("trabecular HU", hu_mean, minimum=-1024.0, maximum=3000.0, unit="HU")
    measurements = [Measurement("trabecular mean", hu, "HU", roi_source)]
    if stats is not None:
        for name, value, unit in (("median", stats.median, "HU"), ("SD", stats.sd, "HU"),
                                  ("ROI voxels", stats.n_voxels, "voxels")):
            if value is not None:
                measurements.append(Measurement(name, value, unit, roi_source))
    screw_flag = hu < SCREW_FAILURE_HU
    thresholds = [
        Threshold("Pickhardt sensitive threshold", NORMAL_HU, "HU", "<=", hu <= NORMAL_HU, "90 % sensitive"),
        Threshold("Pickhardt specific threshold", OSTEOPOROSIS_HU, "HU", "<=", hu <= OSTEOPOROSIS_HU,
                  "> 90 % specific"),
        Threshold("screw-failure cut-off", SCREW_FAILURE_HU, "HU", "<", screw_flag,
                  "at the lowest instrumented vertebra, instrumentation without fusion"),
    ]
    flags = []
    if screw_flag:
        flags.append(f"HU below {SCREW_FAILURE_HU:g}: higher risk of mechanical failure if this is the lowest "
                     "instrumented vertebra of a construct without fusion; cement augmentation was suggested")
    notes = ["a lesion, fracture or sclerosis inside the ROI invalidates the figure"]
    if kvp is None:
        notes.append("tube voltage (kVp) unknown: thresholds assume 120 kVp")
    elif abs(float(kvp) - 120.0) > 0.5:
        notes.append(f"acquired at {float(kvp):g} kVp: thresholds assume 120 kVp")
    if contrast is None:
        notes.append("contrast not recorded: intravenous contrast raises trabecular HU")
    elif contrast:
        notes.append("intravenous contrast given: raises trabecular HU")
    if level is not None and level.strip().upper() != "L1":
        notes.append(f"measured at {level.strip().upper()}: Pickhardt's thresholds were derived at L1")
    item = ScoreItem("trabecular HU", f"{hu:g} HU", None, Basis.IMAGE if roi_source else Basis.ENTRY,
                     "mean over the trabecular ROI", tuple(measurements))
    return ScoreResult(name="HU bone quality", total=hu, unit="HU", band=hu_band(hu), items=[item],
                       thresholds=thresholds, flags=flags, citation=CITATION, notes=notes,
                       level=level.strip().upper() if level else None)
