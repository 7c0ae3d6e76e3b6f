"""The full-stack demo's API: FastAPI with ``polyauth.fastapi``, sharing its key set and its store
with the Next.js front end (``examples/next``), so a session started there is a bearer here and a
user created there signs in here. Started by ``examples/fullstack/demo.mjs`` (``make demo``)::

    uvicorn examples.fullstack.api:app --port 8000

Configuration (the demo script sets it): ``POLYAUTH_JWKS_FILE`` (the private JWKS, written on
first run), ``DATABASE_URL`` (default: the SQLite file beside the keys), ``POLYAUTH_ISSUER`` (the
front end's origin: it issues the tokens), ``POLYAUTH_MFA_KEY``, ``POLYAUTH_REUSE_GRACE``,
``POLYAUTH_SESSION_CHECK``.

The API is bearer-only (``cookies=False``): browsers talk to the front end, which calls this API
with ``accessToken()``; other clients sign in through ``/auth/login`` and get tokens in the body.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Security
from pydantic import BaseModel, Field

from polyauth import KeySet, Tokens
from polyauth.fastapi import PolyAuth, Principal

DATA = Path(os.environ.get("POLYAUTH_DATA_DIR", Path(__file__).resolve().parent / ".data"))
keys = KeySet.load(path=os.environ.get("POLYAUTH_JWKS_FILE", str(DATA / "jwks.json")))
tokens = Tokens(keys, issuer=os.environ.get("POLYAUTH_ISSUER", "http://localhost:3000"), audience="api")

auth = PolyAuth(
    tokens=tokens,
    store_url=os.environ.get("DATABASE_URL", f"sqlite://{DATA / 'polyauth.db'}"),
    mfa_key=os.environ.get("POLYAUTH_MFA_KEY"),
    cookies=False,
    scopes={"notes:read": "Read your notes", "notes:write": "Write notes"},
    # Accounts created by the front end's sign-up carry roles ["member"].
    permissions={"member": ["notes:read", "notes:write"]},
    reuse_grace=int(os.environ.get("POLYAUTH_REUSE_GRACE", "30")),
    session_check=float(os.environ.get("POLYAUTH_SESSION_CHECK", "5")),
)
app = FastAPI(title="polyauth full-stack API", lifespan=auth.lifespan)
app.include_router(auth.router(prefix="/auth"))
auth.install(app, jwks=True)

# One process, kept in memory: the demo is about who may write, not about storage.
NOTES: list[dict[str, Any]] = []


class NewNote(BaseModel):
    text: str = Field(min_length=1, max_length=500)


@app.get("/api/notes")
async def my_notes(
    user: Annotated[Principal, Security(auth.principal, scopes=["notes:read"])],
) -> dict[str, Any]:
    """The caller's notes, and who the API thinks the caller is (from the front end's token)."""
    return {
        "subject": user.subject,
        "session_id": user.session_id,
        "amr": list(user.amr),
        "notes": [n["text"] for n in NOTES if n["owner"] == user.subject],
    }


@app.post("/api/notes", status_code=201)
async def add_note(
    note: NewNote, user: Annotated[Principal, Security(auth.principal, scopes=["notes:write"])]
) -> dict[str, Any]:
    """Adds a note for the caller (notes:write comes from the member role)."""
    NOTES.append({"owner": user.subject, "text": note.text})
    return {"text": note.text, "owner": user.subject}


@app.get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
