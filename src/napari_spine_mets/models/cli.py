"""``spine-mets nomogram ...`` and ``spine-mets survival ...``: fit, evaluate, apply.

Only argparse is imported at module level (the CLI's start-up stays quick); printing
happens only here, never in the library functions.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["register"]


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``nomogram`` and ``survival`` subcommands."""
    _register_nomogram(subparsers)
    _register_survival(subparsers)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON instead of text")


def _table_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--id-column", default=None, help="column identifying rows (named in error messages)")
    p.add_argument("--missing", choices=("error", "drop", "median"), default="error",
                   help="missing values: refuse (default), drop incomplete rows, or fill with the median; "
                        "dropping or filling is recorded in the model file / report")


def _command(subparsers: Any, name: str, help_text: str, description: str) -> Any:
    """``spine-mets NAME ACTION``: the command's parser; returns its (required) ACTION sub-parsers."""
    parser = subparsers.add_parser(name, help=help_text, description=f"{description} Decision support, not a diagnosis.")
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    return sub


def _table_action(p: argparse.ArgumentParser, handler: Callable[[argparse.Namespace], int]) -> None:
    """Last options of an action that reads a table (``fit``, ``evaluate``), and its handler."""
    _table_options(p)
    _common(p)
    p.set_defaults(handler=handler)


def _add_evaluate(sub: Any, help_text: str) -> argparse.ArgumentParser:
    """The ``evaluate`` action's positional arguments and ``--out`` (the same for both model kinds)."""
    ev = sub.add_parser("evaluate", help=help_text)
    ev.add_argument("model", type=Path)
    ev.add_argument("table", type=Path)
    ev.add_argument("--out", type=Path, required=True, help="folder for metrics.json, figures (PNG+SVG) and "
                                                             "model_with_validation.json")
    return ev


def _add_apply(sub: Any, help_text: str, handler: Callable[[argparse.Namespace], int]) -> None:
    """The ``apply`` action: one model file on one case (the same arguments for both model kinds)."""
    ap = sub.add_parser("apply", help=help_text)
    ap.add_argument("model", type=Path)
    ap.add_argument("case", type=Path, help="case folder, or a one-row CSV / JSON of values")
    ap.add_argument("--roi", type=int, default=None, help="ROI whose measurements are the features")
    _common(ap)
    ap.set_defaults(handler=handler)


def _register_nomogram(subparsers: Any) -> None:
    sub = _command(subparsers, "nomogram", "radiomics nomograms: fit, evaluate, apply",
                   "LASSO Radscore + clinical logistic nomograms on your own cohort.")
    fit = sub.add_parser("fit", help="fit a nomogram on a training table")
    fit.add_argument("table", type=Path, help="feature table (CSV/TSV/JSON), one row per lesion or patient")
    fit.add_argument("--outcome", required=True, help="0/1 outcome column")
    fit.add_argument("--clinical", nargs="*", default=[], metavar="TERM",
                     help="clinical terms: COLUMN, COLUMN>VALUE (also >=, <, <=) or COLUMN=LEVEL, "
                          "e.g. age_years>60 alp_u_per_l>120")
    fit.add_argument("--features", nargs="*", default=None, metavar="COL",
                     help="radiomics feature columns (default: every other column)")
    fit.add_argument("--exclude", nargs="*", default=[], metavar="COL", help="columns that are not features")
    fit.add_argument("--feature-settings", type=Path, default=None,
                     help="JSON of the settings the features were computed with (default: TABLE.settings.json)")
    fit.add_argument("--lambda-rule", choices=("1se", "min"), default="1se", help="LASSO lambda (default 1se)")
    fit.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    fit.add_argument("--seed", type=int, default=0, help="seed of the CV split (default 0)")
    fit.add_argument("--no-lasso", action="store_true", help="no feature selection (unpenalised; needs n >> p)")
    fit.add_argument("--threshold", default="0.5", help="probability threshold, or 'youden' (default 0.5)")
    fit.add_argument("--name", default=None, help="model name (default: from the output file)")
    fit.add_argument("--out", type=Path, required=True, help="model file to write (JSON)")
    _table_action(fit, _nomogram_fit)
    ev = _add_evaluate(sub, "validation metrics and figures on a table")
    ev.add_argument("--hl-groups", type=int, default=10, help="Hosmer-Lemeshow groups (default 10)")
    _table_action(ev, _nomogram_evaluate)
    _add_apply(sub, "probability and points of one case", _nomogram_apply)


