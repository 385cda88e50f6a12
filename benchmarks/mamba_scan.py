"""Mamba's selective scan on CPU: the fast scan against the step-by-step reference.

    OMP_NUM_THREADS=1 python benchmarks/mamba_scan.py
    OMP_NUM_THREADS=1 python benchmarks/mamba_scan.py --lengths 100 400 --repeats 7

The scan's inputs come from a freshly initialised ``MambaMixer(width)`` (expand 2, d_state 16)
applied to a random batch, so step sizes and decays are the ones training starts from. Timed:
forward and backward of the scan alone (``y.sum().backward()``), on one thread, median of
``--repeats`` after ``--warmup``. Also reported: the bytes autograd keeps for the backward.
"""

from __future__ import annotations

import argparse

import torch
from _timing import median_seconds

from separations.models.mamba import MambaMixer, selective_scan, selective_scan_reference


def saved_megabytes(scan, args) -> float:
    """Memory autograd holds between forward and backward (distinct storages)."""
    seen: dict[int, int] = {}

    def pack(t):
        seen[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y = scan(*args)
    y.sum().backward()
    return sum(seen.values()) / 2**20


def measure(length: int, batch: int, width: int, repeats: int, warmup: int) -> dict:
    torch.manual_seed(0)
    mixer = MambaMixer(width)
    with torch.no_grad():
        (u, dt, A, B, C), _ = mixer.scan_inputs(torch.randn(batch, length, width))
    args = [z.clone().requires_grad_() for z in (u, dt, A, B, C, mixer.D.detach())]

    def run(scan):
        def step():
            for a in args:
                a.grad = None
            scan(*args).sum().backward()

        return step

    row = {"N": length}
    for name, scan in [("reference", selective_scan_reference), ("fast", selective_scan)]:
        row[f"{name}_s"] = median_seconds(run(scan), repeats, warmup)
        row[f"{name}_MB"] = saved_megabytes(scan, args)
    row["speedup"] = row["reference_s"] / row["fast_s"]
    return row


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[100, 400])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(
        f"batch {args.batch}, width {args.width} (scan over {2 * args.width} channels x 16 "
        f"states), forward + backward, {torch.get_num_threads()} thread"
    )
    print("| N | reference (s) | fast (s) | speedup | saved, reference (MB) | saved, fast (MB) |")
    print("|---:|---:|---:|---:|---:|---:|")
    for length in args.lengths:
        r = measure(length, args.batch, args.width, args.repeats, args.warmup)
        print(
            f"| {r['N']} | {r['reference_s']:.3f} | {r['fast_s']:.3f} | {r['speedup']:.2f} "
            f"| {r['reference_MB']:.0f} | {r['fast_MB']:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
