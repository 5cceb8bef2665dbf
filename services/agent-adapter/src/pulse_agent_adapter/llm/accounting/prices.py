"""What a call costs: USD per 1 000 prompt and completion tokens, per model.

The built-in table holds list prices of common models (as published by their vendors in
2025); `PULSE_PRICES_FILE` (YAML, `models: {<model>: {prompt_per_1k_usd, completion_per_1k_usd}}`)
and an agent profile's own `prices` override it. A model is found by `provider/model`,
then `model`, then the longest known prefix of its name, so dated snapshots
(`gpt-4o-mini-2024-07-18`) find their family. An unknown model costs 0 (and is logged once).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import yaml
from pydantic import BaseModel, ConfigDict, Field

from pulse_contracts import Usage

__all__ = ["DEFAULT_PRICES", "ModelPrice", "PriceTable", "load_prices"]

log = logging.getLogger("pulse.agent_adapter")


class ModelPrice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt_per_1k_usd: float = Field(default=0.0, ge=0)
    completion_per_1k_usd: float = Field(default=0.0, ge=0)

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return round(
            prompt_tokens * self.prompt_per_1k_usd / 1000
            + completion_tokens * self.completion_per_1k_usd / 1000,
            10,
        )


def _p(prompt_per_1m: float, completion_per_1m: float) -> ModelPrice:
    return ModelPrice(
        prompt_per_1k_usd=prompt_per_1m / 1000, completion_per_1k_usd=completion_per_1m / 1000
    )


DEFAULT_PRICES: Final[Mapping[str, ModelPrice]] = {
    "offline-1": ModelPrice(),
    "gpt-4o-mini": _p(0.15, 0.60),
    "gpt-4o": _p(2.50, 10.00),
    "gpt-4.1-nano": _p(0.10, 0.40),
    "gpt-4.1-mini": _p(0.40, 1.60),
    "gpt-4.1": _p(2.00, 8.00),
    "gpt-4-turbo": _p(10.00, 30.00),
    "gpt-3.5-turbo": _p(0.50, 1.50),
    "o3-mini": _p(1.10, 4.40),
    "o4-mini": _p(1.10, 4.40),
    "claude-3-haiku": _p(0.25, 1.25),
    "claude-3-5-haiku": _p(0.80, 4.00),
    "claude-3-5-sonnet": _p(3.00, 15.00),
    "claude-3-7-sonnet": _p(3.00, 15.00),
    "claude-sonnet-4": _p(3.00, 15.00),
    "claude-opus-4": _p(15.00, 75.00),
}


class PriceTable:
    def __init__(self, prices: Mapping[str, ModelPrice] = DEFAULT_PRICES) -> None:
        self._prices = dict(prices)
        self._unknown: set[str] = set()

    def with_overrides(self, overrides: Mapping[str, ModelPrice]) -> PriceTable:
        return PriceTable({**self._prices, **overrides})

    def price(self, provider: str, model: str) -> ModelPrice:
        for name in (f"{provider}/{model}", model):
            if name in self._prices:
                return self._prices[name]
        prefixes = [name for name in self._prices if model.startswith(name)]
        if prefixes:
            return self._prices[max(prefixes, key=len)]
        if model not in self._unknown:
            self._unknown.add(model)
            log.warning("no price known for model %r of %s; its calls cost 0", model, provider)
        return ModelPrice()

    def cost(self, provider: str, model: str, usage: Usage) -> float:
        return self.price(provider, model).cost(usage.prompt_tokens, usage.completion_tokens)


def load_prices(path: Path | None) -> dict[str, ModelPrice]:
    """The `models` of a prices file (an empty dict when there is none)."""
    if path is None:
        return {}
    loaded: Any = yaml.safe_load(path.read_text()) or {}
    if not isinstance(loaded, dict):
        raise ValueError(f"{path}: expected a mapping with `models`")
    models = loaded.get("models", loaded)
    if not isinstance(models, dict):
        raise ValueError(f"{path}: `models` must map model names to prices")
    return {str(name): ModelPrice.model_validate(price) for name, price in models.items()}
