"""``vectors/http.json`` against ``polyauth.fastapi``: the error table, the CSRF matrix and the
cookie attributes both framework layers share (FRAMEWORKS.md §1), over a real FastAPI app through
httpx's ASGI transport, on SQLite."""

from __future__ import annotations

from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import pytest
from fastapi_app import BASE, HTTP, SPEC, AppUnderTest, expired_token, running

COOKIES: dict[str, dict[str, Any]] = HTTP["cookies"]["fastapi"]
CASES: list[dict[str, Any]] = HTTP["cases"]


def parse_set_cookies(headers: list[str]) -> dict[str, dict[str, Any]]:
    """``Set-Cookie`` headers by cookie name: value and lower-cased attributes."""
    out: dict[str, dict[str, Any]] = {}
    for header in headers:
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        for name, morsel in jar.items():
            attrs: dict[str, Any] = {"value": morsel.value}
            for part in header.split(";")[1:]:
                key, _, value = part.strip().partition("=")
                attrs[key.lower()] = value if value else True
            out[name] = attrs
    return out


def check_cookie(kind: str, attrs: dict[str, Any], t: AppUnderTest) -> None:
    """A set cookie carries every attribute of ``vectors/http.json`` for its kind."""
    want = COOKIES[kind]
    assert attrs.get("path") == want["path"], attrs
    assert str(attrs.get("samesite", "")).lower() == want["samesite"], attrs
    assert attrs.get("httponly") is True and attrs.get("secure") is True, attrs
    max_age = int(attrs["max-age"])
    if want["max_age"] == "access_ttl":
        assert max_age == 900
    else:
        assert abs(max_age - t.auth.sessions.refresh_ttl) <= 5


async def credentials(t: AppUnderTest, auth: str) -> dict[str, str]:
    """The headers ``auth`` (the vectors' notation) stands for."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    access_name, refresh_name = t.auth.cookies.names() if t.auth.cookies else ("", "")
    for part in auth.split("+"):
        kind, _, who = part.partition(":")
        if kind == "none":
            continue
        if kind == "header":
            headers["authorization"] = who
        elif kind == "bearer":
            if who == "garbage":
                token = "not.a.token"
            elif who == "expired":
                token = await expired_token(t)
            elif who == "revoked":
                result = await t.auth.signin.password(
                    SPEC["users"]["user"]["login"], SPEC["users"]["user"]["password"]
                )
                assert result["status"] == "ok"
                token = result["pair"].access_token
                await t.auth.sessions.revoke(result["pair"].session_id)
            else:
                token = t.pairs[who].access_token
            headers["authorization"] = f"Bearer {token}"
        elif kind == "cookie":
            cookies.append(
                f"{access_name}={'not.a.token' if who == 'garbage' else t.pairs[who].access_token}"
            )
        elif kind == "refresh-cookie":
            cookies.append(f"{refresh_name}={t.pairs[who].refresh_token}")
        else:
            raise AssertionError(f"unknown auth {part}")
    if cookies:
        headers["cookie"] = "; ".join(cookies)
    return headers


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
async def test_http_vector(case: dict[str, Any], tmp_path: Path) -> None:
    async with running(f"sqlite://{tmp_path / 'http.db'}") as t:
        req = case["request"]
        headers = await credentials(t, req.get("auth", "none"))
        for name, value in req.get("headers", {}).items():
            headers[name] = value.replace("{self}", BASE)
        response = await t.client.request(req["method"], req["path"], headers=headers, json=req.get("json"))
        want = case["expect"]
        assert response.status_code == want["status"], response.text
        body = response.json() if response.content else {}
        if "code" in want:
            assert body.get("code") == want["code"], body
            assert isinstance(body.get("detail"), str) and body["detail"], body
            assert response.headers.get("cache-control") == "no-store"
        for key, value in want.get("body", {}).items():
            assert body.get(key) == value, body
        for name, value in want.get("headers", {}).items():
            assert response.headers.get(name) == value, dict(response.headers)
        for name, fragment in want.get("headers_contain", {}).items():
            assert fragment in response.headers.get(name, ""), dict(response.headers)
        if "cookies_set" in want:
            set_cookies = parse_set_cookies(response.headers.get_list("set-cookie"))
            for kind in want["cookies_set"]:
                name = COOKIES[kind]["name"]
                assert name in set_cookies, set_cookies.keys()
                check_cookie(kind, set_cookies[name], t)


def test_every_case_has_a_known_shape() -> None:
    # A typo in the vectors (an unknown key) would silently check nothing.
    allowed_request = {"method", "path", "auth", "headers", "json"}
    allowed_expect = {"status", "code", "body", "headers", "headers_contain", "cookies_set"}
    for case in CASES:
        assert set(case["request"]) <= allowed_request, case["name"]
        assert set(case["expect"]) <= allowed_expect, case["name"]
        assert isinstance(case["expect"]["status"], int)
