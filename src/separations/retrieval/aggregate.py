"""All IsTree jobs of a sweep in one schema-checked Parquet (the committed cache).

    python -m separations.retrieval.aggregate --out results/cpu/istree.parquet \\
        results/cpu/istree/runs/*/*/*/*/metrics.parquet

A file whose schema is not :data:`~.schema.ISTREE_SCHEMA` stops aggregation with its name in the
message. With no files (a sweep without IsTree jobs) the output is an empty table of that schema,
so the claims read "not tested" instead of the pipeline failing.
"""

from __future__ import annotations

import argparse
import sys

import pyarrow as pa

from ..results import SchemaError, write_table
from .schema import ISTREE_SCHEMA, read


def aggregate(paths: list[str]) -> pa.Table:
    if not paths:
        return ISTREE_SCHEMA.empty_table()
    table = pa.concat_tables([read(p) for p in sorted(paths)]).cast(ISTREE_SCHEMA)
    return table.sort_by(
        [("job", "ascending"), ("lr", "descending"), ("seed", "ascending"), ("step", "ascending")]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m separations.retrieval.aggregate", description=__doc__
    )
    parser.add_argument("--out", required=True)
    parser.add_argument("paths", nargs="*")
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
