"""Associative recall (paper 2): test accuracy against the number of key-value pairs N.

    python -m separations.figures.recall_accuracy --input recall=results/recall/metrics.parquet \\
        --out paper/figures/recall_accuracy.pdf

One line per family and size (the Transformer, Mamba and the hybrid at matched parameter counts,
named with their counts in the legend), each point a cell of the ``recall`` sweep under the
protocol (test accuracy at the validation-chosen learning rate and checkpoint, mean over seeds)
with its interval as an error bar (at the verdicts' confidence); N on a log2 axis; paper 2's
near-perfect threshold dashed (config ``verdicts.near_perfect.paper2``, the one the claim uses).
"""

from __future__ import annotations

import sys

import matplotlib.pyplot as plt

from ..claims.base import protocol_for, rules_for
from ..summary import short_label
from .common import cells, cli, family_key, label_panel, note_figure, reference_lines

TASK = "mqar"
MARKERS = {"transformer": "o", "mamba": "s", "hybrid": "^"}


def draw(results, settings=None) -> plt.Figure:
    metrics = results.get("recall")
    if metrics is None or metrics.empty or TASK not in set(metrics["task"]):
        return note_figure("no associative-recall (MQAR) results")
    table = cells(metrics[metrics["task"] == TASK], protocol_for(settings))
    threshold = rules_for(settings, "paper2").near_perfect
    fig, ax = plt.subplots(figsize=(4.8, 3.0))
    shapes = table.drop_duplicates(["model", "depth", "width"]).sort_values(
        ["model", "depth", "width"],
        key=lambda s: s.map(family_key) if s.name == "model" else s,
    )
    for shape in shapes.itertuples():
        rows = table[
            (table["model"] == shape.model)
            & (table["depth"] == shape.depth)
            & (table["width"] == shape.width)
        ].sort_values("length")
        params = sorted(set(rows["n_params"]))
        count = (
            f"{params[0] / 1000:.0f}k"
            if len(params) == 1
            else (f"{params[0] / 1000:.0f}-{params[-1] / 1000:.0f}k")
        )
        acc = 100 * rows["acc"]
        ax.errorbar(
            rows["length"],
            acc,
            yerr=[acc - 100 * rows["low"], 100 * rows["high"] - acc],
            marker=MARKERS.get(shape.model, "D"),
            markersize=4,
            capsize=2.5,
            linewidth=1.2,
            label=f"{short_label(shape.model)}-({shape.depth}, {shape.width}), {count} params",
        )
    reference_lines(ax, 0.0, 100 * threshold)
    ax.set_xscale("log", base=2)
    lengths = sorted(set(table["length"]))
    ax.set_xticks(lengths, [str(n) for n in lengths])
    label_panel(
        ax,
        "Multi-query associative recall",
        "test accuracy (%, all queries right)",
        (-3, 103),
        xlabel="N (key-value pairs)",
        loc="lower left",
    )
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    sys.exit(cli(draw, __doc__))
