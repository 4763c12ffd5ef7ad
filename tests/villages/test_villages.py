"""The village phase on 庆元县 (a mountainous county): modes, weekly circuit routes, the remote timetable, the checker."""

from __future__ import annotations

import dataclasses
from itertools import permutations

import numpy as np
import pandas as pd
import pytest

import planner
from planner.pipeline import run_plan
from planner.planning import SolveOptions
from planner.travel import TravelModel
from planner.villages.check import check_circuit, check_remote, check_villages
from planner.villages.routes import WEEK_FULL, day_patterns, exact_day, plan_base
from planner.villages.rules import CircuitCoverage, RemoteConsultation
from planner.villages.run import county_villages

QINGYUAN = "331126"


@pytest.fixture(scope="module")
def run():
    region = planner.load_region("庆元县")
    rules = planner.load_rules("zhejiang-2026")
    return run_plan(region, rules, SolveOptions(time_limit_s=30))


def _rule(result, kind):
    return next(r for r in result.rules.rules if r.kind == kind)


def test_every_village_is_resident_served_on_a_route_at_its_frequency_or_listed_with_a_reason(run):
    modes = run.villages.tables["village_modes"]
    assert len(modes) == len(run.region.villages) == 203
    assert set(modes["mode"]) <= {"resident", "urban", "circuit", "unreachable", "no_base"}
    circuit = modes[modes["mode"] == "circuit"]
    assert len(circuit) > 50  # a mountainous county: most villages have no licensed physician close by
    assert (circuit["visits_planned"] >= circuit["visits_required"]).all()
    assert ((circuit["visits_required"] >= 1)).all()
    others = modes[modes["mode"].isin(["unreachable", "no_base"])]
    assert (others["reason"] != "").all() and (others["reason_zh"] != "").all()
    resident = modes[modes["mode"] == "resident"]
    assert (resident["nearest_licensed_min"] <= _rule(run, "circuit_coverage").resident_max_minutes).all()
    routes = run.villages.tables["routes"]
    visited = routes.groupby("village")["weekday"].nunique()
    for v, need in zip(circuit["village"], circuit["visits_required"]):
        assert visited.get(v, 0) >= need


def test_the_checker_passes_the_plan_and_routes_fit_the_day(run):
    statuses = {s.rule.kind: s for s in run.village_statuses}
    assert set(statuses) == {"circuit_coverage", "remote_consultation"}
    assert all(s.passed for s in statuses.values()), [str(v) for s in statuses.values() for v in s.violations]
    rule = _rule(run, "circuit_coverage")
    routes = run.villages.tables["routes"]
    assert (routes["route_minutes"] <= rule.day_minutes).all()
    assert (routes.groupby(["base", "weekday"])["team"].nunique() <= rule.teams_per_center).all()
    plan = run.villages.tables["circuit_plan"].iloc[0]
    assert plan["lower_bound_min"] <= plan["travel_min"] + 1e-6 and 0 <= plan["gap"] <= 1


def test_the_checker_catches_a_missing_visit_a_long_day_and_a_double_booking(run):
    tables = dict(run.villages.tables)
    rule = _rule(run, "circuit_coverage")
    routes = tables["routes"]
    first = routes.iloc[0]
    cut = {**tables, "routes": routes.drop(routes.index[0])}
    msgs = [str(v) for v in check_circuit(run.region, cut, rule, run.travel).violations]
    assert any(first["village"] in m and first["village_name"] in m for m in msgs)
    short_day = rule.model_copy(update={"day_minutes": float(routes["route_minutes"].max()) - 1})
    msgs = [str(v) for v in check_circuit(run.region, tables, short_day, run.travel).violations]
    assert any("longer than" in m for m in msgs)
    tt = tables["timetable"].copy()
    remote = _rule(run, "remote_consultation")
    a, b = tt.index[0], tt.index[1]
    tt.loc[b, ["consultant", "weekday", "half_day", "seat"]] = tt.loc[a, ["consultant", "weekday", "half_day", "seat"]].to_numpy()
    tt.loc[b, "facility"] = tt.loc[a, "facility"]
    msgs = [str(v) for v in check_remote(run.region, run.plan, {**tables, "timetable": tt}, remote).violations]
    assert any("double-booked" in m for m in msgs)


