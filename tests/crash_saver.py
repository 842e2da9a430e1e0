"""Autosave loop for the SIGKILL crash-safety test: ``python crash_saver.py FOLDER``.

Loads the case in FOLDER (or starts one), then saves it again and again, each save with
new content derived from its number ``n`` (notes "save n", a label map and a volume
whose voxels depend on n, n lesions' worth of notes), and prints ``n`` on stdout after
each save returned. The parent kills it with SIGKILL at random moments and checks that
what :func:`load_case` then gives back is one complete save: content matching its own
number, a number no older than the last acknowledged save.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

SHAPE = (24, 48, 48)
TESTS = Path(__file__).resolve().parent


def expected_arrays(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The volume and the label map that save ``n`` writes (so a loaded case can be checked)."""
    z = np.arange(np.prod(SHAPE), dtype=np.int64).reshape(SHAPE)
    volume = ((z * 7 + n * 13) % 2000 - 1000).astype(np.int16)
    labels = ((z // 97 + n) % 5).astype(np.uint8)
    return volume, labels


def save_number(case: object) -> int:
    """The n of the save a loaded case came from (its notes say "save n")."""
    return int(str(case.notes).split()[1])  # type: ignore[attr-defined]


def main(folder: Path) -> None:
    from napari_spine_mets.case import Case
    from napari_spine_mets.case_store import CASE_FILE, load_case, save_case
    import nibabel  # noqa: F401 - imported before "ready", so kills land in saves, not in imports

    from napari_spine_mets.io import nifti  # noqa: F401
    from napari_spine_mets.volume import LabelMap, Volume

    if (folder / CASE_FILE).exists():
        case = load_case(folder)
        n = save_number(case)
    else:
        case, n = Case(case_id="crash-test"), 0
    affine = np.diag([2.0, 1.0, 1.0, 1.0])
    print("ready", flush=True)
    while True:
        n += 1
        volume, labels = expected_arrays(n)
        case.volumes["ct"] = Volume(volume, affine, name="ct")
        case.label_maps["labels"] = LabelMap(labels, affine, names={1: "L1"}, name="labels")
        case.notes = f"save {n}"
        save_case(case, folder)
        print(n, flush=True)


def kill_loop(kills: int, folder: Path, seed: int = 0, max_delay: float = 1.5) -> dict[str, Any]:
    """SIGKILL the autosave loop ``kills`` times; check every reopened case (see module docstring)."""
    from napari_spine_mets.case_store import load_case

    rng = random.Random(seed)
    survived, acknowledged, problems, saves_seen, before_first = 0, 0, [], 0, 0
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    for k in range(kills):
        errors = folder.parent / "crash_saver.stderr"
        with open(errors, "w") as err:
            proc = subprocess.Popen([sys.executable, str(TESTS / "crash_saver.py"), str(folder)],
                                    stdout=subprocess.PIPE, stderr=err, text=True, env=env)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if line.strip() != "ready":
            problems.append(f"kill {k}: saver did not start: {errors.read_text()[-500:]}")
            proc.kill()
            proc.wait()
            break
        first = ""
        if rng.random() < 0.25:  # anywhere, the first save included
            time.sleep(rng.uniform(0.0, max_delay))
        else:  # at a random phase of a later save (one save takes tens of ms)
            first = proc.stdout.readline()
            time.sleep(rng.uniform(0.0, 0.3))
        os.kill(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        numbers = [int(x) for x in (first + out).split() if x.isdigit()]
        saves_seen += len(numbers)
        if numbers:
            acknowledged = numbers[-1]
        if not (folder / "case.json").exists():
            before_first += 1  # killed before the first save finished: nothing to lose yet
            continue
        try:
            case = load_case(folder)
            n = save_number(case)
            volume, labels = expected_arrays(n)
            complete = (np.array_equal(case.volumes["ct"].array, volume)
                        and np.array_equal(case.label_maps["labels"].array, labels))
            if not complete:
                problems.append(f"kill {k}: save {n} loaded with wrong content")
            elif n < acknowledged:
                problems.append(f"kill {k}: loaded save {n}, older than acknowledged save {acknowledged}")
            else:
                survived += 1
                acknowledged = n
        except Exception as exc:  # noqa: BLE001 - any failure to reopen is what this test counts
            problems.append(f"kill {k}: load failed: {type(exc).__name__}: {exc}")
    return {"kills": kills, "survived": survived, "killed_before_first_save": before_first,
            "saves_completed": saves_seen, "problems": problems}


if __name__ == "__main__":
    main(Path(sys.argv[1]))
