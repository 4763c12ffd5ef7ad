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


# --- outputs the planner may replace, and publishing a run's plan and maps together (planner.publish) -----------

# Run the CLI with one function paused at its `at`-th call: it touches `flag` (so the test knows the moment),
# then sleeps `seconds` or, with a `gate`, waits until that file exists; then it runs as usual.
PAUSED = """
import os, sys, time
import {module} as m
orig, calls = m.{name}, []
def paused(*a, **k):
    calls.append(1)
    if len(calls) == {at}:
        open({flag!r}, "w").close()
        end = time.monotonic() + {seconds}
        while time.monotonic() < end and not ({gate!r} and os.path.exists({gate!r})):
            time.sleep(0.05)
    return orig(*a, **k)
m.{name} = paused
from planner.cli import main
sys.argv = ["planner"] + sys.argv[1:]
main()
"""


def spawn_paused(args: list[str], cwd: Path, module: str, name: str, *, at: int = 1, seconds: float = 120,
                 gate: Path | None = None, stderr_file: Path | None = None) -> tuple[subprocess.Popen, Path]:
    flag = cwd / f"reached-{name}-{at}-{time.monotonic_ns()}"
    code = PAUSED.format(module=module, name=name, at=at, flag=str(flag), seconds=seconds, gate=str(gate or ""))
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "PLANNER_LANG": "en"}
    err = open(stderr_file, "w") if stderr_file else subprocess.PIPE  # noqa: SIM115  (closed by the caller's finish)
    p = subprocess.Popen([sys.executable, "-c", code, *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=err,
                         text=True, preexec_fn=_default_sigint)
    if stderr_file:
        err.close()  # the child has its own copy
    return p, flag


PAIR = ["--region", "义乌市", "--out", "plans/x", "--maps-dir", "maps/x", "--no-cache", "--quiet", "--tiles", "none"]


@pytest.fixture(scope="module")
def published_pair(tmp_path_factory) -> Path:
    """A folder holding one run's plan (plans/x) and maps (maps/x), published by `planner plan`, and one.toml."""
    home = tmp_path_factory.mktemp("pair")
    code, _, err = finish(spawn(["plan", *PAIR], home))
    assert code == 0, err
    one_community_rules(home)
    return home


def pair_copy(published_pair: Path, tmp_path: Path) -> Path:
    import shutil

    home = tmp_path / "run"
    shutil.copytree(published_pair, home, symlinks=True)
    return home


def run_ids(home: Path) -> tuple[str, str, str]:
    """(plan.json's run id, the plan folder marker's, the maps folder marker's)."""
    from planner.publish import read_marker

    doc = json.loads((home / "plans/x/plan.json").read_text(encoding="utf-8"))
    return doc["meta"]["run_id"], read_marker(home / "plans/x")["run_id"], read_marker(home / "maps/x")["run_id"]


def test_outputs_that_are_not_the_planners_are_refused_and_kept(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "keep.txt").write_text("my notes", encoding="utf-8")
    (tmp_path / "in").mkdir()
    fac = tmp_path / "in" / "facilities.csv"
    fac.write_text("facility_id,name\n", encoding="utf-8")
    cases = [(["--out", str(mine)], "mine: --out is a folder with files the planner did not write"),
             (["--facilities", str(fac), "--out", str(tmp_path / "in")], "in: --out holds the --facilities file"),
             (["--out", str(tmp_path / "p"), "--maps-dir", str(tmp_path / "p")], "p: --maps-dir is the same folder as --out")]
    for args, message in cases:
        before = sorted((str(p), p.read_bytes()) for p in tmp_path.rglob("*") if p.is_file())
        code, out, err = finish(spawn(["plan", "--region", "义乌市", "--quiet", "--no-cache", *args], tmp_path), 120)
        assert code == 2 and message in err and "Traceback" not in err, err
        assert len(err.strip().splitlines()) == 1, err
        assert sorted((str(p), p.read_bytes()) for p in tmp_path.rglob("*") if p.is_file()) == before   # nothing touched


@pytest.mark.parametrize("phase", ["plan", "maps", "swap"])
def test_a_kill_while_publishing_leaves_one_runs_pair_or_says_which_part_is_new(
        published_pair: Path, tmp_path: Path, phase: str) -> None:
    home = pair_copy(published_pair, tmp_path)
    old = run_ids(home)
    assert len(set(old)) == 1
    where = {"plan": ("planner.io", "write_csv", 3), "maps": ("planner.render", "render_run", 1),
             "swap": ("planner.publish", "_swap", 2)}[phase]   # the second swap: the plan's link is already new
    victim, flag = spawn_paused(["plan", *PAIR, "--rules", "one.toml"], home, where[0], where[1], at=where[2])
    wait_for(flag.exists, 300)
    victim.send_signal(signal.SIGKILL)
    finish(victim, 60)
    from planner.publish import journal_state

    if phase != "swap":
        assert run_ids(home) == old and journal_state(home / "plans/x") is None
    else:
        new_plan, _, maps = run_ids(home)
        assert new_plan != old[0] and maps == old[2]
        state = journal_state(home / "maps/x")  # the journal beside each folder says exactly which part is new
        assert [(Path(s["target"]).parent.name, s["run_id"], s["published"]) for s in state] == [
            ("plans", new_plan, True), ("maps", new_plan, False)]
        assert journal_state(home / "plans/x") == state
        # The next run publishing there finishes the stopped publish first, and says so.
        code, out, err = finish(spawn(["map", "plans/x", "--out", "maps/x", "--tiles", "none"], home))
        assert code == 0 and f"a planner run (run id {new_plan}) was stopped while publishing" in err, err
        assert journal_state(home / "maps/x") is None and len(set(run_ids(home))) == 1
    assert_complete(home / "plans/x")
    if phase != "plan":
        return
    # The next run removes what the killed one left half-written (once: a run costs seconds).
    code, _, err = finish(spawn(["plan", *PAIR], home))
    assert code == 0, err
    leftovers = [p.name for d in ("plans", "maps") for p in (home / d).iterdir() if p.is_dir() and not p.is_symlink()]
    assert len(leftovers) == 2, leftovers


@pytest.mark.parametrize("phase", ["plan", "maps", "swap"])
def test_ctrl_c_while_publishing_says_truly_what_was_published(published_pair: Path, tmp_path: Path, phase: str) -> None:
    home = pair_copy(published_pair, tmp_path)
    old = run_ids(home)
    where = {"plan": ("planner.io", "write_csv", 3, 120), "maps": ("planner.render", "render_run", 1, 120),
             "swap": ("planner.publish", "_swap", 1, 2)}[phase]   # Ctrl-C is held back while the links are swapped
    run, flag = spawn_paused(["plan", *PAIR, "--rules", "one.toml"], home, where[0], where[1], at=where[2], seconds=where[3])
    wait_for(flag.exists, 300)
    run.send_signal(signal.SIGINT)
    code, _, err = finish(run, 60)
    assert code == 130 and "Traceback" not in err, err
    ids = run_ids(home)
    if phase != "swap":
        assert "(no output folder was written or changed)" in err and ids == old
        hidden = [p for d in ("plans", "maps") for p in (home / d).iterdir() if p.is_dir() and not p.is_symlink()]
        assert len(hidden) == 2, hidden   # the interrupted run's staged folders were removed
    else:
        assert len(set(ids)) == 1 and ids != old, err
        assert f"Interrupted after publishing: a plan plans/x (run id {ids[0]}); maps maps/x (run id {ids[0]})" in err
    assert_complete(home / "plans/x")


def test_concurrent_runs_into_one_place_take_turns_and_publish_whole_pairs(published_pair: Path, tmp_path: Path) -> None:
    home = pair_copy(published_pair, tmp_path)
    gate = home / "go"
    first, holding = spawn_paused(["plan", *PAIR, "--rules", "one.toml"], home, "planner.publish", "recover", gate=gate)
    wait_for(holding.exists, 300)   # the first run holds the locks of plans/x and maps/x
    err_file = home / "second.err"
    second, _ = spawn_paused(["plan", *PAIR], home, "planner.publish", "lock_path", at=10 ** 6, stderr_file=err_file)
    wait_for(lambda: "Waiting: another planner run" in err_file.read_text(encoding="utf-8"), 300)
    gate.touch()
    code1, _, err1 = finish(first)
    code2, _, _ = finish(second)
    assert code1 == 0 and code2 == 0, (err1, err_file.read_text(encoding="utf-8"))
    assert f"(pid {first.pid}) is publishing into" in err_file.read_text(encoding="utf-8")
    ids = run_ids(home)
    assert len(set(ids)) == 1 and ids == run_ids(published_pair)   # the second run (zhejiang-2026) published last
    from planner.publish import journal_state

    assert journal_state(home / "plans/x") is None and journal_state(home / "maps/x") is None


@pytest.fixture
def mount_tmpfs(tmp_path: Path):
    """Mount a small tmpfs (root only); yields a function (size, read_only) -> mount point, or None if mount fails."""
    mounted: list[Path] = []

    def mount(size: str, read_only: bool = False) -> Path | None:
        point = tmp_path / f"disk{len(mounted)}"
        point.mkdir()
        opts = f"size={size}" + (",ro" if read_only else "")
        if subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(point)], capture_output=True).returncode:
            return None
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


