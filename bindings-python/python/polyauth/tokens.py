"""Access tokens and remote key sets.

``Tokens`` and ``RemoteKeySet`` extend the native classes with what needs Python's HTTP stack:
fetching a JWKS with httpx. The caching policy (cache lifetime, unknown-kid refetch at most once
per cooldown, keeping the last good set on failure) is decided in the Rust core.
"""

from __future__ import annotations

import asyncio
import typing
from collections.abc import Sequence
from typing import Any

from . import _native

if typing.TYPE_CHECKING:
    import httpx


class RemoteKeySet(_native.RemoteKeySet):
    """A JWKS URL (``http(s)`` only) whose keys verify tokens, cached for ``cache_ttl`` seconds.

    Accepted wherever a ``KeySet`` is, for verification. ``Tokens.verify_async`` fetches when
    needed; ``Tokens.verify`` uses the cached keys (call ``refresh``/``refresh_sync`` first).
    """

    async def refresh(self, *, client: httpx.AsyncClient | None = None) -> None:
        """Fetches the JWKS now (async). Raises on failure; the previous keys stay in use."""
        import httpx

        if client is None:
            async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as own:
                response = await own.get(self.url, headers={"accept": "application/json"})
        else:
            response = await client.get(
                self.url, timeout=self.timeout, headers={"accept": "application/json"}
            )
        self._take(response)

    def refresh_sync(self, *, client: httpx.Client | None = None) -> None:
        """Fetches the JWKS now (blocking). Raises on failure; the previous keys stay in use."""
        import httpx

        if client is None:
            with httpx.Client(timeout=self.timeout, follow_redirects=False) as own:
                response = own.get(self.url, headers={"accept": "application/json"})
        else:
            response = client.get(self.url, timeout=self.timeout, headers={"accept": "application/json"})
        self._take(response)

    def _take(self, response: httpx.Response) -> None:
        response.raise_for_status()
        self._complete(response.text)

    async def _refresh_quietly(self) -> None:
        # A failed refresh keeps the last good keys; verification then reports what it finds.
        import httpx

        try:
            await self.refresh()
        except (httpx.HTTPError, _native_errors()):
            pass

    async def _refresh_shared(self, due: bool) -> None:
        """Starts a fetch when one is due and awaits the fetch in flight, so that concurrent
        callers (a burst of requests after a key rotation) all see its result."""
        inflight: asyncio.Future[None] | None = getattr(self, "_inflight", None)
        if due and (inflight is None or inflight.done()):
            inflight = asyncio.ensure_future(self._refresh_quietly())
            self._inflight = inflight
        if inflight is not None and not inflight.done():
            await asyncio.shield(inflight)

    def _refresh_sync_quietly(self) -> None:
        import httpx

        try:
            self.refresh_sync()
        except (httpx.HTTPError, _native_errors()):
            pass


def _native_errors() -> type[Exception]:
    from .errors import AuthError

    return AuthError


def _claim_names(required: Sequence[str]) -> list[str]:
    # A bare str is a sequence of characters: refuse it, as `verify` does.
    if isinstance(required, str):
        raise TypeError("required must be a sequence of claim names, not a str")
    return list(required)


class Tokens(_native.Tokens):
    """Issues and verifies access tokens (compact JWS, ``typ: at+jwt``, RFC 9068 claims)."""

    async def verify_async(
        self,
        token: str,
        *,
        audience: str | Sequence[str] | None = None,
        typ: str | None = "at+jwt",
        required: Sequence[str] = ("sub",),
        now: int | None = None,
    ) -> dict[str, Any]:
        """Like ``verify``, but first fetches a remote key set when one is due (first use, stale
        cache, or a ``kid`` not seen yet, at most once per cooldown)."""
        required = _claim_names(required)
        keys = self.keys
        if isinstance(keys, RemoteKeySet):
            await keys._refresh_shared(self._remote_fetch_due(token))
        return self.verify(token, audience=audience, typ=typ, required=required, now=now)

    def verify_fetching(
        self,
        token: str,
        *,
        audience: str | Sequence[str] | None = None,
        typ: str | None = "at+jwt",
        required: Sequence[str] = ("sub",),
        now: int | None = None,
    ) -> dict[str, Any]:
        """Blocking ``verify_async`` for synchronous code (fetches with a blocking httpx client)."""
        required = _claim_names(required)
        keys = self.keys
        if isinstance(keys, RemoteKeySet) and self._remote_fetch_due(token):
            keys._refresh_sync_quietly()
        return self.verify(token, audience=audience, typ=typ, required=required, now=now)


__all__ = ["RemoteKeySet", "Tokens"]
