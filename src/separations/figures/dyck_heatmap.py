"""Paper 1, Fig. 2 (left, lower): bounded Dyck-(2,2) test accuracy of every model across N.

Colour: accuracy above chance at the validation-chosen learning rate; text: test accuracy (%)
and its interval, styled by the cell's status (figures.common).
"""

import sys

from .common import cli, task_heatmap_figure


def draw(results):
    return task_heatmap_figure(
        results,
        "dyck",
        "Bounded Dyck-(2,2): test accuracy at the chosen learning rate",
        "bounded Dyck-(2,2)",
    )


if __name__ == "__main__":
    sys.exit(cli(draw, __doc__))
