"""Theorem 1 executed: the smallest width at which the hand-set Transformer does Index Lookup.

Against N (log scale): the smallest k with 100% accuracy of the construction (per attention kind)
and the model width 4b + 4k there; the k at which N random ±1/√k vectors are 1/4-orthogonal
(Lemma 2, the theorem's own sufficient width); the recurrent lower bound m ≥ N/p for p = 16 and
32 bits (Theorem 3); and, where the training sweep has them, the smallest trained Transformer
widths that solved Index Lookup.
"""

import sys

import matplotlib.pyplot as plt
import numpy as np

from ..constructions.summary import (
    BOUND_BITS,
    orthogonality_widths,
    smallest_widths,
    trained_widths,
)
from .common import cli, empty

STYLE = {"softmax": ("C0", "o"), "hard": ("C1", "s"), "linear": ("C3", "^")}


def draw(results):
    df = results["constructions"]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    widths = smallest_widths(df)
    lemma = orthogonality_widths(df)
    if widths.empty and lemma.empty:
        empty(ax, "no constructions results")
        return fig
    lengths = np.array(sorted(set(widths["length"]) | set(lemma["length"])), dtype=float)
    for (search, attention), part in widths.groupby(["search", "attention"]):
        color, marker = STYLE.get(attention, ("C7", "x"))
        found = part[part["found"]]
        eta = search.split("/", 1)[1]
        label = f"{attention} attention" + (r", $\eta = 2\ln 3N$" if eta == "theorem" else "")
        hollow = {"markerfacecolor": "none", "markersize": 9} if attention == "hard" else {}
        ax.plot(
            found["length"], found["k"], marker=marker, color=color, label=f"k: {label}", **hollow
        )
        if attention == "softmax":
            ax.plot(
                found["length"],
                found["width"],
                marker=marker,
                color=color,
                linestyle="--",
                label="model width 4b + 4k (softmax)",
            )
        missing = part[~part["found"]]
        if not missing.empty:
            ax.scatter(missing["length"], [0] * len(missing), marker="x", color=color)
    found = lemma[lemma["found"]]
    if not found.empty:
        ax.plot(
            found["length"],
            found["k"],
            marker="D",
            color="C2",
            label="k: Lemma 2 (all pairs ≤ 1/4)",
        )
    grid = np.geomspace(lengths.min(), lengths.max(), 50)
    for p, style in zip(BOUND_BITS, (":", "-."), strict=True):
        ax.plot(grid, grid / p, color="grey", linestyle=style, label=f"recurrent bound N/{p}")
    trained = trained_widths(results.get("metrics"))
    if not trained.empty:
        ax.scatter(
            trained["length"],
            trained["width"],
            marker="*",
            s=90,
            color="black",
            zorder=5,
            label="trained TF: smallest width solved",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("N (input length)")
    ax.set_ylabel("width")
    ax.set_title("Index Lookup with hand-set weights: width needed for 100% accuracy")
    ax.legend(fontsize="x-small", loc="lower right")
    return fig


if __name__ == "__main__":
    sys.exit(cli(draw, __doc__))
