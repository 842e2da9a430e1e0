"""Fuzz targets shared by tests/test_fuzz_readers.py and benchmarks/bench_reliability.py.

A target is a reader plus valid seed inputs (small files generated here, or the real CT
series). Input ``i`` of a target is derived deterministically from ``random.Random(f"{name}:{i}")``:
one seed file is mutated (tests/fuzz_mutators.py; byte-level: bit flips, interesting integers, chunk deletion,
duplication, insertion, truncation, splicing; or format-aware: DICOM tags, NIfTI header
fields, NRRD header lines, JSON nodes) and the reader runs on the result. The contract:
the reader returns, or raises a :class:`~napari_spine_mets.errors.SpineMetsError`;
anything else is a failure.

Regression corpus (tests/fuzz_corpus/<target>/): each crash is kept either as the
mutated files themselves (``<id>/`` folder, every file < 20 KB) or, for inputs derived
from the real series (too large to keep, and not ours to copy), as a recipe
``<id>.json`` = {"target", "index"} replayed through the mutator at test time.
"""

from __future__ import annotations

import json
import random
import tempfile
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from fuzz_mutators import mutate_bytes, mutate_dicom, mutate_json, mutate_nifti, mutate_nrrd

MUTATOR_VERSION = 1
CORPUS_DIR = Path(__file__).resolve().parent / "fuzz_corpus"
CORPUS_MAX_BYTES = 20_000

Files = dict[str, bytes]  # relative path -> content


@dataclass
class Outcome:
    kind: str  # "ok", "project" (a documented project error), "failure"
    error: str = ""
    detail: str = ""


# ----------------------------------------------------------------------------- seeds
def _write_volume_seed(kind: str) -> Files:
    """Small valid inputs made with the project's own writers (deterministic)."""
    from napari_spine_mets.io.dicom_write import write_dicom_series
    from napari_spine_mets.io.nifti import write_nifti
    from napari_spine_mets.volume import Volume

    case = _synthetic()
    ct = case.ct
    mid = ct.array.shape[0] // 2
    step = 6
    array = np.ascontiguousarray(ct.array[mid - 1:mid + 2, ::step, ::step])
    affine = np.array(ct.affine, dtype=float)
    affine[:3, 1:3] *= step
    volume = Volume(array, affine)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if kind == "dicom":
            paths = write_dicom_series(volume, root / "dicom", uid_seed="fuzz-seed")
            return {p.name: p.read_bytes() for p in paths}
        if kind == "nifti":
            small = Volume(np.ascontiguousarray(ct.array[mid - 2:mid + 2, ::8, ::8]), affine)
            return {"image.nii": write_nifti(small, root / "image.nii").read_bytes()}
        if kind == "nifti_gz":
            return {"image.nii.gz": write_nifti(volume, root / "image.nii.gz").read_bytes()}
    raise ValueError(kind)


@lru_cache(maxsize=1)
def _synthetic() -> Any:
    from napari_spine_mets.synthetic import SpineParams, generate_spine_ct

    return generate_spine_ct(SpineParams(levels=("L1", "L2"), spacing_mm=(2.5, 1.2, 1.2), fov_mm=200,
                                         lesions=(), fracture=None))


def _nrrd_seed() -> Files:
    import nrrd

    case = _synthetic()
    mid = case.ct.array.shape[0] // 2
    data = np.ascontiguousarray(case.ct.array[mid - 2:mid + 2, ::10, ::10]).transpose(2, 1, 0)
    header = {"space": "left-posterior-superior", "space directions": np.diag([2.0, 2.0, 2.5]),
              "space origin": np.array([1.0, 2.0, 3.0]), "kinds": ["domain"] * 3, "encoding": "raw"}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "image.nrrd"
        nrrd.write(str(path), data, header, index_order="F")
        return {"image.nrrd": path.read_bytes()}


