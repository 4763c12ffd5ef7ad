"""The corpus of bad inputs: every case ends in the planner's own error (or a note), never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from planner.cli import main

CASES = sorted(p for p in (Path(__file__).resolve().parent / "corpus" / "cases").iterdir() if p.is_dir())


def test_the_corpus_has_at_least_40_defects() -> None:
    broken = [c for c in CASES if (c / "expected.txt").read_text(encoding="utf-8").splitlines()[0] == "2"]
    assert len(broken) >= 40


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_gives_its_expected_message(case: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # nothing a case writes (caches, debug bundles) lands in the repository
    args = [a.replace("{case}", str(case)) for a in (case / "args.txt").read_text(encoding="utf-8").split()]
    status, *expected = (case / "expected.txt").read_text(encoding="utf-8").splitlines()
    result = CliRunner().invoke(main, args)
    out = result.output
    assert "Traceback" not in out and "Internal error" not in out, out
    assert result.exit_code == int(status), out
    for fragment in expected:
        assert fragment in out, f"{fragment!r} not in:\n{out}"
    if status == "2":
        lines = out.splitlines()
        assert lines[0].startswith("Error: ")
        assert all(line.startswith("  ") for line in lines[1:]), out
    assert not (case / "out").exists()
