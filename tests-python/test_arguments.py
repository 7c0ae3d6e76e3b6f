"""Argument checks shared with the Node suite (vectors/argument-checks.json, DESIGN.md §5).

- Every numeric parameter refuses a value of the wrong type or range with the same code as in
  Node (settings ``InvalidConfigError``, per-call arguments ``InvalidInputError``), never
  ``OverflowError`` or ``TypeError``, and ``True`` is not taken as 1.
- Every identifier argument refuses a str with lone surrogates (``InvalidInputError``).
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import polyauth
from conftest import load_project
from polyauth import (
    Accounts,
    KeySet,
    Mfa,
    OneTimeTokens,
    PasswordHasher,
    PasswordPolicy,
    RemoteKeySet,
    Sessions,
    SignIn,
    Store,
    Throttle,
    Tokens,
    Totp,
    _native,
)

V = load_project("argument-checks.json")
BAD: dict[str, Any] = {
    "negative": -1,
    "nan": math.nan,
    "infinity": math.inf,
    "negative_infinity": -math.inf,
    "fraction": 1.5,
    "too_large": 2**53,
    "huge": 10**300,
    "bool": True,
    "numeric_string": "5",
}
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
KEY = bytes([7]) * 32
URL = "https://idp.example/jwks"
PASSWORD = "plum-cactus-orbit-lantern-42"


def unique(prefix: str = "user") -> str:
    return f"{prefix}-{secrets.token_hex(6)}"


def now_or(v: Any) -> Any:
    return int(time.time()) if v is None else v


class World:
    """A memory store and one object of each kind, built inside the test's event loop."""

    store: Store
    keys: KeySet
    tokens: Tokens
    token: str
    totp: Totp
    mfa: Mfa
    onetime: OneTimeTokens
    sessions: Sessions
    throttle: Throttle
    accounts: Accounts
    signin: SignIn
    login: str
    subject: str

    @classmethod
    async def open(cls) -> World:
        w = cls()
        w.store = await Store.open("memory://")
        w.keys = KeySet.generate("EdDSA")
        w.tokens = Tokens(w.keys, issuer="https://issuer.example", audience="api")
        w.token = w.tokens.issue("user-1")
        w.totp = Totp()
        w.mfa = Mfa(w.store, w.totp, KEY)
        w.onetime = OneTimeTokens(w.store)
        w.sessions = Sessions(w.store, w.tokens)
        w.throttle = Throttle(w.store)
        w.accounts = Accounts(w.store, PasswordHasher())
        w.signin = SignIn(w.accounts, w.sessions, mfa=w.mfa)
        w.login = f"{unique()}@example.com"
        w.subject = (await w.accounts.create(w.login, PASSWORD)).subject
        return w

    async def pending(self) -> str:
        """A subject with a pending enrollment (a wrong code is then ``TotpInvalidError``)."""
        s = unique()
        await self.mfa.begin_enrollment(s, "jane@example.com")
        return s

    def numeric(self) -> dict[str, Callable[[Any], Any]]:
        """One call per parameter id of the vector file; ``None`` means the current time."""
        st, tk, keys, totp, mfa = self.store, self.tokens, self.keys, self.totp, self.mfa

        async def confirm(v: Any) -> Any:
            return await mfa.confirm(await self.pending(), "000000", now=now_or(v))

        return {
            "PasswordHasher.time_cost": lambda v: PasswordHasher(time_cost=v),
            "PasswordHasher.memory_kib": lambda v: PasswordHasher(memory_kib=v),
            "PasswordHasher.parallelism": lambda v: PasswordHasher(parallelism=v),
            "PasswordHasher.max_memory_kib": lambda v: PasswordHasher(max_memory_kib=v),
            "PasswordPolicy.min_length": lambda v: PasswordPolicy(min_length=v),
            "PasswordPolicy.max_length": lambda v: PasswordPolicy(max_length=v),
            "PasswordPolicy.min_length_mfa": lambda v: PasswordPolicy(min_length_mfa=v),
            "Tokens.access_ttl": lambda v: Tokens(keys, issuer="i", audience="a", access_ttl=v),
            "Tokens.leeway": lambda v: Tokens(keys, issuer="i", audience="a", leeway=v),
            "Tokens.max_token_size": lambda v: Tokens(keys, issuer="i", audience="a", max_token_size=v),
            "Tokens.verify_cache": lambda v: Tokens(keys, issuer="i", audience="a", verify_cache=v),
            "RemoteKeySet.cache_ttl": lambda v: RemoteKeySet(URL, cache_ttl=v),
            "RemoteKeySet.cooldown": lambda v: RemoteKeySet(URL, cooldown=v),
            "RemoteKeySet.max_stale": lambda v: RemoteKeySet(URL, max_stale=v),
            "RemoteKeySet.timeout": lambda v: RemoteKeySet(URL, timeout=v),
            "Sessions.refresh_ttl": lambda v: Sessions(st, tk, refresh_ttl=v),
            "Sessions.idle_ttl": lambda v: Sessions(st, tk, idle_ttl=v),
            "Sessions.reuse_grace": lambda v: Sessions(st, tk, reuse_grace=v),
            "Throttle.free_attempts": lambda v: Throttle(st, free_attempts=v),
            "Throttle.base_delay": lambda v: Throttle(st, base_delay=v),
            "Throttle.max_delay": lambda v: Throttle(st, max_delay=v),
            "Throttle.max_failures": lambda v: Throttle(st, max_failures=v),
            "Throttle.reset_after": lambda v: Throttle(st, reset_after=v),
            "Totp.digits": lambda v: Totp(digits=v),
            "Totp.period": lambda v: Totp(period=v),
            "Totp.window": lambda v: Totp(window=v),
            "Mfa.enrollment_ttl": lambda v: Mfa(st, totp, KEY, enrollment_ttl=v),
            "Tokens.issue.ttl": lambda v: tk.issue("user-1", ttl=v),
            "Tokens.verify.now": lambda v: tk.verify(self.token, now=now_or(v)),
            "KeySet.verify_jws.max_size": lambda v: keys.verify_jws(self.token, max_size=v),
            "Totp.code.now": lambda v: totp.code(SECRET, now=v),
            "Totp.verify.now": lambda v: totp.verify(SECRET, "123456", now=v),
            "Totp.verify.after_step": lambda v: totp.verify(
                SECRET, "123456", after_step=v, now=1_700_000_000
            ),
            "OneTimeTokens.issue.ttl": lambda v: self.onetime.issue(unique(), "password_reset", ttl=v),
            "Mfa.begin_enrollment.now": lambda v: mfa.begin_enrollment(
                unique(), "jane@example.com", now=now_or(v)
            ),
            "Mfa.confirm.now": confirm,
            "Mfa.verify.now": lambda v: mfa.verify(unique(), "000000", now=now_or(v)),
            "Mfa.verify_recovery_code.now": lambda v: mfa.verify_recovery_code(
                unique(), "aaaaaa-aaaaaa-aaaaaa-aaaaaa", now=now_or(v)
            ),
            "Mfa.status.now": lambda v: mfa.status(unique(), now=now_or(v)),
            "Store.purge_expired.now": lambda v: st.purge_expired(now=now_or(v)),
            "SignIn.second_factor.now": lambda v: self.signin.second_factor("pot_x", code="123456", now=v),
            "SignIn.request_password_reset.ttl": lambda v: self.signin.request_password_reset(
                self.login, ttl=v
            ),
            "SignIn.request_email_verification.ttl": lambda v: self.signin.request_email_verification(
                self.subject, ttl=v
            ),
        }

    def identifiers(self) -> dict[str, Callable[[str], Any]]:
        """One call per identifier argument of the vector file, with ``s`` in that argument."""
        se, ot, th, mfa = self.sessions, self.onetime, self.throttle, self.mfa
        a, si = self.accounts, self.signin
        rc = "aaaaaa-aaaaaa-aaaaaa-aaaaaa"

        async def consume_purpose(s: str) -> Any:
            return await ot.consume(await ot.issue(unique(), "password_reset"), s)

        async def confirm_code(s: str) -> Any:
            return await mfa.confirm(await self.pending(), s)

        return {
            "Sessions.start.subject": lambda s: se.start(s),
            "Sessions.refresh.refresh_token": lambda s: se.refresh(s),
            "Sessions.revoke.session_id": lambda s: se.revoke(s),
            "Sessions.revoke_refresh_token.refresh_token": lambda s: se.revoke_refresh_token(s),
            "Sessions.revoke_all.subject": lambda s: se.revoke_all(s),
            "Sessions.list.subject": lambda s: se.list(s),
            "Sessions.is_active.session_id": lambda s: se.is_active(s),
            "OneTimeTokens.issue.subject": lambda s: ot.issue(s, "password_reset"),
            "OneTimeTokens.issue.purpose": lambda s: ot.issue(unique(), s),
            "OneTimeTokens.consume.token": lambda s: ot.consume(s, "password_reset"),
            "OneTimeTokens.consume.purpose": consume_purpose,
            "Throttle.check.key": lambda s: th.check(s),
            "Throttle.fail.key": lambda s: th.fail(s),
            "Throttle.attempt.key": lambda s: th.attempt(s),
            "Throttle.reset.key": lambda s: th.reset(s),
            "Mfa.begin_enrollment.subject": lambda s: mfa.begin_enrollment(s, "jane@example.com"),
            "Mfa.begin_enrollment.account": lambda s: mfa.begin_enrollment(unique(), s),
            "Mfa.confirm.subject": lambda s: mfa.confirm(s, "123456"),
            "Mfa.confirm.code": confirm_code,
            "Mfa.verify.subject": lambda s: mfa.verify(s, "123456"),
            "Mfa.verify.code": lambda s: mfa.verify(unique(), s),
            "Mfa.verify.throttle_context": lambda s: mfa.verify(unique(), "000000", throttle_context=s),
            "Mfa.verify_recovery_code.throttle_context": lambda s: mfa.verify_recovery_code(
                unique(), "aaaaaa-aaaaaa-aaaaaa-aaaaaa", throttle_context=s
            ),
            "Mfa.verify_recovery_code.subject": lambda s: mfa.verify_recovery_code(s, rc),
            "Mfa.verify_recovery_code.code": lambda s: mfa.verify_recovery_code(unique(), s),
            "Mfa.regenerate_recovery_codes.subject": lambda s: mfa.regenerate_recovery_codes(s),
            "Mfa.disable.subject": lambda s: mfa.disable(s),
            "Mfa.status.subject": lambda s: mfa.status(s),
            "Tokens.issue.subject": lambda s: self.tokens.issue(s),
            "Totp.code.secret": lambda s: self.totp.code(s),
            "Totp.verify.secret": lambda s: self.totp.verify(s, "123456"),
            "Totp.verify.code": lambda s: self.totp.verify(SECRET, s),
            "Totp.uri.secret": lambda s: self.totp.uri(s, "jane@example.com"),
            "Totp.uri.account": lambda s: self.totp.uri(SECRET, s),
            "Accounts.create.login": lambda s: a.create(s, PASSWORD),
            "Accounts.create.password": lambda s: a.create(f"{unique()}@example.com", s),
            "Accounts.create.password_hash": lambda s: a.create(f"{unique()}@example.com", password_hash=s),
            "Accounts.get.subject": lambda s: a.get(s),
            "Accounts.find.login": lambda s: a.find(s),
            "Accounts.set_password.subject": lambda s: a.set_password(s, PASSWORD + "-new"),
            "Accounts.set_password.password": lambda s: a.set_password(self.subject, s),
            "Accounts.mark_verified.subject": lambda s: a.mark_verified(s),
            "Accounts.disable.subject": lambda s: a.disable(s),
            "Accounts.update_claims.subject": lambda s: a.update_claims(s, {}),
            "Accounts.normalize_login.login": lambda s: Accounts.normalize_login(s),
            "SignIn.password.login": lambda s: si.password(s, PASSWORD),
            "SignIn.password.password": lambda s: si.password(self.login, s),
            "SignIn.password.throttle_context": lambda s: si.password(
                self.login, PASSWORD, throttle_context=s
            ),
            "SignIn.second_factor.mfa_token": lambda s: si.second_factor(s, code="123456"),
            "SignIn.second_factor.code": lambda s: si.second_factor("pot_x", code=s),
            "SignIn.second_factor.recovery_code": lambda s: si.second_factor("pot_x", recovery_code=s),
            "SignIn.request_password_reset.login": lambda s: si.request_password_reset(s),
            "SignIn.reset_password.token": lambda s: si.reset_password(s, PASSWORD + "-new"),
            "SignIn.reset_password.new_password": lambda s: si.reset_password("pot_x", s),
            "SignIn.request_email_verification.subject": lambda s: si.request_email_verification(s),
            "SignIn.verify_email.token": lambda s: si.verify_email(s),
            "OneTimeTokens.peek.token": lambda s: ot.peek(s, "password_reset"),
            "OneTimeTokens.peek.purpose": lambda s: ot.peek("pot_x", s),
        }


