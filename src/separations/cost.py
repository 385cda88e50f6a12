"""What a sweep costs on a GPU: model FLOPs per training step, steps expected, GPU-hours.

    python benchmarks/gpu_hours.py        # the table, and its block in docs/performance.md

A cost model, not a measurement. FLOPs are counted analytically, per token of one training
example, for the layers each family really has (``separations.models``):

* matmuls ``2 m n k``; a training step is forward + backward = 3 x forward, over
  ``batch x T`` tokens (T: the task's ``max_len``, the longest input);
* Transformer / LLaMA layer: projections (``8 d^2``), the MLP (``16 d^2``; SwiGLU ``6 d f``) and
  attention scores and values ``4 T d`` per token (the full T x T, as FlopCounterMode counts SDPA);
* LSTM / GRU: four / three gates of ``2 (d^2 + d^2)``;
* Mamba block (expand 2, inner e = 2d, state n): in/out projections ``12 d^2``, x_proj and dt_proj,
  the depthwise convolution, and the selective scan ``SCAN_FLOPS x e x n`` per token;
* DSS: the FFT convolution (three FFTs of length 2T per channel) and the output projection;
* RetNet / linear attention: projections and MLP, and the chunked form (chunk ``CHUNK``):
  intra-chunk ``4 C d``, state read and update ``4 d d_h`` per token;
* the hybrid: its Mamba blocks plus one attention block; every model: the input layer (a matmul
  only for vector inputs) and the output head at every position.

The formulas, one per family, are :data:`separations.flops.FORMULAS`. Checked against
``torch.utils.flop_counter.FlopCounterMode`` in tests/test_cost.py (which sees
the matmuls but not the recurrent kernels or the scan). For Mamba blocks the counter reports ~40%
more than this model (0.46 against 0.33 GFLOP a step for one layer at width 64, N = 20, batch
64): it counts the depthwise convolution's backward as an ungrouped one (``groups`` = 128 times
too much, torch 2.13) and misses the scan; with both set aside the two agree within 1%.

Steps expected (:func:`run_equivalents`): successive halving as the runner does it
(:func:`separations.settings.rung_steps`; the best ``ceil(keep x alive)`` rates go on at each rung),
so per seed ``sum_i alive_i x (rung_i - rung_{i-1})``; with no early stopping this is an upper
bound, and ``early_stop`` (a factor in (0, 1]) scales it for runs that stop once solved.
Evaluation: a forward pass (1/3 of a step per example) over the validation set every
``eval_every`` steps and at step 0, and over the test set once per run.

GPU-hours = FLOPs / (peak x utilisation); the utilisation is a stated assumption (a range,
:data:`UTILISATION`). Small models do not reach it: a step is bounded below by kernel launches,
:func:`launch_floor_seconds` (steps x layers x kernels per layer x :data:`LAUNCH_S`).

Importing this module does not import torch; expanding a sweep from config.yaml does (the task
and model registries).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# the formulas per family live in separations.flops (the config check reads them); re-exported
from .flops import CHUNK, COSTED_SWEEP, FORMULAS, SCAN_FLOPS, Model, layer_flops  # noqa: F401
from .specs import JobSpec

#: peak fp32 FLOP/s of one GPU (datasheets); TF32 tensor cores on the A100: 156e12
PEAKS = {"A100": 19.5e12, "V100": 15.7e12}
A100_TF32 = 156e12
#: fraction of peak a training step sustains: the low and high end of the stated range (the
#: Transformer reaches 17-46% of the measured fp32 matmul peak on one CPU core,
#: docs/performance.md)
UTILISATION = (0.2, 0.5)
#: seconds per kernel launch (forward and backward, host-side) and kernels per layer and step
LAUNCH_S = 10e-6
KERNELS_PER_LAYER = 60
#: paper 1's reported compute (../shared/spec/paper1-separations.md): at most 1,200 GPU-hours
#: on V100 and 1080 Ti GPUs; paper 2's: 8 A100s for about 2 days
PAPER1_GPU_HOURS = 1200
PAPER2_GPU_HOURS = 8 * 48


def forward_flops(m: Model, batch: int) -> float:
    """Forward FLOPs of one batch: layers, input layer and output head at every position."""
    per_token = layer_flops(m) + 2 * m.width * (m.outputs + m.inputs)
    return batch * m.length * per_token


def step_flops(m: Model, batch: int) -> float:
    """One training step: forward and backward, 3 x forward (the optimizer update not counted)."""
    return 3 * forward_flops(m, batch)


def layers(m: Model) -> int:
    """Blocks a step runs (the hybrid's attention block counts as one more)."""
    return m.depth + (1 if m.family in ("hybrid", "hybrid-lm") else 0)


# -- steps ----------------------------------------------------------------------------------------
def run_equivalents(spec: JobSpec) -> float:
    """Full-length runs per seed that successive halving leaves: sum_i alive_i x stage_i / cap."""
    from .settings import rung_steps

    total, alive = spec.max_steps, len(spec.learning_rates)
    keep = (spec.pruning or {}).get("keep", 1.0)
    steps, start = 0.0, 0
    for rung in rung_steps(spec):
        steps += alive * (rung - start)
        start, alive = rung, max(1, math.ceil(keep * alive))
    steps += alive * (total - start)
    return steps / total


# -- jobs -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class JobCost:
    job: str
    model: Model
    batch: int
    runs: int  # learning rates x seeds
    steps: float  # training steps expected, all runs (no early stopping)
    train_flops: float
    eval_flops: float

    @property
    def flops(self) -> float:
        return self.train_flops + self.eval_flops


def _job_cost(job: str, spec: JobSpec, m: Model) -> JobCost:
    seeds = len(spec.seeds)
    steps = seeds * run_equivalents(spec) * spec.max_steps
    batch = spec.batch_size
    runs = len(spec.learning_rates) * seeds
    per_example = forward_flops(m, 1)
    evals = (steps / spec.eval_every + runs) * spec.eval_size + runs * spec.test_size
    return JobCost(job, m, batch, runs, steps, steps * step_flops(m, batch), evals * per_example)


def paper1_costs(config: dict[str, Any], sweep: str) -> list[JobCost]:
    """Every job of a paper-1 sweep (``sweeps.<sweep>``) with its cost."""
    from .config import job_specs
    from .tasks import build_task

    out = []
    for job, spec in job_specs(config, sweep).items():
        task = build_task(spec.task, spec.length, spec.task_params)
        m = Model(
            spec.model,
            spec.depth,
            spec.width,
            task.max_len,
            heads=spec.heads or 1,
            outputs=task.num_outputs,
            inputs=task.vocab_size if task.input_kind == "vectors" else 0,
        )
        out.append(_job_cost(job, spec, m))
    return out


def istree_costs(config: dict[str, Any], sweep: str) -> list[JobCost]:
    """Every job of an IsTree sweep (``istree.sweeps.<sweep>``) with its cost."""
    from .families import LM_FAMILIES
    from .istree.sweeps import job_specs
    from .tasks.istree.vocab import Vocab

    out = []
    for job, spec in job_specs(config.get("istree") or {}, sweep).items():
        vocab = len(Vocab(spec.n))
        m = Model(
            LM_FAMILIES[spec.family].flops,
            spec.depth,
            spec.width,
            spec.max_len,
            heads=spec.heads or 1,
            outputs=vocab,  # the tied LM head
            ffn=spec.ffn,
            d_state=spec.d_state or 16,
        )
        out.append(_job_cost(job, spec, m))
    return out


# -- totals ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Estimate:
    part: str
    jobs: int
    runs: int
    steps: float
    flops: float
    eval_share: float
    launch_floor_s: float

    def gpu_hours(self, gpu: str, utilisation: float, early_stop: float = 1.0) -> float:
        return early_stop * self.flops / (PEAKS[gpu] * utilisation) / 3600

    def hours_range(self, gpu: str, early_stop: float = 1.0) -> tuple[float, float]:
        """GPU-hours at the high and the low end of :data:`UTILISATION` (fewer first)."""
        low, high = UTILISATION
        return self.gpu_hours(gpu, high, early_stop), self.gpu_hours(gpu, low, early_stop)

    @property
    def floor_hours(self) -> float:
        return self.launch_floor_s / 3600


def launch_floor_seconds(costs: Iterable[JobCost]) -> float:
    """Kernel-launch bound: steps x layers x kernels per layer x seconds per launch."""
    return sum(c.steps * layers(c.model) * KERNELS_PER_LAYER * LAUNCH_S for c in costs)


def estimate(part: str, costs: list[JobCost]) -> Estimate:
    flops = sum(c.flops for c in costs)
    evals = sum(c.eval_flops for c in costs)
    return Estimate(
        part=part,
        jobs=len(costs),
        runs=sum(c.runs for c in costs),
        steps=sum(c.steps for c in costs),
        flops=flops,
        eval_share=evals / flops if flops else 0.0,
        launch_floor_s=launch_floor_seconds(costs),
    )


def sweep_estimates(config: dict[str, Any], sweep: str = COSTED_SWEEP) -> list[Estimate]:
    """Paper 1's part and paper 2's IsTree part of ``sweep`` (a part without jobs is left out)."""
    parts = [
        (
            f"paper 1 ({sweep} sweep)",
            paper1_costs(config, sweep) if sweep in config["sweeps"] else [],
        ),
        (f"paper 2 IsTree ({sweep} sweep)", istree_costs(config, sweep)),
    ]
    return [estimate(name, costs) for name, costs in parts if costs]


def _hours(x: float) -> str:
    return f"{x:,.0f}" if x >= 10 else f"{x:.1f}"


def numbers(estimates: list[Estimate]) -> dict[str, str]:
    """The report's macros: the sweep's GPU-hours (ranges over UTILISATION), the papers'."""
    flops = sum(e.flops for e in estimates)
    floor = sum(e.launch_floor_s for e in estimates)
    total = Estimate("all", 0, 0, 0.0, flops, 0.0, floor)
    out = {}
    for gpu in PEAKS:
        low, high = total.hours_range(gpu)
        out[f"gpu-hours-paper-{gpu.lower()}"] = f"{_hours(low)}--{_hours(high)}"
    out["gpu-hours-paper-floor"] = _hours(total.floor_hours)
    out["gpu-hours-paper-pflop"] = f"{flops / 1e15:,.0f}"
    out["gpu-hours-utilisation"] = "--".join(f"{100 * u:g}\\%" for u in UTILISATION)
    out["gpu-hours-paper1-reported"] = f"{PAPER1_GPU_HOURS:,}"
    out["gpu-hours-paper2-reported"] = f"{PAPER2_GPU_HOURS:,}"
    for e in estimates:
        key = "paper1" if e.part.startswith("paper 1") else "istree"
        low, high = e.hours_range("A100")
        out[f"gpu-hours-{key}-a100"] = f"{_hours(low)}--{_hours(high)}"
    return out


# -- docs/performance.md --------------------------------------------------------------------------
BEGIN, END = "<!-- gpu-hours:begin -->", "<!-- gpu-hours:end -->"


def markdown(estimates: list[Estimate], command: str, early_stop: float = 1.0) -> str:
    """The block docs/performance.md holds: the table and its assumptions."""
    low, high = UTILISATION
    rows = [
        "## GPU-hours of the `paper` sweep (estimate)",
        "",
        f"Written by `{command}` from config.yaml (a cost model, not a measurement;",
        "the docstring of `src/separations/cost.py` gives the FLOP formulas). Upper bound:",
        "every run goes to its step cap (no early stopping), learning rates pruned by successive",
        "halving as the runner does it; evaluation included. Utilisation",
        f"{100 * low:g}-{100 * high:g}% of the",
        f"fp32 peak (A100 {PEAKS['A100'] / 1e12:g}, V100 {PEAKS['V100'] / 1e12:g} TFLOP/s): the",
        "Transformer sustains 17-46% of the measured matmul peak on a CPU core (tables above);",
        "small models run far below peak on a GPU, so the launch-bound floor (steps x layers x",
        f"{KERNELS_PER_LAYER} kernels x {LAUNCH_S * 1e6:g} us) is a lower bound on any GPU. TF32",
        f"tensor cores ({A100_TF32 / 1e12:g} TFLOP/s on an A100) would cut the A100 hours by up to",
        f"{A100_TF32 / PEAKS['A100']:.0f}x for the large cells.",
        f"Early-stopping factor: {early_stop:g}.",
        "",
        "| part | jobs | runs | steps | PFLOP | eval share | A100 GPU-h | V100 GPU-h "
        "| launch floor (GPU-h) | the paper reports |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for e in estimates:
        a100 = e.hours_range("A100", early_stop)
        v100 = e.hours_range("V100", early_stop)
        reported = (
            f"≤ {PAPER1_GPU_HOURS:,} (V100, 1080 Ti)"
            if e.part.startswith("paper 1")
            else f"8 A100 x ~2 days ≈ {PAPER2_GPU_HOURS:,}"
        )
        rows.append(
            f"| {e.part} | {e.jobs:,} | {e.runs:,} | {e.steps:,.0f} | {e.flops / 1e15:,.0f} "
            f"| {100 * e.eval_share:.1f}% | {_hours(a100[0])}-{_hours(a100[1])} "
            f"| {_hours(v100[0])}-{_hours(v100[1])} | {_hours(e.floor_hours)} | {reported} |"
        )
    rows += [
        "",
        "Paper 1's grid as configured here (every learning rate and seed of every cell to its",
        "step cap) is an upper bound far above the compute the paper reports; runs that stop once",
        "solved, fewer seeds or smaller caps close the gap (`--early-stop` scales the estimate",
        "linearly); which of these the paper used, it does not say.",
    ]
    return "\n".join(rows) + "\n"


def write_block(text: str, block: str, begin: str = BEGIN, end: str = END) -> str:
    """``text`` with the block between ``begin`` and ``end`` replaced (appended when there is
    none): how the benchmarks keep their tables in docs/performance.md current."""
    wrapped = f"{begin}\n{block.rstrip()}\n{end}"
    start, stop = text.find(begin), text.find(end)
    if start >= 0 and stop > start:
        return text[:start] + wrapped + text[stop + len(end) :]
    return text.rstrip("\n") + "\n\n" + wrapped + "\n"


def config_part(config: dict[str, Any], sweep: str = COSTED_SWEEP) -> dict[str, Any]:
    """What :func:`sweep_estimates` reads of ``config`` for ``sweep`` (the report's input)."""
    istree = dict(config.get("istree") or {})
    istree["sweeps"] = {k: v for k, v in (istree.get("sweeps") or {}).items() if k == sweep}
    return {
        "training": config["training"],
        "tasks": config.get("tasks") or {},
        "sweeps": {k: v for k, v in config["sweeps"].items() if k == sweep},
        "istree": istree,
    }
