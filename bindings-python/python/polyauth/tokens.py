"""Access tokens and remote key sets.

``Tokens`` and ``RemoteKeySet`` extend the native classes with what needs Python's HTTP stack:
fetching a JWKS with httpx. The caching policy (cache lifetime, unknown-kid refetch at most once
per cooldown, keeping the last good set on failure, ``max_stale``, https only, the size cap) is
decided in the Rust core; this module only makes the request, within these bounds:

- redirects are never followed, even with a caller's client built with ``follow_redirects=True``
  (every request passes ``follow_redirects=False``);
- the body is streamed and the read stops as soon as it exceeds the core's cap (512 KiB); a larger
  ``Content-Length`` is refused before reading; ``identity`` encoding is requested and a
  compressed response is refused (its decoded size cannot be bounded chunk by chunk);
- one total deadline of ``timeout`` covers connect, headers and body. Async: the whole request
  runs under ``asyncio.wait_for``. Blocking: the request runs on a worker thread that the caller
  waits for at most ``timeout`` (without a caller's client, that thread runs the async request on
  a private event loop, so it is cancelled at the deadline too; with a caller's ``httpx.Client``
  the abandoned request ends at the client's own timeouts);
- every failure is ``JwksUnavailableError`` with a short message that quotes neither the response
  nor the URL (nor chains the httpx exception, whose text may contain the URL's credentials).
"""

from __future__ import annotations

import asyncio
import threading
import time
import typing
from collections.abc import Sequence
from typing import Any

from . import _native
from .errors import AuthError

if typing.TYPE_CHECKING:
    import httpx

_HEADERS = {"accept": "application/json", "accept-encoding": "identity"}


def _failure_reason(e: BaseException) -> str:
    """The short reason of a failed fetch (never the exception's text, which may quote the URL)."""
    import httpx

    if isinstance(e, (asyncio.TimeoutError, httpx.TimeoutException)):
        return "timed out"
    if isinstance(e, httpx.TransportError):
        return "connection failed"
    return "request failed"


class RemoteKeySet(_native.RemoteKeySet):
    """A JWKS URL whose keys verify tokens, cached for ``cache_ttl`` seconds.

    ``https`` only: ``allow_insecure_http=True`` accepts ``http://`` for local development (over
    plain HTTP anyone on the path can serve keys and forge tokens). ``cooldown`` (>= 1 s) spaces
    automatic refetches; after ``max_stale`` seconds (default 86400) without a successful fetch
    the cached keys stop verifying (``JwksUnavailableError``). Accepted wherever a ``KeySet`` is,
    for verification. ``Tokens.verify_async`` fetches when needed; ``Tokens.verify`` uses the
    cached keys (call ``refresh``/``refresh_sync`` first). ``repr`` hides the URL's credentials
    and query string.
    """

    async def refresh(self, *, client: httpx.AsyncClient | None = None) -> None:
        """Fetches the JWKS now (async). Raises ``JwksUnavailableError`` on any failure; the
        previous keys stay in use. A caller's ``client`` is used as is, except that redirects are
        never followed."""
        import httpx

        try:
            body = await asyncio.wait_for(self._read_async(client), self.timeout)
        except (asyncio.TimeoutError, httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as e:
            reason = _failure_reason(e)
        else:
            self._complete(body)
            return
        # Raised outside the except blocks: the httpx exception is not chained.
        self._fail(reason)

    async def _read_async(self, client: httpx.AsyncClient | None) -> bytes:
        import httpx

        if client is None:
            async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as own:
                return await self._stream_async(own)
        return await self._stream_async(client)

    async def _stream_async(self, client: httpx.AsyncClient) -> bytes:
        async with client.stream(
            "GET", self.url, headers=_HEADERS, timeout=self.timeout, follow_redirects=False
        ) as response:
            self._check_response(response)
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_raw():
                size += len(chunk)
                if size > self._max_bytes:
                    self._fail("response is larger than the JWKS size limit")
                chunks.append(chunk)
            return b"".join(chunks)

    def refresh_sync(self, *, client: httpx.Client | None = None) -> None:
        """Fetches the JWKS now (blocking). Raises ``JwksUnavailableError`` on any failure; the
        previous keys stay in use. A caller's ``client`` is used as is, except that redirects are
        never followed. Returns within ``timeout`` whatever the server does."""
        # The blocking httpx client only bounds each read, and a server dripping its headers or
        # body never lets one time out: wait for a worker thread with the total deadline instead.
        outcome: list[BaseException | None] = []
        if client is None:
            target: Any = lambda: asyncio.run(self.refresh())  # noqa: E731
        else:
            target = lambda: self._refresh_sync_with(client)  # noqa: E731

        def work() -> None:
            try:
                target()
            except BaseException as e:  # handed to the caller below
                outcome.append(e)
            else:
                outcome.append(None)

        worker = threading.Thread(target=work, name="polyauth-jwks", daemon=True)
        worker.start()
        worker.join(self.timeout + 0.25)
        if not outcome:
            self._fail("timed out")
        if outcome[0] is not None:
            raise outcome[0]

    def _refresh_sync_with(self, client: httpx.Client) -> None:
        import httpx

        deadline = time.monotonic() + self.timeout
        try:
            body = self._stream_sync(client, deadline)
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as e:
            reason = _failure_reason(e)
        else:
            self._complete(body)
            return
        self._fail(reason)

    def _stream_sync(self, client: httpx.Client, deadline: float) -> bytes:
        with client.stream(
            "GET", self.url, headers=_HEADERS, timeout=self.timeout, follow_redirects=False
        ) as response:
            self._check_response(response)
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_raw():
                size += len(chunk)
                if size > self._max_bytes:
                    self._fail("response is larger than the JWKS size limit")
                if time.monotonic() > deadline:
                    self._fail("timed out")
                chunks.append(chunk)
            if time.monotonic() > deadline:
                self._fail("timed out")
            return b"".join(chunks)

    def _check_response(self, response: httpx.Response) -> None:
        """Refuses a redirect, an error status, a compressed body or an oversize Content-Length
        before any of the body is read."""
        status = response.status_code
        if 300 <= status < 400:
            self._fail(f"redirect not followed (HTTP {status})")
        if not 200 <= status < 300:
            self._fail(f"HTTP {status}")
        if response.headers.get("content-encoding", "identity").strip().lower() != "identity":
            self._fail("compressed response refused")
        declared = response.headers.get("content-length")
        if declared is not None:
            declared = declared.strip()
            if not (declared.isascii() and declared.isdigit()):
                self._fail("invalid Content-Length")
            # Clamped: an absurd length must be refused, not overflow the native u64.
            self._check_length(min(int(declared), 2**63))

    async def _refresh_quietly(self) -> None:
        # A failed refresh keeps the last good keys; verification then reports what it finds.
        try:
            await self.refresh()
        except AuthError:
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
        try:
            self.refresh_sync()
        except AuthError:
            pass


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
