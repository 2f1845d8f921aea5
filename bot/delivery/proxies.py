"""The proxy an Open API call goes through: HTTP_PROXY, HTTPS_PROXY and NO_PROXY, read once.

httpx honoured them, so deployments behind an egress proxy may rely on them. aiohttp's own
trust_env looks them (and ~/.netrc) up on a worker thread for every request, two thread hops that
were more than half of a reply's CPU (bench/api_send.py); here they are read when a session opens.
Like aiohttp, only http:// proxies (which also tunnel https) are supported.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping
from urllib.request import getproxies, proxy_bypass_environment  # type: ignore[attr-defined]  # not in typeshed

from yarl import URL

log = logging.getLogger(__name__)

# The proxy's URL without credentials, and the headers for it (Proxy-Authorization).
Proxy = tuple[URL | None, Mapping[str, str] | None]
DIRECT: Proxy = (None, None)


class EnvProxies:
    def __init__(self) -> None:
        found = getproxies()
        self._no_proxy = {"no": found["no"]} if "no" in found else {}
        self._by_scheme: dict[str, Proxy] = {}
        for scheme in ("http", "https"):
            raw = found.get(scheme)
            if not raw:
                continue
            proxy = URL(raw)
            if proxy.scheme != "http" or not proxy.host:
                # Not the URL itself in the log: it may carry the proxy's password.
                log.warning("%s_proxy ignored: only http:// proxies are supported", scheme)
                continue
            headers = {}
            if proxy.user:
                credentials = f"{proxy.user}:{proxy.password or ''}".encode()
                headers["Proxy-Authorization"] = "Basic " + base64.b64encode(credentials).decode("ascii")
            self._by_scheme[scheme] = (proxy.with_user(None), headers)

    def for_url(self, url: str) -> Proxy:
        if not self._by_scheme:
            return DIRECT
        target = URL(url)
        proxy = self._by_scheme.get(target.scheme)
        if proxy is None or (target.host and proxy_bypass_environment(target.host, self._no_proxy)):
            return DIRECT
        return proxy