def _register_survival(subparsers: Any) -> None:
    sub = _command(subparsers, "survival", "Cox survival models: fit, evaluate, apply",
                   "Cox proportional-hazards models on your own cohort.")
    fit = sub.add_parser("fit", help="fit a Cox model on a cohort table")
    fit.add_argument("table", type=Path)
    fit.add_argument("--time", required=True, help="follow-up time column")
    fit.add_argument("--event", required=True, help="1 = event (death), 0 = censored")
    fit.add_argument("--covariates", nargs="+", required=True, metavar="TERM",
                     help="covariate terms: COLUMN, COLUMN>VALUE or COLUMN=LEVEL")
    fit.add_argument("--time-unit", choices=("months", "days"), default="months")
    fit.add_argument("--penalizer", type=float, default=0.0, help="ridge penalty (lifelines), default 0")
    fit.add_argument("--bootstrap", type=int, default=200, help="bootstrap resamples for CIs (default 200)")
    fit.add_argument("--seed", type=int, default=0)
    fit.add_argument("--feature-settings", type=Path, default=None,
                     help="JSON of the settings imaging features were computed with (default: TABLE.settings.json)")
    fit.add_argument("--name", default=None)
    fit.add_argument("--out", type=Path, required=True)
    _table_action(fit, _survival_fit)
    ev = _add_evaluate(sub, "C-index, time-dependent AUC and calibration on a table")
    ev.add_argument("--bootstrap", type=int, default=200)
    ev.add_argument("--seed", type=int, default=0)
    _table_action(ev, _survival_evaluate)
    _add_apply(sub, "predicted survival of one case with each variable's contribution", _survival_apply)


# --------------------------------------------------------------------------- handlers
def _banner(doc: dict[str, Any]) -> list[str]:
    lines = [f"model: {doc['name']}"]
    if doc.get("label"):
        lines.append(f"*** {doc['label'].upper()} ***")
    lines.append(f"({doc['disclaimer']})")
    return lines


def _fmt_ci(d: dict[str, Any], key: str = "auc") -> str:
    ci = d.get("ci95")
    return f"{d[key]:.3f}" + (f" (95% CI {ci[0]:.3f}-{ci[1]:.3f})" if ci else "")


def _write_json(path: Path, doc: Any) -> None:
    from ..io.atomic import atomic_write_text
    from .model_file import dumps_model

    atomic_write_text(path, dumps_model(doc))


def _print_json(args: argparse.Namespace, doc: Any) -> bool:
    """Print ``doc`` as JSON when ``--json`` was given; True then (the handler prints nothing else)."""
    if args.json:
        print(json.dumps(doc, indent=2))
    return bool(args.json)


def _saved_fit(args: argparse.Namespace, doc: dict[str, Any], coefficients: Any) -> bool:
    """Write the fitted model to ``--out``; True when ``--json`` printed its summary instead of the text."""
    from .model_file import save_model

    save_model(doc, args.out)
    return _print_json(args, {"model": str(args.out), "training": doc["training"], "coefficients": coefficients})


def _nomogram_fit(args: argparse.Namespace) -> int:
    from .nomogram import fit_nomogram
    from .table import parse_term, read_table, table_feature_settings

    frame = read_table(args.table)
    settings = table_feature_settings(args.table, frame, args.feature_settings)
    clinical = [parse_term(t) for t in args.clinical]
    features = args.features
    if features is None and args.exclude:
        from .nomogram import default_feature_columns

        features = default_feature_columns(frame, [args.outcome, args.id_column or ""] + args.exclude
                                           + [t.column for t in clinical])
    threshold: Any = args.threshold if args.threshold == "youden" else float(args.threshold)
    doc = fit_nomogram(frame, outcome=args.outcome, clinical=clinical, features=features,
                       name=args.name or args.out.stem, feature_settings=settings, lasso=not args.no_lasso,
                       rule=args.lambda_rule, folds=args.folds, seed=args.seed, threshold=threshold,
                       missing=args.missing, id_column=args.id_column, source=args.table)
    if _saved_fit(args, doc, doc["model"]["logistic"]["table"]):
        return 0
    m = doc["model"]
    lines = _banner(doc) + [f"wrote {args.out}", f"training rows: {doc['training']['n']} "
                                                 f"({doc['training']['n_events']} with outcome = 1)"]
    if m["radiomics"] is not None:
        lines.append(f"Radscore: {len(m['radiomics']['features'])} of {doc['training'].get('n_candidate_features')} "
                     f"features selected ({m['radiomics']['selection']}): {', '.join(m['radiomics']['features'])}")
    for row in m["logistic"]["table"]:
        odds = f"  OR {row['odds_ratio']:.3g}" if row["odds_ratio"] is not None else ""
        lines.append(f"  {row['term']:<24} {row['coef']:+.4f} (SE {row['se']:.4f}, 95% CI {row['ci95'][0]:+.3f} "
                     f"to {row['ci95'][1]:+.3f}){odds}  p={row['p']:.3g}")
    for key, a in doc["training"]["apparent"].items():
        if isinstance(a, dict):
            lines.append(f"apparent AUC {key}: {_fmt_ci(a)} (training set: optimistic)")
    print("\n".join(lines))
    return 0


