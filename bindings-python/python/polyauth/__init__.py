"""polyauth: password hashing, tokens, TOTP and sessions from one Rust core.

The same core ships as the ``polyauth`` npm package, so a FastAPI service and a Next.js app share
one implementation, one token format and one set of error codes.
"""

from __future__ import annotations

from . import errors
from ._native import (
    BUILTIN_BLOCKLIST_SIZE,
    KeySet,
    PasswordHasher,
    PasswordPolicy,
    __version__,
    error_codes,
)
from .errors import (
    AuthError,
    InternalError,
    InvalidAudienceError,
    InvalidConfigError,
    InvalidHashError,
    InvalidInputError,
    InvalidIssuerError,
    InvalidKeyError,
    InvalidSignatureError,
    InvalidTokenError,
    InvalidTypeError,
    MissingClaimError,
    PasswordPolicyError,
    RateLimitedError,
    RefreshReusedError,
    SessionExpiredError,
    SessionRevokedError,
    StoreUnavailableError,
    TokenExpiredError,
    TokenNotYetValidError,
    TotpInvalidError,
    TotpReplayedError,
    UnknownKeyError,
    UnsupportedAlgorithmError,
)
from .tokens import RemoteKeySet, Tokens

__all__ = [
    "BUILTIN_BLOCKLIST_SIZE",
    "AuthError",
    "InternalError",
    "InvalidAudienceError",
    "InvalidConfigError",
    "InvalidHashError",
    "InvalidInputError",
    "InvalidIssuerError",
    "InvalidKeyError",
    "InvalidSignatureError",
    "InvalidTokenError",
    "InvalidTypeError",
    "KeySet",
    "MissingClaimError",
    "PasswordHasher",
    "PasswordPolicy",
    "PasswordPolicyError",
    "RateLimitedError",
    "RefreshReusedError",
    "RemoteKeySet",
    "SessionExpiredError",
    "SessionRevokedError",
    "StoreUnavailableError",
    "TokenExpiredError",
    "TokenNotYetValidError",
    "Tokens",
    "TotpInvalidError",
    "TotpReplayedError",
    "UnknownKeyError",
    "UnsupportedAlgorithmError",
    "__version__",
    "error_codes",
    "errors",
]
