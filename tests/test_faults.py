"""Faults: a run killed mid-write, a run interrupted with Ctrl-C, two runs on one folder, a time limit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from planner import regions
from planner.milp import Status
from planner.pipeline import run_plan
from planner.planning import SolveOptions
from planner.rulefile import load_rules

REPO = Path(__file__).resolve().parents[1]

# Run the CLI with one function slowed down, so a test can act at a known moment.
DRIVER = """
import sys, time
import {module} as m
orig = m.{name}
def slow(*a, **k):
    time.sleep({seconds})
    return orig(*a, **k)
m.{name} = slow
from planner.cli import main
sys.argv = ["planner"] + sys.argv[1:]
main()
"""


def spawn(args: list[str], cwd: Path, slow: tuple[str, str, float] | None = None) -> subprocess.Popen:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    if slow is None:
        cmd = [sys.executable, "-m", "planner.cli", *args]
    else:
        module, name, seconds = slow
        cmd = [sys.executable, "-c", DRIVER.format(module=module, name=name, seconds=seconds), *args]
    # A shell without job control starts background commands with SIGINT ignored, and the
    # children inherit that: give the run the default disposition a terminal's Ctrl-C meets.
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_sigint)


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def finish(p: subprocess.Popen, timeout_s: float = 300) -> tuple[int, str, str]:
    """Wait for a process and close its pipes; (exit status, stdout, stderr)."""
    out, err = p.communicate(timeout=timeout_s)
    return p.returncode, out, err


def one_community_rules(folder: Path) -> Path:
    path = folder / "one.toml"
    path.write_text('[policy]\nname = "one"\nextends = "zhejiang-2026"\n[[rule]]\nid = "county.max_communities"\nmax = 1\n',
                    encoding="utf-8")
    return path


def assert_complete(out: Path) -> dict:
    """The plan folder is whole: every file there, plan.json readable and agreeing with the CSV."""
    names = {p.name for p in out.iterdir()}
    assert {"plan.json", "assignments.csv", "communities.csv", "plan.gpkg", "check.txt", "run.json"} <= names, names
    doc = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    leads = {c["lead"] for u in doc["units"] for c in u["communities"]}
    csv_leads = {line.split(",")[5] for line in (out / "assignments.csv").read_text(encoding="utf-8-sig").splitlines()[1:]}
    assert leads == csv_leads
    return doc


def wait_for(predicate, timeout_s: float = 120.0) -> None:
    end = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def test_a_run_killed_while_writing_leaves_the_previous_plan_intact(tmp_path: Path) -> None:
    out = tmp_path / "plan"
    first = spawn(["plan", "--region", "义乌市", "--out", str(out), "--no-cache", "--quiet", "--no-maps"], tmp_path)
    code, _, err = finish(first)
    assert code == 0, err
    before = assert_complete(out)
    rules = one_community_rules(tmp_path)
    victim = spawn(["plan", "--region", "义乌市", "--rules", str(rules), "--out", str(out), "--no-cache", "--quiet", "--no-maps"],
                   tmp_path, slow=("planner.io", "write_csv", 0.4))
    # The new plan is being written into a hidden folder beside the old one: kill it there.
    wait_for(lambda: any(p.name.startswith(".plan.") and (p / "plan.json").exists() for p in tmp_path.iterdir()))
    victim.send_signal(signal.SIGKILL)
    finish(victim, 60)
    after = assert_complete(out)
    assert after == before and after["rules"] == "zhejiang-2026"


def test_ctrl_c_keeps_the_solved_counties_for_the_next_run(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    args = ["plan", "--region", "金华市", "--out", str(tmp_path / "plan"), "--cache-dir", str(cache), "--quiet"]
    run = spawn(args, tmp_path, slow=("planner.planning", "solve_unit", 0.5))
    wait_for(lambda: cache.exists() and len(list(cache.rglob("*.json"))) >= 3)
    cached_at_signal = len(list(cache.rglob("*.json")))
    run.send_signal(signal.SIGINT)
    code, out, err = finish(run, 60)
    assert code == 130, f"exit {code} with {cached_at_signal} units cached at the signal; stdout: {out!r}; stderr: {err!r}"
    assert "Interrupted. Counties solved so far are kept in the cache" in err and "Traceback" not in err
    assert not (tmp_path / "plan").exists()
    kept = len(list(cache.rglob("*.json")))
    code, out, err = finish(spawn(args, tmp_path))
    assert code == 0, err
    reused = int(out.split("Solved ")[1].split(" units, reused ")[1].split(" ")[0])
    assert reused == kept >= 3


def test_two_runs_writing_one_folder_do_not_corrupt_it(tmp_path: Path) -> None:
    out = tmp_path / "plan"
    rules = one_community_rules(tmp_path)
    a = spawn(["plan", "--region", "义乌市", "--out", str(out), "--no-cache", "--quiet", "--no-maps"], tmp_path)
    b = spawn(["plan", "--region", "义乌市", "--rules", str(rules), "--out", str(out), "--no-cache", "--quiet", "--no-maps"], tmp_path)
    assert finish(a)[0] == 0 and finish(b)[0] == 0
    doc = assert_complete(out)
    assert doc["rules"] in ("zhejiang-2026", "one")


def test_a_time_limited_unit_keeps_its_best_plan_with_its_gap() -> None:
    region = regions.load("贵阳市")
    result = run_plan(region, load_rules("guizhou-2024"), SolveOptions(time_limit_s=0.05), services=False)
    grid = result.plan.units["city:520100"]
    assert grid.status in (Status.FEASIBLE, Status.NO_SOLUTION)
    if grid.status is Status.FEASIBLE:
        assert grid.communities and grid.gap is not None and grid.gap > 0 and grid.bound < grid.objective
    else:
        assert grid.explanation == ("贵阳市（城市网格）: no plan found within 0.05 s",)
    proven = run_plan(region, load_rules("guizhou-2024"), SolveOptions(), services=False).plan.units["city:520100"]
    assert proven.status is Status.OPTIMAL
    if grid.status is Status.FEASIBLE:
        assert grid.objective >= proven.objective - 1e-6 and grid.bound <= proven.objective + 1e-6


@pytest.mark.parametrize("region", ["义乌市", None])  # None: the default region, 浙江省
def test_repeated_runs_write_byte_identical_plan_files(tmp_path: Path, region: str | None) -> None:
    # The two runs go side by side (two processes, no shared cache): same inputs, same bytes.
    where = [] if region is None else ["--region", region]
    outs = [tmp_path / f"plan{k}" for k in range(2)]
    procs = [spawn(["plan", *where, "--out", str(out), "--no-cache", "--quiet", "--no-maps"], tmp_path) for out in outs]
    for p in procs:
        code, _, err = finish(p)
        assert code == 0, err
    names = sorted(p.name for p in outs[0].iterdir())
    assert names == sorted(p.name for p in outs[1].iterdir())
    for name in names:
        if name != "run.json":  # timings only
            assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
