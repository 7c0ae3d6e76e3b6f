"""The sign-in flow (``polyauth.SignIn``) over every store backend: the password step (amr, claims,
meta, one ``InvalidCredentialsError`` for every failure, throttling under a burst), the second
factor (fresh tokens after a wrong code, at most five per step, recovery codes, single-use
tokens), password reset and email verification, and an application's own account source (plain
and async methods). Mirrors core/tests/signin.rs.
"""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable, Union

import pytest
from test_mfa import split
from test_sessions import BACKENDS, assert_type_error, make_tokens, open_store, store_url_for

import polyauth
from conftest import load_project
from polyauth import (
    Accounts,
    Mfa,
    OneTimeTokens,
    PasswordHasher,
    PasswordPolicy,
    Sessions,
    SignIn,
    SignInMfaRequired,
    SignInOk,
    Store,
    Throttle,
    TokenPair,
    Tokens,
    Totp,
)

PASSWORD = "plum-cactus-orbit-lantern-42"
WRONG = "violet-harbour-quartz-meadow-17"
NEW_PASSWORD = "amber-glacier-violin-summit-88"
TOTP = Totp(issuer="Polyauth Test")
KEY = bytes([0x11]) * 32
HASHER = PasswordHasher()
BCRYPT = next(v for v in load_project("passwords.json")["verify"] if v["id"] == "bcrypt-2b")
ONE_MB = "x" * (1 << 20)


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return store_url_for(request.param, tmp_path)


def new_login(prefix: str = "user") -> str:
    return f"{prefix}-{secrets.token_hex(6)}@example.com"


@dataclass
class World:
    store: Store
    tokens: Tokens
    sessions: Sessions
    accounts: Accounts
    mfa: Mfa
    signin: SignIn


def build(store: Store, throttle: Throttle | None = None) -> World:
    tokens = make_tokens()
    sessions = Sessions(store, tokens)
    accounts = Accounts(store, HASHER)
    mfa = Mfa(store, TOTP, KEY)
    return World(
        store, tokens, sessions, accounts, mfa, SignIn(accounts, sessions, mfa=mfa, throttle=throttle)
    )


def ok(result: SignInOk | SignInMfaRequired) -> TokenPair:
    assert result["status"] == "ok", result
    assert set(result) == {"status", "pair"}
    return result["pair"]


def challenge(result: SignInOk | SignInMfaRequired) -> str:
    assert result["status"] == "mfa_required", result
    assert set(result) == {"status", "mfa_token"}
    token = result["mfa_token"]
    assert token.startswith("pot_")
    return token


async def enroll(m: Mfa, subject: str) -> tuple[str, list[str]]:
    """Enrolls and confirms ``subject`` two minutes ago (the current code is a later step)."""
    then = int(time.time()) - 120
    e = await m.begin_enrollment(subject, "jane@example.com", now=then)
    return e.secret, await m.confirm(subject, TOTP.code(e.secret, now=then), now=then)


def wrong_code(secret: str) -> str:
    """A well-formed code that matches no step of the window now."""
    now = int(time.time())
    window = {TOTP.code(secret, now=now + d) for d in (-30, 0, 30)}
    return next(c for c in (f"{i:06d}" for i in range(1_000_000)) if c not in window)


def amr(w: World, pair: TokenPair) -> list[str]:
    return list(w.tokens.verify(pair.access_token)["amr"])


async def invalid_credentials(pending: Awaitable[object]) -> str:
    with pytest.raises(polyauth.InvalidCredentialsError) as info:
        await pending
    return str(info.value)


# ---- the password step ----------------------------------------------------------------------------


async def test_password_signs_in_with_amr_pwd_claims_and_meta(store_url: str) -> None:
    w = build(await open_store(store_url))
    login = new_login()
    a = await w.accounts.create(login, PASSWORD, claims={"roles": ["ops"], "plan": "pro"})
    pair = ok(await w.signin.password(login.upper(), PASSWORD, meta={"ip": "203.0.113.7"}))
    claims = w.tokens.verify(pair.access_token)
    assert claims["sub"] == a.subject and claims["sid"] == pair.session_id
    assert (claims["amr"], claims["roles"], claims["plan"]) == (["pwd"], ["ops"], "pro")
    [session] = await w.sessions.list(a.subject)
    assert session["meta"] == {"ip": "203.0.113.7"} and session["session_id"] == pair.session_id
    # With a throttle context too; the refresh token works as for any session.
    pair2 = ok(await w.signin.password(login, PASSWORD, throttle_context="198.51.100.1"))
    assert (await w.sessions.refresh(pair2.refresh_token)).session_id == pair2.session_id
    assert w.signin.accounts is w.accounts
    shown = repr(w.signin) + repr(pair) + repr(a)
    for secret in [PASSWORD, pair.access_token, pair.refresh_token, "$argon2"]:
        assert secret not in shown