def test_a_full_disk_is_the_users_error_and_keeps_the_previous_plan(tmp_path: Path, mount_tmpfs,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # Room for one 义乌市 plan folder without maps (~620 kB), not for a second beside it.
    disk = mount_tmpfs("800k")
    args = ["plan", "--region", "义乌市", "--no-maps", "--no-cache", "--quiet"]
    if disk is not None:
        code, _, err = finish(spawn([*args, "--out", str(disk / "p")], tmp_path))
        assert code == 0, err
        before = (disk / "p" / "plan.json").read_bytes()
        rules = one_community_rules(tmp_path)
        code, _, err = finish(spawn([*args, "--rules", str(rules), "--out", str(disk / "p")], tmp_path))
        assert code == 2 and "Traceback" not in err, err
        line = err.strip()   # one line, naming the file of the plan folder that did not fit
        assert line.startswith(f"Error: {disk / 'p'}/") and "\n" not in line, err
        assert line.endswith(": no space left on the device. Fix: free some space there or choose a folder on another "
                             "disk (nothing half-written was published)"), err
        assert (disk / "p" / "plan.json").read_bytes() == before
        assert [p.name for p in disk.iterdir() if p.is_dir() and not p.is_symlink()] == [os.readlink(disk / "p")]
        return
    # No mount here (not root): the disk fills as the GeoPackage is written (a simulated ENOSPC).
    import errno

    from click.testing import CliRunner

    import planner.io as pio
    from planner.cli import main

    def full(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pio, "_write_one", full)
    result = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "p")])
    assert result.exit_code == 2 and "p/plan.gpkg: no space left on the device" in result.output, result.output
    assert not (tmp_path / "p").exists()


