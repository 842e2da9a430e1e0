"""The core must import and work without napari, Qt or magicgui (notebooks, CLI, Dask workers)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import napari_spine_mets

CORE_MODULES = [
    "napari_spine_mets",
    "napari_spine_mets.errors",
    "napari_spine_mets.volume",
    "napari_spine_mets.anatomy",
    "napari_spine_mets.display",
    "napari_spine_mets.hounsfield",
    "napari_spine_mets.devices",
    "napari_spine_mets.segmentation.sliding_window",
    "napari_spine_mets.segmentation.weights",
    "napari_spine_mets.segmentation.inference",
    "napari_spine_mets.segmentation.labelling",
    "napari_spine_mets.segmentation.refine",
    "napari_spine_mets.segmentation.vessels",
    "napari_spine_mets.segmentation.sacrum",
    "napari_spine_mets.segmentation.craniocervical",
    "napari_spine_mets.segmentation.rib_anchor",
    "napari_spine_mets.editing",
    "napari_spine_mets.editing.errors",
    "napari_spine_mets.editing.changes",
    "napari_spine_mets.editing.label_edits",
    "napari_spine_mets.editing.history",
    "napari_spine_mets.segmentation.cli",
    "napari_spine_mets.io.geometry",
    "napari_spine_mets.io.nifti",
    "napari_spine_mets.io.nrrd",
    "napari_spine_mets.io.dicom",
    "napari_spine_mets.io.dicom_scan",
    "napari_spine_mets.io.dicom_write",
    "napari_spine_mets.io.resample",
    "napari_spine_mets.io.totalsegmentator",
    "napari_spine_mets.case",
    "napari_spine_mets.case_store",
    "napari_spine_mets.recent_cases",
    "napari_spine_mets.offload",
    "napari_spine_mets.out_of_band",
    "napari_spine_mets.segmentation.warm",
    "napari_spine_mets.synthetic",
    "napari_spine_mets.synthetic.cervical",
    "napari_spine_mets.synthetic.neck",
    "napari_spine_mets.synthetic.skull_base",
    "napari_spine_mets.synthetic.shoulder_girdle",
    "napari_spine_mets.cli",
    "napari_spine_mets.radiomics",
    "napari_spine_mets.radiomics.settings",
    "napari_spine_mets.radiomics.engine",
    "napari_spine_mets.radiomics.cli",
    "napari_spine_mets.scores",
    "napari_spine_mets.scores.result",
    "napari_spine_mets.scores.sins",
    "napari_spine_mets.scores.bilsky",
    "napari_spine_mets.scores.tokuhashi",
    "napari_spine_mets.scores.tomita",
    "napari_spine_mets.scores.bauer",
    "napari_spine_mets.scores.pni",
    "napari_spine_mets.scores.hu_bands",
    "napari_spine_mets.scores.bed",
    "napari_spine_mets.scores.primary_sites",
    "napari_spine_mets.scores.cli",
    "napari_spine_mets.scores.level_measures",
    "napari_spine_mets.scores.from_case",
    "napari_spine_mets.models",
    "napari_spine_mets.models.table",
    "napari_spine_mets.models.lasso",
    "napari_spine_mets.models.logistic",
    "napari_spine_mets.models.metrics",
    "napari_spine_mets.models.nomogram",
    "napari_spine_mets.models.survival",
    "napari_spine_mets.models.model_file",
    "napari_spine_mets.models.plots",
    "napari_spine_mets.models.demo",
    "napari_spine_mets.models.cli",
    "napari_spine_mets.models.from_case",
    "napari_spine_mets.detection",
    "napari_spine_mets.detection.inputs",
    "napari_spine_mets.detection.bone_grid",
    "napari_spine_mets.detection.normal_bone",
    "napari_spine_mets.detection.candidates",
    "napari_spine_mets.detection.classify",
    "napari_spine_mets.detection.regions",
    "napari_spine_mets.detection.describe",
    "napari_spine_mets.detection.fracture",
    "napari_spine_mets.detection.click_segment",
    "napari_spine_mets.detection.pipeline",
    "napari_spine_mets.detection.cli",
    "napari_spine_mets.detection.drawn",
    "napari_spine_mets.detection.record",
    "napari_spine_mets.dicomio",
    "napari_spine_mets.dicomio.errors",
    "napari_spine_mets.dicomio.codes",
    "napari_spine_mets.dicomio.deidentify",
    "napari_spine_mets.dicomio.uids",
    "napari_spine_mets.dicomio.source_series",
    "napari_spine_mets.dicomio.seg_export",
    "napari_spine_mets.dicomio.seg_import",
    "napari_spine_mets.dicomio.measurements",
    "napari_spine_mets.dicomio.sr_export",
    "napari_spine_mets.dicomio.pacs_config",
    "napari_spine_mets.dicomio.pacs",
    "napari_spine_mets.dicomio.pacs_retrieve",
    "napari_spine_mets.dicomio.pacs_cli",
    "napari_spine_mets.dicomio.cli",
    "napari_spine_mets.cohort",
    "napari_spine_mets.cohort.manifest",
    "napari_spine_mets.cohort.settings",
    "napari_spine_mets.cohort.steps",
    "napari_spine_mets.cohort.pipeline",
    "napari_spine_mets.cohort.resume",
    "napari_spine_mets.cohort.table",
    "napari_spine_mets.cohort.runner",
    "napari_spine_mets.cohort.cli",
    "napari_spine_mets.report",
    "napari_spine_mets.report.model",
    "napari_spine_mets.report.text",
    "napari_spine_mets.report.inputs",
    "napari_spine_mets.report.lesion_list",
    "napari_spine_mets.report.drawing",
    "napari_spine_mets.report.images",
    "napari_spine_mets.report.hu_table",
    "napari_spine_mets.report.lesion_table",
    "napari_spine_mets.report.score_table",
    "napari_spine_mets.report.header",
    "napari_spine_mets.report.provenance_table",
    "napari_spine_mets.report.build",
    "napari_spine_mets.report.pdf_layout",
    "napari_spine_mets.report.pdf",
    "napari_spine_mets.report.html_report",
    "napari_spine_mets.report.csv_tables",
    "napari_spine_mets.report.writer",
    "napari_spine_mets.report.cli",
    "napari_spine_mets.overlay",
    "napari_spine_mets.overlay.inputs",
    "napari_spine_mets.overlay.vertebrae",
    "napari_spine_mets.overlay.metrics",
    "napari_spine_mets.overlay.colours",
    "napari_spine_mets.overlay.text",
    "napari_spine_mets.overlay.rois",
]

_BLOCKER = textwrap.dedent(
    """
    import importlib.abc, sys
    BLOCKED = ("napari", "qtpy", "magicgui", "PyQt5", "PyQt6", "PySide2", "PySide6", "vispy")
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"blocked GUI import: {name}")
            return None
    sys.meta_path.insert(0, Block())
    """
)


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _BLOCKER + code], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_imports_without_gui_libraries(module: str) -> None:
    result = _run(f"import {module}")
    assert result.returncode == 0, result.stderr


def test_blocker_really_blocks_gui_imports() -> None:
    result = _run("import napari_spine_mets._napari.case_widget")
    assert result.returncode != 0
    assert "blocked GUI import" in result.stderr


def test_package_import_loads_no_heavy_libraries() -> None:
    code = (
        "import sys, napari_spine_mets\n"
        "heavy = [m for m in ('torch', 'napari', 'qtpy', 'pydicom', 'SimpleITK', 'dask') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert napari_spine_mets.__version__
