"""What the SLURM profile would submit (dry runs: no cluster needed), and the resource estimates."""

from __future__ import annotations

import math
import re

import pytest
import yaml
from conftest import ROOT, copy_workflow, snakemake

from separations import config as sweep_config
from separations import resources


@pytest.fixture(scope="module")
def paper_jobs() -> dict[str, dict]:
    return sweep_config.job_specs(sweep_config.load(), "paper")


def test_estimates_grow_with_the_job(paper_jobs):
    def spec(**changes):
        base = paper_jobs["idxl/transformer/d1-w64-h4/N20"]
        return base.replace(**changes)

    base = resources.job_seconds(spec())
    assert resources.job_seconds(spec(depth=4)) > base
    assert resources.job_seconds(spec(width=256)) > base
    assert resources.job_seconds(spec(length=200)) > base
    assert resources.job_seconds(spec(max_steps=500000)) > base
    seeds = spec().seeds
    assert resources.job_seconds(spec(seeds=[*seeds, *(s + 100 for s in seeds)])) == pytest.approx(
        2 * base
    )
    # learning-rate pruning: 3 rates x 3 seeds halved at 1/4 and 1/2 is 5.25 run budgets, not 9
    three = spec(learning_rates=[1e-3, 3e-4, 1e-4], seeds=[0, 1, 2], pruning=None)
    pruned = three.replace(pruning={"rungs": [0.25, 0.5], "keep": 0.5})
    assert resources.runs(pruned) == pytest.approx(5.25) and resources.runs(three) == 9
    assert resources.job_seconds(spec(), "gpu") < base
    assert resources.mem_mb(spec(width=512, depth=6, length=400)) > resources.mem_mb(spec())
    lstm = paper_jobs["idxl/lstm/d1-w64/N20"]
    assert resources.job_seconds(lstm.replace(length=400)) > resources.job_seconds(lstm)


def test_runtime_grows_per_attempt_within_bounds(paper_jobs):
    spec = paper_jobs["idxl/lstm/d1-w64/N20"]
    minutes = [
        resources.runtime_minutes(spec, a, device="gpu", min_minutes=10, max_minutes=1000)
        for a in (1, 2, 3, 4, 5, 6)
    ]
    assert minutes[0] >= 10 and minutes == sorted(minutes) and minutes[-1] == 1000
    assert minutes[1] == 2 * minutes[0]
    tiny = sweep_config.job_specs(sweep_config.load(), "ci")["idxl/lstm/d1-w16/N12"]
    assert resources.runtime_minutes(tiny, 1, min_minutes=1, startup_minutes=0) == 1
    assert resources.runtime_minutes(tiny, 2, min_minutes=1, startup_minutes=0) == 2
    with pytest.raises(ValueError):
        resources.runtime_minutes(tiny, 0)


def slurm_copy(tmp_path, cluster: dict | None = None, sweep: str = "paper"):
    wf = copy_workflow(tmp_path / "wf")
    (wf / "slurm").symlink_to("profiles/slurm")
    config = yaml.safe_load((wf / "config.yaml").read_text())
    config["cluster"] = {**config["cluster"], **(cluster or {})}
    config["sweep"] = sweep
    (wf / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return wf


def submissions(output: str) -> tuple[int, list[str]]:
    """(SLURM jobs, resource lines of the training jobs) of a dry run's output."""
    lines = output.splitlines()
    bundles = sum("Group job train" in line for line in lines)
    alone = sum(line == "rule train:" for line in lines)
    train = [
        lines[i + j]
        for i, line in enumerate(lines)
        if line.strip() == "rule train:"
        for j in range(1, 12)
        if i + j < len(lines) and lines[i + j].strip().startswith("resources:")
    ]
    return bundles + alone, train


@pytest.mark.slow
def test_paper_sweep_on_gpus_is_a_few_hundred_bundles(tmp_path):
    site = {"partition": "gpu", "account": "proj", "gpus": 1, "gpu_model": "a100"}
    wf = slurm_copy(tmp_path, site)
    proc = snakemake(wf, "-n", "--profile", "slurm")
    assert "Using profiles slurm" in proc.stdout
    jobs, train = submissions(proc.stdout)
    config = sweep_config.load(wf / "config.yaml")
    # the paper sweep's jobs, and (no results in this copy) the recall sweep's, whose table the
    # paper reads whatever the reported sweep
    total = len(sweep_config.job_specs(config, "paper"))
    total += len(sweep_config.job_specs(config, "recall"))
    assert len(train) == total
    # every training job goes in a bundle of the profile's group size: a few hundred submissions
    group = yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())["group-components"]
    size = int(group[0].split("=")[1])
    assert math.ceil(total / size) <= jobs <= 400, jobs
    max_minutes = yaml.safe_load((ROOT / "config.yaml").read_text())["cluster"]["runtime"][
        "max_minutes"
    ]
    for line in train:
        assert "slurm_partition=gpu" in line and "slurm_account=proj" in line
        assert "gpu=1" in line and "gpu_model=a100" in line and "--signal=TERM@300" in line
        runtime = int(re.search(r"runtime=(\d+)", line).group(1))
        assert 10 <= runtime <= max_minutes
        assert int(re.search(r"mem_mb=(\d+)", line).group(1)) >= 1000
    # bigger models ask for more
    runtimes = sorted(int(re.search(r"runtime=(\d+)", line).group(1)) for line in train)
    assert runtimes[0] < runtimes[-1]


@pytest.mark.slow
def test_local_runs_ignore_the_cluster_block(tmp_path):
    wf = slurm_copy(tmp_path, {"partition": "gpu", "gpus": 1}, sweep="ci")
    proc = snakemake(wf, "-n", "--cores", "2")
    assert "Group job" not in proc.stdout and "rule train:" in proc.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    "cluster, message",
    [
        ({"gpu_model": "a100"}, "cluster.gpu_model"),
        ({"signal_seconds": 600}, "cluster.signal_seconds"),
        ({"runtime": {"min_minutes": 100, "max_minutes": 50}}, "min_minutes is above"),
        ({"partiton": "gpu"}, "partiton"),
    ],
    ids=["gpu-model-without-gpus", "signal-too-early", "min-above-max", "typo"],
)
def test_bad_cluster_block_stops_snakemake(tmp_path, cluster, message):
    wf = slurm_copy(tmp_path, cluster, sweep="ci")
    proc = snakemake(wf, "-n", "--cores", "1", check=False)
    assert proc.returncode != 0 and message in proc.stdout, proc.stdout[-2000:]


def test_a_bundle_is_sized_as_snakemake_stacks_it():
    """resources.bundle_shape / bundled_minutes, which cluster.smk feeds with the profile's
    group-components and --cores: layers of jobs whose threads fit in the cores."""
    assert resources.bundle_shape(8, None, 1) == (8, 1)  # no core limit: one layer
    assert resources.bundle_shape(8, 16, 2) == (8, 1)
    assert resources.bundle_shape(8, 4, 2) == (2, 4)
    assert resources.bundle_shape(3, 1, 2) == (1, 3)  # a job wider than --cores still runs
    assert resources.bundle_shape(0, 4, 1) == (1, 1)
    # the jobs of a layer run one after another; the bundle stays within the partition's limit
    assert resources.bundled_minutes(30, 2, 4, 2880) == 60
    assert resources.bundled_minutes(2000, 8, 1, 2880) == 2880
    assert resources.bundled_minutes(2000, 8, 2, 2880) == 1440