Report = dict[str, Any]


def _evaluate(args: argparse.Namespace, evaluate: Callable[..., Report],
              figures_for: Callable[[Report, Path], list[Path]], validation: Callable[[Report], Any],
              summary: Callable[[Report], dict[str, Any]], details: Callable[[Report], list[str]]) -> int:
    """``evaluate`` of either model kind: metrics.json, figures and model_with_validation.json in ``--out``.

    ``evaluate(doc, frame, **table options)`` computes the report; ``validation`` gives what the
    model file keeps of it; ``summary`` adds to the JSON output and ``details`` to the text.
    """
    from .model_file import load_model, save_model
    from .table import read_table

    doc = load_model(args.model)
    frame = read_table(args.table)
    report = evaluate(doc, frame, source=args.table, id_column=args.id_column, missing=args.missing)
    args.out.mkdir(parents=True, exist_ok=True)
    _write_json(args.out / "metrics.json", report)
    figures = figures_for(report, args.out)
    save_model(dict(doc, validation=validation(report)), args.out / "model_with_validation.json")
    if _print_json(args, {"metrics": str(args.out / "metrics.json"), "figures": [str(p) for p in figures],
                          **summary(report)}):
        return 0
    lines = _banner(doc) + [f"validation table: {args.table} ({report['n']} rows, {report['n_events']} events)"]
    lines += details(report)
    lines.append(f"wrote {args.out}/metrics.json, model_with_validation.json and {len(figures)} figure files")
    print("\n".join(lines))
    return 0


def _nomogram_evaluate(args: argparse.Namespace) -> int:
    from functools import partial

    from .nomogram import evaluate_nomogram, validation_summary
    from .plots import nomogram_figures

    return _evaluate(args, partial(evaluate_nomogram, hl_groups=args.hl_groups), nomogram_figures,
                     validation_summary, lambda r: {"auc": r["auc"], "delong": r["delong"],
                                                    "hosmer_lemeshow_p": r["hosmer_lemeshow"]["p"]},
                     _nomogram_metric_lines)


def _nomogram_metric_lines(report: Report) -> list[str]:
    lines = [f"AUC {key}: {_fmt_ci(a)}" for key, a in report["auc"].items()]
    for t in report["delong"]:
        lines.append(f"DeLong {t['a']} vs {t['b']}: difference {t['difference']:+.3f}, p = {t['p']:.3g}")
    c = report["at_threshold"]["combined"]
    rates = ", ".join(f"{k} {c[k]:.3f}" if c[k] is not None else f"{k} n/a"
                      for k in ("accuracy", "sensitivity", "specificity", "ppv", "npv"))
    lines.append(f"at threshold {c['threshold']:g}: {rates}")
    hl = report["hosmer_lemeshow"]
    lines.append(f"Hosmer-Lemeshow chi2 {hl['statistic']:.2f} (df {hl['dof']}), p = "
                 + ("n/a" if hl["p"] is None else f"{hl['p']:.3g}"))
    return lines


def _apply(args: argparse.Namespace, kind: str, other: str, apply: Callable[..., dict[str, Any]],
           details: Callable[[dict[str, Any]], list[str]]) -> int:
    """``apply`` of either model kind: the model file (refused when it is the other kind) on one case."""
    from .case_inputs import read_case_inputs
    from .errors import ModelFileError
    from .model_file import load_model

    doc = load_model(args.model)
    if doc["kind"] != kind:
        raise ModelFileError(args.model, f"is a {doc['kind']} model; use 'spine-mets {other} apply'")
    case = read_case_inputs(args.case, args.roi)
    result = apply(doc, case.values, settings=case.settings, settings_sha256=case.settings_sha256,
                   source=case.source)
    result["case"] = case.source
    if _print_json(args, result):
        return 0
    lines = _banner(doc) + [f"case: {case.source}"] + details(result) + [f"note: {n}" for n in result["notes"]]
    print("\n".join(lines))
    return 0


