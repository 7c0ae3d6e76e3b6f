"""Shared fixtures: paths to the project's vectors and the external ones in ../shared/vectors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT_VECTORS = ROOT / "vectors"
SHARED_VECTORS = ROOT.parent / "shared" / "vectors"


def stop_process(proc: subprocess.Popen[Any]) -> None:
    """Stops a server the tests started: SIGTERM, SIGKILL after 10 s, then waits for it to exit."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


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


# ---- namespaces on the shared servers: dropped at the end of the run, by name -------------------

CREATED_NAMESPACES: set[str] = set()
POSTGRES_URL = os.environ.get("POLYAUTH_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("POLYAUTH_TEST_REDIS_URL", "redis://127.0.0.1:6379")


def remember_namespace(namespace: str) -> str:
    """Records a ``polyauth_namespace`` the suite creates, so the run removes it at the end."""
    CREATED_NAMESPACES.add(namespace)
    return namespace


def drop_namespaces(names: list[str]) -> None:
    """Drops the PostgreSQL schemas and deletes the Redis keys (``polyauth:{ns}:...``) of ``names``
    with ``psql`` and ``redis-cli``; best effort, like the servers themselves."""
    if not names:
        return
    if shutil.which("psql"):
        sql = "\n".join(f'DROP SCHEMA IF EXISTS "{n}" CASCADE;' for n in names)
        subprocess.run(
            ["psql", POSTGRES_URL, "-q", "-f", "-"], input=sql, text=True, capture_output=True, timeout=120
        )
    if shutil.which("redis-cli"):
        url = urlsplit(REDIS_URL)
        cli = ["redis-cli", "-h", url.hostname or "127.0.0.1", "-p", str(url.port or 6379)]
        scan = subprocess.run(
            [*cli, "--scan", "--pattern", "polyauth:{t*"], text=True, capture_output=True, timeout=120
        )
        wanted = set(names)
        keys = [k for k in scan.stdout.splitlines() if k[len("polyauth:{") : k.find("}")] in wanted]
        for i in range(0, len(keys), 500):
            subprocess.run([*cli, "DEL", *keys[i : i + 500]], capture_output=True, timeout=120)


@pytest.fixture(scope="session", autouse=True)
def _drop_created_namespaces() -> Iterator[None]:
    yield
    drop_namespaces(sorted(CREATED_NAMESPACES))
