"""Linear Transformer (Katharopoulos et al., 2020): causal attention with a feature map.

Softmax's ``exp(q·k)`` is replaced by ``phi(q)·phi(k)`` with ``phi(x) = elu(x) + 1 > 0``, so each
position's output is a normalised sum that can be carried forward in a fixed-size state::

    parallel:   o_i = sum_{j<=i} (phi(q_i)·phi(k_j)) v_j / sum_{j<=i} phi(q_i)·phi(k_j)
    recurrent:  S_i = S_{i-1} + phi(k_i)^T v_i,  z_i = z_{i-1} + phi(k_i),
                o_i = phi(q_i) S_i / (phi(q_i)·z_i)

Training uses :func:`decayed_linear_attention`, the chunkwise form shared with RetNet (which adds
a decay): the masked matrix inside chunks of 32 positions, the state carried across chunks, so
no T × T matrix is built. The denominator is the same sum with the values replaced by ones.
:meth:`LinearAttention.recurrent` is the recurrent-network view; a test checks the forms agree.
Everything else is the project's GPT-2-style Transformer: learned absolute positions added to
the input (position information the attention itself does not have), pre-norm blocks with a 4x
tanh-GELU MLP, a final LayerNorm, GPT-2 initialisation.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .transformer import _init_gpt2

EPS = 1e-6  # keeps the normaliser away from zero


def feature_map(x: torch.Tensor) -> torch.Tensor:
    return F.elu(x) + 1


def decayed_linear_attention(q, k, v, log_gamma, chunk: int = 32):
    """o_t = sum_{s<=t} gamma^(t-s) (q_t·k_s) v_s, chunkwise.

    q, k: (b, heads, T, d_k); v: (b, heads, T, d_v); log_gamma: (heads,), 0 for no decay.
    Inside a chunk of length L the sum is a masked (L × L) matrix product; from earlier chunks
    it is ``gamma^(j+1) q_t S`` with S the state at the end of the previous chunk, and
    ``S_c = gamma^L S_{c-1} + sum_j gamma^(L-1-j) k_j^T v_j``. ``chunk >= T`` is the plain
    parallel form.
    """
    b, h, length, _ = q.shape
    size = min(chunk, length)
    pad = -length % size
    if pad:  # zero keys and values at the end add nothing to earlier positions
        q, k, v = (F.pad(z, (0, 0, 0, pad)) for z in (q, k, v))
    chunks = (length + pad) // size
    q, k, v = (z.reshape(b, h, chunks, size, z.shape[-1]) for z in (q, k, v))
    j = torch.arange(size, device=q.device, dtype=q.dtype)
    lg = log_gamma.to(q.dtype).view(h, 1, 1, 1)
    lag = j[:, None] - j[None, :]
    mask = torch.exp(lg * lag.clamp(min=0)).masked_fill(lag < 0, 0.0)  # (h, 1, L, L)
    out = ((q @ k.transpose(-2, -1)) * mask) @ v

    to_end = torch.exp(lg * (size - 1 - j)[:, None])  # (h, 1, L, 1)
    summaries = (k * to_end).transpose(-2, -1) @ v  # (b, h, chunks, d_k, d_v)
    decay = torch.exp(lg[..., 0] * size)  # (h, 1, 1)
    state = v.new_zeros(b, h, k.shape[-1], v.shape[-1])
    before = []
    for summary in summaries.unbind(2):
        before.append(state)
        state = decay * state + summary
    from_start = torch.exp(lg * (j + 1)[:, None])  # (h, 1, L, 1)
    out = out + (q @ torch.stack(before, dim=2)) * from_start
    return out.reshape(b, h, chunks * size, -1)[:, :, :length]


class LinearAttention(nn.Module):
    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def _features(self, x: torch.Tensor):
        b, t, c = x.shape
        q, k, v = self.qkv(x).split(c, dim=2)
        q, k, v = (z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))
        return feature_map(q), feature_map(k), v  # (b, heads, t, d_h)

    def _merge(self, o: torch.Tensor) -> torch.Tensor:
        b, _, t, _ = o.shape
        return self.proj(o.transpose(1, 2).reshape(b, t, -1))

    def forward(self, x: torch.Tensor, chunk: int = 32) -> torch.Tensor:
        q, k, v = self._features(x)
        ones = v.new_ones(*v.shape[:-1], 1)  # the denominator rides along as an extra value
        o = decayed_linear_attention(q, k, torch.cat([v, ones], -1), q.new_zeros(self.heads), chunk)
        return self._merge(o[..., :-1] / (o[..., -1:] + EPS))

    def recurrent(self, x: torch.Tensor) -> torch.Tensor:
        """Same output one position at a time, carrying S (b, heads, d_h, d_h) and z."""
        q, k, v = self._features(x)
        state = q.new_zeros(*q.shape[:2], q.shape[-1], v.shape[-1])
        norm = q.new_zeros(*q.shape[:2], q.shape[-1])
        outs = []
        for i in range(x.shape[1]):
            state = state + k[:, :, i, :, None] * v[:, :, i, None, :]
            norm = norm + k[:, :, i]
            num = (q[:, :, i, None, :] @ state).squeeze(2)
            den = (q[:, :, i] * norm).sum(-1, keepdim=True) + EPS
            outs.append(num / den)
        return self._merge(torch.stack(outs, dim=2))


class LinearBlock(nn.Module):
    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(width)
        self.attn = LinearAttention(width, heads)
        self.ln2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(
            nn.Linear(width, 4 * width), nn.GELU(approximate="tanh"), nn.Linear(4 * width, width)
        )

    def forward(self, x: torch.Tensor, recurrent: bool = False) -> torch.Tensor:
        h = self.ln1(x)
        x = x + (self.attn.recurrent(h) if recurrent else self.attn(h))
        return x + self.mlp(self.ln2(x))


class LinearTransformer(nn.Module):
    """Backbone: embedded inputs (B×T×d) → hidden states (B×T×d)."""

    def __init__(self, width: int, depth: int, heads: int, max_len: int) -> None:
        super().__init__()
        self.pos = nn.Embedding(max_len, width)
        self.blocks = nn.ModuleList(LinearBlock(width, heads) for _ in range(depth))
        self.ln_f = nn.LayerNorm(width)
        self.apply(_init_gpt2)

    def forward(self, x: torch.Tensor, recurrent: bool = False) -> torch.Tensor:
        x = x + self.pos(torch.arange(x.shape[1], device=x.device))
        for block in self.blocks:
            x = block(x, recurrent)
        return self.ln_f(x)
