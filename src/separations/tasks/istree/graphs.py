"""Random graphs for IsTree: the authors' "binary" sampler, vectorised over a batch.

A random permutation of the nodes ``0..n-1``; its first two entries are hubs, and every other node
attaches to one hub by a fair coin (two stars, n-2 edges). One extra edge then joins ``perm[i]`` and
``perm[i+1]`` for ``i`` uniform in ``{2..n-2}``. If those two leaves hang off different hubs the
extra edge joins the stars and the graph is a tree; otherwise it closes a triangle in one star and
the graph is disconnected. Every graph has n-1 edges and P(tree) = 1/2.

Edges are written ``u - v`` with ``u > v`` in a uniformly random order (the input order, which is
also the order in which a DFS meets each node's neighbours).
"""

from __future__ import annotations

from dataclasses import dataclass

from .._lazy import torch

#: the smallest graph the sampler can make: it needs two hubs and two leaves
MIN_NODES = 4


class GraphError(ValueError):
    """A graph size the sampler cannot make."""


@dataclass
class Graphs:
    """A batch of graphs on ``n`` nodes."""

    n: int
    edges: torch.Tensor  # B x (n-1) x 2, long: (u, v) with u > v, in input order
    is_tree: torch.Tensor  # B, bool: connected (with n-1 edges: a tree)

    def __len__(self) -> int:
        return int(self.edges.shape[0])

    def edge_list(self, row: int) -> list[tuple[int, int]]:
        return [(int(u), int(v)) for u, v in self.edges[row].tolist()]


def check_nodes(n: int) -> None:
    if int(n) < MIN_NODES:
        raise GraphError(
            f"IsTree graphs need at least {MIN_NODES} nodes (two hubs and two leaves), got n={n}"
        )


def sample_binary(n: int, batch_size: int, generator: torch.Generator) -> Graphs:
    """``batch_size`` binary graphs on ``n`` nodes, drawn from ``generator`` only."""
    check_nodes(n)
    b = batch_size
    perm = torch.rand(b, n, generator=generator).argsort(dim=1)
    side = torch.randint(0, 2, (b, n - 2), generator=generator)  # hub of perm[2 + j]
    extra = torch.randint(2, n - 1, (b, 1), generator=generator)  # i in {2..n-2}
    order = torch.rand(b, n - 1, generator=generator).argsort(dim=1)

    leaves = perm[:, 2:]
    hubs = perm.gather(1, side)  # perm[0] or perm[1]
    a = perm.gather(1, extra)
    c = perm.gather(1, extra + 1)
    ends = torch.cat([torch.stack([leaves, hubs], -1), torch.stack([a, c], -1)], dim=1)
    ends = torch.stack([ends.max(-1).values, ends.min(-1).values], -1)
    edges = ends.gather(1, order[..., None].expand(-1, -1, 2))
    side_a = side.gather(1, extra - 2).squeeze(1)
    side_c = side.gather(1, extra - 1).squeeze(1)
    return Graphs(n=n, edges=edges, is_tree=side_a != side_c)


def adjacency(n: int, edges: list[tuple[int, int]]) -> list[list[int]]:
    """Neighbour lists in input order: node k's neighbours in the order its edges appear."""
    adj: list[list[int]] = [[] for _ in range(n)]
    for u, v in edges:
        adj[u].append(v)
        adj[v].append(u)
    return adj
