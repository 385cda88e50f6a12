"""The shared runner of training jobs: one resumable run, the job loop and the command line.

Both trainers build on it: paper 1's (:mod:`separations.train`) and paper 2's
(:mod:`separations.istree.train`). What it holds is what makes a job survive interruption with
the same numbers:

- :class:`ResumableRun`: one learning rate and seed of a job, resumable from its checkpoint; its
  :meth:`~ResumableRun.steps` loop draws the batch of (seed, step) (:func:`step_seed`), so a
  resumed run sees the batches an uninterrupted one would.
- :class:`StopFlag` and :class:`Interrupted`: SIGTERM, SIGUSR1 and SIGINT become a checkpoint and
  a clean stop.
- :func:`successive_halving`: the runs of a job, pruned by learning rate at the rungs of its
  ``pruning``; finished ones read back instead of retrained.
- :class:`Trainer`: what a study's trainer is (its spec type, run type, task, rung score and
  table); :func:`train_job` trains one job of any study, :func:`job_cli` is its command line
  (arguments, logging, exit status).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import torch

from . import checkpoint
from .data import read_batch
from .errors import ConfigError
from .results import write_table
from .settings import rung_steps
from .specs import JobSpec
from .summary import ranked_learning_rates
from .tasks import Task

log = logging.getLogger(__name__)


class Interrupted(Exception):
    """A signal asked the job to stop; the current run has been checkpointed."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by signal {signal.Signals(signum).name}")
        self.signum = signum


class StopFlag:
    """Turns SIGTERM/SIGUSR1/SIGINT into a flag the training loop polls between steps."""

    SIGNALS = (signal.SIGTERM, signal.SIGUSR1, signal.SIGINT)

    def __init__(self) -> None:
        self.signum: int | None = None

    def install(self) -> None:
        for sig in self.SIGNALS:
            signal.signal(sig, self._handle)

    def _handle(self, signum, frame) -> None:  # noqa: ARG002
        log.warning("received %s: checkpointing and stopping", signal.Signals(signum).name)
        self.signum = signum


