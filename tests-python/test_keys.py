"""KeySet: generation, RFC 7638 kids, JWK/JWKS/PEM import and export, key strength (JWT-3),
rotation, loading from files and the environment, and the Wycheproof JWK import cases."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from joserfc.jwk import ECKey, OKPKey

import polyauth
from conftest import SHARED_VECTORS
from polyauth import KeySet, Tokens

ISSUER = "https://issuer.example"
AUDIENCE = "api"
GENERATED_ALGS = ["EdDSA", "ES256", "ES384", "ES512", "PS256", "HS256", "HS384", "HS512"]
ASYMMETRIC_ALGS = ["EdDSA", "ES256", "ES384", "ES512", "PS256"]
HMAC_ALGS = ["HS256", "HS384", "HS512"]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def rfc7638(members: dict[str, str]) -> str:
    """RFC 7638 §3: required members only, sorted, no whitespace, SHA-256, base64url."""
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":"))
    return b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def ec_thumbprint(key: ec.EllipticCurvePublicKey) -> str:
    numbers = key.public_numbers()
    size = (key.curve.key_size + 7) // 8
    crv = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}[key.curve.name]
    return rfc7638(
        {
            "crv": crv,
            "kty": "EC",
            "x": b64url(numbers.x.to_bytes(size, "big")),
            "y": b64url(numbers.y.to_bytes(size, "big")),
        }
    )


def okp_thumbprint(key: ed25519.Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return rfc7638({"crv": "Ed25519", "kty": "OKP", "x": b64url(raw)})


def rsa_thumbprint(key: rsa.RSAPublicKey) -> str:
    numbers = key.public_numbers()
    n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
    e = numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")
    return rfc7638({"e": b64url(e), "kty": "RSA", "n": b64url(n)})


def pkcs8(key: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def spki(key: ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def tokens(keys: KeySet) -> Tokens:
    return Tokens(keys, issuer=ISSUER, audience=AUDIENCE)


def header(token: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(b64url_decode(token.split(".")[0]))
    return value


def expect_code(code: str, fn: Any, *args: Any, **kwargs: Any) -> polyauth.AuthError:
    with pytest.raises(polyauth.AuthError) as info:
        fn(*args, **kwargs)
    assert info.value.code == code, f"{info.value!r}"
    return info.value


def roundtrip(signer: KeySet, verifier: KeySet, subject: str = "user-1") -> None:
    """A token issued with `signer` verifies with `verifier`."""
    token = tokens(signer).issue(subject)
    assert tokens(verifier).verify(token)["sub"] == subject


@pytest.fixture(scope="module")
def rsa_2048() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def generated() -> dict[str, KeySet]:
    """One generated set per algorithm (RSA generation is slow: share them)."""
    return {alg: KeySet.generate(alg) for alg in GENERATED_ALGS}


# ---- generation --------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", GENERATED_ALGS)
def test_generate_signs_and_verifies(alg: str, generated: dict[str, KeySet]) -> None:
    keys = generated[alg]
    assert len(keys) == 1
    assert keys.signing_kid is not None
    assert keys.kids == [keys.signing_kid]
    t = tokens(keys)
    token = t.issue("user-1", {"scope": "read"})
    assert header(token) == {"alg": alg, "kid": keys.signing_kid, "typ": "at+jwt"}
    claims = t.verify(token)
    assert claims["sub"] == "user-1"
    assert claims["scope"] == "read"
    # The signature is checked: one flipped signature character fails.
    h, p, s = token.split(".")
    flipped = s[:5] + ("A" if s[5] != "A" else "B") + s[6:]
    expect_code("invalid_signature", t.verify, f"{h}.{p}.{flipped}")


def test_generate_default_is_eddsa() -> None:
    keys = KeySet.generate()
    assert header(tokens(keys).issue("u"))["alg"] == "EdDSA"


def test_generate_explicit_kid() -> None:
    keys = KeySet.generate("ES256", kid="my-key")
    assert keys.kids == ["my-key"]
    assert header(tokens(keys).issue("u"))["kid"] == "my-key"


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512"])
def test_generate_rsa_pkcs1_refused(alg: str) -> None:
    err = expect_code("unsupported_algorithm", KeySet.generate, alg)
    assert isinstance(err, polyauth.UnsupportedAlgorithmError)


@pytest.mark.parametrize("alg", ["none", "HS1", "es256", "", "EdDSA "])
def test_generate_unknown_algorithm(alg: str) -> None:
    expect_code("unsupported_algorithm", KeySet.generate, alg)


# ---- RFC 7638 kids ------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["ES256", "ES384", "ES512"])
def test_ec_kid_is_rfc7638_thumbprint(alg: str, generated: dict[str, KeySet]) -> None:
    keys = generated[alg]
    public = serialization.load_pem_public_key(keys.to_pem().encode())
    assert isinstance(public, ec.EllipticCurvePublicKey)
    assert keys.signing_kid == ec_thumbprint(public)
    assert keys.signing_kid == ECKey.import_key(keys.to_pem()).thumbprint()


def test_okp_kid_is_rfc7638_thumbprint(generated: dict[str, KeySet]) -> None:
    keys = generated["EdDSA"]
    public = serialization.load_pem_public_key(keys.to_pem().encode())
    assert isinstance(public, ed25519.Ed25519PublicKey)
    assert keys.signing_kid == okp_thumbprint(public)
    assert keys.signing_kid == OKPKey.import_key(keys.to_pem()).thumbprint()


def test_rsa_kid_is_rfc7638_thumbprint(generated: dict[str, KeySet]) -> None:
    keys = generated["PS256"]
    public = serialization.load_pem_public_key(keys.to_pem().encode())
    assert isinstance(public, rsa.RSAPublicKey)
    assert keys.signing_kid == rsa_thumbprint(public)


def test_rfc7638_example_thumbprint() -> None:
    # RFC 7638 §3.1: the example RSA key and its published thumbprint.
    jwk = {
        "kty": "RSA",
        "alg": "RS256",
        "n": (
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJE"
            "CPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2Q"
            "vzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6"
            "WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
        ),
        "e": "AQAB",
    }
    assert KeySet.from_jwks(jwk).kids == ["NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"]


def test_rfc8037_example_thumbprint(shared_vectors: Path) -> None:
    doc = json.loads((shared_vectors / "rfc" / "jws_examples.json").read_text(encoding="utf-8"))
    example = next(e for e in doc["examples"] if e["id"] == "RFC8037-A.4")
    public = {k: v for k, v in example["jwk"].items() if k != "d"}
    assert KeySet.from_jwks(public).kids == [example["rfc8037_thumbprint_A3"]]
    assert KeySet.from_jwks(example["jwk"]).kids == [example["rfc8037_thumbprint_A3"]]


def test_jwk_kid_is_kept() -> None:
    jwk = KeySet.generate("EdDSA").to_jwks(private=True)["keys"][0]
    jwk["kid"] = "chosen-kid"
    assert KeySet.from_jwks(jwk).kids == ["chosen-kid"]


# ---- JWKS export and import ---------------------------------------------------------------------


def test_public_jwks_has_no_private_members_and_omits_hmac() -> None:
    ec_key = KeySet.generate("ES256").to_jwks(private=True)["keys"][0]
    ed_key = KeySet.generate("EdDSA").to_jwks(private=True)["keys"][0]
    hmac_key = KeySet.generate("HS256").to_jwks(private=True)["keys"][0]
    assert "d" in ec_key and "d" in ed_key and "k" in hmac_key
    keys = KeySet.from_jwks({"keys": [ec_key, ed_key, hmac_key]})
    assert len(keys) == 3
    public = keys.to_jwks()
    assert public == keys.to_jwks(private=False)
    assert [k["kid"] for k in public["keys"]] == [ec_key["kid"], ed_key["kid"]]
    for jwk in public["keys"]:
        assert not {"d", "k", "p", "q", "dp", "dq", "qi"} & set(jwk), jwk
        assert jwk["use"] == "sig"
    text = json.dumps(public)
    assert ec_key["d"] not in text and ed_key["d"] not in text and hmac_key["k"] not in text


def test_public_rsa_jwks_has_no_private_members(generated: dict[str, KeySet]) -> None:
    private = generated["PS256"].to_jwks(private=True)["keys"][0]
    assert {"d", "p", "q", "dp", "dq", "qi"} <= set(private)
    public = generated["PS256"].to_jwks()["keys"][0]
    assert set(public) == {"kty", "n", "e", "kid", "alg", "use"}


def test_hmac_only_set_exports_empty_public_jwks(generated: dict[str, KeySet]) -> None:
    assert generated["HS256"].to_jwks() == {"keys": []}


@pytest.mark.parametrize("alg", GENERATED_ALGS)
def test_private_jwks_roundtrip(alg: str, generated: dict[str, KeySet]) -> None:
    keys = generated[alg]
    private = keys.to_jwks(private=True)
    for source in (private, json.dumps(private), json.dumps(private).encode()):
        back = KeySet.from_jwks(source)
        assert back.kids == keys.kids
        assert back.signing_kid == keys.signing_kid
        roundtrip(keys, back)
        roundtrip(back, keys)
    # A single JWK (not wrapped in a set) imports too.
    assert KeySet.from_jwks(private["keys"][0]).kids == keys.kids


@pytest.mark.parametrize("alg", ASYMMETRIC_ALGS)
def test_public_jwks_verifies_but_cannot_sign(alg: str, generated: dict[str, KeySet]) -> None:
    keys = generated[alg]
    public = KeySet.from_jwks(keys.to_jwks())
    assert public.kids == keys.kids
    assert public.signing_kid is None
    roundtrip(keys, public)
    expect_code("invalid_config", tokens(public).issue, "user-1")


def test_public_jwk_verifies_in_pyjwt(generated: dict[str, KeySet]) -> None:
    # The exported JWK is usable by another library as is.
    for alg in ASYMMETRIC_ALGS:
        keys = generated[alg]
        token = tokens(keys).issue("user-1")
        key = jwt.PyJWK(keys.to_jwks()["keys"][0])
        claims = jwt.decode(token, key.key, algorithms=[alg], audience=AUDIENCE, issuer=ISSUER)
        assert claims["sub"] == "user-1"


def test_from_jwks_alg_fills_in_missing_alg() -> None:
    secret = b64url(bytes(range(32)))
    keys = KeySet.from_jwks({"kty": "oct", "k": secret, "kid": "h"}, alg="HS256")
    assert header(tokens(keys).issue("u"))["alg"] == "HS256"
    expect_code("invalid_key", KeySet.from_jwks, {"kty": "oct", "k": secret, "kid": "h"})


def test_from_jwks_alg_conflicting_with_jwk_alg() -> None:
    jwk = KeySet.generate("ES256").to_jwks()["keys"][0]
    expect_code("invalid_key", KeySet.from_jwks, jwk, alg="ES384")


@pytest.mark.parametrize(
    "bad",
    [
        "not json",
        "[]",
        "{}",
        '{"keys": {}}',
        '{"keys": []}',
        '{"keys": [1]}',
        b"\xff\xfe",
        '{"kty": "RSA", "n": "AQAB", "e": "AQAB", "alg": "PS256"}',
        '{"kty": "OKP", "crv": "X25519", "x": "AAAA"}',
        '{"kty": "EC", "crv": "secp256k1", "x": "AA", "y": "AA", "alg": "ES256K"}',
    ],
)
def test_from_jwks_malformed(bad: str | bytes) -> None:
    expect_code("invalid_key", KeySet.from_jwks, bad)


def test_from_jwks_type_errors() -> None:
    with pytest.raises(TypeError):
        KeySet.from_jwks(123)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        KeySet.from_jwks({"keys": [object()]})


# ---- PEM ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ASYMMETRIC_ALGS)
def test_pem_roundtrip(alg: str, generated: dict[str, KeySet]) -> None:
    keys = generated[alg]
    rsa_alg = alg if alg.startswith("PS") else None
    private_pem = keys.to_pem(private=True)
    public_pem = keys.to_pem()
    assert private_pem.startswith("-----BEGIN PRIVATE KEY-----\n")
    assert public_pem.startswith("-----BEGIN PUBLIC KEY-----\n")
    assert keys.to_pem(keys.signing_kid) == public_pem
    private = KeySet.from_pem(private_pem, alg=rsa_alg)
    public = KeySet.from_pem(public_pem.encode(), alg=rsa_alg)
    assert private.kids == public.kids == keys.kids
    assert private.signing_kid == keys.signing_kid
    assert public.signing_kid is None
    roundtrip(private, keys)
    roundtrip(keys, public)
    assert private.to_pem(private=True) == private_pem
    # cryptography reads both forms.
    loaded = serialization.load_pem_private_key(private_pem.encode(), password=None)
    assert spki(loaded.public_key()) == public_pem  # type: ignore[arg-type]


def test_pem_kid_argument() -> None:
    pem = pkcs8(ed25519.Ed25519PrivateKey.generate())
    assert KeySet.from_pem(pem, kid="pem-key").kids == ["pem-key"]


def test_to_pem_of_hmac_and_unknown_kid(generated: dict[str, KeySet]) -> None:
    expect_code("invalid_key", generated["HS256"].to_pem)
    expect_code("invalid_key", generated["HS256"].to_pem, private=True)
    expect_code("unknown_key", generated["EdDSA"].to_pem, "no-such-kid")
    public = KeySet.from_jwks(generated["EdDSA"].to_jwks())
    expect_code("invalid_key", public.to_pem, public.kids[0], private=True)


def _cryptography_keys(
    rsa_key: rsa.RSAPrivateKey,
) -> Iterator[tuple[str, str | None, Any, str]]:
    """(name, alg, private key, expected kid) for keys made by `cryptography`."""
    ed = ed25519.Ed25519PrivateKey.generate()
    yield "Ed25519", None, ed, okp_thumbprint(ed.public_key())
    p256 = ec.generate_private_key(ec.SECP256R1())
    yield "P-256", None, p256, ec_thumbprint(p256.public_key())
    yield "RSA-2048", "PS256", rsa_key, rsa_thumbprint(rsa_key.public_key())


def test_pem_from_cryptography_imports(rsa_2048: rsa.RSAPrivateKey) -> None:
    for name, alg, key, kid in _cryptography_keys(rsa_2048):
        private = KeySet.from_pem(pkcs8(key), alg=alg)
        public = KeySet.from_pem(spki(key.public_key()), alg=alg)
        assert private.kids == [kid], name
        assert public.kids == [kid], name
        roundtrip(private, public)
        # Tokens signed by another library with the same key verify.
        jwt_alg = {"Ed25519": "EdDSA", "P-256": "ES256", "RSA-2048": "PS256"}[name]
        token = jwt.encode(
            {"iss": ISSUER, "aud": AUDIENCE, "sub": "u", "exp": 4102444800},
            key,
            algorithm=jwt_alg,
            headers={"kid": kid, "typ": "at+jwt"},
        )
        assert tokens(public).verify(token)["sub"] == "u", name


def test_private_jwk_from_cryptography_pem(rsa_2048: rsa.RSAPrivateKey) -> None:
    # PEM in, private JWK out: the JWK's private members are the key's own numbers, and another
    # library signs with that JWK.
    p256 = ec.generate_private_key(ec.SECP256R1())
    jwk = KeySet.from_pem(pkcs8(p256)).to_jwks(private=True)["keys"][0]
    assert b64url_decode(jwk["d"]) == p256.private_numbers().private_value.to_bytes(32, "big")
    ed = ed25519.Ed25519PrivateKey.generate()
    jwk_ed = KeySet.from_pem(pkcs8(ed)).to_jwks(private=True)["keys"][0]
    assert b64url_decode(jwk_ed["d"]) == ed.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    jwk_rsa = KeySet.from_pem(pkcs8(rsa_2048), alg="PS256").to_jwks(private=True)["keys"][0]
    numbers = rsa_2048.private_numbers()
    assert int.from_bytes(b64url_decode(jwk_rsa["d"]), "big") == numbers.d
    assert {int.from_bytes(b64url_decode(jwk_rsa[m]), "big") for m in ("p", "q")} == {numbers.p, numbers.q}
    for private_jwk, alg in ((jwk, "ES256"), (jwk_ed, "EdDSA"), (jwk_rsa, "PS256")):
        token = jwt.encode(
            {"iss": ISSUER, "aud": AUDIENCE, "sub": "u", "exp": 4102444800},
            jwt.PyJWK(private_jwk).key,
            algorithm=alg,
            headers={"kid": private_jwk["kid"], "typ": "at+jwt"},
        )
        public = KeySet.from_jwks(
            {k: v for k, v in private_jwk.items() if k in ("kty", "crv", "x", "y", "n", "e", "alg", "kid")}
        )
        assert tokens(public).verify(token)["sub"] == "u", alg


@pytest.mark.parametrize("form", ["pkcs8", "spki"])
def test_rsa_pem_without_alg_refused(form: str, rsa_2048: rsa.RSAPrivateKey) -> None:
    pem = pkcs8(rsa_2048) if form == "pkcs8" else spki(rsa_2048.public_key())
    expect_code("invalid_key", KeySet.from_pem, pem)
    assert len(KeySet.from_pem(pem, alg="PS256")) == 1


def test_legacy_and_malformed_pem_refused(rsa_2048: rsa.RSAPrivateKey) -> None:
    traditional = rsa_2048.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    assert traditional.startswith("-----BEGIN RSA PRIVATE KEY-----")
    expect_code("invalid_key", KeySet.from_pem, traditional, alg="PS256")
    good = pkcs8(ed25519.Ed25519PrivateKey.generate())
    for bad in [
        "",
        "not a pem",
        good.replace("-----END PRIVATE KEY-----", ""),
        good[:-40] + "!!\n" + good[-38:],
    ]:
        expect_code("invalid_key", KeySet.from_pem, bad)
    expect_code("invalid_key", KeySet.from_pem, good + good)


# ---- key strength (JWT-3) -----------------------------------------------------------------------


@pytest.mark.parametrize(("alg", "minimum"), [("HS256", 32), ("HS384", 48), ("HS512", 64)])
def test_hmac_secret_at_least_hash_size(alg: str, minimum: int) -> None:
    expect_code("invalid_key", KeySet.from_secret, b"k" * (minimum - 1), alg=alg)
    expect_code("invalid_key", KeySet.from_secret, "k" * (minimum - 1), alg=alg)
    expect_code(
        "invalid_key", KeySet.from_jwks, {"kty": "oct", "alg": alg, "k": b64url(b"k" * (minimum - 1))}
    )
    keys = KeySet.from_secret(b"k" * minimum, alg=alg)
    roundtrip(keys, keys)


def test_hmac_secret_31_bytes_for_hs256() -> None:
    err = expect_code("invalid_key", KeySet.from_secret, bytes(31))
    assert isinstance(err, polyauth.InvalidKeyError)


def test_secret_with_non_hmac_alg_refused() -> None:
    expect_code("invalid_key", KeySet.from_secret, bytes(64), alg="ES256")
    expect_code("unsupported_algorithm", KeySet.from_secret, bytes(64), alg="HS128")


def test_rsa_1024_refused() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    expect_code("invalid_key", KeySet.from_pem, pkcs8(small), alg="PS256")
    expect_code("invalid_key", KeySet.from_pem, spki(small.public_key()), alg="PS256")
    expect_code("invalid_key", KeySet.from_pem, spki(small.public_key()), alg="RS256")
    numbers = small.public_key().public_numbers()
    jwk = {
        "kty": "RSA",
        "alg": "RS256",
        "n": b64url(numbers.n.to_bytes(128, "big")),
        "e": b64url(numbers.e.to_bytes(3, "big")),
    }
    expect_code("invalid_key", KeySet.from_jwks, jwk)


def test_ec_curve_alg_mismatch_refused() -> None:
    p256 = ec.generate_private_key(ec.SECP256R1())
    expect_code("invalid_key", KeySet.from_pem, pkcs8(p256), alg="ES384")
    expect_code("invalid_key", KeySet.from_pem, spki(p256.public_key()), alg="ES512")
    expect_code("invalid_key", KeySet.from_pem, pkcs8(p256), alg="EdDSA")
    jwk = KeySet.from_pem(pkcs8(p256)).to_jwks()["keys"][0]
    assert jwk["crv"] == "P-256"
    expect_code("invalid_key", KeySet.from_jwks, {**jwk, "alg": "ES384"})
    expect_code("invalid_key", KeySet.from_jwks, {**jwk, "crv": "P-384"})
    ed = pkcs8(ed25519.Ed25519PrivateKey.generate())
    expect_code("invalid_key", KeySet.from_pem, ed, alg="ES256")
    p384 = ec.generate_private_key(ec.SECP384R1())
    expect_code("invalid_key", KeySet.from_pem, pkcs8(p384), alg="ES256")


def test_unsupported_curve_refused() -> None:
    k1 = ec.generate_private_key(ec.SECP256K1())
    expect_code("invalid_key", KeySet.from_pem, pkcs8(k1))
    expect_code("invalid_key", KeySet.from_pem, spki(k1.public_key()))


def test_ec_point_not_on_curve_refused() -> None:
    jwk = KeySet.generate("ES256").to_jwks()["keys"][0]
    y = bytearray(b64url_decode(jwk["y"]))
    y[-1] ^= 1
    expect_code("invalid_key", KeySet.from_jwks, {**jwk, "y": b64url(bytes(y))})


def test_mixed_public_and_secret_set_refused() -> None:
    public = KeySet.generate("ES256").to_jwks()["keys"][0]
    secret = KeySet.generate("HS256").to_jwks(private=True)["keys"][0]
    expect_code("invalid_key", KeySet.from_jwks, {"keys": [public, secret]})
    expect_code("invalid_key", KeySet.from_jwks, {"keys": [secret, public]})


def test_mixed_public_and_private_set_refused() -> None:
    public = KeySet.generate("ES256").to_jwks()["keys"][0]
    private = KeySet.generate("EdDSA").to_jwks(private=True)["keys"][0]
    expect_code("invalid_key", KeySet.from_jwks, {"keys": [private, public]})


def test_duplicate_kid_refused() -> None:
    a = KeySet.generate("EdDSA", kid="same").to_jwks()["keys"][0]
    b = KeySet.generate("EdDSA", kid="same").to_jwks()["keys"][0]
    expect_code("invalid_key", KeySet.from_jwks, {"keys": [a, b]})
    expect_code("invalid_key", KeySet.from_jwks, {"keys": [a, a]})


@pytest.mark.parametrize("change", [{"use": "enc"}, {"key_ops": ["encrypt"]}, {"key_ops": "verify"}])
def test_encryption_key_refused(change: dict[str, Any]) -> None:
    jwk = KeySet.generate("ES256").to_jwks()["keys"][0]
    expect_code("invalid_key", KeySet.from_jwks, {**jwk, **change})
    expect_code("invalid_key", KeySet.from_jwks, {"keys": [{**jwk, **change}]})


# ---- rotation -----------------------------------------------------------------------------------


def test_rotate_and_retire() -> None:
    keys = KeySet.generate("EdDSA")
    t = tokens(keys)
    old_kid = keys.signing_kid
    assert old_kid is not None
    old_token = t.issue("user-1")
    new_kid = keys.rotate()
    assert new_kid != old_kid
    assert keys.signing_kid == new_kid
    assert keys.kids == [new_kid, old_kid]
    assert len(keys) == 2
    # The same Tokens object sees the rotation: new tokens carry the new kid.
    new_token = t.issue("user-2")
    assert header(new_token)["kid"] == new_kid
    assert header(new_token)["alg"] == "EdDSA"
    assert t.verify(old_token)["sub"] == "user-1"
    assert t.verify(new_token)["sub"] == "user-2"
    # The published JWKS lists both until the old key is retired.
    assert [k["kid"] for k in keys.to_jwks()["keys"]] == [new_kid, old_kid]
    expect_code("invalid_config", keys.retire, new_kid)
    keys.retire(old_kid)
    assert keys.kids == [new_kid]
    expect_code("unknown_key", t.verify, old_token)
    assert t.verify(new_token)["sub"] == "user-2"
    expect_code("unknown_key", keys.retire, old_kid)


def test_rotate_to_another_algorithm() -> None:
    keys = KeySet.generate("EdDSA")
    old_token = tokens(keys).issue("u")
    kid = keys.rotate("ES256")
    token = tokens(keys).issue("u")
    assert header(token) == {"alg": "ES256", "kid": kid, "typ": "at+jwt"}
    assert tokens(keys).verify(old_token)["sub"] == "u"
    expect_code("unsupported_algorithm", keys.rotate, "RS256")


def test_rotate_survives_jwks_roundtrip() -> None:
    keys = KeySet.generate("EdDSA")
    kid = keys.rotate()
    back = KeySet.from_jwks(keys.to_jwks(private=True))
    assert back.signing_kid == kid
    assert back.kids == keys.kids


def test_rotate_without_private_key() -> None:
    public = KeySet.from_jwks(KeySet.generate("EdDSA").to_jwks())
    expect_code("invalid_config", public.rotate)


def test_retire_only_key() -> None:
    keys = KeySet.generate("EdDSA")
    assert keys.signing_kid is not None
    expect_code("invalid_config", keys.retire, keys.signing_kid)


# ---- load ---------------------------------------------------------------------------------------

ENV = "POLYAUTH_TEST_SIGNING_KEYS"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.delenv(f"{ENV}_FILE", raising=False)
    return monkeypatch


def test_load_from_env(clean_env: pytest.MonkeyPatch) -> None:
    keys = KeySet.generate("ES256")
    clean_env.setenv(ENV, json.dumps(keys.to_jwks(private=True)))
    loaded = KeySet.load(env=ENV)
    assert loaded.kids == keys.kids
    roundtrip(loaded, keys)


def test_load_from_env_pem(clean_env: pytest.MonkeyPatch) -> None:
    keys = KeySet.generate("EdDSA")
    clean_env.setenv(ENV, keys.to_pem(private=True))
    assert KeySet.load(env=ENV).kids == keys.kids


def test_load_from_env_file(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    keys = KeySet.generate("EdDSA")
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(keys.to_jwks(private=True)), encoding="utf-8")
    clean_env.setenv(f"{ENV}_FILE", str(path))
    loaded = KeySet.load(env=ENV)
    assert loaded.kids == keys.kids
    roundtrip(loaded, keys)


def test_load_env_value_wins_over_file(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    direct, via_file = KeySet.generate("EdDSA"), KeySet.generate("EdDSA")
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(via_file.to_jwks(private=True)), encoding="utf-8")
    clean_env.setenv(ENV, json.dumps(direct.to_jwks(private=True)))
    clean_env.setenv(f"{ENV}_FILE", str(path))
    assert KeySet.load(env=ENV).kids == direct.kids


def test_load_from_path(tmp_path: Path, rsa_2048: rsa.RSAPrivateKey) -> None:
    keys = KeySet.generate("ES384")
    jwks_path = tmp_path / "keys.json"
    jwks_path.write_text(json.dumps(keys.to_jwks(private=True)), encoding="utf-8")
    assert KeySet.load(path=jwks_path).kids == keys.kids
    assert KeySet.load(path=str(jwks_path)).kids == keys.kids
    pem_path = tmp_path / "key.pem"
    pem_path.write_text(keys.to_pem(private=True), encoding="utf-8")
    loaded = KeySet.load(path=pem_path)
    assert loaded.kids == keys.kids
    roundtrip(loaded, keys)
    public_path = tmp_path / "public.pem"
    public_path.write_text(keys.to_pem(), encoding="utf-8")
    assert KeySet.load(path=public_path).signing_kid is None
    rsa_path = tmp_path / "rsa.pem"
    rsa_path.write_text(pkcs8(rsa_2048), encoding="utf-8")
    expect_code("invalid_key", KeySet.load, path=rsa_path)
    assert KeySet.load(path=rsa_path, alg="PS256").kids == [rsa_thumbprint(rsa_2048.public_key())]


def test_load_nothing_configured(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    expect_code("invalid_config", KeySet.load, env=ENV)
    clean_env.setenv(ENV, "")
    expect_code("invalid_config", KeySet.load, env=ENV)
    expect_code("invalid_config", KeySet.load)
    expect_code("invalid_config", KeySet.load, path=tmp_path / "missing.json")
    clean_env.setenv(f"{ENV}_FILE", str(tmp_path / "missing.json"))
    expect_code("invalid_config", KeySet.load, env=ENV)
    path = tmp_path / "k.pem"
    path.write_text(KeySet.generate().to_pem(private=True), encoding="utf-8")
    expect_code("invalid_config", KeySet.load, path=path, env=ENV)


def test_load_garbage(tmp_path: Path) -> None:
    path = tmp_path / "garbage"
    path.write_text("hello", encoding="utf-8")
    expect_code("invalid_key", KeySet.load, path=path)


# ---- no private material in repr/str or error messages -------------------------------------------


def test_repr_never_shows_private_material(generated: dict[str, KeySet]) -> None:
    for alg in GENERATED_ALGS:
        keys = generated[alg]
        private = keys.to_jwks(private=True)["keys"][0]
        secrets = [private[m] for m in ("d", "k", "p", "q", "dp", "dq", "qi") if m in private]
        assert secrets, alg
        t = tokens(keys)
        for text in (repr(keys), str(keys), repr(t), str(t)):
            for s in secrets:
                assert s not in text, (alg, text)
        assert alg in repr(keys)
        assert keys.signing_kid is not None and keys.signing_kid in repr(keys)


def test_repr_never_shows_hmac_secret() -> None:
    secret = "correct horse battery staple 0123456789"
    keys = KeySet.from_secret(secret, kid="hmac")
    for text in (repr(keys), str(keys), repr(tokens(keys))):
        assert secret not in text
        assert b64url(secret.encode()) not in text
        assert "correct horse" not in text
    assert repr(keys) == 'KeySet([HS256:hmac], signing_kid="hmac")'


def test_import_errors_never_show_key_material() -> None:
    jwk = KeySet.generate("ES256").to_jwks(private=True)["keys"][0]
    d = bytearray(b64url_decode(jwk["d"]))
    d[0] ^= 0xFF
    bad_d = b64url(bytes(d))
    err = expect_code("invalid_key", KeySet.from_jwks, {**jwk, "d": bad_d})
    assert bad_d not in str(err) and jwk["x"] not in str(err)
    secret = "short-secret-value"
    err = expect_code("invalid_key", KeySet.from_secret, secret)
    assert secret not in str(err) and secret not in repr(err)


# ---- Wycheproof json_web_key_test.json ----------------------------------------------------------


def _wycheproof_jwk_cases() -> list[Any]:
    path = SHARED_VECTORS / "wycheproof" / "json_web_key_test.json"
    if not path.is_file():
        return [pytest.param(None, None, id="missing")]
    doc = json.loads(path.read_text(encoding="utf-8"))
    cases = []
    for group in doc["testGroups"]:
        for case in group["tests"]:
            cases.append(pytest.param(group, case, id=f"tc{case['tcId']}-{group['comment']}"))
    assert len(cases) == doc["numberOfTests"]
    return cases


@pytest.mark.parametrize(("group", "case"), _wycheproof_jwk_cases())
def test_wycheproof_json_web_key(group: Any, case: Any, shared_vectors: Path) -> None:
    assert group is not None, "json_web_key_test.json missing"
    key_set = group["public"] if "public" in group else group["private"]
    try:
        keys = KeySet.from_jwks(key_set)
        keys.verify_jws(case["jws"])
    except polyauth.AuthError as e:
        assert case["result"] != "valid", f"tcId {case['tcId']} ({case['comment']}) rejected: {e!r}"
    else:
        assert case["result"] != "invalid", f"tcId {case['tcId']} ({case['comment']}) accepted"


# ---- key text as an HMAC secret (JWT-3: the algorithm-confusion setup) --------------------------


def _key_texts() -> Iterator[str]:
    for alg in ("EdDSA", "ES256", "PS256"):
        keys = KeySet.generate(alg)
        yield keys.to_pem()
        yield keys.to_pem(private=True)
        yield json.dumps(keys.to_jwks())
        yield json.dumps(keys.to_jwks()["keys"][0])
    yield "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUHbq0\n-----END CERTIFICATE-----\n"
    yield "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl u@h"
    yield "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7vbqajDhA user@host.example"
    yield "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTY= u@h"


@pytest.mark.parametrize("text", list(_key_texts()))
def test_from_secret_refuses_key_text(text: str) -> None:
    padded = text.ljust(64)
    expect_code("invalid_key", KeySet.from_secret, padded)
    expect_code("invalid_key", KeySet.from_secret, padded.encode(), alg="HS512")
    expect_code("invalid_key", KeySet.from_jwks, {"kty": "oct", "alg": "HS256", "k": b64url(padded.encode())})


def test_from_secret_accepts_text_that_is_not_a_key() -> None:
    for ok in ("correct horse battery staple, longer than 32", '{"password": "0123456789abcdef0123456789"}'):
        keys = KeySet.from_secret(ok)
        roundtrip(keys, KeySet.from_secret(ok, kid=keys.signing_kid))


# ---- small-order and non-canonical Ed25519 keys (JWT-3, JWT-7) ----------------------------------

# libsodium's has_small_order blocklist: y of the 8 small-order points and non-canonical forms.
SMALL_ORDER_Y = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
]
SMALL_ORDER = [bytes.fromhex(y) for y in SMALL_ORDER_Y] + [
    bytes.fromhex(y)[:31] + bytes([bytes.fromhex(y)[31] | 0x80]) for y in SMALL_ORDER_Y
]


def _ed25519_spki(x: bytes) -> str:
    der = bytes.fromhex("302a300506032b6570032100") + x
    body = base64.b64encode(der).decode()
    return f"-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----\n"


@pytest.mark.parametrize("x", SMALL_ORDER, ids=[x.hex()[:8] + x.hex()[-2:] for x in SMALL_ORDER])
def test_small_order_ed25519_key_refused(x: bytes) -> None:
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url(x)}
    expect_code("invalid_key", KeySet.from_jwks, jwk)
    expect_code("invalid_key", KeySet.from_jwks, {"keys": [jwk]})
    expect_code("invalid_key", KeySet.from_pem, _ed25519_spki(x))


def test_identity_ed25519_key_cannot_forge() -> None:
    # With the identity as public key, R = identity and S = 0 would verify every payload.
    identity = bytes([1]) + bytes(31)
    expect_code("invalid_key", KeySet.from_jwks, {"kty": "OKP", "crv": "Ed25519", "x": b64url(identity)})
    non_canonical = bytes([0xEF]) + b"\xff" * 30 + b"\x7f"
    expect_code("invalid_key", KeySet.from_jwks, {"kty": "OKP", "crv": "Ed25519", "x": b64url(non_canonical)})
    real = ed25519.Ed25519PrivateKey.generate().public_key()
    raw = real.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert KeySet.from_jwks({"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)}).kids == [okp_thumbprint(real)]
    assert KeySet.from_pem(_ed25519_spki(raw)).kids == [okp_thumbprint(real)]


# ---- HMAC kids are random, not thumbprints (an offline oracle for the secret) ------------------


@pytest.mark.parametrize("alg", HMAC_ALGS)
def test_hmac_default_kid_is_random(alg: str) -> None:
    secret = b"s" * 64
    a = KeySet.from_secret(secret, alg=alg)
    b = KeySet.from_secret(secret, alg=alg)
    thumbprint = rfc7638({"k": b64url(secret), "kty": "oct"})
    assert a.signing_kid != thumbprint
    assert a.signing_kid != b.signing_kid
    assert len(b64url_decode(a.signing_kid or "")) == 16
    assert header(tokens(a).issue("u"))["kid"] == a.signing_kid
    generated = KeySet.generate(alg)
    jwk = generated.to_jwks(private=True)["keys"][0]
    assert generated.signing_kid != rfc7638({"k": jwk["k"], "kty": "oct"})
    # The private JWKS keeps the kid: a round trip verifies the tokens issued before it.
    back = KeySet.from_jwks(a.to_jwks(private=True))
    assert back.kids == a.kids and back.signing_kid == a.signing_kid
    roundtrip(a, back)
    assert KeySet.from_secret(secret, alg=alg, kid="mine").signing_kid == "mine"


# ---- RSA modulus zero (used to be an internal error) -------------------------------------------


@pytest.mark.parametrize("n", ["AA", "", "AAAA"])
@pytest.mark.parametrize("alg", ["PS256", "RS256"])
def test_rsa_zero_modulus_is_invalid_key(n: str, alg: str) -> None:
    expect_code("invalid_key", KeySet.from_jwks, {"kty": "RSA", "alg": alg, "n": n, "e": "AQAB"})
