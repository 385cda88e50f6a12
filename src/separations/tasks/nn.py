"""In-context nearest-neighbour classification (paper 1, Sec. 5; theory only in the paper).

An example is (x_1, y_1, ..., x_{k-1}, y_{k-1}, x_k): k points, the first k - 1 followed by their
labels, the last one (the query) unlabelled. The target is the label of the earlier point with the
largest inner product with the query. N counts points: the paper's N/2 < k <= N. Evaluation
examples have k = N exactly (2N - 1 positions); training examples (``train_lengths: variable``)
have k uniform in [min_points, N], ``min_points`` defaulting to floor(N/2) + 1; ``fixed`` trains
at k = N. N must be at least 2 (one labelled point and the query).

- Points x_i are uniform on the unit sphere of R^dim (normalised Gaussians); labels y_i are
  uniform in {0, 1}, independent of the points, so the target is 1/2-1/2 and chance is 1/2.
- Margin: the query is drawn uniformly on the sphere and redrawn (rejection sampling, 16
  candidates per round) until its best inner product exceeds its second best by at least
  ``margin``; so the query is uniform conditioned on the margin. With one earlier point the
  margin holds trivially. A margin that cannot be met in ``max_rounds`` rounds raises
  :class:`~separations.tasks.base.ConfigError` (lower the margin or raise dim).
- Inputs are vectors of size dim + 3, one per position: a point is ``[x, 0, 0, 1]``, a label
  ``[0, onehot(y), 0]`` (the last entry flags points), padding all zeros.
- Extra tensors: ``neighbour`` (1-based index of the nearest earlier point) and ``gap`` (best minus
  second-best inner product; +inf with a single earlier point).
"""

from __future__ import annotations

from typing import Any

from ._lazy import torch
from .base import Batch, ConfigError, Task

CANDIDATES = 16


def unit_vectors(shape: tuple[int, ...], dim: int, generator: torch.Generator) -> torch.Tensor:
    x = torch.randn(*shape, dim, generator=generator)
    return x / x.norm(dim=-1, keepdim=True).clamp(min=1e-12)


class NearestNeighbour(Task):
    name = "nn"
    input_kind = "vectors"
    defaults = {
        "dim": 16,
        "margin": 0.1,
        "min_points": None,
        "train_lengths": "variable",
        "max_rounds": 1000,
    }

    @classmethod
    def check(cls, length: int, params: dict[str, Any]) -> list[str]:
        problems = []
        if not isinstance(params["dim"], int) or params["dim"] < 2:
            problems.append(f"dim must be an integer >= 2, got {params['dim']!r}")
        margin = params["margin"]
        if not isinstance(margin, int | float) or not 0 <= margin < 1:
            problems.append(f"margin must be a number in [0, 1), got {margin!r}")
        if length < 2:
            problems.append(
                f"length N={length} is too short: N counts points and needs a labelled point "
                "and a query (N >= 2)"
            )
        lo = params["min_points"]
        if lo is not None and (not isinstance(lo, int) or not 2 <= lo <= max(length, 2)):
            problems.append(f"min_points must be null or an integer in 2..N, got {lo!r}")
        if params["train_lengths"] not in ("variable", "fixed"):
            problems.append(
                f"train_lengths must be 'variable' or 'fixed', got {params['train_lengths']!r}"
            )
        if not isinstance(params["max_rounds"], int) or params["max_rounds"] < 1:
            problems.append(f"max_rounds must be a positive integer, got {params['max_rounds']!r}")
        return problems

    @property
    def dim(self) -> int:
        return int(self.params["dim"])

    @property
    def min_points(self) -> int:
        lo = self.params["min_points"]
        return int(lo) if lo is not None else self.length // 2 + 1

    @property
    def vocab_size(self) -> int:
        return self.dim + 3

    @property
    def num_outputs(self) -> int:
        return 2

    @property
    def max_len(self) -> int:
        return 2 * self.length - 1

    def queries(
        self, points: torch.Tensor, context: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """A query per row meeting the margin: (query B×d, nearest index B, gap B).

        ``points`` is B×K×d, ``context`` B×K marks the earlier points each query may pick.
        """
        b, width, d = points.shape
        margin = float(self.params["margin"])
        query = torch.zeros(b, d)
        nearest = torch.zeros(b, dtype=torch.long)
        gap = torch.zeros(b)
        todo = torch.arange(b)
        for _ in range(self.params["max_rounds"]):
            r = len(todo)
            candidates = unit_vectors((r, CANDIDATES), d, generator)
            scores = candidates @ points[todo].transpose(1, 2)  # r×C×K
            scores = scores.masked_fill(~context[todo, None, :], -torch.inf)
            scores = torch.cat([scores, torch.full((r, CANDIDATES, 1), -torch.inf)], dim=2)
            top = scores.topk(2, dim=2)
            gaps = top.values[..., 0] - top.values[..., 1]
            ok = gaps >= margin
            found = ok.any(1)
            pick = ok.long().argmax(1)  # first candidate meeting the margin
            rows = torch.arange(r)
            done = todo[found]
            query[done] = candidates[rows, pick][found]
            nearest[done] = top.indices[rows, pick, 0][found]
            gap[done] = gaps[rows, pick][found]
            todo = todo[~found]
            if not len(todo):
                return query, nearest, gap
        raise ConfigError(
            f"task 'nn' at N={self.length}: no query with margin {margin} among "
            f"{self.params['max_rounds'] * CANDIDATES} candidates (dim={d}); lower the margin "
            "or raise dim"
        )

    def sample(self, batch_size: int, generator: torch.Generator, *, train: bool) -> Batch:
        n, d = self.length, self.dim
        if train and self.params["train_lengths"] == "variable":
            k = torch.randint(self.min_points, n + 1, (batch_size,), generator=generator)
        else:
            k = torch.full((batch_size,), n, dtype=torch.long)
        width = int(k.max())
        points = unit_vectors((batch_size, width), d, generator)
        labels = torch.randint(0, 2, (batch_size, width), generator=generator)
        slot = torch.arange(width)[None, :]
        context = slot < (k - 1)[:, None]
        query, nearest, gap = self.queries(points, context, generator)
        rows = torch.arange(batch_size)
        points[rows, k - 1] = query
        is_point = slot < k[:, None]
        inputs = torch.zeros(batch_size, 2 * width - 1, d + 3)
        inputs[:, 0::2, :d] = points * is_point[..., None]
        inputs[:, 0::2, d + 2] = is_point.float()
        onehot = torch.nn.functional.one_hot(labels[:, : width - 1], 2).float()
        inputs[:, 1::2, d : d + 2] = onehot * context[:, : width - 1, None]
        return Batch(
            inputs=inputs,
            lengths=2 * k - 1,
            targets=labels[rows, nearest],
            extra={"neighbour": nearest + 1, "gap": gap},
        )

    def describe(self, batch: Batch) -> dict[str, list]:
        d = self.dim
        tokens = []
        for row, n in zip(batch.inputs, batch.lengths.tolist(), strict=True):
            words = []
            for j in range(n):
                if j % 2 == 0:
                    words.append(f"x{j // 2 + 1}" if j < n - 1 else "?")
                else:
                    words.append(str(int(row[j, d + 1] > 0)))
            tokens.append(" ".join(words))
        return {
            "tokens": tokens,
            "target": batch.targets.tolist(),
            "points": ((batch.lengths + 1) // 2).tolist(),
            "neighbour": batch.extra["neighbour"].tolist(),
            "gap": batch.extra["gap"].tolist(),
        }
