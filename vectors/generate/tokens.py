"""Generates vectors/tokens.json: access tokens issued by the Python binding and by the Node
binding (tokens.mjs), with their keys, expected claims and error cases. Run once from the repo
root after `make build`: `.venv/bin/python vectors/generate/tokens.py`, then
`node vectors/generate/tokens_no_typ.mjs` (the `require_typ` cases). Every suite (cargo test,
pytest, node --test) asserts the file."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

import polyauth

ROOT = Path(__file__).resolve().parents[2]
ISSUER = "https://issuer.example"
AUDIENCE = "api"
ALGS = ["EdDSA", "ES256", "ES384", "PS256", "HS256", "HS384", "HS512"]
CLAIMS = {"sid": "sess-1", "scope": "read write", "amr": ["pwd", "otp"], "roles": ["admin"], "tenant": "t1"}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def main() -> None:
    keys = {alg: polyauth.KeySet.generate(alg, kid=f"{alg.lower()}-key") for alg in ALGS}
    jwks = {alg: k.to_jwks(private=True) for alg, k in keys.items()}
    tokens: list[dict[str, Any]] = []
    # Tokens carry the generation time; suites verify them with the clock set to their `iat`.
    for alg, k in keys.items():
        t = polyauth.Tokens(k, issuer=ISSUER, audience=AUDIENCE, access_ttl=86_400)
        tok = t.issue("user-42", CLAIMS)
        claims = t.verify(tok)
        tokens.append({"id": f"python-{alg}", "issued_by": "python", "alg": alg, "token": tok, "claims": claims})
    node = subprocess.run(
        ["node", str(Path(__file__).with_name("tokens.mjs"))],
        input=json.dumps({"jwks": jwks, "issuer": ISSUER, "audience": AUDIENCE, "claims": CLAIMS}),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    tokens.extend(json.loads(node.stdout))

    # Error cases, each built from a valid token, with the clock and options to verify under.
    ed = next(t for t in tokens if t["id"] == "python-EdDSA")
    head, body, sig = ed["token"].split(".")
    exp, iat = ed["claims"]["exp"], ed["claims"]["iat"]
    ed_pub = keys["EdDSA"].to_jwks()["keys"][0]
    confusion_input = f"{b64(json.dumps({'alg': 'HS256', 'kid': 'eddsa-key', 'typ': 'at+jwt'}).encode())}.{body}"
    import hashlib
    import hmac

    confusion_sig = hmac.new(json.dumps(ed_pub).encode(), confusion_input.encode(), hashlib.sha256).digest()
    none_header = b64(json.dumps({"alg": "none"}).encode())
    invalid = [
        {"id": "expired-outside-leeway", "alg": "EdDSA", "token": ed["token"], "now": exp + 30, "code": "token_expired"},
        {"id": "expired-inside-leeway", "alg": "EdDSA", "token": ed["token"], "now": exp + 29, "code": None},
        {"id": "iat-in-future", "alg": "EdDSA", "token": ed["token"], "now": iat - 31, "code": "token_not_yet_valid"},
        {"id": "wrong-audience", "alg": "EdDSA", "token": ed["token"], "now": iat, "audience": ["other"], "code": "invalid_audience"},
        {"id": "wrong-typ", "alg": "EdDSA", "token": ed["token"], "now": iat, "typ": "refresh+jwt", "code": "invalid_type"},
        {"id": "missing-required", "alg": "EdDSA", "token": ed["token"], "now": iat, "required": ["client_id"], "code": "missing_claim"},
        {"id": "tampered-payload", "alg": "EdDSA", "token": f"{head}.{b64(b'{}')}.{sig}", "now": iat, "code": "invalid_signature"},
        {"id": "alg-none", "alg": "EdDSA", "token": f"{none_header}.{body}.", "now": iat, "code": "unsupported_algorithm"},
        {"id": "hmac-with-public-key", "alg": "EdDSA", "token": f"{confusion_input}.{b64(confusion_sig)}", "now": iat, "code": "unsupported_algorithm"},
        {"id": "trailing-garbage", "alg": "EdDSA", "token": ed["token"] + ".x", "now": iat, "code": "invalid_token"},
        {"id": "padded-base64", "alg": "EdDSA", "token": f"{head}=.{body}.{sig}", "now": iat, "code": "invalid_token"},
    ]
    doc = {
        "description": "Access tokens issued by polyauth's Python and Node bindings; every suite verifies all of them.",
        "generated_by": "vectors/generate/tokens.py (+ tokens.mjs)",
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "note": "verify valid tokens with now = claims.iat; `code: null` means the token must verify",
        "keys": jwks,
        "tokens": tokens,
        "invalid": invalid,
    }
    (ROOT / "vectors" / "tokens.json").write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
