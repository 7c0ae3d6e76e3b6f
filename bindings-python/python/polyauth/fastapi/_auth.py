"""``PolyAuth``: the FastAPI side of polyauth (FRAMEWORKS.md §2). Every decision (password check,
throttle, MFA, rotation, reuse, revocation) is made by core through the public bindings; this module
adds FastAPI's idiom: a lifespan, dependencies, an auth router and error handlers."""

import http
import inspect
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Optional
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, Request, Response, Security
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyCookie, OAuth2PasswordBearer, SecurityScopes
from fastapi.utils import is_body_allowed_for_status_code
from starlette.exceptions import HTTPException as StarletteHTTPException

import polyauth as _polyauth

from .. import _native
from ..errors import AuthError, InvalidConfigError, SessionRevokedError
from ..tokens import Tokens
from ._http import (
    SAFE_METHODS,
    TOKEN_CODES,
    AuthHTTPException,
    CookieConfig,
    CsrfConfig,
    check_cookie_size,
    csrf_allows,
    csrf_failed,
    from_auth_error,
    insufficient_scope,
    insufficient_user_authentication,
    invalid_request,
    logger,
    not_authenticated,
)
from ._refresh import RefreshCoalescer

#: Claims the issuer sets; never copied from one session into another.
_ISSUER_CLAIMS = frozenset({"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid"})

#: The OpenAPI names of the two schemes: the password flow (the dependency itself) and the cookie.
_PASSWORD_SCHEME = "OAuth2Password"
_COOKIE_SCHEME = "PolyauthCookie"

#: The most session states remembered by the ``session_check`` cache.
_MAX_SESSION_CACHE = 10_000

Audit = Callable[[str, dict[str, Any]], Awaitable[None] | None]
Send = Callable[[str, str, str], Awaitable[None] | None]


@dataclass(frozen=True, init=False)
class Principal:
    """Who made the request: from a verified access token (``source`` "bearer" or "cookie").
    ``scopes`` holds the token's ``scope`` plus the permissions of its ``roles``."""

    subject: str
    session_id: str | None
    scopes: frozenset[str]
    amr: tuple[str, ...]
    claims: Mapping[str, Any] = field(repr=False)
    issued_at: int
    expires_at: int
    source: Literal["bearer", "cookie"]

    def __init__(
        self,
        subject: str,
        session_id: str | None,
        scopes: frozenset[str],
        amr: tuple[str, ...],
        claims: Mapping[str, Any],
        issued_at: int,
        expires_at: int,
        source: Literal["bearer", "cookie"],
    ) -> None:
        # One Principal per request: the fields go straight into the instance dict (the
        # generated frozen __init__ calls object.__setattr__ once per field, twice as slow).
        self.__dict__.update(
            subject=subject,
            session_id=session_id,
            scopes=scopes,
            amr=amr,
            claims=claims,
            issued_at=issued_at,
            expires_at=expires_at,
            source=source,
        )


class _PrincipalScheme(OAuth2PasswordBearer):
    """Base of ``auth.principal`` and ``auth.optional``: the dependency is its own OAuth2
    password scheme in OpenAPI (``PolyAuth._dependency`` defines ``__call__``)."""


