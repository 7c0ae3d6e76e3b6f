"""``polyauth.fastapi`` flows over a real FastAPI app (httpx over ASGI): sign-in with MFA, refresh
under concurrency and reuse, logout and session management, the password grant, registration,
reset and verification, OpenAPI, audit events; on SQLite, PostgreSQL and Redis where the store
matters."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import Request
from fastapi.routing import APIRoute
from fastapi_app import SPEC, AppUnderTest, running, unique_login
from private_redis import private_redis
from test_fastapi_http import parse_set_cookies
from test_sessions import store_url_for

from polyauth import Mfa, PasswordHasher, RateLimitedError, Store, Throttle, Totp
from polyauth.fastapi import CookieConfig, PolyAuth, Principal

USER = SPEC["users"]["user"]
SAME_ORIGIN = {"sec-fetch-site": "same-origin", "x-polyauth": "1"}


@pytest.fixture(params=["sqlite", "postgres", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return store_url_for(request.param, tmp_path)


def cookie_header(t: AppUnderTest, response_or_pair: Any) -> dict[str, str]:
    """A Cookie header with the access and refresh cookies a response set."""
    assert t.auth.cookies is not None
    access, refresh = t.auth.cookies.names()
    got = parse_set_cookies(response_or_pair.headers.get_list("set-cookie"))
    return {"cookie": f"{access}={got[access]['value']}; {refresh}={got[refresh]['value']}"}


def refresh_cookie(t: AppUnderTest, token: str) -> dict[str, str]:
    assert t.auth.cookies is not None
    return {"cookie": f"{t.auth.cookies.names()[1]}={token}", **SAME_ORIGIN}


async def login(t: AppUnderTest, who: dict[str, Any] = USER) -> Any:
    response = await t.client.post("/auth/login", json={"login": who["login"], "password": who["password"]})
    assert response.status_code == 200, response.text
    return response


async def test_mfa_two_step_sign_in_with_wrong_right_and_replayed_codes(store_url: str) -> None:
    totp = Totp(issuer="polyauth test")
    async with running(store_url, mfa_key=Mfa.generate_key(), totp=totp) as t:
        mfa = t.auth.mfa
        assert mfa is not None
        subject = t.subjects["user"]
        now = int(time.time())
        enrollment = await mfa.begin_enrollment(subject, USER["login"], now=now - 90)
        recovery = await mfa.confirm(subject, totp.code(enrollment.secret, now=now - 90), now=now - 90)

        step = await t.client.post("/auth/login", json={"login": USER["login"], "password": USER["password"]})
        assert step.status_code == 200 and step.json()["status"] == "mfa_required"
        assert "set-cookie" not in step.headers
        first = step.json()["mfa_token"]
        wrong_code = f"{(int(totp.code(enrollment.secret)) + 1) % 1_000_000:06d}"
        wrong = await t.client.post("/auth/mfa/verify", json={"mfa_token": first, "code": wrong_code})
        assert wrong.status_code == 401 and wrong.json()["code"] == "totp_invalid"
        fresh = wrong.json()["mfa_token"]
        assert fresh != first and wrong.json()["tries_left"] == 4
        assert "set-cookie" not in wrong.headers
        right = await t.client.post(
            "/auth/mfa/verify", json={"mfa_token": fresh, "code": totp.code(enrollment.secret)}
        )
        assert right.status_code == 200, right.text
        me = await t.client.get("/auth/me", headers=cookie_header(t, right))
        assert me.json()["amr"] == ["pwd", "otp"] and me.json()["subject"] == subject
        for spent in (first, fresh):
            again = await t.client.post(
                "/auth/mfa/verify", json={"mfa_token": spent, "code": totp.code(enrollment.secret)}
            )
            assert again.status_code == 401 and again.json()["code"] == "invalid_token"
        # A recovery code finishes a new step once.
        step = await t.client.post("/auth/login", json={"login": USER["login"], "password": USER["password"]})
        by_recovery = await t.client.post(
            "/auth/mfa/verify", json={"mfa_token": step.json()["mfa_token"], "recovery_code": recovery[0]}
        )
        assert by_recovery.status_code == 200
        me = await t.client.get("/auth/me", headers=cookie_header(t, by_recovery))
        assert me.json()["amr"] == ["pwd", "recovery"]
        # The password grant cannot finish a second factor: refused, with no token.
        grant = await t.client.post(
            "/auth/token", data={"username": USER["login"], "password": USER["password"]}
        )
        assert grant.status_code == 403 and grant.json()["code"] == "mfa_required"
        names = [event for event, _ in t.events]
        assert "mfa_failed" in names and "login_succeeded" in names


async def test_fifty_concurrent_refreshes_with_one_cookie_rotate_once(tmp_path: Path) -> None:
    async with running(f"sqlite://{tmp_path / 'r.db'}") as t:
        pair = t.pairs["user"]
        responses = await asyncio.gather(
            *(
                t.client.post("/auth/refresh", headers=refresh_cookie(t, pair.refresh_token))
                for _ in range(50)
            )
        )
        assert {r.status_code for r in responses} == {200}
        cookies = {tuple(sorted(r.headers.get_list("set-cookie"))) for r in responses}
        assert len(cookies) == 1, "every racing request must send the identical Set-Cookie"
        # One rotation: the successor works, and it is the newest generation.
        successor = parse_set_cookies(list(next(iter(cookies))))
        assert t.auth.cookies is not None
        new_refresh = successor[t.auth.cookies.names()[1]]["value"]
        nxt = await t.client.post("/auth/refresh", headers=refresh_cookie(t, new_refresh))
        assert nxt.status_code == 200


async def test_reuse_after_the_window_revokes_and_clears_the_cookies(tmp_path: Path) -> None:
    async with running(f"sqlite://{tmp_path / 'reuse.db'}", reuse_grace=1) as t:
        assert t.auth.state.refresher.window == 1
        p0 = t.pairs["user"].refresh_token
        r1 = await t.client.post("/auth/refresh", headers=refresh_cookie(t, p0))
        assert r1.status_code == 200
        assert t.auth.cookies is not None
        p1 = parse_set_cookies(r1.headers.get_list("set-cookie"))[t.auth.cookies.names()[1]]["value"]
        r2 = await t.client.post("/auth/refresh", headers=refresh_cookie(t, p1))
        assert r2.status_code == 200
        await asyncio.sleep(1.2)
        stolen = await t.client.post("/auth/refresh", headers=refresh_cookie(t, p0))
        assert stolen.status_code == 401 and stolen.json()["code"] == "refresh_reused"
        cleared = parse_set_cookies(stolen.headers.get_list("set-cookie"))
        access, refresh = t.auth.cookies.names()
        assert cleared[access]["max-age"] == "0" and cleared[refresh]["max-age"] == "0"
        # The clear carries the attributes of the set, or the browser would keep the cookie.
        assert cleared[refresh]["path"] == "/auth" and cleared[refresh]["samesite"].lower() == "strict"
        assert cleared[access]["path"] == "/" and cleared[access]["secure"] is True
        assert ("refresh_reused", {}) in t.events


async def test_a_stopped_redis_is_503_with_retry_after_and_the_cookies_untouched(tmp_path: Path) -> None:
    # A real outage: a private redis-server, stopped after the sign-in (session_check=0, so an
    # authenticated request asks the store too).
    with private_redis(tmp_path) as server:
        async with running(server.url, session_check=0) as t:
            signed = await login(t)
            cookies = cookie_header(t, signed)
            assert t.auth.cookies is not None
            refresh = parse_set_cookies(signed.headers.get_list("set-cookie"))[t.auth.cookies.names()[1]]
            assert (await t.client.get("/api/items", headers=cookies)).status_code == 200
            server.stop()

            outage: dict[str, Callable[[], Awaitable[httpx.Response]]] = {
                "refresh": lambda: t.client.post(
                    "/auth/refresh", headers=refresh_cookie(t, refresh["value"])
                ),
                "cookie": lambda: t.client.get("/api/items", headers=cookies),
                "bearer": lambda: t.client.get(
                    "/api/items", headers={"authorization": f"Bearer {t.pairs['user'].access_token}"}
                ),
                # An optional principal is not taken for anonymous while the store is down.
                "optional": lambda: t.client.get("/api/public", headers=cookies),
                "login": lambda: t.client.post(
                    "/auth/login", json={"login": USER["login"], "password": USER["password"]}
                ),
                "logout": lambda: t.client.post("/auth/logout", headers={**cookies, **SAME_ORIGIN}),
            }
            for what, request in outage.items():
                r = await request()
                assert r.status_code == 503, (what, r.status_code, r.text)
                assert r.json() == {"detail": r.json()["detail"], "code": "store_unavailable"}, what
                assert r.headers["retry-after"] == "5", what
                assert r.headers["cache-control"] == "no-store", what
                assert "set-cookie" not in r.headers, f"{what}: a transient failure must not touch cookies"


async def test_wrong_passwords_on_login_are_throttled_with_retry_after(store_url: str) -> None:
    # An hour's lock once the free attempts are spent, so a slow machine cannot outlive it mid-test.
    store = await Store.open(store_url)
    throttle = Throttle(store, free_attempts=5, base_delay=3600, max_delay=3600)
    async with running(store_url, store=store, throttle=throttle) as t:
        wrong = {"login": USER["login"], "password": "wrong-password-123456"}
        statuses = []
        for _ in range(12):
            r = await t.client.post("/auth/login", json=wrong)
            statuses.append(r.status_code)
            if r.status_code != 401:
                break
        assert statuses[-1] == 429 and set(statuses[:-1]) == {401}, statuses
        assert r.json() == {"detail": "Too many attempts; try again later", "code": "rate_limited"}
        retry_after = r.headers["retry-after"]
        assert retry_after.isdigit() and 1 <= int(retry_after) <= 86_400
        assert r.headers["cache-control"] == "no-store" and "set-cookie" not in r.headers
        # While the login is locked the right password is refused too, and the password grant
        # shares the lock; another login is not affected.
        right = await t.client.post(
            "/auth/login", json={"login": USER["login"], "password": USER["password"]}
        )
        assert right.status_code == 429 and right.json()["code"] == "rate_limited"
        assert right.headers["retry-after"].isdigit() and "set-cookie" not in right.headers
        grant = await t.client.post(
            "/auth/token", data={"username": USER["login"], "password": USER["password"]}
        )
        assert grant.status_code == 429 and grant.json()["code"] == "rate_limited"
        assert grant.headers["retry-after"].isdigit()
        await login(t, SPEC["users"]["admin"])
        assert "rate_limited" in [event for event, _ in t.events]


async def test_a_long_lockout_is_capped_at_a_day_in_retry_after(tmp_path: Path) -> None:
    store = await Store.open(f"sqlite://{tmp_path / 'lock.db'}")
    # Locked for four days after the second failure.
    throttle = Throttle(store, free_attempts=1, max_failures=1, reset_after=4 * 86_400)
    async with running(f"sqlite://{tmp_path / 'lock.db'}", store=store, throttle=throttle) as t:
        wrong = {"login": USER["login"], "password": "wrong-password-123456"}
        assert (await t.client.post("/auth/login", json=wrong)).status_code == 401
        locked = await t.client.post("/auth/login", json=wrong)
        assert locked.status_code == 429 and locked.json()["code"] == "rate_limited"
        assert locked.headers["retry-after"] == "86400"
        # The lock itself is longer than the header says: only the header is capped.
        with pytest.raises(RateLimitedError) as raised:
            await t.auth.signin.password(USER["login"], USER["password"])
        assert raised.value.retry_after > 86_400


async def test_logout_with_an_expired_access_token_and_logout_everywhere(store_url: str) -> None:
    async with running(store_url) as t:
        first = await login(t)
        # Only the refresh cookie (the access cookie has expired and is gone).
        assert t.auth.cookies is not None
        refresh = parse_set_cookies(first.headers.get_list("set-cookie"))[t.auth.cookies.names()[1]]["value"]
        out = await t.client.post("/auth/logout", headers=refresh_cookie(t, refresh))
        assert out.status_code == 204
        assert len(parse_set_cookies(out.headers.get_list("set-cookie"))) == 2
        again = await t.client.post("/auth/refresh", headers=refresh_cookie(t, refresh))
        assert again.status_code == 401 and again.json()["code"] == "session_revoked"
        # Logout without the static header is refused (CSRF), and changes nothing.
        second = await login(t)
        r2 = parse_set_cookies(second.headers.get_list("set-cookie"))[t.auth.cookies.names()[1]]["value"]
        forged = await t.client.post(
            "/auth/logout",
            headers={"cookie": f"{t.auth.cookies.names()[1]}={r2}", "sec-fetch-site": "cross-site"},
        )
        assert forged.status_code == 403 and forged.json()["code"] == "csrf_failed"
        # A cookie logout without the static header is refused too, even with a valid access cookie.
        no_header = await t.client.post(
            "/auth/logout", headers={**cookie_header(t, second), "sec-fetch-site": "same-origin"}
        )
        assert no_header.status_code == 403 and no_header.json()["code"] == "csrf_failed"
        assert "set-cookie" not in no_header.headers
        # Logout everywhere revokes every session of the subject, the bearer ones too.
        everywhere = await t.client.post(
            "/auth/logout-all", headers={**cookie_header(t, second), **SAME_ORIGIN}
        )
        assert everywhere.status_code == 204
        t.auth.forget_session(t.pairs["user"].session_id)
        bearer = await t.client.get(
            "/api/items", headers={"authorization": f"Bearer {t.pairs['user'].access_token}"}
        )
        assert bearer.status_code == 401 and bearer.json()["code"] == "session_revoked"


async def test_sessions_are_listed_and_only_ones_own_can_be_revoked(store_url: str) -> None:
    async with running(store_url) as t:
        mine = await login(t)
        headers = cookie_header(t, mine)
        listed = await t.client.get("/auth/sessions", headers=headers)
        assert listed.status_code == 200
        rows = listed.json()
        assert len(rows) == 2 and sum(r["current"] for r in rows) == 1
        assert next(r for r in rows if r["current"])["meta"]["ip"]
        other = t.pairs["admin"].session_id
        foreign = await t.client.delete(f"/auth/sessions/{other}", headers={**headers, **SAME_ORIGIN})
        assert foreign.status_code == 404 and foreign.json()["code"] == "not_found"
        assert await t.auth.sessions.is_active(other)
        older = next(r["session_id"] for r in rows if not r["current"])
        gone = await t.client.delete(f"/auth/sessions/{older}", headers={**headers, **SAME_ORIGIN})
        assert gone.status_code == 204 and not await t.auth.sessions.is_active(older)
        assert "set-cookie" not in gone.headers


async def test_password_grant_registration_reset_and_verification(store_url: str) -> None:
    async with running(store_url) as t:
        grant = await t.client.post(
            "/auth/token", data={"username": USER["login"], "password": USER["password"]}
        )
        assert grant.status_code == 200
        assert set(grant.json()) == {"access_token", "token_type", "expires_in"}
        assert grant.json()["token_type"] == "bearer" and "set-cookie" not in grant.headers
        items = await t.client.get(
            "/api/items", headers={"authorization": f"Bearer {grant.json()['access_token']}"}
        )
        assert items.status_code == 200

        login = unique_login()
        created = await t.client.post(
            "/auth/register", json={"login": login, "password": "granite-willow-comet-88"}
        )
        assert created.status_code == 201 and set(created.json()) == {"subject"}
        dup = await t.client.post(
            "/auth/register", json={"login": login.upper(), "password": "granite-willow-comet-88"}
        )
        assert dup.status_code == 409 and dup.json()["code"] == "account_exists"
        weak = await t.client.post("/auth/register", json={"login": unique_login(), "password": "short"})
        assert weak.status_code == 422 and weak.json()["code"] == "password_policy" and weak.json()["reasons"]

        signed = await login_as(t, login, "granite-willow-comet-88")
        for who in (login, "nobody@example.com"):
            forgot = await t.client.post("/auth/password/forgot", json={"login": who})
            assert forgot.status_code == 202 and forgot.json() == {"status": "accepted"}
        assert [(k, to) for k, to, _ in t.sent] == [("password_reset", login)]
        token = t.sent[0][2]
        reset = await t.client.post(
            "/auth/password/reset", json={"token": token, "password": "new-granite-willow-99"}
        )
        assert reset.status_code == 200 and reset.json() == {"status": "reset"}
        me = await t.client.get("/auth/me", headers=cookie_header(t, signed))
        assert me.status_code == 401  # every session of the account was revoked
        used = await t.client.post(
            "/auth/password/reset", json={"token": token, "password": "new-granite-willow-99"}
        )
        assert used.status_code == 401 and used.json()["code"] == "token_used"

        fresh = await login_as(t, login, "new-granite-willow-99")
        request = await t.client.post(
            "/auth/email/verify/request", headers={**cookie_header(t, fresh), **SAME_ORIGIN}
        )
        assert request.status_code == 202
        kind, to, vtoken = t.sent[-1]
        assert (kind, to) == ("verify_email", login)
        verified = await t.client.post("/auth/email/verify", json={"token": vtoken})
        assert verified.status_code == 200 and verified.json() == {"verified": True}


async def test_a_failing_mailer_does_not_tell_real_accounts_from_unknown_ones(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[tuple[str, str]] = []

    async def broken_send(kind: str, to: str, token: str) -> None:
        calls.append((kind, to))
        raise ConnectionError(f"smtp refused {token}")

    async with running(f"sqlite://{tmp_path / 'mailer.db'}", send=broken_send) as t:
        with caplog.at_level("ERROR", logger="polyauth"):
            answers = [
                await t.client.post("/auth/password/forgot", json={"login": who})
                for who in (USER["login"], "nobody@example.com")
            ]
        assert [(a.status_code, a.json()) for a in answers] == [(202, {"status": "accepted"})] * 2
        assert calls == [("password_reset", USER["login"])]  # delivery was attempted, after the answer
        failures = [r.getMessage() for r in caplog.records if r.name == "polyauth"]
        assert failures == ["polyauth: send('password_reset') failed (ConnectionError)"]


@pytest.mark.parametrize("store_kind", ["sqlite", "redis"])
async def test_a_password_change_replaces_every_session(store_kind: str, tmp_path: Path) -> None:
    async with running(store_url_for(store_kind, tmp_path)) as t:
        login_name = unique_login()
        old, new = "granite-willow-comet-harbor-31", "granite-willow-comet-harbor-32"
        assert (
            await t.client.post("/auth/register", json={"login": login_name, "password": old})
        ).status_code == 201
        here = await login_as(t, login_name, old)
        elsewhere = await login_as(t, login_name, old)
        t.client.cookies.clear()  # every request below names its cookies
        change = "/auth/password/change"
        body = {"current_password": old, "new_password": new}
        # No credentials; a cookie without the CSRF conditions; a wrong current password; a weak new one.
        assert (await t.client.post(change, json=body)).status_code == 401
        csrf = await t.client.post(
            change, json=body, headers={**cookie_header(t, here), "sec-fetch-site": "cross-site"}
        )
        assert csrf.status_code == 403 and csrf.json()["code"] == "csrf_failed"
        headers = {**cookie_header(t, here), "sec-fetch-site": "same-origin"}
        wrong = await t.client.post(
            change, json={**body, "current_password": "not-the-password-1"}, headers=headers
        )
        assert wrong.status_code == 401 and wrong.json()["code"] == "invalid_credentials"
        weak = await t.client.post(change, json={**body, "new_password": "short"}, headers=headers)
        assert weak.status_code == 422 and weak.json()["code"] == "password_policy"
        assert (await t.client.get("/auth/me", headers=cookie_header(t, elsewhere))).status_code == 200

        changed = await t.client.post(change, json=body, headers=headers)
        assert changed.status_code == 200 and changed.json()["status"] == "ok", changed.text
        t.client.cookies.clear()
        for old_session in (here, elsewhere):
            me = await t.client.get("/auth/me", headers=cookie_header(t, old_session))
            assert me.status_code == 401 and me.json()["code"] == "session_revoked"
        fresh = await t.client.get("/auth/me", headers=cookie_header(t, changed))
        assert fresh.status_code == 200 and fresh.json()["amr"] == ["pwd"]
        refused = await t.client.post("/auth/login", json={"login": login_name, "password": old})
        assert refused.status_code == 401
        assert (
            "session_revoked",
            {"subject": fresh.json()["subject"], "all": True, "reason": "password_change"},
        ) in t.events
        await login_as(t, login_name, new)


async def login_as(t: AppUnderTest, name: str, password: str) -> Any:
    return await login(t, {"login": name, "password": password})


async def test_mfa_enrollment_replaces_the_session(tmp_path: Path) -> None:
    totp = Totp(issuer="polyauth test")
    async with running(f"sqlite://{tmp_path / 'enroll.db'}", mfa_key=Mfa.generate_key(), totp=totp) as t:
        signed = await login(t)
        headers = {**cookie_header(t, signed), **SAME_ORIGIN}
        before = (await t.client.get("/auth/me", headers=headers)).json()["session_id"]
        begun = await t.client.post("/auth/mfa/enroll", headers=headers)
        assert begun.status_code == 200 and begun.json()["uri"].startswith("otpauth://totp/")
        confirmed = await t.client.post(
            "/auth/mfa/confirm", headers=headers, json={"code": totp.code(begun.json()["secret"])}
        )
        assert confirmed.status_code == 200 and len(confirmed.json()["recovery_codes"]) == 10
        after = await t.client.get("/auth/me", headers=cookie_header(t, confirmed))
        assert after.json()["session_id"] != before and after.json()["amr"] == ["pwd", "otp"]
        assert not await t.auth.sessions.is_active(before)
        # The step-up route now lets this session in.
        secure = await t.client.get("/api/secure", headers=cookie_header(t, confirmed))
        assert secure.status_code == 200


async def test_openapi_declares_the_password_flow_and_the_cookie(tmp_path: Path) -> None:
    async with running(f"sqlite://{tmp_path / 'o.db'}") as t:
        schema = (await t.client.get("/openapi.json")).json()
        schemes = schema["components"]["securitySchemes"]
        assert schemes["OAuth2Password"]["flows"]["password"]["tokenUrl"] == "/auth/token"
        assert schemes["OAuth2Password"]["flows"]["password"]["scopes"]["items:write"] == "Edit items"
        assert schemes["PolyauthCookie"] == {
            "type": "apiKey",
            "in": "cookie",
            "name": "__Host-Http-polyauth_at",
        }
        security = schema["paths"]["/api/items"]["post"]["security"]
        # Alternatives, with the same scopes (OpenAPI 3.1 lets an apiKey scheme list them too).
        assert security == [{"OAuth2Password": ["items:write"]}, {"PolyauthCookie": ["items:write"]}]
        # Routes without the dependency list no scheme; the public ones of the router neither.
        assert "security" not in schema["paths"]["/auth/login"]["post"]
        # The cookie is declared in the document, not solved per request: auth.principal is one
        # dependency without sub-dependencies (FastAPI solves each one on every request).
        route = next(r for r in t.app.routes if isinstance(r, APIRoute) and r.path == "/api/items")
        (principal,) = [d for d in route.dependant.dependencies if d.call is t.auth.principal]
        assert principal.dependencies == []
    async with running(f"sqlite://{tmp_path / 'nocookie.db'}", cookies=False) as t:
        schema = (await t.client.get("/openapi.json")).json()
        assert set(schema["components"]["securitySchemes"]) == {"OAuth2Password"}
        assert schema["paths"]["/api/items"]["post"]["security"] == [{"OAuth2Password": ["items:write"]}]


async def test_cookies_off_returns_tokens_and_insecure_dev_drops_the_prefixes(tmp_path: Path) -> None:
    async with running(f"sqlite://{tmp_path / 'off.db'}", cookies=False) as t:
        r = await login(t)
        assert {"access_token", "refresh_token", "token_type", "expires_in"} <= set(r.json())
        assert "set-cookie" not in r.headers
        body = await t.client.post("/auth/refresh", json={"refresh_token": r.json()["refresh_token"]})
        assert body.status_code == 200 and body.json()["refresh_token"] != r.json()["refresh_token"]
    async with running(f"sqlite://{tmp_path / 'dev.db'}", cookies=CookieConfig(insecure_dev=True)) as t:
        set_cookies = parse_set_cookies((await login(t)).headers.get_list("set-cookie"))
        assert set(set_cookies) == {"polyauth_at", "polyauth_rt"}
        assert all("secure" not in attrs for attrs in set_cookies.values())


async def test_audit_events_never_carry_secrets(tmp_path: Path) -> None:
    async with running(f"sqlite://{tmp_path / 'a.db'}") as t:
        await t.client.post("/auth/login", json={"login": USER["login"], "password": "wrong-password-123456"})
        ok = await login(t, SPEC["users"]["admin"])
        await t.client.post(
            "/api/items",
            headers={**cookie_header(t, ok), "sec-fetch-site": "cross-site", "origin": "https://evil"},
        )
        names = [e for e, _ in t.events]
        assert {"login_failed", "login_succeeded", "csrf_rejected"} <= set(names)
        text = json.dumps([d for _, d in t.events])
        for secret in (USER["password"], "wrong-password-123456", t.pairs["user"].refresh_token):
            assert secret not in text
        principal_repr = repr(Principal("s", None, frozenset(), (), {"secret": "x"}, 0, 0, "bearer"))
        assert "secret" not in principal_repr


def test_importing_polyauth_does_not_import_fastapi() -> None:
    code = "import sys, polyauth; assert 'fastapi' not in sys.modules, 'fastapi imported'"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_polyauth_needs_a_store() -> None:
    from polyauth import InvalidConfigError, KeySet, Tokens

    tokens = Tokens(KeySet.generate("EdDSA"), issuer="https://a.example", audience="api")
    with pytest.raises(InvalidConfigError):
        PolyAuth(tokens=tokens)
    auth = PolyAuth(tokens=tokens, store_url="memory://")
    with pytest.raises(InvalidConfigError, match="not started"):
        _ = auth.sessions


async def loop_thread_cpu(work: Callable[[], Awaitable[object]]) -> float:
    """CPU seconds the event loop's thread spent while ``work`` ran. Unlike a wall-clock stall,
    this does not grow when the machine is busy (two cores, argon2 on both, CI neighbours): the
    scheduler may delay the loop's thread, but only work done on it counts."""
    start = time.thread_time()
    await work()
    return time.thread_time() - start


