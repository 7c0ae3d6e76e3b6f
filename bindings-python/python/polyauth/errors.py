"""Exceptions raised by polyauth.

Every exception is an :class:`AuthError` with a stable ``code`` string, identical to the ``code``
of ``PolyauthError`` in the Node package. Messages never contain secrets, tokens or hashes.
"""

from __future__ import annotations

from typing import ClassVar


class AuthError(Exception):
    """Base class of every polyauth error; ``code`` is the stable machine-readable code."""

    code: ClassVar[str] = "internal_error"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={str(self)!r})"


class InvalidTokenError(AuthError):
    """The token is malformed (not compact JWS, bad base64url, bad JSON, oversize)."""

    code = "invalid_token"


class InvalidSignatureError(AuthError):
    """The token's signature does not verify."""

    code = "invalid_signature"


class TokenExpiredError(AuthError):
    """The token's ``exp`` is in the past (beyond the leeway)."""

    code = "token_expired"


class TokenNotYetValidError(AuthError):
    """The token's ``nbf`` or ``iat`` is in the future (beyond the leeway)."""

    code = "token_not_yet_valid"


class InvalidAudienceError(AuthError):
    """The token's ``aud`` is not accepted."""

    code = "invalid_audience"


class InvalidIssuerError(AuthError):
    """The token's ``iss`` is not the expected issuer."""

    code = "invalid_issuer"


class InvalidTypeError(AuthError):
    """The token's ``typ`` header is not the required one."""

    code = "invalid_type"


class MissingClaimError(AuthError):
    """A required claim is absent."""

    code = "missing_claim"


class UnknownKeyError(AuthError):
    """No configured key matches the token's ``kid``."""

    code = "unknown_key"


class JwksUnavailableError(AuthError):
    """A remote key set could not be fetched (HTTP error status, redirect, timeout, oversize,
    connection failure, invalid JSON), or its cached keys are older than ``max_stale``."""

    code = "jwks_unavailable"


class UnsupportedAlgorithmError(AuthError):
    """The algorithm is not supported or not allowed for the key."""

    code = "unsupported_algorithm"


class InvalidKeyError(AuthError, ValueError):
    """A key could not be imported or is too weak."""

    code = "invalid_key"


class InvalidHashError(AuthError, ValueError):
    """A stored password hash is malformed, unsupported or over the configured bounds."""

    code = "invalid_hash"


class PasswordPolicyError(AuthError, ValueError):
    """The password fails the policy; ``reasons`` lists the codes."""

    code = "password_policy"
    reasons: list[str]

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.reasons = []


class RefreshReusedError(AuthError):
    """A refresh token was used twice; its whole session has been revoked."""

    code = "refresh_reused"


class SessionRevokedError(AuthError):
    """The session has been revoked."""

    code = "session_revoked"


class SessionExpiredError(AuthError):
    """The session has passed its absolute or idle lifetime."""

    code = "session_expired"


class TotpInvalidError(AuthError):
    """The one-time code is not valid.

    From ``SignIn.second_factor``: ``mfa_token`` is the fresh token to retry the same password step
    with and ``tries_left`` the wrong codes still allowed; both are None after the last wrong code
    (sign in again) and for every other method. The token is never in ``str()`` or ``repr()``."""

    code = "totp_invalid"
    mfa_token: str | None
    tries_left: int | None

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.mfa_token = None
        self.tries_left = None


class TotpReplayedError(AuthError):
    """The one-time code was already used. From ``SignIn.second_factor`` it carries ``mfa_token``
    and ``tries_left`` as ``TotpInvalidError`` does."""

    code = "totp_replayed"
    mfa_token: str | None
    tries_left: int | None

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.mfa_token = None
        self.tries_left = None


class RateLimitedError(AuthError):
    """Too many failures; ``retry_after`` is the number of seconds to wait."""

    code = "rate_limited"
    retry_after: int

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.retry_after = 0


class StoreUnavailableError(AuthError):
    """The store could not be reached within its timeout."""

    code = "store_unavailable"


class InvalidConfigError(AuthError, ValueError):
    """A constructor argument is out of range or of the wrong type (e.g. argon2 parameters below
    the OWASP table, a negative or boolean ``ttl``)."""

    code = "invalid_config"


class TokenUsedError(AuthError):
    """A one-time token was presented a second time."""

    code = "token_used"


class InvalidCredentialsError(AuthError):
    """A sign-in failed: wrong login or password, unknown or disabled account (one message for all,
    so the answer does not tell which)."""

    code = "invalid_credentials"


class AccountExistsError(AuthError):
    """An account with this login (after normalisation) exists already."""

    code = "account_exists"


class InvalidInputError(AuthError, ValueError):
    """An argument is malformed (e.g. a password or identifier with lone surrogates, a password
    over 4096 bytes, a per-call number such as ``now=`` out of range or of the wrong type)."""

    code = "invalid_input"


class InternalError(AuthError):
    """A bug in polyauth (a caught panic). The process keeps running."""

    code = "internal_error"


_BY_CODE: dict[str, type[AuthError]] = {
    cls.code: cls
    for cls in (
        InvalidTokenError,
        InvalidSignatureError,
        TokenExpiredError,
        TokenNotYetValidError,
        InvalidAudienceError,
        InvalidIssuerError,
        InvalidTypeError,
        MissingClaimError,
        UnknownKeyError,
        JwksUnavailableError,
        UnsupportedAlgorithmError,
        InvalidKeyError,
        InvalidHashError,
        PasswordPolicyError,
        RefreshReusedError,
        SessionRevokedError,
        SessionExpiredError,
        TotpInvalidError,
        TotpReplayedError,
        RateLimitedError,
        StoreUnavailableError,
        InvalidConfigError,
        TokenUsedError,
        AccountExistsError,
        InvalidCredentialsError,
        InvalidInputError,
        InternalError,
    )
}

__all__ = [cls.__name__ for cls in _BY_CODE.values()] + ["AuthError"]
