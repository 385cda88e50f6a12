"""Theorem 1 of paper 1 as hand-set weights of the project's own one-layer Transformer.

The model is the pipeline's: :class:`separations.models.SequenceModel` (token embedding, backbone,
linear head) around :class:`separations.models.transformer.Transformer` with depth 1 and one
head, for the ``idxl`` task's vocabulary (0 padding, 1..A symbols, A+1..A+N the index tokens) and
input layout (N symbols, then the index token at position N, read out there). Two options of the
Transformer are used: the ReLU MLP (the construction's threshold) and, for comparison, hard or
linear attention instead of softmax. Nothing is trained.

The construction (paper 1, Sec. 3 and App. C.2), with b = ⌈log2 A⌉ bits per symbol and position
vectors T(0..N) ∈ R^k (seeded random ±1/√k, :mod:`.orthogonal`; T(t) is the vector of position t,
so symbol s_p sits at T(p-1) and the index token at T(N)):

- embedding of symbol s: its binary code ρ(s) ∈ {±1}^b (scaled by 1/√b); of index token p:
  T(p - 1); position embedding of position t: T(t).
- attention: query of the index token η·T(p-1); key of position t: T(t); value of a symbol:
  ρ(s). The scores are η at position p and η⟨T(p-1), T(t)⟩ elsewhere (≤ η/4 once the vectors are
  1/4-orthogonal), so with η ≥ 2 ln(3N) (:func:`theorem_eta`) at least 3/4 of the softmax falls on
  position p, and every bit of the averaged value has the sign of ρ(s_p).
- ReLU MLP: clamp(λ·y, -1, 1) per bit (λ = ``mlp_gain``), thresholding the average back to
  ρ(s_p); the head scores symbol s by ⟨ρ(s), that output⟩, maximal exactly at s_p.

LayerNorm. The GPT-2 block normalises before attention and MLP and at the end. The construction
survives the norms unchanged (no option to disable them): every block of coordinates is stored
with its negation, so each token vector has mean zero, and symbol and index tokens have the same
norm, so LayerNorm (unit gain, zero bias) multiplies every token by one known constant, which the
query/key/value weights undo. Before the MLP the norm varies with the attention output by at most
a factor √(3/2), which the MLP's gain absorbs, and the final norm only rescales the head's scores.
The price is width: 4b + 4k per token instead of the paper's b + 2k (still O(log N)).

The index token's own key is T(N) rather than the paper's 0: positional embeddings are added to
every token, and T(N) is just one more 1/4-orthogonal distractor, so the construction uses N + 1
vectors.

:func:`last_logits` evaluates the same modules at the index token only, sharing one string's keys
and values across many index tokens, so that N = 10^4 fits a CPU budget; a test checks it against
the model's full forward pass.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass

import torch

from ..models import SequenceModel, build_model
from ..models.transformer import ATTENTION_KINDS, Transformer, attention_weights
from ..tasks.idxl import IndexLookup
from . import precision as prec
from .orthogonal import check_size, derived_seed, nearly_orthogonal


def theorem_eta(n: int) -> float:
    """η = 2 ln(3N), the scale at which Theorem 1's bound puts 3/4 of the softmax on the target.

    With the target's score ≥ 3η/4 and N distractors ≤ η/4 (1/4-orthogonal vectors; the index
    token itself is one of them), the target's weight is at least 1 / (1 + N e^{-η/2}), which is
    ≥ 3/4 exactly when η ≥ 2 ln(3N).
    """
    return 2.0 * math.log(3 * n)


def code_bits(alphabet: int) -> int:
    return max(1, math.ceil(math.log2(alphabet)))


def symbol_codes(alphabet: int) -> torch.Tensor:
    """A × b matrix: row s is ρ(s) ∈ {±1}^b, the binary code of s (bit 0 first)."""
    b = code_bits(alphabet)
    s = torch.arange(alphabet)[:, None]
    bits = (s >> torch.arange(b)[None, :]) & 1
    return (2 * bits - 1).double()


@dataclass(frozen=True)
class Layout:
    """Where each block of the residual stream lives; every block is followed by its negation."""

    bits: int  # b: code bits
    k: int  # dimension of the position vectors

    @property
    def width(self) -> int:
        return 4 * self.bits + 4 * self.k

    def block(self, name: str, negated: bool = False) -> slice:
        b, k = self.bits, self.k
        sizes = [("code", b), ("pos", k), ("index", k), ("out", b)]
        start = 0
        for block, size in sizes:
            if block == name:
                start += size if negated else 0
                return slice(start, start + size)
            start += 2 * size
        raise KeyError(name)


@dataclass
class Construction:
    model: SequenceModel
    task: IndexLookup
    layout: Layout
    positions: torch.Tensor  # T(0..N), (N + 1) × k
    eta: float
    attention: str
    seed: int

    @property
    def length(self) -> int:
        return self.task.length

    @property
    def width(self) -> int:
        return self.layout.width


def check_eta(eta: float) -> float:
    if isinstance(eta, bool) or not isinstance(eta, (int, float)) or not eta > 0:
        raise ValueError(f"eta must be a number > 0, got {eta!r}")
    return float(eta)


def build(
    length: int,
    k: int,
    eta: float | None = None,
    *,
    alphabet: int = 64,
    attention: str = "softmax",
    mlp_gain: float = 4.0,
    seed: int = 0,
) -> Construction:
    """The Index Lookup Transformer of Theorem 1 for inputs of N = ``length`` symbols.

    ``eta=None`` uses :func:`theorem_eta`. Position vectors are drawn from ``seed`` and (N + 1, k).
    The model is float64; cast it with :func:`separations.constructions.precision.prepare`.
    """
    check_size(length, k)
    eta = theorem_eta(length) if eta is None else check_eta(eta)
    if attention not in ATTENTION_KINDS:
        raise ValueError(f"unknown attention {attention!r}; allowed: {', '.join(ATTENTION_KINDS)}")
    if not mlp_gain > 0:
        raise ValueError(f"mlp_gain must be > 0, got {mlp_gain!r}")
    task = IndexLookup(length, alphabet=alphabet, min_length=1, train_lengths="fixed")
    layout = Layout(code_bits(alphabet), k)
    d = layout.width
    model = build_model("transformer", task, depth=1, width=d, heads=1)
    model.backbone = Transformer(
        width=d, depth=1, heads=1, max_len=task.max_len, attention=attention, activation="relu"
    )
    model.double()
    positions = nearly_orthogonal(length + 1, k, derived_seed("positions", seed), torch.float64)
    codes = symbol_codes(alphabet)
    _set_weights(model, layout, positions, codes, eta, mlp_gain)
    return Construction(model, task, layout, positions, eta, attention, seed)


def _mirror(weight: torch.Tensor, rows: tuple[slice, slice], value: torch.Tensor) -> None:
    """Write ``value`` into the row block and its negation into the mirrored rows."""
    weight[rows[0]] = value
    weight[rows[1]] = -value


@torch.no_grad()
def _set_weights(model, layout: Layout, positions, codes, eta: float, gain: float) -> None:
    for p in model.parameters():
        p.zero_()
    b, k, d = layout.bits, layout.k, layout.width
    n_symbols = codes.shape[0]
    blk = model.backbone.blocks[0]
    for norm in (blk.ln1, blk.ln2, model.backbone.ln_f):
        norm.weight.fill_(1.0)
    code, code_neg = layout.block("code"), layout.block("code", True)
    pos, pos_neg = layout.block("pos"), layout.block("pos", True)
    idx, idx_neg = layout.block("index"), layout.block("index", True)
    out, out_neg = layout.block("out"), layout.block("out", True)

    # Embeddings: symbols carry ρ(s)/√b, index token p carries T(p - 1), position t adds T(t).
    # Every token then has mean 0 and squared norm 4 (1 per block and its negation).
    a = 1.0 / math.sqrt(b)
    emb = model.encoder.weight  # vocab × d; rows 1..A symbols, A+1..A+N index tokens
    emb[1 : 1 + n_symbols, code] = a * codes
    emb[1 : 1 + n_symbols, code_neg] = -a * codes
    n = positions.shape[0] - 1
    emb[1 + n_symbols : 1 + n_symbols + n, idx] = positions[:n]
    emb[1 + n_symbols : 1 + n_symbols + n, idx_neg] = -positions[:n]
    model.backbone.pos.weight[:, pos] = positions
    model.backbone.pos.weight[:, pos_neg] = -positions

    # LayerNorm before attention multiplies every token by sigma (mean 0, variance 4/d).
    sigma = 1.0 / math.sqrt(4.0 / d + blk.ln1.eps)
    w = blk.attn.qkv.weight  # rows: query 0..d-1, key d..2d-1, value 2d..3d-1 (one head of d)
    eye_k = torch.eye(k, dtype=w.dtype)
    w[0:k, idx] = eye_k * (eta * math.sqrt(d) / sigma)  # q = η √d T(p-1): scores η⟨T, T⟩
    w[d : d + k, pos] = eye_k / sigma  # k = T(t)
    w[2 * d : 2 * d + b, code] = torch.eye(b, dtype=w.dtype) / (a * sigma)  # v = ρ(s)
    # The attention output y (b values in [-1, 1]) goes to the index token's code block,
    # which is empty at the index token.
    proj = blk.attn.proj.weight
    proj[code, 0:b] = a * torch.eye(b, dtype=w.dtype)
    proj[code_neg, 0:b] = -a * torch.eye(b, dtype=w.dtype)

    # MLP: the norm before it divides by sqrt(|x|²/d + eps), |x|² = 4 + 2a²|y|² in [4, 6], so
    # the code block reads a·y·tau/sigma with tau/sigma in [sqrt(2/3), 1]; unit 2j and 2j+1 give
    # relu(λ y_j + 1) - relu(λ y_j - 1) - 1 = clamp(λ y_j, -1, 1), written to the output block.
    fc, fc_bias = blk.mlp[0].weight, blk.mlp[0].bias
    fc2, fc2_bias = blk.mlp[2].weight, blk.mlp[2].bias
    for j in range(b):
        col = code.start + j
        fc[2 * j, col] = fc[2 * j + 1, col] = gain / (a * sigma)
        fc_bias[2 * j], fc_bias[2 * j + 1] = 1.0, -1.0
        for row, sign in ((out.start + j, 1.0), (out_neg.start + j, -1.0)):
            fc2[row, 2 * j], fc2[row, 2 * j + 1], fc2_bias[row] = sign, -sign, -sign
    # Head: the score of symbol s is ⟨ρ(s), output block⟩ (times the final norm's scale).
    model.head.weight[:, out] = codes


# -- evaluation ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvalSet:
    """Index Lookup examples sharing strings: strings R × N (token ids), index values per string."""

    strings: torch.Tensor  # R × N, token ids 1..A
    indices: torch.Tensor  # R × Q, index values 1..N

    def __len__(self) -> int:
        return self.indices.numel()

    def targets(self) -> torch.Tensor:
        return self.strings.gather(1, self.indices - 1) - 1  # symbol classes, R × Q


def eval_set(length: int, examples: int, *, alphabet: int = 64, seed: int = 0) -> EvalSet:
    """About ``examples`` Index Lookup examples of length N: each string serves up to 1024 indices.

    Every example is distributed as the task's evaluation examples (symbols and index uniform);
    strings are shared to reuse their keys and values. With N ≤ indices per string, all N
    indices of each string are used (exhaustive over the index).
    """
    check_size(length, 1)
    if examples < 1:
        raise ValueError(f"examples must be >= 1, got {examples!r}")
    generator = torch.Generator().manual_seed(derived_seed("idxl-eval", seed, length))
    per_string = min(length, 1024, examples)
    n_strings = max(1, math.ceil(examples / per_string))
    strings = torch.randint(1, alphabet + 1, (n_strings, length), generator=generator)
    if per_string == length:
        indices = torch.arange(1, length + 1).repeat(n_strings, 1)
    else:
        scores = torch.rand(n_strings, length, generator=generator)
        indices = scores.argsort(dim=1)[:, :per_string] + 1  # distinct indices per string
    return EvalSet(strings, indices)


def last_logits(
    model: SequenceModel,
    strings: torch.Tensor,
    indices: torch.Tensor,
    *,
    budget: int = 1 << 22,
) -> tuple[torch.Tensor, bool]:
    """Logits at the index token for each (string, index): R × Q × A, and whether any
    intermediate value was inf/nan.

    Runs the model's own modules in the model's dtype, but only for the last position: the keys
    and values of a string's N symbols are computed once and shared by its index tokens, and
    attention is computed explicitly (scores, :func:`attention_weights`, weighted sum), as the
    model does for its non-softmax kinds; the model's softmax path uses PyTorch's fused kernel,
    which agrees to rounding. Strings and index tokens go in groups of about ``budget`` scores.
    """
    backbone = model.backbone
    if len(backbone.blocks) != 1 or backbone.blocks[0].attn.heads != 1:
        raise ValueError("last_logits handles one-layer, one-head Transformers")
    blk = backbone.blocks[0]
    n_strings, n = strings.shape
    n_queries = indices.shape[1]
    n_symbols = model.head.out_features
    d = model.head.in_features
    chunk = max(1, min(n_queries, budget // n))  # index tokens per group
    group = max(1, budget // (n * chunk))  # strings per group
    overflow = False
    out = []
    for first in range(0, n_strings, group):
        tokens = strings[first : first + group]
        x = model.encoder(tokens) + backbone.pos(torch.arange(n))
        _, keys, values = blk.attn.qkv(blk.ln1(x)).split(d, dim=-1)  # g × N × d
        overflow |= prec.nonfinite(x, keys, values)
        rows = []
        for start in range(0, n_queries, chunk):
            p = indices[first : first + group, start : start + chunk]  # g × c
            xq = model.encoder(n_symbols + p) + backbone.pos(torch.full_like(p, n))
            q, k_self, v_self = blk.attn.qkv(blk.ln1(xq)).split(d, dim=-1)
            q = q / math.sqrt(d)  # scaled before the product (cheaper; equal up to rounding)
            own = (q * k_self).sum(-1, keepdim=True)  # the index token's score for itself
            scores = torch.cat([q @ keys.transpose(1, 2), own], dim=-1)  # g × c × (N + 1)
            weights = attention_weights(scores, blk.attn.attention)
            y = weights[..., :n] @ values + weights[..., n:] * v_self
            h = xq + blk.attn.proj(y)
            h = h + blk.mlp(blk.ln2(h))
            logits = model.head(backbone.ln_f(h))
            overflow |= prec.nonfinite(xq, q, scores, weights, y, h, logits)
            rows.append(logits)
        out.append(torch.cat(rows, dim=1))
    return torch.cat(out), overflow


@dataclass(frozen=True)
class Evaluation:
    examples: int
    correct: int
    overflow: bool  # some parameter or intermediate value was inf or nan
    seconds: float

    @property
    def accuracy(self) -> float:
        return self.correct / self.examples


def evaluate(construction: Construction, data: EvalSet, precision: str = "float64") -> Evaluation:
    """Accuracy of the construction on ``data`` at a precision; overflow is a result, not an error.

    An example whose logits are not all finite counts as wrong.
    """
    prec.check(precision)
    start = time.perf_counter()
    model = construction.model
    if precision != "float64":  # the construction's own float64 weights stay untouched
        model = prec.prepare(copy.deepcopy(model), precision)
    overflow = prec.nonfinite(*model.parameters())
    with torch.no_grad(), prec.arithmetic(precision):
        logits, hidden_overflow = last_logits(model, data.strings, data.indices)
    finite = torch.isfinite(logits).all(-1)
    correct = (logits.argmax(-1) == data.targets()) & finite
    return Evaluation(
        len(data), int(correct.sum()), overflow or hidden_overflow, time.perf_counter() - start
    )
