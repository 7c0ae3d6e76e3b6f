"""OpenAPI of ``polyauth.fastapi``: a snapshot of the security schemes Swagger's Authorize button
reads, and schemathesis over the whole router through the ASGI app (no 5xx, and every 4xx has the
``{"detail", "code"}`` body of FRAMEWORKS.md §1)."""

import asyncio
from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from fastapi_app import SPEC, build

from polyauth import Store

SCHEMES = {
    "OAuth2Password": {
        "type": "oauth2",
        "flows": {
            "password": {
                "scopes": {"items:read": "Read items", "items:write": "Edit items"},
                "tokenUrl": "/auth/token",
            }
        },
    },
    "PolyauthCookie": {"type": "apiKey", "in": "cookie", "name": "__Host-Http-polyauth_at"},
}


def fuzzed_app() -> tuple[FastAPI, str]:
    """The vectors' app over an already-open memory store (no lifespan needed, so schemathesis's
    ASGI client can call it as it is), with one account and a service token (no ``sid``, so no
    generated request can revoke it) carrying every scope."""

    async def setup() -> tuple[FastAPI, str]:
        store = await Store.open("memory://")
        app, auth, tokens = build("memory://", store=store, mfa_key=b"k" * 32)
        accounts = auth.accounts
        assert accounts is not None
        user = SPEC["users"]["user"]
        account = await accounts.create(user["login"], user["password"], claims=user["claims"])
        token = tokens.issue(account.subject, {"scope": "items:read items:write"}, ttl=3600)
        return app, token

    return asyncio.run(setup())


APP, TOKEN = fuzzed_app()
SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", APP)


def test_the_security_schemes_are_exactly_these() -> None:
    assert APP.openapi()["components"]["securitySchemes"] == SCHEMES


def check_error_body(response: Any) -> None:
    assert response.status_code < 500, (response.status_code, response.text)
    if 400 <= response.status_code < 500:
        body = response.json()
        assert isinstance(body, dict) and {"detail", "code"} <= set(body), body
        assert isinstance(body["code"], str) and body["code"], body


@pytest.mark.parametrize("bearer", [False, True], ids=["anonymous", "bearer"])
@SCHEMA.parametrize()
@hypothesis.settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)
def test_the_router_never_fails_and_every_4xx_has_detail_and_code(case: Any, bearer: bool) -> None:
    headers = {"authorization": f"Bearer {TOKEN}"} if bearer else None
    check_error_body(case.call(headers=headers))
