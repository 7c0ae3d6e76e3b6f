"""Tokens: the shared vectors, the issued format, interop with PyJWT both ways, and the attacks of
DESIGN.md §7 (JWT-1 to JWT-13), each as a named test."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

import polyauth
from conftest import SHARED_VECTORS, load_project
from polyauth import KeySet, Tokens

ISSUER = "https://issuer.example"
AUDIENCE = "api"
INTEROP_ALGS = ["EdDSA", "ES256", "ES384", "PS256", "HS256", "HS384", "HS512"]
VECTORS = load_project("tokens.json")

# ---- helpers ------------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def segments(token: str) -> list[str]:
    return token.split(".")


def header(token: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(b64url_decode(segments(token)[0]))
    return value


def payload(token: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(b64url_decode(segments(token)[1]))
    return value


Signer = Callable[[bytes], bytes]


def signer_for(keys: KeySet) -> Signer:
    """Signs a JWS signing input with the set's signing key, outside polyauth (cryptography)."""
    jwk = keys.to_jwks(private=True)["keys"][0]
    alg = jwk["alg"]
    if alg.startswith("HS"):
        secret = b64url_decode(jwk["k"])
        digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
        return lambda data: hmac.new(secret, data, digest).digest()
    key = serialization.load_pem_private_key(keys.to_pem(private=True).encode(), password=None)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign
    if isinstance(key, ec.EllipticCurvePrivateKey):
        size = (key.curve.key_size + 7) // 8
        hash_alg = {"ES256": hashes.SHA256(), "ES384": hashes.SHA384(), "ES512": hashes.SHA512()}[alg]

        def sign_ec(data: bytes) -> bytes:
            r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hash_alg)))
            return r.to_bytes(size, "big") + s.to_bytes(size, "big")

        return sign_ec
    assert isinstance(key, rsa.RSAPrivateKey)
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    return lambda data: key.sign(data, pss, hashes.SHA256())


def forge(head: str, body: str, sign: Signer) -> str:
    """A compact JWS from already-encoded header and payload segments, signed over them as given."""
    signing_input = f"{head}.{body}"
    return f"{signing_input}.{b64url(sign(signing_input.encode()))}"


def make(header_value: dict[str, Any] | str, claims: dict[str, Any] | str, sign: Signer) -> str:
    """A compact JWS of `header_value` and `claims` (dicts, or raw JSON text)."""
    h = b64url(header_value.encode()) if isinstance(header_value, str) else b64json(header_value)
    p = b64url(claims.encode()) if isinstance(claims, str) else b64json(claims)
    return forge(h, p, sign)


def good_claims(now: int | None = None, **extra: Any) -> dict[str, Any]:
    now = int(time.time()) if now is None else now
    return {"iss": ISSUER, "aud": AUDIENCE, "sub": "user-1", "iat": now, "exp": now + 600, **extra}


def tokens_for(keys: KeySet | polyauth.RemoteKeySet, **kwargs: Any) -> Tokens:
    return Tokens(keys, issuer=ISSUER, audience=AUDIENCE, **kwargs)


def expect_code(
    codes: str | set[str], fn: Callable[..., Any], token: str, **kwargs: Any
) -> polyauth.AuthError:
    """`fn(token, **kwargs)` raises an AuthError with one of `codes`; its message and repr never
    contain the token or any of its segments."""
    with pytest.raises(polyauth.AuthError) as info:
        fn(token, **kwargs)
    err = info.value
    wanted = {codes} if isinstance(codes, str) else codes
    assert err.code in wanted, f"{err!r}"
    text = str(err) + repr(err)
    if len(token) >= 8:
        assert token not in text
    for part in segments(token):
        if len(part) >= 8:
            assert part not in text, f"token segment in error message: {err!r}"
    return err


@pytest.fixture(scope="module")
def ed_keys() -> KeySet:
    return KeySet.generate("EdDSA")


@pytest.fixture(scope="module")
def ed_tokens(ed_keys: KeySet) -> Tokens:
    return tokens_for(ed_keys)


@pytest.fixture(scope="module")
def ed_sign(ed_keys: KeySet) -> Signer:
    return signer_for(ed_keys)


@pytest.fixture(scope="module")
def kid(ed_keys: KeySet) -> str:
    assert ed_keys.signing_kid is not None
    return ed_keys.signing_kid


@pytest.fixture(scope="module")
def interop_keys() -> dict[str, KeySet]:
    return {alg: KeySet.generate(alg) for alg in INTEROP_ALGS}


# ---- vectors/tokens.json ------------------------------------------------------------------------


@pytest.mark.parametrize("case", VECTORS["tokens"], ids=lambda c: c["id"])
def test_vector_tokens_verify(case: dict[str, Any]) -> None:
    keys = KeySet.from_jwks(VECTORS["keys"][case["alg"]])
    t = Tokens(keys, issuer=VECTORS["issuer"], audience=VECTORS["audience"])
    claims = t.verify(case["token"], now=case["claims"]["iat"])
    assert claims == case["claims"]
    assert header(case["token"])["alg"] == case["alg"]
    assert header(case["token"])["typ"] == "at+jwt"


@pytest.mark.parametrize("case", VECTORS["invalid"], ids=lambda c: c["id"])
def test_vector_invalid_cases(case: dict[str, Any]) -> None:
    keys = KeySet.from_jwks(VECTORS["keys"][case["alg"]])
    require_typ = case.get("require_typ", True)
    t = Tokens(keys, issuer=VECTORS["issuer"], audience=VECTORS["audience"], require_typ=require_typ)
    assert t.require_typ is require_typ
    options: dict[str, Any] = {"now": case["now"]}
    for name in ("audience", "typ", "required"):
        if name in case:
            options[name] = case[name]
    if case["code"] is None:
        assert t.verify(case["token"], **options)["iss"] == VECTORS["issuer"]
    else:
        expect_code(case["code"], t.verify, case["token"], **options)


def test_vectors_cover_both_bindings() -> None:
    issuers = {c["issued_by"] for c in VECTORS["tokens"]}
    assert issuers == {"python", "node"}
    assert {c["alg"] for c in VECTORS["tokens"]} == set(VECTORS["keys"])


# ---- the issued format --------------------------------------------------------------------------


