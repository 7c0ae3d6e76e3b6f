"""Access-token benchmark, Python side: polyauth vs PyJWT and joserfc (run by bench/run_more.sh).

Writes raw samples as JSON (``--out``); bench/report_more.py turns them into
bench/RESULTS-tokens-sessions.md.

For every algorithm (HS256, ES256, EdDSA, PS256) and operation (issue, verify) the libraries run
in batches, round-robin (the starting library rotates every round) after a warm-up, so that noise
from a shared machine hits all of them alike; the report takes the median per-operation time over
the batches. Every library gets keys parsed once (PyJWT: cryptography key objects or the secret
bytes; joserfc: imported keys; polyauth: a KeySet), the same claim set (iss, sub, aud, exp, iat,
jti, scope, sid, amr, roles), and does the same validation on verify: signature, ``typ: at+jwt``,
issuer, audience, exp (with 30 s leeway) and a present ``sub``. Every verified token is checked
(``claims["sub"]``), and each library verifies tokens it issued itself. Before timing, each
library verifies every other library's tokens once, and must reject tokens with a wrong audience,
a wrong issuer, an expired ``exp`` or no ``exp``, so no library is measured with a check turned off.

Verify also runs breakdown rows (not compared against targets): polyauth's ``verify_jws``
(signature and header checks only, payload returned as bytes), the same followed by ``json.loads``,
and the bare signature check through ``cryptography``/``hmac`` on pre-split input (the floor under
PyJWT and joserfc).
"""

from __future__ import annotations

import argparse
import base64
import gc
import hashlib
import hmac
import json
import os
import platform
import secrets
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import jwt as pyjwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from joserfc import jwk as jose_jwk
from joserfc import jwt as jose_jwt
from joserfc.errors import SecurityWarning

import polyauth

ISSUER = "https://auth.example.com"
AUDIENCE = "https://api.example.com"
SUBJECT = "user_7f3a9c2e41"
TTL = 900
LEEWAY = 30
TYP = "at+jwt"
APP_CLAIMS: dict[str, Any] = {
    "scope": "openid profile email orders:read orders:write",
    "sid": "sess_9d8c7b6a5f4e3d2c1b0a",
    "amr": ["pwd", "otp"],
    "roles": ["customer", "billing_admin"],
}
ALGS = ("HS256", "ES256", "EdDSA", "PS256")
TOKEN_POOL = 64  # distinct tokens per library, verified in turn
BATCH_TARGET_S = 0.003
QUIET_CORES = 0.3
QUIET_MAX_WAIT_S = 2.0


def log(msg: str) -> None:
    print(f"[bench tokens python] {msg}", file=sys.stderr, flush=True)


# --- load accounting ---------------------------------------------------------------------------


