"""One session, two languages: Python and Node share a store (the same SQLite file, the same
PostgreSQL namespace, the same Redis namespace) and a key set, and each refreshes, verifies and
revokes what the other started (DESIGN.md: "a session started by one side can be refreshed, listed
and revoked by the other"). The same holds for a second factor: one side enrolls, the other
confirms, and a code or recovery code accepted by one is refused by the other.

Node runs a small script written into tests-node/ (inside the package, so ``import 'polyauth'``
resolves by self-reference) that performs the operations it is given and prints their outcomes.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_sessions import open_store, store_url_for

import polyauth
from conftest import ROOT, load_project
from polyauth import KeySet, Mfa, Sessions, Tokens, Totp

VECTORS = load_project("tokens.json")
JWKS: dict[str, Any] = VECTORS["keys"]["EdDSA"]
ISSUER: str = VECTORS["issuer"]
AUDIENCE: str = VECTORS["audience"]
CLAIMS: dict[str, Any] = {"scope": "read write", "roles": ["admin"], "amr": ["pwd", "otp"]}

NODE_SCRIPT = """\
import { KeySet, Tokens, Store, Sessions, Mfa, Totp, PolyauthError } from 'polyauth'

const req = JSON.parse(process.env.POLYAUTH_XLANG_REQUEST)
const keys = KeySet.fromJwks(process.env.POLYAUTH_XLANG_JWKS)
const tokens = new Tokens(keys, { issuer: req.issuer, audience: req.audience })
const store = await Store.open(req.url)
const sessions = new Sessions(store, tokens)
const mfaFor = (op) => new Mfa(store, new Totp({ issuer: 'polyauth xlang' }), { encryptionKey: op.key })
const out = []
for (const op of req.ops) {
  try {
    let value
    switch (op.op) {
      case 'start': value = await sessions.start(op.subject, { claims: op.claims, meta: op.meta }); break
      case 'refresh': value = await sessions.refresh(op.token); break
      case 'revoke': value = await sessions.revoke(op.sessionId); break
      case 'isActive': value = await sessions.isActive(op.sessionId); break
      case 'list': value = await sessions.list(op.subject); break
      case 'verify': value = tokens.verify(op.token); break
      case 'mfaBegin': {
        const e = await mfaFor(op).beginEnrollment(op.subject, op.account, { now: op.now })
        value = { secret: e.secret, uri: e.uri }
        break
      }
      case 'mfaConfirm': value = await mfaFor(op).confirm(op.subject, op.code, { now: op.now }); break
      case 'mfaVerify': value = await mfaFor(op).verify(op.subject, op.code, { now: op.now }); break
      case 'mfaRecovery':
        value = await mfaFor(op).verifyRecoveryCode(op.subject, op.code, { now: op.now })
        break
      case 'mfaStatus': value = await mfaFor(op).status(op.subject); break
      default: throw new Error(`unknown op ${op.op}`)
    }
    out.push({ ok: true, value: value === undefined ? null : value })
  } catch (e) {
    if (!(e instanceof PolyauthError)) throw e
    out.push({ ok: false, code: e.code })
  }
}
process.stdout.write(JSON.stringify(out), () => process.exit(0))
"""


@pytest.fixture(params=["sqlite", "postgres", "redis"])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return store_url_for(request.param, tmp_path)


def node_script_file(text: str, stem: str) -> Iterator[Path]:
    """Writes ``text`` as a script into tests-node/ (so ``import 'polyauth'`` resolves) for the
    duration of a fixture; skips (fails in CI) when Node or the built package is missing."""
    node = shutil.which("node")
    built = (ROOT / "bindings-node" / "dist" / "index.js").is_file() and any(
        (ROOT / "bindings-node").glob("*.node")
    )
    if node is None or not built:
        message = "node or the built Node package (make build-node) is missing"
        if os.environ.get("CI") or os.environ.get("POLYAUTH_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    path = ROOT / "tests-node" / f".xlang-{stem}-{secrets.token_hex(6)}.mjs"
    path.write_text(text, encoding="utf-8")
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def node_script() -> Iterator[Path]:
    yield from node_script_file(NODE_SCRIPT, "sessions")


class Node:
    """Runs operations in a fresh Node process against ``url``."""

    def __init__(self, script: Path, url: str) -> None:
        self.script, self.url = script, url

    async def run(self, *ops: dict[str, Any]) -> list[dict[str, Any]]:
        request = {"url": self.url, "issuer": ISSUER, "audience": AUDIENCE, "ops": list(ops)}
        env = {
            **os.environ,
            "POLYAUTH_XLANG_REQUEST": json.dumps(request),
            "POLYAUTH_XLANG_JWKS": json.dumps(JWKS),
        }
        proc = await asyncio.create_subprocess_exec(
            "node",
            str(self.script),
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            stdout, stderr = await asyncio.wait_for(proc.communicate(), 30)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()
            raise
        assert proc.returncode == 0, stderr.decode(errors="replace")
        results: list[dict[str, Any]] = json.loads(stdout)
        assert len(results) == len(ops)
        return results

    async def one(self, op: dict[str, Any]) -> Any:
        """The value of one operation that must succeed."""
        (result,) = await self.run(op)
        assert result["ok"], result
        return result["value"]


def python_tokens() -> Tokens:
    return Tokens(KeySet.from_jwks(JWKS), issuer=ISSUER, audience=AUDIENCE)


def subject() -> str:
    return f"xlang-{secrets.token_hex(6)}"


async def test_python_starts_node_refreshes_python_revokes(shared_url: str, node_script: Path) -> None:
    tokens = python_tokens()
    sessions = Sessions(await open_store(shared_url), tokens)
    node = Node(node_script, shared_url)
    sub = subject()
    p0 = await sessions.start(sub, claims=CLAIMS, meta={"user_agent": "python", "ip": "192.0.2.1"})

    # Node verifies Python's access token and rotates Python's refresh token.
    verified, listed, n1, n1_claims = await node.run(
        {"op": "verify", "token": p0.access_token},
        {"op": "list", "subject": sub},
        {"op": "refresh", "token": p0.refresh_token},
        {"op": "verify", "token": p0.access_token},
    )
    assert verified["ok"] and verified["value"]["sid"] == p0.session_id
    assert verified["value"]["sub"] == sub and verified["value"]["scope"] == CLAIMS["scope"]
    assert listed["ok"] and [s["sessionId"] for s in listed["value"]] == [p0.session_id]
    assert listed["value"][0]["meta"] == {"user_agent": "python", "ip": "192.0.2.1"}
    assert n1["ok"], n1
    pair = n1["value"]
    assert pair["sessionId"] == p0.session_id
    assert pair["refreshToken"].startswith("prt_") and pair["refreshToken"] != p0.refresh_token
    assert n1_claims["ok"]

    # Python verifies Node's access token (same keys) and rotates Node's refresh token.
    claims = tokens.verify(pair["accessToken"])
    assert claims["sid"] == p0.session_id and claims["sub"] == sub
    for name, value in CLAIMS.items():
        assert claims[name] == value
    p2 = await sessions.refresh(pair["refreshToken"])
    assert p2.session_id == p0.session_id
    assert tokens.verify(p2.access_token)["roles"] == ["admin"]

    # Python revokes; Node sees it.
    assert await sessions.revoke(p0.session_id) is True
    refreshed, active, still = await node.run(
        {"op": "refresh", "token": p2.refresh_token},
        {"op": "isActive", "sessionId": p0.session_id},
        {"op": "list", "subject": sub},
    )
    assert refreshed == {"ok": False, "code": "session_revoked"}
    assert active == {"ok": True, "value": False}
    assert still == {"ok": True, "value": []}


async def test_node_starts_python_refreshes_and_revokes(shared_url: str, node_script: Path) -> None:
    tokens = python_tokens()
    sessions = Sessions(await open_store(shared_url), tokens)
    node = Node(node_script, shared_url)
    sub = subject()
    n0 = await node.one({"op": "start", "subject": sub, "claims": CLAIMS, "meta": {"user_agent": "node"}})
    assert n0["refreshToken"].startswith("prt_") and len(n0["refreshToken"]) == 47
    claims = tokens.verify(n0["accessToken"])
    assert claims["sid"] == n0["sessionId"] and claims["sub"] == sub and claims["amr"] == ["pwd", "otp"]
    assert await sessions.is_active(n0["sessionId"])
    listed = await sessions.list(sub)
    assert [s["session_id"] for s in listed] == [n0["sessionId"]]
    assert listed[0]["meta"] == {"user_agent": "node"} and listed[0]["claims"] == CLAIMS

    p1 = await sessions.refresh(n0["refreshToken"])
    assert p1.session_id == n0["sessionId"]
    assert tokens.verify(p1.access_token)["scope"] == CLAIMS["scope"]
    n2 = await node.one({"op": "refresh", "token": p1.refresh_token})
    assert n2["sessionId"] == n0["sessionId"]
    p3 = await sessions.refresh(n2["refreshToken"])

    assert await sessions.revoke(n0["sessionId"]) is True
    refreshed, active, revoked_again = await node.run(
        {"op": "refresh", "token": p3.refresh_token},
        {"op": "isActive", "sessionId": n0["sessionId"]},
        {"op": "revoke", "sessionId": n0["sessionId"]},
    )
    assert refreshed == {"ok": False, "code": "session_revoked"}
    assert active == {"ok": True, "value": False}
    assert revoked_again == {"ok": True, "value": False}
    with pytest.raises(polyauth.SessionRevokedError):
        await sessions.refresh(p3.refresh_token)


async def test_reuse_is_detected_across_languages(shared_url: str, node_script: Path) -> None:
    tokens = python_tokens()
    sessions = Sessions(await open_store(shared_url), tokens)
    node = Node(node_script, shared_url)
    sub = subject()
    p0 = await sessions.start(sub)
    n1 = await node.one({"op": "refresh", "token": p0.refresh_token})
    # Python replays the token Node already rotated: reuse, and the whole family is revoked.
    with pytest.raises(polyauth.RefreshReusedError):
        await sessions.refresh(p0.refresh_token)
    refreshed, replayed, active = await node.run(
        {"op": "refresh", "token": n1["refreshToken"]},
        {"op": "refresh", "token": p0.refresh_token},
        {"op": "isActive", "sessionId": p0.session_id},
    )
    assert refreshed == {"ok": False, "code": "session_revoked"}
    assert replayed["ok"] is False and replayed["code"] in ("refresh_reused", "session_revoked")
    assert active == {"ok": True, "value": False}
    # A revocation by Node is seen by Python.
    q = await sessions.start(sub)
    revoked = await node.one({"op": "revoke", "sessionId": q.session_id})
    assert revoked is True
    assert not await sessions.is_active(q.session_id)


async def test_mfa_is_shared_between_languages(shared_url: str, node_script: Path) -> None:
    key = Mfa.generate_key()
    totp = Totp(issuer="polyauth xlang")
    mfa = Mfa(await open_store(shared_url), totp, key)
    node = Node(node_script, shared_url)
    sub = subject()
    t = int(time.time())
    now = t - t % 30 + 1

    def code(k: int) -> str:
        return totp.code(enrollment.secret, now=now + 30 * k)

    def op(name: str, **args: Any) -> dict[str, Any]:
        return {"op": name, "key": key, "subject": sub, **args}

    # Python enrolls; Node confirms with the first code and gets the recovery codes.
    enrollment = await mfa.begin_enrollment(sub, "jane@example.com", now=now)
    recovery: list[str] = await node.one(op("mfaConfirm", code=code(0), now=now))
    assert len(recovery) == 10
    status = await mfa.status(sub)
    assert status["enabled"] and status["recovery_codes_remaining"] == 10
    # The confirming code is spent for Python too; each step's code works once, on either side.
    with pytest.raises(polyauth.TotpReplayedError):
        await mfa.verify(sub, code(0), now=now)
    assert await mfa.verify(sub, code(1), now=now + 30) == (now + 30) // 30
    replayed, later, older = await node.run(
        op("mfaVerify", code=code(1), now=now + 30),
        op("mfaVerify", code=code(2), now=now + 60),
        op("mfaVerify", code=code(1), now=now + 60),
    )
    assert replayed == {"ok": False, "code": "totp_replayed"}
    assert later == {"ok": True, "value": (now + 60) // 30}
    assert older == {"ok": False, "code": "totp_replayed"}
    with pytest.raises(polyauth.TotpReplayedError):
        await mfa.verify(sub, code(2), now=now + 61)
    # A recovery code from Node works once in Python; Node then sees it used.
    assert await mfa.verify_recovery_code(sub, recovery[0], now=now + 61) == 9
    used, node_status = await node.run(op("mfaRecovery", code=recovery[0], now=now + 61), op("mfaStatus"))
    assert used == {"ok": False, "code": "totp_replayed"}
    assert node_status["value"]["recoveryCodesRemaining"] == 9
    assert node_status["value"]["lastUsedAt"] == now + 60
    # Node enrolls another subject; Python confirms it.
    sub = subject()
    begun = await node.one(op("mfaBegin", account="sam@example.com", now=now))
    assert Totp.parse_uri(begun["uri"])["account"] == "sam@example.com"
    codes = await mfa.confirm(sub, totp.code(begun["secret"], now=now), now=now)
    assert len(codes) == 10
    # Another encryption key cannot read the secret Python stored.
    wrong = await node.run(
        {
            **op("mfaVerify", code=totp.code(begun["secret"], now=now + 30), now=now + 30),
            "key": Mfa.generate_key(),
        }
    )
    assert wrong == [{"ok": False, "code": "invalid_key"}]
