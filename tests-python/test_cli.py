"""The ``polyauth`` command-line tool: every case of vectors/cli.json through ``python -m polyauth``
and the console script (tests-node/cli.test.mjs runs the same cases through ``node
bindings-node/cli.js`` and ``npx polyauth``), and the cross-language checks: for deterministic
inputs the Node tool prints the same bytes and exits alike, and what one tool writes (key files,
hashes) the other reads."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

import polyauth
from conftest import POSTGRES_URL, REDIS_URL, ROOT, load_project, remember_namespace

VECTORS = load_project("cli.json")
FX = VECTORS["fixtures"]
CASES = VECTORS["cases"]
CONSOLE_SCRIPT = Path(sys.executable).parent / "polyauth"
RUNNERS = {
    "python -m polyauth": [sys.executable, "-m", "polyauth"],
    "console script": [str(CONSOLE_SCRIPT)],
}
NODE_CLI = ROOT / "bindings-node" / "cli.js"


def required() -> bool:
    return bool(os.environ.get("CI") or os.environ.get("POLYAUTH_REQUIRE_SERVICES"))


def server_up(url: str, default_port: int) -> bool:
    u = urlsplit(url)
    try:
        socket.create_connection((u.hostname or "127.0.0.1", u.port or default_port), timeout=2).close()
    except OSError:
        return False
    return True


def placeholders(tmp: Path, needs: str | None) -> dict[str, str]:
    """Fresh files and store URLs for one case (see vectors/generate/cli.py)."""
    (tmp / "keys.json").write_text(json.dumps(FX["private_jwks"]))
    (tmp / "public.json").write_text(json.dumps(FX["public_jwks"]))
    (tmp / "bad.json").write_text('{"keys": [{"kty": "nope"}]}')
    (tmp / "not-key.txt").write_text("hello\n")
    values = {
        "{keys}": str(tmp / "keys.json"),
        "{public}": str(tmp / "public.json"),
        "{bad_jwks}": str(tmp / "bad.json"),
        "{not_key}": str(tmp / "not-key.txt"),
        "{missing}": str(tmp / "missing.json"),
        "{dir}": str(tmp),
        "{token}": FX["token"],
        "{sqlite}": f"sqlite://{tmp / f'store-{uuid.uuid4().hex[:8]}.db'}",
    }
    for name, base, port in (("postgres", POSTGRES_URL, 5432), ("redis", REDIS_URL, 6379)):
        if needs == name:
            if not server_up(base, port):
                if required():
                    pytest.fail(f"{name} is required (POLYAUTH_REQUIRE_SERVICES) but unreachable")
                pytest.skip(f"{name} unreachable")
            ns = remember_namespace(f"t{uuid.uuid4().hex[:16]}")
            sep = "&" if "?" in base else "?"
            values[f"{{{name}}}"] = f"{base}{sep}polyauth_namespace={ns}"
    return values


def subst(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        for k, v in values.items():
            value = value.replace(k, v)
        return value
    if isinstance(value, list):
        return [subst(v, values) for v in value]
    if isinstance(value, dict):
        return {k: subst(v, values) for k, v in value.items()}
    return value


def match_shape(actual: Any, shape: Any, where: str = "$") -> None:
    """The shape rules of vectors/cli.json."""
    if shape == "<any>":
        return
    if shape == "<string>":
        assert isinstance(actual, str), where
    elif shape == "<int>":
        assert isinstance(actual, int) and not isinstance(actual, bool), where
    elif isinstance(shape, dict):
        assert isinstance(actual, dict), where
        assert sorted(actual) == sorted(shape), f"{where}: keys {sorted(actual)} != {sorted(shape)}"
        for k, v in shape.items():
            match_shape(actual[k], v, f"{where}.{k}")
    elif isinstance(shape, list):
        assert isinstance(actual, list) and len(actual) == len(shape), where
        for i, (a, s) in enumerate(zip(actual, shape)):
            match_shape(a, s, f"{where}[{i}]")
    else:
        assert actual == shape, f"{where}: {actual!r} != {shape!r}"


def run(cmd: list[str], argv: list[str], stdin: str | None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*cmd, *argv],
        input=(stdin or "").encode(),
        capture_output=True,
        check=False,
        timeout=120,
        cwd=ROOT,
    )


def run_case(
    cmd: list[str], case: dict[str, Any], values: dict[str, str]
) -> subprocess.CompletedProcess[bytes]:
    for before in case.get("before", []):
        r = run(cmd, subst(before, values), None)
        assert r.returncode == 0, r.stderr
    stdin = case.get("stdin")
    return run(cmd, subst(case["argv"], values), None if stdin is None else subst(stdin, values))


def check(case: dict[str, Any], r: subprocess.CompletedProcess[bytes], values: dict[str, str]) -> None:
    out, err = r.stdout.decode(), r.stderr.decode()
    assert r.returncode == case["exit"], (out, err)
    want = subst(case, values)
    if "stdout" in want:
        assert out == want["stdout"]
    elif "stdout_regex" in want:
        assert re.fullmatch(want["stdout_regex"], out, re.S), out
    elif "stdout_json" in want:
        match_shape(json.loads(out), want["stdout_json"])
    else:
        assert out == ""
    if "stderr" in want:
        assert err == want["stderr"]
    elif "stderr_regex" in want:
        assert re.fullmatch(want["stderr_regex"], err, re.S), err
    else:
        assert err == ""
    if "file_json" in want:
        match_shape(json.loads(Path(values["{keys}"]).read_text()), want["file_json"])
    assert "Traceback" not in err and "panicked" not in err
    assert "hunter2" not in out + err and "s3cret" not in out + err


@pytest.mark.parametrize("runner", list(RUNNERS))
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_vector(case: dict[str, Any], runner: str, tmp_path: Path) -> None:
    values = placeholders(tmp_path, case.get("needs"))
    check(case, run_case(RUNNERS[runner], case, values), values)


# ---- the Node tool alongside -------------------------------------------------------------------


@pytest.fixture(scope="module")
def node_cli() -> list[str]:
    node = shutil.which("node")
    if node is None or not (ROOT / "bindings-node" / "dist" / "cli.js").is_file():
        if required():
            pytest.fail("node or the built Node package (make build-node) is missing")
        pytest.skip("node or the built Node package (make build-node) is missing")
    return [node, str(NODE_CLI)]


def deterministic(case: dict[str, Any]) -> bool:
    """Cases whose whole output is fixed by their input (no generated key, hash or file name)."""
    return "needs" not in case and not ({"stdout_regex", "stdout_json"} & case.keys() and case["exit"] == 0)


DETERMINISTIC = [c for c in CASES if deterministic(c)]


@pytest.mark.parametrize("case", DETERMINISTIC, ids=[c["name"] for c in DETERMINISTIC])
def test_node_prints_the_same(case: dict[str, Any], node_cli: list[str], tmp_path: Path) -> None:
    values = placeholders(tmp_path, None)
    py = run_case(RUNNERS["python -m polyauth"], case, values)
    values = placeholders(tmp_path, None)
    js = run_case(node_cli, case, values)
    assert (js.returncode, js.stdout.decode(), js.stderr.decode()) == (
        py.returncode,
        py.stdout.decode(),
        py.stderr.decode(),
    )


def test_key_files_cross(node_cli: list[str], tmp_path: Path) -> None:
    """A key file generated by Node, rotated by Python, read by both; a token signed with it
    verifies identically in both tools."""
    py = RUNNERS["python -m polyauth"]
    f = str(tmp_path / "keys.json")
    r = run(node_cli, ["keys", "generate", "--alg", "ES256", "--out", f], None)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "keys.json").stat().st_mode & 0o777 == 0o600
    kid1 = r.stdout.decode().strip()
    r = run(py, ["keys", "rotate", f, "--json"], None)
    assert r.returncode == 0, r.stderr
    rotated = json.loads(r.stdout)
    assert rotated["kids"][1] == kid1
    public_py = run(py, ["keys", "public", f], None).stdout
    public_js = run(node_cli, ["keys", "public", f], None).stdout
    assert public_py == public_js
    assert [k["kid"] for k in json.loads(public_py)["keys"]] == rotated["kids"]
    assert b'"d"' not in public_py

    keys = polyauth.KeySet.from_jwks((tmp_path / "keys.json").read_text())
    token = polyauth.Tokens(keys, issuer="https://cross.example", audience="api").issue("u-1")
    argv = ["token", "verify", token, "--jwks", f, "--iss", "https://cross.example", "--aud", "api", "--json"]
    a, b = run(py, argv, None), run(node_cli, argv, None)
    assert a.returncode == b.returncode == 0, a.stderr
    assert a.stdout == b.stdout
    assert json.loads(a.stdout)["claims"]["sub"] == "u-1"
    inspect = ["token", "inspect", token]
    assert run(py, inspect, None).stdout == run(node_cli, inspect, None).stdout


def test_hashes_cross(node_cli: list[str]) -> None:
    """A hash printed by the Node tool verifies with the Python hasher, and the other way."""
    hasher = polyauth.PasswordHasher()
    for cmd in (node_cli, RUNNERS["python -m polyauth"]):
        r = run(cmd, ["hash"], "tr\u00e8s s\u00e9cret passphrase\n")
        assert r.returncode == 0, r.stderr
        assert hasher.verify(r.stdout.decode().strip(), "tr\u00e8s s\u00e9cret passphrase")


async def test_mfa_key_is_an_encryption_key() -> None:
    r = run(RUNNERS["console script"], ["mfa", "key", "--json"], None)
    out = json.loads(r.stdout)
    store = await polyauth.Store.open("memory://")
    mfa = polyauth.Mfa(store, polyauth.Totp(issuer="CLI"), encryption_key=out["key"])
    enrollment = await mfa.begin_enrollment("user-1", "user@example.com")
    assert enrollment.secret


def test_run_cli_in_process() -> None:
    """``polyauth.__main__.run`` gives the result without a subprocess; stdin is asked for once."""
    from polyauth.__main__ import run as run_cli

    r = run_cli(["store", "sql", "--from", "3"])
    assert (r.code, r.stderr) == (0, "")
    assert "-- polyauth migration 4\n" in r.stdout and "-- polyauth migration 3\n" not in r.stdout
    r = polyauth._native.run_cli(["hash"])
    assert (r.need, r.secret) == ("stdin", True)
    r = polyauth._native.run_cli(["hash"], b"pw pw pw\n")
    assert r.need is None and r.code == 0 and r.stdout.startswith("$argon2id$")


def test_token_verify_with_a_jwks_url(node_cli: list[str]) -> None:
    """``--jwks URL``: each tool fetches through its own RemoteKeySet (httpx / fetch) and prints
    the same verification; a 404 is ``jwks_unavailable`` (exit 3) in both."""
    import http.server
    import threading

    body = json.dumps(FX["public_jwks"]).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/jwks":
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                self.send_response(404)
                self.send_header("content-length", "0")
                self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        now = str(FX["iat"] + 60)
        argv = ["token", "verify", "-", "--iss", "https://issuer.example", "--aud", "api", "--now", now]
        ok = [*argv, "--jwks", f"{base}/jwks", "--allow-http"]
        a, b = run(RUNNERS["console script"], ok, FX["token"]), run(node_cli, ok, FX["token"])
        assert a.returncode == b.returncode == 0, (a.stderr, b.stderr)
        assert a.stdout == b.stdout and a.stdout.startswith(b"VERIFIED")
        missing = [*argv, "--jwks", f"{base}/nope", "--allow-http"]
        a, b = run(RUNNERS["console script"], missing, FX["token"]), run(node_cli, missing, FX["token"])
        assert (
            (a.returncode, a.stderr)
            == (b.returncode, b.stderr)
            == (
                3,
                b"error: jwks_unavailable: remote key set unavailable: HTTP 404\n",
            )
        )
    finally:
        server.shutdown()
