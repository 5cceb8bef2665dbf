"""The checked-in JSON Schemas and AsyncAPI documents match what the code produces."""

from __future__ import annotations

from pulse_stack.schemas import default_schema_dir, render_schemas


def test_checked_in_schemas_are_current() -> None:
    out = default_schema_dir()
    generated = render_schemas()
    stale = sorted(
        rel
        for rel, text in generated.items()
        if not (out / rel).exists() or (out / rel).read_text() != text
    )
    extra = sorted(
        str(p.relative_to(out))
        for p in out.rglob("*.json")
        if str(p.relative_to(out)) not in generated
    )
    assert not stale, f"run `make schemas`; stale: {stale}"
    assert not extra, f"run `make schemas`; no longer generated: {extra}"


def test_every_service_documents_what_it_consumes_and_publishes() -> None:
    import json

    generated = render_schemas()
    expected = {
        "planner": {"pulse.runs.requested", "pulse.plans.created", "pulse.plans.rejected"},
        "executor": {
            "pulse.plans.created",
            "pulse.plans.rejected",
            "pulse.tasks.result",
            "pulse.timers.fired.>",
            "pulse.runs.control.cancel",
            "pulse.runs.control.restart",
        },
        "agent-adapter": {"pulse.tasks.dispatch.>", "pulse.tasks.result", "pulse.tasks.cancel.>"},
        "archiver": {"pulse.runs.events.>"},
        "gateway": {
            "pulse.runs.requested",
            "pulse.runs.control.cancel",
            "pulse.runs.control.restart",
        },
    }
    for service, subjects in expected.items():
        document = json.loads(generated[f"asyncapi/{service}.json"])
        addresses = {channel["address"] for channel in document["channels"].values()}
        assert subjects <= addresses, (service, addresses)
