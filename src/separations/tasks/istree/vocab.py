"""The IsTree vocabulary: ten special tokens, then one token per node id.

Token ids are fixed by the node count n: ``[PAD]`` is 0 and node ``k`` is ``NODE0 + k``. Strings are
the readable form used in dumps and tests (``"[BOS] 5 - 4 ..."``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

PAD, BOS, EOS, TRUE, FALSE, EDGE, PARENT, START, END, FAILED = range(10)
SPECIALS = (
    "[PAD]",
    "[BOS]",
    "[EOS]",
    "[TRUE]",
    "[FALSE]",
    "-",
    "~",
    "[STARTSEARCH]",
    "[ENDSEARCH]",
    "[FAILED]",
)
NODE0 = len(SPECIALS)


class Vocab:
    """Token ids and strings of graphs with ``n`` nodes (``0 .. n-1``)."""

    def __init__(self, n: int) -> None:
        self.n = int(n)
        self.words = [*SPECIALS, *(str(k) for k in range(self.n))]
        self.ids = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    def node(self, k: int) -> int:
        """Token id of node ``k``."""
        return NODE0 + int(k)

    def is_node(self, token: int) -> bool:
        return NODE0 <= token < NODE0 + self.n

    def node_of(self, token: int) -> int:
        """Node number of a node token."""
        return int(token) - NODE0

    def decode(self, tokens: Iterable[int]) -> str:
        return " ".join(self.words[int(t)] if 0 <= int(t) < len(self) else "?" for t in tokens)

    def encode(self, text: str | Sequence[str]) -> list[int]:
        words = text.split() if isinstance(text, str) else list(text)
        unknown = [w for w in words if w not in self.ids]
        if unknown:
            raise ValueError(f"not in the IsTree vocabulary of n={self.n}: {unknown[:5]}")
        return [self.ids[w] for w in words]
