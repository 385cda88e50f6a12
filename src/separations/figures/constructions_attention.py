"""Theorem 1 executed: softmax vs hard vs linear attention in the same hand-set Transformer.

Left: float64 accuracy against N of each attention kind at the smallest width of the softmax
construction. Right: the same at the width Lemma 2 asks for (the construction's own position
vectors 1/4-orthogonal), where Theorem 1 guarantees softmax at η = 2 ln 3N. Linear attention is a
recurrent model (Theorem 3), and fails at these widths.
"""

import sys

import matplotlib.pyplot as plt

from ..constructions.summary import precision_grid
from .common import cli, label_panel, note_figure, reference_lines

STYLE = {"softmax": ("C0", "o"), "hard": ("C1", "s"), "linear": ("C3", "^")}


def panel(ax, rows, title):
    for attention, part in rows.groupby("attention"):
        color, marker = STYLE.get(attention, ("C7", "x"))
        part = part.sort_values("length")
        hollow = {"markerfacecolor": "none", "markersize": 9} if attention == "hard" else {}
        ax.plot(
            part["length"],
            part["accuracy"] * 100,
            marker=marker,
            color=color,
            label=attention,
            **hollow,
        )
    alphabet = int(rows["alphabet"].max())
    reference_lines(ax, 100 / alphabet)
    ax.set_xscale("log")
    label_panel(ax, title, "accuracy (%)", (-3, 103), legend="small", loc="center left")


def draw(results):
    df = results["constructions"]
    grid = precision_grid(df)
    panels = [
        (rows, title)
        for rows, title in (
            (grid[grid["precision"] == "float64"], "smallest softmax width"),
            (df[df["study"] == "lemma_width"], "Lemma 2 width (theorem regime)"),
        )
        if not rows.empty
    ]
    if not panels:
        return note_figure("No attention-kind results of the construction.")
    fig, axes = plt.subplots(
        1, len(panels), figsize=(4.5 * len(panels), 3.6), sharey=True, squeeze=False
    )
    for ax, (rows, title) in zip(axes[0], panels, strict=True):
        panel(ax, rows, title)
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    sys.exit(cli(draw, __doc__))
