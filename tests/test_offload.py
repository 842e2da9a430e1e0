"""Heavy work in a child process: results, progress, cancellation and errors come back."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import numpy as np
import pytest

from napari_spine_mets import offload
from napari_spine_mets.errors import InputError, OperationCancelled


def sum_with_progress(array: np.ndarray, steps: int, progress: Callable, cancel: Callable) -> tuple[float, int]:
    for i in range(steps):
        if cancel():
            raise OperationCancelled(f"cancelled at step {i}")
        progress((i + 1) / steps, f"step {i + 1}")
        time.sleep(0.02)
    return float(array.sum()), os.getpid()


def fails(progress: Callable, cancel: Callable) -> None:
    raise InputError("/data/scan.nii", "not a CT")


def crashes(progress: Callable, cancel: Callable) -> None:
    raise ZeroDivisionError("a bug")


def test_result_and_progress_come_back_from_another_process() -> None:
    seen: list[tuple[float, str]] = []
    total, pid = offload.call(sum_with_progress, progress=lambda f, m: seen.append((f, m)),
                              array=np.arange(10.0), steps=5)
    assert total == 45.0 and pid != os.getpid()
    assert [m for _, m in seen] == [f"step {i}" for i in range(1, 6)] and seen[-1][0] == 1.0
    # the child is kept for the next call (the model stays loaded)
    assert offload.call(sum_with_progress, array=np.ones(3), steps=1)[1] == pid


def test_cancel_stops_the_work_and_errors_keep_their_message() -> None:
    job = offload.Offloaded(sum_with_progress, {"array": np.ones(2), "steps": 500})
    started = time.perf_counter()
    with pytest.raises(offload.OffloadedCancelled, match="cancelled at step"):
        job.result(stop=lambda: time.perf_counter() - started > 0.3)
    assert time.perf_counter() - started < 8
    with pytest.raises(offload.OffloadedError, match=r"/data/scan.nii: not a CT"):
        offload.call(fails)
    with pytest.raises(offload.OffloadedBug, match="ZeroDivisionError"):
        offload.call(crashes)
    assert offload.call(sum_with_progress, array=np.ones(4), steps=1)[0] == 4.0  # still serving


def echo_doubled(array: np.ndarray, progress: Callable, cancel: Callable) -> dict:
    array *= 2  # the argument arrives writable
    return {"doubled": array, "small": np.arange(3)}


def unpicklable(progress: Callable, cancel: Callable) -> Callable:
    return lambda: None


def test_large_arrays_travel_beside_the_message_and_their_file_is_removed(tmp_path) -> None:
    from napari_spine_mets.out_of_band import pack, unpack

    labels = np.arange(4_000_000, dtype=np.int32).reshape(100, 200, 200)
    packed = pack({"labels": labels, "name": "T12"}, str(tmp_path))
    assert len(packed.payload) < 10_000  # the 16 MB array is not in the queue's message
    assert packed.path is not None and os.path.getsize(packed.path) == labels.nbytes
    back = unpack(packed)
    assert back["name"] == "T12" and np.array_equal(back["labels"], labels) and back["labels"].flags.writeable
    assert list(tmp_path.iterdir()) == []
    # small arrays stay in the message: no file at all
    assert pack(np.ones(10), str(tmp_path)).path is None


def test_large_arguments_and_results_cross_processes_without_leftover_files() -> None:
    volume = np.random.default_rng(0).integers(-1000, 2000, size=(60, 128, 128)).astype(np.int16)
    result = offload.call(echo_doubled, array=volume.copy())
    assert np.array_equal(result["doubled"], volume * 2) and np.array_equal(result["small"], np.arange(3))
    assert all(not os.listdir(child.directory) for child in offload._CHILDREN)
    with pytest.raises(offload.OffloadedBug, match="pickle|Pickl"):
        offload.call(unpicklable)
    assert offload.call(sum_with_progress, array=np.ones(4), steps=1)[0] == 4.0  # still serving
