"""The network that ships in the package: loads offline, segments and names a held-out case."""

from __future__ import annotations

import numpy as np
import pytest

from napari_spine_mets.anatomy import TOTALSEG_VERTEBRA_IDS
from napari_spine_mets.segmentation.inference import segment_vertebrae
from napari_spine_mets.segmentation.weights import load_weights
from napari_spine_mets.synthetic import LesionSpec, SpineParams, generate_spine_ct


def test_shipped_weights_match_their_model_card() -> None:
    model, card = load_weights("vertebrae-ct")
    assert card.weights_sha256 and card.architecture["n_classes"] == 8
    assert card.demonstration  # preliminary network: labelled as such wherever it is shown
    assert "validation" in card.metrics


@pytest.fixture(scope="module")
def held_out_case():
    # seed far from the training (1+) and validation (100000+) seeds
    return generate_spine_ct(SpineParams(seed=424242, levels=("L2", "L3", "L4", "L5", "S1"), spacing_mm=(2.0, 0.9, 0.9),
                                         fov_mm=260, lesions=(LesionSpec("L3", "lytic", 7.0),), fracture=None))


def test_segments_and_names_a_held_out_lumbar_case(held_out_case) -> None:
    case = held_out_case
    result = segment_vertebrae(case.ct, device="cpu")
    assert [s["level"] for s in result.vertebra_stats] == ["L2", "L3", "L4", "L5", "S1"]
    assert "sacrum" in result.anchor and "demonstration model: not for clinical use" in result.notes
    for level in ("L2", "L3", "L4", "L5"):
        label = TOTALSEG_VERTEBRA_IDS[level]
        predicted, truth = result.vertebrae.array == label, case.vertebrae.array == label
        dice = 2 * (predicted & truth).sum() / (predicted.sum() + truth.sum())
        assert dice > 0.8, (level, dice)
    np.testing.assert_allclose(result.vertebrae.affine, case.ct.affine)
    assert result.provenance["weights_sha256"] and result.provenance["device"].startswith("CPU")


def test_mr_like_input_is_refused(held_out_case) -> None:
    from napari_spine_mets.errors import ModalityError
    from napari_spine_mets.volume import Volume

    ct = held_out_case.ct
    normalised = Volume((ct.array.astype(np.float32) + 1024) / 4000, ct.affine, name="normalised")
    with pytest.raises(ModalityError, match="do not look like CT"):
        segment_vertebrae(normalised, device="cpu")
