"""Paper 2: IsTree accuracy against the number of nodes n, one panel per answer format.

One line per model family and size: the answer accuracy of greedy generation (with the search tool
answering queries in the retrieval format) at each run's last evaluation, best learning rate per
cell (:func:`separations.retrieval.summary.best_cells`), with its Wilson 95% interval on the
evaluation set (bars). Only formats with results get a panel; chance dotted.
"""

import sys

import matplotlib.pyplot as plt
import pandas as pd

from ..retrieval.summary import CELL, FAMILY_LABELS, FORMAT_LABELS, best_cells
from ..summary import wilson
from .common import cli, note_figure

FAMILIES = ["transformer", "mamba", "hybrid"]
FORMATS = ["nocot", "cot", "retrieval"]
MARKERS = ["o", "s", "^", "D", "v"]


def with_intervals(table: pd.DataFrame) -> pd.DataFrame:
    """best_cells with the evaluation size and the Wilson 95% interval of each cell's accuracy
    (k = round(acc × eval size) successes out of the evaluation size)."""
    best = best_cells(table)
    if best.empty:
        return best
    sizes = table.groupby(CELL, dropna=False)["eval_size"].first().rename("eval_size")
    best = best.join(sizes, on=CELL)
    bounds = [
        wilson(round(acc * n), int(n), 0.95)
        for acc, n in zip(best["acc"], best["eval_size"], strict=True)
    ]
    return best.assign(low=[b[0] for b in bounds], high=[b[1] for b in bounds])


def draw(results):
    table = results["istree"]
    best = with_intervals(table)
    formats = [f for f in FORMATS if f in set(best.get("format", []))]
    formats += sorted(set(best.get("format", [])) - set(FORMATS))
    if not formats:
        return note_figure("No IsTree results in this sweep.")
    families = [f for f in FAMILIES if f in set(best["family"])]
    families += sorted(set(best["family"]) - set(FAMILIES))
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
            label = FAMILY_LABELS.get(family, family)
            if len(sizes) > 1:
                label += f" ({size})"
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
        ax.axhline(chance, color="grey", linestyle=":", linewidth=1, label="chance")
        ax.set_title(FORMAT_LABELS.get(fmt, fmt))
        pad = 0.08 * (max(ns) - min(ns)) or 1
        ax.set_xlim(min(ns) - pad, max(ns) + pad)
        ax.set_xticks(ns, [str(n) for n in ns])
        ax.set_xlabel("n (nodes)")
        ax.set_ylim(-3, 103)
    axes[0][0].set_ylabel("answer accuracy (%)\nbars: Wilson 95% interval")
    legend = {}
    for ax in axes[0]:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(lab, h)
    rank = [FAMILY_LABELS.get(f, f) for f in families]
    labels = sorted(
        legend,
        key=lambda lab: next((i for i, r in enumerate(rank) if lab.startswith(r)), len(rank)),
    )  # families in order, chance last
    handles = [legend[lab] for lab in labels]
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


if __name__ == "__main__":
    sys.exit(cli(draw, __doc__))
