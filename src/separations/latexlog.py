"""Fail a paper build whose layout is broken: any Overfull \\vbox, or an Overfull \\hbox wider
than a tolerance (5pt), in LaTeX's log.

    python -m separations.latexlog paper/main.log

A table that runs off the page is an Overfull \\vbox; LaTeX still writes a PDF, so without this
check a scorecard cut off the page would pass unnoticed.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

HBOX = re.compile(r"^Overfull \\hbox \((?P<pt>[0-9.]+)pt too wide\)(?P<where>.*)$")
VBOX = re.compile(r"^Overfull \\vbox \((?P<pt>[0-9.]+)pt too high\)(?P<where>.*)$")


def problems(log: str, hbox_tolerance: float = 5.0) -> list[str]:
    """The lines of ``log`` that break the layout rules."""
    found = []
    for line in log.splitlines():
        if VBOX.match(line):
            found.append(line.strip())
        elif (m := HBOX.match(line)) and float(m["pt"]) > hbox_tolerance:
            found.append(line.strip())
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m separations.latexlog", description=__doc__)
    parser.add_argument("log", help="LaTeX's .log file")
    parser.add_argument("--hbox-tolerance", type=float, default=5.0, metavar="PT")
    args = parser.parse_args(argv)
    try:
        text = Path(args.log).read_text(errors="replace")
    except OSError as e:
        print(f"error: {args.log}: cannot read the LaTeX log ({e.strerror})", file=sys.stderr)
        return 2
    bad = problems(text, args.hbox_tolerance)
    for line in bad:
        print(f"{args.log}: {line}", file=sys.stderr)
    if bad:
        print(f"error: {args.log}: {len(bad)} layout problem(s) (see above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
