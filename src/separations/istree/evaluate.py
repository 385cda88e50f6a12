"""The two accuracies of an IsTree model on a fixed evaluation set.

- ``gen_acc``: the answer reached by greedy generation after the prompt (with the search tool
  answering in the retrieval format) equals the label. Malformed queries and sequences that never
  reach an answer count as wrong. This is the paper's accuracy.
- ``tf_exact``: teacher-forced exact match of the whole supervised part (trace, [EOS], answer,
  without tool answers): every supervised token is the model's top prediction given the true
  prefix. With a trace, teacher-forced accuracy of the final answer alone is meaningless (the answer
  follows from the given trace), so this stricter metric is reported instead.

``gen_trace_exact`` (the generated sequence equals the reference) and the rates of malformed and
unfinished generations come along for diagnosis.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..tasks.istree.formats import prompt_length
from ..tasks.istree.vocab import FALSE, TRUE, Vocab
from .generate import generate


def lm_loss(logits: torch.Tensor, tokens: torch.Tensor, supervised: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy over the supervised tokens."""
    mask = supervised[:, 1:]
    return F.cross_entropy(logits[:, :-1][mask], tokens[:, 1:][mask])


@dataclass
class Scores:
    val_loss: float
    tf_exact: float
    gen_acc: float | None = None
    gen_trace_exact: float | None = None
    gen_malformed: float | None = None
    gen_unfinished: float | None = None


@torch.no_grad()
def teacher_forced(model, tokens, supervised, batch_size: int) -> tuple[float, float]:
    """(mean supervised-token loss, whole-supervised-part exact match)."""
    loss_sum, token_count, exact = 0.0, 0, 0
    for start in range(0, tokens.shape[0], batch_size):
        x, m = tokens[start : start + batch_size], supervised[start : start + batch_size]
        width = int(m.any(0).nonzero().max()) + 1
        x, m = x[:, :width], m[:, :width]
        logits = model(x)
        count = int(m[:, 1:].sum())
        loss_sum += float(lm_loss(logits, x, m)) * count
        token_count += count
        right = logits[:, :-1].argmax(-1) == x[:, 1:]
        exact += int((right | ~m[:, 1:]).all(dim=1).sum())
    return loss_sum / max(token_count, 1), exact / tokens.shape[0]


@torch.no_grad()
def generation(model, tokens, lengths, labels, fmt: str, vocab: Vocab, batch_size: int):
    """(accuracy, trace exact match, malformed rate, unfinished rate) of greedy generation."""
    p = prompt_length(vocab.n)
    right = exact = malformed = unfinished = 0
    for start in range(0, tokens.shape[0], batch_size):
        ref = tokens[start : start + batch_size]
        n_ref = lengths[start : start + batch_size]
        want = torch.where(labels[start : start + batch_size] == 1, TRUE, FALSE)
        out = generate(model, ref[:, :p], fmt, vocab, model.max_len)
        ok = (out.answers == want) & ~out.malformed
        right += int(ok.sum())
        malformed += int(out.malformed.sum())
        unfinished += int((out.answers < 0).sum())
        for i in range(ref.shape[0]):
            k = int(n_ref[i])
            row = out.tokens[i]
            exact += int(row.shape[0] >= k and torch.equal(row[:k], ref[i, :k]))
    total = tokens.shape[0]
    return right / total, exact / total, malformed / total, unfinished / total


def evaluate(model, data, fmt: str, vocab: Vocab, batch_size: int, *, generate_too: bool):
    """Scores of ``model`` on ``data`` (a Batch from the evaluation-set file)."""
    was_training = model.training
    model.eval()
    try:
        supervised = data.extra["supervised"]
        loss, tf = teacher_forced(model, data.inputs, supervised, batch_size)
        scores = Scores(val_loss=loss, tf_exact=tf)
        if generate_too:
            add_generation(model, data, fmt, vocab, batch_size, scores)
    finally:
        model.train(was_training)
    return scores


def add_generation(model, data, fmt: str, vocab: Vocab, batch_size: int, scores: Scores) -> Scores:
    """Fill the greedy-generation fields of ``scores`` (teacher-forced ones already computed)."""
    was_training = model.training
    model.eval()
    try:
        acc, exact, bad, unfinished = generation(
            model, data.inputs, data.lengths, data.targets, fmt, vocab, batch_size
        )
    finally:
        model.train(was_training)
    scores.gen_acc, scores.gen_trace_exact = acc, exact
    scores.gen_malformed, scores.gen_unfinished = bad, unfinished
    return scores