def test_issue_format(ed_keys: KeySet, ed_tokens: Tokens, kid: str) -> None:
    before = int(time.time())
    token = ed_tokens.issue("user-1")
    after = int(time.time())
    assert header(token) == {"alg": "EdDSA", "kid": kid, "typ": "at+jwt"}
    claims = payload(token)
    assert set(claims) == {"iss", "sub", "aud", "exp", "iat", "jti"}
    assert claims["iss"] == ISSUER
    assert claims["sub"] == "user-1"
    assert claims["aud"] == AUDIENCE
    assert before <= claims["iat"] <= after
    assert claims["exp"] - claims["iat"] == 900
    assert len(claims["jti"]) == 22
    assert len(b64url_decode(claims["jti"])) == 16
    assert ed_tokens.verify(token) == claims


def test_verified_claim_names_are_interned_strings(ed_keys: KeySet, ed_tokens: Tokens) -> None:
    # Every verification builds a new dict: the registered names are the interpreter's interned
    # str objects (no new str and no rehashing per claim); other names are ordinary strings.
    token = ed_tokens.issue("user-1", claims={"scope": "a b", "amr": ["pwd"], "tenant_x": 1})
    for claims in (ed_tokens.verify(token), ed_tokens.verify(token)):
        names = [k for k in claims if k != "tenant_x"]
        assert set(names) == {"iss", "sub", "aud", "exp", "iat", "jti", "scope", "amr"}
        assert all(k is sys.intern(k) for k in names), names
        assert claims["tenant_x"] == 1
    headers, _ = ed_keys.verify_jws(token)
    assert all(k is sys.intern(k) for k in headers), headers


def test_jti_unique(ed_tokens: Tokens) -> None:
    jtis = {payload(ed_tokens.issue("user-1"))["jti"] for _ in range(100)}
    assert len(jtis) == 100
    assert all(len(j) == 22 for j in jtis)


def test_ttl_default_and_override(ed_keys: KeySet, ed_tokens: Tokens) -> None:
    claims = payload(ed_tokens.issue("u", ttl=60))
    assert claims["exp"] - claims["iat"] == 60
    short = tokens_for(ed_keys, access_ttl=120)
    claims = payload(short.issue("u"))
    assert claims["exp"] - claims["iat"] == 120
    for bad in (0, 86_401):
        with pytest.raises(polyauth.InvalidInputError):
            ed_tokens.issue("u", ttl=bad)


def test_claims_carried(ed_tokens: Tokens) -> None:
    extra = {
        "sid": "sess-1",
        "scope": "read write",
        "amr": ["pwd", "otp"],
        "client_id": "web",
        "auth_time": 1700000000,
        "roles": ["admin"],
        "nested": {"a": [1, 2.5, None, True], "b": "é✓"},
    }
    token = ed_tokens.issue("user-1", extra)
    claims = ed_tokens.verify(token)
    for name, value in extra.items():
        assert claims[name] == value


def test_list_audience_issued_as_list(ed_keys: KeySet) -> None:
    t = Tokens(ed_keys, issuer=ISSUER, audience=["api", "admin"])
    assert t.audience == ["api", "admin"]
    token = t.issue("u")
    assert payload(token)["aud"] == ["api", "admin"]
    assert t.verify(token)["sub"] == "u"
    assert tokens_for(ed_keys).verify(token)["sub"] == "u"
    expect_code("invalid_audience", t.verify, token, audience="other")


