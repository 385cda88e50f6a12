"""All IsTree jobs of a sweep in one schema-checked Parquet (the committed cache).

    python -m separations.retrieval.aggregate --out results/cpu/istree.parquet \\
        results/cpu/istree/runs/*/*/*/*/metrics.parquet

A file whose schema is not :data:`~.schema.ISTREE_SCHEMA` stops aggregation with its name in the
message. With no files (a sweep without IsTree jobs) the output is an empty table of that schema,
so the claims read "not tested" instead of the pipeline failing.
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
        aggregate, argv, prog="python -m separations.retrieval.aggregate", doc=__doc__
    )


if __name__ == "__main__":
    sys.exit(main())
