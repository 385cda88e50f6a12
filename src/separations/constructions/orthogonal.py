"""Nearly orthogonal vectors (paper 1, Lemma 2): N random ±1/√k vectors and how small k can be.

Theorem 1 needs position vectors T(1..N) with ⟨T(i), T(j)⟩ ≤ γ = 1/4 for i ≠ j and ⟨T(i), T(i)⟩
≥ 3/4. Random vectors with entries ±1/√k have unit norm (the diagonal is exactly 1), and Lemma 2
says their pairwise inner products stay below γ once k = O(log N / γ²).

:func:`smallest_width` measures that k. Vectors are drawn per (N, k) from a fixed seed, so a
check of one (N, k) is deterministic; draws for different k are independent, so "passes" is not
monotone in k and the search (doubling, then bisection) returns a k that passes while k - 1 fails
*for those seeded draws*: the smallest k for that seed, not a property of every draw.

Inner products are computed exactly on the ±1 sign matrix (int8 products summed in int32), in
blocks of rows: the N × N Gram matrix is never held in memory, and a failing k stops at the
first block that holds a violating pair.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

import torch


def derived_seed(*parts: object) -> int:
    """A 63-bit seed from any parts (stable across runs and machines, unlike ``hash``)."""
    digest = hashlib.sha256(repr(parts).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def check_size(n: int, k: int, *, min_n: int = 2) -> None:
    """Reject sizes no construction can use, naming the bad value."""
    if not isinstance(n, int) or isinstance(n, bool) or n < min_n:
        raise ValueError(f"N (number of vectors) must be an integer >= {min_n}, got {n!r}")
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k (dimension) must be an integer >= 1, got {k!r}")


def signs(n: int, k: int, seed: int) -> torch.Tensor:
    """N × k matrix of ±1 (int8) drawn from ``seed`` and (N, k): the same call, the same draw."""
    check_size(n, k, min_n=1)
    generator = torch.Generator().manual_seed(derived_seed("nearly-orthogonal", seed, n, k))
    bits = torch.randint(0, 2, (n, k), generator=generator, dtype=torch.int8)
    return bits * 2 - 1


def nearly_orthogonal(
    n: int, k: int, seed: int, dtype: torch.dtype = torch.float64
) -> torch.Tensor:
    """N vectors in k dimensions with entries ±1/√k (rows; unit norm), seeded per (N, k)."""
    return signs(n, k, seed).to(dtype) / math.sqrt(k)


def _gram(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Exact integer inner products of the ±1 rows of ``a`` and ``b`` (int32)."""
    try:
        return torch._int_mm(a, b.T.contiguous())
    except (AttributeError, RuntimeError):  # no int8 GEMM in this torch build: float32 is exact
        return (a.float() @ b.float().T).round().to(torch.int32)  # for |sums| < 2**24


@dataclass(frozen=True)
class OrthogonalityCheck:
    n: int
    k: int
    gamma: float
    passed: bool
    #: largest off-diagonal inner product seen (all pairs when passed; up to the first violation
    #: otherwise, so then a lower bound on the true maximum)
    max_offdiag: float
    min_diag: float
    pairs_checked: int
    seconds: float


def _prepare(sign_matrix: torch.Tensor) -> tuple[torch.Tensor, int, int]:
    if sign_matrix.dim() != 2:
        raise ValueError("expected an N × k matrix of ±1 entries")
    n, k = sign_matrix.shape
    check_size(n, k)
    a = sign_matrix.to(torch.int8)
    pad = (-k) % 8  # zero columns change no inner product; int8 GEMMs like multiples of 8
    if pad:
        a = torch.nn.functional.pad(a, (0, pad))
    return a, n, k