async def outcome(call: Callable[..., Any], *args: Any) -> BaseException | None:
    """The exception ``call(*args)`` raises, or that awaiting its result raises; None when none."""
    try:
        result = call(*args)
        if isinstance(result, Awaitable):
            await result
    except Exception as e:
        return e
    return None


async def test_tables_cover_the_vector_file() -> None:
    w = await World.open()
    assert sorted(w.numeric()) == sorted(p["id"] for p in V["parameters"])
    assert sorted(BAD) == sorted(V["bad_values"])
    assert sorted(w.identifiers()) == sorted(V["identifiers"]["arguments"])


@pytest.mark.parametrize("param", V["parameters"], ids=lambda p: p["id"])
async def test_numeric_argument(param: dict[str, Any]) -> None:
    w = await World.open()
    call = w.numeric()[param["id"]]
    for name, value in BAD.items():
        if name == "fraction" and param.get("fractional"):
            continue
        e = await outcome(call, value)
        assert isinstance(e, polyauth.AuthError), f"{param['id']} = {value!r} ({name}): {e!r}"
        assert e.code == param["code"], f"{param['id']} = {value!r} ({name}): {e!r}"
        assert not isinstance(e, (OverflowError, TypeError))
    e = await outcome(call, param["good"])
    assert e is None or isinstance(e, polyauth.AuthError), f"{param['id']}: {e!r}"
    assert e is None or e.code != param["code"], f"{param['id']} = {param['good']}: {e!r}"


