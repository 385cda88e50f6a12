"""Training-step throughput of every model family next to the reference a user would otherwise use.

    python benchmarks/performance.py                       # the full table, docs/performance.md
    python benchmarks/performance.py --quick --out /tmp/perf.md   # a seconds-long smoke run

One step is forward, loss, backward and an Adam update on one batch (``--batch``, 64) of length N
at width 64. Paper-1 families (:data:`separations.models.FAMILIES`) see an Index-Lookup-like input
(random tokens over a vocabulary of 70, a 64-way classification read at the last position), built
with :func:`separations.models.build_model`; the paper-2 language models
(:class:`separations.models.lm.LanguageModel`: LLaMA, Mamba LM, hybrid) take a next-token step on
N random tokens of the same vocabulary. Depths (``DEPTHS``): the Transformer 2 layers, every other
paper-1 family 1 (as the ``cpu`` and ``paper`` sweeps of config.yaml); the language models 2
layers (the hybrid: 2 Mamba layers and its one attention layer), SwiGLU width 256, 4 heads --
shallower than config.yaml's sizes so that a full run stays within minutes on two cores.

References, with the same width, depth, heads and MLP width: Hugging Face ``GPT2Model`` (SDPA
attention) for the Transformer, ``LlamaModel`` for LLaMA, ``MambaModel`` (its CPU path) for Mamba
and the Mamba LM, a plain ``nn.Embedding + nn.LSTM / nn.GRU + nn.Linear`` for the LSTM and GRU,
and for RetNet and the linear Transformer the same model run in its recurrent form (one position
at a time, the form the parallel one is tested against). DSS and the hybrid have none.

For each thread count (``torch.set_num_threads``), N and family, the two step functions are timed
in interleaved rounds (ours, reference; the order alternates between rounds) after one warm-up
step each; steps/s is 1 / median step time, ratio = reference median / our median. FLOPs per step
are counted by ``torch.utils.flop_counter.FlopCounterMode`` over one forward and backward (matmuls,
convolutions and attention; the Adam update is not counted). The peak is the median FLOP/s of a
large fp32 matmul measured in the same run at the same thread count; % of peak is our FLOP/s over
it. Nothing here asserts a time: the "Targets" section reports what the numbers say.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import torch
import torch.nn.functional as F
from _timing import median_seconds, timed
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from separations import cost
from separations.models import FAMILIES, build_model, references
from separations.models.lm import LanguageModel, Shape
from separations.results import cpu_model, git_commit, write_atomic

ROOT = Path(__file__).resolve().parent.parent
#: what this command writes in ``--out``; everything outside the markers is kept
BEGIN, END = "<!-- steps:begin -->", "<!-- steps:end -->"
WIDTH = 64
VOCAB = 70  # 64 symbols, padding and a few index tokens, as Index Lookup over 64 symbols
CLASSES = 64
HEADS = 4
LM_FFN = 256
#: depth of each benchmarked model (paper-1 families by registry name; lm-* the paper-2 LMs)
DEPTHS = {name: 1 for name in FAMILIES} | {"transformer": 2, "llama": 2, "mamba-lm": 2, "hybrid": 2}
LM_FAMILIES = {"llama": "transformer", "mamba-lm": "mamba", "hybrid": "hybrid"}
ALL_FAMILIES = [*FAMILIES, *LM_FAMILIES]
LABELS = {
    "transformer": "Transformer",
    "lstm": "LSTM",
    "gru": "GRU",
    "mamba": "Mamba",
    "dss": "DSS",
    "retnet": "RetNet",
    "linear": "linear Transformer",
    "llama": "LLaMA (paper 2)",
    "mamba-lm": "Mamba LM (paper 2)",
    "hybrid": "hybrid (paper 2)",
}
REFERENCES = {
    "transformer": "HF GPT2Model (sdpa)",
    "lstm": "nn.LSTM",
    "gru": "nn.GRU",
    "mamba": "HF MambaModel (CPU path)",
    "retnet": "own recurrent form",
    "linear": "own recurrent form",
    "llama": "HF LlamaModel (sdpa)",
    "mamba-lm": "HF MambaModel (CPU path)",
}


# -- models -------------------------------------------------------------------------------------
class Classifier(nn.Module):
    """A sequence model → logits of a 64-way classification at the last position."""

    def __init__(self, body: nn.Module, forward: Callable[[torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        self.body = body
        self._forward = forward

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self._forward(tokens)


class Recurrent(nn.Module):
    """``nn.Embedding + nn.LSTM / nn.GRU + nn.Linear``: the plain PyTorch reference."""

    def __init__(self, cell: type[nn.RNNBase], depth: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, WIDTH)
        self.rnn = cell(WIDTH, WIDTH, num_layers=depth, batch_first=True)
        self.head = nn.Linear(WIDTH, CLASSES)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(self.rnn(self.embedding(tokens))[0][:, -1])


class HFHead(nn.Module):
    """A Hugging Face base model plus a head: the last position (classify) or a tied LM head."""

    def __init__(self, model: nn.Module, lm: bool) -> None:
        super().__init__()
        self.model, self.lm = model, lm
        self.head = None if lm else nn.Linear(WIDTH, CLASSES)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        hidden = self.model(input_ids=tokens, use_cache=False).last_hidden_state
        if self.lm:
            return hidden @ self.model.get_input_embeddings().weight.T
        return self.head(hidden[:, -1])


def _ours(family: str, length: int) -> nn.Module:
    depth = DEPTHS[family]
    if family in LM_FAMILIES:
        kind = LM_FAMILIES[family]
        shape = Shape(kind, WIDTH, depth, ffn=LM_FFN, heads=HEADS)
        return LanguageModel(shape, VOCAB, max_len=length)
    task = SimpleNamespace(
        vocab_size=VOCAB, num_outputs=CLASSES, max_len=length, input_kind="tokens"
    )
    heads = HEADS if FAMILIES[family].uses_heads else None
    model = build_model(family, task, depth=depth, width=WIDTH, heads=heads)
    return Classifier(model, lambda tokens: model(tokens)[:, -1])


def _reference(family: str, length: int) -> nn.Module | None:
    depth = DEPTHS[family]
    if family in ("lstm", "gru"):
        return Recurrent(nn.LSTM if family == "lstm" else nn.GRU, depth)
    if family in ("retnet", "linear"):
        model = _ours(family, length).body

        def recurrent(tokens: torch.Tensor) -> torch.Tensor:
            hidden = model.backbone(model.encoder(tokens), recurrent=True)
            return model.head(hidden[:, -1])

        return Classifier(model, recurrent)
    if family not in REFERENCES:
        return None
    if family == "transformer":
        return HFHead(references.gpt2(VOCAB, WIDTH, depth, HEADS, length, "sdpa"), lm=False)
    if family == "llama":
        model = references.llama(VOCAB, WIDTH, depth, HEADS, LM_FFN, length, "sdpa")
        return HFHead(model, lm=True)
    return HFHead(references.mamba(VOCAB, WIDTH, depth), lm=family == "mamba-lm")


# -- one training step --------------------------------------------------------------------------
def _loss(family: str, model: nn.Module, tokens: torch.Tensor, targets: torch.Tensor):
    out = model(tokens)
    if family in LM_FAMILIES:  # next-token prediction at every position
        return F.cross_entropy(out[:, :-1].reshape(-1, out.shape[-1]), tokens[:, 1:].reshape(-1))
    return F.cross_entropy(out, targets)


def make_step(family: str, model: nn.Module, tokens: torch.Tensor, targets: torch.Tensor):
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=1e-3)

    def step() -> None:
        loss = _loss(family, model, tokens, targets)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def count_flops(family: str, model: nn.Module, tokens: torch.Tensor, targets: torch.Tensor):
    """FLOPs of one forward and backward (what FlopCounterMode counts: matmuls, convs, SDPA)."""
    counter = FlopCounterMode(display=False)
    with counter:
        _loss(family, model, tokens, targets).backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops()


def matmul_peak(size: int, repeats: int) -> float:
    """Median FLOP/s of a size×size fp32 matmul at the current thread count."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    seconds = median_seconds(lambda: a @ b, repeats, warmup=1)
    return 2 * size**3 / seconds


