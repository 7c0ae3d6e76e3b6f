"""Built-in accounts (``polyauth.Accounts``) over every store backend: creation, look-up by subject
and by normalised login, unique logins under concurrency, imports of hashes from other systems
(upgraded to argon2id on the first sign-in), the password policy, and the changes (set_password,
mark_verified, disable, update_claims). Mirrors core/tests/accounts.rs.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from test_mfa import split, sqlite_rows
from test_sessions import BACKENDS, assert_type_error, make_tokens, open_store, store_url_for

import polyauth
from conftest import load_project
from polyauth import Account, Accounts, PasswordHasher, PasswordPolicy, Sessions, SignIn, Store

PASSWORD = "plum-cactus-orbit-lantern-42"
OTHER = "violet-harbour-quartz-meadow-17"
HASHER = PasswordHasher()
VECTORS = {v["id"]: v for v in load_project("passwords.json")["verify"]}
# One import of each legacy family (the cheaper cost settings where a family has several).
LEGACY = [
    "bcrypt-2b",
    "bcrypt-2y",
    "django-pbkdf2-sha256-10000",
    "werkzeug-pbkdf2-sha256-10000",
    "werkzeug-scrypt-16384-8-1",
    "better-auth-scrypt-ascii",
    "argon2i-cffi-low-level",
]
ONE_MB = "x" * (1 << 20)


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return store_url_for(request.param, tmp_path)


def new_login(prefix: str = "user") -> str:
    return f"{prefix}-{secrets.token_hex(6)}@example.com"


async def world(store: Store) -> tuple[Accounts, SignIn]:
    accounts = Accounts(store, HASHER)
    return accounts, SignIn(accounts, Sessions(store, make_tokens()))


async def signs_in(si: SignIn, login: str, password: str) -> bool:
    """Whether ``password`` signs in to ``login`` (False: InvalidCredentialsError)."""
    try:
        result = await si.password(login, password)
    except polyauth.InvalidCredentialsError:
        return False
    assert result["status"] == "ok"
    return True


# ---- create, get, find ----------------------------------------------------------------------------


async def test_create_get_and_find_by_any_spelling(store_url: str) -> None:
    accounts, _ = await world(await open_store(store_url))
    local = f"jane.doe-{secrets.token_hex(4)}"
    before = int(time.time())
    a = await accounts.create(f"  {local.upper()}@Example.COM \t", PASSWORD, claims={"roles": ["ops"]})
    assert isinstance(a, Account)
    assert a.login == f"{local}@example.com"
    assert len(a.subject) == 22 and all(c.isalnum() or c in "-_" for c in a.subject)
    assert (a.verified, a.disabled, a.claims) == (False, False, {"roles": ["ops"]})
    assert before <= a.created_at <= int(time.time())
    # Claims come back as a new dict: changing it changes nothing.
    a.claims["roles"] = "root"
    assert a.claims == {"roles": ["ops"]}
    assert await accounts.get(a.subject) == a
    full_width = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in f"{local}@example.com")
    for spelling in [a.login, a.login.upper(), f"\u3000{full_width}\n", f" {local.title()}@EXAMPLE.com"]:
        assert await accounts.find(spelling) == a, spelling
    assert await accounts.get("no-such-subject") is None
    assert await accounts.find(new_login()) is None
    # A second registration of the same login, spelt differently, is refused.
    for call in [
        accounts.create(a.login.upper(), OTHER),
        accounts.create(full_width, password_hash=VECTORS["bcrypt-2b"]["hash"]),
    ]:
        with pytest.raises(polyauth.AccountExistsError):
            await call
    assert await accounts.find(a.login) == a


async def test_account_values_equality_and_repr() -> None:
    store = await Store.open("memory://")
    accounts, _ = await world(store)
    a = await accounts.create(new_login(), PASSWORD)
    b = await accounts.create(new_login(), password_hash=VECTORS["bcrypt-2b"]["hash"])
    other: object = "not an account"
    assert a == await accounts.get(a.subject) and a != b and a != other
    verified = await accounts.mark_verified(a.subject)
    assert verified != a and verified.verified
    for account in [a, b, verified]:
        shown = repr(account) + str(account)
        assert account.subject in shown and account.login in shown
        assert "$argon2" not in shown and "$2b$" not in shown and "hash" not in shown, shown
        assert not hasattr(account, "password_hash")
    assert repr(accounts) == 'Accounts(backend="memory")'
    with pytest.raises(AttributeError):
        a.login = "other"  # type: ignore[misc]


def test_normalize_login() -> None:
    n = Accounts.normalize_login
    assert n("  Alice@Example.COM \t\n") == "alice@example.com"
    assert n("\u3000\uff21\uff2c\uff29\uff23\uff25") == "alice"
    assert n("Stra\u00dfe") == "stra\u00dfe" != n("STRASSE")
    assert n("Jose\u0301") == n("JOS\u00c9")
    for bad in ["", "   ", "a\0b", "ad\u200bmin", "admin\u202e", "a" * 321, ONE_MB]:
        with pytest.raises(polyauth.InvalidInputError) as info:
            n(bad)
        assert "admin" not in str(info.value)
    assert n("\uff41" * 320) == "a" * 320


async def test_twenty_concurrent_creates_make_one_account(store_url: str) -> None:
    accounts, _ = await world(await open_store(store_url))
    login = new_login("race")
    spellings = [login, login.upper(), f" {login} "]
    results = await asyncio.gather(
        *(accounts.create(spellings[i % 3], PASSWORD) for i in range(20)), return_exceptions=True
    )
    wins, errors = split(results)
    assert len(wins) == 1, results
    assert len(errors) == 19 and all(isinstance(e, polyauth.AccountExistsError) for e in errors), errors
    assert await accounts.find(login) == wins[0]


# ---- imports of legacy hashes ---------------------------------------------------------------------


async def test_imported_hashes_sign_in(store_url: str) -> None:
    accounts, si = await world(await open_store(store_url))
    for vid in ["bcrypt-2b", "django-pbkdf2-sha256-10000"]:
        v = VECTORS[vid]
        a = await accounts.create(new_login(), password_hash=v["hash"], claims={"imported": True})
        assert await signs_in(si, a.login, v["password"]), vid
        assert not await signs_in(si, a.login, v["wrong"][0]), vid
        assert await signs_in(si, a.login, v["password"]), vid
        assert (await accounts.get(a.subject)) == a


async def test_imported_hashes_are_upgraded_to_argon2id_once(tmp_path: Path) -> None:
    path = tmp_path / "accounts.db"
    accounts, si = await world(await Store.open(f"sqlite://{path}"))

    def stored(subject: str) -> str:
        [(value,)] = sqlite_rows(
            path, "SELECT password_hash FROM polyauth_accounts WHERE subject = ?", subject
        )
        assert isinstance(value, str)
        return value

    for vid in LEGACY:
        v = VECTORS[vid]
        a = await accounts.create(new_login(), password_hash=v["hash"])
        assert stored(a.subject) == v["hash"], vid
        # A wrong password changes nothing.
        assert not await signs_in(si, a.login, v["wrong"][0]), vid
        assert stored(a.subject) == v["hash"], vid
        assert await signs_in(si, a.login, v["password"]), vid
        upgraded = stored(a.subject)
        assert upgraded.startswith("$argon2id$v=19$m=19456,t=2,p=1$"), (vid, upgraded)
        assert HASHER.verify(upgraded, v["password"]), vid
        assert await signs_in(si, a.login, v["password"]), vid
        assert stored(a.subject) == upgraded, f"{vid}: upgraded once"


async def test_unusable_imports_are_invalid_hash() -> None:
    accounts, _ = await world(await Store.open("memory://"))
    invalid = [c["hash"] for c in load_project("passwords.json")["invalid"] if c.get("hash") is not None]
    assert invalid
    corrupt_bcrypt = VECTORS["bcrypt-2b"]["hash"][:-3] + "!!!"
    for bad in [*invalid[:8], corrupt_bcrypt, "plaintext-password"]:
        with pytest.raises((polyauth.InvalidHashError, polyauth.InvalidInputError)):
            await accounts.create(new_login(), password_hash=bad)
    with pytest.raises(polyauth.InvalidHashError):
        await accounts.create(new_login(), password_hash=corrupt_bcrypt)


# ---- password policy ------------------------------------------------------------------------------


async def test_policy_errors_carry_the_reasons(store_url: str) -> None:
    store = await open_store(store_url)
    accounts, si = await world(store)
    login = new_login("policy")
    cases = {
        "short-one": ["too_short"],
        "PassWord": ["too_short", "common_password"],
        f"{login.split('@')[0]}-and-more-words": ["contains_context_word"],
        secrets.token_hex(65)[:129]: ["too_long"],
    }
    for password, reasons in cases.items():
        with pytest.raises(polyauth.PasswordPolicyError) as info:
            await accounts.create(login, password)
        assert info.value.reasons == reasons, password
        assert password not in str(info.value) and password not in repr(info.value)
    assert await accounts.find(login) is None
    # The Accounts' own policy replaces the hasher's.
    relaxed = Accounts(store, HASHER, PasswordPolicy(min_length=8))
    a = await relaxed.create(login, "tulip-42x")
    with pytest.raises(polyauth.PasswordPolicyError) as info:
        await accounts.set_password(a.subject, "tulip-42x")
    assert info.value.reasons == ["too_short"]
    assert await signs_in(si, login, "tulip-42x")


# ---- changes --------------------------------------------------------------------------------------


async def test_set_password_verify_disable_and_claims(store_url: str) -> None:
    store = await open_store(store_url)
    accounts, si = await world(store)
    a = await accounts.create(new_login(), PASSWORD, claims={"plan": "free"})
    changed = await accounts.set_password(a.subject, OTHER)
    assert changed == a
    assert not await signs_in(si, a.login, PASSWORD)
    assert await signs_in(si, a.login, OTHER)
    v = await accounts.mark_verified(a.subject)
    assert v.verified and not v.disabled and v.subject == a.subject
    assert await accounts.mark_verified(a.subject) == v
    c = await accounts.update_claims(a.subject, {"plan": "pro", "roles": ["ops"]})
    assert c.claims == {"plan": "pro", "roles": ["ops"]} and c.verified
    assert (await accounts.get(a.subject)) == c
    for reserved in ["sub", "iss", "aud", "exp", "iat", "jti", "sid"]:
        with pytest.raises(polyauth.InvalidInputError):
            await accounts.update_claims(a.subject, {reserved: "x"})
        with pytest.raises(polyauth.InvalidInputError):
            await accounts.create(new_login(), PASSWORD, claims={reserved: "x"})
    with pytest.raises(polyauth.InvalidInputError):
        await accounts.update_claims(a.subject, {"big": "x" * (16 * 1024)})
    assert (await accounts.get(a.subject)) == c
    d = await accounts.disable(a.subject)
    assert d.disabled and d.verified and d.claims == c.claims
    assert not await signs_in(si, a.login, OTHER)
    # Unknown subjects: every change is invalid_input ("unknown account").
    for call in [
        accounts.set_password("no-such-subject", OTHER),
        accounts.mark_verified("no-such-subject"),
        accounts.disable("no-such-subject"),
        accounts.update_claims("no-such-subject", {"a": 1}),
    ]:
        with pytest.raises(polyauth.InvalidInputError, match="unknown account"):
            await call


# ---- bad input --------------------------------------------------------------------------------------


async def test_bad_input_is_typed() -> None:
    store = await Store.open("memory://")
    accounts, _ = await world(store)
    a = await accounts.create(new_login(), PASSWORD)
    logins = ["", "  ", "a\0b", ONE_MB, "\ud800", "victim\udc00@example.com"]
    for login in logins:
        # Raised when the call is made (a str that is not Unicode) or when it is awaited.
        with pytest.raises(polyauth.InvalidInputError):
            await accounts.create(login, PASSWORD)
        with pytest.raises(polyauth.InvalidInputError):
            await accounts.find(login)
        with pytest.raises(polyauth.InvalidInputError):
            Accounts.normalize_login(login)

    def with_subject(subject: str) -> list[Callable[[], Awaitable[object]]]:
        return [
            lambda: accounts.get(subject),
            lambda: accounts.set_password(subject, OTHER),
            lambda: accounts.mark_verified(subject),
            lambda: accounts.disable(subject),
            lambda: accounts.update_claims(subject, {}),
        ]

    for subject in ["", "a\0b", ONE_MB, "\ud800", "x" * 1025]:
        for call in with_subject(subject):
            with pytest.raises(polyauth.InvalidInputError):
                await call()
    for password in [ONE_MB, "\ud800" * 20, "x" * 4097]:
        with pytest.raises(polyauth.InvalidInputError):
            await accounts.create(new_login(), password)
        with pytest.raises(polyauth.InvalidInputError):
            await accounts.set_password(a.subject, password)
    for hash_ in ["", ONE_MB, "\ud800"]:
        with pytest.raises((polyauth.InvalidInputError, polyauth.InvalidHashError)):
            await accounts.create(new_login(), password_hash=hash_)
    # Exactly one of password and password_hash.
    for kwargs in [
        {},
        {"password": None},
        {"password": PASSWORD, "password_hash": VECTORS["bcrypt-2b"]["hash"]},
    ]:
        with pytest.raises(polyauth.InvalidInputError, match="exactly one"):
            await accounts.create(new_login(), **kwargs)
    assert await accounts.get(a.subject) == a


async def test_wrong_argument_types() -> None:
    store = await Store.open("memory://")
    accounts, _ = await world(store)
    a = await accounts.create(new_login(), PASSWORD)
    o: Any = accounts  # deliberately ill-typed calls
    a_: Any = Accounts

    def with_bad(bad: Any) -> list[Callable[[], Any]]:
        calls: list[Callable[[], Any]] = [
            lambda: o.get(bad),
            lambda: o.find(bad),
            lambda: o.create(bad, PASSWORD),
            lambda: o.set_password(bad, OTHER),
            lambda: o.mark_verified(bad),
            lambda: o.disable(bad),
            lambda: o.update_claims(bad, {}),
            lambda: o.update_claims(a.subject, bad),
            lambda: a_.normalize_login(bad),
        ]
        if bad is not None:
            calls += [
                lambda: o.create(new_login(), bad),
                lambda: o.create(new_login(), password_hash=bad),
                lambda: o.set_password(a.subject, bad),
                lambda: o.create(new_login(), PASSWORD, claims=bad),
            ]
        return calls

    calls = [call for bad in [None, 123, b"user@example.com", ["x"]] for call in with_bad(bad)]
    calls += [
        lambda: o.create(new_login(), PASSWORD, claims={"x": object()}),
        lambda: o.create(new_login(), PASSWORD, "extra"),
        lambda: a_("memory://", HASHER),
        lambda: a_(store, "argon2"),
        lambda: a_(store, HASHER, "policy"),
    ]
    for call in calls:
        await assert_type_error(call)
    assert await accounts.get(a.subject) == a
