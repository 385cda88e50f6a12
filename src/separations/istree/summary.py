"""The cells of an IsTree results table under the verdict protocol: what the figure and claims read.

A run is one learning rate and seed of a (format, family, size, n) cell; its score is its last
iterate (the paper reports the last iterate): ``gen_acc`` on the validation set, ``test_gen_acc``
on the held-out test set (greedy generation with the search tool in the loop). A cell chooses its
learning rate on validation (the mean ``gen_acc`` over seeds, among the rates that successive
halving did not prune; :func:`separations.summary.best_learning_rate`) and reports that rate's
test accuracy: the mean over seeds, with an interval that covers the Student-t interval over seeds
and every run's Wilson interval. A cell carries the flags that keep a failure from counting: a run
that hit its step cap still improving (validation exact match rose by more than the protocol's
``improving_tolerance`` over the last quarter), and a chosen rate at the edge of its grid.
"""

from __future__ import annotations

import pandas as pd

from ..families import LM_FAMILIES
from ..summary import (
    Protocol,
    at_edge,
    best_learning_rate,
    seed_interval,
    still_improving,
    wilson,
)

CELL = ["format", "family", "size", "n"]
#: each family's label in figures and claims (the registry's)
FAMILY_LABELS = {name: family.label for name, family in LM_FAMILIES.items()}
FORMAT_LABELS = {"nocot": "no CoT", "cot": "CoT", "retrieval": "retrieval CoT"}
#: what the flags read: the validation curve of teacher-forced exact match
CURVE = "tf_exact"


def final_runs(table: pd.DataFrame) -> pd.DataFrame:
    """One row per run: its last evaluation."""
    if table.empty:
        return table
    last = table[table["final"]]
    return last.sort_values("step").groupby(CELL + ["lr", "seed"], dropna=False).tail(1)


def cells(table: pd.DataFrame, protocol: Protocol | None = None) -> pd.DataFrame:
    """One row per (format, family, size, n): the chosen rate, test accuracy with its interval,
    the status against paper 2's threshold and the flags (see the module doc)."""
    protocol = protocol or Protocol()
    runs = final_runs(table)
    if runs.empty:
        return pd.DataFrame(columns=CELL + ["acc", "low", "high"])
    if "pruned" not in runs:
        runs = runs.assign(pruned=False)
    curves_by_cell = dict(iter(table.groupby(CELL, dropna=False)))
    rows = []
    for key, group in runs.groupby(CELL, dropna=False):
        lrs = sorted(group["lr"].unique())
        finalists = [lr for lr in lrs if not group.loc[group["lr"] == lr, "pruned"].all()]
        finalists = finalists or lrs
        scores = {lr: float(group.loc[group["lr"] == lr, "gen_acc"].mean()) for lr in finalists}
        chosen = best_learning_rate(scores)
        mine = group[group["lr"] == chosen]
        accs = mine["test_gen_acc"].to_numpy(dtype=float)
        t_low, t_high = seed_interval(accs, protocol.confidence)
        bounds = [
            wilson(round(a * s), int(s), protocol.confidence)
            for a, s in zip(accs, mine["test_size"], strict=True)
        ]
        low = max(0.0, min([t_low] + [b[0] for b in bounds]))
        high = min(1.0, max([t_high] + [b[1] for b in bounds]))
        curves = curves_by_cell[key]
        chosen_curves = curves[curves["lr"] == chosen]
        improving = any(
            still_improving(run, protocol.improving_tolerance, CURVE)
            for _, run in chosen_curves.groupby("seed")
        )
        rows.append(
            {
                **dict(zip(CELL, key, strict=True)),
                "best_lr": chosen,
                "acc": float(accs.mean()),
                "low": low,
                "high": high,
                "val_acc": scores[chosen],
                "tf_exact": float(mine["test_tf_exact"].mean()),
                "seeds": int(mine["seed"].nunique()),
                "n_lrs": len(lrs),
                "lrs": lrs,
                "max_steps": int(group["max_steps"].iloc[0]),
                "improving": improving,
                "at_edge": at_edge(curves, lrs, chosen, protocol.edge_tolerance, CURVE),
                "n_params": int(group["n_params"].iloc[0]),
                "test_size": int(mine["test_size"].iloc[0]),
                "val_size": int(mine["eval_size"].iloc[0]),
                "pruned_runs": int(group["pruned"].sum()),
                "steps_run": int(group["step"].sum()),
                "wall_time": float(group["wall_time"].sum()),
            }
        )
    return pd.DataFrame(rows).sort_values(CELL).reset_index(drop=True)
