"""The FastAPI test app of ``vectors/http.json`` (its ``app`` section), shared by the FastAPI tests:
PolyAuth over a fresh store, the routes the vectors name, and the users signed in."""

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
from fastapi import FastAPI, Security

from conftest import load_project
from polyauth import KeySet, TokenPair, Tokens
from polyauth.fastapi import CookieConfig, CsrfConfig, PolyAuth, Principal

HTTP = load_project("http.json")
SPEC: dict[str, Any] = HTTP["app"]
ISSUER = "https://auth.example.com"
AUDIENCE = "api"
BASE = "https://testserver"


@dataclass
class AppUnderTest:
    """The app, its PolyAuth, a client over ASGI, and each user's subject and session pair."""

    app: FastAPI
    auth: PolyAuth
    tokens: Tokens
    client: httpx.AsyncClient
    subjects: dict[str, str] = field(default_factory=dict)
    pairs: dict[str, TokenPair] = field(default_factory=dict)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    sent: list[tuple[str, str, str]] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"AppUnderTest(users={sorted(self.subjects)})"


def build(
    store_url: str, *, cookies: CookieConfig | bool = True, **options: Any
) -> tuple[FastAPI, PolyAuth, Tokens]:
    """The app of the vectors over ``store_url``; ``options`` go to ``PolyAuth``."""
    tokens = Tokens(KeySet.generate("EdDSA"), issuer=ISSUER, audience=AUDIENCE, leeway=0)
    auth = PolyAuth(
        tokens=tokens,
        store_url=store_url,
        cookies=CookieConfig() if cookies is True else cookies,
        csrf=CsrfConfig(trusted_origins=SPEC["trusted_origins"]),
        permissions=SPEC["permissions"],
        realm=SPEC["realm"],
        scopes={"items:read": "Read items", "items:write": "Edit items"},
        **options,
    )
    app = FastAPI(lifespan=auth.lifespan)
    app.include_router(auth.router(prefix="/auth"))
    auth.install(app, jwks=True)

    @app.get("/api/items")
    async def list_items(
        user: Annotated[Principal, Security(auth.principal, scopes=["items:read"])],
    ) -> dict[str, Any]:
        return {"owner": user.subject}

    @app.post("/api/items")
    async def create_item(
        user: Annotated[Principal, Security(auth.principal, scopes=["items:write"])],
    ) -> dict[str, Any]:
        return {"ok": True}

    @app.get("/api/secure")
    async def secure(user: Annotated[Principal, Security(auth.require(amr=["otp"]))]) -> dict[str, Any]:
        return {"ok": True}

    @app.get("/api/public")
    async def public(user: Annotated[Principal | None, Security(auth.optional)]) -> dict[str, Any]:
        return {"subject": user.subject if user else None}

    return app, auth, tokens


@asynccontextmanager
async def running(store_url: str, **options: Any) -> AsyncIterator[AppUnderTest]:
    """The app started (its lifespan entered) with the vectors' users created and signed in."""
    events: list[tuple[str, dict[str, Any]]] = []
    sent: list[tuple[str, str, str]] = []
    options.setdefault("audit", lambda event, data: events.append((event, data)))
    options.setdefault("send", lambda kind, to, token: sent.append((kind, to, token)))
    app, auth, tokens = build(store_url, **options)
    async with auth.lifespan(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            t = AppUnderTest(app, auth, tokens, client, events=events, sent=sent)
            accounts = auth.accounts
            assert accounts is not None
            for name, user in SPEC["users"].items():
                account = await accounts.create(user["login"], user["password"], claims=user["claims"])
                t.subjects[name] = account.subject
                result = await auth.signin.password(user["login"], user["password"])
                assert result["status"] == "ok"
                t.pairs[name] = result["pair"]
            yield t


def unique_login() -> str:
    return f"u-{secrets.token_hex(6)}@example.com"


async def expired_token(t: AppUnderTest) -> str:
    """A token of the app's keys and issuer that has expired (the app's leeway is 0)."""
    token = t.tokens.issue(t.subjects["user"], {"scope": "items:read"}, ttl=1)
    await asyncio.sleep(2.05)
    return token
