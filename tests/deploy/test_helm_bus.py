"""The chart's picture of the bus matches the contracts, and the NATS users it derives from it
may do what their component does and nothing else.

values.yaml says per component what it publishes, subscribes to, consumes and stores
(`components.<name>.bus`); pulse_contracts.subjects and the generated AsyncAPI documents say
what the code does. A new subject, stream, bucket or consumer fails here until values.yaml
knows it, so that no NATS user is left without a permission it needs.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import pytest

from pulse_contracts import subjects
from tests.deploy.chart import (
    CHART,
    COMPONENTS,
    CREDENTIALS,
    RELEASE,
    ROOT,
    Manifest,
    container,
    containers,
    env_of,
    merged,
    of_kind,
)

Render = Callable[..., list[Manifest]]

PASSWORDS = {name: f"pw{index}" for index, name in enumerate([*COMPONENTS, "setup"])}
NATS_AUTH = merged(CREDENTIALS, {"natsAuth": {"enabled": True, "passwords": PASSWORDS}})


def covers(allowed: str, subject: str) -> bool:
    """Whether NATS subject pattern `allowed` includes every subject `subject` can match."""
    want = subject.split(".")
    have = allowed.split(".")
    for index, token in enumerate(have):
        if token == ">":
            return len(want) > index
        if index >= len(want):
            return False
        if token not in ("*", want[index]) or (token == "*" and want[index] == ">"):
            return False
    return len(want) == len(have)


def test_subject_matching() -> None:
    assert covers("pulse.tasks.dispatch.>", "pulse.tasks.dispatch.*")
    assert covers("pulse.*.result", "pulse.tasks.result")
    assert not covers("pulse.tasks.result", "pulse.tasks.>")
    assert not covers("pulse.tasks.*", "pulse.tasks.a.b")
    assert not covers("pulse.tasks.>", "pulse.tasks")


@pytest.fixture(scope="module")
def defaults(yaml: Any) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((CHART / "values.yaml").read_text())
    return loaded


def constants(prefix: str) -> set[str]:
    return {getattr(subjects, name) for name in subjects.__all__ if name.startswith(prefix)}


def test_streams_buckets_and_dead_letters_match_the_contracts(defaults: dict[str, Any]) -> None:
    bus = defaults["bus"]
    assert set(bus["streams"]) == set(subjects.STREAM_SUBJECTS)
    assert set(bus["kvBuckets"]) == constants("KV_")
    assert set(bus["objectStores"]) == constants("OBJ_")
    assert bus["dlqPrefix"] == subjects.DLQ_PREFIX
    assert bus["dlqStream"] == subjects.STREAM_DLQ


def test_every_durable_consumer_belongs_to_one_component(defaults: dict[str, Any]) -> None:
    owners: dict[str, list[str]] = {}
    for name, component in defaults["components"].items():
        for consumer in component["bus"]["consumers"]:
            owners.setdefault(consumer["durable"], []).append(name)
            assert consumer["stream"] in defaults["bus"]["streams"], consumer
    durables = {
        value
        for key, value in vars(subjects.Durable).items()
        if not key.startswith("_") and isinstance(value, str)
    }
    assert set(owners) == durables
    assert {durable: len(names) for durable, names in owners.items() if len(names) != 1} == {}


def asyncapi_operations(service: str) -> list[tuple[str, str]]:
    """(action, address) of every operation in a service's generated AsyncAPI document."""
    document = json.loads((ROOT / "contracts/schemas/asyncapi" / f"{service}.json").read_text())
    found: list[tuple[str, str]] = []
    for operation in document.get("operations", {}).values():
        pointer = unquote(operation["channel"]["$ref"]).removeprefix("#/channels/")
        channel = document["channels"][pointer.replace("~1", "/").replace("~0", "~")]
        address = ".".join(
            "*" if token.startswith("{") else token for token in channel["address"].split(".")
        )
        found.append((operation["action"], address))
    return found


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_every_asyncapi_operation_is_allowed(defaults: dict[str, Any], name: str) -> None:
    bus = defaults["components"][name]["bus"]
    consumed = [
        subject
        for consumer in bus["consumers"]
        for subject in subjects.STREAM_SUBJECTS[consumer["stream"]]
    ]
    for action, address in asyncapi_operations(name):
        if action == "send":
            assert any(covers(p, address) for p in bus["publish"]), f"{name} publishes {address}"
        else:
            sources = [*consumed, *bus["subscribe"]]
            assert any(covers(p, address) for p in sources), f"{name} receives {address}"


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_published_subjects_are_pulse_subjects(defaults: dict[str, Any], name: str) -> None:
    """Everything a component publishes is on a stream or a known core-NATS subject."""
    bus = defaults["components"][name]["bus"]
    known = [s for stream in subjects.STREAM_SUBJECTS.values() for s in stream]
    known += [subjects.TASKS_CANCEL_WILDCARD, subjects.LLM_REQUESTS]
    for subject in bus["publish"]:
        assert any(covers(k, subject) for k in known), f"{name}: {subject}"