async def test_every_failure_is_the_same_invalid_credentials(store_url: str) -> None:
    w = build(await open_store(store_url))
    login, disabled = new_login(), new_login()
    await w.accounts.create(login, PASSWORD)
    d = await w.accounts.create(disabled, PASSWORD)
    await w.accounts.disable(d.subject)
    messages = {
        await invalid_credentials(w.signin.password(new_login("nobody"), PASSWORD)),
        await invalid_credentials(w.signin.password(login, WRONG)),
        await invalid_credentials(w.signin.password(login, "")),
        await invalid_credentials(w.signin.password(disabled, PASSWORD)),
        # Logins that cannot be normalised cannot name an account.
        await invalid_credentials(w.signin.password("   ", PASSWORD)),
        await invalid_credentials(w.signin.password("a\0b", PASSWORD)),
        await invalid_credentials(w.signin.password(ONE_MB, PASSWORD)),
    }
    assert len(messages) == 1, messages
    (message,) = messages
    assert login not in message and PASSWORD not in message
    ok(await w.signin.password(login, PASSWORD))


async def test_a_burst_of_wrong_sign_ins_leaves_the_configured_lock(store_url: str) -> None:
    store = await open_store(store_url)
    throttle = Throttle(store, free_attempts=2, max_failures=3, reset_after=3600)
    w = build(store, throttle)
    login = new_login("burst")
    await w.accounts.create(login, PASSWORD)
    before = int(time.time())
    results: list[Any] = await asyncio.gather(
        *(w.signin.password(login, WRONG) for _ in range(50)), return_exceptions=True
    )
    wins, errors = split(results)
    assert not wins
    invalid = [e for e in errors if isinstance(e, polyauth.InvalidCredentialsError)]
    limited = [e for e in errors if isinstance(e, polyauth.RateLimitedError)]
    assert (len(invalid), len(limited)) == (3, 47), errors
    key = "signin:" + Accounts.normalize_login(login)
    with pytest.raises(polyauth.RateLimitedError) as info:
        await throttle.check(key)
    assert 3600 - (int(time.time()) - before) - 1 <= info.value.retry_after <= 3600
    # Even the right password is refused while the lock lasts.
    with pytest.raises(polyauth.RateLimitedError):
        await w.signin.password(login, PASSWORD)
    # Three failures were counted (``fail`` always counts: this one is the fourth).
    failures, locked_until = await throttle.fail(key)
    assert failures == 4 and locked_until >= before + 3600


# ---- the second factor ----------------------------------------------------------------------------


