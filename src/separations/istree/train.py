"""Train one IsTree job: every learning rate and seed of one (format, family, size, n) cell.

    python -m separations.istree.train --spec '<json>' --data validation.parquet \\
        --test test.parquet --out metrics.parquet --log train.log --threads 1

Protocol (paper 2): AdamW with weight decay 0, a linear warm-up over ``warmup_samples`` then a
cosine decay to 0 at ``max_steps``, a fresh batch per step, next-token loss on the supervised
tokens only. Every ``eval_every`` steps the run is scored on the fixed validation set by teacher
forcing; greedy generation (with the search tool in the retrieval format) runs every
``generate_every`` steps (0: only at the end) and at the last evaluation. With a ``threshold`` a run
stops early once its teacher-forced exact match reaches it. The last iterate (the paper reports
it) is then scored on the held-out test set, with generation: that is what the claims report;
validation chooses the learning rate.

With ``pruning`` (successive halving, :func:`separations.runner.successive_halving`) every run
first trains to a rung; the learning rates with the higher mean validation loss over seeds stop
there (``pruned``, never tested).

Runs checkpoint every ``checkpoint_every`` steps and on SIGTERM/SIGUSR1/SIGINT; training batches are
a pure function of (seed, step), so a resumed run gives the same numbers as an uninterrupted one.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from pathlib import Path
from typing import Any

import torch

from ..models.lm import build, count_trainable
from ..results import provenance
from ..runner import ResumableRun, Trainer, job_cli, mean_best
from ..runner import train_job as train_job_of
from ..specs import IsTreeSpec
from ..tasks import build_task
from . import schema
from .evaluate import add_generation, evaluate, lm_loss

log = logging.getLogger("separations.istree.train")


def warmup_steps(spec: IsTreeSpec) -> int:
    return min(spec.max_steps, math.ceil(spec.warmup_samples / spec.batch_size))


def lr_factor(step: int, warmup: int, total: int) -> float:
    """Linear warm-up to 1 over ``warmup`` steps, then cosine decay to 0 at ``total``."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def build_model(spec: IsTreeSpec, vocab_size: int):
    return build(
        spec.family,
        vocab_size,
        spec.max_len,
        width=spec.width,
        depth=spec.depth,
        ffn=spec.ffn or 0,
        heads=spec.heads or 0,
        d_state=spec.d_state or 16,
        embedding=spec.embedding,
    )


