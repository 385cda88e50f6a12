"""Paper-1 tasks beyond Index Lookup (Dyck, equality, nearest neighbour, MQAR).

Each generator is checked against an independent, direct reading of its definition: a stack for
Dyck membership, string comparison for equality, brute-force search for nearest neighbours, a
dictionary for associative recall.
"""

from __future__ import annotations

import itertools

import pandas as pd
import pyarrow.parquet as pq
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from separations.data import generate, main, read_batch, to_table
from separations.models import build_model
from separations.tasks import TASKS, ConfigError, build_task
from separations.tasks.dyck import in_language
from separations.tasks.equality import ANY, PAD
from separations.tasks.mqar import IGNORE

PAPER1 = ["dyck", "eq-random", "eq-one", "eq-ncp", "nn", "mqar"]
seeds = st.integers(min_value=0, max_value=2**31 - 1)
BRACKETS = {1: "(", 2: ")", 3: "[", 4: "]"}


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# -- Dyck ----------------------------------------------------------------------------------------
def dyck_member(s: str, bound: int = 2) -> bool:
    """Stack-based membership in bounded Dyck-(2, bound)."""
    pairs = {")": "(", "]": "["}
    stack: list[str] = []
    for c in s:
        if c in "([":
            stack.append(c)
            if len(stack) > bound:
                return False
        elif not stack or stack.pop() != pairs[c]:
            return False
    return not stack


def as_text(row) -> str:
    return "".join(BRACKETS[t] for t in row)


@pytest.mark.parametrize("n", [2, 4, 6, 8])
def test_dyck_reference_checker_counts_the_language(n):
    strings = ["".join(p) for p in itertools.product("()[]", repeat=n)]
    members = [s for s in strings if dyck_member(s)]
    assert len(members) == 2 ** (n - 1)
    # the task's vectorised membership test agrees on every string
    table = {"(": 1, ")": 2, "[": 3, "]": 4}
    ids = torch.tensor([[table[c] for c in s] for s in strings])
    assert in_language(ids).tolist() == [dyck_member(s) for s in strings]


def test_dyck_odd_lengths_have_no_members():
    for n in (1, 3, 5):
        assert not any(dyck_member("".join(p)) for p in itertools.product("()[]", repeat=n))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([1, 2, 3, 4]), min_size=1, max_size=40))
def test_dyck_membership_matches_stack_on_random_strings(tokens):
    ids = torch.tensor([tokens])
    assert bool(in_language(ids)[0]) == dyck_member(as_text(tokens))


