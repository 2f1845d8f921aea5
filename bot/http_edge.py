"""The HTTP edge: oversized bodies get 413, anything unexpected a plain 500, never a traceback."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.core.platform import InvalidEvent, SinkUnavailable

log = logging.getLogger(__name__)


@web.middleware
async def error_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPRequestEntityTooLarge:
        return web.json_response({"error": "request body too large"}, status=413)
    except web.HTTPException:
        raise
    except SinkUnavailable:
        return web.json_response({"error": "shutting down"}, status=503)
    except InvalidEvent as invalid:
        return web.json_response({"error": str(invalid)}, status=400)
    except Exception:
        log.exception("unhandled error", extra={"path": request.path, "method": request.method})
        return web.json_response({"error": "internal error"}, status=500)
