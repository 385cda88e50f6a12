"""GPU-hours of the `paper` sweep on an A100 and a V100, estimated from its FLOPs.

    python benchmarks/gpu_hours.py                    # print, and update docs/performance.md
    python benchmarks/gpu_hours.py --out /tmp/p.md    # update another file

The cost model is :mod:`separations.cost`; this prints its table and replaces the block between
``<!-- gpu-hours:begin -->`` and ``<!-- gpu-hours:end -->`` (appended the first time), so reruns
are idempotent.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from separations import config as sweep_config
from separations import cost

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "config.yaml"))
    parser.add_argument("--sweep", default="paper")
    parser.add_argument("--out", default=str(ROOT / "docs" / "performance.md"))
    parser.add_argument(
        "--early-stop", type=float, default=1.0, help="fraction of the cap runs train (1: none)"
    )
    args = parser.parse_args(argv)
    if not 0 < args.early_stop <= 1:
        parser.error("--early-stop must be in (0, 1]")
    estimates = cost.sweep_estimates(sweep_config.load(args.config), args.sweep)
    command = "python benchmarks/gpu_hours.py" + (
        f" --early-stop {args.early_stop:g}" if args.early_stop != 1 else ""
    )
    block = cost.markdown(estimates, command, args.early_stop)
    print(block)
    out = Path(args.out)
    out.write_text(cost.write_block(out.read_text() if out.exists() else "", block))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
