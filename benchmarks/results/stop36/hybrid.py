"""CP-SAT options only for units with few open candidates, on every unit of a region: CPU and plans against the base (the second version; experiments.txt item 3)."""
import time, sys
from planner import regions
from planner.rulefile import load_rules
from planner.planning import region_units, SolveOptions, solve_unit
import planner.planning as P
reg = regions.load(sys.argv[1]); rules = load_rules("zhejiang-2026")
units = region_units(reg, rules)
orig = P.build_model
def variant(extra, maxopen):
    def bm(unit, rules, **kw):
        dm = orig(unit, rules, **kw)
        if len(unit.candidates) - len(dm.closed) <= maxopen and not kw.get("contiguity") == "tree":
            dm.model.cpsat_options.update(extra)
        return dm
    return bm
sigs = {}
for name, extra, mo in [("lin2<=2", {"linearization_level": 2}, 2), ("base", {}, 0), ("lin2all", {"linearization_level": 2}, 99), ("lin2<=4", {"linearization_level": 2}, 4)]:
    P.build_model = variant(extra, mo)
    t = time.process_time(); out = [solve_unit(u, rules.rules, SolveOptions()) for u in units]; dt = time.process_time() - t
    sig = [(o.status.name, o.objective, tuple(c.townships for c in o.communities), o.explanation) for o in out]
    sigs[name] = sig
    r = sigs.get("base", sig)
    diff = [u.id for u, a, b in zip(units, sig, r) if a != b]
    print(f"{name:14s} cpu {dt:6.2f}  solver {sum(o.time_s for o in out):6.2f}  differ {len(diff)} {diff[:5]}", flush=True)
print("lin2<=2 vs base differ", sum(a != b for a, b in zip(sigs["lin2<=2"], sigs["base"])))
