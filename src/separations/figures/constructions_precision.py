"""Theorem 1 executed: accuracy of the hand-set Transformer against numeric precision and N.

Left: accuracy at each precision (dtypes, and float64 with every activation rounded to K mantissa
bits) and N, at the smallest width of the softmax construction and its η; "ovf" marks an
overflow. Right: accuracy against η at that width for each N, in float64 (lines) and the other
listed precisions, with overflows marked.
"""

import math
import sys

import matplotlib.pyplot as plt
import numpy as np

from ..constructions.summary import eta_grid, precision_grid
from .common import cli, heatmap, note_figure


def precision_order(names, bits: dict[str, int]) -> list[str]:
    """dtypes first (widest first), then bits<K> from most to fewest bits (``bits``: each
    precision's significant bits, as the results table records them)."""
    return sorted(set(names), key=lambda n: (n.startswith("bits"), -bits[n], n))


def viridis(count: int) -> list[tuple[float, float, float]]:
    """``count`` colours evenly inside viridis, its two ends left out (seaborn's palette of a
    matplotlib colour map, without importing seaborn)."""
    cmap = plt.get_cmap("viridis")
    return [tuple(cmap(x)[:3]) for x in np.linspace(0, 1, count + 2)[1:-1]]


def percent(a: float) -> str:
    """100 only when every example was right; otherwise rounded down, one decimal."""
    return "100" if a == 1 else f"{math.floor(1000 * a) / 10:g}"


def eta_label(eta: float) -> str:
    exponent = math.log10(eta)
    if eta >= 1e4 and exponent.is_integer():
        return f"$10^{{{int(exponent)}}}$"
    return f"{eta:g}"


def draw(results):
    df = results["constructions"]
    bits = dict(zip(df["precision"], df["significant_bits"], strict=True))
    grid = precision_grid(df)
    grid = grid[grid["attention"] == "softmax"]
    etas = eta_grid(df)
    panels = [p for p, rows in (("grid", grid), ("eta", etas)) if not rows.empty]
    if not panels:
        return note_figure("No precision results of the construction.")
    ratios = {"grid": 1, "eta": 1.1}
    fig, axes = plt.subplots(
        1,
        len(panels),
        figsize=(0.5 + 4.75 * len(panels), 4.2),
        width_ratios=[ratios[p] for p in panels],
        squeeze=False,
    )
    axes = dict(zip(panels, axes[0], strict=True))
    if "grid" in axes:
        left = axes["grid"]
        acc = grid.pivot_table(index="precision", columns="length", values="accuracy")
        ovf = grid.pivot_table(index="precision", columns="length", values="overflow")
        order = precision_order(acc.index, bits)
        acc, ovf = acc.reindex(order), ovf.reindex(order)
        labels = acc.map(percent)
        labels = labels.where(ovf.fillna(0) == 0, "ovf")
        heatmap(left, acc * 100, labels, vmin=0, vmax=100, cbar_label="accuracy (%)")
        left.set_xlabel("N")
        left.set_ylabel("precision")
        left.set_title(r"softmax, $\eta = 2\ln 3N$, smallest width")
    if "eta" in axes:
        right = axes["eta"]
        # η spans tens of decades: equally spaced categories, labelled with their values
        values = sorted(set(etas["eta"]))
        where = {v: i for i, v in enumerate(values)}
        lengths = sorted(set(etas["length"]))
        colors = dict(zip(lengths, viridis(len(lengths)), strict=True))
        styles = ["-", "--", ":", "-."]
        for i, name in enumerate(precision_order(etas["precision"], bits)):
            for length in lengths:
                part = etas[(etas["precision"] == name) & (etas["length"] == length)]
                part = part.sort_values("eta")
                x = part["eta"].map(where)
                right.plot(
                    x,
                    part["accuracy"] * 100,
                    color=colors[length],
                    linestyle=styles[i % len(styles)],
                    marker="." if i == 0 else None,
                    linewidth=1.5 if i == 0 else 1,
                    label=f"N = {length}" if i == 0 else None,
                )
                hit = part[part["overflow"]]
                right.scatter(
                    hit["eta"].map(where), hit["accuracy"] * 100, marker="x", color="red", zorder=5
                )
            right.plot([], [], color="grey", linestyle=styles[i % len(styles)], label=name)
        right.scatter([], [], marker="x", color="red", label="overflow")
        right.set_xticks(range(len(values)), [eta_label(v) for v in values], fontsize="small")
        right.set_xlabel(r"$\eta$ (attention scale; categories)")
        right.set_ylabel("accuracy (%)")
        right.set_ylim(-3, 103)
        right.set_title(r"softmax at the smallest width: accuracy against $\eta$")
        right.legend(fontsize="x-small", loc="center")
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    sys.exit(cli(draw, __doc__))
