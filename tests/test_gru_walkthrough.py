"""A new architecture's whole scorecard from one file (docs/extending.md, "A new model family").

The GRU family is ``src/separations/models/gru.py`` plus one line of the model registry. Here a
copy of the workflow whose *config only* asks for GRUs (the ``ci`` sweep's grid and the ``ci``
critical-width study) trains them, and the GRU shows up in the aggregated metrics, in every
paper-1 figure that shows model families, in the critical-width summary and in the scorecard.
The other tests check that what the rest of the pipeline knows about a family comes from the
registry (labels, size model, order) and that the workflow's name patterns admit every family.
"""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import matplotlib.pyplot as plt
import matplotlib.text
import pytest
import torch
import yaml
from conftest import ROOT, snakemake

from separations import critical_width as cw
from separations import report, resources
from separations.models import FAMILIES
from separations.models.gru import GRU
from separations.results import load_results
from separations.summary import load, model_label, short_label

#: paper-1 figures whose rows, lines or legend entries are the model families of the results
FAMILY_FIGURES = [
    "idxl_heatmap",
    "idxl_curves",
    "dyck_heatmap",
    "dyck_curves",
    "equality",
    "critical_width",
]
#: figures that read the training metrics but show fixed families by design: Fig. 3 is the
#: 2-layer Mamba width sweep; the constructions figure draws the trained Transformers' widths
FIXED_FAMILY_FIGURES = {"mamba_width", "constructions_width"}
#: the GRU cells the copied config asks for: Index Lookup beside the ci sweep's LSTM, and one cell
#: on each other task of paper 1's figures (the ci sweep has Index Lookup only), trained briefly
OTHER_TASKS = {
    "task": ["dyck", "eq-random"],
    "model": ["gru"],
    "depth": [1],
    "width": [8],
    "training": {"learning_rates": [1.0e-3], "seeds": [0], "max_steps": 10, "eval_every": 5},
}


def figure_texts(fig) -> str:
    """Every text of a figure: titles, tick labels, legend entries, annotations."""
    return "\n".join(t.get_text() for t in fig.findobj(matplotlib.text.Text))


def test_the_registry_is_where_a_family_is_described():
    gru = FAMILIES["gru"]
    assert gru.recurrent and not gru.uses_heads
    assert short_label("gru") == "GRU" and model_label("gru", 1, 16) == "GRU-(1, 16)"
    assert short_label("not-a-family") == "not-a-family"
    assert [short_label(f) for f in ["transformer", "lstm", "linear"]] == ["TF", "LSTM", "LinTF"]
    spec = {"task": "idxl", "length": 50, "depth": 2, "width": 64, "heads": None}
    spec["task_params"] = {}
    size = {
        m: resources.parameters(SimpleNamespace(**spec, model=m)) for m in ("gru", "lstm", "mamba")
    }
    # three gates against the LSTM's four; the attention-like families' 12 w^2 per layer
    assert size["gru"] < size["lstm"] < size["mamba"]
    assert size["lstm"] - size["gru"] == 2 * 2 * 64 * 64
    for name, family in FAMILIES.items():
        assert isinstance(family.backbone_class(), type), name
        assert family.layer_params > 0 and family.short, name


def test_gru_backbone_is_the_gru_recurrence():
    """The backbone against a step-by-step ``nn.GRUCell`` recurrence, layer by layer (float64)."""
    torch.manual_seed(0)
    backbone = GRU(width=6, depth=2, heads=1, max_len=9).double()
    x = torch.randn(3, 9, 6, dtype=torch.float64)
    layer_input = x
    for layer in range(2):
        cell = torch.nn.GRUCell(6, 6).double()
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).data.copy_(getattr(backbone.gru, f"{name}_l{layer}"))
        h = torch.zeros(3, 6, dtype=torch.float64)
        steps = []
        for t in range(layer_input.shape[1]):
            h = cell(layer_input[:, t], h)
            steps.append(h)
        layer_input = torch.stack(steps, dim=1)
    torch.testing.assert_close(backbone(x), layer_input)


