"""Shared pytest fixtures (the builders live in tests/fixtures.py)."""

from __future__ import annotations

import pytest
from fixtures import Fac, grid_region

from planner.region import Region


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
    """`planner serve` (uvicorn in a thread, one per test session) with its save folder: (base URL, folder)."""
    import socket
    import threading
    import time

    try:
        import uvicorn  # noqa: F401
    except ImportError:
        pytest.fail('the review page tests need the serve extra: pip install ".[test]" pulls it in', pytrace=False)
    from planner.serve import Server, run

    folder = tmp_path_factory.mktemp("review")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started: list[object] = []
    server = Server(folder, tiles="none", region="义乌市")
    thread = threading.Thread(target=run, args=(server,), kwargs={"host": "127.0.0.1", "port": port,
                                                                   "ready": started.append}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert started, "planner serve did not start within 60 s"
    yield f"http://127.0.0.1:{port}", folder
    started[0].should_exit = True
    thread.join(timeout=10)
