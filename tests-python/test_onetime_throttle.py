"""One-time tokens and throttling over every store backend (DESIGN.md §6, RL-1)."""

from __future__ import annotations

import asyncio
import secrets
import time
from pathlib import Path
from typing import Any

import pytest
from test_sessions import (
    BACKENDS,
    SHARED,
    assert_type_error,
    make_tokens,
    open_store,
    store_url_for,
    with_namespace,
)

import polyauth
from polyauth import OneTimeTokens, Sessions, Store, Throttle


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return store_url_for(request.param, tmp_path)


@pytest.fixture(params=SHARED)
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return store_url_for(request.param, tmp_path)


LOCKED_FOREVER = 2**53 - 1  # locked_until of a key locked until reset


def key() -> str:
    return f"login:{secrets.token_hex(6)}@example.com"


# ---- one-time tokens -----------------------------------------------------------------------------


async def test_issue_and_consume_once(store_url: str) -> None:
    one_time = OneTimeTokens(await open_store(store_url))
    data = {"email": "a@example.com", "next": "/welcome", "n": [1, 2.5, None, True], "name": "Zoë"}
    token = await one_time.issue("user-9", "password_reset", ttl=600, data=data)
    assert isinstance(token, str)
    assert token.startswith("pot_") and len(token) == 47
    assert await one_time.consume(token, "password_reset") == ("user-9", data)
    with pytest.raises(polyauth.TokenUsedError) as e:
        await one_time.consume(token, "password_reset")
    assert e.value.code == "token_used"
    assert token not in str(e.value)
    # Every JSON value round-trips, and no data is None.
    values: list[Any] = [None, [1, "two"], "text", 7, {"nested": {"deep": [{}]}}]
    for value in values:
        t = await one_time.issue("u", "magic", data=value)
        assert await one_time.consume(t, "magic") == ("u", value)
    t = await one_time.issue("u", "magic")
    assert await one_time.consume(t, "magic") == ("u", None)


async def test_wrong_purpose_does_not_consume(store_url: str) -> None:
    one_time = OneTimeTokens(await open_store(store_url))
    token = await one_time.issue("user-1", "email_verify", data={"x": 1})
    for purpose in ["password_reset", "EMAIL_VERIFY", "email_verify ", "e"]:
        with pytest.raises(polyauth.InvalidTypeError) as e:
            await one_time.consume(token, purpose)
        assert e.value.code == "invalid_type"
    assert await one_time.consume(token, "email_verify") == ("user-1", {"x": 1})
    with pytest.raises(polyauth.TokenUsedError):
        await one_time.consume(token, "email_verify")


async def test_expired_token(store_url: str) -> None:
    one_time = OneTimeTokens(await open_store(store_url))
    token = await one_time.issue("u", "magic", ttl=1)
    kept = await one_time.issue("u", "magic", ttl=60)
    await asyncio.sleep(2.1)
    with pytest.raises(polyauth.TokenExpiredError) as e:
        await one_time.consume(token, "magic")
    assert e.value.code == "token_expired"
    with pytest.raises(polyauth.TokenExpiredError):
        await one_time.consume(token, "magic")
    assert await one_time.consume(kept, "magic") == ("u", None)


async def test_malformed_tokens_are_invalid_token(store_url: str) -> None:
    store = await open_store(store_url)
    one_time = OneTimeTokens(store)
    good = await one_time.issue("u", "magic")
    refresh = (await Sessions(store, make_tokens()).start("u")).refresh_token
    body = good[4:]
    for token in [
        "",
        "pot_",
        "pot_x",
        "POT_" + body,
        good[:-1],
        good + "x",
        good + " ",
        "pot_" + body[:-1] + "*",
        "pot_" + "A" * (1024 * 1024),
        refresh,  # a refresh token presented as one-time
        "prt_" + body,
        "pot_" + secrets.token_urlsafe(32),  # well-formed but unknown
    ]:
        with pytest.raises(polyauth.InvalidTokenError):
            await one_time.consume(token, "magic")
    assert await one_time.consume(good, "magic") == ("u", None)


async def test_concurrent_consumes_have_one_winner(store_url: str) -> None:
    one_time = OneTimeTokens(await open_store(store_url))
    token = await one_time.issue("racer", "magic", data={"k": "v"})
    attempts = (one_time.consume(token, "magic") for _ in range(100))
    results = await asyncio.gather(*attempts, return_exceptions=True)
    wins = [r for r in results if not isinstance(r, BaseException)]
    assert wins == [("racer", {"k": "v"})]
    for r in results:
        if isinstance(r, BaseException):
            assert isinstance(r, polyauth.TokenUsedError), repr(r)


