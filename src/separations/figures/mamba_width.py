"""Paper 1, Fig. 3: 2-layer Mamba on Index Lookup, width × N heatmap, next to TF-(1, 64).

Colour: accuracy above chance at the validation-chosen learning rate; text: test accuracy (%)
and its interval, styled by the cell's status (figures.common). Without 2-layer Mamba cells the
figure is one note.
"""

import sys

import matplotlib.pyplot as plt
import pandas as pd

from ..summary import cells
from .common import cell_heatmap, cli, encoding_note, note_figure


def draw(results):
    metrics = results["metrics"]
    best = cells(metrics[metrics["task"] == "idxl"])
    if best.empty:
        return note_figure("No 2-layer Mamba on Index Lookup in this sweep.")
    mamba = best[(best["model"] == "mamba") & (best["depth"] == 2)].sort_values("width")
    if mamba.empty:
        return note_figure("No 2-layer Mamba on Index Lookup in this sweep.")
    tf = best[(best["model"] == "transformer") & (best["depth"] == 1) & (best["width"] == 64)]
    tf = tf[tf["length"].isin(set(mamba["length"]))]
    shown = pd.concat([mamba, tf], ignore_index=True)
    order = list(dict.fromkeys(mamba["label"])) + list(dict.fromkeys(tf["label"]))
    fig, ax = plt.subplots(figsize=(5.6, 1.3 + 0.55 * max(len(order), 2)))
    cell_heatmap(ax, shown, order)
    ax.set_title("Index Lookup: 2-layer Mamba by width")
    encoding_note(ax, shown)
    return fig


if __name__ == "__main__":
    sys.exit(cli(draw, __doc__))
