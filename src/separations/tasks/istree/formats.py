"""The three IsTree formats: sequences, loss masks and padded batches.

Every sequence starts with the prompt ``[BOS] u - v ... [EOS]`` (3n-1 tokens) and ends with the
answer ``[TRUE]`` or ``[FALSE]``:

``nocot``      prompt, answer (3n tokens).
``cot``        prompt, a DFS Euler tour from node 0, ``[EOS]``, answer (5n tokens for a tree).
``retrieval``  prompt, the search-driven DFS of :func:`retrieval_trace`, ``[EOS]``, answer
               (40n-25 tokens for a tree).

The loss sees every token after the first ``[EOS]`` (the trace, the second ``[EOS]``, the answer)
except the answers of the search tool, which the tool supplies.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._lazy import torch
from .graphs import Graphs, adjacency
from .search import SearchContext
from .vocab import BOS, EDGE, END, EOS, FAILED, FALSE, PAD, PARENT, START, TRUE, Vocab

FORMATS = ("nocot", "cot", "retrieval")


class FormatError(ValueError):
    """An unknown format name."""


def check_format(name: str) -> str:
    if name not in FORMATS:
        raise FormatError(f"unknown IsTree format {name!r}; allowed: {', '.join(FORMATS)}")
    return name


def max_length(fmt: str, n: int) -> int:
    """The longest sequence of a format (a tree's): a model's context must hold it."""
    return {"nocot": 3 * n, "cot": 5 * n, "retrieval": 40 * n - 25}[check_format(fmt)]


def prompt_length(n: int) -> int:
    return 3 * n - 1


def answers_after(fmt: str) -> int:
    """How many [EOS] precede the answer token."""
    return 1 if check_format(fmt) == "nocot" else 2


def euler_tour(n: int, edges: list[tuple[int, int]]) -> list[int]:
    """The CoT trace: a DFS Euler tour from node 0, cut at the first cycle.

    Neighbours are taken in input order. A node is written on entry and again after returning from
    each child. Meeting an already-visited neighbour other than the parent stops the tour at once,
    without writing that neighbour.
    """
    adj = adjacency(n, edges)
    visited = [False] * n
    visited[0] = True
    tour = [0]
    stack = [[0, -1, 0]]  # node, parent, index of the next neighbour to look at
    while stack:
        frame = stack[-1]
        v, parent, i = frame
        if i == len(adj[v]):
            stack.pop()
            if stack:
                tour.append(stack[-1][0])
            continue
        frame[2] += 1
        c = adj[v][i]
        if c == parent:
            continue
        if visited[c]:
            return tour
        visited[c] = True
        tour.append(c)
        stack.append([c, v, 0])
    return tour


def retrieval_trace(prompt: list[int], vocab: Vocab) -> tuple[list[int], list[int]]:
    """The retrieval trace after ``prompt``, and the indices (into the trace) of tool answers.

    The same DFS as :func:`euler_tour`, but every fact comes from the search tool: this function
    never looks at the graph, only at the tool's answers. Per visit of a vertex v it writes ``v``,
    asks ``v ~`` (v's parent, [FAILED] at the root) and asks for v's next neighbour: ``v -`` on
    entering v, ``v - c`` after returning from child c, and ``v - p`` when the neighbour found is
    the parent p. [FAILED] means v is finished: the walk returns to the parent, or ends at the root.
    Before entering a neighbour c it asks ``c ~``: [FAILED] means unvisited, and it writes the
    record ``c ~ v`` that later searches find. A visited c (a recorded parent, or the root 0, which
    has no record) closes a cycle and ends the trace right after that answer.
    """
    context = SearchContext(vocab)
    context.extend(prompt)
    trace: list[int] = []
    answers: list[int] = []

    def write(*tokens: int) -> None:
        for t in tokens:
            trace.append(t)
            context.append(t)

    def ask(*query: int) -> int:
        trace.extend([START, *query])
        context.extend([START, *query])
        answer = context.append(END)
        trace.append(END)
        assert answer is not None
        answers.append(len(trace))
        write(answer)
        return answer

    root = vocab.node(0)
    v, back_from = root, None
    while True:
        write(v)
        parent = ask(v, PARENT)
        nxt = ask(v, EDGE) if back_from is None else ask(v, EDGE, back_from)
        if nxt != FAILED and nxt == parent:
            nxt = ask(v, EDGE, parent)
        if nxt == FAILED:
            if parent == FAILED:  # back at the root with no neighbour left: done
                break
            v, back_from = parent, v
            continue
        seen = ask(nxt, PARENT)
        if seen != FAILED or nxt == root:  # visited: a cycle
            break
        write(nxt, PARENT, v)
        v, back_from = nxt, None
    return trace, answers


def prompt_tokens(edges: list[tuple[int, int]], vocab: Vocab) -> list[int]:
    out = [BOS]
    for u, v in edges:
        out += [vocab.node(u), EDGE, vocab.node(v)]
    return out + [EOS]


def sequence(
    fmt: str, n: int, edges: list[tuple[int, int]], is_tree: bool, vocab: Vocab
) -> tuple[list[int], list[int]]:
    """One example: its tokens and the positions of tool answers (excluded from the loss)."""
    prompt = prompt_tokens(edges, vocab)
    answer = TRUE if is_tree else FALSE
    if fmt == "nocot":
        return prompt + [answer], []
    if fmt == "cot":
        trace = [vocab.node(k) for k in euler_tour(n, edges)]
        return prompt + trace + [EOS, answer], []
    if fmt == "retrieval":
        trace, answers = retrieval_trace(prompt, vocab)
        return prompt + trace + [EOS, answer], [len(prompt) + i for i in answers]
    raise FormatError(f"unknown IsTree format {fmt!r}; allowed: {', '.join(FORMATS)}")


@dataclass
class Encoded:
    """A padded batch of sequences of one format."""

    tokens: torch.Tensor  # B x T long, right-padded with [PAD]
    lengths: torch.Tensor  # B long
    supervised: torch.Tensor  # B x T bool: token t is a loss target (predicted at t-1)
    labels: torch.Tensor  # B long: 1 for a tree


def encode(graphs: Graphs, fmt: str, vocab: Vocab) -> Encoded:
    check_format(fmt)
    n, b = graphs.n, len(graphs)
    p = prompt_length(n)
    if fmt == "nocot":  # vectorised: no trace
        tokens = torch.empty(b, p + 1, dtype=torch.long)
        tokens[:, 0] = BOS
        tokens[:, 1 : p - 1 : 3] = graphs.edges[..., 0] + vocab.node(0)
        tokens[:, 2 : p - 1 : 3] = EDGE
        tokens[:, 3 : p - 1 : 3] = graphs.edges[..., 1] + vocab.node(0)
        tokens[:, p - 1] = EOS
        tokens[:, p] = torch.where(graphs.is_tree, TRUE, FALSE)
        supervised = torch.zeros_like(tokens, dtype=torch.bool)
        supervised[:, p] = True
        lengths = torch.full((b,), p + 1, dtype=torch.long)
        return Encoded(tokens, lengths, supervised, graphs.is_tree.long())
    rows, tool = [], []
    trees = graphs.is_tree.tolist()
    for i in range(b):
        seq, answers = sequence(fmt, n, graphs.edge_list(i), trees[i], vocab)
        rows.append(seq)
        tool.append(answers)
    width = max(len(r) for r in rows)
    tokens = torch.full((b, width), PAD, dtype=torch.long)
    supervised = torch.zeros(b, width, dtype=torch.bool)
    for i, (seq, answers) in enumerate(zip(rows, tool, strict=True)):
        tokens[i, : len(seq)] = torch.tensor(seq)
        supervised[i, p : len(seq)] = True
        if answers:
            supervised[i, answers] = False
    lengths = torch.tensor([len(r) for r in rows])
    return Encoded(tokens, lengths, supervised, graphs.is_tree.long())
