"""Generated LaTeX for the paper: the claims table and every number the text quotes.

    python -m separations.report --input metrics=results/cpu/metrics.parquet --sweep cpu \\
        --outdir paper/generated

``numbers.tex`` defines ``\\result{key}`` values (the paper writes ``\\result{n-jobs}``, never a
typed number); ``claims.tex`` is the claims table with verdicts computed by
:mod:`separations.claims`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from . import cost
from .claims import DEFAULT_SETTINGS, VERDICTS, evaluate
from .claims.base import protocol_for
from .results import add_input_option, git_commit, load_results, write_atomic
from .summary import cells, runs
from .tables import RESULT_SCHEMAS

LATEX_SPECIAL = {
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\~{}",
    "^": r"\^{}",
}


def tex(text: str) -> str:
    """Escape LaTeX specials, except in text that is already LaTeX (contains a backslash)."""
    if "\\" in text:
        return text
    return "".join(LATEX_SPECIAL.get(c, c) for c in str(text))


def numbers(
    results: dict[str, pd.DataFrame], sweep: str, settings: dict | None = None, verdicts=None
) -> dict[str, str]:
    """Every number the paper quotes, by key (``verdicts``: :func:`claims.evaluate`'s, if known)."""
    settings = settings or DEFAULT_SETTINGS
    out = {"sweep": sweep, "build-commit": tex(short_commit(git_commit()))}
    verdicts = verdicts if verdicts is not None else evaluate(results, settings)
    for claim, verdict in verdicts:
        out[f"verdict-{claim.id}"] = verdict.verdict
        out.update({f"{claim.id}-{k}": v for k, v in verdict.numbers.items()})
    out.update(scorecard_counts(verdicts))
    out["near-perfect-paper1"] = f"{100 * settings['near_perfect']['paper1']:g}\\%"
    out["near-perfect-paper2"] = f"{100 * settings['near_perfect']['paper2']:g}\\%"
    out["confidence"] = f"{100 * settings['confidence']:g}\\%"
    out["min-seeds"] = str(settings["min_seeds"])
    out["min-learning-rates"] = str(settings["min_learning_rates"])
    for name, table in results.items():
        if "git_commit" in table.columns:
            out[f"commit-{name}"] = tex(table_commits(table))
    if "metrics" in results:
        out.update(training_numbers(results["metrics"], protocol_for(settings)))
    return out


def table_commits(table) -> str:
    """The commits a result table came from; a table read from several sweeps' files says each
    sweep's (``a2485d6febbf (cpu), 018aa6549643 (cpu_small)``)."""
    sweeps = sorted(set(table["sweep"].dropna())) if "sweep" in table.columns else []
    if len(sweeps) < 2:
        return ", ".join(short_commit(c) for c in sorted(set(table["git_commit"])))
    parts = []
    for sweep in sweeps:
        commits = sorted(set(table.loc[table["sweep"] == sweep, "git_commit"]))
        parts.append(f"{', '.join(short_commit(c) for c in commits)} ({sweep})")
    return ", ".join(parts)


def short_commit(commit: str) -> str:
    """A commit's first 12 digits, keeping the ``-dirty`` mark."""
    return commit[:12] + ("-dirty" if commit.endswith("-dirty") else "")


def scorecard_counts(verdicts) -> dict[str, str]:
    """How many claims got each verdict (the abstract and the conclusion quote these)."""
    out = {"n-claims": str(len(verdicts))}
    for name in VERDICTS:
        count = sum(1 for _, v in verdicts if v.verdict == name)
        out[f"count-{name.replace(' ', '-')}"] = str(count)
    return out


def training_numbers(metrics: pd.DataFrame, protocol=None) -> dict[str, str]:
    """Size, cost, protocol and provenance of the training sweep, and each cell's score."""
    per_run = runs(metrics, protocol)
    table = cells(metrics, protocol)
    commits = sorted(set(metrics["git_commit"]))
    saved = 1 - table["steps_run"].sum() / table["steps_full"].sum() if len(table) else 0.0
    out = {
        "n-jobs": str(metrics["job"].nunique()),
        "n-runs": str(len(per_run)),
        "n-pruned": str(int(per_run["pruned"].sum())),
        "n-evals": str(len(metrics)),
        "train-steps": f"{int(per_run['last_step'].sum()):,}",
        "train-steps-full": f"{int(table['steps_full'].sum()):,}",
        "steps-saved": f"{100 * saved:.0f}\\%",
        "train-hours": f"{per_run['wall_time'].sum() / 3600:.2f}",
        "threshold": f"{100 * float(metrics['threshold'].max()):g}\\%",
        "stop-threshold": f"{100 * float(metrics['stop_threshold'].max()):g}\\%",
        "git-commit": tex(", ".join(short_commit(c) for c in commits)),
        "torch-version": tex(", ".join(sorted(set(metrics["torch_version"])))),
        "devices": ", ".join(sorted(set(metrics["device"]))),
        "cpu-models": tex("; ".join(sorted(set(metrics["cpu_model"])))),
        "cpu-capability": tex(", ".join(sorted(set(metrics["cpu_capability"])))),
        "threads": ", ".join(str(t) for t in sorted(set(metrics["threads"]))),
        "max-steps": f"{int(metrics['max_steps'].max()):,}",
        "step-caps": ", ".join(f"{int(c):,}" for c in sorted(set(metrics["max_steps"]))),
        "batch-size": ", ".join(str(b) for b in sorted(set(metrics["batch_size"]))),
        "n-seeds": str(metrics["seed"].nunique()),
        "learning-rates": ", ".join(f"{lr:g}" for lr in sorted(set(metrics["lr"]))),
        "lengths": ", ".join(str(n) for n in sorted(set(metrics["length"]))),
        "val-size": ", ".join(f"{int(n):,}" for n in sorted(set(metrics["val_size"]))),
        "test-size": ", ".join(f"{int(n):,}" for n in sorted(set(metrics["test_size"]))),
    }
    for task, chance in metrics.groupby("task")["chance"].max().items():
        out[f"chance-{task}"] = f"{100 * chance:.1f}\\%"
    for row in table.itertuples():
        key = f"{row.task}-{row.model}-d{row.depth}-w{row.width}-N{row.length}"
        out[f"acc-{key}"] = f"{100 * row.acc:.1f}\\%"
        out[f"ci-{key}"] = f"[{100 * row.low:.1f}, {100 * row.high:.1f}]"
        out[f"status-{key}"] = row.status
        out[f"lr-{key}"] = f"{row.best_lr:g}"
        out[f"solved-step-{key}"] = (
            f"{int(row.solved_step):,}" if row.solved_step == row.solved_step else "never"
        )
    return out


def numbers_tex(values: dict[str, str]) -> str:
    lines = [
        "% Generated by separations.report from the aggregated metrics. Do not edit.",
        r"\providecommand{\result}[1]{\ifcsname res@#1\endcsname\csname res@#1\endcsname"
        r"\else\textbf{n/a}\PackageWarning{results}{This sweep has no value named #1}\fi}",
    ]
    for key, value in sorted(values.items()):
        lines.append(rf"\expandafter\def\csname res@{key}\endcsname{{{value}}}")
    return "\n".join(lines) + "\n"


SCORECARD_COLUMNS = (
    r">{\raggedright\arraybackslash}p{0.16\linewidth}"
    r">{\raggedright\arraybackslash}p{0.17\linewidth}"
    r">{\raggedright\arraybackslash}p{0.27\linewidth}"
    r">{\raggedright\arraybackslash}p{0.12\linewidth}"
    r">{\raggedright\arraybackslash}p{0.16\linewidth}"
)


def claims_tex(
    results: dict[str, pd.DataFrame], settings: dict | None = None, verdicts=None
) -> str:
    """The scorecard: one row per claim of both papers and the constructions, across pages."""
    settings = settings or DEFAULT_SETTINGS
    verdicts = verdicts if verdicts is not None else evaluate(results, settings)
    header = (
        r"\textbf{claim} & \textbf{the paper reports} & \textbf{our evidence (test accuracy, "
        r"interval)} & \textbf{budget} & \textbf{verdict, reason} \\ \midrule"
    )
    rows = []
    for claim, verdict in verdicts:
        threshold = ""
        if claim.id.startswith(("P1-", "P2-")):
            paper = "paper1" if claim.id.startswith("P1-") else "paper2"
            threshold = rf" (threshold {100 * settings['near_perfect'][paper]:g}\%)"
        reason = rf"; {tex(verdict.reason)}" if verdict.reason else ""
        rows.append(
            rf"\textbf{{{claim.id}}}: {tex(claim.statement)} & {tex(claim.paper)} & "
            rf"{tex(verdict.ours)} & {verdict.budget or '--'} & "
            rf"\textbf{{{verdict.verdict}}}{threshold}{reason} \\ \midrule"
        )
    return (
        "\n".join(
            [
                "% Generated by separations.report: verdicts computed from results. Do not edit.",
                rf"\begin{{longtable}}{{@{{}}{SCORECARD_COLUMNS}@{{}}}}",
                r"\toprule",
                header,
                r"\endfirsthead",
                header,
                r"\endhead",
                *rows,
                r"\end{longtable}",
            ]
        )
        + "\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m separations.report", description=__doc__)
    add_input_option(parser)
    parser.add_argument("--sweep", required=True, help="the training sweep reported")
    parser.add_argument("--outdir", required=True)
    parser.add_argument(
        "--verdicts",
        help="the verdict settings as JSON (config.yaml `verdicts`; default: built in)",
    )
    parser.add_argument(
        "--cost-config",
        help="config.yaml's parts the GPU-hours estimate of the `paper` sweep reads, as JSON "
        "(separations.cost.config_part); without it the paper's gpu-hours-* values are absent",
    )
    args = parser.parse_args(argv)
    results = load_results(args.input, RESULT_SCHEMAS)
    settings = json.loads(args.verdicts) if args.verdicts else DEFAULT_SETTINGS
    verdicts = evaluate(results, settings)  # once: both files read the same verdicts
    values = numbers(results, args.sweep, settings, verdicts)
    if args.cost_config:
        values.update(cost.numbers(cost.sweep_estimates(json.loads(args.cost_config), "paper")))
    out = Path(args.outdir)
    for name, text in [
        ("numbers.tex", numbers_tex(values)),
        ("claims.tex", claims_tex(results, settings, verdicts)),
    ]:
        write_atomic(out / name, lambda tmp, text=text: Path(tmp).write_text(text))
        print(f"wrote {out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
