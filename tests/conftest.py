"""Shared pytest fixtures (the builders live in tests/fixtures.py)."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest
from fixtures import Fac, grid_region

from planner.region import Region

# The planner commands tests run as subprocesses run alone, even if the developer runs a warm process
# (`planner warm start`): a test that kills a command must kill the command (tests/test_warm.py opts in).
os.environ["PLANNER_WARM"] = "0"


def _drives_chromium(path: Path) -> bool:
    return "browser" in path.parts or path.name == "test_sheet.py"


def _provide_chromium(config: pytest.Config, paths: list[Path]) -> None:
    """When the run has browser or PDF tests, provide Debian's Chromium first (install it if missing), or stop clearly.

    The README's test command then passes on a fresh Debian machine (as root, or with
    passwordless sudo); elsewhere it stops at once with the command to run, never skipping.
    """
    wanted = [p for p in paths if _drives_chromium(p)]
    if not wanted or config.option.collectonly:
        return
    import chromium

    path, what = chromium.ensure()
    if what:
        config.get_terminal_writer().line(f"Chromium for the browser tests: {what}")
    if path is None:
        pytest.exit(f"{len(wanted)} tests drive Debian's Chromium, which is not installed and could not be: {what}",
                    returncode=4)
    os.environ.setdefault("PLANNER_CHROMIUM", str(path))


def pytest_collection_finish(session: pytest.Session) -> None:
    """A run in one process provides Chromium once it has collected (pytest-xdist's workers leave it to the controller)."""
    if not hasattr(session.config, "workerinput"):
        _provide_chromium(session.config, [item.path for item in session.items])


_provided = False


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids: list[str]) -> None:
    """Under pytest-xdist the controller provides Chromium, once, before it hands out any test (a worker's
    pytest.exit would end as an internal error without its message; two workers would race for apt's lock)."""
    global _provided
    if not _provided:
        _provided = True
        _provide_chromium(node.config, [Path(i.split("::")[0]) for i in ids])


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # A worker started before the controller installed Chromium: name it for the planner as a single run does.
    if "PLANNER_CHROMIUM" not in os.environ and _drives_chromium(item.path):
        import chromium

        if (found := chromium.find()) is not None:
            os.environ["PLANNER_CHROMIUM"] = str(found)


# The whole-suite processes (pytest-xdist, `-n 2 --dist loadgroup` in pyproject.toml) each build their own session-
# and module-scoped fixtures. Tests sharing an expensive one run in one process as one unit, so it is still built once
# per run: the browser, acceptance and review page tests (one Chromium, 浙江省 planned once, one `planner serve`)
# form one unit, and so does each module that defines a module-scoped fixture; every other test goes alone to
# whichever process is free. xdist's own xdist_group marks cannot carry this under pytest 9 (xdist 3.8 writes the
# group into Item._nodeid, which pytest 9 no longer reads), so the controller groups by test id itself.
SHARED_SESSION_MODULES = {"tests/test_acceptance.py", "tests/test_serve.py"}
"""Modules whose tests read the session fixtures the browser tests share (zhejiang_full_run, review_server)."""
SPREAD_MODULES = {"tests/test_faults.py"}
"""Modules handed out test by test all the same: test_faults.py is near a third of the suite's test time, and its
module fixture (one 义乌市 run) serves 7 of its 40 tests; built once in each process costs less than running the file
in one."""


@functools.cache
def _defines_module_fixture(path: Path) -> bool:
    try:
        return 'scope="module"' in path.read_text(encoding="utf-8")
    except OSError:
        return False


def shared_fixture_unit(nodeid: str, rootpath: Path) -> str:
    """The unit of work a test id belongs to under `--dist loadgroup`: a group name, or the id itself (alone)."""
    module = nodeid.split("::")[0]
    if module.startswith("tests/browser/") or module in SHARED_SESSION_MODULES:
        return "browser"
    if module not in SPREAD_MODULES and _defines_module_fixture(rootpath / module):
        return module
    return nodeid


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """`--dist loadgroup`: xdist's load-by-unit scheduler with the units above (largest units handed out first)."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SharedFixtureScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return shared_fixture_unit(nodeid, config.rootpath)

    return SharedFixtureScheduling(config, log)


@pytest.fixture
def two_hospital_county() -> Region:
    """
    A 3 x 3 county with a people's hospital (二甲) in the north-west corner and a TCM
    hospital (二甲) in the south-east corner; heavy populations at both ends::

        +------+------+------+
        | 50 H |  10  |  10  |
        +------+------+------+
        |  10  |  10  |  10  |
        +------+------+------+
        |  10  |  10  | 50 T |
        +------+------+------+
    """
    pops = [[50_000, 10_000, 10_000], [10_000, 10_000, 10_000], [10_000, 10_000, 50_000]]
    facs = [Fac("H1", "测试县人民医院", "general_hospital", "二甲", (0, 0)),
            Fac("H2", "测试县中医院", "tcm_hospital", "二甲", (2, 2))]
    return grid_region(pops, facs)


@pytest.fixture(scope="session")
def review_server(tmp_path_factory):
    """`planner serve` as a user starts it (a real uvicorn process, once per test session): (base URL, save folder)."""
    import os
    import socket
    import subprocess
    import sys
    import threading

    try:
        import uvicorn  # noqa: F401
    except ImportError:
        pytest.fail('the review page tests need the serve extra: pip install ".[test]" pulls it in', pytrace=False)
    folder = tmp_path_factory.mktemp("review")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "planner.cli", "serve", "--port", str(port), "--save-dir", str(folder),
                             "--tiles", "none", "--region", "义乌市"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env={**os.environ, "PLANNER_LANG": "en"})
    lines: list[str] = []
    started = threading.Event()

    def read() -> None:  # keep draining, so the server never blocks on a full pipe
        for line in proc.stdout:
            lines.append(line)
            started.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    started.wait(timeout=90)
    try:
        if not lines or "Review page: http://127.0.0.1:" not in lines[0]:
            pytest.fail(f"planner serve did not start within 90 s: {lines}", pytrace=False)
        yield f"http://127.0.0.1:{port}", folder
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader.join(timeout=5)
        proc.stdout.close()


@pytest.fixture(scope="session")
def zhejiang_full_run():
    """The default region, 浙江省, planned once for the session under zhejiang-2026 (communities, dispatch,
    dialysis, access and villages), shared by the acceptance and browser tests: planning it is the
    suite's largest single cost. Tests read it; none may change it."""
    from planner import regions
    from planner.pipeline import run_plan
    from planner.rulefile import load_rules

    return run_plan(regions.load("浙江省"), load_rules("zhejiang-2026"))