def step_seed(seed: int, step: int) -> int:
    """Seed of the training batch at ``step`` of a run: independent of how the run was resumed."""
    digest = hashlib.blake2b(f"{seed}:{step}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def run_name(lr: float, seed: int) -> str:
    return f"lr{lr:g}-s{seed}"


def pick_device(requested: str = "auto") -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


class ResumableRun:
    """One learning rate and seed of a job, resumable from its checkpoint; both trainers' runs.

    A subclass builds the model and optimiser in ``train``, takes up its checkpoint with
    :meth:`resume` and drives them with :meth:`steps` (which checkpoints them, :meth:`save`); it
    says how a finished run's rows are read back (:meth:`read_rows`).
    """

    def __init__(
        self,
        spec: JobSpec,
        task: Task,
        lr: float,
        seed: int,
        device,
        ckpt_dir: Path,
        stop: StopFlag,
    ) -> None:
        self.spec, self.task, self.lr, self.seed = spec, task, lr, seed
        self.device, self.stop = device, stop
        self.name = run_name(lr, seed)
        self.ckpt_path = ckpt_dir / f"{self.name}.pt"
        self.done_path = ckpt_dir / f"{self.name}.done.parquet"
        self.hash = spec.config_hash

    def read_rows(self, path: Path) -> list[dict]:
        """The rows of a finished-run file (schema-checked)."""
        raise NotImplementedError

    def finished_rows(self) -> list[dict] | None:
        """Rows of this run if an earlier attempt finished it (and they match this config)."""
        if not self.done_path.exists():
            return None
        try:
            rows = self.read_rows(self.done_path)
        except Exception as e:  # noqa: BLE001
            log.warning("%s: ignoring unreadable finished-run file (%s)", self.name, e)
            return None
        if not rows or any(r["config_hash"] != self.hash for r in rows):
            log.warning("%s: finished-run file belongs to another config; rerunning", self.name)
            return None
        return rows

    def resume(self, state: dict[str, Any], *, progress=None, **modules) -> dict[str, Any]:
        """The run's state: its checkpoint's, loaded into ``modules`` (model, optimizer and any
        scheduler, each under its name in the checkpoint), or ``state`` (a fresh one) without
        a checkpoint of this config; ``progress`` counts the steps already done."""
        saved = checkpoint.load(self.ckpt_path, self.hash)
        if saved is not None:
            for name, module in modules.items():
                module.load_state_dict(saved[name])
            state = saved["state"]
            log.info("%s: resumed at step %d", self.name, state["step"])
        if progress is not None:
            progress.update(state["step"])
        return state

    def save(self, state: dict[str, Any], **modules) -> None:
        """Checkpoint the run: ``state`` and the state of each of ``modules`` under its name."""
        payload = {name: module.state_dict() for name, module in modules.items()}
        checkpoint.save(self.ckpt_path, {**payload, "state": state}, self.hash)

    @staticmethod
    def new_state() -> dict[str, Any]:
        """What a checkpoint carries besides the model and optimiser."""
        return {"step": 0, "rows": [], "loss_sum": 0.0, "loss_count": 0, "wall": 0.0}

    @staticmethod
    def take_train_loss(state: dict[str, Any]) -> tuple[float, bool]:
        """(mean training loss since the last evaluation, whether it diverged); resets the sum."""
        count = state["loss_count"]
        train_loss = state["loss_sum"] / count if count else float("nan")
        state["loss_sum"], state["loss_count"] = 0.0, 0
        return train_loss, count > 0 and not math.isfinite(train_loss)

    def steps(
        self,
        state: dict[str, Any],
        modules: dict[str, Any],
        *,
        loss_of,
        record,
        progress=None,
        until: int | None = None,
    ) -> list[dict]:
        """Train from ``state["step"]`` until ``record(at_cap)`` says the run is over, or until
        step ``until`` (then the run is checkpointed and not over: learning-rate pruning decides).

        ``modules`` are what a checkpoint saves besides ``state``: the ``model``, its
        ``optimizer`` and an optional ``scheduler`` stepped after it (:meth:`resume` loads them).
        Each step draws the batch of (seed, step), so a resumed run sees the batches an
        uninterrupted one would; ``loss_of(batch)`` is the training loss. ``record`` is called at
        step 0 and every ``eval_every`` steps up to ``max_steps``; the run is checkpointed every
        ``checkpoint_every`` steps and before a signal stops it (then :class:`Interrupted` is
        raised).
        """
        spec = self.spec
        if not state["rows"]:
            if record(False):
                return state["rows"]
        elif state["rows"][-1]["final"]:
            return state["rows"]
        optimizer, scheduler = modules["optimizer"], modules.get("scheduler")
        total = spec.max_steps

        def save() -> None:
            self.save(state, **modules)

        generator = torch.Generator()
        while True:
            if until is not None and state["step"] >= until:
                save()
                return state["rows"]
            if self.stop.signum is not None:
                save()
                raise Interrupted(self.stop.signum)
            started = time.perf_counter()
            generator.manual_seed(step_seed(self.seed, state["step"]))
            batch = self.task.sample(spec.batch_size, generator, train=True).to(self.device)
            loss = loss_of(batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            state["step"] += 1
            state["loss_sum"] += float(loss.detach())
            state["loss_count"] += 1
            state["wall"] += time.perf_counter() - started
            if progress is not None:
                progress.update(1)
            at_cap = state["step"] >= total
            if state["step"] % spec.eval_every == 0 or at_cap:
                if record(at_cap):
                    return state["rows"]
            if state["step"] % spec.checkpoint_every == 0:
                save()


def mean_best(
    rows_by_run: dict[tuple[float, int], list[dict]],
    lrs: list[float],
    column: str,
    *,
    lower_is_better: bool = False,
) -> dict[float, float]:
    """Per learning rate, the mean over its seeds of the best ``column`` each run reached so far:
    the rung score of successive halving, higher is better (a loss enters negated)."""
    sign, best = (-1.0, min) if lower_is_better else (1.0, max)
    scores = {}
    for lr in lrs:
        per_run = [best(r[column] for r in rows) for k, rows in rows_by_run.items() if k[0] == lr]
        scores[lr] = sign * sum(per_run) / len(per_run)
    return scores


def survivors(scores: dict[float, float], keep: float) -> list[float]:
    """The learning rates successive halving keeps: the best ``ceil(keep * n)`` (at least one) by
    score, ties to the smaller rate (deterministic)."""
    count = max(1, math.ceil(keep * len(scores)))
    return sorted(ranked_learning_rates(scores)[:count])


def job_runs(
    spec: JobSpec,
    run_class: type[ResumableRun],
    task: Task,
    out: str | Path,
    *,
    threads: int,
    device: str,
    checkpoint_dir: str | Path | None,
) -> tuple[dict, torch.device]:
    """A job's runs, one per (learning rate, seed), and the device they train on: sets torch's
    threads, creates the checkpoint folder (default: ``<out folder>/checkpoints``) and installs
    the stop flag that turns a signal into a checkpoint."""
    torch.set_num_threads(threads)
    dev = pick_device(device)
    ckpt_dir = Path(checkpoint_dir) if checkpoint_dir else Path(out).parent / "checkpoints"
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    stop = StopFlag()
    stop.install()
    runs = {
        (lr, seed): run_class(spec, task, lr, seed, dev, ckpt_dir, stop)
        for lr in spec.learning_rates
        for seed in spec.seeds
    }
    log.info("job %s: %d runs on %s with %d threads", spec.job, len(runs), dev, threads)
    return runs, dev


def successive_halving(runs: dict, spec: JobSpec, train_run, *, score, table) -> dict:
    """Train every run of a job, ``runs`` keyed by (learning rate, seed), under the job's
    ``pruning`` (successive halving; none: every run to the end). Returns the rows of every run.

    All runs first train to the first rung (:func:`rung_steps`); the learning rates that
    ``score(rows_by_run, rates)`` (higher is better, per rate) ranks lower stop there, pruned
    (``train_run(run, until, prune=True)`` closes them), the rest go on to the next rung, and the
    last survivors train to ``max_steps``. A run that ends is written to its finished-run file
    (``table(rows)``) and its checkpoint removed; a finished run is read back, not retrained.
    Every decision is a function of the recorded validation rows, so a resumed job makes the same
    ones.
    """
    finished: dict = {}

    def advance(keys, until=None, prune=False) -> dict:
        rows = {}
        for key in keys:
            run = runs[key]
            if key in finished:
                rows[key] = finished[key]
                continue
            done_rows = run.finished_rows()
            if done_rows is None:
                done_rows = train_run(run, until, prune)
                if done_rows and done_rows[-1]["final"]:
                    write_table(table(done_rows), run.done_path)
                    run.ckpt_path.unlink(missing_ok=True)
            else:
                log.info("%s: already finished, skipping", run.name)
            if done_rows and done_rows[-1]["final"]:
                finished[key] = done_rows
            rows[key] = done_rows
        return rows

    alive = list(spec.learning_rates)
    keep = (spec.pruning or {}).get("keep", 1.0)
    for rung in rung_steps(spec):
        keys = [k for k in runs if k[0] in alive]
        rows = advance(keys, until=rung)
        kept = survivors(score(rows, alive), keep)
        log.info("rung at step %d: keeping learning rates %s of %s", rung, kept, alive)
        advance([k for k in keys if k[0] not in kept], until=rung, prune=True)
        alive = kept
    advance([k for k in runs if k[0] in alive])
    return {key: finished[key] for key in runs}


def write_job(finished: dict, table, out: str | Path) -> pa.Table:
    """A job's table: the rows of every run (``finished``, in run order) as ``table(rows)``,
    written atomically to ``out``."""
    rows = [row for run_rows in finished.values() for row in run_rows]
    result = table(rows)
    write_table(result, out)
    log.info("wrote %s (%d rows)", out, len(rows))
    return result


@dataclass(frozen=True)
class Trainer:
    """A study's trainer, as the shared job loop (:func:`train_job`) and command line
    (:func:`job_cli`) need it: everything that differs between paper 1 and paper 2."""

    #: the job spec the trainer reads (``--spec``)
    spec_type: type[JobSpec]
    #: one learning rate and seed of a job
    run_type: type[ResumableRun]
    #: the task a job trains on, from its spec
    task_of: Callable[[Any], Task]
    #: the rung score of successive halving: ``score(rows_by_run, rates)``, higher is better
    score: Callable[[dict, list[float]], dict]
    #: the rows of runs as the job's (schema-checked) table
    table: Callable[[list[dict]], pa.Table]
    #: the command's name and help text
    prog: str
    doc: str | None = None


def eval_set_mismatch(meta: dict[str, str], spec: JobSpec) -> str | None:
    """Why an evaluation set (its file metadata ``meta``) is not for the job ``spec`` (another
    task, problem size or paper-2 format), or None when it is."""
    try:
        params = json.loads(meta.get("params") or "{}")
    except json.JSONDecodeError:
        params = {}
    fmt = params.get("format") if isinstance(params, dict) else None
    size, wanted = spec.instance_size, spec.data_format
    if (
        meta.get("task") == spec.task
        and meta.get("length") == str(size)
        and (wanted is None or fmt == wanted)
    ):
        return None
    at = f" at {spec.size_symbol}="
    return (
        f"an evaluation set for {meta.get('task')}{at}{meta.get('length')}"
        f"{f' ({fmt})' if fmt else ''}, not for this job's {spec.task}{at}{size}"
        + (f" ({wanted})" if wanted is not None else "")
    )


def read_eval_set(path: str | Path, spec: JobSpec):
    """The evaluation set stored at ``path``; ValueError naming the file when it is not one of
    this job's (:func:`eval_set_mismatch`)."""
    meta, batch = read_batch(path)
    problem = eval_set_mismatch(meta, spec)
    if problem:
        raise ValueError(f"{path}: {problem}")
    return batch


def train_job(
    trainer: Trainer,
    spec: JobSpec | dict[str, Any],
    data: str | Path,
    out: str | Path,
    *,
    test: str | Path | None = None,
    threads: int = 1,
    device: str = "auto",
    checkpoint_dir: str | Path | None = None,
    show_progress: bool | None = None,
) -> pa.Table:
    """Train every learning rate and seed of one job of ``trainer``'s study and write its table
    to ``out``. ``spec`` is typed or its JSON dict; ``data`` is the validation set (it selects),
    ``test`` the held-out test set (reported; default: the validation set, for ad-hoc runs only).

    Runs are pruned by :func:`successive_halving` under the job's ``pruning``; every decision is
    a function of the recorded validation rows, so a resumed job makes the same ones. A progress
    bar is shown on a terminal (``show_progress``).
    """
    spec = trainer.spec_type.from_dict(spec)
    task = trainer.task_of(spec)
    val, test_set = read_eval_set(data, spec), read_eval_set(test or data, spec)
    runs, dev = job_runs(
        spec,
        trainer.run_type,
        task,
        out,
        threads=threads,
        device=device,
        checkpoint_dir=checkpoint_dir,
    )
    val, test_set = val.to(dev), test_set.to(dev)
    if show_progress is None:
        show_progress = sys.stderr.isatty()
    progress = None
    if show_progress:
        from tqdm import tqdm

        progress = tqdm(total=len(runs) * spec.max_steps, desc=spec.job, unit="step")
    finished = successive_halving(
        runs,
        spec,
        lambda run, until, prune: run.train(
            val, test_set, until=until, prune=prune, progress=progress
        ),
        score=trainer.score,
        table=trainer.table,
    )
    if progress is not None:
        progress.close()
    return write_job(finished, trainer.table, out)


def job_cli(trainer: Trainer, argv: list[str] | None = None) -> int:
    """The command line of a training job of ``trainer``'s study (:func:`train_job`).

    Logs to stderr and to ``--log``; an interrupted job exits with 128 + the signal number, and a
    crash is logged with its traceback (the rules discard stderr, which repeats the log). Bad
    arguments and bad input files (missing, truncated, of another schema or job, empty) are
    found before training starts and answered with one line naming them, exit status 2.
    """
    import os

    from .results import ArgumentParser

    parser = ArgumentParser(
        prog=trainer.prog,
        description=trainer.doc,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--spec", required=True, help="the job spec as JSON (from the Snakefile)")
    parser.add_argument("--data", required=True, help="validation-set Parquet (selects)")
    parser.add_argument("--test", help="held-out test-set Parquet (reported)")
    parser.add_argument("--out", required=True, help="results Parquet to write")
    parser.add_argument("--log", help="log file (progress lines are appended)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="auto", help="auto (CUDA if present), cpu or cuda")
    parser.add_argument("--checkpoint-dir", help="default: <out folder>/checkpoints")
    args = parser.parse_args(argv)
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    try:
        if args.log:
            Path(args.log).parent.mkdir(parents=True, exist_ok=True)
            handlers.append(logging.FileHandler(args.log))
    except OSError as e:
        print(f"error: cannot write the log {args.log}: {e.strerror or e}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.INFO,
        handlers=handlers,
        force=True,
        format="%(asctime)s %(levelname)s %(message)s",
    )

    def refuse(message: str) -> int:
        log.error("error: %s", " ".join(message.split()))
        return 2

    # everything that can be wrong before training starts, each answered in one line
    try:
        spec = trainer.spec_type.from_json(args.spec)
    except ConfigError as e:
        return refuse(str(e))
    if args.threads < 1:
        return refuse(f"--threads: got {args.threads}; allowed: an integer >= 1")
    for flag, path in (("--data", args.data), ("--test", args.test)):
        if path is None:
            continue
        try:
            meta, _ = read_batch(path)
        except ValueError as e:
            return refuse(f"{flag} {e}")
        problem = eval_set_mismatch(meta, spec)
        if problem:
            return refuse(f"{flag} {path}: {problem}")
    out = Path(args.out)
    for folder in (out.parent, Path(args.checkpoint_dir or out.parent / "checkpoints")):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            return refuse(f"cannot create the folder {folder}: {e.strerror or e}")
        if not os.access(folder, os.W_OK):
            return refuse(f"cannot write to the folder {folder}: permission denied")
    try:
        train_job(
            trainer,
            spec,
            args.data,
            args.out,
            test=args.test,
            threads=args.threads,
            device=args.device,
            checkpoint_dir=args.checkpoint_dir,
        )
    except Interrupted as e:
        log.warning("%s; rerun the job to resume", e)
        return 128 + e.signum
    except Exception:
        log.exception("training job failed")
        raise
    return 0
