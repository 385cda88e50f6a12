"""LLaMA-style causal Transformer: RMSNorm, rotary positions, SwiGLU MLP, no biases.

The backbone maps embedded tokens (B×T×d) to hidden states (B×T×d); the embedding and the output
head belong to the language model around it (:mod:`separations.models.lm`). For generation a
:class:`KVCache` holds every layer's keys and values, so each new token costs one position, not a
pass over the whole prefix; ``forward(x, cache)`` appends ``x`` at the cache's position.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class RMSNorm(nn.Module):
    def __init__(self, width: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


class Rotary(nn.Module):
    """Rotary position embedding (rotate-half convention), precomputed for ``max_len`` positions."""

    def __init__(self, head_dim: int, max_len: int, base: float = 10000.0) -> None:
        super().__init__()
        if head_dim % 2:
            raise ValueError(f"rotary positions need an even head dimension, got {head_dim}")
        inv = 1.0 / base ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
        angles = torch.outer(torch.arange(max_len, dtype=torch.float32), inv)
        angles = torch.cat([angles, angles], dim=-1)
        self.register_buffer("cos", angles.cos(), persistent=False)
        self.register_buffer("sin", angles.sin(), persistent=False)
        self.max_len = max_len

    def forward(self, x: torch.Tensor, start: int) -> torch.Tensor:
        """Rotate ``x`` (B×H×T×hd) as positions ``start .. start+T-1``."""
        t = x.shape[-2]
        if start + t > self.max_len:
            raise ValueError(
                f"sequence of {start + t} tokens exceeds the model's context of {self.max_len}"
            )
        cos, sin = self.cos[start : start + t], self.sin[start : start + t]
        half = x.shape[-1] // 2
        rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
        return x * cos + rotated * sin


class KVCache:
    """Keys and values of every layer for ``batch`` sequences of up to ``max_len`` tokens."""

    def __init__(self, layers: int, batch: int, heads: int, head_dim: int, max_len: int, like):
        shape = (layers, batch, heads, max_len, head_dim)
        self.k = torch.zeros(shape, dtype=like.dtype, device=like.device)
        self.v = torch.zeros(shape, dtype=like.dtype, device=like.device)
        self.pos = 0
        self.max_len = max_len


class Attention(nn.Module):
    def __init__(self, width: int, heads: int, max_len: int) -> None:
        super().__init__()
        if width % heads:
            raise ValueError(f"width {width} is not divisible by heads {heads}")
        self.heads, self.head_dim = heads, width // heads
        self.q = nn.Linear(width, width, bias=False)
        self.k = nn.Linear(width, width, bias=False)
        self.v = nn.Linear(width, width, bias=False)
        self.o = nn.Linear(width, width, bias=False)
        self.rotary = Rotary(self.head_dim, max_len)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0):
        b, t, c = x.shape
        q, k, v = (
            proj(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
            for proj in (self.q, self.k, self.v)
        )
        start = cache.pos if cache is not None else 0
        q, k = self.rotary(q, start), self.rotary(k, start)
        if cache is None:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            cache.k[layer, :, :, start : start + t] = k
            cache.v[layer, :, :, start : start + t] = v
            keys = cache.k[layer, :, :, : start + t]
            values = cache.v[layer, :, :, : start + t]
            if t == 1:
                y = F.scaled_dot_product_attention(q, keys, values)
            else:  # a chunk: causal within it, full view of the cached prefix
                rows = torch.arange(start, start + t, device=x.device)[:, None]
                cols = torch.arange(start + t, device=x.device)[None, :]
                y = F.scaled_dot_product_attention(q, keys, values, attn_mask=cols <= rows)
        return self.o(y.transpose(1, 2).reshape(b, t, c))


class SwiGLU(nn.Module):
    def __init__(self, width: int, hidden: int) -> None:
        super().__init__()
        self.gate = nn.Linear(width, hidden, bias=False)
        self.up = nn.Linear(width, hidden, bias=False)
        self.down = nn.Linear(hidden, width, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(F.silu(self.gate(x)) * self.up(x))


class DecoderLayer(nn.Module):
    """Pre-norm residual block: causal self-attention, then a SwiGLU MLP."""

    def __init__(self, width: int, heads: int, ffn: int, max_len: int) -> None:
        super().__init__()
        self.attn_norm = RMSNorm(width)
        self.attn = Attention(width, heads, max_len)
        self.mlp_norm = RMSNorm(width)
        self.mlp = SwiGLU(width, ffn)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0):
        x = x + self.attn(self.attn_norm(x), cache, layer)
        return x + self.mlp(self.mlp_norm(x))


class Llama(nn.Module):
    """Backbone: ``depth`` decoder layers and a final RMSNorm (B×T×d → B×T×d)."""

    def __init__(
        self, width: int, depth: int, heads: int, max_len: int, ffn: int | None = None
    ) -> None:
        super().__init__()
        self.width, self.heads, self.max_len = width, heads, max_len
        self.layers = nn.ModuleList(
            DecoderLayer(width, heads, ffn or 4 * width, max_len) for _ in range(depth)
        )
        self.norm = RMSNorm(width)
        self.apply(_init_normal)

    def new_cache(self, batch: int, like: torch.Tensor) -> KVCache:
        return KVCache(
            len(self.layers), batch, self.heads, self.width // self.heads, self.max_len, like
        )

    def forward(self, x: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x, cache, i)
        if cache is not None:
            cache.pos += x.shape[1]
        return self.norm(x)


def _init_normal(module: nn.Module) -> None:
    """LLaMA's initialisation: N(0, 0.02) linear weights."""
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, std=0.02)
