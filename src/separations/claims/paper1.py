"""Paper 1's claims (Bhattamishra et al., 2024), checked on the training metrics.

Each claim is one statement of the paper, decided by the rules of :mod:`.rules` on the cells of
:func:`separations.summary.cells` (test accuracy at the validation-chosen learning rate and
checkpoint, mean over seeds, with its interval). Which cells a claim uses is written next to it;
the scorecard lists them.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from ..families import FAMILIES
from ..summary import cells, short_label
from .base import (
    INCONCLUSIVE,
    NOT_REPRODUCED,
    NOT_TESTED,
    REPRODUCED,
    Claim,
    Evidence,
    Outcome,
    Verdict,
    pct,
    protocol_for,
    rules_for,
)
from .rules import decided_by_any, every, protocol_problem, separation, succeeds

#: the paper: recurrent models "degrade beyond N≈100"; cells from this N on test that part
RECURRENT_FAILS_FROM = 100
#: the paper: the 1-layer Transformer solves bounded Dyck "up to N = 100", struggles above
ONE_LAYER_DYCK_UP_TO = 100


def is_recurrent(model: str) -> bool:
    return model in FAMILIES and FAMILIES[model].recurrent


def task_cells(results: Mapping[str, pd.DataFrame], task: str, settings) -> pd.DataFrame:
    """The cells of ``task`` (cached per table: several claims read the same task)."""
    metrics = results["metrics"]
    cache = results.get("_cells", {})  # claims.evaluate shares one cache among the claims
    if task not in cache:
        cache[task] = cells(metrics[metrics["task"] == task], protocol_for(settings))
    return cache[task]


def evidence(row) -> Evidence:
    return Evidence.of_cell(row, f"{row.label}, N = {int(row.length)}")


def recurrent(table: pd.DataFrame) -> pd.DataFrame:
    """The cells of recurrent families."""
    return table[table["model"].map(is_recurrent).astype(bool)]


def select(table: pd.DataFrame, model: str | None = None, depth=None, width=None):
    rows = table
    if model is not None:
        rows = rows[rows["model"] == model]
    if depth is not None:
        rows = rows[rows["depth"] == depth]
    if width is not None:
        rows = rows[rows["width"] == width]
    return rows


def one(table: pd.DataFrame, length: int) -> Evidence | None:
    """The best cell of ``table`` at ``length`` (over heads), or None."""
    rows = table[table["length"] == length]
    if rows.empty:
        return None
    return evidence(rows.sort_values("acc").iloc[-1])


def budget(used: pd.DataFrame) -> str:
    """Step caps × learning rates × seeds of the cells used, and their CPU minutes."""
    if used.empty:
        return ""
    caps = ", ".join(f"{c:,}" for c in sorted(set(used["max_steps"])))
    lrs = "/".join(str(n) for n in sorted(set(used["n_lrs"])))
    seeds = "/".join(str(n) for n in sorted(set(used["seeds"])))
    minutes = used["wall_time"].sum() / 60
    return f"{caps} steps $\\times$ {lrs} lr $\\times$ {seeds} seeds; {minutes:.0f} CPU-min"


def verdict(outcome: Outcome, used: pd.DataFrame, context: pd.DataFrame | None = None, **numbers):
    """The claim's verdict; ``context`` cells are listed in the evidence but decide nothing."""
    ours = "; ".join(outcome.cells)
    if context is not None and not context.empty:
        extra = "; ".join(evidence(r).text() for r in context.itertuples())
        ours = f"{ours}; context: {extra}" if ours else f"context: {extra}"
    shown = pd.concat([used, context]) if context is not None else used
    return Verdict.of(outcome, numbers, budget(shown), ours)


def idx_transformer(results, settings=None) -> Verdict:
    """P1-IDX-TF: TF-(1, 64) is near-perfect at every N."""
    rules = rules_for(settings, "paper1")
    tf = select(task_cells(results, "idxl", settings), "transformer", 1, 64)
    outcomes = [succeeds(one(tf, n), rules) for n in sorted(set(tf["length"]))]
    numbers = {f"acc-N{int(r.length)}": pct(r.acc) for r in tf.itertuples()}
    if not outcomes:
        outcomes = [Outcome(NOT_TESTED, "the sweep has no TF-(1, 64) Index Lookup cells")]
    return verdict(every(outcomes), tf, **numbers)


