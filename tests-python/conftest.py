"""Shared fixtures: paths to the project's vectors and the external ones in ../shared/vectors."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT_VECTORS = ROOT / "vectors"
SHARED_VECTORS = ROOT.parent / "shared" / "vectors"


def load_project(name: str) -> Any:
    return json.loads((PROJECT_VECTORS / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def shared_vectors() -> Path:
    """../shared/vectors; required in CI, skipped on a checkout without it."""
    if SHARED_VECTORS.is_dir():
        return SHARED_VECTORS
    if os.environ.get("CI") or os.environ.get("POLYAUTH_REQUIRE_VECTORS"):
        pytest.fail("../shared/vectors is required in CI but missing")
    pytest.skip("../shared/vectors not present")


def invalid_case_hash(case: dict[str, Any]) -> str:
    """An invalid case's hash: inline, or built from `generate` when too large to store."""
    if case.get("hash") is not None:
        return str(case["hash"])
    g = case["generate"]
    n = g["length"] - len(g["prefix"]) - len(g["suffix"])
    return str(g["prefix"] + g["repeat"] * (n // len(g["repeat"])) + g["suffix"])
