"""Paper 2's claims (Wen, Dang and Lyu, 2024), checked on the IsTree results.

Each (format, family, n) becomes one cell: the best model size and learning rate by the answer
accuracy of greedy generation (with the search tool in the retrieval format) at the run's last
evaluation, the mean over seeds with an interval (Student t over seeds, Wilson per run). The rules
of :mod:`.rules` decide, with paper 2's near-perfect threshold (config ``verdicts``). The IsTree
trainer has no separate test set yet: its score is read on the set it is selected on, which the
verdict names as a protocol gap whenever a cell has too few seeds or learning rates.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from ..retrieval.summary import final_runs
from ..summary import best_learning_rate, seed_interval, wilson
from .base import Claim, Verdict, pct, protocol_for, rules_for
from .rules import (
    FAILED,
    INCONCLUSIVE,
    NOT_REPRODUCED,
    NOT_TESTED,
    REPRODUCED,
    Evidence,
    Outcome,
    decided_by_any,
    every,
    protocol_problem,
    separation,
    succeeds,
)

LABEL = {"transformer": "Transformer", "mamba": "Mamba", "hybrid": "Hybrid"}
FORMAT = {"nocot": "no CoT", "cot": "CoT", "retrieval": "retrieval"}


def istree_cells(results: Mapping[str, pd.DataFrame], settings) -> dict[tuple, Evidence]:
    """(format, family, n) -> the best size and learning rate's evidence."""
    confidence = protocol_for(settings).confidence
    runs = final_runs(results["istree"])
    out: dict[tuple, Evidence] = {}
    if runs.empty:
        return out
    for (fmt, family, n), group in runs.groupby(["format", "family", "n"]):
        per_size: dict = {}  # size -> {learning rate -> its evidence}
        for (size, lr), part in group.groupby(["size", "lr"]):
            accs = part["gen_acc"].to_numpy(dtype=float)
            t_low, t_high = seed_interval(accs, confidence)
            bounds = [
                wilson(round(a * s), int(s), confidence)
                for a, s in zip(part["gen_acc"], part["eval_size"], strict=True)
            ]
            name = f"{LABEL.get(family, family)} ({size}), {FORMAT.get(fmt, fmt)}, n = {int(n)}"
            cell = Evidence(
                name=name,
                acc=float(accs.mean()),
                low=max(0.0, min(t_low, min(b[0] for b in bounds))),
                high=min(1.0, max(t_high, max(b[1] for b in bounds))),
                max_steps=int(part["max_steps"].iloc[0]),
                seeds=int(part["seed"].nunique()),
                learning_rates=int(group.loc[group["size"] == size, "lr"].nunique()),
            )
            per_size.setdefault(size, {})[lr] = cell
        best = None
        for by_lr in per_size.values():  # each size at its learning rate, chosen by paper 1's rule
            cell = by_lr[best_learning_rate({lr: e.acc for lr, e in by_lr.items()})]
            if best is None or cell.acc > best.acc:
                best = cell
        out[(fmt, family, int(n))] = best
    return out


def _budget(cells: list[Evidence], results) -> str:
    if not cells:
        return ""
    caps = ", ".join(f"{c:,}" for c in sorted({e.max_steps for e in cells}))
    lrs = "/".join(str(n) for n in sorted({e.learning_rates for e in cells}))
    seeds = "/".join(str(n) for n in sorted({e.seeds for e in cells}))
    minutes = final_runs(results["istree"])["wall_time"].sum() / 60
    return (
        f"{caps} steps $\\times$ {lrs} lr $\\times$ {seeds} seeds; "
        f"{minutes:.0f} CPU-min (all IsTree runs)"
    )


def _ns(cells: dict, fmt: str, family: str) -> list[int]:
    return sorted(n for (f, fam, n) in cells if f == fmt and fam == family)


def _verdict(outcome: Outcome, used: list[Evidence], results, numbers=None) -> Verdict:
    return Verdict.of(outcome, numbers, _budget(used, results))


def _direction(before: Evidence, after: Evidence) -> str:
    """How ``after`` compares with ``before``, in words generated from their intervals."""
    if after.low > before.high:
        return "yes, the intervals are apart"
    if after.high < before.low:
        return "no, it is lower, the intervals apart"
    return "undecided, the intervals overlap"


