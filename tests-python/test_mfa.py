"""The store-backed TOTP second factor (``polyauth.Mfa``) and ``Throttle.attempt``: what Python hands
back (types, reprs, bytes keys, clocks, surrogates, messages), concurrency, encryption at rest in
SQLite, durability and pyotp interop. The scenarios (enrollment, replay, recovery codes, key
rotation, throttling, bad input) are ``vectors/mfa.json``, run by ``test_scenario_vectors.py`` on
every backend.

Every case injects ``now=`` for one subject throughout (a failure recorded at an injected future time
would make a real-clock attempt look locked); codes come from ``Totp().code(secret, now=...)``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pyotp
import pytest
from test_sessions import (
    BACKENDS,
    DURABLE,
    SHARED,
    assert_type_error,
    open_store,
    store_url_for,
    with_namespace,
)

import polyauth
from polyauth import Enrollment, Mfa, Store, Throttle, Totp

OLD_KEY = bytes([0x11]) * 32
NEW_KEY = bytes([0x22]) * 32
TOTP = Totp(issuer="Polyauth Test")
ACCOUNT = "jane@example.com"
RECOVERY_CODE = re.compile(r"[0-9a-hjkmnp-tv-z]{6}(-[0-9a-hjkmnp-tv-z]{6}){3}")
FULL_WIDTH = "\uff11\uff12\uff13\uff14\uff15\uff16"  # "123456" in full-width digits
MALFORMED = ["abcdef", "123 456", "12345", "123456789", "", "12345a", " 12345", FULL_WIDTH[:5]]

E = TypeVar("E", bound=BaseException)
T = TypeVar("T")


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return store_url_for(request.param, tmp_path)


@pytest.fixture(params=DURABLE)
def durable_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return store_url_for(request.param, tmp_path)


# ---- helpers -------------------------------------------------------------------------------------


def step_start() -> int:
    """The start of the current time step plus one second: codes for ``now + 30 k`` are exact."""
    t = int(time.time())
    return t - t % 30 + 1


def new_subject() -> str:
    return f"user-{secrets.token_hex(6)}"


def code_at(secret: str, t: int) -> str:
    return TOTP.code(secret, now=t)


def wrong(code: str) -> str:
    """A well-formed code that is not ``code``."""
    return f"{(int(code) + 1) % 1_000_000:06d}"


def make_mfa(store: Store, key: Any = OLD_KEY, **kwargs: Any) -> Mfa:
    # The throttle runs on the server clock (an injected now moves only the TOTP clock): locks of
    # ten minutes keep the tests clear of second boundaries. The default schedule is 1, 2, 4... s.
    kwargs.setdefault("throttle", Throttle(store, base_delay=600, max_delay=600))
    return Mfa(store, TOTP, key, **kwargs)


async def fails(kind: type[E], pending: Awaitable[object]) -> E:
    """Awaits ``pending``, which must raise ``kind``; returns the exception."""
    with pytest.raises(kind) as info:
        await pending
    return info.value


async def enrolled(m: Mfa, subject: str, now: int) -> tuple[str, list[str]]:
    """Enrolls and confirms ``subject`` at ``now``; returns the secret and the recovery codes."""
    e = await m.begin_enrollment(subject, ACCOUNT, now=now)
    codes = await m.confirm(subject, code_at(e.secret, now), now=now)
    return e.secret, codes


async def unlock(store: Store, subject: str) -> None:
    """Clears the MFA throttle counter of ``subject`` (after a phase provoked failures on purpose)."""
    await Throttle(store).reset("mfa:" + subject)


def split(results: list[T | BaseException]) -> tuple[list[T], list[BaseException]]:
    """The successes and the exceptions of ``asyncio.gather(..., return_exceptions=True)``."""
    wins = [r for r in results if not isinstance(r, BaseException)]
    errors = [r for r in results if isinstance(r, BaseException)]
    return wins, errors


# Python's sqlite3 must not open the database file in this process while a Store has it open: two
# SQLite libraries in one process do not see each other's POSIX locks, so closing the Python
# connection looks like the last close, checkpoints and deletes the WAL under the store's feet
# (later writes vanish or fail with "disk I/O error"). A child process takes part in locking properly.
_SQLITE_CHILD = """
import base64, json, sqlite3, sys
from pathlib import Path
job = json.loads(sys.argv[1])
path = Path(job["path"])
if job["op"] == "bytes":
    parts = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-journal")]
    data = b"".join(p.read_bytes() for p in parts if p.exists())
    print(json.dumps(base64.b64encode(data).decode()))
