"""Theorem 1 of paper 1 executed: hand-set weights, no training.

- :mod:`.orthogonal`: nearly orthogonal ±1/√k vectors (Lemma 2) and the smallest k for N of them,
  computed blockwise.
- :mod:`.theorem1`: the Index Lookup construction as weights of the project's own one-layer
  Transformer (``separations.models``), and its evaluation at the index token.
- :mod:`.precision`: float64/32, bfloat16, float16, and k-bit rounding of every activation.
- :mod:`.sweep`: the ``constructions`` sweep of config.yaml (one job per study and N), its
  Parquet schema and aggregation; :mod:`.summary`: what figures and claims read from it.
"""

import importlib

#: where each public name lives; loaded on first use (PEP 562), so that importing
#: :mod:`.schema` alone (figures, the report) does not import torch
_HOMES = {
    "check_orthogonality": "orthogonal",
    "nearly_orthogonal": "orthogonal",
    "smallest_width": "orthogonal",
    "PrecisionError": "precision",
    "Construction": "theorem1",
    "build": "theorem1",
    "eval_set": "theorem1",
    "evaluate": "theorem1",
    "theorem_eta": "theorem1",
}


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)


__all__ = [
    "Construction",
    "PrecisionError",
    "build",
    "check_orthogonality",
    "eval_set",
    "evaluate",
    "nearly_orthogonal",
    "smallest_width",
    "theorem_eta",
]
