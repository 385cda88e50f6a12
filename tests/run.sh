#!/usr/bin/env bash
# The test command: installs everything the tests need (system packages too), then runs them.
#   bash tests/run.sh            # all tests
#   bash tests/run.sh -k data    # extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
need_apt=()
command -v latexmk >/dev/null || need_apt+=(latexmk texlive-latex-base texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended)
if [ ${#need_apt[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# PyTorch first, pinned to the CPU build on disk (a bare "torch" would fetch a multi-GB CUDA build).
python -m pip install -q "torch==2.13.0"
python -m pip install -q -e ".[test]"

ruff check .
ruff format --check src tests benchmarks
lint-imports --no-cache  # the layering: every import points down (pyproject.toml [tool.importlinter])
snakefmt --check Snakefile workflow/
snakemake --lint --cores 1 >/dev/null

# A single-node SLURM for the slurm tests (tests/test_slurm.py): always in CI, and wherever this
# runs as root with apt; elsewhere those tests are skipped, saying why.
if [ -n "${CI:-}" ] || { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }; then
  bash workflow/scripts/local-slurm.sh start
fi

python -m pytest -q "$@"
