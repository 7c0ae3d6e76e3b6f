"""Session hardening on every backend (DESIGN.md §6, §7 RT-5, RT-8): only the newest generation
rotates, a refresh sent to another service writes nothing, logout by refresh token, the readable
settings, ``Store.purge_expired`` and ``Store.open(url, migrate=False)``."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest
from test_sessions import KEYS, make_tokens, open_store, store_url, store_url_for, subject

import polyauth
from polyauth import Sessions, Store, Tokens

__all__ = ["store_url"]  # the fixture, re-used from test_sessions

DAY = 86400


async def test_a_grace_sibling_cannot_fork_the_session(store_url: str) -> None:
    sessions = Sessions(await open_store(store_url), make_tokens(), reuse_grace=30)
    p0 = await sessions.start(subject())
    p1 = await sessions.refresh(p0.refresh_token)
    a1 = await sessions.refresh(p0.refresh_token)  # graced: a sibling of p1
    assert a1.session_id == p0.session_id
    p2 = await sessions.refresh(p1.refresh_token)
    # Generation 1 has been rotated: the sibling is now reuse, and the family dies.
    with pytest.raises(polyauth.RefreshReusedError):
        await sessions.refresh(a1.refresh_token)
    assert not await sessions.is_active(p0.session_id)
    with pytest.raises(polyauth.SessionRevokedError):
        await sessions.refresh(p2.refresh_token)


async def test_racing_refreshes_inside_the_grace_window_all_succeed(store_url: str) -> None:
    sessions = Sessions(await open_store(store_url), make_tokens(), reuse_grace=30)
    p0 = await sessions.start(subject())
    p1 = await sessions.refresh(p0.refresh_token)
    racers = await asyncio.gather(*(sessions.refresh(p0.refresh_token) for _ in range(8)))
    assert {r.session_id for r in racers} == {p0.session_id}
    # The newest generation goes on; any other token of generation 1 is then reuse.
    await sessions.refresh(racers[0].refresh_token)
    with pytest.raises(polyauth.RefreshReusedError):
        await sessions.refresh(p1.refresh_token)


async def test_a_refresh_sent_to_another_service_leaves_the_token_usable(store_url: str) -> None:
    store = await open_store(store_url)
    owner = Sessions(store, Tokens(KEYS, issuer="https://tenant-a", audience="api"))
    other_audience = Sessions(store, Tokens(KEYS, issuer="https://tenant-a", audience="billing"))
    other_issuer = Sessions(store, Tokens(KEYS, issuer="https://tenant-b", audience="api"))
    pair = await owner.start(subject())
    for _ in range(2):
        with pytest.raises(polyauth.InvalidAudienceError):
            await other_audience.refresh(pair.refresh_token)
        with pytest.raises(polyauth.InvalidIssuerError):
            await other_issuer.refresh(pair.refresh_token)
        assert await other_issuer.revoke_refresh_token(pair.refresh_token) is False
    # Nothing was spent or revoked: the owner rotates the very same token.
    nxt = await owner.refresh(pair.refresh_token)
    assert await owner.is_active(pair.session_id)
    await owner.refresh(nxt.refresh_token)
    # The audience is compared as a list: ["a b"] is not ["a", "b"].
    joined = Sessions(store, Tokens(KEYS, issuer="https://tenant-a", audience="a b"))
    split = Sessions(store, Tokens(KEYS, issuer="https://tenant-a", audience=["a", "b"]))
    p = await joined.start(subject())
    with pytest.raises(polyauth.InvalidAudienceError):
        await split.refresh(p.refresh_token)
    await joined.refresh(p.refresh_token)


async def test_revoke_refresh_token(store_url: str) -> None:
    sessions = Sessions(await open_store(store_url), make_tokens())
    pair = await sessions.start(subject())
    nxt = await sessions.refresh(pair.refresh_token)
    # A used token of the session logs it out as well as the current one.
    assert await sessions.revoke_refresh_token(pair.refresh_token) is True
    assert not await sessions.is_active(pair.session_id)
    assert await sessions.revoke_refresh_token(nxt.refresh_token) is False
    with pytest.raises(polyauth.SessionRevokedError):
        await sessions.refresh(nxt.refresh_token)
    assert await sessions.revoke_refresh_token("prt_" + "A" * 43) is False
    for bad in ["", "prt_", "nope", "prt_" + "!" * 43, "prt_" + "A" * 44]:
        with pytest.raises(polyauth.InvalidTokenError):
            await sessions.revoke_refresh_token(bad)
    with pytest.raises(polyauth.InvalidInputError):
        await sessions.revoke_refresh_token("prt_\ud800")


async def test_settings_are_readable() -> None:
    store = await Store.open("memory://")
    s = Sessions(store, make_tokens(), refresh_ttl=10 * DAY, idle_ttl=DAY, reuse_grace=15)
    assert (s.refresh_ttl, s.idle_ttl, s.reuse_grace) == (10 * DAY, DAY, 15)
    d = Sessions(store, make_tokens())
    assert (d.refresh_ttl, d.idle_ttl, d.reuse_grace) == (30 * DAY, 7 * DAY, 0)
    with pytest.raises(AttributeError):
        d.reuse_grace = 30  # type: ignore[misc]


async def test_purge_removes_ended_sessions_and_keeps_reuse_detection(store_url: str) -> None:
    store = await open_store(store_url)
    sessions = Sessions(store, make_tokens())
    live = await sessions.start(subject())
    nxt = await sessions.refresh(live.refresh_token)
    ended = await sessions.start(subject())
    assert await sessions.revoke(ended.session_id)
    otk = polyauth.OneTimeTokens(store)
    used = await otk.issue(subject(), "verify")
    await otk.consume(used, "verify")
    # Within a day of ending, nothing goes (clients still get their precise error).
    assert await store.purge_expired() == 0
    with pytest.raises(polyauth.SessionRevokedError):
        await sessions.refresh(ended.refresh_token)
    removed = await store.purge_expired(now=int(time.time()) + 2 * DAY)
    # The revoked session with its token, and the spent one-time token (Redis lets refresh
    # tokens expire on their own).
    assert removed >= (2 if store.backend == "redis" else 3)
    with pytest.raises(polyauth.InvalidTokenError):
        await sessions.refresh(ended.refresh_token)
    # The live session's used token is still reuse after the purge.
    with pytest.raises(polyauth.RefreshReusedError):
        await sessions.refresh(live.refresh_token)
    with pytest.raises(polyauth.SessionRevokedError):
        await sessions.refresh(nxt.refresh_token)


async def test_open_without_migrating(tmp_path: Path) -> None:
    with pytest.raises(polyauth.InvalidConfigError, match="migrations"):
        await Store.open(f"sqlite://{tmp_path / 'empty.db'}", migrate=False)
    # An owner applies the printed SQL; the application then opens without DDL. (Python's sqlite3
    # writes before polyauth opens the file: two SQLite copies in one process must not share it.)
    url = f"sqlite://{tmp_path / 'app.db'}"
    with sqlite3.connect(tmp_path / "app.db") as db:
        db.executescript(Store.migrations_sql())
    store = await Store.open(url, migrate=False)
    sessions = Sessions(store, make_tokens())
    pair = await sessions.start("u")
    await sessions.refresh(pair.refresh_token)
    # An older schema is refused too.
    old = tmp_path / "old.db"
    with sqlite3.connect(old) as db:
        db.executescript(Store.migrations_sql().split("-- polyauth migration 3")[0])
    with pytest.raises(polyauth.InvalidConfigError):
        await Store.open(f"sqlite://{old}", migrate=False)
    await Store.open(f"sqlite://{old}")  # migrating brings it up to date
    await Store.open(f"sqlite://{old}", migrate=False)


async def test_open_without_migrating_postgres(tmp_path: Path) -> None:
    url = store_url_for("postgres", tmp_path)
    try:
        with pytest.raises(polyauth.InvalidConfigError):
            await Store.open(url, migrate=False)
    except polyauth.StoreUnavailableError:
        await open_store(url)  # skips, or fails when services are required
    await open_store(url)
    await Store.open(url, migrate=False)


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_migrate_false_is_harmless_without_a_schema(backend: str, tmp_path: Path) -> None:
    url = store_url_for(backend, tmp_path)
    try:
        store = await Store.open(url, migrate=False)
    except polyauth.StoreUnavailableError:
        await open_store(url)
        raise
    assert store.backend == backend