def test_read_only_and_not_a_folder_outputs_and_caches(tmp_path: Path, mount_tmpfs) -> None:
    ro = mount_tmpfs("64k", read_only=True)
    if ro is None:
        pytest.skip("mount -t tmpfs is not permitted here (not root); the corpus's env_* cases cover not-a-folder")
    args = ["plan", "--region", "义乌市", "--no-maps", "--quiet"]
    code, _, err = finish(spawn([*args, "--no-cache", "--out", str(ro / "p")], tmp_path), 120)
    assert code == 2 and err.strip() == f"Error: {ro}: is on a read-only file system. Fix: choose a folder on a writable disk"
    # A mount point as --out cannot be swapped (busy): one line, and nothing left behind.
    mp = mount_tmpfs("64k")
    code, _, err = finish(spawn([*args, "--no-cache", "--out", str(mp)], tmp_path))
    assert code == 2 and err.strip() == (f"Error: {mp}: is busy (a mount point or in use by another program). Fix: close "
                                         "the program that uses it, or choose another path"), err
    assert sorted(p.name for p in mp.parent.iterdir() if p.name.startswith(f".{mp.name}.")) == [f".{mp.name}.lock"]
    # A read-only cache folder is skipped with a warning: the run itself succeeds.
    code, out, err = finish(spawn([*args, "--cache-dir", str(ro / "cache"), "--out", str(tmp_path / "p")], tmp_path))
    assert code == 0 and f"Warning: the cache folder {ro / 'cache'} cannot be written" in err, err
    assert_complete(tmp_path / "p")


# --- the cache proves itself (planner.cache) ---------------------------------------------------------------------


def _poison(entry: Path, unit, change, objective: bool = True) -> None:
    """Rewrite a cache entry's content with `change`, recomputing travel, checksum and (with `objective`) the
    objective and bound, as a careful editor would."""
    from planner import cache as pc

    doc = json.loads(entry.read_text(encoding="utf-8"))
    content = doc["content"]
    change(content)
    pairs = [(unit.index[t], unit.candidates.index(c["lead"])) for c in content["communities"] for t in c["townships"]
             if t in unit.index and c["lead"] in unit.candidates]
    content["travel_person_min"] = float(sum(unit.population[i] * unit.minutes[i, f] for i, f in pairs))
    if objective:
        content["objective"] = content["bound"] = float(sum(unit.cost[i, f] for i, f in pairs))
    doc["sha256"] = pc._digest(content)
    entry.write_text(json.dumps(doc), encoding="utf-8")


