"""Hybrid backbone: ``depth`` Mamba blocks, then one causal attention block.

Paper 2 (Wen, Dang and Lyu) shows that one attention layer on top of a recurrent stack is enough
for in-context retrieval (associative recall): the Mamba blocks carry order and local context, the
attention block looks a query's key up among all earlier positions. The blocks are the project's
own: :class:`~separations.models.mamba.MambaBlock` and the GPT-2 block of
:mod:`separations.models.transformer` (softmax attention, ``heads`` heads, MLP of width 4d). There
is no positional embedding: the Mamba blocks (causal convolution and recurrence) order the
sequence, as in the hybrid of :mod:`separations.models.lm`.

It is not a fixed-state model (the attention block reads every earlier position), so the registry
marks it non-recurrent.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .mamba import MambaBlock, RMSNorm
from .transformer import Block, _init_gpt2


class Hybrid(nn.Module):
    """Backbone: embedded inputs (B×T×d) → hidden states (B×T×d); ``depth`` counts the Mamba
    blocks (the attention block comes on top). ``max_len`` is not used."""

    def __init__(self, width: int, depth: int, heads: int, max_len: int, d_state: int = 16) -> None:
        super().__init__()
        self.layers = nn.ModuleList(MambaBlock(width, d_state=d_state) for _ in range(depth))
        self.norm_mamba = RMSNorm(width)
        self.attention = Block(width, heads)
        self.attention.apply(_init_gpt2)
        self.norm_f = nn.LayerNorm(width)
        with torch.no_grad():  # as in Mamba: residual outputs scaled by 1/sqrt(depth) at init
            for layer in self.layers:
                layer.mixer.out_proj.weight /= math.sqrt(depth)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return self.norm_f(self.attention(self.norm_mamba(x)))
