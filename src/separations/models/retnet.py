"""RetNet (Sun et al., 2023): multi-scale retention in place of attention.

Per head h, with a fixed decay ``gamma_h = 1 - 2^(-5-h)`` (the paper's schedule over heads),
retention is linear attention with an exponential decay over distance::

    parallel:   O = (Q K^T / sqrt(d_k) ⊙ D) V,      D[n, m] = gamma^(n-m) if n >= m else 0
    recurrent:  S_n = gamma S_{n-1} + k_n^T v_n,    o_n = q_n S_n / sqrt(d_k)

Both give the same numbers (a test checks). Training uses the paper's third, chunkwise form
(:func:`~separations.models.linear_attention.decayed_linear_attention`: parallel inside chunks
of 32 positions, recurrent across them), so no T × T matrix is built; :meth:`recurrent` is the
fixed-size-state view the paper's lower bounds are about. Head outputs go through a
GroupNorm (one group per head), are gated by ``swish(x W_G)`` and projected by ``W_O``.

Simplifications, each noted here rather than hidden: no xPos rotation of q and k (positions
enter only through the decay), value width equals the model width (the paper doubles it), and
the official code's extra rescalings of ``Q K^T`` and of ``D``'s rows are left out: the per-head
GroupNorm divides them away up to its epsilon. Blocks are pre-norm
``x + MSR(LN(x))``, ``x + FFN(LN(x))`` with a 4x GELU FFN like the project's Transformer.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .linear_attention import decayed_linear_attention


def decays(heads: int) -> torch.Tensor:
    """gamma_h = 1 - 2^(-5-h), h = 0 .. heads-1."""
    return 1 - 2.0 ** (-5 - torch.arange(heads, dtype=torch.float64))


class MultiScaleRetention(nn.Module):
    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(width, width, bias=False)
        self.k = nn.Linear(width, width, bias=False)
        self.v = nn.Linear(width, width, bias=False)
        self.gate = nn.Linear(width, width, bias=False)
        self.out = nn.Linear(width, width, bias=False)
        self.norm = nn.GroupNorm(heads, width)
        self.register_buffer("log_gamma", torch.log(decays(heads)), persistent=False)

    def _qkv(self, x: torch.Tensor):
        b, t, c = x.shape
        q, k, v = (
            proj(x).view(b, t, self.heads, c // self.heads).transpose(1, 2)
            for proj in (self.q, self.k, self.v)
        )
        return q, k / (c // self.heads) ** 0.5, v  # (b, heads, t, d_k)

    def _finish(self, x: torch.Tensor, o: torch.Tensor) -> torch.Tensor:
        """GroupNorm per head, swish gate, output projection; o is (b, heads, t, d_k)."""
        b, t, c = x.shape
        o = self.norm(o.transpose(1, 2).reshape(b * t, c)).view(b, t, c)
        return self.out(F.silu(self.gate(x)) * o)

    def forward(self, x: torch.Tensor, chunk: int = 32) -> torch.Tensor:
        q, k, v = self._qkv(x)
        return self._finish(x, decayed_linear_attention(q, k, v, self.log_gamma, chunk))

    def recurrent(self, x: torch.Tensor) -> torch.Tensor:
        """Same output one position at a time, carrying S (b, heads, d_k, d_k)."""
        q, k, v = self._qkv(x)
        gamma = torch.exp(self.log_gamma).to(x.dtype)[:, None, None]
        state = q.new_zeros(q.shape[0], self.heads, q.shape[-1], v.shape[-1])
        outs = []
        for i in range(x.shape[1]):
            state = gamma * state + k[:, :, i, :, None] * v[:, :, i, None, :]
            outs.append((q[:, :, i, None, :] @ state).squeeze(2))
        return self._finish(x, torch.stack(outs, dim=2))


class RetNetBlock(nn.Module):
    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(width)
        self.retention = MultiScaleRetention(width, heads)
        self.ln2 = nn.LayerNorm(width)
        self.ffn = nn.Sequential(
            nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width)
        )

    def forward(self, x: torch.Tensor, recurrent: bool = False) -> torch.Tensor:
        h = self.ln1(x)
        x = x + (self.retention.recurrent(h) if recurrent else self.retention(h))
        return x + self.ffn(self.ln2(x))


class RetNet(nn.Module):
    """Backbone: embedded inputs (B×T×d) → hidden states (B×T×d). ``max_len`` is not used."""

    def __init__(self, width: int, depth: int, heads: int, max_len: int) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(RetNetBlock(width, heads) for _ in range(depth))
        self.ln_f = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor, recurrent: bool = False) -> torch.Tensor:
        for block in self.blocks:
            x = block(x, recurrent)
        return self.ln_f(x)
