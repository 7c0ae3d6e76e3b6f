"""Sessions over every store backend (memory, SQLite, PostgreSQL, Redis): what is Python's own
(types, reprs, surrogates, messages), concurrency (RT-4), durability across reopening (RT-9) and
opening stores (unreachable servers, migrations). The scenarios of DESIGN.md §7 RT-1..RT-9 are
``vectors/sessions.json``, run by ``test_scenario_vectors.py``.

PostgreSQL and Redis come from POLYAUTH_TEST_POSTGRES_URL / POLYAUTH_TEST_REDIS_URL (defaults on
127.0.0.1); each test gets its own ``polyauth_namespace``. A missing server skips its cases, or fails
them with POLYAUTH_REQUIRE_SERVICES=1. The helpers here are shared with the other store suites.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import os
import secrets
import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, NoReturn

import pytest

import polyauth
from conftest import remember_namespace
from polyauth import KeySet, OneTimeTokens, Sessions, Store, Throttle, TokenPair, Tokens

ISSUER = "https://issuer.example"
AUDIENCE = "api"
REQUIRE_SERVICES = os.environ.get("POLYAUTH_REQUIRE_SERVICES") == "1"
POSTGRES_URL = os.environ.get("POLYAUTH_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("POLYAUTH_TEST_REDIS_URL", "redis://127.0.0.1:6379")
BACKENDS = ["memory", "sqlite", "postgres", "redis"]
DURABLE = ["sqlite", "postgres"]
SHARED = ["sqlite", "postgres", "redis"]
TABLES = {
    "polyauth_schema_version",
    "polyauth_sessions",
    "polyauth_refresh_tokens",
    "polyauth_one_time_tokens",
    "polyauth_throttle",
    "polyauth_mfa_factors",
    "polyauth_mfa_recovery_codes",
    "polyauth_accounts",
}

# ---- helpers shared with test_onetime_throttle.py and test_cross_language_sessions.py -------------

_unreachable: dict[str, str] = {}


def with_namespace(url: str) -> str:
    """``url`` with a fresh random ``polyauth_namespace``, so runs on shared servers never meet."""
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}polyauth_namespace={remember_namespace(f't{secrets.token_hex(8)}')}"


def store_url_for(backend: str, tmp_path: Path) -> str:
    """A fresh URL of ``backend`` (the SQLite file lives in ``tmp_path``)."""
    if backend == "memory":
        return with_namespace("memory://")
    if backend == "sqlite":
        return with_namespace(f"sqlite://{tmp_path / 'polyauth.db'}")
    if backend == "postgres":
        base = POSTGRES_URL
    elif backend == "redis":
        base = REDIS_URL
    else:
        raise AssertionError(backend)
    if backend in _unreachable:
        unavailable(backend, _unreachable[backend])
    return with_namespace(base)


def unavailable(backend: str, why: str) -> NoReturn:
    """Skips (or, with POLYAUTH_REQUIRE_SERVICES=1, fails) a case whose server is missing."""
    message = f"{backend} unreachable: {why}"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message} (POLYAUTH_REQUIRE_SERVICES=1)")
    pytest.skip(message)


def backend_of(url: str) -> str:
    """The backend a URL names ("postgresql://" is "postgres", "rediss://" is "redis")."""
    scheme = url.split("://", 1)[0]
    return {"postgresql": "postgres", "rediss": "redis"}.get(scheme, scheme)


async def open_store(url: str) -> Store:
    """Opens ``url``; a server that cannot be reached skips the case (or fails it in CI)."""
    backend = backend_of(url)
    try:
        return await Store.open(url)
    except polyauth.StoreUnavailableError as e:
        if backend not in ("postgres", "redis"):
            raise
        _unreachable[backend] = str(e)
        unavailable(backend, str(e))


KEYS = KeySet.generate("EdDSA")


def make_tokens(audience: str = AUDIENCE) -> Tokens:
    return Tokens(KEYS, issuer=ISSUER, audience=audience)


async def assert_type_error(call: Callable[[], Any]) -> None:
    """``call()`` (or awaiting what it returns) raises TypeError."""
    try:
        result = call()
        if inspect.isawaitable(result):
            await result
    except TypeError:
        return
    pytest.fail("no TypeError raised")


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return store_url_for(request.param, tmp_path)


@pytest.fixture(params=DURABLE)
def durable_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return store_url_for(request.param, tmp_path)


@pytest.fixture
def tokens() -> Tokens:
    return make_tokens()


def subject() -> str:
    return f"user-{secrets.token_hex(6)}"


CLAIMS: dict[str, Any] = {"scope": "read write", "roles": ["admin", "ops"], "amr": ["pwd", "otp"]}
META: dict[str, Any] = {"user_agent": "pytest/1.0", "ip": "203.0.113.7"}


def assert_access(tokens: Tokens, pair: TokenPair, sub: str) -> dict[str, Any]:
    claims = tokens.verify(pair.access_token)
    assert claims["sid"] == pair.session_id
    assert claims["sub"] == sub
    assert claims["iss"] == ISSUER
    for name, value in CLAIMS.items():
        assert claims[name] == value, name
    return claims


# ---- what is Python's own (the scenarios are vectors/sessions.json, test_scenario_vectors.py) ------


async def test_error_messages_never_contain_tokens(tokens: Tokens) -> None:
    store = await Store.open("memory://")
    sessions, one_time = Sessions(store, tokens), OneTimeTokens(store)
    p0 = await sessions.start(subject())
    await sessions.refresh(p0.refresh_token)
    with pytest.raises(polyauth.RefreshReusedError) as reused:
        await sessions.refresh(p0.refresh_token)
    unknown = "prt_" + secrets.token_urlsafe(32)
    with pytest.raises(polyauth.InvalidTokenError) as invalid:
        await sessions.refresh(unknown)
    used = await one_time.issue("u", "magic")
    await one_time.consume(used, "magic")
    with pytest.raises(polyauth.TokenUsedError) as spent:
        await one_time.consume(used, "magic")
    for error, token in [(reused, p0.refresh_token), (invalid, unknown), (spent, used)]:
        assert token not in str(error.value) and token not in repr(error.value)
        assert token[4:20] not in str(error.value)


async def test_lone_surrogates_are_invalid_input(tokens: Tokens) -> None:
    store = await Store.open("memory://")
    sessions, one_time, throttle = Sessions(store, tokens), OneTimeTokens(store), Throttle(store)
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: sessions.start("user\ud800"),
        lambda: sessions.refresh("prt_\ud800"),
        lambda: sessions.revoke("\udfff"),
        lambda: sessions.is_active("\ud800"),
        lambda: sessions.revoke_refresh_token("prt_\ud800"),
        lambda: one_time.consume("pot_\ud800", "magic"),
        lambda: one_time.issue("u", "magic\ud800"),
        lambda: throttle.fail("login:\ud800"),
    ]
    for call in calls:
        with pytest.raises(polyauth.InvalidInputError):
            await call()


async def test_wrong_types_raise_type_error(tokens: Tokens) -> None:
    store = await Store.open("memory://")
    sessions = Sessions(store, tokens)
    pair = await sessions.start("u")
    s: Any = sessions  # the calls below are deliberately ill-typed
    cls: Any = Sessions
    calls: list[Any] = [
        lambda: s.start(123),
        lambda: s.start(None),
        lambda: s.start(b"u"),
        lambda: s.start("u", claims="scope"),
        lambda: s.start("u", claims=[("scope", "x")]),
        lambda: s.start("u", claims={"x": object()}),
        lambda: s.start("u", meta=["ua"]),
        lambda: s.start("u", meta=42),
        lambda: s.refresh(None),
        lambda: s.refresh(pair.refresh_token.encode()),
        lambda: s.refresh(47),
        lambda: s.revoke(None),
        lambda: s.revoke(1),
        lambda: s.revoke_all(None),
        lambda: s.list(b"u"),
        lambda: s.is_active(None),
        lambda: cls(object(), tokens),
        lambda: cls(store, object()),
    ]
    for call in calls:
        await assert_type_error(call)
    # A number of the wrong type is invalid_config, as in Node (vectors/argument-checks.json).
    bads: list[dict[str, Any]] = [{"refresh_ttl": "60"}, {"reuse_grace": 1.5}, {"idle_ttl": True}]
    for bad in bads:
        with pytest.raises(polyauth.InvalidConfigError):
            cls(store, tokens, **bad)
    # None is the core's default, as an absent option is.
    assert cls(store, tokens, reuse_grace=None).reuse_grace == 0
    # Nothing above hurt the session.
    assert await sessions.is_active(pair.session_id)


async def test_token_pair_repr_redacts_tokens(tokens: Tokens) -> None:
    sessions = Sessions(await Store.open("memory://"), tokens)
    pair = await sessions.start("u", claims=CLAIMS)
    for text in (repr(pair), str(pair)):
        assert pair.refresh_token not in text
        assert pair.refresh_token[4:20] not in text
        assert pair.access_token not in text
        assert pair.access_token.split(".")[2] not in text
        assert pair.session_id in text
    assert "redacted" in repr(pair)


# ---- concurrency (RT-4) --------------------------------------------------------------------------


async def test_concurrent_refreshes_have_exactly_one_winner(store_url: str, tokens: Tokens) -> None:
    sessions = Sessions(await open_store(store_url), tokens)
    for _ in range(3):
        pair = await sessions.start(subject())
        results = await asyncio.gather(
            *(sessions.refresh(pair.refresh_token) for _ in range(100)), return_exceptions=True
        )
        wins = [r for r in results if isinstance(r, TokenPair)]
        errors = [r for r in results if not isinstance(r, TokenPair)]
        assert len(wins) == 1, [type(e).__name__ for e in errors][:5]
        for e in errors:
            assert isinstance(e, (polyauth.RefreshReusedError, polyauth.SessionRevokedError)), repr(e)
        assert any(isinstance(e, polyauth.RefreshReusedError) for e in errors)
        issued = [w.refresh_token for w in wins] + [w.access_token for w in wins]
        assert len(set(issued)) == len(issued), "no token issued twice"
        assert wins[0].refresh_token != pair.refresh_token
        assert not await sessions.is_active(pair.session_id), "the reuse revoked the session"
        with pytest.raises(polyauth.SessionRevokedError):
            await sessions.refresh(wins[0].refresh_token)


# ---- durability (RT-9) ---------------------------------------------------------------------------


async def test_state_survives_reopening(durable_url: str) -> None:
    sub = subject()
    key = f"login:{secrets.token_hex(6)}"
    locked_key = f"login:{secrets.token_hex(6)}"

    async def first_life() -> tuple[TokenPair, TokenPair, TokenPair, str]:
        store = await open_store(durable_url)
        sessions = Sessions(store, make_tokens())
        kept = await sessions.start(sub, claims=CLAIMS, meta=META)
        rotated = await sessions.refresh(kept.refresh_token)
        revoked = await sessions.start(sub)
        assert await sessions.revoke(revoked.session_id)
        one_time = OneTimeTokens(store)
        used = await one_time.issue(sub, "email_verify", data={"n": 1})
        await one_time.consume(used, "email_verify")
        throttle = Throttle(store)
        for _ in range(3):
            await throttle.fail(key)
        lock = Throttle(store, free_attempts=0, base_delay=600, max_delay=600)
        await lock.fail(locked_key)
        return kept, rotated, revoked, used

    kept, rotated, revoked, used = await first_life()
    gc.collect()  # every handle of the first store is gone: its pool closes

    store = await open_store(durable_url)
    sessions = Sessions(store, make_tokens())
    assert not await sessions.is_active(revoked.session_id)
    with pytest.raises(polyauth.SessionRevokedError):
        await sessions.refresh(revoked.refresh_token)
    assert await sessions.is_active(kept.session_id)
    listed = await sessions.list(sub)
    assert [x["session_id"] for x in listed] == [kept.session_id]
    assert listed[0]["meta"] == META
    newest = await sessions.refresh(rotated.refresh_token)
    assert_access(make_tokens(), newest, sub)
    # The used token is still known as used: reuse is detected and revokes the family.
    with pytest.raises(polyauth.RefreshReusedError):
        await sessions.refresh(kept.refresh_token)
    with pytest.raises(polyauth.SessionRevokedError):
        await sessions.refresh(newest.refresh_token)
    with pytest.raises(polyauth.TokenUsedError):
        await OneTimeTokens(store).consume(used, "email_verify")
    failures, _ = await Throttle(store).fail(key)
    assert failures == 4
    with pytest.raises(polyauth.RateLimitedError) as e:
        await Throttle(store).check(locked_key)
    assert 500 <= e.value.retry_after <= 600


# ---- opening stores ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "sqlite://x.db?mode=memory",
        "sqlite://x.db?polyauth_namespace=Bad",
        "sqlite://x.db?polyauth_namespace=",
    ],
)
async def test_invalid_relative_sqlite_urls_create_nothing(
    url: str, tmp_path: Path, monkeypatch: Any
) -> None:
    # The other invalid URLs are in vectors/errors.json.
    monkeypatch.chdir(tmp_path)  # a relative sqlite path must never be created in the repository
    with pytest.raises(polyauth.InvalidConfigError):
        await asyncio.wait_for(Store.open(url), 10)
    assert not (tmp_path / "x.db").exists()


async def test_unreachable_servers_are_store_unavailable() -> None:
    async def attempt(url: str) -> float:
        started = time.monotonic()
        with pytest.raises(polyauth.StoreUnavailableError) as e:
            await asyncio.wait_for(Store.open(url), 10)
        assert e.value.code == "store_unavailable"
        assert "s3cret" not in str(e.value) and "s3cret" not in repr(e.value), "no credentials"
        return time.monotonic() - started

    urls = [
        "postgres://postgres:s3cret@127.0.0.1:1/postgres",
        "redis://:s3cret@127.0.0.1:1",
        "postgresql://127.0.0.1:1/x?password=s3cret",
    ]
    for elapsed in await asyncio.gather(*(attempt(url) for url in urls)):
        assert elapsed < 10


async def test_migrations_sql_covers_every_table(tmp_path: Path) -> None:
    sql = Store.migrations_sql()
    assert isinstance(sql, str)
    for table in TABLES:
        assert table in sql, table
    # Every polyauth_ table a real store creates is in the published SQL.
    path = tmp_path / "m.db"
    await Store.open(f"sqlite://{path}")
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'polyauth%'")
        found = {row[0] for row in rows}
    assert found >= TABLES
    for table in found:
        assert table in sql, table


async def test_migrations_sql_applied_by_hand_is_recognised(tmp_path: Path, tokens: Tokens) -> None:
    # A team that applies the printed SQL itself gets a database polyauth opens and uses as is.
    path = tmp_path / "manual.db"
    with sqlite3.connect(path) as db:
        db.executescript(Store.migrations_sql())
    sessions = Sessions(await Store.open(f"sqlite://{path}"), tokens)
    pair = await sessions.start("u")
    assert (await sessions.refresh(pair.refresh_token)).session_id == pair.session_id
    with sqlite3.connect(path) as db:
        versions = [row[0] for row in db.execute("SELECT version FROM polyauth_schema_version")]
    assert versions == [1, 2, 3, 4]


async def test_store_repr_and_backend(tmp_path: Path) -> None:
    store = await Store.open(f"sqlite://{tmp_path / 'r.db'}")
    assert store.backend == "sqlite"
    assert repr(store) == 'Store(backend="sqlite")'
    assert (await Store.open("memory://")).backend == "memory"
    no_constructor: Any = Store
    with pytest.raises(TypeError):
        no_constructor()


async def test_ping(store_url: str) -> None:
    """One round trip through the store's own connection: a health check."""
    store = await open_store(store_url)
    assert store.backend == backend_of(store_url)
    await store.ping()  # raises StoreUnavailableError when the backend is down
