"""Paper 1, Fig. 3: 2-layer Mamba on Index Lookup, width × N heatmap, next to TF-(1, 64)."""

import sys

import matplotlib.pyplot as plt
import seaborn as sns

from ..summary import best_over_lr
from .common import cli, empty


def draw(results):
    metrics = results["metrics"]
    best = best_over_lr(metrics[metrics["task"] == "idxl"])
    mamba = best[(best["model"] == "mamba") & (best["depth"] == 2)]
    tf = best[(best["model"] == "transformer") & (best["depth"] == 1) & (best["width"] == 64)]
    fig, ax = plt.subplots(figsize=(4.8, 3.0))
    if mamba.empty:
        empty(ax, "no 2-layer Mamba on Index Lookup in this sweep")
        return fig
    grid = mamba.pivot_table(index="width", columns="length", values="acc", aggfunc="max")
    if not tf.empty:
        row = tf.groupby("length")["acc"].max().reindex(grid.columns)
        grid.loc["TF-(1, 64)"] = row
        grid.index = [f"Mamba-(2, {w})" if w != "TF-(1, 64)" else w for w in grid.index]
    sns.heatmap(
        grid * 100,
        ax=ax,
        annot=True,
        fmt=".0f",
        vmin=0,
        vmax=100,
        cmap="viridis",
        cbar_kws={"label": "accuracy (%)"},
        linewidths=0.5,
    )
    ax.set_xlabel("N (evaluation length)")
    ax.set_ylabel("")
    ax.set_title("Index Lookup: 2-layer Mamba by width")
    return fig


if __name__ == "__main__":
    sys.exit(cli(draw, __doc__))
