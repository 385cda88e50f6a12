"""Paper 2's claims (Wen, Dang and Lyu, 2024), checked on the IsTree results.

Each (format, family, size, n) is one cell (:func:`separations.istree.summary.cells`): the
learning rate validation chose, the held-out test accuracy of greedy generation (with the search
tool in the retrieval format) of the last iterate, mean over seeds with its interval, and the flags
that keep a failure from counting. Families are compared at the same size (matched parameter
counts) and the same graph size; the rules of :mod:`.rules` decide, with paper 2's near-perfect
threshold (config ``verdicts``).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from ..istree.summary import FAMILY_LABELS as LABEL
from ..istree.summary import cells as summary_cells
from .base import Claim, Verdict, pct, protocol_for, rules_for
from .rules import (
    FAILED,
    INCONCLUSIVE,
    NOT_REPRODUCED,
    NOT_TESTED,
    REPRODUCED,
    SOLVED,
    Evidence,
    Outcome,
    decided_by_any,
    every,
    protocol_problem,
    separation,
    succeeds,
)

FORMAT = {"nocot": "no CoT", "cot": "CoT", "retrieval": "retrieval"}


def istree_table(results: Mapping[str, pd.DataFrame], settings) -> pd.DataFrame:
    """The IsTree cells under the protocol, computed once per results mapping."""
    cache = results.get("_cells", {})  # claims.evaluate shares one cache among the claims
    if "istree:paper2" not in cache:
        cache["istree:paper2"] = summary_cells(results["istree"], protocol_for(settings))
    return cache["istree:paper2"]


def istree_cells(results: Mapping[str, pd.DataFrame], settings) -> dict[tuple, Evidence]:
    """(format, family, size, n) -> the cell's evidence."""
    out: dict[tuple, Evidence] = {}
    for row in istree_table(results, settings).itertuples(index=False):
        family, fmt = LABEL.get(row.family, row.family), FORMAT.get(row.format, row.format)
        name = f"{family} ({row.size}), {fmt}, n = {int(row.n)}"
        out[(row.format, row.family, row.size, int(row.n))] = Evidence.of_cell(row, name)
    return out


def _budget(cells: list[Evidence], results) -> str:
    if not cells:
        return ""
    caps = ", ".join(f"{c:,}" for c in sorted({e.max_steps for e in cells}))
    lrs = "/".join(str(n) for n in sorted({e.learning_rates for e in cells}))
    seeds = "/".join(str(n) for n in sorted({e.seeds for e in cells}))
    runs = results["istree"].groupby(["sweep", "job", "lr", "seed"])["wall_time"].max()
    minutes = runs.sum() / 60
    return (
        f"{caps} steps $\\times$ {lrs} lr $\\times$ {seeds} seeds; "
        f"{minutes:.0f} CPU-min (all IsTree runs)"
    )


def _keys(cells: dict, fmt: str, family: str) -> list[tuple[str, int]]:
    """The (size, n) at which ``family`` was run in ``fmt``, sorted."""
    return sorted((size, n) for (f, fam, size, n) in cells if f == fmt and fam == family)