def _case_seed() -> Files:
    from napari_spine_mets.case import Case
    from napari_spine_mets.case_store import save_case
    from napari_spine_mets.volume import LabelMap, PatientIdentity, Volume, VolumeMetadata

    case = _synthetic()
    mid = case.ct.array.shape[0] // 2
    affine = np.array(case.ct.affine, dtype=float)
    affine[:3, 1:3] *= 10
    meta = VolumeMetadata(modality="CT", source="fuzz", identity=PatientIdentity("Fuzz^Patient", "FZ-1", "19600101"))
    ct = Volume(np.ascontiguousarray(case.ct.array[mid - 1:mid + 1, ::10, ::10]), affine, metadata=meta, name="ct")
    labels = LabelMap(np.ascontiguousarray(case.vertebrae.array[mid - 1:mid + 1, ::10, ::10]), affine,
                      names={1: "L1", 2: "L2"}, name="vertebrae")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "case"
        save_case(Case(volumes={"ct": ct}, label_maps={"vertebrae": labels}, case_id="fuzzcase", notes="seed"),
                  folder)
        return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
                if p.is_file() and not p.name.startswith(".")}


def _model_seeds() -> list[Files]:
    import napari_spine_mets.models as models

    demo = Path(models.__file__).resolve().parent / "demo"
    return [{"model.json": p.read_bytes()} for p in sorted(demo.glob("*.json"))]


def _real_seed(shared: Path) -> Files:
    series = shared / "ct-chest-abdomen-dicom" / "series"
    files = sorted(series.iterdir())[:2]
    return {f"IM{i}.dcm": p.read_bytes() for i, p in enumerate(files)}


# ----------------------------------------------------------------------------- targets
@dataclass
class Target:
    name: str
    seeds: list[Files]
    mutate: Callable[[str, bytes, random.Random, list[bytes]], bytes]
    read: Callable[[Path], Any]
    fix_hashes: bool = False

    def make(self, index: int) -> Files:
        """Input ``index``: one file of a seed mutated (deterministic in name and index)."""
        rng = random.Random(f"{self.name}:{MUTATOR_VERSION}:{index}")
        seed = dict(rng.choice(self.seeds))
        names = sorted(seed)
        weights = [3.0 if n.endswith(".json") else 1.0 for n in names]
        victim = rng.choices(names, weights)[0]
        others = [seed[n] for n in names if n != victim]
        seed[victim] = self.mutate(victim, seed[victim], rng, others)
        if self.fix_hashes and not victim.endswith(".json") and rng.random() < 0.7:
            seed["case.json"] = _rehash(seed["case.json"], victim, seed[victim])
        return seed


def _rehash(case_json: bytes, relative: str, content: bytes) -> bytes:
    """Make case.json agree with a mutated array file, so mutations reach the NIfTI reader."""
    import hashlib

    doc = json.loads(case_json)
    for kind in ("volumes", "label_maps"):
        for record in doc.get(kind, {}).values():
            if record.get("file") == relative:
                record["file_sha256"] = hashlib.sha256(content).hexdigest()
                record["file_size"] = len(content)
    return json.dumps(doc).encode()


def _mutate_by_name(name: str, data: bytes, rng: random.Random, others: list[bytes]) -> bytes:
    if name.endswith(".json"):
        return mutate_json(data, rng)
    if name.endswith(".nii"):
        return mutate_nifti(data, rng)
    if name.endswith(".nrrd"):
        return mutate_nrrd(data, rng)
    if name.endswith(".dcm"):
        return mutate_dicom(data, rng, others)
    return mutate_bytes(data, rng, others)


def _read_dicom(folder: Path) -> Any:
    from napari_spine_mets.io.dicom import read_dicom_series

    return read_dicom_series(folder)


