"""Batched greedy generation after the prompt, with the search tool in the loop.

Every sequence of a batch has the same prompt length (3n-1 tokens), so generation runs in lock
step: one token per sequence per step. In the ``retrieval`` format each sequence has its own
:class:`~separations.tasks.istree.search.SearchContext`; when a sequence writes ``[ENDSEARCH]`` the
tool's answer becomes its next token, whatever the model would have predicted. Generation of a
sequence ends with its answer token (the token after its last required ``[EOS]``) or at the
model's context length; a sequence that never reaches an answer, or that wrote a malformed query,
is scored wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..tasks.istree.formats import answers_after, check_format
from ..tasks.istree.search import SearchContext
from ..tasks.istree.vocab import EOS, PAD, Vocab


@dataclass
class Generated:
    tokens: torch.Tensor  # B x T: prompt and generated tokens, [PAD] after each sequence's end
    lengths: torch.Tensor  # B long: tokens of each sequence (prompt included)
    answers: torch.Tensor  # B long: the answer token, -1 where generation never reached one
    malformed: torch.Tensor  # B bool: the sequence wrote at least one malformed query
    searches: torch.Tensor  # B long: queries answered by the tool


@torch.no_grad()
def generate(model, prompts: torch.Tensor, fmt: str, vocab: Vocab, max_len: int) -> Generated:
    """Greedy continuation of ``prompts`` (B×P) up to ``max_len`` tokens in all."""
    check_format(fmt)
    b, p = prompts.shape
    device = prompts.device
    need = answers_after(fmt)
    contexts = None
    if fmt == "retrieval":
        contexts = [SearchContext(vocab) for _ in range(b)]
        for context, row in zip(contexts, prompts.tolist(), strict=True):
            context.extend(row)
    eos = (prompts == EOS).sum(dim=1)
    done = torch.zeros(b, dtype=torch.bool, device=device)
    answers = torch.full((b,), -1, dtype=torch.long, device=device)
    forced = torch.full((b,), -1, dtype=torch.long, device=device)
    steps = max(0, max_len - p)
    out = torch.full((b, steps), PAD, dtype=torch.long, device=device)
    lengths = torch.full((b,), p, dtype=torch.long, device=device)
    if steps == 0:
        return Generated(
            prompts, lengths, answers, torch.zeros_like(done), torch.zeros_like(answers)
        )
    logits, state = model.begin(prompts)
    last = 0
    for t in range(steps):
        token = torch.where(forced >= 0, forced, logits.argmax(-1))
        active = ~done
        is_answer = active & (eos >= need)
        if contexts is not None:  # the answer token is not part of the trace: no search
            forced_now = [-1] * b
            for i in torch.nonzero(active & ~is_answer).flatten().tolist():
                reply = contexts[i].append(int(token[i]))
                if reply is not None:
                    forced_now[i] = reply
            forced = torch.tensor(forced_now, dtype=torch.long, device=device)
        out[:, t] = torch.where(active, token, PAD)
        lengths = lengths + active.long()
        answers = torch.where(is_answer, token, answers)
        eos = eos + (active & ~is_answer & (token == EOS)).long()
        done = done | is_answer
        last = t + 1
        if bool(done.all()) or t == steps - 1:
            break
        logits, state = model.step(token, state)
    if contexts is not None:
        malformed = torch.tensor([c.malformed > 0 for c in contexts], device=device)
        searches = torch.tensor([c.searches for c in contexts], device=device)
    else:
        malformed = torch.zeros(b, dtype=torch.bool, device=device)
        searches = torch.zeros(b, dtype=torch.long, device=device)
    tokens = torch.cat([prompts, out[:, :last]], dim=1)
    return Generated(tokens, lengths, answers, malformed, searches)