class Run(ResumableRun):
    """An IsTree run: AdamW, warm-up then cosine decay; teacher-forced and generation scores."""

    def read_rows(self, path: Path) -> list[dict]:
        return schema.read(path).to_pylist()

    def train(
        self, val, test, *, until: int | None = None, prune: bool = False, progress=None
    ) -> list[dict]:
        """Train to step ``until`` (None: to the end); ``prune`` ends the run where it stands."""
        spec, task = self.spec, self.task
        torch.manual_seed(self.seed)
        model = build_model(spec, task.vocab_size).to(self.device)
        params = [p for p in model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=self.lr, weight_decay=0.0)
        warmup, total = warmup_steps(spec), spec.max_steps
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, warmup, total))
        modules = {"model": model, "optimizer": opt, "scheduler": sched}
        state = self.resume(self.new_state(), progress=progress, **modules)
        base = {
            "sweep": spec.sweep,
            "job": spec.job,
            "task": "istree",
            "format": spec.format,
            "family": spec.family,
            "size": spec.size,
            "n": spec.n,
            "width": spec.width,
            "depth": spec.depth,
            "ffn": spec.ffn,
            "heads": spec.heads,
            "d_state": spec.d_state,
            "embedding": spec.embedding,
            "n_params": count_trainable(model),
            "lr": self.lr,
            "seed": self.seed,
            "batch_size": spec.batch_size,
            "max_steps": total,
            "warmup_steps": warmup,
            "eval_size": len(val),
            "test_size": len(test),
            "chance": 0.5,
            **provenance(self.hash, self.device.type),
        }
        vocab = task.vocab

        def record(at_cap: bool) -> bool:
            """Evaluate and append a row; True when the run is over."""
            started = time.perf_counter()
            tf = evaluate(model, val, spec.format, vocab, spec.eval_batch_size, generate_too=False)
            solved = spec.threshold is not None and tf.tf_exact >= spec.threshold
            train_loss, diverged = self.take_train_loss(state)
            final = at_cap or solved or diverged
            every = spec.generate_every or 0
            gen = final or (every and state["step"] % every == 0 and state["step"] > 0)
            scores = tf
            if gen:  # the teacher-forced pass above is reused, not repeated
                add_generation(model, val, spec.format, vocab, spec.eval_batch_size, scores)
            tested = {}
            if final:  # the last iterate on the held-out test set
                held_out = evaluate(
                    model, test, spec.format, vocab, spec.eval_batch_size, generate_too=True
                )
                tested = {
                    "test_gen_acc": held_out.gen_acc,
                    "test_tf_exact": held_out.tf_exact,
                    "test_loss": held_out.val_loss,
                }
            state["wall"] += time.perf_counter() - started
            state["rows"].append(
                {
                    **base,
                    "step": state["step"],
                    "examples": state["step"] * spec.batch_size,
                    "train_loss": train_loss,
                    "val_loss": scores.val_loss,
                    "tf_exact": scores.tf_exact,
                    "gen_acc": scores.gen_acc,
                    "gen_trace_exact": scores.gen_trace_exact,
                    "gen_malformed": scores.gen_malformed,
                    "gen_unfinished": scores.gen_unfinished,
                    "final": final,
                    "pruned": False,
                    **dict.fromkeys(TEST_FIELDS),
                    **tested,
                    "wall_time": state["wall"],
                }
            )
            log.info(
                "%s step %d/%d: train loss %.4f, val loss %.4f, teacher-forced exact %.4f%s"
                " (%.1f s)%s",
                self.name,
                state["step"],
                total,
                train_loss,
                scores.val_loss,
                scores.tf_exact,
                f", generation accuracy {scores.gen_acc:.4f}" if scores.gen_acc is not None else "",
                state["wall"],
                " [diverged]" if diverged else (" [solved]" if solved else ""),
            )
            return final

        def loss_of(batch) -> torch.Tensor:
            tokens = batch.inputs
            return lm_loss(model(tokens), tokens, batch.extra["supervised"])

        rows = self.steps(
            state, modules, loss_of=loss_of, record=record, progress=progress, until=until
        )
        if prune and not rows[-1]["final"]:
            rows[-1].update(final=True, pruned=True)
            log.info("%s: pruned at step %d", self.name, state["step"])
        return rows


#: the held-out test scores, filled at a run's last evaluation (null elsewhere and when pruned)
TEST_FIELDS = ("test_gen_acc", "test_tf_exact", "test_loss")


def rung_scores(rows_by_run: dict[tuple[float, int], list[dict]], lrs: list[float]) -> dict:
    """Per learning rate, minus the mean over seeds of the lowest validation loss so far: the
    rung score of successive halving (exact match is still 0 for every rate at an early rung;
    the loss already orders them)."""
    return mean_best(rows_by_run, lrs, "val_loss", lower_is_better=True)


TRAINER = Trainer(
    spec_type=IsTreeSpec,
    run_type=Run,
    task_of=lambda spec: build_task("istree", spec.n, spec.task_params),
    score=rung_scores,
    table=schema.table,
    prog="python -m separations.istree.train",
    doc=__doc__,
)


def train_job(spec: IsTreeSpec | dict[str, Any], data, out, **options) -> None:
    """Train every learning rate and seed of one IsTree job (``spec``: typed or its JSON dict):
    :func:`separations.runner.train_job` with this trainer; ``options`` are its keywords."""
    train_job_of(TRAINER, spec, data, out, **options)


def main(argv: list[str] | None = None) -> int:
    return job_cli(TRAINER, argv)


if __name__ == "__main__":
    sys.exit(main())