@pytest.fixture(scope="module")
def secured(render: Render) -> list[Manifest]:
    return render(NATS_AUTH)


def auth_users(manifests: list[Manifest]) -> dict[str, dict[str, Any]]:
    secret = of_kind(manifests, "Secret")[f"{RELEASE}-nats-auth"]
    text: str = secret["stringData"]["auth.conf"]
    users = [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]
    return {user["user"]: user for user in users}


def allowed(user: dict[str, Any], direction: str) -> list[str]:
    permitted: list[str] = user["permissions"][direction]["allow"]
    return permitted


def test_one_nats_user_per_component_and_the_setup_job(secured: list[Manifest]) -> None:
    users = auth_users(secured)
    assert sorted(users) == sorted(f"pulse-{name}" for name in [*COMPONENTS, "setup"])
    for user in users.values():
        assert user["password"].startswith("$2a$"), "passwords are stored bcrypt-hashed"
        for subject in allowed(user, "publish") + allowed(user, "subscribe"):
            assert subject not in {">", "*", "$JS.API.>", "$JS.>", "pulse.>", "$KV.>"}
            assert not subject.startswith("$JS.API.STREAM.DELETE.")
            # Purges: see test_only_the_executor_purges_and_only_its_timers.
            if subject.startswith("$JS.API.CONSUMER.DELETE."):
                # Only the short-lived consumers of its own bucket watches and object reads.
                assert subject.startswith(
                    ("$JS.API.CONSUMER.DELETE.KV_", "$JS.API.CONSUMER.DELETE.OBJ_")
                ), subject


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_each_user_reaches_only_its_own_consumers_and_buckets(
    defaults: dict[str, Any], secured: list[Manifest], name: str
) -> None:
    users = auth_users(secured)
    publish = allowed(users[f"pulse-{name}"], "publish")
    mine = {(c["stream"], c["durable"]) for c in defaults["components"][name]["bus"]["consumers"]}
    everyone = {
        (c["stream"], c["durable"])
        for component in defaults["components"].values()
        for c in component["bus"]["consumers"]
    }
    for stream, durable in everyone:
        fetch = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}"
        ack = f"$JS.ACK.{stream}.{durable}.x"
        can = any(covers(p, fetch) for p in publish) and any(covers(p, ack) for p in publish)
        assert can == ((stream, durable) in mine), f"{name} on {stream}/{durable}"
        if (stream, durable) in mine:
            assert any(covers(p, subjects.dlq_subject(durable)) for p in publish)
    buckets = set(defaults["components"][name]["bus"]["kv"])
    for bucket in defaults["bus"]["kvBuckets"]:
        can = any(covers(p, f"$KV.{bucket}.key") for p in publish)
        assert can == (bucket in buckets), f"{name} on bucket {bucket}"
    others = {
        subject
        for other, component in defaults["components"].items()
        if other != name
        for subject in component["bus"]["publish"]
    } - set(defaults["components"][name]["bus"]["publish"])
    for subject in others:
        assert not any(covers(p, subject) for p in publish), f"{name} may publish {subject}"


def test_the_setup_user_manages_every_stream_and_bucket_and_nothing_else(
    defaults: dict[str, Any], secured: list[Manifest]
) -> None:
    publish = allowed(auth_users(secured)["pulse-setup"], "publish")
    streams = [*defaults["bus"]["streams"], *(f"KV_{b}" for b in defaults["bus"]["kvBuckets"])]
    for stream in streams:
        for verb in ("CREATE", "UPDATE", "INFO"):
            assert f"$JS.API.STREAM.{verb}.{stream}" in publish
    assert all(p.startswith("$JS.API.") for p in publish)


