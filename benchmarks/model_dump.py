"""Dump every unit's community model of a region (variables, constraints, objective) and print its SHA-256.

    PYTHONPATH=OLD_CHECKOUT python benchmarks/model_dump.py 浙江省 /tmp/old.pkl   # the other code's models
    python benchmarks/model_dump.py 浙江省 /tmp/new.pkl                            # equal digests: identical models
"""
import hashlib
import pickle
import sys
import time

from planner import regions
from planner.pipeline import contiguity_graph
from planner.planning import build_model
from planner.rulefile import load_rules
from planner.travel import TravelModel
from planner.units import build_units

region = regions.load(sys.argv[1])
rules = load_rules("zhejiang-2026")
travel = TravelModel(rules.travel.detour_factor, rules.travel.speed_kph)
units = build_units(region, rules.rules, travel, contiguity_graph(region.townships, region.counties))
t0 = time.perf_counter()
models = [build_model(u, rules.rules).model for u in units]
print(f"build_model x{len(units)}: {time.perf_counter() - t0:.2f} s", file=sys.stderr)
out = [([(v.name, v.lb, v.ub, v.integer, v.relaxable) for v in m.vars],
        [(list(c.coefs.items()), c.lb, c.ub, c.name, c.group) for c in m.constraints],
        list(m.objective.items()), m.objective_constant) for m in models]
data = pickle.dumps(out)
open(sys.argv[2], "wb").write(data)
print(hashlib.sha256(data).hexdigest())
