"""The planner's logic as plain typed code: no broker, network or database in here."""

from pulse_planner.domain.arithmetic import check_expression
from pulse_planner.domain.outcomes import PlanOutcome, plan_message_id, plan_run
from pulse_planner.domain.planner import DEFAULT_AGENT, MAX_STEPS, Planner, RuleBasedPlanner
from pulse_planner.domain.references import reference, substitute_results
from pulse_planner.domain.rules import HELP, RULES, Rule, RuleMatch, StepDraft, match_rule
from pulse_planner.domain.text import Fragment, Separator, protected_mask, split_fragments
from pulse_planner.domain.tools import KNOWN_TOOLS, ToolCatalogue, ToolSpec

__all__ = [
    "DEFAULT_AGENT",
    "HELP",
    "KNOWN_TOOLS",
    "MAX_STEPS",
    "RULES",
    "Fragment",
    "PlanOutcome",
    "Planner",
    "Rule",
    "RuleBasedPlanner",
    "RuleMatch",
    "Separator",
    "StepDraft",
    "ToolCatalogue",
    "ToolSpec",
    "check_expression",
    "match_rule",
    "plan_message_id",
    "plan_run",
    "protected_mask",
    "reference",
    "split_fragments",
    "substitute_results",
]
