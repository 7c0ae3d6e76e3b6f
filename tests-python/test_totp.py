"""TOTP (OTP-1, OTP-2, OTP-3, OTP-5): RFC vectors, pyotp interop, URIs, QR codes, replay guard."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pyotp
import pytest

import polyauth
from polyauth import InvalidConfigError, InvalidInputError, Totp

B32 = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
DIGESTS = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}
NOW = 1_700_000_000  # a fixed clock; step 56666666
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # 160 bits


@pytest.fixture(scope="module")
def rfc(shared_vectors: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((shared_vectors / "rfc" / "totp_rfc6238.json").read_text("utf-8"))
    return data


@pytest.fixture(scope="module")
def zbarimg() -> str:
    path = shutil.which("zbarimg")
    if path:
        return path
    if os.environ.get("CI") or os.environ.get("POLYAUTH_REQUIRE_SERVICES"):
        pytest.fail("zbarimg (zbar-tools) is required in CI but missing")
    pytest.skip("zbarimg (zbar-tools) not installed")


# --- OTP-1: RFC vectors --------------------------------------------------------------------------


def test_rfc6238_vectors(rfc: dict[str, Any]) -> None:
    assert len(rfc["totp_vectors"]) == 18
    for v in rfc["totp_vectors"]:
        alg = v["algorithm"]
        totp = Totp(digits=8, algorithm=alg, window=0)
        secret = rfc["keys"][alg]["base32"]
        code = totp.code(secret, now=v["unix_time"])
        assert code == v["totp"], v
        assert len(code) == 8  # leading zeros kept (07081804)
        assert totp.verify(secret, v["totp"], now=v["unix_time"]) == v["unix_time"] // 30, v


def test_rfc4226_hotp_values(rfc: dict[str, Any]) -> None:
    hotp = rfc["rfc4226_hotp"]
    secret = base64.b32encode(bytes.fromhex(hotp["key_hex"])).decode()
    totp = Totp(digits=6, window=0)
    assert len(hotp["vectors"]) == 10
    for v in hotp["vectors"]:
        t = v["counter"] * 30
        assert totp.code(secret, now=t) == v["hotp"], v
        assert totp.code(secret, now=t + 29) == v["hotp"], v
        assert totp.verify(secret, v["hotp"], now=t) == v["counter"], v


# --- interop with pyotp --------------------------------------------------------------------------


@pytest.mark.parametrize("digits", [6, 8])
@pytest.mark.parametrize("alg", ["SHA1", "SHA256", "SHA512"])
def test_codes_match_pyotp(alg: str, digits: int) -> None:
    rng = random.Random(f"{alg}-{digits}")
    totp = Totp(digits=digits, algorithm=alg)
    secret = totp.generate_secret()
    peer = pyotp.TOTP(secret, digits=digits, digest=DIGESTS[alg])
    for _ in range(200):
        t = rng.randrange(0, 2**34)
        ours = totp.code(secret, now=t)
        assert ours == peer.at(t), (t, secret)
        assert totp.verify(secret, peer.at(t), now=t) == t // 30


@pytest.mark.parametrize("alg", ["SHA1", "SHA256", "SHA512"])
def test_uri_round_trips_with_pyotp(alg: str) -> None:
    totp = Totp(issuer="ACME Co & Prod/1", digits=8, period=60, algorithm=alg)
    secret = totp.generate_secret()
    uri = totp.uri(secret, "alice+mfa@example.com")
    assert uri.startswith("otpauth://totp/")
    peer = pyotp.parse_uri(uri)
    assert isinstance(peer, pyotp.TOTP)
    assert peer.secret == secret
    assert peer.issuer == "ACME Co & Prod/1"
    assert peer.name == "alice+mfa@example.com"
    assert peer.digits == 8
    assert peer.interval == 60
    assert peer.digest is DIGESTS[alg] or peer.digest().name == DIGESTS[alg]().name
    assert peer.at(NOW) == totp.code(secret, now=NOW)
    assert Totp.parse_uri(uri) == {
        "secret": secret,
        "account": "alice+mfa@example.com",
        "issuer": "ACME Co & Prod/1",
        "digits": 8,
        "period": 60,
        "algorithm": alg,
    }


@pytest.mark.parametrize("alg", ["SHA1", "SHA256", "SHA512"])
def test_pyotp_uri_parses_in_ours(alg: str) -> None:
    secret = pyotp.random_base32(32)
    peer = pyotp.TOTP(
        secret, digits=8, interval=45, digest=DIGESTS[alg], issuer="Example Inc", name="bob@x.org"
    )
    parsed = Totp.parse_uri(peer.provisioning_uri())
    assert parsed == {
        "secret": secret,
        "account": "bob@x.org",
        "issuer": "Example Inc",
        "digits": 8,
        "period": 45,
        "algorithm": alg,
    }
    totp = Totp(digits=parsed["digits"], period=parsed["period"], algorithm=parsed["algorithm"])
    assert totp.code(parsed["secret"], now=NOW) == peer.at(NOW)


def test_parse_uri_rejects_garbage() -> None:
    for bad in ["", "https://example.com", "otpauth://hotp/x?secret=" + SECRET, "otpauth://totp/x"]:
        with pytest.raises(polyauth.AuthError):
            Totp.parse_uri(bad)


# --- QR codes ------------------------------------------------------------------------------------


def test_qr_png_decodes_to_uri(zbarimg: str, tmp_path: Path) -> None:
    totp = Totp(issuer="ACME Co", algorithm="SHA256", digits=8)
    uri = totp.uri(totp.generate_secret(), "alice@example.com")
    png = Totp.qr_png(uri)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    path = tmp_path / "qr.png"
    path.write_bytes(png)
    out = subprocess.run([zbarimg, "--raw", "-q", str(path)], capture_output=True, check=True, timeout=30)
    assert out.stdout.decode().strip() == uri
    # The data URI carries the same PNG.
    data_uri = Totp.qr_data_uri(uri)
    prefix = "data:image/png;base64,"
    assert data_uri.startswith(prefix)
    assert base64.b64decode(data_uri[len(prefix) :]) == png


def test_qr_svg_is_well_formed() -> None:
    uri = Totp(issuer="ACME").uri(SECRET, "alice@example.com")
    svg = Totp.qr_svg(uri)
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    assert len(list(root.iter())) > 1
    assert Totp.qr_svg(uri) == svg  # deterministic


# --- OTP-2 / OTP-3: window and replay ------------------------------------------------------------


def test_verify_window_returns_matched_step() -> None:
    totp = Totp()
    step = NOW // 30
    for delta in (-1, 0, 1):
        code = totp.code(SECRET, now=NOW + 30 * delta)
        assert totp.verify(SECRET, code, now=NOW) == step + delta
    for delta in (-3, -2, 2, 3):
        code = totp.code(SECRET, now=NOW + 30 * delta)
        if code not in {totp.code(SECRET, now=NOW + 30 * d) for d in (-1, 0, 1)}:
            assert totp.verify(SECRET, code, now=NOW) is None, delta


def test_window_zero_accepts_only_current_step() -> None:
    totp = Totp(window=0)
    step = NOW // 30
    assert totp.verify(SECRET, totp.code(SECRET, now=NOW), now=NOW) == step
    assert totp.verify(SECRET, totp.code(SECRET, now=NOW - 30), now=NOW) is None
    assert totp.verify(SECRET, totp.code(SECRET, now=NOW + 30), now=NOW) is None


def test_after_step_refuses_same_and_older_steps() -> None:
    totp = Totp()
    step = NOW // 30
    prev, cur, nxt = (totp.code(SECRET, now=NOW + 30 * d) for d in (-1, 0, 1))
    # Replay: the code accepted at step T is refused once T is stored.
    assert totp.verify(SECRET, cur, now=NOW) == step
    assert totp.verify(SECRET, cur, after_step=step, now=NOW) is None
    assert totp.verify(SECRET, prev, after_step=step, now=NOW) is None
    assert totp.verify(SECRET, nxt, after_step=step, now=NOW) == step + 1
    # An older stored step does not block the current one.
    assert totp.verify(SECRET, cur, after_step=step - 1, now=NOW) == step
    assert totp.verify(SECRET, prev, after_step=step - 1, now=NOW) is None
    assert totp.verify(SECRET, cur, after_step=step + 1, now=NOW) is None


# --- bad input / config --------------------------------------------------------------------------


def test_malformed_codes_are_rejected() -> None:
    totp = Totp()
    code = totp.code(SECRET, now=NOW)
    assert totp.verify(SECRET, code, now=NOW) is not None
    bad = [
        "",
        "abcdef",
        "12a456",
        " " + code,
        code + " ",
        code[:3] + " " + code[3:],
        code[:5],
        code + "0",
        "1234567890",
    ]
    bad += ["12345", "123456789", "1" * 16, "\uff10" * 5, "\u0661" * 6]
    for c in bad:
        assert totp.verify(SECRET, c, now=NOW) is None, repr(c)


def test_oversized_code_raises() -> None:
    with pytest.raises(InvalidInputError):
        Totp().verify(SECRET, "1" * 1_000_000, now=NOW)
    with pytest.raises(InvalidInputError):
        Totp().verify(SECRET, "1" * 1_000_000, after_step=0)


def test_issuer_with_colon_is_refused() -> None:
    # The Key URI label is "issuer:account"; a colon in the issuer would be ambiguous.
    with pytest.raises(InvalidConfigError):
        Totp(issuer="ACME: Prod")


@pytest.mark.parametrize("value", [None, 123, b"123456"])
def test_wrong_types_raise_type_error(value: Any) -> None:
    totp = Totp()
    with pytest.raises(TypeError):
        totp.verify(SECRET, value, now=NOW)
    with pytest.raises(TypeError):
        totp.verify(value, "123456", now=NOW)
    with pytest.raises(TypeError):
        totp.code(value, now=NOW)


@pytest.mark.parametrize(
    "secret", ["", "JBSWY3DP", "JBSWY3DPEHPK3PX", "not base32!", "JBSWY3DPEHPK3PXP18", "ÄÖÜ" * 11]
)
def test_bad_secrets_raise(secret: str) -> None:
    totp = Totp()
    with pytest.raises(InvalidInputError):
        totp.verify(secret, "123456", now=NOW)
    with pytest.raises(InvalidInputError):
        totp.code(secret, now=NOW)
    with pytest.raises(InvalidInputError):
        totp.uri(secret, "alice")


@pytest.mark.parametrize("size", [16, 19])
def test_secrets_under_160_bits_are_refused(size: int) -> None:
    # OTP-5: at least 160 bits; 128-bit (16-byte) secrets used to be accepted.
    raw = bytes(range(1, size + 1))
    totp = Totp()
    for secret in [base64.b32encode(raw).decode(), base64.b32encode(raw).decode().rstrip("=")]:
        with pytest.raises(InvalidInputError) as e:
            totp.code(secret, now=NOW)
        assert e.value.code == "invalid_input" and "160 bits" in str(e.value)
        with pytest.raises(InvalidInputError):
            totp.verify(secret, "123456", now=NOW)
        with pytest.raises(InvalidInputError):
            totp.uri(secret, "alice")
        with pytest.raises(InvalidInputError):
            Totp.parse_uri(f"otpauth://totp/Example:alice?secret={secret}&issuer=Example")
    # 160 bits is enough.
    ok = base64.b32encode(bytes(range(1, 21))).decode()
    assert totp.code(ok, now=NOW) == pyotp.TOTP(ok).at(NOW)
    assert Totp.parse_uri(totp.uri(ok, "alice"))["secret"] == ok


@pytest.mark.parametrize(
    "kwargs",
    [
        {"digits": 5},
        {"digits": 9},
        {"period": 0},
        {"period": 10},
        {"window": 2},
        {"algorithm": "MD5"},
        {"algorithm": ""},
    ],
)
def test_bad_config_raises(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidConfigError):
        Totp(**kwargs)


def test_properties_and_defaults() -> None:
    totp = Totp()
    assert (totp.issuer, totp.digits, totp.period, totp.algorithm, totp.window) == ("", 6, 30, "SHA1", 1)
    totp = Totp(issuer="X", digits=8, period=60, algorithm="SHA512", window=0)
    assert (totp.issuer, totp.digits, totp.period, totp.algorithm, totp.window) == ("X", 8, 60, "SHA512", 0)


# --- OTP-5: secrets ------------------------------------------------------------------------------


def test_generate_secret_is_160_bit_base32_and_unique() -> None:
    totp = Totp()
    secrets = {totp.generate_secret() for _ in range(1000)}
    assert len(secrets) == 1000
    for s in secrets:
        assert len(s) == 32
        assert set(s) <= B32
        assert len(base64.b32decode(s)) == 20
    for alg, nbytes in (("SHA256", 32), ("SHA512", 64)):
        s = Totp(algorithm=alg).generate_secret()
        assert len(base64.b32decode(s + "=" * (-len(s) % 8))) >= nbytes


def test_repr_has_no_secret() -> None:
    totp = Totp(issuer="ACME")
    secret = totp.generate_secret()
    totp.verify(secret, totp.code(secret, now=NOW), now=NOW)
    text = repr(totp)
    assert text.startswith("Totp(")
    assert "ACME" in text
    assert secret not in text
    assert secret[:8] not in text
