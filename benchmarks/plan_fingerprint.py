"""Fingerprint a region's plan (communities per county, objectives, roster, dialysis, every CSV) to prove a speed-up kept it.

    python benchmarks/plan_fingerprint.py --region 浙江省 --save benchmarks/results/fingerprint_zhejiang.json
    python benchmarks/plan_fingerprint.py --region 浙江省 --check benchmarks/results/fingerprint_zhejiang.json

--save writes the fingerprint of the current code's plan; --check plans again and compares,
printing every difference and exiting 1 if there is one. The fingerprint holds, per unit, its
status, objective and communities (lead and townships); the roster and dialysis sites; and the
SHA-256 of every text file of the plan folder (tables, reports, GeoJSON; run.json and plan.json
carry timings and are left out) and of every workbook's cell values.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path


TEXT_SUFFIXES = {".csv", ".html", ".md", ".txt", ".geojson"}
VARYING = {"run.json", "plan.json"}


def _xlsx_digest(path: Path) -> str:
    """SHA-256 of a workbook's sheet names and cell values (not its bytes, which depend on the writer)."""
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    h = hashlib.sha256()
    for ws in wb.worksheets:
        h.update(repr(ws.title).encode())
        for row in ws.iter_rows(values_only=True):
            row = list(row)
            while row and row[-1] is None:   # a blank cell written or not reads the same
                row.pop()
            h.update(repr(row).encode())
    return h.hexdigest()


def fingerprint(region_spec: str, rules_name: str, jobs: int) -> dict:
    """The fingerprint of a fresh plan of the region under the rules."""
    from planner import regions
    from planner.pipeline import run_plan
    from planner.planning import SolveOptions
    from planner.rulefile import load_rules

    result = run_plan(regions.load(region_spec), load_rules(rules_name), SolveOptions(), jobs=jobs)
    return {"region": region_spec, "rules": rules_name, **result_fingerprint(result)}


def result_fingerprint(result) -> dict:
    """The fingerprint of a planned run (a `RunResult`): its units, roster, dialysis and written files."""
    from planner.pipeline import write_outputs

    units = {u.unit: {"status": u.status.value if u.status else None, "objective": u.objective,
                      "communities": [[c.lead, list(c.townships)] for c in u.communities]}
             for u in result.plan.units.values()}
    roster = sorted(json.dumps([r.city, row.role, row.community, row.source, row.target, row.title, row.specialty,
                                row.count, round(row.travel_min, 6), row.borrowed], ensure_ascii=False)
                    for r in result.dispatch for row in r.rows)
    dialysis = {d.county: sorted(d.sites) for d in result.dialysis}
    with tempfile.TemporaryDirectory() as tmp:
        out = write_outputs(result, Path(tmp) / "plan")
        files = {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                 for p in sorted(out.rglob("*")) if p.suffix in TEXT_SUFFIXES and p.name not in VARYING}
        files.update({p.relative_to(out).as_posix(): _xlsx_digest(p) for p in sorted(out.rglob("*.xlsx"))})
    return {"units": units, "roster_sha256": hashlib.sha256("\n".join(roster).encode()).hexdigest(),
            "roster_rows": len(roster), "dialysis": dialysis, "files_sha256": files}


def diff(old: dict, new: dict) -> list[str]:
    """What differs between two fingerprints, one line each."""
    out = []
    for uid in sorted(set(old["units"]) | set(new["units"])):
        a, b = old["units"].get(uid), new["units"].get(uid)
        if a != b:
            out.append(f"unit {uid}: {a} != {b}")
    for key in ("roster_sha256", "roster_rows", "dialysis"):
        if old[key] != new[key]:
            out.append(f"{key} differs")
    for name in sorted(set(old["files_sha256"]) | set(new["files_sha256"])):
        if old["files_sha256"].get(name) != new["files_sha256"].get(name):
            out.append(f"{name} differs")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    # No defaults here: with --check they come from the saved file (a 河南省 file checked against a 浙江省 plan
    # reported hundreds of false differences), with --save they are 浙江省 and zhejiang-2026.
    ap.add_argument("--region", help="default: the checked file's region, else 浙江省")
    ap.add_argument("--rules", help="default: the checked file's rules, else zhejiang-2026")
    ap.add_argument("--jobs", type=int, default=1)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--save")
    g.add_argument("--check")
    args = ap.parse_args()
    saved = json.loads(Path(args.check).read_text(encoding="utf-8")) if args.check else {}
    region = args.region or saved.get("region", "浙江省")
    rules = args.rules or saved.get("rules", "zhejiang-2026")
    fp = fingerprint(region, rules, args.jobs)
    if args.save:
        Path(args.save).write_text(json.dumps(fp, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")
        print(f"saved: {len(fp['units'])} units, {fp['roster_rows']} roster rows, {len(fp['files_sha256'])} files")
        return
    problems = diff(saved, fp)
    for line in problems:
        print(line)
    print(f"{len(fp['units'])} units, {fp['roster_rows']} roster rows, {len(fp['files_sha256'])} files: "
          + ("IDENTICAL" if not problems else f"{len(problems)} differences"))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
