"""Summaries of a metrics table that figures and the report share.

The reporting rule is the papers': for each model shape and length, the best learning rate. A run's
score is the best validation accuracy it reached (runs stop once solved); with several seeds the
score of a learning rate is the mean over seeds.
"""

from __future__ import annotations

import pandas as pd

SHORT = {
    "transformer": "TF",
    "lstm": "LSTM",
    "mamba": "Mamba",
    "dss": "DSS",
    "retnet": "RetNet",
    "linear": "LinTF",
}
CELL = ["task", "model", "depth", "width", "heads", "length"]


def model_label(model: str, depth: int, width: int, heads=None) -> str:
    """Paper 1's labels: TF-(layers, width)."""
    return f"{SHORT.get(model, model)}-({int(depth)}, {int(width)})"


def runs(metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per run: best accuracy, final step, first step at which it was solved."""
    keys = CELL + ["lr", "seed"]
    df = metrics.copy()
    df["heads"] = df["heads"].fillna(0).astype(int)
    grouped = df.groupby(keys, dropna=False)
    out = grouped.agg(
        best_acc=("val_acc", "max"),
        final_acc=("val_acc", "last"),
        last_step=("step", "max"),
        threshold=("threshold", "first"),
        max_steps=("max_steps", "first"),
        wall_time=("wall_time", "max"),
        n_params=("n_params", "first"),
    ).reset_index()
    solved = df[df["solved"]].groupby(keys, dropna=False)["step"].min().rename("solved_step")
    out = out.merge(solved.reset_index(), on=keys, how="left")
    return out


def best_over_lr(metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per cell (model shape × task × N): the best learning rate's score."""
    per_run = runs(metrics)
    per_lr = (
        per_run.groupby(CELL + ["lr"], dropna=False)
        .agg(
            acc=("best_acc", "mean"),
            solved_step=("solved_step", "max"),
            seeds=("seed", "nunique"),
            threshold=("threshold", "first"),
            max_steps=("max_steps", "first"),
        )
        .reset_index()
    )
    best = per_lr.sort_values(["acc", "lr"], ascending=[False, False]).groupby(CELL).head(1)
    best = best.rename(columns={"lr": "best_lr"}).sort_values(CELL).reset_index(drop=True)
    best["label"] = [
        model_label(m, d, w) for m, d, w in zip(best.model, best.depth, best.width, strict=True)
    ]
    best["n_lrs"] = per_lr.groupby(CELL).size().reindex(pd.MultiIndex.from_frame(best[CELL])).values
    return best


def load(path) -> pd.DataFrame:
    from .results import read_metrics

    return read_metrics(path).to_pandas()
