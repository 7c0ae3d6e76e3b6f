"""The error table: every core code maps to an AuthError subclass with that code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polyauth
from polyauth import errors

DESIGN_CODES = {
    "invalid_token", "invalid_signature", "token_expired", "token_not_yet_valid", "invalid_audience",
    "invalid_issuer", "invalid_type", "missing_claim", "unknown_key", "unsupported_algorithm",
    "invalid_key", "invalid_hash", "password_policy", "refresh_reused", "session_revoked",
    "session_expired", "totp_invalid", "totp_replayed", "rate_limited", "store_unavailable",
    "invalid_config",
}  # fmt: skip


def test_every_core_code_has_a_class() -> None:
    codes = polyauth.error_codes()
    assert DESIGN_CODES <= set(codes)
    assert set(codes) == set(errors._BY_CODE)
    for code, cls in errors._BY_CODE.items():
        assert issubclass(cls, polyauth.AuthError)
        assert cls.code == code
        assert getattr(polyauth, cls.__name__) is cls


def test_repr_shows_code() -> None:
    e = polyauth.InvalidHashError("invalid password hash: x")
    assert repr(e) == "InvalidHashError(code='invalid_hash', message='invalid password hash: x')"


def test_stubs_match_the_native_module() -> None:
    # mypy's stubtest imports the compiled module and diffs it against _native.pyi; the
    # signatures whose defaults are the core's are checked by test_option_defaults.py instead.
    allowlist = Path(__file__).parent.parent / "bindings-python" / "stubtest-allowlist.txt"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy.stubtest",
            "polyauth._native",
            "--ignore-missing-stub",
            "--allowlist",
            str(allowlist),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
