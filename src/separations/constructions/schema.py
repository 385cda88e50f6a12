"""The declared Parquet schema of the constructions table (Theorem 1 executed).

Its own module, with nothing but pyarrow below it, so that figures and the report can check the
table on read without importing torch (the construction code does).
"""

from __future__ import annotations

import pyarrow as pa

from ..results import PROVENANCE_FIELDS

CONSTRUCTIONS_SCHEMA = pa.schema(
    [
        ("study", pa.string()),  # orthogonality | width | lemma_width | precision
        ("search", pa.string()),  # which search or grid the row belongs to
        ("length", pa.int32()),  # N
        ("k", pa.int32()),  # dimension of the position vectors
        ("width", pa.int32()),  # model width 4b + 4k (null for orthogonality)
        ("vectors", pa.int32()),  # vectors checked or used: N, or N + 1 for the construction
        ("gamma", pa.float64()),
        ("attention", pa.string()),
        ("eta", pa.float64()),
        ("eta_rule", pa.string()),  # theorem (2 ln 3N) | fixed
        ("precision", pa.string()),
        ("significant_bits", pa.int32()),
        ("mlp_gain", pa.float64()),
        ("alphabet", pa.int32()),
        ("examples", pa.int64()),
        ("correct", pa.int64()),
        ("accuracy", pa.float64()),
        ("overflow", pa.bool_()),  # some parameter or activation was inf or nan
        ("passed", pa.bool_()),  # all pairs ≤ γ (orthogonality) / accuracy = 1 (constructions)
        ("selected", pa.bool_()),  # the k a search returned
        ("max_offdiag", pa.float64()),  # largest ⟨T(i), T(j)⟩, i ≠ j (seen before stopping)
        ("pairs_checked", pa.int64()),
        ("seed", pa.int64()),
        ("cpu_time", pa.float64()),  # CPU seconds of this row's check or evaluation
        ("wall_time", pa.float64()),
        *PROVENANCE_FIELDS,
    ]
)
