"""Index Lookup (paper 1, Sec. 6): read k symbols, then an index p; output the p-th symbol.

Token ids: 0 is padding, 1..A are the symbols, A+1..A+N the index tokens (each index value is its
own token). Training examples have k uniform in [min_length, N] and p uniform in 1..k (the
paper's protocol, ``train_lengths: variable``) or k = N (``train_lengths: fixed``); evaluation
examples have k = N exactly. Chance accuracy is 1/A.

Why the switch: with variable lengths an index p near N is drawn with probability about
1/((N - min_length) N), so the last positions are rarely trained; within a CPU budget of a few
thousand steps that, rather than the architecture, limits accuracy at length N.
"""

from __future__ import annotations

import string
from typing import Any

from ._lazy import torch
from .base import Batch, Task

#: printable names for up to 64 symbols (the base64 alphabet), so dumps are readable
SYMBOL_NAMES = string.ascii_uppercase + string.ascii_lowercase + string.digits + "+/"


class IndexLookup(Task):
    name = "idxl"
    defaults = {"alphabet": 64, "min_length": 10, "train_lengths": "variable"}

    @classmethod
    def check(cls, length: int, params: dict[str, Any]) -> list[str]:
        problems = []
        if not 2 <= params["alphabet"] <= len(SYMBOL_NAMES):
            problems.append(f"alphabet must be in 2..{len(SYMBOL_NAMES)}, got {params['alphabet']}")
        if params["min_length"] < 1:
            problems.append(f"min_length must be >= 1, got {params['min_length']}")
        if params["train_lengths"] not in ("variable", "fixed"):
            problems.append(
                f"train_lengths must be 'variable' or 'fixed', got {params['train_lengths']!r}"
            )
        if length < max(2, params["min_length"]):
            problems.append(
                f"length N={length} is below the shortest training length "
                f"min_length={params['min_length']} (and N must be >= 2)"
            )
        return problems

    @property
    def alphabet(self) -> int:
        return int(self.params["alphabet"])

    @property
    def vocab_size(self) -> int:
        return 1 + self.alphabet + self.length

    @property
    def num_outputs(self) -> int:
        return self.alphabet

    @property
    def max_len(self) -> int:
        return self.length + 1

    def sample(self, batch_size: int, generator: torch.Generator, *, train: bool) -> Batch:
        n, a = self.length, self.alphabet
        if train and self.params["train_lengths"] == "variable":
            k = torch.randint(self.params["min_length"], n + 1, (batch_size,), generator=generator)
        else:
            k = torch.full((batch_size,), n, dtype=torch.long)
        # p uniform in 1..k, drawn as floor(u * k) + 1 so one call covers every row's own k
        u = torch.rand(batch_size, generator=generator)
        p = (u * k).long().clamp(max=k - 1) + 1
        width = int(k.max()) + 1
        seq = torch.randint(1, a + 1, (batch_size, width), generator=generator)
        rows = torch.arange(batch_size)
        target = seq[rows, p - 1] - 1
        seq[rows, k] = a + p
        seq[torch.arange(width)[None, :] > k[:, None]] = 0
        return Batch(inputs=seq, lengths=k + 1, targets=target, extra={"index": p})

    def describe(self, batch: Batch) -> dict[str, list]:
        a = self.alphabet
        tokens, targets = [], []
        for row, length, target in zip(batch.inputs, batch.lengths, batch.targets, strict=True):
            ids = row[: int(length)].tolist()
            words = [SYMBOL_NAMES[t - 1] for t in ids[:-1]] + [f"#{ids[-1] - a}"]
            tokens.append(" ".join(words))
            targets.append(SYMBOL_NAMES[int(target)])
        return {
            "tokens": tokens,
            "target": targets,
            "k": (batch.lengths - 1).tolist(),
            "index": batch.extra["index"].tolist(),
        }
