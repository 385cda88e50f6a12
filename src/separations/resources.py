"""Cluster resources of one training job (runtime, memory), estimated from its spec.

The SLURM profile asks the scheduler for what each job needs rather than one constant: a width-64
LSTM at N=20 and a 6-layer width-512 Transformer at N=400 differ by five orders of magnitude in
compute. The estimate is a FLOP count (a cost model, not a measurement):

* parameters per layer: the family's size model, ``layer_params x w^2`` (its entry in the model
  registry, :data:`separations.models.FAMILIES`: ``8 w^2`` for an LSTM, 4 gates of 2 w^2; ``6 w^2``
  for a GRU; ``12 w^2`` for the others, a mixing block of about 4 w^2 and an 8 w^2 MLP), plus
  embeddings and the output head;
* a training step: ``6 x parameters x tokens`` (forward and backward) with tokens = batch x sequence
  length, plus ``12 d w T^2`` per example of softmax attention for non-recurrent families;
* evaluations: every ``eval_every`` steps a forward pass over the evaluation set (a third of a
  training step per example);
* a floor per step for what FLOPs do not capture (Python and kernel launches; a recurrent model's
  sequential time steps): tiny models cost a few milliseconds a step whatever their FLOPs;
* ``learning_rates x seeds`` runs, each up to ``max_steps`` (a solved run stops early, so this is
  an upper bound).

Seconds follow from a throughput per device (:data:`DEVICES`; the CPU figure is calibrated on the
committed ``cpu`` sweep: about 3e10 FLOP/s per thread). The runtime asked for is that times a safety
margin, plus start-up time, at least ``min_minutes``; attempt ``a`` (a retry of a job that ran out
of time, say) asks for ``growth ** (a - 1)`` times that, at most ``max_minutes``: a job longer than
the partition's limit continues from its checkpoint in the next attempt.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .specs import ClassifierSpec


@dataclass(frozen=True)
class Device:
    flops: float  # sustained FLOP/s of one training process (per thread on CPUs)
    step_floor_s: float  # seconds a step costs at least, per layer
    recurrent_floor_s: float  # extra seconds per time step and layer of a recurrent model
    base_mem_mb: int  # host memory of the Python process with torch loaded (CUDA context on GPUs)


DEVICES = {
    "cpu": Device(flops=3e10, step_floor_s=2e-3, recurrent_floor_s=2e-5, base_mem_mb=1000),
    "gpu": Device(flops=5e12, step_floor_s=2e-3, recurrent_floor_s=2e-5, base_mem_mb=3000),
}

#: what :func:`runtime_minutes` and :func:`mem_mb` use unless told otherwise
DEFAULTS = {
    "margin": 1.5,  # times the estimate
    "startup_minutes": 2,  # imports, reading the evaluation set, scheduler overhead
    "growth": 2.0,  # each attempt asks for this factor more time than the previous one
    "min_minutes": 10,
    "max_minutes": 2880,  # 48 h
}

#: parameters per layer, in units of width^2, of a model outside the registry (mixing block and
#: MLP); a registered family's own is its ``layer_params``
ATTENTION_LAYER = 12


def _is_recurrent(model: str) -> bool:
    from .families import FAMILIES

    family = FAMILIES.get(model)
    return bool(family and family.recurrent)


def layer_params(model: str) -> float:
    """Parameters of one layer of ``model`` in units of width^2: the family's size model."""
    from .families import FAMILIES

    family = FAMILIES.get(model)
    return family.layer_params if family is not None else ATTENTION_LAYER


def _sequence(spec: ClassifierSpec) -> tuple[int, int, int]:
    """(sequence length, vocabulary size, outputs) of the job's task, or rough stand-ins."""
    try:
        from .tasks import build_task

        task = build_task(spec.task, spec.length, spec.task_params or {})
        return int(task.max_len), int(task.vocab_size), int(task.num_outputs)
    except Exception:  # noqa: BLE001 - an estimate must not stop the workflow
        length = int(spec.length)
        return length + 1, 2 * length + 64, 64


def parameters(spec: ClassifierSpec) -> int:
    """Approximate parameter count of the job's model."""
    seq, vocab, outputs = _sequence(spec)
    d, w = int(spec.depth), int(spec.width)
    return int(d * layer_params(spec.model) * w * w) + (vocab + seq + outputs) * w


def step_flops(spec: ClassifierSpec) -> float:
    """FLOPs of one training step (forward and backward)."""
    seq, _, _ = _sequence(spec)
    batch = int(spec.batch_size)
    flops = 6.0 * parameters(spec) * batch * seq
    if not _is_recurrent(spec.model):
        flops += 12.0 * int(spec.depth) * int(spec.width) * seq * seq * batch
    return flops


