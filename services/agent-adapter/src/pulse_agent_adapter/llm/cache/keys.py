"""Cache keys: a hash of the normalised request, so equal requests share one entry.

Normalised: message text in Unicode NFC with `\\r\\n` as `\\n` and surrounding whitespace
trimmed; sampling parameters rounded; the tenant, provider and model included, so an
entry is never served across tenants or models. The semantic cache's scope is the same
key without the last user message: only that message may differ between a request and
the cached one it is matched to.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from typing import Any, Final

from pulse_agent_adapter.domain.llm import ChatRequest

__all__ = ["KEY_VERSION", "cache_key", "normalise_text", "semantic_scope"]

KEY_VERSION: Final = 1


def normalise_text(text: str) -> str:
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n")).strip()


def _document(tenant: str, provider: str, request: ChatRequest) -> dict[str, Any]:
    return {
        "v": KEY_VERSION,
        "tenant": tenant,
        "provider": provider,
        "model": request.model,
        "messages": [[m.role, normalise_text(m.content)] for m in request.messages],
        "max_tokens": request.max_tokens,
        "temperature": round(request.temperature, 4),
        "top_p": None if request.top_p is None else round(request.top_p, 4),
        "stop": list(request.stop),
        "json": request.json_mode,
    }


def _digest(document: dict[str, Any]) -> str:
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def cache_key(tenant: str, provider: str, request: ChatRequest) -> str:
    return _digest(_document(tenant, provider, request))


def semantic_scope(tenant: str, provider: str, request: ChatRequest) -> str:
    document = _document(tenant, provider, request)
    messages = document["messages"]
    last_user = max((i for i, (role, _) in enumerate(messages) if role == "user"), default=None)
    if last_user is not None:
        messages[last_user] = ["user", "*"]
    return _digest(document)