def cpu_busy_s() -> float:
    """Machine-wide busy CPU seconds (/proc/stat)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except OSError:
        return float("nan")
    user, nice, system, _idle, _iowait, irq, softirq, _steal = fields
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def loadavg() -> list[float]:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


def wait_quiet() -> float:
    """Waits (at most QUIET_MAX_WAIT_S) until other processes use < QUIET_CORES; returns the wait."""
    t0 = time.perf_counter()
    while True:
        b0 = cpu_busy_s()
        time.sleep(0.25)
        waited = time.perf_counter() - t0
        if (cpu_busy_s() - b0) / 0.25 < QUIET_CORES or waited >= QUIET_MAX_WAIT_S or b0 != b0:
            return waited


class Phase:
    """Records the CPU other processes used during a phase (machine busy time minus ours)."""

    def __init__(self, name: str, into: list[dict[str, Any]]) -> None:
        self.name, self.into = name, into

    def __enter__(self) -> Phase:
        self.waited = wait_quiet()
        self.busy0, self.own0, self.wall0 = cpu_busy_s(), time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self.wall0
        own = time.process_time() - self.own0
        self.into.append(
            {
                "phase": self.name,
                "waited_for_quiet_s": round(self.waited, 2),
                "wall_s": wall,
                "own_cores": own / wall,
                "other_cores": max(0.0, cpu_busy_s() - self.busy0 - own) / wall,
            }
        )


# --- libraries ---------------------------------------------------------------------------------


@dataclass
class Lib:
    name: str
    role: str  # "polyauth", "peer" or "breakdown"
    issue: Callable[[], str] | None
    verify: Callable[[str], Any] | None
    check: Callable[[Any], bool] = field(default=lambda c: c["sub"] == SUBJECT)
    tokens: list[str] = field(default_factory=list)


def peer_claims() -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": ISSUER,
        "sub": SUBJECT,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + TTL,
        "jti": secrets.token_urlsafe(16),
        **APP_CLAIMS,
    }


@dataclass
class Keys:
    alg: str
    kid: str
    polyauth_sign: polyauth.KeySet
    polyauth_verify: polyauth.KeySet
    secret: bytes | None  # HS256
    crypto_priv: Any  # cryptography private key (asymmetric)
    crypto_pub: Any
    joserfc_priv: Any
    joserfc_pub: Any


def make_keys(alg: str) -> Keys:
    if alg.startswith("HS"):
        secret = secrets.token_bytes(32)
        ks = polyauth.KeySet.from_secret(secret, alg=alg)
        jwk = ks.to_jwks(private=True)["keys"][0]
        oct_key = jose_jwk.import_key(jwk)
        return Keys(alg, jwk["kid"], ks, ks, secret, None, None, oct_key, oct_key)
    ks = polyauth.KeySet.generate(alg)
    private_jwk = ks.to_jwks(private=True)["keys"][0]
    public_jwk = ks.to_jwks()["keys"][0]
    priv = pyjwt.PyJWK(private_jwk, algorithm=alg).key
    return Keys(
        alg,
        private_jwk["kid"],
        ks,
        polyauth.KeySet.from_jwks({"keys": [public_jwk]}),  # verify-only, like the peers' public keys
        None,
        priv,
        priv.public_key(),
        jose_jwk.import_key(private_jwk),
        jose_jwk.import_key(public_jwk),
    )


def make_libs(k: Keys) -> list[Lib]:
    alg = k.alg
    signer = polyauth.Tokens(k.polyauth_sign, issuer=ISSUER, audience=AUDIENCE)
    # verify_cache=0: every verification checks the signature, as the peers' do (the pool's tokens
    # come round again, and the verified-token cache would otherwise answer from memory).
    verifier = polyauth.Tokens(k.polyauth_verify, issuer=ISSUER, audience=AUDIENCE, verify_cache=0)

    def pa_issue() -> str:
        return signer.issue(SUBJECT, APP_CLAIMS)

    # --- PyJWT
    pj_sign_key = k.secret if k.secret is not None else k.crypto_priv
    pj_verify_key = k.secret if k.secret is not None else k.crypto_pub
    pj_header = {"kid": k.kid, "typ": TYP}
    pj_algs = [alg]
    pj_options = {"require": ["exp", "iss", "aud", "sub"]}

    def pj_issue() -> str:
        return pyjwt.encode(peer_claims(), pj_sign_key, algorithm=alg, headers=pj_header)

    def pj_verify(token: str) -> dict[str, Any]:
        d = pyjwt.decode_complete(
            token,
            pj_verify_key,
            algorithms=pj_algs,
            audience=AUDIENCE,
            issuer=ISSUER,
            leeway=LEEWAY,
            options=pj_options,
        )
        if d["header"].get("typ") != TYP:
            raise pyjwt.InvalidTokenError("typ")
        payload: dict[str, Any] = d["payload"]
        return payload

    # --- joserfc
    jr_header = {"alg": alg, "typ": TYP, "kid": k.kid}
    registry = jose_jwt.JWTClaimsRegistry(
        leeway=LEEWAY,
        iss={"essential": True, "value": ISSUER},
        aud={"essential": True, "value": AUDIENCE},
        sub={"essential": True},
        exp={"essential": True},
    )

    def jr_issue() -> str:
        return jose_jwt.encode(jr_header, peer_claims(), k.joserfc_priv, algorithms=pj_algs)

    def jr_verify(token: str) -> dict[str, Any]:
        t = jose_jwt.decode(token, k.joserfc_pub, algorithms=pj_algs)
        if t.header.get("typ") != TYP:
            raise ValueError("typ")
        registry.validate(t.claims)
        return t.claims

    verify_jws = k.polyauth_verify.verify_jws

    def jws_loads(token: str) -> dict[str, Any]:
        claims: dict[str, Any] = json.loads(verify_jws(token)[1])
        return claims

    libs = [
        Lib("polyauth", "polyauth", pa_issue, verifier.verify),
        Lib("PyJWT", "peer", pj_issue, pj_verify),
        Lib("joserfc", "peer", jr_issue, jr_verify),
        Lib("polyauth verify_jws", "breakdown", None, k.polyauth_verify.verify_jws, check=bool),
        Lib("polyauth verify_jws+json.loads", "breakdown", None, jws_loads),
        Lib("cryptography raw", "breakdown", None, raw_verifier(k), check=lambda ok: ok is True),
    ]
    return libs


def b64d(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def raw_verifier(k: Keys) -> Callable[[str], Any]:
    """The bare signature check on pre-split input: ``verify(token)`` looks the parts up in a dict
    filled outside timing (``prepare``), so only the cryptographic work is measured."""
    prepared: dict[str, tuple[bytes, bytes]] = {}
    alg = k.alg

    def prepare(token: str) -> None:
        h, p, s = token.split(".")
        sig = b64d(s)
        if alg == "ES256":
            sig = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
        prepared[token] = (f"{h}.{p}".encode(), sig)

    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    ecdsa = ec.ECDSA(hashes.SHA256())
    pub, secret = k.crypto_pub, k.secret

    def verify(token: str) -> bool:
        msg, sig = prepared[token]
        if alg == "HS256":
            assert secret is not None
            return hmac.compare_digest(hmac.new(secret, msg, hashlib.sha256).digest(), sig)
        if alg == "ES256":
            pub.verify(sig, msg, ecdsa)
        elif alg == "EdDSA":
            pub.verify(sig, msg)
        else:
            pub.verify(sig, msg, pss, hashes.SHA256())
        return True

    verify.prepare = prepare  # type: ignore[attr-defined]
    return verify


# --- correctness checks ------------------------------------------------------------------------


def forge(k: Keys, **overrides: Any) -> str:
    """A token signed with the benchmark key whose claims differ as given (None removes a claim)."""
    claims = peer_claims()
    for name, value in overrides.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    key = k.secret if k.secret is not None else k.crypto_priv
    return pyjwt.encode(claims, key, algorithm=k.alg, headers={"kid": k.kid, "typ": TYP})


def cross_check(k: Keys, libs: list[Lib]) -> list[dict[str, Any]]:
    main = [lib for lib in libs if lib.role != "breakdown"]
    out: list[dict[str, Any]] = []
    for issuer in main:
        assert issuer.issue is not None and issuer.verify is not None
        token = issuer.issue()
        for verifier in main:
            assert verifier.verify is not None
            try:
                ok = verifier.check(verifier.verify(token))
            except Exception as e:
                raise SystemExit(f"{k.alg}: {verifier.name} rejects a token of {issuer.name}: {e!r}") from e
            if not ok:
                raise SystemExit(f"{k.alg}: {verifier.name} returned wrong claims for {issuer.name}")
            out.append({"alg": k.alg, "issuer": issuer.name, "verifier": verifier.name, "ok": True})
    now = int(time.time())
    bad = {
        "wrong audience": forge(k, aud="https://other.example.com"),
        "wrong issuer": forge(k, iss="https://evil.example.com"),
        "expired": forge(k, iat=now - 2 * TTL, exp=now - TTL),
        "no exp": forge(k, exp=None),
        "no sub": forge(k, sub=None),
    }
    for verifier in main:
        assert verifier.verify is not None
        for what, token in bad.items():
            try:
                verifier.verify(token)
            except Exception:
                out.append({"alg": k.alg, "verifier": verifier.name, "rejects": what, "ok": True})
                continue
            raise SystemExit(f"{k.alg}: {verifier.name} accepted a token with {what}")
    return out


# --- timing ------------------------------------------------------------------------------------


def run_batch(lib: Lib, op: str, n: int, start: int) -> float:
    """Seconds for ``n`` operations; verify checks every result, issue checks the last token."""
    if op == "issue":
        issue = lib.issue
        assert issue is not None
        t0 = time.perf_counter()
        for _ in range(n):
            token = issue()
        dt = time.perf_counter() - t0
        lib.tokens.append(token)
        return dt
    verify, check, toks = lib.verify, lib.check, lib.tokens
    assert verify is not None
    m = len(toks)
    t0 = time.perf_counter()
    for i in range(start, start + n):
        if not check(verify(toks[i % m])):
            raise SystemExit(f"{lib.name}: verify returned an unexpected result")
    return time.perf_counter() - t0


def calibrate(lib: Lib, op: str) -> int:
    """Ops per batch so that a batch takes about BATCH_TARGET_S: the fastest of three timings at
    each size, after a warm-up, so that one pause (GC, a busy neighbour) cannot shrink the batch."""
    warm_until = time.perf_counter() + 0.05
    while time.perf_counter() < warm_until:
        run_batch(lib, op, 8, 0)
    n = 1
    while True:
        dt = min(run_batch(lib, op, n, 0) for _ in range(3))
        if dt >= BATCH_TARGET_S / 2 or n >= 1 << 16:
            return max(1, round(n * BATCH_TARGET_S / max(dt, 1e-9)))
        n *= 2


def measure(libs: list[Lib], op: str, budget_s: float, min_rounds: int) -> list[dict[str, Any]]:
    sizes = {lib.name: calibrate(lib, op) for lib in libs}
    warm_until = time.perf_counter() + 0.15 * len(libs)
    while time.perf_counter() < warm_until:  # warm-up, round-robin too
        for lib in libs:
            run_batch(lib, op, sizes[lib.name], 0)
    samples: dict[str, list[float]] = {lib.name: [] for lib in libs}
    gc.collect()
    t_end = time.perf_counter() + budget_s
    r = 0
    while r < min_rounds or time.perf_counter() < t_end:
        k = r % len(libs)
        for lib in libs[k:] + libs[:k]:
            n = sizes[lib.name]
            samples[lib.name].append(run_batch(lib, op, n, r * n) / n * 1e6)
        r += 1
    if op == "issue":  # the tokens issued during timing verify with the library's own verify
        for lib in libs:
            assert lib.verify is not None
            for token in lib.tokens[-3:]:
                if not lib.check(lib.verify(token)):
                    raise SystemExit(f"{lib.name}: an issued token does not verify")
    return [
        {"lib": lib.name, "role": lib.role, "op": op, "batch_n": sizes[lib.name], "us": samples[lib.name]}
        for lib in libs
    ]


def bench_alg(alg: str, issue_s: float, verify_s: float, load: list[dict[str, Any]]) -> dict[str, Any]:
    k = make_keys(alg)
    libs = make_libs(k)
    checks = cross_check(k, libs)
    main = [lib for lib in libs if lib.role != "breakdown"]
    for lib in main:  # each library's own tokens, used by its verify
        assert lib.issue is not None
        lib.tokens = [lib.issue() for _ in range(TOKEN_POOL)]
    pa_tokens = main[0].tokens
    for lib in libs:
        if lib.role == "breakdown":
            lib.tokens = list(pa_tokens) if lib.name.startswith("polyauth") else list(main[1].tokens)
            prep = getattr(lib.verify, "prepare", None)
            if prep is not None:
                for t in lib.tokens:
                    prep(t)
    results = []
    with Phase(f"{alg} verify", load):
        results += measure(libs, "verify", verify_s, 30)
    for lib in main:
        lib.tokens = []
    with Phase(f"{alg} issue", load):
        results += measure(main, "issue", issue_s, 20)
    sizes = {lib.name: len(lib.issue()) for lib in main if lib.issue is not None}
    return {"alg": alg, "results": results, "checks": checks, "token_bytes": sizes}


def versions() -> dict[str, str]:
    from cryptography.hazmat.backends.openssl.backend import backend

    v = {"python": platform.python_version(), "openssl (cryptography)": backend.openssl_version_text()}
    for dist in ("polyauth", "PyJWT", "joserfc", "cryptography"):
        try:
            v[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            v[dist] = "?"
    return v


def main() -> None:
    # joserfc warns on every EdDSA call (RFC 9864 prefers "Ed25519"); the tokens say "EdDSA".
    warnings.simplefilter("ignore", SecurityWarning)
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--issue-seconds", type=float, default=1.5, help="timed seconds per algorithm")
    ap.add_argument("--verify-seconds", type=float, default=2.5, help="timed seconds per algorithm")
    ap.add_argument("--algs", default=",".join(ALGS))
    args = ap.parse_args()
    out: dict[str, Any] = {
        "lang": "python",
        "versions": versions(),
        "loadavg_before": loadavg(),
        "started": time.time(),
        "config": {
            "issuer": ISSUER,
            "audience": AUDIENCE,
            "app_claims": APP_CLAIMS,
            "ttl": TTL,
            "leeway": LEEWAY,
            "batch_target_s": BATCH_TARGET_S,
            "token_pool": TOKEN_POOL,
        },
        "algs": [],
        "load": [],
    }
    for alg in args.algs.split(","):
        log(f"{alg} ...")
        out["algs"].append(bench_alg(alg, args.issue_seconds, args.verify_seconds, out["load"]))
        for r in out["algs"][-1]["results"]:
            log(f"  {r['op']:6} {r['lib']:22} {statistics.median(r['us']):9.2f} us  ({len(r['us'])} batches)")
    out["loadavg_after"] = loadavg()
    out["finished"] = time.time()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out), encoding="utf-8")


if __name__ == "__main__":
    main()
