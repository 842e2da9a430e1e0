"""Pieces every dock starts with: the decision-support notice and the run / cancel / progress row."""

from __future__ import annotations

from qtpy.QtWidgets import QBoxLayout, QHBoxLayout, QLabel, QProgressBar, QPushButton

from ..display import DECISION_SUPPORT_NOTICE

__all__ = ["add_notice", "add_run_row"]


def add_notice(layout: QBoxLayout, extra: str = "") -> QLabel:
    """The decision-support notice at the top of a dock (every figure is support, not a diagnosis)."""
    notice = QLabel(DECISION_SUPPORT_NOTICE + (" " + extra if extra else ""))
    notice.setWordWrap(True)
    layout.addWidget(notice)
    return notice


def add_run_row(layout: QBoxLayout, run_text: str) -> tuple[QPushButton, QPushButton, QProgressBar]:
    """A run button, a cancel button (enabled while the work runs) and a 0-100 % progress bar."""
    row = QHBoxLayout()
    run_button = QPushButton(run_text)
    cancel_button = QPushButton("Cancel")
    cancel_button.setEnabled(False)
    row.addWidget(run_button)
    row.addWidget(cancel_button)
    layout.addLayout(row)
    progress = QProgressBar()
    progress.setRange(0, 100)
    layout.addWidget(progress)
    return run_button, cancel_button, progress
