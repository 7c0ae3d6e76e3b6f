"""The auth router (FRAMEWORKS.md §2): thin endpoints over ``PolyAuth``'s building blocks."""

import inspect
import logging
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Request, Response, Security
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from ..errors import AuthError
from ._auth import Principal
from ._http import (
    DEFINITIVE_REFRESH_CODES,
    AuthHTTPException,
    csrf_allows,
    csrf_failed,
    from_auth_error,
    not_authenticated,
)

if TYPE_CHECKING:
    from ._auth import PolyAuth

ALL = frozenset(
    {"token", "register", "login", "mfa", "refresh", "logout", "sessions", "me", "password", "email"}
)
NO_STORE = {"Cache-Control": "no-store"}

# Bounds that stop megabyte bodies before any work; core enforces the exact rules.
_TEXT = 4096


class Credentials(BaseModel):
    """A login and a password."""

    login: str = Field(max_length=_TEXT)
    password: str = Field(max_length=_TEXT)


class SecondFactor(BaseModel):
    """The second step: the ``mfa_token`` of the password step and a code or a recovery code."""

    mfa_token: str = Field(max_length=_TEXT)
    code: str | None = Field(default=None, max_length=64)
    recovery_code: str | None = Field(default=None, max_length=64)


class RefreshBody(BaseModel):
    """A refresh token, for clients without cookies."""

    refresh_token: str = Field(max_length=_TEXT)


class Code(BaseModel):
    """A TOTP code."""

    code: str = Field(max_length=64)


class Login(BaseModel):
    """A login."""

    login: str = Field(max_length=_TEXT)


class PasswordChange(BaseModel):
    """The current password and the new one."""

    current_password: str = Field(max_length=_TEXT)
    new_password: str = Field(max_length=_TEXT)


class Reset(BaseModel):
    """A reset token and the new password."""

    token: str = Field(max_length=_TEXT)
    password: str = Field(max_length=_TEXT)


class TokenOnly(BaseModel):
    """A one-time token."""

    token: str = Field(max_length=_TEXT)


def _json(body: Any, status_code: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status_code, headers=NO_STORE)


def _no_content() -> Response:
    return Response(status_code=204, headers=NO_STORE)


async def _call(send: Any, *args: Any) -> None:
    result = send(*args)
    if inspect.isawaitable(result):
        await result


async def _deliver_later(send: Any, kind: str, to: str, token: str) -> None:
    """A reset link is delivered after the response: a slow or failing mailer must not tell a real
    account (500, or a late 202) from an unknown one (an immediate 202)."""
    try:
        await _call(send, kind, to, token)
    except Exception as e:  # logged without the token; the caller already has its 202
        logging.getLogger("polyauth").error("polyauth: send(%r) failed (%s)", kind, type(e).__name__)


