"""Theorem 1 executed: nearly orthogonal vectors, the hand-set Transformer, precision, the sweep."""

from __future__ import annotations

import itertools
import json
import math
import re

import pytest
import torch
import yaml
from conftest import ROOT

from separations.constructions import orthogonal, sweep, theorem1
from separations.constructions import precision as prec
from separations.models import SequenceModel
from separations.models.transformer import Transformer
from separations.tasks.idxl import IndexLookup

# -- nearly orthogonal vectors -------------------------------------------------------------------


@pytest.mark.parametrize("n, k", [(2, 1), (10, 8), (37, 20), (50, 64), (101, 130)])
def test_blockwise_check_equals_the_full_gram_matrix(n, k):
    signs = orthogonal.signs(n, k, seed=3)
    vectors = orthogonal.nearly_orthogonal(n, k, seed=3)
    assert torch.equal(vectors * math.sqrt(k), signs.double())
    full = orthogonal.brute_force_max_offdiag(vectors)
    for block in (1, 7, 16, 4096):
        assert orthogonal.max_offdiag(signs, block=block) == pytest.approx(full, abs=1e-12)
        check = orthogonal.check_orthogonality(signs, 0.25, block=block)
        assert check.passed == (full <= 0.25)
        assert check.min_diag == pytest.approx(1.0)
        if check.passed:
            assert check.max_offdiag == pytest.approx(full, abs=1e-12)
            assert check.pairs_checked == n * (n - 1) // 2


@pytest.mark.parametrize("n", [2, 5, 12, 30])
def test_width_search_agrees_with_brute_force(n):
    result = orthogonal.smallest_width(n, 0.25, seed=11, block=5)
    brute = {  # every k the search tested, checked on the full Gram matrix
        c.k: orthogonal.brute_force_max_offdiag(orthogonal.nearly_orthogonal(n, c.k, 11)) <= 0.25
        for c in result.checks
    }
    assert {c.k: c.passed for c in result.checks} == brute
    k = result.k
    assert brute[k]
    if k > 1:  # the search brackets its answer: k - 1 was tested and failed
        assert brute[k - 1] is False
    # doubling then bisection: the powers of two below the answer were all tested
    assert all(2**i in brute for i in range(int(math.log2(k))))


def test_search_width_is_doubling_then_bisection():
    tested = []

    def passes(k):
        tested.append(k)
        return k >= 37

    assert orthogonal.search_width(passes, 1000) == (37, tested)
    assert tested[:7] == [1, 2, 4, 8, 16, 32, 64]
    assert orthogonal.search_width(lambda k: False, 100)[0] is None


