"""Summaries of a metrics table that figures, claims and the report share.

The protocol (docs/design.md, "Protocol and verdicts"): each run is scored on the held-out *test*
set at the checkpoint its *validation* accuracy chose; a cell's learning rate is the one whose
seeds reached the highest mean validation accuracy; the cell's score is the mean test accuracy of
that learning rate's seeds, with an interval that covers both the spread over seeds (Student t)
and each run's sampling error (Wilson). A cell is *solved* when the interval's lower end clears
the threshold and *failed* when its upper end is below it. Two flags keep a failure from counting:
the chosen rate sits at the edge of its grid and beats its neighbour there, or a run at the chosen
rate was still improving in the last quarter of its budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

CELL = ["task", "model", "depth", "width", "heads", "length"]
SOLVED, FAILED, BORDERLINE = "solved", "failed", "borderline"


@dataclass(frozen=True)
class Protocol:
    """The verdict rules' numbers (config.yaml, ``verdicts``)."""

    confidence: float = 0.95
    edge_tolerance: float = 0.02
    improving_tolerance: float = 0.02

    @classmethod
    def from_config(cls, block: dict) -> Protocol:
        return cls(**{k: block[k] for k in cls.__dataclass_fields__ if k in block})


def short_label(model: str) -> str:
    """A family's short label in figures and tables (its registry entry's ``short``: TF, LSTM,
    ...); the name itself for a model outside the registry."""
    from .families import FAMILIES

    family = FAMILIES.get(model)
    return family.short if family is not None else model


def model_label(model: str, depth: int, width: int, heads=None) -> str:
    """Paper 1's labels: TF-(layers, width)."""
    return f"{short_label(model)}-({int(depth)}, {int(width)})"


