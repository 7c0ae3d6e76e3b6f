"""The app of the FastAPI benchmark (bench/python/bench_fastapi.py starts it with uvicorn): one
endpoint served four ways (the bench sends it six kinds of request).

- ``/open``: unprotected.
- ``/empty-dependency``: an async dependency that does nothing (what FastAPI's dependency machinery
  alone costs; a contrast).
- ``/polyauth``: ``Security(auth.principal)``; the bench calls it with a bearer token and with the
  access cookie of a session (``session_check`` = 5 s: the session's state is cached that long).
- ``/pyjwt``: FastAPI's tutorial dependency (``OAuth2PasswordBearer`` + ``jwt.decode`` with the
  public key), with the same algorithm (EdDSA), the same key and the same token as the bearer
  cell; the key object is parsed once, as a real app would.

Every variant answers the same JSON. At startup the app writes the tokens the bench sends to
``$BENCH_TOKENS``; the store is ``$BENCH_STORE`` (a SQLite file by default).
"""

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import jwt
from fastapi import Depends, FastAPI, HTTPException, Security, status
from fastapi.security import OAuth2PasswordBearer

from polyauth import KeySet, Tokens
from polyauth.fastapi import CookieConfig, PolyAuth, Principal

ISSUER = "https://auth.example.com"
AUDIENCE = "api"

keys = KeySet.generate("EdDSA")
tokens = Tokens(keys, issuer=ISSUER, audience=AUDIENCE)
auth = PolyAuth(
    tokens=tokens,
    store_url=os.environ.get("BENCH_STORE", "sqlite://bench-fastapi.db"),
    cookies=CookieConfig(),
    session_check=5.0,
)

# ---- the tutorial's dependency (https://fastapi.tiangolo.com/tutorial/security/oauth2-jwt/) ----
PUBLIC_KEY = jwt.PyJWK(keys.to_jwks(private=False)["keys"][0]).key
ALGORITHM = "EdDSA"
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="token")


async def get_current_user(token: Annotated[str, Depends(oauth2_scheme)]) -> dict[str, Any]:
    credentials_exception = HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail="Could not validate credentials",
        headers={"WWW-Authenticate": "Bearer"},
    )
    try:
        payload = jwt.decode(token, PUBLIC_KEY, algorithms=[ALGORITHM], audience=AUDIENCE, issuer=ISSUER)
        subject = payload.get("sub")
        if subject is None:
            raise credentials_exception
    except jwt.InvalidTokenError:
        raise credentials_exception from None
    return {"subject": subject}


# ---- the app ----------------------------------------------------------------------------------


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with auth.lifespan(app):
        pair = await auth.sessions.start("user-1", {"scope": "items:read"})
        bearer = tokens.issue("user-1", {"scope": "items:read"}, ttl=3600)
        out = os.environ.get("BENCH_TOKENS")
        if out:
            cookie = auth.cookies.names()[0] if auth.cookies else "polyauth_at"
            body = {"bearer": bearer, "cookie_name": cookie, "cookie": pair.access_token}
            with open(out + ".tmp", "w") as f:
                json.dump(body, f)
            os.replace(out + ".tmp", out)
        yield


app = FastAPI(lifespan=lifespan)
auth.install(app)


@app.get("/open")
async def open_endpoint() -> dict[str, Any]:
    return {"subject": "user-1", "items": []}


async def nothing() -> None:
    """The cheapest dependency FastAPI can solve: the floor of any dependency-based check."""


@app.get("/empty-dependency")
async def empty_dependency_endpoint(_: Annotated[None, Depends(nothing)]) -> dict[str, Any]:
    return {"subject": "user-1", "items": []}


@app.get("/polyauth")
async def polyauth_endpoint(user: Annotated[Principal, Security(auth.principal)]) -> dict[str, Any]:
    return {"subject": user.subject, "items": []}


@app.get("/pyjwt")
async def pyjwt_endpoint(user: Annotated[dict[str, Any], Depends(get_current_user)]) -> dict[str, Any]:
    return {"subject": user["subject"], "items": []}
