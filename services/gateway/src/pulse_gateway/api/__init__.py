"""The HTTP surface: request/response models, problems, auth, middleware and probes."""

from pulse_gateway.api.models import (
    CreateRun,
    ErrorView,
    FieldProblem,
    PlanStepView,
    PlanView,
    Problem,
    RunCreated,
    RunLinks,
    RunView,
    StepView,
    UsageView,
)

__all__ = [
    "CreateRun",
    "ErrorView",
    "FieldProblem",
    "PlanStepView",
    "PlanView",
    "Problem",
    "RunCreated",
    "RunLinks",
    "RunView",
    "StepView",
    "UsageView",
]
