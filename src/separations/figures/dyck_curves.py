"""Paper 1, Fig. 2 (right): bounded Dyck-(2,2) validation accuracy vs training step."""

import sys

from .common import cli, curves_figure


def draw(results):
    return curves_figure(results, "dyck", "Bounded Dyck-(2,2)", "bounded Dyck-(2,2)")


if __name__ == "__main__":
    sys.exit(cli(draw, __doc__))
