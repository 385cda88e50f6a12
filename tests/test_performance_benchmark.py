"""Smoke test of benchmarks/performance.py: the command runs and writes its tables. No timings are
asserted (they depend on the machine); only that every requested row and column is there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("transformers")  # the references (GPT-2) are Hugging Face models

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "performance.py"
COLUMNS = (
    "| family | reference | threads | ours (steps/s) | reference (steps/s) | ratio "
    "| GFLOP/step | % of peak |"
)


def test_quick_run_writes_the_tables(tmp_path):
    out = tmp_path / "performance.md"
    args = ["--quick", "--lengths", "8", "--threads", "1", "--rounds", "1"]
    args += ["--families", "transformer,dss", "--out", str(out)]
    subprocess.run([sys.executable, str(SCRIPT), *args], check=True, timeout=120)
    text = out.read_text()
    assert "## Machine" in text and "git commit:" in text and "torch " in text
    assert "## N = 8" in text and COLUMNS in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    rows = [line for line in rows if line != COLUMNS]
    assert [r.split(" | ")[0] for r in rows] == ["| Transformer", "| DSS"]
    transformer, dss = ([c.strip() for c in r.strip("|").split("|")] for r in rows)
    assert len(transformer) == len(dss) == 8
    assert transformer[1] == "HF GPT2Model (sdpa)" and transformer[2] == "1"
    assert float(transformer[3]) > 0 and float(transformer[4]) > 0 and float(transformer[5]) > 0
    assert float(transformer[6].split()[0]) > 0  # FLOPs were counted
    assert dss[1] == "none" and dss[4] == "–" and dss[5] == "–"
    assert "## Targets" in text and "Families without a reference" in text


def test_a_rerun_keeps_the_rest_of_the_file(tmp_path):
    """The command replaces its own block only: the GPU-hours and pipeline blocks of the other
    benchmarks and the notes written around them survive a rerun."""
    out = tmp_path / "performance.md"
    notes = "# notes\n\nkept text\n\n<!-- gpu-hours:begin -->\nhours\n<!-- gpu-hours:end -->\n"
    out.write_text(notes)
    args = ["--quick", "--lengths", "8", "--threads", "1", "--rounds", "1"]
    args += ["--families", "dss", "--out", str(out)]
    for _ in range(2):
        subprocess.run([sys.executable, str(SCRIPT), *args], check=True, timeout=120)
    text = out.read_text()
    assert text.count("<!-- steps:begin -->") == 1 and text.count("## N = 8") == 1
    assert text.endswith(notes) and text.index("## Machine") < text.index("kept text")


def test_the_gap_benchmark_writes_its_block(tmp_path):
    """benchmarks/throughput_gaps.py (why targets are missed) runs and writes both tables."""
    out = tmp_path / "performance.md"
    out.write_text("kept\n")
    script = SCRIPT.parent / "throughput_gaps.py"
    subprocess.run(
        [sys.executable, str(script), "--quick", "--out", str(out)], check=True, timeout=600
    )
    text = out.read_text()
    assert text.startswith("kept\n") and "<!-- gaps:begin -->" in text
    assert "| LSTM | 8 |" in text and "| GRU | 8 |" in text and "| 8 |" in text
    assert "| Transformer | 8 |" in text and "| LLaMA (paper 2) | 8 |" in text  # torch.compile
