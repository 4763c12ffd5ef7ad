"""The review page's web application (Starlette): the page, its JSON API and the map pages of each solve."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from .._errors import PlannerError
from .state import Server, Workspace, diff_page, solved_view, unit_page

COOKIE = "pm_review"
STATIC = Path(__file__).parent / "static"
MAX_BODY = 256_000
"""Bytes a request body may hold (a form of rule values is a few kB)."""

_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


def _lang(request: Request, body: dict[str, Any] | None = None) -> str:
    chosen = (body or {}).get("lang") or request.query_params.get("lang")
    if chosen in ("zh", "en"):
        return str(chosen)
    accept = request.headers.get("accept-language", "")
    return "zh" if accept.lower().startswith("zh") or not accept else "en"


def _refused(message: str, status: int = 403) -> JSONResponse:
    return JSONResponse({"error": [message]}, status_code=status)


class Guard:
    """Checks every request before the app sees it.

    The Host header must name this machine (a page elsewhere cannot reach the server through
    DNS rebinding); requests that change state must be JSON POSTs from this page (a form
    on another site cannot send them); bodies are bounded.
    """

    def __init__(self, app: Any, hosts: tuple[str, ...]) -> None:
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host", "").rsplit(":", 1)[0] if not headers.get("host", "").startswith("[") else \
            headers.get("host", "").split("]")[0] + "]"
        if host not in self.hosts:
            await _refused(f"requests must address this machine ({', '.join(self.hosts)}), not {host!r}")(scope, receive, send)
            return
        if scope["method"] == "POST":
            origin = headers.get("origin")
            if origin is not None and origin.split("://", 1)[-1].rsplit(":", 1)[0] not in self.hosts:
                await _refused(f"requests from {origin} are refused")(scope, receive, send)
                return
            if not headers.get("content-type", "").startswith("application/json"):
                await _refused("send JSON (Content-Type: application/json)", 415)(scope, receive, send)
                return
            if int(headers.get("content-length", "0") or 0) > MAX_BODY:
                await _refused(f"the request is larger than {MAX_BODY:,} bytes", 413)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(server: Server, *, hosts: tuple[str, ...] = _LOOPBACK) -> Any:
    """The ASGI application of `planner serve` for one Server (see planner.serve.state)."""

    def session(request: Request) -> tuple[str, Workspace]:
        return server.workspace(request.cookies.get(COOKIE))

    def respond(sid: str, payload: Any, status: int = 200) -> JSONResponse:
        response = JSONResponse(payload, status_code=status)
        response.set_cookie(COOKIE, sid, httponly=True, samesite="strict", path="/")
        return response

    async def body_of(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if len(raw) > MAX_BODY:
            raise _BadRequest(f"the request is larger than {MAX_BODY:,} bytes")
        try:
            body = json.loads(raw or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise _BadRequest("the request is not JSON") from None
        if not isinstance(body, dict):
            raise _BadRequest("the request is not a JSON object")
        return body

    async def call(request: Request, work: Any) -> Response:
        """Run `work(workspace, body)` in a worker thread under the workspace's lock; errors as the CLI words them."""
        sid, ws = session(request)
        body: dict[str, Any] = {}
        try:
            if request.method == "POST":
                body = await body_of(request)
            lang = _lang(request, body)

            def locked() -> Any:
                with ws.lock:
                    return work(ws, body, lang)

            return respond(sid, await run_in_threadpool(locked))
        except _BadRequest as exc:
            return respond(sid, {"error": [str(exc)]}, 400)
        except PlannerError as exc:
            from ..messages import error_report

            return respond(sid, {"error": error_report(exc, _lang(request, body))}, 400)
        except Exception as exc:  # a bug, not the reviewer's input
            from ..debug import save_bundle

            path = save_bundle(exc, ["planner serve", request.url.path])
            return respond(sid, {"error": [f"Internal error ({type(exc).__name__}: {exc}). This is a bug in the planner; "
                                           f"please report it with the debug bundle saved at {path}"]}, 500)

    async def page(request: Request) -> Response:
        sid, _ws = session(request)
        html = (STATIC / "index.html").read_text(encoding="utf-8")
        response = HTMLResponse(html, headers={"Content-Security-Policy": "default-src 'self'; frame-ancestors 'self'",
                                               "Cache-Control": "no-store"})
        response.set_cookie(COOKIE, sid, httponly=True, samesite="strict", path="/")
        return response

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        kinds = {"review.js": "text/javascript", "review.css": "text/css"}
        if name not in kinds:
            return Response("not found", status_code=404)
        return Response((STATIC / name).read_bytes(), media_type=kinds[name], headers={"Cache-Control": "no-store"})

    async def options(request: Request) -> Response:
        def work(ws: Workspace, body: dict, lang: str) -> Any:
            return {"regions": _region_names(), "rules": server.rule_choices(), "region": server.default_region,
                    "save_dir": str(server.save_dir), "lang": lang}
        return await call(request, work)

    async def open_(request: Request) -> Response:
        def work(ws: Workspace, body: dict, lang: str) -> Any:
            return ws.open(_text(body, "region"), _text(body, "rules"))
        return await call(request, work)

    async def view(request: Request) -> Response:
        def work(ws: Workspace, body: dict, lang: str) -> Any:
            return ws.view(request.query_params.get("unit") or None)
        return await call(request, work)

    async def edit(request: Request) -> Response:
        def work(ws: Workspace, body: dict, lang: str) -> Any:
            values = body.get("values")
            if not isinstance(values, dict):
                raise _BadRequest("values must be an object of key -> text")
            return ws.edit(_text(body, "rule_id"), body.get("unit") or None, values)
        return await call(request, work)

    async def reset(request: Request) -> Response:
        return await call(request, lambda ws, body, lang: ws.reset())

    async def solve(request: Request) -> Response:
        def work(ws: Workspace, body: dict, lang: str) -> Any:
            return solved_view(ws.solve(_text(body, "unit")), lang)
        return await call(request, work)

    async def save(request: Request) -> Response:
        return await call(request, lambda ws, body, lang: ws.save(_text(body, "name")))

    async def map_page(request: Request) -> Response:
        sid = request.cookies.get(COOKIE)
        solved = server.solved(sid, request.path_params["token"])
        if solved is None:
            return HTMLResponse("<p>This map is no longer kept; solve again.</p>", status_code=404)
        lang = "en" if request.query_params.get("lang") == "en" else "zh"
        kind = request.path_params.get("kind", "unit")

        def draw() -> str | None:
            return unit_page(solved, server.tiles, lang) if kind == "unit" else diff_page(solved, server.tiles, lang)

        html = await run_in_threadpool(draw)
        if html is None:
            return HTMLResponse("<p>No earlier solve to compare with.</p>", status_code=404)
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    async def asset(request: Request) -> Response:
        from ..render import asset_files

        name = request.path_params["name"]
        files = asset_files()
        if name not in files:
            return Response("not found", status_code=404)
        kind = "text/css" if name.endswith(".css") else "text/javascript"
        return Response(files[name], media_type=kind)

    async def unit_map(request: Request) -> Response:
        request.path_params["kind"] = "unit"
        return await map_page(request)

    async def diff_map(request: Request) -> Response:
        request.path_params["kind"] = "diff"
        return await map_page(request)

    routes = [
        Route("/", page), Route("/static/{name}", static),
        Route("/api/options", options), Route("/api/view", view),
        Route("/api/open", open_, methods=["POST"]), Route("/api/edit", edit, methods=["POST"]),
        Route("/api/reset", reset, methods=["POST"]), Route("/api/solve", solve, methods=["POST"]),
        Route("/api/save", save, methods=["POST"]),
        Route("/maps/{token}/units/{file}", unit_map), Route("/maps/{token}/diff.html", diff_map),
        Route("/maps/{token}/assets/{name}", asset),
        Route("/favicon.ico", lambda request: Response(status_code=204)),
    ]
    return Guard(Starlette(routes=routes), hosts)