def build_router(auth: "PolyAuth", prefix: str, include: set[str] | None) -> APIRouter:
    """The router of ``auth`` at ``prefix`` with the endpoints in ``include`` (all by default)."""
    wanted = ALL if include is None else frozenset(include)
    unknown = wanted - ALL
    if unknown:
        raise ValueError(f"unknown endpoints in include: {sorted(unknown)}")
    router = APIRouter(prefix=prefix, tags=["auth"])
    principal = auth.principal
    realm = auth.realm

    def http(e: AuthError) -> AuthHTTPException:
        return from_auth_error(e, realm)

    def cookie_mode_checks(request: Request) -> None:
        """Refresh and logout with cookies: the CSRF policy plus the static header."""
        assert auth.cookies is not None
        if request.headers.get(auth.csrf.header) != "1" or not csrf_allows(
            request.method, request.headers, f"{request.url.scheme}://{request.url.netloc}", auth.csrf
        ):
            auth._audit("csrf_rejected", {"path": request.url.path})
            raise csrf_failed()

    async def signed_in(request: Request, pair: Any) -> Response:
        response = _json(auth.token_body(pair))
        if auth.cookies is not None:
            auth.set_cookies(response, pair)
        return response

    if "token" in wanted:

        @router.post("/token", summary="OAuth2 password grant (first-party tools such as Swagger)")
        async def token(
            request: Request,
            username: Annotated[str, Form(max_length=_TEXT)],
            password: Annotated[str, Form(max_length=_TEXT)],
        ) -> Response:
            try:
                result = await auth.login(request, username, password)
            except AuthError as e:
                raise http(e) from None
            if result["status"] != "ok":
                raise AuthHTTPException(
                    403,
                    "mfa_required",
                    "This account signs in with a second factor: use /login and /mfa/verify",
                )
            pair = result["pair"]
            return _json(
                {"access_token": pair.access_token, "token_type": "bearer", "expires_in": pair.expires_in}
            )

    if "register" in wanted and auth._accounts_arg is None:

        @router.post("/register", status_code=201, summary="Create an account")
        async def register(body: Credentials) -> Response:
            accounts = auth.accounts
            assert accounts is not None
            try:
                account = await accounts.create(body.login, body.password)
            except AuthError as e:
                raise http(e) from None
            return _json({"subject": account.subject}, 201)

    if "login" in wanted:

        @router.post("/login", summary="Password step")
        async def login(request: Request, body: Credentials) -> Response:
            try:
                result = await auth.login(request, body.login, body.password)
            except AuthError as e:
                raise http(e) from None
            if result["status"] == "mfa_required":
                return _json({"status": "mfa_required", "mfa_token": result["mfa_token"]})
            return await signed_in(request, result["pair"])

    if "mfa" in wanted or "login" in wanted:

        @router.post("/mfa/verify", summary="Second step: a TOTP code or a recovery code")
        async def mfa_verify(request: Request, body: SecondFactor) -> Response:
            try:
                pair = await auth.second_factor(request, body.mfa_token, body.code, body.recovery_code)
            except AuthError as e:  # a wrong code's 401 carries the fresh mfa_token
                raise http(e) from None
            return await signed_in(request, pair)

    if "refresh" in wanted:

        @router.post("/refresh", summary="Rotate the refresh token")
        async def refresh(request: Request) -> Response:
            token, from_cookie = await _refresh_token(request)
            try:
                pair = await auth.refresh(token)
            except AuthError as e:
                error = http(e)
                response = JSONResponse(
                    error.body(), status_code=error.status_code, headers={**(error.headers or {}), **NO_STORE}
                )
                if from_cookie and e.code in DEFINITIVE_REFRESH_CODES:
                    auth.clear_cookies(response)
                return response
            if from_cookie:
                return await signed_in(request, pair)
            body = auth.token_body(pair)
            body.update(access_token=pair.access_token, refresh_token=pair.refresh_token, token_type="bearer")
            return _json(body)

    async def _refresh_token(request: Request) -> tuple[str, bool]:
        """The refresh token from the JSON body, else from the cookie (with the CSRF checks)."""
        if request.headers.get("content-type", "").startswith("application/json"):
            try:
                raw = await request.json()
            except ValueError:
                raw = None
            if isinstance(raw, dict) and isinstance(raw.get("refresh_token"), str):
                parsed = RefreshBody.model_validate(raw)
                return parsed.refresh_token, False
        if auth.cookies is not None:
            cookie = request.cookies.get(auth.cookies.names()[1])
            if cookie:
                cookie_mode_checks(request)
                return cookie, True
        raise not_authenticated(realm)

    if "logout" in wanted:

        @router.post("/logout", status_code=204, summary="Sign out this session")
        async def logout(
            request: Request, current: Annotated[Principal | None, Security(auth.optional)]
        ) -> Response:
            response = _no_content()
            if current is not None and current.source == "cookie":
                cookie_mode_checks(request)  # FRAMEWORKS.md §1 rule 4: cookie logout needs X-Polyauth
            if current is not None and current.session_id is not None:
                await auth.logout(session_id=current.session_id)
            else:
                try:
                    token, _ = await _refresh_token(request)
                except AuthHTTPException as e:
                    if e.code == "not_authenticated":
                        auth.clear_cookies(response)
                        return response
                    raise
                try:
                    await auth.logout(refresh_token=token)
                except AuthError as e:
                    if e.code not in ("invalid_token",):
                        raise http(e) from None
            auth.clear_cookies(response)
            return response

        @router.post("/logout-all", status_code=204, summary="Sign out every session")
        async def logout_all(
            request: Request, current: Annotated[Principal, Security(principal)]
        ) -> Response:
            if current.source == "cookie":
                cookie_mode_checks(request)
            await auth.sessions.revoke_all(current.subject)
            if current.session_id is not None:
                auth.forget_session(current.session_id)
            auth._audit("session_revoked", {"subject": current.subject, "all": True})
            response = _no_content()
            auth.clear_cookies(response)
            return response

    if "sessions" in wanted:

        @router.get("/sessions", summary="This user's active sessions")
        async def list_sessions(current: Annotated[Principal, Security(principal)]) -> Response:
            listed = await auth.sessions.list(current.subject)
            return _json(
                [
                    {
                        "session_id": s["session_id"],
                        "created_at": s["created_at"],
                        "last_used_at": s["last_used_at"],
                        "expires_at": s["expires_at"],
                        "meta": s["meta"],
                        "current": s["session_id"] == current.session_id,
                    }
                    for s in listed
                ]
            )

        @router.delete(
            "/sessions/{session_id}", status_code=204, summary="Revoke one of this user's sessions"
        )
        async def revoke_session(
            session_id: str, current: Annotated[Principal, Security(principal)]
        ) -> Response:
            own = {s["session_id"] for s in await auth.sessions.list(current.subject)}
            if session_id not in own:
                raise AuthHTTPException(404, "not_found", "No such session")
            await auth.logout(session_id=session_id)
            response = _no_content()
            if session_id == current.session_id:
                auth.clear_cookies(response)
            return response

    if "me" in wanted:

        @router.get("/me", summary="Who is signed in")
        async def me(current: Annotated[Principal, Security(principal)]) -> Response:
            return _json(
                {
                    "subject": current.subject,
                    "scopes": sorted(current.scopes),
                    "amr": list(current.amr),
                    "session_id": current.session_id,
                }
            )

    if "mfa" in wanted:
        recent = auth.require(max_age=auth.recent_login)

        def need_mfa() -> Any:
            if auth.mfa is None:
                raise AuthHTTPException(404, "not_found", "MFA is not configured")
            return auth.mfa

        @router.post("/mfa/enroll", summary="Start TOTP enrollment (recent sign-in required)")
        async def mfa_enroll(current: Annotated[Principal, Depends(recent)]) -> Response:
            mfa = need_mfa()
            label = current.subject
            if auth.accounts is not None:
                account = await auth.accounts.get(current.subject)
                if account is not None:
                    label = account.login
            try:
                e = await mfa.begin_enrollment(current.subject, label)
            except AuthError as err:
                raise http(err) from None
            return _json({"secret": e.secret, "uri": e.uri, "qr_svg": e.qr_svg, "expires_at": e.expires_at})

        @router.post("/mfa/confirm", summary="Confirm TOTP enrollment; replaces the session")
        async def mfa_confirm(
            request: Request, body: Code, current: Annotated[Principal, Depends(recent)]
        ) -> Response:
            mfa = need_mfa()
            try:
                codes = await mfa.confirm(current.subject, body.code)
            except AuthError as e:
                raise http(e) from None
            pair = await auth.restart_session(request, current, ["pwd", "otp"])
            response = _json({**auth.token_body(pair), "recovery_codes": codes})
            if auth.cookies is not None:
                auth.set_cookies(response, pair)
            return response

        @router.post("/mfa/disable", summary="Remove the second factor; replaces the session")
        async def mfa_disable(
            request: Request, body: Code, current: Annotated[Principal, Depends(recent)]
        ) -> Response:
            mfa = need_mfa()
            try:
                await mfa.verify(current.subject, body.code)
                await mfa.disable(current.subject)
            except AuthError as e:
                raise http(e) from None
            pair = await auth.restart_session(request, current, ["pwd"])
            response = _json(auth.token_body(pair))
            if auth.cookies is not None:
                auth.set_cookies(response, pair)
            return response

        @router.post("/mfa/recovery-codes", summary="New recovery codes (the old ones stop working)")
        async def mfa_recovery(current: Annotated[Principal, Depends(recent)]) -> Response:
            mfa = need_mfa()
            try:
                codes = await mfa.regenerate_recovery_codes(current.subject)
            except AuthError as e:
                raise http(e) from None
            return _json({"recovery_codes": codes})

    if "password" in wanted:

        @router.post("/password/change", summary="Change the password; ends every other session")
        async def change_password(
            request: Request,
            body: PasswordChange,
            current: Annotated[Principal, Security(auth.principal)],
        ) -> Response:
            try:
                pair = await auth.signin.change_password(
                    current.subject,
                    body.current_password,
                    body.new_password,
                    amr=list(current.amr),
                    meta=auth.session_meta(request),
                )
            except AuthError as e:
                raise http(e) from None
            # Core revoked every session of the subject; this process forgets what it cached.
            auth.forget_sessions()
            auth._audit(
                "session_revoked", {"subject": current.subject, "all": True, "reason": "password_change"}
            )
            return await signed_in(request, pair)

        @router.post("/password/forgot", status_code=202, summary="Send a password-reset link (always 202)")
        async def forgot(body: Login, background: BackgroundTasks) -> Response:
            try:
                token = await auth.signin.request_password_reset(body.login)
            except AuthError as e:
                if e.code == "rate_limited":
                    raise http(e) from None
                token = None  # a malformed login is answered like an unknown one
            if token is not None and auth.send is not None:
                background.add_task(_deliver_later, auth.send, "password_reset", body.login, token)
            return _json({"status": "accepted"}, 202)

        @router.post("/password/reset", summary="Set a new password with a reset token; signs out everywhere")
        async def reset(body: Reset) -> Response:
            try:
                subject = await auth.signin.reset_password(body.token, body.password)
            except AuthError as e:
                raise http(e) from None
            auth.forget_sessions()
            auth._audit("session_revoked", {"subject": subject, "all": True, "reason": "password_reset"})
            response = _json({"status": "reset"})
            auth.clear_cookies(response)
            return response

    if "email" in wanted and auth._accounts_arg is None:

        @router.post("/email/verify/request", status_code=202, summary="Send an email-verification link")
        async def verify_request(current: Annotated[Principal, Security(principal)]) -> Response:
            accounts = auth.accounts
            assert accounts is not None
            account = await accounts.get(current.subject)
            if account is None:
                raise AuthHTTPException(404, "not_found", "No such account")
            token = await auth.signin.request_email_verification(current.subject)
            if auth.send is not None:
                await _call(auth.send, "verify_email", account.login, token)
            return _json({"status": "accepted"}, 202)

        @router.post("/email/verify", summary="Confirm an email address with its token")
        async def verify_email(body: TokenOnly) -> Response:
            try:
                account = await auth.signin.verify_email(body.token)
            except AuthError as e:
                raise http(e) from None
            return _json({"verified": account.verified})

    return router
