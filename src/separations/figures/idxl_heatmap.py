"""Paper 1, Fig. 2 (left): Index Lookup test accuracy of every model across lengths N.

Colour: accuracy above chance at the validation-chosen learning rate; text: test accuracy (%)
and its interval, styled by the cell's status (figures.common).
"""

import sys

from .common import cli, task_heatmap_figure


def draw(results):
    return task_heatmap_figure(
        results, "idxl", "Index Lookup: test accuracy at the chosen learning rate", "Index Lookup"
    )


if __name__ == "__main__":
    sys.exit(cli(draw, __doc__))
