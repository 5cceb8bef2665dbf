"""The token bucket, component health and the wire format of streamed events (pure)."""

from __future__ import annotations

from pulse_contracts import RunCompleted, subjects
from pulse_gateway.domain import (
    COMPONENT_OF,
    ConsumerLag,
    Health,
    component_health,
    consumer_health,
    overall,
    parse_resume_seq,
    sse_event,
    take_token,
    ws_frame,
)


def test_a_bucket_starts_full_spends_and_refills() -> None:
    bucket, decision = take_token(None, now=100.0, rate=2.0, burst=3)
    assert decision.allowed
    assert decision.remaining == 2
    for _ in range(2):
        bucket, decision = take_token(bucket, now=100.0, rate=2.0, burst=3)
        assert decision.allowed
    bucket, decision = take_token(bucket, now=100.0, rate=2.0, burst=3)
    assert not decision.allowed
    assert decision.retry_after_s == 1
    bucket, decision = take_token(bucket, now=100.5, rate=2.0, burst=3)  # one token back
    assert decision.allowed
    _, decision = take_token(bucket, now=1000.0, rate=2.0, burst=3)  # capped at the burst
    assert decision.remaining == 2
    _, decision = take_token(bucket, now=50.0, rate=2.0, burst=3)  # a clock behind refills nothing
    assert not decision.allowed
    slow, _ = take_token(None, now=0.0, rate=0.1, burst=1)
    _, decision = take_token(slow, now=0.0, rate=0.1, burst=1)
    assert decision.retry_after_s == 10


def test_every_durable_belongs_to_a_component() -> None:
    durables = {
        v for k, v in vars(subjects.Durable).items() if not k.startswith("_") and isinstance(v, str)
    }
    assert set(COMPONENT_OF) == durables
    assert set(COMPONENT_OF.values()) == {"planner", "executor", "agent-adapter", "archiver"}


def test_health_from_consumer_lag() -> None:
    assert consumer_health(ConsumerLag("S", "planner", num_waiting=1)) is Health.UP
    assert consumer_health(ConsumerLag("S", "planner", num_ack_pending=3)) is Health.UP
    assert consumer_health(ConsumerLag("S", "planner", num_pending=9)) is Health.DOWN
    assert consumer_health(ConsumerLag(None, "planner", exists=False)) is Health.MISSING
    components = component_health(
        [
            ConsumerLag("R", "executor-plans", num_waiting=1, num_pending=2),
            ConsumerLag("T", "executor-results", num_pending=5),
            ConsumerLag("R", "planner", num_waiting=1),
            ConsumerLag("X", "someone-else", num_waiting=1),
        ]
    )
    assert [(c.name, c.health, c.pending) for c in components] == [
        ("executor", Health.DOWN, 7),
        ("planner", Health.UP, 0),
    ]
    assert overall(components, {"nats": True}) == "degraded"
    assert overall(components[1:], {"nats": True}) == "ok"
    assert overall(components[1:], {"nats": True, "postgres": False}) == "degraded"


def test_resume_points_and_wire_formats() -> None:
    assert [parse_resume_seq(v) for v in (None, "", "12", " 7 ", "x", "-1", "9" * 40)] == [
        0,
        0,
        12,
        7,
        0,
        0,
        0,
    ]
    event = RunCompleted(message_id="m", run_id="r1", seq=4, result={"a": "b\nc"})
    text = sse_event(event).decode()
    assert text.startswith("id: 4\nevent: run.completed\ndata: {")
    assert text.endswith("\n\n")
    assert text.count("\n") == 4
    frame = ws_frame(event)
    assert '"seq":4' in frame
    assert '"type":"run.completed"' in frame
