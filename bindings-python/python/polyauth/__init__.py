"""polyauth: password hashing, tokens, TOTP and sessions from one Rust core.

The same core ships as the ``polyauth`` npm package, so a FastAPI service and a Next.js app share
one implementation, one token format and one set of error codes.
"""

from __future__ import annotations

from . import errors
from ._native import (
    BUILTIN_BLOCKLIST_SIZE,
    PasswordHasher,
    PasswordPolicy,
    __version__,
    error_codes,
)
from .errors import *  # noqa: F403  (the exception classes are part of the top-level API)
from .errors import AuthError

__all__ = [
    "BUILTIN_BLOCKLIST_SIZE",
    "AuthError",
    "PasswordHasher",
    "PasswordPolicy",
    "__version__",
    "error_codes",
    "errors",
    *errors.__all__,
]
