"""From the network's part classes to named vertebrae.

Vertebral bodies are separated by discs, so each connected body is one vertebra; the bony
parts behind it (pedicles, laminae, processes) are attached to the body they connect to
through bone (a marker watershed inside the bone mask). Levels are then named by counting
bodies from an anchor: the sacrum when it is in view (the body resting on it is S1), or a
level the user names. Without an anchor nothing is guessed: the vertebrae are returned
unnamed and the result says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from ..anatomy import LEVELS, TOTALSEG_SACRUM, VertebraPart, label_of_level
from .classes import SACRUM_CLASS

__all__ = ["Instances", "LevelNaming", "find_instances", "name_levels", "FIRST_UNNAMED_ID"]

log = logging.getLogger(__name__)

#: Vertebrae that could not be named get ids from here up (outside TotalSegmentator's range).
FIRST_UNNAMED_ID = 201
_MIN_BODY_MM3 = 1500.0  # smaller body fragments are noise or partial-volume crumbs


@dataclass
class Instances:
    """One id per vertebra (1 = most cranial), plus the sacrum mask."""

    labels: np.ndarray  # (z, y, x) int16, 0 = none
    count: int
    sacrum: np.ndarray  # bool


@dataclass
class LevelNaming:
    """Level of each instance, and how the naming was anchored."""

    levels: dict[int, str | None]
    anchor: str
    confident: bool
    notes: list[str] = field(default_factory=list)


def find_instances(classes: np.ndarray, spacing: tuple[float, float, float]) -> Instances:
    """Split the bone classes into vertebrae, ordered cranial (id 1) to caudal."""
    from scipy import ndimage
    from skimage.segmentation import watershed

    voxel_mm3 = float(np.prod(spacing))
    bodies, n = ndimage.label(classes == 1)
    if n:
        sizes = ndimage.sum_labels(np.ones_like(bodies), bodies, index=np.arange(1, n + 1)) * voxel_mm3
        keep = [i + 1 for i, size in enumerate(sizes) if size >= _MIN_BODY_MM3]
    else:
        keep = []
    centroids = ndimage.center_of_mass(np.ones_like(bodies), bodies, keep) if keep else []
    # array axis 0 runs inferior -> superior: most cranial = largest z index
    order = sorted(range(len(keep)), key=lambda i: -centroids[i][0])
    markers = np.zeros(classes.shape, dtype=np.int16)
    for new_id, index in enumerate(order, start=1):
        markers[bodies == keep[index]] = new_id
    bone = np.isin(classes, (1, 2, 3, 4))
    labels = watershed(np.zeros(classes.shape, np.uint8), markers=markers, mask=bone) if keep else markers
    return Instances(labels=labels.astype(np.int16), count=len(keep), sacrum=classes == SACRUM_CLASS)


def name_levels(instances: Instances, spacing: tuple[float, float, float], anchor: tuple[int, str] | None = None) -> LevelNaming:
    """Name each instance by counting from the sacrum, or from ``anchor`` = (instance id, level)."""
    from scipy import ndimage

    n = instances.count
    if n == 0:
        return LevelNaming({}, anchor="none", confident=False, notes=["no vertebra found"])
    if anchor is not None:
        instance_id, level = anchor
        if level.upper() not in LEVELS or not 1 <= instance_id <= n:
            raise ValueError(f"anchor {anchor} is not a valid (vertebra 1..{n}, level) pair")
        return LevelNaming(_count_from(n, instance_id, level.upper()), anchor=f"user: vertebra {instance_id} is {level.upper()}", confident=True)
    if instances.sacrum.sum() * float(np.prod(spacing)) >= 5000.0:
        # the caudal-most body sitting on the sacrum is S1
        sacrum_top = float(np.max(np.nonzero(instances.sacrum)[0]))
        centroids = ndimage.center_of_mass(np.ones_like(instances.labels), instances.labels, range(1, n + 1))
        caudal = n  # ids are ordered cranial -> caudal
        gap_mm = (centroids[caudal - 1][0] - sacrum_top) * spacing[0]
        notes = []
        if gap_mm > 60.0:
            notes.append(f"the lowest vertebra lies {gap_mm:.0f} mm above the sacrum: check the S1 anchor")
        naming = _count_from(n, caudal, "S1")
        return LevelNaming(naming, anchor="sacrum (the body resting on it is S1)", confident=not notes, notes=notes)
    return LevelNaming(
        {i: None for i in range(1, n + 1)},
        anchor="none",
        confident=False,
        notes=["no sacrum in view: name one vertebra and the others follow"],
    )


def _count_from(n: int, instance_id: int, level: str) -> dict[int, str | None]:
    position = LEVELS.index(level)
    names: dict[int, str | None] = {}
    for i in range(1, n + 1):
        index = position + (i - instance_id)  # larger id = more caudal = later in LEVELS
        names[i] = LEVELS[index] if 0 <= index < len(LEVELS) else None
    return names


def label_maps_from(classes: np.ndarray, instances: Instances, naming: LevelNaming) -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
    """(vertebrae with TotalSegmentator ids, parts with VertebraPart codes, names of the ids used)."""
    vertebrae = np.zeros(classes.shape, dtype=np.uint8)
    names: dict[int, str] = {}
    unnamed = FIRST_UNNAMED_ID
    for instance_id in range(1, instances.count + 1):
        level = naming.levels.get(instance_id)
        if level is not None:
            label, name = label_of_level(level), f"vertebrae_{level}"
        else:
            label, name = unnamed, f"vertebra_unnamed_{instance_id}"
            unnamed += 1
        vertebrae[instances.labels == instance_id] = label
        names[label] = name
    if instances.sacrum.any():
        vertebrae[instances.sacrum] = TOTALSEG_SACRUM
        names[TOTALSEG_SACRUM] = "sacrum"
    parts = np.zeros(classes.shape, dtype=np.uint8)
    for cls, code in ((1, VertebraPart.BODY), (2, VertebraPart.POSTERIOR_ELEMENTS), (3, VertebraPart.PEDICLE_LEFT),
                      (4, VertebraPart.PEDICLE_RIGHT), (5, VertebraPart.CANAL), (6, VertebraPart.DISC)):
        parts[classes == cls] = int(code)
    return vertebrae, parts, names


def shift_levels(vertebrae: np.ndarray, names: dict[int, str], steps: int) -> tuple[np.ndarray, dict[int, str]]:
    """Rename every named vertebra ``steps`` levels caudally (negative: cranially), in one step.

    The correction a reader makes when the count was anchored on the wrong vertebra (a
    transitional vertebra, a missed rib). Refuses a shift that would run past C1 or S1.
    """
    relabel: dict[int, int] = {}
    new_names: dict[int, str] = {}
    for label, name in names.items():
        level = name.removeprefix("vertebrae_") if name.startswith("vertebrae_") else None
        if level is None or level not in LEVELS:
            new_names[label] = name
            continue
        index = LEVELS.index(level) + steps
        if not 0 <= index < len(LEVELS):
            raise ValueError(f"shifting {level} by {steps} levels runs past {'C1' if index < 0 else 'S1'}")
        target = label_of_level(LEVELS[index])
        relabel[label] = target
        new_names[target] = f"vertebrae_{LEVELS[index]}"
    out = vertebrae.copy()
    for old, new in relabel.items():
        out[vertebrae == old] = new
    return out, new_names
