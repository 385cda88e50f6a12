"""How long a user waits for the two pipeline commands that train nothing, on a fresh clone.

    python benchmarks/pipeline_timings.py                  # 3 repeats, updates docs/performance.md
    python benchmarks/pipeline_timings.py --repeats 1 --out /tmp/p.md

Clones this checkout's HEAD into a scratch folder and times, there:

* ``snakemake -n --config sweep=paper``: planning the ``paper`` grid (about 5,000 jobs), its
  output discarded;
* ``snakemake figures --cores 2``: every figure and table of the paper from the committed results
  (the figures and tables are deleted before each repeat, so each repeat draws them all).

It reports the median of ``--repeats`` runs of each (after one untimed warm-up run, so that
Python's bytecode caches exist as they do for a user's second command) and replaces the block
between ``<!-- pipeline:begin -->`` and ``<!-- pipeline:end -->`` of ``--out``. A benchmark, not a
test: the machine's load shows in the numbers, so run it on an idle machine.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from separations.cost import write_block
from separations.results import cpu_model, git_commit

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- pipeline:begin -->", "<!-- pipeline:end -->"
#: (label, command, target seconds of issue 13)
COMMANDS = [
    ("`snakemake -n --config sweep=paper`", ["snakemake", "-n", "--config", "sweep=paper"], 10.0),
    (
        "`snakemake figures --cores 2` (from the committed results)",
        ["snakemake", "figures", "--cores", "2"],
        15.0,
    ),
]


def _clean_outputs(clone: Path) -> None:
    for folder in ("paper/figures", "paper/generated"):
        shutil.rmtree(clone / folder, ignore_errors=True)


def _time(cmd: list[str], clone: Path, before=None) -> float:
    if before is not None:
        before()
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=clone, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        tail = proc.stderr.decode(errors="replace")[-2000:]
        raise SystemExit(f"{' '.join(cmd)} failed in {clone}:\n{tail}")
    return elapsed


def measure(clone: Path, repeats: int) -> list[tuple[str, float, list[float], float]]:
    rows = []
    for label, cmd, target in COMMANDS:
        before = (lambda: _clean_outputs(clone)) if "figures" in cmd else None
        _time(cmd, clone, before)  # warm-up: bytecode caches, the file system's
        times = [_time(cmd, clone, before) for _ in range(repeats)]
        rows.append((label, statistics.median(times), times, target))
    return rows


def markdown(rows, repeats: int) -> str:
    lines = [
        "## Pipeline commands that train nothing",
        "",
        f"Measured by `python benchmarks/pipeline_timings.py` on {datetime.date.today()}: a fresh "
        f"clone of {git_commit()[:7]}, {cpu_model()} ({os.cpu_count()} cores), Python "
        f"{platform.python_version()}; median of {repeats} runs after one warm-up.",
        "",
        "| command | median (s) | runs (s) | target (s) | met |",
        "|---|---:|---|---:|---|",
    ]
    for label, median, times, target in rows:
        runs = ", ".join(f"{t:.1f}" for t in times)
        met = "yes" if median <= target else "no"
        lines.append(f"| {label} | {median:.1f} | {runs} | {target:g} | {met} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "docs" / "performance.md"))
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    with tempfile.TemporaryDirectory() as scratch:
        clone = Path(scratch) / "clone"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        env_path = os.environ.get("PYTHONPATH", "")
        os.environ["PYTHONPATH"] = f"{clone / 'src'}{os.pathsep}{env_path}".rstrip(os.pathsep)
        rows = measure(clone, args.repeats)
        print(rows)
    block = markdown(rows, args.repeats)
    print(block)
    out = Path(args.out)
    out.write_text(write_block(out.read_text() if out.exists() else "", block, BEGIN, END))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
