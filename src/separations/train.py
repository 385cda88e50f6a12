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
from .results import (
    METRICS_SCHEMA,
    machine,
    metrics_table,
    provenance,
    read_metrics,
    write_table,
)
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
        until: int | None = None,
    ) -> list[dict]:
        """Train from ``state["step"]`` until ``record(at_cap)`` says the run is over, or until
        step ``until`` (then the run is checkpointed and not over: learning-rate pruning decides).

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
            if until is not None and state["step"] >= until:
                save()
                return state["rows"]
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
    """A paper-1 run: Adam at a constant learning rate, scored by the task's accuracy.

    Validation chooses the checkpoint (highest accuracy, earliest on ties); when the run ends, that
    checkpoint is scored once on the held-out test set, and the final row carries the result.
    """

    def read_rows(self, path: Path) -> list[dict]:
        return read_metrics(path).to_pylist()

    def train(
        self,
        val: Batch,
        test: Batch,
        *,
        until: int | None = None,
        prune: bool = False,
        progress=None,
    ) -> list[dict]:
        """Train to step ``until`` (None: to the end); ``prune`` ends the run where it stands."""
        spec, task = self.spec, self.task
        torch.manual_seed(self.seed)
        model = build_model(
            spec["model"], task, depth=spec["depth"], width=spec["width"], heads=spec["heads"]
        ).to(self.device)
        opt = torch.optim.Adam(model.parameters(), lr=self.lr)
        n_params = count_parameters(model)
        state = self.new_state()
        state["best"] = None
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
            "stop_threshold": spec["stop_threshold"],
            "chance": task.chance,
            "n_params": n_params,
            "val_size": len(val),
            "test_size": len(test),
            **provenance(self.hash, self.device.type),
            **machine(torch.get_num_threads()),
        }
        outcome = dict.fromkeys(("pruned", "best_step", "best_val_acc", "test_acc", "test_loss"))

        def save() -> None:
            checkpoint.save(
                self.ckpt_path,
                {"model": model.state_dict(), "optimizer": opt.state_dict(), "state": state},
                self.hash,
            )

        def finish(pruned: bool) -> None:
            """Score the checkpoint validation chose on the test set; mark the last row final."""
            best = state["best"]
            model.load_state_dict(best["model"])
            test_acc, test_loss = evaluate(model, task, test, spec["eval_batch_size"], self.device)
            state["rows"][-1].update(
                final=True,
                pruned=pruned,
                best_step=best["step"],
                best_val_acc=best["val_acc"],
                test_acc=test_acc,
                test_loss=test_loss,
            )
            log.info(
                "%s: %s at step %d; checkpoint of step %d (val acc %.4f): test acc %.4f",
                self.name,
                "pruned" if pruned else "finished",
                state["step"],
                best["step"],
                best["val_acc"],
                test_acc,
            )

        def record(at_cap: bool) -> bool:
            """Evaluate, append a row; True when the run is over."""
            acc, val_loss = evaluate(model, task, val, spec["eval_batch_size"], self.device)
            train_loss, diverged = self.take_train_loss(state)
            if state["best"] is None or acc > state["best"]["val_acc"]:
                weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
                state["best"] = {"step": state["step"], "val_acc": acc, "model": weights}
            done = at_cap or acc >= spec["stop_threshold"] or diverged
            state["rows"].append(
                {
                    **base,
                    "step": state["step"],
                    "examples": state["step"] * spec["batch_size"],
                    "train_loss": train_loss,
                    "val_loss": val_loss,
                    "val_acc": acc,
                    "solved": acc >= spec["threshold"],
                    "final": False,
                    "wall_time": state["wall"],
                    **outcome,
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
            if done:
                finish(pruned=False)
            return done

        if state["rows"] and state["rows"][-1]["final"]:
            return state["rows"]
        rows = self.steps(
            state,
            optimizer=opt,
            loss_of=lambda batch: task.loss(model(batch.inputs), batch),
            total=spec["max_steps"],
            record=record,
            save=save,
            progress=progress,
            until=until,
        )
        if prune and not rows[-1]["final"]:
            finish(pruned=True)
        return rows


def rung_steps(spec: dict[str, Any]) -> list[int]:
    """Steps at which learning-rate pruning compares the runs: each rung's fraction of
    ``max_steps``, rounded to a multiple of ``eval_every`` (so an evaluation falls on it)."""
    pruning = spec.get("pruning")
    if not pruning or len(spec["learning_rates"]) < 2:
        return []
    every, total = spec["eval_every"], spec["max_steps"]
    steps = {max(every, round(f * total / every) * every) for f in pruning["rungs"]}
    return sorted(s for s in steps if s < total)


def lr_scores(rows_by_run: dict[tuple[float, int], list[dict]], lrs: list[float]) -> dict:
    """Per learning rate, the mean over seeds of the best validation accuracy reached so far."""
    scores = {}
    for lr in lrs:
        best = [max(r["val_acc"] for r in rows) for k, rows in rows_by_run.items() if k[0] == lr]
        scores[lr] = sum(best) / len(best)
    return scores


def survivors(scores: dict[float, float], keep: float) -> list[float]:
    """The learning rates successive halving keeps: the best ``ceil(keep * n)`` (at least one) by
    score, ties to the smaller rate (deterministic)."""
    count = max(1, math.ceil(keep * len(scores)))
    ranked = sorted(scores, key=lambda lr: (-scores[lr], lr))
    return sorted(ranked[:count])


def train_job(
    spec: dict[str, Any],
    data: str | Path,
    out: str | Path,
    *,
    test: str | Path | None = None,
    threads: int = 1,
    device: str = "auto",
    checkpoint_dir: str | Path | None = None,
    show_progress: bool | None = None,
) -> None:
    """Train every learning rate and seed of one job; ``data`` is the validation set, ``test`` the
    held-out test set (default: the validation set, for ad-hoc runs only).

    With ``pruning`` (successive halving) all runs first train to the first rung; the learning
    rates whose seeds reached the lower mean validation accuracy stop there (``pruned``), the
    rest go on to the next rung, and the last survivors train to ``max_steps``. Every decision is
    a function of the recorded validation rows, so a resumed job makes the same ones.
    """
    torch.set_num_threads(threads)
    dev = pick_device(device)
    out = Path(out)
    ckpt_dir = Path(checkpoint_dir) if checkpoint_dir else out.parent / "checkpoints"
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    task = build_task(spec["task"], spec["length"], spec["task_params"])
    sets = {}
    for name, path in (("validation", data), ("test", test or data)):
        meta, sets[name] = read_batch(path)
        if meta.get("task") != spec["task"] or int(meta.get("length", -1)) != spec["length"]:
            raise ValueError(
                f"{path}: {name} set is for {meta.get('task')} at N={meta.get('length')},"
                f" not {spec['task']} at N={spec['length']}"
            )
    val, test_set = sets["validation"], sets["test"]
    stop = StopFlag()
    stop.install()
    runs = {
        (lr, seed): Run(spec, task, lr, seed, dev, ckpt_dir, stop)
        for lr in spec["learning_rates"]
        for seed in spec["seeds"]
    }
    log.info("job %s: %d runs on %s with %d threads", spec["job"], len(runs), dev, threads)
    if show_progress is None:
        show_progress = sys.stderr.isatty()
    progress = None
    if show_progress:
        from tqdm import tqdm

        progress = tqdm(total=len(runs) * spec["max_steps"], desc=spec["job"], unit="step")
    finished: dict[tuple[float, int], list[dict]] = {}

    def advance(keys, until=None, prune=False) -> dict[tuple[float, int], list[dict]]:
        """Train the runs ``keys`` to ``until``; a run that ends is written to its file."""
        rows = {}
        for key in keys:
            run = runs[key]
            if key in finished:
                rows[key] = finished[key]
                continue
            done_rows = run.finished_rows()
            if done_rows is None:
                done_rows = run.train(val, test_set, until=until, prune=prune, progress=progress)
                if done_rows and done_rows[-1]["final"]:
                    write_table(metrics_table(done_rows), run.done_path)
                    run.ckpt_path.unlink(missing_ok=True)
            else:
                log.info("%s: already finished, skipping", run.name)
            if done_rows and done_rows[-1]["final"]:
                finished[key] = done_rows
            rows[key] = done_rows
        return rows

    alive = list(spec["learning_rates"])
    keep = (spec.get("pruning") or {}).get("keep", 1.0)
    for rung in rung_steps(spec):
        keys = [k for k in runs if k[0] in alive]
        rows = advance(keys, until=rung)
        kept = survivors(lr_scores(rows, alive), keep)
        log.info("rung at step %d: keeping learning rates %s of %s", rung, kept, alive)
        advance([k for k in keys if k[0] not in kept], until=rung, prune=True)
        alive = kept
    advance([k for k in runs if k[0] in alive])
    if progress is not None:
        progress.close()
    rows = [row for key in runs for row in finished[key]]
    table = metrics_table(rows)
    assert table.schema.equals(METRICS_SCHEMA)
    write_table(table, out)
    log.info("wrote %s (%d rows)", out, len(rows))


def job_cli(train, argv: list[str] | None, *, prog: str, doc: str | None) -> int:
    """The command line of a training job (``train`` is a ``train_job``), shared by both trainers.

    Logs to stderr and to ``--log``; an interrupted job exits with 128 + the signal number, and a
    crash is logged with its traceback (the rules discard stderr, which repeats the log). Bad
    arguments and bad input files (missing, truncated, of another schema or job, empty) are
    found before training starts and answered with one line naming them, exit status 2.
    """
    import os

    from .results import ArgumentParser

    parser = ArgumentParser(
        prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--spec", required=True, help="the job spec as JSON (from the Snakefile)")
    parser.add_argument("--data", required=True, help="validation-set Parquet (selects)")
    parser.add_argument("--test", help="held-out test-set Parquet (reported); paper 1 only")
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
        spec = json.loads(args.spec)
    except json.JSONDecodeError as e:
        return refuse(f"--spec: not JSON ({e})")
    if not isinstance(spec, dict) or "task" not in spec:
        return refuse("--spec: expected the job spec, a JSON object with a task")
    if args.threads < 1:
        return refuse(f"--threads: got {args.threads}; allowed: an integer >= 1")
    length = spec.get("length", spec.get("n"))
    for flag, path in (("--data", args.data), ("--test", args.test)):
        if path is None:
            continue
        try:
            meta, _ = read_batch(path)
            params = json.loads(meta.get("params") or "{}")
        except ValueError as e:
            return refuse(f"{flag} {e}")
        fmt = params.get("format") if isinstance(params, dict) else None
        if (
            meta.get("task") != spec["task"]
            or meta.get("length") != str(length)
            or ("format" in spec and fmt != spec["format"])
        ):
            return refuse(
                f"{flag} {path}: an evaluation set for {meta.get('task')} at N="
                f"{meta.get('length')}{f' ({fmt})' if fmt else ''}, not for this job's "
                f"{spec['task']} at N={length}"
                + (f" ({spec['format']})" if "format" in spec else "")
            )
    out = Path(args.out)
    for folder in (out.parent, Path(args.checkpoint_dir or out.parent / "checkpoints")):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            return refuse(f"cannot create the folder {folder}: {e.strerror or e}")
        if not os.access(folder, os.W_OK):
            return refuse(f"cannot write to the folder {folder}: permission denied")
    extra = {"test": args.test} if args.test else {}
    try:
        train(
            spec,
            args.data,
            args.out,
            **extra,
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
