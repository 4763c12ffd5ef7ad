import time
c0 = time.process_time()
import numpy, pandas, geopandas, networkx, pydantic, pyogrio, shapely, pyproj, tomllib
c1 = time.process_time()
from planner import regions
from planner.pipeline import run_plan, write_outputs
from planner.planning import SolveOptions
from planner.rulefile import load_rules
c2 = time.process_time()
import sys
print(f"third-party {c1-c0:.3f} planner {c2-c1:.3f}", len([m for m in sys.modules if m.startswith("planner")]))
