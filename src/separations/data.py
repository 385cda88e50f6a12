"""Write generated examples to Parquet: the fixed evaluation sets, and dumps for inspection.

    python -m separations.data idxl --length 20 --count 5 --seed 0 --out examples.parquet

One row per example: human-readable columns from the task (``tokens``, ``target`` and the task's
own), and the raw tensors (columns prefixed ``tensor_``) from which :func:`read_batch` rebuilds the
exact batch. The pipeline's data rule writes each (task, N) evaluation set with this command.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from .results import ArgumentParser, write_table
from .settings import MAX_SEED, ConfigError, check_task_params
from .tasks import TASKS, Batch, build_task

PREFIX = "tensor_"


def generate(
    task_name: str,
    length: int,
    count: int,
    seed: int,
    *,
    params: dict | None = None,
    train: bool = False,
    chunk: int = 1000,
) -> tuple[Any, Batch]:
    """``count`` examples from one generator seeded with ``seed`` (drawn in chunks of ``chunk``)."""
    task = build_task(task_name, length, params)
    generator = torch.Generator().manual_seed(seed)
    parts = [
        task.sample(min(chunk, count - start), generator, train=train)
        for start in range(0, count, chunk)
    ]
    return task, concat(parts)


def row_keys(batch: Batch) -> list[bytes]:
    """One byte string per example that identifies it (its tensors, trimmed to its length)."""
    keys = []
    for i in range(len(batch)):
        one = batch.slice(i, i + 1)
        keys.append(b"|".join(t.contiguous().numpy().tobytes() for t in one.tensors().values()))
    return keys


def generate_disjoint(
    task_name: str,
    length: int,
    count: int,
    seed: int,
    exclude: Batch,
    *,
    params: dict | None = None,
    chunk: int = 1000,
    max_rounds: int = 100,
) -> tuple[Any, Batch]:
    """Like :func:`generate` (evaluation distribution), without any example that is in ``exclude``.

    The held-out test set is drawn this way, so that no test example was seen when a learning rate
    or checkpoint was selected on the validation set. Raises :class:`ConfigError` when the
    task's support is too small to give ``count`` such examples.
    """
    task = build_task(task_name, length, params)
    seen = set(row_keys(exclude))
    generator = torch.Generator().manual_seed(seed)
    kept: list[Batch] = []
    have = 0
    for _ in range(max_rounds):
        part = task.sample(chunk, generator, train=False)
        keep = [i for i, key in enumerate(row_keys(part)) if key not in seen]
        keep = keep[: count - have]
        if keep:
            index = torch.tensor(keep)
            kept.append(part.map(lambda t, index=index: t[index]))
            have += len(keep)
        if have == count:
            return task, concat(kept)
    raise ConfigError(
        f"{task_name} at N={length}: could not draw {count} examples outside the validation set "
        f"in {max_rounds * chunk} draws (the task has too few distinct examples; lower test_size)"
    )


def concat(parts: list[Batch]) -> Batch:
    """Concatenate batches, padding each tensor's sequence axis to the widest."""
    if len(parts) == 1:
        return parts[0]
    out = {}
    for name in parts[0].tensors():
        tensors = [p.tensors()[name] for p in parts]
        if tensors[0].dim() >= 2 and len({t.shape[1] for t in tensors}) > 1:
            width = max(t.shape[1] for t in tensors)
            tensors = [
                torch.nn.functional.pad(t, (0, 0) * (t.dim() - 2) + (0, width - t.shape[1]))
                for t in tensors
            ]
        out[name] = torch.cat(tensors)
    return Batch.from_tensors(out)


def to_table(task, batch: Batch, *, seed: int, train: bool) -> pa.Table:
    columns: dict[str, Any] = {"example": list(range(len(batch)))}
    columns.update(task.describe(batch))
    meta = {
        "task": task.name,
        "length": str(task.length),
        "params": json.dumps(task.params, sort_keys=True),
        "seed": str(seed),
        "train": str(train),
    }
    for name, t in batch.tensors().items():
        flat = t.reshape(len(batch), -1).numpy()
        columns[PREFIX + name] = pa.array(list(flat))
        meta[f"shape:{name}"] = json.dumps(list(t.shape[1:]))
        meta[f"dtype:{name}"] = str(t.dtype).removeprefix("torch.")
    table = pa.table(columns)
    return table.replace_schema_metadata({k: str(v) for k, v in meta.items()})


#: the tensors every stored batch has (a :class:`Batch` is built from them)
REQUIRED_TENSORS = ("inputs", "lengths", "targets")
#: bounds of the command line's numbers (those of config.yaml)
MAX_LENGTH = 65536
MAX_COUNT = 1_000_000


