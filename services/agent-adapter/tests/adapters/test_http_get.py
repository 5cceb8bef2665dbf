"""`http.get` against a real local server: limits, redirects, and SSRF refusals — a
refused target is never connected to (no traffic leaves the loopback interface)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import pytest
import uvicorn

from pulse_agent_adapter.adapters import HttpGetTool
from pulse_agent_adapter.domain import ToolContext
from pulse_agent_adapter.domain.ssrf import AllowList
from pulse_contracts import ToolFailed
from pulse_stack.ports import free_port


class Site:
    def __init__(self) -> None:
        self.port = free_port()
        self.hits: list[str] = []

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"]
        self.hits.append(path)
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        routes: dict[str, tuple[int, list[tuple[bytes, bytes]], bytes]] = {
            "/page": (
                200,
                [(b"content-type", b"text/plain; charset=utf-8")],
                b"hello \xe2\x9c\x93",
            ),
            "/host": (200, [], headers.get("host", "").encode()),
            "/big": (200, [], b"x" * 300_000),
            "/to-page": (302, [(b"location", b"/page")], b""),
            "/to-metadata": (302, [(b"location", b"http://169.254.169.254/latest/meta-data")], b""),
            "/to-private": (307, [(b"location", b"http://10.0.0.1/admin")], b""),
            "/to-v6-loopback": (
                302,
                [(b"location", f"http://[::1]:{self.port}/page".encode())],
                b"",
            ),
            "/loop": (302, [(b"location", b"/loop")], b""),
        }
        if path == "/slow":
            await asyncio.sleep(5)
        status, extra, body = routes.get(path, (404, [], b"no"))
        await send({"type": "http.response.start", "status": status, "headers": extra})
        await send({"type": "http.response.body", "body": body})


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    app = Site()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=app.port,
            log_level="critical",
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
    )
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(20):
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
            await asyncio.sleep(0.02)
    yield app
    server.should_exit = True
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, 10)


def tool(**limits: Any) -> HttpGetTool:
    return HttpGetTool(
        allow=AllowList(limits.pop("allow", ["127.0.0.1/32"])),
        max_bytes=limits.pop("max_bytes", 100_000),
        timeout_s=limits.pop("timeout_s", 5.0),
        max_redirects=limits.pop("max_redirects", 3),
    )


def ctx() -> ToolContext:
    return ToolContext(run_id="r", step_id="s", tenant="t")


async def test_fetches_an_allowed_page(site: Site) -> None:
    result = await tool().run({"url": f"http://127.0.0.1:{site.port}/page"}, ctx())
    assert result == {
        "url": f"http://127.0.0.1:{site.port}/page",
        "status": 200,
        "content_type": "text/plain; charset=utf-8",
        "body": "hello ✓",
        "bytes": 9,
        "truncated": False,
    }


async def test_the_host_header_names_the_host_not_the_address(site: Site) -> None:
    result = await tool(allow=["localhost", "127.0.0.1/32"]).run(
        {"url": f"http://localhost:{site.port}/host"}, ctx()
    )
    assert isinstance(result, dict)
    assert result["body"] == f"localhost:{site.port}"


async def test_bodies_are_cut_at_the_size_limit(site: Site) -> None:
    result = await tool(max_bytes=1000).run({"url": f"http://127.0.0.1:{site.port}/big"}, ctx())
    assert isinstance(result, dict)
    assert (result["bytes"], result["truncated"]) == (1000, True)
    smaller = await tool().run({"url": f"http://127.0.0.1:{site.port}/big", "max_bytes": 10}, ctx())
    assert isinstance(smaller, dict)
    assert smaller["bytes"] == 10


async def test_redirects_are_followed_and_each_target_checked(site: Site) -> None:
    result = await tool().run({"url": f"http://127.0.0.1:{site.port}/to-page"}, ctx())
    assert isinstance(result, dict)
    assert result["body"] == "hello ✓"
    for path, reason in (
        ("/to-metadata", "169.254.169.254, a link-local address"),
        ("/to-private", "10.0.0.1, a private address"),
        ("/to-v6-loopback", "::1, a loopback address"),
    ):
        with pytest.raises(ToolFailed, match=reason):
            await tool().run({"url": f"http://127.0.0.1:{site.port}{path}"}, ctx())
    with pytest.raises(ToolFailed, match="more than 3 redirects"):
        await tool().run({"url": f"http://127.0.0.1:{site.port}/loop"}, ctx())


async def test_loopback_and_private_targets_are_refused_without_a_connection(site: Site) -> None:
    for url in (
        f"http://127.0.0.1:{site.port}/page",
        f"http://localhost:{site.port}/page",
        "http://192.168.1.1/",
        "http://[fe80::1]/",
        "http://0.0.0.0/",
    ):
        with pytest.raises(ToolFailed, match="refused"):
            await tool(allow=[]).run({"url": url}, ctx())
    assert site.hits == []


async def test_time_limit_and_bad_urls(site: Site) -> None:
    with pytest.raises(ToolFailed, match=r"did not answer within 0\.3s"):
        await tool().run({"url": f"http://127.0.0.1:{site.port}/slow", "timeout_s": 0.3}, ctx())
    with pytest.raises(ToolFailed, match="only http and https"):
        await tool().run({"url": "gopher://127.0.0.1/"}, ctx())
    with pytest.raises(ToolFailed, match="cannot resolve"):
        await tool().run({"url": "http://no-such-host.invalid/"}, ctx())


async def test_error_messages_leave_the_query_string_out(site: Site) -> None:
    # The message is logged, traced and archived; a query string often carries a token.
    url = f"http://127.0.0.1:{site.port}/slow?token=s3cr3t-value#frag"
    with pytest.raises(ToolFailed) as failed:
        await tool().run({"url": url, "timeout_s": 0.3}, ctx())
    assert f"http://127.0.0.1:{site.port}/slow did not answer" in str(failed.value)
    assert "s3cr3t-value" not in str(failed.value)
