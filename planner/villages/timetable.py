"""Remote-consultation timetable of a county: clinics to consultants' half-day seats, proven optimal (direct or CP-SAT)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from ..i18n import Text
from .rules import HALVES_EN, HALVES_ZH, WEEKDAYS_EN, WEEKDAYS_ZH, RemoteConsultation


class Clinic(NamedTuple):
    """A village clinic and the facilities that may consult for it: its township health center and its lead.

    (A named tuple, immutable as the frozen dataclass it was: a county makes one per village clinic, and a
    frozen dataclass's constructor cost more than the rest of the county's clinic list.)"""

    clinic: str
    township: str
    center: str
    lead: str


@dataclass(slots=True)
class Session:
    """One remote consultation: a clinic with one consultant in one seat of a half-day (weekday 1 = Monday)."""

    clinic: str
    facility: str
    consultant: str
    weekday: int
    half: int
    seat: int


@dataclass
class Timetable:
    """A county's sessions, the shortfalls (clinic -> sessions missing) with their explanations, and the solve status."""

    sessions: list[Session] = field(default_factory=list)
    missing: dict[str, int] = field(default_factory=dict)
    explanations: list[tuple[str, Text]] = field(default_factory=list)
    status: str = "OPTIMAL"
    wall_s: float = 0.0


_MODEL_CLASS: list[type] = []


def _model_class(cp_model) -> type:
    """CpModel without its deprecated camel-case aliases: CpModel() binds ~60 of them to every new model (one
    `dir()` and ~60 wrappers per county); nothing here uses them, and the model proto is the same (a test)."""
    if not _MODEL_CLASS:
        class Model(cp_model.CpModel):
            def _add_pre_pep8_methods(self) -> None:
                pass
        _MODEL_CLASS.append(Model)
    return _MODEL_CLASS[0]


def half_day_words(weekday: int, half: int) -> Text:
    """"Wed morning" / "周三上午" for weekday 1-7 and half 0/1."""
    return Text(f"{WEEKDAYS_EN[weekday - 1]} {HALVES_EN[half]}", f"{WEEKDAYS_ZH[weekday - 1]}{HALVES_ZH[half]}")


