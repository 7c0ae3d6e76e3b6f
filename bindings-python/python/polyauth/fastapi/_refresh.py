"""Refresh under concurrency (FRAMEWORKS.md §1): requests racing with one refresh token share
one rotation, and for a short window afterwards get the same successor pair, so every
``Set-Cookie`` they send is identical and no tab is logged out by its sibling's rotation."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict

from .._native import Sessions, TokenPair

#: The most successor pairs remembered at once (each is a few hundred bytes).
MAX_SUCCESSORS = 10_000


class RefreshCoalescer:
    """Single-flight rotation per process keyed by SHA-256 of the refresh token, plus a bounded
    cache of successors kept ``window`` seconds (at most ``min(reuse_grace, 30)``)."""

    def __init__(self, sessions: Sessions, window: float) -> None:
        self.sessions = sessions
        self.window = max(0.0, window)
        self._inflight: dict[str, asyncio.Future[TokenPair]] = {}
        self._successors: OrderedDict[str, tuple[float, TokenPair]] = OrderedDict()

    def __repr__(self) -> str:
        return f"RefreshCoalescer(window={self.window}, cached={len(self._successors)})"

    async def refresh(self, refresh_token: str) -> TokenPair:
        """The successor of ``refresh_token``: a fresh rotation, the one in flight, or the one
        made within the window. Errors are shared by the racing callers alike."""
        key = hashlib.sha256(refresh_token.encode("utf-8", "surrogatepass")).hexdigest()
        now = time.monotonic()
        hit = self._successors.get(key)
        if hit is not None:
            if hit[0] > now:
                return hit[1]
            del self._successors[key]
        loop = asyncio.get_running_loop()
        pending = self._inflight.get(key)
        if pending is not None and pending.get_loop() is loop:
            return await asyncio.shield(pending)
        future: asyncio.Future[TokenPair] = loop.create_future()
        self._inflight[key] = future
        try:
            pair = await self.sessions.refresh(refresh_token)
        except BaseException as e:
            future.set_exception(e)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waited
            raise
        finally:
            if self._inflight.get(key) is future:
                del self._inflight[key]
        future.set_result(pair)
        if self.window > 0:
            self._successors[key] = (time.monotonic() + self.window, pair)
            while len(self._successors) > MAX_SUCCESSORS:
                self._successors.popitem(last=False)
        return pair