@pytest.mark.parametrize("name", ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"])
def test_reserved_claim_refused(name: str, ed_tokens: Tokens) -> None:
    with pytest.raises(polyauth.AuthError) as info:
        ed_tokens.issue("user-1", {name: "x"})
    assert info.value.code == "invalid_input"


def test_bad_config_refused(ed_keys: KeySet) -> None:
    for kwargs in (
        {"issuer": "", "audience": "api"},
        {"issuer": ISSUER, "audience": ""},
        {"issuer": ISSUER, "audience": []},
        {"issuer": ISSUER, "audience": "api", "leeway": 301},
        {"issuer": ISSUER, "audience": "api", "access_ttl": 0},
        {"issuer": ISSUER, "audience": "api", "max_token_size": 100},
    ):
        with pytest.raises(polyauth.InvalidConfigError):
            Tokens(ed_keys, **kwargs)


def test_tokens_properties(ed_keys: KeySet, ed_tokens: Tokens) -> None:
    assert ed_tokens.keys is ed_keys
    assert ed_tokens.issuer == ISSUER
    assert ed_tokens.audience == [AUDIENCE]
    assert repr(ed_tokens) == 'Tokens(issuer="https://issuer.example", audience=["api"])'


# ---- interop with PyJWT -------------------------------------------------------------------------


def pyjwt_keys(keys: KeySet) -> tuple[Any, Any]:
    """(signing key, verification key) for PyJWT."""
    private = keys.to_jwks(private=True)["keys"][0]
    if private["kty"] == "oct":
        secret = b64url_decode(private["k"])
        return secret, secret
    signing = serialization.load_pem_private_key(keys.to_pem(private=True).encode(), password=None)
    return signing, jwt.PyJWK(keys.to_jwks()["keys"][0]).key


@pytest.mark.parametrize("alg", INTEROP_ALGS)
def test_polyauth_token_verifies_in_pyjwt(alg: str, interop_keys: dict[str, KeySet]) -> None:
    keys = interop_keys[alg]
    token = tokens_for(keys).issue("user-1", {"scope": "read"})
    _, key = pyjwt_keys(keys)
    claims = jwt.decode(
        token,
        key,
        algorithms=[alg],
        audience=AUDIENCE,
        issuer=ISSUER,
        options={"require": ["exp", "iat", "sub", "jti"]},
    )
    assert claims == payload(token)
    assert jwt.get_unverified_header(token) == {"alg": alg, "kid": keys.signing_kid, "typ": "at+jwt"}
    # And PyJWT rejects it when the signature is off.
    h, p, s = segments(token)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(f"{h}.{p}.{s[:-4]}AAAA", key, algorithms=[alg], audience=AUDIENCE)


@pytest.mark.parametrize("alg", INTEROP_ALGS)
def test_pyjwt_token_verifies_in_polyauth(alg: str, interop_keys: dict[str, KeySet]) -> None:
    keys = interop_keys[alg]
    key, _ = pyjwt_keys(keys)
    now = int(time.time())
    token = jwt.encode(
        {"iss": ISSUER, "aud": AUDIENCE, "sub": "user-9", "exp": now + 300, "iat": now, "tenant": "t1"},
        key,
        algorithm=alg,
        headers={"kid": keys.signing_kid, "typ": "at+jwt"},
    )
    claims = tokens_for(keys).verify(token)
    assert claims == {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-9",
        "exp": now + 300,
        "iat": now,
        "tenant": "t1",
    }
    # Without the kid header the single-key set still selects its key.
    token = jwt.encode(
        {"iss": ISSUER, "aud": AUDIENCE, "sub": "user-9", "exp": now + 300},
        key,
        algorithm=alg,
        headers={"typ": "at+jwt"},
    )
    assert tokens_for(keys).verify(token)["sub"] == "user-9"


# ---- JWT-1: none and empty signatures -----------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_rejected(alg: str, ed_tokens: Tokens, ed_sign: Signer, kid: str) -> None:
    claims = b64json(good_claims())
    for head in (
        {"alg": alg, "kid": kid, "typ": "at+jwt"},
        {"alg": alg, "typ": "at+jwt"},
        {"alg": alg},
    ):
        h = b64json(head)
        expect_code("unsupported_algorithm", ed_tokens.verify, f"{h}.{claims}.")
        # A signature present does not help either.
        expect_code("unsupported_algorithm", ed_tokens.verify, forge(h, claims, ed_sign))


def test_empty_signature_rejected(ed_tokens: Tokens, ed_keys: KeySet) -> None:
    h, p, _ = segments(ed_tokens.issue("user-1"))
    expect_code("invalid_signature", ed_tokens.verify, f"{h}.{p}.")
    expect_code("invalid_signature", ed_keys.verify_jws, f"{h}.{p}.")
    hs = KeySet.generate("HS256")
    h, p, _ = segments(tokens_for(hs).issue("user-1"))
    expect_code("invalid_signature", tokens_for(hs).verify, f"{h}.{p}.")


def test_truncated_and_zero_signatures_rejected(ed_tokens: Tokens) -> None:
    h, p, s = segments(ed_tokens.issue("user-1"))
    sig = b64url_decode(s)
    for bad in (sig[:32], sig[:-1], sig + b"\x00", bytes(64)):
        expect_code("invalid_signature", ed_tokens.verify, f"{h}.{p}.{b64url(bad)}")


# ---- JWT-2: the key fixes the algorithm ---------------------------------------------------------


@pytest.mark.parametrize(
    ("alg", "secret_form"),
    [(a, f) for a in ("PS256", "ES256", "EdDSA") for f in ("pem", "jwk", "jwk-compact", "raw")],
)
def test_public_key_as_hmac_secret_rejected(
    alg: str, secret_form: str, interop_keys: dict[str, KeySet]
) -> None:
    keys = interop_keys[alg]
    kid = keys.signing_kid
    jwk = keys.to_jwks()["keys"][0]
    secret = {
        "pem": keys.to_pem().encode(),
        "jwk": json.dumps(jwk).encode(),
        "jwk-compact": json.dumps(jwk, separators=(",", ":"), sort_keys=True).encode(),
        "raw": b64url_decode(jwk.get("x") or jwk["n"]),
    }[secret_form]

    def sign(data: bytes) -> bytes:
        return hmac.new(secret, data, hashlib.sha256).digest()

    t = tokens_for(keys)
    for head in ({"alg": "HS256", "kid": kid, "typ": "at+jwt"}, {"alg": "HS256", "typ": "at+jwt"}):
        token = make(head, good_claims(), sign)
        expect_code("unsupported_algorithm", t.verify, token)
        expect_code("unsupported_algorithm", keys.verify_jws, token)
    # The public-only set behaves the same.
    public = tokens_for(KeySet.from_jwks(keys.to_jwks()))
    expect_code(
        "unsupported_algorithm", public.verify, make({"alg": "HS256", "kid": kid}, good_claims(), sign)
    )


def test_algorithm_substitution_rejected(interop_keys: dict[str, KeySet]) -> None:
    # A token claiming another algorithm of the same family is refused before any verification.
    es256 = interop_keys["ES256"]
    sign = signer_for(es256)
    for alg in ("ES384", "ES512", "RS256", "PS256", "EdDSA"):
        token = make({"alg": alg, "kid": es256.signing_kid, "typ": "at+jwt"}, good_claims(), sign)
        expect_code("unsupported_algorithm", tokens_for(es256).verify, token)
    ps256 = interop_keys["PS256"]
    token = make(
        {"alg": "RS256", "kid": ps256.signing_kid, "typ": "at+jwt"}, good_claims(), signer_for(ps256)
    )
    expect_code("unsupported_algorithm", tokens_for(ps256).verify, token)


@pytest.mark.parametrize("alg", ["HS1", "ES256K", "RSA-OAEP", "dir", "eddsa", "", "EdDSA "])
def test_unknown_algorithm_rejected(alg: str, ed_tokens: Tokens, ed_sign: Signer, kid: str) -> None:
    token = make({"alg": alg, "kid": kid, "typ": "at+jwt"}, good_claims(), ed_sign)
    expect_code({"unsupported_algorithm", "invalid_token"}, ed_tokens.verify, token)


def test_ed25519_alg_name_accepted(ed_tokens: Tokens, ed_sign: Signer, kid: str) -> None:
    # RFC 9864: "Ed25519" is an alias of EdDSA when verifying tokens from other issuers.
    token = make({"alg": "Ed25519", "kid": kid, "typ": "at+jwt"}, good_claims(), ed_sign)
    assert ed_tokens.verify(token)["sub"] == "user-1"


# ---- JWT-4: keys come only from configuration ---------------------------------------------------


@pytest.fixture(scope="module")
def attacker() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


def attacker_jwk(key: ed25519.Ed25519PrivateKey) -> dict[str, str]:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)}


