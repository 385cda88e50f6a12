"""FLOPs per token of each family's layers: the formulas of :mod:`separations.cost`.

One formula per family name, in :data:`FORMULAS`: a paper-1 family's name, or the ``flops`` name a
paper-2 language-model family gives in its registry line (:data:`separations.families.LM_FAMILIES`).
A family trained in the ``paper`` grid needs one (the report estimates that grid's GPU-hours);
the config check refuses a ``paper`` grid naming a family without one, before any work. Pure
arithmetic, no torch: the config check reads it at every Snakemake start.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

#: the sweep whose GPU-hours the report estimates (:func:`separations.cost.config_part`), in
#: paper 1's ``sweeps`` and in ``istree.sweeps``
COSTED_SWEEP = "paper"
#: FLOPs of the selective scan per token, channel and state (exp, decay, input, read-out)
SCAN_FLOPS = 8
#: chunk length of the chunked linear-attention form (RetNet, linear Transformer)
CHUNK = 32


@dataclass(frozen=True)
class Model:
    """What the FLOP count needs of one model: family, sizes, sequence and vocabulary."""

    family: str
    depth: int
    width: int
    length: int  # T, tokens per example
    heads: int = 1
    outputs: int = 0  # output head width (at every position)
    inputs: int = 0  # input width of a linear encoder (vector inputs); 0: an embedding lookup
    ffn: int | None = None  # SwiGLU width of the LM families (None: 4 d GELU MLP)
    d_state: int = 16


def _attention(d: int, t: int, mlp: float) -> float:
    """One attention block per token: projections 8 d^2, MLP, scores and values 4 T d."""
    return 8 * d * d + mlp + 4 * t * d


def _mamba(d: int, n: int) -> float:
    """One Mamba block per token (expand 2, conv 4, dt rank ceil(d / 16))."""
    e, r = 2 * d, math.ceil(d / 16)
    projections = 2 * d * 2 * e + 2 * e * d + 2 * e * (r + 2 * n) + 2 * r * e
    return projections + 2 * 4 * e + SCAN_FLOPS * e * n


def _chunked(d: int, t: int, heads: int) -> float:
    """Decayed linear attention in chunks, per token: intra-chunk 4 C d, state 4 d d_h."""
    return 4 * min(CHUNK, t) * d + 4 * d * (d // heads)


def _mlp(m: Model) -> float:
    """The feed-forward block per token: SwiGLU ``6 d f`` (LM families), else a 4d GELU MLP."""
    return 6 * m.width * m.ffn if m.ffn else 16 * m.width * m.width


def _attention_layers(m: Model) -> float:
    return m.depth * _attention(m.width, m.length, _mlp(m))


def _lstm(m: Model) -> float:
    return m.depth * 16 * m.width * m.width


def _gru(m: Model) -> float:
    return m.depth * 12 * m.width * m.width


def _mamba_layers(m: Model) -> float:
    return m.depth * _mamba(m.width, m.d_state)


def _dss(m: Model) -> float:
    d = m.width
    return m.depth * (2 * d * d + 15 * d * math.log2(2 * m.length))


def _retnet(m: Model) -> float:
    d = m.width
    return m.depth * (10 * d * d + 16 * d * d + _chunked(d, m.length, m.heads))


def _linear(m: Model) -> float:
    d = m.width
    return m.depth * (24 * d * d + _chunked(d, m.length, m.heads))


def _hybrid(m: Model) -> float:
    """Mamba blocks and one attention block."""
    return m.depth * _mamba(m.width, m.d_state) + _attention(m.width, m.length, _mlp(m))


#: forward FLOPs of a family's layers per token, by family name (paper 2's language models by
#: their registry's ``flops`` name)
FORMULAS: dict[str, Callable[[Model], float]] = {
    "transformer": _attention_layers,
    "llama": _attention_layers,
    "lstm": _lstm,
    "gru": _gru,
    "mamba": _mamba_layers,
    "mamba-lm": _mamba_layers,
    "dss": _dss,
    "retnet": _retnet,
    "linear": _linear,
    "hybrid": _hybrid,
    "hybrid-lm": _hybrid,
}


def layer_flops(m: Model) -> float:
    """Forward FLOPs of the backbone's layers, per token."""
    formula = FORMULAS.get(m.family)
    if formula is None:
        raise ValueError(f"no FLOP formula for family {m.family!r}")
    return formula(m)
