"""The Rust → asyncio bridge (bindings-python/src/asyncio.rs): results are resolved on the loop's
own thread from a per-loop completion queue. These pin what that design must keep: every loop of
every thread gets its results, closed loops release their wake-up sockets, a cancelled await is
harmless, and loops without ``add_reader`` still work."""

import asyncio
import os
import threading

import pytest

from polyauth import KeySet, Sessions, Store, Tokens


async def _sessions() -> Sessions:
    store = await Store.open("memory://")
    return Sessions(store, Tokens(KeySet.generate("HS256"), issuer="https://i", audience="a"))


async def _rotate(sessions: Sessions, callers: int, rounds: int) -> set[str]:
    async def caller(i: int) -> str:
        pair = await sessions.start(f"user-{i}")
        token = pair.refresh_token
        for _ in range(rounds):
            token = (await sessions.refresh(token)).refresh_token
        assert await sessions.is_active(pair.session_id)
        return token

    return set(await asyncio.gather(*(caller(i) for i in range(callers))))


def test_burst_of_concurrent_calls_all_resolve() -> None:
    async def main() -> None:
        sessions = await _sessions()
        tokens = await _rotate(sessions, callers=300, rounds=5)
        assert len(tokens) == 300

    asyncio.run(asyncio.wait_for(main(), 30))


def test_loops_on_several_threads_at_once() -> None:
    results: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        async def main() -> int:
            return len(await _rotate(await _sessions(), callers=20, rounds=20))

        try:
            results.append(asyncio.run(asyncio.wait_for(main(), 30)))
        except BaseException as e:  # reported by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert results == [20, 20, 20, 20]


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_closed_loops_release_their_wakeup_sockets() -> None:
    async def main() -> None:
        sessions = await _sessions()
        await sessions.refresh((await sessions.start("u")).refresh_token)

    for _ in range(3):
        asyncio.run(asyncio.wait_for(main(), 30))
    before = _open_fds()
    for _ in range(40):
        asyncio.run(asyncio.wait_for(main(), 30))
    # Each loop used a socket pair; the closed ones are released when the next loop appears.
    assert _open_fds() <= before + 2


def test_cancelled_await_leaves_the_loop_working() -> None:
    async def main() -> None:
        sessions = await _sessions()
        pair = await sessions.start("u")
        task = asyncio.ensure_future(sessions.refresh(pair.refresh_token))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The rotation itself ran (the store cannot be told to stop): the old token is spent.
        await asyncio.sleep(0.05)
        with pytest.raises(Exception) as raised:
            await sessions.refresh(pair.refresh_token)
        assert getattr(raised.value, "code", None) == "refresh_reused"
        assert len(await _rotate(sessions, callers=5, rounds=3)) == 5

    asyncio.run(asyncio.wait_for(main(), 30))


class _NoReaderLoop(asyncio.SelectorEventLoop):
    """A loop like Windows' proactor: no ``add_reader``."""

    def add_reader(self, *args: object, **kwargs: object) -> None:
        raise NotImplementedError


def test_loop_without_add_reader_falls_back() -> None:
    async def main() -> None:
        tokens = await _rotate(await _sessions(), callers=50, rounds=10)
        assert len(tokens) == 50

    loop = _NoReaderLoop()
    try:
        # A lost wake-up would hang: wait_for turns that into a failure.
        loop.run_until_complete(asyncio.wait_for(main(), 30))
    finally:
        loop.close()


def test_errors_arrive_as_exceptions_of_the_awaiting_task() -> None:
    async def main() -> None:
        sessions = await _sessions()
        outcomes = await asyncio.gather(
            *(sessions.refresh("prt_" + "A" * 43) for _ in range(50)), return_exceptions=True
        )
        assert all(getattr(o, "code", None) == "invalid_token" for o in outcomes), outcomes

    asyncio.run(asyncio.wait_for(main(), 30))
