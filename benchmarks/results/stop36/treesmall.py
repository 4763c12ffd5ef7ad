"""Units with <= N open candidates solved with flow contiguity (as now) and with tree contiguity: CPU and plans."""
import sys, time
from planner import regions
from planner.rulefile import load_rules
from planner.planning import region_units, build_model, _tree_fallback
from planner.milp import Status
reg = regions.load("全国"); rules = load_rules("zhejiang-2026")
units = region_units(reg, rules)
sel = []
for u in units:
    dm = build_model(u, rules.rules)
    if len(u.candidates) - len(dm.closed) == int(sys.argv[1]) and _tree_fallback(dm):
        sel.append(u)
print(len(sel), "units")
res = {}
for form in ("flow", "tree"):
    t = time.process_time(); out = []
    for u in sel:
        dm = build_model(u, rules.rules, contiguity=form)
        sol = dm.solve("cpsat", time_limit_s=60, threads=1)
        out.append((sol.status, round(sol.objective or 0), tuple(sorted((f, tuple(m)) for f, m in dm.groups_of(sol).items())) if sol.status is Status.OPTIMAL else ()))
    dt = time.process_time() - t
    same = sum(a == b for a, b in zip(out, res.get("flow", out)))
    sameobj = sum(a[:2] == b[:2] for a, b in zip(out, res.get("flow", out)))
    res.setdefault(form, out)
    print(form, f"cpu {dt:.2f}", "same plan as flow", same, "same objective", sameobj, flush=True)
for u, a, b in zip(sel, res["flow"], res["tree"]):
    if a[:2] != b[:2]:
        print(u.id, u.name, "flow", a[0].name, a[1], "tree", b[0].name, b[1], len(u.townships))
