"""Shared fixtures: the repository root and throw-away copies of the workflow."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW_FILES = [
    "Snakefile",
    "config.yaml",
    "workflow",
    "profiles",
    "src",
    "paper",
    "envs",
    "pyproject.toml",
]

# Tests run with one torch thread so that two cores can run two Snakemake jobs.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(autouse=True)
def seeded_torch():
    """Every test starts from the same global torch seed, so a test that draws random inputs
    without its own generator sees the same numbers on every run (no flaky tolerances)."""
    import torch

    torch.manual_seed(0)


def copy_workflow(dest: Path, *, results: bool = False) -> Path:
    """A copy of the workflow (code, config, paper sources) in ``dest``, without results."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_FILES:
        src = ROOT / name
        if src.is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
            if name == "paper":  # generated artefacts stay behind
                ignore = shutil.ignore_patterns("figures", "generated", "*.pdf", "*.log", "*.aux")
            shutil.copytree(src, dest / name, ignore=ignore)
        else:
            shutil.copy2(src, dest / name)
    if results:
        shutil.copytree(ROOT / "results", dest / "results")
    return dest


def start_snakemake(cwd: Path, *args: str, stdout, **popen) -> subprocess.Popen:
    """Snakemake started in ``cwd`` with its stderr merged into ``stdout``."""
    command = ["snakemake", *args]
    return subprocess.Popen(command, cwd=cwd, stdout=stdout, stderr=subprocess.STDOUT, **popen)


def snakemake(cwd: Path, *args: str, check: bool = True, timeout: int = 900):
    """Run Snakemake in ``cwd``; returns the CompletedProcess (stdout and stderr merged)."""
    with start_snakemake(cwd, *args, stdout=subprocess.PIPE, text=True) as running:
        try:
            output, _ = running.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            running.kill()
            raise
    proc = subprocess.CompletedProcess(running.args, running.returncode, output)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout[-4000:]}")
    return proc


def planned_jobs(output: str) -> dict[str, int]:
    """Rule -> job count from the 'Job stats' table of a (dry-)run's output."""
    counts: dict[str, int] = {}
    lines = output.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == "Job stats:")
    except StopIteration:
        return counts
    for line in lines[start + 3 :]:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            break
        if parts[0] != "total":
            counts[parts[0]] = int(parts[1])
    return counts


@pytest.fixture
def config() -> dict:
    with open(ROOT / "config.yaml") as f:
        return yaml.safe_load(f)


@pytest.fixture
def workflow_copy(tmp_path: Path) -> Path:
    return copy_workflow(tmp_path / "wf")


#: value for :func:`mutate` that removes the key
DELETE = object()


def mutate(config: dict, path: str, value) -> dict:
    """A copy of config with the dotted ``path`` (list indices as numbers) set to value
    (or removed, for :data:`DELETE`)."""
    import copy

    out = copy.deepcopy(config)
    keys = [int(k) if k.isdigit() else k for k in path.split(".")]
    node = out
    for key in keys[:-1]:
        node = node[key]
    if value is DELETE:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value
    return out
