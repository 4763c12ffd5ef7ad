"""Policy rules: one small class per rule kind, registered by the name rule files use."""

from .base import RULE_KINDS, Rule, Selector, register, short_source
from . import capacity, community, service  # noqa: F401  (registers the rule kinds)
from .community import plan_members
from ..access import rules as _access_rules  # noqa: F401,E402  (registers the access rule kinds)
from ..villages import rules as _village_rules  # noqa: F401,E402  (registers the village rule kinds)

__all__ = ["RULE_KINDS", "Rule", "Selector", "plan_members", "register", "short_source"]
