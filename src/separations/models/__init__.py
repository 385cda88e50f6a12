"""Model registry: a model family is one backbone module plus one entry here.

A backbone maps embedded inputs (B×T×d) to hidden states (B×T×d) and is built as
``Backbone(width=, depth=, heads=, max_len=)``. :class:`SequenceModel` adds what every family
shares: the input layer (an embedding table for token tasks, a linear projection for vector
tasks) and a linear output head applied at every position.

The registry is the single source of what the rest of the pipeline knows about a family: the
config validation (names, depth limit, heads), the short label of figures and tables
(:func:`separations.summary.model_label`), the size model of the cluster resources
(:mod:`separations.resources`), which families the claims count as recurrent, and the order of
families in the figures. A backbone is named ``"<module>:<Class>"`` (a module of this package) and
imported when a model is built, so a new family is its module plus one line in :data:`FAMILIES`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class Family:
    name: str
    #: the backbone class, ``"<module>:<Class>"`` of a module in this package
    backbone: str
    #: short label in figures and tables, as in paper 1 (``TF-(1, 64)``, ``LSTM-(1, 64)``)
    short: str
    #: deepest stack a grid may ask for
    max_depth: int
    #: whether the backbone has attention heads (families without them drop a grid's heads axis)
    uses_heads: bool
    #: recurrent families carry a fixed-size state; the separations are about them
    recurrent: bool
    #: size model (separations.resources): parameters of one layer in units of width^2, e.g. 12
    #: for a mixing block of about 4 w^2 and an 8 w^2 MLP, 8 for an LSTM (four gates of 2 w^2),
    #: 6 for a GRU (three)
    layer_params: float = 12.0

    def backbone_class(self) -> type[nn.Module]:
        module, _, cls = self.backbone.partition(":")
        return getattr(importlib.import_module(f"{__name__}.{module}"), cls)


#: every model family (the critical-width figure lists them in this order); the columns are
#: Family's fields: name, backbone, short, max_depth, uses_heads, recurrent, layer_params
# fmt: off
FAMILIES: dict[str, Family] = {f.name: f for f in [
    Family("transformer", "transformer:Transformer",            "TF",     12, True,  False, 12),
    Family("lstm",        "lstm:LSTM",                          "LSTM",   3,  False, True,  8),
    Family("mamba",       "mamba:Mamba",                        "Mamba",  6,  False, True,  12),
    Family("dss",         "dss:DSS",                            "DSS",    6,  False, True,  12),
    Family("retnet",      "retnet:RetNet",                      "RetNet", 6,  True,  True,  12),
    Family("linear",      "linear_attention:LinearTransformer", "LinTF",  6,  True,  True,  12),
    Family("gru",         "gru:GRU",                            "GRU",    3,  False, True,  6),
]}
# fmt: on


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
    "ModelConfigError",
    "SequenceModel",
    "build_model",
    "check_shape",
    "count_parameters",
    "get_family",
]
