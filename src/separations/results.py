"""The declared Parquet schema of training results, provenance, and atomic writes.

One row per (run, evaluation): a run is one learning rate and seed of one job. Every file the
pipeline writes goes through :func:`write_atomic` (a temp file in the same folder, then a rename),
so a killed job never leaves half a file behind.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
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


#: temporary files this process is writing (removed if a signal ends it mid-write)
_TEMPS: set[str] = set()
#: when this process loaded the module: temporary files older than this are left by a dead writer
_STARTED = time.time()


def _umask() -> int:
    """The process umask (from /proc where it is there, so that it is never changed)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _remove_temps() -> None:
    for tmp in list(_TEMPS):
        try:
            os.unlink(tmp)
        except OSError:
            pass
        _TEMPS.discard(tmp)


def _die_cleanly(signum, frame) -> None:
    """SIGTERM while a file is written and nothing else handles it: remove the temporary files,
    then die of the signal as the default action would."""
    _remove_temps()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


@contextlib.contextmanager
def _temps_removed_on_sigterm():
    """Install :func:`_die_cleanly` for SIGTERM while writing, unless a handler is installed
    (the trainer's checkpoints on SIGTERM: it lets the write finish). SIGINT raises
    KeyboardInterrupt by default, which the writer's cleanup already handles."""
    installed = False
    if threading.current_thread() is threading.main_thread():
        try:
            if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
                signal.signal(signal.SIGTERM, _die_cleanly)
                installed = True
        except (ValueError, OSError):  # no signals here (an embedded interpreter)
            pass
    try:
        yield
    finally:
        if installed and signal.getsignal(signal.SIGTERM) is _die_cleanly:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _sweep_stale(path: Path) -> None:
    """Remove ``.<name>.*.tmp`` siblings of ``path`` left by a writer that was killed (SIGKILL,
    power loss): those older than this process, and not this process's own."""
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        try:
            if str(stale) not in _TEMPS and stale.stat().st_mtime < _STARTED:
                stale.unlink()
        except OSError:
            pass


def _fsync(path: str | Path, directory: bool = False) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0))
    except OSError:
        if directory:  # folders cannot be opened everywhere: nothing to sync there
            return
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not directory:
            raise
    finally:
        os.close(fd)


def _naming(error: OSError, path: Path) -> OSError:
    """The same error, naming the user's file (not the temporary one it happened to)."""
    if error.errno is not None:
        try:
            return type(error)(error.errno, error.strerror, str(path))
        except TypeError:
            pass
    return OSError(f"{path}: {error}")


