"""Does one cell learn within a step budget? A quick probe for planning the `cpu` sweep.

    OMP_NUM_THREADS=1 python benchmarks/learnability_probe.py eq-ncp 10 transformer \\
        --depth 2 --width 64 --lr 1e-3 --steps 3000 --param train_lengths=fixed --param alphabet=8

Trains one model the way :mod:`separations.train` does (Adam, a fresh batch of 64 per step, no
schedule) and prints the training loss and the accuracy on 1,000 evaluation examples of length
exactly N every ``--every`` steps, stopping once accuracy reaches ``--stop``. It writes nothing:
numbers it prints are for choosing lengths, task parameters and step caps, not results (those come
from the pipeline, with provenance). ``--param`` takes task parameters as ``key=value`` (values
parsed as YAML, so ``alphabet=8`` is an integer). ``--readout mean`` reads a classification task's
prediction from the mean of the logits over each example's real positions instead of its last
token (the paper does not say which it used; with a linear output head this is mean pooling of the
hidden states).
"""

from __future__ import annotations

import argparse
import time

import torch
import yaml

from separations.models import build_model, get_family
from separations.tasks import build_task


def parse_param(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"--param wants key=value, got {text!r}")
    return key, yaml.safe_load(value)


def mean_over_positions(logits: torch.Tensor, batch) -> torch.Tensor:
    """Mean of the logits over each example's real positions (B×T×C → B×C)."""
    real = (torch.arange(logits.shape[1]) < batch.lengths[:, None]).to(logits.dtype)
    return (logits * real[..., None]).sum(1) / real.sum(1, keepdim=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task")
    parser.add_argument("length", type=int)
    parser.add_argument("model")
    parser.add_argument("--depth", type=int, default=1)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--every", type=int, default=250)
    parser.add_argument("--stop", type=float, default=0.99)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--param", type=parse_param, action="append", default=[])
    parser.add_argument("--readout", choices=("task", "mean"), default="task")
    args = parser.parse_args(argv)

    torch.set_num_threads(1)
    task = build_task(args.task, args.length, dict(args.param))
    if args.readout == "mean":
        if task.readout != "last":
            parser.error(f"--readout mean needs a task read at its last token; {args.task} is not")
        task.select = mean_over_positions
    torch.manual_seed(args.seed)
    heads = args.heads if get_family(args.model).uses_heads else None
    model = build_model(args.model, task, depth=args.depth, width=args.width, heads=heads)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    generator = torch.Generator().manual_seed(args.seed + 1)
    held_out = task.sample(1000, torch.Generator().manual_seed(10_000 + args.seed), train=False)
    start = time.perf_counter()
    for step in range(1, args.steps + 1):
        batch = task.sample(64, generator, train=True)
        loss = task.loss(model(batch.inputs), batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % args.every == 0 or step == args.steps:
            with torch.no_grad():
                acc = task.correct(model(held_out.inputs), held_out).float().mean().item()
            elapsed = time.perf_counter() - start
            print(f"step {step:6d}  loss {loss.item():.4f}  acc {acc:.3f}  {elapsed:6.0f} s")
            if acc >= args.stop:
                break
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
