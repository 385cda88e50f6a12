"""Do verdicts with learning-rate pruning agree with verdicts from the full grid, and what does
pruning save? (docs/design.md, "Protocol and verdicts")

    python benchmarks/pruning_agreement.py --sweep cpu --out /tmp/pruning \\
        dyck/lstm/d1-w64/N40 dyck/transformer/d1-w64-h4/N40 eq-ncp/lstm/d1-w64/N20

Each named job of the sweep is trained once with pruning switched off (every learning rate and
seed to the end, or until solved). Successive halving only stops runs early, and a run's numbers
do not depend on the other runs, so the pruned job is that table with every run cut where the
pruning rule (:func:`separations.runner.survivors` on the recorded validation rows) would have
stopped it. The script prints, per cell, the status and chosen learning rate both ways and the
steps pruning saves. It writes its tables under ``--out``; nothing in results/.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

from separations import config as sweep_config
from separations.data import generate, generate_disjoint, to_table
from separations.results import write_table
from separations.runner import rung_steps, survivors
from separations.summary import cells
from separations.train import lr_scores, train_job


def simulate_pruning(full: pd.DataFrame, spec: dict) -> pd.DataFrame:
    """The table the pruned job would have written, cut from the full one."""
    alive = list(spec["learning_rates"])
    keep = spec["pruning"]["keep"]
    cut: dict[float, int] = {}
    for rung in rung_steps(spec):
        rows = {
            (lr, seed): part[part["step"] <= rung].to_dict("records")
            for (lr, seed), part in full.groupby(["lr", "seed"])
            if lr in alive
        }
        kept = survivors(lr_scores(rows, alive), keep)
        for lr in set(alive) - set(kept):
            cut[lr] = rung
        alive = kept
    parts = []
    for (lr, _seed), part in full.groupby(["lr", "seed"]):
        part = part.sort_values("step").copy()
        if lr in cut:
            part = part[part["step"] <= cut[lr]].copy()
            if not part["final"].iloc[-1]:  # stopped here: the pruned run's final row
                last, best = part.index[-1], part["val_acc"].idxmax()
                part.loc[last, ["final", "pruned"]] = True
                part.loc[last, "best_step"] = part.loc[best, "step"]
                part.loc[last, "best_val_acc"] = part.loc[best, "val_acc"]
                # its test score at that checkpoint was never measured (the full run went on):
                # validation stands in. It is never reported: summary.cells chooses among the
                # rates that were not pruned, and the leader always finishes
                part.loc[last, "test_acc"] = part.loc[best, "val_acc"]
        parts.append(part)
    return pd.concat(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("jobs", nargs="+", help="job ids of the sweep (task/model/shape/N<length>)")
    parser.add_argument("--sweep", default="cpu")
    parser.add_argument("--out", required=True, help="folder for the full-grid tables")
    args = parser.parse_args(argv)
    config = sweep_config.load()
    specs = sweep_config.job_specs(config, args.sweep)
    out = Path(args.out)
    lines = []
    for job in args.jobs:
        spec = dict(specs[job])
        pruned_spec = dict(spec)
        spec["pruning"] = None
        spec["config_hash"] = sweep_config.config_hash(spec, sweep_config.NUMERIC_KEYS)
        folder = out / job
        folder.mkdir(parents=True, exist_ok=True)
        val_path, test_path = folder / "validation.parquet", folder / "test.parquet"
        params = spec["task_params"]
        task, val = generate(spec["task"], spec["length"], spec["eval_size"], spec["data_seed"],
                             params=params)  # fmt: skip
        write_table(to_table(task, val, seed=spec["data_seed"], train=False), val_path)
        _, test = generate_disjoint(spec["task"], spec["length"], spec["test_size"],
                                    spec["data_seed"] + 1, val, params=params)  # fmt: skip
        write_table(to_table(task, test, seed=spec["data_seed"] + 1, train=False), test_path)
        started = time.perf_counter()
        train_job(spec, val_path, folder / "full.parquet", test=test_path, threads=1)
        minutes = (time.perf_counter() - started) / 60
        full = pd.read_parquet(folder / "full.parquet")
        pruned = simulate_pruning(full, pruned_spec)
        a, b = cells(full).iloc[0], cells(pruned).iloc[0]
        saved = 1 - b.steps_run / a.steps_run
        agree = a.status == b.status and a.best_lr == b.best_lr
        lines.append(
            f"| {job} | {a.status}, lr {a.best_lr:g}, {100 * a.acc:.1f}% | {b.status}, "
            f"lr {b.best_lr:g}, {100 * b.acc:.1f}% | {'yes' if agree else 'NO'} | "
            f"{a.steps_run:,} | {b.steps_run:,} ({100 * saved:.0f}% saved) | {minutes:.1f} |"
        )
        print(lines[-1], flush=True)
    print("| job | full grid | pruned | agree | steps (full) | steps (pruned) | minutes |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
