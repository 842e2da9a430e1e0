"""The training script: reproducible runs, fine-tuning from weights already trained, and
the model card saying what the weights have seen (smoke preset: seconds, not a real model)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from napari_spine_mets.segmentation.train import PRESETS, _initial_model, train
from napari_spine_mets.segmentation.weights import WeightsError, load_weights


@pytest.fixture(scope="module")
def smoke_weights(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("weights")
    train(replace(PRESETS["smoke"], levels_from="T1"), out, name="first", device="cpu")
    return out


def test_a_run_writes_weights_whose_card_names_the_levels_seen(smoke_weights: Path) -> None:
    model, card = load_weights("first", smoke_weights)
    assert "levels T1–S1" in card.training_data
    assert card.metrics["validation"]["iterations"] == PRESETS["smoke"].max_iterations
    assert "Started from" not in card.training_data
    assert card.demonstration and "demonstration" in card.intended_use  # synthetic data only


def test_fine_tuning_starts_from_the_given_weights_and_the_card_keeps_the_chain(smoke_weights: Path) -> None:
    config = replace(PRESETS["smoke"], levels_from="T8", init_weights="first")
    start, start_card = _initial_model(config, smoke_weights)
    first, first_card = load_weights("first", smoke_weights)
    assert start_card is not None and start_card.weights_sha256 == first_card.weights_sha256
    for name, tensor in first.state_dict().items():
        assert torch.equal(start.state_dict()[name], tensor), name
    train(config, smoke_weights, name="second", device="cpu", init_dir=smoke_weights)
    _, card = load_weights("second", smoke_weights)
    assert card.training_data.startswith("Synthetic spine CT from napari_spine_mets.synthetic (levels T8–S1)")
    assert f"Started from first {first_card.version} (sha256 {first_card.weights_sha256[:12]})" in card.training_data
    assert "levels T1–S1" in card.training_data  # what the starting weights had seen


def test_weights_of_another_shape_are_refused_before_training(smoke_weights: Path) -> None:
    # the shipped network is wider and deeper than the smoke preset
    with pytest.raises(WeightsError, match="choose the matching preset"):
        _initial_model(replace(PRESETS["smoke"], init_weights="vertebrae-ct"), None)


def test_an_unknown_starting_level_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="levels-from X9"):
        train(replace(PRESETS["smoke"], levels_from="X9"), None, device="cpu")


def test_the_command_line_is_recorded_in_the_card(tmp_path: Path) -> None:
    import json

    from napari_spine_mets.segmentation.train import main

    assert main(["--preset", "smoke", "--out", str(tmp_path), "--name", "cli", "--levels-from", "t10", "--seed", "3"]) == 0
    _, card = load_weights("cli", tmp_path)
    recipe = json.loads(card.training_recipe)
    assert recipe["command"].endswith("--levels-from t10 --seed 3") and recipe["levels_from"] == "T10"
    assert "levels T10–S1" in card.training_data
    assert recipe["joint_space_mm"] == 0.0 and "facet joints drawn touching" in card.training_data


def test_cases_drawn_with_joint_spaces_are_the_same_cases_apart_from_their_joints(tmp_path: Path) -> None:
    import json

    from napari_spine_mets.segmentation.train import main
    from napari_spine_mets.segmentation.training_data import random_params

    assert random_params(5, joint_space_mm=1.5) == replace(random_params(5), joint_space_mm=1.5)
    assert main(["--preset", "smoke", "--out", str(tmp_path), "--name", "joints", "--joint-space-mm", "1.5"]) == 0
    _, card = load_weights("joints", tmp_path)
    assert json.loads(card.training_recipe)["joint_space_mm"] == 1.5
    assert "facet joint spaces of 1.5 mm" in card.training_data


def test_worker_processes_deliver_the_same_cases_in_seed_order() -> None:
    from napari_spine_mets.segmentation.train import _CaseSource
    from napari_spine_mets.segmentation.training_data import make_sample

    config = replace(PRESETS["smoke"], workers=2)
    levels = ("L4", "L5", "S1")
    source = _CaseSource(config, levels)
    try:
        cases = [source.next_case() for _ in range(3)]
    finally:
        source.close()
    assert [case.seed for case in cases] == [1, 2, 3]
    assert source.cases_drawn == 3  # the cases still being made when it closed are not counted
    in_turn = make_sample(2, config.working_spacing_mm, levels)
    assert torch.equal(cases[1].image, in_turn.image) and (cases[1].target == in_turn.target).all()


def test_the_learning_rate_decays_with_whichever_budget_is_further_spent() -> None:
    from napari_spine_mets.segmentation.train import _learning_rate

    config = replace(PRESETS["cpu"], learning_rate=1.0, max_iterations=1000, max_minutes=10.0)
    assert _learning_rate(config, 0, 0.0) == 1.0
    by_iterations = _learning_rate(config, 500, 60.0)
    by_time = _learning_rate(config, 100, 300.0)  # half the minutes, a tenth of the iterations
    assert by_iterations == pytest.approx(0.5 ** 0.9) and by_time == pytest.approx(by_iterations)
    assert _learning_rate(config, 100, 600.0) == 0.0


def test_a_run_with_workers_trains_and_counts_the_cases_it_used(tmp_path: Path) -> None:
    summary = train(replace(PRESETS["smoke"], workers=2, max_iterations=4), tmp_path, name="pooled", device="cpu")
    _, card = load_weights("pooled", tmp_path)
    assert summary["iterations"] == 4
    assert summary["training_cases_seen"] >= PRESETS["smoke"].n_training_cases
    assert f"seeds 1–{summary['training_cases_seen']}" in card.training_data


def test_a_new_first_case_seed_gives_new_cases_and_the_card_names_them(tmp_path: Path) -> None:
    from napari_spine_mets.segmentation.train import _CaseSource

    config = replace(PRESETS["smoke"], first_case_seed=500)
    source = _CaseSource(config, ("L4", "L5", "S1"))
    assert [source.next_case().seed for _ in range(2)] == [500, 501]
    assert source.cases_drawn == 2 and source.last_seed_used == 501
    summary = train(replace(config, levels_from="L3"), tmp_path, name="later", device="cpu")
    _, card = load_weights("later", tmp_path)
    assert f"seeds 500–{499 + summary['training_cases_seen']}" in card.training_data


@pytest.mark.parametrize("first", [0, 100_000])
def test_training_seeds_never_reach_the_validation_seeds(first: int) -> None:
    from napari_spine_mets.segmentation.train import _CaseSource

    with pytest.raises(ValueError, match="first-case-seed"):
        _CaseSource(replace(PRESETS["smoke"], first_case_seed=first), ("L5", "S1"))


def test_the_last_seed_below_the_validation_seeds_is_the_last_one_drawn() -> None:
    from napari_spine_mets.segmentation.train import _CaseSource

    source = _CaseSource(replace(PRESETS["smoke"], first_case_seed=99_998), ("L4", "L5", "S1"))
    assert [source._take_seed() for _ in range(2)] == [99_998, 99_999]
    with pytest.raises(ValueError, match="would reach the validation seeds"):
        source._take_seed()