def test_embedded_jwk_ignored(attacker: ed25519.Ed25519PrivateKey) -> None:
    keys = KeySet.generate("EdDSA")
    real_kid = keys.signing_kid
    keys.rotate()
    assert len(keys) == 2
    t = tokens_for(keys)
    jwk = attacker_jwk(attacker)
    no_kid = make({"alg": "EdDSA", "typ": "at+jwt", "jwk": jwk}, good_claims(), attacker.sign)
    expect_code("unknown_key", t.verify, no_kid)
    with_kid = make(
        {"alg": "EdDSA", "typ": "at+jwt", "kid": real_kid, "jwk": jwk}, good_claims(), attacker.sign
    )
    expect_code("invalid_signature", t.verify, with_kid)
    attacker_kid = make(
        {"alg": "EdDSA", "typ": "at+jwt", "kid": "attacker", "jwk": {**jwk, "kid": "attacker"}},
        good_claims(),
        attacker.sign,
    )
    expect_code("unknown_key", t.verify, attacker_kid)
    # With a single configured key and no kid, the configured key (not the embedded one) is used.
    single = tokens_for(KeySet.generate("EdDSA"))
    expect_code("invalid_signature", single.verify, no_kid)


def test_embedded_x5c_ignored(attacker: ed25519.Ed25519PrivateKey, ed_tokens: Tokens, kid: str) -> None:
    der = attacker.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    token = make(
        {"alg": "EdDSA", "typ": "at+jwt", "kid": kid, "x5c": [base64.b64encode(der).decode()]},
        good_claims(),
        attacker.sign,
    )
    expect_code("invalid_signature", ed_tokens.verify, token)


@pytest.mark.parametrize("member", ["jku", "x5u"])
def test_key_urls_ignored(
    member: str, attacker: ed25519.Ed25519PrivateKey, ed_tokens: Tokens, ed_sign: Signer, kid: str
) -> None:
    # No server is started: a verifier that fetched the URL would fail (or hang) differently.
    url = "http://127.0.0.1:9/attacker/jwks.json"
    genuine = make({"alg": "EdDSA", "typ": "at+jwt", "kid": kid, member: url}, good_claims(), ed_sign)
    assert ed_tokens.verify(genuine)["sub"] == "user-1"
    forged = make({"alg": "EdDSA", "typ": "at+jwt", "kid": kid, member: url}, good_claims(), attacker.sign)
    expect_code("invalid_signature", ed_tokens.verify, forged)
    foreign_kid = make(
        {"alg": "EdDSA", "typ": "at+jwt", "kid": "attacker-key", member: url}, good_claims(), attacker.sign
    )
    expect_code("unknown_key", ed_tokens.verify, foreign_kid)


@pytest.mark.parametrize(
    "bad_kid",
    ["../../etc/passwd", "' OR 1=1 --", "/dev/null", "", "*", "%", "\u0000", "a" * 300, "kid\nx"],
)
def test_hostile_kid_is_unknown(bad_kid: str, ed_tokens: Tokens, ed_sign: Signer) -> None:
    token = make({"alg": "EdDSA", "typ": "at+jwt", "kid": bad_kid}, good_claims(), ed_sign)
    expect_code("unknown_key", ed_tokens.verify, token)


def test_non_string_kid_rejected(ed_tokens: Tokens, ed_sign: Signer, kid: str) -> None:
    for bad in (1, None, [kid], {"kid": kid}):
        token = make({"alg": "EdDSA", "typ": "at+jwt", "kid": bad}, good_claims(), ed_sign)
        expect_code({"invalid_token", "unknown_key"}, ed_tokens.verify, token)


def test_missing_kid_single_and_multi_key_sets() -> None:
    keys = KeySet.generate("EdDSA")
    sign = signer_for(keys)
    token = make({"alg": "EdDSA", "typ": "at+jwt"}, good_claims(), sign)
    assert tokens_for(keys).verify(token)["sub"] == "user-1"
    keys.rotate()
    expect_code("unknown_key", tokens_for(keys).verify, token)


# ---- JWT-5: crit, b64, duplicate names ----------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        {"crit": ["exp"], "exp": 1},
        {"crit": ["urn:example:unknown"], "urn:example:unknown": True},
        {"crit": []},
        {"crit": "exp"},
        {"crit": ["b64"], "b64": True},
    ],
    ids=["exp", "unknown-urn", "empty", "not-a-list", "b64-true"],
)
def test_crit_rejected(extra: dict[str, Any], ed_tokens: Tokens, ed_sign: Signer, kid: str) -> None:
    token = make({"alg": "EdDSA", "typ": "at+jwt", "kid": kid, **extra}, good_claims(), ed_sign)
    expect_code("invalid_token", ed_tokens.verify, token)


def test_b64_false_rejected(ed_tokens: Tokens, ed_sign: Signer, kid: str) -> None:
    for head in (
        {"alg": "EdDSA", "typ": "at+jwt", "kid": kid, "b64": False, "crit": ["b64"]},
        {"alg": "EdDSA", "typ": "at+jwt", "kid": kid, "b64": False},
    ):
        expect_code("invalid_token", ed_tokens.verify, make(head, good_claims(), ed_sign))


@pytest.mark.parametrize(
    "template",
    [
        '{{"alg":"EdDSA","kid":"{kid}","typ":"at+jwt","kid":"{kid}"}}',
        '{{"alg":"none","kid":"{kid}","typ":"at+jwt","alg":"EdDSA"}}',
        '{{"alg":"EdDSA","kid":"{kid}","typ":"refresh+jwt","typ":"at+jwt"}}',
        '{{"alg":"EdDSA","kid":"unknown","typ":"at+jwt","kid":"{kid}"}}',
        '{{"alg":"EdDSA","kid":"{kid}","typ":"at+jwt","\\u0074yp":"at+jwt"}}',
    ],
    ids=["same-kid", "alg-none-then-eddsa", "typ", "kid-override", "escaped-name"],
)
def test_duplicate_header_names_rejected(template: str, ed_tokens: Tokens, ed_sign: Signer, kid: str) -> None:
    token = make(template.format(kid=kid), good_claims(), ed_sign)
    expect_code("invalid_token", ed_tokens.verify, token)


def test_duplicate_claim_names_rejected(ed_tokens: Tokens, ed_sign: Signer, kid: str) -> None:
    now = int(time.time())
    claims = (
        f'{{"iss":"{ISSUER}","aud":"{AUDIENCE}","sub":"user-1","exp":{now + 600},"sub":"admin","iat":{now}}}'
    )
    token = make({"alg": "EdDSA", "typ": "at+jwt", "kid": kid}, claims, ed_sign)
    expect_code("invalid_token", ed_tokens.verify, token)


