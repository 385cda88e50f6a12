"""Concatenate the per-job metrics of a sweep into one schema-checked Parquet (the cache).

    python -m separations.aggregate --out results/cpu/metrics.parquet \\
        results/cpu/runs/*/*/*/*/metrics.parquet

A file whose schema is not the declared one, a file given twice, a job in two files or no files
at all stops aggregation with a message naming it (exit status 1; nothing is written).
"""

from __future__ import annotations

import sys

import pyarrow as pa

from .results import METRICS_SCHEMA, SchemaError, aggregate_cli, concat_checked


def aggregate(paths: list[str]) -> pa.Table:
    if not paths:
        raise SchemaError("no metrics files to aggregate")
    return concat_checked(paths, METRICS_SCHEMA, "metrics")


def main(argv: list[str] | None = None) -> int:
    return aggregate_cli(aggregate, argv, prog="python -m separations.aggregate", doc=__doc__)


if __name__ == "__main__":
    sys.exit(main())
