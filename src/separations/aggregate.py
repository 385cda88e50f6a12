"""Concatenate the per-job metrics of a sweep into one schema-checked Parquet (the cache).

    python -m separations.aggregate --out results/cpu/metrics.parquet \\
        results/cpu/runs/*/*/*/*/metrics.parquet

A file whose schema is not the declared one stops aggregation with its name in the message.
"""

from __future__ import annotations

import argparse
import sys

import pyarrow as pa

from .results import METRICS_SCHEMA, SchemaError, read_metrics, write_table


def aggregate(paths: list[str]) -> pa.Table:
    if not paths:
        raise SchemaError("no metrics files to aggregate")
    tables = [read_metrics(p) for p in sorted(paths)]
    table = pa.concat_tables(tables).cast(METRICS_SCHEMA)
    return table.sort_by(
        [("job", "ascending"), ("lr", "descending"), ("seed", "ascending"), ("step", "ascending")]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m separations.aggregate", description=__doc__)
    parser.add_argument("--out", required=True)
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args(argv)
    try:
        table = aggregate(args.paths)
    except SchemaError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    write_table(table, args.out)
    print(f"wrote {args.out}: {table.num_rows} rows from {len(args.paths)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
