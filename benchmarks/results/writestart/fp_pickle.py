"""plan_fingerprint's comparison for a pickled RunResult (the run as planned then), written by the code on PYTHONPATH."""
import hashlib, json, pickle, sys, tempfile
from pathlib import Path
sys.path.insert(0, sys.argv[3])
import plan_fingerprint as pf
from planner.pipeline import write_outputs
result = pickle.load(open(sys.argv[1], "rb"))
units = {u.unit: {"status": u.status.value if u.status else None, "objective": u.objective,
                  "communities": [[c.lead, list(c.townships)] for c in u.communities]} for u in result.plan.units.values()}
roster = sorted(json.dumps([r.city, row.role, row.community, row.source, row.target, row.title, row.specialty,
                            row.count, round(row.travel_min, 6), row.borrowed], ensure_ascii=False)
                for r in result.dispatch for row in r.rows)
dialysis = {d.county: sorted(d.sites) for d in result.dialysis}
with tempfile.TemporaryDirectory() as tmp:
    out = write_outputs(result, Path(tmp) / "plan")
    files = {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted(out.rglob("*")) if p.suffix in pf.TEXT_SUFFIXES and p.name not in pf.VARYING}
    files.update({p.relative_to(out).as_posix(): pf._xlsx_digest(p) for p in sorted(out.rglob("*.xlsx"))})
fp = {"units": units, "roster_sha256": hashlib.sha256("\n".join(roster).encode()).hexdigest(), "roster_rows": len(roster),
      "dialysis": dialysis, "files_sha256": files}
problems = pf.diff(json.loads(Path(sys.argv[2]).read_text(encoding="utf-8")), fp)
print(*problems, sep="\n")
print(f"{len(units)} units, {len(roster)} roster rows, {len(files)} files: " + ("IDENTICAL" if not problems else f"{len(problems)} differences"))