def write_atomic(path: str | Path, write: Callable[[str], None]) -> None:
    """Call ``write(tmp_path)`` and rename the result onto ``path`` only if it succeeded.

    The file gets the mode an ordinary ``open`` would (0666 less the umask), is synced to disk
    with its folder before this returns, and its temporary file (``.<name>.<random>.tmp`` in
    the same folder) is removed on an error, KeyboardInterrupt or SIGTERM; one left by a killed
    writer is removed by the next write of the same file. An OSError names ``path``.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _sweep_stale(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
    except OSError as e:
        raise _naming(e, path) from None
    _TEMPS.add(tmp)
    try:
        with _temps_removed_on_sigterm():
            write(tmp)
            os.chmod(tmp, 0o666 & ~_umask())
            _fsync(tmp)
            os.replace(tmp, path)
        _fsync(path.parent, directory=True)
    except OSError as e:
        raise _naming(e, path) from e
    finally:
        Path(tmp).unlink(missing_ok=True)
        _TEMPS.discard(tmp)


def write_table(table: pa.Table, path: str | Path) -> None:
    """Write a Parquet table with :func:`write_atomic`."""
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


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad argument is answered with one line (and exit status 2)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def refuse_duplicates(paths: list[str], tables: list[pa.Table], columns: list[str]) -> None:
    """Refuse a file given twice, or a job (a value of ``columns``) in two files: aggregating
    either would count its rows twice. Raises :class:`SchemaError` naming both files."""
    seen: dict[str, str] = {}
    for path in paths:
        key = os.path.realpath(path)
        if key in seen:
            also = f" (also as {seen[key]})" if seen[key] != path else ""
            raise SchemaError(f"{path}: given twice{also}; each file is aggregated once")
        seen[key] = path
    owner: dict[tuple, str] = {}
    for path, table in zip(paths, tables, strict=True):
        keys = table.select(columns).drop_null().to_pylist()
        for key in sorted({tuple(row.values()) for row in keys}, key=str):
            if key in owner and owner[key] != path:
                what = ", ".join(f"{c}={v}" for c, v in zip(columns, key, strict=True))
                raise SchemaError(
                    f"{path}: {what} is also in {owner[key]}; each job is aggregated once"
                )
            owner[key] = path


def concat_checked(
    paths: list[str],
    expected: pa.Schema,
    what: str,
    *,
    keys: list[str] | None = None,
    order: list[tuple[str, str]] | None = None,
) -> pa.Table:
    """Per-job tables as one, each schema-checked (:func:`read_checked`), sorted by ``order``
    (default :data:`RUN_ORDER`). A file given twice, or a job (a value of ``keys``, default
    ``job``) in two files, is refused (:func:`refuse_duplicates`)."""
    paths = sorted(paths)
    tables = [read_checked(p, expected, what) for p in paths]
    if not tables:
        return expected.empty_table()
    refuse_duplicates(paths, tables, keys or ["job"])
    return pa.concat_tables(tables).cast(expected).sort_by(order or RUN_ORDER)


def aggregate_cli(aggregate, argv: list[str] | None, *, prog: str, doc: str | None) -> int:
    """Command line of an aggregation step: ``--out FILE PATH...``; ``aggregate(paths)`` makes the
    table. No input files (unless ``--allow-empty``), a file given twice, a job in two files, an
    unreadable or foreign file: one line naming it on stderr and exit status 1, nothing written."""
    parser = ArgumentParser(prog=prog, description=doc)
    parser.add_argument("--out", required=True)
    parser.add_argument(
        "--allow-empty",
        action="store_true",
        help="with no input files, write an empty table (a sweep without such jobs)",
    )
    parser.add_argument("paths", nargs="*")
    args = parser.parse_args(argv)
    if not args.paths and not args.allow_empty:
        print(f"error: {args.out}: no input files to aggregate", file=sys.stderr)
        return 1
    try:
        table = aggregate(args.paths)
        write_table(table, args.out)
    except (SchemaError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}: {table.num_rows} rows from {len(args.paths)} files")
    return 0


def read_metrics(path: str | Path) -> pa.Table:
    """Read a metrics file, refusing one whose schema is not :data:`METRICS_SCHEMA`."""
    return read_checked(path, METRICS_SCHEMA, "metrics")


def add_input_option(parser: argparse.ArgumentParser) -> None:
    """``--input NAME=PATH`` (repeatable) of the report and figure scripts: :func:`load_results`
    reads them."""
    parser.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="a result table (names as in config.yaml `results`)",
    )


def load_results(pairs: list[str], schemas: dict[str, pa.Schema] | None = None) -> dict:
    """Result tables from ``NAME=PATH`` pairs (``--input`` of the report and figure scripts);
    a table whose name is in ``schemas`` (default: ``metrics`` only) is schema-checked
    (:func:`read_checked`), others are read as they are. A name given with several files is one
    table, their rows concatenated (config.yaml's ``results`` may list several sweeps' files).

    A malformed pair, a missing or unreadable file, a file given twice, a sweep's job in two
    files, or a file of another schema ends the process with one line naming it (exit status
    2): this is the command-line reader.
    """
    schemas = {"metrics": METRICS_SCHEMA} if schemas is None else schemas
    parts: dict[str, list[tuple[str, pa.Table]]] = {}
    for pair in pairs:
        name, sep, path = pair.partition("=")
        try:
            if not sep or not name or not path:
                raise ValueError(f"--input {pair!r}: expected NAME=PATH")
            if not Path(path).is_file():
                raise ValueError(f"--input {name}={path}: no such file")
            try:
                if name in schemas:
                    table = read_checked(path, schemas[name], name)
                else:
                    table = pq.read_table(path)
            except SchemaError:
                raise
            except Exception as e:  # noqa: BLE001 - any unreadable file ends here, in one line
                first = " ".join(str(e).split())
                raise ValueError(f"{path}: not a readable Parquet file ({first})") from None
            parts.setdefault(name, []).append((path, table))
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            raise SystemExit(2) from None
    try:
        for files in parts.values():  # several files of one table: no file, no job twice
            paths, read = [p for p, _ in files], [t for _, t in files]
            keys = [k for k in ("sweep", "job") if all(k in t.column_names for t in read)]
            refuse_duplicates(paths, read if keys else [pa.table({}) for _ in read], keys)
        tables = {name: _concat([t for _, t in files]) for name, files in parts.items()}
    except SchemaError as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    return {name: table.to_pandas() for name, table in tables.items()}


def _concat(tables: list[pa.Table]) -> pa.Table:
    if len(tables) == 1:
        return tables[0]
    try:
        return pa.concat_tables(tables, promote_options="default")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        first = " ".join(str(e).split())
        raise SchemaError(f"the files of one result table differ in schema ({first})") from None
