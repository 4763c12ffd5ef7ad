"""reach_within of main (/tmp/accessdispatch_base) against this tree's on the country's seats and centers: equal, CPU."""
import importlib.util, sys, time
import numpy as np
from planner import regions
from planner.access.check import reach_within, _bool
from planner.travel import Points, TravelModel
from planner.rulefile import load_rules
spec = importlib.util.spec_from_file_location("base_check", "/tmp/accessdispatch_base/planner/access/check.py",
                                              submodule_search_locations=None)
src = open("/tmp/accessdispatch_base/planner/access/check.py").read()
ns = {"__name__": "planner.access.base_check", "__package__": "planner.access"}
exec(compile(src, "base_check.py", "exec"), ns)
base_reach = ns["reach_within"]
region = regions.load(sys.argv[1])
rules = load_rules("zhejiang-2026")
rule = next(r for r in rules.rules if r.kind == "emergency_centers")
travel = TravelModel(rules.travel.detour_factor, rules.travel.speed_kph)
towns, fac = region.townships, region.facilities
seats = Points.from_xy(list(towns.index), towns["seat_lon"], towns["seat_lat"])
tb = tn = 0.0
for rnd in range(2):
    for center in rule.centers:
        runs = fac[_bool(fac[center].astype(object))]
        dest = Points.from_xy(list(runs.index), runs.geometry.x, runs.geometry.y)
        t = time.process_time(); a = base_reach(travel, seats, dest, rule.max_minutes); tb += time.process_time() - t
        t = time.process_time(); b = reach_within(travel, seats, dest, rule.max_minutes); tn += time.process_time() - t
        if rnd == 0:
            print(center, len(dest), int(a.sum()), "equal" if np.array_equal(a, b) else "DIFFERENT")
print(f"CPU s, two rounds of {len(rule.centers)} centers: main {tb:.2f}, this {tn:.2f}")
