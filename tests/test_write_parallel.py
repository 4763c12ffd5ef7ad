"""The plan folder written by two processes (write_plan_folder with jobs > 1) holds the same files as written in turn."""

from __future__ import annotations

import hashlib
import multiprocessing
from pathlib import Path

import pytest

import planner.pipeline as pipeline
import planner.villages.outputs as village_outputs
from planner import regions
from planner.publish import EnvironmentFault
from planner.rulefile import load_rules

pytestmark = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")


@pytest.fixture(scope="module")
def yiwu_run():
    return pipeline.run_plan(regions.load("义乌市"), load_rules("zhejiang-2026"))


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())
            if p.is_file() and p.name != "run.json"}


def test_two_processes_write_the_files_one_writes(yiwu_run, tmp_path: Path, monkeypatch) -> None:
    assert yiwu_run.villages is not None and len(yiwu_run.villages.table("village_modes"))
    one = _digests(pipeline.write_outputs(yiwu_run, tmp_path / "one", jobs=1))
    monkeypatch.setattr(pipeline, "FORK_VILLAGE_ROWS", 0)   # a county's villages are few: fork anyway
    two = _digests(pipeline.write_outputs(yiwu_run, tmp_path / "two", jobs=2))
    assert two == one and "villages.xlsx" in two and "manifest.json" in two
    assert (tmp_path / "two" / "run.json").is_file()


def test_an_error_in_a_part_written_in_parallel_fails_the_write_and_publishes_nothing(yiwu_run, tmp_path: Path,
                                                                                        monkeypatch) -> None:
    monkeypatch.setattr(pipeline, "FORK_VILLAGE_ROWS", 0)

    def broken(result, folder):
        raise OSError(28, "No space left on device", str(folder))

    monkeypatch.setattr(village_outputs, "write_village_workbook", broken)   # the first part: the worker's or ours
    with pytest.raises(EnvironmentFault, match="no space left on the device.*nothing half-written was published"):
        pipeline.write_outputs(yiwu_run, tmp_path / "plan", jobs=2)
    assert not (tmp_path / "plan").exists()


def _killed() -> None:
    """The forked writer's task, ended as the kernel's OOM killer ends a process: no exception, no result."""
    import os

    os._exit(137)


def test_a_killed_writer_worker_is_an_error_not_a_hang(yiwu_run, tmp_path: Path, monkeypatch) -> None:
    # multiprocessing.Pool waited forever for the task of a worker the system killed (e.g. for memory).
    monkeypatch.setattr(pipeline, "FORK_VILLAGE_ROWS", 0)
    monkeypatch.setattr(pipeline, "_forked_parts", _killed)
    with pytest.raises(EnvironmentFault, match="worker process ended without its result.*--jobs 1"):
        pipeline.write_outputs(yiwu_run, tmp_path / "plan", jobs=2)
    assert not (tmp_path / "plan").exists()


def test_a_failure_stops_the_other_process_taking_parts(yiwu_run, tmp_path: Path, monkeypatch) -> None:
    # The parent fails (here: its community tables, made after the fork) while the worker writes the first
    # part: the worker takes no further part, and the error is raised without the rest of the folder written.
    import os
    import time

    monkeypatch.setattr(pipeline, "FORK_VILLAGE_ROWS", 0)
    parent, failed, later = os.getpid(), tmp_path / "failed", tmp_path / "later"
    tables = pipeline.planfile.run_community_tables

    def fail_in_parent(result):
        if os.getpid() == parent:
            failed.touch()
            raise OSError(28, "No space left on device", str(tmp_path))
        return tables(result)

    def first_part(result, folder):   # the worker's: done only once the parent has failed
        deadline = time.monotonic() + 30
        while not failed.exists() and time.monotonic() < deadline:
            time.sleep(0.01)

    def later_part(result, folder):
        later.touch()

    monkeypatch.setattr(pipeline.planfile, "run_community_tables", fail_in_parent)
    monkeypatch.setattr(village_outputs, "write_village_workbook", first_part)
    monkeypatch.setattr(pipeline, "_write_check_part", later_part)   # the last part
    with pytest.raises(EnvironmentFault, match="no space left on the device"):
        pipeline.write_outputs(yiwu_run, tmp_path / "plan", jobs=2)
    assert failed.exists() and not later.exists()
    assert not (tmp_path / "plan").exists()
