"""The primary-tumour vocabulary and its categories in Tokuhashi, Tomita and Bauer.

Each score groups primary sites differently, and a site a score does not name must not be
slipped into a category silently. One vocabulary of canonical sites (with aliases such as
"renal" -> "kidney") maps to:

- revised Tokuhashi (Spine 2005;30(19):2186-91): lung, osteosarcoma, stomach, bladder,
  oesophagus, pancreas 0; liver, gallbladder, unidentified 1; others 2; kidney, uterus 3;
  rectum 4; thyroid, breast, prostate, carcinoid 5. "Others" is a real category there,
  so every recognised site not named gets 2.
- Tomita (Spine 2001;26(3):298-306): slow growth (breast, thyroid, prostate...), moderate
  (kidney, uterus...), rapid (lung, liver, stomach, colon, primary unknown...). The paper
  gives examples ("etc."), so only the named sites are mapped; for any other site the
  growth category must be entered (``tomita_growth``), never guessed.
- modified Bauer (Leithner et al., Eur Spine J 2008;17:1488-95): "primary not lung" and
  "primary breast, kidney, lymphoma or multiple myeloma".

Unknown strings are refused with the list of accepted sites.
"""

from __future__ import annotations

from .result import ScoreInputError, normalise

__all__ = [
    "SITES",
    "ALIASES",
    "canonical_site",
    "tokuhashi_category",
    "tomita_growth",
    "bauer_is_lung",
    "bauer_is_favourable",
    "accepted_sites",
]

#: canonical site -> revised Tokuhashi points.
SITES: dict[str, int] = {
    "lung": 0, "osteosarcoma": 0, "stomach": 0, "bladder": 0, "oesophagus": 0, "pancreas": 0,
    "liver": 1, "gallbladder": 1, "unknown": 1,
    "kidney": 3, "uterus": 3,
    "rectum": 4,
    "thyroid": 5, "breast": 5, "prostate": 5, "carcinoid": 5,
    # Recognised sites that the revised Tokuhashi table puts under "others" (2).
    "colon": 2, "lymphoma": 2, "multiple myeloma": 2, "melanoma": 2, "ovary": 2, "head and neck": 2,
    "other": 2,
}

ALIASES: dict[str, str] = {
    "nsclc": "lung", "sclc": "lung", "bronchial": "lung", "lung cancer": "lung",
    "gastric": "stomach",
    "urinary bladder": "bladder",
    "esophagus": "oesophagus", "esophageal": "oesophagus", "oesophageal": "oesophagus",
    "pancreatic": "pancreas",
    "hepatocellular": "liver", "hcc": "liver", "hepatic": "liver",
    "gall bladder": "gallbladder",
    "unidentified": "unknown", "unknown primary": "unknown", "cup": "unknown",
    "renal": "kidney", "rcc": "kidney", "renal cell": "kidney",
    "uterine": "uterus", "endometrial": "uterus", "endometrium": "uterus",
    "rectal": "rectum",
    "thyroid gland": "thyroid",
    "prostatic": "prostate",
    "carcinoid tumour": "carcinoid", "carcinoid tumor": "carcinoid",
    "colonic": "colon",
    "myeloma": "multiple myeloma",
    "ovarian": "ovary",
    "others": "other",
}

_TOKUHASHI_GROUP = {0: "lung, osteosarcoma, stomach, bladder, oesophagus, pancreas",
                    1: "liver, gallbladder, unidentified", 2: "others", 3: "kidney, uterus", 4: "rectum",
                    5: "thyroid, breast, prostate, carcinoid"}

_TOMITA = {"breast": "slow", "thyroid": "slow", "prostate": "slow",
           "kidney": "moderate", "uterus": "moderate",
           "lung": "rapid", "liver": "rapid", "stomach": "rapid", "colon": "rapid", "unknown": "rapid"}

_BAUER_FAVOURABLE = {"breast", "kidney", "lymphoma", "multiple myeloma"}

_SUFFIXES = (" cancer", " carcinoma", " tumour", " tumor", " primary")


def accepted_sites() -> list[str]:
    """Canonical site names, for messages and ``--list``."""
    return list(SITES)


def canonical_site(site: str | None) -> str:
    """The canonical name of a primary site ("Renal cell carcinoma" -> "kidney"), or an error."""
    if site is None or (isinstance(site, str) and not site.strip()):
        raise ScoreInputError(f"primary site is missing: enter one of {', '.join(SITES)} (nothing is assumed)")
    if not isinstance(site, str):
        raise ScoreInputError(f"primary site must be text, got {site!r}")
    key = normalise(site)
    candidates = [key]
    for suffix in _SUFFIXES:
        if key.endswith(suffix):
            candidates.append(key[: -len(suffix)].strip())
    for candidate in candidates:
        if candidate in SITES:
            return candidate
        if candidate in ALIASES:
            return ALIASES[candidate]
    raise ScoreInputError(f"primary site {site!r} is not recognised: accepted are {', '.join(SITES)} "
                          f"(or aliases such as {', '.join(list(ALIASES)[:6])}); "
                          "use 'other' only for a known site not in this list")


def tokuhashi_category(site: str) -> tuple[str, int, str]:
    """(canonical site, revised Tokuhashi points, the table row it falls in)."""
    name = canonical_site(site)
    points = SITES[name]
    return name, points, _TOKUHASHI_GROUP[points]


def tomita_growth(site: str) -> tuple[str, str]:
    """(canonical site, "slow"/"moderate"/"rapid") for the sites Tomita 2001 names; else an error."""
    name = canonical_site(site)
    if name not in _TOMITA:
        raise ScoreInputError(
            f"Tomita 2001 does not name {name!r} among its examples (slow: breast, thyroid, prostate; "
            "moderate: kidney, uterus; rapid: lung, liver, stomach, colon, unknown primary): "
            "enter the growth category (slow, moderate or rapid) yourself")
    return name, _TOMITA[name]


def bauer_is_lung(site: str) -> bool | None:
    """True for lung, False for any other known site, None for an unknown primary (undecidable)."""
    name = canonical_site(site)
    if name == "unknown":
        return None
    return name == "lung"


def bauer_is_favourable(site: str) -> bool:
    """Bauer's favourable primaries: breast, kidney, lymphoma, multiple myeloma."""
    return canonical_site(site) in _BAUER_FAVOURABLE
