"""Is a unit's optimal plan its only optimal plan? Solve (tree contiguity), then ask for another plan at most as costly."""
import pickle, sys, time
from planner.planning import build_model
from planner.milp import Status
for path in sys.argv[1].split(","):
    units, rules = pickle.load(open(path, "rb"))
    for u in units:
        dm = build_model(u, rules.rules, contiguity="tree")
        t = time.process_time()
        sol = dm.solve("cpsat", time_limit_s=3000)
        assert sol.status is Status.OPTIMAL
        ones = {v.index: 1 for k, v in dm.x.items() if sol.value(v) > 0.5}
        dm.add_cutoff(sol.objective)
        dm.model.add_coefs(dict(ones), ub=len(ones) - 1, name="nogood", group="nogood")
        other = dm.solve("cpsat", time_limit_s=3000)
        print(u.id, u.name, sol.objective, "another plan as cheap:", other.status.value, other.objective, "cpu %.1f" % (time.process_time() - t), flush=True)
