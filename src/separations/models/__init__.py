"""The models: a family is one backbone module here plus one line in the registry,
:data:`separations.families.FAMILIES` (re-exported here).

A backbone maps embedded inputs (B×T×d) to hidden states (B×T×d) and is built as
``Backbone(width=, depth=, heads=, max_len=)``. :class:`SequenceModel` adds what every family
shares: the input layer (an embedding table for token tasks, a linear projection for vector
tasks) and a linear output head applied at every position.

The registry (torch-free, so that figures read labels without torch) is described in
:mod:`separations.families`.
"""

from __future__ import annotations

import torch
from torch import nn

from ..families import FAMILIES, ConfigError, Family, check_shape, get_family


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
            raise ConfigError("; ".join(problems))
        if input_kind == "tokens":
            self.encoder: nn.Module = nn.Embedding(vocab_size, width)
        elif input_kind == "vectors":
            self.encoder = nn.Linear(vocab_size, width)
        else:
            raise ConfigError(f"unknown input kind {input_kind!r}; allowed: tokens, vectors")
        self.backbone = get_family(family).backbone_class()(
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
    "ConfigError",
    "SequenceModel",
    "build_model",
    "check_shape",
    "count_parameters",
    "get_family",
]