@settings(max_examples=25, deadline=None)
@given(half=st.integers(min_value=2, max_value=120), seed=seeds, train=st.booleans())
def test_dyck_labels_are_membership(half, seed, train):
    n = 2 * half
    task = build_task("dyck", n)
    batch = task.sample(32, gen(seed), train=train)
    assert batch.inputs.shape == (32, n) and (batch.lengths == n).all()
    for row, label, k in zip(
        batch.inputs.tolist(),
        batch.targets.tolist(),
        batch.extra["corruptions"].tolist(),
        strict=True,
    ):
        assert dyck_member(as_text(row)) == bool(label)
        if label:
            assert k == 0
        else:
            assert 1 <= k <= max(1, n // 10)


def test_dyck_labels_balanced_and_positives_cover_the_language():
    task = build_task("dyck", 6)
    batch = task.sample(4000, gen(0), train=True)
    assert abs(batch.targets.float().mean().item() - 0.5) < 0.03
    positives = {as_text(r) for r, y in zip(batch.inputs.tolist(), batch.targets, strict=True) if y}
    language = {"".join(p) for p in itertools.product("()[]", repeat=6)}
    assert positives == {s for s in language if dyck_member(s)}  # all 32 strings are reached
    # corruption counts at N=40 cover 1..4
    task = build_task("dyck", 40)
    k = task.sample(2000, gen(1), train=False).extra["corruptions"]
    assert set(k[k > 0].tolist()) == {1, 2, 3, 4}


def test_dyck_corruption_swaps_or_flips_k_positions():
    task = build_task("dyck", 60)
    members = task.positives(300, gen(5))
    assert all(dyck_member(as_text(r)) for r in members.tolist())
    corrupted, k = task.corrupt(members, gen(6))
    assert not in_language(corrupted).any()
    swap = {1: 3, 3: 1, 2: 4, 4: 2}
    flip = {1: 2, 2: 1, 3: 4, 4: 3}
    for before, after, count in zip(members.tolist(), corrupted.tolist(), k.tolist(), strict=True):
        changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
        assert 1 <= count <= 6 and len(changed) == count
        assert all(b in (swap[a], flip[a]) for a, b in changed)


@pytest.mark.parametrize("n, message", [(7, "odd"), (2, "too short"), (0, "too short")])
def test_dyck_rejects_lengths(n, message):
    with pytest.raises(ConfigError, match=message):
        build_task("dyck", n)


# -- equality ------------------------------------------------------------------------------------
def split(task, row: list[int], length: int) -> tuple[list[int], list[int]]:
    """The two halves of one example, found by locating the separator."""
    body = row[:length]
    assert body.count(task.sep) == 1 and all(t == 0 for t in row[length:])
    cut = body.index(task.sep)
    return body[:cut], body[cut + 1 :]


@settings(max_examples=25, deadline=None)
@given(
    name=st.sampled_from(["eq-random", "eq-one"]),
    half=st.integers(min_value=1, max_value=100),
    seed=seeds,
    train=st.booleans(),
)
def test_equality_labels_are_actual_equality(name, half, seed, train):
    n = 2 * half
    task = build_task(name, n)
    batch = task.sample(32, gen(seed), train=train)
    for row, length, label in zip(
        batch.inputs.tolist(), batch.lengths.tolist(), batch.targets.tolist(), strict=True
    ):
        w, v = split(task, row, length)
        assert len(w) == len(v) and all(1 <= t <= task.alphabet for t in w + v)
        assert label == int(w == v)
        if name == "eq-one" and not label:
            assert sum(a != b for a, b in zip(w, v, strict=True)) == 1
        if train:
            assert task.min_length <= 2 * len(w) <= n
        else:
            assert 2 * len(w) == n


@pytest.mark.parametrize("name", ["eq-random", "eq-one"])
def test_equality_labels_balanced(name):
    batch = build_task(name, 40).sample(4000, gen(3), train=False)
    assert abs(batch.targets.float().mean().item() - 0.5) < 0.03


@pytest.mark.parametrize("name", ["eq-random", "eq-one", "eq-ncp"])
def test_equality_training_lengths_cover_the_even_range(name):
    task = build_task(name, 100)
    assert task.min_length == 10
    lengths = task.sample(3000, gen(0), train=True).lengths - 1
    assert set(lengths.tolist()) == set(range(10, 101, 2))
    task = build_task(name, 100, {"min_length": 60})
    assert set((task.sample(2000, gen(0), train=True).lengths - 1).tolist()) == set(
        range(60, 101, 2)
    )
    fixed = build_task(name, 100, {"train_lengths": "fixed"}).sample(50, gen(0), train=True)
    assert (fixed.lengths == 101).all()


def reference_ncp(task, w: list[int]) -> list[set[int]]:
    """Valid next classes after each prefix of ``w [SEP] w`` (classes: symbols 0..A-1, SEP, EOS)."""
    a = task.alphabet
    sequence = w + [task.sep] + w
    out = []
    for j in range(len(sequence)):
        prefix = sequence[: j + 1]
        if task.sep not in prefix:
            out.append(set(range(a + 1)))  # any symbol, or the separator
        else:
            copied = len(prefix) - len(w) - 1
            out.append({w[copied] - 1} if copied < len(w) else {a + 1})
    return out


@settings(max_examples=20, deadline=None)
@given(half=st.integers(min_value=1, max_value=60), seed=seeds, train=st.booleans())
def test_ncp_targets_follow_the_language(half, seed, train):
    task = build_task("eq-ncp", 2 * half, {"alphabet": 7})
    batch = task.sample(16, gen(seed), train=train)
    dense = task.dense_targets(batch.targets)
    for i, (row, length) in enumerate(
        zip(batch.inputs.tolist(), batch.lengths.tolist(), strict=True)
    ):
        w, v = split(task, row, length)
        assert w == v
        expected = reference_ncp(task, w)
        for j, valid in enumerate(expected):
            assert set(dense[i, j].nonzero().flatten().tolist()) == valid
        assert (batch.targets[i, length:] == PAD).all() and not dense[i, length:].any()


def test_ncp_loss_is_masked_bce_and_correct_is_exact():
    task = build_task("eq-ncp", 12, {"alphabet": 5})
    batch = task.sample(8, gen(2), train=True)
    dense = task.dense_targets(batch.targets)
    real = batch.targets != PAD
    logits = torch.randn(*batch.targets.shape, task.num_outputs)
    expected = F.binary_cross_entropy_with_logits(logits[real], dense[real])
    assert torch.allclose(task.loss(logits, batch), expected, atol=1e-6)
    # perfect logits (garbage at padding) are correct; one wrong class at one position is not
    perfect = torch.where(dense > 0, 4.0, -4.0)
    perfect[~real] = torch.randn_like(perfect[~real])
    assert task.correct(perfect, batch).all()
    assert task.loss(perfect, batch) < task.loss(logits, batch)
    for i in range(len(batch)):
        broken = perfect.clone()
        j = int(torch.randint(0, int(batch.lengths[i]), (1,), generator=gen(i)))
        c = int(torch.randint(0, task.num_outputs, (1,), generator=gen(i)))
        broken[i, j, c] = -broken[i, j, c]
        ok = task.correct(broken, batch)
        assert not ok[i] and ok[torch.arange(len(batch)) != i].all()
    assert (batch.targets[real] >= ANY).all()


def test_ncp_is_cheap_at_800():
    task = build_task("eq-ncp", 800)
    batch = task.sample(64, gen(0), train=False)
    assert batch.inputs.shape == (64, 801) and batch.targets.dtype == torch.long
    logits = torch.randn(4, 801, task.num_outputs)
    part = batch.slice(0, 4)
    assert task.loss(logits, part).shape == () and task.correct(logits, part).shape == (4,)


@pytest.mark.parametrize(
    "name, n, params, message",
    [
        ("eq-random", 21, {}, "even"),
        ("eq-one", 0, {}, "even"),
        ("eq-ncp", 20, {"min_length": 3}, "min_length"),
        ("eq-ncp", 20, {"min_length": 22}, "min_length"),
        ("eq-random", 20, {"alphabet": 1}, "alphabet"),
        ("eq-one", 20, {"train_lengths": "often"}, "train_lengths"),
    ],
)
def test_equality_rejects(name, n, params, message):
    with pytest.raises(ConfigError, match=message):
        build_task(name, n, params)


# -- nearest neighbour ---------------------------------------------------------------------------
@settings(max_examples=20, deadline=None)
@given(
    n=st.integers(min_value=2, max_value=80),
    dim=st.integers(min_value=4, max_value=24),  # in 2-d a margin of 0.1 is out of reach
    margin=st.sampled_from([0.0, 0.05, 0.1]),
    seed=seeds,
    train=st.booleans(),
)
def test_nn_target_is_brute_force_nearest_with_margin(n, dim, margin, seed, train):
    task = build_task("nn", n, {"dim": dim, "margin": margin})
    batch = task.sample(16, gen(seed), train=train)
    assert batch.inputs.shape[2] == dim + 3
    for i in range(len(batch)):
        length = int(batch.lengths[i])
        seq = batch.inputs[i].double()
        assert not seq[length:].any(), "padding is zero"
        k = (length + 1) // 2
        points = seq[0:length:2]
        labels = seq[1:length:2]
        assert (points[:, dim + 2] == 1).all() and not points[:, dim : dim + 2].any()
        assert not labels[:, :dim].any() and not labels[:, dim + 2].any()
        assert (labels[:, dim : dim + 2].sum(1) == 1).all()
        assert torch.allclose(points[:, :dim].norm(dim=1), torch.ones(k, dtype=torch.float64))
        query, context = points[-1, :dim], points[:-1, :dim]
        scores = [float(query @ x) for x in context]
        best = max(range(k - 1), key=lambda j: scores[j])
        others = [s for j, s in enumerate(scores) if j != best]
        if others:
            assert scores[best] - max(others) >= margin - 1e-5
        assert int(batch.extra["neighbour"][i]) == best + 1
        assert int(batch.targets[i]) == int(labels[best, dim + 1])
        if train:
            assert n // 2 < k <= n
        else:
            assert k == n


def test_nn_labels_balanced_and_impossible_margin_is_reported():
    batch = build_task("nn", 30).sample(3000, gen(0), train=False)
    assert abs(batch.targets.float().mean().item() - 0.5) < 0.03
    assert (batch.extra["gap"] >= 0.1).all()
    task = build_task("nn", 200, {"dim": 2, "margin": 0.9, "max_rounds": 3})
    with pytest.raises(ConfigError, match="margin"):
        task.sample(4, gen(0), train=False)


@pytest.mark.parametrize(
    "n, params, message",
    [
        (1, {}, "too short"),
        (20, {"margin": 1.5}, "margin"),
        (20, {"dim": 1}, "dim"),
        (20, {"min_points": 1}, "min_points"),
    ],
)
def test_nn_rejects(n, params, message):
    with pytest.raises(ConfigError, match=message):
        build_task("nn", n, params)


# -- MQAR ----------------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(n=st.integers(min_value=1, max_value=100), seed=seeds, train=st.booleans())
def test_mqar_answers_by_dictionary_lookup(n, seed, train):
    task = build_task("mqar", n, {"keys": 128, "values": 16})
    batch = task.sample(16, gen(seed), train=train)
    for row, target, length in zip(
        batch.inputs.tolist(), batch.targets.tolist(), batch.lengths.tolist(), strict=True
    ):
        assert length % 3 == 0 and all(t == 0 for t in row[length:])
        pairs = length // 3
        kv = row[: 2 * pairs]
        keys, values = kv[0::2], kv[1::2]
        assert all(1 <= k <= 128 for k in keys) and len(set(keys)) == pairs
        assert all(129 <= v <= 128 + 16 for v in values)
        memory = dict(zip(keys, values, strict=True))
        queries = row[2 * pairs : length]
        assert sorted(queries) == sorted(keys)
        assert target[: 2 * pairs] == [IGNORE] * (2 * pairs)
        assert target[length:] == [IGNORE] * (len(row) - length)
        assert target[2 * pairs : length] == [memory[q] - 129 for q in queries]
        if train:
            assert n // 2 < pairs <= n
        else:
            assert pairs == n


def test_mqar_correct_needs_every_query():
    task = build_task("mqar", 6, {"keys": 20, "values": 8})
    batch = task.sample(10, gen(4), train=True)
    logits = torch.randn(*batch.targets.shape, 8)
    query = batch.targets != IGNORE
    logits[query] = F.one_hot(batch.targets[query], 8).float() * 10
    assert task.correct(logits, batch).all()
    assert task.loss(logits, batch) < 1e-3
    i = 3
    j = int(query[i].nonzero()[0])
    logits[i, j] = -logits[i, j]
    assert task.correct(logits, batch).tolist() == [r != i for r in range(10)]


def test_mqar_rejects_too_few_keys():
    with pytest.raises(ConfigError, match="distinct keys"):
        build_task("mqar", 50, {"keys": 40})


# -- every task ----------------------------------------------------------------------------------
def small(name: str) -> tuple[int, dict]:
    return {
        "dyck": (20, {}),
        "eq-random": (20, {}),
        "eq-one": (20, {}),
        "eq-ncp": (20, {"alphabet": 16}),
        "nn": (10, {"dim": 4}),
        "mqar": (8, {"keys": 16, "values": 8}),
    }[name]


def test_all_paper1_tasks_are_registered():
    assert set(PAPER1) <= set(TASKS)


@pytest.mark.parametrize("name", PAPER1)
def test_same_seed_same_batch(name):
    n, params = small(name)
    task = build_task(name, n, params)
    a = task.sample(32, gen(7), train=True)
    b = task.sample(32, gen(7), train=True)
    c = task.sample(32, gen(8), train=True)
    for key, tensor in a.tensors().items():
        assert torch.equal(tensor, b.tensors()[key]), key
    assert a.inputs.shape != c.inputs.shape or not torch.equal(a.inputs, c.inputs)


@pytest.mark.parametrize("name", PAPER1)
def test_evaluation_lengths_exact(name):
    n, params = small(name)
    task = build_task(name, n, params)
    batch = task.sample(64, gen(1), train=False)
    assert (batch.lengths == task.max_len).all()
    assert batch.inputs.shape[1] == task.max_len


@pytest.mark.parametrize("name", PAPER1)
def test_round_trip_through_parquet(name, tmp_path):
    n, params = small(name)
    task, batch = generate(name, n, 50, seed=3, params=params, train=True, chunk=7)
    path = tmp_path / "set.parquet"
    pq.write_table(to_table(task, batch, seed=3, train=True), path)
    meta, loaded = read_batch(path)
    assert meta["task"] == name
    assert set(loaded.tensors()) == set(batch.tensors())
    for key, tensor in batch.tensors().items():
        back = loaded.tensors()[key]
        assert back.dtype == tensor.dtype and torch.equal(back, tensor), key


@pytest.mark.parametrize("name", PAPER1)
def test_dump_command(name, tmp_path):
    import json

    n, params = small(name)
    out = tmp_path / "dump.parquet"
    args = [name, "--length", str(n), "--count", "6", "--seed", "2", "--out", str(out)]
    assert main([*args, "--params", json.dumps(params)]) == 0
    rows = pd.read_parquet(out)
    assert len(rows) == 6 and {"tokens", "target"} <= set(rows.columns)
    if name == "dyck":
        assert {"label", "depth_max"} <= set(rows.columns)
        assert all(dyck_member(t) == bool(y) for t, y in zip(rows.tokens, rows.label, strict=True))


@pytest.mark.parametrize("name", PAPER1)
def test_loss_and_correct_shapes_with_a_model(name):
    n, params = small(name)
    task = build_task(name, n, params)
    batch = task.sample(64, gen(0), train=True)
    torch.manual_seed(0)
    model = build_model("transformer", task, depth=1, width=16, heads=2)
    part = batch.slice(0, 10)
    logits = model(part.inputs)
    assert logits.shape == (*part.inputs.shape[:2], task.num_outputs)
    loss = task.loss(logits, part)
    assert loss.shape == () and torch.isfinite(loss)
    loss.backward()
    correct = task.correct(logits.detach(), part)
    assert correct.shape == (10,) and correct.dtype == torch.bool
    assert 0.0 <= task.chance <= 0.5
