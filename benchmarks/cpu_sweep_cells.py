"""Step time of the `cpu` sweep's cells: what planned the sweep's widths, lengths and step caps.

    OMP_NUM_THREADS=1 python benchmarks/cpu_sweep_cells.py
    OMP_NUM_THREADS=1 python benchmarks/cpu_sweep_cells.py --sweep cpu --repeats 5

For every cell of the sweep (task, model, depth, width, N): the median time of one Adam step on a
fresh training batch (drawing it included), on one thread, and the cell's cost at its step cap.
Medians over ``--repeats`` timed steps after one untimed one. Run it on an idle machine: two
training jobs at once on two cores give each about one core.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
import yaml
from _timing import median_seconds

from separations import config as sweep_config
from separations.models import build_model
from separations.tasks import build_task

ROOT = Path(__file__).resolve().parents[1]


def step_seconds(job: dict, repeats: int) -> float:
    task = build_task(job["task"], job["length"], job["task_params"])
    model = build_model(
        job["model"], task, depth=job["depth"], width=job["width"], heads=job["heads"]
    )
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(0)

    def step() -> None:
        batch = task.sample(job["batch_size"], generator, train=True)
        loss = task.loss(model(batch.inputs), batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return median_seconds(step, repeats, warmup=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", default="cpu")
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    total = 0.0
    print(f"{'cell':<44} {'ms/step':>8} {'cap':>6} {'runs':>4} {'minutes at cap':>15}")
    for job in sweep_config.job_specs(config, args.sweep).values():
        seconds = step_seconds(job, args.repeats)
        n_runs = len(job["learning_rates"]) * len(job["seeds"])
        minutes = seconds * job["max_steps"] * n_runs / 60
        total += minutes
        print(
            f"{job['job']:<44} {1000 * seconds:8.0f} {job['max_steps']:6d} {n_runs:4d}"
            f" {minutes:15.1f}"
        )
    print(f"all cells at their step caps: {total:.0f} CPU-minutes (runs that solve stop early)")


if __name__ == "__main__":
    main()
