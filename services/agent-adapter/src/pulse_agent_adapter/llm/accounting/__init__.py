"""Tokens and money: counting (`tokens`), the context guard (`guard`), prices, per-tenant
budgets (reserve, then settle) and the usage roll-up."""

from pulse_agent_adapter.llm.accounting.budgets import (
    BudgetAccount,
    BudgetLedger,
    BudgetPeriod,
    BudgetPolicy,
    Reservation,
    period_key,
)
from pulse_agent_adapter.llm.accounting.guard import (
    GuardMode,
    GuardResult,
    PromptTooLarge,
    fit_request,
)
from pulse_agent_adapter.llm.accounting.kv_budgets import (
    BudgetContendedError,
    InMemoryBudgetLedger,
    NatsKvBudgetLedger,
)
from pulse_agent_adapter.llm.accounting.kv_usage import UsageLedger
from pulse_agent_adapter.llm.accounting.prices import (
    DEFAULT_PRICES,
    ModelPrice,
    PriceTable,
    load_prices,
)
from pulse_agent_adapter.llm.accounting.tokens import (
    EstimateCounter,
    TiktokenCounter,
    TokenCounter,
    counter_for,
    estimate_tokens,
    is_openai_model,
)
from pulse_agent_adapter.llm.accounting.usage import UsageDoc, UsageRecord, UsageRollup

__all__ = [
    "DEFAULT_PRICES",
    "BudgetAccount",
    "BudgetContendedError",
    "BudgetLedger",
    "BudgetPeriod",
    "BudgetPolicy",
    "EstimateCounter",
    "GuardMode",
    "GuardResult",
    "InMemoryBudgetLedger",
    "ModelPrice",
    "NatsKvBudgetLedger",
    "PriceTable",
    "PromptTooLarge",
    "Reservation",
    "TiktokenCounter",
    "TokenCounter",
    "UsageDoc",
    "UsageLedger",
    "UsageRecord",
    "UsageRollup",
    "counter_for",
    "estimate_tokens",
    "fit_request",
    "is_openai_model",
    "load_prices",
    "period_key",
]
