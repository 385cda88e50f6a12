"""A new paper-2 language-model family from one module and one registry line (docs/extending.md,
"A new paper-2 language-model family").

In a copy of the workflow, an LSTM language model is added as one new module,
``src/separations/models/lstm_lm.py``, and one line of ``families.LM_FAMILIES``; the config names
it (a shape in ``istree.sizes``, its learning rates, a cell of the ``ci`` IsTree sweep). Then the
IsTree sweep trains it, and it shows in the aggregated table and, under its label, in the IsTree
figure. No other file changes: the config validation, the job specs, the model builder, the
wildcard constraints, the figure's families and labels and the cost model read the registry.
"""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
import torch
import yaml
from conftest import copy_workflow, snakemake

from separations.tasks.istree.vocab import Vocab

#: the whole new family: a body with a recurrent state for generation
MODULE = '''"""An LSTM language model's body (a test's new paper-2 family)."""

from torch import nn


class LSTMBody(nn.Module):
    def __init__(self, shape, max_len):
        super().__init__()
        self.lstm = nn.LSTM(shape.width, shape.width, num_layers=shape.depth, batch_first=True)

    def forward(self, x):
        return self.lstm(x)[0]

    def new_state(self, batch, like):
        return {"hc": None}

    def step(self, x, state):
        out, state["hc"] = self.lstm(x[:, None], state["hc"])
        return out[:, 0]


def lstm_body(shape, max_len):
    return LSTMBody(shape, max_len)
'''
#: its registry line: name, body, label, attention, ssm, FLOPs formula
LINE = '    LMFamily("lstm-lm",     "lstm_lm:lstm_body", "LSTM LM",   False, False, "lstm"),\n'
ANCHOR = '    LMFamily("hybrid",'


@pytest.mark.slow
def test_a_new_lm_family_from_one_module_and_one_registry_line(tmp_path, monkeypatch):
    wf = copy_workflow(tmp_path / "wf")
    package = wf / "src" / "separations"
    (package / "models" / "lstm_lm.py").write_text(MODULE)
    registry = package / "families.py"
    lines = registry.read_text().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith(ANCHOR))
    registry.write_text("".join([*lines[: at + 1], LINE, *lines[at + 1 :]]))

    config = yaml.safe_load((wf / "config.yaml").read_text())
    istree = config["istree"]
    istree["sizes"]["tiny"]["lstm-lm"] = {"width": 16, "depth": 1}
    istree["training"]["learning_rates"]["lstm-lm"] = [1e-3]
    istree["sweeps"]["ci"]["grid"] = [
        {"family": ["lstm-lm", "mamba"], "format": ["cot"], "size": ["tiny"], "n": [4]}
    ]
    (wf / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    # the copy's package, with the new family, in Snakemake and in every job it starts
    monkeypatch.setenv("PYTHONPATH", str(wf / "src"))

    snakemake(wf, "--cores", "2", "--config", "sweep=ci", "--", "results/ci/istree.parquet")
    table = pd.read_parquet(wf / "results/ci/istree.parquet")
    lstm = table[table["family"] == "lstm-lm"]
    assert set(table["family"]) == {"lstm-lm", "mamba"} and lstm["final"].any()
    assert lstm.loc[lstm["final"], "test_gen_acc"].between(0, 1).all()
    assert lstm["ffn"].isna().all() and lstm["d_state"].isna().all()  # registry: no attention, ssm
    # the model trained is the new body: a learned embedding (the tied head) and one LSTM layer
    lstm_params = sum(p.numel() for p in torch.nn.LSTM(16, 16).parameters())
    assert set(lstm["n_params"]) == {len(Vocab(4)) * 16 + lstm_params}

    # the IsTree figure, drawn by the copy's code: the family under its label
    draw = (
        "import matplotlib.text, sys\n"
        "from separations.figures import istree_accuracy as f\n"
        "from separations.results import load_results\n"
        "fig = f.draw(load_results([sys.argv[1]]))\n"
        "print('\\n'.join(t.get_text() for t in fig.findobj(matplotlib.text.Text)))\n"
    )
    texts = subprocess.run(
        [sys.executable, "-c", draw, f"istree={wf / 'results/ci/istree.parquet'}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "LSTM LM (" in texts and "Mamba (" in texts, texts
