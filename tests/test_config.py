"""Bad configuration stops Snakemake before any job, with one message naming the key."""

from __future__ import annotations

import time

import pytest
import yaml
from conftest import DELETE, ROOT, mutate, planned_jobs, snakemake

from separations import config as sweep_config
from separations.istree import sweeps as istree_sweeps


def lstm_block(task: str, length: int) -> dict:
    """A grid block training ``task`` at one length (the cases below do not depend on which
    tasks the committed sweeps train)."""
    return {"task": [task], "model": ["lstm"], "depth": [1], "width": [16], "length": [length]}


BAD = [
    ("sweeps.cpu.grid.0.task", ["idxl", "sorting"], ["sweeps.cpu.grid[0].task", "sorting", "idxl"]),
    ("sweeps.cpu.grid.0.model", ["rwkv"], ["sweeps.cpu.grid[0].model", "rwkv", "lstm, "]),
    ("sweeps.cpu.grid.0.width", [-64], ["sweeps.cpu.grid[0].width[0]", "-64", "1..65536"]),
    ("training.learning_rates", ["fast"], ["training.learning_rates[0]", "fast"]),
    ("sweep", "nosuch", ["config key sweep", "nosuch", "ci, cpu"]),
    ("sweeps.cpu.grid.0.heads", [3], ["sweeps.cpu.grid[0].heads", "not divisible by heads 3"]),
    ("sweeps.cpu.grid.1.depth", [4], ["sweeps.cpu.grid[1].depth", "depth must be in 1..3"]),
    ("sweeps.cpu.grid.0.length", [5], ["sweeps.cpu.grid[0].length", "min_length"]),
    ("tasks.idxl.alphabet", 1000, ["config key tasks.idxl.alphabet", "got 1000", "2..64"]),
    ("sweeps.ci.grid.0", lstm_block("dyck", 41), ["sweeps.ci.grid[0].length", "dyck", "41 is odd"]),
    ("sweeps.ci.grid.0", lstm_block("nn", 1), ["sweeps.ci.grid[0].length", "nn", "too short"]),
    ("figures.idxl_heatmap", ["nosuch"], ["figures.idxl_heatmap", "nosuch"]),
]


def load_checked(config: dict) -> None:
    sweep_config.validate(config)


@pytest.mark.parametrize("path, value, expected", BAD, ids=[b[0] for b in BAD])
def test_bad_values_are_rejected_with_the_key_named(config, path, value, expected):
    with pytest.raises(sweep_config.ConfigError) as error:
        load_checked(mutate(config, path, value))
    for fragment in expected:
        assert fragment in str(error.value)


def test_missing_sweep_block_is_rejected(config):
    with pytest.raises(sweep_config.ConfigError, match="sweeps"):
        load_checked(mutate(config, "sweeps", DELETE))


def test_committed_config_is_valid(config):
    load_checked(config)


@pytest.mark.slow
@pytest.mark.parametrize("case", [0, 1, 3, 4], ids=[BAD[i][0] for i in (0, 1, 3, 4)])
def test_snakemake_stops_before_any_job_and_writes_nothing(workflow_copy, config, case):
    path, value, expected = BAD[case]
    (workflow_copy / "config.yaml").write_text(yaml.safe_dump(mutate(config, path, value)))
    before = {p for p in workflow_copy.rglob("*")}
    proc = snakemake(workflow_copy, "--cores", "1", check=False)
    assert proc.returncode != 0
    assert expected[-1] in proc.stdout, proc.stdout[-2000:]
    assert "Job stats" not in proc.stdout
    created = {p for p in workflow_copy.rglob("*")} - before
    assert not [p for p in created if ".snakemake" not in p.parts], created


def _result_paths(config) -> list[str]:
    """Every path template of config.yaml's `results` (a table may list several files)."""
    return [
        path
        for paths in config["results"].values()
        for path in ([paths] if isinstance(paths, str) else paths)
    ]


