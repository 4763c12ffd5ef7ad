"""plan_fingerprint's comparison for a pickled RunResult (the run as planned then), written by the code on PYTHONPATH."""
import json, pickle, sys
from pathlib import Path
sys.path.insert(0, sys.argv[3])
import plan_fingerprint as pf
result = pickle.load(open(sys.argv[1], "rb"))
fp = pf.result_fingerprint(result)
problems = pf.diff(json.loads(Path(sys.argv[2]).read_text(encoding="utf-8")), fp)
print(*problems, sep="\n")
print(f"{len(fp['units'])} units, {fp['roster_rows']} roster rows, {len(fp['files_sha256'])} files: " + ("IDENTICAL" if not problems else f"{len(problems)} differences"))
