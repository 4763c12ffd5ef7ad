"""Tree contiguity (DistrictingModel.add_contiguity_tree): the flow model's plans exactly, and
solve_unit's switch to it for a unit whose flow model is not settled within its budget."""

from __future__ import annotations

import dataclasses
import itertools

import networkx as nx
import numpy as np
import pytest
from fixtures import Fac, grid_region

from planner import planning
from planner.districting import DistrictingModel
from planner.milp import Status
from planner.planning import SolveOptions, build_model, region_units, solve_unit
from planner.rulefile import load_rules

# A 2 x 3 grid of areas::
#
#     0 - 1 - 2
#     |   |   |
#     3 - 4 - 5
GRID_EDGES = [(0, 1), (1, 2), (3, 4), (4, 5), (0, 3), (1, 4), (2, 5)]


def _connected_with_roots(groups: dict[int, list[int]], roots: list[int], edges: list[tuple[int, int]]) -> bool:
    graph = nx.Graph(edges)
    return all(nx.is_connected(graph.subgraph(set(members) | {roots[f]})) for f, members in groups.items())


def _feasible_with(form: str, roots: list[int], labels: tuple[int, ...]) -> bool:
    """Is the plan `labels` (area -> center) feasible in the model with contiguity of `form`?"""
    n, m = len(labels), len(roots)
    dm = DistrictingModel(np.ones(n, dtype=int), np.zeros((n, m), dtype=int), GRID_EDGES, roots,
                          contiguity_form=form)
    dm.add_contiguity("contiguity")
    for i, f in enumerate(labels):
        dm.pin(i, f, "plan")
    return dm.solve("cpsat", time_limit_s=10).status is Status.OPTIMAL


@pytest.mark.parametrize("roots", [[1, 1], [1, 4], [0, 0, 5]])
def test_tree_and_flow_contiguity_accept_exactly_the_connected_plans(roots: list[int]) -> None:
    # Every assignment of the six areas to the centers, whether the root areas' owners are legal
    # or not (the structure rows decide that, the same in both models): the two forms agree on
    # every plan, and a plan they accept has every group connected through its root.
    m = len(roots)
    accepted = 0
    for labels in itertools.product(range(m), repeat=6):
        flow, tree = _feasible_with("flow", roots, labels), _feasible_with("tree", roots, labels)
        assert flow == tree, labels
        if tree:
            accepted += 1
            groups = {f: [i for i, g in enumerate(labels) if g == f] for f in set(labels)}
            assert _connected_with_roots(groups, roots, GRID_EDGES)
    assert 0 < accepted < m ** 6   # contiguity admitted some plans and excluded others


def test_tree_contiguity_gives_the_flow_optimum_where_contiguity_binds() -> None:
    # Three centers share area 1 (like 朝阳区's leads in one town); without contiguity area 3
    # would join center 0 and area 5 center 2 across the other groups.
    cost = np.array([[1, 9, 9], [0, 0, 0], [9, 9, 1], [1, 5, 9], [9, 1, 9], [9, 5, 1]]) * 10
    out = {}
    for form in ("flow", "tree"):
        dm = DistrictingModel(np.array([1, 1, 1, 1, 1, 1]), cost, GRID_EDGES, [1, 1, 1], contiguity_form=form)
        dm.add_capacity(np.ones(6, dtype=int), [2, 6, 2], "capacity")
        dm.add_contiguity("contiguity")
        sol = dm.solve("cpsat")
        assert sol.status is Status.OPTIMAL
        out[form] = (sol.objective, dm.groups_of(sol))
        assert _connected_with_roots(dm.groups_of(sol), [1, 1, 1], GRID_EDGES)
    assert out["flow"] == out["tree"]


def test_tree_contiguity_needs_every_center_inside_the_areas() -> None:
    dm = DistrictingModel(np.ones(2, dtype=int), np.zeros((2, 1), dtype=int), [(0, 1)], [-1], contiguity_form="tree")
    assert not dm.tree_contiguity_applies()
    with pytest.raises(ValueError, match="inside the areas"):
        dm.add_contiguity_tree("contiguity")
    with pytest.raises(ValueError, match="contiguity_form"):
        DistrictingModel(np.ones(2, dtype=int), np.zeros((2, 1), dtype=int), [(0, 1)], [0], contiguity_form="trees")


def _county():
    return grid_region([[40_000, 10_000, 30_000], [10_000, 20_000, 50_000], [30_000, 10_000, 20_000]],
                       [Fac("H1", "测试县人民医院", "general_hospital", "二甲", (1, 1)),
                        Fac("H2", "测试县中医院", "tcm_hospital", "二甲", (1, 1)),
                        Fac("H3", "测试县第三医院", "general_hospital", "二甲", (0, 2))])


def test_a_unit_past_its_flow_budget_is_solved_with_tree_contiguity_to_the_same_plan(monkeypatch) -> None:
    rules = load_rules("zhejiang-2026")
    unit = region_units(_county(), rules)[0]
    calls: list[str] = []
    real = planning.build_model

    def spy(*args, **kwargs):
        calls.append(kwargs.get("contiguity", "flow"))
        return real(*args, **kwargs)

    monkeypatch.setattr(planning, "build_model", spy)
    before = solve_unit(unit, rules.rules, SolveOptions())
    assert calls == ["flow"]   # settled within the budget: the flow model alone, as always
    monkeypatch.setattr(planning, "TREE_FALLBACK_DETERMINISTIC_S", 0.0)
    calls.clear()
    after = solve_unit(unit, rules.rules, SolveOptions())
    assert calls == ["flow", "tree"]
    assert before.status is after.status is Status.OPTIMAL
    assert (after.objective, after.communities) == (before.objective, before.communities)
    assert len(before.communities) >= 2


def test_only_a_unit_with_a_contiguity_rule_can_switch() -> None:
    rules = load_rules("zhejiang-2026")
    unit = region_units(_county(), rules)[0]
    assert planning._tree_fallback(build_model(unit, rules.rules))
    loose = [r for r in rules.rules if r.kind != "contiguity"]
    assert not planning._tree_fallback(build_model(unit, loose))


def test_a_switched_unit_out_of_wall_time_keeps_the_flow_models_plan(monkeypatch) -> None:
    # The flow model stops on its budget with a plan (simulated: its optimum reported as FEASIBLE at
    # the budget), and the wall-clock limit leaves the tree model no time: the unit keeps the flow
    # model's plan instead of coming back without one.
    rules = load_rules("zhejiang-2026")
    unit = region_units(_county(), rules)[0]
    real = DistrictingModel.solve

    def stopped(self, backend="cpsat", *, time_limit_s=60.0, **kwargs):
        if self.contiguity_form == "tree":
            return real(self, backend, time_limit_s=0.0, **kwargs)
        sol = real(self, backend, time_limit_s=time_limit_s, **kwargs)
        return dataclasses.replace(sol, status=Status.FEASIBLE, deterministic_time=planning.TREE_FALLBACK_DETERMINISTIC_S)

    monkeypatch.setattr(DistrictingModel, "solve", stopped)
    out = solve_unit(unit, rules.rules, SolveOptions())
    assert out.status is Status.FEASIBLE and out.communities
    monkeypatch.undo()
    assert out.communities == solve_unit(unit, rules.rules, SolveOptions()).communities