def solve_timetable(clinics: list[Clinic], consultants: dict[str, int], rule: RemoteConsultation,
                    names: dict[str, str] | None = None) -> Timetable:
    """Assign every clinic `sessions_per_week` sessions on distinct days, minimising the sessions missing, then the
    sessions the lead hospital has to give (status OPTIMAL when proven).

    The counts are first built directly (`_fast_counts`: each facility's half-days spread over the
    week, the centers' sessions before the leads', each to the day with the most seats left); when
    their objective equals a lower bound (the sessions the non-lead facilities cannot give, at one
    each), they are optimal and CP-SAT is not called. Otherwise an exact CP-SAT model of the same
    counts is solved (`_solve_model`, unchanged). Either way the counts are dealt the same way.

    `consultants` gives how many consultants each facility puts on the remote rota. The model
    counts, per group of clinics with the same consulting facilities and per day, the clinics
    each facility consults (at most the group's size a day), and per facility and day its duty
    half-days (at most two per consultant, `sessions_per_half_day` seats each; at most
    consultants x `half_days_per_consultant` a week). The counts are then dealt to the clinics
    in turn (distinct days), the seats to mornings first, and the duty half-days to consultants
    least-loaded first, which keeps every consultant within the weekly cap, one clinic per seat.
    """
    import time

    names = names or {}
    t0 = time.perf_counter()
    out = Timetable()
    if not clinics:
        return out
    days, seats, need = rule.working_days, rule.sessions_per_half_day, rule.sessions_per_week
    # Clinics with the same consulting facilities are interchangeable, so the model counts them:
    # w[group, facility, day] clinics of the group have a session with the facility that day. Any counts with at
    # most `size` clinics a day and `need` x size sessions in all are dealt to the clinics one by one, cycling
    # (see below), which gives each clinic its sessions on distinct days: the counting model loses nothing.
    groups: dict[tuple[str, str], list[str]] = {}
    group_of: dict[tuple[str, str], tuple[str, str]] = {}   # (center, lead) -> group key, found once per pair
    for c in clinics:
        pair = (c.center, c.lead)
        g = group_of.get(pair)
        if g is None:
            srcs = tuple(f for f in dict.fromkeys(pair) if f and consultants.get(f, 0) > 0)
            g = group_of[pair] = (srcs[0] if srcs else "", srcs[1] if len(srcs) > 1 else "")
        groups.setdefault(g, []).append(c.clinic)
    leads = {c.lead for c in clinics if c.lead and c.lead != c.center}
    order = sorted(groups.items())
    # A timetable built directly when it provably reaches the optimum (see _fast_counts); CP-SAT otherwise.
    values = _fast_counts(order, consultants, leads, rule)
    if values is not None:
        facilities = sorted({f for (_g, f, _d) in values})
    else:
        solved = _solve_model(order, consultants, leads, rule)
        if solved is None:
            out.status = "UNKNOWN"
            out.missing = {c.clinic: need for c in clinics}
            out.explanations.append(("", Text(f"the timetable model found no solution within {rule.time_limit_s:g} s",
                                              f"远程诊疗排班模型在{rule.time_limit_s:g}秒内未得到解")))
            out.wall_s = time.perf_counter() - t0
            return out
        out.status, values, facilities = solved
    # Deal each group's counts to its clinics in turn, day by day (a clinic at most once a day, since a day's
    # count is at most the group's size; every clinic gets `need`, or one fewer than another when short).
    booked: dict[tuple[str, int], list[str]] = {}
    got: dict[str, int] = {}
    for g, members in order:
        members = sorted(members)
        size = len(members)
        turn = 0
        for d in range(days):
            for f in [f for f in g if f]:
                count = values[g, f, d]
                if not count:
                    continue
                dealt = [members[(turn + i) % size] for i in range(count)]
                turn += count
                booked.setdefault((f, d), []).extend(dealt)
                for c in dealt:
                    got[c] = got.get(c, 0) + 1
    # Each day's sessions of a facility fill the morning's seats first (at most one duty per consultant and
    # half-day), then the afternoon's; consultants take the duty half-days least-loaded first (ties by
    # number), which keeps every one within the weekly cap (the model bounds the facility's total).
    # Loads start equal and the least-loaded `count` (ties by number) each take one more duty, so the
    # consultants in that order are always a rotation of 0..n-1: `first` is the next to take a duty.
    for f in facilities:
        n = consultants[f]
        first = 0
        who = [f"{f}#{j + 1}" for j in range(n)]
        for d in range(days):
            today = sorted(booked.get((f, d), []))
            duties = -(-len(today) // seats)
            am = min(n, -(-duties // 2))
            for h, count, start in ((0, am, 0), (1, duties - am, am * seats)):
                duty = [(first + i) % n for i in range(count)]
                first = (first + count) % n if n else 0
                for i, c in enumerate(today[start:start + count * seats]):
                    out.sessions.append(Session(c, f, who[duty[i // seats]], d + 1, h, i % seats))
    for c in clinics:
        gap = need - got.get(c.clinic, 0)
        if gap > 0:
            out.missing[c.clinic] = gap
    out.explanations = explain(clinics, consultants, rule, out, names)
    out.wall_s = time.perf_counter() - t0
    return out


def _solve_model(order: list[tuple[tuple[str, str], list[str]]], consultants: dict[str, int], leads: set[str],
                 rule: RemoteConsultation) -> tuple[str, dict[tuple[tuple[str, str], str, int], int], list[str]] | None:
    """The counting model solved by CP-SAT: its status, the counts w[group, facility, day] and the facilities; None
    when it found no solution in time."""
    from ortools.sat.python import cp_model

    days, seats, need = rule.working_days, rule.sessions_per_half_day, rule.sessions_per_week
    # The model's rows are added as whole sums (LinearExpr.sum: one call each, the same rows and variable order as
    # Python's sum gave; the model proto is unchanged, so is CP-SAT's answer).
    total = cp_model.LinearExpr.sum
    m = _model_class(cp_model)()
    new_var = m.new_int_var
    w: dict[tuple[tuple[str, str], str, int], cp_model.IntVar] = {}
    short: dict[tuple[str, str], cp_model.IntVar] = {}
    on: dict[tuple[str, int], list[cp_model.IntVar]] = {}
    lead_vars: list[cp_model.IntVar] = []
    for g, members in order:
        k = len(members)
        srcs = [f for f in g if f]
        row = [[new_var(0, k, f"{prefix}{d}]") for d in range(days)] for prefix in (f"w[{g},{f}," for f in srcs)]
        for f, vs in zip(srcs, row):
            for d, v in enumerate(vs):
                w[g, f, d] = v
        for d in range(days):
            # (A group without consultants adds `0 <= k` as Python's sum gave: kept, so the proto stays the same.)
            m.add(total([vs[d] for vs in row]) <= k if row else sum(()) <= k)
        short[g] = new_var(0, need * k, f"short[{g}]")
        m.add((total([v for vs in row for v in vs]) if row else sum(())) + short[g] == need * k)
    # on[f, d] lists the facility's variables in the order they were made (w's insertion order), as before.
    for (g, f, d), v in w.items():
        on.setdefault((f, d), []).append(v)
        if f in leads:
            lead_vars.append(v)
    facilities = sorted({f for (_g, f, _d) in w})
    z: dict[tuple[str, int], cp_model.IntVar] = {}
    for f in facilities:
        n = consultants[f]
        for d in range(days):
            z[f, d] = new_var(0, 2 * n, f"z[{f},{d}]")
            m.add(total(on.get((f, d), [])) <= seats * z[f, d])
        m.add(total([z[f, d] for d in range(days)]) <= n * rule.half_days_per_consultant)
    m.minimize(100_000 * total(list(short.values())) + total(lead_vars))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = rule.time_limit_s
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = 0
    st = solver.solve(m)
    if st not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    # The solution read once (solver.value per variable reads it through a helper each time; the same integers).
    solution = list(solver.response_proto.solution)
    values = {key: int(solution[v.index]) for key, v in w.items()}
    return ("OPTIMAL" if st == cp_model.OPTIMAL else "FEASIBLE"), values, facilities


def _fast_counts(order: list[tuple[tuple[str, str], list[str]]], consultants: dict[str, int], leads: set[str],
                 rule: RemoteConsultation) -> dict[tuple[tuple[str, str], str, int], int] | None:
    """The counts w[group, facility, day] of a timetable built directly, when it is provably optimal; else None.

    The bound. Every session a group needs is given by a facility that is not a lead (cost 0), by a lead
    (cost 1) or is missing (cost 100,000), so the objective is at least the sessions of the groups with a
    consulting facility less the most that the non-lead facilities can give, plus 100,000 for each session of a
    group without any (always missing). A facility f with n consultants whose groups have K_f clinics gives at
    most min(need x K_f (each clinic takes `need`), seats x min(n x half_days, 2n x days) (its half-days),
    days x min(K_f, 2n x seats) (a clinic once a day)) sessions: the lower bound sums these.

    The construction. Each facility's duty half-days are spread over the week as evenly as the caps allow
    (min(n x half_days, 2n x days) of them, one more on the earliest days when they do not divide), giving it
    `seats` sessions per half-day. The non-lead facilities first, then the leads (each in name order), take
    their groups in order; a group's sessions still needed go one at a time to the day with the most seats of
    that facility left (ties: the earliest day) on which one of the group's clinics is still free. When the
    objective of what this builds equals the bound, it is optimal (and is returned); otherwise the caller
    solves the CP-SAT model."""
    days, seats, need, per = rule.working_days, rule.sessions_per_half_day, rule.sessions_per_week, \
        rule.half_days_per_consultant
    size: dict[str, int] = {}          # clinics of the groups each facility may consult for
    sourced = unsourced = 0
    for g, members in order:
        srcs = [f for f in g if f]
        for f in srcs:
            size[f] = size.get(f, 0) + len(members)
        if srcs:
            sourced += len(members)
        else:
            unsourced += len(members)
    free_most = 0
    for f, k in size.items():
        if f not in leads:
            n = consultants[f]
            free_most += min(need * k, seats * min(n * per, 2 * n * days), days * min(k, 2 * n * seats))
    bound = 100_000 * need * unsourced + max(0, need * sourced - free_most)
    left_of: dict[str, list[int]] = {}
    for f in size:
        n = consultants[f]
        halves = min(n * per, 2 * n * days)
        left_of[f] = [seats * (halves // days + (d < halves % days)) for d in range(days)]
    counts: dict[tuple[tuple[str, str], str, int], int] = {}
    busy = {g: [0] * days for g, _ in order}      # the group's clinics with a session, per day
    missing = {g: need * len(members) for g, members in order}
    for f in sorted(size, key=lambda f: (f in leads, f)):
        left = left_of[f]
        for g, members in order:
            if f not in g:
                continue
            k, used = len(members), busy[g]
            row = [0] * days
            todo = missing[g]
            while todo:
                best = -1
                for d in range(days):
                    if used[d] < k and left[d] > 0 and (best < 0 or left[d] > left[best]):
                        best = d
                if best < 0:
                    break
                row[best] += 1
                used[best] += 1
                left[best] -= 1
                todo -= 1
            missing[g] = todo
            for d in range(days):
                counts[g, f, d] = row[d]
    value = 100_000 * sum(missing.values()) + sum(v for (_g, f, _d), v in counts.items() if f in leads)
    return counts if value == bound else None


def explain(clinics: list[Clinic], consultants: dict[str, int], rule: RemoteConsultation, tt: Timetable,
            names: dict[str, str]) -> list[tuple[str, Text]]:
    """Per health center with clinics short of sessions: the seats its consultants and its lead have, and the half-days
    where every seat is taken, in rule terms."""
    out: list[tuple[str, Text]] = []
    if not any(tt.missing.values()):
        return out  # nothing short: no center to explain (the loop below would find none)
    seats, cap = rule.sessions_per_half_day, rule.half_days_per_consultant
    used: dict[tuple[str, int, int], int] = {}
    for s in tt.sessions:
        used[s.facility, s.weekday, s.half] = used.get((s.facility, s.weekday, s.half), 0) + 1
    by_center: dict[str, list[Clinic]] = {}
    for c in clinics:
        by_center.setdefault(c.center or c.lead, []).append(c)
    for center, group in sorted(by_center.items()):
        lacking = sum(tt.missing.get(c.clinic, 0) for c in group)
        if not lacking:
            continue
        n = consultants.get(center, 0)
        lead = group[0].lead
        nl = consultants.get(lead, 0) if lead and lead != center else 0
        cname, lname = names.get(center, center), names.get(lead, lead)
        need = rule.sessions_per_week * len(group)
        full = [(d, h) for d in range(1, rule.working_days + 1) for h in (0, 1)
                if used.get((center, d, h), 0) >= seats * n and (not nl or used.get((lead, d, h), 0) >= seats * nl)]
        when = "、".join(half_day_words(d, h).zh for d, h in full[:4])
        when_en = ", ".join(half_day_words(d, h).en for d, h in full[:4])
        short_names = "、".join(names.get(c.clinic, c.clinic) for c in group if tt.missing.get(c.clinic))
        out.append((center, Text(
            f"{cname}: its {len(group)} village clinics need {need} remote sessions a week ({rule.id}, {rule.citation}); "
            f"its {n} consultants give at most {n * cap * seats} ({n} x {cap} half-days x {seats} sessions)"
            + (f", {lname}'s {nl} consultants are fully booked" if nl else ", no lead hospital consultants")
            + (f"; every seat of {when_en} is taken" if full else "") + f": short by {lacking} ({short_names})",
            f"{cname}：所辖{len(group)}个村卫生室每周需远程诊疗{need}次（{rule.id}，{rule.citation}）；本院{n}名会诊医师"
            f"最多{n * cap * seats}次（{n}人×{cap}个半天×{seats}场）"
            + (f"，{lname}{nl}名会诊医师已排满" if nl else "，无牵头医院会诊医师")
            + (f"；{when}的会诊时段已全部排满" if full else "") + f"：缺{lacking}次（{short_names}）")))
    return out
