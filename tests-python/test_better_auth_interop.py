"""Better Auth interop (issue 13), against a real Better Auth server (tests-interop/better-auth:
Node, `better-auth` with email and password, the JWT plugin and SQLite):

- FastAPI's ``principal``, with a ``RemoteKeySet`` on Better Auth's ``/api/auth/jwks`` and
  ``require_typ=False``, accepts the plugin's tokens (EdDSA, no ``typ``) and refuses tampered,
  expired and wrong-audience ones with FRAMEWORKS.md §1's 401 ``invalid_token``;
- examples/better-auth-migration/migrate.py moves Better Auth's users from its SQLite database
  into polyauth accounts; they sign in through ``/auth/login`` with their original passwords and
  their scrypt hashes become argon2id.

The server's npm dependencies are installed at the first run (``npm install`` in its
directory). Without node or npm the tests skip, except under CI, where they fail, as does a
failed install.
"""

import asyncio
import base64
import hashlib
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
from fastapi import FastAPI, Security

from conftest import stop_process
from polyauth import KeySet, RemoteKeySet, Tokens
from polyauth.errors import InvalidIssuerError
from polyauth.fastapi import PolyAuth, Principal

ROOT = Path(__file__).resolve().parents[1]
SERVER_DIR = ROOT / "tests-interop" / "better-auth"
MIGRATE = ROOT / "examples" / "better-auth-migration" / "migrate.py"
#: The JWT plugin's token lifetime here, short enough to watch a token expire.
JWT_SECONDS = 5
#: Allowed clock skew of the verifying side here (the default, 30 s, would outlive the tokens).
LEEWAY = 1


def _need(condition: bool, why: str) -> None:
    if not condition:
        if os.environ.get("CI"):
            pytest.fail(f"{why} (required under CI)")
        pytest.skip(why)


def _install_cache() -> Path:
    """Where an installed node_modules of this lock file, Node version and platform is kept
    between clones (``better-sqlite3`` compiles from source: about 2 minutes per install)."""
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout
    key = hashlib.sha256()
    key.update((SERVER_DIR / "package-lock.json").read_bytes())
    key.update(f"{node.strip()} {platform.machine()} {sys.platform}".encode())
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "polyauth" / f"better-auth-{key.hexdigest()[:24]}" / "node_modules"


