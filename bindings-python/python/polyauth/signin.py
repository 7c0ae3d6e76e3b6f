"""Types of the sign-in flow (``polyauth.SignIn``): what ``SignIn.password`` returns, and the shape
of an application's own account source.

An account source is any object with ``find(login)`` and ``set_password_hash(subject,
password_hash)``; each may be a plain function or return an awaitable (``async def``). Plain
functions run in a polyauth worker thread (never on the event loop's thread); awaitables run on the
event loop that called the ``SignIn`` method. ``find`` receives the login already normalised by
``Accounts.normalize_login`` and returns None or an account: an object with the attributes, or a
Mapping with the keys, ``subject`` (str), ``password_hash`` (str or None; absent is None), and
optionally ``disabled`` (bool, default False) and ``claims`` (a JSON-compatible dict, default {}).
An exception raised by the source becomes ``StoreUnavailableError`` ("account source find failed:
<ExceptionType>", the type only: its message may hold secrets) with the exception as
``__cause__``; a result of the wrong shape is ``InvalidConfigError`` naming the method and field.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import Any, Literal, Protocol, TypedDict, Union

from ._native import TokenPair

__all__ = ["AccountSource", "AppAccount", "FoundAccount", "SignInMfaRequired", "SignInOk", "SignInResult"]


class AppAccount(Protocol):
    """An account of an application's own user table, as ``AccountSource.find`` returns it
    (``disabled`` and ``claims`` are read too when present)."""

    @property
    def subject(self) -> str:
        """The account's stable identifier (the ``sub`` of its tokens)."""
        ...

    @property
    def password_hash(self) -> str | None:
        """The stored hash (any format the hasher verifies); None: no password sign-in."""
        ...


FoundAccount = Union[AppAccount, Mapping[str, Any], None]
"""What ``AccountSource.find`` returns (or its awaitable produces)."""


class AccountSource(Protocol):
    """An application's own user table, used by ``SignIn`` instead of the built-in ``Accounts``."""

    def find(self, login: str, /) -> FoundAccount | Awaitable[FoundAccount]:
        """The account with this (normalised) login, or None."""
        ...

    def set_password_hash(self, subject: str, password_hash: str, /) -> object:
        """Stores a new password hash for ``subject`` (an upgrade after a sign-in, or a reset);
        may return an awaitable, which is awaited. The return value is otherwise ignored."""
        ...


class SignInOk(TypedDict):
    """``SignIn.password`` signed in: a new session with ``amr: ["pwd"]``."""

    status: Literal["ok"]
    pair: TokenPair


class SignInMfaRequired(TypedDict):
    """``SignIn.password`` needs a second factor: pass ``mfa_token`` to ``SignIn.second_factor``."""

    status: Literal["mfa_required"]
    mfa_token: str


SignInResult = Union[SignInOk, SignInMfaRequired]
"""What ``SignIn.password`` returns."""