def test_the_timetable_gives_every_clinic_its_sessions_without_double_booking(run):
    tt = run.villages.tables["timetable"]
    remote = _rule(run, "remote_consultation")
    clinics = run.region.facilities[run.region.facilities["kind"] == "village_clinic"]
    days = tt.groupby("clinic")["weekday"].nunique()
    assert all(days.get(c, 0) >= remote.sessions_per_week for c in clinics.index)
    assert not tt.duplicated(["consultant", "weekday", "half_day", "seat"]).any()
    halves = tt.groupby("consultant").apply(lambda g: len(set(zip(g["weekday"], g["half_day"]))), include_groups=False)
    assert (halves <= remote.half_days_per_consultant).all()


def test_a_day_too_short_names_the_villages_and_the_rule():
    region = planner.load_region("庆元县")
    rule = CircuitCoverage(id="villages.circuit", source="000_daed78e4f2e6cfdf.txt (四)", day_minutes=150,
                           service_min=90, working_days=2)
    out = county_villages(region, QINGYUAN, rule, None, TravelModel(), {})
    modes = out["village_modes"]
    bad = modes[modes["mode"] == "unreachable"]
    assert len(bad) > 0
    assert bad["reason"].str.contains("villages.circuit").all() and bad["reason_zh"].str.contains("villages.circuit").all()
    assert bad["reason_zh"].str.contains("排满|无法往返").all()
    status = check_villages(region, _empty_plan(), out, [rule], TravelModel())[0]
    assert not status.passed and len(status.violations) == len(bad)
    for v, (_i, row) in zip(status.violations, bad.iterrows()):
        assert row["village_name"] in str(v) and "villages.circuit" in str(v) and row["village_name"] in v.message.zh


def _empty_plan():
    from planner.plan import Plan

    return Plan("庆元县", "test")


def test_a_short_timetable_is_explained_by_health_center_and_half_day():
    region = planner.load_region("庆元县")
    remote = RemoteConsultation(id="villages.remote", source="002_54ea4458f9478aee.txt (十一)", sessions_per_week=2,
                                center_consultants=1, lead_consultants=0, half_days_per_consultant=2, sessions_per_half_day=3)
    out = county_villages(region, QINGYUAN, None, remote, TravelModel(), {})
    shorts = out["timetable_shortfalls"]
    assert len(shorts) > 0
    row = shorts.iloc[0]
    assert "short by" in row["message"] and "缺" in row["message_zh"] and row["center_name"] in row["message_zh"]
    assert "villages.remote" in row["message"] and "002 (十一)" in row["message"]
    assert "会诊时段已全部排满" in row["message_zh"]
    tt = out["timetable"]
    assert not tt.duplicated(["consultant", "weekday", "half_day", "seat"]).any()


def test_day_patterns_spread_visits_over_the_week():
    assert day_patterns(1, 5) == [(0,), (1,), (2,), (3,), (4,)]
    assert (0, 2) in day_patterns(2, 5) and all(len(p) == 2 for p in day_patterns(2, 5))
    assert day_patterns(5, 5) == [(0, 1, 2, 3, 4)]


def test_the_exact_day_is_the_best_of_every_order():
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 40, size=(5, 2))
    minutes = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(axis=2))
    routes, dropped = exact_day(minutes, [1, 2, 3, 4], 20.0, 150.0)
    def cost(order):
        path = [0, *order, 0]
        return sum(minutes[a, b] for a, b in zip(path, path[1:])) + 20.0 * len(order)
    fits = [(len(o), -cost(o)) for k in range(1, 5) for o in permutations([1, 2, 3, 4], k) if cost(o) <= 150.0]
    got = routes[0] if routes else []
    assert (len(got), -cost(got)) == max(fits)
    assert sorted(got + dropped) == [1, 2, 3, 4]


def test_a_full_week_leaves_visits_out_with_the_reason():
    minutes = np.array([[0, 30, 30, 30], [30, 0, 5, 5], [30, 5, 0, 5], [30, 5, 5, 0]], dtype=float)
    xy = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=float)
    bp = plan_base("T", ["a", "b", "c"], {"a": 2, "b": 1, "c": 1}, minutes, xy, service_min=100, day_minutes=180,
                   teams=1, days=2, iterations=50)
    made = sum(len(r.stops) for r in bp.routes)
    assert made == 2  # one 160-minute visit a day
    assert sum(lacking for _r, lacking in bp.missing.values()) == 2 and all(r == WEEK_FULL for r, _l in bp.missing.values())
    assert dataclasses.is_dataclass(bp) and bp.exact_days == 2


