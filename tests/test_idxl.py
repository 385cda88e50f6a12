"""Index Lookup generator: checked against a direct reading of the task's definition."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from separations.data import generate, read_batch, to_table
from separations.tasks import ConfigError, build_task
from separations.tasks.idxl import SYMBOL_NAMES

lengths = st.integers(min_value=10, max_value=120)
seeds = st.integers(min_value=0, max_value=2**31 - 1)


def reference_target(row: list[int], alphabet: int) -> tuple[int, int, int]:
    """(k, p, target) read off one example the obvious way: symbols, then the index token."""
    body = [t for t in row if t != 0]
    k = len(body) - 1
    p = body[-1] - alphabet
    assert all(1 <= t <= alphabet for t in body[:-1]), "symbols must come first"
    return k, p, body[p - 1] - 1


@settings(max_examples=40, deadline=None)
@given(length=lengths, seed=seeds, train=st.booleans())
def test_examples_follow_the_definition(length, seed, train):
    task = build_task("idxl", length)
    batch = task.sample(32, torch.Generator().manual_seed(seed), train=train)
    assert batch.inputs.shape[1] == int(batch.lengths.max()) <= length + 1
    for row, n, target, index in zip(
        batch.inputs.tolist(), batch.lengths, batch.targets, batch.extra["index"], strict=True
    ):
        k, p, expected = reference_target(row, task.alphabet)
        assert k + 1 == int(n), "length counts the symbols and the index token"
        assert all(t == 0 for t in row[k + 1 :]), "padding after the index token"
        assert 1 <= p <= k and p == int(index)
        assert int(target) == expected
        if train:
            assert task.params["min_length"] <= k <= length
        else:
            assert k == length, "evaluation examples have exactly N symbols"


@settings(max_examples=20, deadline=None)
@given(length=lengths, seed=seeds)
def test_fixed_training_length(length, seed):
    task = build_task("idxl", length, {"train_lengths": "fixed"})
    batch = task.sample(16, torch.Generator().manual_seed(seed), train=True)
    assert (batch.lengths == length + 1).all()


def test_training_lengths_and_indices_cover_their_range():
    task = build_task("idxl", 20)
    batch = task.sample(20000, torch.Generator().manual_seed(0), train=True)
    k = batch.lengths - 1
    assert set(k.tolist()) == set(range(10, 21))
    assert set(batch.extra["index"].tolist()) == set(range(1, 21))
    # symbols are uniform: every one of the 64 appears as a target
    assert set(batch.targets.tolist()) == set(range(64))


def test_same_seed_same_batch_and_different_seed_differs():
    task = build_task("idxl", 50)
    a = task.sample(64, torch.Generator().manual_seed(7), train=True)
    b = task.sample(64, torch.Generator().manual_seed(7), train=True)
    c = task.sample(64, torch.Generator().manual_seed(8), train=True)
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets)
    assert not torch.equal(a.inputs[:, :10], c.inputs[:, :10])


def test_evaluation_set_is_fixed_and_round_trips(tmp_path):
    task, first = generate("idxl", 30, 2500, seed=11)
    _, again = generate("idxl", 30, 2500, seed=11)
    assert torch.equal(first.inputs, again.inputs)
    path = tmp_path / "val.parquet"
    pq.write_table(to_table(task, first, seed=11, train=False), path)
    meta, loaded = read_batch(path)
    assert meta["task"] == "idxl" and meta["length"] == "30"
    for name, tensor in first.tensors().items():
        assert torch.equal(tensor, loaded.tensors()[name]), name


def test_dump_command_writes_readable_rows(tmp_path):
    from separations.data import main

    out = tmp_path / "dump.parquet"
    assert main(["idxl", "--length", "12", "--count", "5", "--seed", "3", "--out", str(out)]) == 0
    import pandas as pd

    rows = pd.read_parquet(out)
    assert len(rows) == 5
    for _, row in rows.iterrows():
        words = row["tokens"].split()
        assert len(words) == 13 and words[-1] == f"#{row['index']}"
        assert words[row["index"] - 1] == row["target"]
        assert row["target"] in SYMBOL_NAMES


def test_dump_command_rejects_bad_input(tmp_path, capsys):
    from separations.data import main

    out = tmp_path / "x.parquet"
    assert main(["idxl", "--length", "5", "--count", "3", "--seed", "0", "--out", str(out)]) == 2
    assert "min_length" in capsys.readouterr().err
    assert not out.exists()
    with pytest.raises(SystemExit):
        main(["nosuchtask", "--length", "5", "--count", "3", "--seed", "0", "--out", str(out)])


@pytest.mark.parametrize(
    "params, message",
    [
        ({"alphabet": 1}, "alphabet"),
        ({"train_lengths": "sometimes"}, "train_lengths"),
        ({"colour": "red"}, "unknown parameter"),
    ],
)
def test_bad_task_parameters_are_named(params, message):
    with pytest.raises(ConfigError, match=message):
        build_task("idxl", 20, params)
