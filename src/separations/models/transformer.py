"""GPT-2-style causal Transformer: learned absolute positions, pre-norm blocks, final LayerNorm.

Matches Hugging Face ``GPT2Model`` layer for layer (tanh-GELU MLP of width 4d, biases, no dropout),
which a test checks by loading the same weights into both.

Two options exist for hand-set constructions (``separations.constructions``) and leave the default
model unchanged: ``attention`` ("softmax", the default, uses PyTorch's fused kernel; "hard" puts
equal weight on the positions of maximal score; "linear" is causal linear attention, the scores
used as weights without softmax) and ``activation`` of the MLP ("gelu", the default, or "relu").
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

ATTENTION_KINDS = ("softmax", "hard", "linear")
ACTIVATIONS = {"gelu": lambda: nn.GELU(approximate="tanh"), "relu": nn.ReLU}


def attention_weights(scores: torch.Tensor, kind: str, allowed: torch.Tensor | None = None):
    """Mixing weights from scaled scores (..., queries, keys); ``allowed`` masks keys (bool)."""
    if kind == "linear":
        return scores if allowed is None else scores.masked_fill(~allowed, 0.0)
    if allowed is not None:
        scores = scores.masked_fill(~allowed, float("-inf"))
    if kind == "softmax":
        return torch.softmax(scores, dim=-1)
    if kind == "hard":
        top = (scores == scores.amax(dim=-1, keepdim=True)).to(scores.dtype)
        return top / top.sum(dim=-1, keepdim=True)
    raise ValueError(f"unknown attention {kind!r}; allowed: {', '.join(ATTENTION_KINDS)}")


class CausalSelfAttention(nn.Module):
    def __init__(self, width: int, heads: int, attention: str = "softmax") -> None:
        super().__init__()
        if attention not in ATTENTION_KINDS:
            raise ValueError(
                f"unknown attention {attention!r}; allowed: {', '.join(ATTENTION_KINDS)}"
            )
        self.heads = heads
        self.attention = attention
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = self.qkv(x).split(c, dim=2)
        q, k, v = (z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))
        if self.attention == "softmax":
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            scores = q @ k.transpose(-2, -1) / (c // self.heads) ** 0.5
            causal = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
            y = attention_weights(scores, self.attention, causal) @ v
        return self.proj(y.transpose(1, 2).reshape(b, t, c))


class Block(nn.Module):
    def __init__(
        self, width: int, heads: int, attention: str = "softmax", activation: str = "gelu"
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {activation!r}; allowed: {', '.join(ACTIVATIONS)}"
            )
        self.ln1 = nn.LayerNorm(width)
        self.attn = CausalSelfAttention(width, heads, attention)
        self.ln2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(
            nn.Linear(width, 4 * width), ACTIVATIONS[activation](), nn.Linear(4 * width, width)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class Transformer(nn.Module):
    """Backbone: embedded inputs (B×T×d) → hidden states (B×T×d)."""

    def __init__(
        self,
        width: int,
        depth: int,
        heads: int,
        max_len: int,
        attention: str = "softmax",
        activation: str = "gelu",
    ) -> None:
        super().__init__()
        self.pos = nn.Embedding(max_len, width)
        self.blocks = nn.ModuleList(
            Block(width, heads, attention, activation) for _ in range(depth)
        )
        self.ln_f = nn.LayerNorm(width)
        self.apply(_init_gpt2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.pos(torch.arange(x.shape[1], device=x.device))
        for block in self.blocks:
            x = block(x)
        return self.ln_f(x)


def _init_gpt2(module: nn.Module) -> None:
    """GPT-2's initialisation: N(0, 0.02) weights, zero biases."""
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, std=0.02)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)