async def test_second_factor_with_a_code_and_single_use_tokens(store_url: str) -> None:
    w = build(await open_store(store_url))
    login = new_login()
    a = await w.accounts.create(login, PASSWORD, claims={"roles": ["ops"]})
    secret, _ = await enroll(w.mfa, a.subject)
    token = challenge(await w.signin.password(login, PASSWORD))
    # Neither or both of code and recovery code: refused before the token is spent.
    neither_or_both: list[dict[str, Any]] = [{}, {"code": "123456", "recovery_code": "abcd"}]
    for kwargs in neither_or_both:
        with pytest.raises(polyauth.InvalidInputError):
            await w.signin.second_factor(token, **kwargs)
    # A wrong code: TotpInvalidError with a fresh token for the same step.
    with pytest.raises(polyauth.TotpInvalidError) as info:
        await w.signin.second_factor(token, code=wrong_code(secret))
    e = info.value
    assert e.tries_left == 4 and e.mfa_token is not None and e.mfa_token.startswith("pot_")
    assert e.mfa_token != token
    for shown in [str(e), repr(e), str(e.args)]:
        assert e.mfa_token not in shown and token not in shown
    # The first token is spent.
    with pytest.raises(polyauth.InvalidTokenError) as spent:
        await w.signin.second_factor(token, code=TOTP.code(secret))
    pair = await w.signin.second_factor(e.mfa_token, code=TOTP.code(secret), meta={"device": "phone"})
    assert isinstance(pair, TokenPair)
    claims = w.tokens.verify(pair.access_token)
    assert (claims["amr"], claims["roles"], claims["sub"]) == (["pwd", "otp"], ["ops"], a.subject)
    assert [s["meta"] for s in await w.sessions.list(a.subject)] == [{"device": "phone"}]
    # A used token, garbage and tokens of other purposes are all the same invalid_token.
    other = await OneTimeTokens(w.store).issue(a.subject, "password_reset", 300)
    for t in [e.mfa_token, other, "pot_nope", "", "x", ONE_MB]:
        with pytest.raises(polyauth.InvalidTokenError) as same:
            await w.signin.second_factor(t, code=TOTP.code(secret))
        assert str(same.value) == str(spent.value)
    # A replayed code: TotpReplayedError with a fresh token.
    token = challenge(await w.signin.password(login, PASSWORD))
    with pytest.raises(polyauth.TotpReplayedError) as replayed:
        await w.signin.second_factor(token, code=TOTP.code(secret))
    fresh = replayed.value.mfa_token
    assert replayed.value.tries_left == 4 and fresh is not None and fresh not in repr(replayed.value)
    # Without an Mfa the flow refuses an enrolled account instead of skipping the factor.
    bare = SignIn(w.accounts, w.sessions)
    with pytest.raises(polyauth.InvalidConfigError):
        await bare.password(login, PASSWORD)
    with pytest.raises(polyauth.InvalidConfigError):
        await bare.second_factor(token, code="123456")


async def test_five_wrong_codes_end_the_step(store_url: str) -> None:
    w = build(await open_store(store_url))
    login = new_login()
    a = await w.accounts.create(login, PASSWORD)
    secret, _ = await enroll(w.mfa, a.subject)
    first = challenge(await w.signin.password(login, PASSWORD))
    token = first
    for i in range(1, 5):
        with pytest.raises(polyauth.TotpInvalidError) as info:
            await w.signin.second_factor(token, code=wrong_code(secret))
        assert info.value.tries_left == 5 - i, i
        assert info.value.mfa_token not in (None, token)
        token = str(info.value.mfa_token)
    with pytest.raises(polyauth.TotpInvalidError) as last:
        await w.signin.second_factor(token, code=wrong_code(secret))
    assert (last.value.mfa_token, last.value.tries_left) == (None, None)
    for spent in [first, token]:
        with pytest.raises(polyauth.InvalidTokenError):
            await w.signin.second_factor(spent, code=TOTP.code(secret))
    # Disabled between the two steps: the second one fails like a wrong password.
    await Throttle(w.store).reset(Mfa.throttle_key(a.subject))
    token = challenge(await w.signin.password(login, PASSWORD))
    await w.accounts.disable(a.subject)
    await invalid_credentials(w.signin.second_factor(token, code=TOTP.code(secret)))


async def test_recovery_codes_sign_in_with_amr_recovery(store_url: str) -> None:
    w = build(await open_store(store_url))
    login = new_login()
    a = await w.accounts.create(login, PASSWORD)
    _, recovery = await enroll(w.mfa, a.subject)
    token = challenge(await w.signin.password(login, PASSWORD))
    assert amr(w, await w.signin.second_factor(token, recovery_code=recovery[0])) == ["pwd", "recovery"]
    # A malformed recovery code is a wrong try, not the end of the step.
    token = challenge(await w.signin.password(login, PASSWORD))
    with pytest.raises(polyauth.TotpInvalidError) as info:
        await w.signin.second_factor(token, recovery_code="z" * 100)
    pair = await w.signin.second_factor(str(info.value.mfa_token), recovery_code=recovery[2])
    assert amr(w, pair) == ["pwd", "recovery"]
    # A used recovery code is TotpReplayedError with a fresh token.
    token = challenge(await w.signin.password(login, PASSWORD))
    with pytest.raises(polyauth.TotpReplayedError) as replayed:
        await w.signin.second_factor(token, recovery_code=recovery[0])
    pair = await w.signin.second_factor(str(replayed.value.mfa_token), recovery_code=recovery[1])
    assert amr(w, pair) == ["pwd", "recovery"]
    assert (await w.mfa.status(a.subject))["recovery_codes_remaining"] == 7


