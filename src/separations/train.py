"""Train one job: every learning rate and seed of one (task, model, shape, N) cell.

    python -m separations.train --spec '<json>' --data validation.parquet \\
        --out metrics.parquet --log train.log --threads 1

Each run (one learning rate, one seed) trains with Adam on a fresh batch per step, evaluates on the
fixed evaluation set every ``eval_every`` steps (and at step 0), and stops once validation accuracy
reaches ``threshold`` or at ``max_steps``. The job writes one Parquet of every evaluation of every
run (see :mod:`separations.results`).

Nothing is lost to interruption: each run checkpoints every ``checkpoint_every`` steps and when
the process receives SIGTERM, SIGUSR1 or SIGINT (then exits non-zero so the scheduler retries).
A restarted job skips finished runs and resumes the others; training data are a pure function of
(seed, step), so a resumed run gives the same numbers as an uninterrupted one.
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
from pathlib import Path
from typing import Any

import torch

from . import checkpoint
from .data import read_batch
from .models import build_model, count_parameters
from .results import METRICS_SCHEMA, metrics_table, provenance, read_metrics, write_table
from .tasks import Batch, Task, build_task

log = logging.getLogger("separations.train")


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


@torch.no_grad()
def evaluate(model, task: Task, batch: Batch, batch_size: int, device) -> tuple[float, float]:
    """(accuracy, mean loss) over the evaluation set."""
    model.eval()
    correct, loss_sum = 0, 0.0
    for start in range(0, len(batch), batch_size):
        part = batch.slice(start, start + batch_size).to(device)
        logits = model(part.inputs)
        correct += int(task.correct(logits, part).sum())
        loss_sum += float(task.loss(logits, part)) * len(part)
    model.train()
    return correct / len(batch), loss_sum / len(batch)


class ResumableRun:
    """One learning rate and seed of a job, resumable from its checkpoint; both trainers' runs.

    A subclass builds the model and optimiser in ``train`` and drives them with :meth:`steps`; it
    says how a finished run's rows are read back (:meth:`read_rows`).
    """

    def __init__(
        self,
        spec: dict[str, Any],
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
        self.hash = spec["config_hash"]

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
        *,
        optimizer: torch.optim.Optimizer,
        loss_of,
        total: int,
        record,
        save,
        scheduler=None,
        progress=None,
    ) -> list[dict]:
        """Train from ``state["step"]`` until ``record(at_cap)`` says the run is over.

        Each step draws the batch of (seed, step), so a resumed run sees the batches an
        uninterrupted one would; ``loss_of(batch)`` is the training loss. ``record`` is called at
        step 0 and every ``eval_every`` steps, ``save`` every ``checkpoint_every`` steps and before
        a signal stops the run (then :class:`Interrupted` is raised).
        """
        spec = self.spec
        if not state["rows"]:
            if record(False):
                return state["rows"]
        elif state["rows"][-1]["final"]:
            return state["rows"]
        generator = torch.Generator()
        while True:
            if self.stop.signum is not None:
                save()
                raise Interrupted(self.stop.signum)
            started = time.perf_counter()
            generator.manual_seed(step_seed(self.seed, state["step"]))
            batch = self.task.sample(spec["batch_size"], generator, train=True).to(self.device)
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
            if state["step"] % spec["eval_every"] == 0 or at_cap:
                if record(at_cap):
                    return state["rows"]
            if state["step"] % spec["checkpoint_every"] == 0:
                save()


def completed_runs(runs: list[ResumableRun], train, table):
    """Each run with its rows, in order: read back if an earlier attempt finished it, otherwise
    trained by ``train(run)``, written to its finished-run file (``table(rows)``) and its
    checkpoint removed."""
    for run in runs:
        rows = run.finished_rows()
        if rows is None:
            rows = train(run)
            write_table(table(rows), run.done_path)
            run.ckpt_path.unlink(missing_ok=True)
        else:
            log.info("%s: already finished, skipping", run.name)
        yield run, rows


class Run(ResumableRun):
    """A paper-1 run: Adam at a constant learning rate, scored by the task's accuracy."""

    def read_rows(self, path: Path) -> list[dict]:
        return read_metrics(path).to_pylist()

    def train(self, val: Batch, progress=None) -> list[dict]:
        spec, task = self.spec, self.task
        torch.manual_seed(self.seed)
        model = build_model(
            spec["model"], task, depth=spec["depth"], width=spec["width"], heads=spec["heads"]
        ).to(self.device)
        opt = torch.optim.Adam(model.parameters(), lr=self.lr)
        n_params = count_parameters(model)
        state = self.new_state()
        saved = checkpoint.load(self.ckpt_path, self.hash)
        if saved is not None:
            model.load_state_dict(saved["model"])
            opt.load_state_dict(saved["optimizer"])
            state = saved["state"]
            log.info("%s: resumed at step %d", self.name, state["step"])
        if progress is not None:
            progress.update(state["step"])
        base = {
            "sweep": spec["sweep"],
            "job": spec["job"],
            "task": spec["task"],
            "model": spec["model"],
            "depth": spec["depth"],
            "width": spec["width"],
            "heads": spec["heads"],
            "length": spec["length"],
            "lr": self.lr,
            "seed": self.seed,
            "batch_size": spec["batch_size"],
            "max_steps": spec["max_steps"],
            "threshold": spec["threshold"],
            "chance": task.chance,
            "n_params": n_params,
            **provenance(self.hash, self.device.type),
        }

        def save() -> None:
            checkpoint.save(
                self.ckpt_path,
                {"model": model.state_dict(), "optimizer": opt.state_dict(), "state": state},
                self.hash,
            )

        def record(at_cap: bool) -> bool:
            """Evaluate, append a row; True when the run is over."""
            acc, val_loss = evaluate(model, task, val, spec["eval_batch_size"], self.device)
            train_loss, diverged = self.take_train_loss(state)
            done = at_cap or acc >= spec["threshold"] or diverged
            state["rows"].append(
                {
                    **base,
                    "step": state["step"],
                    "examples": state["step"] * spec["batch_size"],
                    "train_loss": train_loss,
                    "val_loss": val_loss,
                    "val_acc": acc,
                    "solved": acc >= spec["threshold"],
                    "final": done,
                    "wall_time": state["wall"],
                }
            )
            log.info(
                "%s step %d/%d: train loss %.4f, val loss %.4f, val acc %.4f (%.1f s)%s",
                self.name,
                state["step"],
                spec["max_steps"],
                train_loss,
                val_loss,
                acc,
                state["wall"],
                " [diverged]" if diverged else "",
            )
            return done

        return self.steps(
            state,
            optimizer=opt,
            loss_of=lambda batch: task.loss(model(batch.inputs), batch),
            total=spec["max_steps"],
            record=record,
            save=save,
            progress=progress,
        )


