"""The verified-token cache of ``Tokens.verify`` (core ``verify_cache``): a token presented again
skips the signature check only. The same cases run in tests-node/verify-cache.test.mjs."""

import time

import pytest

from polyauth import KeySet, Tokens
from polyauth.errors import AuthError

ISSUER = "https://issuer.example"


def make_tokens(keys: KeySet | None = None, verify_cache: int = 10_000) -> Tokens:
    keys = keys or KeySet.generate("EdDSA")
    return Tokens(keys, issuer=ISSUER, audience="api", leeway=0, verify_cache=verify_cache)


def code_of(fn: object) -> str:
    with pytest.raises(AuthError) as e:
        fn()  # type: ignore[operator]
    return e.value.code


def test_a_hit_returns_the_same_claims_in_a_fresh_dict() -> None:
    tokens = make_tokens()
    token = tokens.issue("u", {"roles": ["admin"]}, ttl=60)
    first = tokens.verify(token)
    assert tokens._cached_tokens == 1
    first["roles"].append("intruder")
    first["sub"] = "someone-else"
    again = tokens.verify(token)
    assert again == {**first, "sub": "u", "roles": ["admin"]}
    assert again is not first
    assert tokens._cached_tokens == 1


def test_a_hit_still_checks_the_clock_and_the_options() -> None:
    tokens = make_tokens()
    token = tokens.issue("u", ttl=60)
    iat = tokens.verify(token)["iat"]
    assert code_of(lambda: tokens.verify(token, now=iat - 1)) == "token_not_yet_valid"
    assert code_of(lambda: tokens.verify(token, audience="other")) == "invalid_audience"
    assert code_of(lambda: tokens.verify(token, typ="refresh+jwt")) == "invalid_type"
    assert code_of(lambda: tokens.verify(token, required=["sid"])) == "missing_claim"
    assert tokens._cached_tokens == 1
    assert tokens.verify(token, now=iat + 59)["sub"] == "u"
    assert code_of(lambda: tokens.verify(token, now=iat + 60)) == "token_expired"
    assert tokens._cached_tokens == 0, "an expired token leaves the cache"


def test_failures_are_never_cached() -> None:
    tokens = make_tokens()
    token = tokens.issue("u", ttl=1)
    expired_at = int(time.time()) + 5
    for _ in range(2):
        assert code_of(lambda: tokens.verify(token, now=expired_at)) == "token_expired"
    assert tokens._cached_tokens == 0


def test_a_tampered_token_is_not_served_from_the_cache() -> None:
    tokens = make_tokens()
    token = tokens.issue("u", ttl=60)
    tokens.verify(token)
    for i in (len(token) - 1, len(token) // 2, 3):
        bad = token[:i] + ("B" if token[i] == "A" else "A") + token[i + 1 :]
        with pytest.raises(AuthError):
            tokens.verify(bad)
    assert tokens.verify(token)["sub"] == "u"
    assert tokens._cached_tokens == 1


def test_rotation_and_retirement_empty_the_cache() -> None:
    keys = KeySet.generate("EdDSA", kid="old")
    tokens = make_tokens(keys)
    token = tokens.issue("u", ttl=60)
    tokens.verify(token)
    keys.rotate()
    assert tokens._cached_tokens == 1  # emptied on the next lookup
    assert tokens.verify(token)["sub"] == "u", "verified again with the old key, still in the set"
    keys.retire("old")
    assert code_of(lambda: tokens.verify(token)) == "unknown_key"
    assert tokens._cached_tokens == 0


def test_the_cache_is_bounded() -> None:
    tokens = make_tokens()
    issued = [tokens.issue(f"u{i}", ttl=600) for i in range(10_050)]
    for token in issued:
        tokens.verify(token)
    assert tokens._cached_tokens == 10_000
    assert tokens.verify(issued[0])["sub"] == "u0", "an evicted token verifies again"


def test_the_capacity_is_a_setting() -> None:
    small = make_tokens(verify_cache=3)
    for i in range(10):
        small.verify(small.issue(f"u{i}", ttl=60))
        assert small._cached_tokens <= 3
    off = make_tokens(verify_cache=0)
    token = off.issue("u", ttl=60)
    assert off.verify(token) == off.verify(token)
    assert off._cached_tokens == 0
