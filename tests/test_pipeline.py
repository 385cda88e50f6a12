"""The whole DAG: a smoke run of the `ci` sweep, and figures from the committed cache."""

from __future__ import annotations

import os
import subprocess

import pytest
from conftest import ROOT, planned_jobs, snakemake

from separations.results import read_metrics

TRAINING_RULES = {
    "train",
    "validation_set",
    "test_set",
    "aggregate",
    "istree_train",
    "istree_evaluation_set",
    "istree_aggregate",
    "construction",
    "constructions",
}
# the constructions study in seconds instead of minutes, for the smoke run
CONSTRUCTIONS_CI = str(ROOT / "tests/constructions_ci.yaml")


@pytest.mark.slow
@pytest.mark.latex
def test_ci_sweep_runs_end_to_end(workflow_copy):
    snakemake(
        workflow_copy,
        "--cores",
        "2",
        "--configfile",
        "config.yaml",
        CONSTRUCTIONS_CI,
        "--config",
        "sweep=ci",
    )
    metrics = read_metrics(workflow_copy / "results/ci/metrics.parquet").to_pandas()
    assert set(metrics["model"]) >= {"transformer", "lstm"}
    assert metrics["final"].sum() == metrics.groupby(["job", "lr", "seed"]).ngroups
    pdf = workflow_copy / "paper/main.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    for figure in (workflow_copy / "paper/figures").glob("*.pdf"):
        assert figure.stat().st_size > 1000
    # a second run has nothing to do
    again = snakemake(
        workflow_copy, "-n", "--configfile", "config.yaml", CONSTRUCTIONS_CI, "--config", "sweep=ci"
    )
    assert "Nothing to be done" in again.stdout, again.stdout[-2000:]


@pytest.fixture
def fresh_clone(tmp_path):
    """A clone of the committed repository, with file times scrambled: results look oldest."""
    dest = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(dest)], check=True)
    old = 946_684_800  # 2000-01-01: the committed results look older than every source file
    for path in (dest / "results").rglob("*"):
        os.utime(path, (old, old))
    return dest


@pytest.mark.slow
@pytest.mark.latex
def test_figures_and_paper_from_cache_schedule_no_training(fresh_clone):
    committed = sorted(
        p.relative_to(fresh_clone) for p in (fresh_clone / "results").rglob("*.parquet")
    )
    assert committed, "the repository must commit the aggregated results"
    plan = planned_jobs(snakemake(fresh_clone, "-n", "figures", "paper").stdout)
    assert plan, "the dry run should plan the figure and paper jobs"
    assert not TRAINING_RULES & set(plan), f"figures from cache must not train: {plan}"
    snakemake(fresh_clone, "--cores", "2", "paper")
    assert (fresh_clone / "paper/main.pdf").read_bytes()[:5] == b"%PDF-"
    assert not list((fresh_clone / "results").glob("*/runs")), "no training job ran"
    assert not list((fresh_clone / "results").glob("*/data")), "no evaluation set was built"
