"""Why three throughput targets of docs/performance.md are not met, measured.

    python benchmarks/throughput_gaps.py                  # updates docs/performance.md
    python benchmarks/throughput_gaps.py --quick --out /tmp/gaps.md   # a seconds-long smoke run

Two measurements, on the models and steps of ``benchmarks/performance.py`` (one thread):

* **LSTM and GRU against their plain PyTorch reference.** Our backbone *is* ``nn.LSTM`` /
  ``nn.GRU``; the model around it applies its output head at every position (per-position tasks
  such as bounded Dyck read every one; the last-token tasks select after the head), the reference
  only at the last. Timed side by side, interleaved: ours, ours with the head applied at the last
  position only, and the reference. If the head is the gap, the middle column equals the
  reference.
* **The Transformer's share of the matmul peak.** ``torch.profiler`` splits one training step's
  self time among matmuls (``mm``/``addmm``/``bmm``), PyTorch's CPU attention kernel (SDPA flash,
  forward and backward) and the rest; and the step is timed with SDPA's other CPU kernel (math)
  for comparison.
* **The 1.5x lead at N = 20** (Transformer, LLaMA): at this length a step is mostly framework
  overhead, so the one lever left is fewer kernels: ``torch.compile`` of the model, timed after its
  first (compiling) step, with that compile time reported.

It replaces the block between ``<!-- gaps:begin -->`` and ``<!-- gaps:end -->`` of ``--out``.
A benchmark, not a test: nothing asserts a time.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import os
import sys
import time
from pathlib import Path

# a compile from scratch, as a fresh job on a fresh machine pays it (not inductor's on-disk cache)
os.environ.setdefault("TORCHINDUCTOR_FORCE_DISABLE_CACHES", "1")

import torch  # noqa: E402
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).resolve().parent))
import performance as perf  # noqa: E402  (the benchmark whose models and steps this explains)
from _timing import interleaved_medians  # noqa: E402

from separations.cost import write_block  # noqa: E402
from separations.results import git_commit, write_atomic  # noqa: E402

BEGIN, END = "<!-- gaps:begin -->", "<!-- gaps:end -->"
MATMULS = {"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm"}
ATTENTION = "aten::_scaled_dot_product_flash_attention_for_cpu"


def _batch(length: int, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    tokens = torch.randint(0, perf.VOCAB, (batch, length))
    return tokens, torch.randint(0, perf.CLASSES, (batch,))


def head_gap(family: str, length: int, batch: int, rounds: int) -> dict[str, float]:
    torch.manual_seed(0)
    ours = perf._ours(family, length)
    model = ours.body

    def last_only(tokens: torch.Tensor) -> torch.Tensor:
        return model.head(model.backbone(model.encoder(tokens))[:, -1])

    variants = {
        "ours": ours,
        "head at the last position": perf.Classifier(model, last_only),
        "reference": perf._reference(family, length),
    }
    tokens, targets = _batch(length, batch)
    steps = {k: perf.make_step(family, m, tokens, targets) for k, m in variants.items()}
    return interleaved_medians(steps, rounds)


def transformer_profile(length: int, batch: int, rounds: int) -> dict[str, float]:
    torch.manual_seed(0)
    model = perf._ours("transformer", length)
    tokens, targets = _batch(length, batch)
    step = perf.make_step("transformer", model, tokens, targets)
    step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(max(1, rounds // 2)):
            step()
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    matmul = sum(e.self_cpu_time_total for e in events if e.key in MATMULS)
    attention = sum(e.self_cpu_time_total for e in events if e.key.startswith(ATTENTION))
    backends = {}
    for name, backend in (("flash", SDPBackend.FLASH_ATTENTION), ("math", SDPBackend.MATH)):
        with sdpa_kernel(backend):
            backends[name] = interleaved_medians({name: step}, rounds)[name]
    return {
        "matmul": matmul / total,
        "attention": attention / total,
        "flash": backends["flash"],
        "math": backends["math"],
    }


def compiled_gap(family: str, length: int, batch: int, rounds: int) -> dict[str, float]:
    """Eager against ``torch.compile`` of the same model (inductor, default mode) at N, and
    whether three steps of each from the same weights end at the same weights bit for bit."""
    torch.manual_seed(0)
    model = perf._ours(family, length)
    twin = copy.deepcopy(model)
    tokens, targets = _batch(length, batch)
    eager = perf.make_step(family, model, tokens, targets)
    started = time.perf_counter()
    compiled = perf.make_step(family, torch.compile(twin), tokens, targets)
    compiled()
    compile_s = time.perf_counter() - started
    eager(), eager()
    compiled(), compiled()
    pairs = list(zip(model.state_dict().values(), twin.state_dict().values(), strict=True))
    same = sum(torch.equal(a, b) for a, b in pairs)
    times = interleaved_medians({"eager": eager, "compiled": compiled}, rounds)
    return {**times, "compile_s": compile_s, "same": same, "tensors": len(pairs)}


def render(gaps: dict, profiles: dict, compiled: dict, args) -> str:
    lines = [
        "## Why the unmet throughput targets are not met (measured)",
        "",
        f"Measured by `python benchmarks/throughput_gaps.py` on {datetime.date.today()} (commit "
        f"{git_commit()[:7]}, one thread, batch {args.batch}, width {perf.WIDTH}, medians of "
        f"{args.rounds} interleaved rounds; its docstring says how).",
        "",
        "**LSTM and GRU** (target: at least as fast as `nn.LSTM` / `nn.GRU` with a head at the "
        "last position; and 1.5x at N = 20). Our backbone is that module itself; the difference "
        "is where the head is applied:",
        "",
        "| family | N | ours (ms) | head at the last position (ms) | reference (ms) "
        "| reference / ours | reference / head-at-last |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for (family, length), t in gaps.items():
        ours, last, ref = t["ours"], t["head at the last position"], t["reference"]
        lines.append(
            f"| {perf.LABELS[family]} | {length} | {ours * 1e3:.1f} | {last * 1e3:.1f} "
            f"| {ref * 1e3:.1f} | {ref / ours:.2f} | {ref / last:.2f} |"
        )
    lines += [
        "",
        "So the gap is the head at every position, which the package keeps: one model class "
        "serves the per-position tasks and the last-token ones, and applying the head after the "
        "selection changes the order in which its weight gradient is summed, so the committed "
        "tables would no longer reproduce bit for bit (`tests/test_same_numbers.py`). A 1.5x "
        "lead over a model whose recurrent core is the same PyTorch kernel is out of reach "
        "without a faster kernel than `nn.LSTM`'s.",
        "",
        "**Transformer at N >= 100** (target: 30% of the measured matmul peak). Where one "
        "step's time goes, and the step with SDPA's other CPU kernel:",
        "",
        "| N | matmuls (share of step) | SDPA flash attention, fwd + bwd | rest "
        "| step, flash (ms) | step, math (ms) |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for length, p in profiles.items():
        rest = 1 - p["matmul"] - p["attention"]
        lines.append(
            f"| {length} | {p['matmul']:.0%} | {p['attention']:.0%} | {rest:.0%} "
            f"| {p['flash'] * 1e3:.0f} | {p['math'] * 1e3:.0f} |"
        )
    lines += [
        "",
        f"The attention kernel runs at a head dimension of {perf.WIDTH // perf.HEADS} (width "
        f"{perf.WIDTH}, {perf.HEADS} heads), far below a large matmul's FLOP rate, and its share "
        "grows with N; the math kernel is slower still, and the matmuls themselves are "
        f"{perf.WIDTH} wide. The peak share is bounded by the model's shape at CPU scale rather "
        "than by overhead of the package, whose step is compared with Hugging Face GPT-2's on "
        "the same shape in the tables above.",
        "",
        "**At least 1.5x the reference at N = 20** (Transformer, LLaMA). Both run the same "
        "PyTorch kernels as their Hugging Face references; fewer kernels by `torch.compile`:",
        "",
        "| family | N | eager (ms) | compiled (ms) | eager / compiled | compile time (s) "
        "| weights bit-identical after 3 steps |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for (family, length), t in compiled.items():
        lines.append(
            f"| {perf.LABELS[family]} | {length} | {t['eager'] * 1e3:.2f} "
            f"| {t['compiled'] * 1e3:.2f} | {t['eager'] / t['compiled']:.2f} "
            f"| {t['compile_s']:.1f} | {t['same']} of {t['tensors']} tensors |"
        )
    best = max(t["eager"] / t["compiled"] for t in compiled.values())
    lines += [
        "",
        f"Not adopted: the best gain is {best:.2f}x"
        + (" (short of 1.5x)" if best < 1.5 else "")
        + ", and training compiled does not reproduce the eager weights bit for bit (last "
        "column), so the committed tables would no longer reproduce either.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=perf.ROOT / "docs" / "performance.md")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    args = parser.parse_args(argv)
    lengths = [8] if args.quick else [20, 100, 400]
    if args.quick:
        args.rounds, args.batch = 1, 4
    torch.set_num_threads(1)
    gaps = {}
    for family in ("lstm", "gru"):
        for length in lengths:
            gaps[family, length] = head_gap(family, length, args.batch, args.rounds)
            print(family, length, gaps[family, length], flush=True)
    profiles = {}
    for length in [n for n in lengths if n >= 100] or lengths[-1:]:
        profiles[length] = transformer_profile(length, args.batch, args.rounds)
        print("transformer", length, profiles[length], flush=True)
    compiled = {}
    for family in ("transformer", "llama"):
        compiled[family, lengths[0]] = compiled_gap(family, lengths[0], args.batch, args.rounds)
        print(family, lengths[0], compiled[family, lengths[0]], flush=True)
    block = render(gaps, profiles, compiled, args)
    old = args.out.read_text() if args.out.exists() else ""
    text = write_block(old, block, BEGIN, END)
    write_atomic(args.out, lambda tmp: Path(tmp).write_text(text))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
