"""The wire rules shared with ``polyauth/next`` (FRAMEWORKS.md §1): error bodies and headers,
cookie attributes, and the CSRF policy. No FastAPI objects are built here beyond the exception,
so the rules can be read (and tested) on their own."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import HTTPException

from ..errors import AuthError, PasswordPolicyError, RateLimitedError

logger = logging.getLogger("polyauth")

#: A refresh or access token larger than this does not fit a cookie reliably (browsers keep about
#: 4096 bytes per cookie, name and attributes included).
MAX_COOKIE_TOKEN_BYTES = 3800

#: The longest Retry-After sent: a key locked until reset reports about 2**53 seconds.
MAX_RETRY_AFTER = 86_400

#: Retry-After for a store that did not answer.
STORE_RETRY_AFTER = 5

#: Core codes meaning the presented token or session cannot be used (401 invalid_token).
TOKEN_CODES = frozenset(
    {
        "invalid_token",
        "invalid_signature",
        "token_expired",
        "token_not_yet_valid",
        "invalid_audience",
        "invalid_issuer",
        "invalid_type",
        "missing_claim",
        "unknown_key",
        "unsupported_algorithm",
        "session_revoked",
        "session_expired",
        "refresh_reused",
        "token_used",
    }
)

#: Refresh failures after which the refresh cookie can never work again: cookies are cleared.
DEFINITIVE_REFRESH_CODES = frozenset(
    {
        "refresh_reused",
        "session_revoked",
        "session_expired",
        "invalid_token",
        "invalid_issuer",
        "invalid_audience",
    }
)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class AuthHTTPException(HTTPException):
    """An HTTP error with a stable ``code``. ``PolyAuth.install`` renders it as
    ``{"detail": ..., "code": ..., **extra}`` with ``Cache-Control: no-store``; without the handler
    FastAPI still answers with the right status and headers."""

    def __init__(
        self,
        status_code: int,
        code: str,
        detail: str,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(status_code=status_code, detail=detail, headers=dict(headers or {}))
        self.code = code
        self.extra = dict(extra or {})

    def body(self) -> dict[str, Any]:
        """The JSON body of the response."""
        return {"detail": self.detail, "code": self.code, **self.extra}

    def __repr__(self) -> str:
        return f"AuthHTTPException(status_code={self.status_code}, code={self.code!r})"


def bearer_challenge(realm: str, **params: str) -> dict[str, str]:
    """A ``WWW-Authenticate: Bearer ...`` header (RFC 6750 §3) with quoted parameters."""
    parts = [f'realm="{realm}"'] + [f'{k}="{v}"' for k, v in params.items()]
    return {"WWW-Authenticate": "Bearer " + ", ".join(parts)}


def not_authenticated(realm: str) -> AuthHTTPException:
    """401 without credentials."""
    return AuthHTTPException(401, "not_authenticated", "Not authenticated", bearer_challenge(realm))


def invalid_request(realm: str, detail: str) -> AuthHTTPException:
    """400 for a malformed Authorization header."""
    return AuthHTTPException(400, "invalid_request", detail, bearer_challenge(realm, error="invalid_request"))


def insufficient_scope(realm: str, needed: Sequence[str]) -> AuthHTTPException:
    """403 for a missing scope or permission."""
    scope = " ".join(needed)
    return AuthHTTPException(
        403,
        "insufficient_scope",
        "The token lacks a required scope",
        bearer_challenge(realm, error="insufficient_scope", scope=scope),
        {"scope": scope},
    )


def insufficient_user_authentication(realm: str, detail: str, max_age: int | None) -> AuthHTTPException:
    """401 asking for a stronger or more recent sign-in (RFC 9470)."""
    params = {"error": "insufficient_user_authentication", "error_description": detail}
    if max_age is not None:
        params["max_age"] = str(max_age)
    return AuthHTTPException(
        401, "insufficient_user_authentication", detail, bearer_challenge(realm, **params)
    )


def csrf_failed() -> AuthHTTPException:
    """403 for a request the CSRF policy refuses."""
    return AuthHTTPException(403, "csrf_failed", "Cross-site request refused")


def from_auth_error(e: AuthError, realm: str) -> AuthHTTPException:
    """The HTTP form of a core error (FRAMEWORKS.md §1's table)."""
    code = e.code
    detail = str(e) or code
    if code in TOKEN_CODES:
        return AuthHTTPException(
            401, code, detail, bearer_challenge(realm, error="invalid_token", error_description=code)
        )
    if code == "invalid_credentials":
        return AuthHTTPException(401, code, "Invalid login or password")
    if code in ("totp_invalid", "totp_replayed"):
        extra: dict[str, Any] = {}
        token = getattr(e, "mfa_token", None)
        if token is not None:
            extra = {"mfa_token": token, "tries_left": getattr(e, "tries_left", None)}
        return AuthHTTPException(401, code, detail, extra=extra)
    if code == "rate_limited":
        retry = e.retry_after if isinstance(e, RateLimitedError) else 1
        retry = max(1, min(int(retry), MAX_RETRY_AFTER))
        return AuthHTTPException(429, code, "Too many attempts; try again later", {"Retry-After": str(retry)})
    if code in ("store_unavailable", "jwks_unavailable"):
        return AuthHTTPException(503, code, detail, {"Retry-After": str(STORE_RETRY_AFTER)})
    if code == "password_policy":
        reasons = e.reasons if isinstance(e, PasswordPolicyError) else []
        return AuthHTTPException(422, code, detail, extra={"reasons": reasons})
    if code == "account_exists":
        return AuthHTTPException(409, code, detail)
    if code in ("invalid_input", "invalid_hash"):
        return AuthHTTPException(400, code, detail)
    logger.error("polyauth: %s (%s)", code, detail)
    return AuthHTTPException(500, code, "Internal error")


@dataclass(frozen=True)
class CookieConfig:
    """Cookie names and attributes (FRAMEWORKS.md §1). ``insecure_dev`` drops the ``__Host-`` /
    ``__Secure-`` prefixes and ``Secure`` for plain-http development (a warning is logged);
    browsers accept Secure cookies on ``http://localhost``, so most setups never need it."""

    access_name: str = "__Host-Http-polyauth_at"
    refresh_name: str = "__Secure-polyauth_rt"
    insecure_dev: bool = False
    access_samesite: Literal["lax", "strict"] = "lax"
    refresh_samesite: Literal["lax", "strict"] = "strict"

    def names(self) -> tuple[str, str]:
        """The access and refresh cookie names in effect."""
        if not self.insecure_dev:
            return self.access_name, self.refresh_name
        return strip_prefix(self.access_name), strip_prefix(self.refresh_name)


def strip_prefix(name: str) -> str:
    """A cookie name without its ``__Host-Http-`` / ``__Host-`` / ``__Secure-`` prefix."""
    for prefix in ("__Host-Http-", "__Host-", "__Secure-"):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


@dataclass(frozen=True)
class CsrfConfig:
    """The CSRF policy for cookie-authenticated unsafe requests (Go's ``CrossOriginProtection``
    plus a static header). ``trusted_origins`` are exact origins (``https://app.example.com``)
    allowed to send cross-origin requests; ``origins`` are the app's own public origins (default:
    the request's own scheme and Host); ``strict`` refuses requests with neither
    ``Sec-Fetch-Site`` nor ``Origin``."""

    trusted_origins: Sequence[str] = field(default_factory=tuple)
    origins: Sequence[str] = field(default_factory=tuple)
    strict: bool = False
    header: str = "X-Polyauth"


def csrf_allows(method: str, headers: Mapping[str, str], own_origin: str, config: CsrfConfig) -> bool:
    """Whether the CSRF policy lets a cookie-authenticated request through (FRAMEWORKS.md §1).
    ``headers`` must be case-insensitive (Starlette's are)."""
    if method.upper() in SAFE_METHODS:
        return True
    site = headers.get("sec-fetch-site")
    origin = headers.get("origin")
    trusted = set(config.trusted_origins)
    if site is not None:
        site = site.strip().lower()
        if site in ("same-origin", "none"):
            return True
        # same-site, cross-site and anything unknown: only a trusted origin.
        return origin is not None and origin in trusted
    if origin is None:
        return not config.strict
    if origin == "null":
        return False
    own = set(config.origins) if config.origins else {own_origin}
    return origin in own or origin in trusted


def check_cookie_size(token: str, what: str) -> None:
    """``invalid_config`` for a token too large for a cookie: never silently dropped."""
    from ..errors import InvalidConfigError

    if len(token.encode()) > MAX_COOKIE_TOKEN_BYTES:
        raise InvalidConfigError(
            f"the {what} token is {len(token.encode())} bytes, over the {MAX_COOKIE_TOKEN_BYTES}-byte "
            "cookie limit; put fewer claims in the session"
        )