def _scan(a: torch.Tensor, block: int, stop_above: float) -> tuple[float, int]:
    """Largest off-diagonal integer inner product of the rows, block by block over the upper
    triangle, stopping once it exceeds ``stop_above``; returns (largest seen, pairs checked)."""
    if block < 1:
        raise ValueError(f"block must be >= 1, got {block!r}")
    n = a.shape[0]
    worst, pairs = -math.inf, 0
    for i in range(0, n, block):
        rows = a[i : i + block]
        for j in range(i, n, block):
            g = _gram(rows, a[j : j + block])
            if i == j:  # the block's own pairs appear twice; its diagonal holds the norms
                g.fill_diagonal_(torch.iinfo(torch.int32).min)
                pairs += rows.shape[0] * (rows.shape[0] - 1) // 2
            else:
                pairs += g.numel()
            worst = max(worst, float(g.max()))
            if worst > stop_above:
                return worst, pairs
    return worst, pairs


def max_offdiag(sign_matrix: torch.Tensor, *, block: int = 4096) -> float:
    """Largest ⟨T(i), T(j)⟩ (i ≠ j) of the ±1/√k vectors, computed blockwise."""
    a, _, k = _prepare(sign_matrix)
    return _scan(a, block, math.inf)[0] / k


def check_orthogonality(
    sign_matrix: torch.Tensor, gamma: float = 0.25, *, block: int = 4096
) -> OrthogonalityCheck:
    """Are all pairwise inner products of the rows (scaled by 1/√k) ≤ γ, and all norms² ≥ 1 - γ?

    Works on the ±1 matrix in ``block``-row blocks of the upper triangle; stops at the first
    violation.
    """
    if not 0 < gamma < 1:
        raise ValueError(f"gamma must be in (0, 1), got {gamma!r}")
    start = time.perf_counter()
    a, n, k = _prepare(sign_matrix)
    min_diag = float((a.to(torch.int32) ** 2).sum(1).min()) / k
    # ⟨u, v⟩ / k ≤ γ  ⇔  integer inner product ≤ γ k
    worst, pairs = _scan(a, block, gamma * k)
    passed = worst <= gamma * k and min_diag >= 1 - gamma
    return OrthogonalityCheck(
        n, k, gamma, passed, worst / k, min_diag, pairs, time.perf_counter() - start
    )


def brute_force_max_offdiag(vectors: torch.Tensor) -> float:
    """Largest off-diagonal inner product from the full Gram matrix (small N only: tests)."""
    g = vectors.double() @ vectors.double().T
    g.fill_diagonal_(-math.inf)
    return float(g.max())


@dataclass(frozen=True)
class WidthSearch:
    n: int
    gamma: float
    #: the k found (passes, while k - 1 fails or k = 1), or None if no k <= max_k passed
    k: int | None
    checks: list[OrthogonalityCheck]


def search_width(passes, max_k: int, start: int = 1) -> tuple[int | None, list[int]]:
    """Doubling from ``start``, then bisection, on a predicate ``passes(k) -> bool``.

    Returns (k, tested): k passes and k - 1 failed (or k = start); None if nothing up to max_k
    passed. Each k is tested at most once.
    """
    if start < 1 or max_k < start:
        raise ValueError(f"need 1 <= start <= max_k, got start={start}, max_k={max_k}")
    seen: dict[int, bool] = {}

    def test(k: int) -> bool:
        if k not in seen:
            seen[k] = bool(passes(k))
        return seen[k]

    lo, hi = start - 1, start  # lo: largest k known to fail (start - 1: none yet)
    while not test(hi):
        if hi >= max_k:
            return None, list(seen)
        lo, hi = hi, min(2 * hi, max_k)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if test(mid):
            hi = mid
        else:
            lo = mid
    return hi, list(seen)


def smallest_width(
    n: int, gamma: float = 0.25, *, seed: int = 0, max_k: int = 1 << 14, block: int = 4096
) -> WidthSearch:
    """The smallest k (for this seed) at which N seeded ±1/√k vectors are γ-nearly orthogonal."""
    check_size(n, 1)
    checks: dict[int, OrthogonalityCheck] = {}

    def passes(k: int) -> bool:
        checks[k] = check_orthogonality(signs(n, k, seed), gamma, block=block)
        return checks[k].passed

    k, tested = search_width(passes, max_k)
    return WidthSearch(n, gamma, k, [checks[t] for t in tested])
