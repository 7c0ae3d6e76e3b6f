"""The scheduling of awaitables returned by an application's account source
(bindings-python/src/signin.rs; the bridge itself is bindings-python/src/asyncio.rs)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable


def _submit(
    loop: asyncio.AbstractEventLoop,
    result: object,
    done: Callable[[concurrent.futures.Future[Any]], object],
) -> bool:
    """Runs ``result`` on ``loop`` when it is awaitable, calling ``done`` with the finished
    ``concurrent.futures.Future``; False (nothing scheduled) when it is a plain value. Called from
    a polyauth worker thread, never from ``loop``'s own thread."""
    if not inspect.isawaitable(result):
        return False
    coro = result if asyncio.iscoroutine(result) else _await(result)
    try:
        future = asyncio.run_coroutine_threadsafe(coro, loop)
    except BaseException:
        # The loop is closed: the coroutine will never run, so close it (no "never awaited"
        # warning) and let the caller report the failure.
        coro.close()
        raise
    future.add_done_callback(done)
    return True
