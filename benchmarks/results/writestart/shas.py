"""Write the pickled run's plan folder with the code on PYTHONPATH; print a JSON of file -> sha256."""
import hashlib, json, pickle, sys, tempfile
from pathlib import Path
import planner.pipeline as pipeline
res = pickle.load(open(sys.argv[1], "rb"))
jobs = int(sys.argv[3]) if len(sys.argv) > 3 else 1
with tempfile.TemporaryDirectory() as tmp:
    pipeline.write_outputs(res, Path(tmp) / "plan", jobs=jobs)
    out = {str(p.relative_to(Path(tmp) / "plan")): hashlib.sha256(p.read_bytes()).hexdigest()
           for p in sorted((Path(tmp) / "plan").rglob("*")) if p.is_file()}
Path(sys.argv[2]).write_text(json.dumps(out, indent=1))
