"""Completion side of the Rust → asyncio bridge (see bindings-python/src/asyncio.rs)."""

from __future__ import annotations

import asyncio
from typing import Any


def _resolve(future: asyncio.Future[Any], error: BaseException | None, value: Any) -> None:
    # The awaiting task may have been cancelled while the work ran.
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)
