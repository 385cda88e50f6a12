"""Paper 1, Fig. 2 (middle): Index Lookup validation accuracy vs training step at N = 200."""

import sys

import matplotlib.pyplot as plt

from .common import cli, training_curves


def draw(results):
    metrics = results["metrics"]
    fig, ax = plt.subplots(figsize=(4.8, 3.2))
    training_curves(ax, metrics, "idxl", 200, "Index Lookup")
    return fig


if __name__ == "__main__":
    sys.exit(cli(draw, __doc__))
