"""Form communities and city grids: build each unit's model from the rules, solve, explain, check."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np

from .adjacency import contiguity_graph
from .districting import DistrictingModel
from .explain import explain_unit
from .milp import Status
from .plan import Community, Plan, UnitPlan
from .region import Region
from .rulefile import RuleSet
from .rules import Rule
from .rules.base import bind_rules
from .rules.community import _int_penalty
from .travel import TravelModel
from .units import Unit, build_units
from .cache import UnitCache, unit_key
from .executor import forked_map, ordered_map


@dataclass(frozen=True)
class SolveOptions:
    """How to solve each unit.

    Parameters
    ----------
    backend
        "cpsat" (OR-Tools CP-SAT), "cbc" (PuLP with CBC) or "highs" (HiGHS through OR-Tools).
    time_limit_s
        Wall-clock limit per unit; a unit stopped by it keeps its best plan with the gap.
    explain_time_limit_s
        Limit per solve while looking for conflicting rules.
    threads
        Solver threads per unit (1 keeps runs repeatable; parallelism comes from units).
    service_backend
        Backend for dispatch and dialysis models. These are LP-like transport models that
        HiGHS and CBC prove in well under a second; CP-SAT is slow on them.
    """

    backend: str = "cpsat"
    time_limit_s: float = 60.0
    explain_time_limit_s: float = 10.0
    threads: int = 1
    service_backend: str = "highs"


def build_model(unit: Unit, rules: Sequence[Rule], *, reduce: bool = True,
                contiguity: str = "flow") -> DistrictingModel:
    """The unit's districting model with every applicable community rule added (group = rule id).

    With `reduce`, centers a hard rule keeps closed (`Rule.closes`, e.g. hospitals below the
    lead grade) get no assignment or flow variables: about half of a county's candidates, and
    the same plans. `reduce=False` builds every variable (explanations use that model).
    `contiguity` is the contiguity rule's form ("flow" or "tree", `DistrictingModel.contiguity_form`).
    """
    rules = bind_rules(rules)
    coverage = next((r for r in rules if r.kind == "coverage" and r.enabled), None)
    applied = [r for r in rules if type(r).stage == "communities" and r.applies(unit)]
    closed = frozenset(f for r in applied for f in r.closes(unit)) if reduce else frozenset()
    dm = DistrictingModel(unit.population, unit.cost, unit.edges, unit.roots, name=unit.id,
                          coverage_group=coverage.id if coverage is not None else "structure",
                          coverage_penalty=_int_penalty(coverage.soft_penalty) if coverage is not None else None,
                          closed=closed, contiguity_form=contiguity)
    for rule in applied:
        rule.add(dm, unit)
    dm.model.cpsat_options.update(UNIT_CPSAT_OPTIONS)
    return dm


UNIT_CPSAT_OPTIONS: dict[str, object] = {"cp_model_probing_level": 0, "max_presolve_iterations": 1}
"""CP-SAT parameters for a unit's model. A county's model is small (tens of areas, a few leads):
CP-SAT's default presolve probes every literal and repeats the whole presolve, and that took about
as long as the search. Without probing and with one presolve pass, the solver's CPU on 浙江省, 河南省
and 四川省 fell by 35-45 % and every unit's plan and objective were the same (BENCHMARKS.md §1).
Optimality is still proven by the search; only how much presolve precedes it changes."""


TREE_FALLBACK_DETERMINISTIC_S = 1.0
"""CP-SAT deterministic seconds a unit's flow model gets before it is solved with tree contiguity.
Of the country's 2,847 units under zhejiang-2026, six need more (北京市朝阳区 about 40; 南关区,
兰州城关区, 五大连池市, 爱辉区, 淮安区 2-5) and the tree model proves each in under 8 (BENCHMARKS.md §10)."""


def _tree_fallback(dm: DistrictingModel) -> bool:
    """True when the unit's contiguity could be re-solved as a tree (`DistrictingModel.add_contiguity_tree`):
    a contiguity rule added it and every center that may take areas sits in one of the areas."""
    return dm.contiguity_added and dm.tree_contiguity_applies()


def solve_unit(unit: Unit, rules: Sequence[Rule], options: SolveOptions = SolveOptions(),
               previous: dict[str, str] | None = None) -> UnitPlan:
    """Solve one unit; an infeasible unit comes back with an explanation naming the conflicting rules.

    Parameters
    ----------
    previous
        Township code -> lead id from an earlier plan, used as a warm start where the backend
        takes one (CP-SAT hints, CBC warm start; not HiGHS, whose hint crashed OR-Tools 9.15).
    """
    dm = build_model(unit, rules)
    start: dict[int, int] = {}
    if previous and options.backend != "highs":
        start = {unit.index[t]: unit.candidates.index(lead) for t, lead in previous.items()
                 if t in unit.index and lead in unit.candidates}
        if len(start) == len(unit.townships):
            dm.hint(start)
        else:
            start = {}
    # A unit whose flow model is not settled within a deterministic budget is solved again with
    # tree contiguity (the same feasible plans; see _tree_fallback). The budget is CP-SAT's own
    # work measure, so which units switch does not depend on the machine's load, and a unit that
    # finishes within it runs exactly the search it always did.
    tree = options.backend == "cpsat" and _tree_fallback(dm)
    if tree:
        dm.model.cpsat_options["max_deterministic_time"] = TREE_FALLBACK_DETERMINISTIC_S
    sol = dm.solve(options.backend, time_limit_s=options.time_limit_s, threads=options.threads)
    dm.model.cpsat_options.pop("max_deterministic_time", None)   # explanations reuse this model
    flow_dm, spent = dm, sol.time_s
    if (tree and sol.status in (Status.FEASIBLE, Status.NO_SOLUTION)
            and sol.deterministic_time >= TREE_FALLBACK_DETERMINISTIC_S):
        tree_dm = build_model(unit, rules, contiguity="tree")
        if start:
            tree_dm.hint(start)
        again = tree_dm.solve(options.backend, time_limit_s=max(0.0, options.time_limit_s - spent), threads=options.threads)
        spent += again.time_s
        # Stopped by the wall-clock limit too: keep the better plan of the two (the flow model's on a tie).
        if again.status in (Status.OPTIMAL, Status.INFEASIBLE) or (
                again.objective is not None and (sol.objective is None or again.objective < sol.objective)):
            dm, sol = tree_dm, again
    base = dict(unit=unit.id, scope=unit.scope, name=unit.name, status=sol.status, backend=sol.backend,
                time_s=spent, bound=sol.bound, gap=sol.gap)
    if sol.status is Status.INFEASIBLE:
        # Explained on the flow model with every variable, as it always was: the same conflicts and words.
        full = build_model(unit, rules, reduce=False) if flow_dm.closed else flow_dm
        lines = explain_unit(unit, rules, full, options.explain_time_limit_s)
        return UnitPlan(communities=(), explanation=tuple(lines), **base)
    if sol.status is Status.NO_SOLUTION:
        return UnitPlan(communities=(), explanation=(f"{unit.name}: no plan found within {options.time_limit_s:g} s",), **base)
    groups = dm.groups_of(sol)
    communities = tuple(sorted(
        (Community(f"{unit.id}:{unit.candidates[f]}", unit.id, unit.candidates[f],
                   tuple(sorted(unit.townships[i] for i in members)))
         for f, members in groups.items()), key=lambda c: c.lead))
    travel = float(sum(unit.population[i] * unit.minutes[i, f] for f, members in groups.items() for i in members))
    person_min = float(sum(unit.cost[i, f] for f, members in groups.items() for i in members))
    penalty = (sol.objective or 0.0) - person_min
    return UnitPlan(communities=communities, objective=sol.objective, travel_person_min=travel,
                    penalties=(("soft rules", penalty),) if penalty > 0.5 else (), **base)


def region_units(region: Region, rules: RuleSet, travel: TravelModel | None = None,
                 graph: nx.Graph | None = None, only: set[str] | None = None) -> list[Unit]:
    """The region's units under a rule set (building the contiguity graph if not given)."""
    travel = travel or TravelModel(rules.travel.detour_factor, rules.travel.speed_kph)
    graph = graph if graph is not None else contiguity_graph(region.townships, region.counties)
    return build_units(region, rules.rules, travel, graph, only=only)