# ---- JWT-9: strict compact form and base64url ---------------------------------------------------


def test_oversize_token_rejected(ed_keys: KeySet) -> None:
    big = tokens_for(ed_keys, max_token_size=65536).issue("user-1", {"blob": "x" * 9000})
    assert len(big) > 8192
    assert tokens_for(ed_keys, max_token_size=65536).verify(big)["sub"] == "user-1"
    expect_code("invalid_token", tokens_for(ed_keys).verify, big)
    expect_code("invalid_token", ed_keys.verify_jws, big)
    small = tokens_for(ed_keys, max_token_size=512)
    token = small.issue("user-1", {"blob": "x" * 600})
    expect_code("invalid_token", small.verify, token)
    expect_code("invalid_token", ed_keys.verify_jws, token, max_size=len(token) - 1)
    assert ed_keys.verify_jws(token, max_size=len(token))[1]


def test_padded_base64_rejected(ed_tokens: Tokens, ed_sign: Signer, kid: str) -> None:
    h = b64json({"alg": "EdDSA", "typ": "at+jwt", "kid": kid})
    # Pad the payload until its encoding needs padding, then sign over the padded text.
    claims = good_claims()
    p = b64json(claims)
    while len(p) % 4 == 0:
        claims["x"] = claims.get("x", "") + "a"
        p = b64json(claims)
    padded_payload = p + "=" * (-len(p) % 4)
    expect_code("invalid_token", ed_tokens.verify, forge(h, padded_payload, ed_sign))
    # Signature padding (64 bytes -> 86 characters + "==") over an untouched signing input.
    token = forge(h, p, ed_sign)
    assert len(segments(token)[2]) % 4 == 2
    assert ed_tokens.verify(token)["sub"] == "user-1"
    expect_code("invalid_token", ed_tokens.verify, token + "==")
    # Header padding.
    head = {"alg": "EdDSA", "typ": "at+jwt", "kid": kid, "x": ""}
    while len(b64json(head)) % 4 == 0:
        head["x"] += "a"
    expect_code(
        "invalid_token", ed_tokens.verify, forge(b64json(head) + "=" * (-len(b64json(head)) % 4), p, ed_sign)
    )


def test_standard_alphabet_rejected(ed_tokens: Tokens, ed_sign: Signer, kid: str) -> None:
    h = b64json({"alg": "EdDSA", "typ": "at+jwt", "kid": kid})
    std = str.maketrans("-_", "+/")
    # Payload with '-' or '_' in its encoding, re-encoded with '+' '/' and signed as such.
    for n in range(1000):
        p = b64json(good_claims(n=n, blob="\u00ff\u00fe>>>???"))
        if "-" in p or "_" in p:
            break
    else:
        pytest.fail("no payload encoding with - or _")
    assert ed_tokens.verify(forge(h, p, ed_sign))["sub"] == "user-1"
    expect_code("invalid_token", ed_tokens.verify, forge(h, p.translate(std), ed_sign))
    # Signature with '-' or '_', re-encoded (the signing input is untouched).
    for n in range(1000):
        token = forge(h, b64json(good_claims(n=n)), ed_sign)
        s = segments(token)[2]
        if "-" in s or "_" in s:
            break
    else:
        pytest.fail("no signature encoding with - or _")
    hh, pp, ss = segments(token)
    expect_code("invalid_token", ed_tokens.verify, f"{hh}.{pp}.{ss.translate(std)}")


ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def non_canonical(segment: str) -> str:
    """The same bytes with non-zero unused trailing bits (a lenient decoder reads it the same)."""
    assert len(segment) % 4 in (2, 3)
    i = ALPHABET.index(segment[-1])
    return segment[:-1] + ALPHABET[i | 1]


def test_modified_unused_bits_rejected(ed_tokens: Tokens, ed_sign: Signer, kid: str) -> None:
    h = b64json({"alg": "EdDSA", "typ": "at+jwt", "kid": kid})
    claims = good_claims()
    p = b64json(claims)
    while len(p) % 4 == 0:
        claims["x"] = claims.get("x", "") + "a"
        p = b64json(claims)
    assert b64url_decode(non_canonical(p)) == b64url_decode(p)
    expect_code("invalid_token", ed_tokens.verify, forge(h, non_canonical(p), ed_sign))
    hh, pp, ss = segments(forge(h, p, ed_sign))
    assert b64url_decode(non_canonical(ss)) == b64url_decode(ss)
    expect_code("invalid_token", ed_tokens.verify, f"{hh}.{pp}.{non_canonical(ss)}")
    head = {"alg": "EdDSA", "typ": "at+jwt", "kid": kid, "x": ""}
    while len(b64json(head)) % 4 == 0:
        head["x"] += "a"
    expect_code("invalid_token", ed_tokens.verify, forge(non_canonical(b64json(head)), p, ed_sign))


@pytest.mark.parametrize("suffix", [".", "x", "!", " ", "\n", "..", ".x", "=", "\x00"])
def test_trailing_garbage_rejected(suffix: str, ed_tokens: Tokens) -> None:
    token = ed_tokens.issue("user-1")
    expect_code({"invalid_token", "invalid_signature"}, ed_tokens.verify, token + suffix)


@pytest.mark.parametrize(
    "shape",
    ["", ".", "..", "a.b", "a.b.c.d", "a.b.c.d.e", " {tok}", "{tok} ", "{h}..{s}", ".{p}.{s}", "{h}.{p}"],
)
def test_malformed_compact_form_rejected(shape: str, ed_tokens: Tokens) -> None:
    tok = ed_tokens.issue("user-1")
    h, p, s = segments(tok)
    token = shape.format(tok=tok, h=h, p=p, s=s)
    expect_code({"invalid_token", "invalid_signature"}, ed_tokens.verify, token)


def test_lone_surrogates_in_a_token_are_invalid_token(ed_tokens: Tokens) -> None:
    # Not a bare UnicodeEncodeError: the same code as Node gives for the same string.
    tok = ed_tokens.issue("user-1")
    for bad in ["\ud800", tok + "\ud800", "\udc00." + tok]:
        expect_code("invalid_token", ed_tokens.verify, bad)