def test_the_same_seed_gives_the_same_vectors():
    assert torch.equal(orthogonal.signs(20, 9, 1), orthogonal.signs(20, 9, 1))
    assert not torch.equal(orthogonal.signs(20, 9, 1), orthogonal.signs(20, 9, 2))
    assert not torch.equal(orthogonal.signs(20, 9, 1)[:, :8], orthogonal.signs(20, 8, 1))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: orthogonal.signs(10, 0, 0), "k (dimension) must be an integer >= 1"),
        (lambda: orthogonal.smallest_width(1), "N (number of vectors) must be an integer >= 2"),
        (lambda: orthogonal.nearly_orthogonal(10, -3, 0), "got -3"),
        (lambda: orthogonal.check_orthogonality(orthogonal.signs(4, 4, 0), 1.5), "gamma"),
        (lambda: theorem1.build(1, 8), "N (number of vectors) must be an integer >= 2"),
        (lambda: theorem1.build(8, 0), "k (dimension) must be an integer >= 1"),
        (lambda: theorem1.build(8, 8, eta=-1.0), "eta must be a number > 0"),
        (lambda: theorem1.build(8, 8, attention="sparse"), "unknown attention 'sparse'"),
        (lambda: prec.parse("float8"), "unknown precision 'float8'"),
        (lambda: prec.parse("bits0"), "bits must be in 1..52"),
        (lambda: prec.parse("bits64"), "bits must be in 1..52"),
    ],
)
def test_bad_input_is_rejected_with_a_clear_message(call, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call()


# -- the construction ----------------------------------------------------------------------------


def test_the_construction_is_the_projects_model_with_two_options():
    c = theorem1.build(12, 16)
    assert isinstance(c.model, SequenceModel)
    assert isinstance(c.model.backbone, Transformer)
    assert c.model.encoder.num_embeddings == c.task.vocab_size == 1 + 64 + 12
    assert c.model.head.out_features == 64
    assert c.width == 4 * 6 + 4 * 16
    block = c.model.backbone.blocks[0]
    assert isinstance(block.mlp[1], torch.nn.ReLU)
    assert block.attn.attention == "softmax"
    # the default model is untouched: GELU and PyTorch's fused softmax attention
    default = Transformer(width=8, depth=1, heads=2, max_len=4)
    assert isinstance(default.blocks[0].mlp[1], torch.nn.GELU)
    assert default.blocks[0].attn.attention == "softmax"


@pytest.mark.parametrize("attention", ["softmax", "hard"])
def test_construction_is_exact_on_every_input_of_a_small_task(attention):
    """All 2^6 strings x 6 indices of Index Lookup with a binary alphabet, full forward pass."""
    n = 6
    c = theorem1.build(n, 24, alphabet=2, attention=attention, seed=1)
    strings = torch.tensor(list(itertools.product([1, 2], repeat=n)))
    rows = [torch.cat([s, torch.tensor([2 + p])]) for s in strings for p in range(1, n + 1)]
    inputs = torch.stack(rows)
    targets = torch.tensor([int(s[p - 1]) - 1 for s in strings for p in range(1, n + 1)])
    with torch.no_grad():
        logits = c.model(inputs)[:, -1]
    assert torch.equal(logits.argmax(-1), targets)


@pytest.mark.parametrize("attention", ["softmax", "hard"])
def test_construction_is_perfect_on_the_tasks_own_random_examples(attention):
    """The idxl task's evaluation examples (64 symbols), read where the pipeline reads them."""
    n = 24
    c = theorem1.build(n, 48, attention=attention)
    task = IndexLookup(n)
    batch = task.sample(600, torch.Generator().manual_seed(5), train=False)
    with torch.no_grad():
        logits = c.model(batch.inputs)
    assert task.correct(logits, batch).all()


@pytest.mark.parametrize("attention", ["softmax", "hard", "linear"])
def test_last_position_path_matches_the_full_forward_pass(attention):
    n, k = 30, 16
    c = theorem1.build(n, k, attention=attention, seed=2)
    # hard attention splits exact ties (duplicate position vectors) by rounding, which the two
    # paths do in different orders: this draw has none
    assert (
        orthogonal.max_offdiag(orthogonal.signs(n + 1, k, orthogonal.derived_seed("positions", 2)))
        < 1
    )
    data = theorem1.eval_set(n, 90, seed=4)
    fast, overflow = theorem1.last_logits(c.model, data.strings, data.indices)
    assert not overflow
    for r, string in enumerate(data.strings):
        index_tokens = 64 + data.indices[r]
        inputs = torch.cat([string.repeat(len(index_tokens), 1), index_tokens[:, None]], dim=1)
        with torch.no_grad():
            full = c.model(inputs)[:, -1]
        torch.testing.assert_close(fast[r], full, rtol=1e-9, atol=1e-9)


def test_theorem_eta_puts_three_quarters_on_the_target():
    for n in (10, 1000, 10**6):
        eta = theorem1.theorem_eta(n)
        assert 1 / (1 + n * math.exp(-eta / 2)) == pytest.approx(0.75)


def test_lemma2_width_gives_100_percent_at_the_theorems_eta():
    n = 64
    position_seed = orthogonal.derived_seed("positions", 0)
    k = orthogonal.smallest_width(n + 1, 0.25, seed=position_seed).k
    c = theorem1.build(n, k, seed=0)
    assert orthogonal.max_offdiag(orthogonal.signs(n + 1, k, position_seed)) <= 0.25
    result = theorem1.evaluate(c, theorem1.eval_set(n, 640, seed=1))
    assert result.correct == result.examples == 640 and not result.overflow


def test_eval_set_is_exhaustive_over_the_index_at_small_n():
    data = theorem1.eval_set(16, 100, seed=0)
    assert len(data) == 112 and (data.indices == torch.arange(1, 17)).all()
    assert data.targets().min() >= 0 and data.targets().max() < 64
    big = theorem1.eval_set(5000, 2048, seed=0)
    assert big.indices.shape == (2, 1024)
    assert all(len(set(row.tolist())) == 1024 for row in big.indices)


# -- precision -----------------------------------------------------------------------------------


def test_round_mantissa_keeps_k_bits():
    x = torch.tensor([1.0, 1.25, 1.75, -3.0, 0.0, 1.375, math.inf, -math.inf]).double()
    out = prec.round_mantissa(x, 2)  # 3 significant bits: 1.00b, 1.01b, 1.10b, 1.11b
    assert out[:5].tolist() == [1.0, 1.25, 1.75, -3.0, 0.0]
    assert out[5].item() == 1.5  # 1.011b is halfway: ties to even, 1.10b
    assert prec.round_mantissa(x, 1)[1].item() == 1.0  # 1.01b -> 1.0b (tie, even)
    assert prec.round_mantissa(x, 3)[5].item() == 1.375
    assert out[6].item() == math.inf and out[7].item() == -math.inf
    # float16 and bfloat16 as independent references, rounding once from float32 (a float64 input
    # would be rounded twice, through float32, and can land on a false tie), in float16's normal
    # range (its subnormals have fewer bits; round_mantissa keeps float64's exponents)
    y32 = torch.randn(100_000, generator=torch.Generator().manual_seed(0))
    y32 = y32[y32.abs() >= 2.0**-14]
    y = y32.double()
    assert torch.equal(prec.round_mantissa(y, 10), y32.half().double())  # float16's grid
    assert torch.equal(prec.round_mantissa(y, 7), y32.bfloat16().double())  # bfloat16's grid


def test_rounding_mode_rounds_results_of_operations():
    a = torch.tensor([1.0], dtype=torch.float64)
    with prec.RoundActivations(2):
        b = a / 3  # 1.0101...b × 2^-2 -> 1.01b × 2^-2 = 0.3125
        c = torch.softmax(torch.tensor([0.0, 1.0], dtype=torch.float64), -1)
    assert b.item() == 0.3125
    assert torch.equal(
        c, prec.round_mantissa(torch.softmax(torch.tensor([0.0, 1.0]).double(), -1), 2)
    )


def test_precisions_evaluate_and_float16_flags_a_huge_eta_as_overflow():
    n = 32
    data = theorem1.eval_set(n, 256, seed=0)
    c = theorem1.build(n, 32)
    for name in ("float64", "float32", "bfloat16", "float16", "bits10", "bits4"):
        result = theorem1.evaluate(c, data, name)
        assert result.correct == result.examples and not result.overflow, name
    huge = theorem1.build(n, 32, eta=1e6)
    assert theorem1.evaluate(huge, data, "float64").accuracy == 1.0
    flagged = theorem1.evaluate(huge, data, "float16")
    assert flagged.overflow and flagged.accuracy < 1.0  # a result, not a crash
    assert theorem1.evaluate(huge, data, "bfloat16").overflow is False
    # the construction's own float64 weights survive evaluation at other precisions
    assert c.model.encoder.weight.dtype == torch.float64
    assert theorem1.evaluate(c, data, "float64").accuracy == 1.0


def test_rounding_reaches_the_logits_and_52_bits_is_float64():
    c = theorem1.build(20, 12)
    data = theorem1.eval_set(20, 40, seed=0)
    exact, _ = theorem1.last_logits(c.model, data.strings, data.indices)
    with torch.no_grad(), prec.arithmetic("bits52"):
        same, _ = theorem1.last_logits(c.model, data.strings, data.indices)
    model = prec.prepare(theorem1.build(20, 12).model, "bits1")
    with torch.no_grad(), prec.arithmetic("bits1"):
        rounded, _ = theorem1.last_logits(model, data.strings, data.indices)
    assert torch.equal(same, exact)
    assert not torch.equal(rounded, exact)
    assert torch.equal(rounded, prec.round_mantissa(rounded, 1))


# -- the sweep -----------------------------------------------------------------------------------


@pytest.fixture
def block():
    with open(ROOT / "config.yaml") as f:
        return yaml.safe_load(f)["constructions"]


def small(block):
    out = json.loads(json.dumps(block))
    out["orthogonality"]["lengths"] = [10, 40]
    out["index_lookup"].update({"lengths": [8, 16], "examples": 64})
    out["index_lookup"]["precision"].update(
        {"precisions": ["float64", "float16", "bits2"], "eta": [1.0, 1.0e5]}
    )
    return out


def test_committed_block_is_valid_and_reaches_the_required_ranges(block):
    sweep.validate(block)
    assert min(block["orthogonality"]["lengths"]) <= 10
    assert max(block["orthogonality"]["lengths"]) >= 10**5
    assert max(block["index_lookup"]["lengths"]) >= 10**4


@pytest.mark.parametrize(
    "path, value, fragment",
    [
        (("alphabet",), 1, "constructions.alphabet"),
        (("index_lookup", "precision", "precisions"), ["float8"], "precisions.0"),
        (("index_lookup", "precision", "precisions"), ["bits99"], "bits must be in 1..52"),
        (("index_lookup", "searches"), [{"attention": "sparse", "eta": 1}], "searches.0"),
        (("orthogonality", "lengths"), [1], "orthogonality.lengths.0"),
    ],
)
def test_bad_blocks_are_rejected_naming_the_key(block, path, value, fragment):
    node = block
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(sweep.ConstructionsConfigError, match=fragment.replace(".", r"\.")):
        sweep.validate(block)


@pytest.fixture(scope="module")
def small_table(tmp_path_factory):
    """The committed block reduced to seconds, run job by job through the CLI, aggregated."""
    with open(ROOT / "config.yaml") as f:
        cfg = small(yaml.safe_load(f)["constructions"])
    tmp_path = tmp_path_factory.mktemp("constructions")
    paths = []
    for job in sweep.jobs(cfg):
        study, n = job.split("/N")
        path = tmp_path / f"{study}-{n}.parquet"
        assert sweep.main(["run", "--study", study, "--length", n, "--config", json.dumps(cfg),
                           "--out", str(path)]) == 0  # fmt: skip
        paths.append(str(path))
    out = tmp_path / "metrics.parquet"
    assert sweep.main(["aggregate", "--out", str(out), *paths]) == 0
    return cfg, out


def test_sweep_jobs_write_the_declared_schema_and_aggregate(small_table):
    cfg, out = small_table
    df = sweep.read(out).to_pandas()
    assert set(df["study"]) == {"orthogonality", "width", "lemma_width", "precision"}
    assert df["git_commit"].notna().all() and df["config_hash"].nunique() == 1
    widths = df[(df["study"] == "width") & df["selected"]]
    assert set(widths["length"]) == {8, 16}
    assert (df.loc[df["study"] == "lemma_width", "accuracy"].groupby(
        df["attention"]).min()[["softmax", "hard"]] == 1.0).all()  # fmt: skip
    eta = df[(df["search"] == "eta") & (df["eta"] == 1.0e5)]
    assert eta.set_index("precision").loc["float16", "overflow"].all()
    with pytest.raises(sweep.ConstructionsConfigError, match="not in constructions"):
        sweep.run(cfg, "orthogonality", 11)


def test_claims_and_figures_are_computed_from_the_table(small_table, tmp_path):
    from separations.claims import CONSISTENT, NOT_TESTED, evaluate
    from separations.claims.constructions import CLAIMS
    from separations.figures import (
        constructions_attention,
        constructions_precision,
        constructions_width,
    )

    _, out = small_table
    table = {"constructions": sweep.read(out).to_pandas()}
    for claim in CLAIMS:
        verdict = claim.check(table)
        assert verdict.verdict != NOT_TESTED and verdict.numbers, claim.id
    assert CLAIMS[0].check(table).verdict == CONSISTENT  # 100% at N = 8 and 16, small k
    missing = dict(evaluate({}))  # no constructions table: not tested, no crash
    assert all(missing[c].verdict == NOT_TESTED for c in CLAIMS)
    for module in (constructions_width, constructions_precision, constructions_attention):
        figure = tmp_path / f"{module.__name__}.pdf"
        args = ["--input", f"constructions={out}", "--out", str(figure)]
        assert module.cli(module.draw, None, args) == 0 and figure.stat().st_size > 1000