class PolyAuth:
    """Authentication for a FastAPI app over one polyauth store.

    ``tokens`` issues and verifies access tokens; the store comes from ``store_url`` (opened by
    ``lifespan``) or ``store``; ``sessions`` defaults to ``Sessions(store, tokens,
    reuse_grace=30)``. ``accounts`` defaults to the built-in accounts in the same store; an object
    with ``find(login)`` and ``set_password_hash(subject, hash)`` (sync or async) replaces them.
    ``mfa_key`` enables TOTP (``Mfa``); ``cookies=False`` turns cookie mode off (tokens in bodies
    only); ``scopes`` documents scopes in OpenAPI; ``permissions`` maps roles to permissions
    honoured by every scope check; ``session_check`` is how many seconds a session's state is
    cached (0 checks every request); ``audit(event, data)`` receives the audit events also logged
    on the ``polyauth`` logger; ``send(kind, login, token)`` delivers password-reset and
    email-verification links; ``trusted_proxies`` are peer addresses whose ``X-Forwarded-For`` is
    believed; ``recent_login`` (seconds) is how fresh a sign-in the MFA endpoints require;
    ``reuse_grace`` is the grace of the sessions built here (30 s: parallel tabs racing a refresh
    all stay signed in).
    """

    def __init__(
        self,
        *,
        tokens: Tokens,
        store_url: str | None = None,
        store: _native.Store | None = None,
        sessions: _native.Sessions | None = None,
        accounts: Any = None,
        hasher: _native.PasswordHasher | None = None,
        mfa_key: str | bytes | Sequence[str | bytes] | None = None,
        totp: _native.Totp | None = None,
        throttle: _native.Throttle | None = None,
        cookies: CookieConfig | Literal[False] | None = None,
        csrf: CsrfConfig | None = None,
        scopes: Mapping[str, str] | None = None,
        permissions: Mapping[str, Iterable[str]] | None = None,
        session_check: float = 5.0,
        audit: Audit | None = None,
        send: Send | None = None,
        realm: str = "api",
        trusted_proxies: Iterable[str] = (),
        recent_login: int = 600,
        reuse_grace: int = 30,
    ) -> None:
        if store_url is None and store is None:
            raise InvalidConfigError("PolyAuth needs store_url= or store=")
        self.tokens = tokens
        self.store_url = store_url
        self.cookies: CookieConfig | None = CookieConfig() if cookies is None else (cookies or None)
        self.csrf = csrf or CsrfConfig()
        self.scopes = dict(scopes or {})
        self.permissions = {role: frozenset(p) for role, p in (permissions or {}).items()}
        self.session_check = float(session_check)
        self.audit_callback = audit
        self.send = send
        self.realm = realm
        self.trusted_proxies = frozenset(trusted_proxies)
        self.recent_login = recent_login
        self.reuse_grace = reuse_grace
        self._store = store
        self._sessions = sessions
        self._accounts_arg = accounts
        self._hasher = hasher
        self._mfa_key = mfa_key
        self._totp = totp
        self._throttle = throttle
        self._state: Optional[_State] = None
        self._session_cache: OrderedDict[str, tuple[float, bool]] = OrderedDict()
        self.prefix = "/auth"
        if self.cookies is not None and self.cookies.insecure_dev:
            logger.warning(
                "polyauth: insecure_dev cookies (no Secure, no prefixes): for plain-http development only"
            )
        access_name = self.cookies.names()[0] if self.cookies else "polyauth_at"
        self._access_cookie = access_name
        # The access cookie in OpenAPI (install() declares it beside the password scheme).
        self._cookie_scheme = APIKeyCookie(name=access_name, auto_error=False, scheme_name=_COOKIE_SCHEME)
        self.principal: Callable[..., Awaitable[Principal | None]] = self._dependency(optional=False)
        self.optional: Callable[..., Awaitable[Principal | None]] = self._dependency(optional=True)
        # The OAuth2 scheme of OpenAPI is the principal dependency itself (one model for both).
        self._bearer_scheme = self.principal
        self.optional.model = self.principal.model  # type: ignore[attr-defined]
        # Tokens.verify_async only adds a JWKS fetch for remote key sets: with local keys (and
        # verify_async not overridden) the dependency calls verify directly.
        self._verify_inline = (
            not isinstance(tokens.keys, _native.RemoteKeySet)
            and getattr(type(tokens), "verify_async", None) is Tokens.verify_async
        )
        if self._store is not None:
            self._build(self._store)

    def __repr__(self) -> str:
        return f"PolyAuth(issuer={self.tokens.issuer!r}, started={self._state is not None})"

    # ---- lifecycle --------------------------------------------------------------------------

    @asynccontextmanager
    async def lifespan(self, app: FastAPI | None = None) -> AsyncIterator[None]:
        """Opens the store (from ``store_url``) and builds the flows; pass as
        ``FastAPI(lifespan=auth.lifespan)`` or enter it from the app's own lifespan."""
        if self._state is None:
            assert self.store_url is not None
            self._build(await _native.Store.open(self.store_url))
        yield

    def _build(self, store: _native.Store) -> None:
        sessions = self._sessions or _native.Sessions(store, self.tokens, reuse_grace=self.reuse_grace)
        if self.cookies is not None and sessions.reuse_grace == 0:
            logger.warning(
                "polyauth: sessions with reuse_grace=0 in cookie mode: parallel tabs racing a refresh "
                "will be signed out; use reuse_grace=30"
            )
        hasher = self._hasher or _native.PasswordHasher()
        builtin = self._accounts_arg is None
        accounts = _polyauth.Accounts(store, hasher) if builtin else self._accounts_arg
        mfa = None
        totp = self._totp or _native.Totp(issuer=urlsplit(self.tokens.issuer).hostname or "polyauth")
        if self._mfa_key is not None:
            mfa = _native.Mfa(store, totp, self._mfa_key)
        throttle = self._throttle or _native.Throttle(store)
        one_time = _native.OneTimeTokens(store)
        if builtin:
            signin = _polyauth.SignIn(accounts, sessions, mfa=mfa, throttle=throttle, one_time=one_time)
        else:
            signin = _polyauth.SignIn(
                accounts, sessions, mfa=mfa, throttle=throttle, one_time=one_time, hasher=hasher
            )
        window = min(float(sessions.reuse_grace), 30.0)
        self._state = _State(
            store=store,
            sessions=sessions,
            accounts=accounts if builtin else None,
            signin=signin,
            mfa=mfa,
            totp=totp,
            refresher=RefreshCoalescer(sessions, window),
        )

    @property
    def state(self) -> "_State":
        """The flows, once started (``InvalidConfigError`` before ``lifespan`` ran)."""
        if self._state is None:
            raise InvalidConfigError("PolyAuth is not started: pass lifespan=auth.lifespan to FastAPI")
        return self._state

    @property
    def sessions(self) -> _native.Sessions:
        """The sessions in use."""
        return self.state.sessions

    @property
    def signin(self) -> _polyauth.SignIn:
        """The core sign-in flow in use."""
        return self.state.signin

    @property
    def accounts(self) -> _polyauth.Accounts | None:
        """The built-in accounts (None with an application's own account store)."""
        return self.state.accounts

    @property
    def mfa(self) -> _native.Mfa | None:
        """The second factor (None without ``mfa_key``)."""
        return self.state.mfa

    # ---- FastAPI wiring ---------------------------------------------------------------------

    def install(self, app: FastAPI, *, jwks: bool = False) -> None:
        """Registers the error handlers (``{"detail", "code"}`` bodies, ``Cache-Control:
        no-store``) and, with ``jwks=True``, ``GET /.well-known/jwks.json`` with the public keys."""

        async def on_auth_http(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, AuthHTTPException)
            return _error_response(exc)

        async def on_auth_error(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, AuthError)
            return _error_response(from_auth_error(exc, self.realm))

        async def on_validation(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, RequestValidationError)
            errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in exc.errors()]
            return JSONResponse(
                {"detail": errors, "code": "invalid_request"},
                status_code=422,
                headers={"Cache-Control": "no-store"},
            )

        async def on_http(request: Request, exc: Exception) -> Response:
            # The app's other HTTP errors (404, 405, ...) get a code too, so every 4xx of the app
            # has the same {"detail", "code"} shape.
            assert isinstance(exc, StarletteHTTPException)
            if not is_body_allowed_for_status_code(exc.status_code):
                return await http_exception_handler(request, exc)
            return JSONResponse(
                {"detail": exc.detail, "code": _status_code_name(exc.status_code)},
                status_code=exc.status_code,
                headers=exc.headers,
            )

        app.add_exception_handler(StarletteHTTPException, on_http)
        app.add_exception_handler(AuthHTTPException, on_auth_http)
        app.add_exception_handler(AuthError, on_auth_error)
        app.add_exception_handler(RequestValidationError, on_validation)
        self._declare_cookie_scheme(app)
        if jwks:

            @app.get("/.well-known/jwks.json", include_in_schema=False)
            async def public_keys() -> Response:
                keys = self.tokens.keys
                body = keys.to_jwks(private=False) if isinstance(keys, _native.KeySet) else {"keys": []}
                return JSONResponse(body, headers={"Cache-Control": "public, max-age=300"})

    def _declare_cookie_scheme(self, app: FastAPI) -> None:
        # FastAPI's documented way to extend the generated document (``app.openapi``): every
        # operation that accepts the password scheme also accepts the access cookie, with the
        # same scopes, as FastAPI would list a second scheme dependency.
        if self.cookies is None:
            return
        generate = app.openapi
        model = jsonable_encoder(self._cookie_scheme.model, by_alias=True, exclude_none=True)

        def openapi() -> dict[str, Any]:
            if app.openapi_schema is None:
                schema = generate()
                declared = False
                for operations in schema.get("paths", {}).values():
                    for operation in operations.values():
                        security = operation.get("security") if isinstance(operation, dict) else None
                        if not security:
                            continue
                        scopes = next((r[_PASSWORD_SCHEME] for r in security if _PASSWORD_SCHEME in r), None)
                        if scopes is not None and not any(_COOKIE_SCHEME in r for r in security):
                            security.append({_COOKIE_SCHEME: list(scopes)})
                            declared = True
                if declared:
                    components = schema.setdefault("components", {})
                    components.setdefault("securitySchemes", {})[_COOKIE_SCHEME] = model
                app.openapi_schema = schema
            return app.openapi_schema

        app.openapi = openapi  # type: ignore[method-assign]

    def router(self, prefix: str = "/auth", include: Iterable[str] | None = None) -> APIRouter:
        """The auth router (FRAMEWORKS.md §2): every endpoint, or only those named in ``include``
        (``"token"``, ``"register"``, ``"login"``, ``"mfa"``, ``"refresh"``, ``"logout"``,
        ``"sessions"``, ``"me"``, ``"password"``, ``"email"``)."""
        from ._router import build_router

        self.prefix = prefix.rstrip("/")
        # OpenAPI is generated lazily: point Swagger's password flow at this router's /token.
        flows = self._bearer_scheme.model.flows  # type: ignore[attr-defined]
        flows.password.tokenUrl = f"{self.prefix}/token"
        return build_router(self, self.prefix, set(include) if include is not None else None)

    # ---- dependencies -----------------------------------------------------------------------

    def _dependency(self, optional: bool) -> Callable[..., Awaitable[Principal | None]]:
        # One async dependency without sub-dependencies, which is also the OAuth2 password scheme
        # of OpenAPI (Swagger's Authorize). FastAPI solves every sub-dependency on every request
        # (about 8 µs each on CPython 3.11), so the cookie scheme is not one: install() declares
        # it in the OpenAPI document instead. Neither scheme parses anything: ``authenticate``
        # reads the request itself, to tell a malformed header from none.
        authenticate = self.authenticate

        class _Principal(_PrincipalScheme):
            async def __call__(  # type: ignore[override]
                self, request: Request, security_scopes: SecurityScopes
            ) -> Principal | None:
                return await authenticate(request, security_scopes.scopes, optional=optional)

        name = "optional_principal" if optional else "principal"
        _Principal.__name__ = _Principal.__qualname__ = name
        return _Principal(
            tokenUrl="/auth/token", scopes=self.scopes, auto_error=False, scheme_name=_PASSWORD_SCHEME
        )

    def require(
        self, *scopes: str, amr: Sequence[str] = (), max_age: int | None = None
    ) -> Callable[..., Awaitable[Principal]]:
        """A dependency requiring ``scopes`` (or permissions through roles), every method in
        ``amr`` (e.g. ``["otp"]``) and, with ``max_age``, a sign-in at most that many seconds ago
        (RFC 9470 step-up: 401 ``insufficient_user_authentication`` otherwise)."""
        principal_dep = self.principal

        async def required(
            principal: Annotated[Principal | None, Security(principal_dep, scopes=list(scopes))],
        ) -> Principal:
            assert principal is not None
            missing = [m for m in amr if m not in principal.amr]
            if missing:
                raise insufficient_user_authentication(
                    self.realm, f"sign in with {' and '.join(missing)} to continue", max_age
                )
            if max_age is not None:
                auth_time = principal.claims.get("auth_time")
                if not isinstance(auth_time, int) or time.time() - auth_time > max_age:
                    raise insufficient_user_authentication(
                        self.realm, "a more recent sign-in is required", max_age
                    )
            return principal

        return required

    async def authenticate(
        self, request: Request, needed: Sequence[str] = (), *, optional: bool = False
    ) -> Principal | None:
        """The request's principal (bearer first, then the access cookie), with the scope and
        CSRF checks; what the dependencies run. None only with ``optional`` and no credentials
        (or an unusable cookie)."""
        token, source = self._credentials(request)
        if token is None:
            if optional:
                return None
            raise not_authenticated(self.realm)
        try:
            if self._verify_inline:
                claims = self.tokens.verify(token)
            else:
                claims = await self.tokens.verify_async(token)
            sid = claims.get("sid")
            if isinstance(sid, str):
                # The hit path of the session_check cache: one lookup, one clock read.
                hit = self._session_cache.get(sid)
                active = hit[1] if hit is not None and hit[0] > time.monotonic() else None
                if active is None:
                    active = await self._session_active(sid)
                if not active:
                    raise SessionRevokedError("the session was revoked or has expired")
        except AuthError as e:
            # An unusable cookie makes an optional principal anonymous; a store that did not
            # answer does not (503, like every other route: the user is not signed out).
            if optional and source == "cookie" and e.code in TOKEN_CODES:
                return None
            raise from_auth_error(e, self.realm) from None
        principal = self._principal(claims, source)
        # request.state.polyauth_principal, without building Starlette's State wrapper: State
        # stores its attributes in this same dict.
        request.scope.setdefault("state", {})["polyauth_principal"] = principal
        if needed:
            missing = [s for s in needed if s not in principal.scopes]
            if missing:
                raise insufficient_scope(self.realm, missing)
        if (
            source == "cookie"
            and request.method not in SAFE_METHODS
            and not csrf_allows(request.method, request.headers, _own_origin(request), self.csrf)
        ):
            self._audit("csrf_rejected", {"path": request.url.path, "subject": principal.subject})
            raise csrf_failed()
        return principal

    def _credentials(self, request: Request) -> tuple[str | None, Literal["bearer", "cookie"]]:
        header = request.headers.get("authorization")
        if header is not None:
            scheme, _, value = header.strip().partition(" ")
            value = value.strip()
            if scheme.lower() != "bearer" or not value or " " in value:
                raise invalid_request(self.realm, "Authorization must be 'Bearer <token>'")
            return value, "bearer"
        if self.cookies is not None:
            cookie = request.cookies.get(self._access_cookie)
            if cookie:
                return cookie, "cookie"
        return None, "cookie"

    def _principal(self, claims: dict[str, Any], source: Literal["bearer", "cookie"]) -> Principal:
        scope = claims.get("scope")
        granted = set(scope.split()) if isinstance(scope, str) else set()
        roles = claims.get("roles")
        if isinstance(roles, list):
            for role in roles:
                if isinstance(role, str):
                    granted |= self.permissions.get(role, frozenset())
        amr = claims.get("amr")
        sid = claims.get("sid")
        return Principal(
            str(claims["sub"]),
            sid if isinstance(sid, str) else None,
            frozenset(granted),
            tuple(a for a in amr if isinstance(a, str)) if isinstance(amr, list) else (),
            claims,
            int(claims.get("iat", 0)),
            int(claims.get("exp", 0)),
            source,
        )

    async def _session_active(self, sid: str) -> bool:
        now = time.monotonic()
        if self.session_check > 0:
            hit = self._session_cache.get(sid)
            if hit is not None and hit[0] > now:
                return hit[1]
        active = await self.sessions.is_active(sid)
        if self.session_check > 0:
            self._session_cache[sid] = (now + self.session_check, active)
            self._session_cache.move_to_end(sid)
            while len(self._session_cache) > _MAX_SESSION_CACHE:
                self._session_cache.popitem(last=False)
        return active

    def forget_session(self, sid: str) -> None:
        """Drops ``sid`` from this process's session cache (after revoking it here)."""
        self._session_cache.pop(sid, None)

    def forget_sessions(self) -> None:
        """Empties this process's session cache (after revoking every session of a subject here)."""
        self._session_cache.clear()

    # ---- building blocks for custom routes --------------------------------------------------

    def client_ip(self, request: Request) -> str:
        """The client address: the peer, or, when the peer is a trusted proxy, the nearest
        untrusted address of ``X-Forwarded-For``."""
        peer = request.client.host if request.client else "unknown"
        if peer not in self.trusted_proxies:
            return peer
        hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
        for hop in reversed(hops):
            if hop not in self.trusted_proxies:
                return hop
        return peer

    def session_meta(self, request: Request) -> dict[str, Any]:
        """What a new session records about its client (shown by ``GET /sessions``)."""
        return {"ip": self.client_ip(request), "user_agent": request.headers.get("user-agent", "")[:256]}

    async def login(self, request: Request, login: str, password: str) -> _polyauth.SignInResult:
        """The password step (core ``SignIn.password``) with the client's IP as throttle context
        and session metadata; audit events on success and failure."""
        ip = self.client_ip(request)
        try:
            result = await self.signin.password(
                login, password, meta=self.session_meta(request), throttle_context=ip
            )
        except AuthError as e:
            self._audit(
                "rate_limited" if e.code == "rate_limited" else "login_failed", {"ip": ip, "code": e.code}
            )
            raise
        if result["status"] == "ok":
            self._audit(
                "login_succeeded", {"ip": ip, "session_id": result["pair"].session_id, "amr": ["pwd"]}
            )
        return result

    async def second_factor(
        self, request: Request, mfa_token: str, code: str | None = None, recovery_code: str | None = None
    ) -> _native.TokenPair:
        """The second step (core ``SignIn.second_factor``)."""
        ip = self.client_ip(request)
        try:
            pair: _native.TokenPair = await self.signin.second_factor(
                mfa_token, code=code, recovery_code=recovery_code, meta=self.session_meta(request)
            )
        except AuthError as e:
            self._audit("mfa_failed", {"ip": ip, "code": e.code})
            raise
        self._audit("login_succeeded", {"ip": ip, "session_id": pair.session_id})
        return pair

    async def refresh(self, refresh_token: str) -> _native.TokenPair:
        """Rotates ``refresh_token`` (single-flight with a successor cache)."""
        try:
            return await self.state.refresher.refresh(refresh_token)
        except AuthError as e:
            if e.code == "refresh_reused":
                self._audit("refresh_reused", {})
            raise

    async def logout(self, refresh_token: str | None = None, session_id: str | None = None) -> bool:
        """Revokes the session named by ``session_id`` or, failing that, by ``refresh_token``
        (works with an expired access token)."""
        revoked = False
        if session_id is not None:
            revoked = await self.sessions.revoke(session_id)
            self.forget_session(session_id)
        elif refresh_token is not None:
            revoked = await self.sessions.revoke_refresh_token(refresh_token)
        if revoked:
            self._audit("session_revoked", {"session_id": session_id})
        return revoked

    async def restart_session(
        self, request: Request, principal: Principal, amr: Sequence[str]
    ) -> _native.TokenPair:
        """Replaces the principal's session with a new one (new ``sid``, the given ``amr``, the
        same application claims): what MFA changes require (session fixation)."""
        claims = {k: v for k, v in principal.claims.items() if k not in _ISSUER_CLAIMS}
        claims["amr"] = list(amr)
        pair = await self.sessions.start(principal.subject, claims, self.session_meta(request))
        if principal.session_id is not None:
            await self.sessions.revoke(principal.session_id)
            self.forget_session(principal.session_id)
        return pair

    def set_cookies(self, response: Response, pair: _native.TokenPair) -> None:
        """Sets the access and refresh cookies of ``pair`` (``invalid_config`` if a token is too
        large for a cookie)."""
        if self.cookies is None:
            raise InvalidConfigError("cookies are off (cookies=False)")
        check_cookie_size(pair.access_token, "access")
        check_cookie_size(pair.refresh_token, "refresh")
        access, refresh = self.cookies.names()
        secure = not self.cookies.insecure_dev
        response.set_cookie(
            access,
            pair.access_token,
            max_age=pair.expires_in,
            path="/",
            secure=secure,
            httponly=True,
            samesite=self.cookies.access_samesite,
        )
        response.set_cookie(
            refresh,
            pair.refresh_token,
            max_age=max(0, pair.refresh_expires_at - int(time.time())),
            path=self.prefix or "/",
            secure=secure,
            httponly=True,
            samesite=self.cookies.refresh_samesite,
        )

    def clear_cookies(self, response: Response) -> None:
        """Clears both cookies with the attributes they were set with (a clear with another Path
        or SameSite would leave them in place)."""
        if self.cookies is None:
            return
        access, refresh = self.cookies.names()
        secure = not self.cookies.insecure_dev
        response.delete_cookie(
            access, path="/", secure=secure, httponly=True, samesite=self.cookies.access_samesite
        )
        response.delete_cookie(
            refresh,
            path=self.prefix or "/",
            secure=secure,
            httponly=True,
            samesite=self.cookies.refresh_samesite,
        )

    def token_body(self, pair: _native.TokenPair) -> dict[str, Any]:
        """The JSON of a sign-in or refresh: tokens only when cookies are off."""
        if self.cookies is not None:
            return {"status": "ok", "expires_in": pair.expires_in}
        return {
            "status": "ok",
            "access_token": pair.access_token,
            "refresh_token": pair.refresh_token,
            "token_type": "bearer",
            "expires_in": pair.expires_in,
        }

    def _audit(self, event: str, data: dict[str, Any]) -> None:
        logger.info("polyauth %s %s", event, data)
        if self.audit_callback is not None:
            try:
                result = self.audit_callback(event, data)
                if inspect.isawaitable(result):
                    import asyncio

                    task = asyncio.ensure_future(result)
                    _BACKGROUND.add(task)
                    task.add_done_callback(_BACKGROUND.discard)
            except Exception:  # an audit sink must never break a sign-in
                logger.exception("polyauth: audit callback failed")


_BACKGROUND: set[Any] = set()


@dataclass
class _State:
    store: _native.Store
    sessions: _native.Sessions
    accounts: _polyauth.Accounts | None
    signin: _polyauth.SignIn
    mfa: _native.Mfa | None
    totp: _native.Totp
    refresher: RefreshCoalescer


def _error_response(exc: AuthHTTPException) -> Response:
    headers = {**(exc.headers or {}), "Cache-Control": "no-store"}
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=headers)


def _status_code_name(status: int) -> str:
    """A stable code for a plain HTTP error: its reason phrase in snake case (405:
    ``method_not_allowed``), or ``http_<status>`` for a status without one."""
    try:
        return http.HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return f"http_{status}"


def _own_origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"
