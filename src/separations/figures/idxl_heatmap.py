"""Paper 1, Fig. 2 (left): Index Lookup accuracy of every model across lengths N."""

import sys

import matplotlib.pyplot as plt

from .common import accuracy_heatmap, cli


def draw(results):
    metrics = results["metrics"]
    n_models = metrics.loc[metrics.task == "idxl", ["model", "depth", "width"]].drop_duplicates()
    fig, ax = plt.subplots(figsize=(4.8, 0.9 + 0.45 * max(len(n_models), 2)))
    accuracy_heatmap(ax, metrics, "idxl", "Index Lookup: best accuracy over learning rates")
    return fig


if __name__ == "__main__":
    sys.exit(cli(draw, __doc__))
