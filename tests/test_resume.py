"""Training loses nothing to interruption (no cluster needed).

A training job (`python -m separations.train`, as the train rule runs it) killed or stopped
mid-run and then started again gives the same numbers as one that ran through; a checkpoint that
is truncated or belongs to another configuration is noticed and the run starts over, with a
warning in the log; runs that had finished are not trained again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from separations import config as sweep_config
from separations.results import NONDETERMINISTIC

pytestmark = pytest.mark.slow

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
RUNS = ("lr0.01-s0", "lr0.001-s0")  # run names of the spec below, in training order


def make_spec(config: dict, **overrides) -> dict:
    spec = sweep_config.job_specs(config, "ci")["idxl/lstm/d1-w16/N12"]
    spec = {
        **spec.to_dict(),
        "learning_rates": [1.0e-2, 1.0e-3],
        "max_steps": 200,
        "eval_every": 50,
        "checkpoint_every": 10,
        "eval_size": 200,
        "pruning": None,  # runs one after another (pruning interleaves them: tested below)
        **overrides,
    }
    spec["config_hash"] = sweep_config.config_hash(spec, sweep_config.NUMERIC_KEYS)
    return spec


class Job:
    """One training job in a folder of its own: start it, interrupt it, run it to the end."""

    def __init__(self, folder: Path, spec: dict, data: Path) -> None:
        self.folder, self.spec, self.data = folder, spec, data
        self.out = folder / "metrics.parquet"
        self.log = folder / "train.log"
        self.checkpoints = folder / "checkpoints"

    def start(self) -> subprocess.Popen:
        self.folder.mkdir(parents=True, exist_ok=True)
        return subprocess.Popen(
            ["python", "-m", "separations.train", "--spec", json.dumps(self.spec),
             "--data", str(self.data), "--out", str(self.out), "--log", str(self.log)],
            env=ENV, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def run(self) -> None:
        assert self.start().wait(timeout=300) == 0, self.log.read_text()

    def interrupt(self, sig: int, *, after: str = RUNS[0]) -> int:
        """Start the job and send ``sig`` once run ``after`` has written a checkpoint."""
        proc = self.start()
        checkpoint = self.checkpoints / f"{after}.pt"
        deadline = time.monotonic() + 120
        while not checkpoint.exists():
            assert proc.poll() is None, "the job ended before it could be interrupted"
            assert time.monotonic() < deadline, "no checkpoint within two minutes"
            time.sleep(0.005)
        proc.send_signal(sig)
        return proc.wait(timeout=120)

    def text(self) -> str:
        return self.log.read_text()


def comparable(path: Path) -> pd.DataFrame:
    frame = pd.read_parquet(path).drop(columns=list(NONDETERMINISTIC))
    return frame.sort_values(["lr", "seed", "step"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "N12.parquet"
    subprocess.run(
        ["python", "-m", "separations.data", "idxl", "--length", "12", "--count", "200",
         "--seed", "7", "--out", str(path)],
        check=True, env=ENV,
    )  # fmt: skip
    return path


@pytest.fixture(scope="module")
def spec() -> dict:
    return make_spec(sweep_config.load())


@pytest.fixture(scope="module")
def reference(tmp_path_factory, spec, data) -> pd.DataFrame:
    """The job run through without interruption."""
    job = Job(tmp_path_factory.mktemp("reference"), spec, data)
    job.run()
    assert not list(job.checkpoints.glob("*.pt")), "a finished job keeps no checkpoint"
    return comparable(job.out)


def test_killed_job_rerun_gives_the_same_numbers(tmp_path, spec, data, reference):
    job = Job(tmp_path, spec, data)
    assert job.interrupt(signal.SIGKILL) == -signal.SIGKILL
    assert not job.out.exists(), "an interrupted job must not leave its output"
    assert (job.checkpoints / f"{RUNS[0]}.pt").exists()
    job.run()
    assert f"{RUNS[0]}: resumed at step" in job.text()
    pd.testing.assert_frame_equal(comparable(job.out), reference)


def test_stopped_job_resumes_and_does_not_redo_finished_runs(tmp_path, spec, data, reference):
    job = Job(tmp_path, spec, data)
    # SIGTERM in the second run: the trainer checkpoints it, then exits 128 + 15 (a failure, so
    # that a scheduler retries)
    assert job.interrupt(signal.SIGTERM, after=RUNS[1]) == 128 + signal.SIGTERM
    assert "received SIGTERM: checkpointing and stopping" in job.text()
    assert not job.out.exists(), "an interrupted job must not leave its output"
    finished = job.checkpoints / f"{RUNS[0]}.done.parquet"
    assert finished.exists() and not (job.checkpoints / f"{RUNS[0]}.pt").exists()
    stamp = finished.stat().st_mtime_ns
    job.run()
    text = job.text().split("received SIGTERM")[1]  # the rerun's part of the log
    assert f"{RUNS[0]}: already finished, skipping" in text
    assert f"{RUNS[1]}: resumed at step" in text
    assert finished.stat().st_mtime_ns == stamp
    pd.testing.assert_frame_equal(comparable(job.out), reference)


def test_truncated_checkpoint_restarts_the_run_with_a_warning(tmp_path, spec, data, reference):
    job = Job(tmp_path, spec, data)
    assert job.interrupt(signal.SIGTERM) == 128 + signal.SIGTERM
    checkpoint = job.checkpoints / f"{RUNS[0]}.pt"
    content = checkpoint.read_bytes()
    checkpoint.write_bytes(content[: len(content) // 2])
    job.run()
    text = job.text().split("received SIGTERM")[1]  # the rerun's part of the log
    assert "WARNING" in text and "is unreadable" in text and "from scratch" in text
    assert f"{RUNS[0]}: resumed" not in text
    pd.testing.assert_frame_equal(comparable(job.out), reference)


def test_checkpoint_of_another_config_restarts_the_run_with_a_warning(
    tmp_path, spec, data, reference
):
    # the same run names (learning rates, seeds) but other settings: another config hash
    other = make_spec(sweep_config.load(), max_steps=spec["max_steps"] + 100)
    assert other["config_hash"] != spec["config_hash"]
    stale = Job(tmp_path, other, data)
    assert stale.interrupt(signal.SIGTERM, after=RUNS[1]) == 128 + signal.SIGTERM
    job = Job(tmp_path, spec, data)  # same folder: the other config's files are there
    job.run()
    text = job.text().split("received SIGTERM")[1]
    assert f"{RUNS[0]}: finished-run file belongs to another config; rerunning" in text
    assert f"belongs to config {other['config_hash']}, not {spec['config_hash']}" in text
    assert "resumed" not in text
    pd.testing.assert_frame_equal(comparable(job.out), reference)


def test_job_killed_between_pruning_rungs_gives_the_same_numbers(tmp_path, data):
    """Successive halving interleaves the runs; a kill after the first rung, and a rerun, makes the
    same pruning decisions and the same numbers as an uninterrupted job."""
    spec = make_spec(
        sweep_config.load(),
        learning_rates=[3.0e-2, 1.0e-2, 1.0e-3],
        seeds=[0, 1],
        pruning={"rungs": [0.25, 0.5], "keep": 0.5},
    )
    reference = Job(tmp_path / "reference", spec, data)
    reference.run()
    text = reference.text()
    assert "rung at step 50" in text and "rung at step 100" in text
    expected = comparable(reference.out)
    final = expected[expected["final"]]
    assert final["pruned"].sum() == 4, "two of three rates pruned, two seeds each"
    assert final["test_acc"].notna().all() and final["best_step"].notna().all()
    job = Job(tmp_path / "killed", spec, data)
    # the first run's checkpoint at step 100 exists only once the first rung has been passed
    job.folder.mkdir(parents=True)
    proc = job.start()
    deadline = time.monotonic() + 120
    while "rung at step 50" not in (job.log.read_text() if job.log.exists() else ""):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert not job.out.exists()
    job.run()
    pd.testing.assert_frame_equal(comparable(job.out), expected)
