"""RNN children: the compiled word-level language model, truncated BPTT with SGD.

Reward = `ppl_c` / (validation perplexity)^2, c = 80 as in Zoph & Le.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

from nasc.errors import NascError
from nasc.runtime.data import TextData

if TYPE_CHECKING:
    from nasc.runtime.child import Guard, TrialSpec

State = tuple[torch.Tensor, torch.Tensor]
VALID_BATCH = 10  # columns of the validation text


def check_corpus(data: TextData, batch_size: int | None) -> None:
    """Refuse a corpus too small for one training and one validation step: with no step
    the perplexity would read exp(0) = 1 and every child would get the best reward."""
    parts = (("ptb.train.txt", data.train, batch_size or 20),
             ("ptb.valid.txt", data.valid, VALID_BATCH))
    for name, tokens, columns in parts:
        if len(tokens) < 2 * columns:
            raise NascError(f"{data.name}: {name} has {len(tokens)} tokens; a batch of "
                            f"{columns} columns needs at least {2 * columns}")


def batchify(tokens: torch.Tensor, batch: int, device: torch.device) -> torch.Tensor:
    """(T,) -> (T // batch, batch): each column a contiguous stretch of text."""
    n = len(tokens) // batch
    return tokens[:n * batch].view(batch, n).t().contiguous().to(device)


def _detach(state: Any) -> Any:
    if isinstance(state, torch.Tensor):
        return state.detach()
    return tuple(_detach(s) for s in state)


def train_rnn(model: nn.Module, data: TextData, spec: TrialSpec, guard: Guard,
              metrics: list[dict[str, Any]]) -> float:
    """Train the language model for `config.epochs`; the reward c / ppl^2."""
    cfg = spec.config
    check_corpus(data, cfg.batch_size)
    device = torch.device(cfg.device)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr if cfg.lr is not None else 20.0)
    train = batchify(data.train, cfg.batch_size or 20, device)  # (T, B)
    valid = batchify(data.valid, VALID_BATCH, device)
    vocab = len(data.vocab)
    for epoch in range(1, cfg.epochs + 1):
        start = time.perf_counter()
        model.train()
        state, total, steps = None, 0.0, 0
        for b, i in enumerate(range(0, len(train) - 1, cfg.bptt)):
            if cfg.max_batches is not None and b >= cfg.max_batches:
                break
            x, y = train[i:i + cfg.bptt], train[i + 1:i + 1 + cfg.bptt]
            x = x[:len(y)]
            logits, state = model(x, state)  # (T, B, V)
            state = _detach(state)
            loss = F.cross_entropy(logits.reshape(-1, vocab), y.reshape(-1))
            if spec.fault == "nan":
                loss = loss * float("nan")
            guard.check(loss.detach())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
            opt.step()
            total, steps = total + loss.item(), steps + 1
        ppl = perplexity(model, valid, vocab, cfg.bptt, cfg.max_batches)
        metrics.append({"epoch": epoch, "train_loss": total / max(steps, 1), "valid_ppl": ppl,
                        "seconds": time.perf_counter() - start})
    ppl = metrics[-1]["valid_ppl"]
    if not math.isfinite(ppl):
        from nasc.runtime.child import TrialFailure

        raise TrialFailure("validation perplexity is not finite")
    return float(cfg.ppl_c / ppl / ppl)  # ppl**2 overflows past ~1e154 (exp(700) is the cap)


@torch.no_grad()
def perplexity(model: nn.Module, tokens: torch.Tensor, vocab: int, bptt: int,
               max_batches: int | None = None) -> float:
    """exp(mean cross-entropy) over `tokens` (T, B)."""
    model.eval()
    state, total, count = None, 0.0, 0
    for b, i in enumerate(range(0, len(tokens) - 1, bptt)):
        if max_batches is not None and b >= max_batches:
            break
        x, y = tokens[i:i + bptt], tokens[i + 1:i + 1 + bptt]
        x = x[:len(y)]
        logits, state = model(x, state)  # (T, B, V)
        total += float(F.cross_entropy(logits.reshape(-1, vocab), y.reshape(-1),
                                       reduction="sum"))
        count += y.numel()
    return math.exp(min(total / max(count, 1), 700.0))