def train_job(
    spec: dict[str, Any],
    data: str | Path,
    out: str | Path,
    *,
    threads: int = 1,
    device: str = "auto",
    checkpoint_dir: str | Path | None = None,
    show_progress: bool | None = None,
) -> None:
    torch.set_num_threads(threads)
    dev = pick_device(device)
    out = Path(out)
    ckpt_dir = Path(checkpoint_dir) if checkpoint_dir else out.parent / "checkpoints"
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    task = build_task(spec["task"], spec["length"], spec["task_params"])
    meta, val = read_batch(data)
    if meta.get("task") != spec["task"] or int(meta.get("length", -1)) != spec["length"]:
        raise ValueError(
            f"{data}: evaluation set is for {meta.get('task')} at N={meta.get('length')},"
            f" not {spec['task']} at N={spec['length']}"
        )
    stop = StopFlag()
    stop.install()
    runs = [
        Run(spec, task, lr, seed, dev, ckpt_dir, stop)
        for lr in spec["learning_rates"]
        for seed in spec["seeds"]
    ]
    log.info("job %s: %d runs on %s with %d threads", spec["job"], len(runs), dev, threads)
    if show_progress is None:
        show_progress = sys.stderr.isatty()
    progress = None
    if show_progress:
        from tqdm import tqdm

        progress = tqdm(total=len(runs) * spec["max_steps"], desc=spec["job"], unit="step")
    rows: list[dict] = []
    done = completed_runs(runs, lambda run: run.train(val, progress), metrics_table)
    for count, (_, finished) in enumerate(done, start=1):
        rows.extend(finished)
        if progress is not None:  # runs that stopped early or were skipped count as complete
            progress.update(count * spec["max_steps"] - progress.n)
    if progress is not None:
        progress.close()
    table = metrics_table(rows)
    assert table.schema.equals(METRICS_SCHEMA)
    write_table(table, out)
    log.info("wrote %s (%d rows)", out, len(rows))


def job_cli(train, argv: list[str] | None, *, prog: str, doc: str | None) -> int:
    """The command line of a training job (``train`` is a ``train_job``), shared by both trainers.

    Logs to stderr and to ``--log``; an interrupted job exits with 128 + the signal number, and a
    crash is logged with its traceback (the rules discard stderr, which repeats the log).
    """
    parser = argparse.ArgumentParser(
        prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--spec", required=True, help="the job spec as JSON (from the Snakefile)")
    parser.add_argument("--data", required=True, help="evaluation-set Parquet")
    parser.add_argument("--out", required=True, help="results Parquet to write")
    parser.add_argument("--log", help="log file (progress lines are appended)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="auto", help="auto (CUDA if present), cpu or cuda")
    parser.add_argument("--checkpoint-dir", help="default: <out folder>/checkpoints")
    args = parser.parse_args(argv)
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if args.log:
        Path(args.log).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(args.log))
    logging.basicConfig(
        level=logging.INFO,
        handlers=handlers,
        force=True,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    spec = json.loads(args.spec)
    try:
        train(
            spec,
            args.data,
            args.out,
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


def main(argv: list[str] | None = None) -> int:
    return job_cli(train_job, argv, prog="python -m separations.train", doc=__doc__)


if __name__ == "__main__":
    sys.exit(main())
