"""All IsTree jobs of a sweep in one schema-checked Parquet (the committed cache).

    python -m separations.istree.aggregate --out results/cpu/istree.parquet \\
        results/cpu/istree/runs/*/*/*/*/metrics.parquet

A file whose schema is not :data:`~.schema.ISTREE_SCHEMA`, a file given twice or a job in two
files stops aggregation with its name in the message. No files is refused as well, unless
``--allow-empty`` (the workflow passes it): then the output is an empty table of that schema (a
sweep without IsTree jobs), so the claims read "not tested" instead of the pipeline failing.
"""

from __future__ import annotations

import sys

import pyarrow as pa

from ..results import aggregate_cli, concat_checked
from .schema import ISTREE_SCHEMA


def aggregate(paths: list[str]) -> pa.Table:
    return concat_checked(paths, ISTREE_SCHEMA, "IsTree results")


def main(argv: list[str] | None = None) -> int:
    return aggregate_cli(
        aggregate, argv, prog="python -m separations.istree.aggregate", doc=__doc__
    )


if __name__ == "__main__":
    sys.exit(main())
