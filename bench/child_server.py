"""A fake platform's aiohttp app served in a child process until the parent says stop.

The child sends its port over `conn` once it listens, then waits for any message on `conn`.
Serving the fake in its own process keeps its CPU out of the measured process's numbers.
"""

from __future__ import annotations

import asyncio
from multiprocessing.connection import Connection

from aiohttp import web


async def serve_until_told(app: web.Application, conn: Connection) -> None:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    conn.send(runner.addresses[0][1])
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)
    await runner.cleanup()
