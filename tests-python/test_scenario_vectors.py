"""The scenario vectors (``vectors/sessions.json``, ``onetime.json``, ``throttle.json``,
``mfa.json``, ``errors.json``) through the Python binding on every backend: the scripted cases
``core/tests/scenario_vectors.rs`` and ``tests-node/scenario-vectors.test.mjs`` run too. Each case
gets a fresh store; its clock T is the current 30-second step's start plus one second, and a
step's ``at`` is injected as ``now=T + at``."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from test_sessions import open_store, store_url_for

from conftest import load_project
from polyauth import (
    AuthError,
    KeySet,
    Mfa,
    OneTimeTokens,
    RateLimitedError,
    Sessions,
    Store,
    Throttle,
    Tokens,
    Totp,
)

FILES = ["sessions", "onetime", "throttle", "mfa", "errors"]
VECTORS = {name: load_project(f"{name}.json") for name in FILES}
CASES = [(name, case) for name in FILES for case in VECTORS[name]["cases"]]
KEYS = KeySet.generate("EdDSA")
TOTP = Totp(issuer="Polyauth Test")
LOCKED_FOREVER = 2**53 - 1
REFRESH = re.compile(r"prt_[A-Za-z0-9_-]{43}")
ONE_TIME = re.compile(r"pot_[A-Za-z0-9_-]{43}")
RECOVERY = re.compile(r"[0-9a-hjkmnp-tv-z]{6}(-[0-9a-hjkmnp-tv-z]{6}){3}")
LISTED = {"session_id", "subject", "created_at", "last_used_at", "expires_at", "claims", "meta"}
MFA_THROTTLE = {"base_delay": 600, "max_delay": 600}


def rel(t: int | None, base: int) -> int | str | None:
    """A time as an offset from the case's clock; ``"forever"`` for a lock until reset."""
    if t is None:
        return None
    return "forever" if t >= LOCKED_FOREVER else t - base


