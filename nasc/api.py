"""The Python API of the compiler.

    nasc.compile(src, ...)        -> torch.nn.Module with `.nasc` (a CompiledInfo)
        cnn: a torch.fx.GraphModule, (B, C, H, W) -> (B, K) logits
        rnn: a NascRNN, the nn.LSTM calling convention; one compiled cell per layer
             in `.cells`, each `(x_t, (h, c)) -> (h_t, (h_t, c_t))`
    compile_cell(src, ...)        -> the cell GraphModule alone (rnn)
    compile_lm(src, vocab, ...)   -> NascLM, the word-level language model (rnn)
    compile_ir(src, ...)          -> the annotated IR Graph; allocates no weights
    canonical(src, ...)           -> the canonical form: the one "same architecture"
    arch_hash(src, ...)           -> a hash of the canonical form (no weights)
    summarize_arch(src, ...)      -> CompiledInfo without weights (table, JSON, counts)

`src` is architecture text, a path to a file holding it, or an AST (`SpaceArch`,
`RnnCell`). Invalid text raises `ArchError` (located diagnostics); a network
over `max_params` raises `NascError` before any weight exists.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nasc.compiler.ast import RnnCell, SpaceArch
from nasc.compiler.diagnostics import ArchError
from nasc.compiler.frontend import Parsed, parse, read_source, resolve_space
from nasc.compiler.ir import Graph
from nasc.compiler.passes.lower_space import lower_cells
from nasc.compiler.pipeline import Options, build_ir, check_params, compilable, positive_int
from nasc.compiler.report import CompiledInfo, summarize
from nasc.errors import NascError
from nasc.grammar import Space

if TYPE_CHECKING:  # torch loads on the first compile: parsing and counting need none of it
    import networkx as nx
    import torch
    from torch import fx, nn

    from nasc.compiler.rnn_modules import NascLM, NascRNN

    Device = torch.device | str | None

Source = str | Path | RnnCell | SpaceArch


def load_arch(source: Source, space: str | Path | Space | None = None,
              filename: str | None = None) -> tuple[RnnCell | SpaceArch, str]:
    """The AST of `source` and the name of its space (`filename` names text in errors)."""
    if isinstance(source, RnnCell | SpaceArch):
        if space is None:
            return source, source.space
        loaded = resolve_space(space, "")
        if loaded.kind != source.space:
            raise NascError(f"a {source.space} architecture cannot be read in space "
                            f"{loaded.name!r} ({loaded.kind})")
        return source, loaded.name
    text, name = _read(source)
    parsed = parse(text, space, filename=filename or name)
    return compilable(parsed.arch), parsed.space.name


def _read(source: str | Path) -> tuple[str, str]:
    if isinstance(source, Path):
        return read_source(str(source))
    if not isinstance(source, str):
        raise NascError(f"an architecture is text, a path or a parsed architecture, "
                        f"not {type(source).__name__}")
    looks_like_path = "\n" not in source and ";" not in source and len(source) < 4096
    if looks_like_path and os.path.isfile(source):
        return read_source(source)
    if looks_like_path and " " not in source.strip() and (
            "/" in source or source.endswith((".arch", ".txt"))):
        raise NascError(f"{source}: no such file (a str is read as a file when one exists, "
                        f"else as architecture text)")
    return source, "<string>"


def compile_ir(source: Source, space: str | Path | Space | None = None, *,
               stop_after: str | None = None, **options: Any) -> Graph:
    """The IR after the passes (or after pass `stop_after`); no weights are allocated."""
    arch, _ = load_arch(source, space)
    return build_ir(arch, Options(**_shape_options(options)), stop_after=stop_after)


def summarize_arch(source: Source, space: str | Path | Space | None = None,
                   filename: str | None = None, **options: Any) -> CompiledInfo:
    """Counts, shapes and the per-layer table of `source`, without weights."""
    arch, name = load_arch(source, space, filename)
    return summarize(arch, build_ir(arch, Options(**_shape_options(options))), name)


def canonical(source: Source, space: str | Path | Space | None = None,
              **options: Any) -> nx.DiGraph:
    """The canonical form of `source` (see `nasc.compiler.canonical`): no weights.

    In a space whose strings fill cells that a fixed skeleton repeats (NAS-Bench-201,
    DARTS) the form is taken over the cells, each lowered once on its own.
    """
    from nasc.compiler.canonical import canonical_form

    arch, _ = load_arch(source, space)
    if isinstance(arch, SpaceArch) and arch.semantics.repeats_cells and not arch.blocks:
        return canonical_form(lower_cells(arch))
    return canonical_form(compile_ir(arch, space, **options))


def arch_hash(source: Source, space: str | Path | Space | None = None,
              **options: Any) -> str:
    """A hash of the canonical form: equal for texts meaning the same network.

    Spelling, comments and layout do not change it; nor does the order of a `from`
    list (the networks then differ only by a permutation of channels). The search's
    dedup keys are this hash (plus a suffix on a true collision).
    """
    from nasc.compiler.canonical import form_hash

    return form_hash(canonical(source, space, **options))


def _shape_options(options: dict[str, Any]) -> dict[str, Any]:
    if "input_shape" in options:
        options = {**options, "input_shape": tuple(options["input_shape"])}
    return options


def compile(source: Source, space: str | Path | Space | None = None, *,
            input_shape: tuple[int, int, int] = (3, 32, 32), num_classes: int = 10,
            input_size: int | None = None, hidden_size: int | None = None,
            num_layers: int = 1, dropout: float = 0.0, max_params: int | None = None,
            device: Device = None) -> nn.Module:
    """Compile an architecture to a PyTorch module (see the module docstring)."""
    from nasc.compiler.codegen import generate
    from nasc.device import check_device

    arch, name = load_arch(source, space)
    device = check_device(device)
    options = Options(tuple(input_shape), num_classes, input_size, hidden_size,  # type: ignore[arg-type]
                      max_params)
    if not isinstance(arch, RnnCell):
        graph = build_ir(arch, options)
        module = generate(graph, device)
        info = summarize(arch, graph, name)
        info.code = module.code
        _attach(module, info)
        return module
    return _compile_rnn(arch, name, options, num_layers, dropout, device)


def _compile_rnn(cell: RnnCell, name: str, options: Options, num_layers: int, dropout: float,
                 device: Device, extra: int = 0) -> NascRNN:
    """The cells of every layer; `extra` parameters (a language model's embedding and
    decoder) count against `options.max_params` too, all before any weight exists."""
    from nasc.compiler.codegen import generate
    from nasc.compiler.rnn_modules import NascRNN

    positive_int("number of layers", num_layers)
    first = build_ir(cell, replace(options, max_params=None))  # the limit is on the total
    graphs = [first]
    if num_layers > 1:
        deeper = Options(input_size=options.hidden, hidden_size=options.hidden)
        graphs += [build_ir(cell, deeper)] * (num_layers - 1)
    total = sum(g.meta["params"] for g in graphs)
    check_params(total + extra, options.max_params)
    cells = [generate(g, device) for g in graphs]
    module = NascRNN(cells, options.hidden, dropout)
    info = summarize(cell, first, name)
    info.code = cells[0].code
    info.extra.update(num_layers=num_layers, total_params=total)
    _attach(module, info)
    return module


def _attach(module: nn.Module, info: CompiledInfo) -> None:
    """`module.nasc = info`, a plain attribute (not a submodule, not in the state dict)."""
    object.__setattr__(module, "nasc", info)


def compile_cell(source: Source, space: str | Path | Space | None = None, *,
                 input_size: int | None = None, hidden_size: int | None = None,
                 max_params: int | None = None, device: Device = None) -> fx.GraphModule:
    """One recurrent cell: `(x_t, (h, c)) -> (h_t, (h_t, c_t))`, with `.nasc`."""
    from nasc.compiler.codegen import generate
    from nasc.device import check_device

    arch, name = load_arch(source, space)
    if not isinstance(arch, RnnCell):
        raise NascError("compile_cell needs an rnn architecture")
    device = check_device(device)
    graph = build_ir(arch, Options(input_size=input_size, hidden_size=hidden_size,
                                   max_params=max_params))
    module = generate(graph, device)
    info = summarize(arch, graph, name)
    info.code = module.code
    _attach(module, info)
    return module


def compile_lm(source: Source, vocab_size: int, space: str | Path | Space | None = None, *,
               embedding_size: int | None = None, hidden_size: int | None = None,
               num_layers: int = 1, dropout: float = 0.0, tie_weights: bool = False,
               max_params: int | None = None, device: Device = None) -> NascLM:
    """The word-level language model (embedding, cells, dropout, decoder) of Zoph & Le.

    `max_params` limits the whole model (embedding and decoder included).
    """
    from nasc.compiler.rnn_modules import NascLM
    from nasc.device import check_device

    arch, name = load_arch(source, space)
    if not isinstance(arch, RnnCell):
        raise NascError("a language model needs an rnn architecture")
    positive_int("vocabulary size", vocab_size)
    positive_int("embedding size", embedding_size)
    device = check_device(device)
    hidden = hidden_size or Options().hidden
    embed = embedding_size or hidden
    decoder = vocab_size + (0 if tie_weights else hidden * vocab_size)
    rnn = _compile_rnn(arch, name, Options(input_size=embed, hidden_size=hidden,
                                           max_params=max_params),
                       num_layers, dropout, device, extra=vocab_size * embed + decoder)
    model = NascLM(rnn, vocab_size, embed, dropout, tie_weights, device)
    _attach(model, rnn.nasc)  # type: ignore[arg-type]
    return model


# --- what the CLI needs besides compiling (its one door to the compiler) ----------
def validate(text: str, space: str | Path | Space | None = None,
             filename: str = "<string>") -> Parsed:
    """Parse and check architecture text; raises ArchError listing every error."""
    return parse(text, space, filename=filename)


def python_source(info: CompiledInfo) -> str:
    """A standalone Python file defining the compiled network's class."""
    from nasc.compiler.codegen import generate, python_source

    return python_source(generate(info.ir), str(info.arch))


def save_artifact(info: CompiledInfo, kind: str, out: Path) -> None:
    """Write the network as a torch.export program (`exported`) or ONNX (`onnx`)."""
    from nasc.compiler import export
    from nasc.compiler.codegen import generate

    save = export.save_exported if kind == "exported" else export.save_onnx
    save(generate(info.ir), info.ir, out)


def write_graph(info: CompiledInfo, out: Path) -> None:
    """Draw the IR (.dot, .png, .svg by the suffix)."""
    from nasc.compiler.export import write_graph

    write_graph(info.ir, out)


def diff(a: CompiledInfo, b: CompiledInfo) -> list[Any]:
    """What differs between two compiled architectures of one kind."""
    from nasc.compiler.diff import diff

    return diff(a, b)


__all__ = ["ArchError", "Parsed", "arch_hash", "canonical", "compile", "compile_cell",
           "compile_ir", "compile_lm", "diff", "load_arch", "python_source", "read_source",
           "resolve_space", "save_artifact", "summarize_arch", "validate", "write_graph"]
