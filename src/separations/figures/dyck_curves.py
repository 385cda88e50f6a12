"""Paper 1, Fig. 2 (right): Dyck-(2,2) validation accuracy vs step at N = 400 (or the largest N)."""

import sys

import matplotlib.pyplot as plt

from .common import cli, training_curves


def draw(results):
    fig, ax = plt.subplots(figsize=(4.8, 3.2))
    training_curves(ax, results["metrics"], "dyck", 400, "Bounded Dyck-(2,2)")
    return fig


if __name__ == "__main__":
    sys.exit(cli(draw, __doc__))
