"""polyauth: password hashing, tokens, TOTP, sessions, accounts and sign-in from one Rust core.

The same core ships as the ``polyauth`` npm package, so a FastAPI service and a Next.js app share
one implementation, one token format and one set of error codes.
"""

from __future__ import annotations

import atexit

from . import _native, errors
from ._native import (
    BUILTIN_BLOCKLIST_SIZE,
    Account,
    Accounts,
    Enrollment,
    KeySet,
    Mfa,
    OneTimeTokens,
    PasswordHasher,
    PasswordPolicy,
    Sessions,
    SignIn,
    Store,
    Throttle,
    TokenPair,
    Totp,
    __version__,
    error_codes,
)
from .errors import (
    AccountExistsError,
    AuthError,
    InternalError,
    InvalidAudienceError,
    InvalidConfigError,
    InvalidCredentialsError,
    InvalidHashError,
    InvalidInputError,
    InvalidIssuerError,
    InvalidKeyError,
    InvalidSignatureError,
    InvalidTokenError,
    InvalidTypeError,
    JwksUnavailableError,
    MissingClaimError,
    PasswordPolicyError,
    RateLimitedError,
    RefreshReusedError,
    SessionExpiredError,
    SessionRevokedError,
    StoreUnavailableError,
    TokenExpiredError,
    TokenNotYetValidError,
    TokenUsedError,
    TotpInvalidError,
    TotpReplayedError,
    UnknownKeyError,
    UnsupportedAlgorithmError,
)
from .signin import AccountSource, AppAccount, SignInMfaRequired, SignInOk, SignInResult
from .tokens import RemoteKeySet, Tokens

# Let store and hashing tasks in flight finish before the interpreter finalizes (see
# bindings-python/src/asyncio.rs).
atexit.register(_native._drain)

__all__ = [
    "BUILTIN_BLOCKLIST_SIZE",
    "Account",
    "AccountExistsError",
    "AccountSource",
    "Accounts",
    "AppAccount",
    "AuthError",
    "Enrollment",
    "InternalError",
    "InvalidAudienceError",
    "InvalidConfigError",
    "InvalidCredentialsError",
    "InvalidHashError",
    "InvalidInputError",
    "InvalidIssuerError",
    "InvalidKeyError",
    "InvalidSignatureError",
    "InvalidTokenError",
    "InvalidTypeError",
    "JwksUnavailableError",
    "KeySet",
    "Mfa",
    "MissingClaimError",
    "OneTimeTokens",
    "PasswordHasher",
    "PasswordPolicy",
    "PasswordPolicyError",
    "RateLimitedError",
    "RefreshReusedError",
    "RemoteKeySet",
    "SessionExpiredError",
    "SessionRevokedError",
    "Sessions",
    "SignIn",
    "SignInMfaRequired",
    "SignInOk",
    "SignInResult",
    "Store",
    "StoreUnavailableError",
    "Throttle",
    "TokenExpiredError",
    "TokenNotYetValidError",
    "TokenPair",
    "TokenUsedError",
    "Tokens",
    "Totp",
    "TotpInvalidError",
    "TotpReplayedError",
    "UnknownKeyError",
    "UnsupportedAlgorithmError",
    "__version__",
    "error_codes",
    "errors",
]
