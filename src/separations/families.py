"""The model families: what the pipeline knows about each, without importing torch.

A family is a backbone module in :mod:`separations.models` plus one line in :data:`FAMILIES`.
This table is the single source of what the rest of the pipeline knows about a family: the config
validation (names, depth limit, heads), the short label of figures and tables
(:func:`separations.summary.model_label`), the size model of the cluster resources
(:mod:`separations.resources`), which families the claims count as recurrent, and the order of
families in the figures. It lives outside :mod:`separations.models` so that the figures and the
report, one process each, read labels without importing torch; the backbone, named
``"<module>:<Class>"``, is imported only when a model is built.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import ConfigError

if TYPE_CHECKING:
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
        return getattr(importlib.import_module(f"separations.models.{module}"), cls)


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
    Family("hybrid",      "hybrid:Hybrid",                      "Hybrid", 6,  True,  False, 12),
]}
# fmt: on


def get_family(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        allowed = ", ".join(sorted(FAMILIES))
        raise ConfigError(f"unknown model {name!r}; allowed: {allowed}") from None


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


# -- paper 2's language models (separations.models.lm builds them) -----------------------------


@dataclass(frozen=True)
class LMFamily:
    """A paper-2 language-model family: the body between the token embedding and the tied head
    (:class:`separations.models.lm.LanguageModel`). Like a paper-1 family it is one module plus
    one line of :data:`LM_FAMILIES`, the single source of its name (config validation, wildcard
    constraints, figures), label, shape fields and cost."""

    name: str
    #: ``"<module>:<callable>"`` in :mod:`separations.models`: ``callable(shape, max_len)`` builds
    #: the body (hidden states B×T×d → B×T×d). A body generates through a key-value cache
    #: (``new_cache(batch, like)`` returns one with a position ``pos``; ``body(x, cache)`` runs
    #: with it) or carries a recurrent state (``new_state(batch, like)`` returns a dict,
    #: ``step(x, state)`` feeds one token).
    body: str
    #: its name in figures and claims
    label: str
    #: attention layers: the shape needs ``heads`` (an even head dimension: rotary positions) and
    #: a SwiGLU width ``ffn``
    attention: bool
    #: Mamba blocks: the shape has a state size ``d_state``
    ssm: bool
    #: its FLOPs per token in the cost model (:func:`separations.cost.layer_flops`)
    flops: str

    def build_body(self, shape: Shape, max_len: int) -> nn.Module:
        module, _, name = self.body.partition(":")
        return getattr(importlib.import_module(f"separations.models.{module}"), name)(
            shape, max_len
        )


#: the language-model families of paper 2, in the order of figures and claims; the columns are
#: LMFamily's fields: name, body, label, attention, ssm, flops
# fmt: off
LM_FAMILIES: dict[str, LMFamily] = {f.name: f for f in [
    LMFamily("transformer", "lm:llama_body",  "Transformer", True,  False, "llama"),
    LMFamily("mamba",       "lm:mamba_body",  "Mamba",       False, True,  "mamba-lm"),
    LMFamily("hybrid",      "lm:hybrid_body", "Hybrid",      True,  True,  "hybrid-lm"),
]}
# fmt: on
#: their token embeddings
LM_EMBEDDINGS = ("sinusoidal", "learned")


@dataclass(frozen=True)
class Shape:
    """A paper-2 language model's shape (config.yaml ``istree.sizes``), checked without torch."""

    family: str
    width: int
    depth: int
    ffn: int = 0  # SwiGLU hidden width (the families with attention)
    heads: int = 0
    d_state: int = 16  # Mamba state size per channel (mamba-ssm default 16)

    def problems(self) -> list[str]:
        out = []
        family = LM_FAMILIES.get(self.family)
        if family is None:
            out.append(f"unknown model family {self.family!r}; allowed: {', '.join(LM_FAMILIES)}")
            return out
        if self.width < 2 or self.width % 2:
            out.append(f"{self.family}: width must be even and >= 2, got {self.width}")
        if self.depth < 1:
            out.append(f"{self.family}: depth must be >= 1, got {self.depth}")
        if family.attention:
            if self.heads < 1 or self.width % self.heads:
                out.append(f"{self.family}: width {self.width} needs heads >= 1 dividing it")
            elif (self.width // self.heads) % 2:
                out.append(f"{self.family}: head dimension must be even (rotary positions)")
            if self.ffn < 1:
                out.append(f"{self.family}: needs ffn >= 1")
        if family.ssm and self.d_state < 1:
            out.append(f"{self.family}: d_state must be >= 1, got {self.d_state}")
        return out