def cot_helps_rnn(results, settings=None) -> Verdict:
    """P2-COT: Mamba is better with CoT than without (both intervals apart), and Mamba with CoT
    stays below the Transformer with CoT at the largest n."""
    cells, rules = istree_cells(results, settings), rules_for(settings, "paper2")
    common = sorted(set(_ns(cells, "nocot", "mamba")) & set(_ns(cells, "cot", "mamba")))
    if not common:
        return Verdict("none", NOT_TESTED, reason="the sweep lacks Mamba with and without CoT")
    outcomes, used = [], []
    for n in common:
        without, with_cot = cells[("nocot", "mamba", n)], cells[("cot", "mamba", n)]
        used += [without, with_cot]
        texts = (without.text(), with_cot.text())
        problem = protocol_problem([without, with_cot], rules)
        if problem:
            outcomes.append(Outcome(INCONCLUSIVE, problem, texts))
        elif with_cot.low > without.high:
            outcomes.append(Outcome(REPRODUCED, "", texts))
        elif with_cot.high < without.low:
            outcomes.append(Outcome(NOT_REPRODUCED, f"CoT lowers Mamba at n = {n}", texts))
        else:
            outcomes.append(Outcome(INCONCLUSIVE, f"intervals overlap at n = {n}", texts))
    n = common[-1]
    numbers = {
        "mamba-nocot": pct(cells[("nocot", "mamba", n)].acc),
        "mamba-cot": pct(cells[("cot", "mamba", n)].acc),
        "n": str(n),
        # the direction, generated from the intervals (the text never types it)
        "direction": _direction(cells[("nocot", "mamba", n)], cells[("cot", "mamba", n)]),
    }
    tf = cells.get(("cot", "transformer", n))
    if tf is not None:
        numbers["tf-cot"] = pct(tf.acc)
        used.append(tf)
        outcomes.append(separation(tf, cells[("cot", "mamba", n)], rules))
    return _verdict(every(outcomes), used, results, numbers)


def istree_separation(results, settings=None) -> Verdict:
    """P2-ISTREE: at the graph sizes tested, Transformer+CoT succeeds where Mamba+CoT fails."""
    cells, rules = istree_cells(results, settings), rules_for(settings, "paper2")
    ns = sorted(set(_ns(cells, "cot", "transformer")) & set(_ns(cells, "cot", "mamba")))
    if not ns:
        return Verdict("none", NOT_TESTED, reason="the sweep lacks Transformer and Mamba with CoT")
    outcomes, used = [], []
    for n in ns:
        tf, mamba = cells[("cot", "transformer", n)], cells[("cot", "mamba", n)]
        used += [tf, mamba]
        outcomes.append(separation(tf, mamba, rules))
    mamba = [cells[("cot", "mamba", n)] for n in ns]
    numbers = {
        "tf-cot-min": pct(min(cells[("cot", "transformer", n)].acc for n in ns)),
        "mamba-cot-max-n": pct(mamba[-1].acc),
        "max-n": str(ns[-1]),
        "ns": ", ".join(str(n) for n in ns),
    }
    return _verdict(decided_by_any(outcomes), used, results, numbers)


def _fixes(results, settings, fmt: str, family: str) -> Verdict:
    """``family`` in ``fmt`` succeeds at an n where Mamba with plain CoT fails (a failure to
    fix); where Mamba+CoT already succeeds there is nothing to fix and the cell decides nothing."""
    cells, rules = istree_cells(results, settings), rules_for(settings, "paper2")
    ns = _ns(cells, fmt, family)
    if not ns:
        return Verdict("none", NOT_TESTED, reason=f"the sweep lacks {family} with {fmt}")
    outcomes, used = [], []
    for n in ns:
        fixed, broken = cells[(fmt, family, n)], cells.get(("cot", "mamba", n))
        used += [fixed] + ([broken] if broken else [])
        if broken is None:
            outcomes.append(Outcome(INCONCLUSIVE, f"no Mamba+CoT at n = {n} to compare"))
            continue
        outcome = separation(fixed, broken, rules)
        if outcome.verdict == NOT_REPRODUCED:  # Mamba+CoT solved: nothing to fix here
            outcome = Outcome(
                INCONCLUSIVE,
                f"Mamba with plain CoT already solves n = {n}: no failure to fix",
                outcome.cells,
            )
        outcomes.append(outcome)
    numbers = {
        "min": pct(min(cells[(fmt, family, n)].acc for n in ns)),
        "ns": ", ".join(str(n) for n in ns),
    }
    return _verdict(decided_by_any(outcomes), used, results, numbers)


def retrieval_fixes_rnn(results, settings=None) -> Verdict:
    """P2-RAG: Mamba with the retrieval CoT succeeds where Mamba with CoT fails."""
    return _fixes(results, settings, "retrieval", "mamba")


def hybrid_fixes_rnn(results, settings=None) -> Verdict:
    """P2-HYBRID: Mamba plus one attention layer, with CoT, succeeds where Mamba with CoT fails."""
    return _fixes(results, settings, "cot", "hybrid")


def no_cot_fails(results, settings=None) -> Verdict:
    """P2-NOCOT: without CoT no model decides IsTree (every cell below the threshold)."""
    cells, rules = istree_cells(results, settings), rules_for(settings, "paper2")
    nocot = [e for (f, _, _), e in sorted(cells.items()) if f == "nocot"]
    if not nocot:
        return Verdict("none", NOT_TESTED, reason="the sweep has no IsTree cells without CoT")
    outcomes = []
    for cell in nocot:
        success = succeeds(cell, rules)
        if success.verdict == REPRODUCED:
            outcomes.append(Outcome(NOT_REPRODUCED, f"{cell.name} is solved", success.cells))
        elif protocol_problem([cell], rules) or cell.status(rules.near_perfect) != FAILED:
            outcomes.append(success)
        else:
            outcomes.append(Outcome(REPRODUCED, "", success.cells))
    return _verdict(every(outcomes), nocot, results)


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
