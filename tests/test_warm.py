"""The warm process (planner.warm): commands run in it give the same files and messages, and it never runs stale code."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from planner.warm import client
from planner.warm.server import WarmServer

REPO = Path(__file__).resolve().parents[1]


def _env(warm_dir: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "PLANNER_WARM_DIR": str(warm_dir), "PYTHONPATH": str(REPO), **extra}
    env.pop("PLANNER_WARM", None)
    return env


def _planner(args: list[str], env: dict[str, str], cwd: Path, **kw: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "planner.cli", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=600, **kw)


@pytest.fixture()
def warm(tmp_path: Path):
    """A warm process in the foreground (killed at the end), its folder private to the test."""
    folder = tmp_path / "warm"
    env = _env(folder)
    proc = subprocess.Popen([sys.executable, "-m", "planner.warm.server"], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = proc.stdout.readline() if proc.stdout else ""
    assert '"ready"' in line, line + (proc.stdout.read() if proc.stdout else "")
    yield env, json.loads(line)["pid"]
    proc.terminate()
    proc.wait(timeout=60)
    if proc.stdout:
        proc.stdout.close()
    assert not any(folder.glob("*.sock"))  # it removed its socket


def _status(env: dict[str, str], cwd: Path) -> str:
    return _planner(["warm", "status"], env, cwd).stdout


def test_a_plan_run_in_the_warm_process_writes_the_same_files_and_errors(warm, tmp_path: Path) -> None:
    env, pid = warm
    args = ["plan", "--region", "义乌市", "--no-maps", "--quiet"]
    hot = _planner([*args, "--out", "hot", "--cache-dir", "c1"], env, tmp_path)
    assert hot.returncode == 0, hot.stderr
    assert f"(pid {pid}): 1 commands run" in _status(env, tmp_path)  # it ran there, not here
    cold = _planner([*args, "--out", "cold", "--cache-dir", "c2"], {**env, "PLANNER_WARM": "0"}, tmp_path)
    assert cold.returncode == 0, cold.stderr
    assert hot.stdout.replace("c1", "c2").replace("hot/", "cold/") == cold.stdout
    names = sorted(p.name for p in (tmp_path / "hot").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "cold").iterdir()) and "plan.gpkg" in names
    for name in names:
        if name != "run.json":  # timings
            assert (tmp_path / "hot" / name).read_bytes() == (tmp_path / "cold" / name).read_bytes(), name
    # Bad input: the same one-line error and exit code, no traceback.
    bad = tmp_path / "bad.toml"
    bad.write_text('[policy]\nname = "x"\nextends = "zhejiang-2026"\n\n[[rule]]\nid = "county.max_communities"\n'
                   'max = "two"\n', encoding="utf-8")
    hot_bad = _planner(["--lang", "zh", *args, "--rules", str(bad), "--out", "b"], env, tmp_path)
    cold_bad = _planner(["--lang", "zh", *args, "--rules", str(bad), "--out", "b"], {**env, "PLANNER_WARM": "0"}, tmp_path)
    assert hot_bad.returncode == cold_bad.returncode == 2
    assert hot_bad.stderr == cold_bad.stderr and len(hot_bad.stderr.splitlines()) == 1
    assert "Traceback" not in hot_bad.stderr and "county.max_communities" in hot_bad.stderr
    assert "2 commands run" in _status(env, tmp_path)


def test_ctrl_c_reaches_the_command_in_the_warm_process(warm, tmp_path: Path) -> None:
    env, _pid = warm
    proc = subprocess.Popen([sys.executable, "-m", "planner.cli", "plan", "--region", "浙江省", "--no-maps", "--quiet",
                             "--no-cache", "--out", "zj"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while "1 running" not in _status(env, tmp_path):  # the province takes far longer than this to plan
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)  # at once: maybe before this command knows its fork (then held and relayed)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err
    assert err.strip().startswith("Interrupted.") and "Traceback" not in err
    assert not (tmp_path / "zj").exists()


def test_the_warm_process_steps_aside_when_the_code_changed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "warm"
    monkeypatch.setenv("PLANNER_WARM_DIR", str(folder))
    monkeypatch.delenv("PLANNER_WARM", raising=False)
    server = WarmServer(client.socket_path())
    server.bind()
    server.key = "the code it imported"  # as if the planner's files were edited since
    loop = threading.Thread(target=server.serve_forever)
    loop.start()
    try:
        assert client.delegate(["regions"]) is None  # run here instead
        loop.join(timeout=30)
        assert not loop.is_alive()  # and it exited
    finally:
        server.close()
    assert client.connect() is None


def test_code_key_follows_the_package_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    monkeypatch.setattr(client, "PACKAGE_DIR", tmp_path)
    before = client.code_key()
    assert client.code_key() == before
    os.utime(tmp_path / "a.py", ns=(1, 1))
    assert client.code_key() != before


def test_no_delegation_through_a_folder_others_can_enter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "warm"
    folder.mkdir(mode=0o700)
    monkeypatch.setenv("PLANNER_WARM_DIR", str(folder))
    server = WarmServer(client.socket_path())
    server.bind()
    try:
        probe = client.connect()
        assert probe is not None
        probe.close()
        folder.chmod(0o755)
        assert not client.safe_dir(folder) and client.connect() is None
        with pytest.raises(SystemExit, match="closed to others"):
            WarmServer(client.socket_path()).bind()
    finally:
        folder.chmod(0o700)
        server.close()


def test_command_of_skips_the_group_options() -> None:
    assert client.command_of(["--lang", "zh", "plan", "--region", "x"]) == "plan"
    assert client.command_of(["--lang=en", "warm", "start"]) == "warm"
    assert client.command_of(["--help"]) is None
    assert client.delegate(["serve"]) is None and client.delegate(["warm", "status"]) is None


def test_warm_start_status_stop(tmp_path: Path) -> None:
    env = _env(tmp_path / "warm")
    started = _planner(["warm", "start"], env, tmp_path)
    try:
        assert started.returncode == 0 and "Warm planner process started (pid" in started.stdout, started.stderr
        again = _planner(["warm", "start"], env, tmp_path)
        assert again.returncode == 0 and "already running" in again.stdout
        assert "0 commands run, 0 running" in _status(env, tmp_path)
        assert (tmp_path / "warm").stat().st_mode & 0o777 == 0o700
    finally:
        stopped = _planner(["warm", "stop"], env, tmp_path)
    assert stopped.returncode == 0 and "stopped." in stopped.stdout
    after = _planner(["warm", "status"], env, tmp_path)
    assert after.returncode == 1 and "No warm planner process is running." in after.stdout


def test_a_file_of_the_users_at_the_socket_path_is_refused_and_kept(tmp_path, monkeypatch) -> None:
    from planner.warm import client, server

    folder = tmp_path / "warm"
    folder.mkdir(mode=0o700)
    monkeypatch.setenv("PLANNER_WARM_DIR", str(folder))
    path = client.socket_path()
    path.write_text("the user's own file", encoding="utf-8")
    with pytest.raises(SystemExit, match="is not a warm-process socket"):
        server.WarmServer(path).bind()
    assert path.read_text(encoding="utf-8") == "the user's own file"