class _BadRequest(Exception):
    """A request the page would not send (not JSON, a missing field)."""


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _BadRequest(f"`{key}` must be given as text")
    return value.strip()


_REGION_NAMES: list[str] = []


def _region_names() -> list[str]:
    """Names to suggest in the region box: provinces, cities, counties (qualified when shared)."""
    if not _REGION_NAMES:
        from ..regions import catalog

        cat = catalog()
        cat = cat[cat["plannable"]]
        names = list(dict.fromkeys(list(cat["province_name"]) + list(cat["city_name"])))
        counts = cat["name"].value_counts()
        for r in cat.itertuples():
            names.append(r.name if counts[r.name] == 1 else f"{r.province_name}/{r.city_name}/{r.name}")
        _REGION_NAMES.extend(dict.fromkeys(names))
    return _REGION_NAMES


def run(server: Server, *, host: str = "127.0.0.1", port: int = 8765, log_level: str = "warning",
        ready: Any = None) -> None:
    """Serve the review page with uvicorn until interrupted."""
    import uvicorn

    hosts = tuple(dict.fromkeys((*_LOOPBACK, host)))
    config = uvicorn.Config(create_app(server, hosts=hosts), host=host, port=port, log_level=log_level,
                            access_log=False, lifespan="off")
    uv = uvicorn.Server(config)
    if ready is not None:
        original = uv.startup

        async def startup(sockets: Any = None) -> None:
            await original(sockets=sockets)
            ready(uv)

        uv.startup = startup  # type: ignore[method-assign]
    uv.run()
    sys.stdout.flush()
