"""Shared fixtures: paths into the repository and the data the tests carry.

The suite needs nothing outside the repository (no `../shared`): small corpora live
in `tests/fixtures/`."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture
def examples() -> Path:
    return EXAMPLES
