from __future__ import annotations

import time

from pulse_agent_adapter.adapters import OfflineProvider, estimate_tokens
from pulse_contracts import ChatMessage


def _number(text: str) -> int:
    return int(text.split("topic and ")[1].split()[0].strip(".,:"))


def user(text: str) -> list[ChatMessage]:
    return [ChatMessage(role="user", content=text)]


async def test_same_prompt_same_completion() -> None:
    provider = OfflineProvider()
    first = await provider.complete(
        user("Write a haiku about distributed queues"), "offline-1", 256
    )
    second = await OfflineProvider().complete(
        user("Write a haiku about distributed queues"), "offline-1", 256
    )
    assert first == second
    assert first.provider == "offline"
    assert first.model == "offline-1"


async def test_text_names_the_prompts_key_words() -> None:
    done = await OfflineProvider().complete(
        user("Write a haiku about distributed queues"), "offline-1", 256
    )
    assert "haiku, distributed and queues" in done.text
    assert "Write" not in done.text  # too common to be a key word


async def test_prompts_vary_the_wording() -> None:
    texts = {
        (await OfflineProvider().complete(user(f"topic {i}"), "offline-1", 256)).text
        for i in range(12)
    }
    assert len(texts) == 12
    assert all(f"topic and {i}" in t for i, t in enumerate(sorted(texts, key=_number)))
    templates = {t.split("topic")[0] for t in texts}
    assert len(templates) > 1


async def test_a_prompt_without_key_words_still_gets_an_answer() -> None:
    done = await OfflineProvider().complete(user("? !"), "offline-1", 256)
    assert "your prompt" in done.text


async def test_usage_is_estimated_at_four_characters_a_token() -> None:
    messages = [
        ChatMessage(role="system", content="You are terse."),  # 14 chars -> 4
        ChatMessage(role="user", content="Explain JetStream."),  # 18 chars -> 5
    ]
    done = await OfflineProvider().complete(messages, "offline-1", 256)
    assert done.usage.prompt_tokens == 9
    assert done.usage.completion_tokens == estimate_tokens(done.text)
    assert done.usage.cost_usd == 0
    assert "jetstream" in done.text  # answers the last user message


async def test_max_tokens_truncates() -> None:
    done = await OfflineProvider().complete(user("Explain JetStream consumers"), "offline-1", 2)
    assert len(done.text) == 8
    assert done.usage.completion_tokens == 2


def test_estimate_tokens() -> None:
    assert [estimate_tokens("x" * n) for n in (0, 1, 4, 5, 8)] == [0, 1, 1, 2, 2]


async def test_simulated_latency_delays_the_answer_but_not_its_text() -> None:
    prompt = [ChatMessage(role="user", content="write a haiku about queues")]
    fast = await OfflineProvider().complete(prompt, "offline-1", 64)
    started = time.monotonic()
    slow = await OfflineProvider(latency_s=0.2).complete(prompt, "offline-1", 64)
    assert time.monotonic() - started >= 0.2
    assert slow == fast
