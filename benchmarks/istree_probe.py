"""Does one IsTree cell learn within a step budget? A quick probe for planning paper 2's sweeps.

    OMP_NUM_THREADS=1 python benchmarks/istree_probe.py cot 10 mamba --size 35k --lr 3e-3 \\
        --steps 3000

Runs one learning rate and seed exactly as the pipeline's IsTree trainer does (the job spec comes
from config.yaml's ``istree`` block through :func:`separations.istree.sweeps.job_specs`, with
the training settings of ``--sweep``), on a fresh evaluation set of ``--eval-size`` graphs, and
prints each evaluation. It writes nothing but a scratch checkpoint folder: numbers it prints are
for choosing sizes, graph sizes and step caps, not results (those come from the pipeline, with
provenance).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import torch

from separations.config import load
from separations.data import generate
from separations.istree.sweeps import job_specs
from separations.istree.train import Run
from separations.runner import StopFlag
from separations.tasks import build_task


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("format", choices=("nocot", "cot", "retrieval"))
    parser.add_argument("n", type=int)
    parser.add_argument("family", choices=("transformer", "mamba", "hybrid"))
    parser.add_argument("--size", required=True, help="a size named in istree.sizes")
    parser.add_argument("--sweep", default="cpu", help="whose training settings to use")
    parser.add_argument("--lr", type=float, required=True)
    parser.add_argument("--steps", type=int, help="step cap (default: the sweep's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-size", type=int, default=500)
    parser.add_argument("--config", default="config.yaml")
    args = parser.parse_args(argv)

    torch.set_num_threads(1)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    block = load(args.config)["istree"]
    body = block["sweeps"][args.sweep]
    training = {
        **(body.get("training") or {}),
        "learning_rates": [args.lr],
        "seeds": [args.seed],
        "eval_size": args.eval_size,
    }
    if args.steps:
        training["max_steps"] = args.steps
    grid = {"family": [args.family], "format": [args.format], "size": [args.size], "n": [args.n]}
    probe = {**block, "sweeps": {"probe": {"training": training, "grid": [grid]}}}
    (spec,) = job_specs(probe, "probe").values()
    task = build_task("istree", args.n, {"format": args.format, "graph": spec["graph"]})
    _, val = generate("istree", args.n, args.eval_size, spec["data_seed"] + 7, params=task.params)
    print(json.dumps({k: spec[k] for k in ("width", "depth", "ffn", "heads", "d_state")}))
    with tempfile.TemporaryDirectory() as scratch:
        run = Run(spec, task, args.lr, args.seed, torch.device("cpu"), Path(scratch), StopFlag())
        started = time.perf_counter()
        rows = run.train(val, val)
    last = rows[-1]
    print(
        f"{args.format} n={args.n} {args.family} ({args.size}, {last['n_params']:,} parameters) "
        f"lr {args.lr:g}: step {last['step']}, generation accuracy {last['gen_acc']:.3f}, "
        f"teacher-forced exact {last['tf_exact']:.3f}, {time.perf_counter() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
