"""A real SSH server on 127.0.0.1 that lets nobody in: the stand-in rescue system of the diagnose tests that need no VM.

It runs (asyncssh, in a thread and an event loop of its own, so the CLI's `main` and an MCP client alike can reach
it) and records the connections it was offered and the passwords tried, then refuses every login: nothing is ever
run on it, so no diagnosis script ever runs on the machine of the tests.
"""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType

import asyncssh


class RefusingSSH:
    """`with RefusingSSH() as ssh:` listens on 127.0.0.1:`ssh.port` until the block ends."""

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = 0
        self.connections = 0
        self.passwords: list[str] = []  # each password offered, in order (a test's own, to compare)
        self.keys_offered = 0
        self._key = asyncssh.generate_private_key("ssh-ed25519")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="refusing-sshd", daemon=True)
        self._listener: asyncssh.SSHAcceptor | None = None

    @property
    def fingerprint(self) -> str:
        return self._key.get_fingerprint("sha256")

    def __enter__(self) -> RefusingSSH:
        self._thread.start()
        self._listener = asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(timeout=30)
        self.port = self._listener.get_port()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        async def stop() -> None:
            if self._listener is not None:
                self._listener.close()
                await self._listener.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()

    async def _listen(self) -> asyncssh.SSHAcceptor:
        owner = self

        class Server(asyncssh.SSHServer):
            def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
                owner.connections += 1

            def begin_auth(self, username: str) -> bool:
                return True

            def password_auth_supported(self) -> bool:
                return True

            def validate_password(self, username: str, password: str) -> bool:
                owner.passwords.append(password)
                return False

            def public_key_auth_supported(self) -> bool:
                return True

            def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
                owner.keys_offered += 1
                return False

        return await asyncssh.listen(self.host, 0, server_factory=Server, server_host_keys=[self._key])