def _nomogram_apply(args: argparse.Namespace) -> int:
    from .nomogram import apply_nomogram

    return _apply(args, "logistic_nomogram", "survival", apply_nomogram, _nomogram_points_lines)


def _nomogram_points_lines(result: dict[str, Any]) -> list[str]:
    lines = [f"predicted probability of {result['outcome']} = 1: {result['probability']:.3f} "
             f"({'at or above' if result['above_threshold'] else 'below'} the model's threshold "
             f"{result['threshold']:g})", "nomogram points:"]
    for row in result["terms"]:
        lines.append(f"  {row['term']:<24} value {row['value']:<10.4g} points {row['points']:6.1f}"
                     f"  (logit {row['logit_contribution']:+.3f}){'  !' if 'note' in row else ''}")
    lines.append(f"  total points {result['total_points']:.1f}; linear predictor {result['linear_predictor']:+.3f}")
    return lines


def _survival_fit(args: argparse.Namespace) -> int:
    from .survival import fit_cox
    from .table import parse_term, read_table, table_feature_settings

    frame = read_table(args.table)
    settings = table_feature_settings(args.table, frame, args.feature_settings)
    doc = fit_cox(frame, duration=args.time, event=args.event, covariates=[parse_term(t) for t in args.covariates],
                  time_unit=args.time_unit, name=args.name or args.out.stem, penalizer=args.penalizer,
                  n_boot=args.bootstrap, seed=args.seed, missing=args.missing, id_column=args.id_column,
                  source=args.table, feature_settings=settings)
    if _saved_fit(args, doc, doc["model"]["table"]):
        return 0
    tr = doc["training"]
    lines = _banner(doc) + [f"wrote {args.out}", f"training rows: {tr['n']} ({tr['n_events']} events)"]
    for row in doc["model"]["table"]:
        lines.append(f"  {row['term']:<24} HR {row['hazard_ratio']:.3f} (95% CI {row['hr_ci95'][0]:.3f}-"
                     f"{row['hr_ci95'][1]:.3f})  p={row['p']:.3g}")
    lines.append(f"apparent C-index: {_fmt_ci(tr['apparent']['c_index'], 'value')} (training set: optimistic)")
    if "warning" in tr:
        lines.append(f"warning: {tr['warning']}")
    print("\n".join(lines))
    return 0


def _survival_evaluate(args: argparse.Namespace) -> int:
    from functools import partial

    from .plots import survival_figures
    from .survival import evaluate_cox

    return _evaluate(args, partial(evaluate_cox, n_boot=args.bootstrap, seed=args.seed), survival_figures,
                     lambda r: r, lambda r: {"c_index": r["c_index"], "time_dependent_auc": r["time_dependent_auc"]},
                     _survival_metric_lines)


def _survival_metric_lines(report: Report) -> list[str]:
    lines = [f"C-index: {_fmt_ci(report['c_index'], 'value')}"]
    for key, v in report["time_dependent_auc"].items():
        lines.append(f"time-dependent AUC at {key.replace('_', ' ')}: "
                     + (_fmt_ci(v, "value") if v["value"] is not None else v.get("note", "n/a")))
    return lines


def _survival_apply(args: argparse.Namespace) -> int:
    from .survival import apply_cox

    return _apply(args, "cox_survival", "nomogram", apply_cox, _survival_lines)


def _survival_lines(result: dict[str, Any]) -> list[str]:
    lines = ["predicted survival probability:"]
    lines += [f"  {k.replace('_', ' ')}: {v:.3f}" for k, v in result["survival_probability"].items()]
    lines.append("contributions to the log hazard (vs the training cohort's average patient):")
    for row in result["contributions"]:
        lines.append(f"  {row['variable']:<24} value {row['value']:<10.4g} {row['log_hazard_contribution']:+.3f} "
                     f"(x{row['hazard_factor']:.2f} hazard){'  !' if 'note' in row else ''}")
    lines.append(f"  linear predictor {result['linear_predictor']:+.3f}")
    return lines
