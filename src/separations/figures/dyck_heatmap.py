"""Paper 1, Fig. 2 (left, lower): bounded Dyck-(2,2) test accuracy of every model across N.

Colour: accuracy above chance at the validation-chosen learning rate; text: test accuracy (%)
and its interval, styled by the cell's status (figures.common).
"""

import sys

import matplotlib.pyplot as plt

from .common import accuracy_heatmap, cli, n_models, note_figure

TASK, TITLE = "dyck", "Bounded Dyck-(2,2): test accuracy at the chosen learning rate"


def draw(results):
    metrics = results["metrics"]
    rows = n_models(metrics, TASK)
    if not rows:
        return note_figure("No bounded Dyck-(2,2) results in this sweep.")
    fig, ax = plt.subplots(figsize=(5.6, 1.3 + 0.55 * max(rows, 2)))
    accuracy_heatmap(ax, metrics, TASK, TITLE)
    return fig


if __name__ == "__main__":
    sys.exit(cli(draw, __doc__))
