"""``spine-mets score NAME --field value ... [--json]``: every calculator from the command line.

Values are passed to the library as typed, so a bad entry gets the calculator's own
specific message (one line on stderr, exit 2, via the main CLI). Printing happens only
in the handlers here.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from ..display import DECISION_SUPPORT_NOTICE
from .bauer import modified_bauer
from .bed import bed
from .bilsky import bilsky_ct_estimate, bilsky_grade
from .hu_bands import hu_bone_quality
from .pni import pni
from .primary_sites import accepted_sites
from .result import ScoreInputError, ScoreResult
from .sins import sins
from .tokuhashi import tokuhashi
from .tomita import tomita

__all__ = ["register", "CALCULATORS"]

SubParsers = "argparse._SubParsersAction[argparse.ArgumentParser]"


def _yes_no(value: str) -> bool:
    key = value.strip().lower()
    if key in ("yes", "y", "true", "1"):
        return True
    if key in ("no", "n", "false", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected yes or no, got {value!r}")


def _sins(a: argparse.Namespace) -> ScoreResult:
    return sins(location=a.location, pain=a.pain, bone_lesion=a.lesion, alignment=a.alignment,
                collapse=a.collapse, posterolateral=a.posterolateral)


def _tokuhashi(a: argparse.Namespace) -> ScoreResult:
    return tokuhashi(karnofsky=a.karnofsky, extraspinal_bone_metastases=a.extraspinal_bone_metastases,
                     vertebral_metastases=a.vertebral_metastases, major_organ_metastases=a.major_organ_metastases,
                     primary_site=a.primary_site, frankel_grade=a.frankel_grade)


def _tomita(a: argparse.Namespace) -> ScoreResult:
    return tomita(visceral_metastases=a.visceral_metastases, bone_metastases=a.bone_metastases,
                  primary_site=a.primary_site, growth=a.growth)


def _bauer(a: argparse.Namespace) -> ScoreResult:
    return modified_bauer(visceral_metastases=a.visceral_metastases, primary_site=a.primary_site,
                          solitary_skeletal_metastasis=a.solitary_skeletal_metastasis, lung_primary=a.lung_primary)


def _pni(a: argparse.Namespace) -> ScoreResult:
    return pni(albumin_g_per_dl=a.albumin, lymphocytes_per_mm3=a.lymphocytes)


def _hu(a: argparse.Namespace) -> ScoreResult:
    return hu_bone_quality(hu_mean=a.hu, level=a.level, kvp=a.kvp, contrast=a.contrast)


def _bed(a: argparse.Namespace) -> ScoreResult:
    return bed(dose_per_fraction_gy=a.dose_per_fraction, fractions=a.fractions, alpha_beta_gy=a.alpha_beta)


def _bilsky(a: argparse.Namespace) -> ScoreResult:
    return bilsky_grade(a.grade, level=a.level)


def _bilsky_ct(a: argparse.Namespace) -> ScoreResult:
    return bilsky_ct_estimate(lesion_area_mm2=a.lesion_area, above_area_mm2=a.above_area,
                              below_area_mm2=a.below_area, level=a.level)


def _args_sins(p: argparse.ArgumentParser) -> None:
    p.add_argument("--location", help="level (C1-S5) or junctional/mobile/semi-rigid/rigid")
    p.add_argument("--pain", help="mechanical, occasional_non_mechanical or none")
    p.add_argument("--lesion", help="lytic, mixed or blastic")
    p.add_argument("--alignment", help="subluxation_translation, de_novo_deformity or normal")
    p.add_argument("--collapse", help="gt50, lt50, none_gt50_involved or none")
    p.add_argument("--posterolateral", help="bilateral, unilateral or none")


def _args_tokuhashi(p: argparse.ArgumentParser) -> None:
    p.add_argument("--karnofsky", type=int, help="Karnofsky performance status, %% (10-100, steps of 10)")
    p.add_argument("--extraspinal-bone-metastases", type=int, help="number of extraspinal bone metastases")
    p.add_argument("--vertebral-metastases", type=int, help="number of metastases in the vertebral bodies")
    p.add_argument("--major-organ-metastases", help="unremovable, removable or none")
    p.add_argument("--primary-site", help="primary tumour site (see `spine-mets score --list`)")
    p.add_argument("--frankel-grade", help="A, B, C, D or E")


def _args_tomita(p: argparse.ArgumentParser) -> None:
    p.add_argument("--primary-site", help="primary site (used when Tomita names it)")
    p.add_argument("--growth", help="slow, moderate or rapid (overrides the site's category)")
    p.add_argument("--visceral-metastases", help="none, treatable or untreatable")
    p.add_argument("--bone-metastases", help="solitary or multiple")


def _args_bauer(p: argparse.ArgumentParser) -> None:
    p.add_argument("--visceral-metastases", type=_yes_no, help="yes or no")
    p.add_argument("--primary-site", help="primary tumour site")
    p.add_argument("--solitary-skeletal-metastasis", type=_yes_no, help="yes or no")
    p.add_argument("--lung-primary", type=_yes_no, default=None, help="yes or no; only for an unknown primary")


def _args_pni(p: argparse.ArgumentParser) -> None:
    p.add_argument("--albumin", type=float, help="serum albumin, g/dL")
    p.add_argument("--lymphocytes", type=float, help="total lymphocyte count, per mm3")


def _args_hu(p: argparse.ArgumentParser) -> None:
    p.add_argument("--hu", type=float, help="mean trabecular HU of the vertebral body")
    p.add_argument("--level", help="vertebral level of the ROI, e.g. L1")
    p.add_argument("--kvp", type=float, default=None, help="tube voltage")
    p.add_argument("--contrast", type=_yes_no, default=None, help="intravenous contrast given: yes or no")


def _args_bed(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dose-per-fraction", type=float, help="Gy per fraction")
    p.add_argument("--fractions", type=int, help="number of fractions")
    p.add_argument("--alpha-beta", type=float, default=3.0, help="alpha/beta in Gy (default 3)")


def _args_bilsky(p: argparse.ArgumentParser) -> None:
    p.add_argument("--grade", help="0, 1a, 1b, 1c, 2 or 3 (read on axial T2 MRI)")
    p.add_argument("--level", help="vertebral level")


def _args_bilsky_ct(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lesion-area", type=float, help="canal area at the lesion level, mm2")
    p.add_argument("--above-area", type=float, default=None, help="canal area of the level above, mm2")
    p.add_argument("--below-area", type=float, default=None, help="canal area of the level below, mm2")
    p.add_argument("--level", help="vertebral level of the lesion")


#: name -> (one-line help, argument adder, calculator)
CALCULATORS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None],
                             Callable[[argparse.Namespace], ScoreResult]]] = {
    "sins": ("Spinal Instability Neoplastic Score (Fisher 2010)", _args_sins, _sins),
    "bilsky": ("Bilsky/ESCC grade as entered from MRI (Bilsky 2010)", _args_bilsky, _bilsky),
    "bilsky-ct": ("CT estimate of canal compromise from canal areas (project heuristic)", _args_bilsky_ct,
                  _bilsky_ct),
    "tokuhashi": ("revised Tokuhashi score (Tokuhashi 2005)", _args_tokuhashi, _tokuhashi),
    "tomita": ("Tomita score (Tomita 2001)", _args_tomita, _tomita),
    "bauer": ("modified Bauer score (Leithner 2008)", _args_bauer, _bauer),
    "pni": ("Prognostic Nutritional Index (Onodera), cut-off 42.8", _args_pni, _pni),
    "hu": ("bone quality from trabecular HU, 127 HU screw-failure flag", _args_hu, _hu),
    "bed": ("biologically effective dose of an SBRT schedule, BED3 >= 104 Gy flag", _args_bed, _bed),
}


def register(subparsers: Any) -> None:
    """Add ``score`` and its calculators to the ``spine-mets`` parser."""
    parser = subparsers.add_parser(
        "score", help="clinical calculators (SINS, Bilsky, Tokuhashi, Tomita, Bauer, PNI, HU, BED)",
        description="Compute a clinical score; every result lists its items, thresholds and source. "
                    + DECISION_SUPPORT_NOTICE)
    parser.add_argument("--list", action="store_true", help="list the calculators and accepted primary sites")
    parser.add_argument("--json", action="store_true", help="print JSON")
    calculators = parser.add_subparsers(dest="calculator", metavar="NAME")
    for name, (help_text, add_arguments, _) in CALCULATORS.items():
        sub = calculators.add_parser(name, help=help_text, description=help_text)
        add_arguments(sub)
        sub.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    if not args.list and not args.calculator:
        raise ScoreInputError("name a calculator (see `spine-mets score --list`), e.g. `spine-mets score sins --help`")
    if args.list:
        listing = {"calculators": {name: spec[0] for name, spec in CALCULATORS.items()},
                   "primary_sites": accepted_sites()}
        if getattr(args, "json", False):
            print(json.dumps(listing, indent=2))
        else:
            print("calculators:")
            print("\n".join(f"  {name:<10} {text}" for name, text in listing["calculators"].items()))
            print("primary sites: " + ", ".join(listing["primary_sites"]))
        return 0
    result = CALCULATORS[args.calculator][2](args)
    if args.json:
        out = result.to_json()
        out["notice"] = DECISION_SUPPORT_NOTICE
        print(json.dumps(out, indent=2))
    else:
        print(result.explain())
        print(DECISION_SUPPORT_NOTICE)
    return 0