# ---- password reset and email verification ------------------------------------------------------


async def test_password_reset_keeps_the_link_on_a_refused_password_and_revokes_sessions(
    store_url: str,
) -> None:
    w = build(await open_store(store_url))
    one_time = OneTimeTokens(w.store)
    login = new_login("reset")
    a = await w.accounts.create(login, PASSWORD)
    first = ok(await w.signin.password(login, PASSWORD))
    assert await w.signin.request_password_reset(new_login("nobody")) is None
    token = await w.signin.request_password_reset(f"  {login.upper()} ", ttl=600)
    assert token is not None and token.startswith("pot_")
    # peek reports without spending, as often as asked.
    for _ in range(2):
        assert await one_time.peek(token, "password_reset") == (a.subject, {"login": login})
    with pytest.raises(polyauth.InvalidTypeError):
        await one_time.peek(token, "email_verification")
    # A refused password keeps the link.
    with pytest.raises(polyauth.PasswordPolicyError) as refused:
        await w.signin.reset_password(token, "short")
    assert refused.value.reasons == ["too_short"]
    assert await one_time.peek(token, "password_reset") == (a.subject, {"login": login})
    assert await w.sessions.is_active(first.session_id)
    assert await w.signin.reset_password(token, NEW_PASSWORD) == a.subject
    assert not await w.sessions.is_active(first.session_id)
    with pytest.raises(polyauth.TokenUsedError):
        await w.signin.reset_password(token, NEW_PASSWORD)
    with pytest.raises(polyauth.TokenUsedError):
        await one_time.peek(token, "password_reset")
    await invalid_credentials(w.signin.password(login, PASSWORD))
    ok(await w.signin.password(login, NEW_PASSWORD))
    # A disabled account gets no link.
    await w.accounts.disable(a.subject)
    assert await w.signin.request_password_reset(login) is None
    for bad in ["pot_nope", "", ONE_MB]:
        with pytest.raises(polyauth.InvalidTokenError):
            await w.signin.reset_password(bad, NEW_PASSWORD)


async def test_email_verification(store_url: str) -> None:
    w = build(await open_store(store_url))
    a = await w.accounts.create(new_login("verify"), PASSWORD)
    token = await w.signin.request_email_verification(a.subject)
    assert token.startswith("pot_")
    assert await OneTimeTokens(w.store).peek(token, "email_verification") == (a.subject, {"login": a.login})
    assert not (await w.accounts.get(a.subject) or a).verified
    verified = await w.signin.verify_email(token)
    assert verified.verified and verified.subject == a.subject
    assert verified == await w.accounts.get(a.subject)
    with pytest.raises(polyauth.TokenUsedError):
        await w.signin.verify_email(token)
    with pytest.raises(polyauth.InvalidInputError, match="unknown account"):
        await w.signin.request_email_verification("no-such-subject")
    reset = await w.signin.request_password_reset(a.login)
    assert reset is not None
    with pytest.raises(polyauth.InvalidTypeError):
        await w.signin.verify_email(reset)


# ---- an application's own account source --------------------------------------------------------


@dataclass
class User:
    subject: str
    password_hash: str | None
    disabled: bool = False
    claims: dict[str, Any] = field(default_factory=dict)


class SyncSource:
    """Plain methods over a dict of ``User`` objects (attributes)."""

    def __init__(self) -> None:
        self.users: dict[str, User] = {}
        self.found: list[str] = []
        self.stored: list[tuple[str, str]] = []
        self.threads: set[int] = set()

    def add(self, login: str, user: User) -> None:
        self.users[login] = user

    def find(self, login: str) -> User | None:
        self.threads.add(threading.get_ident())
        self.found.append(login)
        return self.users.get(login)

    def set_password_hash(self, subject: str, password_hash: str) -> None:
        self.threads.add(threading.get_ident())
        self.stored.append((subject, password_hash))
        for user in self.users.values():
            if user.subject == subject:
                user.password_hash = password_hash


