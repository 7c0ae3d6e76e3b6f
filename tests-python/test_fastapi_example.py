"""``examples/fastapi/app.py`` served by uvicorn (the README's example, where processes matter):
registration, sign-in, a scoped route, the JWKS route; and two uvicorn workers racing refreshes
with one cookie, which the store's grace keeps from being taken for reuse."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import ROOT, stop_process
from polyauth import KeySet, Sessions, Store, Tokens

PASSWORD = "plum-cactus-orbit-lantern-42"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(tmp_path: Path, workers: int, **extra_env: str) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite://{tmp_path / 'example.db'}",
        "INSECURE_DEV": "1",
        # One key set for every worker (each would generate its own otherwise).
        "POLYAUTH_JWKS": json.dumps(
            json.loads((ROOT / "vectors" / "tokens.json").read_text())["keys"]["EdDSA"]
        ),
        **extra_env,
    }
    # A file, not a pipe: nobody reads a pipe while the test runs, and a full one blocks the server.
    log = (tmp_path / f"uvicorn-{workers}.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "examples.fastapi.app:app",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/openapi.json", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"uvicorn did not start: {proc.stderr.read().decode() if proc.stderr else ''}"
                )
            time.sleep(0.2)
        yield base
    finally:
        stop_process(proc)
        log.close()


@pytest.fixture
def one_worker(tmp_path: Path) -> Iterator[str]:
    yield from serve(tmp_path, 1)


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[str]:
    yield from serve(tmp_path, 2)


#: The reuse grace of the short-grace server (POLYAUTH_REUSE_GRACE), in seconds.
SHORT_GRACE = 5  # seconds: room for 20 racing refreshes on a slow machine


@pytest.fixture
def two_workers_short_grace(tmp_path: Path) -> Iterator[str]:
    yield from serve(tmp_path, 2, POLYAUTH_REUSE_GRACE=str(SHORT_GRACE))


async def test_the_example_signs_in_and_guards_its_routes(one_worker: str) -> None:
    async with httpx.AsyncClient(base_url=one_worker) as client:
        created = await client.post(
            "/auth/register", json={"login": "jane@example.com", "password": PASSWORD}
        )
        assert created.status_code == 201
        anonymous = await client.post("/items", params={"name": "x"})
        assert anonymous.status_code == 401 and anonymous.json()["code"] == "not_authenticated"
        signed = await client.post("/auth/login", json={"login": "Jane@Example.com", "password": PASSWORD})
        assert signed.status_code == 200 and set(client.cookies) == {"polyauth_at", "polyauth_rt"}
        # A new account has no role: reading is public, writing needs items:write.
        assert (await client.get("/items")).status_code == 200
        denied = await client.post("/items", params={"name": "x"})
        assert denied.status_code == 403 and denied.json()["code"] == "insufficient_scope"
        me = await client.get("/auth/me")
        assert me.json()["amr"] == ["pwd"]
        step_up = await client.get("/account/security")
        assert step_up.status_code == 401 and step_up.json()["code"] == "insufficient_user_authentication"
        jwks = (await client.get("/.well-known/jwks.json")).json()
        assert jwks["keys"] and all("d" not in k for k in jwks["keys"])


async def test_two_workers_racing_one_refresh_cookie_keep_the_session(two_workers: str) -> None:
    async with httpx.AsyncClient(base_url=two_workers) as client:
        await client.post("/auth/register", json={"login": "sam@example.com", "password": PASSWORD})
        signed = await client.post("/auth/login", json={"login": "sam@example.com", "password": PASSWORD})
        assert signed.status_code == 200
        refresh = client.cookies["polyauth_rt"]

    async def one() -> httpx.Response:
        async with httpx.AsyncClient(base_url=two_workers) as c:
            return await c.post(
                "/auth/refresh", headers={"cookie": f"polyauth_rt={refresh}", "x-polyauth": "1"}
            )

    responses = await asyncio.gather(*(one() for _ in range(12)))
    assert [r.status_code for r in responses] == [200] * 12, [r.text for r in responses]
    # Every successor still works: nobody was taken for a thief.
    async with httpx.AsyncClient(base_url=two_workers) as c:
        last = responses[-1].cookies["polyauth_rt"]
        again = await c.post("/auth/refresh", headers={"cookie": f"polyauth_rt={last}", "x-polyauth": "1"})
        assert again.status_code == 200


async def test_twenty_parallel_refreshes_on_two_workers_then_the_original_token_is_reuse(
    two_workers_short_grace: str, tmp_path: Path
) -> None:
    base = two_workers_short_grace
    async with httpx.AsyncClient(base_url=base) as client:
        await client.post("/auth/register", json={"login": "kim@example.com", "password": PASSWORD})
        signed = await client.post("/auth/login", json={"login": "kim@example.com", "password": PASSWORD})
        assert signed.status_code == 200
        original = client.cookies["polyauth_rt"]
        sid = (await client.get("/auth/me")).json()["session_id"]

    def refresh_with(token: str) -> dict[str, str]:
        return {"cookie": f"polyauth_rt={token}", "x-polyauth": "1"}

    async def one() -> httpx.Response:
        async with httpx.AsyncClient(base_url=base) as c:
            return await c.post("/auth/refresh", headers=refresh_with(original))

    responses = await asyncio.gather(*(one() for _ in range(20)))
    assert [r.status_code for r in responses] == [200] * 20, [r.text for r in responses]
    successors = {r.cookies["polyauth_rt"] for r in responses}
    assert original not in successors
    # The session is still active, in the store the workers share and over HTTP.
    sessions = await example_sessions(tmp_path)
    assert await sessions.is_active(sid)
    async with httpx.AsyncClient(base_url=base) as c:
        me = await c.get("/auth/me", headers={"cookie": f"polyauth_at={responses[0].cookies['polyauth_at']}"})
        assert me.status_code == 200 and me.json()["session_id"] == sid

    # After the grace (and the workers' successor caches, no longer than it) the original token is
    # a replay: refused, the cookies cleared, and the whole session revoked.
    await asyncio.sleep(SHORT_GRACE + 1)
    async with httpx.AsyncClient(base_url=base) as c:
        stolen = await c.post("/auth/refresh", headers=refresh_with(original))
    assert stolen.status_code == 401 and stolen.json()["code"] == "refresh_reused"
    cleared = [h for h in stolen.headers.get_list("set-cookie") if "Max-Age=0" in h]
    assert {h.split("=", 1)[0] for h in cleared} == {"polyauth_at", "polyauth_rt"}
    assert not await sessions.is_active(sid)
    for token in successors:
        async with httpx.AsyncClient(base_url=base) as c:
            after = await c.post("/auth/refresh", headers=refresh_with(token))
        assert after.status_code == 401, after.text


async def example_sessions(tmp_path: Path) -> Sessions:
    """The sessions of the example's store, opened from this process with the example's keys."""
    store = await Store.open(f"sqlite://{tmp_path / 'example.db'}")
    keys = KeySet.from_jwks(json.loads((ROOT / "vectors" / "tokens.json").read_text())["keys"]["EdDSA"])
    return Sessions(store, Tokens(keys, issuer="https://auth.example.com", audience="api"))
