"""What plays a rescued instance's rescue system in the simulator, and the thread it runs in.

At Zomro an instance in rescue mode boots a rescue system that answers SSH on the instance's address, as root with the
password the rescue request set. The simulator plays it with a `RescueSystem`: `start(instance, password)` makes one
answer for that instance and says where (a loopback address and a port), `stop(instance)` ends it, leaving nothing
behind. Two implementations: the stand-in (stand_in.py, an SSH server answering the diagnosis script with a recorded
report: the default of `serve --simulator` and `make demo`) and the rescue VM (vm_rescue_system.py). Tests may bring
their own.

`RescueSystems` runs one for each rescued instance in an event loop of its own, in a thread: the simulator's
functions are synchronous, and the simulator runs in the MCP server's loop (`serve --simulator`) or in uvicorn's (the
tests, `zomro-rescue-mcp simulator`). The accepted rescue starts it (the instance stays `rescuing` until it answers,
then is `rescued` with the rescue system's address as its IP; `error` when it could not start); the accepted
unrescue stops it (the instance stays `unrescuing` until it has stopped). `close()` stops every one. What happens to
one instance happens in order: a rescue after an unrescue starts once the stop is done.

Once its rescue system has stopped, an instance that boots answers with its own SSH banner on the same loopback
address and port (own_system.py) until it is rescued again or the simulator closes; one that does not boot answers
nothing there. It boots unless `SimInstance.boots` is False or a rescue system that judges its disk (`BootJudge`:
the stand-in with `disk_decides_boot`, from its disk model) says it does not. The stop's future gives that address,
which the list then shows while the instance is active.

Only loopback addresses are ever used: each running rescue system has its own, 127.0.0.N (N from 2, the first one
free on its port), so that every instance is reached on the one port the server uses (ZOMRO_RESCUE_SSH_PORT).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import errno
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar, runtime_checkable

from .own_system import answer_ssh
from .state import SimInstance

__all__ = ["DEFAULT_SSH_PORT", "BootJudge", "RescueSystem", "RescueSystems", "Where", "on_free_loopback"]

log = logging.getLogger("zomro_rescue_mcp.simulator")

DEFAULT_SSH_PORT = 2222  # the simulator's rescue systems' port (22 would need root, and may be this machine's sshd)
CLOSE_SECONDS = 60.0  # stopping every rescue system (a rescue VM stops within 10 s, or is killed)
T = TypeVar("T")
Where = tuple[str, int]


class RescueSystem(Protocol):
    """What answers SSH for a rescued simulated instance (the stand-in, the rescue VM, or a test's)."""

    async def start(self, instance: SimInstance, password: str) -> Where:
        """Start one for `instance`, root's password `password`; return where its SSH answers (a loopback address
        and the port). A start that fails or is cancelled leaves nothing behind."""
        ...

    async def stop(self, instance: SimInstance) -> None:
        """Stop the one started for `instance` (nothing when none runs), leaving no process, socket or file."""
        ...


@runtime_checkable
class BootJudge(Protocol):
    """A rescue system that knows the instance's disk, and so whether the instance boots from it once it has left
    rescue mode (asked after its stop)."""

    def boots(self, instance: SimInstance) -> bool:
        """Whether `instance` boots from its disk as the rescue system left it."""
        ...


async def on_free_loopback(port: int, taken: set[str], bind: Callable[[str], Awaitable[T]]) -> tuple[str, T]:
    """`bind(host)` on the first 127.0.0.N (N from 2) not in `taken` whose `port` is free; the host and what it gave.

    `bind` raises OSError(EADDRINUSE) when the port is taken there (another program, another simulator's rescue
    system): the next address is tried.
    """
    for n in range(2, 255):
        host = f"127.0.0.{n}"
        if host in taken:
            continue
        try:
            return host, await bind(host)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
    raise OSError(errno.EADDRINUSE, f"port {port} is taken on every address from 127.0.0.2 to 127.0.0.254")


class RescueSystems:
    """Runs `system` for each rescued instance, in a thread of its own (started on the first rescue)."""

    def __init__(self, system: RescueSystem) -> None:
        self.system = system
        self._guard = threading.RLock()  # close() may run in a signal handler of a thread inside begin()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        # Only the loop's thread touches these.
        self._running: dict[int, SimInstance] = {}  # by id(instance): started and not yet stopped
        self._where: dict[int, Where] = {}  # by id(instance): where its rescue system answered
        self._own: dict[int, asyncio.Server] = {}  # by id(instance): its own system's SSH, once it booted
        self._locks: dict[int, asyncio.Lock] = {}
        self._ops: set[asyncio.Task[object]] = set()  # begin's and end's, under way
        self._starting: set[asyncio.Task[object]] = set()

    def begin(self, instance: SimInstance, password: str) -> concurrent.futures.Future[Where | None]:
        """Start the instance's rescue system (the rescue was accepted); the future gives where it answers."""
        return self._submit(self._start(instance, password))

    def end(self, instance: SimInstance) -> concurrent.futures.Future[Where | None]:
        """Stop the instance's rescue system (the unrescue was accepted); the future is done once it has stopped, and
        gives where the instance's own system answers if it boots (None: it had no rescue system)."""
        return self._submit(self._stop(instance))

    @property
    def running(self) -> int:
        """How many rescue systems run now."""
        return len(self._running)

    def close(self) -> None:
        """Stop every rescue system (a start under way is cancelled) and the thread; nothing is left running."""
        with self._guard:
            loop, thread, self._loop, self._thread = self._loop, self._thread, None, None
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._stop_all(), loop).result(CLOSE_SECONDS)
        except Exception as exc:  # a stop that failed: said, and the thread still ends
            log.warning("the simulator's rescue systems did not all stop cleanly: %s", exc)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(CLOSE_SECONDS)

    # --- in the loop's thread ---------------------------------------------------------------------------------

    def _submit(self, work: Awaitable[Where | None]) -> concurrent.futures.Future[Where | None]:
        with self._guard:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(
                    target=self._serve, args=(self._loop,), name="simulator-rescue-systems", daemon=True
                )
                self._thread.start()
            return asyncio.run_coroutine_threadsafe(self._op(work), self._loop)

    def _serve(self, loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _op(self, work: Awaitable[T]) -> T:
        task = asyncio.current_task()
        assert task is not None
        self._ops.add(task)
        try:
            return await work
        finally:
            self._ops.discard(task)

    def _lock(self, instance: SimInstance) -> asyncio.Lock:
        return self._locks.setdefault(id(instance), asyncio.Lock())

    async def _start(self, instance: SimInstance, password: str) -> Where:
        task = asyncio.current_task()
        assert task is not None
        self._starting.add(task)
        try:
            async with self._lock(instance):
                await self._shut_own(instance)  # rescued again: its own system is down
                try:
                    where = await self.system.start(instance, password)
                except Exception as exc:
                    log.warning("the rescue system of simulated instance %d did not start: %s", instance.id, exc)
                    raise
                self._running[id(instance)] = instance
                self._where[id(instance)] = where
                log.info("simulated instance %d: its rescue system answers on %s:%d", instance.id, *where)
                return where
        finally:
            self._starting.discard(task)

    async def _stop(self, instance: SimInstance, *, boot: bool = True) -> Where | None:
        async with self._lock(instance):
            if self._running.pop(id(instance), None) is None:
                return None
            where = self._where.pop(id(instance))
            await self.system.stop(instance)
            log.info("simulated instance %d: its rescue system stopped", instance.id)
            judge = self.system if isinstance(self.system, BootJudge) else None
            if boot and instance.boots and (judge is None or judge.boots(instance)):
                server = await answer_ssh(*where)
                if server is not None:
                    self._own[id(instance)] = server
                    log.info("simulated instance %d booted: its SSH answers on %s:%d", instance.id, *where)
            return where

    async def _shut_own(self, instance: SimInstance) -> None:
        server = self._own.pop(id(instance), None)
        if server is not None:
            server.close()
            await server.wait_closed()

    async def _stop_all(self) -> None:
        for task in list(self._starting):  # a rescue VM may take minutes to boot: not waited for
            task.cancel()
        await asyncio.gather(*self._ops, return_exceptions=True)
        for instance in list(self._running.values()):
            try:
                await self._stop(instance, boot=False)
            except Exception as exc:
                log.warning("the rescue system of simulated instance %d did not stop cleanly: %s", instance.id, exc)
        for server in self._own.values():
            server.close()
        for server in list(self._own.values()):
            await server.wait_closed()
        self._own.clear()
        self._locks.clear()
