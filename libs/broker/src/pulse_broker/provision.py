"""Streams, key-value buckets and object stores, created or updated idempotently at every start.

Every service provisions what it uses, so any start order works and a wiped NATS heals on
the next start. Subjects come from `pulse_contracts.subjects`.
"""

from __future__ import annotations

import logging

from nats.js import JetStreamContext
from nats.js.api import (
    DiscardPolicy,
    KeyValueConfig,
    ObjectStoreConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import BadRequestError, BucketNotFoundError, NotFoundError
from nats.js.kv import KeyValue
from nats.js.object_store import ObjectStore

from pulse_contracts import subjects
from pulse_settings import ServiceSettings

__all__ = [
    "KV_BUCKETS",
    "KV_MAX_AGE_S",
    "OBJECT_STORES",
    "ensure_kv",
    "ensure_object_store",
    "ensure_streams",
    "stream_configs",
]

log = logging.getLogger(__name__)

KV_BUCKETS: dict[str, str] = {
    subjects.KV_RUN_STATE: "Live state of every run, written by the executor with compare-and-set",
    subjects.KV_TODOS: "Todo lists per tenant, written by the todo tools",
    subjects.KV_COUNTERS: "Counters per tenant and key with the effects they counted",
    subjects.KV_TOOLS: "The tool catalogue: one ToolSpec per tool, published by the agent-adapter",
    subjects.KV_LLM_CACHE: "LLM completions shared by agent-adapter replicas (entries expire)",
    subjects.KV_LLM_BUDGETS: "LLM spend and open reservations per tenant and budget period",
    subjects.KV_LLM_USAGE: "LLM usage rolled up per tenant, agent and run",
    subjects.KV_RATE_LIMITS: "Request allowance per API key, shared by the gateway replicas",
    subjects.KV_PLAN_CACHE: "LLM plans cached by the planner per tenant and tool catalogue",
}

KV_MAX_AGE_S: dict[str, float] = {
    subjects.KV_LLM_CACHE: 24 * 3600.0,
}
"""Buckets whose entries expire, whoever creates them: a cache must not grow without bound."""

OBJECT_STORES: dict[str, str] = {
    subjects.OBJ_OUTPUTS: "Step outputs and inputs too large for a message (BlobRef)",
}


def stream_configs(settings: ServiceSettings) -> list[StreamConfig]:
    def stream(
        name: str,
        description: str,
        retention: RetentionPolicy,
        max_age: float | None,
        *,
        schedules: bool = False,
    ) -> StreamConfig:
        return StreamConfig(
            name=name,
            description=description,
            subjects=list(subjects.STREAM_SUBJECTS[name]),
            retention=retention,
            max_age=max_age,
            duplicate_window=settings.duplicate_window_s,
            discard=DiscardPolicy.OLD,
            storage=StorageType.FILE,
            num_replicas=settings.stream_replicas,
            # Message schedules (nats-server >= 2.12); None leaves the field out entirely.
            allow_msg_schedules=True if schedules else None,
        )

    return [
        stream(
            subjects.STREAM_RUNS,
            "Run requests and plans",
            RetentionPolicy.LIMITS,
            settings.events_max_age_s,
        ),
        stream(
            subjects.STREAM_TASKS,
            "Steps dispatched to agents and their results",
            RetentionPolicy.WORK_QUEUE,
            None,
        ),
        stream(
            subjects.STREAM_EVENTS,
            "Every run event, kept for replay and archiving",
            RetentionPolicy.LIMITS,
            settings.events_max_age_s,
        ),
        stream(
            subjects.STREAM_DLQ,
            "Messages a consumer gave up on, with the reason",
            RetentionPolicy.LIMITS,
            30 * 24 * 3600,
        ),
        stream(
            subjects.STREAM_TIMERS,
            "The executor's timers (step timeouts, retries, run deadlines), fired when due",
            # Work queue: a fired timer is gone once handled; a pending schedule must never
            # age out, so there is no max_age.
            RetentionPolicy.WORK_QUEUE,
            None,
            schedules=True,
        ),
    ]


async def ensure_streams(js: JetStreamContext, settings: ServiceSettings) -> None:
    for config in stream_configs(settings):
        try:
            await js.add_stream(config)
        except BadRequestError as exc:
            # Already there with another configuration: converge on ours.
            log.info("updating stream %s: %s", config.name, exc.description)
            await js.update_stream(config)


async def ensure_kv(js: JetStreamContext, bucket: str, settings: ServiceSettings) -> KeyValue:
    try:
        return await js.key_value(bucket)
    except (BucketNotFoundError, NotFoundError):
        pass
    try:
        return await js.create_key_value(
            KeyValueConfig(
                bucket=bucket,
                description=KV_BUCKETS.get(bucket, ""),
                history=1,
                ttl=KV_MAX_AGE_S.get(bucket),
                storage=StorageType.FILE,
                replicas=settings.stream_replicas,
            )
        )
    except BadRequestError:
        # Another replica created it a moment ago.
        return await js.key_value(bucket)


async def ensure_object_store(
    js: JetStreamContext, bucket: str, settings: ServiceSettings
) -> ObjectStore:
    """The object store `bucket`, created if missing.

    Objects live as long as run events (`events_max_age_s`): the archiver copies them into
    PostgreSQL well before, and a run older than that can no longer be restarted anyway.
    """
    try:
        return await js.object_store(bucket)
    except (BucketNotFoundError, NotFoundError):
        pass
    try:
        return await js.create_object_store(
            bucket,
            ObjectStoreConfig(
                description=OBJECT_STORES.get(bucket, ""),
                ttl=settings.events_max_age_s,
                storage=StorageType.FILE,
                replicas=settings.stream_replicas,
            ),
        )
    except BadRequestError:
        # Another replica created it a moment ago.
        return await js.object_store(bucket)
