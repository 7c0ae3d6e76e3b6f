"""``vectors/signin.json`` through the Python binding on every backend: the scripted sign-in
scenarios ``core/tests/signin_vectors.rs`` and ``tests-node/signin-vectors.test.mjs`` run too."""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Any

import pytest
from test_sessions import open_store, store_url_for

from conftest import load_project
from polyauth import (
    Accounts,
    AuthError,
    KeySet,
    Mfa,
    PasswordHasher,
    Sessions,
    SignIn,
    Store,
    Throttle,
    Tokens,
    Totp,
    TotpInvalidError,
    TotpReplayedError,
)

FILE = load_project("signin.json")
CASES: list[dict[str, Any]] = FILE["cases"]
TOTP = Totp()
TOKENS = Tokens(KeySet.generate("EdDSA"), issuer="https://issuer.test", audience="api")
HASHER = PasswordHasher()


class Case:
    """One scenario's state: the flows, the accounts it named, the tokens it holds."""

    def __init__(self, store: Store, throttle: dict[str, int] | None) -> None:
        self.accounts = Accounts(store, HASHER)
        self.sessions = Sessions(store, TOKENS)
        self.mfa = Mfa(store, TOTP, bytes([0x22]) * 32)
        self.signin = SignIn(
            self.accounts,
            self.sessions,
            mfa=self.mfa,
            throttle=Throttle(store, **throttle) if throttle else None,
        )
        self.tag = secrets.token_hex(6)
        self.now = int(time.time())
        self.subjects: dict[str, str] = {}
        self.secrets: dict[str, tuple[str, list[str]]] = {}
        self.latest_token: str | None = None
        self.spent_token: str | None = None
        self.last_mfa_subject: str | None = None
        self.last_session: str | None = None
        self.reset_token: str | None = None
        self.verification_token: str | None = None

    def text(self, step: dict[str, Any], key: str) -> str:
        return str(step[key]).replace("{tag}", self.tag)

    def signed(self, access_token: str, step: dict[str, Any]) -> dict[str, Any]:
        claims = TOKENS.verify(access_token)
        out: dict[str, Any] = {"status": "ok", "amr": claims["amr"]}
        want = step.get("expect", {}).get("claims")
        if want is not None:
            out["claims"] = {k: claims[k] for k in want if k in claims}
        return out

    async def run(self, step: dict[str, Any]) -> Any:
        op = step["op"]
        try:
            return await self._run(op, step)
        except AuthError as e:
            if op == "second_factor":
                return {"error": e.code, "retry": False}
            return {"error": e.code}

    async def _run(self, op: str, step: dict[str, Any]) -> Any:
        if op == "create":
            login = self.text(step, "login")
            if "password_hash" in step:
                account = await self.accounts.create(
                    login, password_hash=step["password_hash"], claims=step.get("claims")
                )
            else:
                account = await self.accounts.create(
                    login, self.text(step, "password"), claims=step.get("claims")
                )
            self.subjects[step["as"]] = account.subject
            return {"account": True}
        if op == "disable":
            await self.accounts.disable(self.subjects[step["account"]])
            return None
        if op == "enroll_mfa":
            subject = self.subjects[step["account"]]
            then = self.now - 120
            e = await self.mfa.begin_enrollment(subject, "user@example.com", now=then)
            codes = await self.mfa.confirm(subject, TOTP.code(e.secret, now=then), now=then)
            self.secrets[subject] = (e.secret, codes)
            return None
        if op == "password":
            login = self.text(step, "login")
            result = await self.signin.password(
                login, self.text(step, "password"), throttle_context=step.get("context")
            )
            if result["status"] == "ok":
                self.last_session = result["pair"].session_id
                return self.signed(result["pair"].access_token, step)
            self.latest_token = result["mfa_token"]
            found = await self.accounts.find(login)
            assert found is not None
            self.last_mfa_subject = found.subject
            return {"status": "mfa_required"}
        if op == "second_factor":
            token = self.spent_token if step.get("token") == "spent" else self.latest_token
            assert token is not None and self.last_mfa_subject is not None
            secret, codes = self.secrets[self.last_mfa_subject]
            right = TOTP.code(secret, now=self.now)
            code = {
                "current": right,
                "wrong": f"{(int(right) + 1) % 1_000_000:06d}",
                "malformed": "12ab",
            }.get(step.get("code", ""))
            recovery = codes[step["recovery"]] if "recovery" in step else None
            self.spent_token = token
            try:
                pair = await self.signin.second_factor(token, code=code, recovery_code=recovery, now=self.now)
            except (TotpInvalidError, TotpReplayedError) as e:
                if e.mfa_token is None:
                    return {"error": e.code, "retry": False}
                self.latest_token = e.mfa_token
                return {"error": e.code, "retry": True, "tries_left": e.tries_left}
            self.last_session = pair.session_id
            return self.signed(pair.access_token, step)
        if op == "session_active":
            assert self.last_session is not None
            return await self.sessions.is_active(self.last_session)
        if op == "request_password_reset":
            token = await self.signin.request_password_reset(self.text(step, "login"))
            if token is not None:
                self.reset_token = token
            return {"token": token is not None}
        if op == "reset_password":
            token = self.reset_token or self.verification_token
            assert token is not None
            await self.signin.reset_password(token, self.text(step, "password"))
            return {"ok": True}
        if op == "request_email_verification":
            self.verification_token = await self.signin.request_email_verification(
                self.subjects[step["account"]]
            )
            return None
        if op == "verify_email":
            assert self.verification_token is not None
            return {"verified": (await self.signin.verify_email(self.verification_token)).verified}
        raise AssertionError(f"unknown op {op}")


def test_the_file_has_the_scenarios() -> None:
    assert len(CASES) >= 10


@pytest.mark.parametrize("backend", ["memory", "sqlite", "postgres", "redis"])
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
async def test_signin_scenario(case: dict[str, Any], backend: str, tmp_path: Path) -> None:
    run = Case(await open_store(store_url_for(backend, tmp_path)), case.get("throttle"))
    for i, step in enumerate(case["steps"]):
        got = await run.run(step)
        assert got == step.get("expect"), f"step {i} {step}"
