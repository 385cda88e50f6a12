"""Beyond paper 1: in-context nearest neighbour and MQAR, 1- vs 2-layer TFs vs recurrent models.

One panel per task that has results: test accuracy at the validation-chosen learning rate with
its interval (error bar) for each model and N; filled markers are solved cells, hollow ones are
not; chance dotted, the threshold dashed.
"""

import sys

import matplotlib.pyplot as plt

from ..summary import SOLVED, cells
from .common import (
    cli,
    figure_note,
    label_order,
    label_panel,
    note_figure,
    reference_lines,
    tasks_present,
)

TASKS = [("nn", "Nearest neighbour"), ("mqar", "MQAR")]


def panel(ax, best, title):
    lengths = sorted(best["length"].unique())
    where = {n: i for i, n in enumerate(lengths)}
    order = label_order(best)
    for k, label in enumerate(order):
        part = best[best["label"] == label].sort_values("length")
        shift = (k - (len(order) - 1) / 2) * 0.08
        x = part["length"].map(where) + shift
        acc = part["acc"] * 100
        colour = f"C{k}"
        ax.plot(x, acc, color=colour, linewidth=1, label=label)
        ax.errorbar(
            x,
            acc,
            yerr=[acc - part["low"] * 100, part["high"] * 100 - acc],
            fmt="none",
            ecolor=colour,
            capsize=3,
        )
        solved = part["status"] == SOLVED
        ax.scatter(x[solved], acc[solved], color=colour, zorder=3)
        ax.scatter(x[~solved], acc[~solved], facecolor="white", edgecolor=colour, zorder=3)
    reference_lines(ax, 100 * best["chance"].max(), 100 * best["threshold"].max())
    ax.set_xticks(range(len(lengths)), [str(n) for n in lengths])
    ax.set_xlim(-0.5, len(lengths) - 0.5)
    label_panel(ax, title, "test accuracy (%)", (-2, 102))


def draw(results):
    metrics = results["metrics"]
    present = tasks_present(metrics, TASKS)
    if not present:
        return note_figure("No nearest-neighbour or MQAR results in this sweep.")
    fig, axes = plt.subplots(1, len(present), figsize=(4.5 * len(present), 3.2), squeeze=False)
    for ax, (task, title) in zip(axes[0], present, strict=True):
        panel(ax, cells(metrics[metrics["task"] == task]), title)
    figure_note(
        fig, "bars: 95% interval; filled: solved, hollow: not solved (interval vs threshold)"
    )
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    sys.exit(cli(draw, __doc__))
