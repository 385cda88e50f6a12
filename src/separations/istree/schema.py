"""The declared Parquet schema of IsTree results, and the reader that enforces it.

One row per (run, evaluation): a run is one learning rate and seed of one job, a job one
(format, family, size, n) cell. ``gen_*`` columns are null at evaluations without generation
(generation runs at the final evaluation and every ``generate_every`` steps); ``test_*`` columns
are filled at the final evaluation of a run that was not pruned.
"""

from __future__ import annotations

import pyarrow as pa

from ..results import PROVENANCE_FIELDS, read_checked

ISTREE_SCHEMA = pa.schema(
    [
        # what was trained
        ("sweep", pa.string()),
        ("job", pa.string()),
        ("task", pa.string()),  # always "istree"
        ("format", pa.string()),  # nocot, cot, retrieval
        ("family", pa.string()),  # transformer, mamba, hybrid
        ("size", pa.string()),  # the size's name in config.yaml (e.g. 0.5M)
        ("n", pa.int32()),  # nodes per graph
        ("width", pa.int32()),
        ("depth", pa.int32()),
        ("ffn", pa.int32()),  # null for Mamba
        ("heads", pa.int32()),  # null for Mamba
        ("d_state", pa.int32()),  # Mamba state size; null for the Transformer
        ("embedding", pa.string()),
        ("n_params", pa.int64()),  # trainable parameters
        ("lr", pa.float64()),
        ("seed", pa.int32()),
        ("batch_size", pa.int32()),
        ("max_steps", pa.int64()),
        ("warmup_steps", pa.int64()),
        ("eval_size", pa.int32()),  # validation examples (choose the learning rate)
        ("test_size", pa.int32()),  # held-out test examples (reported)
        ("chance", pa.float64()),
        # one evaluation
        ("step", pa.int64()),
        ("examples", pa.int64()),
        ("train_loss", pa.float64()),  # mean over the steps since the previous evaluation
        ("val_loss", pa.float64()),  # teacher-forced, supervised tokens
        ("tf_exact", pa.float64()),  # teacher-forced exact match of the whole supervised part
        ("gen_acc", pa.float64()),  # answer accuracy of greedy generation (the paper's metric)
        ("gen_trace_exact", pa.float64()),  # generated sequence equals the reference
        ("gen_malformed", pa.float64()),  # share of generations with a malformed query
        ("gen_unfinished", pa.float64()),  # share that never reached an answer
        ("final", pa.bool_()),  # the run's last evaluation
        ("pruned", pa.bool_()),  # stopped at a rung of successive halving (never tested)
        # the last iterate on the held-out test set (final rows of unpruned runs; else null)
        ("test_gen_acc", pa.float64()),  # what the claims report
        ("test_tf_exact", pa.float64()),
        ("test_loss", pa.float64()),
        ("wall_time", pa.float64()),  # seconds of training and evaluation in this run so far
        *PROVENANCE_FIELDS,
    ]
)


def table(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=ISTREE_SCHEMA)


def read(path) -> pa.Table:
    """Read an IsTree results file, refusing one whose schema is not :data:`ISTREE_SCHEMA`."""
    return read_checked(path, ISTREE_SCHEMA, "IsTree results")
