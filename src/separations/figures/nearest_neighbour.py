"""Beyond paper 1: in-context nearest neighbour and MQAR, 1- vs 2-layer TFs vs recurrent models."""

import sys

import matplotlib.pyplot as plt
import seaborn as sns

from ..summary import best_over_lr
from .common import cli, empty

TASKS = [("nn", "Nearest neighbour"), ("mqar", "MQAR")]


def draw(results):
    metrics = results["metrics"]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for ax, (task, title) in zip(axes, TASKS, strict=True):
        best = best_over_lr(metrics[metrics["task"] == task])
        if best.empty:
            empty(ax, f"no {task} results in this sweep")
            continue
        sns.lineplot(
            data=best.assign(acc=best["acc"] * 100),
            x="length",
            y="acc",
            hue="label",
            marker="o",
            ax=ax,
        )
        chance = metrics.loc[metrics["task"] == task, "chance"].max()
        if chance > 0:
            ax.axhline(100 * chance, color="grey", linestyle=":", linewidth=1, label="chance")
        ax.set_xlabel("N")
        ax.set_ylabel("accuracy (%)")
        ax.set_ylim(-2, 102)
        ax.set_title(title)
        ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    sys.exit(cli(draw, __doc__))