def _one_community(content: dict) -> None:
    everyone = sorted(t for c in content["communities"] for t in c["townships"])
    content["communities"] = [{**content["communities"][0], "townships": everyone}]


def _disconnected(graph):
    def change(content: dict) -> None:
        a, b = content["communities"][:2]
        # A township of b touching none of a's townships, moved into a: a is no longer contiguous.
        far = next(t for t in b["townships"] if not any(graph.has_edge(t, s) for s in a["townships"]))
        b["townships"].remove(far)
        a["townships"].append(far)
    return change


@pytest.mark.parametrize("defect", ["one_community", "disconnected", "edited_without_checksum", "other_unit",
                                    "truncated", "binary", "deep_nesting", "not_an_object", "old_format", "shared_lead"])
def test_poisoned_and_garbled_cache_entries_are_misses_replaced_and_reported(two_hospital_county, tmp_path: Path,
                                                                           defect: str) -> None:
    from planner.cache import UnitCache

    rules = load_rules("zhejiang-2026")
    first = run_plan(two_hospital_county, rules, services=False, cache=UnitCache(tmp_path))
    honest = first.plan.units["330001"]
    assert len(honest.communities) == 2 and not honest.reused
    (entry,) = tmp_path.rglob("*.json")
    unit = first.units[0]
    text = entry.read_text(encoding="utf-8")
    if defect == "one_community":
        # Holds every rule but is not the proven optimum: the recorded objective is not this assignment's cost.
        _poison(entry, unit, _one_community, objective=False)
    elif defect == "disconnected":
        _poison(entry, unit, _disconnected(first.graph))
    elif defect == "shared_lead":
        _poison(entry, unit, lambda c: c["communities"][1].update(lead=c["communities"][0]["lead"]))
    elif defect == "edited_without_checksum":
        entry.write_text(text.replace('"OPTIMAL"', '"OPTIMAL" ').replace("330001009", "330001001", 1), encoding="utf-8")
    elif defect == "other_unit":
        _poison(entry, unit, lambda c: c.update(unit="330002"))
    elif defect == "truncated":
        entry.write_text(text[: len(text) // 2], encoding="utf-8")
    elif defect == "binary":
        entry.write_bytes(bytes(range(256)) * 8)
    elif defect == "deep_nesting":
        entry.write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    elif defect == "not_an_object":
        entry.write_text("null", encoding="utf-8")
    else:
        entry.write_text(json.dumps(json.loads(text)["content"]), encoding="utf-8")   # a format-1 entry (no checksum)
    cache = UnitCache(tmp_path)
    again = run_plan(two_hospital_county, rules, services=False, cache=cache)
    up = again.plan.units["330001"]
    assert not up.reused and up.status is Status.OPTIMAL
    assert up.assignment() == honest.assignment() and again.hard_violations == 0
    assert len(again.cache_notes) == 1 and f"cache entry {entry} for " in again.cache_notes[0], again.cache_notes
    assert "was not reused: " in again.cache_notes[0] and again.cache_notes[0].endswith("; solved again and replaced")
    # Replaced: the next run reuses the fresh entry, and says nothing.
    third = run_plan(two_hospital_county, rules, services=False, cache=UnitCache(tmp_path))
    assert third.plan.units["330001"].reused and third.cache_notes == []


def test_a_poisoned_entry_is_reported_by_planner_plan(tmp_path: Path) -> None:
    args = ["plan", "--region", "义乌市", "--no-maps", "--quiet", "--cache-dir", "cache", "--out", "p"]
    code, _, err = finish(spawn(args, tmp_path))
    assert code == 0, err
    (entry,) = (tmp_path / "cache").rglob("??/*.json")
    doc = json.loads(entry.read_text(encoding="utf-8"))
    doc["content"]["communities"][0]["townships"] = []   # a hand edit: townships dropped
    entry.write_text(json.dumps(doc), encoding="utf-8")
    code, out, err = finish(spawn(args, tmp_path))
    assert code == 0 and "Solved 1 units, reused 0 from the cache" in out, err
    assert f"Warning: cache entry cache/{entry.parent.name}/{entry.name} for 义乌市 (330782) was not reused: its content " \
           "does not match its checksum (edited or damaged); solved again and replaced" in err, err
    run = json.loads((tmp_path / "p" / "run.json").read_text(encoding="utf-8"))
    assert len(run["cache_notes"]) == 1


# --- environment faults are the user's; the bug handler never raises (planner.debug) -------------------------------


class _Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no message")


def test_the_bug_handler_never_raises(tmp_path: Path) -> None:
    import tempfile
    import zipfile

    from planner.debug import save_bundle

    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the bundle's folder should be", encoding="utf-8")
    try:
        raise _Unprintable()
    except _Unprintable as exc:
        path = save_bundle(exc, ["planner", "plan", "--rules", "bad\0name.toml", str(blocked)], folder=blocked)
    assert path is not None and path.parent == Path(tempfile.gettempdir()) and path.exists()
    with zipfile.ZipFile(path) as z:
        assert {"traceback.txt", "command.json", "versions.json", "inputs.json"} <= set(z.namelist())
    path.unlink()


def test_a_bug_in_an_unwritable_folder_still_gives_its_one_line_and_a_bundle(tmp_path: Path, mount_tmpfs) -> None:
    ro = mount_tmpfs("64k", read_only=True)
    cwd = ro if ro is not None else tmp_path
    code = ("import sys, planner.regions as r\n"
            "def broken(*a, **k): raise RuntimeError('a planted bug')\n"
            "r.load = broken\nfrom planner.cli import main\nsys.argv = ['planner', 'show', '义乌市']\nmain()\n")
    p = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120,
                       env={**os.environ, "PLANNER_LANG": "en"})
    assert p.returncode == 1 and "Traceback" not in p.stderr, p.stderr
    assert p.stderr.startswith("Internal error (RuntimeError: a planted bug). This is a bug in the planner; please report "
                               "it with the debug bundle saved at "), p.stderr
    bundle = Path(p.stderr.strip().rsplit(" ", 1)[1])
    assert bundle.exists() and (ro is None or bundle.parent != ro)   # the read-only folder: the temporary one instead
    bundle.unlink()


def test_permission_denied_is_one_line_naming_the_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Root ignores file permissions (as these tests run here), so the refusal is simulated where the OS would raise it."""
    import errno

    from click.testing import CliRunner

    from planner.cli import main

    rules = tmp_path / "secret.toml"
    rules.write_text('[policy]\nname = "x"\nextends = "zhejiang-2026"\n', encoding="utf-8")
    real_read = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == "secret.toml":
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_read(self)

    import builtins

    real_open = builtins.open

    def open_(file, *args, **kwargs):  # the rule reader opens the file itself (to bound its size)
        if Path(str(file)).name == "secret.toml":
            raise PermissionError(errno.EACCES, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    monkeypatch.setattr(builtins, "open", open_)
    result = CliRunner().invoke(main, ["rules", str(rules)], env={"PLANNER_LANG": "en"})
    assert result.exit_code == 2 and result.output == (f"Error: {rules}: permission denied. Fix: give a path you may read "
                                                       "and write, or change its permissions\n"), result.output
    monkeypatch.undo()
    import tempfile

    def no_folder(*_a, **_k):
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "locked" / ".p.1.x"))

    monkeypatch.setattr(tempfile, "mkdtemp", no_folder)
    result = CliRunner().invoke(main, ["--lang", "zh", "plan", "--region", "义乌市", "--no-maps", "--no-cache", "--quiet",
                                       "--out", str(tmp_path / "locked" / "p")])
    assert result.exit_code == 2 and result.output.strip() == \
        f"错误：{tmp_path / 'locked'}：权限不足。修改：请换一个有读写权限的路径，或修改其权限", result.output


def test_an_edited_region_extract_in_the_cache_is_never_read_as_the_region(tmp_path: Path) -> None:
    import pyogrio

    embedded = regions.load("义乌市")
    regions.load("义乌市", cache_dir=tmp_path)
    (extract,) = (tmp_path / "regions").glob("*.gpkg")
    towns = pyogrio.read_dataframe(extract, layer="townships")
    towns["population"] = 10 ** 9   # a hand edit: the same layers, other numbers
    pyogrio.write_dataframe(towns, extract, layer="townships")
    again = regions.load("义乌市", cache_dir=tmp_path)
    assert int(again.townships["population"].sum()) == int(embedded.townships["population"].sum())
    assert regions._extract_intact(extract)   # replaced by a fresh extract of the embedded data