def solve_units(units: Sequence[Unit], rules: RuleSet, options: SolveOptions = SolveOptions(), *,
                previous: Plan | None = None, region_name: str = "", jobs: int = 1, executor: str = "process",
                address: str | None = None, progress: Callable[[UnitPlan], None] | None = None,
                cache: UnitCache | None = None) -> Plan:
    """Solve every unit (reusing cached ones), in parallel when asked; the plan keeps unit order.

    The plan's `reused` flags say which units came from the cache (kept out of plan files,
    which must not depend on how a plan was computed).
    """
    plan = Plan(region_name, rules.name)
    prev = previous.assignment() if previous is not None else {}
    done: dict[str, UnitPlan] = {}
    keys: dict[str, str] = {}
    todo = []
    for unit in units:
        if cache is not None:
            keys[unit.id] = unit_key(unit, rules.rules, options.backend, options.time_limit_s)
            hit = cache.get(keys[unit.id], unit, rules.rules)  # an entry proves itself, or is a miss
            if hit is not None:
                done[unit.id] = hit
                if progress is not None:
                    progress(hit)
                continue
        start = {t: prev[t] for t in unit.townships if t in prev} or None
        todo.append((unit, tuple(rules.rules), options, start))
    def arrived(solved: UnitPlan) -> None:
        # Stored as each unit finishes: an interrupted run keeps what it solved for the next one.
        done[solved.unit] = solved
        if cache is not None:
            cache.put(keys[solved.unit], solved)
        if progress is not None:
            progress(solved)

    if jobs > 1 and len(todo) > 1:
        # Workers get chunks of units: with the rules pickled once per chunk (Ray, or no fork), unpickling
        # the rule set (pydantic models, ~17 kB) for each of the country's 2,847 units cost ~10 s of the
        # workers' CPU. Chunks stay small enough (<= 8 units, >= 12 tasks per worker) to balance.
        size = max(1, min(SOLVE_CHUNK_UNITS, len(todo) // (jobs * SOLVE_TASKS_PER_WORKER)))
        chunks = [([t[0] for t in todo[k:k + size]], todo[k][1], todo[k][2], [t[3] for t in todo[k:k + size]])
                  for k in range(0, len(todo), size)]
        # Forked workers read their chunks from this process's memory: sending the country's units to
        # spawned workers (pickled here by the pool's feeder thread, unpickled there: each unit's frames and
        # graph) cost about 10 s of CPU on two cores that the solve needs.
        forked_map(_solve_chunk, chunks, jobs=jobs, executor=executor, address=address,
                   progress=lambda solved: [arrived(u) for u in solved])
    else:
        ordered_map(solve_unit, todo, jobs=jobs, executor=executor, address=address, progress=arrived)
    for unit in units:
        plan.units[unit.id] = done[unit.id]
    return plan


SOLVE_CHUNK_UNITS = 8
"""Most units per task when units are solved by worker processes (see solve_units)."""
SOLVE_TASKS_PER_WORKER = 12
"""Fewest tasks per worker when chunking units: the last chunks must not leave a worker idle long."""


def _solve_chunk(units: Sequence[Unit], rules: Sequence[Rule], options: SolveOptions,
                 starts: Sequence[dict[str, str] | None]) -> list[UnitPlan]:
    """Solve a few units in one task (a worker's share of solve_units), in order."""
    return [solve_unit(u, rules, options, start) for u, start in zip(units, starts)]


def mean_travel_min(plan: Plan, units: Sequence[Unit]) -> float:
    """Population-weighted mean travel minutes to the lead, over solved units."""
    total = sum(u.travel_person_min or 0.0 for u in plan.units.values() if u.solved)
    people = sum(unit.total_population for unit in units if plan.units.get(unit.id) and plan.units[unit.id].solved)
    return total / people if people else float("nan")


def max_travel_min(plan: Plan, units: Sequence[Unit]) -> float:
    """Longest travel minutes from a township seat to its lead."""
    worst = 0.0
    for unit in units:
        up = plan.units.get(unit.id)
        if up is None or not up.solved:
            continue
        for c in up.communities:
            minutes = unit.minutes_to(c.lead, unit.candidate_frame if c.lead in unit.candidate_frame.index else unit.facilities)
            idx = [unit.index[t] for t in c.townships if t in unit.index]
            if idx:
                worst = max(worst, float(np.max(minutes[idx])))
    return worst