def test_services_lose_stream_admin_when_they_no_longer_provision(render: Render) -> None:
    values = merged(NATS_AUTH, {"natsAuth": {"servicesManageStreams": False}})
    manifests = render(values)
    for user, permissions in auth_users(manifests).items():
        if user == "pulse-setup":
            continue
        assert [p for p in allowed(permissions, "publish") if ".STREAM.CREATE." in p] == []
    # ...and the services are told not to try.
    for deployment in of_kind(manifests, "Deployment").values():
        assert env_of(container(deployment))["PULSE_PROVISION_STREAMS"]["value"] == "false"


def test_each_component_reads_its_own_nats_credentials(secured: list[Manifest]) -> None:
    secrets = of_kind(secured, "Secret")
    for name, deployment in of_kind(secured, "Deployment").items():
        component = name.removeprefix(f"{RELEASE}-")
        ref = env_of(container(deployment))["PULSE_NATS_URL"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": f"{RELEASE}-nats-{component}", "key": "url"}
        url = base64.b64decode(secrets[ref["name"]]["data"]["url"]).decode()
        assert url == f"nats://pulse-{component}:{PASSWORDS[component]}@nats:4222"
    job = of_kind(secured, "Job")[f"{RELEASE}-setup"]
    provision = next(c for c in containers(job) if c["name"] == "provision")
    ref = env_of(provision)["PULSE_NATS_URL"]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": f"{RELEASE}-setup", "key": "nats-url"}
    url = base64.b64decode(secrets[f"{RELEASE}-setup"]["data"]["nats-url"]).decode()
    assert url == f"nats://pulse-setup:{PASSWORDS['setup']}@nats:4222"


def test_every_server_of_a_cluster_url_gets_the_credentials(render: Render) -> None:
    values = merged(NATS_AUTH, {"externalNats": {"url": "nats://a:4222, tls://b:4223"}})
    secret = of_kind(render(values), "Secret")[f"{RELEASE}-nats-planner"]
    url = base64.b64decode(secret["data"]["url"]).decode()
    assert (
        url
        == f"nats://pulse-planner:{PASSWORDS['planner']}@a:4222,tls://pulse-planner:{PASSWORDS['planner']}@b:4223"
    )


def test_an_existing_secret_keeps_passwords_out_of_the_chart(render: Render) -> None:
    values = merged(CREDENTIALS, {"natsAuth": {"enabled": True, "existingSecret": "nats-urls"}})
    manifests = render(values)
    secrets = of_kind(manifests, "Secret")
    assert not [
        s for s in secrets if s.startswith(f"{RELEASE}-nats-") and s != f"{RELEASE}-nats-auth"
    ]
    config: str = secrets[f"{RELEASE}-nats-auth"]["stringData"]["auth.conf"]
    # The server reads each password from its environment.
    assert '"password":$PULSE_NATS_AGENT_ADAPTER_PASSWORD,' in config
    for name, deployment in of_kind(manifests, "Deployment").items():
        ref = env_of(container(deployment))["PULSE_NATS_URL"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": "nats-urls", "key": name.removeprefix(f"{RELEASE}-")}


def test_per_service_inboxes(render: Render) -> None:
    values = merged(NATS_AUTH, {"natsAuth": {"inbox": {"perService": True}}})
    manifests = render(values)
    users = auth_users(manifests)
    assert "_INBOX.executor.>" in allowed(users["pulse-executor"], "subscribe")
    assert "_INBOX.>" not in allowed(users["pulse-executor"], "subscribe")
    executor = of_kind(manifests, "Deployment")[f"{RELEASE}-executor"]
    assert env_of(container(executor))["PULSE_NATS_INBOX_PREFIX"]["value"] == "_INBOX.executor"


def test_only_the_executor_purges_and_only_its_timers(secured: list[Manifest]) -> None:
    purges = {
        user: [p for p in allowed(permissions, "publish") if ".STREAM.PURGE." in p]
        for user, permissions in auth_users(secured).items()
    }
    assert purges.pop("pulse-executor") == ["$JS.API.STREAM.PURGE.PULSE_TIMERS"]
    assert all(granted == [] for granted in purges.values()), purges
