"""PasswordHasher: vectors, interop with argon2-cffi and bcrypt, upgrades, bad input, async."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import threading
import unicodedata
from pathlib import Path
from typing import Any

import argon2
import bcrypt
import pytest

import polyauth
from conftest import invalid_case_hash, load_project
from polyauth import PasswordHasher

PASSWORDS = load_project("passwords.json")
WEAK_M256 = "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"
M64 = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"


@pytest.fixture(scope="module")
def hasher() -> PasswordHasher:
    return PasswordHasher()


def test_reference_phc_strings(shared_vectors: Path, hasher: PasswordHasher) -> None:
    import json

    doc = json.loads((shared_vectors / "rfc" / "argon2id_rfc9106.json").read_text())
    vectors = doc["reference_impl_argon2id_v13"]["vectors"]
    assert len(vectors) == 8
    for v in vectors:
        assert hasher.verify(v["expected_phc"], v["password"]) is True
        assert hasher.verify(v["expected_phc"], "wrong password") is False


@pytest.mark.parametrize("case", PASSWORDS["verify"], ids=lambda c: c["id"])
def test_project_vectors_verify(case: dict[str, Any], hasher: PasswordHasher) -> None:
    assert hasher.verify(case["hash"], case["password"]) is True
    for also in case.get("also_verifies", []):
        assert hasher.verify(case["hash"], also) is True
    for wrong in case["wrong"]:
        assert hasher.verify(case["hash"], wrong) is False
    assert hasher.needs_rehash(case["hash"]) is case["needs_rehash"]


@pytest.mark.parametrize("case", PASSWORDS["invalid"], ids=lambda c: c["id"])
def test_project_vectors_invalid(case: dict[str, Any], hasher: PasswordHasher) -> None:
    stored = invalid_case_hash(case)
    with pytest.raises(polyauth.InvalidHashError) as info:
        hasher.verify(stored, "password")
    assert info.value.code == "invalid_hash"
    if len(stored) > 12:
        assert stored not in str(info.value)
    with pytest.raises(polyauth.InvalidHashError):
        hasher.needs_rehash(stored)


def test_hash_format(hasher: PasswordHasher) -> None:
    a = hasher.hash("correct horse battery staple")
    b = hasher.hash("correct horse battery staple")
    assert a.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert a != b
    _, _, _, _, salt, tag = a.split("$")
    assert len(salt) == 22 and len(tag) == 43
    assert hasher.verify(a, "correct horse battery staple")
    assert not hasher.verify(a, "correct horse battery stapl")
    assert not hasher.needs_rehash(a)
    assert hasher.verify(a.encode(), b"correct horse battery staple")


def test_interop_argon2_cffi(hasher: PasswordHasher) -> None:
    theirs = argon2.PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16)
    pw = "interop: p\u00e4ssw\u00f6rd"
    their_hash = theirs.hash(pw)
    assert hasher.verify(their_hash, pw)
    assert not hasher.verify(their_hash, pw + "!")
    assert not hasher.needs_rehash(their_hash)
    ours = hasher.hash(pw)
    assert theirs.verify(ours, pw)
    with pytest.raises(argon2.exceptions.VerifyMismatchError):
        theirs.verify(ours, pw + "!")
    assert not theirs.check_needs_rehash(ours)


KERNEL_FEATURE = {"avx512": "avx512f", "avx2": "avx2", "sse2": "sse2", "neon": "neon", "scalar": None}


def test_engine_info_names_the_kernel() -> None:
    info = PasswordHasher.engine_info()
    assert set(info) == {"engine", "backend", "cpu_features"}
    assert info["engine"].startswith("argon2-rust ")
    assert info["backend"] in KERNEL_FEATURE
    needs = KERNEL_FEATURE[info["backend"]]
    assert needs is None or needs in info["cpu_features"].split()


def test_random_parameters_agree_with_the_c_reference(hasher: PasswordHasher) -> None:
    """argon2-cffi runs the reference C code: its PHC strings over random variants, versions,
    lanes, costs, salts and tag lengths verify in polyauth, and a changed password does not."""
    import random

    from argon2.low_level import Type, hash_secret

    rng = random.Random(14)
    variants = [Type.D, Type.I, Type.ID]
    for _ in range(200):
        p = rng.randint(1, 4)
        pw = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789 ") for _ in range(rng.randint(0, 40)))
        salt = rng.randbytes(rng.randint(8, 32))
        stored = hash_secret(
            pw.encode(),
            salt,
            time_cost=rng.randint(1, 3),
            memory_cost=rng.randint(8 * p, 8 * p + 600),
            parallelism=p,
            hash_len=rng.randint(4, 64),
            type=rng.choice(variants),
            version=rng.choice([16, 19]),
        ).decode()
        assert hasher.verify(stored, pw), stored
        assert not hasher.verify(stored, pw + "x"), stored


def test_interop_bcrypt_upgrade(hasher: PasswordHasher) -> None:
    stored = bcrypt.hashpw(b"legacy password 1", bcrypt.gensalt(rounds=5)).decode()
    valid, new_hash = hasher.verify_and_update(stored, "legacy password 1")
    assert valid and new_hash is not None and new_hash.startswith("$argon2id$")
    assert hasher.verify(new_hash, "legacy password 1")
    assert hasher.verify_and_update(stored, "legacy password 2") == (False, None)
    # bcrypt only ever hashed 72 bytes: a longer password never raises.
    long_pw = "x" * 100
    stored_long = bcrypt.hashpw(long_pw.encode()[:72], bcrypt.gensalt(rounds=4)).decode()
    assert hasher.verify(stored_long, long_pw) is True


def test_verify_and_update(hasher: PasswordHasher) -> None:
    valid, new_hash = hasher.verify_and_update(WEAK_M256, "password")
    assert valid and new_hash is not None
    assert hasher.verify(new_hash, "password") and not hasher.needs_rehash(new_hash)
    assert hasher.verify_and_update(WEAK_M256, "nope") == (False, None)
    current = hasher.hash("password")
    assert hasher.verify_and_update(current, "password") == (True, None)
    legacy = next(c for c in PASSWORDS["verify"] if c["format"].startswith("django"))
    valid, new_hash = hasher.verify_and_update(legacy["hash"], legacy["password"])
    assert valid and new_hash is not None and new_hash.startswith("$argon2id$")


def test_pepper() -> None:
    peppered = PasswordHasher(pepper=b"server-side pepper")
    phc = peppered.hash("pepper me please")
    assert peppered.verify(phc, "pepper me please")
    assert not PasswordHasher().verify(phc, "pepper me please")
    assert not PasswordHasher(pepper="another pepper!!").verify(phc, "pepper me please")
    assert "server-side" not in repr(peppered)
    assert "<redacted>" in repr(peppered)


@pytest.mark.parametrize(
    "kwargs",
    [{"memory_kib": 4096}, {"time_cost": 1}, {"parallelism": 0}, {"pepper": b""}, {"pepper": b"x" * 15}],
)
def test_owasp_floor(kwargs: dict[str, Any]) -> None:
    with pytest.raises(polyauth.InvalidConfigError) as info:
        PasswordHasher(**kwargs)
    assert info.value.code == "invalid_config"
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(("m", "t"), [(47104, 1), (19456, 2), (12288, 3), (9216, 4), (7168, 5)])
def test_owasp_configurations_accepted(m: int, t: int) -> None:
    h = PasswordHasher(memory_kib=m, time_cost=t)
    assert (h.memory_kib, h.time_cost, h.parallelism) == (m, t, 1)


@pytest.mark.parametrize(("m", "t"), [(35840, 1), (12000, 3), (9000, 4)])
def test_owasp_table_refuses_what_the_old_product_floor_accepted(m: int, t: int) -> None:
    with pytest.raises(polyauth.InvalidConfigError) as info:
        PasswordHasher(memory_kib=m, time_cost=t)
    assert info.value.code == "invalid_config"


@pytest.mark.parametrize(
    ("m", "t"), [(47104, 1), (19456, 2), (12288, 3), (9216, 4), (7168, 5), (7168, 6), (7168, 10)]
)
def test_owasp_table_row_boundaries(m: int, t: int) -> None:
    assert PasswordHasher(memory_kib=m, time_cost=t).memory_kib == m
    with pytest.raises(polyauth.InvalidConfigError):
        PasswordHasher(memory_kib=m - 1024, time_cost=t)


def test_stored_argon2_below_the_table_verifies_and_needs_rehash(hasher: PasswordHasher) -> None:
    raw = argon2.low_level.hash_secret(
        b"old password",
        b"sixteen byte sal",
        time_cost=1,
        memory_cost=35840,
        parallelism=1,
        hash_len=32,
        type=argon2.low_level.Type.ID,
    ).decode()
    assert raw.startswith("$argon2id$v=19$m=35840,t=1,p=1$")
    assert hasher.verify(raw, "old password") is True
    assert hasher.needs_rehash(raw) is True
    valid, new_hash = hasher.verify_and_update(raw, "old password")
    assert valid and new_hash is not None and not hasher.needs_rehash(new_hash)


_B64_32 = "yqKgFOyLPkopMFEjmsIi//p2wnXlPhboQloV9osVad0="
_B64_64 = base64.b64encode(b"\xab" * 64).decode()
_BCRYPT_TAIL = "2CEUE9j.uOovtYunhB5MhewnUv2VvCQgU/jiToPjhMroR4DDypPAC"
# Legacy hashes exactly at each work bound (bcrypt cost 14, scrypt N*r*p 2^21, PBKDF2
# iterations x output blocks 5,000,000 with SHA-512 counted 4x) and just above it.
LEGACY_AT_BOUND = [
    f"$2b$14${_BCRYPT_TAIL}",
    f"scrypt:131072:8:2$salt${'ab' * 64}",
    f"scrypt:65536:32:1$salt${'ab' * 64}",
    f"pbkdf2_sha256$5000000$salt${_B64_32}",
    f"pbkdf2_sha256$2500000$salt${_B64_64}",
    f"pbkdf2:sha256:5000000$salt${'ab' * 32}",
    f"pbkdf2:sha512:1250000$salt${'ab' * 64}",
]
LEGACY_ABOVE_BOUND = [
    f"$2b$15${_BCRYPT_TAIL}",
    f"$2b$16${_BCRYPT_TAIL}",
    f"scrypt:65536:11:3$salt${'ab' * 64}",
    f"scrypt:131072:8:16$salt${'ab' * 64}",
    f"pbkdf2_sha256$5000001$salt${_B64_32}",
    f"pbkdf2_sha256$2500001$salt${_B64_64}",
    f"pbkdf2_sha256$10000000$salt${_B64_32}",
    "pbkdf2_sha1$5000001$salt$AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    f"pbkdf2:sha256:5000001$salt${'ab' * 32}",
    f"pbkdf2:sha512:1250001$salt${'ab' * 64}",
]


@pytest.mark.parametrize("stored", LEGACY_AT_BOUND)
def test_legacy_hash_at_the_work_bound_is_accepted(hasher: PasswordHasher, stored: str) -> None:
    assert hasher.needs_rehash(stored) is True  # parses; needs_rehash does no hashing work


@pytest.mark.parametrize("stored", LEGACY_ABOVE_BOUND)
async def test_legacy_hash_above_the_work_bound_is_invalid_hash(hasher: PasswordHasher, stored: str) -> None:
    with pytest.raises(polyauth.InvalidHashError) as info:
        hasher.verify(stored, "password")
    assert info.value.code == "invalid_hash" and stored not in str(info.value)
    with pytest.raises(polyauth.InvalidHashError):
        hasher.verify_and_update(stored, "password")
    with pytest.raises(polyauth.InvalidHashError):
        hasher.needs_rehash(stored)
    with pytest.raises(polyauth.InvalidHashError):
        await hasher.verify_async(stored, "password")
    with pytest.raises(polyauth.InvalidHashError):
        await hasher.verify_and_update_async(stored, "password")


def _realistic_legacy_hashes(pw: str) -> list[str]:
    salt = "NaClNaClNaClNaCl"
    django = hashlib.pbkdf2_hmac("sha256", pw.encode(), salt.encode(), 1_200_000)
    werkzeug = hashlib.pbkdf2_hmac("sha512", pw.encode(), salt.encode(), 1_000_000)
    scrypt = hashlib.scrypt(pw.encode(), salt=salt.encode(), n=1 << 17, r=8, p=1, maxmem=1 << 28, dklen=64)
    return [
        bcrypt.hashpw(pw.encode(), bcrypt.gensalt(rounds=12)).decode(),
        f"pbkdf2_sha256$1200000${salt}${base64.b64encode(django).decode()}",  # Django 6.0 default
        f"pbkdf2:sha512:1000000${salt}${werkzeug.hex()}",  # Werkzeug 3 default iterations
        f"scrypt:131072:8:1${salt}${scrypt.hex()}",
    ]


def test_legacy_hashes_at_realistic_defaults_verify(hasher: PasswordHasher) -> None:
    pw = "legacy default password"
    for stored in _realistic_legacy_hashes(pw):
        assert hasher.verify(stored, pw) is True, stored
        assert hasher.verify(stored, "wrong password") is False, stored
        valid, new_hash = hasher.verify_and_update(stored, pw)
        assert valid and new_hash is not None, stored


def test_memory_bound(hasher: PasswordHasher) -> None:
    huge = M64.replace("m=65536", "m=4194304")
    with pytest.raises(polyauth.InvalidHashError):
        hasher.verify(huge, "password")
    with pytest.raises(polyauth.InvalidHashError):
        PasswordHasher(max_memory_kib=32768).verify(M64, "password")
    assert hasher.verify(M64, "password")


def test_bad_passwords(hasher: PasswordHasher) -> None:
    with pytest.raises(polyauth.InvalidInputError):
        hasher.hash("x" * (1 << 20))
    with pytest.raises(polyauth.InvalidInputError):
        hasher.verify(WEAK_M256, "x" * (1 << 20))
    empty = hasher.hash("")
    assert hasher.verify(empty, "") and not hasher.verify(empty, " ")
    nul = hasher.hash("a\0b")
    assert hasher.verify(nul, "a\0b") and not hasher.verify(nul, "a")
    with pytest.raises(polyauth.InvalidInputError):
        hasher.hash("a\ud800b")
    with pytest.raises(polyauth.InvalidInputError):
        hasher.hash(b"\xff\xfe")
    for wrong in (None, 5, ["pw"], {"pw": 1}):
        with pytest.raises(TypeError):
            hasher.hash(wrong)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            hasher.verify(empty, wrong)  # type: ignore[arg-type]


def test_nfc_and_nfd_verify_alike(hasher: PasswordHasher) -> None:
    nfc = unicodedata.normalize("NFC", "caf\u00e9 cr\u00e8me br\u00fbl\u00e9e")
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfc != nfd
    phc = hasher.hash(nfd)
    assert hasher.verify(phc, nfc) and hasher.verify(phc, nfd)


def test_dummy_verify(hasher: PasswordHasher) -> None:
    hasher.dummy_verify()  # a full argon2 computation; raises on failure


def test_panic_becomes_internal_error(hasher: PasswordHasher) -> None:
    with pytest.raises(polyauth.InternalError) as info:
        polyauth._native._debug_panic()
    assert info.value.code == "internal_error"
    assert hasher.verify(hasher.hash("still alive"), "still alive")


async def test_panic_in_async_work_becomes_internal_error(hasher: PasswordHasher) -> None:
    # The panic happens on the runtime, inside the awaited work: the call raises, the runtime
    # keeps serving the calls made before and after it.
    before = asyncio.ensure_future(hasher.hash_async("still alive"))
    with pytest.raises(polyauth.InternalError) as info:
        await asyncio.wait_for(polyauth._native._debug_panic_async(), 30)
    assert info.value.code == "internal_error"
    assert await hasher.verify_async(await before, "still alive")
    assert await hasher.verify_async(await hasher.hash_async("after"), "after")


def test_gil_released_during_hash(hasher: PasswordHasher) -> None:
    # While one thread hashes, another thread must make progress (it would not under the GIL).
    progress = 0
    stop = threading.Event()

    def spin() -> None:
        nonlocal progress
        while not stop.is_set():
            progress += 1

    t = threading.Thread(target=spin)
    t.start()
    try:
        before = progress
        for _ in range(3):
            hasher.hash("release the gil")
        during = progress - before
    finally:
        stop.set()
        t.join()
    assert during > 1000


async def test_async_variants(hasher: PasswordHasher) -> None:
    hashes = await asyncio.gather(*(hasher.hash_async(f"password number {i}") for i in range(8)))
    assert len(set(hashes)) == 8
    results = await asyncio.gather(
        *(hasher.verify_async(h, f"password number {i}") for i, h in enumerate(hashes))
    )
    assert results == [True] * 8
    assert await hasher.verify_async(hashes[0], "nope") is False
    assert await hasher.verify_and_update_async(WEAK_M256, "password") != (False, None)
    await hasher.dummy_verify_async()
    with pytest.raises(polyauth.InvalidHashError):
        await hasher.verify_async("not a hash", "pw")
    with pytest.raises(polyauth.InvalidInputError):
        await hasher.hash_async("a\ud800")


async def test_async_does_not_block_the_loop(hasher: PasswordHasher) -> None:
    # A ticker keeps running while hashes are in flight: the loop is never held for a whole hash.
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0)
            ticks += 1

    task = asyncio.ensure_future(ticker())
    try:
        await asyncio.gather(*(hasher.hash_async("loop") for _ in range(4)))
    finally:
        task.cancel()
    assert ticks > 10
