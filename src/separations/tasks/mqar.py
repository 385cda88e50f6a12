"""Multi-query associative recall (MQAR): the tokenised special case of nearest neighbour.

An example is n key-value pairs ``k_1 v_1 ... k_n v_n`` followed by the n keys again in a random
order ``q_1 ... q_n`` (a uniform permutation); after each query the model must output the value
stored with that key. Keys within an example are distinct (drawn without replacement from
``keys`` key tokens), values are uniform over ``values`` value tokens (repeats allowed). The
queries are not followed by their answers in the input.

N counts key-value pairs, so a sequence has 3n tokens. Evaluation examples have n = N; training
examples (``train_lengths: variable``) have n uniform in [min_pairs, N], ``min_pairs`` defaulting
to floor(N/2) + 1 as for :mod:`~separations.tasks.nn`; ``fixed`` trains at n = N.

Token ids: 0 padding, 1..K the keys, K+1..K+V the values. Readout ``all``: ``targets`` is B×T with
the value (0..V-1) at each query position and :data:`IGNORE` elsewhere; the loss is cross-entropy
averaged over the query positions of the batch, and an example is correct only if every query is
answered right (chance (1/V)^N at evaluation).
"""

from __future__ import annotations

from typing import Any

from ._lazy import F, torch
from .base import Batch, Task

IGNORE = -100


class MultiQueryRecall(Task):
    name = "mqar"
    readout = "all"
    defaults = {"keys": 1024, "values": 64, "min_pairs": None, "train_lengths": "variable"}

    @classmethod
    def check(cls, length: int, params: dict[str, Any]) -> list[str]:
        problems = []
        keys, values = params["keys"], params["values"]
        if not isinstance(values, int) or values < 2:
            problems.append(f"values must be an integer >= 2, got {values!r}")
        if not isinstance(keys, int) or keys < 1:
            problems.append(f"keys must be a positive integer, got {keys!r}")
        elif length > keys:
            problems.append(
                f"length N={length} pairs needs N distinct keys, but there are only keys={keys}"
            )
        if length < 1:
            problems.append(f"length N={length} must be >= 1 (N counts key-value pairs)")
        lo = params["min_pairs"]
        if lo is not None and (not isinstance(lo, int) or not 1 <= lo <= max(length, 1)):
            problems.append(f"min_pairs must be null or an integer in 1..N, got {lo!r}")
        if params["train_lengths"] not in ("variable", "fixed"):
            problems.append(
                f"train_lengths must be 'variable' or 'fixed', got {params['train_lengths']!r}"
            )
        return problems

    @property
    def keys(self) -> int:
        return int(self.params["keys"])

    @property
    def values(self) -> int:
        return int(self.params["values"])

    @property
    def min_pairs(self) -> int:
        lo = self.params["min_pairs"]
        return int(lo) if lo is not None else self.length // 2 + 1

    @property
    def vocab_size(self) -> int:
        return 1 + self.keys + self.values

    @property
    def num_outputs(self) -> int:
        return self.values

    @property
    def max_len(self) -> int:
        return 3 * self.length

    @property
    def chance(self) -> float:
        return (1.0 / self.values) ** self.length

    def sample(self, batch_size: int, generator: torch.Generator, *, train: bool) -> Batch:
        b, big_k = batch_size, self.keys
        if train and self.params["train_lengths"] == "variable":
            n = torch.randint(self.min_pairs, self.length + 1, (b,), generator=generator)
        else:
            n = torch.full((b,), self.length, dtype=torch.long)
        width = int(n.max())
        keys = torch.rand(b, big_k, generator=generator).argsort(1)[:, :width] + 1
        values = torch.randint(0, self.values, (b, width), generator=generator)
        slot = torch.arange(width)[None, :]
        # a uniform permutation of each row's first n slots: sort random keys, padding last
        order = torch.rand(b, width, generator=generator).masked_fill(slot >= n[:, None], 2.0)
        perm = order.argsort(1)
        queries, answers = keys.gather(1, perm), values.gather(1, perm)
        pairs = torch.stack([keys, values + big_k + 1], dim=2).reshape(b, 2 * width)
        pos = torch.arange(3 * width).expand(b, -1)
        nn2 = 2 * n[:, None]
        in_pairs, in_queries = pos < nn2, (pos >= nn2) & (pos < 3 * n[:, None])
        q_index = (pos - nn2).clamp(0, width - 1)
        inputs = torch.where(in_pairs, pairs.gather(1, pos.clamp(max=2 * width - 1)), 0)
        inputs = torch.where(in_queries, queries.gather(1, q_index), inputs)
        targets = torch.where(in_queries, answers.gather(1, q_index), IGNORE)
        return Batch(inputs=inputs, lengths=3 * n, targets=targets)

    def loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        return F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), batch.targets.reshape(-1), ignore_index=IGNORE
        )

    def correct(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        right = (logits.argmax(-1) == batch.targets) | (batch.targets == IGNORE)
        return right.all(1)

    def describe(self, batch: Batch) -> dict[str, list]:
        big_k = self.keys

        def word(t: int) -> str:
            return f"k{t - 1}" if t <= big_k else f"v{t - big_k - 1}"

        tokens, targets = [], []
        for row, target, length in zip(
            batch.inputs.tolist(), batch.targets.tolist(), batch.lengths.tolist(), strict=True
        ):
            tokens.append(" ".join(word(t) for t in row[:length]))
            targets.append(" ".join(f"v{t}" for t in target[:length] if t != IGNORE))
        return {
            "tokens": tokens,
            "target": targets,
            "pairs": (batch.lengths // 3).tolist(),
        }
