"""Paper 2: IsTree accuracy against model size, one panel per (family, format), one line per n.

Accuracy is the answer accuracy of greedy generation (with the search tool answering queries in the
retrieval format) at each run's last evaluation, best learning rate per cell
(:func:`separations.retrieval.summary.best_cells`). Dotted: teacher-forced exact match of the whole
supervised part.
"""

import sys

import matplotlib.pyplot as plt

from ..retrieval.summary import FAMILY_LABELS, FORMAT_LABELS, best_cells
from .common import cli, empty

FAMILIES = ["transformer", "mamba", "hybrid"]
FORMATS = ["nocot", "cot", "retrieval"]


def draw(results):
    cells = best_cells(results["istree"])
    fig, axes = plt.subplots(
        len(FAMILIES), len(FORMATS), figsize=(9, 7), sharex=True, sharey=True, squeeze=False
    )
    if cells.empty:
        for ax in axes.flat:
            empty(ax, "no IsTree results in this sweep")
        return fig
    sizes = cells.groupby("size")["n_params"].mean().sort_values().index.tolist()
    position = {s: i for i, s in enumerate(sizes)}
    colours = plt.get_cmap("viridis")
    ns = sorted(cells["n"].unique())
    for r, family in enumerate(FAMILIES):
        for c, fmt in enumerate(FORMATS):
            ax = axes[r][c]
            part = cells[(cells["family"] == family) & (cells["format"] == fmt)]
            ax.set_title(f"{FAMILY_LABELS[family]}, {FORMAT_LABELS[fmt]}", fontsize="small")
            ax.axhline(50, color="grey", linestyle=":", linewidth=1)
            for k, n in enumerate(ns):
                line = part[part["n"] == n].sort_values("size", key=lambda s: s.map(position))
                if line.empty:
                    continue
                colour = colours(k / max(1, len(ns) - 1) * 0.85)
                x = line["size"].map(position)
                ax.plot(x, line["acc"] * 100, marker="o", color=colour, label=f"n = {n}")
                ax.plot(x, line["tf_exact"] * 100, linestyle=":", marker=".", color=colour)
            ax.set_ylim(-3, 103)
            ax.set_xticks(range(len(sizes)), sizes)
            if c == 0:
                ax.set_ylabel("accuracy (%)")
            if r == len(FAMILIES) - 1:
                ax.set_xlabel("model size")
    handles, labels = [], []
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


if __name__ == "__main__":
    sys.exit(cli(draw, __doc__))