def test_header_must_be_a_json_object(ed_tokens: Tokens, ed_sign: Signer) -> None:
    for head in ('["alg","EdDSA"]', '"EdDSA"', "null", '{"alg":"EdDSA"', "{'alg':'EdDSA'}", '{"alg":1}'):
        expect_code("invalid_token", ed_tokens.verify, make(head, good_claims(), ed_sign))


def test_payload_must_be_a_json_object(ed_tokens: Tokens, ed_sign: Signer, kid: str) -> None:
    head = {"alg": "EdDSA", "typ": "at+jwt", "kid": kid}
    for body in ("[]", '"claims"', "null", "{", "not json"):
        expect_code("invalid_token", ed_tokens.verify, make(head, body, ed_sign))


# ---- JWT-10: signature before claims ------------------------------------------------------------


def test_signature_checked_before_claims(
    ed_tokens: Tokens, attacker: ed25519.Ed25519PrivateKey, kid: str
) -> None:
    head = {"alg": "EdDSA", "typ": "at+jwt", "kid": kid}
    expired = good_claims(now=1000)
    expect_code("invalid_signature", ed_tokens.verify, make(head, expired, attacker.sign))
    expect_code("invalid_signature", ed_tokens.verify, make(head, "not json", attacker.sign))
    wrong_typ = {**head, "typ": "refresh+jwt"}
    expect_code("invalid_signature", ed_tokens.verify, make(wrong_typ, good_claims(), attacker.sign))


# ---- JWT-11: time claims ------------------------------------------------------------------------


def test_expiry_leeway(ed_keys: KeySet, ed_tokens: Tokens) -> None:
    token = ed_tokens.issue("user-1", ttl=60)
    exp = payload(token)["exp"]
    assert ed_tokens.verify(token, now=exp - 1)["sub"] == "user-1"
    assert ed_tokens.verify(token, now=exp + 29)["sub"] == "user-1"
    expect_code("token_expired", ed_tokens.verify, token, now=exp + 30)
    expect_code("token_expired", ed_tokens.verify, token, now=exp + 10_000)
    strict = tokens_for(ed_keys, leeway=0)
    assert strict.verify(token, now=exp - 1)["sub"] == "user-1"
    expect_code("token_expired", strict.verify, token, now=exp)


def test_nbf_in_future(ed_tokens: Tokens, ed_sign: Signer, kid: str) -> None:
    now = int(time.time())
    head = {"alg": "EdDSA", "typ": "at+jwt", "kid": kid}
    token = make(head, good_claims(now=now, nbf=now + 120), ed_sign)
    expect_code("token_not_yet_valid", ed_tokens.verify, token, now=now)
    assert ed_tokens.verify(token, now=now + 90)["sub"] == "user-1"
    assert ed_tokens.verify(token, now=now + 120)["sub"] == "user-1"
    inside = make(head, good_claims(now=now, nbf=now + 10), ed_sign)
    assert ed_tokens.verify(inside, now=now)["sub"] == "user-1"


def test_iat_in_future(ed_tokens: Tokens) -> None:
    token = ed_tokens.issue("user-1")
    iat = payload(token)["iat"]
    expect_code("token_not_yet_valid", ed_tokens.verify, token, now=iat - 31)
    expect_code("token_not_yet_valid", ed_tokens.verify, token, now=iat - 600)
    assert ed_tokens.verify(token, now=iat - 30)["sub"] == "user-1"


def test_missing_or_malformed_exp(ed_tokens: Tokens, ed_sign: Signer, kid: str) -> None:
    head = {"alg": "EdDSA", "typ": "at+jwt", "kid": kid}
    claims = good_claims()
    del claims["exp"]
    expect_code("missing_claim", ed_tokens.verify, make(head, claims, ed_sign))
    for bad in ("4102444800", None, [1], True):
        expect_code("invalid_token", ed_tokens.verify, make(head, {**good_claims(), "exp": bad}, ed_sign))
    for name in ("nbf", "iat"):
        expect_code("invalid_token", ed_tokens.verify, make(head, {**good_claims(), name: "0"}, ed_sign))


# ---- JWT-12: issuer and audience ----------------------------------------------------------------


def test_wrong_audience(ed_keys: KeySet, ed_tokens: Tokens, ed_sign: Signer, kid: str) -> None:
    token = ed_tokens.issue("user-1")
    expect_code("invalid_audience", ed_tokens.verify, token, audience="other")
    expect_code("invalid_audience", ed_tokens.verify, token, audience=["other", "API"])
    assert ed_tokens.verify(token, audience=["other", "api"])["sub"] == "user-1"
    expect_code("invalid_audience", Tokens(ed_keys, issuer=ISSUER, audience="other").verify, token)
    head = {"alg": "EdDSA", "typ": "at+jwt", "kid": kid}
    for aud in (["x", "y"], [], "api "):
        expect_code("invalid_audience", ed_tokens.verify, make(head, {**good_claims(), "aud": aud}, ed_sign))
    # An aud of the wrong JSON type is a malformed token (RFC 7519 §4.1.3).
    malformed: list[Any] = [1, {"aud": "api"}, ["api", 1]]
    for bad in malformed:
        expect_code("invalid_token", ed_tokens.verify, make(head, {**good_claims(), "aud": bad}, ed_sign))
    claims = good_claims()
    del claims["aud"]
    expect_code("missing_claim", ed_tokens.verify, make(head, claims, ed_sign))


def test_wrong_issuer(ed_keys: KeySet, ed_tokens: Tokens, ed_sign: Signer, kid: str) -> None:
    token = ed_tokens.issue("user-1")
    for issuer in ("https://evil.example", ISSUER + "/", ISSUER.upper(), "issuer.example"):
        expect_code("invalid_issuer", Tokens(ed_keys, issuer=issuer, audience=AUDIENCE).verify, token)
    head = {"alg": "EdDSA", "typ": "at+jwt", "kid": kid}
    # An iss that is not a string is a malformed token (RFC 7519 §4.1.1).
    expect_code("invalid_token", ed_tokens.verify, make(head, {**good_claims(), "iss": [ISSUER]}, ed_sign))
    claims = good_claims()
    del claims["iss"]
    expect_code("missing_claim", ed_tokens.verify, make(head, claims, ed_sign))


