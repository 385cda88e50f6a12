"""Cost of drawing a training batch next to the cost of a training step that consumes it.

    OMP_NUM_THREADS=1 python benchmarks/generators.py            # every task at N=400
    OMP_NUM_THREADS=1 python benchmarks/generators.py --length 800 --tasks eq-ncp

For each task: the median time to draw one training batch (64 examples, ``train=True``) and the
median time of one Adam step of a 1-layer, width-64, 4-head Transformer on such a batch (forward,
the task's loss, backward, update), both on one thread; the ratio says how much of a training
step the generator adds. ``width`` is the longest example of the timed batch (positions).
Medians over ``--repeats`` timed repeats after ``--warmup`` untimed ones.
"""

from __future__ import annotations

import argparse

import torch
from _timing import median_seconds

from separations.models import build_model
from separations.tasks import TASKS, build_task

DEFAULT_TASKS = ["idxl", "dyck", "eq-random", "eq-one", "eq-ncp", "nn", "mqar"]


def measure(name: str, length: int, batch_size: int, repeats: int, warmup: int) -> dict:
    task = build_task(name, length)
    generator = torch.Generator().manual_seed(0)

    def draw():
        return task.sample(batch_size, generator, train=True)

    sample_s = median_seconds(draw, repeats, warmup)
    torch.manual_seed(0)
    model = build_model("transformer", task, depth=1, width=64, heads=4)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    batch = draw()

    def step():
        loss = task.loss(model(batch.inputs), batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step_s = median_seconds(step, repeats, warmup)
    return {
        "task": name,
        "width": int(batch.inputs.shape[1]),
        "sample_ms": 1e3 * sample_s,
        "step_ms": 1e3 * step_s,
        "ratio": sample_s / step_s,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=400)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--tasks", nargs="+", default=DEFAULT_TASKS, choices=sorted(TASKS))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(
        f"N={args.length}, batch {args.batch_size}, 1 thread, median of {args.repeats} "
        f"(torch {torch.__version__})"
    )
    print(f"{'task':<10} {'width':>6} {'sample ms':>10} {'step ms':>9} {'sample/step':>12}")
    for name in args.tasks:
        r = measure(name, args.length, args.batch_size, args.repeats, args.warmup)
        print(
            f"{r['task']:<10} {r['width']:>6} {r['sample_ms']:>10.2f} {r['step_ms']:>9.1f}"
            f" {r['ratio']:>12.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
