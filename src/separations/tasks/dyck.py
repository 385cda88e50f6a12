"""Bounded Dyck-(2,2) recognition (paper 1, Sec. 6 and App. H).

A string over ``( ) [ ]`` is in the language iff it is well balanced and no prefix has more than
two unclosed brackets. Every example has length exactly N (training and evaluation alike, as the
paper states); N must be even and at least 4. Binary classification read at the last token:
target 1 = in the language; chance is 1/2.

Token ids: 0 padding (never produced: all examples have length N), 1 ``(``, 2 ``)``, 3 ``[``,
4 ``]``.

Generator, as the paper describes it:

- Label: each example is positive with probability 1/2 (independently).
- Positives: a walk of N-2 steps over a stack of depth at most 2. At depth 0 emit one of the two
  opening brackets uniformly; at depth 1 choose uniformly among the two opening brackets and the
  closing bracket of the top; at depth 2 emit the closing bracket of the top. The walk's depth has
  the parity of its step count, so after N-2 steps it is 0 or 2: at 0 append a pair ``()`` or
  ``[]`` (type uniform), at 2 append the two missing closing brackets. Length exactly N.
- Negatives: draw a positive as above, pick k uniform in 1..max(1, N//10), corrupt k distinct
  positions (uniform): at each, with probability 1/2 swap the bracket type (``(``<->``[``,
  ``)``<->``]``), otherwise flip open<->close (``(``<->``)``, ``[``<->``]``). If the result is
  still in the language, the same positive is corrupted afresh (new k, positions and operations)
  until it is not. The number of corrupted positions is kept as ``corruptions`` (0 for positives).

Everything is vectorised over the batch: the walk loops over positions only, and membership is
decided without a loop (running depth by cumulative sums, the matching opening bracket of each
closing one by a running maximum of positions).
"""

from __future__ import annotations

import functools
from typing import Any

from ._lazy import torch
from .base import Batch, Task

TOKEN_NAMES = {1: "(", 2: ")", 3: "[", 4: "]"}
OPEN = (1, 3)  # ( and [ ; the closing bracket of an opening one is id + 1
#: token -> the same direction, other bracket type; token -> the same type, other direction
SWAP_TYPE = (0, 3, 4, 1, 2)
FLIP_DIRECTION = (0, 2, 1, 4, 3)

# The walk's stack as one of 7 states: 0 empty; 1 "(" ; 2 "[" ; 3 + 2*bottom + top at depth 2
# (bottom, top in {0: round, 1: square}). A step reads r uniform in 0..5: depth 0 uses r % 2
# (two choices), depth 1 uses r % 3 (three choices), so one draw serves every state uniformly.
_CHOICES = 6