def test_a_day_beyond_the_exact_size_goes_to_pyvrp_and_fits_the_day():
    from planner.villages.routes import route_minutes, solve_day

    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 30, size=(12, 2))
    minutes = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(axis=2))
    routes, dropped, exact = solve_day(minutes, list(range(1, 12)), 30.0, 240.0, 2, 100, xy)
    assert not exact and len(routes) <= 2
    assert sorted([n for r in routes for n in r] + dropped) == list(range(1, 12))
    assert all(route_minutes(minutes, r, 30.0)[1] <= 240.0 for r in routes)
    assert (routes, dropped) == solve_day(minutes, list(range(1, 12)), 30.0, 240.0, 2, 100, xy)[:2]   # repeats exactly


def test_the_county_lead_takes_the_visits_the_centers_cannot_make_and_the_checker_verifies_its_routes(run):
    from planner.villages.rules import Frequency, LeadTeams
    from planner.villages.run import leads_by_township

    leads = leads_by_township(run.plan)
    # Two 6-hour working days and twice-a-week visits from 300 residents: one team per center cannot make them all.
    tight = _rule(run, "circuit_coverage").model_copy(update={
        "lead": None, "working_days": 2, "day_minutes": 360.0,
        "frequency": [Frequency(min_population=0, visits_per_week=1), Frequency(min_population=300, visits_per_week=2)]})
    alone = county_villages(run.region, QINGYUAN, tight, None, run.travel, leads)
    short_alone = alone["village_modes"]["mode"].eq("unreachable").sum()
    assert short_alone > 0 and alone["circuit_plan"]["lead_routes"].iloc[0] == 0
    rule = tight.model_copy(update={"lead": LeadTeams(teams=1, source="002_54ea4458f9478aee.txt (十一)")})
    out = county_villages(run.region, QINGYUAN, rule, None, run.travel, leads)
    routes, modes = out["routes"], out["village_modes"]
    lead_rows = routes[routes["role"] == "lead"]
    assert len(lead_rows) > 0
    assert out["circuit_plan"]["lead_routes"].iloc[0] == len(lead_rows.drop_duplicates(["team", "weekday"]))
    for base, team, town in zip(lead_rows["base"], lead_rows["team"], lead_rows["village"].map(dict(zip(modes["village"], modes["township"])))):
        assert base == leads[town] and team.startswith(f"{base}-L")  # the team id names the lead
    still = modes[modes["mode"] == "unreachable"]
    assert 0 < len(still) < short_alone
    assert still["reason_zh"].str.contains("县级牵头医院").all() and still["reason"].str.contains("county lead").all()
    assert (modes["lead_visits"].sum() == len(lead_rows))
    # Lead visits fall on other weekdays than the center's visits of the same village.
    assert not routes.duplicated(["village", "weekday"]).any()
    status = check_circuit(run.region, out, rule, run.travel, run.plan)
    assert len(status.violations) == modes["mode"].eq("unreachable").sum()  # only the villages still short
    # Independent check: the same routes without the plan's leads, from a non-lead, or with a second lead team fail.
    assert any("nor the lead" in str(v) for v in check_circuit(run.region, out, rule, run.travel, None).violations)
    two = routes.copy()
    first = lead_rows.index[0]
    two.loc[first, "team"] = f"{two.loc[first, 'base']}-L2"
    two.loc[first, "stop"] = 1
    msgs = [str(v) for v in check_circuit(run.region, {**out, "routes": two}, rule, run.travel, run.plan).violations]
    assert any("teams on" in m and "more than its 1" in m for m in msgs)
    assert "县级牵头医院巡回医疗队" in rule.clause().zh and "002 (十一)" in rule.clause().zh
    with pytest.raises(ValueError, match="source_zh"):  # an assumption needs its Chinese wording
        LeadTeams(teams=1, source="planner assumption: one team per lead")


def test_counties_are_cut_in_order_into_enough_tasks_for_the_workers():
    from planner.executor import MIN_PARALLEL_ITEMS
    from planner.villages.run import _chunks

    sizes = [5, 300, 1, 1, 40, 2, 900, 3, 3, 3, 60, 7, 7, 120, 1, 1, 1, 30, 30, 500]
    assert _chunks(sizes, 1) == [(0, len(sizes))] and _chunks([], 2) == []
    for jobs in (2, 3, 8):
        parts = _chunks(sizes, jobs)
        assert parts[0][0] == 0 and parts[-1][1] == len(sizes)
        assert all(a < b for a, b in parts) and all(p[1] == q[0] for p, q in zip(parts, parts[1:]))  # in order, no gap
        assert len(parts) >= min(len(sizes), MIN_PARALLEL_ITEMS)  # below that ordered_map would not use the workers
    assert len(_chunks([1] * 5, 2)) == 5  # never more tasks than counties