async def test_issue_validates_input() -> None:
    one_time = OneTimeTokens(await Store.open("memory://"))
    cases: list[dict[str, Any]] = [
        {"subject": "", "purpose": "p"},
        {"subject": "u" * 1025, "purpose": "p"},
        {"subject": "u", "purpose": ""},
        {"subject": "u", "purpose": "p" * 65},
        {"subject": "u", "purpose": "p", "ttl": 0},
        {"subject": "u", "purpose": "p", "ttl": 30 * 86400 + 1},
        {"subject": "u", "purpose": "p", "ttl": "60"},
        {"subject": "u", "purpose": "p", "ttl": -1},
        {"subject": "u", "purpose": "p", "ttl": True},
        {"subject": "u", "purpose": "p", "data": {"big": "x" * 17000}},
    ]
    for kwargs in cases:
        with pytest.raises(polyauth.InvalidInputError):
            await one_time.issue(**kwargs)
    o: Any = one_time  # deliberately ill-typed calls
    for call in [
        lambda: o.issue(1, "p"),
        lambda: o.issue("u", None),
        lambda: o.issue("u", "p", data=object()),
        lambda: o.issue("u", "p", data={1: "x"}),
        lambda: o.consume(None, "p"),
        lambda: o.consume(b"pot_", "p"),
        lambda: o.consume("pot_x", None),
        lambda: OneTimeTokens(None),  # type: ignore[arg-type]
    ]:
        await assert_type_error(call)


@pytest.mark.parametrize("backend", ["postgres", "redis"])  # SQLite: one file is one store
async def test_namespaces_isolate(backend: str, tmp_path: Path) -> None:
    url = store_url_for(backend, tmp_path)
    base = url.split("?", 1)[0]
    a = OneTimeTokens(await open_store(url))
    b = OneTimeTokens(await open_store(with_namespace(base)))
    token = await a.issue("u", "magic")
    with pytest.raises(polyauth.InvalidTokenError):
        await b.consume(token, "magic")
    assert await a.consume(token, "magic") == ("u", None)


# ---- throttle (RL-1) -----------------------------------------------------------------------------


async def test_free_attempts_then_lock_then_reset(store_url: str) -> None:
    store = await open_store(store_url)
    # base_delay=30 keeps the lock far from a second boundary; the default schedule is 1, 2, 4, ...
    throttle = Throttle(store, base_delay=30)
    k = key()
    for n in range(1, 6):
        await throttle.check(k)
        failures, locked_until = await throttle.fail(k)
        assert failures == n
        assert locked_until <= int(time.time()), "free attempts never lock"
    await throttle.check(k)
    failures, locked_until = await throttle.fail(k)
    now = int(time.time())
    assert failures == 6
    assert now + 28 <= locked_until <= now + 30
    with pytest.raises(polyauth.RateLimitedError) as e:
        await throttle.check(k)
    assert e.value.code == "rate_limited"
    assert 1 <= e.value.retry_after <= 30
    failures, locked_until = await throttle.fail(k)
    assert failures == 7
    assert locked_until >= int(time.time()) + 58, "the delay doubles"
    # Another key is unaffected.
    await throttle.check(key())
    await throttle.reset(k)
    await throttle.check(k)
    assert (await throttle.fail(k))[0] == 1
    await throttle.reset(k)
    await throttle.reset(k)  # resetting an absent key is fine


async def test_default_schedule_and_ceiling(store_url: str) -> None:
    throttle = Throttle(await open_store(store_url))
    k = key()
    for _ in range(5):
        assert (await throttle.fail(k))[1] <= int(time.time())
    start = int(time.time())
    failures, locked_until = await throttle.fail(k)
    assert failures == 6 and start + 1 <= locked_until <= int(time.time()) + 1
    for _ in range(93):
        await throttle.fail(k)
    failures, locked_until = await throttle.fail(k)
    assert failures == 100
    # At the ceiling (100 failures) the key stays locked until reset.
    assert locked_until == LOCKED_FOREVER
    with pytest.raises(polyauth.RateLimitedError) as e:
        await throttle.check(k)
    assert e.value.retry_after > 10**15
    await throttle.reset(k)
    await throttle.check(k)