def idx_recurrent(results, settings=None) -> Verdict:
    """P1-IDX-RNN: from N≈100 on, recurrent models fail where TF-(1, 64) succeeds."""
    rules = rules_for(settings, "paper1")
    table = task_cells(results, "idxl", settings)
    tf = select(table, "transformer", 1, 64)
    rnn = recurrent(table[table["length"] >= RECURRENT_FAILS_FROM])
    outcomes = [separation(one(tf, int(r.length)), evidence(r), rules) for r in rnn.itertuples()]
    used = pd.concat([rnn, tf[tf["length"].isin(set(rnn["length"]))]])
    shorter = recurrent(table[table["length"] < RECURRENT_FAILS_FROM])
    return verdict(decided_by_any(outcomes), used, shorter)


def mamba_width(results, settings=None) -> Verdict:
    """P1-MAMBA-WIDTH: the Mamba width needed grows with N (2-layer Mamba, several widths)."""
    rules = rules_for(settings, "paper1")
    mamba = select(task_cells(results, "idxl", settings), "mamba", 2)
    lengths = [n for n, g in mamba.groupby("length") if g["width"].nunique() >= 2]
    if len(lengths) < 2:
        outcome = Outcome(NOT_TESTED, "the sweep lacks 2-layer Mambas of two widths at two N")
        return verdict(outcome, mamba)
    need = {}
    for n in lengths:
        rows = mamba[mamba["length"] == n].sort_values("width")
        solved = [
            r for r in rows.itertuples() if succeeds(evidence(r), rules).verdict == REPRODUCED
        ]
        need[n] = int(solved[0].width) if solved else None
    cells_text = tuple(evidence(r).text() for r in mamba.itertuples())
    short, long = min(lengths), max(lengths)
    if need[short] is None:
        outcome = Outcome(INCONCLUSIVE, f"no Mamba width solves N = {short}", cells_text)
    elif need[long] is None:
        # no width solves the long N: support only if that failure counts, against the positive
        # control TF-(1, 64) in the same cell and budget (not still improving, rate inside grid)
        tf = select(task_cells(results, "idxl", settings), "transformer", 1, 64)
        widest = mamba[mamba["length"] == long].sort_values("width").iloc[-1]
        check = separation(one(tf, long), evidence(widest), rules)
        if check.verdict == REPRODUCED:
            outcome = Outcome(
                REPRODUCED,
                f"width {need[short]} solves N = {short}; none up to "
                f"{int(mamba['width'].max())} solves N = {long}",
                cells_text + check.cells,
            )
        else:
            outcome = Outcome(INCONCLUSIVE, check.reason, cells_text + check.cells)
    elif need[long] > need[short]:
        outcome = Outcome(REPRODUCED, "", cells_text)
    else:
        outcome = Outcome(NOT_REPRODUCED, f"width {need[long]} solves N = {long}", cells_text)
    return verdict(outcome, mamba)


def dyck_recurrent(results, settings=None) -> Verdict:
    """P1-DYCK-RNN: small recurrent models are near-perfect on bounded Dyck at every N."""
    rules = rules_for(settings, "paper1")
    table = task_cells(results, "dyck", settings)
    rnn = recurrent(table)
    return verdict(every([succeeds(evidence(r), rules) for r in rnn.itertuples()]), rnn)


def dyck_transformer(results, settings=None) -> Verdict:
    """P1-DYCK-TF: 2-layer TFs near-perfect at every N; 1-layer TFs up to N = 100."""
    rules = rules_for(settings, "paper1")
    table = select(task_cells(results, "dyck", settings), "transformer")
    used = table[(table["depth"] >= 2) | (table["length"] <= ONE_LAYER_DYCK_UP_TO)]
    return verdict(every([succeeds(evidence(r), rules) for r in used.itertuples()]), used)


def dyck_separation(results, settings=None) -> Verdict:
    """P1-DYCK-SEP: beyond N = 100 the 1-layer TF fails where the 2-layer TF succeeds."""
    rules = rules_for(settings, "paper1")
    table = select(task_cells(results, "dyck", settings), "transformer")
    long = table[table["length"] > ONE_LAYER_DYCK_UP_TO]
    two = long[long["depth"] >= 2]
    outcomes = [
        separation(one(two, int(r.length)), evidence(r), rules)
        for r in long[long["depth"] == 1].itertuples()
    ]
    if not outcomes:
        outcomes = [
            Outcome(NOT_TESTED, f"the sweep has no Dyck cell beyond N = {ONE_LAYER_DYCK_UP_TO}")
        ]
    return verdict(decided_by_any(outcomes), long)


def _transformers_succeed(results, settings, task: str, depth: int = 2) -> Verdict:
    rules = rules_for(settings, "paper1")
    table = task_cells(results, task, settings)
    tf = table[(table["model"] == "transformer") & (table["depth"] >= depth)]
    others = table.drop(tf.index)
    outcomes = [succeeds(evidence(r), rules) for r in tf.itertuples()]
    if not outcomes:
        outcomes = [Outcome(NOT_TESTED, f"the sweep has no {task} cells")]
    return verdict(every(outcomes), tf, others)


