"""Every unit's solve, one at a time, province by province: CPU of building, of the CP-SAT text, of CP-SAT, its
deterministic time, and a digest of the unit's plan (status, objective, communities, explanation).

    PYTHONPATH=/tmp/base python benchmarks/unit_profile.py --regions all > /tmp/base.jsonl   # a frozen checkout
    PYTHONPATH=/tmp/this python benchmarks/unit_profile.py --regions all > /tmp/this.jsonl
    python benchmarks/unit_profile.py --compare /tmp/base.jsonl /tmp/this.jsonl

One JSON line per unit (so a run on a loaded machine can be read while it goes). `--compare` prints the units
whose plans differ and the totals of both runs. The whole country (31 provinces, 2,847 units) takes about
two minutes of CPU; provinces load one at a time, so memory stays that of the largest province.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections import Counter


def profile(region_names: list[str], rules_name: str) -> None:
    """Solve every unit of each region with solve_unit and print its line."""
    from ortools.sat.python import cp_model

    from planner import milp, planning, regions
    from planner.planning import SolveOptions, region_units, solve_unit
    from planner.rulefile import load_rules

    rec: Counter = Counter()

    def timed(key: str, fn):
        def wrapper(*args, **kwargs):
            t = time.process_time()
            out = fn(*args, **kwargs)
            rec[key] += time.process_time() - t
            return out
        return wrapper

    milp._cpsat_model_text = timed("text", milp._cpsat_model_text)
    planning.build_model = timed("build", planning.build_model)
    if hasattr(milp, "_cpsat_response"):   # the solver's entry since milp stopped going through CpSolver
        response = milp._cpsat_response

        def cpsat_response(proto, params):
            t = time.process_time()
            out = response(proto, params)
            rec["cpsat"] += time.process_time() - t
            rec["det"] += out.deterministic_time
            return out

        milp._cpsat_response = cpsat_response
    else:
        solve = cp_model.CpSolver.solve

        def cpsat(self, model, *args, **kwargs):
            t = time.process_time()
            out = solve(self, model, *args, **kwargs)
            rec["cpsat"] += time.process_time() - t
            rec["det"] += self.response_proto.deterministic_time
            return out

        cp_model.CpSolver.solve = cpsat
    rules = load_rules(rules_name)
    names = list(dict.fromkeys(regions.catalog().province_name)) if region_names == ["all"] else region_names
    for name in names:
        for u in region_units(regions.load(name), rules):
            rec.clear()
            t = time.process_time()
            up = solve_unit(u, tuple(rules.rules), SolveOptions())
            total = time.process_time() - t
            row = [up.unit, up.status.value, up.objective, [(c.lead, c.townships) for c in up.communities], up.explanation]
            digest = hashlib.sha256(json.dumps(row, ensure_ascii=False, default=str).encode()).hexdigest()[:16]
            print(json.dumps(dict(region=name, unit=u.id, name=u.name, n=len(u.townships), m=len(u.candidates),
                                  status=up.status.value, obj=up.objective, total=round(total, 4),
                                  **{k: round(v, 4) for k, v in rec.items()}, digest=digest), ensure_ascii=False), flush=True)


def compare(a_path: str, b_path: str) -> None:
    """Units whose plans differ between two runs, and both runs' totals."""
    a = {r["unit"]: r for r in map(json.loads, open(a_path, encoding="utf-8"))}
    b = {r["unit"]: r for r in map(json.loads, open(b_path, encoding="utf-8"))}
    common = [u for u in a if u in b]
    print(f"{len(common)} units in both; statuses {dict(Counter(b[u]['status'] for u in common))}")
    for u in common:
        if a[u]["digest"] != b[u]["digest"]:
            print(f"  differs: {u} {a[u]['name']}: {a[u]['status']} {a[u]['obj']} -> {b[u]['status']} {b[u]['obj']}")
    for key in ("total", "build", "text", "cpsat", "det"):
        print(f"  {key}: {sum(a[u].get(key, 0) for u in common):.2f} -> {sum(b[u].get(key, 0) for u in common):.2f}")
    heavy = sorted(common, key=lambda u: -a[u].get("det", 0))[:8]
    for u in heavy:
        print(f"  {u} {a[u]['name']}: CPU {a[u]['total']:.2f} -> {b[u]['total']:.2f} s, "
              f"deterministic {a[u].get('det', 0):.2f} -> {b[u].get('det', 0):.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--regions", default="浙江省", help="comma-separated region names, or all (every province)")
    ap.add_argument("--rules", default="zhejiang-2026")
    ap.add_argument("--compare", nargs=2, metavar=("A", "B"), help="compare two runs' output")
    args = ap.parse_args()
    if args.compare:
        compare(*args.compare)
    else:
        profile(args.regions.split(","), args.rules)


if __name__ == "__main__":
    main()
