"""Training through a real SLURM cluster with the project's profile (`snakemake --profile slurm`).

Needs a cluster: tests/run.sh starts a single-node one (workflow/scripts/local-slurm.sh) in CI and
wherever it runs as root with apt; these tests start it themselves where they can, fail in CI
when they cannot, and are skipped elsewhere with the reason.

Every Snakemake run here is watched: a job pending for a reason that never clears (a request the
partition cannot hold, such as more CPUs than a node has: reason PartitionConfig) stops the run at
once with that reason instead of hanging.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import ROOT, copy_workflow, start_snakemake

from separations import config as sweep_config
from separations.results import NONDETERMINISTIC

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

SCRIPT = ROOT / "workflow" / "scripts" / "local-slurm.sh"
# Pending reasons that never clear by waiting.
HOPELESS = {
    "PartitionConfig",
    "PartitionTimeLimit",
    "PartitionNodeLimit",
    "BadConstraints",
    "InvalidAccount",
    "InvalidQOS",
    "ReqNodeNotAvail",
}
# Test-only overrides: check job states every 2 s (the profile waits 40 s), resubmit quickly.
FAST = ["--slurm-init-seconds-before-status-checks", "2", "--latency-wait", "5", "--retries", "3"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def cluster_up() -> bool:
    if not shutil.which("sinfo"):
        return False
    out = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, timeout=30)
    return out.returncode == 0 and any(
        s.startswith(("idle", "mix", "alloc")) for s in out.stdout.split()
    )


def can_start_cluster() -> bool:
    if not shutil.which("apt-get") and not shutil.which("slurmctld"):
        return False
    if os.geteuid() == 0:
        return True
    return subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def partition() -> str:
    """The partition of a running cluster (started here if need be)."""
    if not cluster_up():
        if can_start_cluster():
            proc = subprocess.run(["bash", str(SCRIPT), "start"], capture_output=True, text=True)
            if proc.returncode != 0:
                pytest.fail(f"could not start SLURM:\n{proc.stdout}{proc.stderr}")
        elif os.environ.get("CI"):
            pytest.fail(
                "CI needs a SLURM cluster: run `bash workflow/scripts/local-slurm.sh start`"
            )
        else:
            pytest.skip(
                "no SLURM cluster here, and starting one needs root (or sudo) and apt: "
                "see `bash workflow/scripts/local-slurm.sh start`"
            )
    out = subprocess.run(["sinfo", "-h", "-o", "%P"], capture_output=True, text=True, check=True)
    names = out.stdout.split()
    default = [p.rstrip("*") for p in names if p.endswith("*")]
    return (default or [p.rstrip("*") for p in names])[0]


def slurm_workflow(dest: Path, partition: str, sweeps: dict | None = None) -> Path:
    """A copy of the workflow, with the profile link and a cluster block for the test cluster."""
    wf = copy_workflow(dest)
    (wf / "slurm").symlink_to(Path("profiles") / "slurm")
    config = yaml.safe_load((wf / "config.yaml").read_text())
    # one-minute jobs; SIGTERM at the time limit only (the early signal is checked in test_ci...)
    config["cluster"] = {
        "partition": partition,
        "signal_seconds": 0,
        "runtime": {"min_minutes": 1, "startup_minutes": 0},
    }
    config["sweeps"].update(sweeps or {})
    (wf / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return wf


class Watched:
    """A Snakemake run in the background, stopped at once when one of its jobs cannot start."""

    def __init__(self, cwd: Path, *args: str) -> None:
        self.cwd = cwd
        self.log = cwd / "snakemake-test.log"
        self.handle = open(self.log, "w")  # noqa: SIM115 - closed in wait()
        self.proc = start_snakemake(cwd, *args, stdout=self.handle, env=ENV, start_new_session=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def run_id(self) -> str | None:
        match = re.search(r"SLURM run ID: (\S+)", self.output())
        return match.group(1) if match else None

    def jobs(self) -> dict[str, tuple[str, str]]:
        """SLURM job id -> (state, reason) of this run's jobs, finished ones included."""
        run_id = self.run_id()
        if run_id is None:
            return {}
        out = subprocess.run(
            ["squeue", "-h", "--states=all", "--name", run_id, "-o", "%i|%T|%r"],
            capture_output=True,
            text=True,
        ).stdout
        rows = (line.split("|") for line in out.splitlines() if line.count("|") == 2)
        return {job: (state, reason) for job, state, reason in rows}

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)  # Snakemake cancels its SLURM jobs
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        run_id = self.run_id()
        if run_id:
            subprocess.run(["scancel", "--name", run_id], capture_output=True)

    def wait(self, timeout: float, on_poll=None) -> str:
        """Wait for the run to end successfully; returns its output."""
        deadline = time.monotonic() + timeout
        try:
            while self.proc.poll() is None:
                for job, (state, reason) in self.jobs().items():
                    if state == "PENDING" and reason in HOPELESS:
                        raise AssertionError(
                            f"SLURM job {job} cannot start (pending, reason {reason}):"
                            " the job asks for more than the partition has"
                        )
                if time.monotonic() > deadline:
                    raise AssertionError(f"Snakemake still running after {timeout} s")
                if on_poll is not None:
                    on_poll()
                time.sleep(0.25)
        except BaseException:
            self.stop()
            self.handle.close()
            raise
        self.handle.close()
        output = self.output()
        assert self.proc.returncode == 0, f"Snakemake failed:\n{output[-5000:]}"
        return output


