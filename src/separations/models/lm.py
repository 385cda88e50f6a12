"""The language models of paper 2 and their sizes.

Every model is ``embedding → body → head``. The embedding is, as in the authors' code, a frozen
sinusoidal table over token ids whose transpose is the output head (``embedding: sinusoidal``);
``embedding: learned`` trains a tied table instead. Bodies (a family is one line of
``separations.families.LM_FAMILIES`` naming its body builder; these three are built here):

``transformer``  LLaMA-style decoder layers and a final RMSNorm (:mod:`separations.models.llama`).
``mamba``        Mamba blocks and a final RMSNorm (:mod:`separations.models.mamba`).
``hybrid``       Mamba blocks, a final RMSNorm, then one causal LLaMA decoder layer.

Generation: :meth:`LanguageModel.begin` runs the prompt and returns a state,
:meth:`LanguageModel.step` feeds one token per sequence. Transformers keep a key/value cache;
Mamba layers carry their convolution window and scan state (:func:`mixer_step`), so a generated
token costs one position, not a pass over the prefix.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..families import LM_EMBEDDINGS as EMBEDDINGS
from ..families import LM_FAMILIES as FAMILIES
from ..families import Shape
from .llama import DecoderLayer, KVCache, Llama, RMSNorm


class ModelError(ValueError):
    """A model that cannot be built, or a sequence it cannot hold."""


def sinusoid_table(vocab_size: int, width: int) -> torch.Tensor:
    """Token i, channel j: sin(i / 10000^(j/d)) for even j, cos(i / 10000^((j-1)/d)) for odd j."""
    i = torch.arange(vocab_size, dtype=torch.float64)[:, None]
    j = torch.arange(width, dtype=torch.float64)[None, :]
    even = (j - j % 2) / width
    angle = i / torch.pow(10000.0, even)
    table = torch.where(j % 2 == 0, torch.sin(angle), torch.cos(angle))
    return table.float()


def _mamba():
    try:
        from . import mamba
    except ImportError as e:  # pragma: no cover - the module is part of the package
        raise ModelError(f"the Mamba module is not available ({e})") from None
    return mamba


def mixer_step(mixer, x: torch.Tensor, conv: torch.Tensor, ssm: torch.Tensor):
    """One token through a :class:`~separations.models.mamba.MambaMixer`, carrying its state.

    The recurrence of the mixer's own forward, unrolled for generation: ``x`` (B×d_model) is the
    new input, ``conv`` (B×inner×d_conv) the last d_conv pre-convolution inputs and ``ssm``
    (B×inner×d_state) the scan state; both are updated in place. Uses only the mixer's
    parameters; a test checks it against the mixer's forward.
    """
    u, z = mixer.in_proj(x).chunk(2, dim=-1)
    conv.copy_(torch.roll(conv, shifts=-1, dims=-1))
    conv[:, :, -1] = u
    u = (conv * mixer.conv1d.weight[:, 0, :]).sum(-1)
    if mixer.conv1d.bias is not None:
        u = u + mixer.conv1d.bias
    u = F.silu(u)
    dt, b, c = mixer.x_proj(u).split([mixer.dt_rank, mixer.d_state, mixer.d_state], dim=-1)
    dt = F.softplus(mixer.dt_proj(dt))
    a = -torch.exp(mixer.A_log)
    ssm.mul_(torch.exp(dt[..., None] * a)).add_((dt * u)[..., None] * b[:, None, :])
    y = (ssm * c[:, None, :]).sum(-1) + mixer.D * u
    return mixer.out_proj(y * F.silu(z))


class MambaStack(nn.Module):
    """Mamba blocks and a final RMSNorm; with ``attention`` one LLaMA layer after the norm."""

    def __init__(self, shape: Shape, max_len: int, attention: bool) -> None:
        super().__init__()
        mamba = _mamba()
        self.blocks = nn.ModuleList(
            mamba.MambaBlock(shape.width, d_state=shape.d_state) for _ in range(shape.depth)
        )
        self.norm = RMSNorm(shape.width)
        self.attention = (
            DecoderLayer(shape.width, shape.heads, shape.ffn, max_len) if attention else None
        )
        self.width, self.heads, self.max_len = shape.width, shape.heads, max_len

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        x = self.norm(x)
        if self.attention is not None:
            x = self.attention(x)
        return x

    def new_state(self, batch: int, like: torch.Tensor) -> dict:
        state: dict = {"conv": [], "ssm": [], "kv": None}
        for block in self.blocks:
            mixer = block.mixer
            kernel = mixer.conv1d.weight.shape[-1]
            state["conv"].append(like.new_zeros(batch, mixer.inner, kernel))
            state["ssm"].append(like.new_zeros(batch, mixer.inner, mixer.d_state))
        if self.attention is not None:
            state["kv"] = KVCache(
                1, batch, self.heads, self.width // self.heads, self.max_len, like
            )
        return state

    def step(self, x: torch.Tensor, state: dict) -> torch.Tensor:
        """One token per sequence (B×d) → hidden state (B×d)."""
        for block, conv, ssm in zip(self.blocks, state["conv"], state["ssm"], strict=True):
            x = x + mixer_step(block.mixer, block.norm(x), conv, ssm)
        x = self.norm(x)
        if self.attention is not None:
            cache = state["kv"]
            x = self.attention(x[:, None], cache, 0)[:, 0]
            cache.pos += 1
        return x


def llama_body(shape: Shape, max_len: int) -> Llama:
    """``transformer``: LLaMA-style decoder layers and a final RMSNorm."""
    return Llama(shape.width, shape.depth, shape.heads, max_len, ffn=shape.ffn)


def mamba_body(shape: Shape, max_len: int) -> MambaStack:
    """``mamba``: Mamba blocks and a final RMSNorm."""
    return MambaStack(shape, max_len, attention=False)


def hybrid_body(shape: Shape, max_len: int) -> MambaStack:
    """``hybrid``: Mamba blocks, a final RMSNorm, then one causal LLaMA decoder layer."""
    return MambaStack(shape, max_len, attention=True)


class LanguageModel(nn.Module):
    """Token ids (B×T) → next-token logits (B×T×V)."""

    def __init__(
        self, shape: Shape, vocab_size: int, max_len: int, embedding: str = "sinusoidal"
    ) -> None:
        super().__init__()
        problems = shape.problems()
        if embedding not in EMBEDDINGS:
            problems.append(f"unknown embedding {embedding!r}; allowed: {', '.join(EMBEDDINGS)}")
        if problems:
            raise ModelError("; ".join(problems))
        self.shape, self.max_len = shape, max_len
        self.embedding = nn.Embedding(vocab_size, shape.width)
        if embedding == "sinusoidal":
            self.embedding.weight.data.copy_(sinusoid_table(vocab_size, shape.width))
            self.embedding.weight.requires_grad_(False)
        else:
            nn.init.normal_(self.embedding.weight, std=1.0 / math.sqrt(shape.width))
        self.body = FAMILIES[shape.family].build_body(shape, max_len)

    def check_length(self, length: int) -> None:
        if length > self.max_len:
            raise ModelError(
                f"a sequence of {length} tokens exceeds the model's context of {self.max_len}"
            )

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        return hidden @ self.embedding.weight.T

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        self.check_length(tokens.shape[1])
        return self.logits(self.body(self.embedding(tokens)))

    # -- generation ---------------------------------------------------------------------------
    def begin(self, prompt: torch.Tensor):
        """Run the prompt (B×P); returns (logits at its last position, generation state)."""
        self.check_length(prompt.shape[1])
        if hasattr(self.body, "new_cache"):  # a key-value cache (LMFamily.body says how)
            cache = self.body.new_cache(prompt.shape[0], self.embedding.weight)
            hidden = self.body(self.embedding(prompt), cache)
            return self.logits(hidden[:, -1]), cache
        state = {"pos": 0, "body": self.body.new_state(prompt.shape[0], self.embedding.weight)}
        logits = None
        for t in range(prompt.shape[1]):
            logits, state = self.step(prompt[:, t], state)
        return logits, state

    def step(self, token: torch.Tensor, state):
        """Feed one token per sequence (B); returns (next-token logits B×V, state)."""
        if not isinstance(state, dict):  # a key-value cache: the body takes the token with it
            self.check_length(state.pos + 1)
            hidden = self.body(self.embedding(token[:, None]), state)
            return self.logits(hidden[:, -1]), state
        self.check_length(state["pos"] + 1)
        hidden = self.body.step(self.embedding(token), state["body"])
        state["pos"] += 1
        return self.logits(hidden), state


def build(
    family: str,
    vocab_size: int,
    max_len: int,
    *,
    width: int,
    depth: int,
    ffn: int = 0,
    heads: int = 0,
    d_state: int = 16,
    embedding: str = "sinusoidal",
) -> LanguageModel:
    shape = Shape(family, width, depth, ffn, heads, d_state)
    return LanguageModel(shape, vocab_size, max_len, embedding)


def count_trainable(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
