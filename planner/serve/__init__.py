"""The local review page (`planner serve`): edit rule values in a form, re-solve one county warm, see map, checks and diff.

Needs the `serve` extra (``pip install ".[serve]"``: Starlette and uvicorn). The server binds
127.0.0.1 by default; every browser session gets its own workspace (see planner.serve.state
for how concurrent requests are kept apart).
"""

from __future__ import annotations

from .state import Server, Workspace

__all__ = ["Server", "Workspace", "create_app", "run"]


def create_app(server: Server, **kwargs: object) -> object:
    """The ASGI application (Starlette) for a Server; see planner.serve.app."""
    from .app import create_app as _create

    return _create(server, **kwargs)  # type: ignore[arg-type]


def run(server: Server, **kwargs: object) -> None:
    """Serve with uvicorn until interrupted; see planner.serve.app.run."""
    from .app import run as _run

    _run(server, **kwargs)  # type: ignore[arg-type]