def runs(spec: ClassifierSpec) -> float:
    """Run budgets the job trains at most: every learning rate and seed, less what learning-rate
    pruning (successive halving) stops at its rungs."""
    import math

    lrs, seeds = len(spec.learning_rates), len(spec.seeds)
    pruning = spec.pruning
    if not pruning or lrs < 2:
        return float(lrs * seeds)
    total, start, alive = 0.0, 0.0, lrs
    for rung in sorted(pruning["rungs"]):
        total += alive * seeds * (rung - start)
        start, alive = rung, max(1, math.ceil(pruning["keep"] * alive))
    return total + alive * seeds * (1.0 - start)


def job_seconds(spec: ClassifierSpec, device: str = "cpu", threads: int | None = None) -> float:
    """Estimated seconds of computation of the whole job (every run to ``max_steps``)."""
    dev = DEVICES[device]
    threads = threads or int(spec.threads)
    # Threads help sublinearly; a GPU process uses one.
    flops = dev.flops * (max(1, threads) ** 0.7 if device == "cpu" else 1.0)
    seq, _, _ = _sequence(spec)
    depth = int(spec.depth)
    floor = dev.step_floor_s * depth
    if _is_recurrent(spec.model):
        floor += dev.recurrent_floor_s * seq * depth * 3  # forward, backward, update
    step = max(step_flops(spec) / flops, floor)
    steps = int(spec.max_steps)
    evals = steps // int(spec.eval_every) + 1
    eval_examples = int(spec.eval_size)
    eval_step = step_flops(spec) / 3.0 / int(spec.batch_size) * eval_examples / flops
    return runs(spec) * (steps * step + evals * eval_step)


def runtime_minutes(
    spec: ClassifierSpec,
    attempt: int = 1,
    *,
    device: str = "cpu",
    threads: int | None = None,
    margin: float = DEFAULTS["margin"],
    startup_minutes: float = DEFAULTS["startup_minutes"],
    growth: float = DEFAULTS["growth"],
    min_minutes: int = DEFAULTS["min_minutes"],
    max_minutes: int = DEFAULTS["max_minutes"],
) -> int:
    """Wall-clock minutes to ask for in this attempt (1, 2, ...) of the job."""
    if attempt < 1:
        raise ValueError(f"attempt counts from 1, got {attempt}")
    if min_minutes > max_minutes:
        raise ValueError(f"min_minutes {min_minutes} > max_minutes {max_minutes}")
    estimate = margin * job_seconds(spec, device, threads) / 60.0 + startup_minutes
    first = max(min_minutes, math.ceil(estimate))
    return int(min(max_minutes, math.ceil(first * growth ** (attempt - 1))))


def mem_mb(spec: ClassifierSpec, device: str = "cpu") -> int:
    """Host memory (MB) to ask for: torch, the model with Adam state, and activations on CPUs."""
    dev = DEVICES[device]
    seq, _, _ = _sequence(spec)
    d, w = int(spec.depth), int(spec.width)
    batch = int(spec.batch_size)
    state = 16 * parameters(spec)  # weights, gradients, two Adam moments (float32)
    data = 8 * seq * (int(spec.eval_size) + batch)  # int64 token ids
    heads = int(spec.heads or 1)
    per_example = 20 * seq * w * d  # activations kept for backward, in floats
    if not _is_recurrent(spec.model):
        per_example += 3 * heads * seq * seq * d
    eval_batch = int(spec.eval_batch_size)
    activations = 4 * per_example * max(batch, eval_batch // 3)
    needed = state + data + (activations if device == "cpu" else 0)
    total = dev.base_mem_mb + 1.5 * needed / 2**20
    return int(math.ceil(total / 256.0) * 256)


def bundle_shape(size: int, cores: int | None, threads: int) -> tuple[int, int]:
    """(width, layers) of a bundle of ``size`` training jobs of ``threads`` threads each, as
    Snakemake sizes a group job under ``--cores`` (None: unlimited): it stacks them in layers of
    ``width`` jobs whose threads fit in the cores, summing CPUs and memory within a layer and run
    times across layers."""
    size = max(1, int(size))
    width = size if not cores else max(1, min(size, cores // max(1, threads)))
    return width, -(-size // width)


def bundled_minutes(minutes: int, width: int, layers: int, max_minutes: int) -> int:
    """Minutes one job of a bundle asks for: the SLURM plugin runs a bundle's jobs one after
    another (a job step each), so a layer of ``width`` jobs takes up to ``width`` times its
    longest job; Snakemake sums the layers, and the whole stays within ``max_minutes``."""
    return min(width * minutes, max_minutes // layers)