def read_batch(path) -> tuple[dict[str, str], Batch]:
    """The batch stored in a file written by :func:`to_table`, and the file's metadata.

    Raises ValueError naming the file when it is not such a file: missing, unreadable or not
    Parquet (truncated), without the metadata or tensor columns :func:`to_table` writes, or
    without rows.
    """
    if not Path(path).is_file():
        raise ValueError(f"{path}: no such file")
    try:
        table = pq.read_table(path)
    except Exception as e:  # noqa: BLE001 - pyarrow raises many kinds; all mean the same here
        detail = " ".join(str(e).split())
        raise ValueError(f"{path}: not a readable Parquet file ({detail})") from None
    meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
    names = [c.removeprefix(PREFIX) for c in table.column_names if c.startswith(PREFIX)]
    missing = [PREFIX + n for n in REQUIRED_TENSORS if n not in names]
    if missing:
        raise ValueError(
            f"{path}: not an evaluation set written by separations.data (no columns {missing})"
        )
    keys = ["task", "length"] + [f"{kind}:{n}" for n in names for kind in ("shape", "dtype")]
    absent = [k for k in keys if k not in meta]
    if absent:
        what = f"no {', '.join(absent[:3])}{', ...' if len(absent) > 3 else ''} in its metadata"
        raise ValueError(
            f"{path}: not an evaluation set written by separations.data "
            f"({what if meta else 'it has no metadata'})"
        )
    if table.num_rows == 0:
        raise ValueError(f"{path}: no examples (an evaluation set needs at least one row)")
    tensors = {}
    for name in names:
        try:
            shape = json.loads(meta[f"shape:{name}"])
            dtype = getattr(torch, meta[f"dtype:{name}"])
            if not isinstance(dtype, torch.dtype):
                raise TypeError(f"{meta[f'dtype:{name}']!r} is not a torch dtype")
            values = table.column(PREFIX + name).combine_chunks()
            flat = values.flatten().to_numpy(zero_copy_only=False)
            array = np.asarray(flat).reshape(len(table), *shape)
            tensors[name] = torch.from_numpy(array.copy()).to(dtype)
        except (ValueError, TypeError, AttributeError, pa.ArrowException) as e:
            detail = " ".join(str(e).split())
            raise ValueError(
                f"{path}: column {PREFIX}{name} does not match its recorded shape and dtype "
                f"({detail})"
            ) from None
    return meta, Batch.from_tensors(tensors)


def main(argv: list[str] | None = None) -> int:
    """Bad arguments, parameters or files are answered with one line (exit status 2)."""
    parser = ArgumentParser(
        prog="python -m separations.data",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("task", help=f"one of: {', '.join(sorted(TASKS))}")
    parser.add_argument("--length", type=int, required=True, help="N, the evaluation length")
    parser.add_argument("--count", type=int, required=True, help="number of examples")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--out", required=True, help="output .parquet file")
    parser.add_argument("--params", default="{}", help="task parameters as a JSON object")
    parser.add_argument(
        "--train", action="store_true", help="draw from the training distribution (variable length)"
    )
    parser.add_argument(
        "--exclude",
        metavar="PARQUET",
        help="an evaluation set whose examples this one must not contain (the held-out test set "
        "excludes the validation set)",
    )
    args = parser.parse_args(argv)
    if args.task not in TASKS:
        parser.error(f"unknown task {args.task!r}; allowed: {', '.join(sorted(TASKS))}")
    for flag, value, lo, hi in (
        ("--length", args.length, 1, MAX_LENGTH),
        ("--count", args.count, 1, MAX_COUNT),
        ("--seed", args.seed, 0, MAX_SEED),
    ):
        if not lo <= value <= hi:
            parser.error(f"{flag}: got {value}; allowed: an integer {lo}..{hi}")
    try:
        params = json.loads(args.params)
    except json.JSONDecodeError as e:
        parser.error(f"--params: not JSON ({e})")
    try:
        check_task_params(args.task, params, "--params", prefix="")
        if args.exclude:
            _, excluded = read_batch(args.exclude)
            task, batch = generate_disjoint(
                args.task, args.length, args.count, args.seed, excluded, params=params
            )
        else:
            task, batch = generate(
                args.task, args.length, args.count, args.seed, params=params, train=args.train
            )
    except (ConfigError, TypeError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        write_table(to_table(task, batch, seed=args.seed, train=args.train), args.out)
    except OSError as e:
        print(f"error: cannot write {args.out}: {e.strerror or e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
