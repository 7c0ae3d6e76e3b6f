"""PasswordPolicy (PW-6..PW-9): boundaries, blocklists, context words, errors."""

from __future__ import annotations

from typing import Any

import pytest

import polyauth
from polyauth import PasswordPolicy

BASE = "correcthorsebatterystaple"


def s(n: int) -> str:
    return (BASE * 10)[:n]


@pytest.mark.parametrize(
    ("length", "mfa", "expected"),
    [
        (7, True, ["too_short"]),
        (8, True, []),
        (14, False, ["too_short"]),
        (15, False, []),
        (64, False, []),
        (65, False, []),
        (128, False, []),
        (129, False, ["too_long"]),
    ],
)
def test_length_boundaries(length: int, mfa: bool, expected: list[str]) -> None:
    assert PasswordPolicy().check(s(length), mfa=mfa) == expected


def test_emoji_is_one_character() -> None:
    assert PasswordPolicy().check(s(14) + "\U0001f600") == []
    assert PasswordPolicy().check(s(13) + "\U0001f600") == ["too_short"]


def test_nfkc_counts_after_normalisation() -> None:
    # U+FB01 (the "fi" ligature) is two characters after NFKC.
    assert PasswordPolicy().check(s(13) + "\ufb01") == []


def test_blocklists() -> None:
    policy = PasswordPolicy(blocklist=["Our-Company-Password-2024"])
    assert "common_password" in policy.check("password")
    assert "common_password" in policy.check("PassWord")
    assert "common_password" in policy.check("our-company-password-2024")
    assert polyauth.BUILTIN_BLOCKLIST_SIZE >= 10_000
    assert PasswordPolicy(use_builtin_blocklist=False).check("password", mfa=True) == []


def test_context_words() -> None:
    policy = PasswordPolicy(context_words=["Acme Widgets"])
    assert "contains_context_word" in policy.check("i really love acme widgets")
    assert "contains_context_word" in policy.check("xx-jane-1984-yy-zz-qq", context=["jane.doe@example.com"])
    assert "contains_context_word" in policy.check("my example password zz", context=["jane.doe@example.com"])
    assert policy.check("horse-battery-staple-x", context=["jane.doe@example.com"]) == []


def test_repetitive() -> None:
    assert PasswordPolicy().check("a" * 20) == ["repetitive"]


def test_validate_raises_with_reasons() -> None:
    with pytest.raises(polyauth.PasswordPolicyError) as info:
        PasswordPolicy().validate("password")
    assert info.value.code == "password_policy"
    assert info.value.reasons == ["too_short", "common_password"]
    with pytest.raises(polyauth.PasswordPolicyError) as info:
        PasswordPolicy().validate("Tr0ub4dor&3")
    assert info.value.reasons == ["too_short"]
    assert "Tr0ub4dor" not in str(info.value) and "Tr0ub4dor" not in repr(info.value)
    PasswordPolicy().validate("a perfectly fine passphrase")


@pytest.mark.parametrize("kwargs", [{"min_length": 7}, {"max_length": 63}, {"max_length": 5000}])
def test_invalid_config(kwargs: dict[str, Any]) -> None:
    with pytest.raises(polyauth.InvalidConfigError):
        PasswordPolicy(**kwargs)


def test_hasher_carries_policy() -> None:
    policy = PasswordPolicy(min_length=20)
    h = polyauth.PasswordHasher(policy=policy)
    assert h.policy.min_length == 20
    # Hashing does not enforce the policy: that is the application's choice.
    assert h.verify(h.hash("short"), "short")
    assert "min_length=20" in repr(policy)