def eq_ncp(results, settings=None) -> Verdict:
    """P1-EQ-NCP: 2-layer TFs are near-perfect on the copying task (Eq-ncp)."""
    return _transformers_succeed(results, settings, "eq-ncp")


def eq_random(results, settings=None) -> Verdict:
    """P1-EQ-RANDOM: 2-layer TFs near-perfect; LSTMs fail beyond N = 100 where TFs succeed."""
    rules = rules_for(settings, "paper1")
    table = task_cells(results, "eq-random", settings)
    tf = table[(table["model"] == "transformer") & (table["depth"] >= 2)]
    lstm = table[(table["model"] == "lstm") & (table["length"] > RECURRENT_FAILS_FROM)]
    parts = [succeeds(evidence(r), rules) for r in tf.itertuples()]
    parts += [separation(one(tf, int(r.length)), evidence(r), rules) for r in lstm.itertuples()]
    if not parts:
        parts = [Outcome(NOT_TESTED, "the sweep has no eq-random cells")]
    return verdict(every(parts), pd.concat([tf, lstm]))


def eq_one(results, settings=None) -> Verdict:
    """P1-EQ-ONE: every model is near-perfect on Eq-one (a counting shortcut exists)."""
    rules = rules_for(settings, "paper1")
    table = task_cells(results, "eq-one", settings)
    outcomes = [succeeds(evidence(r), rules) for r in table.itertuples()]
    if not outcomes:
        outcomes = [Outcome(NOT_TESTED, "the sweep has no eq-one cells")]
    return verdict(every(outcomes), table)


def nearest_neighbour(results, settings=None) -> Verdict:
    """P1-NN (beyond the paper): 2-layer TFs classify by nearest neighbour in context."""
    return _transformers_succeed(results, settings, "nn")


def _study_numbers(table: pd.DataFrame, summary: pd.DataFrame, confidence: float) -> dict:
    """What the paper says about the critical-width study: its grid, budget, cost and slopes."""
    from ..critical_width import points
    from .rules import LOG_SLOPE_MAX, POLY_SLOPE_MIN, family_slope

    finals = table[table["final"]]
    out = {
        "lengths": ", ".join(str(int(n)) for n in sorted(set(table["length"]))),
        "widths": ", ".join(str(int(w)) for w in sorted(set(table["width"]))),
        "steps": ", ".join(f"{int(c):,}" for c in sorted(set(table["max_steps"]))),
        "alphabet": ", ".join(str(round(1 / c)) for c in sorted(set(table["chance"]))),
        "seeds": str(table["seed"].nunique()),
        "learning-rates": ", ".join(f"{lr:g}" for lr in sorted(set(table["lr"]))),
        "cpu-minutes": f"{finals['wall_time'].sum() / 60:.0f}",
        "families": str(summary["model"].nunique()),
        "n-capped": str(int(summary["capped"].astype(bool).sum())),
        "n-cells": str(len(summary)),
        "log-slope-max": f"{LOG_SLOPE_MAX:g}",
        "poly-slope-min": f"{POLY_SLOPE_MIN:g}",
    }
    for model, pts in points(summary).items():
        fit, why = family_slope(pts, confidence)
        out[f"slope-{model}"] = fit.text() if fit is not None else why
    for model, part in summary.sort_values("length").groupby("model"):
        out[f"widths-{model}"] = ", ".join(
            ("$>$" if r.capped else "") + str(int(r.critical_width)) for r in part.itertuples()
        )
    return out