def measure(family: str, length: int, batch: int, rounds: int, slow: float) -> dict:
    """Our and the reference's step times, interleaved; see the module docstring.

    A reference whose FLOP-counting pass (one forward and backward) took more than ``slow``
    seconds (Hugging Face's CPU Mamba at large N: tens of seconds a step) takes that pass as its
    warm-up and is timed in the first round only, so that one run stays within minutes.
    """
    generator = torch.Generator().manual_seed(0)
    tokens = torch.randint(1, VOCAB, (batch, length), generator=generator)
    targets = torch.randint(0, CLASSES, (batch,), generator=generator)
    torch.manual_seed(0)
    ours = _ours(family, length)
    torch.manual_seed(0)
    ref = _reference(family, length)
    flops = count_flops(family, ours, tokens, targets)
    steps = [make_step(family, ours, tokens, targets)]
    steps[0]()  # warm-up
    ref_flops, ref_rounds = None, 0
    if ref is not None:
        start = time.perf_counter()
        ref_flops = count_flops(family, ref, tokens, targets)
        ref_slow = time.perf_counter() - start > slow
        steps.append(make_step(family, ref, tokens, targets))
        ref_rounds = 1 if ref_slow else rounds
        if not ref_slow:
            steps[1]()  # warm-up
    times: list[list[float]] = [[] for _ in steps]
    for r in range(rounds):  # interleaved; the order alternates so neither always goes first
        order = [0, 1] if r % 2 == 0 else [1, 0]
        for i in order:
            if i < len(steps) and len(times[i]) < (rounds if i == 0 else ref_rounds):
                times[i].append(timed(steps[i]))
    ours_s = statistics.median(times[0])
    ref_s = statistics.median(times[1]) if ref is not None else None
    return {
        "family": family,
        "length": length,
        "ours_sps": 1 / ours_s,
        "ref_sps": 1 / ref_s if ref_s else None,
        "ref_rounds": ref_rounds,
        "ratio": ref_s / ours_s if ref_s else None,
        "flops": flops,
        "ref_flops": ref_flops,
    }


