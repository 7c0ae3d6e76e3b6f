"""polyauth.fastapi, runnable: ``uvicorn examples.fastapi.app:app`` from the repository root.

Configuration from the environment (all optional here, required in production):
``POLYAUTH_JWKS`` (a private JWKS; a fresh key is generated otherwise, so tokens die with the
process), ``DATABASE_URL`` (default ``sqlite://polyauth.db``), ``MFA_KEY`` (``Mfa.generate_key()``;
without it a fresh key makes enrolled factors unusable after a restart), ``INSECURE_DEV=1`` for
plain-http development on another host than localhost, ``POLYAUTH_REUSE_GRACE`` (seconds a rotated
refresh token still works for a racing sibling request; default 30).
"""

from __future__ import annotations

import logging
import os
from typing import Annotated, Any

from fastapi import FastAPI, Security

from polyauth import KeySet, Mfa, Tokens
from polyauth.fastapi import CookieConfig, PolyAuth, Principal

logging.basicConfig(level=logging.INFO)

keys = KeySet.load(env="POLYAUTH_JWKS") if os.environ.get("POLYAUTH_JWKS") else KeySet.generate("EdDSA")
tokens = Tokens(keys, issuer="https://auth.example.com", audience="api")


def send(kind: str, login: str, token: str) -> None:
    # Deliver the link by email in a real app; printing it keeps the example self-contained.
    print(f"[{kind}] to {login}: https://app.example.com/{kind.replace('_', '-')}?token={token}")


auth = PolyAuth(
    tokens=tokens,
    store_url=os.environ.get("DATABASE_URL", "sqlite://polyauth.db"),
    mfa_key=os.environ.get("MFA_KEY") or Mfa.generate_key(),
    cookies=CookieConfig(insecure_dev=os.environ.get("INSECURE_DEV") == "1"),
    scopes={"items:read": "Read items", "items:write": "Create items"},
    permissions={"admin": ["items:read", "items:write"], "member": ["items:read"]},
    send=send,
    reuse_grace=int(os.environ.get("POLYAUTH_REUSE_GRACE", "30")),
)
app = FastAPI(title="polyauth example", lifespan=auth.lifespan)
app.include_router(auth.router(prefix="/auth"))
auth.install(app, jwks=True)

ITEMS: list[dict[str, Any]] = []


@app.get("/items")
async def list_items(user: Annotated[Principal | None, Security(auth.optional)]) -> list[dict[str, Any]]:
    """Public list; signed-in users also see who they are."""
    return [{**item, "mine": user is not None and item["owner"] == user.subject} for item in ITEMS]


@app.post("/items", status_code=201)
async def create_item(
    name: str, user: Annotated[Principal, Security(auth.principal, scopes=["items:write"])]
) -> dict[str, Any]:
    """Needs items:write, granted by the token's scope or by the admin role."""
    item = {"name": name, "owner": user.subject}
    ITEMS.append(item)
    return item


@app.get("/account/security")
async def security_page(
    user: Annotated[Principal, Security(auth.require(amr=["otp"], max_age=900))],
) -> dict[str, Any]:
    """Step-up: a session signed in with a second factor within the last 15 minutes."""
    return {"subject": user.subject, "amr": list(user.amr)}