def test_required_claims(ed_tokens: Tokens, ed_sign: Signer, kid: str) -> None:
    token = ed_tokens.issue("user-1", {"sid": "s"})
    assert ed_tokens.verify(token, required=["sub", "sid", "jti"])["sid"] == "s"
    expect_code("missing_claim", ed_tokens.verify, token, required=["client_id"])
    claims = good_claims()
    del claims["sub"]
    no_sub = make({"alg": "EdDSA", "typ": "at+jwt", "kid": kid}, claims, ed_sign)
    expect_code("missing_claim", ed_tokens.verify, no_sub)
    assert ed_tokens.verify(no_sub, required=[])["iss"] == ISSUER


# ---- JWT-13: typ --------------------------------------------------------------------------------


def test_access_token_not_accepted_as_refresh(ed_tokens: Tokens) -> None:
    token = ed_tokens.issue("user-1")
    expect_code("invalid_type", ed_tokens.verify, token, typ="refresh+jwt")
    expect_code("invalid_type", ed_tokens.verify, token, typ="JWT")
    assert ed_tokens.verify(token, typ="application/at+jwt")["sub"] == "user-1"
    assert ed_tokens.verify(token, typ="AT+JWT")["sub"] == "user-1"


def test_refresh_token_not_accepted_as_access(ed_keys: KeySet, ed_tokens: Tokens, kid: str) -> None:
    key = serialization.load_pem_private_key(ed_keys.to_pem(private=True).encode(), password=None)
    now = int(time.time())
    token = jwt.encode(
        {"iss": ISSUER, "aud": AUDIENCE, "sub": "user-1", "exp": now + 600, "iat": now},
        key,  # type: ignore[arg-type]
        algorithm="EdDSA",
        headers={"kid": kid, "typ": "refresh+jwt"},
    )
    assert header(token)["typ"] == "refresh+jwt"
    expect_code("invalid_type", ed_tokens.verify, token)
    assert ed_tokens.verify(token, typ="refresh+jwt")["sub"] == "user-1"
    plain_jwt = jwt.encode(
        {"iss": ISSUER, "aud": AUDIENCE, "sub": "user-1", "exp": now + 600},
        key,  # type: ignore[arg-type]
        algorithm="EdDSA",
        headers={"kid": kid},
    )
    assert header(plain_jwt)["typ"] == "JWT"
    expect_code("invalid_type", ed_tokens.verify, plain_jwt)


def test_non_string_typ_rejected(ed_tokens: Tokens, ed_sign: Signer, kid: str) -> None:
    for typ in (1, None, ["at+jwt"]):
        token = make({"alg": "EdDSA", "typ": typ, "kid": kid}, good_claims(), ed_sign)
        expect_code({"invalid_token", "invalid_type"}, ed_tokens.verify, token)


def test_better_auth_style_token(ed_tokens: Tokens, ed_sign: Signer, kid: str) -> None:
    # Better Auth's JWT plugin (jose): EdDSA, {"alg", "kid"} only, iss/aud/sub/exp/iat.
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "ba-user", "exp": now + 900, "iat": now}
    token = make({"alg": "EdDSA", "kid": kid}, claims, ed_sign)
    assert ed_tokens.verify(token, typ=None) == claims
    expect_code("invalid_type", ed_tokens.verify, token)


def test_require_typ_false(ed_keys: KeySet, ed_tokens: Tokens, ed_sign: Signer, kid: str) -> None:
    # require_typ=False (for FastAPI's principal, which verifies with the defaults): a token
    # without typ verifies; a typ that is present must still be at+jwt; null is still malformed.
    lenient = Tokens(ed_keys, issuer=ISSUER, audience=AUDIENCE, require_typ=False)
    assert lenient.require_typ is False and ed_tokens.require_typ is True
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "ba-user", "exp": now + 900, "iat": now}
    no_typ = make({"alg": "EdDSA", "kid": kid}, claims, ed_sign)
    assert lenient.verify(no_typ) == claims
    for typ, code in (("JWT", "invalid_type"), (None, "invalid_token")):
        expect_code(code, lenient.verify, make({"alg": "EdDSA", "kid": kid, "typ": typ}, claims, ed_sign))
    expect_code("invalid_type", lenient.verify, ed_tokens.issue("u"), typ="refresh+jwt")
    assert lenient.verify(ed_tokens.issue("u"))["sub"] == "u"
    assert header(lenient.issue("u"))["typ"] == "at+jwt"
    head, _, sig = segments(no_typ)
    tampered = f"{head}.{b64json({**claims, 'sub': 'someone-else'})}.{sig}"
    expect_code("invalid_signature", lenient.verify, tampered)
    expect_code("invalid_audience", lenient.verify, no_typ, audience="other")


# ---- RFC examples (JWS level) -------------------------------------------------------------------


def rfc_examples() -> list[Any]:
    path = SHARED_VECTORS / "rfc" / "jws_examples.json"
    if not path.is_file():
        return [pytest.param(None, id="missing")]
    doc = json.loads(path.read_text(encoding="utf-8"))
    return [pytest.param(e, id=e["id"]) for e in doc["examples"] + doc["extra_examples"]]


@pytest.mark.parametrize("example", rfc_examples())
def test_rfc_jws_examples(example: dict[str, Any] | None, shared_vectors: Path) -> None:
    assert example is not None
    keys = KeySet.from_jwks(example["jwk"], alg=example["alg"])
    if example["expected"] == "valid":
        head, body = keys.verify_jws(example["compact"])
        assert body == b64url_decode(example["payload_b64"])
        assert head == json.loads(b64url_decode(example["protected_b64"]))
        h, p, s = segments(example["compact"])
        tampered = p[:-2] + ("A" if p[-2] != "A" else "B") + p[-1]
        expect_code("invalid_signature", keys.verify_jws, f"{h}.{tampered}.{s}")
        # Claim validation is separate: A.1/A.3 tokens are JWTs from 2011 without aud/typ.
        if example["id"] in ("RFC7515-A.1", "RFC7515-A.3"):
            t = Tokens(keys, issuer="joe", audience="api")
            expect_code({"token_expired", "invalid_type"}, t.verify, example["compact"], typ=None)
    else:
        # RFC 7797 b64=false with crit: must be rejected in every compact form.
        assert example["id"] == "RFC7797-4.1"
        h, raw, s = example["protected_b64"], example["payload_raw"], example["signature_b64"]
        assert json.loads(b64url_decode(h))["b64"] is False
        for token in (f"{h}.{raw}.{s}", f"{h}..{s}", f"{h}.{b64url(raw.encode())}.{s}"):
            with pytest.raises(polyauth.AuthError):
                keys.verify_jws(token)