def _largest_n(keys: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Per size, its largest n: where paper 2 says the recurrent model breaks."""
    top: dict[str, int] = {}
    for size, n in keys:
        top[size] = max(n, top.get(size, n))
    return sorted(top.items())


def _verdict(outcome: Outcome, used: list[Evidence], results, numbers=None) -> Verdict:
    return Verdict.of(outcome, numbers, _budget(used, results))


def _direction(before: Evidence, after: Evidence) -> str:
    """How ``after`` compares with ``before``, in words generated from their intervals."""
    if after.low > before.high:
        return "yes, the intervals are apart"
    if after.high < before.low:
        return "no, it is lower, the intervals apart"
    return "undecided, the intervals overlap"


def _compare(a: Evidence, b: Evidence, b_name: str) -> str:
    """Where ``a`` stands against ``b`` (called ``b_name``), in words generated from their
    intervals."""
    if a.high < b.low:
        return f"below {b_name}, the intervals apart"
    if a.low > b.high:
        return f"above {b_name}, the intervals apart"
    return f"level with {b_name} (the intervals overlap)"


def _gap_at_largest_n(
    cells: dict, rules, cells_table: pd.DataFrame | None = None
) -> tuple[list[Outcome], list[Evidence], tuple]:
    """Transformer+CoT against Mamba+CoT at each size's largest common n (the separation); the
    last item is the largest n of the largest size (by parameters, from ``cells_table``)."""
    both = sorted(set(_keys(cells, "cot", "transformer")) & set(_keys(cells, "cot", "mamba")))
    outcomes, used = [], []
    for size, n in _largest_n(both):
        tf, mamba = cells[("cot", "transformer", size, n)], cells[("cot", "mamba", size, n)]
        used += [tf, mamba]
        outcomes.append(separation(tf, mamba, rules))
    order = _sizes(cells_table) if cells_table is not None else []
    rank = {size: i for i, size in enumerate(order)}
    largest = max(_largest_n(both), key=lambda k: (rank.get(k[0], -1), k), default=None)
    return outcomes, used, largest


def cot_helps_rnn(results, settings=None) -> Verdict:
    """P2-COT: Mamba is better with CoT than without (intervals apart at some (size, n), lower
    nowhere), and Mamba with CoT stays below the Transformer with CoT at each size's largest n."""
    cells, rules = istree_cells(results, settings), rules_for(settings, "paper2")
    common = sorted(set(_keys(cells, "nocot", "mamba")) & set(_keys(cells, "cot", "mamba")))
    if not common:
        return Verdict("none", NOT_TESTED, reason="the sweep lacks Mamba with and without CoT")
    helps, used = [], []
    for size, n in common:
        without, with_cot = cells[("nocot", "mamba", size, n)], cells[("cot", "mamba", size, n)]
        used += [without, with_cot]
        texts = (without.text(), with_cot.text())
        problem = protocol_problem([without, with_cot], rules)
        if problem:
            helps.append(Outcome(INCONCLUSIVE, problem, texts))
        elif with_cot.low > without.high:
            helps.append(Outcome(REPRODUCED, "", texts))
        elif with_cot.high < without.low:
            helps.append(Outcome(NOT_REPRODUCED, f"CoT lowers Mamba ({size}) at n = {n}", texts))
        else:
            helps.append(Outcome(INCONCLUSIVE, f"intervals overlap at {size}, n = {n}", texts))
    gap, gap_used, _ = _gap_at_largest_n(cells, rules)
    size, n = max(common, key=lambda k: (k[1], k[0]))
    without, with_cot = cells[("nocot", "mamba", size, n)], cells[("cot", "mamba", size, n)]
    by_size = []
    for at_size, at_n in _largest_n(common):
        off, on = cells[("nocot", "mamba", at_size, at_n)], cells[("cot", "mamba", at_size, at_n)]
        by_size.append(
            f"{at_size}, $n = {at_n}$: {pct(off.acc)} without, {pct(on.acc)} with "
            f"({_direction(off, on)})"
        )
    numbers = {
        "by-size": "; ".join(by_size),
        "mamba-nocot": pct(without.acc),
        "mamba-cot": pct(with_cot.acc),
        "n": str(n),
        "size": size,
        # the direction, generated from the intervals (the text never types it)
        "direction": _direction(without, with_cot),
    }
    tf = cells.get(("cot", "transformer", size, n))
    if tf is not None:
        numbers["tf-cot"] = pct(tf.acc)
    outcome = every([decided_by_any(helps), decided_by_any(gap) if gap else Outcome(NOT_TESTED)])
    return _verdict(outcome, used + gap_used, results, numbers)


def _by_size(sizes: list[str], ns: dict[str, list[int]]) -> str:
    """``{size: [n, ...]}`` in words: one list when every size has the same, else per size."""
    lists = {size: ", ".join(str(n) for n in ns.get(size, [])) for size in sizes}
    lists = {size: text for size, text in lists.items() if text}
    if not lists:
        return "none"
    if len(set(lists.values())) == 1 and len(lists) == len(sizes):
        return next(iter(lists.values()))
    return "; ".join(f"{text} ({size})" for size, text in lists.items())


def _sizes(cells: pd.DataFrame) -> list[str]:
    """The model sizes of the cells, smallest first (by mean parameter count)."""
    return cells.groupby("size")["n_params"].mean().sort_values().index.tolist()


def _study_numbers(results, settings) -> dict[str, str]:
    """What the paper says about the IsTree sweeps: their grid, sizes, protocol and cost."""
    table = results["istree"]
    cells = istree_table(results, settings)
    runs = table[table["final"]]
    label = {"transformer": "Transformer", "mamba": "Mamba", "hybrid": "hybrid"}
    sizes = _sizes(cells)
    params = []
    for size in sizes:
        spans = []
        for family in ("transformer", "mamba", "hybrid"):
            counts = cells.loc[(cells["family"] == family) & (cells["size"] == size), "n_params"]
            if len(counts):
                low, high = int(counts.min()), int(counts.max())
                span = f"{low:,}" if low == high else f"{low:,}--{high:,}"
                spans.append(f"{label[family]} {span}")
        params.append(f"{size}: " + ", ".join(spans))
    widths = {
        size: sorted({int(w) for w in table.loc[table["size"] == size, "width"].dropna()})
        for size in sizes
    }
    out = {
        "sizes": ", ".join(sizes),
        "n-sizes": str(len(sizes)),
        "sweeps": ", ".join(
            "\\texttt{" + name.replace("_", "\\_") + "}"
            for name in sorted(set(table["sweep"].dropna().astype(str)))
        ),
        "widths": _by_size(sizes, widths),
        "params": "; ".join(params),
        "steps": ", ".join(f"{int(c):,}" for c in sorted(set(table["max_steps"]))),
        "learning-rates": ", ".join(f"{lr:g}" for lr in sorted(set(table["lr"]))),
        "seeds": str(table["seed"].nunique()),
        "val-size": ", ".join(str(int(v)) for v in sorted(set(table["eval_size"]))),
        "test-size": ", ".join(str(int(v)) for v in sorted(set(table["test_size"].dropna()))),
        "n-runs": str(len(runs)),
        "n-pruned": str(int(runs["pruned"].sum())),
        "n-cells": str(len(cells)),
        "cpu-minutes": f"{runs['wall_time'].sum() / 60:.0f}",
    }
    for fmt in ("nocot", "cot", "retrieval"):
        part = cells[cells["format"] == fmt]
        ns = {size: sorted({int(n) for n in g["n"]}) for size, g in part.groupby("size")}
        out[f"ns-{fmt}"] = _by_size(sizes, ns)
    # where Mamba with CoT stands against the threshold, by size and n (the n the claims need a
    # failure at)
    threshold = rules_for(settings, "paper2").near_perfect
    mamba = cells[(cells["format"] == "cot") & (cells["family"] == "mamba")]
    status = {"failed": mamba["high"] < threshold, "solved": mamba["low"] >= threshold}
    for name, test in status.items():
        ns = {size: sorted({int(n) for n in g["n"]}) for size, g in mamba[test].groupby("size")}
        out[f"mamba-cot-{name}-ns"] = _by_size(sizes, ns)
    # how often successive halving ended on the grid's largest rate
    top = [row.best_lr == max(row.lrs) for row in cells.itertuples()]
    out["top-rate-cells"] = str(sum(top))
    return out


def istree_separation(results, settings=None) -> Verdict:
    """P2-ISTREE: Transformer+CoT near-perfect at every graph size, and at each model size's
    largest n it succeeds where Mamba+CoT (same size) fails."""
    cells, rules = istree_cells(results, settings), rules_for(settings, "paper2")
    tf_keys = _keys(cells, "cot", "transformer")
    gap, used, largest = _gap_at_largest_n(cells, rules, istree_table(results, settings))
    if not gap:
        return Verdict("none", NOT_TESTED, reason="the sweep lacks Transformer and Mamba with CoT")
    control = every([succeeds(cells[("cot", "transformer", *k)], rules) for k in tf_keys])
    outcome = decided_by_any(gap)
    if outcome.verdict == REPRODUCED and control.verdict != REPRODUCED:
        outcome = Outcome(
            INCONCLUSIVE,
            "the Transformer with CoT is not near-perfect at every graph size: " + control.reason,
            outcome.cells,
        )
    size, n = largest
    by_size = []
    for at_size, at_n in _largest_n(
        sorted({k for k in tf_keys} & set(_keys(cells, "cot", "mamba")))
    ):
        tf, mamba = (
            cells[("cot", "transformer", at_size, at_n)],
            cells[("cot", "mamba", at_size, at_n)],
        )
        by_size.append(
            f"{at_size}, $n = {at_n}$: Transformer {pct(tf.acc)}, Mamba {pct(mamba.acc)}, "
            f"the Transformer {_compare(tf, mamba, 'Mamba')}"
        )
    lowest = {}
    for at_size, at_n in tf_keys:
        acc = cells[("cot", "transformer", at_size, at_n)].acc
        lowest[at_size] = min(acc, lowest.get(at_size, acc))
    numbers = {
        "by-size": "; ".join(by_size),
        "tf-cot-min-by-size": "; ".join(f"{pct(acc)} ({sz})" for sz, acc in sorted(lowest.items())),
        "tf-cot-min": pct(min(cells[("cot", "transformer", *k)].acc for k in tf_keys)),
        "mamba-cot-max-n": pct(cells[("cot", "mamba", size, n)].acc),
        "tf-cot-max-n": pct(cells[("cot", "transformer", size, n)].acc),
        # the Transformer against Mamba there, in words generated from the intervals
        "tf-vs-mamba": _compare(
            cells[("cot", "transformer", size, n)], cells[("cot", "mamba", size, n)], "Mamba"
        ),
        "max-n": str(n),
        "size": size,
        "ns": ", ".join(str(k) for k in sorted({n for _, n in tf_keys})),
    } | _study_numbers(results, settings)
    return _verdict(outcome, used, results, numbers)


def _fixes(results, settings, fmt: str, family: str) -> Verdict:
    """``family`` in ``fmt`` succeeds where Mamba with plain CoT (same size and n) fails; where
    Mamba+CoT already succeeds there is nothing to fix and the cell decides nothing."""
    cells, rules = istree_cells(results, settings), rules_for(settings, "paper2")
    keys = _keys(cells, fmt, family)
    if not keys:
        return Verdict("none", NOT_TESTED, reason=f"the sweep lacks {family} with {fmt}")
    outcomes, used = [], []
    for size, n in keys:
        fixed, broken = cells[(fmt, family, size, n)], cells.get(("cot", "mamba", size, n))
        used += [fixed] + ([broken] if broken else [])
        if broken is None:
            outcomes.append(Outcome(INCONCLUSIVE, f"no Mamba+CoT at {size}, n = {n} to compare"))
            continue
        outcome = separation(fixed, broken, rules)
        problem = protocol_problem([fixed, broken], rules)
        if outcome.verdict == NOT_REPRODUCED or (
            not problem and broken.status(rules.near_perfect) == SOLVED
        ):  # Mamba+CoT solved: nothing to fix here, whatever the fix scores
            outcome = Outcome(
                INCONCLUSIVE,
                f"Mamba with plain CoT already solves {size}, n = {n}: no failure to fix",
                outcome.cells,
            )
        elif not problem and fixed.status(rules.near_perfect) != SOLVED:
            # the fix is the claim's subject: its failure to learn is a budget, not a verdict
            outcome = Outcome(INCONCLUSIVE, succeeds(fixed, rules).reason, outcome.cells)
        outcomes.append(outcome)
    worst = min(keys, key=lambda k: cells[(fmt, family, *k)].acc)
    against = [
        f"{size}, $n = {n}$: {pct(cells[(fmt, family, size, n)].acc)} against "
        f"{pct(cells[('cot', 'mamba', size, n)].acc)}"
        for size, n in keys
        if ("cot", "mamba", size, n) in cells
        and cells[("cot", "mamba", size, n)].status(rules.near_perfect) != SOLVED
    ]  # where Mamba with plain CoT is not solved: where there is something to fix
    numbers = {
        "against-mamba-cot": "; ".join(against) or "none",
        "min": pct(cells[(fmt, family, *worst)].acc),
        "ns": ", ".join(str(k) for k in sorted({n for _, n in keys})),
    }
    return _verdict(decided_by_any(outcomes), used, results, numbers)


def retrieval_fixes_rnn(results, settings=None) -> Verdict:
    """P2-RAG: Mamba with the retrieval CoT succeeds where Mamba with CoT fails."""
    return _fixes(results, settings, "retrieval", "mamba")


def hybrid_fixes_rnn(results, settings=None) -> Verdict:
    """P2-HYBRID: Mamba plus one attention layer, with CoT, succeeds where Mamba with CoT fails."""
    return _fixes(results, settings, "cot", "hybrid")


def no_cot_fails(results, settings=None) -> Verdict:
    """P2-NOCOT: without CoT no model decides IsTree as the graph grows: at the largest n of each
    (family, size), every cell below the threshold. Smaller n are reported, not judged."""
    cells, rules = istree_cells(results, settings), rules_for(settings, "paper2")
    families = sorted({fam for (f, fam, _, _) in cells if f == "nocot"})
    judged = [
        cells[("nocot", family, size, n)]
        for family in families
        for size, n in _largest_n(_keys(cells, "nocot", family))
    ]
    if not judged:
        return Verdict("none", NOT_TESTED, reason="the sweep has no IsTree cells without CoT")
    outcomes = []
    for cell in judged:
        success = succeeds(cell, rules)
        if success.verdict == REPRODUCED:
            outcomes.append(Outcome(NOT_REPRODUCED, f"{cell.name} is solved", success.cells))
        elif protocol_problem([cell], rules) or cell.status(rules.near_perfect) != FAILED:
            outcomes.append(success)
        elif cell.improving or cell.at_edge:  # a failure that may not be one: it counts for nothing
            why = "still improving" if cell.improving else "its best rate at the grid's edge"
            outcomes.append(Outcome(INCONCLUSIVE, f"{cell.name}: {why}", success.cells))
        else:
            outcomes.append(Outcome(REPRODUCED, "", success.cells))
    numbers = {"max": pct(max(c.acc for c in judged))}
    return _verdict(every(outcomes), judged, results, numbers)


CLAIMS: list[Claim] = [
    Claim(
        "P2-COT",
        "Chain of thought strictly improves RNNs but does not close the gap to Transformers.",
        "Mamba on IsTree: better with CoT than without, still below Transformer+CoT as the "
        "graph grows.",
        cot_helps_rnn,
        needs=("istree",),
    ),
    Claim(
        "P2-ISTREE",
        "RNNs cannot solve IsTree even with CoT; Transformers with CoT solve it easily.",
        "Transformer+CoT near-perfect at every graph size; Mamba+CoT degrades with n.",
        istree_separation,
        needs=("istree",),
    ),
    Claim(
        "P2-NOCOT",
        "Without chain of thought, IsTree is out of reach of small models of either kind.",
        "Without CoT, Transformers and RNNs near chance as the graph grows.",
        no_cot_fails,
        needs=("istree",),
    ),
    Claim(
        "P2-RAG",
        "An RNN with in-context retrieval (a regular-expression search called during CoT) "
        "solves IsTree.",
        "Mamba with the retrieval CoT near-perfect where Mamba with CoT fails.",
        retrieval_fixes_rnn,
        needs=("istree",),
    ),
    Claim(
        "P2-HYBRID",
        "One Transformer layer at the end of an RNN closes the gap.",
        "Mamba plus one attention layer, with CoT, near-perfect where Mamba with CoT fails.",
        hybrid_fixes_rnn,
        needs=("istree",),
    ),
]

__all__ = ["CLAIMS", "istree_cells"]
