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
(seed, step), so a resumed run gives the same numbers as an uninterrupted one. The resumable run,
the signal handling and the command line are the shared runner's (:mod:`separations.runner`), which
paper 2's trainer uses too; this module is paper 1's program.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import torch

from .models import build_model, count_parameters
from .results import (
    machine,
    metrics_table,
    provenance,
    read_metrics,
)
from .runner import ResumableRun, Trainer, job_cli, mean_best
from .runner import train_job as train_job_of
from .specs import ClassifierSpec
from .tasks import Batch, Task, build_task

log = logging.getLogger("separations.train")


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
            spec.model, task, depth=spec.depth, width=spec.width, heads=spec.heads
        ).to(self.device)
        opt = torch.optim.Adam(model.parameters(), lr=self.lr)
        n_params = count_parameters(model)
        modules = {"model": model, "optimizer": opt}
        state = self.resume({**self.new_state(), "best": None}, progress=progress, **modules)
        base = {
            "sweep": spec.sweep,
            "job": spec.job,
            "task": spec.task,
            "model": spec.model,
            "depth": spec.depth,
            "width": spec.width,
            "heads": spec.heads,
            "length": spec.length,
            "lr": self.lr,
            "seed": self.seed,
            "batch_size": spec.batch_size,
            "max_steps": spec.max_steps,
            "threshold": spec.threshold,
            "stop_threshold": spec.stop_threshold,
            "chance": task.chance,
            "n_params": n_params,
            "val_size": len(val),
            "test_size": len(test),
            **provenance(self.hash, self.device.type),
            **machine(torch.get_num_threads()),
        }
        outcome = dict.fromkeys(("pruned", "best_step", "best_val_acc", "test_acc", "test_loss"))

        def finish(pruned: bool) -> None:
            """Score the checkpoint validation chose on the test set; mark the last row final."""
            best = state["best"]
            model.load_state_dict(best["model"])
            test_acc, test_loss = evaluate(model, task, test, spec.eval_batch_size, self.device)
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
            acc, val_loss = evaluate(model, task, val, spec.eval_batch_size, self.device)
            train_loss, diverged = self.take_train_loss(state)
            if state["best"] is None or acc > state["best"]["val_acc"]:
                weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
                state["best"] = {"step": state["step"], "val_acc": acc, "model": weights}
            done = at_cap or acc >= spec.stop_threshold or diverged
            state["rows"].append(
                {
                    **base,
                    "step": state["step"],
                    "examples": state["step"] * spec.batch_size,
                    "train_loss": train_loss,
                    "val_loss": val_loss,
                    "val_acc": acc,
                    "solved": acc >= spec.threshold,
                    "final": False,
                    "wall_time": state["wall"],
                    **outcome,
                }
            )
            log.info(
                "%s step %d/%d: train loss %.4f, val loss %.4f, val acc %.4f (%.1f s)%s",
                self.name,
                state["step"],
                spec.max_steps,
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
            modules,
            loss_of=lambda batch: task.loss(model(batch.inputs), batch),
            record=record,
            progress=progress,
            until=until,
        )
        if prune and not rows[-1]["final"]:
            finish(pruned=True)
        return rows


def lr_scores(rows_by_run: dict[tuple[float, int], list[dict]], lrs: list[float]) -> dict:
    """Per learning rate, the mean over seeds of the best validation accuracy reached so far."""
    return mean_best(rows_by_run, lrs, "val_acc")


TRAINER = Trainer(
    spec_type=ClassifierSpec,
    run_type=Run,
    task_of=lambda spec: build_task(spec.task, spec.length, spec.task_params),
    score=lr_scores,
    table=metrics_table,
    prog="python -m separations.train",
    doc=__doc__,
)


def train_job(spec: ClassifierSpec | dict[str, Any], data, out, **options) -> None:
    """Train every learning rate and seed of one paper-1 job (``spec``: typed or its JSON dict):
    :func:`separations.runner.train_job` with this trainer; ``options`` are its keywords (the
    held-out ``test`` set, ``threads``, ``device``, ``checkpoint_dir``, ``show_progress``)."""
    train_job_of(TRAINER, spec, data, out, **options)


def main(argv: list[str] | None = None) -> int:
    return job_cli(TRAINER, argv)


if __name__ == "__main__":
    sys.exit(main())
