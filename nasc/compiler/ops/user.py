"""Ops from outside the package: a space's `//% modules = [...]` and `nasc.ops` entry points.

A user module registers its ops when it is imported (`register(Op(...))` or
`@register_composite`). A space names it in its semantics; `import_ops`
imports `NAME.py` from the grammar's folder if there is one, else the
importable module `NAME`, once per process. Installed packages can instead
declare an entry point in the group `nasc.ops`; `load_entry_points()` imports
them all (the registry does so when it is first used).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

from nasc.errors import NascError

_LOADED: dict[str, ModuleType] = {}


def import_ops(name: str, folder: Path) -> ModuleType:
    """Import the op module `name` (a file `name.py` in `folder`, or an installed module)."""
    path = (folder / f"{name}.py").resolve()
    key = str(path) if path.is_file() else name
    if key in _LOADED:
        return _LOADED[key]
    try:
        module = _from_file(name, path) if path.is_file() else importlib.import_module(name)
    except ImportError as exc:
        raise NascError(f"op module {name!r}: neither {path} exists nor can it be imported "
                        f"({exc})") from None
    except NascError:
        raise
    except Exception as exc:  # noqa: BLE001 - a user module failing to import is one line
        raise NascError(f"op module {name!r} failed to import: "
                        f"{type(exc).__name__}: {exc}") from None
    _LOADED[key] = module
    return module


def _from_file(name: str, path: Path) -> ModuleType:
    unique = f"nasc_user_ops.{name}"
    spec = importlib.util.spec_from_file_location(unique, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[unique] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[unique]
        raise
    return module


def load_entry_points() -> list[str]:
    """Import every `nasc.ops` entry point; returns their names."""
    names = []
    for point in entry_points(group="nasc.ops"):
        try:
            point.load()
        except Exception as exc:  # noqa: BLE001
            raise NascError(f"entry point nasc.ops:{point.name} failed to load: "
                            f"{type(exc).__name__}: {exc}") from None
        names.append(point.name)
    return names
