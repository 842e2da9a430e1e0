"""Where everything in the case came from: software, label maps, automatic steps, user edits.

In a de-identified report, file paths (which may hold a patient's name) are withheld
from label-map sources and step settings; everything else (models, versions, weights
SHA-256, settings, who edited what and when) is shown in full.
"""

from __future__ import annotations

from datetime import datetime

from ..case import Case
from .model import ReportTable
from .text import DASH, clean, compact_json, withhold_paths

__all__ = ["provenance_tables"]


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S %Z").strip() if value is not None else DASH


def provenance_tables(case: Case, *, identified: bool, report_version: str) -> list[ReportTable]:
    """Three tables (software and label maps; automatic steps; edits), written together as provenance.csv."""
    p = case.provenance
    about = ReportTable(key="provenance_software", title="Provenance: software and label maps",
                        columns=["Item", "Value"], widths=[2.0, 5.0], csv_name="provenance")
    about.rows += [["software version that made the case", clean(p.software_version) or DASH],
                   ["software version of this report", report_version],
                   ["case created", _when(p.created)], ["case last modified", _when(p.modified)]]
    for key, labels in case.label_maps.items():
        source = clean(labels.source) if identified else withhold_paths(clean(labels.source))
        about.rows.append([f"label map '{clean(key)}'",
                           f"{len(labels.names)} named label(s); source: {source or DASH}"])
    steps = ReportTable(key="provenance_steps", title="Provenance: automatic steps",
                        columns=["Step", "Model", "Version", "Weights SHA-256", "Settings", "Finished"],
                        widths=[1.2, 1.5, 0.8, 1.6, 3.4, 1.2], csv_name="provenance")
    for s in p.steps:
        params = s.parameters if identified else withhold_paths(s.parameters)
        steps.rows.append([clean(s.name), clean(s.model) or DASH, clean(s.model_version) or DASH,
                           s.weights_sha256 or DASH, compact_json(params) if params else DASH, _when(s.finished)])
    if not steps.rows:
        steps.rows.append([DASH, "no automatic step recorded", DASH, DASH, DASH, DASH])
    edits = ReportTable(key="provenance_edits", title="Provenance: edits by users",
                        columns=["When", "Who", "What", "Target"], widths=[1.5, 1.3, 4.4, 1.4], csv_name="provenance")
    for e in sorted(p.edits, key=lambda e: e.when):
        what, target = clean(e.what), clean(e.target)
        if not identified:
            what, target = withhold_paths([what, target])
        edits.rows.append([_when(e.when), clean(e.who), what, target or DASH])
    if not edits.rows:
        edits.rows.append([DASH, DASH, "no edit recorded", DASH])
    if not identified:
        steps.notes.append("File paths (which may hold a name) are withheld in the de-identified report.")
    return [about, steps, edits]
