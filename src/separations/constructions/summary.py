"""Summaries of the constructions table that the figures and the claims share."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

#: the recurrent lower bound m ≥ N / p (paper 1, Theorem 3) is drawn for these precisions p
BOUND_BITS = (16, 32)


def orthogonality_widths(df: pd.DataFrame) -> pd.DataFrame:
    """Lemma 2: per N, the smallest k found (NaN where no k up to the search's cap passed)."""
    rows = df[df["study"] == "orthogonality"]
    return _selected(rows, ["length"])


def smallest_widths(df: pd.DataFrame) -> pd.DataFrame:
    """Per (search, N): the smallest k at which the construction was 100% accurate, and the
    model width there; NaN where the search found none."""
    rows = df[df["study"] == "width"]
    return _selected(rows, ["search", "attention", "eta_rule", "length"])


def _selected(rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    if rows.empty:
        return pd.DataFrame(columns=[*keys, "k", "width", "found"])
    chosen = rows[rows["selected"]].set_index(keys)
    out = rows.groupby(keys, dropna=False).size().rename("tested").to_frame()
    out = out.join(chosen[["k", "width"]], how="left").reset_index()
    out["found"] = out["k"].notna()
    return out.sort_values(keys).reset_index(drop=True)


def loglog_slope(n: pd.Series, k: pd.Series) -> float:
    """Least-squares slope of log k against log N (0 for log-like growth at large N, 1 for
    linear growth)."""
    if len(n) < 2:
        return math.nan
    return float(np.polyfit(np.log(n.astype(float)), np.log(k.astype(float)), 1)[0])


def trained_widths(metrics: pd.DataFrame | None) -> pd.DataFrame:
    """Smallest width of a trained Transformer that solved Index Lookup, per N (any depth).

    Empty when the metrics table is absent or has no solved Transformer cell.
    """
    columns = ["length", "width", "depth"]
    if metrics is None or metrics.empty:
        return pd.DataFrame(columns=columns)
    from ..summary import best_over_lr

    part = metrics[(metrics["task"] == "idxl") & (metrics["model"] == "transformer")]
    if part.empty:
        return pd.DataFrame(columns=columns)
    best = best_over_lr(part)
    solved = best[best["status"] == "solved"]
    if solved.empty:
        return pd.DataFrame(columns=columns)
    idx = solved.groupby("length")["width"].idxmin()
    return solved.loc[idx, columns].sort_values("length").reset_index(drop=True)


def precision_grid(df: pd.DataFrame) -> pd.DataFrame:
    """Rows of the precision × attention grid (at the first search's smallest width)."""
    return df[(df["study"] == "precision") & (df["search"] == "precision")]


def eta_grid(df: pd.DataFrame) -> pd.DataFrame:
    return df[(df["study"] == "precision") & (df["search"] == "eta")]


def bits_needed(df: pd.DataFrame, attention: str = "softmax") -> pd.Series:
    """Per N: the fewest mantissa bits K such that ``bits<K>`` and every larger K evaluated give
    100% accuracy (NaN if even the largest did not)."""
    grid = precision_grid(df)
    grid = grid[(grid["attention"] == attention) & grid["precision"].str.startswith("bits")]
    out = {}
    for length, part in grid.groupby("length"):
        bits = part.assign(K=part["significant_bits"] - 1).sort_values("K", ascending=False)
        needed = math.nan
        for row in bits.itertuples():
            if not row.passed:
                break
            needed = row.K
        out[int(length)] = needed
    return pd.Series(out, name="bits_needed", dtype=float)


def eta_needed(df: pd.DataFrame, precision: str = "float64") -> pd.Series:
    """Per N: the smallest η of the grid from which every larger η gives 100% accuracy."""
    grid = eta_grid(df)
    grid = grid[grid["precision"] == precision]
    out = {}
    for length, part in grid.groupby("length"):
        needed = math.nan
        for row in part.sort_values("eta", ascending=False).itertuples():
            if not row.passed:
                break
            needed = row.eta
        out[int(length)] = needed
    return pd.Series(out, name="eta_needed", dtype=float)


def overflow_eta(df: pd.DataFrame, precision: str) -> float:
    """The smallest η of the grid at which ``precision`` overflowed (NaN if none did)."""
    grid = eta_grid(df)
    hit = grid[(grid["precision"] == precision) & grid["overflow"]]
    return float(hit["eta"].min()) if not hit.empty else math.nan
