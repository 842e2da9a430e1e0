"""Validation figures (matplotlib, Agg backend): ROC, calibration, decision curve, clinical impact.

Every figure carries the model's name, the disclaimer, and for a demonstration model the
label "demonstration — not for clinical use" in red. Each is written as PNG and SVG.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

__all__ = ["nomogram_figures", "survival_figures"]

log = logging.getLogger(__name__)

_COLOURS = {"combined": "#c0392b", "radscore": "#2471a3", "clinical": "#229954"}
_LABELS = {"combined": "combined (nomogram)", "radscore": "Radscore only", "clinical": "clinical only"}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    plt.rcParams["svg.hashsalt"] = "napari-spine-mets"
    return plt


def _decorate(fig: Any, report: dict[str, Any], what: str) -> None:
    import textwrap

    fig.suptitle(what, fontsize=11, fontweight="bold", y=0.99)
    name = textwrap.shorten(str(report["model"]), width=160, placeholder="...")
    fig.text(0.5, 0.945, "\n".join(textwrap.wrap(name, 80)), ha="center", va="top", fontsize=8)
    if report.get("label"):
        fig.text(0.5, 0.87, report["label"], ha="center", va="center", color="#b00020", fontsize=10,
                 fontweight="bold")
    footer = f"{report.get('disclaimer', '')}; validation table: {report.get('table') or '?'} (n = {report.get('n')})"
    fig.text(0.5, 0.012, footer, ha="center", va="bottom", fontsize=7, color="#555555")


def _save(fig: Any, out_dir: Path, stem: str) -> list[Path]:
    plt = _pyplot()
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext in ("png", "svg"):
        path = out_dir / f"{stem}.{ext}"
        fig.savefig(path, dpi=150, metadata={"Date": None} if ext == "svg" else None)
        paths.append(path)
    plt.close(fig)
    log.info("wrote %s.png/.svg", out_dir / stem)
    return paths


def _new(figsize: tuple[float, float] = (6.4, 5.6)) -> tuple[Any, Any]:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=figsize)
    fig.subplots_adjust(top=0.82, bottom=0.13, left=0.13, right=0.96)
    return fig, ax


def nomogram_figures(report: dict[str, Any], out_dir: str | Path) -> list[Path]:
    """ROC, calibration, decision curve and clinical impact curve of an evaluation report."""
    out_dir = Path(out_dir)
    paths: list[Path] = []
    # ROC
    fig, ax = _new()
    for key, roc in report["roc"].items():
        a = report["auc"][key]
        ax.plot(roc["fpr"], roc["tpr"], color=_COLOURS.get(key), lw=2 if key == "combined" else 1.3,
                label=f"{_LABELS.get(key, key)}: AUC {a['auc']:.3f} ({a['ci95'][0]:.3f}-{a['ci95'][1]:.3f})")
    ax.plot([0, 1], [0, 1], ls=":", color="grey", lw=1)
    ax.set(xlabel="1 - specificity", ylabel="sensitivity", xlim=(0, 1), ylim=(0, 1.01), aspect="equal")
    ax.legend(loc="lower right", fontsize=8, title="AUC (95 % CI, DeLong)", title_fontsize=8)
    _decorate(fig, report, "ROC curves")
    paths += _save(fig, out_dir, "roc")
    # Calibration
    fig, ax = _new()
    hl = report["hosmer_lemeshow"]
    xs = [g["mean_predicted"] for g in hl["groups"]]
    ys = [g["observed_rate"] for g in hl["groups"]]
    lo = [g["observed_rate"] - g["observed_rate_ci95"][0] for g in hl["groups"]]
    hi = [g["observed_rate_ci95"][1] - g["observed_rate"] for g in hl["groups"]]
    ax.errorbar(xs, ys, yerr=[lo, hi], fmt="o-", color=_COLOURS["combined"], capsize=3, label="observed (95 % CI)")
    ax.plot([0, 1], [0, 1], ls=":", color="grey", lw=1, label="ideal")
    cal = report.get("calibration", {})
    p_text = "n/a" if hl["p"] is None else f"{hl['p']:.3f}"
    text = f"Hosmer-Lemeshow chi2 = {hl['statistic']:.2f}, df = {hl['dof']}, P = {p_text}"
    if cal.get("slope") is not None:
        text += f"\ncalibration slope {cal['slope']:.2f}, intercept {cal['intercept']:.2f}"
    ax.text(0.03, 0.97, text, transform=ax.transAxes, va="top", fontsize=8)
    ax.set(xlabel="predicted probability (group mean)", ylabel="observed proportion", xlim=(0, 1), ylim=(0, 1),
           aspect="equal")
    ax.legend(loc="lower right", fontsize=8)
    _decorate(fig, report, "calibration (combined model)")
    paths += _save(fig, out_dir, "calibration")
    # Decision curve
    fig, ax = _new()
    dca = report["decision_curve"]
    th = dca["thresholds"]
    ax.plot(th, dca["treat_all"], color="black", lw=1, label="treat all")
    ax.plot(th, dca["treat_none"], color="black", lw=1, ls="--", label="treat none")
    top = max(0.05, dca["prevalence"])
    for key, nb in dca["models"].items():
        ax.plot(th, nb, color=_COLOURS.get(key), lw=2 if key == "combined" else 1.3, label=_LABELS.get(key, key))
        top = max(top, max(nb))
    ax.set(xlabel="threshold probability", ylabel="net benefit", xlim=(0, 1), ylim=(-0.05, top * 1.1))
    ax.legend(loc="upper right", fontsize=8)
    _decorate(fig, report, "decision curve analysis")
    paths += _save(fig, out_dir, "decision_curve")
    # Clinical impact
    fig, ax = _new()
    ci = report["clinical_impact"]
    ax.plot(ci["thresholds"], ci["n_high_risk"], color=_COLOURS["combined"], lw=2, label="number high risk")
    ax.plot(ci["thresholds"], ci["n_high_risk_with_event"], color=_COLOURS["radscore"], lw=1.5, ls="--",
            label="number high risk with event")
    ax.set(xlabel="threshold probability", ylabel=f"number per {ci['population']:,}", xlim=(0, 1),
           ylim=(0, ci["population"] * 1.02))
    ax.legend(loc="upper right", fontsize=8)
    _decorate(fig, report, "clinical impact curve (combined model)")
    paths += _save(fig, out_dir, "clinical_impact")
    return paths


def survival_figures(report: dict[str, Any], out_dir: str | Path) -> list[Path]:
    """Calibration at each horizon and time-dependent AUC with CIs."""
    plt = _pyplot()
    out_dir = Path(out_dir)
    paths: list[Path] = []
    cal = report["calibration"]
    if cal:
        fig, axes = plt.subplots(1, len(cal), figsize=(4.2 * len(cal), 4.8), squeeze=False)
        fig.subplots_adjust(top=0.76, bottom=0.16, left=0.07, right=0.98, wspace=0.3)
        for ax, (key, c) in zip(axes[0], cal.items()):
            xs = [g["predicted_survival"] for g in c["groups"]]
            ys = [g["observed_survival_km"] for g in c["groups"]]
            lo = [max(0.0, y - g["observed_ci95"][0]) for y, g in zip(ys, c["groups"])]
            hi = [max(0.0, g["observed_ci95"][1] - y) for y, g in zip(ys, c["groups"])]
            ax.errorbar(xs, ys, yerr=[lo, hi], fmt="o-", color=_COLOURS["combined"], capsize=3)
            ax.plot([0, 1], [0, 1], ls=":", color="grey", lw=1)
            ax.set(title=key.replace("_", " "), xlabel="predicted survival", ylabel="observed (Kaplan-Meier)",
                   xlim=(0, 1), ylim=(0, 1), aspect="equal")
        _decorate(fig, report, "calibration of predicted survival")
        paths += _save(fig, out_dir, "survival_calibration")
    fig, ax = _new((6.0, 4.8))
    keys = [k for k, v in report["time_dependent_auc"].items() if v["value"] is not None]
    for i, key in enumerate(keys):
        v = report["time_dependent_auc"][key]
        ci = v["ci95"] or [v["value"], v["value"]]
        ax.errorbar([i], [v["value"]], yerr=[[v["value"] - ci[0]], [ci[1] - v["value"]]], fmt="o",
                    color=_COLOURS["combined"], capsize=4)
        ax.annotate(f"{v['value']:.3f}", (i, v["value"]), textcoords="offset points", xytext=(8, 0), fontsize=8)
    ax.axhline(0.5, ls=":", color="grey", lw=1)
    c = report["c_index"]
    ax.set(xticks=range(len(keys)), xticklabels=[k.replace("_", " ") for k in keys], ylim=(0.4, 1.0),
           xlim=(-0.5, len(keys) - 0.5), ylabel="time-dependent AUC (95 % CI)",
           title=f"Harrell's C = {c['value']:.3f}" + (f" ({c['ci95'][0]:.3f}-{c['ci95'][1]:.3f})" if c["ci95"] else ""))
    ax.title.set_fontsize(9)
    _decorate(fig, report, "discrimination")
    paths += _save(fig, out_dir, "survival_auc")
    return paths
