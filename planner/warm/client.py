"""The command line's side of the warm process: find it, hand it the command and the terminal, relay signals and the exit code.

Only the standard library is imported here: this runs before the planner's heavy imports,
which the warm process (planner.warm.server) has already paid for.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import struct
import sys
import tempfile
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent
"""The planner package this command runs: the warm process must have imported the same one."""

NOT_DELEGATED = frozenset({"warm", "serve"})
"""Commands always run in this process (the warm process's own controls; the long-running review server)."""

GROUP_OPTIONS_WITH_VALUE = frozenset({"--lang"})
"""Options of the `planner` group that take a value (skipped to find the command's name)."""

IN_WARM_CHILD = False
"""True in a command the warm process runs (it must not delegate again)."""

_HEADER = struct.Struct("!I")


def warm_dir() -> Path:
    """The folder of this user's warm-process sockets: PLANNER_WARM_DIR, else $XDG_RUNTIME_DIR/planner-warm,
    else <tmp>/planner-warm-<uid>."""
    if os.environ.get("PLANNER_WARM_DIR"):
        return Path(os.environ["PLANNER_WARM_DIR"])
    if os.environ.get("XDG_RUNTIME_DIR"):
        return Path(os.environ["XDG_RUNTIME_DIR"]) / "planner-warm"
    return Path(tempfile.gettempdir()) / f"planner-warm-{os.getuid()}"


def socket_path() -> Path:
    """The socket of the warm process for this planner package (one per installation and user)."""
    tag = hashlib.sha256(str(PACKAGE_DIR).encode()).hexdigest()[:16]
    return warm_dir() / f"{tag}.sock"


def safe_dir(folder: Path) -> bool:
    """Whether `folder` is a real folder of this user that nobody else can enter (the socket's only protection
    besides the server's check of the caller's user id)."""
    try:
        st = os.lstat(folder)
    except OSError:
        return False
    import stat

    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not (st.st_mode & 0o077)


def code_key() -> str:
    """A digest of the Python, the planner package's files (names, sizes, modification times) and the site folders' times.

    The warm process answers only commands whose key matches the one it computed at start:
    after an edit or an upgrade of the planner it steps aside (and exits), never running old code.
    """
    h = hashlib.sha256(f"{sys.executable}\0{sys.version}\0{PACKAGE_DIR}".encode())
    import site

    # An install, upgrade or removal of any package adds or renames entries of a site folder (its
    # time changes): the warm process's pandas or OR-Tools would then be older than the files on disk.
    for folder in [*site.getsitepackages(), site.getusersitepackages()]:
        try:
            h.update(f"{folder}\0{os.stat(folder).st_mtime_ns}\n".encode())
        except OSError:
            continue
    for root, dirs, files in os.walk(PACKAGE_DIR):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith((".pyc", ".pyo")):
                continue
            path = os.path.join(root, name)
            try:
                st = os.stat(path)
            except OSError:
                continue
            h.update(f"{os.path.relpath(path, PACKAGE_DIR)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def command_of(argv: list[str]) -> str | None:
    """The subcommand's name in `planner [group options] COMMAND ...` (None for `planner --help` and the like)."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in GROUP_OPTIONS_WITH_VALUE:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def send_message(sock: socket.socket, message: dict, fds: list[int] | None = None) -> None:
    """One length-prefixed JSON message (with file descriptors attached, if any)."""
    payload = json.dumps(message).encode("ascii")  # \u escapes: undecodable bytes in names and values travel too
    data = _HEADER.pack(len(payload)) + payload
    if fds:
        sent = socket.send_fds(sock, [data], fds)
        if sent < len(data):
            sock.sendall(data[sent:])
    else:
        sock.sendall(data)


def recv_message(sock: socket.socket, max_fds: int = 0) -> tuple[dict | None, list[int]]:
    """One message sent by send_message and its file descriptors; (None, []) when the peer closed first."""
    fds: list[int] = []
    if max_fds:
        data, fds, _flags, _addr = socket.recv_fds(sock, 65536, max_fds)
    else:
        data = sock.recv(65536)
    buf = bytearray(data)
    while len(buf) < _HEADER.size:
        more = sock.recv(65536)
        if not more:
            return None, fds
        buf += more
    (size,) = _HEADER.unpack_from(buf)
    while len(buf) < _HEADER.size + size:
        more = sock.recv(max(65536, size))
        if not more:
            return None, fds
        buf += more
    return json.loads(bytes(buf[_HEADER.size:_HEADER.size + size]).decode("utf-8")), fds


def connect(timeout_s: float = 5.0) -> socket.socket | None:
    """A connection to this package's warm process, or None (none running, or its folder is not safe)."""
    path = socket_path()
    if not safe_dir(path.parent) or not path.exists():
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout_s)
    try:
        sock.connect(str(path))
    except OSError:
        sock.close()
        return None
    return sock


def _stream(fd: int, f: object) -> dict:
    return {"encoding": getattr(f, "encoding", None) or "utf-8", "errors": getattr(f, "errors", None) or "strict"}


def delegate(argv: list[str], lang: str = "en") -> int | None:
    """Run `planner ARGV` in the warm process, if one runs for this package and code: its exit code, else None.

    None (run the command here, as without a warm process) when PLANNER_WARM=0, for the
    commands in NOT_DELEGATED, when no warm process answers, or when its code differs. The
    command gets this process's terminal (stdin, stdout, stderr), folder, environment and
    umask; Ctrl-C and termination are passed on to it. `lang` is the language of the one
    message of this module (the warm process ended mid-command).
    """
    if IN_WARM_CHILD or os.environ.get("PLANNER_WARM", "") == "0":
        return None
    command = command_of(argv)
    if command is None or command in NOT_DELEGATED:
        return None
    try:
        for fd in (0, 1, 2):
            os.fstat(fd)
    except OSError:
        return None  # a closed standard stream cannot be handed over
    sock = connect()
    if sock is None:
        return None
    # Signals are caught from here on: one that comes before the command has started is passed on
    # as soon as it has (a Ctrl-C in between must neither kill this process with a traceback nor be lost).
    relay = _Relay()
    old = {s: signal.signal(s, relay.handle) for s in RELAYED}
    try:
        with sock:
            try:
                umask = os.umask(0)
                os.umask(umask)
                request = {"op": "run", "key": code_key(), "argv": list(argv), "cwd": os.getcwd(),
                           "env": dict(os.environ), "umask": umask, "nice": os.nice(0),
                           "streams": [_stream(0, sys.stdin), _stream(1, sys.stdout), _stream(2, sys.stderr)]}
                send_message(sock, request, [0, 1, 2])
                started, _ = recv_message(sock)
            except (OSError, ValueError):
                started = None
            if not started or "pid" not in started:  # stale code (the warm process exits), or it refused
                if relay.pending:  # interrupted before anything ran: as the command would have been
                    from ..publish import interrupted_message

                    sys.stderr.write(interrupted_message(lang) + "\n")
                    return 128 + relay.pending[0]
                return None
            relay.start(int(started["pid"]))
            return _wait(sock, lang)
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


RELAYED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""Signals passed on to the command running in the warm process (Ctrl-C, termination, hang-up)."""


class _Relay:
    """Pass signals on to the command's process, holding those that come before it is known."""

    def __init__(self) -> None:
        self.pid: int | None = None
        self.pending: list[int] = []

    def handle(self, signum: int, _frame: object) -> None:
        if self.pid is None:
            self.pending.append(signum)
        else:
            self._send(signum)

    def start(self, pid: int) -> None:
        self.pid = pid
        for signum in self.pending:
            self._send(signum)

    def _send(self, signum: int) -> None:
        try:
            os.kill(self.pid, signum)  # type: ignore[arg-type]
        except OSError:
            pass


def _wait(sock: socket.socket, lang: str) -> int:
    """The exit code of the command running in the warm process (signals are relayed meanwhile)."""
    sock.settimeout(None)
    while True:
        try:
            done, _ = recv_message(sock)
            break
        except InterruptedError:  # pragma: no cover  (PEP 475 retries; kept for safety)
            continue
        except (OSError, ValueError):
            done = None
            break
    if not done or "exit" not in done:
        from ..i18n import Text, tr

        sys.stderr.write(tr(Text("Error: the warm planner process ended before the command finished; run the command "
                                 "again (`planner warm stop` ends the warm process, PLANNER_WARM=0 bypasses it)",
                                 "错误：常驻规划进程在命令完成前退出；请重新运行该命令（`planner warm stop` 结束常驻进程，"
                                 "PLANNER_WARM=0 可绕过它）"), lang) + "\n")
        return 1
    return int(done["exit"])
