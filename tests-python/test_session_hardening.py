"""Session hardening (DESIGN.md §6, §7 RT-5): racing refreshes inside the grace window, the
readable settings and ``Store.open(url, migrate=False)``. The scenarios (only the newest generation
rotates, a refresh sent to another service writes nothing, logout by refresh token,
``Store.purge_expired``) are ``vectors/sessions.json``, run by ``test_scenario_vectors.py``."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from test_sessions import make_tokens, open_store, store_url, store_url_for, subject

import polyauth
from polyauth import Sessions, Store

__all__ = ["store_url"]  # the fixture, re-used from test_sessions

DAY = 86400


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


async def test_settings_are_readable() -> None:
    store = await Store.open("memory://")
    s = Sessions(store, make_tokens(), refresh_ttl=10 * DAY, idle_ttl=DAY, reuse_grace=15)
    assert (s.refresh_ttl, s.idle_ttl, s.reuse_grace) == (10 * DAY, DAY, 15)
    d = Sessions(store, make_tokens())
    assert (d.refresh_ttl, d.idle_ttl, d.reuse_grace) == (30 * DAY, 7 * DAY, 0)
    with pytest.raises(AttributeError):
        d.reuse_grace = 30  # type: ignore[misc]


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
