"""Generates vectors/cli.json: command lines of the ``polyauth`` tool with their stdin, exit code
and expected output, run by core/tests/cli_vectors.rs (the core's ``cli::run``),
tests-python/test_cli.py (``python -m polyauth`` and the console script) and
tests-node/cli.test.mjs (``node bindings-node/cli.js`` and ``npx polyauth``).

Run once from the repo root after ``make build``: ``.venv/bin/python vectors/generate/cli.py``.
The fixtures (a private EdDSA JWKS and a token it signed) are kept from the existing file when
there is one, so regenerating only refreshes the expected outputs of exact cases; those are
taken from the Python tool and every run of either suite must reproduce them byte for byte.

Matching rules (the two suites implement them alike):
- ``argv`` and expected strings may hold placeholders: ``{keys}`` (a fresh copy of the private
  JWKS fixture, per case), ``{public}`` (the public JWKS fixture), ``{token}``, ``{missing}``
  (a path that does not exist), ``{bad_jwks}`` (a JSON file that is no JWKS), ``{not_key}``
  (a text file that is neither JSON nor PEM), ``{dir}`` (the case's temporary directory),
  ``{sqlite}`` (a new SQLite URL), ``{postgres}`` / ``{redis}`` (a new namespaced URL on the
  test server; the case is skipped without the server unless POLYAUTH_REQUIRE_SERVICES=1).
- ``before``: command lines run first (each must exit 0), e.g. a migration before a purge.
- ``stdin``: text given on standard input (null: none, the stream is closed empty).
- ``exit``: the exit code.
- ``stdout`` (exact) or ``stdout_regex`` (a full match, dotall), or ``stdout_json``: stdout
  parsed as JSON matches the shape: ``"<string>"`` any string, ``"<int>"`` any integer,
  ``"<any>"`` anything, objects have exactly the keys listed, arrays the same length, any other
  value equal. Without any of the three, stdout must be empty.
- ``stderr`` (exact) or ``stderr_regex`` (a full match, dotall); without either, empty.
- ``file_json``: after the run, the JSON of the file ``{keys}`` matches this shape.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import polyauth

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "vectors" / "cli.json"
ISSUER = "https://issuer.example"

S = "<string>"
PRIVATE_OKP = {"alg": "EdDSA", "crv": "Ed25519", "d": S, "kid": S, "kty": "OKP", "use": "sig", "x": S}
PUBLIC_OKP = {"alg": "EdDSA", "crv": "Ed25519", "kid": S, "kty": "OKP", "use": "sig", "x": S}
PHC = r"\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}\n"


def fixtures() -> dict[str, Any]:
    if OUT.exists():
        old: dict[str, Any] = json.loads(OUT.read_text())["fixtures"]
        return old
    keys = polyauth.KeySet.generate("EdDSA")
    tokens = polyauth.Tokens(keys, issuer=ISSUER, audience="api")
    token = tokens.issue("user-1", {"scope": "read write", "sid": "s-1"}, ttl=900)
    claims = tokens.verify(token)
    return {
        "private_jwks": keys.to_jwks(private=True),
        "public_jwks": keys.to_jwks(private=False),
        "token": token,
        "iat": claims["iat"],
        "exp": claims["exp"],
    }


def cases(fx: dict[str, Any]) -> list[dict[str, Any]]:
    ok_at = str(fx["iat"] + 60)
    late = str(fx["exp"] + 31)
    verify = ["token", "verify", "{token}", "--jwks", "{public}", "--iss", ISSUER]
    usage = r"error: invalid_input: .*\nusage: polyauth .*\n"
    c: list[dict[str, Any]] = [
        # ---- keys ------------------------------------------------------------------------
        {"name": "keys generate: EdDSA private JWKS", "argv": ["keys", "generate"], "exit": 0,
         "stdout_json": {"keys": [PRIVATE_OKP]}},
        {"name": "keys generate --alg ES256 --json", "argv": ["keys", "generate", "--alg", "ES256", "--json"],
         "exit": 0, "stdout_json": {"ok": True, "alg": "ES256", "kid": S, "jwks": {"keys": [
             {"alg": "ES256", "crv": "P-256", "d": S, "kid": S, "kty": "EC", "use": "sig", "x": S, "y": S}]}}},
        {"name": "keys generate --alg HS256", "argv": ["keys", "generate", "--alg", "HS256", "--json"],
         "exit": 0, "stdout_json": {"ok": True, "alg": "HS256", "kid": S, "jwks": {"keys": [
             {"alg": "HS256", "k": S, "kid": S, "kty": "oct", "use": "sig"}]}}},
        {"name": "keys generate --out writes the file", "argv": ["keys", "generate", "--out", "{dir}/new.json"],
         "exit": 0, "stdout_regex": r"[A-Za-z0-9_-]{43}\n"},
        {"name": "keys generate --out refuses an existing file", "argv": ["keys", "generate", "--out", "{keys}"],
         "exit": 2, "stderr": "error: invalid_input: keys.json exists; rotate it with \"polyauth keys rotate\"\nusage: polyauth keys generate [--alg ALG] [--out FILE] [--json]\n"},
        {"name": "keys generate --alg none", "argv": ["keys", "generate", "--alg", "none"], "exit": 2,
         "stderr": "error: unsupported_algorithm: none\n"},
        {"name": "keys rotate prints the new kid", "argv": ["keys", "rotate", "{keys}"], "exit": 0,
         "stdout_regex": r"[A-Za-z0-9_-]{43}\n", "file_json": {"keys": [PRIVATE_OKP, PRIVATE_OKP]}},
        {"name": "keys rotate --json --keep 1", "argv": ["keys", "rotate", "{keys}", "--keep", "1", "--json"],
         "exit": 0, "stdout_json": {"ok": True, "alg": "EdDSA", "kid": S, "kids": [S], "file": "{keys}"},
         "file_json": {"keys": [PRIVATE_OKP]}},
        {"name": "keys rotate a public JWKS", "argv": ["keys", "rotate", "{public}"], "exit": 1,
         "stderr": "error: invalid_key: the JWKS holds public keys only; rotate the private JWKS\n"},
        {"name": "keys rotate a missing file", "argv": ["keys", "rotate", "{missing}"], "exit": 3,
         "stderr": "error: invalid_config: invalid configuration: cannot read missing.json: entity not found\n"},
        {"name": "keys rotate without FILE", "argv": ["keys", "rotate"], "exit": 2,
         "stderr": "error: invalid_input: keys rotate needs FILE\n"
                   "usage: polyauth keys rotate FILE [--alg ALG] [--keep N] [--json]\n"},
        {"name": "keys public of the private JWKS", "argv": ["keys", "public", "{keys}"], "exit": 0,
         "stdout": None},
        {"name": "keys public --json", "argv": ["keys", "public", "{keys}", "--json"], "exit": 0,
         "stdout_json": {"ok": True, "jwks": {"keys": [PUBLIC_OKP]}}},
        {"name": "keys public of a bad JWKS", "argv": ["keys", "public", "{bad_jwks}"], "exit": 1,
         "stderr_regex": r"error: invalid_key: .*\n"},
        {"name": "keys public of a file that is no key", "argv": ["keys", "public", "{not_key}"], "exit": 1,
         "stderr": "error: invalid_key: key material is neither JSON (JWK/JWKS) nor PEM\n"},
        {"name": "keys public --json of a missing file", "argv": ["keys", "public", "{missing}", "--json"],
         "exit": 3, "stdout_json": {"ok": False, "error": {"code": "invalid_config", "message": S}}},
        # ---- tokens ----------------------------------------------------------------------
        {"name": "token inspect", "argv": ["token", "inspect", "{token}"], "exit": 0, "stdout": None},
        {"name": "token inspect from stdin", "argv": ["token", "inspect", "-"], "stdin": "{token}\n",
         "exit": 0, "stdout": None},
        {"name": "token inspect --json", "argv": ["token", "inspect", "{token}", "--json"], "exit": 0,
         "stdout_json": {"ok": True, "verified": False, "warning": S,
                         "header": {"alg": "EdDSA", "kid": S, "typ": "at+jwt"},
                         "claims": {"aud": "api", "exp": fx["exp"], "iat": fx["iat"], "iss": ISSUER, "jti": S,
                                    "scope": "read write", "sid": "s-1", "sub": "user-1"}}},
        {"name": "token inspect garbage", "argv": ["token", "inspect", "garbage"], "exit": 1,
         "stderr": "error: invalid_token: not a compact JWS (three dot-separated parts)\n"},
        {"name": "token inspect bad base64", "argv": ["token", "inspect", "a.b!.c"], "exit": 1,
         "stderr_regex": "error: invalid_token: .*\n"},
        {"name": "token inspect --json garbage", "argv": ["token", "inspect", "x.y", "--json"], "exit": 1,
         "stdout_json": {"ok": False, "error": {"code": "invalid_token", "message": S}}},
        {"name": "token verify", "argv": [*verify, "--aud", "api", "--now", ok_at], "exit": 0, "stdout": None},
        {"name": "token verify with the private JWKS --json",
         "argv": ["token", "verify", "{token}", "--jwks", "{keys}", "--iss", ISSUER, "--aud", "other", "--aud", "api",
                  "--now", ok_at, "--json"],
         "exit": 0, "stdout_json": {"ok": True, "verified": True, "header": {"alg": "EdDSA", "kid": S, "typ": "at+jwt"},
                                    "claims": "<any>"}},
        {"name": "token verify: expired", "argv": [*verify, "--aud", "api", "--now", late], "exit": 1,
         "stderr": "error: token_expired: token has expired\n"},
        {"name": "token verify: wrong audience", "argv": [*verify, "--aud", "web", "--now", ok_at], "exit": 1,
         "stderr": "error: invalid_audience: token audience is not accepted\n"},
        {"name": "token verify: wrong issuer",
         "argv": ["token", "verify", "{token}", "--jwks", "{public}", "--iss", "https://other.example", "--aud", "api",
                  "--now", ok_at], "exit": 1, "stderr": "error: invalid_issuer: token issuer is not accepted\n"},
        {"name": "token verify: missing claim", "argv": [*verify, "--aud", "api", "--now", ok_at, "--require", "tenant"],
         "exit": 1, "stderr": "error: missing_claim: required claim missing: tenant\n"},
        {"name": "token verify --json: bad signature",
         "argv": ["token", "verify", fx["token"][:-4] + ("AAAA" if not fx["token"].endswith("AAAA") else "BBBA"),
                  "--jwks", "{public}", "--iss", ISSUER, "--aud", "api", "--now", ok_at, "--json"],
         "exit": 1, "stdout_json": {"ok": False, "error": {"code": "invalid_signature", "message": S}}},
        {"name": "token verify: garbage token", "argv": ["token", "verify", "garbage", "--jwks", "{public}", "--iss",
                                                          ISSUER, "--aud", "api"],
         "exit": 1, "stderr": "error: invalid_token: not a compact JWS (three dot-separated parts)\n"},
        {"name": "token verify: bad JWKS", "argv": ["token", "verify", "{token}", "--jwks", "{bad_jwks}", "--iss",
                                                     ISSUER, "--aud", "api"],
         "exit": 1, "stderr_regex": r"error: invalid_key: .*\n"},
        {"name": "token verify: unreadable JWKS", "argv": ["token", "verify", "{token}", "--jwks", "{missing}",
                                                            "--iss", ISSUER, "--aud", "api"],
         "exit": 3, "stderr": "error: invalid_config: invalid configuration: cannot read missing.json: entity not found\n"},
        {"name": "token verify: http JWKS URL without --allow-http",
         "argv": ["token", "verify", "{token}", "--jwks", "http://127.0.0.1:9/jwks", "--iss", ISSUER, "--aud", "api"],
         "exit": 2, "stderr_regex": r"error: invalid_config: invalid configuration: remote key set URL must be https .*\n"},
        {"name": "token verify: unreachable JWKS URL",
         "argv": ["token", "verify", "{token}", "--jwks", "http://127.0.0.1:9/jwks", "--allow-http", "--iss", ISSUER,
                  "--aud", "api"],
         "exit": 3, "stderr": "error: jwks_unavailable: remote key set unavailable: connection failed\n"},
        {"name": "token verify without --aud", "argv": [*verify], "exit": 2,
         "stderr_regex": "error: invalid_input: token verify needs --aud\nusage: polyauth token verify TOKEN .*\n"},
        # ---- hash --------------------------------------------------------------------------
        {"name": "hash", "argv": ["hash"], "stdin": "correct horse battery staple\n", "exit": 0, "stdout_regex": PHC},
        {"name": "hash --json", "argv": ["hash", "--json"], "stdin": "correct horse battery staple", "exit": 0,
         "stdout_json": {"ok": True, "hash": S}},
        {"name": "hash: empty stdin", "argv": ["hash"], "stdin": None, "exit": 2,
         "stderr": "error: invalid_input: no password on stdin (hash reads one line from stdin)\n"
                   "usage: polyauth hash [--time-cost N] [--memory-kib KIB] [--parallelism N] [--json]\n"},
        {"name": "hash: two lines", "argv": ["hash"], "stdin": "one\ntwo\n", "exit": 2, "stderr_regex": usage},
        {"name": "hash: password in argv is refused, not echoed", "argv": ["hash", "hunter2hunter2"], "exit": 2,
         "stderr_regex": r"error: invalid_input: hash reads the password from stdin, never from the command line[^\n]*\n"
                         r"usage: polyauth hash .*\n"},
        {"name": "hash --password=... is refused, not echoed", "argv": ["hash", "--password=hunter2hunter2", "--json"],
         "exit": 2, "stdout_json": {"ok": False, "error": {"code": "invalid_input", "message": S}}},
        {"name": "hash: below the OWASP table", "argv": ["hash", "--memory-kib", "1024"], "stdin": "pw\n", "exit": 2,
         "stderr_regex": r"error: invalid_config: invalid configuration: argon2id parameters below the OWASP table.*\n"},
        # ---- mfa ---------------------------------------------------------------------------
        {"name": "mfa key", "argv": ["mfa", "key"], "exit": 0, "stdout_regex": r"[A-Za-z0-9_-]{43}\n"},
        {"name": "mfa key --json", "argv": ["mfa", "key", "--json"], "exit": 0,
         "stdout_json": {"ok": True, "key": S, "key_id": S}},
        # ---- store -------------------------------------------------------------------------
        {"name": "store sql", "argv": ["store", "sql"], "exit": 0, "stdout": None},
        {"name": "store sql --dialect sqlite --from 3", "argv": ["store", "sql", "--dialect", "sqlite", "--from", "3"],
         "exit": 0, "stdout": None},
        {"name": "store sql --json", "argv": ["store", "sql", "--json"], "exit": 0,
         "stdout_json": {"ok": True, "dialect": "postgres", "migrations": [
             {"version": v, "sql": S} for v, _ in enumerate(range(4), start=1)]}},
        {"name": "store sql --dialect redis", "argv": ["store", "sql", "--dialect", "redis"], "exit": 2,
         "stderr_regex": usage},
        {"name": "store migrate sqlite", "argv": ["store", "migrate", "{sqlite}"], "exit": 0,
         "stdout": "sqlite store: schema at version 4\n"},
        {"name": "store purge sqlite", "argv": ["store", "purge", "{sqlite}", "--json"],
         "before": [["store", "migrate", "{sqlite}"]], "exit": 0,
         "stdout_json": {"ok": True, "backend": "sqlite", "purged": 0}},
        {"name": "store purge of an unmigrated sqlite store", "argv": ["store", "purge", "{sqlite}"], "exit": 2,
         "stderr_regex": r"error: invalid_config: invalid configuration: the store's schema is at version 0, .*\n"},
        {"name": "store migrate postgres", "argv": ["store", "migrate", "{postgres}", "--json"], "needs": "postgres",
         "exit": 0, "stdout_json": {"ok": True, "backend": "postgres", "schema_version": 4}},
        {"name": "store purge postgres", "argv": ["store", "purge", "{postgres}"], "needs": "postgres",
         "before": [["store", "migrate", "{postgres}"]], "exit": 0,
         "stdout": "postgres store: purged 0 expired rows\n"},
        {"name": "store migrate redis", "argv": ["store", "migrate", "{redis}"], "needs": "redis", "exit": 0,
         "stdout": "redis store: no schema to migrate\n"},
        {"name": "store purge redis", "argv": ["store", "purge", "{redis}", "--json"], "needs": "redis", "exit": 0,
         "stdout_json": {"ok": True, "backend": "redis", "purged": 0}},
        {"name": "store migrate: unreachable postgres (password never shown)",
         "argv": ["store", "migrate", "postgres://user:s3cret@127.0.0.1:9/db"], "exit": 3,
         "stderr_regex": r"error: store_unavailable: [^\n]*\n"},
        {"name": "store migrate: unknown scheme", "argv": ["store", "migrate", "mysql://h/db"], "exit": 2,
         "stderr": "error: invalid_config: invalid configuration: store URL scheme must be memory, sqlite, postgres "
                   "or redis\n"},
        {"name": "store migrate memory://", "argv": ["store", "migrate", "memory://"], "exit": 2,
         "stderr_regex": usage},
        # ---- the tool ----------------------------------------------------------------------
        {"name": "no command", "argv": [], "exit": 2,
         "stderr": "error: invalid_input: no command given\nrun \"polyauth help\" for the list of commands\n"},
        {"name": "unknown command", "argv": ["frobnicate"], "exit": 2,
         "stderr": "error: invalid_input: unknown command \"frobnicate\"\nrun \"polyauth help\" for the list of commands\n"},
        {"name": "unknown command --json", "argv": ["keys", "nope", "--json"], "exit": 2,
         "stdout_json": {"ok": False, "error": {"code": "invalid_input", "message": "unknown command \"keys nope\""}}},
        {"name": "unknown option", "argv": ["mfa", "key", "--bits", "128"], "exit": 2,
         "stderr": "error: invalid_input: unknown option \"--bits\" for mfa key\nusage: polyauth mfa key [--json]\n"},
        {"name": "help", "argv": ["help"], "exit": 0, "stdout": None},
        {"name": "help of a command", "argv": ["token", "verify", "--help"], "exit": 0, "stdout": None},
        {"name": "--version", "argv": ["--version"], "exit": 0, "stdout": f"polyauth {polyauth.__version__}\n"},
    ]
    return c


def run_python(argv: list[str], stdin: str | None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "polyauth", *argv],
        input=(stdin or "").encode(),
        capture_output=True,
        check=False,
    )


def main() -> None:
    fx = fixtures()
    all_cases = cases(fx)
    with tempfile.TemporaryDirectory() as d:
        public = Path(d) / "public.json"
        public.write_text(json.dumps(fx["public_jwks"]))
        keys = Path(d) / "keys.json"
        keys.write_text(json.dumps(fx["private_jwks"]))
        values = {"{token}": fx["token"], "{public}": str(public), "{keys}": str(keys)}
        for case in all_cases:
            if "stdout" in case and case["stdout"] is None:
                # An exact case: the Python tool's output, reproduced by both suites.
                argv = [values.get(a, a) for a in case["argv"]]
                stdin = case.get("stdin")
                if stdin is not None:
                    stdin = stdin.replace("{token}", fx["token"])
                r = run_python(argv, stdin)
                assert r.returncode == case["exit"], (case["name"], r.stderr)
                case["stdout"] = r.stdout.decode()
    doc = {
        "description": "Command lines of the polyauth tool, run by both suites in Python and Node with the same "
        "expectations; see vectors/generate/cli.py for the placeholders and matching rules.",
        "generated_by": "vectors/generate/cli.py",
        "exit_codes": {"0": "ok", "1": "refused (token, key, password or hash not accepted)",
                       "2": "usage or configuration error", "3": "file, store or network unavailable",
                       "4": "internal error"},
        "fixtures": fx,
        "cases": all_cases,
    }
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {len(all_cases)} cases to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
