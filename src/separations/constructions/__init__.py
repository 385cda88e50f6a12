"""Theorem 1 of paper 1 executed: hand-set weights, no training.

- :mod:`.orthogonal`: nearly orthogonal ±1/√k vectors (Lemma 2) and the smallest k for N of them,
  computed blockwise.
- :mod:`.theorem1`: the Index Lookup construction as weights of the project's own one-layer
  Transformer (``separations.models``), and its evaluation at the index token.
- :mod:`.precision`: float64/32, bfloat16, float16, and k-bit rounding of every activation.
- :mod:`.sweep`: the ``constructions`` sweep of config.yaml (one job per study and N), its
  Parquet schema and aggregation; :mod:`.summary`: what figures and claims read from it.
"""

from .orthogonal import check_orthogonality, nearly_orthogonal, smallest_width
from .precision import PrecisionError
from .theorem1 import Construction, build, eval_set, evaluate, theorem_eta

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
