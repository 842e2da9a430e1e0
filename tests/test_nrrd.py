"""NRRD reading: space directions and origin in LPS, RAS or LAS land every voxel at its LPS position."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from napari_spine_mets.errors import CorruptFileError, NoImageDataError, SeriesGeometryError
from napari_spine_mets.io import geometry
from napari_spine_mets.io.nrrd import is_nrrd_path, read_nrrd

SHAPE_IJK = (6, 5, 4)
FLIPS = {"left-posterior-superior": (1, 1, 1), "right-anterior-superior": (-1, -1, 1),
         "left-anterior-superior": (1, -1, 1)}


def _directions(oblique: bool) -> np.ndarray:
    rows = np.array([[0.7, 0, 0], [0, -0.8, 0], [0, 0, 2.0]])  # i along x, j against y, k along z
    if oblique:
        c, s = math.cos(0.4), math.sin(0.4)
        rows = rows @ np.array([[c, s, 0], [-s, c, 0], [0, 0, 1]])
    return rows


def _write(path: Path, data: np.ndarray, header: dict) -> Path:
    import nrrd

    nrrd.write(str(path), data, header, index_order="F")
    return path


def _lps_of_every_voxel(directions: np.ndarray, origin: np.ndarray, space: str) -> np.ndarray:
    ijk = np.stack(np.unravel_index(np.arange(np.prod(SHAPE_IJK)), SHAPE_IJK), axis=1).astype(float)
    return (origin + ijk @ directions) * np.asarray(FLIPS[space], dtype=float)


@pytest.mark.parametrize("space", sorted(FLIPS))
@pytest.mark.parametrize("oblique", [False, True])
def test_voxels_land_at_their_lps_position(tmp_path: Path, space: str, oblique: bool) -> None:
    data = np.arange(np.prod(SHAPE_IJK), dtype=np.int16).reshape(SHAPE_IJK) - 1000
    directions, origin = _directions(oblique), np.array([-12.5, 30.25, -700.0])
    path = _write(tmp_path / "scan.nrrd", data, {"space": space, "space directions": directions,
                                                  "space origin": origin, "kinds": ["domain"] * 3})
    volume = read_nrrd(path)
    assert volume.array.dtype == np.int16 and volume.name == "scan"
    order = np.argsort(volume.array.ravel(), kind="stable")
    index = np.stack(np.unravel_index(order, volume.array.shape), axis=1)
    np.testing.assert_allclose(geometry.world_from_index(volume.affine, index),
                               _lps_of_every_voxel(directions, origin, space), atol=1e-9)
    assert geometry.direction_of(volume.affine)[2, 0] > 0.9  # first array axis runs superior
    assert volume.metadata.warnings == []


def test_lps_axis_aligned_round_trip_keeps_values_exactly(tmp_path: Path) -> None:
    data = np.random.default_rng(3).normal(size=SHAPE_IJK).astype(np.float32)
    path = _write(tmp_path / "mr.nrrd", data, {"space": "LPS", "space directions": np.diag([0.5, 0.6, 3.0]),
                                                "space origin": np.array([1.0, 2.0, 3.0])})
    volume = read_nrrd(path)
    np.testing.assert_array_equal(volume.array, data.transpose(2, 1, 0))
    np.testing.assert_array_equal(volume.affine, [[0, 0, 0.5, 1], [0, 0.6, 0, 2], [3, 0, 0, 3], [0, 0, 0, 1]])


def test_single_component_vector_axis_is_dropped(tmp_path: Path) -> None:
    data = np.arange(np.prod(SHAPE_IJK), dtype=np.uint8).reshape((1, *SHAPE_IJK))
    directions = np.vstack([np.full(3, np.nan), np.diag([1.0, 1.0, 2.0])])
    path = _write(tmp_path / "v.nrrd", data, {"space": "RAS", "space directions": directions,
                                               "kinds": ["vector", "domain", "domain", "domain"]})
    assert read_nrrd(path).shape == SHAPE_IJK[::-1]


def test_no_orientation_is_read_with_a_warning(tmp_path: Path) -> None:
    path = _write(tmp_path / "plain.nrrd", np.zeros(SHAPE_IJK, np.int16), {"spacings": [0.5, 0.5, 2.0]})
    volume = read_nrrd(path)
    assert volume.spacing == (2.0, 0.5, 0.5)
    assert any("no orientation" in w for w in volume.metadata.warnings)


def test_non_patient_space_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.nrrd", np.zeros(SHAPE_IJK, np.int16),
                  {"space": "scanner-xyz", "space directions": np.eye(3), "space origin": np.zeros(3)})
    with pytest.raises(SeriesGeometryError, match="s.nrrd: space 'scanner-xyz' is not a patient space"):
        read_nrrd(path)


def test_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(NoImageDataError, match="gone.nrrd: no such file"):
        read_nrrd(tmp_path / "gone.nrrd")
    (tmp_path / "junk.nrrd").write_bytes(b"\x00\x01 not nrrd")
    with pytest.raises(CorruptFileError, match="junk.nrrd: cannot read as NRRD"):
        read_nrrd(tmp_path / "junk.nrrd")
    flat = _write(tmp_path / "flat.nrrd", np.zeros((4, 4), np.int16), {"spacings": [1.0, 1.0]})
    with pytest.raises(SeriesGeometryError, match="flat.nrrd: a single 2D image"):
        read_nrrd(flat)


def test_name_sniffing() -> None:
    assert is_nrrd_path("a/B.NRRD") and is_nrrd_path("x.nhdr") and not is_nrrd_path("x.nii.gz")
