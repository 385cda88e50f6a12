"""Paper 1, Fig. 4: string equality variants (Eq-random, Eq-one, Eq-ncp), models × lengths."""

import sys

import matplotlib.pyplot as plt

from .common import accuracy_heatmap, cli, n_models

VARIANTS = [("eq-random", "Eq-random"), ("eq-one", "Eq-one"), ("eq-ncp", "Eq-ncp")]


def draw(results):
    metrics = results["metrics"]
    rows = max([n_models(metrics, task) for task, _ in VARIANTS] + [2])
    fig, axes = plt.subplots(1, 3, figsize=(13, 1.2 + 0.5 * rows))
    for ax, (task, title) in zip(axes, VARIANTS, strict=True):
        accuracy_heatmap(ax, metrics, task, title)
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    sys.exit(cli(draw, __doc__))
