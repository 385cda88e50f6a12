"""Paper 1, Fig. 2 (middle): Index Lookup validation accuracy vs training step."""

import sys

from .common import cli, curves_figure


def draw(results):
    return curves_figure(results, "idxl", "Index Lookup", "Index Lookup")


if __name__ == "__main__":
    sys.exit(cli(draw, __doc__))