else:
    db = sqlite3.connect(path, timeout=5)
    with db:
        cursor = db.execute(job["sql"], job["args"])
        print(json.dumps({"rows": cursor.fetchall(), "rowcount": cursor.rowcount}))
    db.close()
"""


def sqlite_child(**job: Any) -> Any:
    done = subprocess.run(
        [sys.executable, "-c", _SQLITE_CHILD, json.dumps(job, default=str)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(done.stdout)


def sqlite_rows(path: Path, sql: str, *args: object) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in sqlite_child(op="query", path=path, sql=sql, args=args)["rows"]]


def sqlite_write(path: Path, sql: str, *args: object) -> None:
    assert sqlite_child(op="query", path=path, sql=sql, args=args)["rowcount"] == 1, sql


def stored_secret(path: Path, subject: str) -> str:
    [(value,)] = sqlite_rows(path, "SELECT secret FROM polyauth_mfa_factors WHERE subject = ?", subject)
    assert isinstance(value, str)
    return value


def database_bytes(path: Path) -> bytes:
    """The SQLite file and its WAL/journal, as bytes (to search them for plaintext)."""
    return base64.b64decode(sqlite_child(op="bytes", path=path))


# ---- what Python hands back (the scenarios are vectors/mfa.json, test_scenario_vectors.py) --------


async def test_the_enrollment_and_the_error_classes() -> None:
    # The enrollment flow is vectors/mfa.json; here what Python hands back.
    m = make_mfa(await Store.open("memory://"))
    s = new_subject()
    now = step_start()
    e = await m.begin_enrollment(s, ACCOUNT, now=now)
    assert isinstance(e, Enrollment)
    assert e.expires_at == now + 900
    assert e.uri.startswith("otpauth://totp/Polyauth%20Test:jane%40example.com?"), e.uri
    assert "<svg" in e.qr_svg
    parsed = Totp.parse_uri(e.uri)
    assert parsed["secret"] == e.secret
    assert (parsed["issuer"], parsed["account"]) == ("Polyauth Test", ACCOUNT)
    assert (parsed["digits"], parsed["period"], parsed["algorithm"]) == (6, 30, "SHA1")
    assert len(base64.b32decode(e.secret + "=" * (-len(e.secret) % 8))) >= 20, "OTP-5: >= 160 bits"
    code = code_at(e.secret, now)
    err = await fails(polyauth.TotpInvalidError, m.verify(s, code, now=now))
    assert err.code == "totp_invalid"
    codes = await m.confirm(s, code, now=now)
    assert isinstance(codes, list) and all(isinstance(c, str) and RECOVERY_CODE.fullmatch(c) for c in codes)
    assert await m.status(s, now=now) == {
        "enabled": True,
        "pending": False,
        "confirmed_at": now,
        "last_used_at": now,
        "recovery_codes_remaining": 10,
    }
    replayed = await fails(polyauth.TotpReplayedError, m.verify(s, code, now=now))
    assert replayed.code == "totp_replayed"
    assert await m.verify(s, code_at(e.secret, now + 30), now=now + 30) == (now + 30) // 30
    assert await m.verify_recovery_code(s, codes[0], now=now) == 9
    err2 = await fails(polyauth.TotpReplayedError, m.verify_recovery_code(s, codes[0], now=now))
    assert codes[0] not in str(err2) and codes[0] not in repr(err2)
    store = await Store.open("memory://")
    other = make_mfa(store, NEW_KEY)
    secret, _ = await enrolled(make_mfa(store), s, now)
    err3 = await fails(polyauth.InvalidKeyError, other.verify(s, code_at(secret, now + 30), now=now + 30))
    assert err3.code == "invalid_key" and secret not in str(err3) and secret not in repr(err3)


async def test_reprs_never_show_secrets(store_url: str) -> None:
    key = Mfa.generate_key()
    m = make_mfa(await open_store(store_url), [key, OLD_KEY])
    e = await m.begin_enrollment(new_subject(), ACCOUNT, now=step_start())
    shown = repr(e) + str(e)
    assert str(e.expires_at) in repr(e)
    for hidden in [e.secret, e.uri, e.secret.lower(), "otpauth"]:
        assert hidden not in shown, shown
    shown = repr(m) + str(m)
    assert "key_ids" in shown and all(k in shown for k in m.key_ids), shown
    for hidden in [key, e.secret, e.uri, OLD_KEY.hex(), base64.urlsafe_b64encode(OLD_KEY).decode()[:20]]:
        assert hidden not in shown, shown


# ---- concurrency (OTP-2) -------------------------------------------------------------------------


async def test_concurrent_verifies_of_one_code_have_one_winner(store_url: str) -> None:
    m = make_mfa(await open_store(store_url))
    s = new_subject()
    now = step_start()
    secret, _ = await enrolled(m, s, now)
    code = code_at(secret, now + 30)
    results = await asyncio.gather(
        *(m.verify(s, code, now=now + 30) for _ in range(50)), return_exceptions=True
    )
    wins, errors = split(results)
    assert wins == [(now + 30) // 30], results
    for r in errors:
        assert isinstance(r, (polyauth.TotpReplayedError, polyauth.RateLimitedError)), repr(r)


async def test_concurrent_confirms_have_one_winner(store_url: str) -> None:
    store = await open_store(store_url)
    m = make_mfa(store)
    s = new_subject()
    now = step_start()
    e = await m.begin_enrollment(s, "race@example.com", now=now)
    code = code_at(e.secret, now)
    results = await asyncio.gather(*(m.confirm(s, code, now=now) for _ in range(20)), return_exceptions=True)
    wins, errors = split(results)
    assert len(wins) == 1, results
    for r in errors:
        assert isinstance(
            r, (polyauth.TotpReplayedError, polyauth.TotpInvalidError, polyauth.RateLimitedError)
        ), repr(r)
    status = await m.status(s)
    assert (status["enabled"], status["pending"], status["recovery_codes_remaining"]) == (True, False, 10)
    # The winner's codes are the ones kept.
    await unlock(store, s)
    assert await m.verify_recovery_code(s, wins[0][0], now=now) == 9


# ---- recovery codes (OTP-7) ----------------------------------------------------------------------


async def test_concurrent_uses_of_one_recovery_code_have_one_winner(store_url: str) -> None:
    store = await open_store(store_url)
    m = make_mfa(store)
    s = new_subject()
    now = step_start()
    _, codes = await enrolled(m, s, now)
    results = await asyncio.gather(
        *(m.verify_recovery_code(s, codes[2], now=now) for _ in range(20)), return_exceptions=True
    )
    wins, errors = split(results)
    assert wins == [9], results
    for r in errors:
        assert isinstance(r, (polyauth.TotpReplayedError, polyauth.RateLimitedError)), repr(r)


async def test_status_defaults_to_the_system_clock() -> None:
    # Lapsing at an injected clock is vectors/mfa.json; here the default clock and the repr.
    store = await Store.open("memory://")
    m = make_mfa(store, enrollment_ttl=120)
    stale = new_subject()
    await m.begin_enrollment(stale, ACCOUNT, now=step_start() - 2000)
    assert (await m.status(stale))["pending"] is False
    fresh = new_subject()
    await m.begin_enrollment(fresh, ACCOUNT)
    assert (await m.status(fresh))["pending"] is True
    d = make_mfa(store)
    assert repr(d).endswith("enrollment_ttl=900)") and store.backend in repr(d)


async def test_throttle_keys() -> None:
    # Counting per context is vectors/mfa.json; here the keys an administrator resets.
    s = new_subject()
    assert Mfa.throttle_key(s) == "mfa:" + s
    assert Mfa.throttle_key(s, "198.51.100.1") == f"mfa-ctx:{len(s)}:{s}:198.51.100.1"
    m = make_mfa(await Store.open("memory://"))
    t: Any = m
    await assert_type_error(lambda: t.verify(s, "123456", throttle_context=1))


# ---- encryption at rest and keys (OTP-5) ---------------------------------------------------------


async def test_secrets_are_encrypted_at_rest_in_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "mfa.db"
    m = make_mfa(await Store.open(f"sqlite://{path}"))
    s = new_subject()
    now = step_start()
    e = await m.begin_enrollment(s, ACCOUNT, now=now)
    [(secret, pending, expires)] = sqlite_rows(
        path,
        "SELECT secret, pending_secret, pending_expires_at FROM polyauth_mfa_factors WHERE subject = ?",
        s,
    )
    assert secret is None and expires == now + 900
    assert pending.startswith(f"v1.{m.key_ids[0]}.") and e.secret not in pending
    codes = await m.confirm(s, code_at(e.secret, now), now=now)
    [row] = sqlite_rows(
        path,
        "SELECT subject, secret, last_step, confirmed_at, last_used_at, pending_secret, pending_expires_at "
        "FROM polyauth_mfa_factors WHERE subject = ?",
        s,
    )
    assert row[1].startswith(f"v1.{m.key_ids[0]}.") and row[1] != pending, "re-sealed on confirm"
    assert row[2:] == (now // 30, now, now, None, None)
    hashes = sqlite_rows(path, "SELECT code_hash FROM polyauth_mfa_recovery_codes WHERE subject = ?", s)
    assert len(hashes) == 10
    # Neither the secret nor any recovery code is anywhere in the database files.
    await m.verify(s, code_at(e.secret, now + 30), now=now + 30)
    raw = database_bytes(path)
    plain = [e.secret, e.secret.lower(), *codes, *(c.replace("-", "") for c in codes)]
    for text in plain:
        assert text.encode() not in raw
    for value in [*row, *(h for (h,) in hashes)]:
        assert not any(text in str(value) for text in plain)


async def test_rotation_rewrites_the_stored_secret_in_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "mfa.db"
    store = await Store.open(f"sqlite://{path}")
    old, rotated = make_mfa(store, OLD_KEY), make_mfa(store, [NEW_KEY, OLD_KEY])
    s = new_subject()
    now = step_start()
    secret, _ = await enrolled(old, s, now)
    before = stored_secret(path, s)
    assert before.startswith(f"v1.{old.key_ids[0]}.")
    # A failed verify under the rotated keys leaves the row alone.
    await fails(polyauth.TotpInvalidError, rotated.verify(s, wrong(code_at(secret, now + 30)), now=now + 30))
    assert stored_secret(path, s) == before
    await rotated.verify(s, code_at(secret, now + 30), now=now + 30)
    after = stored_secret(path, s)
    assert after.startswith(f"v1.{rotated.key_ids[0]}.") and secret not in after
    # Under the current key already: a later verify keeps the ciphertext.
    await rotated.verify(s, code_at(secret, now + 60), now=now + 60)
    assert stored_secret(path, s) == after


async def test_damaged_or_moved_ciphertexts_are_invalid_key(tmp_path: Path) -> None:
    path = tmp_path / "mfa.db"
    store = await Store.open(f"sqlite://{path}")
    m = make_mfa(store)
    a, b = new_subject(), new_subject()
    now = step_start()
    secret, _ = await enrolled(m, a, now)
    good = stored_secret(path, a)
    body = good.split(".")[2]
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    update = "UPDATE polyauth_mfa_factors SET secret = ? WHERE subject = ?"
    for damaged in [
        "garbage",
        "",
        "v1.0011223344556677.AAAA",  # a key id that is not configured
        f"v1.{m.key_ids[0]}.AAAA",  # too short
        f"v1.{m.key_ids[0]}.{flipped}",  # tampered
        f"v2.{m.key_ids[0]}.{body}",
        good + ".x",
        secret,  # the plaintext itself
    ]:
        sqlite_write(path, update, damaged, a)
        err = await fails(polyauth.InvalidKeyError, m.verify(a, code_at(secret, now + 30), now=now + 30))
        assert secret not in str(err), damaged
        await unlock(store, a)
    sqlite_write(path, update, good, a)
    await m.verify(a, code_at(secret, now + 30), now=now + 30)
    # Subject A's ciphertext copied into subject B's row (pending, then confirmed) does not decrypt.
    await m.begin_enrollment(b, ACCOUNT, now=now)
    sqlite_write(path, "UPDATE polyauth_mfa_factors SET pending_secret = ? WHERE subject = ?", good, b)
    await fails(polyauth.InvalidKeyError, m.confirm(b, code_at(secret, now + 60), now=now + 60))
    await unlock(store, b)
    await enrolled(m, b, now)
    sqlite_write(path, update, good, b)
    await fails(polyauth.InvalidKeyError, m.verify(b, code_at(secret, now + 60), now=now + 60))


async def test_key_forms_give_the_same_key_ids() -> None:
    store = await Store.open("memory://")
    # Chosen so that base64 and base64url differ ("+" and "/" against "-" and "_").
    raw = bytes([0xFB, 0xEF, 0xFF]) * 10 + bytes([0xFB, 0xEF])
    std = base64.b64encode(raw).decode()
    url = base64.urlsafe_b64encode(raw).decode()
    assert "+" in std and "/" in std and std.endswith("=")
    forms: list[Any] = [
        raw,
        bytearray(raw),
        url.rstrip("="),
        url,
        std,
        std.rstrip("="),
        raw.hex(),
        raw.hex().upper(),
        f"  {raw.hex()}\n",
        [raw],
        (url,),
    ]
    ids = [make_mfa(store, form).key_ids for form in forms]
    assert all(i == ids[0] for i in ids), ids
    [key_id] = ids[0]
    assert re.fullmatch(r"[0-9a-f]{16}", key_id) and key_id not in raw.hex()
    assert make_mfa(store, OLD_KEY).key_ids != ids[0]
    assert make_mfa(store, [raw, OLD_KEY, NEW_KEY]).key_ids == [
        key_id,
        *make_mfa(store, OLD_KEY).key_ids,
        *make_mfa(store, NEW_KEY).key_ids,
    ]
    # Generated keys: 32 random bytes, base64url, accepted as they are.
    generated = {Mfa.generate_key() for _ in range(3)}
    assert len(generated) == 3
    for key in generated:
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", key), key
        assert len(base64.urlsafe_b64decode(key + "=")) == 32
        assert len(make_mfa(store, key).key_ids) == 1


async def test_bad_keys_and_config() -> None:
    store = await Store.open("memory://")
    short = bytes(16)
    for key in [
        short,
        bytes(33),
        bytearray(31),
        b"",
        base64.b64encode(short).decode(),
        [OLD_KEY, OLD_KEY.hex()],  # the same key twice
        [],
        (),
        [bytes([n]) * 32 for n in range(17)],  # more than 16 keys
    ]:
        with pytest.raises(polyauth.InvalidConfigError) as e:
            make_mfa(store, key)
        assert e.value.code == "invalid_config"
        assert base64.b64encode(short).decode() not in str(e.value)
    # Key texts and the enrollment_ttl range are vectors/errors.json; here Python's bytes and
    # numbers. A wrong type is invalid_config too, as in Node (vectors/argument-checks.json).
    for ttl in [-1, 2**64, 1.5, True, "900"]:
        with pytest.raises(polyauth.InvalidConfigError):
            make_mfa(store, enrollment_ttl=ttl)
    for ttl in [60, 86400]:
        assert f"enrollment_ttl={ttl})" in repr(make_mfa(store, enrollment_ttl=ttl))
    for call in [
        lambda: make_mfa(store, 12345),
        lambda: make_mfa(store, None),
        lambda: make_mfa(store, [OLD_KEY, 1]),
        lambda: make_mfa(store, [[OLD_KEY]]),
        lambda: make_mfa(store, {"k": OLD_KEY}),
        lambda: make_mfa(store, memoryview(OLD_KEY)),
        lambda: make_mfa(store, throttle="Throttle"),
        lambda: Mfa("memory://", TOTP, OLD_KEY),  # type: ignore[arg-type]
        lambda: Mfa(store, None, OLD_KEY),  # type: ignore[arg-type]
    ]:
        await assert_type_error(call)


# ---- bad input -----------------------------------------------------------------------------------


async def test_bad_clocks_and_surrogates() -> None:
    # Bad subjects and accounts are vectors/mfa.json; here Python's clocks and str.
    m = make_mfa(await Store.open("memory://"))
    now = step_start()
    s = new_subject()
    secret, codes = await enrolled(m, s, now)
    # A bad clock is refused when the call is made (as a bad str is), before anything is awaited.
    bad_clocks: list[Callable[[], Awaitable[object]]] = [
        lambda: m.begin_enrollment(s, ACCOUNT, now=-1),
        lambda: m.confirm(s, "123456", now=-1),
        lambda: m.verify(s, code_at(secret, 0), now=-1),
        lambda: m.verify_recovery_code(s, codes[0], now=-30),
        lambda: m.status(s, now=-1),
    ]
    for call in bad_clocks:
        with pytest.raises(polyauth.InvalidInputError):
            await call()
    assert (await m.status(s))["enabled"] is True
    # A str that is not valid Unicode (a lone surrogate) is refused as input, not as a crash.
    surrogates: list[Callable[[], Awaitable[object]]] = [
        lambda: m.begin_enrollment("\ud800", ACCOUNT, now=now),
        lambda: m.begin_enrollment(s, "a\udfffb", now=now),
        lambda: m.verify("\ud800", "123456", now=now),
        lambda: m.verify(s, "12345\ud800", now=now),
        lambda: m.confirm("\ud800", "123456", now=now),
        lambda: m.verify_recovery_code(s, "\ud800" * 24, now=now),
        lambda: m.status("\ud800"),
        lambda: m.disable("\ud800"),
        lambda: m.regenerate_recovery_codes("\ud800"),
    ]
    for call in surrogates:
        with pytest.raises(polyauth.InvalidInputError):
            await call()
    assert await m.verify_recovery_code(s, codes[0], now=now) == 9


async def test_wrong_argument_types() -> None:
    m = make_mfa(await Store.open("memory://"))
    s = new_subject()
    now = step_start()
    secret, _ = await enrolled(m, s, now)
    o: Any = m  # deliberately ill-typed calls

    def with_bad(bad: Any) -> list[Callable[[], Any]]:
        return [
            lambda: o.verify(s, bad, now=now),
            lambda: o.verify(bad, "123456", now=now),
            lambda: o.confirm(s, bad, now=now),
            lambda: o.confirm(bad, "123456", now=now),
            lambda: o.verify_recovery_code(s, bad, now=now),
            lambda: o.verify_recovery_code(bad, "0" * 24, now=now),
            lambda: o.begin_enrollment(bad, ACCOUNT, now=now),
            lambda: o.begin_enrollment(s, bad, now=now),
            lambda: o.regenerate_recovery_codes(bad),
            lambda: o.disable(bad),
            lambda: o.status(bad),
        ]

    calls = [call for bad in [None, 123456, b"123456", ["123456"]] for call in with_bad(bad)]
    calls += [lambda: o.verify(s, "123456", now, "extra")]
    for call in calls:
        await assert_type_error(call)
    # A clock of the wrong type is invalid_input, as in Node (vectors/argument-checks.json).
    for clock in ["1", 1.5, str(now), True]:
        with pytest.raises(polyauth.InvalidInputError):
            await o.verify(s, "123456", now=clock)
        with pytest.raises(polyauth.InvalidInputError):
            await o.begin_enrollment(s, ACCOUNT, now=clock)
    # The factor is untouched.
    assert await m.verify(s, code_at(secret, now + 30), now=now + 30) == (now + 30) // 30


# ---- durability ----------------------------------------------------------------------------------


async def test_accepted_steps_and_used_codes_survive_reopening(durable_url: str) -> None:
    s = new_subject()
    now = step_start()
    first = make_mfa(await open_store(durable_url))
    secret, codes = await enrolled(first, s, now)
    await first.verify(s, code_at(secret, now + 30), now=now + 30)
    assert await first.verify_recovery_code(s, codes[0], now=now + 30) == 9
    del first
    m = make_mfa(await open_store(durable_url))
    await fails(polyauth.TotpReplayedError, m.verify(s, code_at(secret, now + 30), now=now + 31))
    await fails(polyauth.TotpReplayedError, m.verify_recovery_code(s, codes[0], now=now + 31))
    status = await m.status(s)
    assert (status["enabled"], status["recovery_codes_remaining"], status["last_used_at"]) == (
        True,
        9,
        now + 30,
    )
    assert await m.verify(s, code_at(secret, now + 60), now=now + 60) == (now + 60) // 30


# ---- interop -------------------------------------------------------------------------------------


async def test_pyotp_codes_confirm_and_verify(store_url: str) -> None:
    m = make_mfa(await open_store(store_url))
    s = new_subject()
    now = step_start()
    e = await m.begin_enrollment(s, ACCOUNT, now=now)
    peer = pyotp.parse_uri(e.uri)
    assert isinstance(peer, pyotp.TOTP)
    assert (peer.secret, peer.issuer, peer.name) == (e.secret, "Polyauth Test", ACCOUNT)
    assert len(await m.confirm(s, pyotp.TOTP(e.secret).at(now), now=now)) == 10
    assert await m.verify(s, pyotp.TOTP(e.secret).at(now + 30), now=now + 30) == (now + 30) // 30


# ---- Throttle.attempt (RL-1) ---------------------------------------------------------------------


async def test_throttle_attempt_bursts_are_counted_before_they_pass(store_url: str) -> None:
    store = await open_store(store_url)
    throttle = Throttle(store, max_failures=10)
    k = f"login:{secrets.token_hex(6)}@example.com"
    # Throttle.attempt reads the real clock and the sixth failure locks for 1 s: start just after a
    # second boundary so that the burst does not outlive the lock (not a timing assertion).
    if time.time() % 1 > 0.5:
        await asyncio.sleep(1.02 - time.time() % 1)
    results = await asyncio.gather(*(throttle.attempt(k) for _ in range(50)), return_exceptions=True)
    passed, errors = split(results)
    assert sorted(failures for failures, _ in passed) == [1, 2, 3, 4, 5, 6], results
    locks = dict(passed)
    assert locks[6] > max(locks[n] for n in range(1, 6)), "the sixth failure sets the lock"
    assert len(errors) == 44
    for r in errors:
        assert isinstance(r, polyauth.RateLimitedError) and r.retry_after >= 1, repr(r)
    await throttle.reset(k)
    failures, locked_until = await throttle.attempt(k)
    assert failures == 1 and locked_until <= int(time.time())
    await throttle.reset(k)


async def test_throttle_attempt_input() -> None:
    # Key lengths and NUL are vectors/throttle.json.
    throttle = Throttle(await Store.open("memory://"))
    t: Any = throttle
    for call in [lambda: t.attempt(None), lambda: t.attempt(1), lambda: t.attempt(b"k")]:
        await assert_type_error(call)


@pytest.mark.parametrize("backend", SHARED)
async def test_throttle_attempts_are_shared_between_stores(backend: str, tmp_path: Path) -> None:
    url = store_url_for(backend, tmp_path)
    first = Throttle(await open_store(url), base_delay=60, max_delay=60)
    second = Throttle(await open_store(url), base_delay=60, max_delay=60)
    k = f"k:{secrets.token_hex(6)}"
    for n in range(1, 7):
        assert (await (first if n % 2 else second).attempt(k))[0] == n
    await fails(polyauth.RateLimitedError, first.attempt(k))
    await fails(polyauth.RateLimitedError, second.attempt(k))
    if backend != "sqlite":  # one SQLite file is one store, whatever the namespace
        isolated = Throttle(await open_store(with_namespace(url.split("?", 1)[0])))
        assert (await isolated.attempt(k))[0] == 1


# ---- the event loop ------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_awaitables_do_not_block_the_event_loop(backend: str, tmp_path: Path) -> None:
    m = make_mfa(await open_store(store_url_for(backend, tmp_path)))
    s = new_subject()
    now = step_start()
    secret, _ = await enrolled(m, s, now)
    done = False
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while not done:
            ticks += 1
            await asyncio.sleep(0)

    # The ticker starts only after the call returned: if the call did its work before returning,
    # the awaitable is complete and the ticker never gets to run before ``done`` is set.
    pending = m.verify(s, code_at(secret, now + 30), now=now + 30)
    task = asyncio.ensure_future(ticker())
    step = await pending
    done = True
    await task
    assert step == (now + 30) // 30
    assert ticks > 0, "the event loop ran while verify was awaited"
