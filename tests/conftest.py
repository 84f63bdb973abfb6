"""Shared fixtures: paths into the repository and the data the tests carry.

The suite needs nothing outside the repository (no `../shared`): small corpora live
in `tests/fixtures/`."""

import os
from pathlib import Path

import pytest

# the compiler's debug checks: verify the IR after every pass, lint the fx graph (also in
# the CLI's subprocesses); a normal compile verifies after lowering and at the end only
os.environ.setdefault("NASC_DEBUG_CHECKS", "1")

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture
def examples() -> Path:
    return EXAMPLES