def width_scaling_claim(results, settings=None) -> Verdict:
    """P1-WIDTH-SCALING: the critical width (smallest width on the study's doubling grid whose
    cell is solved, :mod:`separations.critical_width`) grows at most logarithmically in N for the
    1-layer Transformer and at least polynomially for every recurrent family; the slope rule is
    :func:`.rules.width_scaling` (capped cells count as lower bounds)."""
    from ..critical_width import points, summarize
    from .rules import width_scaling

    rules = rules_for(settings, "paper1")
    table = results["critical_width"]
    table = table[table["task"] == "idxl"] if not table.empty else table
    protocol = protocol_for(settings)
    summary = summarize(table, protocol)
    if summary.empty:
        return Verdict.of(Outcome(NOT_TESTED, "the critical-width table is empty"))
    used = cells(table, protocol)
    ours = "; ".join(
        f"{short_label(r.model)} N = {int(r.length)}: "
        + (f"$>$ {int(r.critical_width)}" if r.capped else str(int(r.critical_width)))
        for r in summary.itertuples()
    )
    problem = protocol_problem([evidence(r) for r in used.itertuples()], rules)
    by_family = points(summary)
    numbers = {
        f"width-{r.model}-N{int(r.length)}": ("$>$" if r.capped else "")
        + str(int(r.critical_width))
        for r in summary.itertuples()
    } | _study_numbers(table, summary, protocol.confidence)
    if problem:
        return Verdict.of(Outcome(INCONCLUSIVE, problem), numbers, budget(used), ours)
    caps = sorted(set(used["max_steps"]))
    if len(caps) > 1:
        outcome = Outcome(INCONCLUSIVE, f"unequal budgets: {', '.join(map(str, caps))} steps")
        return Verdict.of(outcome, numbers, budget(used), ours)
    # a capped cell is a lower bound only if its failure counts (not still rising, rate inside grid)
    unsure = []
    for r in summary[summary["capped"].astype(bool)].itertuples():
        at_cap = used[
            (used["model"] == r.model)
            & (used["depth"] == r.depth)
            & (used["length"] == r.length)
            & (used["width"] == r.critical_width)
        ]
        unsure += [evidence(c).name for c in at_cap.itertuples() if c.improving or c.at_edge]
    if unsure:
        reason = (
            f"still improving or learning rate at the grid's edge at the cap: {', '.join(unsure)}"
        )
        return Verdict.of(Outcome(INCONCLUSIVE, reason), numbers, budget(used), ours)
    outcome = width_scaling(
        by_family.get("transformer"),
        {m: p for m, p in by_family.items() if is_recurrent(m)},
        confidence=protocol.confidence,
    )
    return Verdict.of(outcome, numbers, budget(used), "; ".join([*outcome.cells, ours]))


CLAIMS: list[Claim] = [
    Claim(
        "P1-IDX-TF",
        "A 1-layer Transformer of width O(log N) performs Index Lookup.",
        "TF-(1, 64) near-perfect at every N in 20..400 within a few thousand steps.",
        idx_transformer,
    ),
    Claim(
        "P1-IDX-RNN",
        "Recurrent models need width Omega(N) for Index Lookup.",
        "LSTM, DSS, Mamba, RetNet and linear TFs (width up to 256) degrade beyond N = 100 at "
        "every learning rate, where TF-(1, 64) is near-perfect.",
        idx_recurrent,
    ),
    Claim(
        "P1-MAMBA-WIDTH",
        "Recurrent width must grow with N.",
        "2-layer Mamba, widths 32..1024: accuracy rises with width, but even width 1024 is far "
        "below TF-(1, 64).",
        mamba_width,
    ),
    Claim(
        "P1-DYCK-RNN",
        "Constant-size recurrent models recognise bounded Dyck.",
        "LSTM-64 and Mamba-64 near-perfect up to N = 400.",
        dyck_recurrent,
    ),
    Claim(
        "P1-DYCK-TF",
        "Transformers learn bounded Dyck: 2 layers at every N, 1 layer up to N = 100.",
        "TF-(2, 64) near-perfect up to N = 400; 1-layer TF of width 256 near-perfect up to "
        "N = 100.",
        dyck_transformer,
    ),
    Claim(
        "P1-DYCK-SEP",
        "A 1-layer Transformer needs width Omega(N) for bounded Dyck.",
        "1-layer TF struggles beyond N = 100, where the 2-layer TF is near-perfect.",
        dyck_separation,
    ),
    Claim(
        "P1-EQ-NCP",
        "2-layer Transformers of log size do string equality (the copying form, Eq-ncp).",
        "Eq-ncp: TF near-perfect; DSS and Mamba at chance beyond N = 400 at width 64.",
        eq_ncp,
    ),
    Claim(
        "P1-EQ-RANDOM",
        "2-layer Transformers do string equality; RNNs need linear size (Eq-random).",
        "TF near-perfect to N = 400; LSTM and linear TF struggle beyond N = 100.",
        eq_random,
    ),
    Claim(
        "P1-EQ-ONE",
        "Eq-one has a counting shortcut: every model learns it.",
        "All models near-perfect.",
        eq_one,
    ),
    Claim(
        "P1-NN",
        "2-layer Transformers of log width classify by nearest neighbour in context.",
        "Theory only (no experiment in the paper).",
        nearest_neighbour,
    ),
    Claim(
        "P1-WIDTH-SCALING",
        "The width needed for Index Lookup grows as log N for a 1-layer Transformer and at least "
        "polynomially in N for recurrent models.",
        "Theorems 1 and 3 (width O(log N) against m >= N log|alphabet| / p); no experiment plots "
        "the width needed against N.",
        width_scaling_claim,
        needs=("critical_width",),
    ),
]

__all__ = ["CLAIMS", "RECURRENT_FAILS_FROM", "evidence", "task_cells"]
