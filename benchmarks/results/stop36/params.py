"""CP-SAT options added to UNIT_CPSAT_OPTIONS on every Nth unit of a region: CPU and plans against the base."""
import time, sys
from planner import regions
from planner.rulefile import load_rules
from planner.planning import region_units, SolveOptions, solve_unit
import planner.planning as P
reg = regions.load(sys.argv[1]); rules = load_rules("zhejiang-2026")
units = region_units(reg, rules)
units = [u for u in units][:: int(sys.argv[2])]
print(len(units), "units")
base_opts = dict(P.UNIT_CPSAT_OPTIONS)
variants = {"base": {}, "lin0": {"linearization_level": 0}, "sym0": {"symmetry_level": 0},
            "nopresolve": {"cp_model_presolve": False}, "lin2": {"linearization_level": 2},
            "noprobe_all": {"symmetry_level": 0, "max_presolve_iterations": 0} }
ref = None
for name, extra in variants.items():
    P.UNIT_CPSAT_OPTIONS.clear(); P.UNIT_CPSAT_OPTIONS.update(base_opts); P.UNIT_CPSAT_OPTIONS.update(extra)
    t = time.process_time(); out = [solve_unit(u, rules.rules, SolveOptions()) for u in units]; dt = time.process_time() - t
    sig = [(o.status.name, o.objective, tuple(c.townships for c in o.communities)) for o in out]
    if ref is None: ref = sig
    same_obj = sum(a[:2] == b[:2] for a, b in zip(sig, ref)); same_plan = sum(a == b for a, b in zip(sig, ref))
    print(f"{name:12s} cpu {dt:6.2f}  solver {sum(o.time_s for o in out):6.2f}  same objective {same_obj}/{len(out)}  same plan {same_plan}", flush=True)