async def test_sign_in_never_blocks_the_event_loop(tmp_path: Path) -> None:
    async with running(f"sqlite://{tmp_path / 'loop.db'}") as t:
        accounts = t.auth.accounts
        assert accounts is not None
        users = [(f"loop-{i}@example.com", f"plum-cactus-orbit-{i}-42") for i in range(8)]
        for name, password in users:
            await accounts.create(name, password)
        request = Request({"type": "http", "method": "POST", "path": "/auth/login", "headers": []})

        async def eight_sign_ins() -> None:
            results = await asyncio.gather(*(t.auth.login(request, n, p) for n, p in users))
            assert [r["status"] for r in results] == ["ok"] * 8

        # What one argon2 hash costs when it runs on the loop's thread, as a blocking sign-in would.
        hasher = PasswordHasher()

        async def one_hash_on_the_loop() -> None:
            hasher.hash("plum-cactus-orbit-lantern-42")

        one_hash = await loop_thread_cpu(one_hash_on_the_loop)
        await eight_sign_ins()  # warm-up: first-use costs (imports, statement cache) are not the point
        on_loop = await loop_thread_cpu(eight_sign_ins)
        # Eight sign-ins verify eight passwords; had any verify run on the loop's thread, that
        # thread alone would have spent at least one hash of CPU, and eight if all had.
        assert on_loop < one_hash / 2, f"{on_loop * 1000:.2f} ms on the loop, {one_hash * 1000:.2f} ms a hash"
