"""Paper 2: IsTree accuracy against the number of nodes n, one panel per answer format.

One line per model family and size (labelled with its trainable parameters): the held-out test
accuracy of greedy generation (with the search tool answering queries in the retrieval format) of
each run's last iterate, at the learning rate validation chose, mean over seeds
(:func:`separations.istree.summary.cells`); bars: the cell's interval (Student t over seeds
covering each run's Wilson interval, at the verdicts' confidence). Chance dotted, paper 2's
near-perfect threshold dashed. Only formats with results get a panel.
"""

import sys

import matplotlib.pyplot as plt

from ..claims.base import protocol_for, rules_for
from ..families import LM_FAMILIES as FAMILIES
from ..istree.summary import FAMILY_LABELS, FORMAT_LABELS, cells
from ..tasks.istree.formats import FORMATS
from .common import cli, note_figure, reference_lines

MARKERS = ["o", "s", "^", "D", "v"]


def draw(results, settings=None):
    table = results["istree"]
    best = cells(table, protocol_for(settings))
    threshold = 100 * rules_for(settings, "paper2").near_perfect
    formats = [f for f in FORMATS if f in set(best.get("format", []))]
    formats += sorted(set(best.get("format", [])) - set(FORMATS))
    if not formats:
        return note_figure("No IsTree results in this sweep.")
    families = [f for f in FAMILIES if f in set(best["family"])]
    families += sorted(set(best["family"]) - set(FAMILIES))
    params = best.groupby(["family", "size"])["n_params"].mean()
    sizes = best.groupby("size")["n_params"].mean().sort_values().index.tolist()
    ns = sorted(best["n"].unique())
    chance = 100 * float(table["chance"].max()) if "chance" in table else 50.0
    fig, axes = plt.subplots(
        1, len(formats), figsize=(0.6 + 3.4 * len(formats), 3.4), sharey=True, squeeze=False
    )
    for ax, fmt in zip(axes[0], formats, strict=True):
        part = best[best["format"] == fmt]
        lines = part.groupby(["family", "size"]).size().index
        for k, (family, size) in enumerate(
            sorted(lines, key=lambda fs: (families.index(fs[0]), sizes.index(fs[1])))
        ):
            line = part[(part["family"] == family) & (part["size"] == size)].sort_values("n")
            acc = line["acc"] * 100
            dodge = (k - (len(lines) - 1) / 2) * 0.06 * (max(ns) - min(ns) or 4) / 4
            label = f"{FAMILY_LABELS.get(family, family)} ({params[(family, size)] / 1000:.1f}k)"
            ax.errorbar(
                line["n"] + dodge,
                acc,
                yerr=[acc - line["low"] * 100, line["high"] * 100 - acc],
                color=f"C{families.index(family)}",
                marker=MARKERS[sizes.index(size) % len(MARKERS)],
                linestyle="-" if sizes.index(size) % 2 == 0 else "--",
                capsize=3,
                label=label,
            )
        reference_lines(ax, chance, threshold)
        ax.set_title(FORMAT_LABELS.get(fmt, fmt))
        pad = 0.08 * (max(ns) - min(ns)) or 1
        ax.set_xlim(min(ns) - pad, max(ns) + pad)
        ax.set_xticks(ns, [str(n) for n in ns])
        ax.set_xlabel("n (nodes)")
        ax.set_ylim(-3, 103)
    axes[0][0].set_ylabel("test accuracy (%)\nbars: interval over seeds")
    legend = {}
    for ax in axes[0]:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(lab, h)
    rank = [FAMILY_LABELS.get(f, f) for f in families]
    labels = sorted(
        legend,
        key=lambda lab: next((i for i, r in enumerate(rank) if lab.startswith(r)), len(rank)),
    )  # families in order, chance and threshold last
    handles = [legend[lab] for lab in labels]
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 4), frameon=False)
    fig.tight_layout(rect=(0, 0.06 * (1 + (len(labels) - 1) // 4), 1, 1))
    return fig


if __name__ == "__main__":
    sys.exit(cli(draw, __doc__))
