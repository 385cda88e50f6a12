"""Same numbers after a refactor: committed cells rerun bit for bit from today's code.

A run is a pure function of its config and seed on one machine kind (CPU model, instruction set,
threads); on another the floating-point reductions differ (docs/design.md, "Determinism"). So the
check runs where the committed table was made and is skipped, saying why, everywhere else.
"""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from conftest import ROOT

from separations import config as sweep_config
from separations import critical_width as cw
from separations.data import generate, generate_disjoint, to_table
from separations.results import PROVENANCE_FIELDS, cpu_model, write_table
from separations.train import train_job

#: columns that say where and when a row was made, not what it measured (the config hash stays:
#: a refactor must not change it)
WHERE_AND_WHEN = {name for name, _ in PROVENANCE_FIELDS if name != "config_hash"} | {
    "wall_time",
    "cpu_model",
    "cpu_capability",
}


def same_machine_kind(rows: pd.DataFrame) -> None:
    here = (cpu_model(), torch.backends.cpu.get_cpu_capability())
    made = (rows["cpu_model"].iloc[0], rows["cpu_capability"].iloc[0])
    if here != made:
        pytest.skip(f"committed on {made}, this machine is {here}: bit-identity is not expected")


def test_a_committed_critical_width_cell_reruns_bit_for_bit(tmp_path):
    """One width of the committed cpu critical-width study (the one-layer Transformer at N = 6,
    width 8: nine runs, seconds), trained again from this commit's code and config."""
    model, length, width = "transformer", 6, 8
    committed = pd.read_parquet(ROOT / "results/cpu/critical_width.parquet")
    rows = committed[
        (committed["model"] == model)
        & (committed["length"] == length)
        & (committed["width"] == width)
    ]
    assert len(rows), "the committed study lost the cell this test reruns"
    same_machine_kind(rows)
    torch.set_num_threads(int(rows["threads"].iloc[0]))
    spec = cw.study_jobs(sweep_config.load(ROOT / "config.yaml"), "cpu")[f"{model}/N{length}"]
    wspec = cw.width_spec(spec, width)
    params, seed = wspec.task_params, wspec.data_seed
    task, val = generate("idxl", length, wspec.eval_size, seed, params=params)
    _, test = generate_disjoint("idxl", length, wspec.test_size, seed + 1, val, params=params)
    write_table(to_table(task, val, seed=seed, train=False), tmp_path / "validation.parquet")
    write_table(to_table(task, test, seed=seed + 1, train=False), tmp_path / "test.parquet")
    out = tmp_path / "metrics.parquet"
    train_job(
        wspec, tmp_path / "validation.parquet", out, test=tmp_path / "test.parquet", threads=1
    )
    keys = ["lr", "seed", "step"]
    columns = [c for c in rows.columns if c not in WHERE_AND_WHEN]
    got = pd.read_parquet(out)[columns].sort_values(keys).reset_index(drop=True)
    want = rows[columns].sort_values(keys).reset_index(drop=True)
    # the aggregated table widens nullable integers (heads: NaN for recurrent families) to floats
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