def _install() -> None:
    """``npm install`` in the server's directory when its node_modules is missing or older than
    its lock file; a copy of an earlier install of the same lock file (see ``_install_cache``)
    serves instead when there is one."""
    _need(
        shutil.which("node") is not None and shutil.which("npm") is not None, "node and npm are not installed"
    )
    modules = SERVER_DIR / "node_modules"
    marker = modules / ".package-lock.json"
    lock = SERVER_DIR / "package-lock.json"
    if marker.exists() and marker.stat().st_mtime >= lock.stat().st_mtime:
        return
    cache = _install_cache()
    if (cache / ".package-lock.json").exists():
        shutil.rmtree(modules, ignore_errors=True)
        shutil.copytree(cache, modules, symlinks=True)
        marker.touch()
        return
    npm = shutil.which("npm")
    assert npm is not None
    done = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund"],
        cwd=SERVER_DIR,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0:
        pytest.fail(f"npm install in {SERVER_DIR} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    # Kept for the next clone: written beside, then renamed, so a half copy is never used.
    partial = cache.with_name(f"{cache.name}.{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(modules, partial, symlinks=True)
    try:
        partial.rename(cache)
    except OSError:
        shutil.rmtree(partial, ignore_errors=True)


@dataclass
class BetterAuth:
    url: str
    database: Path


@pytest.fixture(scope="module")
def better_auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BetterAuth]:
    """The Better Auth server, on a free 127.0.0.1 port, with a fresh SQLite database."""
    _install()
    directory = tmp_path_factory.mktemp("better-auth")
    database = directory / "better-auth.db"
    env = {**os.environ, "BETTER_AUTH_DB": str(database), "JWT_EXPIRATION": f"{JWT_SECONDS}s"}
    node = shutil.which("node")
    assert node is not None
    # Its log goes to a file (a pipe nobody reads could fill up and stall the server).
    log = (directory / "server.log").open("w")
    proc = subprocess.Popen(
        [node, "server.mjs"], cwd=SERVER_DIR, env=env, stdout=subprocess.PIPE, stderr=log, text=True
    )
    first: list[str] = []
    reader = threading.Thread(target=lambda: first.append(proc.stdout.readline() if proc.stdout else ""))
    reader.start()
    reader.join(60)
    try:
        if not first or not first[0]:
            output = (directory / "server.log").read_text()[-4000:]
            pytest.fail(f"the Better Auth server did not start:\n{output}")
        yield BetterAuth(json.loads(first[0])["url"], database)
    finally:
        stop_process(proc)
        log.close()


# ---- Better Auth's HTTP API ---------------------------------------------------------------------


async def sign_up(ba: BetterAuth, email: str, password: str, name: str = "Test User") -> httpx.AsyncClient:
    """A client signed in to Better Auth (its session cookie kept), after signing up. The caller
    closes it."""
    client = httpx.AsyncClient(base_url=ba.url, headers={"origin": ba.url}, timeout=30)
    r = await client.post(
        "/api/auth/sign-up/email", json={"email": email, "password": password, "name": name}
    )
    assert r.status_code == 200, r.text
    return client


async def sign_in(ba: BetterAuth, email: str, password: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=ba.url, headers={"origin": ba.url}, timeout=30)
    r = await client.post("/api/auth/sign-in/email", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return client


async def jwt_of(client: httpx.AsyncClient) -> str:
    """A fresh JWT from the JWT plugin's ``/api/auth/token``."""
    r = await client.get("/api/auth/token")
    assert r.status_code == 200, r.text
    token: str = r.json()["token"]
    return token


def b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    head, body, _ = token.split(".")
    return json.loads(b64decode(head)), json.loads(b64decode(body))


# ---- the FastAPI side ---------------------------------------------------------------------------


def api(ba: BetterAuth, *, audience: str | None = None, require_typ: bool = False) -> FastAPI:
    """A FastAPI app whose ``principal`` verifies Better Auth's tokens, as the README shows."""
    jwks = RemoteKeySet(f"{ba.url}/api/auth/jwks", allow_insecure_http=True)
    tokens = Tokens(jwks, issuer=ba.url, audience=audience or ba.url, leeway=LEEWAY, require_typ=require_typ)
    auth = PolyAuth(tokens=tokens, store_url="memory://", cookies=False)
    app = FastAPI(lifespan=auth.lifespan)
    auth.install(app)

    @app.get("/me")
    async def me(user: Annotated[Principal, Security(auth.principal)]) -> dict[str, Any]:
        return {"subject": user.subject, "email": user.claims.get("email"), "source": user.source}

    app.state.auth = auth
    return app


async def call_me(app: FastAPI, token: str) -> httpx.Response:
    async with app.state.auth.lifespan(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
            return await client.get("/me", headers={"authorization": f"Bearer {token}"})


def assert_refused(r: httpx.Response, code: str) -> None:
    """FRAMEWORKS.md §1: 401, ``Bearer error="invalid_token", error_description="<code>"``."""
    assert r.status_code == 401, r.text
    assert r.json()["code"] == code
    challenge = r.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="invalid_token"' in challenge
    assert f'error_description="{code}"' in challenge
    assert r.headers["cache-control"] == "no-store"


@pytest.fixture
async def signed_in(better_auth: BetterAuth) -> AsyncIterator[httpx.AsyncClient]:
    client = await sign_up(better_auth, f"jwt-{time.monotonic_ns()}@example.com", "correct horse battery")
    try:
        yield client
    finally:
        await client.aclose()


# ---- tokens -------------------------------------------------------------------------------------


async def test_principal_accepts_better_auth_tokens(
    better_auth: BetterAuth, signed_in: httpx.AsyncClient
) -> None:
    token = await jwt_of(signed_in)
    header, claims = parts(token)
    # What the JWT plugin issues: EdDSA, no typ; iss and aud are the base URL, sub the user id.
    assert header["alg"] == "EdDSA" and "typ" not in header and "kid" in header
    assert claims["iss"] == claims["aud"] == better_auth.url
    assert claims["exp"] - claims["iat"] == JWT_SECONDS
    r = await call_me(api(better_auth), token)
    assert r.status_code == 200, r.text
    assert r.json() == {"subject": claims["sub"], "email": claims["email"], "source": "bearer"}
    session = (await signed_in.get("/api/auth/get-session")).json()
    assert claims["sub"] == session["user"]["id"]


async def test_set_auth_jwt_header_is_accepted(better_auth: BetterAuth, signed_in: httpx.AsyncClient) -> None:
    r = await signed_in.get("/api/auth/get-session")
    token = r.headers["set-auth-jwt"]
    me = await call_me(api(better_auth), token)
    assert me.status_code == 200, me.text
    assert me.json()["subject"] == r.json()["user"]["id"]


async def test_without_require_typ_false_the_missing_typ_is_refused(
    better_auth: BetterAuth, signed_in: httpx.AsyncClient
) -> None:
    assert_refused(await call_me(api(better_auth, require_typ=True), await jwt_of(signed_in)), "invalid_type")


async def test_tampered_tokens_are_refused(better_auth: BetterAuth, signed_in: httpx.AsyncClient) -> None:
    app = api(better_auth)
    token = await jwt_of(signed_in)
    head, body, sig = token.split(".")
    claims = json.loads(b64decode(body))
    # Another subject under the original signature.
    forged = f"{head}.{b64encode(json.dumps({**claims, 'sub': 'someone-else'}).encode())}.{sig}"
    assert_refused(await call_me(app, forged), "invalid_signature")
    # One signature bit flipped.
    raw = bytearray(b64decode(sig))
    raw[0] ^= 1
    assert_refused(await call_me(app, f"{head}.{body}.{b64encode(bytes(raw))}"), "invalid_signature")
    # Signed by another Ed25519 key under Better Auth's kid: the kid only selects a key it serves.
    other = KeySet.generate("EdDSA", kid=json.loads(b64decode(head))["kid"])
    own = Tokens(other, issuer=better_auth.url, audience=better_auth.url)
    assert_refused(await call_me(app, own.issue(claims["sub"])), "invalid_signature")
    # And the untouched token still passes.
    assert (await call_me(app, token)).status_code == 200


async def test_expired_token_is_refused(better_auth: BetterAuth, signed_in: httpx.AsyncClient) -> None:
    token = await jwt_of(signed_in)
    _, claims = parts(token)
    app = api(better_auth)
    assert (await call_me(app, token)).status_code == 200
    await asyncio.sleep(max(0.0, claims["exp"] + LEEWAY + 0.5 - time.time()))
    assert_refused(await call_me(app, token), "token_expired")


async def test_wrong_audience_and_issuer_are_refused(
    better_auth: BetterAuth, signed_in: httpx.AsyncClient
) -> None:
    token = await jwt_of(signed_in)
    assert_refused(
        await call_me(api(better_auth, audience="https://other-api.example"), token), "invalid_audience"
    )
    jwks = RemoteKeySet(f"{better_auth.url}/api/auth/jwks", allow_insecure_http=True)
    tokens = Tokens(jwks, issuer="https://other-issuer.example", audience=better_auth.url, require_typ=False)
    with pytest.raises(InvalidIssuerError):
        await tokens.verify_async(token)


# ---- migration ----------------------------------------------------------------------------------


def run_migrate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(MIGRATE), *args], capture_output=True, text=True, timeout=120)


def query_store(store_file: Path, sql: str, *params: str) -> list[Any]:
    """Rows of polyauth's SQLite store, read by another process: a second copy of SQLite in this
    one (Python's sqlite3 beside the store's own) would release the store's file locks when it
    closes, and could take the WAL file from under it (sqlite.org/howtocorrupt.html, 2.2)."""
    script = (
        "import json, sqlite3, sys; db = sqlite3.connect(sys.argv[1]); "
        "print(json.dumps(db.execute(sys.argv[2], sys.argv[3:]).fetchall()))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(store_file), sql, *params],
        capture_output=True,
        text=True,
        check=True,
    )
    rows: list[Any] = json.loads(done.stdout)
    return rows


def stored_hash(store_file: Path, login: str) -> str:
    rows = query_store(store_file, "SELECT password_hash FROM polyauth_accounts WHERE login = ?", login)
    assert len(rows) == 1
    value: str = rows[0][0]
    return value


async def test_migration_moves_users_who_then_sign_in_with_their_passwords(
    better_auth: BetterAuth, tmp_path: Path
) -> None:
    tag = time.monotonic_ns()
    # Better Auth accepts 8-character passwords; polyauth's policy (15) applies to new ones only.
    users = {f"ada-{tag}@example.com": "correct horse battery staple", f"Bob-{tag}@Example.com": "hunter2!"}
    ids = {}
    for email, password in users.items():
        client = await sign_up(better_auth, email, password)
        try:
            ids[email.lower()] = (await client.get("/api/auth/get-session")).json()["user"]["id"]
        finally:
            await client.aclose()
        # The password works in Better Auth itself.
        await (await sign_in(better_auth, email, password)).aclose()
    ada, bob = (e.lower() for e in users)
    # Ada's email was verified in Better Auth (as its verify-email route records it), and Carol
    # signed up with GitHub only (no credential account): she has no password to move.
    ba = sqlite3.connect(better_auth.database)
    with ba:
        ba.execute('UPDATE "user" SET emailVerified = 1 WHERE id = ?', (ids[ada],))
        now = "2026-01-01T00:00:00.000Z"
        ba.execute(
            'INSERT INTO "user" (id, name, email, emailVerified, createdAt, updatedAt)'
            " VALUES (?, ?, ?, 1, ?, ?)",
            (f"carol-{tag}", "Carol", f"carol-{tag}@example.com", now, now),
        )
        ba.execute(
            "INSERT INTO account (id, accountId, providerId, userId, createdAt, updatedAt)"
            " VALUES (?, ?, 'github', ?, ?, ?)",
            (f"gh-{tag}", "12345", f"carol-{tag}", now, now),
        )
    ba_hash = ba.execute(
        "SELECT password FROM account WHERE userId = ? AND providerId = 'credential'", (ids[ada],)
    ).fetchone()[0]
    ba.close()

    store_file = tmp_path / "polyauth.db"
    store_url = f"sqlite://{store_file}"
    done = run_migrate(str(better_auth.database), store_url, "--json")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    results = {r["better_auth_id"]: r for r in lines[:-1]}
    assert results[ids[ada]]["status"] == results[ids[bob]]["status"] == "migrated"
    assert results[f"carol-{tag}"] == {"better_auth_id": f"carol-{tag}", "status": "no_password"}
    assert lines[-1]["summary"]["migrated"] >= 2
    # The hash moved as it was (never printed); Better Auth's id is a claim.
    assert stored_hash(store_file, ada) == ba_hash and ":" in ba_hash
    assert ba_hash not in done.stdout

    # Sign in through FastAPI's /auth/login with the original passwords.
    tokens = Tokens(KeySet.generate("EdDSA"), issuer="https://api.example", audience="api")
    auth = PolyAuth(tokens=tokens, store_url=store_url, cookies=False)
    app = FastAPI(lifespan=auth.lifespan)
    app.include_router(auth.router(prefix="/auth"))
    auth.install(app)
    async with auth.lifespan(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
            wrong = await client.post("/auth/login", json={"login": ada, "password": "not the password"})
            assert wrong.status_code == 401 and wrong.json()["code"] == "invalid_credentials"
            assert stored_hash(store_file, ada) == ba_hash
            for email, password in users.items():
                r = await client.post("/auth/login", json={"login": email, "password": password})
                assert r.status_code == 200, r.text
                body = r.json()
                assert body["status"] == "ok"
                claims = tokens.verify(body["access_token"])
                assert claims["better_auth_id"] == ids[email.lower()]
                assert claims["sub"] == results[ids[email.lower()]]["subject"]
                upgraded = stored_hash(store_file, email.lower())
                assert upgraded.startswith("$argon2id$"), "the scrypt hash was upgraded at sign-in"
                me = await client.get("/auth/me", headers={"authorization": f"Bearer {body['access_token']}"})
                assert me.status_code == 200 and me.json()["subject"] == claims["sub"]
            # The argon2id hash verifies the same password at the next sign-in.
            again = await client.post(
                "/auth/login", json={"login": bob, "password": users[f"Bob-{tag}@Example.com"]}
            )
            assert again.status_code == 200
        accounts = auth.accounts
        assert accounts is not None
        ada_account = await accounts.find(ada)
        bob_account = await accounts.find(bob)
        assert ada_account is not None and ada_account.verified
        assert bob_account is not None and not bob_account.verified
        assert await accounts.find(f"carol-{tag}@example.com") is None

    # Running it again changes nothing.
    rerun = run_migrate(str(better_auth.database), store_url)
    assert rerun.returncode == 0, rerun.stderr
    assert f"already_migrated  {ids[ada]} -> {results[ids[ada]]['subject']}" in rerun.stdout
    assert stored_hash(store_file, ada).startswith("$argon2id$")


async def test_migration_reports_what_it_cannot_move(better_auth: BetterAuth, tmp_path: Path) -> None:
    tag = time.monotonic_ns()
    email = f"dora-{tag}@example.com"
    await (await sign_up(better_auth, email, "correct horse battery")).aclose()
    store_url = f"sqlite://{tmp_path / 'polyauth.db'}"
    dry = run_migrate(str(better_auth.database), store_url, "--dry-run")
    assert dry.returncode == 0 and "would_migrate" in dry.stdout
    assert not (tmp_path / "polyauth.db").exists() or stored_count(tmp_path / "polyauth.db") == 0
    # The login already belongs to another polyauth account: reported, exit 1, nothing replaced.
    taken = KeySet.generate("EdDSA")
    auth = PolyAuth(tokens=Tokens(taken, issuer="https://api.example", audience="api"), store_url=store_url)
    async with auth.lifespan():
        assert auth.accounts is not None
        await auth.accounts.create(email, "a different long passphrase")
    done = run_migrate(str(better_auth.database), store_url)
    assert done.returncode == 1
    assert "login_taken" in done.stdout
    # Usage errors: no such database; the store in Better Auth's own file (two SQLite copies in one
    # process must not share a file).
    assert run_migrate(str(tmp_path / "missing.db"), store_url).returncode == 2
    same = run_migrate(str(better_auth.database), f"sqlite://{better_auth.database}")
    assert same.returncode == 2 and "must not be Better Auth's database" in same.stderr


def stored_count(store_file: Path) -> int:
    tables = query_store(
        store_file, "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'polyauth_accounts'"
    )
    if not tables:
        return 0
    count: int = query_store(store_file, "SELECT count(*) FROM polyauth_accounts")[0][0]
    return count
