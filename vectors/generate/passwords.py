#!/usr/bin/env python3
"""Generate vectors/passwords.json with the real peer libraries.

Run once, by hand, when the vectors need to change (the hashes are random, so
every run gives a different file with the same structure):

    python3 -m venv /tmp/vecgen-venv
    /tmp/vecgen-venv/bin/pip install -r vectors/generate/requirements.txt
    (cd vectors/generate && npm ci)
    /tmp/vecgen-venv/bin/python vectors/generate/passwords.py

The Better Auth cases come from passwords_better_auth.mjs (run with node in
this folder). Every "verify" case is checked with its originating library
(the right password and every "also_verifies" entry verify; every "wrong"
entry does not). It is also recomputed from the text in "formats" with
hashlib / argon2 low-level calls, so those descriptions are known to be exact.
"invalid" cases are checked against the peer libraries where that is safe.
Any mismatch aborts without writing the file.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import unicodedata
from importlib.metadata import version
from pathlib import Path

import argon2
import argon2.low_level as argon2_ll
import bcrypt
import werkzeug.security as wz

import django
from django.conf import settings

settings.configure(
    PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"],
)
from django.contrib.auth.hashers import (  # noqa: E402  (needs settings first)
    PBKDF2PasswordHasher,
    check_password,
    make_password,
)

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE.parent / "passwords.json"

# polyauth's default policy; needs_rehash is relative to this.
POLICY = {"algorithm": "argon2id", "version": 19, "m": 19456, "t": 2, "p": 1, "hash_len": 32}

V = {
    "argon2-cffi": version("argon2-cffi"),
    "bcrypt": version("bcrypt"),
    "django": version("django"),
    "werkzeug": version("werkzeug"),
}

# Passwords. Everything fed to argon2 must be NFKC-stable, since polyauth
# NFKC-normalises before argon2 and argon2-cffi does not.
ASCII_PW = "correct horse battery staple"
UNI_NFC = "p\u00e4ssw\u00f6rd-\u00fcn\u00efcode"  # "pässwörd-ünïcode", NFC
UNI_NFD = unicodedata.normalize("NFD", UNI_NFC)
assert UNI_NFD != UNI_NFC
CAFE_NFD = "cafe\u0301-password"  # e + U+0301 COMBINING ACUTE ACCENT
CAFE_NFC = unicodedata.normalize("NFC", CAFE_NFD)  # "café-password"
assert CAFE_NFC == "caf\u00e9-password"
LONG_PW = ("The quick brown fox jumps over the lazy dog. " * 3)[:100]
assert len(LONG_PW.encode()) == 100


def nfkc_stable(pw: str) -> bool:
    return unicodedata.normalize("NFKC", pw) == pw


def b64_nopad_decode(s: str) -> bytes:
    return base64.b64decode(s + "=" * (-len(s) % 4), validate=True)


def fail(msg: str) -> None:
    sys.exit(f"passwords.py: {msg}")


FORMATS = {
    "argon2id": (
        "PHC string '$argon2id$v=19$m=<memory KiB>,t=<passes>,p=<lanes>$<salt>$<tag>'; salt and tag "
        "are standard-alphabet base64 (A-Z a-z 0-9 + /) WITHOUT '=' padding (16-byte salt -> 22 chars, "
        "32-byte tag -> 43 chars); tag length = decoded length of <tag>. tag = Argon2id(password = UTF-8 "
        "bytes, salt = decoded salt bytes, t, m, p, version 0x13, no secret, no associated data). "
        "argon2-cffi does not normalise the password; polyauth NFKC-normalises it first, which is why "
        "every argon2 vector password is NFKC-stable. argon2-cffi " + V["argon2-cffi"] + " defaults "
        "(RFC 9106 low-memory profile): m=65536, t=3, p=4, hash_len=32, salt_len=16. "
        "needs_rehash is false only for argon2id, v=19, m=19456, t=2, p=1, 32-byte tag."
    ),
    "argon2i": "Same PHC encoding and inputs as argon2id, with the Argon2i variant ('$argon2i$').",
    "argon2d": "Same PHC encoding and inputs as argon2id, with the Argon2d variant ('$argon2d$').",
    "bcrypt": (
        "'$2b$<cost, 2 decimal digits>$<22 chars salt><31 chars hash>' (60 chars); bcrypt's own base64 "
        "alphabet './A-Za-z0-9', no padding; salt = 16 bytes, hash = first 23 bytes of the 24-byte "
        "EksBlowfish(cost, salt, key) encryption of 'OrpheanBeholderScryDoubt'; 2^cost rounds, cost 4..31. "
        "key = password as UTF-8 bytes (no normalisation) followed by a NUL byte, truncated to 72 bytes: "
        "only the first 72 bytes of the password matter. The Python bcrypt " + V["bcrypt"] + " package "
        "raises ValueError for passwords over 72 bytes instead of truncating, so hashes are made from the "
        "first 72 bytes; systems that truncate silently then accept the full password. "
        "'$2a$' and '$2y$' (crypt_blowfish's name) are the same algorithm as '$2b$' for every password "
        "under 255 bytes (2a vs 2b differs only in OpenBSD's 8-bit length wrap-around bug) and so for "
        "every password once truncated to 72 bytes."
    ),
    "django_pbkdf2_sha256": (
        "'pbkdf2_sha256$<iterations, decimal>$<salt>$<hash>'. hash = base64 standard alphabet WITH '=' "
        "padding (44 chars) of PBKDF2-HMAC-SHA256(password = raw UTF-8 bytes, NOT normalised; salt = the "
        "salt string's own bytes (UTF-8/ASCII, not decoded); iterations; dkLen = 32). Salts Django "
        "generates are 22 chars of [A-Za-z0-9] (128 bits) and cannot contain '$'. Django "
        + V["django"] + " default iterations: " + f"{PBKDF2PasswordHasher.iterations:,}" + ". Django "
        "verifies by re-encoding with the parsed salt and iterations and comparing the WHOLE string in "
        "constant time, so non-canonical strings (leading zeros in iterations, unpadded base64) never "
        "verify in Django; iterations=0 means 'use the default' in Django's encode()."
    ),
    "werkzeug_pbkdf2": (
        "'pbkdf2:<hashlib digest name>:<iterations>$<salt>$<hex>'. hex = lowercase hex of "
        "hashlib.pbkdf2_hmac(digest, password = raw UTF-8 bytes, NOT normalised; salt = the salt string's "
        "UTF-8 bytes, not decoded; iterations; dklen = digest size: 32 bytes for sha256 (64 hex), 64 "
        "for sha512 (128 hex)). Salt = 16 chars of [A-Za-z0-9] by default. Werkzeug " + V["werkzeug"] +
        " splits the stored string with split('$', 2) and compares hex with hmac.compare_digest. It "
        "accepts ANY hashlib digest name (md5, sha1, ...) and, on verify, the short forms 'pbkdf2' "
        "(= sha256, 1,000,000 iterations) and 'pbkdf2:<digest>' (= 1,000,000 iterations); "
        "generate_password_hash always writes all three parts."
    ),
    "werkzeug_scrypt": (
        "'scrypt:<N>:<r>:<p>$<salt>$<hex>'. hex = lowercase hex (128 chars) of hashlib.scrypt(password = "
        "raw UTF-8 bytes, NOT normalised; salt = the salt string's UTF-8 bytes, not decoded; n=N, r, p, "
        "dklen = 64 (hashlib's default), maxmem = 132*N*r*p). Salt = 16 chars of [A-Za-z0-9]. Werkzeug "
        + V["werkzeug"] + "'s default method 'scrypt' = N=32768 (2^15), r=8, p=1 (32 MiB); a bare "
        "'scrypt' method with no parameters on verify means those defaults. N must be a power of two "
        "> 1 (hashlib raises ValueError otherwise, which Werkzeug lets propagate)."
    ),
    "better_auth_scrypt": (
        "'<salt>:<key>'. salt = 16 random bytes, lowercase hex-encoded (32 chars). key = lowercase hex "
        "(128 chars) of scrypt(password = NFKC(password) as UTF-8, salt = the 32-char salt hex STRING's "
        "UTF-8 bytes (the hex is NOT decoded), N=16384, r=16, p=1, dkLen=64; maxmem 128*N*r*2 = 64 MiB). "
        "Code: @better-auth/utils/password (node:crypto scrypt on Node, @noble/hashes scrypt elsewhere, "
        "same parameters), re-exported as hashPassword/verifyPassword by better-auth/crypto. Its "
        "verifyPassword does [salt, key] = hash.split(':'), throws only if either is empty, ignores "
        "anything after a second ':', does not check that the salt is hex (so 'zz:zz' just returns "
        "false), and compares hex strings with === (uppercase hex never verifies)."
    ),
}


# --------------------------------------------------------------------------
# Independent recomputation from the FORMATS text.


def recompute_ok(fmt: str, hash_: str, password: str) -> bool:
    if fmt in ("argon2id", "argon2i", "argon2d"):
        m = re.fullmatch(
            r"\$(argon2(?:id|i|d))\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)", hash_
        )
        assert m and m.group(1) == fmt, hash_
        salt, tag = b64_nopad_decode(m.group(5)), b64_nopad_decode(m.group(6))
        typ = {"argon2id": argon2.Type.ID, "argon2i": argon2.Type.I, "argon2d": argon2.Type.D}[fmt]
        raw = argon2_ll.hash_secret_raw(
            password.encode(), salt, time_cost=int(m.group(3)), memory_cost=int(m.group(2)),
            parallelism=int(m.group(4)), hash_len=len(tag), type=typ, version=19,
        )
        return hmac.compare_digest(raw, tag)
    if fmt == "django_pbkdf2_sha256":
        algo, it, salt, b64 = hash_.split("$")
        assert algo == "pbkdf2_sha256" and len(b64) == 44
        dk = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), int(it), 32)
        return base64.b64encode(dk).decode() == b64
    if fmt == "werkzeug_pbkdf2":
        method, salt, hx = hash_.split("$")
        _, digest, it = method.split(":")
        dk = hashlib.pbkdf2_hmac(digest, password.encode(), salt.encode(), int(it))
        assert len(hx) == 2 * hashlib.new(digest).digest_size
        return dk.hex() == hx
    if fmt == "werkzeug_scrypt":
        method, salt, hx = hash_.split("$")
        _, n, r, p = method.split(":")
        n, r, p = int(n), int(r), int(p)
        dk = hashlib.scrypt(password.encode(), salt=salt.encode(), n=n, r=r, p=p, dklen=64, maxmem=132 * n * r * p)
        assert len(hx) == 128
        return dk.hex() == hx
    if fmt == "better_auth_scrypt":
        salt, hx = hash_.split(":")
        assert re.fullmatch(r"[0-9a-f]{32}", salt) and re.fullmatch(r"[0-9a-f]{128}", hx)
        pw = unicodedata.normalize("NFKC", password).encode()
        dk = hashlib.scrypt(pw, salt=salt.encode(), n=16384, r=16, p=1, dklen=64, maxmem=64 * 1024 * 1024)
        return dk.hex() == hx
    if fmt == "bcrypt":
        return True  # no independent implementation here; the bcrypt package checks it
    raise AssertionError(fmt)


# --------------------------------------------------------------------------
# Originating-library verification.

ARGON2_VERIFIER = argon2.PasswordHasher()
POLICY_HASHER = argon2.PasswordHasher(
    time_cost=POLICY["t"], memory_cost=POLICY["m"], parallelism=POLICY["p"], hash_len=POLICY["hash_len"], salt_len=16
)


def origin_verifies(fmt: str, hash_: str, password: str) -> bool:
    if fmt.startswith("argon2"):
        try:
            return ARGON2_VERIFIER.verify(hash_, password)
        except argon2.exceptions.VerifyMismatchError:
            return False
    if fmt == "bcrypt":
        # bcrypt >= 5 refuses > 72 bytes; the truncation is the semantics under test.
        return bcrypt.checkpw(password.encode()[:72], hash_.encode())
    if fmt == "django_pbkdf2_sha256":
        return check_password(password, hash_)
    if fmt.startswith("werkzeug_"):
        return wz.check_password_hash(hash_, password)
    raise AssertionError(fmt)


def case(id_, fmt, source, hash_, password, wrong, needs_rehash, also_verifies=None, note=None, slow=None):
    c = {"id": id_, "format": fmt, "source": source, "hash": hash_, "password": password}
    if also_verifies:
        c["also_verifies"] = also_verifies
    c["wrong"] = wrong
    c["needs_rehash"] = needs_rehash
    if slow:
        c["slow"] = True
    if note:
        c["note"] = note
    return c


def check_case(c: dict, use_origin: bool = True) -> None:
    fmt, h = c["format"], c["hash"]
    good = [c["password"], *c.get("also_verifies", [])]
    for pw in good:
        # polyauth NFKC-normalises before argon2 (a no-op except for also_verifies spellings).
        pw_in = unicodedata.normalize("NFKC", pw) if fmt.startswith("argon2") else pw
        if use_origin and not origin_verifies(fmt, h, pw_in):
            fail(f"{c['id']}: origin library rejects {pw!r}")
        if not recompute_ok(fmt, h, pw_in):
            fail(f"{c['id']}: recomputation from FORMATS text disagrees for {pw!r}")
    for pw in c["wrong"]:
        if use_origin and origin_verifies(fmt, h, pw):
            fail(f"{c['id']}: origin library accepts wrong {pw!r}")
        if fmt != "bcrypt" and recompute_ok(fmt, h, pw):
            fail(f"{c['id']}: recomputation accepts wrong {pw!r}")
    if fmt.startswith("argon2"):
        for pw in [c["password"], *c["wrong"]]:
            # polyauth NFKC-normalises before argon2; keep that a no-op for these vectors.
            if not nfkc_stable(pw):
                fail(f"{c['id']}: {pw!r} is not NFKC-stable")
        if POLICY_HASHER.check_needs_rehash(h) != c["needs_rehash"]:
            fail(f"{c['id']}: needs_rehash disagrees with argon2-cffi's check_needs_rehash")
    elif not c["needs_rehash"]:
        fail(f"{c['id']}: non-argon2id formats always need a rehash")


# --------------------------------------------------------------------------
# Cases.


def python_cases() -> list[dict]:
    out = []
    src_a = f"argon2-cffi {V['argon2-cffi']}"

    h = POLICY_HASHER.hash(ASCII_PW)
    out.append(case(
        "argon2id-polyauth-default", "argon2id", src_a, h, ASCII_PW,
        ["correct horse battery stapLe", "correct horse battery staple "], False,
        note="argon2-cffi PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16): "
             "exactly polyauth's default policy.",
    ))
    h = POLICY_HASHER.hash(UNI_NFC)
    out.append(case(
        "argon2id-polyauth-default-unicode", "argon2id", src_a, h, UNI_NFC,
        ["p\u00e4ssw\u00f6rd-\u00fcn\u00efcod", "P\u00e4ssw\u00f6rd-\u00fcn\u00efcode"], False,
        also_verifies=[UNI_NFD],
        note="Password is NFC (NFKC-stable). The NFD spelling in also_verifies must verify in polyauth because "
             "polyauth NFKC-normalises before argon2 (argon2-cffi itself verifies it only after NFKC).",
    ))
    h = ARGON2_VERIFIER.hash(ASCII_PW)
    p = argon2.extract_parameters(h)
    assert (p.memory_cost, p.time_cost, p.parallelism, p.hash_len) == (65536, 3, 4, 32), p
    out.append(case(
        "argon2id-cffi-default", "argon2id", src_a, h, ASCII_PW,
        ["correct horse battery stap1e", "Correct horse battery staple"], True,
        note="argon2-cffi's own defaults (m=65536, t=3, p=4): valid, but not polyauth's policy.",
    ))
    for typ, fmt in ((argon2.Type.I, "argon2i"), (argon2.Type.D, "argon2d")):
        h = argon2_ll.hash_secret(
            b"argon2 low-level secret", os.urandom(16), time_cost=2, memory_cost=8192, parallelism=1,
            hash_len=32, type=typ,
        ).decode()
        assert h.startswith(f"${fmt}$v=19$m=8192,t=2,p=1$"), h
        out.append(case(
            f"{fmt}-cffi-low-level", fmt, f"{src_a} (argon2.low_level.hash_secret)", h, "argon2 low-level secret",
            ["argon2 low-level secreT", "argon2 low-level secret!"], True,
        ))

    src_b = f"bcrypt {V['bcrypt']}"
    pw = "Tr0ub4dor&3"
    h = bcrypt.hashpw(pw.encode(), bcrypt.gensalt(10)).decode()
    assert h.startswith("$2b$10$")
    for prefix in ("2b", "2a", "2y"):
        hp = f"${prefix}$" + h[4:]
        out.append(case(
            f"bcrypt-{prefix}", "bcrypt", src_b, hp, pw, ["Tr0ub4dor&4", "tr0ub4dor&3"], True,
            note=None if prefix == "2b" else f"The bcrypt-2b hash with its prefix changed to ${prefix}$; "
                                             "same algorithm for these inputs, so it must verify the same.",
        ))
    h = bcrypt.hashpw(UNI_NFC.encode(), bcrypt.gensalt(10)).decode()
    out.append(case(
        "bcrypt-2b-unicode", "bcrypt", src_b, h, UNI_NFC,
        ["p\u00e4ssw\u00f6rd-\u00fcn\u00efcodE", "passw\u00f6rd-\u00fcn\u00efcode"], True,
        note="Non-ASCII password (NFC, NFKC-stable), hashed as its UTF-8 bytes.",
    ))
    h = bcrypt.hashpw(LONG_PW.encode()[:72], bcrypt.gensalt(10)).decode()
    wrong_long = LONG_PW[:70] + ("X" if LONG_PW[70] != "X" else "Y") + LONG_PW[71:]
    assert wrong_long.encode()[:72] != LONG_PW.encode()[:72] and len(wrong_long) == 100
    out.append(case(
        "bcrypt-2b-72-byte-truncation", "bcrypt", src_b, h, LONG_PW,
        [wrong_long, LONG_PW[:71]], True,
        also_verifies=[LONG_PW[:72], LONG_PW[:72] + "Z" * 28],
        note="password is 100 bytes; the hash was made from its first 72 bytes (bcrypt only ever uses 72; "
             "bcrypt 5 refuses longer input, older systems truncated silently). The full 100-byte password "
             "must verify (that is what the old system accepted), and so must anything with the same first "
             "72 bytes (also_verifies). wrong[0] differs at byte 71 (index 70); wrong[1] is only the first "
             "71 bytes.",
    ))

    src_d = f"django {V['django']}"

    class FastPBKDF2(PBKDF2PasswordHasher):
        iterations = 10_000

    h = make_password(ASCII_PW, hasher=FastPBKDF2())
    assert h.startswith("pbkdf2_sha256$10000$")
    out.append(case(
        "django-pbkdf2-sha256-10000", "django_pbkdf2_sha256", src_d, h, ASCII_PW,
        ["correct horse battery staplE", "correct horse battery"], True,
        note="make_password with a PBKDF2PasswordHasher subclass at 10,000 iterations (to keep tests fast).",
    ))
    h = make_password(ASCII_PW, hasher="pbkdf2_sha256")
    default_it = PBKDF2PasswordHasher.iterations
    assert h.startswith(f"pbkdf2_sha256${default_it}$")
    out.append(case(
        "django-pbkdf2-sha256-default-iterations", "django_pbkdf2_sha256", src_d, h, ASCII_PW,
        ["correct horse battery staplf"], True, slow=True,
        note=f"Django {V['django']}'s real default: {default_it:,} iterations. Slow (~1 s per check in a "
             "debug build); marked slow so a suite may skip it in quick runs.",
    ))
    h = make_password(CAFE_NFD, hasher=FastPBKDF2())
    out.append(case(
        "django-pbkdf2-sha256-nfd-raw-bytes", "django_pbkdf2_sha256", src_d, h, CAFE_NFD,
        [CAFE_NFC, "cafe\u0301-passworD"], True,
        note="Password is NFD ('e' + U+0301). Django does NOT normalise: the hash is over the raw UTF-8 bytes, "
             "so it must be verified with the raw bytes. wrong[0] is the NFC spelling of the same text, which "
             "does not verify in Django; a verifier that normalises Django passwords (NFC or NFKC) fails this.",
    ))

    src_w = f"werkzeug {V['werkzeug']}"
    for method, fmt, pw, wrong, note in (
        ("pbkdf2:sha256:10000", "werkzeug_pbkdf2", ASCII_PW,
         ["correct horse battery stapl", "CORRECT HORSE BATTERY STAPLE"], None),
        ("pbkdf2:sha512:10000", "werkzeug_pbkdf2", UNI_NFC,
         ["p\u00e4ssw\u00f6rd-\u00fcn\u00efcod3", "p\u00c4ssw\u00f6rd-\u00fcn\u00efcode"],
         "sha512: 64-byte dk (128 hex chars). Non-ASCII password (NFC, NFKC-stable)."),
        ("scrypt", "werkzeug_scrypt", ASCII_PW, ["correct horse battery stable", "correct horse  battery staple"],
         "generate_password_hash(method='scrypt'): Werkzeug's default, written as scrypt:32768:8:1."),
        ("scrypt:16384:8:1", "werkzeug_scrypt", "Werkzeug-scrypt-16k", ["Werkzeug-scrypt-16K", "werkzeug-scrypt-16k"],
         None),
    ):
        h = wz.generate_password_hash(pw, method=method)
        if method == "scrypt":
            assert h.startswith("scrypt:32768:8:1$"), h
            id_ = "werkzeug-scrypt-default"
        else:
            assert h.startswith(method + "$"), h
            id_ = "werkzeug-" + method.replace(":", "-")
        out.append(case(id_, fmt, src_w, h, pw, wrong, True, note=note))
    return out


def better_auth_cases() -> tuple[dict, list[dict]]:
    if not (HERE / "node_modules" / "better-auth").is_dir():
        fail("run `npm ci` in vectors/generate first (better-auth is not installed)")
    r = subprocess.run(
        ["node", "passwords_better_auth.mjs"], cwd=HERE, check=True, capture_output=True, text=True
    )
    data = json.loads(r.stdout)
    return data["versions"], data["verify"]


# --------------------------------------------------------------------------
# Invalid strings.


def invalid_cases(verify: list[dict]) -> list[dict]:
    by_id = {c["id"]: c for c in verify}
    a = by_id["argon2id-polyauth-default"]["hash"]
    b = by_id["bcrypt-2b"]["hash"]
    d = by_id["django-pbkdf2-sha256-10000"]["hash"]
    ws = by_id["werkzeug-scrypt-16384-8-1"]["hash"]
    a_head = "$argon2id$v=19$m=19456,t=2,p=1$"
    assert a.startswith(a_head)
    a_salt, a_tag = a[len(a_head):].split("$")
    _, d_it, d_salt, d_hash = d.split("$")

    wz_md5 = wz.generate_password_hash("md5-password", method="pbkdf2:md5:1000")
    assert wz.check_password_hash(wz_md5, "md5-password")  # Werkzeug itself accepts it

    long_len = 100 * 1024
    long_prefix, long_suffix = a_head, "$" + "A" * 43  # fixed, so this case is identical every run
    out = [
        {"id": "empty", "hash": "", "why": "empty string"},
        {"id": "plaintext", "hash": "plaintext", "why": "no recognisable format"},
        {"id": "argon2id-truncated", "hash": a_head, "why": "argon2id PHC string with no salt and no tag"},
        {"id": "argon2id-salt-not-base64", "hash": a_head + "not*base64!salt%%$" + a_tag,
         "why": "salt has characters outside the base64 alphabet"},
        {"id": "argon2id-m-4gib", "hash": a.replace("m=19456", "m=4194304"),
         "why": "m=4194304 KiB (4 GiB), otherwise well-formed: must be refused by a memory cap BEFORE allocating "
                "(argon2-cffi parses it fine and would try to allocate 4 GiB)"},
        {"id": "argon2id-t-0", "hash": a.replace("t=2", "t=0"), "why": "t=0 (minimum is 1)"},
        {"id": "argon2id-p-0", "hash": a.replace("p=1", "p=0"), "why": "p=0 (minimum is 1)"},
        {"id": "argon2id-unknown-version", "hash": a.replace("v=19", "v=99"),
         "why": "v=99: only v=19 (0x13) is supported; argon2-cffi reports this as a plain password mismatch, "
                "polyauth must say invalid_hash"},
        {"id": "argon2x-unknown-variant", "hash": a.replace("$argon2id$", "$argon2x$"),
         "why": "unknown variant argon2x"},
        {"id": "bcrypt-cost-99", "hash": "$2b$99$" + b[7:], "why": "bcrypt cost 99 (maximum is 31)"},
        {"id": "bcrypt-truncated", "hash": b[:40], "why": "bcrypt hash cut to 40 of 60 chars"},
        {"id": "django-pbkdf2-iterations-0", "hash": f"pbkdf2_sha256$0${d_salt}${d_hash}",
         "why": "0 iterations (Django's encode() would silently substitute its default for 0)"},
        {"id": "django-pbkdf2-iterations-not-a-number", "hash": f"pbkdf2_sha256$abc${d_salt}${d_hash}",
         "why": "iterations is not a decimal number"},
        {"id": "django-pbkdf2-iterations-1e12", "hash": f"pbkdf2_sha256$1000000000000${d_salt}${d_hash}",
         "why": "10^12 iterations: a denial-of-service cost that must be refused without computing"},
        {"id": "werkzeug-pbkdf2-md5", "hash": wz_md5,
         "why": "unsupported digest md5 for polyauth (a real Werkzeug hash: Werkzeug itself accepts any hashlib "
                "digest, and verifies this one with password 'md5-password')"},
        {"id": "werkzeug-scrypt-n-not-power-of-two", "hash": ws.replace("scrypt:16384:", "scrypt:16383:"),
         "why": "scrypt N=16383 is not a power of two (hashlib.scrypt raises ValueError inside Werkzeug)"},
        {"id": "better-auth-like-non-hex", "hash": "zz:zz",
         "why": "salt:key shape but not hex, wrong lengths (Better Auth's own verifyPassword just returns false)"},
        {"id": "too-long-100k", "hash": None,
         "generate": {"prefix": long_prefix, "repeat": "A", "suffix": long_suffix, "length": long_len},
         "why": f"{long_len:,}-char string: an argon2id PHC string whose salt is ~100 KB of valid base64. The "
                "Argon2 spec allows salts this long, so only an input length cap catches it. Not stored inline: "
                "build it as prefix + repeat * (length - len(prefix) - len(suffix)) + suffix."},
        {"id": "nul-byte", "hash": a + "\u0000",
         "why": "the valid argon2id-polyauth-default hash with a NUL byte appended. argon2-cffi (C strings) "
                "ignores everything from the NUL and VERIFIES it; polyauth must refuse it"},
    ]

    # Check with the peer libraries where that is cheap and safe.
    for c in out:
        h = c["hash"]
        if c["id"].startswith("argon2") and c["id"] != "argon2id-m-4gib":
            try:
                ok = ARGON2_VERIFIER.verify(h, ASCII_PW)
            except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
                ok = False
            if ok:
                fail(f"invalid {c['id']}: argon2-cffi verifies it")
    p = argon2.extract_parameters(by_id["argon2id-polyauth-default"]["hash"].replace("m=19456", "m=4194304"))
    assert p.memory_cost == 4194304  # well-formed apart from m
    for c in out:
        if c["id"].startswith("bcrypt"):
            # bcrypt raises ValueError for the bad cost; for the cut hash it hashes and returns False.
            try:
                ok = bcrypt.checkpw(by_id["bcrypt-2b"]["password"].encode(), c["hash"].encode())
            except ValueError:
                ok = False
            if ok:
                fail(f"invalid {c['id']}: bcrypt verifies it")
    try:
        wz.check_password_hash(by_id["werkzeug-scrypt-16384-8-1"]["hash"].replace("scrypt:16384:", "scrypt:16383:"), "x")
    except ValueError:
        pass
    else:
        fail("werkzeug accepts N=16383")
    assert not check_password(ASCII_PW, f"pbkdf2_sha256$0${d_salt}${d_hash}")
    # Documented quirk kept honest: argon2-cffi stops at the NUL.
    assert ARGON2_VERIFIER.verify(a + "\u0000", ASCII_PW)
    big = long_prefix + "A" * (long_len - len(long_prefix) - len(long_suffix)) + long_suffix
    assert len(big) == long_len
    for c in out:
        if c["hash"] is not None and len(c["hash"]) > 1000:
            fail(f"invalid {c['id']} is unexpectedly long")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()

    ba_versions, ba_cases = better_auth_cases()
    verify = python_cases() + ba_cases
    for c in verify:
        # Better Auth cases were checked with Better Auth in node; recompute them here.
        check_case(c, use_origin=c["format"] != "better_auth_scrypt")
    ids = [c["id"] for c in verify]
    assert len(ids) == len(set(ids))
    missing = {c["format"] for c in verify} - FORMATS.keys()
    assert not missing, missing

    invalid = invalid_cases(verify)

    doc = {
        "description": (
            "Password-hash test vectors shared by polyauth's Rust, Python and Node test suites, made with the "
            "real peer libraries and checked with them. verify[]: 'password' and every 'also_verifies' entry "
            "must verify against 'hash'; every 'wrong' entry must not; 'needs_rehash' is relative to "
            "'policy' (true for every format other than argon2id with exactly those parameters). Optional "
            "fields: 'note' (why the case exists), 'slow' (expensive; a quick run may skip it). Strings are "
            "exact Unicode (JSON \\u escapes keep NFC/NFD distinct); hash the password's UTF-8 bytes. "
            "invalid[]: strings that are not a valid hash in any supported format; polyauth must raise "
            "invalid_hash for each, for any password, without doing the expensive work. An invalid case "
            "with \"hash\": null is too large to store and is built from 'generate': prefix + repeat * "
            "(length - len(prefix) - len(suffix)) + suffix. 'formats' describes each format exactly as "
            "verified by the generator. Hashes are random salted output: regenerating changes them, not "
            "the structure."
        ),
        "generated_by": "vectors/generate/passwords.py (+ passwords_better_auth.mjs)",
        "libraries": {
            **V,
            "better-auth": ba_versions["better-auth"],
            "@better-auth/utils": ba_versions["@better-auth/utils"],
        },
        "policy": POLICY,
        "formats": FORMATS,
        "verify": verify,
        "invalid": invalid,
    }
    text = json.dumps(doc, indent=2, ensure_ascii=True) + "\n"
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({len(text):,} bytes, {len(verify)} verify, {len(invalid)} invalid)")


if __name__ == "__main__":
    main()
