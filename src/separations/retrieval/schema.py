"""The declared Parquet schema of IsTree results, and the reader that enforces it.

One row per (run, evaluation): a run is one learning rate and seed of one job, a job one
(format, family, size, n) cell. ``gen_*`` columns are null at evaluations without generation
(generation runs at the final evaluation and every ``generate_every`` steps).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from ..results import SchemaError

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
        ("eval_size", pa.int32()),
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
        ("wall_time", pa.float64()),  # seconds of training and evaluation in this run so far
        # provenance
        ("package_version", pa.string()),
        ("git_commit", pa.string()),
        ("config_hash", pa.string()),
        ("torch_version", pa.string()),
        ("device", pa.string()),
        ("host", pa.string()),
    ]
)


def table(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=ISTREE_SCHEMA)


def read(path) -> pa.Table:
    """Read an IsTree results file, refusing one whose schema is not :data:`ISTREE_SCHEMA`."""
    try:
        schema = pq.read_schema(path)
    except Exception as e:  # noqa: BLE001 - any unreadable file is a schema failure here
        raise SchemaError(f"{path}: not a readable Parquet file ({e})") from None
    want = ISTREE_SCHEMA.remove_metadata()
    if not schema.remove_metadata().equals(want):
        have_types = {f.name: str(f.type) for f in schema}
        want_types = {f.name: str(f.type) for f in want}
        missing = sorted(set(want_types) - set(have_types))
        extra = sorted(set(have_types) - set(want_types))
        wrong = sorted(
            f"{k}: {have_types[k]} (want {want_types[k]})"
            for k in set(want_types) & set(have_types)
            if have_types[k] != want_types[k]
        )
        parts = [
            f"missing columns {missing}" if missing else "",
            f"unexpected columns {extra}" if extra else "",
            f"wrong types {', '.join(wrong)}" if wrong else "",
        ]
        detail = "; ".join(p for p in parts if p) or "columns out of order"
        raise SchemaError(f"{path}: does not match the IsTree results schema: {detail}")
    return pq.read_table(path)