# ---- argument types -----------------------------------------------------------------------------


def test_bad_argument_types(ed_keys: KeySet, ed_tokens: Tokens) -> None:
    for bad in (None, 123, b"token", ["a.b.c"]):
        with pytest.raises(TypeError):
            ed_tokens.verify(bad)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            ed_keys.verify_jws(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ed_tokens.issue("user-1", {"x": object()})
    with pytest.raises(TypeError):
        ed_tokens.issue("user-1", {1: "x"})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        ed_tokens.issue(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ed_tokens.issue("user-1", [("scope", "x")])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ed_tokens.verify(ed_tokens.issue("u"), audience=b"api")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Tokens("keys", issuer=ISSUER, audience=AUDIENCE)  # type: ignore[arg-type]
    with pytest.raises(polyauth.InvalidInputError):
        ed_tokens.issue("")


async def test_verify_async_required_str_like_verify(ed_tokens: Tokens) -> None:
    token = ed_tokens.issue("user-1")
    with pytest.raises(TypeError):
        ed_tokens.verify(token, required="jti")
    with pytest.raises(TypeError):
        await ed_tokens.verify_async(token, required="jti")


async def test_verify_async_local_keys(ed_tokens: Tokens) -> None:
    token = ed_tokens.issue("user-1", {"sid": "s"})
    assert await ed_tokens.verify_async(token) == ed_tokens.verify(token)
    assert ed_tokens.verify_fetching(token) == ed_tokens.verify(token)
    with pytest.raises(polyauth.AuthError) as info:
        await ed_tokens.verify_async(token, required=["sub", "client_id"])
    assert info.value.code == "missing_claim"
    with pytest.raises(polyauth.AuthError) as info:
        await ed_tokens.verify_async(token + "x")
    assert info.value.code in {"invalid_token", "invalid_signature"}


def test_error_messages_never_contain_tokens(ed_tokens: Tokens) -> None:
    token = ed_tokens.issue("user-1")
    cases: list[tuple[str, dict[str, Any]]] = [
        (token, {"now": payload(token)["exp"] + 100}),
        (token, {"audience": "other"}),
        (token, {"typ": "refresh+jwt"}),
        (token, {"required": ["client_id"]}),
        (token + "x", {}),
        (token[:-3], {}),
        ("x" * 9000, {}),
    ]
    for value, options in cases:
        with pytest.raises(polyauth.AuthError) as info:
            ed_tokens.verify(value, **options)
        text = str(info.value) + repr(info.value)
        for part in segments(value):
            if len(part) >= 8:
                assert part not in text, info.value


# ---- verify_jws returns the protected header (JWT-13 for raw JWS callers) ----------------------


def test_verify_jws_returns_header_and_payload(ed_keys: KeySet, ed_sign: Signer, kid: str) -> None:
    head = {"alg": "EdDSA", "kid": kid, "typ": "dpop+jwt", "cty": "JWT", "x-app": [1, 2]}
    token = make(head, {"a": 1}, ed_sign)
    header_value, body = ed_keys.verify_jws(token)
    assert header_value == head
    assert json.loads(body) == {"a": 1}
    # The caller can now tell an access token from another JWS signed with the same keys.
    issued_header, _ = ed_keys.verify_jws(tokens_for(ed_keys).issue("user-1"))
    assert issued_header["typ"] == "at+jwt" and issued_header["kid"] == kid


# ---- registered claims have their RFC 7519 types ------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("sub", {"id": "user-1"}),
        ("sub", 42),
        ("sub", ["user-1"]),
        ("sub", None),
        ("iss", 1),
        ("jti", 7),
        ("jti", {"j": 1}),
        ("aud", ["api", None]),
        ("exp", "4102444800"),
        ("nbf", True),
        ("iat", [0]),
    ],
)
def test_registered_claim_of_wrong_type_is_invalid_token(
    name: str, value: Any, ed_tokens: Tokens, ed_sign: Signer, kid: str
) -> None:
    head = {"alg": "EdDSA", "typ": "at+jwt", "kid": kid}
    expect_code("invalid_token", ed_tokens.verify, make(head, {**good_claims(), name: value}, ed_sign))
    expect_code(
        "invalid_token", ed_tokens.verify, make(head, {**good_claims(), name: value}, ed_sign), required=[]
    )


def test_registered_claims_of_right_type_pass(ed_tokens: Tokens, ed_sign: Signer, kid: str) -> None:
    head = {"alg": "EdDSA", "typ": "at+jwt", "kid": kid}
    claims = good_claims(jti="j-1", aud=["other", AUDIENCE], sid={"app": "defined"})
    claims["exp"] = claims["exp"] + 0.5
    assert ed_tokens.verify(make(head, claims, ed_sign))["sid"] == {"app": "defined"}


# ---- attacker text in error messages is short and escaped (DESIGN.md §5) ------------------------


@pytest.mark.parametrize(
    "alg", ["HS256\x1finvalid_key\x1fx", "a\nb\x00c", "\x1f", "B" * 500, "\u202e\x1f\u00e9vil\u2028"]
)
def test_alg_in_error_message_is_escaped(alg: str, ed_keys: KeySet, ed_tokens: Tokens) -> None:
    token = f"{b64json({'alg': alg})}.{b64json({})}.{b64url(bytes(64))}"
    for verify in (ed_tokens.verify, ed_keys.verify_jws):
        err = expect_code("unsupported_algorithm", verify, token)
        message = str(err)
        assert all(0x20 <= ord(c) < 0x7F for c in message), repr(message)
        quoted = message.split("unsupported algorithm: ", 1)[1]
        assert len(quoted) <= 35, quoted
    control = b64json({"alg": "x\x1f\n"})
    err = expect_code("unsupported_algorithm", ed_keys.verify_jws, f"{control}.e30.AA")
    assert str(err).endswith("unsupported algorithm: x\\x1f\\x0a")
