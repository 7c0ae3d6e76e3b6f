"""One user table, two languages: an account created by Node signs in from Python and the reverse,
a hash upgraded on a sign-in in one language verifies in the other, a password reset requested in
one is completed in the other, and a password step taken in Python is finished with the second
factor in Node (FRAMEWORKS.md §4: "a user registered through Next.js signs in through FastAPI").
On the shared SQLite file, PostgreSQL namespace and Redis namespace.

Node runs a small script written into tests-node/ (so ``import 'polyauth'`` resolves by
self-reference) performing the operations it is given; ``Node`` comes from the sessions test.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import test_cross_language_sessions as xlang
from test_cross_language_sessions import Node, node_script_file, python_tokens
from test_sessions import open_store

import polyauth
from polyauth import Accounts, Mfa, PasswordHasher, Sessions, SignIn, Totp

PASSWORD = "plum-cactus-orbit-lantern-42"
NEW_PASSWORD = "granite-willow-comet-harbor-88"
BCRYPT = "$2b$10$2CEUE9j.uOovtYunhB5MhewnUv2VvCQgU/jiToPjhMroR4DDypPAC"  # 'Tr0ub4dor&3'

NODE_SCRIPT = """\
import { Accounts, KeySet, Mfa, PasswordHasher, PolyauthError, Sessions, SignIn, Store, Tokens, Totp } from 'polyauth'

const req = JSON.parse(process.env.POLYAUTH_XLANG_REQUEST)
const tokens = new Tokens(KeySet.fromJwks(process.env.POLYAUTH_XLANG_JWKS), { issuer: req.issuer, audience: req.audience })
const store = await Store.open(req.url)
const accounts = new Accounts(store, new PasswordHasher())
const sessions = new Sessions(store, tokens)
const signInWith = (op) =>
  new SignIn(accounts, sessions, op.key ? { mfa: new Mfa(store, new Totp({ issuer: 'polyauth xlang' }), { encryptionKey: op.key }) } : {})