class AsyncSource:
    """``async def`` methods over a dict of Mappings (keys); they must run on the caller's loop."""

    def __init__(self) -> None:
        self.users: dict[str, dict[str, Any]] = {}
        self.found: list[str] = []
        self.stored: list[tuple[str, str]] = []
        self.loops: set[int] = set()

    def add(self, login: str, user: User) -> None:
        self.users[login] = {
            "subject": user.subject,
            "password_hash": user.password_hash,
            "disabled": user.disabled,
            "claims": user.claims,
        }

    async def find(self, login: str) -> Mapping[str, Any] | None:
        self.loops.add(id(asyncio.get_running_loop()))
        await asyncio.sleep(0)
        self.found.append(login)
        return self.users.get(login)

    async def set_password_hash(self, subject: str, password_hash: str) -> None:
        self.loops.add(id(asyncio.get_running_loop()))
        self.stored.append((subject, password_hash))
        for user in self.users.values():
            if user["subject"] == subject:
                user["password_hash"] = password_hash


Source = Union[SyncSource, AsyncSource]


def make_source(kind: str) -> Source:
    return SyncSource() if kind == "sync" else AsyncSource()


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_an_application_source_signs_in_upgrades_and_resets(kind: str, store_url: str) -> None:
    store = await open_store(store_url)
    tokens = make_tokens()
    sessions = Sessions(store, tokens)
    mfa = Mfa(store, TOTP, KEY)
    source = make_source(kind)
    si = SignIn(source, sessions, mfa=mfa, policy=PasswordPolicy(min_length=20, min_length_mfa=14))
    assert si.accounts is None and f"source={type(source).__name__}" in repr(si)
    login, subject = new_login("app"), f"app-{secrets.token_hex(4)}"
    source.add(login, User(subject, BCRYPT["hash"], claims={"tenant": "t1"}))
    # find gets the normalised login; the legacy hash is upgraded through set_password_hash, once.
    pair = ok(await si.password(f" {login.upper()} ", BCRYPT["password"]))
    claims = tokens.verify(pair.access_token)
    assert (claims["sub"], claims["amr"], claims["tenant"]) == (subject, ["pwd"], "t1")
    assert source.found == [login]
    [(stored_subject, new_hash)] = source.stored
    assert stored_subject == subject and new_hash.startswith("$argon2id$")
    assert HASHER.verify(new_hash, BCRYPT["password"])
    ok(await si.password(login, BCRYPT["password"]))
    assert len(source.stored) == 1
    # Failures are the same invalid_credentials as for built-in accounts.
    disabled = new_login("off")
    source.add(disabled, User("off-1", new_hash, disabled=True))
    source.add(no_password := new_login("nopw"), User("nopw-1", None))
    messages = {
        await invalid_credentials(si.password(login, WRONG)),
        await invalid_credentials(si.password(new_login("nobody"), BCRYPT["password"])),
        await invalid_credentials(si.password(disabled, BCRYPT["password"])),
        await invalid_credentials(si.password(no_password, BCRYPT["password"])),
    }
    assert len(messages) == 1
    # MFA through the source: the second step finds the account again by login.
    secret, _ = await enroll(mfa, subject)
    token = challenge(await si.password(login, BCRYPT["password"]))
    found = len(source.found)
    pair = await si.second_factor(token, code=TOTP.code(secret))
    assert tokens.verify(pair.access_token)["amr"] == ["pwd", "otp"]
    assert source.found[found:] == [login]
    # Reset through the source: the policy given to SignIn applies (its lower minimum with MFA, 14,
    # is above the default 8 and below the hasher's default 15), sessions are revoked.
    reset = await si.request_password_reset(login)
    assert reset is not None and await si.request_password_reset(new_login("nobody")) is None
    with pytest.raises(polyauth.PasswordPolicyError):
        await si.reset_password(reset, "thirteen-char")
    assert await si.reset_password(reset, "fourteen-chars") == subject
    assert source.stored[-1][0] == subject and HASHER.verify(source.stored[-1][1], "fourteen-chars")
    assert not await sessions.is_active(pair.session_id)
    # Email verification needs the built-in accounts.
    with pytest.raises(polyauth.InvalidConfigError):
        await si.request_email_verification(subject)
    with pytest.raises(polyauth.InvalidConfigError):
        await si.verify_email("pot_nope")
    # Where the methods ran: plain ones off the event loop's thread, async ones on the caller's loop.
    if isinstance(source, SyncSource):
        assert source.threads and threading.get_ident() not in source.threads
    else:
        assert source.loops == {id(asyncio.get_running_loop())}


