"""Associative recall (paper 2's P2-RETR): the hybrid family, the `recall` sweep's matched sizes,
the claim on synthetic tables, and the figure."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
import yaml
from conftest import ROOT
from test_claims import cell_rows, table

from separations import config as sweep_config
from separations.claims import INCONCLUSIVE, NOT_REPRODUCED, NOT_TESTED, REPRODUCED, evaluate
from separations.families import FAMILIES
from separations.models import build_model, count_parameters
from separations.models.hybrid import Hybrid
from separations.tasks import build_task

#: the largest relative difference in trainable parameters between matched shapes
TOLERANCE = 0.15

# ---------------------------------------------------------------- the hybrid family


def test_hybrid_is_registered_as_an_attention_model():
    family = FAMILIES["hybrid"]
    assert family.backbone_class() is Hybrid
    assert family.uses_heads and not family.recurrent and family.short == "Hybrid"


def test_hybrid_shapes_and_causality():
    torch.manual_seed(0)
    backbone = Hybrid(width=16, depth=2, heads=4, max_len=12).eval()
    x = torch.randn(3, 12, 16)
    y = backbone(x)
    assert y.shape == (3, 12, 16) and torch.isfinite(y).all()
    assert len(backbone.layers) == 2
    changed = x.clone()
    changed[:, 7:] = torch.randn(3, 5, 16)  # later tokens change
    with torch.no_grad():
        y2 = backbone(changed)
    torch.testing.assert_close(y2[:, :7], y[:, :7])  # positions before 7 do not see them
    assert not torch.allclose(y2[:, 7:], y[:, 7:])


def test_hybrid_trains_on_mqar():
    torch.manual_seed(0)
    task = build_task("mqar", 4, {"keys": 8, "values": 8})
    model = build_model("hybrid", task, depth=1, width=16, heads=2)
    assert model(task.sample(2, torch.Generator().manual_seed(0), train=True).inputs).shape[-1] == 8
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(1)
    fixed = task.sample(64, torch.Generator().manual_seed(2), train=False)
    first = task.loss(model(fixed.inputs), fixed).item()
    for _ in range(30):
        batch = task.sample(64, generator, train=True)
        loss = task.loss(model(batch.inputs), batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert task.loss(model(fixed.inputs), fixed).item() < first


# ---------------------------------------------------------------- matched sizes


def recall_shapes(config: dict, sweep: str = "recall") -> list[tuple]:
    """(model, depth, width, heads, N, trainable parameters) of every job of ``sweep``, each built
    with its real task (vocabulary, outputs and length)."""
    out = []
    for spec in sweep_config.job_specs(config, sweep).values():
        task = build_task(spec.task, spec.length, spec.task_params)
        model = build_model(spec.model, task, depth=spec.depth, width=spec.width, heads=spec.heads)
        shape = (spec.model, spec.depth, spec.width, spec.heads)
        out.append((*shape, spec.length, count_parameters(model)))
    return out


def unmatched(shapes, tolerance: float = TOLERANCE) -> list[str]:
    """Cells with a family in the sweep that has no shape at the same N within ``tolerance``."""
    families = {s[0] for s in shapes}
    problems = []
    for model, depth, width, _heads, length, n in shapes:
        for other in sorted(families - {model}):
            theirs = [s[5] for s in shapes if s[0] == other and s[4] == length]
            if not any(abs(m - n) <= tolerance * n for m in theirs):
                problems.append(
                    f"{model}-d{depth}-w{width} at N={length} ({n:,} parameters): no {other} "
                    f"within {tolerance:.0%} (has {', '.join(f'{m:,}' for m in theirs) or 'none'})"
                )
    return problems


@pytest.fixture(scope="module")
def config():
    return sweep_config.load(ROOT / "config.yaml")


def test_recall_sweep_sizes_are_matched(config):
    shapes = recall_shapes(config)
    assert {s[0] for s in shapes} == {"transformer", "mamba", "hybrid"}
    assert len({s[4] for s in shapes}) >= 3, "at least three numbers of pairs"
    assert unmatched(shapes) == []


def test_size_check_can_fail(config):
    """The check above catches a shape that is twice another's size."""
    shapes = recall_shapes(config)
    model, depth, width, heads, length, n = next(s for s in shapes if s[0] == "mamba")
    grown = [s for s in shapes if s[0] != "mamba"] + [(model, depth, width, heads, length, 2 * n)]
    assert any(p.startswith("mamba") for p in unmatched(grown))
    assert any(p.startswith("transformer") and "no mamba" in p for p in unmatched(grown))


def test_recall_sweep_protocol(config):
    specs = list(sweep_config.job_specs(config, "recall").values())
    assert {s.max_steps for s in specs} == {specs[0].max_steps}, "one step cap"
    for spec in specs:
        assert len(spec.learning_rates) >= 3 and len(spec.seeds) >= 3
        assert spec.pruning and spec.threshold == config["verdicts"]["near_perfect"]["paper2"]
    assert config["results"]["recall"] == "results/recall/metrics.parquet"
    assert config["figures"]["recall_accuracy"] == ["recall"]


# ---------------------------------------------------------------- the claim, on synthetic tables