def _read_nifti(folder: Path) -> Any:
    from napari_spine_mets.io.nifti import read_label_nifti, read_nifti

    path = next(folder.iterdir())
    volume = read_nifti(path)
    try:
        read_label_nifti(path)
    except Exception as exc:  # noqa: BLE001 - only project errors are allowed here too
        from napari_spine_mets.errors import SpineMetsError

        if not isinstance(exc, SpineMetsError):
            raise
    return volume


def _read_nrrd(folder: Path) -> Any:
    from napari_spine_mets.io.nrrd import read_nrrd

    return read_nrrd(folder / "image.nrrd")


def _read_case(folder: Path) -> Any:
    from napari_spine_mets.case_store import load_case

    return load_case(folder)


def _read_model(folder: Path) -> Any:
    from napari_spine_mets.models.model_file import load_model

    return load_model(folder / "model.json")


@lru_cache(maxsize=2)
def targets(shared: Path | None = None) -> dict[str, Target]:
    """Every fuzz target; ``dicom_real`` only when the shared data folder is given."""
    out = {
        "dicom_synthetic": Target("dicom_synthetic", [_write_volume_seed("dicom")], _mutate_by_name, _read_dicom),
        "nifti": Target("nifti", [_write_volume_seed("nifti"), _write_volume_seed("nifti_gz")], _mutate_by_name,
                        _read_nifti),
        "nrrd": Target("nrrd", [_nrrd_seed()], _mutate_by_name, _read_nrrd),
        "case_folder": Target("case_folder", [_case_seed()], _mutate_by_name, _read_case, fix_hashes=True),
        "model_file": Target("model_file", _model_seeds(), _mutate_by_name, _read_model),
    }
    if shared is not None:
        out["dicom_real"] = Target("dicom_real", [_real_seed(shared)], _mutate_by_name, _read_dicom)
    return out


# ----------------------------------------------------------------------------- running
def write_files(files: Files, folder: Path) -> None:
    for relative, content in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def run_files(target: Target, files: Files) -> Outcome:
    """Write ``files`` to a fresh folder, run the reader, classify the result."""
    from napari_spine_mets.errors import SpineMetsError

    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp:
        folder = Path(tmp) / "input"
        write_files(files, folder)
        try:
            target.read(folder)
        except SpineMetsError as exc:
            return Outcome("project", type(exc).__name__, str(exc)[:300])
        except Exception as exc:  # noqa: BLE001 - this is what the fuzzer looks for
            return Outcome("failure", type(exc).__name__, "".join(traceback.format_exception(exc))[-3000:])
    return Outcome("ok")


def corpus_entries() -> list[tuple[str, str, Path]]:
    """(target, entry id, path) of every regression input in tests/fuzz_corpus/."""
    out = []
    for target_dir in sorted(p for p in CORPUS_DIR.iterdir() if p.is_dir()) if CORPUS_DIR.is_dir() else []:
        for entry in sorted(target_dir.iterdir()):
            if entry.is_dir() or entry.suffix == ".json":
                out.append((target_dir.name, entry.stem, entry))
    return out


def load_entry(path: Path, target: Target) -> Files:
    """Files of a corpus entry (a folder of files, or a recipe replayed through the mutator)."""
    if path.is_dir():
        return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}
    recipe = json.loads(path.read_text())
    return target.make(int(recipe["index"]))


def save_entry(target: Target, index: int, files: Files, error: str) -> Path | None:
    """Keep a crash in the corpus: the files if all are small, else (real-series inputs) a recipe."""
    folder = CORPUS_DIR / target.name
    folder.mkdir(parents=True, exist_ok=True)
    entry = f"{error}-{index}"
    if all(len(c) < CORPUS_MAX_BYTES for c in files.values()) and target.name != "dicom_real":
        write_files(files, folder / entry)
        return folder / entry
    recipe = {"target": target.name, "index": index, "mutator_version": MUTATOR_VERSION, "error": error}
    path = folder / f"{entry}.json"
    path.write_text(json.dumps(recipe, indent=1) + "\n")
    return path