async def test_a_source_returning_other_awaitables() -> None:
    store = await Store.open("memory://")
    loop = asyncio.get_running_loop()
    hashed = HASHER.hash(PASSWORD)

    class FutureSource:
        """Returns asyncio Futures (awaitable, not coroutines) resolved on the loop."""

        def find(self, login: str) -> asyncio.Future[dict[str, Any]]:
            f: asyncio.Future[dict[str, Any]] = loop.create_future()
            loop.call_soon_threadsafe(f.set_result, {"subject": "fut-1", "password_hash": hashed})
            return f

        def set_password_hash(self, subject: str, password_hash: str) -> None:
            raise AssertionError("no upgrade expected")

    si = SignIn(FutureSource(), Sessions(store, make_tokens()))
    ok(await si.password("anyone", PASSWORD))


class Failing:
    """A source whose methods raise (their message holds a secret that must not leak)."""

    def __init__(self, is_async: bool, where: str) -> None:
        self.is_async, self.where = is_async, where
        self.hashed = HASHER.hash(PASSWORD)

    def _act(self, method: str) -> dict[str, Any]:
        if method == self.where:
            raise ConnectionError("db password hunter2 refused")
        return {"subject": "fail-1", "password_hash": BCRYPT["hash"]}

    def find(self, login: str) -> Any:
        if self.is_async:

            async def later() -> dict[str, Any]:
                return self._act("find")

            return later()
        return self._act("find")

    def set_password_hash(self, subject: str, password_hash: str) -> Any:
        if self.is_async:

            async def later() -> None:
                self._act("set_password_hash")

            return later()
        self._act("set_password_hash")
        return None


@pytest.mark.parametrize("is_async", [False, True])
@pytest.mark.parametrize("where", ["find", "set_password_hash"])
async def test_a_raising_source_is_store_unavailable(is_async: bool, where: str) -> None:
    store = await Store.open("memory://")
    si = SignIn(Failing(is_async, where), Sessions(store, make_tokens()))
    with pytest.raises(polyauth.StoreUnavailableError) as info:
        await si.password("someone", BCRYPT["password"])
    e = info.value
    assert f"account source {where} failed: ConnectionError" in str(e)
    assert "hunter2" not in str(e) and "hunter2" not in repr(e)
    assert isinstance(e.__cause__, ConnectionError) and "hunter2" in str(e.__cause__)
    if where == "find":
        with pytest.raises(polyauth.StoreUnavailableError):
            await si.request_password_reset("someone")


