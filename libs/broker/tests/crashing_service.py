"""A service whose handler kills its process on a poison message (run as a script by a test).

    python crashing_service.py NATS_URL HTTP_PORT

It is built like every Pulse service (`build_broker` + `service_app` + `serve`), consumes
`pulse.tasks.dispatch.crashy` and exits at once with status 17 on the body `poison`.
"""

from __future__ import annotations

import os
import sys
from typing import ClassVar

from faststream.nats import NatsMessage

from pulse_broker import build_broker, durable_pull, provision_all, serve, service_app
from pulse_contracts import subjects
from pulse_settings import ServiceSettings
from pulse_telemetry import setup_telemetry

DURABLE = "crashy"
SUBJECT = subjects.dispatch_subject("crashy")
CRASH_STATUS = 17


class CrashySettings(ServiceSettings):
    service_name: ClassVar[str] = "crashy"


def main() -> None:
    settings = CrashySettings(
        nats_url=sys.argv[1],
        http_port=int(sys.argv[2]),
        log_format="text",
        max_deliver=1,
        ack_wait_s=1.0,
    )
    telemetry = setup_telemetry(settings)
    broker = build_broker(settings, telemetry)

    @broker.subscriber(
        **durable_pull(settings, stream=subjects.STREAM_TASKS, durable=DURABLE, subject=SUBJECT)
    )
    async def on_task(msg: NatsMessage) -> None:
        if msg.body == b"poison":
            os._exit(CRASH_STATUS)  # no exception, no ack, no nack: the process is just gone

    async def provision() -> None:
        await provision_all(broker, settings)

    serve(service_app(broker, telemetry, on_startup=[provision]), settings)


if __name__ == "__main__":
    main()
