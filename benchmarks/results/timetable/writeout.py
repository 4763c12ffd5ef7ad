"""Plan a region with the tree on the path and write its plan folder (for a file-by-file comparison)."""
import sys
from pathlib import Path
from planner import regions
from planner.pipeline import run_plan, write_outputs
from planner.planning import SolveOptions
from planner.rulefile import load_rules
region, out, jobs = sys.argv[1], sys.argv[2], int(sys.argv[3])
result = run_plan(regions.load(region), load_rules("zhejiang-2026"), SolveOptions(), jobs=jobs)
write_outputs(result, Path(out))
print("written", out)