BAD_SHAPES: list[tuple[Any, str]] = [
    (42, "subject"),
    ("not-an-account", "subject"),
    ({"password_hash": None}, "subject"),
    ({"subject": 5, "password_hash": None}, "subject"),
    ({"subject": "s\ud800", "password_hash": None}, "subject"),
    ({"subject": "s", "password_hash": 5}, "password_hash"),
    ({"subject": "s", "password_hash": b"$2b$"}, "password_hash"),
    ({"subject": "s", "password_hash": None, "disabled": "no"}, "disabled"),
    ({"subject": "s", "password_hash": None, "disabled": 0}, "disabled"),
    ({"subject": "s", "password_hash": None, "claims": ["a"]}, "claims"),
    ({"subject": "s", "password_hash": None, "claims": {"x": object()}}, "claims"),
    (User("s", 5), "password_hash"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize("is_async", [False, True])
async def test_a_source_returning_the_wrong_shape_is_invalid_config(is_async: bool) -> None:
    store = await Store.open("memory://")

    class Shaped:
        value: Any = None

        def find(self, login: str) -> Any:
            if not is_async:
                return self.value

            async def later() -> Any:
                return self.value

            return later()

        def set_password_hash(self, subject: str, password_hash: str) -> None:
            pass

    source = Shaped()
    si = SignIn(source, Sessions(store, make_tokens()))
    # A new login each time: every attempt counts against the login's throttle.
    for value, name in BAD_SHAPES:
        source.value = value
        with pytest.raises(polyauth.InvalidConfigError) as info:
            await si.password(new_login(), PASSWORD)
        assert "account source find" in str(info.value) and name in str(info.value), (value, str(info.value))
    # The core's own checks of what a source returns: reserved claims, an empty subject.
    for value in [{"subject": "s", "password_hash": None, "claims": {"sub": "x"}}, {"subject": ""}]:
        source.value = value
        with pytest.raises(polyauth.InvalidInputError):
            await si.password(new_login(), PASSWORD)
    source.value = None
    await invalid_credentials(si.password(new_login(), PASSWORD))


async def test_constructor_checks() -> None:
    store = await Store.open("memory://")
    sessions = Sessions(store, make_tokens())
    accounts = Accounts(store, HASHER)
    own: list[dict[str, Any]] = [{"hasher": HASHER}, {"policy": PasswordPolicy()}]
    for kwargs in own:
        with pytest.raises(polyauth.InvalidConfigError):
            SignIn(accounts, sessions, **kwargs)

    class OnlyFind:
        def find(self, login: str) -> None:
            return None

    class NotCallable:
        find = None
        set_password_hash = None

    o: Any = SignIn
    for bad in ["accounts", None, 5, OnlyFind(), NotCallable(), store]:
        await assert_type_error(partial(o, bad, sessions))
    for call in [
        lambda: o(accounts, "sessions"),
        lambda: o(accounts, sessions, mfa="mfa"),
        lambda: o(accounts, sessions, throttle=5),
        lambda: o(accounts, sessions, one_time=store),
        lambda: o(SyncSource(), sessions, hasher="argon2"),
        lambda: o(SyncSource(), sessions, policy=HASHER),
        lambda: o(accounts, sessions, Mfa(store, TOTP, KEY)),
    ]:
        await assert_type_error(call)
    # A source with its own hasher verifies with it.
    source = SyncSource()
    custom = PasswordHasher(time_cost=3, memory_kib=12288)
    source.add("cost", User("cost-1", custom.hash(PASSWORD)))
    ok(await SignIn(source, sessions, hasher=custom).password("cost", PASSWORD))
    assert source.stored == []
    ok(await SignIn(source, sessions).password("cost", PASSWORD))
    assert [s for s, _ in source.stored] == ["cost-1"]


# ---- bad input --------------------------------------------------------------------------------------


async def test_bad_input_is_typed() -> None:
    w = build(await Store.open("memory://"))
    login = new_login()
    a = await w.accounts.create(login, PASSWORD)
    si: Any = w.signin  # some calls below are deliberately ill-typed
    invalid_input: list[Callable[[], Awaitable[object]]] = [
        lambda: si.password("\ud800", PASSWORD),
        lambda: si.password(login, "\ud800"),
        lambda: si.password(login, ONE_MB),
        lambda: si.password(login, PASSWORD, throttle_context=""),
        lambda: si.password(login, PASSWORD, throttle_context="a\0b"),
        lambda: si.password(login, PASSWORD, throttle_context="\udc00"),
        lambda: si.password(login, PASSWORD, throttle_context=ONE_MB),
        lambda: si.second_factor("pot_x\ud800", code="123456"),
        lambda: si.second_factor("pot_x", code="12345\ud800"),
        lambda: si.second_factor("pot_x", recovery_code="\ud800"),
        lambda: si.second_factor("pot_x", code="123456", now=-1),
        lambda: si.second_factor("pot_x", code="123456", now=True),
        lambda: si.second_factor("pot_x", code="123456", now="1"),
        lambda: si.request_password_reset(""),
        lambda: si.request_password_reset("a\0b"),
        lambda: si.request_password_reset(ONE_MB),
        lambda: si.request_password_reset("\ud800"),
        lambda: si.request_password_reset(login, ttl=0),
        lambda: si.request_password_reset(login, ttl=-1),
        lambda: si.request_password_reset(login, ttl=31 * 86400),
        lambda: si.request_password_reset(login, ttl=True),
        lambda: si.request_password_reset(login, ttl=1.5),
        lambda: si.reset_password("pot_x\ud800", NEW_PASSWORD),
        lambda: si.reset_password("pot_x", "\ud800"),
        lambda: si.reset_password("pot_x", ONE_MB),
        lambda: si.request_email_verification(""),
        lambda: si.request_email_verification("\ud800"),
        lambda: si.request_email_verification(ONE_MB),
        lambda: si.request_email_verification(a.subject, ttl=0),
        lambda: si.request_email_verification(a.subject, ttl="60"),
        lambda: si.verify_email("pot_\ud800"),
        lambda: w.accounts.create(login, PASSWORD, claims={"sid": "x"}),
    ]
    for call in invalid_input:
        with pytest.raises(polyauth.InvalidInputError) as info:
            await call()
        assert PASSWORD not in str(info.value) and "victim" not in str(info.value)
    for token in ["", "x", "pot_nope", ONE_MB, "pot_" + "\0" * 43]:
        with pytest.raises(polyauth.InvalidTokenError):
            await si.verify_email(token)
    o: Any = si  # deliberately ill-typed calls

    def with_bad(bad: Any) -> list[Callable[[], Any]]:
        calls: list[Callable[[], Any]] = [
            lambda: o.password(bad, PASSWORD),
            lambda: o.password(login, bad),
            lambda: o.second_factor(bad, code="123456"),
            lambda: o.request_password_reset(bad),
            lambda: o.reset_password(bad, NEW_PASSWORD),
            lambda: o.reset_password("pot_x", bad),
            lambda: o.request_email_verification(bad),
            lambda: o.verify_email(bad),
        ]
        if bad is not None:
            calls += [
                lambda: o.password(login, PASSWORD, meta=bad),
                lambda: o.password(login, PASSWORD, throttle_context=bad),
                lambda: o.second_factor("pot_x", code=bad),
                lambda: o.second_factor("pot_x", recovery_code=bad),
                lambda: o.second_factor("pot_x", code="123456", meta=bad),
            ]
        return calls

    calls = [call for bad in [None, 123, b"bytes", ["x"]] for call in with_bad(bad)]
    calls += [
        lambda: o.password(login, PASSWORD, {"meta": 1}),
        lambda: o.second_factor("pot_x", "123456"),
        lambda: o.request_password_reset(login, 60),
    ]
    for call in calls:
        await assert_type_error(call)
    # Nothing above touched the account.
    ok(await si.password(login, PASSWORD))


# ---- the argument checks of vectors/argument-checks.json, for the new classes ---------------------


_EXIT_SCRIPT = """
import asyncio, random, sys, threading
from polyauth import KeySet, PasswordHasher, Sessions, SignIn, Store, Tokens

PASSWORD = "plum-cactus-orbit-lantern-42"
HASHED = PasswordHasher().hash(PASSWORD)

class AsyncSource:
    async def find(self, login):
        await asyncio.sleep(0.02)
        return {"subject": "s-1", "password_hash": HASHED}
    def set_password_hash(self, subject, password_hash):
        pass

class SyncSource(AsyncSource):
    def find(self, login):
        threading.Event().wait(0.02)
        return {"subject": "s-1", "password_hash": HASHED}

async def pending(si, i):
    await si.password(f"user-{i}", PASSWORD)

async def main():
    store = await Store.open("memory://")
    sessions = Sessions(store, Tokens(KeySet.generate(), issuer="i", audience="a"))
    for source in (AsyncSource(), SyncSource()):
        si = SignIn(source, sessions)
        assert (await si.password("someone", PASSWORD))["status"] == "ok"
        # Calls still in flight when the loop ends: asyncio.run cancels them.
        for i in range(5):
            asyncio.ensure_future(pending(si, i))
    await asyncio.sleep(random.random() / 50)

asyncio.run(main())
print("done")
"""


def test_calls_in_flight_at_exit_end_cleanly() -> None:
    # Source calls take the GIL from polyauth's threads: a script that ends while some are in flight
    # must exit normally (no abort or segfault at finalization, no unawaited-coroutine warnings).
    for _ in range(3):
        done = subprocess.run(
            [sys.executable, "-c", _EXIT_SCRIPT], capture_output=True, text=True, timeout=60, check=False
        )
        assert (done.returncode, done.stdout.strip()) == (0, "done"), done.stderr
        assert "never awaited" not in done.stderr and "Fatal" not in done.stderr, done.stderr