# -- the report ---------------------------------------------------------------------------------
def _num(x: float | None, fmt: str) -> str:
    return "–" if x is None else format(x, fmt)


def render(rows: list[dict], peaks: dict[int, float], args, command: str) -> str:
    lines = [
        "# Training-step performance",
        "",
        f"Written by `{command}`. The docstring of benchmarks/performance.py says what a step",
        "is, which depths and references, and how times, FLOPs and the peak are measured.",
        "",
        "## Machine",
        "",
        f"- CPU: {cpu_model()} ({torch.get_num_interop_threads()} inter-op threads, "
        f"{_logical_cpus()} logical CPUs)",
        f"- torch {torch.__version__}, transformers {_transformers_version()}, "
        f"Python {platform.python_version()}",
        f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- git commit: {git_commit()}",
        f"- batch {args.batch}, width {WIDTH}, {args.rounds} interleaved rounds (medians), "
        f"vocabulary {VOCAB}",
        "- depths: " + ", ".join(f"{LABELS[f]} {DEPTHS[f]}" for f in args.families),
        "- measured matmul peak (fp32, "
        f"{args.peak_size}×{args.peak_size}): "
        + ", ".join(f"{peaks[t] / 1e9:.1f} GFLOP/s at {t} thread(s)" for t in args.threads),
        "",
        "Steps/s: 1 / median step time. Ratio: reference median / our median (> 1: ours faster).",
        "GFLOP/step: one forward and backward as FlopCounterMode counts it (ours; the",
        "reference's in brackets). % of peak: our FLOP/s over the measured matmul peak.",
        "FlopCounterMode does not see inside fused recurrent kernels (`nn.LSTM`, `nn.GRU`), so",
        "those rows undercount; what it counts elsewhere is matmuls, convolutions and attention.",
        "The Mamba, Mamba LM and hybrid rows overcount: the counter takes the backward of their",
        "depthwise convolution for an ungrouped one (~1.4x the model's FLOPs at width 64; see",
        "src/separations/cost.py), so their % of peak is too high by about that factor.",
        f"†: a reference step slower than {args.slow:g} s, timed in one round only (its",
        "FLOP-counting pass was its warm-up). Our LSTM and GRU backbones are `nn.LSTM` and",
        "`nn.GRU` themselves; their rows measure the wrapper (head at every position).",
        "",
    ]
    for length in args.lengths:
        lines += [
            f"## N = {length}",
            "",
            "| family | reference | threads | ours (steps/s) | reference (steps/s) | ratio "
            "| GFLOP/step | % of peak |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for row in rows:
            if row["length"] != length:
                continue
            ref_gflop = "" if row["ref_flops"] is None else f" ({row['ref_flops'] / 1e9:.3f})"
            peak_share = 100 * row["flops"] * row["ours_sps"] / peaks[row["threads"]]
            once = " †" if row["ratio"] is not None and row["ref_rounds"] < args.rounds else ""
            ref_sps = _num(row["ref_sps"], ".2f") + once
            lines.append(
                f"| {LABELS[row['family']]} | {REFERENCES.get(row['family'], 'none')} "
                f"| {row['threads']} | {row['ours_sps']:.2f} | {ref_sps} "
                f"| {_num(row['ratio'], '.2f')} | {row['flops'] / 1e9:.3f}{ref_gflop} "
                f"| {peak_share:.1f} |"
            )
        lines.append("")
    lines += targets(rows, peaks)
    return "\n".join(lines) + "\n"


def targets(rows: list[dict], peaks: dict[int, float]) -> list[str]:
    def verdict(failures: list[str], measured: bool) -> str:
        if not measured:
            return "not measured in this run"
        return "met" if not failures else "not met: " + "; ".join(failures)

    def where(row: dict) -> str:
        return f"{LABELS[row['family']]} at N = {row['length']}, {row['threads']} thread(s)"

    with_ref = [r for r in rows if r["ratio"] is not None]
    slower = [f"{where(r)}: {r['ratio']:.2f}×" for r in with_ref if r["ratio"] < 1]
    short = [r for r in with_ref if r["length"] == 20]
    short_fail = [f"{where(r)}: {r['ratio']:.2f}×" for r in short if r["ratio"] < 1.5]
    long_tf = [r for r in rows if r["family"] == "transformer" and r["length"] >= 100]
    shares = [(r, 100 * r["flops"] * r["ours_sps"] / peaks[r["threads"]]) for r in long_tf]
    low = [f"{where(r)}: {s:.1f}%" for r, s in shares if s < 30]
    no_ref = sorted({LABELS[r["family"]] for r in rows if r["ratio"] is None})
    return [
        "## Targets",
        "",
        "- Every family at least as fast as its reference at every N: "
        + verdict(slower, bool(with_ref)),
        "- At least 1.5× its reference at N = 20: " + verdict(short_fail, bool(short)),
        "- Transformer at N ≥ 100 at least 30% of the measured matmul peak: "
        + verdict(low, bool(long_tf)),
        "",
        "Families without a reference (not counted above): " + (", ".join(no_ref) or "none") + ".",
        "Why a target is not met is measured by `benchmarks/throughput_gaps.py` (its section "
        "below).",
    ]


def _logical_cpus() -> int:
    return os.cpu_count() or 0


def _transformers_version() -> str:
    try:
        import transformers
    except ImportError:
        return "not installed"
    return transformers.__version__


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=_ints, help="comma-separated N (default 20,100,400)")
    parser.add_argument("--threads", type=_ints, help="comma-separated thread counts (1,2)")
    parser.add_argument("--rounds", type=int, help="interleaved timed rounds (default 5)")
    parser.add_argument("--batch", type=int, help="batch size (default 64)")
    parser.add_argument(
        "--families",
        type=lambda s: [x for x in s.split(",") if x],
        help=f"comma-separated, of: {', '.join(ALL_FAMILIES)} (default all)",
    )
    parser.add_argument("--peak-size", type=int, help="matmul size of the peak (default 2048)")
    parser.add_argument(
        "--slow",
        type=float,
        default=2.0,
        help="seconds: a reference whose first step takes longer is timed once (default 2)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "performance.md")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    args = parser.parse_args(argv)
    quick = {"lengths": [8], "threads": [1], "rounds": 1, "batch": 4, "peak_size": 256}
    full = {"lengths": [20, 100, 400], "threads": [1, 2], "rounds": 5, "batch": 64}
    full |= {"peak_size": 2048, "families": ALL_FAMILIES}
    for key, value in full.items():
        if getattr(args, key) is None:
            setattr(args, key, quick.get(key, value) if args.quick else value)
    unknown = [f for f in args.families if f not in ALL_FAMILIES]
    if unknown:
        parser.error(f"unknown families {unknown}; allowed: {', '.join(ALL_FAMILIES)}")

    rows, peaks = [], {}
    for threads in args.threads:
        torch.set_num_threads(threads)
        peaks[threads] = matmul_peak(args.peak_size, repeats=1 if args.quick else 5)
        print(f"{threads} thread(s): peak {peaks[threads] / 1e9:.1f} GFLOP/s", flush=True)
        for length in args.lengths:
            for family in args.families:
                row = measure(family, length, args.batch, args.rounds, args.slow)
                row["threads"] = threads
                rows.append(row)
                print(
                    f"  N={length} {family}: {row['ours_sps']:.2f} steps/s, "
                    f"ratio {_num(row['ratio'], '.2f')}",
                    flush=True,
                )
    command = "python benchmarks/performance.py " + " ".join(sys.argv[1:] if argv is None else argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    block = render(rows, peaks, args, command.strip())
    # only this command's block changes: the other benchmarks' blocks and the notes stay
    old = args.out.read_text() if args.out.exists() else ""
    if old and BEGIN not in old:
        old = BEGIN + "\n" + END + "\n\n" + old
    text = cost.write_block(old, block, BEGIN, END)
    write_atomic(args.out, lambda tmp: Path(tmp).write_text(text))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
