"""The metrics schema is enforced, writes are atomic, and training follows its contract."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from separations import config as sweep_config
from separations.aggregate import main as aggregate_main
from separations.data import main as data_main
from separations.results import METRICS_SCHEMA, SchemaError, read_metrics, write_atomic
from separations.train import main as train_main


def tiny_spec(config: dict, **overrides) -> dict:
    spec = sweep_config.job_specs(config, "ci")["idxl/transformer/d1-w16-h2/N12"]
    spec = {**spec.to_dict(), **overrides}
    spec["config_hash"] = sweep_config.config_hash(spec, sweep_config.NUMERIC_KEYS)
    return spec


@pytest.fixture
def trained(tmp_path, config):
    """A finished tiny training job: (spec, metrics path)."""
    spec = tiny_spec(config, learning_rates=[1e-2, 1e-3], seeds=[0, 1], eval_size=100)
    data = tmp_path / "val.parquet"
    assert data_main(["idxl", "--length", "12", "--count", "100", "--seed", "1",
                      "--out", str(data)]) == 0  # fmt: skip
    out = tmp_path / "job" / "metrics.parquet"
    assert train_main(["--spec", json.dumps(spec), "--data", str(data), "--out", str(out),
                       "--log", str(tmp_path / "train.log")]) == 0  # fmt: skip
    return spec, out


def test_training_writes_the_declared_schema_and_every_run(trained):
    spec, out = trained
    table = read_metrics(out)
    assert table.schema.equals(METRICS_SCHEMA.remove_metadata()) or table.schema.equals(
        METRICS_SCHEMA
    )
    rows = table.to_pandas()
    assert set(zip(rows.lr, rows.seed, strict=True)) == {(1e-2, 0), (1e-2, 1), (1e-3, 0), (1e-3, 1)}
    for _, run in rows.groupby(["lr", "seed"]):
        steps = list(run["step"])
        assert steps[0] == 0 and steps == sorted(steps)
        assert run["final"].sum() == 1 and bool(run["final"].iloc[-1])
        last = run.iloc[-1]
        assert last["solved"] or last["step"] == spec["max_steps"] or last["pruned"]
        # the final row scores the checkpoint validation chose on the test set
        assert last["best_val_acc"] == run["val_acc"].max()
        assert 0 <= last["test_acc"] <= 1 and last["best_step"] in set(run["step"])
        assert run["test_acc"].iloc[:-1].isna().all()
        assert (run["examples"] == run["step"] * spec["batch_size"]).all()
    assert (rows["config_hash"] == spec["config_hash"]).all()
    assert set(rows["device"]) == {"cpu"}


def test_same_config_gives_the_same_numbers(trained, tmp_path, config):
    spec, out = trained
    again = tmp_path / "again" / "metrics.parquet"
    assert train_main(["--spec", json.dumps(spec), "--data", str(tmp_path / "val.parquet"),
                       "--out", str(again)]) == 0  # fmt: skip
    a, b = (pq.read_table(p).to_pandas() for p in (out, again))
    cols = ["lr", "seed", "step", "train_loss", "val_loss", "val_acc"]
    assert a[cols].equals(b[cols])


def test_aggregation_rejects_a_file_with_the_wrong_schema(trained, tmp_path, capsys):
    _, good = trained
    bad = tmp_path / "bad" / "metrics.parquet"
    bad.parent.mkdir()
    table = pq.read_table(good).drop_columns(["val_acc"])
    pq.write_table(table, bad)
    out = tmp_path / "all.parquet"
    assert aggregate_main(["--out", str(out), str(good), str(bad)]) == 1
    err = capsys.readouterr().err
    assert str(bad) in err and "val_acc" in err
    assert not out.exists()


def test_wrong_column_type_is_named(trained, tmp_path):
    _, good = trained
    table = pq.read_table(good)
    i = table.schema.get_field_index("depth")
    table = table.set_column(i, "depth", table.column("depth").cast(pa.float64()))
    bad = tmp_path / "typed.parquet"
    pq.write_table(table, bad)
    with pytest.raises(SchemaError, match="depth: double"):
        read_metrics(bad)


def test_aggregation_of_good_files(trained, tmp_path):
    _, good = trained
    out = tmp_path / "all.parquet"
    assert aggregate_main(["--out", str(out), str(good)]) == 0
    assert read_metrics(out).num_rows == pq.read_table(good).num_rows


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")

    def fail(tmp):
        with open(tmp, "w") as f:
            f.write("half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        write_atomic(target, fail)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
