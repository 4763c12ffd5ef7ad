"""The warm process: imports the planner once, then runs each command in a fork of itself (a fresh copy every time).

Started by `planner warm start` (in the background) or `python -m planner.warm.server`. It
listens on a Unix socket in a folder only this user can enter (planner.warm.client.warm_dir),
answers only this user's processes (the peer's user id is checked), and only commands made with
the same planner code (client.code_key; it exits when the code changed). Each command runs in a
child forked from the warm process after its imports, with the caller's terminal, folder,
environment and umask: no state is shared between commands, so concurrent commands are as safe
as separate processes. It exits on `planner warm stop`, SIGTERM, or after `idle_timeout_s`
without a command.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import io
import json
import os
import signal
import socket
import stat
import sys
import time
from pathlib import Path

from . import client

PRELOAD = (
    "planner.cli", "planner.pipeline", "planner.cache", "planner.rulefile", "planner.regions", "planner.planfile",
    "planner.planning", "planner.check", "planner.capacity", "planner.dispatch", "planner.dialysis", "planner.report",
    "planner.publish", "planner.messages", "planner.diff", "planner.access.run", "planner.access.check",
    "planner.access.outputs", "planner.access.report", "planner.villages.run", "planner.villages.check",
    "planner.villages.layers", "planner.villages.outputs", "planner.villages.routes", "planner.cli_maps",
    "planner.render", "planner.validate", "planner.roster", "planner.api", "folium", "openpyxl",
    "ortools.sat.python.cp_model",
)
"""What a command imports (the plan command's path first); an optional one that is not installed is skipped."""


def preload() -> list[str]:
    """Import PRELOAD; the names that could not be imported."""
    missing = []
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


class WarmServer:
    """The listening socket and the loop that forks a child per command.

    Parameters
    ----------
    path
        The socket (its folder is created 0700 if missing and must be this user's alone).
    idle_timeout_s
        Exit after this long without a command (0: never).
    """

    def __init__(self, path: Path, idle_timeout_s: float = 0.0) -> None:
        self.path = path
        self.idle_timeout_s = idle_timeout_s
        self.key = client.code_key()
        self.started = time.time()
        self.served = 0
        self.children: set[int] = set()
        self.sock: socket.socket | None = None

    def bind(self) -> None:
        """Create the socket; refuse when another warm process answers on it."""
        from ..cli import locale_lang
        from ..i18n import Text, tr

        folder = self.path.parent
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not client.safe_dir(folder):
            raise SystemExit(tr(Text(f"{folder} is not a folder of this user closed to others (mode 0700); "
                                     "remove it or set PLANNER_WARM_DIR",
                                     f"{folder} 不是本用户的、他人无法进入的文件夹（权限 0700）；请删除它或设置 PLANNER_WARM_DIR"),
                                locale_lang()))
        probe = client.connect(timeout_s=2.0)
        if probe is not None:
            probe.close()
            raise SystemExit(tr(Text(f"a warm planner process already answers on {self.path}",
                                     f"已有常驻规划进程在 {self.path} 上响应"), locale_lang()))
        if self.path.exists() or self.path.is_symlink():
            if not stat.S_ISSOCK(os.lstat(self.path).st_mode):  # not a socket: not ours to remove
                raise SystemExit(tr(Text(f"{self.path} exists and is not a warm-process socket; move it away or set "
                                         "PLANNER_WARM_DIR to another folder",
                                         f"{self.path} 已存在且不是常驻进程的套接字；请移走它，或把 PLANNER_WARM_DIR 设为其他文件夹"),
                                    locale_lang()))
            self.path.unlink()  # left by a warm process that was killed
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            sock.bind(str(self.path))
        finally:
            os.umask(old)
        sock.listen(16)
        sock.settimeout(1.0)  # wake up to reap children and to notice the idle timeout
        self.sock = sock

    def close(self) -> None:
        """Stop listening and remove the socket (if it is still ours)."""
        if self.sock is not None:
            try:
                self.path.unlink(missing_ok=True)  # bind() refused to start beside a live one: the path is ours
            except OSError:
                pass
            self.sock.close()
            self.sock = None

    def _reap(self) -> None:
        for pid in list(self.children):
            try:
                done, _status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                self.children.discard(pid)

    def serve_forever(self) -> None:
        """Answer commands until stopped."""
        assert self.sock is not None
        last = time.monotonic()
        while True:
            self._reap()
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                if self.idle_timeout_s and not self.children and time.monotonic() - last > self.idle_timeout_s:
                    return
                continue
            last = time.monotonic()
            if not self._handle(conn):
                return

    def _handle(self, conn: socket.socket) -> bool:
        """One connection; False when the server must stop."""
        fds: list[int] = []
        try:
            conn.settimeout(10.0)
            uid = _peer_uid(conn)
            if uid != os.getuid():
                return True  # not this user's process: no answer
            request, fds = client.recv_message(conn, max_fds=3)
            if not request:
                return True
            op = request.get("op")
            if op == "status":
                self._reap()  # "running" counts the commands still running now
                client.send_message(conn, {"pid": os.getpid(), "served": self.served, "running": len(self.children),
                                           "started": self.started, "key": self.key, "package": str(client.PACKAGE_DIR)})
                return True
            if op == "stop":
                client.send_message(conn, {"stopping": os.getpid()})
                return False
            if op != "run":
                return True
            if request.get("key") != self.key:
                client.send_message(conn, {"stale": True})
                return False  # the planner's code changed since the imports: step aside for good
            if len(fds) != 3:
                return True
            pid = os.fork()
            if pid == 0:  # the child: never returns
                try:
                    self.sock.close()  # type: ignore[union-attr]
                    _run_child(conn, request, fds)
                finally:
                    os._exit(1)
            self.children.add(pid)
            self.served += 1
            return True
        except (OSError, ValueError):
            return True
        finally:
            for fd in fds:
                try:
                    os.close(fd)
                except OSError:
                    pass
            conn.close()


def _peer_uid(conn: socket.socket) -> int:
    import struct

    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", creds)[1]


def _run_child(conn: socket.socket, request: dict, fds: list[int]) -> None:
    """Become the command: the caller's streams, folder, environment, umask and niceness; run it; report its exit code."""
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    for fd in fds:
        if fd > 2:
            os.close(fd)
    os.chdir(request["cwd"])
    os.umask(int(request["umask"]))
    nice = int(request.get("nice", 0)) - os.nice(0)
    if nice > 0:
        os.nice(nice)
    os.environ.clear()
    os.environ.update(request["env"])
    streams = request["streams"]
    unbuffered = bool(os.environ.get("PYTHONUNBUFFERED"))
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding=streams[0]["encoding"],
                                 errors=streams[0]["errors"])
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding=streams[1]["encoding"],
                                  errors=streams[1]["errors"], line_buffering=os.isatty(1), write_through=unbuffered)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding=streams[2]["encoding"],
                                  errors=streams[2]["errors"], line_buffering=True, write_through=unbuffered)
    client.IN_WARM_CHILD = True
    conn.settimeout(None)
    argv = list(request["argv"])
    sys.argv = ["planner", *argv]
    gc.enable()
    code: object = 0
    try:  # from the moment the caller knows this pid, a relayed Ctrl-C lands in here
        client.send_message(conn, {"pid": os.getpid()})
        from planner.cli import main

        main.main(args=argv, prog_name="planner")
    except SystemExit as exc:
        code = exc.code
    except KeyboardInterrupt:  # a Ctrl-C relayed before the command's own handling had started, or after it
        from planner.cli import message_lang
        from planner.publish import interrupted_message

        print(interrupted_message(message_lang()), file=sys.stderr)
        code = 130
    except BaseException:  # noqa: BLE001  (click's standalone mode leaves only what escapes the planner's own handling)
        import traceback

        traceback.print_exc()
        code = 1
    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)  # as the interpreter does with sys.exit("message")
        code = 1
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except (OSError, ValueError):
            pass
    try:
        client.send_message(conn, {"exit": code})
    except OSError:
        pass
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    """`python -m planner.warm.server [--socket PATH] [--idle-timeout-s S]`: run the warm process in the foreground."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--socket", type=Path, default=None, help="Socket path (default: planner.warm.client.socket_path()).")
    ap.add_argument("--idle-timeout-s", type=float, default=0.0, help="Exit after this long without a command (0: never).")
    args = ap.parse_args(argv)
    server = WarmServer(args.socket or client.socket_path(), args.idle_timeout_s)
    missing = preload()
    gc.collect()
    gc.freeze()  # the children share the imported objects' pages instead of copying them on the first collection
    server.bind()

    def stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    print(json.dumps({"ready": str(server.path), "pid": os.getpid(), "missing": missing}), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
