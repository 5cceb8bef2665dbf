"""The token-limit guard: make a request fit its model's context window before sending it.

The prompt may use `context_window - max_tokens` tokens. When it needs more:

- `truncate` (default): drop the oldest conversation turns (never the system prompt or
  the last user message), then cut the middle out of the last user message — its
  beginning (usually the instructions) and its end (usually the question) stay. Warnings:
  `history_truncated`, `prompt_truncated`.
- `split`: cut the last user message into consecutive parts that each fit and send one
  request per part (the caller joins the answers). Warning: `prompt_split`.
- `off`: send as is and let the provider refuse it.

A `max_tokens` that leaves no room for any prompt is lowered first (`max_tokens_reduced`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final, Literal

from pulse_agent_adapter.domain.llm import ChatRequest
from pulse_agent_adapter.llm.accounting.tokens import TokenCounter
from pulse_contracts import ChatMessage

__all__ = ["GuardMode", "GuardResult", "PromptTooLarge", "fit_request"]

GuardMode = Literal["truncate", "split", "off"]

_ELLIPSIS: Final = "\n[…]\n"
_MIN_PROMPT_SHARE: Final = 0.25
"""max_tokens may take at most 3/4 of the window, leaving the prompt at least a quarter."""
_MAX_PARTS: Final = 64


class PromptTooLarge(ValueError):
    """Even the system prompt and a minimal question cannot fit the window."""


@dataclass(frozen=True)
class GuardResult:
    requests: tuple[ChatRequest, ...]
    prompt_tokens: int
    """Counted tokens of the largest request's prompt."""
    warnings: tuple[str, ...] = ()


def _last_user_index(messages: tuple[ChatMessage, ...]) -> int:
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].role == "user":
            return i
    return len(messages) - 1


def _middle_out(text: str, tokens: int, counter: TokenCounter) -> str:
    """`text` within `tokens`, keeping two thirds from its start and a third from its end."""
    room = tokens - counter.count(_ELLIPSIS)
    if room <= 0:
        return counter.truncate(text, tokens, keep="start")
    head = counter.truncate(text, room * 2 // 3, keep="start")
    tail = counter.truncate(text, room - counter.count(head), keep="end")
    candidate = head + _ELLIPSIS + tail
    while counter.count(candidate) > tokens and (head or tail):  # BPE merges at the seams
        if tail:
            tail = tail[max(1, len(tail) // 10) :]
        else:
            head = head[: len(head) - max(1, len(head) // 10)]
        candidate = head + _ELLIPSIS + tail
    return candidate


def _split(text: str, tokens: int, counter: TokenCounter) -> list[str]:
    parts: list[str] = []
    rest = text
    while rest and len(parts) < _MAX_PARTS:
        part = counter.truncate(rest, tokens, keep="start")
        if not part:
            break
        parts.append(part)
        rest = rest[len(part) :]
    if rest:
        raise PromptTooLarge(f"the prompt would need more than {_MAX_PARTS} parts")
    return parts


def fit_request(
    request: ChatRequest, *, context_window: int, counter: TokenCounter, mode: GuardMode
) -> GuardResult:
    warnings: list[str] = []
    max_tokens = request.max_tokens
    ceiling = int(context_window * (1 - _MIN_PROMPT_SHARE))
    if max_tokens > ceiling:
        max_tokens = max(1, ceiling)
        warnings.append("max_tokens_reduced")
        request = replace(request, max_tokens=max_tokens)
    limit = context_window - max_tokens
    prompt_tokens = counter.count_messages(request.messages)
    if prompt_tokens <= limit or mode == "off":
        return GuardResult((request,), prompt_tokens, tuple(warnings))

    messages = list(request.messages)
    keep = _last_user_index(request.messages)
    # Oldest turns first, never the system prompt or the last user message.
    droppable = [i for i, m in enumerate(messages) if m.role != "system" and i != keep]
    dropped: set[int] = set()
    if mode == "truncate":
        for index in droppable:
            if (
                counter.count_messages([m for i, m in enumerate(messages) if i not in dropped])
                <= limit
            ):
                break
            dropped.add(index)
        if dropped:
            warnings.append("history_truncated")
    kept = [m for i, m in enumerate(messages) if i not in dropped]
    last = next(i for i, m in enumerate(kept) if m is messages[keep])
    others = counter.count_messages([m for i, m in enumerate(kept) if i != last])
    room = limit - others - 3  # the last message's own overhead
    if room <= 0:
        raise PromptTooLarge(
            f"the system prompt and history need {others} tokens; the model allows {limit}"
        )
    text = kept[last].content
    if counter.count(text) <= room:
        fitted = request.with_messages(tuple(kept))
        return GuardResult((fitted,), counter.count_messages(kept), tuple(warnings))
    if mode == "split":
        requests = []
        for part in _split(text, room, counter):
            parts = [
                *kept[:last],
                ChatMessage(role=kept[last].role, content=part),
                *kept[last + 1 :],
            ]
            requests.append(request.with_messages(tuple(parts)))
        largest = max(counter.count_messages(r.messages) for r in requests)
        return GuardResult(tuple(requests), largest, (*warnings, "prompt_split"))
    kept[last] = ChatMessage(role=kept[last].role, content=_middle_out(text, room, counter))
    return GuardResult(
        (request.with_messages(tuple(kept)),),
        counter.count_messages(kept),
        (*warnings, "prompt_truncated"),
    )
