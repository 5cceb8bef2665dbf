"""A caller's W3C baggage stays at the gateway; its traceparent goes on."""

from __future__ import annotations

import httpx

from pulse_gateway.adapters import InMemoryRunPublisher

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


async def test_client_baggage_is_dropped_and_the_runs_own_is_sent(
    client: httpx.AsyncClient, auth_a: dict[str, str], publisher: InMemoryRunPublisher
) -> None:
    response = await client.post(
        "/v1/runs",
        json={"prompt": "add 2 and 3"},
        headers={
            **auth_a,
            "traceparent": TRACEPARENT,
            "baggage": "tenant=tenant-b,run_id=not-this-one,plan=free",
        },
    )
    assert response.status_code == 202, response.text
    body = response.json()
    headers = publisher.published[0].headers
    entries = set(headers["baggage"].split(","))
    assert entries == {f"run_id={body['run_id']}", "tenant=tenant-a"}
    # The caller's trace continues into the run's.
    assert body["trace_id"] == TRACEPARENT.split("-")[1]
    assert headers["traceparent"].split("-")[1] == body["trace_id"]