SIZES = {
    "transformer": (2, 32, 4, 36000),
    "mamba": (3, 32, None, 36000),
    "hybrid": (1, 36, 4, 35000),
}


def mqar_cell(model, length, acc, **kw):
    depth, width, heads, params = SIZES[model]
    rows = cell_rows("mqar", model, depth, width, length, acc, heads=heads, **kw)
    for row in rows:
        row["n_params"] = params
        row["threshold"] = 0.95
        row["chance"] = (1 / 64) ** length  # MQAR over 64 values: every answer right
    return rows


def recall_verdict(*parts):
    results = {"metrics": table(mqar_cell("transformer", 4, 1.0)), "recall": table(*parts)}
    out = {claim.id: verdict for claim, verdict in evaluate(results)}
    return out["P2-RETR"]


def sweep_of(tf: dict, mamba: dict, hybrid: dict, **kw):
    return [
        rows
        for model, accs in (("transformer", tf), ("mamba", mamba), ("hybrid", hybrid))
        for n, acc in accs.items()
        for rows in [mqar_cell(model, n, acc, **kw)]
    ]


def test_recall_reproduced_when_mamba_breaks_and_the_others_hold():
    verdict = recall_verdict(
        *sweep_of({4: 1.0, 8: 1.0, 16: 1.0}, {4: 1.0, 8: 0.07, 16: 0.06}, {4: 1.0, 8: 1.0, 16: 1.0})
    )
    assert verdict.verdict == REPRODUCED, verdict.reason
    assert verdict.numbers["largest-n"] == "16" and verdict.numbers["values"] == "64"
    assert verdict.numbers["size0-mamba-fails-from"] == "8"
    assert verdict.numbers["acc-mamba-d3-w32-N16"] == "6.0\\%"
    assert verdict.numbers["params-hybrid-d1-w36-N8"] == "35,000"
    assert verdict.numbers["threshold"] == "95.0\\%"
    assert "context (Mamba solved)" in verdict.ours and "N = 4" in verdict.ours


def test_recall_not_reproduced_when_mamba_solves_every_n():
    verdict = recall_verdict(
        *sweep_of({4: 1.0, 8: 1.0, 16: 1.0}, {4: 1.0, 8: 1.0, 16: 1.0}, {4: 1.0, 8: 1.0, 16: 1.0})
    )
    assert verdict.verdict == NOT_REPRODUCED
    assert "solved too" in verdict.reason
    assert verdict.numbers["size0-mamba-fails-from"] == "none"


def test_recall_inconclusive_when_the_transformer_fails():
    verdict = recall_verdict(
        *sweep_of({4: 1.0, 8: 0.1, 16: 0.0}, {4: 1.0, 8: 0.06, 16: 0.06}, {4: 1.0, 8: 1.0, 16: 1.0})
    )
    assert verdict.verdict == INCONCLUSIVE
    assert "positive control" in verdict.reason


def test_recall_inconclusive_when_the_hybrid_fails_where_mamba_does():
    verdict = recall_verdict(
        *sweep_of(
            {4: 1.0, 8: 1.0, 16: 1.0}, {4: 1.0, 8: 0.06, 16: 0.06}, {4: 1.0, 8: 0.06, 16: 0.06}
        )
    )
    assert verdict.verdict == INCONCLUSIVE
    assert "Hybrid-(1, 36)" in verdict.reason


def test_recall_inconclusive_when_the_protocol_is_not_met():
    verdict = recall_verdict(
        *sweep_of({8: 1.0, 16: 1.0}, {8: 0.06, 16: 0.06}, {8: 1.0, 16: 1.0}, seeds=(0,))
    )
    assert verdict.verdict == INCONCLUSIVE
    assert "protocol not met" in verdict.reason


def test_recall_not_tested_without_its_table():
    results = {"metrics": table(mqar_cell("transformer", 4, 1.0))}
    out = {claim.id: verdict for claim, verdict in evaluate(results)}
    assert out["P2-RETR"].verdict == NOT_TESTED


# ---------------------------------------------------------------- the figure


def test_recall_figure_draws_every_family_with_its_size():
    import matplotlib.pyplot as plt
    import matplotlib.text

    from separations.figures import recall_accuracy

    df = table(
        *sweep_of({4: 1.0, 8: 1.0, 16: 1.0}, {4: 1.0, 8: 0.07, 16: 0.06}, {4: 1.0, 8: 1.0, 16: 1.0})
    )
    fig = recall_accuracy.draw({"recall": df})
    texts = "\n".join(t.get_text() for t in fig.findobj(matplotlib.text.Text))
    for label in ("TF-(2, 32), 36k params", "Mamba-(3, 32)", "Hybrid-(1, 36), 35k params"):
        assert label in texts
    plt.close(fig)
    empty = recall_accuracy.draw({"recall": pd.DataFrame(columns=df.columns)})
    assert "no associative-recall" in "\n".join(
        t.get_text() for t in empty.findobj(matplotlib.text.Text)
    )
    plt.close(empty)


def test_config_file_parses():
    assert "recall" in yaml.safe_load((ROOT / "config.yaml").read_text())["sweeps"]
