"""Write the project's default synthetic spine CT case (DICOM + NIfTI ground truth + truth.json).

    python sample_data/generate.py [--out sample_data/generated/default] [--seed N]

The case is synthetic demonstration data (no patient); the same seed always gives
byte-identical files.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

from napari_spine_mets.synthetic import SpineParams, generate_spine_ct, write_synthetic_case


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "generated" / "default")
    parser.add_argument("--seed", type=int, default=SpineParams().seed)
    args = parser.parse_args(argv)
    params = replace(SpineParams(), seed=args.seed)
    start = time.perf_counter()
    case = generate_spine_ct(params)
    paths = write_synthetic_case(case, args.out)
    print(f"synthetic case (seed {params.seed}, {case.ct.shape} voxels) written in "
          f"{time.perf_counter() - start:.1f} s:")
    for role, path in paths.items():
        print(f"  {role:10s} {path}")
    for lesion in case.lesion_truth:
        print(f"  lesion {lesion.id}: {lesion.level} {lesion.site} {lesion.kind}, "
              f"{lesion.volume_mm3 / 1000:.1f} mL, mean {lesion.mean_hu:.0f} HU")
    if case.fracture_truth:
        f = case.fracture_truth
        print(f"  fracture: {f.level} {f.shape}, height loss {f.height_loss:.0%}, Genant grade {f.genant_grade}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
