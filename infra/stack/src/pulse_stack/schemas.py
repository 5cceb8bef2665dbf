"""Generate the checked-in contract documents: a JSON Schema per message, AsyncAPI per service.

`pulse-stack schemas` writes them into contracts/schemas/; `--check` (and a test) fail
when the files on disk differ from what the code produces, so the documents never go stale.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

import pulse_contracts
from pulse_contracts.catalog import DOCUMENTS, MESSAGES
from pulse_contracts.events import RUN_EVENT_ADAPTER
from pulse_stack.launcher import SERVICES

__all__ = ["default_schema_dir", "render_schemas", "write_schemas"]


def default_schema_dir() -> Path:
    # contracts/src/pulse_contracts/__init__.py -> contracts/schemas
    return Path(pulse_contracts.__file__).resolve().parents[2] / "schemas"


def _dump(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _service_asyncapi(name: str, module: str) -> str:
    from faststream import AsyncAPI

    app_module = importlib.import_module(f"{module}.app")
    config_module = importlib.import_module(f"{module}.config")
    settings_cls = next(
        obj
        for obj in vars(config_module).values()
        if isinstance(obj, type) and getattr(obj, "service_name", None) == name
    )
    app = app_module.create_app(settings_cls())
    # FastStream apps carry their broker; the gateway (FastAPI) keeps it in its state.
    broker = app.broker if hasattr(app, "broker") else app.state.broker
    spec = AsyncAPI(
        broker,
        title=f"pulse-{name}",
        version=pulse_contracts.__version__,
        description=(app_module.__doc__ or "").strip() or None,
    )
    return _dump(json.loads(spec.to_specification().to_json()))


def render_schemas() -> dict[str, str]:
    """Relative path -> file content of every generated document."""
    files: dict[str, str] = {}
    for model, subject in {**MESSAGES, **DOCUMENTS}.items():
        schema = model.model_json_schema(mode="serialization")
        schema["x-pulse-subject"] = subject
        files[f"json/{model.__name__}.json"] = _dump(schema)
    events = RUN_EVENT_ADAPTER.json_schema(mode="serialization")
    events["x-pulse-subject"] = "pulse.runs.events.<run_id>"
    files["json/RunEvent.json"] = _dump(events)
    for spec in SERVICES:
        files[f"asyncapi/{spec.name}.json"] = _service_asyncapi(spec.name, spec.module)
    return files


def write_schemas(out: Path | None = None, *, check: bool = False) -> int:
    out = out or default_schema_dir()
    files = render_schemas()
    stale = [
        rel
        for rel, text in files.items()
        if not (out / rel).exists() or (out / rel).read_text() != text
    ]
    extra = (
        [
            str(p.relative_to(out))
            for p in out.rglob("*.json")
            if str(p.relative_to(out)) not in files
        ]
        if out.exists()
        else []
    )
    if check:
        if stale or extra:
            print(
                "contracts/schemas is stale; run `make schemas`:",
                *stale,
                *(f"{e} (no longer generated)" for e in extra),
                sep="\n  ",
                file=sys.stderr,
            )
            return 1
        print(f"contracts/schemas is up to date ({len(files)} documents)")
        return 0
    for rel in extra:
        (out / rel).unlink()
    for rel, text in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    print(f"wrote {len(files)} documents to {out} ({len(stale)} changed)")
    return 0
