"""planner.publish on tiny folders: what may be replaced, one run's pair published together, a stopped publish finished."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from planner import publish
from planner._errors import InputDataError


def staged_pair(tmp_path: Path, rid: str, text: str) -> list[publish.Stage]:
    plan = publish.begin(tmp_path / "plans" / "x", "plan", rid)
    (plan.work / "plan.json").write_text(text, encoding="utf-8")
    maps = publish.begin(tmp_path / "maps" / "x", "maps", rid, "--maps-dir", others=[("--out", tmp_path / "plans" / "x")])
    (maps.work / "index.html").write_text(text, encoding="utf-8")
    return [plan, maps]


def pair_ids(tmp_path: Path) -> tuple[str, str]:
    return (publish.read_marker(tmp_path / "plans" / "x")["run_id"], publish.read_marker(tmp_path / "maps" / "x")["run_id"])


def hidden(tmp_path: Path) -> list[str]:
    return sorted(p.name for d in (tmp_path / "plans", tmp_path / "maps") for p in d.iterdir()
                  if p.name.startswith(".") and p.is_dir())


def test_a_pair_is_published_together_and_replaces_only_its_own(tmp_path: Path) -> None:
    publish.publish(staged_pair(tmp_path, "a" * 16, "A"))
    assert pair_ids(tmp_path) == ("a" * 16, "a" * 16)
    publish.publish(staged_pair(tmp_path, "b" * 16, "B"))
    assert pair_ids(tmp_path) == ("b" * 16, "b" * 16)
    assert (tmp_path / "plans" / "x" / "plan.json").read_text() == "B"
    assert len(hidden(tmp_path)) == 2   # the previous pair's folders are gone, the published ones stay
    assert not list(tmp_path.rglob("*.journal.json"))


@pytest.mark.parametrize("make", ["file", "folder", "link", "other_kind"])
def test_what_the_planner_did_not_write_is_refused_and_untouched(tmp_path: Path, make: str) -> None:
    target = tmp_path / "out"
    if make == "file":
        target.write_text("mine")
    elif make == "folder":
        target.mkdir()
        (target / "mine.txt").write_text("mine")
    elif make == "link":
        (tmp_path / "elsewhere").mkdir()
        (tmp_path / "elsewhere" / "mine.txt").write_text("mine")
        target.symlink_to(tmp_path / "elsewhere")
    else:
        with publish.staged(target, "maps", "c" * 16) as work:
            (work / "index.html").write_text("maps")
    before = sorted((str(p.relative_to(tmp_path)), p.is_symlink()) for p in tmp_path.rglob("*"))
    with pytest.raises(InputDataError) as exc:
        with publish.staged(target, "plan", "d" * 16) as work:
            (work / "plan.json").write_text("{}")
    assert len(exc.value.problems) == 1 and str(exc.value.problems[0]).startswith(f"{target}: --out ")
    assert sorted((str(p.relative_to(tmp_path)), p.is_symlink()) for p in tmp_path.rglob("*")) == before


def test_a_file_put_there_during_the_run_is_refused_at_publish(tmp_path: Path) -> None:
    stages = staged_pair(tmp_path, "a" * 16, "A")
    (tmp_path / "maps" / "x").mkdir(parents=True)
    (tmp_path / "maps" / "x" / "mine.txt").write_text("mine")
    with pytest.raises(InputDataError):
        publish.publish(stages)
    assert not (tmp_path / "plans" / "x").exists()                     # neither half was published
    assert (tmp_path / "maps" / "x" / "mine.txt").read_text() == "mine"
    assert hidden(tmp_path) == []                                        # the staged folders were removed


def test_a_run_stopped_between_the_swaps_leaves_a_journal_and_the_next_publish_finishes_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    publish.publish(staged_pair(tmp_path, "a" * 16, "A"))
    stages = staged_pair(tmp_path, "b" * 16, "B")
    real_swap, calls = publish._swap, []

    def swap_then_die(stage: publish.Stage) -> None:
        if calls:
            raise SystemExit("killed")   # stands for SIGKILL after the first swap (tests/test_faults.py kills for real)
        calls.append(stage)
        real_swap(stage)

    monkeypatch.setattr(publish, "_swap", swap_then_die)
    monkeypatch.setattr(publish, "discard", lambda stages: None)   # a killed process removes nothing
    with pytest.raises(SystemExit):
        publish.publish(stages)
    monkeypatch.undo()
    assert pair_ids(tmp_path) == ("b" * 16, "a" * 16)
    state = publish.journal_state(tmp_path / "maps" / "x")              # says exactly which part is new
    assert [(Path(s["target"]).parent.name, s["run_id"], s["published"]) for s in state] == [
        ("plans", "b" * 16, True), ("maps", "b" * 16, False)]
    said = []
    with publish.locked([tmp_path / "maps" / "x"]):
        publish.recover(tmp_path / "maps" / "x", say=said.append)
    assert pair_ids(tmp_path) == ("b" * 16, "b" * 16) and "bbbbbbbbbbbbbbbb" in said[0]
    assert publish.journal_state(tmp_path / "plans" / "x") is None


def test_orphans_of_dead_runs_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    publish.publish(staged_pair(tmp_path, "a" * 16, "A")[:1])
    dead = tmp_path / "plans" / ".x.999999999.abc"
    live = tmp_path / "plans" / f".x.{os.getppid()}.abc"
    other = tmp_path / "plans" / ".x.y.1.abc"        # another target's (x.y) folder: never ours to remove
    for d in (dead, live, other):
        d.mkdir()
    publish.remove_orphans(tmp_path / "plans" / "x")
    assert not dead.exists() and live.exists() and other.exists() and (tmp_path / "plans" / "x").is_dir()


def test_the_marker_and_the_interrupted_message_tell_the_truth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(publish, "PUBLISHED", [])
    assert "no output folder was written or changed" in publish.interrupted_message("en")
    publish.publish(staged_pair(tmp_path, "e" * 16, "E"))
    msg = publish.interrupted_message("en")
    assert msg.startswith("Interrupted after publishing: a plan ") and msg.count("run id " + "e" * 16) == 2
    assert "运行编号 " + "e" * 16 in publish.interrupted_message("zh")
    doc = json.loads((tmp_path / "plans" / "x" / publish.MARKER).read_text())
    assert doc["kind"] == "plan" and doc["run_id"] == "e" * 16


def test_home_the_current_folder_and_their_parents_are_never_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home, cwd = tmp_path / "home", tmp_path / "work" / "project"
    for d in (home, cwd):
        d.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(cwd)
    for target, why in [(home, "is the home folder or holds it"), (tmp_path, "is the home folder or holds it"),
                        (cwd, "is the current folder or holds it"), (cwd.parent, "is the current folder or holds it"),
                        (Path("."), "is the current folder or holds it")]:
        (problem,) = publish.target_problems(target, "plan")
        assert f"--out {why}" in str(problem), (target, problem)
    assert publish.target_problems(cwd / "plans" / "x", "plan") == []
