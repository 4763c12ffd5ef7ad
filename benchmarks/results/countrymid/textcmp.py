# the new text model equals the old code's CpModel proto on every unit of a region
import sys, time, importlib.util
from planner import regions, milp
from planner.planning import build_model, region_units
from planner.rulefile import load_rules
spec = importlib.util.spec_from_file_location("oldmilp", "" + sys.argv[2] + "/planner/milp.py", submodule_search_locations=None)
import planner
old = importlib.util.module_from_spec(spec); old.__package__ = "planner"; sys.modules["oldmilp"] = old; spec.loader.exec_module(old)
rules = load_rules("zhejiang-2026")
units = region_units(regions.load(sys.argv[1]), rules)
ms = [build_model(u, rules.rules).model for u in units]
t_old = t_new = 0.0; same = 0
for m in ms:
    c = time.process_time(); a = old._cpsat_model_text(m).proto; t_old += time.process_time() - c
    c = time.process_time(); b = milp._cpsat_model_text(m); t_new += time.process_time() - c
    same += str(a) == str(b)
print(f"{same}/{len(ms)} identical protos; old {t_old:.3f} s new {t_new:.3f} s")
