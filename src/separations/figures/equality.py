"""Paper 1, Fig. 4: string equality variants (Eq-random, Eq-one, Eq-ncp), models × lengths.

One heatmap per variant that has results. Colour: accuracy above chance at the validation-chosen
learning rate; text: test accuracy (%) and its interval, styled by the cell's status
(figures.common).
"""

import sys

import matplotlib.pyplot as plt

from ..summary import cells
from .common import accuracy_heatmap, cli, encoding_note, n_models, note_figure, tasks_present

VARIANTS = [("eq-random", "Eq-random"), ("eq-one", "Eq-one"), ("eq-ncp", "Eq-ncp")]


def draw(results):
    metrics = results["metrics"]
    present = tasks_present(metrics, VARIANTS)
    if not present:
        return note_figure("No string-equality results in this sweep.")
    rows = max([n_models(metrics, task) for task, _ in present] + [2])
    widths = [0.4 + metrics.loc[metrics["task"] == task, "length"].nunique() for task, _ in present]
    widths[-1] += 0.5  # the colourbar
    fig, axes = plt.subplots(
        1,
        len(present),
        figsize=(1.2 + 1.8 * sum(widths), 1.3 + 0.55 * rows),
        width_ratios=widths,
        squeeze=False,
    )
    for i, (ax, (task, title)) in enumerate(zip(axes[0], present, strict=True)):
        last = i == len(present) - 1  # one colourbar: every panel has the same scale
        accuracy_heatmap(ax, metrics, task, title, note=False, cbar=last)
    fig.tight_layout()
    encoding_note(axes[0][0], cells(metrics[metrics["task"].isin([t for t, _ in present])]))
    return fig


if __name__ == "__main__":
    sys.exit(cli(draw, __doc__))
