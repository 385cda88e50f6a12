"""String equality (paper 1, Sec. 6 and App. H): three variants sharing one layout.

An example is a first half w, a separator token, and a second half v, both of m symbols; the
length N counts the symbols of both halves (2m), so the sequence has N + 1 tokens and N must be
even. Evaluation examples have m = N/2. Training examples (``train_lengths: variable``, the
paper's protocol) have 2m uniform over the even numbers in [min_length, N]; ``min_length``
defaults to about N/10 (the smallest even number >= N/10, at least 2). ``train_lengths: fixed``
trains at N.

Token ids: 0 padding, 1..A the symbols, A + 1 the separator ``[SEP]``.

- ``eq-random``: alphabet {0, 1} by default. With probability 1/2 v = w (a positive); otherwise v
  is drawn uniformly and the label is whether v = w after all (at short m it sometimes is).
  Binary classification at the last token, target 1 = equal.
- ``eq-one``: alphabet of 1024. With probability 1/2 v = w; otherwise v is w with exactly one
  position (uniform) changed to a different symbol (uniform over the other A - 1). Binary
  classification at the last token.
- ``eq-ncp``: next-character prediction on strings of the language {w [SEP] w}. After reading each
  token the model outputs, for every class, whether that class may come next; classes are the A
  symbols, ``[SEP]`` (class A) and end-of-string ``<eos>`` (class A + 1). After each symbol of the
  first half the valid set is every symbol and ``[SEP]`` (not ``<eos>``: the separator is still
  missing); after ``[SEP]`` and after each symbol of the second half exactly one class is valid:
  the next symbol of the copy, and ``<eos>`` once the copy is complete. The targets are stored
  compactly, one integer per position: the valid class, :data:`ANY` for "every symbol or
  [SEP]", or :data:`PAD` at padding. Loss: binary cross-entropy with logits, averaged over the
  classes and over the real positions of the batch. An example is correct only if the thresholded
  prediction (logit > 0) is exactly the valid set at every real position; chance is 0.
"""

from __future__ import annotations

import math
from typing import Any

from ._lazy import F, torch
from .base import Batch, Task


def _defaults(alphabet: int) -> dict[str, Any]:
    return {"alphabet": alphabet, "min_length": None, "train_lengths": "variable"}


SEP_NAME = "[SEP]"
EOS_NAME = "<eos>"
#: compact eq-ncp target codes
ANY = -1  # every symbol or [SEP] may come next
PAD = -100  # padding: no target


