"""The planner's logic as plain typed code: no broker, network or database in here."""

from pulse_planner.domain.arithmetic import check_expression
from pulse_planner.domain.caching import (
    CachedPlan,
    cosine_similarity,
    exact_key,
    literal_signature,
    normalise_goal,
    scope_prefix,
)
from pulse_planner.domain.catalogue import SchemaCatalogue, builtin_catalogue
from pulse_planner.domain.complexity import Complexity, ComplexityAssessment, assess_complexity
from pulse_planner.domain.errors import InvalidPlan, LlmPaused, LlmUnavailable
from pulse_planner.domain.outcomes import PlanOutcome, plan_message_id, plan_run
from pulse_planner.domain.parsing import extract_json, extract_plan_document
from pulse_planner.domain.planner import DEFAULT_AGENT, MAX_STEPS, Planner, RuleBasedPlanner
from pulse_planner.domain.prompts import (
    CataloguePart,
    FeedbackPart,
    GoalPart,
    InstructionsPart,
    PlanPart,
    PromptPart,
    assemble,
    judge_prompt,
    planning_prompt,
    repair_prompt,
    replan_prompt,
)
from pulse_planner.domain.references import reference, substitute_results
from pulse_planner.domain.rules import HELP, RULES, Rule, RuleMatch, StepDraft, match_rule
from pulse_planner.domain.text import Fragment, Separator, protected_mask, split_fragments
from pulse_planner.domain.tools import KNOWN_TOOLS, ToolCatalogue, ToolSpec
from pulse_planner.domain.validation import plan_errors, validate_plan

__all__ = [
    "DEFAULT_AGENT",
    "HELP",
    "KNOWN_TOOLS",
    "MAX_STEPS",
    "RULES",
    "CachedPlan",
    "CataloguePart",
    "Complexity",
    "ComplexityAssessment",
    "FeedbackPart",
    "Fragment",
    "GoalPart",
    "InstructionsPart",
    "InvalidPlan",
    "LlmPaused",
    "LlmUnavailable",
    "PlanOutcome",
    "PlanPart",
    "Planner",
    "PromptPart",
    "Rule",
    "RuleBasedPlanner",
    "RuleMatch",
    "SchemaCatalogue",
    "Separator",
    "StepDraft",
    "ToolCatalogue",
    "ToolSpec",
    "assemble",
    "assess_complexity",
    "builtin_catalogue",
    "check_expression",
    "cosine_similarity",
    "exact_key",
    "extract_json",
    "extract_plan_document",
    "judge_prompt",
    "literal_signature",
    "match_rule",
    "normalise_goal",
    "plan_errors",
    "plan_message_id",
    "plan_run",
    "planning_prompt",
    "protected_mask",
    "reference",
    "repair_prompt",
    "replan_prompt",
    "scope_prefix",
    "split_fragments",
    "substitute_results",
    "validate_plan",
]
