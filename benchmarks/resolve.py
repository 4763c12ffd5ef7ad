"""One county re-solved after a rule change: through the CLI (a fresh process each time) and through `planner serve`.

    python benchmarks/resolve.py [--county 义乌市] [--runs 10]

Each run changes `county.max_communities` to a value no earlier run used, so the county is
really solved again (the unit cache cannot answer) while the county's region extract, written
by a warm-up run, is reused as a user's second run would. Prints, median of `--runs`:

- the CLI's import time (`import planner.cli`), and the plan command's (`planner.pipeline`);
- `planner plan --region COUNTY --rules FILE --no-maps` and the same with its maps, wall and CPU;
- where one CLI re-solve spends its time (imports, region, solve and services, writing, maps);
- the review server's re-solve of the same county: POST /api/edit then POST /api/solve, and
  the map page drawn for it (GET), in the warm process;
- the same `planner plan` commands run through a warm process (`planner warm start`, opt-in):
  wall, and CPU of the command plus the fork of the warm process that ran it.

The fresh-process runs set PLANNER_WARM=0, so a warm process the user runs does not answer them.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _timed(cmd: list[str], cwd: Path) -> tuple[float, float]:
    cpu0, t0 = _children_cpu(), time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return wall, cpu


def _stats(values: list[float]) -> str:
    return f"median {statistics.median(values):.3f} s (min {min(values):.3f}, max {max(values):.3f}, n={len(values)})"


def _rule_file(folder: Path, bound: int) -> Path:
    path = folder / f"max{bound}.toml"
    path.write_text(f'[policy]\nname = "bench-max{bound}"\nextends = "zhejiang-2026"\n\n[[rule]]\n'
                    f'id = "county.max_communities"\nmax = {bound}\n', encoding="utf-8")
    return path


def bench_baseline(county: str, runs: int, work: Path, baseline: Path) -> dict[str, object]:
    """The same CLI re-solves, alternating between this checkout, `baseline` (another one) and this checkout
    through its warm process, for their ratios."""
    trees = {"this": REPO_ROOT, "baseline": baseline.resolve(), "this-warm": REPO_ROOT}
    env = {name: {**os.environ, "PYTHONPATH": str(tree)} for name, tree in trees.items()}
    out: dict[str, dict[str, list[float]]] = {name: {"wall": [], "cpu": []} for name in trees}
    warm = _Warm(work)  # this checkout's warm process, for the third arm
    try:
        def timed(name: str, cmd: list[str]) -> tuple[float, float]:
            return warm.timed(cmd, work) if name == "this-warm" else _timed_env(cmd, work, env[name])

        for name in trees:  # warm-up: each tree's cache (and region extract, where it makes one)
            timed(name, [PYTHON, "-m", "planner.cli", "plan", "--region", county, "--rules", str(_rule_file(work, 3)),
                         "--out", str(work / f"plan-{name}"), "--quiet", "--no-maps", "--cache-dir",
                         str(work / f"cache-{name}")])
        for i in range(runs):
            for name in trees:
                wall, cpu = timed(name, [PYTHON, "-m", "planner.cli", "plan", "--region", county,
                                         "--rules", str(_rule_file(work, 300 + i)), "--out", str(work / f"plan-{name}"),
                                         "--quiet", "--no-maps", "--cache-dir", str(work / f"cache-{name}")])
                out[name]["wall"].append(wall)
                out[name]["cpu"].append(cpu)
    finally:
        warm.close()
    for name in trees:
        print(f"planner plan --no-maps, {name:9s} wall {_stats(out[name]['wall'])}; "
              f"CPU median {statistics.median(out[name]['cpu']):.3f} s", flush=True)
    for name in ("this", "this-warm"):
        ratio = statistics.median(out[name]["cpu"]) / statistics.median(out["baseline"]["cpu"])
        ratio_w = statistics.median(out[name]["wall"]) / statistics.median(out["baseline"]["wall"])
        print(f"{name} / baseline: CPU x{ratio:.2f}, wall x{ratio_w:.2f} (runs alternated)", flush=True)
    return out


def _timed_env(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    cpu0, t0 = _children_cpu(), time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
    wall, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return wall, cpu


def bench_cli(county: str, runs: int, work: Path) -> dict[str, object]:
    """Import times and `planner plan` re-solves of one county, each in a fresh process."""
    planner = [PYTHON, "-m", "planner.cli"]
    out: dict[str, object] = {}
    for label, code in (("import planner.cli", "import planner.cli"),
                        ("import planner.pipeline", "import planner.cli, planner.pipeline")):
        timed = [_timed([PYTHON, "-c", code], work) for _ in range(runs)]
        walls, cpus = [w for w, _ in timed], [c for _, c in timed]
        out[label] = {"wall": walls, "cpu": cpus}
        print(f"{label:28s} wall {_stats(walls)}; CPU median {statistics.median(cpus):.3f} s", flush=True)
    cache = work / "cache"
    _timed([*planner, "plan", "--region", county, "--rules", str(_rule_file(work, 3)), "--out", str(work / "plan"),
            "--quiet", "--no-maps", "--cache-dir", str(cache)], work)  # warm-up: writes the county's region extract
    for maps in (False, True):
        walls, cpus = [], []
        for i in range(runs):
            bound = 4 + i + (100 if maps else 0)  # a value no run used: the county is solved again
            cmd = [*planner, "plan", "--region", county, "--rules", str(_rule_file(work, bound)),
                   "--out", str(work / "plan"), "--quiet", "--cache-dir", str(cache)]
            cmd += ["--maps-dir", str(work / "maps"), "--tiles", "none"] if maps else ["--no-maps"]
            wall, cpu = _timed(cmd, work)
            walls.append(wall)
            cpus.append(cpu)
        label = "planner plan (with maps)" if maps else "planner plan --no-maps"
        out[label] = {"wall": walls, "cpu": cpus}
        print(f"{label:28s} wall {_stats(walls)}; CPU median {statistics.median(cpus):.3f} s", flush=True)
    return out


_PHASES = r"""
import json, sys, time
T, W = time.process_time, time.perf_counter
marks = [("start", T(), W())]
def mark(name): marks.append((name, T(), W()))
import planner.cli
mark("import planner.cli")
from planner.pipeline import run_plan, write_outputs
from planner.cache import UnitCache
from planner.rulefile import load_rules
from planner import regions
mark("import pipeline (pandas, geopandas, ...)")
rules = load_rules(sys.argv[2])
region = regions.load(sys.argv[1], cache_dir=sys.argv[3])
mark("rules and region (extract)")
result = run_plan(region, rules, cache=UnitCache(sys.argv[3]))
mark("solve, check, dispatch, dialysis")
write_outputs(result, sys.argv[4])
mark("write the plan folder")
from planner.render import render_run
mark("import render (folium)")
render_run(result, sys.argv[5], tiles="none")
mark("draw the maps")
print(json.dumps([(b[0], b[1] - a[1], b[2] - a[2]) for a, b in zip(marks, marks[1:])]))
"""


def bench_phases(county: str, runs: int, work: Path) -> list[tuple[str, float, float]]:
    """Where one CLI-like re-solve spends its time (median over runs, each in a fresh process)."""
    per: dict[str, list[tuple[float, float]]] = {}
    order: list[str] = []
    for i in range(runs):
        rules = _rule_file(work, 200 + i)
        done = subprocess.run([PYTHON, "-c", _PHASES, county, str(rules), str(work / "cache"), str(work / "p"),
                               str(work / "m")], capture_output=True, text=True, cwd=work)
        if done.returncode != 0:
            raise SystemExit(done.stderr[-2000:])
        for name, cpu, wall in json.loads(done.stdout.strip().splitlines()[-1]):
            if name not in per:
                order.append(name)
            per.setdefault(name, []).append((cpu, wall))
    rows = [(name, statistics.median(c for c, _ in per[name]), statistics.median(w for _, w in per[name])) for name in order]
    print("Where one re-solve's time goes (fresh process, median):")
    for name, cpu, wall in rows:
        print(f"  {name:42s} CPU {cpu:6.3f} s   wall {wall:6.3f} s")
    print(f"  {'total':42s} CPU {sum(r[1] for r in rows):6.3f} s   wall {sum(r[2] for r in rows):6.3f} s", flush=True)
    return rows


def bench_serve(county: str, runs: int, work: Path) -> dict[str, list[float]]:
    """The review server's warm re-solve: edit the rule for the county, solve, draw its map page."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([PYTHON, "-m", "planner.cli", "serve", "--port", str(port), "--save-dir", str(work),
                             "--tiles", "none", "--region", county], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, cwd=work)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        if "Review page" not in line:
            raise SystemExit(f"planner serve did not start: {line}")
        base = f"http://127.0.0.1:{port}"
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

        def call(path: str, body: dict | None = None) -> tuple[float, bytes]:
            data = None if body is None else json.dumps({"lang": "en", **body}).encode()
            req = urllib.request.Request(base + path, data=data, headers={"Content-Type": "application/json"})
            t0 = time.perf_counter()
            with opener.open(req, timeout=300) as r:
                payload = r.read()
            return time.perf_counter() - t0, payload

        _, view = call("/api/open", {"region": county, "rules": "zhejiang-2026"})
        unit = json.loads(view)["units"][0]["id"]
        call("/api/solve", {"unit": unit})  # warm-up: the solvers' first use
        out: dict[str, list[float]] = {"edit": [], "solve": [], "map page": []}
        for i in range(runs):
            t_edit, _ = call("/api/edit", {"rule_id": "county.max_communities", "unit": unit,
                                           "values": {"max": str(4 + i)}})
            t_solve, solved = call("/api/solve", {"unit": unit})
            t_map, _ = call(json.loads(solved)["map"])
            out["edit"].append(t_edit)
            out["solve"].append(t_solve)
            out["map page"].append(t_map)
        for key, values in out.items():
            print(f"planner serve {key:16s} {_stats(values)}", flush=True)
        both = [a + b for a, b in zip(out["edit"], out["solve"])]
        print(f"planner serve edit + solve    {_stats(both)}", flush=True)
        out["edit + solve"] = both
        return out
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _proc_cpu(pid: int) -> tuple[float, float]:
    """(own, reaped children's) CPU seconds of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick, (int(fields[13]) + int(fields[14])) / tick


class _Warm:
    """A warm process (planner.warm.server) for this checkout, in `work`, with the CPU of the forks it ran."""

    def __init__(self, work: Path) -> None:
        sys.path.insert(0, str(REPO_ROOT))
        from planner.warm import client

        self.client = client
        self.env = {**os.environ, "PLANNER_WARM_DIR": str(work / "warm")}
        self.env.pop("PLANNER_WARM", None)
        os.environ["PLANNER_WARM_DIR"] = self.env["PLANNER_WARM_DIR"]  # for client.connect() here
        self.proc = subprocess.Popen([PYTHON, "-m", "planner.warm.server"], env=self.env, cwd=work,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if '"ready"' not in line:
            self.close()
            raise SystemExit(f"the warm process did not start: {line}")

    def settled(self) -> float:
        """The warm process's CPU (its own and its reaped forks'), once no command runs in it."""
        while True:
            sock = self.client.connect()
            if sock is None:
                raise SystemExit("the warm process stopped answering")
            with sock:
                self.client.send_message(sock, {"op": "status"})
                status, _ = self.client.recv_message(sock)
            if status and status["running"] == 0:
                return sum(_proc_cpu(self.proc.pid))
            time.sleep(0.05)

    def timed(self, cmd: list[str], cwd: Path) -> tuple[float, float]:
        """Wall and CPU (the command's and its fork's) of a command run through the warm process."""
        before = self.settled()
        wall, cpu = _timed_env(cmd, cwd, self.env)
        return wall, cpu + self.settled() - before

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=60)
        if self.proc.stdout:
            self.proc.stdout.close()


def bench_warm(county: str, runs: int, work: Path) -> dict[str, object]:
    """`planner plan` re-solves through a warm process: wall, and CPU of the command and of the fork that ran it."""
    warm = _Warm(work)
    try:
        planner = [PYTHON, "-m", "planner.cli"]
        cache = work / "cache-warm"
        warm.timed([*planner, "plan", "--region", county, "--rules", str(_rule_file(work, 3)), "--out",
                    str(work / "plan-warm"), "--quiet", "--no-maps", "--cache-dir", str(cache)], work)  # warm-up
        out: dict[str, object] = {}
        for maps in (False, True):
            walls, cpus = [], []
            for i in range(runs):
                bound = 4 + i + (100 if maps else 0)  # as bench_cli: the same solves (its own cache folder)
                cmd = [*planner, "plan", "--region", county, "--rules", str(_rule_file(work, bound)),
                       "--out", str(work / "plan-warm"), "--quiet", "--cache-dir", str(cache)]
                cmd += ["--maps-dir", str(work / "maps-warm"), "--tiles", "none"] if maps else ["--no-maps"]
                wall, cpu = warm.timed(cmd, work)
                walls.append(wall)
                cpus.append(cpu)
            label = "warm: planner plan (with maps)" if maps else "warm: planner plan --no-maps"
            out[label] = {"wall": walls, "cpu": cpus}
            print(f"{label:32s} wall {_stats(walls)}; CPU median {statistics.median(cpus):.3f} s "
                  "(the command and the warm process's fork)", flush=True)
        return out
    finally:
        warm.close()


def main(argv: list[str] | None = None) -> int:
    """Run the measurements; return the exit code."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--county", default="义乌市")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--json", type=Path, default=None, help="Also write the raw figures here.")
    ap.add_argument("--parts", default="cli,phases,serve,warm",
                    help="Which measurements (cli, phases, serve, warm, baseline).")
    ap.add_argument("--baseline", type=Path, default=None,
                    help="Another checkout (e.g. `git archive main`) to compare `planner plan` with, runs alternated.")
    args = ap.parse_args(argv)
    parts = set(args.parts.split(","))
    env_path = str(REPO_ROOT)
    os.environ["PYTHONPATH"] = env_path + (os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else "")
    os.environ["PLANNER_WARM"] = "0"  # fresh processes: a warm process of the user's must not answer
    bytecode = "off (PYTHONDONTWRITEBYTECODE)" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "on"
    print(f"{args.county}: one-county re-solve, {args.runs} runs each; {os.cpu_count()} cores; load average at start "
          f"{_load()}; bytecode cache {bytecode}")
    with tempfile.TemporaryDirectory(prefix="resolve-bench-") as tmp:
        work = Path(tmp)
        figures: dict[str, object] = {}
        if "cli" in parts:
            figures["cli"] = bench_cli(args.county, args.runs, work)
        if "phases" in parts:
            figures["phases"] = bench_phases(args.county, args.runs, work)
        if "serve" in parts:
            figures["serve"] = bench_serve(args.county, args.runs, work)
        if "warm" in parts:
            figures["warm"] = bench_warm(args.county, args.runs, work)
        if "baseline" in parts or args.baseline is not None:
            if args.baseline is None:
                raise SystemExit("--parts baseline needs --baseline DIR")
            figures["baseline"] = bench_baseline(args.county, args.runs, work, args.baseline)
    print(f"load average at end {_load()}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
