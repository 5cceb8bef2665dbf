"""The `http.get` tool: fetch a public web page or API, safely.

Server-side request forgery is refused by `domain.ssrf`: every address the host resolves
to must be public (or allow-listed), and the request then goes to the checked address
itself (the Host header and TLS server name carry the name), so the name cannot be made to
resolve elsewhere between check and connect. Redirects are followed by hand, each target
checked the same way. The body is read up to `max_bytes` (the rest is dropped and
`truncated` set) and the whole fetch has a time limit.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Final
from urllib.parse import urljoin, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field

from pulse_agent_adapter.domain.ssrf import (
    AllowList,
    IpAddress,
    RefusedTarget,
    TargetUrl,
    check_address,
    parse_target,
)
from pulse_agent_adapter.domain.tools import ToolContext, parse_input
from pulse_contracts import JsonValue

__all__ = ["HttpGetInput", "HttpGetTool"]

_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
_USER_AGENT: Final = "pulse-agent-adapter/0.1 (+http.get tool)"


class HttpGetInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=4096, description="An http(s) URL.")
    max_bytes: int | None = Field(default=None, gt=0, description="Lower the body limit.")
    timeout_s: float | None = Field(default=None, gt=0, description="Lower the time limit.")
    accept: str = Field(default="*/*", max_length=200, description="The Accept header.")


class HttpGetTool:
    name = "http.get"
    version = "1.0.0"
    description = (
        "Fetch a public http(s) URL (private, loopback, link-local and multicast targets "
        "are refused) and return its status, content type and body text, size-limited."
    )
    output_schema: dict[str, JsonValue] = {
        "type": "object",
        "properties": {
            "url": {"type": "string"},
            "status": {"type": "integer"},
            "content_type": {"type": ["string", "null"]},
            "body": {"type": "string"},
            "bytes": {"type": "integer"},
            "truncated": {"type": "boolean"},
        },
        "required": ["url", "status", "content_type", "body", "bytes", "truncated"],
    }

    def __init__(
        self,
        *,
        allow: AllowList,
        max_bytes: int,
        timeout_s: float,
        max_redirects: int,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._allow = allow
        self._max_bytes = max_bytes
        self._timeout_s = timeout_s
        self._max_redirects = max_redirects
        self._client = client or httpx.AsyncClient(
            follow_redirects=False,
            timeout=httpx.Timeout(timeout_s),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=8),
            headers={"user-agent": _USER_AGENT},
        )

    @property
    def input_schema(self) -> dict[str, JsonValue]:
        return HttpGetInput.model_json_schema()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _addresses(self, target: TargetUrl) -> list[IpAddress]:
        if target.literal is not None:
            return [target.literal]
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                target.host, target.port, type=socket.SOCK_STREAM
            )
        except (socket.gaierror, UnicodeError) as exc:
            raise RefusedTarget(f"cannot resolve {target.host}: {exc}") from None
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
        if not addresses:
            raise RefusedTarget(f"{target.host} resolves to no address")
        return list(dict.fromkeys(addresses))

    async def _checked(self, url: str) -> tuple[TargetUrl, IpAddress]:
        target = parse_target(url)
        addresses = await self._addresses(target)
        for address in addresses:
            check_address(address, target.host, self._allow)
        return target, addresses[0]

    async def _fetch(
        self, target: TargetUrl, address: IpAddress, args: HttpGetInput, limit: int
    ) -> tuple[httpx.Response, bytes, bool]:
        literal = f"[{address}]" if address.version == 6 else str(address)
        default_port = {"http": 80, "https": 443}[target.scheme]
        host_header = target.host if target.port == default_port else f"{target.host}:{target.port}"
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        request = self._client.build_request(
            "GET",
            f"{target.scheme}://{literal}:{target.port}{target.path_and_query}",
            headers={"host": host_header, "accept": args.accept},
            extensions=extensions,
        )
        response = await self._client.send(request, stream=True)
        body = bytearray()
        truncated = False
        try:
            async for chunk in response.aiter_bytes():
                body.extend(chunk)
                if len(body) > limit:
                    truncated = True
                    del body[limit:]
                    break
        finally:
            await response.aclose()
        return response, bytes(body), truncated

    async def run(self, input: dict[str, JsonValue], ctx: ToolContext) -> JsonValue:
        args = parse_input(HttpGetInput, input, ctx)
        limit = min(self._max_bytes, args.max_bytes or self._max_bytes)
        timeout_s = min(self._timeout_s, args.timeout_s or self._timeout_s)
        url = args.url
        try:
            async with asyncio.timeout(timeout_s):
                for _ in range(self._max_redirects + 1):
                    target, address = await self._checked(url)
                    response, body, truncated = await self._fetch(target, address, args, limit)
                    location = response.headers.get("location")
                    if response.status_code in _REDIRECTS and location:
                        url = urljoin(url, location)
                        continue
                    return {
                        "url": url,
                        "status": response.status_code,
                        "content_type": response.headers.get("content-type"),
                        "body": body.decode(response.encoding or "utf-8", errors="replace"),
                        "bytes": len(body),
                        "truncated": truncated,
                    }
        except RefusedTarget as exc:
            raise ctx.failure(f"refused: {exc}") from None
        except TimeoutError:
            raise ctx.failure(f"{_shown(args.url)} did not answer within {timeout_s:g}s") from None
        except httpx.HTTPError as exc:
            raise ctx.failure(
                f"fetching {_shown(url)} failed: {type(exc).__name__}: {exc}"
            ) from None
        raise ctx.failure(f"more than {self._max_redirects} redirects from {_shown(args.url)}")


def _shown(url: str) -> str:
    """`url` without its query and fragment, for error messages: a query string often
    carries a token, and the message is logged, traced and archived."""
    return urlsplit(url)._replace(query="", fragment="").geturl()
