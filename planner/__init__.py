"""Plan China's compact county medical communities and city medical groups.

The public API (the README's "Python" section shows it end to end)::

    import planner

    region = planner.load_region("义乌市")                   # embedded, or with your files
    rules = planner.load_rules("zhejiang-2026")
    stricter = rules.replace("county.max_communities", max=1)  # validated like a rule file
    before = planner.solve(region, rules)
    after = planner.solve(region, stricter, previous=before)
    after.communities                                          # GeoDataFrame (plan.gpkg's layer)
    after.compare().moved                                      # DataFrame of townships that moved
    after.write("plans/yiwu"); after.draw("maps/yiwu")

Names load their modules on first use, so `import planner` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Public name -> module that defines it (imported on first use).
_EXPORTS = {
    "load_region": "api", "region_from_geodataframes": "api", "load_rules": "api", "solve": "api",
    "read_plan": "api", "check_plan": "api", "compare": "api", "group_areas": "api",
    "PlanResult": "api", "Comparison": "api", "CheckResult": "api", "Grouping": "api",
    "export_region": "api",
    "Region": "region", "RuleSet": "rulefile", "Text": "i18n",
    "PlannerError": "_errors", "InputDataError": "_errors", "RuleFileError": "_errors", "InfeasibleError": "_errors",
    "Problem": "_errors",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from ._errors import InfeasibleError, InputDataError, PlannerError, Problem, RuleFileError
    from .api import (CheckResult, Comparison, Grouping, PlanResult, check_plan, compare, export_region, group_areas,
                      load_region, load_rules, read_plan, region_from_geodataframes, solve)
    from .i18n import Text
    from .region import Region
    from .rulefile import RuleSet


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        msg = f"module 'planner' has no attribute {name!r}"
        raise AttributeError(msg)
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
