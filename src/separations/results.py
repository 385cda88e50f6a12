"""The declared Parquet schema of training results, provenance, and atomic writes.

One row per (run, evaluation): a run is one learning rate and seed of one job. Every file the
pipeline writes goes through :func:`write_atomic` (a temp file in the same folder, then a rename),
so a killed job never leaves half a file behind.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from . import __version__

#: provenance columns of every result table (values from :func:`provenance`)
PROVENANCE_FIELDS = [
    ("package_version", pa.string()),
    ("git_commit", pa.string()),
    ("config_hash", pa.string()),
    ("torch_version", pa.string()),
    ("device", pa.string()),
    ("host", pa.string()),
]

#: the machine a training run ran on: determinism holds per CPU kind and thread count
MACHINE_FIELDS = [
    ("cpu_model", pa.string()),
    ("cpu_capability", pa.string()),  # torch.backends.cpu.get_cpu_capability(), e.g. AVX512
    ("threads", pa.int32()),
]

METRICS_SCHEMA = pa.schema(
    [
        # what was trained
        ("sweep", pa.string()),
        ("job", pa.string()),
        ("task", pa.string()),
        ("model", pa.string()),
        ("depth", pa.int32()),
        ("width", pa.int32()),
        ("heads", pa.int32()),  # null for families without heads
        ("length", pa.int32()),
        ("lr", pa.float64()),
        ("seed", pa.int32()),
        ("batch_size", pa.int32()),
        ("max_steps", pa.int64()),
        ("threshold", pa.float64()),  # paper 1's near-perfect accuracy
        ("stop_threshold", pa.float64()),  # the run stops once val_acc reaches this
        ("chance", pa.float64()),  # accuracy of guessing, for the task at this length
        ("n_params", pa.int64()),
        ("val_size", pa.int64()),  # examples in the validation set (selects lr and checkpoint)
        ("test_size", pa.int64()),  # examples in the held-out test set (reported)
        # one evaluation
        ("step", pa.int64()),
        ("examples", pa.int64()),
        ("train_loss", pa.float64()),  # mean over the steps since the previous evaluation
        ("val_loss", pa.float64()),
        ("val_acc", pa.float64()),
        ("solved", pa.bool_()),  # val_acc >= threshold
        ("final", pa.bool_()),  # the run's last evaluation
        ("wall_time", pa.float64()),  # seconds of training in this run so far
        # the run's outcome, on its final row only (null elsewhere)
        ("pruned", pa.bool_()),  # stopped early by learning-rate pruning (successive halving)
        ("best_step", pa.int64()),  # the checkpoint validation chose (highest val_acc, earliest)
        ("best_val_acc", pa.float64()),
        ("test_acc", pa.float64()),  # accuracy of that checkpoint on the held-out test set
        ("test_loss", pa.float64()),
        *PROVENANCE_FIELDS,
        *MACHINE_FIELDS,
    ]
)

#: columns that legitimately differ between two runs of the same config (timing, machine)
NONDETERMINISTIC = ("wall_time", "host", "git_commit", "package_version", "cpu_model")


class SchemaError(ValueError):
    """A Parquet file does not match the declared schema."""


def git_commit() -> str:
    """The commit of the checkout the code runs from ("unknown" outside git)."""
    root = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        dirty = subprocess.run(
            # code and config only: regenerating a committed result table is not a change
            [
                "git",
                "-C",
                str(root),
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ".",
                ":(exclude)results",
            ],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def provenance(config_hash: str, device: str) -> dict[str, str]:
    import torch

    return {
        "package_version": __version__,
        "git_commit": git_commit(),
        "config_hash": config_hash,
        "torch_version": torch.__version__,
        "device": device,
        "host": socket.gethostname() or platform.node(),
    }


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo where there is one)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def machine(threads: int) -> dict:
    """The :data:`MACHINE_FIELDS` of this process."""
    import torch

    return {
        "cpu_model": cpu_model(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "threads": int(threads),
    }


def write_atomic(path: str | Path, write: Callable[[str], None]) -> None:
    """Call ``write(tmp_path)`` and rename the result onto ``path`` only if it succeeded."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_table(table: pa.Table, path: str | Path) -> None:
    write_atomic(path, lambda tmp: pq.write_table(table, tmp))


def metrics_table(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=METRICS_SCHEMA)


def read_checked(path: str | Path, expected: pa.Schema, what: str) -> pa.Table:
    """Read a Parquet table, refusing one whose schema is not ``expected`` (named ``what``).

    The message names the file and says what differs: missing, unexpected or mistyped columns.
    """
    try:
        schema = pq.read_schema(path)
    except Exception as e:  # noqa: BLE001 - any unreadable file is a schema failure here
        raise SchemaError(f"{path}: not a readable Parquet file ({e})") from None
    expected = expected.remove_metadata()
    if not schema.remove_metadata().equals(expected):
        have = {f.name: str(f.type) for f in schema}
        want = {f.name: str(f.type) for f in expected}
        missing = sorted(set(want) - set(have))
        extra = sorted(set(have) - set(want))
        wrong = sorted(k for k in set(want) & set(have) if want[k] != have[k])
        detail = "; ".join(
            part
            for part in (
                f"missing columns {missing}" if missing else "",
                f"unexpected columns {extra}" if extra else "",
                "wrong types " + ", ".join(f"{k}: {have[k]} (want {want[k]})" for k in wrong)
                if wrong
                else "",
                "columns out of order" if not (missing or extra or wrong) else "",
            )
            if part
        )
        raise SchemaError(f"{path}: does not match the {what} schema: {detail}")
    return pq.read_table(path)


#: order of an aggregated table: per job, learning rates from largest, seeds, then steps
RUN_ORDER = [
    ("job", "ascending"),
    ("lr", "descending"),
    ("seed", "ascending"),
    ("step", "ascending"),
]


def concat_checked(paths: list[str], expected: pa.Schema, what: str) -> pa.Table:
    """Per-job tables as one, each schema-checked (:func:`read_checked`), in :data:`RUN_ORDER`."""
    tables = [read_checked(p, expected, what) for p in sorted(paths)]
    if not tables:
        return expected.empty_table()
    return pa.concat_tables(tables).cast(expected).sort_by(RUN_ORDER)


def aggregate_cli(aggregate, argv: list[str] | None, *, prog: str, doc: str | None) -> int:
    """Command line of an aggregation step: ``--out FILE PATH...``; ``aggregate(paths)`` makes the
    table, and a :class:`SchemaError` is reported with exit status 1 before anything is written."""
    parser = argparse.ArgumentParser(prog=prog, description=doc)
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


def read_metrics(path: str | Path) -> pa.Table:
    """Read a metrics file, refusing one whose schema is not :data:`METRICS_SCHEMA`."""
    return read_checked(path, METRICS_SCHEMA, "metrics")


def load_results(pairs: list[str]) -> dict:
    """Result tables from ``NAME=PATH`` pairs; ``metrics`` tables are schema-checked."""
    out = {}
    for pair in pairs:
        name, sep, path = pair.partition("=")
        if not sep:
            raise ValueError(f"expected NAME=PATH, got {pair!r}")
        table = read_metrics(path) if name == "metrics" else pq.read_table(path)
        out[name] = table.to_pandas()
    return out