class Case:
    """One scenario: its store, the objects the steps use, and what the steps saved."""

    def __init__(self, store: Store, case: dict[str, Any]) -> None:
        self.store = store
        t = int(time.time())
        self.base = t - t % 30 + 1
        self.saved: dict[str, Any] = {}
        self.labels: dict[str, str] = {}
        self.seen: set[str] = set()
        self.services: dict[str, tuple[Tokens, Sessions]] = {}
        for name, s in case.get("services", {"api": {}}).items():
            tokens = Tokens(
                KEYS, issuer=s.get("issuer", "https://issuer.test"), audience=s.get("audience", "api")
            )
            options = {k: s[k] for k in ("refresh_ttl", "idle_ttl", "reuse_grace") if k in s}
            self.services[name] = (tokens, Sessions(store, tokens, **options))
        self.one_time = OneTimeTokens(store)
        throttles = case.get("throttles", {"main": case.get("throttle", {})})
        self.throttles = {name: Throttle(store, **cfg) for name, cfg in throttles.items()}
        m = case.get("mfa", {})
        mfa_options = {"enrollment_ttl": m["enrollment_ttl"]} if "enrollment_ttl" in m else {}
        mfa_throttle = Throttle(store, **m.get("throttle", MFA_THROTTLE))
        keyrings = m.get("keys", {"main": ["11" * 32]})
        self.mfas = {
            name: Mfa(store, TOTP, keys, throttle=mfa_throttle, **mfa_options)
            for name, keys in keyrings.items()
        }
        for name, options in m.get("instances", {}).items():
            self.mfas[name] = Mfa(store, TOTP, keyrings["main"], throttle=mfa_throttle, **options)

    # ---- values ---------------------------------------------------------------------------------

    def value(self, v: Any) -> Any:
        if isinstance(v, str) and v.startswith("$"):
            name, *path = v[1:].split(".")
            out = self.saved[name]
            for p in path:
                out = out[int(p)] if isinstance(out, list) else out[p]
            return out
        if isinstance(v, list):
            return [self.value(x) for x in v]
        if not isinstance(v, dict):
            return v
        if "repeat" in v:
            return v["repeat"] * v["times"]
        if "concat" in v:
            return "".join(self.value(x) for x in v["concat"])
        if "slice" in v:
            s, *bounds = v["slice"]
            return self.value(s)[slice(*bounds)]
        if "upper" in v:
            return self.value(v["upper"]).upper()
        if "replace" in v:
            s, old, new = v["replace"]
            return self.value(s).replace(old, new)
        if "totp" in v or "wrong_totp" in v:
            name = str(v["totp"] if "totp" in v else v["wrong_totp"])
            code = TOTP.code(self.saved[name]["secret"], now=self.base + v["at"])
            return code if "totp" in v else f"{(int(code) + 1) % 1_000_000:06d}"
        return {k: self.value(x) for k, x in v.items()}

    def now(self, step: dict[str, Any]) -> int | None:
        return self.base + step["at"] if "at" in step else None

    def arg(self, step: dict[str, Any], key: str) -> Any:
        return self.value(step[key])

    # ---- results --------------------------------------------------------------------------------

    def pair(self, step: dict[str, Any], tokens: Tokens, pair: Any) -> dict[str, Any]:
        assert REFRESH.fullmatch(pair.refresh_token) and pair.refresh_token not in self.seen, (
            "a fresh prt_ token"
        )
        self.seen.add(pair.refresh_token)
        if "save" in step:
            self.labels.setdefault(pair.session_id, step["save"])
            self.saved[step["save"]] = {
                "access_token": pair.access_token,
                "refresh_token": pair.refresh_token,
                "session_id": pair.session_id,
            }
        claims = tokens.verify(pair.access_token)
        assert claims["sid"] == pair.session_id and claims["jti"] not in self.seen, "a fresh jti"
        self.seen.add(claims["jti"])
        claims["sid"] = self.labels.get(pair.session_id, "?")
        out: dict[str, Any] = {
            "session": claims["sid"],
            "sub": claims["sub"],
            "expires_in": pair.expires_in,
            "access_lifetime": claims["exp"] - claims["iat"],
            "refresh_expires_at": rel(pair.refresh_expires_at, self.base),
        }
        want = step.get("expect")
        if isinstance(want, dict) and "claims" in want:
            out["claims"] = {k: claims[k] for k in want["claims"] if k in claims}
        return {k: out[k] for k in (want or {}) if k in out}

    def counter(self, step: dict[str, Any], counter: tuple[int, int]) -> dict[str, Any]:
        failures, locked_until = counter
        now = self.base + step["at"]
        return {
            "failures": failures,
            "locked_for": "forever" if locked_until >= LOCKED_FOREVER else max(0, locked_until - now),
        }

    # ---- steps ----------------------------------------------------------------------------------

    async def run(self, step: dict[str, Any]) -> Any:
        """The step's result (its last, with ``times``) in the vectors' terms."""
        for _ in range(step.get("times", 1) - 1):
            await self.once(step)
        return await self.once(step)

    async def once(self, step: dict[str, Any]) -> Any:
        try:
            return await self.op(step)
        except RateLimitedError as e:
            return {"error": e.code, "retry_after": "forever" if e.retry_after > 2**52 else e.retry_after}
        except AuthError as e:
            return {"error": e.code}

    async def op(self, step: dict[str, Any]) -> Any:
        op, now = step["op"], self.now(step)
        tokens, sessions = self.services[step.get("service", "api")]
        throttle = self.throttles[step.get("throttle", "main")]
        mfa = self.mfas[step.get("mfa", "main")]
        # Sessions
        if op == "start":
            pair = await sessions.start(
                self.arg(step, "subject"),
                self.value(step.get("claims")),
                self.value(step.get("meta")),
                now=now,
            )
            return self.pair(step, tokens, pair)
        if op == "refresh":
            return self.pair(step, tokens, await sessions.refresh(self.arg(step, "token"), now=now))
        if op == "revoke":
            return await sessions.revoke(self.arg(step, "session"))
        if op == "revoke_all":
            return await sessions.revoke_all(self.arg(step, "subject"))
        if op == "revoke_refresh_token":
            return await sessions.revoke_refresh_token(self.arg(step, "token"))
        if op == "is_active":
            return await sessions.is_active(self.arg(step, "session"), now=now)
        if op == "list":
            listed = await sessions.list(self.arg(step, "subject"))
            for s in listed:
                assert set(s) == LISTED and s["subject"] == self.arg(step, "subject"), s
            return [
                {
                    "session": self.labels.get(s["session_id"], "?"),
                    **{k: rel(s[k], self.base) for k in ("created_at", "last_used_at", "expires_at")},
                    "claims": s["claims"],
                    "meta": s["meta"],
                }
                for s in listed
            ]
        if op == "purge":
            return {"removed": await self.store.purge_expired(now=now) > 0}
        # One-time tokens
        if op == "issue":
            options = {k: self.value(step[k]) for k in ("ttl", "data") if k in step}
            token = await self.one_time.issue(
                self.arg(step, "subject"), self.arg(step, "purpose"), now=now, **options
            )
            assert ONE_TIME.fullmatch(token) and token not in self.seen, "a fresh pot_ token"
            self.seen.add(token)
            self.saved[step["save"]] = token
            return {"issued": True}
        if op in ("consume", "peek"):
            look = self.one_time.consume if op == "consume" else self.one_time.peek
            subject, data = await look(self.arg(step, "token"), self.arg(step, "purpose"), now=now)
            return {"subject": subject, "data": data}
        # Throttle
        if op in ("fail", "attempt"):
            count = throttle.fail if op == "fail" else throttle.attempt
            return self.counter(step, await count(self.arg(step, "key"), now=now))
        if op == "check":
            return await throttle.check(self.arg(step, "key"), now=now)
        if op == "reset":
            return await throttle.reset(self.arg(step, "key"))
        # Mfa
        subject = self.value(step.get("subject"))
        context = self.value(step.get("context"))
        if op == "begin":
            e = await mfa.begin_enrollment(
                subject, self.value(step.get("account", "jane@example.com")), now=now
            )
            assert (
                len(TOTP.generate_secret()) <= len(e.secret) and Totp.parse_uri(e.uri)["secret"] == e.secret
            )
            self.saved[step.get("save", "_")] = {"secret": e.secret}
            return {"expires_at": rel(e.expires_at, self.base)}
        if op in ("confirm", "regenerate"):
            if op == "confirm":
                codes = await mfa.confirm(subject, self.arg(step, "code"), now=now)
            else:
                codes = await mfa.regenerate_recovery_codes(subject)
            assert len(set(codes)) == len(codes) and all(RECOVERY.fullmatch(c) for c in codes), codes
            self.saved[step.get("save", "_")] = codes
            return {"recovery_codes": len(codes)}
        if op == "verify":
            step_no = await mfa.verify(subject, self.arg(step, "code"), now=now, throttle_context=context)
            return {"step": step_no - self.base // 30}
        if op == "recover":
            left = await mfa.verify_recovery_code(
                subject, self.arg(step, "code"), now=now, throttle_context=context
            )
            return {"remaining": left}
        if op == "disable":
            return await mfa.disable(subject)
        if op == "status":
            s = await mfa.status(subject, now=now)
            return {
                **s,
                "confirmed_at": rel(s["confirmed_at"], self.base),
                "last_used_at": rel(s["last_used_at"], self.base),
            }
        if op == "unlock":
            return await Throttle(self.store).reset(Mfa.throttle_key(subject, context))
        # Construction and opening
        if op == "new_sessions":
            Sessions(self.store, tokens, **step["options"])
            return {"ok": True}
        if op == "new_throttle":
            Throttle(self.store, **step["options"])
            return {"ok": True}
        if op == "new_mfa":
            ttl = {"enrollment_ttl": step["enrollment_ttl"]} if "enrollment_ttl" in step else {}
            keys = self.value(step["keys"])
            return {"key_ids": len(Mfa(self.store, TOTP, keys, **ttl).key_ids)}
        if op == "open_store":
            await Store.open(self.arg(step, "url"))
            return {"ok": True}
        raise AssertionError(f"unknown op {op}")


def matches(got: Any, want: Any) -> Any:
    """``got`` with a ``retry_after`` inside an expected ``[low, high]`` range replaced by it."""
    if isinstance(want, dict) and isinstance(got, dict) and isinstance(want.get("retry_after"), list):
        low, high = want["retry_after"]
        if isinstance(got.get("retry_after"), int) and low <= got["retry_after"] <= high:
            return {**got, "retry_after": want["retry_after"]}
    return got


def test_the_files_have_their_scenarios() -> None:
    for name in FILES:
        assert len(VECTORS[name]["cases"]) >= 5, name


@pytest.mark.parametrize("backend", ["memory", "sqlite", "postgres", "redis"])
@pytest.mark.parametrize("file,case", CASES, ids=[f"{f}: {c['name']}" for f, c in CASES])
async def test_scenario(file: str, case: dict[str, Any], backend: str, tmp_path: Path) -> None:
    run = Case(await open_store(store_url_for(backend, tmp_path)), case)
    for i, step in enumerate(case["steps"]):
        got = await run.run(step)
        want = run.value(step.get("expect"))
        assert matches(got, want) == want, f"step {i} {step}"[:2000]
