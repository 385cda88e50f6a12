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
from separations.data import main as data_main
from separations.istree import schema as istree_schema
from separations.istree import sweeps as istree_sweeps
from separations.istree import train as istree_train
from separations.results import PROVENANCE_FIELDS, cpu_model, write_table
from separations.runner import StopFlag, read_eval_set
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


@pytest.mark.parametrize("family", ["transformer", "mamba", "hybrid"])
def test_a_committed_istree_run_reruns_its_first_evaluations(tmp_path, family):
    """Paper 2: the first 200 steps of one committed cpu_small run of each family (13k, with CoT
    at n = 6, learning rate 1e-3, seed 0: its rows at steps 0, 100 and 200, all before the
    pruning rung at 300), trained again from this commit's code and config.

    The IsTree table does not record the machine kind, so this compares to 1e-5 (a refactor that
    changes the data, the schedule or the loss moves these numbers by far more); on the machine
    kind that made the table it is exact (checked when this test was written)."""
    job, lr, seed, until = f"cot/{family}/13k/n6", 0.001, 0, 200
    committed = istree_schema.read(ROOT / "results/cpu_small/istree.parquet").to_pandas()
    rows = committed[
        (committed["job"] == job)
        & (committed["lr"] == lr)
        & (committed["seed"] == seed)
        & (committed["step"] <= until)
    ]
    assert list(rows["step"]) == [0, 100, 200], "the committed table lost the rows this reruns"
    config = sweep_config.load(ROOT / "config.yaml")
    spec = istree_sweeps.job_specs(config["istree"], "cpu_small")[job]
    assert spec.config_hash == rows["config_hash"].iloc[0], "the job's config changed"
    sets = istree_sweeps.eval_sets({job: spec})[f"{spec.format}/n{spec.n}"]
    val, test = tmp_path / "validation.parquet", tmp_path / "test.parquet"
    # the two data rules' commands (workflow/rules/istree.smk)
    common = ["istree", "--length", str(spec.n), "--params", sets["params"]]
    for count, data_seed, out, extra in (
        (sets["count"], sets["seed"], val, []),
        (sets["test_count"], sets["test_seed"], test, ["--exclude", str(val)]),
    ):
        args = ["--count", str(count), "--seed", str(data_seed), "--out", str(out), *extra]
        assert data_main([*common, *args]) == 0
    torch.set_num_threads(1)
    trainer = istree_train.TRAINER
    run = trainer.run_type(
        spec, trainer.task_of(spec), lr, seed, torch.device("cpu"), tmp_path, StopFlag()
    )
    got = pd.DataFrame(run.train(read_eval_set(val, spec), read_eval_set(test, spec), until=until))
    columns = ["step", "examples", "train_loss", "val_loss", "tf_exact", "n_params", "config_hash"]
    pd.testing.assert_frame_equal(
        got[columns].reset_index(drop=True),
        rows[columns].reset_index(drop=True),
        check_dtype=False,
        rtol=1e-5,
    )
