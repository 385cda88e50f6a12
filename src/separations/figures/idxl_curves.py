"""Paper 1, Fig. 2 (middle): Index Lookup validation accuracy vs training step.

Each model at its validation-chosen learning rate: mean over seeds, band from the lowest to the
highest seed, at the longest N where the models separate (one solved, another failed), else the
longest N trained; chance dotted, the threshold dashed.
"""

import sys

import matplotlib.pyplot as plt

from .common import cli, note_figure, tasks_present, training_curves

TASK, TITLE = "idxl", "Index Lookup"


def draw(results):
    metrics = results["metrics"]
    if not tasks_present(metrics, [TASK]):
        return note_figure("No Index Lookup results in this sweep.")
    fig, ax = plt.subplots(figsize=(4.8, 3.4))
    training_curves(ax, metrics, TASK, TITLE)
    return fig


if __name__ == "__main__":
    sys.exit(cli(draw, __doc__))
