"""IsTree (paper 2, Wen, Dang and Lyu 2024): is an undirected graph on n nodes a tree?

The task's length is the node count n. Examples are language-model sequences in one of three
formats (``nocot``, ``cot``, ``retrieval``), built by the modules of this package:

- :mod:`.vocab`     token ids and strings
- :mod:`.graphs`    the "binary" graph sampler
- :mod:`.search`    the regular-expression search tool (in-context retrieval)
- :mod:`.formats`   the nocot / cot / retrieval sequences and loss masks

The class wraps them so that ``python -m separations.data istree`` can write evaluation sets and
dumps; paper 2's study (:mod:`separations.istree`) trains and scores language models on them.
``targets`` holds the label (1 for a tree); ``extra["supervised"]`` marks the tokens the loss sees
(after the first [EOS], without the search tool's answers).
"""

from __future__ import annotations

from typing import Any

from .._lazy import F, torch
from ..base import Batch, Task
from . import formats, graphs
from .vocab import Vocab


class IsTree(Task):
    name = "istree"
    readout = "all"
    defaults = {"format": "cot", "graph": "binary"}

    @classmethod
    def check(cls, length: int, params: dict[str, Any]) -> list[str]:
        problems = []
        if params["format"] not in formats.FORMATS:
            problems.append(
                f"unknown format {params['format']!r}; allowed: {', '.join(formats.FORMATS)}"
            )
        if params["graph"] != "binary":
            problems.append(f"unknown graph sampler {params['graph']!r}; allowed: binary")
        if length < graphs.MIN_NODES:
            problems.append(
                f"IsTree graphs need at least {graphs.MIN_NODES} nodes (two hubs and two "
                f"leaves), got n={length}"
            )
        return problems

    @property
    def format(self) -> str:
        return str(self.params["format"])

    @property
    def vocab(self) -> Vocab:
        return Vocab(self.length)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    @property
    def num_outputs(self) -> int:
        return len(self.vocab)

    @property
    def max_len(self) -> int:
        return formats.max_length(self.format, self.length)

    @property
    def chance(self) -> float:
        return 0.5

    def sample(self, batch_size: int, generator: torch.Generator, *, train: bool) -> Batch:
        g = graphs.sample_binary(self.length, batch_size, generator)
        enc = formats.encode(g, self.format, self.vocab)
        return Batch(
            inputs=enc.tokens,
            lengths=enc.lengths,
            targets=enc.labels,
            extra={"supervised": enc.supervised},
        )

    def describe(self, batch: Batch) -> dict[str, list]:
        vocab = self.vocab
        tokens = [
            vocab.decode(row[: int(n)].tolist())
            for row, n in zip(batch.inputs, batch.lengths, strict=True)
        ]
        labels = ["TRUE" if int(t) else "FALSE" for t in batch.targets]
        return {
            "tokens": tokens,
            "target": labels,
            "label": labels,
            "format": [self.format] * len(batch),
            "n": [self.length] * len(batch),
            "seq_length": batch.lengths.tolist(),
        }

    # next-token loss on the supervised tokens (used if the generic trainer is pointed here)
    def loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        mask = batch.extra["supervised"][:, 1:]
        return F.cross_entropy(logits[:, :-1][mask], batch.inputs[:, 1:][mask])

    def correct(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Teacher-forced exact match of every supervised token."""
        mask = batch.extra["supervised"][:, 1:]
        right = logits[:, :-1].argmax(-1) == batch.inputs[:, 1:]
        return (right | ~mask).all(dim=1)
