"""The README's two commands are the ones CI runs, and the test run provides the browser they need."""

from __future__ import annotations

import re
from pathlib import Path

import chromium
import pytest

REPO = Path(__file__).resolve().parents[1]


def readme_command(heading: str) -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(re.escape(heading) + r".*?```sh\n(.*?)\n```", text, re.S)
    assert block, heading
    return block.group(1).strip()


def test_ci_runs_the_readme_test_command_as_written() -> None:
    command = readme_command("**Run the test suite:**")
    assert command.endswith("python -m pytest") and command.startswith("python3.11 -m venv .venv")
    lines = [line.strip() for line in (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    assert command in lines
    assert not any("apt-get" in line for line in lines)   # the test run itself provides Chromium
    assert readme_command("**Run the main job**").endswith("pip install . && planner plan")


def test_a_missing_chromium_is_installed_or_named_never_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr(chromium, "find", lambda: None)
    monkeypatch.setattr(chromium.shutil, "which", lambda name: "/usr/bin/" + name if name == "apt-get" else None)
    monkeypatch.setattr(chromium.os, "geteuid", lambda: 1000)   # not root, and no sudo
    monkeypatch.setattr(chromium.subprocess, "run", lambda *a, **k: calls.append(a))
    path, what = chromium.ensure()
    assert path is None and not calls and what == f"not root and no sudo: run `{chromium.INSTALL}` as root"
    monkeypatch.setattr(chromium.os, "geteuid", lambda: 0)

    class Done:
        returncode, stdout, stderr = 100, "", "E: Unable to locate package chromium"

    monkeypatch.setattr(chromium.subprocess, "run", lambda cmd, **k: calls.append(cmd) or Done())
    path, what = chromium.ensure()
    assert calls == [["apt-get", "update", "-qq"]] and path is None
    assert what == ("`apt-get update -qq` failed (E: Unable to locate package chromium): run "
                    f"`{chromium.INSTALL}` as root")