async def test_locks_escalate_from_max_failures_and_never_lapse(store_url: str) -> None:
    # With max_failures=3 the lock used to be reset_after, after which the count started over (12
    # failures got through in 10 s). Now each failure from max_failures on doubles the lock, and at
    # 100 failures, whatever max_failures is, the key stays locked until reset.
    store = await open_store(store_url)
    throttle = Throttle(store, max_failures=3, reset_after=60)
    k = key()
    for _ in range(2):
        assert (await throttle.fail(k))[1] <= int(time.time())
    for n, lock in [(3, 60), (4, 120), (5, 240), (6, 480)]:
        start = int(time.time())
        failures, locked_until = await throttle.fail(k)
        assert failures == n
        assert start + lock <= locked_until <= int(time.time()) + lock
    with pytest.raises(polyauth.RateLimitedError) as e:
        await throttle.attempt(k)
    assert 470 <= e.value.retry_after <= 480
    for _ in range(93):
        await throttle.fail(k)
    assert await throttle.fail(k) == (100, LOCKED_FOREVER)
    with pytest.raises(polyauth.RateLimitedError):
        await throttle.check(k)
    await throttle.reset(k)
    assert (await throttle.attempt(k))[0] == 1


async def test_counters_are_shared_between_stores(shared_url: str) -> None:
    first = Throttle(await open_store(shared_url), base_delay=60, max_delay=60)
    second = Throttle(await open_store(shared_url), base_delay=60, max_delay=60)
    k = key()
    for n in range(1, 3):
        assert (await first.fail(k))[0] == 2 * n - 1
        assert (await second.fail(k))[0] == 2 * n
    await first.check(k)
    assert (await second.fail(k))[0] == 5
    await first.check(k)
    assert (await first.fail(k))[0] == 6
    with pytest.raises(polyauth.RateLimitedError):
        await first.check(k)
    with pytest.raises(polyauth.RateLimitedError):
        await second.check(k)
    await first.reset(k)
    await second.check(k)
    assert (await second.fail(k))[0] == 1


async def test_concurrent_failures_each_get_their_own_count(store_url: str) -> None:
    # Each failure reports the count its own increment produced (Redis counts in one script and
    # locks in a second one; it once reported the count after later concurrent failures).
    throttle = Throttle(await open_store(store_url))
    k = key()
    results = await asyncio.gather(*(throttle.fail(k) for _ in range(30)))
    assert sorted(failures for failures, _ in results) == list(range(1, 31))
    assert (await throttle.fail(k))[0] == 31


@pytest.mark.xfail(
    strict=True,
    reason="check() and fail() are separate steps, so N concurrent login attempts all pass "
    "check() before any failure is recorded and a burst exceeds max_failures (RL-1). This is why "
    "Throttle.attempt() exists: it checks and counts in one atomic step (test_mfa.py covers it "
    "on every backend); the xfail documents the two-step pattern's limit",
)
async def test_concurrent_attempts_cannot_exceed_the_ceiling() -> None:
    throttle = Throttle(await Store.open("memory://"), max_failures=10)
    k = key()
    passed = 0

    async def attempt() -> None:
        nonlocal passed
        try:
            await throttle.check(k)
        except polyauth.RateLimitedError:
            return
        passed += 1
        await asyncio.sleep(0.05)  # verifying the (wrong) password
        await throttle.fail(k)

    await asyncio.gather(*(attempt() for _ in range(50)))
    assert passed <= 10


async def test_bad_config_and_keys() -> None:
    store = await Store.open("memory://")
    for kwargs in [
        {"max_failures": 101},
        {"max_failures": 0},
        {"base_delay": 0},
        {"base_delay": 10, "max_delay": 5},
        {"free_attempts": -1},
        {"reset_after": 0},
    ]:
        with pytest.raises(polyauth.InvalidConfigError):
            Throttle(store, **kwargs)
    throttle = Throttle(store)
    for bad in ["", "k" * 513]:
        for method in (throttle.check, throttle.fail, throttle.reset):
            with pytest.raises(polyauth.InvalidInputError) as e:
                await method(bad)
            assert isinstance(e.value, ValueError)
    await throttle.check("k" * 512)
    assert (await throttle.fail("é" * 256))[0] == 1
    t: Any = throttle  # deliberately ill-typed calls
    for call in [
        lambda: t.check(None),
        lambda: t.fail(1),
        lambda: t.reset(b"k"),
        lambda: Throttle("memory://"),  # type: ignore[arg-type]
    ]:
        await assert_type_error(call)
    # A number of the wrong type is invalid_config, as in Node (vectors/argument-checks.json).
    with pytest.raises(polyauth.InvalidConfigError):
        Throttle(store, free_attempts="5")  # type: ignore[arg-type]
