"""Modules around a compiled recurrent cell.

    cell     a GraphModule: (x_t, (h, c)) -> (h_t, (h_t, c_t)); x_t (B, I), h, c (B, N)
    NascRNN  layers of cells over a sequence, the calling convention of `torch.nn.LSTM`:
             input (T, B, I) [or (B, T, I) with batch_first], hx = (h_0, c_0) each
             (L, B, N) or None -> output (T, B, N), (h_n, c_n) each (L, B, N)
    NascLM   the paper's Penn Treebank child: embedding -> dropout -> NascRNN ->
             dropout -> decoder (weights optionally tied to the embedding)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, fx, nn

from nasc.errors import NascError

State = tuple[Tensor, Tensor]


class NascRNN(nn.Module):
    """A stack of compiled cells run over a sequence, like `nn.LSTM` (no bias, no proj)."""

    def __init__(self, cells: Sequence[fx.GraphModule], hidden_size: int, dropout: float = 0.0,
                 batch_first: bool = False) -> None:
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise NascError(f"dropout must be in [0, 1), got {dropout}")
        self.cells = nn.ModuleList(cells)
        self.hidden_size = hidden_size
        self.num_layers = len(cells)
        self.batch_first = batch_first
        self.dropout = nn.Dropout(dropout)

    def __repr__(self) -> str:
        return (f"NascRNN(layers={self.num_layers}, hidden_size={self.hidden_size}, "
                f"dropout={self.dropout.p})")

    def forward(self, input: Tensor, hx: State | None = None) -> tuple[Tensor, State]:
        seq = input.transpose(0, 1) if self.batch_first else input  # (T, B, I)
        if hx is None:
            zeros = seq.new_zeros(self.num_layers, seq.shape[1], self.hidden_size)
            hx = (zeros, zeros)
        h_n, c_n = [], []
        for layer, cell in enumerate(self.cells):
            if layer > 0:
                seq = self.dropout(seq)
            state = (hx[0][layer], hx[1][layer])  # (B, N) each
            steps = []
            for x_t in seq.unbind(0):
                out, state = cell(x_t, state)
                steps.append(out)
            seq = torch.stack(steps)  # (T, B, N)
            h_n.append(state[0])
            c_n.append(state[1])
        output = seq.transpose(0, 1) if self.batch_first else seq
        return output, (torch.stack(h_n), torch.stack(c_n))


class NascLM(nn.Module):
    """Word-level language model: tokens (T, B) -> logits (T, B, V), (h_n, c_n)."""

    def __init__(self, rnn: NascRNN, vocab_size: int, embedding_size: int, dropout: float = 0.0,
                 tie_weights: bool = False, device: torch.device | str | None = None) -> None:
        super().__init__()
        if tie_weights and embedding_size != rnn.hidden_size:
            raise NascError(f"tied weights need equal embedding and hidden sizes, got "
                            f"{embedding_size} and {rnn.hidden_size}")
        self.embedding = nn.Embedding(vocab_size, embedding_size, device=device)
        self.rnn = rnn
        self.drop = nn.Dropout(dropout)
        self.decoder = nn.Linear(rnn.hidden_size, vocab_size, device=device)
        if tie_weights:
            self.decoder.weight = self.embedding.weight

    def __repr__(self) -> str:
        return (f"NascLM(vocab={self.embedding.num_embeddings}, "
                f"embedding={self.embedding.embedding_dim}, {self.rnn!r})")

    def forward(self, tokens: Tensor, hx: State | None = None) -> tuple[Tensor, State]:
        emb = self.drop(self.embedding(tokens))  # (T, B, E)
        out, state = self.rnn(emb, hx)  # (T, B, N)
        return self.decoder(self.drop(out)), state  # (T, B, V)