async def test_none_is_the_current_time_for_now() -> None:
    w = await World.open()
    assert len(w.totp.code(SECRET, now=None)) == 6
    assert w.tokens.verify(w.token, now=None)["sub"] == "user-1"
    assert (await w.mfa.status(unique(), now=None))["enabled"] is False


@pytest.mark.parametrize("arg", V["identifiers"]["arguments"])
async def test_identifier_with_lone_surrogates_is_invalid_input(arg: str) -> None:
    w = await World.open()
    call = w.identifiers()[arg]
    for s in V["identifiers"]["lone_surrogates"]:
        e = await outcome(call, s)
        assert isinstance(e, polyauth.InvalidInputError), f"{arg} = {s!r}: {e!r}"
        assert "victim" not in str(e)


async def test_victim_state_untouched_by_lookalike() -> None:
    w = await World.open()
    victim = f"victim-{secrets.token_hex(4)}\ufffd"
    attacker = victim.replace("\ufffd", "\ud800")
    pair = await w.sessions.start(victim)
    now = int(time.time())
    enrollment = await w.mfa.begin_enrollment(victim, "victim@example.com", now=now)
    await w.mfa.confirm(victim, w.totp.code(enrollment.secret, now=now), now=now)
    await w.throttle.fail(victim)
    for attempt in (
        lambda: w.sessions.list(attacker),
        lambda: w.sessions.revoke_all(attacker),
        lambda: w.mfa.status(attacker),
        lambda: w.mfa.disable(attacker),
        lambda: w.mfa.regenerate_recovery_codes(attacker),
        lambda: w.throttle.reset(attacker),
        lambda: w.throttle.fail(attacker),
        lambda: w.onetime.issue(attacker, "password_reset"),
        lambda: w.tokens.issue(attacker),
    ):
        assert isinstance(await outcome(attempt), polyauth.InvalidInputError)
    assert [s["session_id"] for s in await w.sessions.list(victim)] == [pair.session_id]
    assert await w.sessions.is_active(pair.session_id)
    status = await w.mfa.status(victim)
    assert status["enabled"] and status["recovery_codes_remaining"] == 10
    assert (await w.throttle.fail(victim))[0] == 2


@pytest.mark.parametrize("timeout", [math.nan, -1.0, math.inf, -math.inf, True, "1"])
def test_drain_refuses_nan_negative_infinite(timeout: Any) -> None:
    with pytest.raises(polyauth.InvalidInputError):
        _native._drain(timeout)
    # Valid timeouts are accepted (the result says whether tasks were still in flight).
    assert isinstance(_native._drain(0), bool)
    assert isinstance(_native._drain(0.5), bool)