def test_a_county_task_from_the_regions_columns_gives_the_county_tables(run):
    from planner.villages.data import RegionColumns
    from planner.villages.modes import licensed_physicians
    from planner.villages.run import _frame, county_tables, leads_by_township, village_rules

    region = run.region
    lic = {str(k): int(v) for k, v in licensed_physicians(region).items()}
    leads = leads_by_township(run.plan)
    data = RegionColumns(region, lic, leads).county(QINGYUAN)
    assert data.village == sorted(map(str, region.villages.index)) and set(data.fac_county) == {QINGYUAN}
    assert data.licensed == {f: n for f, n in lic.items() if f in set(data.fac_id)}
    circuit, remote = village_rules(list(run.rules.rules))
    cols = county_tables(data, circuit, remote, run.travel)
    frames = county_villages(region, QINGYUAN, circuit, remote, run.travel, leads)
    for name, frame in frames.items():
        pd.testing.assert_frame_equal(_frame(name, cols[name]), frame)
        if len(frame):  # the run's tables (one county, through the process path) are the same
            pd.testing.assert_frame_equal(frame, run.villages.tables[name])


def test_the_timetable_model_without_camel_case_aliases_is_the_cp_model_proto_and_answer(monkeypatch):
    from ortools.sat.python import cp_model

    import planner.villages.timetable as timetable

    clinics = [timetable.Clinic(f"V{k:02d}", f"T{k % 3}", f"C{k % 3}" if k % 5 else "", "L" if k % 2 else "")
               for k in range(17)]
    consultants = {"C0": 1, "C1": 2, "C2": 0, "L": 1}
    remote = RemoteConsultation(id="villages.remote", source="002_54ea4458f9478aee.txt (十一)", sessions_per_week=2,
                                center_consultants=2, lead_consultants=1, half_days_per_consultant=2,
                                sessions_per_half_day=2)
    protos: list[str] = []
    solve = cp_model.CpSolver.solve
    monkeypatch.setattr(cp_model.CpSolver, "solve", lambda self, m, *a: protos.append(str(m.proto)) or solve(self, m, *a))
    monkeypatch.setattr(timetable, "_fast_counts", lambda *a: None)   # the CP-SAT model itself
    ours = timetable.solve_timetable(clinics, consultants, remote)
    monkeypatch.setattr(timetable, "_model_class", lambda _cp: cp_model.CpModel)
    plain = timetable.solve_timetable(clinics, consultants, remote)
    assert len(protos) == 2 and protos[0] == protos[1] and "w[" in protos[0]
    assert ours.sessions == plain.sessions and ours.missing == plain.missing and ours.sessions
    assert [(c, t.en) for c, t in ours.explanations] == [(c, t.en) for c, t in plain.explanations]


def test_the_remote_rule_and_the_circuit_routes_checked_in_forked_workers_give_the_same_statuses_in_rule_order(
        run, monkeypatch):
    import planner.villages.check as check

    tables = dict(run.villages.tables)
    routes, tt, modes = tables["routes"], tables["timetable"], tables["village_modes"]
    # Rows dropped so that both rules report violations (the order of the messages is compared too).
    broken = {**tables, "routes": routes.iloc[::2], "timetable": tt.iloc[::3], "village_modes": modes.iloc[1:]}
    rules = list(run.rules.rules)
    here = check.check_villages(run.region, run.plan, broken, rules, run.travel)
    monkeypatch.setattr(check, "FORK_VILLAGES", 0)
    forked = check.check_villages(run.region, run.plan, broken, rules, run.travel, jobs=2)
    assert [s.rule.id for s in forked] == [s.rule.id for s in here] == ["villages.circuit", "villages.remote"]
    assert all(s.violations for s in here)
    circuit = [str(v) for v in here[0].violations]
    # Both halves of the circuit rule report (the villages' here, the routes' in a worker when forked).
    assert any("missing from village_modes" in m for m in circuit) and any("numbers its stops" in m for m in circuit)
    for a, b in zip(here, forked):
        assert a.units_checked == b.units_checked
        assert [(str(v), v.message.zh, v.unit) for v in a.violations] == [(str(v), v.message.zh, v.unit) for v in b.violations]