def comparable(path: Path) -> pd.DataFrame:
    frame = pd.read_parquet(path).drop(columns=list(NONDETERMINISTIC))
    keys = ["job", "lr", "seed", "step"]
    return frame.sort_values(keys).reset_index(drop=True)


def assert_same_results(got: Path, want: Path) -> None:
    pd.testing.assert_frame_equal(comparable(got), comparable(want))


def job_info(job: str) -> dict[str, str]:
    out = subprocess.run(
        ["scontrol", "show", "job", "-o", job], capture_output=True, text=True, check=True
    ).stdout
    return dict(item.split("=", 1) for item in out.split() if "=" in item)


def test_profile_name_resolves_to_the_project_profile():
    link = ROOT / "slurm"
    assert link.is_symlink() and link.resolve() == (ROOT / "profiles/slurm").resolve()
    profile = yaml.safe_load((link / "config.yaml").read_text())
    assert profile["executor"] == "slurm" and profile["slurm-requeue"] is True


def test_ci_sweep_through_slurm_matches_the_local_run(partition, tmp_path):
    wf = slurm_workflow(tmp_path / "slurm", partition)
    config = yaml.safe_load((wf / "config.yaml").read_text())
    config["cluster"]["signal_seconds"] = 20  # sbatch must accept the early signal as well
    (wf / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    local = copy_workflow(tmp_path / "local")
    target = "results/ci/metrics.parquet"
    cluster = Watched(wf, target, "--profile", "slurm", "--config", "sweep=ci", *FAST)
    try:
        here = subprocess.run(
            ["snakemake", target, "--cores", "2", "--config", "sweep=ci"],
            cwd=local,
            capture_output=True,
            text=True,
            env=ENV,
        )
        assert here.returncode == 0, here.stdout[-3000:] + here.stderr[-3000:]
    except BaseException:
        cluster.stop()
        raise
    output = cluster.wait(timeout=300)
    assert "Using profiles slurm" in output
    jobs = cluster.jobs()
    # the sweep's training jobs went in bundles (the profile's group-components); evaluation sets
    # and aggregation ran here
    trained = len(sweep_config.job_specs(config, "ci"))
    group = yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())["group-components"]
    size = int(group[0].split("=")[1])
    assert len(jobs) == -(-trained // size), jobs
    for job in jobs:
        info = job_info(job)
        assert info["JobState"] == "COMPLETED" and info["Partition"] == partition
        assert info["Requeue"] == "1"
    assert_same_results(wf / target, local / target)


# Four training jobs of a few seconds each; each one is interrupted once, mid-run (after its
# first checkpoint), in one of four ways.
INTERRUPTED = {
    "slurmtest": {
        "training": {
            "max_steps": 600,
            "eval_every": 200,
            "checkpoint_every": 25,
            "eval_size": 200,
            "test_size": 200,
            "learning_rates": [1.0e-3],
        },
        "grid": [
            {
                "task": ["idxl"],
                "model": ["lstm"],
                "depth": [1],
                "width": [8, 12, 16, 20],
                "length": [12],
            }
        ],
    }
}
# in the order in which jobs reach mid-run: the first one is stopped (SIGSTOP) so that it runs
# into its one-minute time limit, which takes longest
ROLES = ["time limit", "kill", "cancel", "requeue"]


class Interrupter:
    """Finds the trainers of a run on this machine and interrupts each cell's first attempt."""

    def __init__(self, wf: Path) -> None:
        self.wf = wf.resolve()
        self.done: dict[str, dict] = {}  # cell -> role, SLURM job, pid
        self.attempts: dict[str, list[str]] = {}  # cell -> SLURM jobs seen running its trainer

    def trainers(self):
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                args = Path(f"/proc/{entry}/cmdline").read_bytes().decode().split("\0")
                if "separations.train" not in args or Path(f"/proc/{entry}/cwd").resolve() != (
                    self.wf
                ):
                    continue
                env = Path(f"/proc/{entry}/environ").read_bytes().decode().split("\0")
            except OSError:
                continue
            slurm_job = next((v[13:] for v in env if v.startswith("SLURM_JOB_ID=")), None)
            out = Path(args[args.index("--out") + 1])
            yield int(entry), slurm_job, out

    def __call__(self) -> None:
        for pid, slurm_job, out in self.trainers():
            cell = str(out.parent)
            seen = self.attempts.setdefault(cell, [])
            if slurm_job not in seen:
                seen.append(slurm_job)
            if cell in self.done or not list((self.wf / out.parent / "checkpoints").glob("*.pt")):
                continue
            role = ROLES[len(self.done)]
            self.done[cell] = {"role": role, "job": slurm_job, "pid": pid}
            if role == "time limit":
                os.kill(pid, signal.SIGSTOP)  # SLURM sends SIGCONT and SIGTERM at the limit
            elif role == "kill":
                os.kill(pid, signal.SIGKILL)
            elif role == "cancel":
                subprocess.run(["scancel", slurm_job], check=True)
            else:
                subprocess.run(["scontrol", "requeue", slurm_job], check=True)


def reference_runs(wf: Path, dest: Path, sweep: str) -> dict[str, Path]:
    """The sweep's jobs trained here without interruption, two at a time."""
    config = yaml.safe_load((wf / "config.yaml").read_text())
    specs = sweep_config.job_specs(config, sweep)
    first = next(iter(specs.values()))
    data, test = dest / "data.parquet", dest / "test.parquet"
    # the validation set, then the held-out test set drawn disjoint from it (as rule test_set does)
    for out, count, seed, extra in (
        (data, first.eval_size, first.data_seed, []),
        (test, first.test_size, first.data_seed + 1, ["--exclude", str(data)]),
    ):
        subprocess.run(
            [
                "python",
                "-m",
                "separations.data",
                first.task,
                "--length",
                str(first.length),
                "--count",
                str(count),
                "--seed",
                str(seed),
                "--params",
                json.dumps(first.task_params, sort_keys=True),
                *extra,
                "--out",
                str(out),
            ],
            check=True,
            env=ENV,
        )
    outs, procs = {}, []
    for job, spec in specs.items():
        assert spec.length == first.length
        out = dest / job / "metrics.parquet"
        outs[f"results/{sweep}/runs/{job}"] = out
        if len(procs) == 2:
            assert procs.pop(0).wait() == 0
        procs.append(
            subprocess.Popen(
                [
                    "python",
                    "-m",
                    "separations.train",
                    "--spec",
                    spec.to_json(),
                    "--data",
                    str(data),
                    "--test",
                    str(test),
                    "--out",
                    str(out),
                    "--log",
                    str(out.parent / "train.log"),
                ],
                env=ENV,
                stderr=subprocess.DEVNULL,
            )
        )
    assert all(p.wait() == 0 for p in procs)
    return outs


@pytest.fixture(scope="module")
def interrupted(partition, tmp_path_factory):
    """Run the four jobs through SLURM, interrupting each once; uninterrupted runs beside."""
    tmp = tmp_path_factory.mktemp("interrupted")
    wf = slurm_workflow(tmp / "wf", partition, INTERRUPTED)
    references: dict = {}
    thread = threading.Thread(
        target=lambda: references.update(reference_runs(wf, tmp / "reference", "slurmtest"))
    )
    interrupter = Interrupter(wf)
    target = "results/slurmtest/metrics.parquet"
    # one job per SLURM job here (no bundles), so each can be interrupted on its own
    run = Watched(
        wf,
        target,
        "--profile",
        "slurm",
        "--config",
        "sweep=slurmtest",
        "--group-components",
        "train=1",
        *FAST,
    )
    thread.start()
    try:
        run.wait(timeout=480, on_poll=interrupter)
    finally:
        thread.join()
    assert len(interrupter.done) == 4, f"only {interrupter.done} were interrupted"
    return wf, interrupter, references, run


def test_interrupted_jobs_resume_with_identical_results(interrupted):
    wf, interrupter, references, _ = interrupted
    for cell, act in interrupter.done.items():
        log = (wf / cell / "train.log").read_text()
        assert re.search(r"resumed at step [1-9]", log), f"{act['role']}: {cell} did not resume"
        assert_same_results(wf / cell / "metrics.parquet", references[cell])
    by_role = {act["role"]: act for act in interrupter.done.values()}
    assert job_info(by_role["kill"]["job"])["JobState"] == "FAILED"
    assert job_info(by_role["cancel"]["job"])["JobState"] == "CANCELLED"
    requeued = job_info(by_role["requeue"]["job"])
    # SLURM ran the requeued job again under the same id; Snakemake saw no failure
    assert requeued["Restarts"] == "1" and requeued["JobState"] == "COMPLETED"


def test_job_past_its_time_limit_is_retried_with_more_time(interrupted):
    wf, interrupter, _, _ = interrupted
    cell, act = next((c, a) for c, a in interrupter.done.items() if a["role"] == "time limit")
    first = job_info(act["job"])
    assert first["JobState"] == "TIMEOUT" and first["TimeLimit"] == "00:01:00"
    retry = [job for job in interrupter.attempts[cell] if job != act["job"]]
    assert retry, f"no second attempt of {cell} seen"
    assert job_info(retry[-1])["TimeLimit"] == "00:02:00"
    # the trainer got SIGTERM at the limit (after SLURM's SIGCONT), checkpointed and exited
    # 128 + 15; the SLURM log of a failed job is kept
    (log,) = (wf / ".snakemake" / "slurm_logs").rglob(f"{act['job']}.log")
    assert "exit status 143" in log.read_text()
    assert re.search(r"resumed at step [1-9]", (wf / cell / "train.log").read_text())


def test_a_job_that_cannot_start_fails_fast(partition, tmp_path):
    wf = slurm_workflow(tmp_path / "wf", partition)
    cpus = os.cpu_count() or 1
    started = time.monotonic()
    run = Watched(
        wf,
        "results/ci/metrics.parquet",
        "--profile",
        "slurm",
        "--config",
        "sweep=ci",
        *FAST,
        "--set-resources",
        f"train:cpus_per_task={cpus + 1}",
    )
    with pytest.raises(AssertionError, match="reason PartitionConfig"):
        run.wait(timeout=240)
    assert time.monotonic() - started < 120
    assert not [j for j, (state, _) in run.jobs().items() if state in ("PENDING", "RUNNING")]
