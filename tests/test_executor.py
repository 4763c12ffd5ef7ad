"""Same plan whatever runs it: one process, two workers, a Ray cluster on loopback, or the cache."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from planner import regions
from planner.cache import UnitCache
from planner.dispatch import roster_frame
from planner.executor import forked_map, ordered_map, start_map
from planner.pipeline import run_plan
from planner.planfile import plan_to_json
from planner.planning import SolveOptions
from planner.rulefile import load_rules


def square(x: int) -> int:
    return x * x


def test_ordered_map_keeps_item_order_and_reports_progress() -> None:
    seen: list[int] = []
    assert ordered_map(square, [(k,) for k in range(20)], jobs=2, progress=seen.append) == [k * k for k in range(20)]
    assert sorted(seen) == [k * k for k in range(20)]


def killed_at_seven(x: int) -> int:
    if x == 7:
        os._exit(137)   # as the kernel's OOM killer ends a worker: no exception, no result
    return x


def test_a_killed_worker_is_an_environment_fault_and_the_next_map_works() -> None:
    from planner.publish import EnvironmentFault

    with pytest.raises(EnvironmentFault, match="worker process ended without its result.*--jobs 1"):
        ordered_map(killed_at_seven, [(i,) for i in range(16)], jobs=2)
    assert ordered_map(square, [(i,) for i in range(16)], jobs=2) == [i * i for i in range(16)]


def call(fn, x: int) -> tuple[int, int]:
    return fn(x), os.getppid()


def test_forked_map_reads_its_items_from_this_process_in_forked_workers() -> None:
    # A lambda cannot be pickled: the items reach the workers only because they are forked from here.
    items = [(lambda x: x + 1, k) for k in range(16)]
    out = forked_map(call, items, jobs=2)
    assert [v for v, _ in out] == [k + 1 for k in range(16)]
    assert {parent for _, parent in out} == {os.getpid()}
    assert forked_map(square, [(k,) for k in range(3)], jobs=2) == [0, 1, 4]   # few tasks: in this process


def test_forked_map_a_killed_worker_is_an_environment_fault() -> None:
    from planner.publish import EnvironmentFault

    with pytest.raises(EnvironmentFault, match="worker process ended without its result"):
        forked_map(killed_at_seven, [(i,) for i in range(16)], jobs=2)
    assert forked_map(square, [(i,) for i in range(16)], jobs=2) == [i * i for i in range(16)]


def test_start_map_runs_while_this_process_works_and_keeps_item_order() -> None:
    started = start_map(square, [(k,) for k in range(20)], jobs=2)
    here = start_map(square, [(k,) for k in range(20)], jobs=1)   # one job: run when asked for
    assert sum(k * k for k in range(1000)) == 332833500
    assert started() == here() == [k * k for k in range(20)]
    from planner.publish import EnvironmentFault

    with pytest.raises(EnvironmentFault):
        start_map(killed_at_seven, [(i,) for i in range(16)], jobs=2)()
    assert start_map(square, [(i,) for i in range(16)], jobs=2)() == [i * i for i in range(16)]


@pytest.fixture(scope="module")
def hangzhou():
    """杭州市: 13 county units, enough for the worker pool to be used."""
    return regions.load("杭州市")


def fingerprint(result) -> tuple[str, str]:
    return plan_to_json(result.plan), roster_frame(result.dispatch, result.region).to_csv()


@pytest.fixture(scope="module")
def serial(hangzhou):
    return fingerprint(run_plan(hangzhou, load_rules("zhejiang-2026"), SolveOptions()))


def test_two_workers_give_the_byte_identical_plan(hangzhou, serial) -> None:
    assert fingerprint(run_plan(hangzhou, load_rules("zhejiang-2026"), SolveOptions(), jobs=2)) == serial


def test_checks_and_policy_records_made_in_forked_workers_are_those_made_here(hangzhou, serial, monkeypatch) -> None:
    """The country's checks of the services and access, and plan.json's policy records, are made by workers
    forked beside the next phase (pipeline.FORK_CHECK_UNITS: 杭州市's 13 units are let through here)."""
    import planner.executor as executor
    from planner import pipeline
    from planner.check import compliance_lines

    here = run_plan(hangzhou, load_rules("zhejiang-2026"), SolveOptions())
    forked = []
    fork_call = executor.fork_call

    def counted(fn, *args):
        forked.append(fn.__name__)
        return fork_call(fn, *args)

    monkeypatch.setattr(executor, "fork_call", counted)
    monkeypatch.setattr(pipeline, "FORK_CHECK_UNITS", 1)
    there = run_plan(hangzhou, load_rules("zhejiang-2026"), SolveOptions(), jobs=2)
    assert {"_policy_meta", "_service_statuses", "check_access"} <= set(forked)
    assert fingerprint(there) == serial
    for name in ("statuses", "service_statuses", "access_statuses", "village_statuses", "integrity_statuses"):
        assert compliance_lines(getattr(there, name)) == compliance_lines(getattr(here, name)), name
    assert [s.rule.id for s in there.all_statuses] == [s.rule.id for s in here.all_statuses]
    assert there.plan.meta["membership"] == here.plan.meta["membership"] and there.plan.meta["membership"]["counts"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    """A Ray head node on loopback, started and stopped by the test, as CI runs it."""
    ray_bin = shutil.which("ray")
    if ray_bin is None:
        pytest.fail("the ray command is missing: install the test extra (pip install \".[test]\")", pytrace=False)
    port = _free_port()
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    subprocess.run([ray_bin, "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=2",
                    "--include-dashboard=false", "--disable-usage-stats"], check=True, env=env, capture_output=True)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        import ray

        if ray.is_initialized():
            ray.shutdown()
        subprocess.run([ray_bin, "stop", "--force"], env=env, capture_output=True)


def test_the_ray_executor_gives_the_byte_identical_plan(hangzhou, serial, ray_cluster: str) -> None:
    result = run_plan(hangzhou, load_rules("zhejiang-2026"), SolveOptions(), executor="ray", address=ray_cluster)
    assert fingerprint(result) == serial


def test_the_cache_reuses_every_county_and_a_one_county_rule_resolves_that_county_alone(hangzhou, tmp_path: Path) -> None:
    cache = UnitCache(tmp_path / "cache")
    rules = load_rules("zhejiang-2026")
    first = run_plan(hangzhou, rules, SolveOptions(), services=False, cache=cache)
    assert not any(u.reused for u in first.plan.units.values())
    again = run_plan(hangzhou, rules, SolveOptions(), services=False, cache=cache)
    assert all(u.reused for u in again.plan.units.values())
    assert plan_to_json(again.plan) == plan_to_json(first.plan)
    one = tmp_path / "tonglu-one.toml"
    one.write_text('[policy]\nname = "tonglu-one"\nextends = "zhejiang-2026"\n[[rule]]\nid = "tonglu.one_community"\n'
                   'kind = "community_count"\nsource = "review note"\ncounties = ["330122"]\nmax = 1\n', encoding="utf-8")
    changed = run_plan(hangzhou, load_rules(one), SolveOptions(), services=False, cache=cache)
    resolved = [uid for uid, u in changed.plan.units.items() if not u.reused]
    assert resolved == ["330122"]
    assert len(changed.plan.units["330122"].communities) == 1


def test_units_solved_in_chunks_by_two_workers_give_the_serial_plan(hangzhou, monkeypatch) -> None:
    # The country's units go to the workers eight at a time; 杭州市's 13 would go one by one,
    # so the thresholds are lowered to send chunks of three to the pool.
    import planner.executor as executor
    import planner.planning as planning
    from planner.planning import region_units, solve_units

    rules = load_rules("zhejiang-2026")
    units = region_units(hangzhou, rules)
    serial_plan = plan_to_json(solve_units(units, rules, SolveOptions(), region_name=hangzhou.name))
    monkeypatch.setattr(planning, "SOLVE_TASKS_PER_WORKER", 2)
    monkeypatch.setattr(executor, "MIN_PARALLEL_ITEMS", 2)
    seen: list[str] = []
    chunked = solve_units(units, rules, SolveOptions(), region_name=hangzhou.name, jobs=2,
                          progress=lambda u: seen.append(u.unit))
    assert plan_to_json(chunked) == serial_plan
    assert sorted(seen) == sorted(u.id for u in units)


def _stderr_probe(k: int) -> tuple[int, int]:
    sys.stderr.write(f"worker line {k}\n")
    return id(sys.stderr), sys.stderr.fileno()


def test_forked_workers_write_through_stream_objects_of_their_own(tmp_path, monkeypatch) -> None:
    """A forked worker gets its own stderr object on the same descriptor: the parent's may be locked by a thread
    (the progress bar's) that was writing when the worker was forked. The workers' lines reach the file."""
    target = open(tmp_path / "err.txt", "w", encoding="utf-8")  # noqa: SIM115 - closed below
    fd = target.fileno()
    monkeypatch.setattr(sys, "stderr", target)
    try:
        out = forked_map(_stderr_probe, [(k,) for k in range(16)], jobs=2)
    finally:
        monkeypatch.undo()
        target.close()
    assert all(ident != id(target) and used == fd for ident, used in out)
    lines = (tmp_path / "err.txt").read_text(encoding="utf-8").splitlines()
    assert sorted(lines) == sorted(f"worker line {k}" for k in range(16))


def test_joined_on_error_collects_every_pending_worker_and_keeps_the_block_s_error() -> None:
    from planner.executor import joined_on_error

    called: list[str] = []

    def fails() -> None:
        called.append("fails")
        raise RuntimeError("the worker's own error")

    pending: list = [None, fails]
    with pytest.raises(KeyError, match="the block's"):
        with joined_on_error(pending):
            pending.append(lambda: called.append("added in the block"))
            raise KeyError("the block's")
    assert called == ["fails", "added in the block"]
    with joined_on_error([fails]):
        pass  # no error: nothing is collected here
    assert called == ["fails", "added in the block"]