const out = []
for (const op of req.ops) {
  try {
    let value
    switch (op.op) {
      case 'create':
        value = (await accounts.create(op.login, op.passwordHash ? { passwordHash: op.passwordHash } : op.password)).subject
        break
      case 'find': value = await accounts.find(op.login); break
      case 'signIn': {
        const r = await signInWith(op).password(op.login, op.password)
        value = r.status === 'ok' ? { status: 'ok', claims: tokens.verify(r.pair.accessToken) } : r
        break
      }
      case 'secondFactor': {
        const pair = await signInWith(op).secondFactor(op.mfaToken, { code: op.code, now: op.now })
        value = { claims: tokens.verify(pair.accessToken) }
        break
      }
      case 'requestReset': value = await signInWith(op).requestPasswordReset(op.login); break
      case 'reset': value = await signInWith(op).resetPassword(op.token, op.password); break
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


# The same three shared stores as the sessions test (a fixture, found by pytest here by name).
shared_url = xlang.shared_url


@pytest.fixture(scope="module")
def node_script() -> Iterator[Path]:
    yield from node_script_file(NODE_SCRIPT, "accounts")


def login() -> str:
    return f"xlang-{secrets.token_hex(6)}@example.com"


async def python_side(url: str, mfa: Mfa | None = None) -> tuple[Accounts, SignIn]:
    accounts, signin, _ = await python_flow(url, mfa)
    return accounts, signin


async def python_flow(url: str, mfa: Mfa | None = None) -> tuple[Accounts, SignIn, Sessions]:
    store = await open_store(url)
    accounts = Accounts(store, PasswordHasher())
    sessions = Sessions(store, python_tokens())
    return accounts, SignIn(accounts, sessions, mfa=mfa), sessions


async def test_accounts_created_in_one_language_sign_in_from_the_other(
    shared_url: str, node_script: Path
) -> None:
    accounts, signin = await python_side(shared_url)
    node = Node(node_script, shared_url)
    jane, sam = login(), login()

    # Node registers Jane; Python signs her in with the login typed differently.
    jane_sub = await node.one({"op": "create", "login": jane.upper(), "password": PASSWORD})
    result = await signin.password(f"  {jane}  ", PASSWORD)
    assert result["status"] == "ok"
    claims = python_tokens().verify(result["pair"].access_token)
    assert claims["sub"] == jane_sub and claims["amr"] == ["pwd"]
    with pytest.raises(polyauth.InvalidCredentialsError):
        await signin.password(jane, NEW_PASSWORD)
    with pytest.raises(polyauth.AccountExistsError):
        await accounts.create(jane, NEW_PASSWORD)

    # Python registers Sam; Node signs him in and refuses what Python refuses, identically.
    sam_account = await accounts.create(sam, PASSWORD, claims={"role": "editor"})
    signed, wrong, unknown, taken, found = await node.run(
        {"op": "signIn", "login": sam.upper(), "password": PASSWORD},
        {"op": "signIn", "login": sam, "password": NEW_PASSWORD},
        {"op": "signIn", "login": login(), "password": PASSWORD},
        {"op": "create", "login": f" {sam} ", "password": NEW_PASSWORD},
        {"op": "find", "login": sam},
    )
    assert signed["ok"], signed
    assert signed["value"]["claims"]["sub"] == sam_account.subject
    assert signed["value"]["claims"]["role"] == "editor"
    assert wrong == unknown == {"ok": False, "code": "invalid_credentials"}
    assert taken == {"ok": False, "code": "account_exists"}
    assert found["value"]["subject"] == sam_account.subject and found["value"]["login"] == sam


async def test_a_hash_upgraded_in_python_verifies_in_node(shared_url: str, node_script: Path) -> None:
    accounts, signin = await python_side(shared_url)
    node = Node(node_script, shared_url)
    user = login()
    imported = await accounts.create(user, password_hash=BCRYPT)
    assert (await signin.password(user, "Tr0ub4dor&3"))["status"] == "ok"
    if shared_url.startswith("sqlite://"):
        # The file is right here: the stored hash is argon2id now.
        path = shared_url.removeprefix("sqlite://").split("?", 1)[0]
        with sqlite3.connect(path) as db:
            (stored,) = db.execute(
                "SELECT password_hash FROM polyauth_accounts WHERE subject = ?", (imported.subject,)
            ).fetchone()
        assert stored.startswith("$argon2id$")
    ok, wrong = await node.run(
        {"op": "signIn", "login": user, "password": "Tr0ub4dor&3"},
        {"op": "signIn", "login": user, "password": "Tr0ub4dor&4"},
    )
    assert ok["ok"] and ok["value"]["claims"]["sub"] == imported.subject
    assert wrong == {"ok": False, "code": "invalid_credentials"}
    # And the reverse: a legacy user Node imports and upgrades signs in from Python.
    other = login()
    await node.one({"op": "create", "login": other, "passwordHash": BCRYPT})
    assert (await node.one({"op": "signIn", "login": other, "password": "Tr0ub4dor&3"}))["status"] == "ok"
    assert (await signin.password(other, "Tr0ub4dor&3"))["status"] == "ok"


async def test_a_reset_requested_in_one_language_is_completed_in_the_other(
    shared_url: str, node_script: Path
) -> None:
    accounts, signin, sessions = await python_flow(shared_url)
    node = Node(node_script, shared_url)
    user = login()
    account = await accounts.create(user, PASSWORD)
    first = await signin.password(user, PASSWORD)
    assert first["status"] == "ok"

    token = await signin.request_password_reset(user)
    assert token is not None
    weak, done, again = await node.run(
        {"op": "reset", "token": token, "password": "short"},
        {"op": "reset", "token": token, "password": NEW_PASSWORD},
        {"op": "reset", "token": token, "password": NEW_PASSWORD},
    )
    assert weak == {"ok": False, "code": "password_policy"}
    assert done == {"ok": True, "value": account.subject}
    assert again == {"ok": False, "code": "token_used"}
    # Node's reset signed out the session Python started.
    assert not await sessions.is_active(first["pair"].session_id)
    with pytest.raises(polyauth.InvalidCredentialsError):
        await signin.password(user, PASSWORD)
    assert (await signin.password(user, NEW_PASSWORD))["status"] == "ok"

    # Node requests, Python completes.
    node_token = await node.one({"op": "requestReset", "login": user.upper()})
    assert isinstance(node_token, str)
    assert await signin.reset_password(node_token, PASSWORD + "-again") == account.subject
    with pytest.raises(polyauth.TokenUsedError):
        await signin.reset_password(node_token, PASSWORD + "-again")
    assert await node.one({"op": "requestReset", "login": login()}) is None


async def test_a_password_step_in_python_is_finished_by_node(shared_url: str, node_script: Path) -> None:
    key = Mfa.generate_key()
    totp = Totp(issuer="polyauth xlang")
    store = await open_store(shared_url)
    mfa = Mfa(store, totp, key)
    accounts, signin = await python_side(shared_url, mfa=mfa)
    node = Node(node_script, shared_url)
    user = login()
    account = await accounts.create(user, PASSWORD)
    t = int(time.time())
    now = t - t % 30 + 1
    enrollment = await mfa.begin_enrollment(account.subject, user, now=now - 60)
    await mfa.confirm(account.subject, totp.code(enrollment.secret, now=now - 60), now=now - 60)

    step = await signin.password(user, PASSWORD)
    assert step["status"] == "mfa_required"
    wrong_code = f"{(int(totp.code(enrollment.secret, now=now)) + 1) % 1_000_000:06d}"
    wrong, reused, again = await node.run(
        {"op": "secondFactor", "key": key, "mfaToken": step["mfa_token"], "code": wrong_code, "now": now},
        {"op": "secondFactor", "key": key, "mfaToken": step["mfa_token"], "code": "000000", "now": now},
        {"op": "secondFactor", "key": key, "mfaToken": step["mfa_token"], "code": "000000", "now": now},
    )
    # The first (wrong) code spent the token; Node's fresh token is in the error it threw, which
    # this script does not keep: the spent token is refused from then on.
    assert wrong == {"ok": False, "code": "totp_invalid"}
    assert reused == again == {"ok": False, "code": "invalid_token"}
    # A new step, finished in Node with the right code: one session, amr pwd + otp.
    step = await signin.password(user, PASSWORD)
    assert step["status"] == "mfa_required"
    done = await node.one(
        {
            "op": "secondFactor",
            "key": key,
            "mfaToken": step["mfa_token"],
            "code": totp.code(enrollment.secret, now=now),
            "now": now,
        }
    )
    assert done["claims"]["sub"] == account.subject and done["claims"]["amr"] == ["pwd", "otp"]
    # The code is spent for Python too.
    step = await signin.password(user, PASSWORD)
    assert step["status"] == "mfa_required"
    with pytest.raises(polyauth.TotpReplayedError) as e:
        await signin.second_factor(step["mfa_token"], code=totp.code(enrollment.secret, now=now), now=now)
    assert isinstance(e.value.mfa_token, str)