def _sweeps() -> tuple[list[str], dict[str, str]]:
    """(sweeps a paper can report, sweeps that feed one named table: table path by sweep). The
    `recall` sweep is the second kind: its table, results/recall/metrics.parquet, is read whatever
    the reported sweep, and other studies (critical width, IsTree) have no `recall` block; so is
    the IsTree sweep `cpu_small`, whose table is read with the reported sweep's IsTree table."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    names = set(config["sweeps"]) | set(config["istree"]["sweeps"])
    tables = {
        name: path
        for name in names
        for path in _result_paths(config)
        if path.startswith(f"results/{name}/")
    }
    return sorted(set(config["sweeps"]) - set(tables)), tables


@pytest.mark.slow
@pytest.mark.parametrize("sweep", _sweeps()[0])
def test_every_sweep_dry_runs_in_seconds(sweep):
    started = time.perf_counter()
    proc = snakemake(ROOT, "-n", "--quiet", "rules", "--config", f"sweep={sweep}")
    elapsed = time.perf_counter() - started
    jobs = planned_jobs(proc.stdout)
    expected = sweep_config.jobs(yaml.safe_load((ROOT / "config.yaml").read_text()), sweep)
    # every training job of the sweep is in the plan, unless its output already exists
    assert jobs.get("train", 0) <= len(expected)
    print(f"{sweep}: {jobs} in {elapsed:.1f} s")


@pytest.mark.slow
@pytest.mark.parametrize("sweep", sorted(_sweeps()[1]))
def test_a_table_sweep_dry_runs_through_its_table(sweep):
    """A sweep that feeds one named table (recall, cpu_small) plans through that table."""
    table = _sweeps()[1][sweep]
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    if sweep in config["sweeps"]:
        aggregate, train = "aggregate", "train"
        expected = len(sweep_config.jobs(config, sweep))
    else:  # an IsTree sweep
        aggregate, train = "istree_aggregate", "istree_train"
        expected = len(istree_sweeps.check(config["istree"])[sweep])
    proc = snakemake(ROOT, table, "-n", "--forcerun", aggregate, "--quiet", "rules")
    jobs = planned_jobs(proc.stdout)
    assert jobs.get(aggregate) == 1 and jobs.get(train, 0) <= expected


def test_paper_sweep_is_the_app_h_grid(config):
    table = sweep_config.jobs(config, "paper")
    idxl = table[table["task"] == "idxl"]
    tf = idxl[idxl["model"] == "transformer"]
    lstm = idxl[idxl["model"] == "lstm"]
    assert len(tf) == 4 * 4 * 2 * 5 and len(lstm) == 3 * 4 * 5
    assert set(tf["depth"]) == {1, 2, 4, 6} and set(lstm["depth"]) == {1, 2, 3}
    assert set(tf["width"]) == set(lstm["width"]) == {64, 128, 256, 512}
    assert set(idxl["length"]) == {20, 50, 75, 100, 200, 400}
    # Fig. 3: the 2-layer Mamba width sweep
    mamba2 = idxl[(idxl["model"] == "mamba") & (idxl["depth"] == 2)]
    assert {32, 64, 256, 512, 1024} <= set(mamba2["width"])
    # every task of paper 1 on every family; Eq-ncp to N = 800
    families = {"transformer", "lstm", "mamba", "dss", "retnet", "linear"}
    for task in ["idxl", "dyck", "eq-random", "eq-one", "eq-ncp", "nn", "mqar"]:
        assert set(table[table["task"] == task]["model"]) == families, task
    assert table[table["task"] == "eq-ncp"]["length"].max() == 800
    assert all(len(lrs) == 7 for lrs in idxl["learning_rates"])


def test_scale_sweep_goes_beyond_the_papers_ranges(config):
    table = sweep_config.jobs(config, "scale")
    assert table["length"].max() >= 3200 and table["width"].max() >= 2048
    families = {"transformer", "lstm", "mamba", "dss", "retnet", "linear"}
    for task in ["idxl", "dyck", "eq-random", "eq-one", "eq-ncp", "nn", "mqar"]:
        assert set(table[table["task"] == task]["model"]) == families, task
