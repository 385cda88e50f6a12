"""The in-context search tool: a regular-expression retrieval over the text so far.

The retrieval format lets the model ask instead of remember. It writes a query
``[STARTSEARCH] q [ENDSEARCH]`` and the tool appends one answer token. Three queries exist:

=========================  ========================================================  =============
query                      regular expression over the facts (``N`` = any node)      answer
=========================  ========================================================  =============
``v ~``                    ``v ~ (N)``: the first record ``v ~ p``                   p
``v -``                    ``v - (N) | (N) - v``: v's first edge in the input        its other end
``v - u``                  ``(v - u | u - v) .*? (v - (N) | (N) - v)``: the first    its other end
                           edge of v after the edge {v, u}
=========================  ========================================================  =============

No match answers ``[FAILED]``. The *facts* are the whole text so far except the search spans
themselves (each ``[STARTSEARCH] ... [ENDSEARCH] answer``): queries and answers are questions, not
knowledge, so ``v - u`` inside a query never matches as an edge. Each token is one character of the
searched string, so a match can never straddle a token and the expressions above are literal.

Anything else between the markers (an empty query, a non-node, a nested ``[STARTSEARCH]``, an
``[ENDSEARCH]`` with no open query) is *malformed*: the tool answers ``[FAILED]`` and counts it, and
evaluation scores such a sample wrong. The tool never raises on model output.

The same :class:`SearchContext` builds the training traces (:mod:`.formats`), answers the model
during generation (:mod:`separations.istree.generate`) and checks traces in the tests.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cache

from .vocab import EDGE, END, FAILED, PARENT, START, Vocab

CHAR_BASE = 0x100  # token t is the character chr(CHAR_BASE + t): no regex metacharacters


def char(token: int) -> str:
    return chr(CHAR_BASE + int(token))


@cache
def _patterns(n: int):
    """Compiled expressions for graphs of n nodes, built on first use of each query."""
    vocab = Vocab(n)
    node = "[" + re.escape(char(vocab.node(0))) + "-" + re.escape(char(vocab.node(n - 1))) + "]"
    dash, tilde = re.escape(char(EDGE)), re.escape(char(PARENT))

    @cache
    def parent(v: int) -> re.Pattern:
        return re.compile(f"{re.escape(char(v))}{tilde}({node})")

    @cache
    def first(v: int) -> re.Pattern:
        x = re.escape(char(v))
        return re.compile(f"{x}{dash}({node})|({node}){dash}{x}")

    @cache
    def after(v: int, u: int) -> re.Pattern:
        x, y = re.escape(char(v)), re.escape(char(u))
        return re.compile(
            f"(?:{x}{dash}{y}|{y}{dash}{x}).*?(?:{x}{dash}({node})|({node}){dash}{x})", re.DOTALL
        )

    return parent, first, after


class SearchContext:
    """The text so far, token by token, as the search tool sees it.

    :meth:`append` takes every token of the sequence in order (input, trace, answers). After an
    ``[ENDSEARCH]`` it returns the tool's answer, which must be the next token appended (the caller
    writes it into the sequence; whatever token comes next is taken as that answer slot).
    """

    def __init__(self, vocab: Vocab) -> None:
        self.vocab = vocab
        self._parent, self._first, self._after = _patterns(vocab.n)
        self.facts = ""  # the text outside search spans, one character per token
        self.mode = "text"  # "text", "query" (inside a search), "answer" (next token is one)
        self.query: list[int] = []
        self.searches = 0
        self.malformed = 0

    def extend(self, tokens: Iterable[int]) -> int | None:
        answer = None
        for t in tokens:
            answer = self.append(t)
        return answer

    def append(self, token: int) -> int | None:
        """Add one token; returns the tool's answer when ``token`` closes a query."""
        token = int(token)
        if self.mode == "answer":  # the answer slot: not a fact
            self.mode = "text"
            return None
        if token == END:  # every [ENDSEARCH] is answered, even a stray one
            if self.mode == "query":
                answer = self.answer(self.query)
            else:
                self.malformed += 1
                answer = FAILED
            self.searches += 1
            self.query = []
            self.mode = "answer"
            return answer
        if self.mode == "query":
            if token == START:  # nested search: the open query is broken
                self.query = [START]  # a non-node: malformed when it closes
            else:
                self.query.append(token)
            return None
        if token == START:
            self.mode = "query"
            self.query = []
            return None
        self.facts += char(token)
        return None

    def answer(self, query: Sequence[int]) -> int:
        """The answer token to ``query`` (the tokens between the markers) given the facts."""
        vocab, q = self.vocab, list(query)
        match = None
        if len(q) == 2 and vocab.is_node(q[0]) and q[1] == PARENT:
            match = self._parent(q[0]).search(self.facts)
        elif len(q) == 2 and vocab.is_node(q[0]) and q[1] == EDGE:
            match = self._first(q[0]).search(self.facts)
        elif len(q) == 3 and vocab.is_node(q[0]) and q[1] == EDGE and vocab.is_node(q[2]):
            match = self._after(q[0], q[2]).search(self.facts)
        else:
            self.malformed += 1
            return FAILED
        if match is None:
            return FAILED
        found = next(g for g in match.groups() if g is not None)
        return ord(found) - CHAR_BASE


def search(tokens: Sequence[int], vocab: Vocab) -> int:
    """The tool's answer to the query closed by ``tokens`` (a prefix ending in [ENDSEARCH])."""
    if not tokens or int(tokens[-1]) != END:
        raise ValueError("search() needs a prefix that ends with [ENDSEARCH]")
    context = SearchContext(vocab)
    answer = context.extend(tokens)
    assert answer is not None
    return answer
