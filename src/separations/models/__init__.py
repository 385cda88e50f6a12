"""Model registry: a model family is one backbone module plus one entry here.

A backbone maps embedded inputs (B×T×d) to hidden states (B×T×d) and is built as
``Backbone(width=, depth=, heads=, max_len=)``. :class:`SequenceModel` adds what every family
shares: the input layer (an embedding table for token tasks, a linear projection for vector
tasks) and a linear output head applied at every position.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .dss import DSS
from .linear_attention import LinearTransformer
from .lstm import LSTM
from .mamba import Mamba
from .retnet import RetNet
from .transformer import Transformer


@dataclass(frozen=True)
class Family:
    name: str
    backbone: type[nn.Module]
    max_depth: int
    uses_heads: bool
    #: recurrent families carry a fixed-size state; the separations are about them
    recurrent: bool


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in [
        Family("transformer", Transformer, max_depth=12, uses_heads=True, recurrent=False),
        Family("lstm", LSTM, max_depth=3, uses_heads=False, recurrent=True),
        Family("mamba", Mamba, max_depth=6, uses_heads=False, recurrent=True),
        Family("dss", DSS, max_depth=6, uses_heads=False, recurrent=True),
        Family("retnet", RetNet, max_depth=6, uses_heads=True, recurrent=True),
        Family("linear", LinearTransformer, max_depth=6, uses_heads=True, recurrent=True),
    ]
}


class ModelConfigError(ValueError):
    """A model shape that cannot be built."""


def get_family(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        allowed = ", ".join(sorted(FAMILIES))
        raise ModelConfigError(f"unknown model {name!r}; allowed: {allowed}") from None


def check_shape(name: str, depth: int, width: int, heads: int | None) -> list[str]:
    """Problems with a model shape, as messages; empty when it can be built."""
    family = get_family(name)
    problems = []
    if not 1 <= depth <= family.max_depth:
        problems.append(f"{name}: depth must be in 1..{family.max_depth}, got {depth}")
    if width < 1:
        problems.append(f"{name}: width must be >= 1, got {width}")
    if family.uses_heads:
        if not heads or heads < 1:
            problems.append(f"{name}: needs heads >= 1")
        elif width % heads:
            problems.append(f"{name}: width {width} is not divisible by heads {heads}")
    return problems


class SequenceModel(nn.Module):
    """Input layer → backbone → output head (logits at every position)."""

    def __init__(
        self,
        family: str,
        *,
        depth: int,
        width: int,
        heads: int | None,
        vocab_size: int,
        num_outputs: int,
        max_len: int,
        input_kind: str = "tokens",
    ) -> None:
        super().__init__()
        problems = check_shape(family, depth, width, heads)
        if problems:
            raise ModelConfigError("; ".join(problems))
        if input_kind == "tokens":
            self.encoder: nn.Module = nn.Embedding(vocab_size, width)
        elif input_kind == "vectors":
            self.encoder = nn.Linear(vocab_size, width)
        else:
            raise ModelConfigError(f"unknown input kind {input_kind!r}; allowed: tokens, vectors")
        self.backbone = get_family(family).backbone(
            width=width, depth=depth, heads=heads or 1, max_len=max_len
        )
        self.head = nn.Linear(width, num_outputs)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(self.encoder(inputs)))


def build_model(family: str, task, *, depth: int, width: int, heads: int | None) -> SequenceModel:
    """The model for ``task`` (anything with vocab_size, num_outputs, max_len, input_kind)."""
    return SequenceModel(
        family,
        depth=depth,
        width=width,
        heads=heads,
        vocab_size=task.vocab_size,
        num_outputs=task.num_outputs,
        max_len=task.max_len,
        input_kind=task.input_kind,
    )


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


__all__ = [
    "FAMILIES",
    "Family",
    "ModelConfigError",
    "SequenceModel",
    "build_model",
    "check_shape",
    "count_parameters",
    "get_family",
]
