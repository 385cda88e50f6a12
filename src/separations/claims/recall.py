"""Paper 2's associative-recall claim (Wen, Dang and Lyu, 2024), checked on the `recall` sweep.

P2-RETR: a recurrent model whose memory is o(n) cannot do associative recall once the number of
key-value pairs outgrows its state, while a constant-size Transformer can; one attention layer on
top of the recurrent model (the hybrid) is enough. The sweep trains the Transformer, Mamba and the
hybrid on multi-query associative recall (``mqar``) at matched parameter counts as N, the number of
pairs, grows. The cells are those of :func:`separations.summary.cells` (test accuracy at the
validation-chosen learning rate and checkpoint, mean over seeds, with its interval); the threshold
is paper 2's near-perfect (config ``verdicts.near_perfect.paper2``).

Which cells decide (one rule per size; sizes pair the k-th smallest shape of each family by
trainable parameters, which a test keeps within 15% of each other):

- a fixed state suffices for few pairs, so the claim is about the N from which Mamba is no longer
  solved, ``N*`` (the sweep's largest N if Mamba solves every N). Below ``N*`` the cells are
  context, listed in the evidence; they decide nothing;
- from ``N*`` on, at each N: the separation Transformer against Mamba (positive control first:
  an unsolved Transformer makes the cell inconclusive), and where Mamba failed, the hybrid
  succeeds;
- the two parts are each decided by their decisive cells, and the claim needs both (a part with
  no tested cell, such as the hybrid's when Mamba never fails, is set aside).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from ..summary import FAILED, SOLVED, cells
from .base import Claim, Evidence, Outcome, Verdict, pct, protocol_for, rules_for
from .paper1 import budget
from .rules import NOT_TESTED, decided_by_any, every, separation, succeeds

TASK = "mqar"
FAMILIES = ("transformer", "mamba", "hybrid")


def recall_cells(results: Mapping[str, pd.DataFrame], settings) -> pd.DataFrame:
    """The sweep's MQAR cells with a ``size`` column: the rank (0, 1, ...) of the shape's
    trainable-parameter count within its family."""
    metrics = results["recall"]
    table = cells(metrics[metrics["task"] == TASK], protocol_for(settings))
    if table.empty:
        return table.assign(size=pd.Series(dtype=int))
    table = table[table["model"].isin(FAMILIES)].copy()
    shapes = table.groupby(["model", "depth", "width", "heads"])["n_params"].median()
    rank = shapes.groupby(level="model").rank(method="first").astype(int) - 1
    table["size"] = [
        int(rank[(m, d, w, h)])
        for m, d, w, h in zip(table.model, table.depth, table.width, table.heads, strict=True)
    ]
    return table.reset_index(drop=True)


def evidence(row) -> Evidence:
    name = f"{row.label} ({int(row.n_params):,} parameters), N = {int(row.length)}"
    return Evidence.of_cell(row, name)


def _cell(table: pd.DataFrame, model: str, length: int):
    rows = table[(table["model"] == model) & (table["length"] == length)]
    return None if rows.empty else rows.iloc[0]


def key(row) -> str:
    """The name of a cell's numbers: ``mamba-d3-w32-N16``."""
    return f"{row.model}-d{int(row.depth)}-w{int(row.width)}-N{int(row.length)}"


def setup_numbers(table: pd.DataFrame) -> dict[str, str]:
    """What the text says about the sweep, read from its table: the Ns, the budget, each
    family's shape and parameter counts, the number of values (from chance, (1/V)^N)."""
    out = {
        "lengths": ", ".join(str(int(n)) for n in sorted(set(table["length"]))),
        "steps": ", ".join(f"{int(c):,}" for c in sorted(set(table["max_steps"]))),
        "learning-rates": ", ".join(
            f"{lr:g}" for lr in sorted({lr for lrs in table["lrs"] for lr in lrs})
        ),
        "seeds": "/".join(str(n) for n in sorted(set(table["seeds"]))),
        "cpu-minutes": f"{table['wall_time'].sum() / 60:.0f}",
    }
    row = table.iloc[0]
    if 0 < row.chance < 1:
        out["values"] = str(round(row.chance ** (-1 / int(row.length))))
    largest = table[(table["length"] == table["length"].max()) & (table["size"] == 0)]
    out["largest-n"] = str(int(table["length"].max()))
    for row in largest.itertuples():
        out[f"acc-largest-{row.model}"] = pct(row.acc)
    for model, group in table.groupby("model"):
        labels = sorted(set(group["label"]))
        params = sorted(set(group["n_params"]))
        out[f"label-{model}"] = ", ".join(labels)
        out[f"params-{model}"] = (
            f"{params[0]:,}" if len(params) == 1 else f"{params[0]:,}--{params[-1]:,}"
        )
    return out


def retrieval(results, settings=None) -> Verdict:
    """P2-RETR: at matched sizes, the Transformer solves MQAR at every N where Mamba fails, and
    Mamba plus one attention layer solves it too."""
    rules = rules_for(settings, "paper2")
    threshold = rules.near_perfect
    table = recall_cells(results, settings)
    numbers: dict[str, str] = {"threshold": pct(threshold)}
    if table.empty:
        outcome = Outcome(NOT_TESTED, "the recall table has no MQAR cells")
        return Verdict.of(outcome, numbers)
    separations, hybrids, decisive, context = [], [], [], []
    for size, group in table.groupby("size"):
        lengths = sorted(set(group["length"]))
        mamba = group[group["model"] == "mamba"]
        unsolved = [
            n
            for n in lengths
            if (row := _cell(mamba, "mamba", n)) is None
            or evidence(row).status(threshold) != SOLVED
        ]
        first = unsolved[0] if unsolved else lengths[-1]
        numbers[f"size{size}-mamba-fails-from"] = str(first) if unsolved else "none"
        for n in lengths:
            rows = {m: _cell(group, m, n) for m in FAMILIES}
            present = [r for r in rows.values() if r is not None]
            (decisive if n >= first else context).extend(present)
            if n < first:
                continue
            tf, mb, hy = (rows[m] for m in FAMILIES)
            tf_e = None if tf is None else evidence(tf)
            mb_e = None if mb is None else evidence(mb)
            separations.append(separation(tf_e, mb_e, rules))
            if mb_e is not None and mb_e.status(threshold) == FAILED:
                hybrids.append(succeeds(None if hy is None else evidence(hy), rules))
    for row in table.itertuples():
        numbers[f"acc-{key(row)}"] = pct(row.acc)
        numbers[f"params-{key(row)}"] = f"{int(row.n_params):,}"
    parts = [decided_by_any(separations)]
    if hybrids:
        parts.append(decided_by_any(hybrids))
    outcome = every(parts)
    used = pd.DataFrame(decisive)
    shown = pd.DataFrame(decisive + context)
    ours = "; ".join(outcome.cells)
    if context:
        extra = "; ".join(evidence(r).text() for r in context)
        ours = f"{ours}; context (Mamba solved): {extra}" if ours else f"context: {extra}"
    numbers.update(setup_numbers(table))
    numbers["cells"] = str(len(table))
    numbers["decisive-cells"] = str(len(used))
    return Verdict.of(outcome, numbers, budget(shown), ours)


CLAIMS = [
    Claim(
        "P2-RETR",
        "RNNs with o(n) memory cannot do associative recall; a constant-size Transformer can, "
        "and one attention layer on top of the RNN is enough",
        "MQAR at matched sizes: the Transformer and the hybrid solve it at every N, Mamba fails "
        "once N outgrows its state",
        retrieval,
        needs=("recall",),
    ),
]