class _Equality(Task):
    """Shared layout and length handling; subclasses choose the second half and the readout."""

    @classmethod
    def check(cls, length: int, params: dict[str, Any]) -> list[str]:
        problems = []
        alphabet = params["alphabet"]
        if not isinstance(alphabet, int) or alphabet < 2:
            problems.append(f"alphabet must be an integer >= 2, got {alphabet!r}")
        if length < 2 or length % 2:
            problems.append(
                f"length N={length} must be even and >= 2 (N counts the symbols of both halves)"
            )
        lo = params["min_length"]
        if lo is not None and (not isinstance(lo, int) or lo < 2 or lo % 2 or lo > length):
            problems.append(f"min_length must be null or an even integer in 2..N, got {lo!r}")
        if params["train_lengths"] not in ("variable", "fixed"):
            problems.append(
                f"train_lengths must be 'variable' or 'fixed', got {params['train_lengths']!r}"
            )
        return problems

    @property
    def alphabet(self) -> int:
        return int(self.params["alphabet"])

    @property
    def sep(self) -> int:
        return self.alphabet + 1

    @property
    def min_length(self) -> int:
        lo = self.params["min_length"]
        if lo is None:
            lo = max(2, 2 * math.ceil(self.length / 20))
        return min(int(lo), self.length)

    @property
    def vocab_size(self) -> int:
        return self.alphabet + 2

    @property
    def num_outputs(self) -> int:
        return 2

    @property
    def max_len(self) -> int:
        return self.length + 1

    def half_lengths(self, batch_size: int, generator: torch.Generator, train: bool):
        """m per example: N/2 for evaluation, else uniform in [min_length/2, N/2]."""
        if train and self.params["train_lengths"] == "variable":
            lo, hi = self.min_length // 2, self.length // 2
            return torch.randint(lo, hi + 1, (batch_size,), generator=generator)
        return torch.full((batch_size,), self.length // 2, dtype=torch.long)

    def assemble(self, first: torch.Tensor, second: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        """Token ids ``first[:m] [SEP] second[:m]`` per row, right-padded with 0."""
        b, width = first.shape
        pos = torch.arange(2 * width + 1).expand(b, -1)
        mm = m[:, None]
        head = first.gather(1, pos.clamp(max=width - 1))
        tail = second.gather(1, (pos - mm - 1).clamp(0, width - 1))
        seq = torch.where(pos < mm, head, tail)
        seq = torch.where(pos == mm, self.sep, seq)
        return torch.where(pos > 2 * mm, 0, seq)

    def symbol_name(self, token: int) -> str:
        if token == self.sep:
            return SEP_NAME
        return str(token - 1)

    def halves(self, batch: Batch) -> list[tuple[list[int], list[int]]]:
        out = []
        for row, n in zip(batch.inputs.tolist(), batch.lengths.tolist(), strict=True):
            m = (n - 1) // 2
            out.append((row[:m], row[m + 1 : n]))
        return out


class _EqualityClassification(_Equality):
    """eq-random and eq-one: is the second half equal to the first? (last-token readout)"""

    def second_half(
        self, first: torch.Tensor, m: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        """The second half of a negative (before its label is decided by actual equality)."""
        raise NotImplementedError

    def sample(self, batch_size: int, generator: torch.Generator, *, train: bool) -> Batch:
        m = self.half_lengths(batch_size, generator, train)
        width = int(m.max())
        first = torch.randint(1, self.alphabet + 1, (batch_size, width), generator=generator)
        copy = torch.rand(batch_size, generator=generator) < 0.5
        other = self.second_half(first, m, generator)
        second = torch.where(copy[:, None], first, other)
        real = torch.arange(width)[None, :] < m[:, None]
        label = ((first == second) | ~real).all(1).long()
        return Batch(inputs=self.assemble(first, second, m), lengths=2 * m + 1, targets=label)

    def describe(self, batch: Batch) -> dict[str, list]:
        tokens, mismatches = [], []
        for row, n, (w, v) in zip(
            batch.inputs.tolist(), batch.lengths.tolist(), self.halves(batch), strict=True
        ):
            tokens.append(" ".join(self.symbol_name(t) for t in row[:n]))
            mismatches.append(sum(a != b for a, b in zip(w, v, strict=True)))
        return {
            "tokens": tokens,
            "target": ["equal" if t else "unequal" for t in batch.targets.tolist()],
            "label": batch.targets.tolist(),
            "half": ((batch.lengths - 1) // 2).tolist(),
            "mismatches": mismatches,
        }


class EqualityRandom(_EqualityClassification):
    name = "eq-random"
    defaults = _defaults(2)

    def second_half(self, first, m, generator):
        return torch.randint(1, self.alphabet + 1, first.shape, generator=generator)


class EqualityOne(_EqualityClassification):
    name = "eq-one"
    defaults = _defaults(1024)

    def second_half(self, first, m, generator):
        b = first.shape[0]
        rows = torch.arange(b)
        spot = (torch.rand(b, generator=generator) * m).long().clamp(max=m - 1)
        shift = torch.randint(1, self.alphabet, (b,), generator=generator)
        second = first.clone()
        second[rows, spot] = (first[rows, spot] - 1 + shift) % self.alphabet + 1
        return second


class EqualityNextCharacter(_Equality):
    name = "eq-ncp"
    defaults = _defaults(1024)
    readout = "all"

    @property
    def eos(self) -> int:
        """Output class of end-of-string (class ``alphabet`` is [SEP], 0..A-1 the symbols)."""
        return self.alphabet + 1

    @property
    def num_outputs(self) -> int:
        return self.alphabet + 2

    @property
    def chance(self) -> float:
        return 0.0

    def sample(self, batch_size: int, generator: torch.Generator, *, train: bool) -> Batch:
        m = self.half_lengths(batch_size, generator, train)
        width = int(m.max())
        first = torch.randint(1, self.alphabet + 1, (batch_size, width), generator=generator)
        inputs = self.assemble(first, first, m)
        pos = torch.arange(2 * width + 1).expand(batch_size, -1)
        mm = m[:, None]
        # after reading token j (0-based) of the second part, the next symbol is first[j - m]
        nxt = first.gather(1, (pos - mm).clamp(0, width - 1)) - 1
        targets = torch.where(pos < mm, ANY, nxt)
        targets = torch.where(pos == 2 * mm, self.eos, targets)
        targets = torch.where(pos > 2 * mm, PAD, targets)
        return Batch(inputs=inputs, lengths=2 * m + 1, targets=targets)

    def dense_targets(self, targets: torch.Tensor) -> torch.Tensor:
        """The multi-hot target (B×T×C float) that the compact codes stand for; 0 at padding."""
        out = torch.zeros(*targets.shape, self.num_outputs)
        out[targets == ANY, : self.alphabet + 1] = 1.0
        rows, cols = (targets >= 0).nonzero(as_tuple=True)
        out[rows, cols, targets[rows, cols]] = 1.0
        return out

    def loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        # BCE(z, y) summed over classes = sum_c softplus(z_c) - sum_c y_c z_c, without building y
        targets = batch.targets
        real = targets != PAD
        any_next = logits[..., : self.alphabet + 1].sum(-1)
        one_next = logits.gather(-1, targets.clamp(min=0)[..., None]).squeeze(-1)
        yz = torch.where(targets == ANY, any_next, one_next)
        per_position = F.softplus(logits).sum(-1) - yz
        return per_position[real].sum() / (real.sum() * self.num_outputs)

    def correct(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        targets = batch.targets
        on = logits > 0
        count = on.sum(-1)
        any_ok = (count == self.alphabet + 1) & ~on[..., self.eos]
        one_ok = (count == 1) & on.gather(-1, targets.clamp(min=0)[..., None]).squeeze(-1)
        ok = torch.where(targets == ANY, any_ok, one_ok) | (targets == PAD)
        return ok.all(1)

    def target_name(self, code: int) -> str:
        if code == ANY:
            return "*"
        if code == self.eos:
            return EOS_NAME
        return self.symbol_name(code + 1)

    def describe(self, batch: Batch) -> dict[str, list]:
        tokens, targets = [], []
        for row, target, n in zip(
            batch.inputs.tolist(), batch.targets.tolist(), batch.lengths.tolist(), strict=True
        ):
            tokens.append(" ".join(self.symbol_name(t) for t in row[:n]))
            targets.append(" ".join(self.target_name(c) for c in target[:n]))
        return {"tokens": tokens, "target": targets, "half": ((batch.lengths - 1) // 2).tolist()}