@functools.cache
def _walk_tables() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(emit, next state, two finishing tokens) as flat lookup tables indexed by state*6 + r."""
    emit = torch.zeros(7 * _CHOICES, dtype=torch.long)
    nxt = torch.zeros(7 * _CHOICES, dtype=torch.long)
    finish = torch.zeros(7 * 2, 2, dtype=torch.long)
    for r in range(_CHOICES):
        # depth 0: open a bracket of type r % 2
        t = r % 2
        emit[0 * _CHOICES + r] = OPEN[t]
        nxt[0 * _CHOICES + r] = 1 + t
        for top in (0, 1):
            s = 1 + top
            c = r % 3
            if c < 2:  # open a bracket of type c on top of `top`
                emit[s * _CHOICES + r] = OPEN[c]
                nxt[s * _CHOICES + r] = 3 + 2 * top + c
            else:  # close the top
                emit[s * _CHOICES + r] = OPEN[top] + 1
                nxt[s * _CHOICES + r] = 0
            for bottom in (0, 1):
                s2 = 3 + 2 * bottom + top
                emit[s2 * _CHOICES + r] = OPEN[top] + 1
                nxt[s2 * _CHOICES + r] = 1 + bottom
    for u in (0, 1):
        finish[0 * 2 + u] = torch.tensor([OPEN[u], OPEN[u] + 1])  # append a depth-1 pair
        for bottom in (0, 1):
            for top in (0, 1):
                s2 = 3 + 2 * bottom + top
                finish[s2 * 2 + u] = torch.tensor([OPEN[top] + 1, OPEN[bottom] + 1])
    return emit, nxt, finish


def in_language(tokens: torch.Tensor, max_depth: int = 2) -> torch.Tensor:
    """Membership in bounded Dyck-(2, max_depth) of each row of a B×N tensor of bracket ids."""
    b, n = tokens.shape
    if n == 0:
        return torch.ones(b, dtype=torch.bool)
    opens = (tokens == 1) | (tokens == 3)
    kind = (tokens >= 3).long()  # 0 round, 1 square
    step = torch.where(opens, 1, -1)
    after = step.cumsum(1)  # unclosed brackets after each position
    before = after - step
    ok = (after >= 0).all(1) & (after <= max_depth).all(1) & (after[:, -1] == 0)
    ok &= ((tokens >= 1) & (tokens <= 4)).all(1)
    positions = torch.arange(n).expand(b, n)
    for level in range(1, max_depth + 1):
        # the latest opening bracket that raised the depth to `level`: in a string whose depth
        # stays in range, the match of a closing bracket that lowers the depth from `level`
        last = torch.where(opens & (after == level), positions, -1).cummax(1).values
        closes_here = ~opens & (before == level)
        open_kind = kind.gather(1, last.clamp(min=0))
        bad = closes_here & ((last < 0) | (open_kind != kind))
        ok &= ~bad.any(1)
    return ok


def depth_profile(tokens: torch.Tensor) -> torch.Tensor:
    """Unclosed brackets after each position (opening +1, closing -1, ignoring types)."""
    opens = (tokens == 1) | (tokens == 3)
    return torch.where(opens, 1, -1).cumsum(1)


class BoundedDyck(Task):
    name = "dyck"
    defaults: dict[str, Any] = {}

    @classmethod
    def check(cls, length: int, params: dict[str, Any]) -> list[str]:
        problems = []
        if length < 4:
            problems.append(f"length N={length} is too short: bounded Dyck needs N >= 4")
        if length % 2:
            problems.append(f"length N={length} is odd: every string of Dyck-(2,2) has even length")
        return problems

    @property
    def vocab_size(self) -> int:
        return 5

    @property
    def num_outputs(self) -> int:
        return 2

    @property
    def max_len(self) -> int:
        return self.length

    @property
    def max_corruptions(self) -> int:
        return max(1, self.length // 10)

    def positives(self, batch_size: int, generator: torch.Generator) -> torch.Tensor:
        """``batch_size`` strings of the language by the paper's walk (B×N)."""
        n = self.length
        emit, step, finish = _walk_tables()
        draws = torch.randint(0, _CHOICES, (n - 2, batch_size), generator=generator)
        state = torch.zeros(batch_size, dtype=torch.long)
        out = torch.empty(n, batch_size, dtype=torch.long)
        for t in range(n - 2):
            index = state * _CHOICES + draws[t]
            out[t] = emit[index]
            state = step[index]
        pair = torch.randint(0, 2, (batch_size,), generator=generator)
        out[n - 2 :] = finish[state * 2 + pair].T
        return out.T.contiguous()

    def corrupt(
        self, strings: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Each row corrupted until outside the language; (corrupted, corruptions per row)."""
        m, n = strings.shape
        out = strings.clone()
        count = torch.zeros(m, dtype=torch.long)
        todo = torch.arange(m)
        while len(todo):
            base = strings[todo]
            r = len(todo)
            k = torch.randint(1, self.max_corruptions + 1, (r,), generator=generator)
            order = torch.rand(r, n, generator=generator).argsort(1)
            chosen = torch.zeros(r, n, dtype=torch.bool)
            chosen.scatter_(1, order, torch.arange(n).expand(r, n) < k[:, None])
            swap = torch.rand(r, n, generator=generator) < 0.5
            swap_type, flip = torch.tensor(SWAP_TYPE), torch.tensor(FLIP_DIRECTION)
            changed = torch.where(swap, swap_type[base], flip[base])
            candidate = torch.where(chosen, changed, base)
            still_in = in_language(candidate)
            done = ~still_in
            out[todo[done]] = candidate[done]
            count[todo[done]] = k[done]
            todo = todo[still_in]
        return out, count

    def sample(self, batch_size: int, generator: torch.Generator, *, train: bool) -> Batch:
        del train  # training and evaluation examples alike have length exactly N
        label = (torch.rand(batch_size, generator=generator) < 0.5).long()
        strings = self.positives(batch_size, generator)
        corruptions = torch.zeros(batch_size, dtype=torch.long)
        negative = (label == 0).nonzero().squeeze(1)
        if len(negative):
            strings[negative], corruptions[negative] = self.corrupt(strings[negative], generator)
        lengths = torch.full((batch_size,), self.length, dtype=torch.long)
        return Batch(
            inputs=strings, lengths=lengths, targets=label, extra={"corruptions": corruptions}
        )

    def describe(self, batch: Batch) -> dict[str, list]:
        tokens = [
            "".join(TOKEN_NAMES[t] for t in row[: int(n)])
            for row, n in zip(batch.inputs.tolist(), batch.lengths.tolist(), strict=True)
        ]
        depth = depth_profile(batch.inputs)
        return {
            "tokens": tokens,
            "target": ["member" if t else "nonmember" for t in batch.targets.tolist()],
            "label": batch.targets.tolist(),
            "depth_max": depth.max(1).values.tolist(),
            "depth_min": depth.min(1).values.tolist(),
            "corruptions": batch.extra["corruptions"].tolist(),
        }