def test_family_names_fit_the_workflow_patterns():
    """The rules' ``model`` wildcard and the schema's family names admit every registered
    family (the config validation checks names against the registry itself)."""
    common = (ROOT / "workflow/rules/common.smk").read_text()
    wildcard = re.search(r'^\s*model=r"([^"]+)"', common, re.M).group(1)
    schema = json.loads((ROOT / "src/separations/schemas/config.schema.json").read_text())
    families = schema["definitions"]["critical_width_study"]["properties"]["families"]
    pattern = families["propertyNames"]["pattern"]
    for name in FAMILIES:
        assert re.fullmatch(wildcard, name), (name, wildcard)
        assert re.search(pattern, name), (name, pattern)


def test_every_family_figure_is_classified(config):
    """A new figure that reads the training metrics is either checked below for the GRU or
    listed as showing fixed families."""
    reading_metrics = {name for name, inputs in config["figures"].items() if "metrics" in inputs}
    assert reading_metrics <= set(FAMILY_FIGURES) | FIXED_FAMILY_FIGURES


@pytest.mark.slow
def test_gru_from_one_module_and_one_registry_line(workflow_copy):
    path = workflow_copy / "config.yaml"
    config = yaml.safe_load(path.read_text())
    ci = config["sweeps"]["ci"]
    lstm = next(b for b in ci["grid"] if b["model"] == ["lstm"])
    ci["grid"].append({**lstm, "model": ["gru"]})
    ci["grid"].append({**OTHER_TASKS, "length": lstm["length"]})
    config["critical_width"]["ci"]["families"]["gru"] = {"depth": 1}
    path.write_text(yaml.safe_dump(config, sort_keys=False))

    snakemake(
        workflow_copy,
        "--cores",
        "2",
        "--config",
        "sweep=ci",
        "--",
        "results/ci/metrics.parquet",
        "results/ci/critical_width.parquet",
    )
    metrics_path = workflow_copy / "results/ci/metrics.parquet"
    study_path = workflow_copy / "results/ci/critical_width.parquet"

    # the aggregated metrics table
    metrics = load(metrics_path)
    assert {"transformer", "lstm", "gru"} <= set(metrics["model"])
    assert set(metrics.loc[metrics["model"] == "gru", "task"]) == {"idxl", *OTHER_TASKS["task"]}

    # the critical-width summary
    summary = cw.summarize(load(study_path))
    assert set(summary["model"]) == {"transformer", "lstm", "gru"}
    assert len(summary[summary["model"] == "gru"]) == len(config["critical_width"]["ci"]["lengths"])

    # every paper-1 figure that shows model families, drawn as `snakemake figures` draws it
    results = load_results([f"metrics={metrics_path}", f"critical_width={study_path}"])
    for name in FAMILY_FIGURES:
        module = __import__(f"separations.figures.{name}", fromlist=["draw"])
        fig = module.draw(results)
        try:
            texts = figure_texts(fig)
        finally:
            plt.close(fig)
        label = "GRU-1 (" if name == "critical_width" else "GRU-(1, "
        assert label in texts, f"{name}: no GRU in\n{texts}"

    # the scorecard and the numbers the paper quotes
    out = workflow_copy / "generated"
    argv = ["--sweep", "ci", "--outdir", str(out)]
    argv += ["--input", f"metrics={metrics_path}", "--input", f"critical_width={study_path}"]
    assert report.main(argv) == 0
    claims = (out / "claims.tex").read_text()
    assert "GRU-(1, 16), N = 12" in claims  # P1-IDX-RNN lists every recurrent Index Lookup cell
    assert "GRU-(1, 8), N = 12" in claims  # P1-DYCK-RNN: every recurrent Dyck cell
    numbers = (out / "numbers.tex").read_text()
    assert "res@acc-idxl-gru-d1-w16-N12" in numbers
    assert "res@P1-WIDTH-SCALING-width-gru-N8" in numbers