def wilson(successes: int, trials: int, confidence: float) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (Wilson 1927; the form of Newcombe 1998):
    centre (k + z^2/2) / (n + z^2), half-width z sqrt(k (n - k) / n + z^2/4) / (n + z^2); the
    ends are exactly 0 and 1 when every trial failed or succeeded. scipy.special only: importing
    scipy.stats costs each figure process a second (tests check it against scipy.stats)."""
    if trials <= 0:
        return (0.0, 1.0)
    k, n = int(successes), int(trials)
    p = k / n
    z = float(special.ndtri(0.5 + 0.5 * confidence))
    denom = 2 * (n + z**2)
    center = (2 * n * p + z**2) / denom
    delta = z / denom * math.sqrt(4 * n * p * (1 - p) + z**2)
    low = 0.0 if k == 0 else center - delta
    high = 1.0 if k == n else center + delta
    return float(low), float(high)


def seed_interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    """Student-t interval of the mean over seeds; a point when there is one seed or no spread."""
    values = np.asarray(values, dtype=float)
    mean = float(values.mean())
    if len(values) < 2 or float(values.std(ddof=1)) == 0.0:
        return mean, mean
    sem = float(values.std(ddof=1)) / math.sqrt(len(values))
    df = len(values) - 1  # t quantiles from scipy.special, as scipy.stats.t.interval takes them
    low = mean + sem * float(special.stdtrit(df, (1.0 - confidence) / 2))
    high = mean + sem * float(special.stdtrit(df, (1.0 + confidence) / 2))
    return low, high


def still_improving(group: pd.DataFrame, tolerance: float, column: str = "val_acc") -> bool:
    """One run's curve (rows with ``step``, ``max_steps`` and ``column``): it hit its cap and
    ``column`` rose by more than ``tolerance`` over the last quarter of the budget."""
    last = int(group["step"].max())
    cut = 0.75 * int(group["max_steps"].iloc[0])
    if last < int(group["max_steps"].iloc[0]):  # stopped early: solved, diverged or pruned
        return False
    before = group.loc[group["step"] <= cut, column]
    if before.empty:
        return False
    return bool(group[column].max() - before.max() > tolerance)


def improving_runs(
    df: pd.DataFrame, keys: list[str], tolerance: float, column: str = "val_acc"
) -> pd.Series:
    """:func:`still_improving` of every run of ``df`` (runs told apart by ``keys``) at once: the
    same rule, vectorised (a per-run ``apply`` is most of a large table's summary time)."""
    by = [df[k] for k in keys]
    cap = df.groupby(by, dropna=False)["max_steps"].transform(lambda s: s.iloc[0])
    early = df[column].where(df["step"] <= 0.75 * cap.astype(int))
    per_run = pd.DataFrame(
        {"step": df["step"], "cap": cap, "value": df[column], "early": early}
    ).groupby(by, dropna=False)
    agg = per_run.agg(last=("step", "max"), cap=("cap", "first"), best=("value", "max"),
                      best_early=("early", "max"))  # fmt: skip
    rose = (agg["best"] - agg["best_early"]) > tolerance  # False where nothing came before the cut
    return (agg["last"].astype(int) >= agg["cap"].astype(int)) & rose


def runs(metrics: pd.DataFrame, protocol: Protocol | None = None) -> pd.DataFrame:
    """One row per run: its validation-chosen checkpoint, test accuracy with its Wilson interval,
    how far it trained, whether it was pruned, solved on validation, or still improving."""
    protocol = protocol or Protocol()
    keys = CELL + ["lr", "seed"]
    df = metrics.copy()
    df["heads"] = df["heads"].fillna(0).astype(int)
    grouped = df.groupby(keys, dropna=False)
    out = grouped.agg(
        best_val=("val_acc", "max"),
        last_step=("step", "max"),
        threshold=("threshold", "first"),
        max_steps=("max_steps", "first"),
        wall_time=("wall_time", "max"),
        n_params=("n_params", "first"),
        test_size=("test_size", "first"),
        val_size=("val_size", "first"),
        chance=("chance", "first"),
    ).reset_index()
    final = df[df["final"]].set_index(keys)[["test_acc", "best_step", "pruned"]]
    out = out.join(final, on=keys)
    solved = df[df["solved"]].groupby(keys, dropna=False)["step"].min().rename("solved_step")
    out = out.merge(solved.reset_index(), on=keys, how="left")
    improving = improving_runs(df, keys, protocol.improving_tolerance)
    out = out.merge(improving.rename("improving").reset_index(), on=keys, how="left")
    bounds = [
        wilson(round(acc * n), n, protocol.confidence)
        for acc, n in zip(out["test_acc"], out["test_size"], strict=True)
    ]
    out["test_low"] = [b[0] for b in bounds]
    out["test_high"] = [b[1] for b in bounds]
    out["pruned"] = out["pruned"].fillna(False).astype(bool)
    return out


def _curve_max(metrics: pd.DataFrame, upto: int, column: str) -> float:
    """Mean over seeds of the best ``column`` reached by step ``upto``."""
    part = metrics[metrics["step"] <= upto]
    return float(part.groupby("seed")[column].max().mean())


def at_edge(
    cell_metrics: pd.DataFrame, lrs: list[float], chosen: float, tol: float, column: str = "val_acc"
) -> bool:
    """The chosen rate is the grid's smallest or largest and beats its neighbour by more than
    ``tol`` (in validation ``column``) at the last step both reached: the optimum may lie outside
    the grid."""
    if len(lrs) < 2 or chosen not in (lrs[0], lrs[-1]):
        return False
    neighbour = lrs[1] if chosen == lrs[0] else lrs[-2]
    mine = cell_metrics[cell_metrics["lr"] == chosen]
    theirs = cell_metrics[cell_metrics["lr"] == neighbour]
    upto = min(int(mine["step"].max()), int(theirs["step"].max()))
    return _curve_max(mine, upto, column) - _curve_max(theirs, upto, column) > tol


def ranked_learning_rates(scores) -> list[float]:
    """Learning rates best first by score (a mapping rate -> mean over seeds of the selection
    metric), a tie to the smaller rate: the one order that picks a cell's rate (both papers) and
    the rates successive halving keeps (:func:`separations.runner.survivors`)."""
    return sorted(scores, key=lambda lr: (-scores[lr], lr))


def best_learning_rate(scores) -> float:
    """The rate both papers choose a cell by: the first of :func:`ranked_learning_rates`."""
    return ranked_learning_rates(scores)[0]


def cells(metrics: pd.DataFrame, protocol: Protocol | None = None) -> pd.DataFrame:
    """One row per cell (model shape × task × N) under the protocol: the chosen learning rate,
    the mean test accuracy of its seeds with an interval, the status against the threshold
    (solved / failed / borderline) and the flags that keep a failure from counting."""
    protocol = protocol or Protocol()
    if metrics.empty:
        return pd.DataFrame(columns=CELL + ["acc", "low", "high", "status"])
    per_run = runs(metrics, protocol)
    df = metrics.copy()
    df["heads"] = df["heads"].fillna(0).astype(int)
    by_cell = dict(iter(df.groupby(CELL, dropna=False)))
    rows = []
    for key, group in per_run.groupby(CELL, dropna=False):
        lrs = sorted(group["lr"].unique())
        # finalists: the rates that trained longest (pruning stopped the others); among them the
        # highest mean validation accuracy over seeds, ties to the smaller rate
        reach = group.groupby("lr")["last_step"].max()
        per_lr = group.groupby("lr")["best_val"].mean()
        finalists = [lr for lr in lrs if not group.loc[group["lr"] == lr, "pruned"].all()]
        finalists = finalists or [lr for lr in lrs if reach[lr] == reach.max()]
        chosen = best_learning_rate({lr: per_lr[lr] for lr in finalists})
        mine = group[group["lr"] == chosen]
        acc = float(mine["test_acc"].mean())
        t_low, t_high = seed_interval(mine["test_acc"].to_numpy(), protocol.confidence)
        low = max(0.0, min(t_low, float(mine["test_low"].min())))
        high = min(1.0, max(t_high, float(mine["test_high"].max())))
        threshold = float(group["threshold"].iloc[0])
        status = SOLVED if low >= threshold else FAILED if high < threshold else BORDERLINE
        cell_metrics = by_cell[key]
        rows.append(
            {
                **dict(zip(CELL, key, strict=True)),
                "best_lr": chosen,
                "acc": acc,
                "low": low,
                "high": high,
                "status": status,
                "threshold": threshold,
                "chance": float(group["chance"].iloc[0]),
                "max_steps": int(group["max_steps"].iloc[0]),
                "seeds": int(mine["seed"].nunique()),
                "n_lrs": len(lrs),
                "lrs": lrs,
                "at_edge": at_edge(cell_metrics, lrs, chosen, protocol.edge_tolerance),
                "improving": bool(mine["improving"].any()),
                "solved_step": float(mine["solved_step"].max()),
                "val_acc": float(per_lr[chosen]),
                "test_size": int(group["test_size"].iloc[0]),
                "val_size": int(group["val_size"].iloc[0]),
                "steps_run": int(group["last_step"].sum()),
                "steps_full": int(group["max_steps"].iloc[0]) * len(group),
                "pruned_runs": int(group["pruned"].sum()),
                "wall_time": float(group["wall_time"].sum()),
                "n_params": int(group["n_params"].iloc[0]),
            }
        )
    out = pd.DataFrame(rows).sort_values(CELL).reset_index(drop=True)
    out["label"] = [
        model_label(m, d, w) for m, d, w in zip(out.model, out.depth, out.width, strict=True)
    ]
    return out


def best_over_lr(metrics: pd.DataFrame, protocol: Protocol | None = None) -> pd.DataFrame:
    """Alias kept for figures: one row per cell (see :func:`cells`)."""
    return cells(metrics, protocol)


def interval_text(row) -> str:
    """``99.8% [99.5, 100.0]`` for a cell row."""
    return f"{100 * row.acc:.1f}% [{100 * row.low:.1f}, {100 * row.high:.1f}]"


def load(path) -> pd.DataFrame:
    from .results import read_metrics

    return read_metrics(path).to_pandas()


__all__ = [
    "BORDERLINE",
    "CELL",
    "FAILED",
    "SOLVED",
    "Protocol",
    "best_learning_rate",
    "best_over_lr",
    "cells",
    "interval_text",
    "model_label",
    "ranked_learning_rates",
    "runs",
    "seed_interval",
    "short_label",
    "wilson",
]
