"""Fixtures shared by the runtime tests."""

from __future__ import annotations

from typing import Any

import pytest

import nasc.runtime.search
from nasc.errors import NascError


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The configurations `nasc search` would run (the search itself is not run)."""
    seen: list[Any] = []

    def fake_run(config: Any, resume: bool = False, progress: Any = None) -> Any:
        seen.append(config)
        raise NascError("stopped before the search")

    monkeypatch.setattr(nasc.runtime.search, "run_search", fake_run)
    return seen
