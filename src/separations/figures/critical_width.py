"""The critical-width study: the smallest width that solves Index Lookup, against N, per family.

Log-log axes. One line per family through its critical widths (the smallest width of the
study's doubling grid whose cell is solved), with the interval over seeds as error bars (per seed,
the smallest width whose run at the chosen learning rate clears the threshold:
:func:`separations.critical_width.summarize`); an upward triangle marks a cell never solved
below the cap (a lower bound); families are drawn a few percent apart around each N. The
legend gives each family's fitted log-log slope with its interval
(:func:`separations.claims.rules.family_slope`). The theory beside it: the recurrent
lower bound m >= N log2|alphabet| / p for p = 32 and p = 16 bits (paper 1, Theorem 3), a log2 N
reference, and, when the ``constructions`` table is given, the width of the hand-set one-layer
construction (the first search of :func:`separations.constructions.summary.smallest_widths`).

    python -m separations.figures.critical_width --input critical_width=PATH \\
        [--input constructions=PATH] --out paper/figures/critical_width.pdf
"""

import math
import sys

import matplotlib.pyplot as plt
import numpy as np

from ..claims.rules import family_slope
from ..critical_width import points, summarize
from ..families import FAMILIES
from ..summary import short_label
from .common import cli, note_figure

#: precisions p of the recurrent lower bound N log2|alphabet| / p
BOUND_BITS = (32, 16)


def draw(results):
    table = results.get("critical_width")
    if table is None or table.empty:
        return note_figure("no critical-width results")
    summary = summarize(table[table["task"] == "idxl"])
    if summary.empty:
        return note_figure("no critical-width results for Index Lookup")
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    by_family = points(summary)
    order = list(FAMILIES)  # the registry's order
    families = sorted(by_family, key=lambda m: (order.index(m) if m in order else len(order), m))
    for i, model in enumerate(families):
        part = summary[summary["model"] == model].sort_values("length")
        # families side by side around each N (a few percent), so equal widths stay readable
        x = part["length"] * 2 ** (0.05 * (i - (len(families) - 1) / 2))
        color = f"C{i}"
        fit, why = family_slope(by_family[model])
        slope = f"slope {fit.text()}" if fit is not None else why
        name = f"{short_label(model)}-{int(part['depth'].iloc[0])} ({slope})"
        ax.plot(x, part["critical_width"], color=color, label=name, lw=1.2)
        solved, capped = part["capped"].eq(False), part["capped"].eq(True)
        width = part["critical_width"]
        err = np.vstack(
            [
                np.clip(width[solved] - part["seed_low"][solved], 0, None),
                np.clip(part["seed_high"][solved] - width[solved], 0, None),
            ]
        )
        ax.errorbar(x[solved], width[solved], yerr=err, fmt="o", color=color, capsize=3)
        ax.scatter(x[capped], width[capped], marker="^", s=60, color=color)
    lengths = np.array(sorted(summary["length"].unique()), dtype=float)
    grid = np.geomspace(lengths.min(), lengths.max(), 50)
    alphabet = int(summary["alphabet"].iloc[0])
    bits = math.log2(max(alphabet, 2))
    for p, style in zip(BOUND_BITS, ("--", ":"), strict=True):
        ax.plot(grid, grid * bits / p, "k" + style, lw=1, label=rf"$N\log_2|\Sigma|/{p}$ (Thm. 3)")
    ax.plot(grid, np.log2(grid), color="0.5", lw=1, ls="-.", label=r"$\log_2 N$")
    constructions = results.get("constructions")
    if constructions is not None and not constructions.empty:
        from ..constructions.summary import smallest_widths

        widths = smallest_widths(constructions)
        widths = widths[widths["found"]]
        if not widths.empty:
            searches = list(dict.fromkeys(widths["search"]))
            first = next((s for s in searches if s.startswith("softmax")), searches[0])
            part = widths[widths["search"] == first].sort_values("length")
            # the study's range of N (the constructions reach far beyond it)
            part = part[part["length"].between(lengths.min() / 2, lengths.max() * 2)]
            ax.plot(
                part["length"],
                part["width"],
                color="0.3",
                marker="s",
                ms=4,
                lw=1,
                label=f"hand-set construction ({first}; its own alphabet)",
            )
    ax.scatter([], [], marker="^", color="0.4", label="above the cap (lower bound)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    ax.set_xlabel("N")
    ax.set_ylabel("critical width")
    steps = int(summary["max_steps"].max())
    ax.set_title(f"Index Lookup, |Σ| = {alphabet}: smallest width solved within {steps:,} steps")
    ax.legend(fontsize=6.5, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def main(argv=None) -> int:
    return cli(draw, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
