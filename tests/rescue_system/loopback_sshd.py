"""A real SSH server on 127.0.0.1 (asyncssh) that runs each command with this machine's sh: the stand-in rescue
system for the tests of the SSH session itself (host keys, login, bounds, lost answers), which need no VM.

It records what reached it (commands, public-key offers) so tests can say what the client did and did not send.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncssh


class LoopbackSSH:
    def __init__(self, password: str, *, path: str | None = None) -> None:
        self.password = password
        self.path = path  # PATH for the commands (None: this process's)
        self.host = "127.0.0.1"
        self.port = 0
        self.commands: list[str] = []
        self.logins: list[str] = []  # the auth methods the client tried, in order
        self.drop_next = 0  # abort the connection instead of running the next N commands
        self._key = asyncssh.generate_private_key("ssh-ed25519")
        self._listener: asyncssh.SSHAcceptor | None = None

    @property
    def fingerprint(self) -> str:
        return self._key.get_fingerprint("sha256")

    async def start(self) -> None:
        owner = self

        class Server(asyncssh.SSHServer):
            def begin_auth(self, username: str) -> bool:
                return True

            def password_auth_supported(self) -> bool:
                return True

            def validate_password(self, username: str, password: str) -> bool:
                owner.logins.append("password")
                return username == "root" and password == owner.password

            def public_key_auth_supported(self) -> bool:
                return True

            def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
                owner.logins.append("publickey")
                return False

        self._listener = await asyncssh.listen(
            self.host,
            self.port,
            server_factory=Server,
            server_host_keys=[self._key],
            process_factory=self._run,
            encoding=None,
        )
        self.port = self._listener.get_port()

    async def _run(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        self.commands.append(process.command or "")
        if self.drop_next > 0:
            self.drop_next -= 1
            process.get_extra_info("connection").abort()
            return
        env = {**os.environ, "PATH": self.path} if self.path is not None else None
        proc = await asyncio.create_subprocess_exec(
            "/bin/sh",
            "-c",
            process.command or "",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            start_new_session=True,
        )
        assert proc.stdin
        assert proc.stdout
        assert proc.stderr

        async def feed() -> None:
            assert proc.stdin
            try:
                while data := await process.stdin.read(65536):
                    proc.stdin.write(data)
                    await proc.stdin.drain()
                proc.stdin.close()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the command stopped reading

        async def pump(source: asyncio.StreamReader, sink: asyncssh.SSHWriter[bytes]) -> None:
            while data := await source.read(65536):
                sink.write(data)

        feeding = asyncio.ensure_future(feed())
        # The exit status goes out only after all the output, as sshd sends it.
        await asyncio.gather(pump(proc.stdout, process.stdout), pump(proc.stderr, process.stderr))
        status = await proc.wait()
        feeding.cancel()
        process.exit(status if status >= 0 else 128 - status)
        await process.wait_closed()

    async def new_host_key(self) -> None:
        """Restart on the same port with a new host key, as a rebooted rescue system would."""
        await self.stop()
        self._key = asyncssh.generate_private_key("ssh-ed25519")
        await self.start()

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.close()
            await self._listener.wait_closed()
            self._listener = None


@asynccontextmanager
async def loopback_sshd(password: str, *, path: str | None = None) -> AsyncIterator[LoopbackSSH]:
    server = LoopbackSSH(password, path=path)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
