"""Paper 1, Fig. 2 (left, lower): bounded Dyck-(2,2) accuracy of every model across lengths N."""

import sys

import matplotlib.pyplot as plt

from .common import accuracy_heatmap, cli, n_models


def draw(results):
    metrics = results["metrics"]
    fig, ax = plt.subplots(figsize=(4.8, 0.9 + 0.45 * max(n_models(metrics, "dyck"), 2)))
    accuracy_heatmap(ax, metrics, "dyck", "Bounded Dyck-(2,2): best accuracy over learning rates")
    return fig


if __name__ == "__main__":
    sys.exit(cli(draw, __doc__))
