"""The remote timetable's direct construction: proven optima without CP-SAT, CP-SAT when the bound is not met."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import planner.villages.timetable as timetable
from planner.villages.rules import RemoteConsultation
from planner.villages.timetable import Clinic


def _rule(**kw) -> RemoteConsultation:
    base = dict(id="villages.remote", source="002_54ea4458f9478aee.txt (十一)", sessions_per_week=2,
                center_consultants=2, lead_consultants=1, half_days_per_consultant=2, sessions_per_half_day=2)
    return RemoteConsultation(**{**base, **kw})


def _inputs(clinics: list[Clinic], consultants: dict[str, int]):
    """The groups and leads as solve_timetable makes them."""
    groups: dict[tuple[str, str], list[str]] = {}
    for c in clinics:
        srcs = tuple(f for f in dict.fromkeys((c.center, c.lead)) if f and consultants.get(f, 0) > 0)
        groups.setdefault((srcs[0] if srcs else "", srcs[1] if len(srcs) > 1 else ""), []).append(c.clinic)
    return sorted(groups.items()), {c.lead for c in clinics if c.lead and c.lead != c.center}


def _objective(values, order, leads, need: int) -> int:
    given_: dict = {}
    for (g, _f, _d), v in values.items():
        given_[g] = given_.get(g, 0) + v
    return (100_000 * sum(need * len(m) - given_.get(g, 0) for g, m in order)
            + sum(v for (_g, f, _d), v in values.items() if f in leads))


def _feasible(values, order, consultants, rule) -> bool:
    days, seats, need = rule.working_days, rule.sessions_per_half_day, rule.sessions_per_week
    per_fd: dict = {}
    for g, members in order:
        srcs = [f for f in g if f]
        if any(values[g, f, d] < 0 for f in srcs for d in range(days)):
            return False
        if any(sum(values[g, f, d] for f in srcs) > len(members) for d in range(days)):
            return False
        if sum(values[g, f, d] for f in srcs for d in range(days)) > need * len(members):
            return False
        for f in srcs:
            for d in range(days):
                per_fd[f, d] = per_fd.get((f, d), 0) + values[g, f, d]
    for f in {f for f, _d in per_fd}:
        z = [-(-per_fd.get((f, d), 0) // seats) for d in range(days)]
        if max(z) > 2 * consultants[f] or sum(z) > consultants[f] * rule.half_days_per_consultant:
            return False
    return True


def _spy(monkeypatch) -> list[int]:
    calls: list[int] = []
    solve = timetable._solve_model
    monkeypatch.setattr(timetable, "_solve_model", lambda *a: calls.append(1) or solve(*a))
    return calls


def test_centers_with_room_are_proven_optimal_without_cp_sat(monkeypatch):
    calls = _spy(monkeypatch)
    clinics = [Clinic(f"V{k:02d}", f"T{k % 2}", f"C{k % 2}", "L") for k in range(10)]
    tt = timetable.solve_timetable(clinics, {"C0": 3, "C1": 3, "L": 1}, _rule())   # 12 seats a week each for 5 x 2
    assert not calls and tt.status == "OPTIMAL" and not tt.missing
    assert len(tt.sessions) == 20 and {s.facility for s in tt.sessions} == {"C0", "C1"}
    days = {(s.clinic, s.weekday) for s in tt.sessions}
    assert len(days) == 20   # every clinic's two sessions on distinct days
    seats = {(s.consultant, s.weekday, s.half, s.seat) for s in tt.sessions}
    assert len(seats) == 20  # one clinic per seat


def test_a_full_center_hands_the_rest_to_the_lead_and_the_bound_proves_it(monkeypatch):
    calls = _spy(monkeypatch)
    # C0: one consultant, 2 half-days x 2 seats = 4 sessions a week for 3 clinics x 2: the lead gives 2 (the bound).
    clinics = [Clinic(f"V{k}", "T0", "C0", "L") for k in range(3)]
    tt = timetable.solve_timetable(clinics, {"C0": 1, "L": 1}, _rule())
    assert not calls and tt.status == "OPTIMAL" and not tt.missing
    assert sum(s.facility == "L" for s in tt.sessions) == 2 and sum(s.facility == "C0" for s in tt.sessions) == 4


def test_when_the_bound_is_not_met_cp_sat_solves_the_model(monkeypatch):
    calls = _spy(monkeypatch)
    # Nobody can give 7 clinics their sessions: C0 gives 4, the lead 4 (1 consultant, 2 half-days, 2 seats), and the
    # construction's shortfall (100,000 each) is above the bound (1 per session the center cannot give).
    clinics = [Clinic(f"V{k}", "T0", "C0", "L") for k in range(7)]
    tt = timetable.solve_timetable(clinics, {"C0": 1, "L": 1}, _rule())
    assert calls == [1] and tt.status == "OPTIMAL" and sum(tt.missing.values()) == 14 - 8


names = st.sampled_from(["C0", "C1", "C2", "L", "M", ""])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(names, names), min_size=1, max_size=14),
       st.dictionaries(st.sampled_from(["C0", "C1", "C2", "L", "M"]), st.integers(0, 3)),
       st.integers(1, 3), st.integers(3, 5), st.integers(1, 4), st.integers(1, 3))
def test_whenever_the_fast_path_claims_optimal_cp_sat_agrees(pairs, consultants, need, days, per, seats):
    rule = _rule(sessions_per_week=need, working_days=days, half_days_per_consultant=min(per, 2 * days),
                 sessions_per_half_day=seats)
    clinics = [Clinic(f"V{k:02d}", f"T{k}", center, lead) for k, (center, lead) in enumerate(pairs)]
    order, leads = _inputs(clinics, consultants)
    quick = timetable._fast_counts(order, consultants, leads, rule)
    solved = timetable._solve_model(order, consultants, leads, rule)
    assert solved is not None and solved[0] == "OPTIMAL"
    if quick is not None:
        assert _feasible(quick, order, consultants, rule)
        assert _objective(quick, order, leads, need) == _objective(solved[1], order, leads, need)
        assert sorted({f for (_g, f, _d) in quick}) == solved[2]
