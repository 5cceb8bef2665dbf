"""The one way a Pulse service builds its NatsBroker."""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any

from faststream import AckPolicy
from faststream.nats import ConsumerConfig, JStream, NatsBroker, PullSub
from faststream.nats.opentelemetry import NatsTelemetryMiddleware
from faststream.nats.prometheus import NatsPrometheusMiddleware
from nats.js.api import AckPolicy as JsAckPolicy

from pulse_broker.backlog import backlog_per_consumer, consumer_backlog
from pulse_broker.baggage import BaggageMiddleware
from pulse_broker.dead_letter import DeadLetterPolicy, dead_letter_middleware
from pulse_broker.dlq_metrics import dead_letter_metrics, letters_per_consumer
from pulse_broker.exhausted import ExhaustedDeliveries, durable_consumers
from pulse_broker.nats_sync import server_caught_up
from pulse_settings import ServiceSettings
from pulse_telemetry import Telemetry

__all__ = ["PulseBroker", "build_broker", "durable_pull"]


class PulseBroker(NatsBroker):
    """A NatsBroker that starts listening for max-deliveries advisories before its consumers,
    and whose `start()` returns only once nats-server has every subscription it made: a
    replica that says it is ready answers requests at once."""

    exhausted: ExhaustedDeliveries | None = None

    async def start(self) -> None:
        await self.connect()
        if self.exhausted is not None:
            await self.exhausted.start(self.connection)
        await super().start()
        await server_caught_up(self.connection)

    async def stop(
        self,
        exc_type: type[BaseException] | None = None,
        exc_val: BaseException | None = None,
        exc_tb: TracebackType | None = None,
    ) -> None:
        if self.exhausted is not None:
            await self.exhausted.stop()
        await super().stop(exc_type, exc_val, exc_tb)


def build_broker(settings: ServiceSettings, telemetry: Telemetry) -> NatsBroker:
    """A broker that traces every hop, counts every message and dead-letters poison.

    Middleware order matters: tracing is outermost so the dead-letter publish and the
    handler's own publishes happen inside the consume span. The broker also dead-letters
    what JetStream gave up redelivering (`pulse_broker.exhausted`) and feeds the
    dead-letter metrics (`pulse_broker.dlq_metrics`) and the backlog of each of its durable
    consumers (`pulse_broker.backlog`) on `telemetry.registry`.
    """
    policy = DeadLetterPolicy(settings.max_deliver, settings.redelivery_backoff_s)
    metrics = dead_letter_metrics(telemetry.registry)
    broker = PulseBroker(
        servers=[s.strip() for s in settings.nats_url.split(",") if s.strip()],
        inbox_prefix=settings.nats_inbox_prefix,
        name=settings.service_name,
        middlewares=(
            NatsTelemetryMiddleware(tracer_provider=telemetry.tracer_provider),
            BaggageMiddleware,  # the run id and tenant the publisher sent, for logs and hops
            NatsPrometheusMiddleware(registry=telemetry.registry, app_name=settings.service_name),
            dead_letter_middleware(policy, metrics),
        ),
        logger=logging.getLogger(f"pulse.{settings.service_name}.broker"),
        # FastStream's "Received" / "Processed" per message: two log lines per hop cost
        # more CPU than a cheap handler; they stay available with PULSE_LOG_LEVEL=DEBUG.
        # Handler failures are still logged at ERROR, and every service logs its own line.
        log_level=logging.DEBUG,
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        graceful_timeout=15.0,
    )
    broker.exhausted = ExhaustedDeliveries(broker, metrics)
    metrics.depth.bind(
        letters_per_consumer(broker),
        lambda: (durable for _, durable in durable_consumers(broker)),
    )
    consumer_backlog(telemetry.registry).bind(backlog_per_consumer(broker))
    return broker


def durable_pull(
    settings: ServiceSettings, *, stream: str, durable: str, subject: str
) -> dict[str, Any]:
    """Keyword arguments for `broker.subscriber(...)`: a durable pull consumer.

    Replicas that subscribe with the same `durable` share the messages. Streams are
    provisioned by `pulse_broker.provision`, so FastStream must not declare them.
    """
    return {
        "subject": subject,
        "stream": JStream(stream, declare=False),
        "durable": durable,
        # A pull request outlives the process that made it. Expiring it before a message
        # can be redelivered means JetStream only ever gives up on a message in answer to a
        # live replica, which listens for the max-deliveries advisory (`exhausted.py`).
        "pull_sub": PullSub(
            batch_size=settings.pull_batch_size, timeout=min(5.0, settings.ack_wait_s / 2)
        ),
        "config": ConsumerConfig(
            durable_name=durable,
            ack_policy=JsAckPolicy.EXPLICIT,
            # The dead-letter middleware decides when to give up; the server-side limit
            # is a backstop one delivery later.
            max_deliver=settings.max_deliver + 1,
            ack_wait=settings.ack_wait_s,
            filter_subject=subject,
        ),
        "ack_policy": AckPolicy.NACK_ON_ERROR,
        "max_workers": settings.max_workers,
    }
