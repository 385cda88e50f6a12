"""Summaries of an IsTree results table that the figure and the claims share.

The reporting rule: a run's score is its last evaluation (the paper reports the last iterate); a
learning rate's score is the mean over seeds; a cell's score is its best learning rate, by the
rule paper 1 uses (:func:`separations.summary.best_learning_rate`). The headline metric is
``gen_acc`` (greedy generation with the tool); ``tf_exact`` (teacher-forced exact match of the
whole supervised part) comes along.
"""

from __future__ import annotations

import pandas as pd

from ..summary import best_learning_rate

CELL = ["format", "family", "size", "n"]
FAMILY_LABELS = {"transformer": "Transformer", "mamba": "Mamba", "hybrid": "Hybrid"}
FORMAT_LABELS = {"nocot": "no CoT", "cot": "CoT", "retrieval": "retrieval CoT"}


def final_runs(table: pd.DataFrame) -> pd.DataFrame:
    """One row per run: its last evaluation."""
    if table.empty:
        return table
    last = table[table["final"]]
    return last.sort_values("step").groupby(CELL + ["lr", "seed"], dropna=False).tail(1)


def best_cells(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (format, family, size, n): the best learning rate's mean over seeds."""
    runs = final_runs(table)
    cols = CELL + ["acc", "tf_exact", "best_lr", "n_params", "seeds"]
    if runs.empty:
        return pd.DataFrame(columns=cols)
    per_lr = (
        runs.groupby(CELL + ["lr"], dropna=False)
        .agg(
            acc=("gen_acc", "mean"),
            tf_exact=("tf_exact", "mean"),
            n_params=("n_params", "first"),
            seeds=("seed", "nunique"),
        )
        .reset_index()
    )
    chosen = []  # per cell, the row of its learning rate
    for _, group in per_lr.groupby(CELL):
        scores = dict(zip(group["lr"], group["acc"], strict=True))
        chosen.append(group.index[group["lr"] == best_learning_rate(scores)][0])
    best = per_lr.loc[chosen]
    return best.rename(columns={"lr": "best_lr"})[cols].sort_values(CELL).reset_index(drop=True)


def best_over_sizes(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (format, family, n): the best size's cell."""
    cells = best_cells(table)
    if cells.empty:
        return cells
    keys = ["format", "family", "n"]
    best = cells.sort_values(["acc", "n_params"], ascending=[False, True]).groupby(keys).head(1)
    return best.sort_values(keys).reset_index(drop=True)
