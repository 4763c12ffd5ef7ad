"""Publish output folders safely: only over what the planner wrote, one folder per atomic step, one run's pair together.

Every folder the planner publishes (a plan, its maps, reports, a roster template) carries a
marker file, `.planner-output.json`, with its kind and the run id. An output path is refused,
before anything is written, when it is anything else: a file, a folder with files but no
marker (or another kind's marker), a link the planner did not make, the root or home folder,
the current folder or one of its parents, a folder holding an input file, the rule files or
the cache, or a path equal to, inside or around the run's other output folder.

A folder is written in a hidden sibling (`.NAME.PID.XXXX`) and published by swapping a
symbolic link with os.replace. The folders of one run (plan and maps) are staged completely,
then published together under a lock on each target (fcntl, released by the kernel when the
process dies, so a killed run never leaves a stale lock), with Ctrl-C held back for the few
renames, and a journal beside each target names the new and the previous folders while the
links are swapped: a run killed between two swaps leaves the journal, which says exactly
which part is new, and the next run publishing there finishes the swap before its own.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ._errors import InputDataError, PlannerError, Problem
from .i18n import Text

MARKER = ".planner-output.json"
KINDS = {"plan": ("a plan", "规划"), "maps": ("maps", "地图"), "reports": ("reports", "报告"),
         "roster": ("a roster template", "花名册模板")}
ORPHAN_AGE_S = 3600.0

PUBLISHED: list[tuple[str, Path, str]] = []
"""(kind, folder, run id) of every folder this process published, in order: what a Ctrl-C message may claim."""

NOTES: list[Text] = []
"""Notes for the user from the last publish (a stopped run's publish finished, a wait for another run)."""


def run_id(*parts: str) -> str:
    """A run id: a digest of what the run publishes, so the same run gives the same bytes (16 hex digits)."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()[:16]


# --- which paths may be replaced --------------------------------------------------------------


def _resolved(p: Path) -> Path:
    try:
        return p.expanduser().resolve()
    except (OSError, RuntimeError):
        return p.expanduser().absolute()


def _inside(child: Path, parent: Path) -> bool:
    """True when `child` is `parent` or below it (both resolved)."""
    return child == parent or parent in child.parents


def read_marker(folder: Path) -> dict | None:
    """The marker of a folder the planner published, or None (none, unreadable or garbled)."""
    try:
        doc = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and doc.get("kind") in KINDS else None


def _legacy_link(target: Path) -> bool:
    """A link the planner's earlier versions made: to a hidden sibling folder `.NAME.*` (no marker then)."""
    try:
        dest = os.readlink(target)
    except OSError:
        return False
    return "/" not in dest and dest.startswith(f".{target.name}.") and (target.parent / dest).is_dir()


def _what(kind: str) -> Text:
    en, zh = KINDS.get(kind, (kind, kind))
    return Text(en, zh)


def target_problems(target: str | Path, kind: str, option: str = "--out", *,
                    protect: Sequence[tuple[str, str | Path]] = (),
                    others: Sequence[tuple[str, str | Path]] = ()) -> list[Problem]:
    """Why `target` must not be replaced by a folder of `kind` (empty when it may be).

    Parameters
    ----------
    target
        The output folder as the user gave it.
    kind
        "plan", "maps", "reports" or "roster".
    option
        The option that named it (for the message), e.g. "--out" or "--maps-dir".
    protect
        (what, path) pairs that must survive the run: input files, the rule file, the cache
        folder. The target may not be any of them nor hold one.
    others
        (option, path) of the run's other output folders: neither may be or hold the other.
    """
    if "\0" in str(target):
        return [Problem(repr(str(target)), "", Text(f"{option} contains a NUL character (\\0)", f"{option} 含有 NUL 字符（\\0）"),
                        Text("give a path without NUL characters", "请给出不含 NUL 字符的路径"))]
    given = Path(target)
    path = _resolved(given)
    shown = str(given)
    fix = Text("choose another folder for the output, e.g. a new one under plans/ (the planner only replaces folders it wrote)",
               "请另选输出文件夹，例如 plans/ 下的新文件夹（规划工具只替换它自己写出的文件夹）")

    def problem(en: str, zh: str, fix_: Text = fix) -> list[Problem]:
        return [Problem(shown, "", Text(f"{option} {en}", f"{option} {zh}"), fix_)]

    if path == Path(path.anchor):
        return problem("is the root folder /", "是根目录 /")
    home = _resolved(Path.home())
    if _inside(home, path):
        return problem("is the home folder or holds it", "是用户主目录或包含主目录")
    cwd = _resolved(Path.cwd())
    if _inside(cwd, path):
        return problem("is the current folder or holds it", "是当前文件夹或包含当前文件夹")
    from .rulefile import builtin_dir

    rules_dir = _resolved(builtin_dir())
    if _inside(rules_dir, path) or _inside(path, rules_dir):
        return problem(f"is the shipped rule folder {rules_dir} or is inside it or holds it",
                       f"是内置规则文件夹 {rules_dir}，或在其中，或包含它")
    for what, p in protect:
        q = _resolved(Path(p))
        if _inside(q, path):
            return problem(f"holds {what} {p}, which the run would delete", f"包含 {what} {p}，运行会将其删除")
    for other_option, p in others:
        q = _resolved(Path(p))
        if q == path:
            return problem(f"is the same folder as {other_option}", f"与 {other_option} 是同一个文件夹",
                           Text(f"give {option} and {other_option} different folders, e.g. plans/NAME and maps/NAME",
                                f"为 {option} 与 {other_option} 指定不同的文件夹，例如 plans/NAME 与 maps/NAME"))
        if _inside(q, path) or _inside(path, q):
            inner, outer = (other_option, option) if _inside(q, path) else (option, other_option)
            return problem(f"and {other_option} are nested ({inner} is inside {outer})",
                           f"与 {other_option} 相互嵌套（{inner} 在 {outer} 之内）",
                           Text(f"give {option} and {other_option} separate folders, e.g. plans/NAME and maps/NAME",
                                f"为 {option} 与 {other_option} 指定互不包含的文件夹，例如 plans/NAME 与 maps/NAME"))
    for parent in list(reversed(given.absolute().parents)):
        if parent.exists() and not parent.is_dir():
            return problem(f"lies inside {parent}, which is a file, not a folder", f"位于文件 {parent} 之内（它不是文件夹）",
                           Text(f"choose an output folder whose parent folders exist or can be made (not inside {parent})",
                                f"请选择上级目录存在或可创建的输出文件夹（不要在 {parent} 之内）"))
    if given.is_symlink():
        marker = read_marker(given) if given.is_dir() else None
        if marker is None and not _legacy_link(given):
            return problem(f"is a link to {os.readlink(given)} that the planner did not make",
                           f"是指向 {os.readlink(given)} 的链接，并非规划工具创建")
    elif given.exists() and not given.is_dir():
        return problem("is a file, not a folder the planner wrote; the planner never replaces it",
                       "是一个文件，不是规划工具写出的文件夹；规划工具不会替换它",
                       Text(f"choose another {option} folder, or move the file away", f"请另选 {option} 文件夹，或将该文件移走"))
    if given.is_dir():
        marker = read_marker(given)
        try:
            empty = not any(given.iterdir())
        except OSError:
            empty = False
        if marker is None and not empty and not _legacy_link(given):
            return problem(f"is a folder with files the planner did not write (no {MARKER} marker); nothing was changed",
                           f"是一个含有非规划工具所写文件的文件夹（没有 {MARKER} 标记）；未作任何改动",
                           Text(f"choose another {option} folder (a new or empty one), or move the files away",
                                f"请另选 {option} 文件夹（新的或空的），或将其中文件移走"))
        if marker is not None and marker["kind"] != kind:
            have, want = _what(marker["kind"]), _what(kind)
            return problem(f"holds {have.en} the planner wrote, not {want.en}", f"存放的是规划工具写出的{have.zh}，而不是{want.zh}",
                           Text(f"give {option} a folder of its own for {want.en}", f"请为{want.zh}另指定 {option} 文件夹"))
    return []


def check_targets(targets: Sequence[tuple[str | Path, str, str]], protect: Sequence[tuple[str, str | Path]] = (),
                  others: Sequence[tuple[str, str | Path]] = ()) -> None:
    """Raise InputDataError naming every output path of a run that must not be replaced.

    `targets` are (path, kind, option) of the run's output folders; each is checked against
    the protected paths, the other targets and `others` (option, path), e.g. the plan folder
    a map is drawn from (see target_problems).
    """
    problems = []
    for i, (path, kind, option) in enumerate(targets):
        earlier = [(o, p) for p, _k, o in targets[:i]]  # a pair that clashes is reported once, at the second
        problems += target_problems(path, kind, option, protect=protect, others=[*earlier, *others])
    if problems:
        raise InputDataError(list(dict.fromkeys(problems)))


def check_file_target(target: str | Path, option: str = "--out", protect: Sequence[tuple[str, str | Path]] = ()) -> None:
    """Refuse a single output file (a roster, a site table, a diff map) that would replace an input or a folder.

    A file at `target` is replaced in one step (io.atomic_path); it must not be a folder, an
    input of the run (`protect`), or a file in the shipped rule folder.
    """
    from .rulefile import builtin_dir

    given = Path(target)
    path = _resolved(given)
    fix = Text(f"choose another {option} file", f"请另选 {option} 文件")
    problem = None
    if given.is_dir():
        problem = Text(f"{option} is a folder; give a file name", f"{option} 是文件夹；请给出文件名")
    elif _inside(path, _resolved(builtin_dir())):
        problem = Text(f"{option} is in the shipped rule folder", f"{option} 位于内置规则文件夹中")
    else:
        for what, p in protect:
            if _resolved(Path(p)) == path:
                problem = Text(f"{option} is {what}, which it would replace", f"{option} 是{what}，会被覆盖")
                break
    if problem is not None:
        raise InputDataError(Problem(str(given), "", problem, fix))


# --- locking ------------------------------------------------------------------------------------


def lock_path(target: Path) -> Path:
    """The lock file beside an output folder."""
    return target.parent / f".{target.name}.lock"


@contextlib.contextmanager
def locked(targets: Sequence[Path], say: Callable[[Text], None] | None = None) -> Iterator[None]:
    """Hold an exclusive lock on each target (in a fixed order, so two runs never deadlock).

    The locks are fcntl locks on `.NAME.lock` beside each target: the kernel drops them when
    the process ends, however it ends, so a killed run leaves no stale lock. A run that finds
    a target locked waits for the other run to finish publishing, and says so.
    """
    fds = []
    try:
        for target in sorted({_resolved(t) for t in targets}, key=str):
            target.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock_path(target), os.O_RDWR | os.O_CREAT, 0o644)
            fds.append(fd)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
                if say is not None:
                    say(Text(f"Waiting: another planner run (pid {holder}) is publishing into {target}",
                             f"等待：另一个规划运行（进程 {holder}）正在发布到 {target}"))
                fcntl.flock(fd, fcntl.LOCK_EX)
            except OSError as exc:
                if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP):
                    raise
                continue  # a file system without locks (some network shares): publish unlocked
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        for fd in fds:
            os.close(fd)


@contextlib.contextmanager
def _held_signals() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) and SIGTERM back for a few renames; they take effect right after.

    The handlers are swapped for ones that only note the signal (blocking it per thread would
    not do: a library's thread may receive it), then restored, and a noted signal is raised again.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    noted: list[int] = []
    wanted = (signal.SIGINT, signal.SIGTERM)
    old = {sig: signal.signal(sig, lambda signum, _frame: noted.append(signum)) for sig in wanted}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        for sig in dict.fromkeys(noted):
            os.kill(os.getpid(), sig)  # now, with the handler the run had


# --- staging and publishing -----------------------------------------------------------------------


@dataclass
class Stage:
    """A folder being written for `target`, published by `publish`."""

    target: Path
    kind: str
    run_id: str
    work: Path
    option: str = "--out"
    protect: list[tuple[str, str | Path]] = field(default_factory=list)
    others: list[tuple[str, str | Path]] = field(default_factory=list)
    old: Path | None = None
    published: bool = False


def begin(target: str | Path, kind: str, run_id: str, option: str = "--out", *,
          protect: Sequence[tuple[str, str | Path]] = (), others: Sequence[tuple[str, str | Path]] = ()) -> Stage:
    """Check `target` may be replaced and make the hidden folder to write its new content into."""
    target = Path(target)
    problems = target_problems(target, kind, option, protect=protect, others=others)
    if problems:
        raise InputDataError(problems)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{target.name}.{os.getpid()}.", dir=target.parent))
    except OSError as exc:  # name the folder the user gave, not the hidden one being made
        raise environment_error(OSError(exc.errno, exc.strerror, str(target.parent))) from None
    stage = Stage(target, kind, run_id, work, option, list(protect), list(others))
    _write_marker(stage)
    return stage


def _write_marker(stage: Stage) -> None:
    from . import __version__

    doc = {"kind": stage.kind, "run_id": stage.run_id, "planner": __version__,
           "note": "Written by medcommunity-planner: `planner` replaces this folder only while this file is here."}
    (stage.work / MARKER).write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def discard(stages: Sequence[Stage]) -> None:
    """Remove the hidden folders of stages that were not published (a published one is the output now)."""
    for s in stages:
        if not s.published:
            shutil.rmtree(s.work, ignore_errors=True)


@contextlib.contextmanager
def writing(stage: Stage) -> Iterator[None]:
    """Turn a fault of the machine while a stage is written (disk full, permission denied) into its one-line error.

    The message names the output folder as the user gave it, not the hidden folder being written.
    """
    try:
        yield
    except Exception as exc:
        fault = environment_fault(exc, stage.target)
        if fault is None:
            raise
        hidden_dir, shown = str(stage.work), str(stage.target)
        raise EnvironmentFault(Text(fault.line.en.replace(hidden_dir, shown), fault.line.zh.replace(hidden_dir, shown))) from None


@contextlib.contextmanager
def staged(target: str | Path, kind: str, run_id: str, option: str = "--out", *,
           protect: Sequence[tuple[str, str | Path]] = (), others: Sequence[tuple[str, str | Path]] = (),
           say: Callable[[Text], None] | None = None) -> Iterator[Path]:
    """Yield a fresh folder to write `target`'s new content into; on success publish it in one step."""
    stage = begin(target, kind, run_id, option, protect=protect, others=others)
    try:
        with writing(stage):
            yield stage.work
    except BaseException:
        discard([stage])
        raise
    publish([stage], say=say)


def publish(stages: Sequence[Stage], say: Callable[[Text], None] | None = None) -> None:
    """Publish staged folders together: lock the targets, check them again, swap every link, clean up.

    The targets are re-checked under the lock (a file put there since the run began is
    refused like any other, and nothing is touched). A journal beside every target names
    the swaps while they happen; Ctrl-C is held back until they are done.
    """
    stages = list(stages)
    NOTES.clear()
    try:
        with locked([s.target for s in stages], say=say):
            for s in stages:
                recover(s.target, say=say)
            problems = [p for s in stages for p in target_problems(s.target, s.kind, s.option, protect=s.protect,
                                                                     others=s.others)]
            if problems:
                raise InputDataError(list(dict.fromkeys(problems)))
            with _held_signals():
                journal = _journal_doc(stages)
                for s in stages:
                    _write_journal(s.target, journal)
                for s in stages:
                    _swap(s)
                    s.published = True
                    PUBLISHED.append((s.kind, s.target, s.run_id))
                for s in stages:
                    _journal_file(s.target).unlink(missing_ok=True)
            for s in stages:
                if s.old is not None and s.old.exists() and _resolved(s.old) != _resolved(s.work):
                    shutil.rmtree(s.old, ignore_errors=True)
                remove_orphans(s.target, keep=s.work)
    except BaseException as exc:
        discard(stages)
        if not any(s.published for s in stages):  # nothing swapped: the journal has nothing to say
            for s in stages:
                with contextlib.suppress(OSError):
                    _journal_file(s.target).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise environment_error(exc, stages[0].target if stages else None) from None
        raise


def _swap(stage: Stage) -> None:
    """Point `stage.target` at its new folder in one rename (a plain folder there is moved aside first)."""
    target = stage.target
    parent = target.parent
    old: Path | None = None
    if target.is_symlink():
        old = parent / os.readlink(target)
    elif target.is_dir():
        # An empty folder, or one the planner published without a link: move it aside first.
        aside = Path(tempfile.mkdtemp(prefix=f".{target.name}.old{os.getpid()}.", dir=parent))
        aside.rmdir()
        try:
            os.replace(target, aside)
        except OSError as exc:  # e.g. a mount point (busy): name the folder the user gave
            raise OSError(exc.errno, exc.strerror, str(target)) from None
        old = aside
    link = parent / f".{target.name}.link{os.getpid()}"
    if link.is_symlink() or link.exists():
        link.unlink()
    os.symlink(stage.work.name, link)
    os.replace(link, target)
    os.chmod(stage.work, 0o755)
    stage.old = old


def _journal_file(target: Path) -> Path:
    return target.parent / f".{target.name}.journal.json"


def _journal_doc(stages: Sequence[Stage]) -> dict:
    return {"pid": os.getpid(), "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "note": "A planner run was publishing these folders together. If this file is still here, the run was "
                    "stopped between two of them: each target whose link points at its `new` folder holds the new run "
                    "(run_id), the others still hold the previous run. The next planner run into any of them finishes it.",
            "swaps": [{"target": str(_resolved(s.target.parent) / s.target.name), "kind": s.kind, "run_id": s.run_id,
                       "new": s.work.name} for s in stages]}


def _write_journal(target: Path, doc: dict) -> None:
    path = _journal_file(target)
    tmp = path.with_name(path.name + f".{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps(doc, indent=1) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def journal_state(target: str | Path) -> list[dict] | None:
    """What a stopped publish left at `target`: each swap with `published` True where the new folder is in place.

    None when no publish was stopped there.
    """
    target = Path(target)
    try:
        doc = json.loads(_journal_file(target).read_text(encoding="utf-8"))
        swaps = doc["swaps"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    out = []
    for s in swaps:
        t = Path(s["target"])
        try:
            now = os.readlink(t) if t.is_symlink() else None
        except OSError:
            now = None
        out.append({**s, "published": now == s["new"]})
    return out


def recover(target: Path, say: Callable[[Text], None] | None = None) -> None:
    """Finish a publish that a killed run left half done at `target` (call with the target locked).

    Every folder of that run was complete before its first swap, so the remaining links are
    pointed at the new folders: the pair is the stopped run's, whole.
    """
    state = journal_state(target)
    if state is None:
        if _journal_file(target).exists():
            _journal_file(target).unlink(missing_ok=True)  # garbled: nothing to finish
        return
    finished = []
    for s in state:
        t = Path(s["target"])
        new = t.parent / s["new"]
        if not s["published"] and new.is_dir() and read_marker(new) is not None:
            stage = Stage(t, s["kind"], s["run_id"], new)
            _swap(stage)
            if stage.old is not None and stage.old.exists():
                shutil.rmtree(stage.old, ignore_errors=True)
            finished.append(str(t))
    for s in state:
        _journal_file(Path(s["target"])).unlink(missing_ok=True)
    if finished:
        note = Text(f"Note: a planner run (run id {state[0]['run_id']}) was stopped while publishing; "
                    f"its publish is now finished ({', '.join(finished)} updated), so its folders are one run's again",
                    f"说明：一次规划运行（运行编号 {state[0]['run_id']}）在发布时被中止；现已完成其发布"
                    f"（已更新 {'、'.join(finished)}），各文件夹重新属于同一次运行")
        NOTES.append(note)
        if say is not None:
            say(note)


_WORK_NAME = r"^\.{name}\.(?:old)?(\d+)\.[A-Za-z0-9_]+$"


def remove_orphans(target: Path, keep: Path | None = None) -> None:
    """Remove hidden folders of `target` no link points at, left by runs that were killed or raced.

    Their names carry the writing process's id: a folder whose process is gone is removed at
    once, any other only when it is more than an hour old.
    """
    now = time.time()
    current = _resolved(target.parent / os.readlink(target)) if target.is_symlink() else None
    pattern = re.compile(_WORK_NAME.format(name=re.escape(target.name)))
    try:
        siblings = list(target.parent.iterdir())
    except OSError:
        return
    for other in siblings:
        m = pattern.match(other.name)
        if m is None or other.is_symlink() or not other.is_dir():
            continue
        if _resolved(other) in (current, _resolved(keep) if keep is not None else None):
            continue
        pid = int(m.group(1))
        try:
            age = now - other.stat().st_mtime
        except OSError:
            continue
        if (pid != os.getpid() and not _alive(pid)) or age > ORPHAN_AGE_S:
            shutil.rmtree(other, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def interrupted_message(lang: str) -> str:
    """What Ctrl-C left: nothing published, or which folders this process published (and their run ids)."""
    if not PUBLISHED:
        return ("已中断。已求解的县保存在缓存中；再次运行同一命令即可继续（没有写入或改动任何输出文件夹）。" if lang == "zh" else
                "Interrupted. Counties solved so far are kept in the cache; run the same command again to continue "
                "(no output folder was written or changed).")
    done = [(k, p, r) for k, p, r in PUBLISHED]
    if lang == "zh":
        parts = "；".join(f"{_what(k).zh} {p}（运行编号 {r}）" for k, p, r in done)
        return f"已中断，但中断前已发布：{parts}。这些文件夹已是本次运行的结果。"
    parts = "; ".join(f"{_what(k).en} {p} (run id {r})" for k, p, r in done)
    return f"Interrupted after publishing: {parts}. Those folders hold this run's output."


# --- environment faults -----------------------------------------------------------------------------


class EnvironmentFault(PlannerError):
    """The machine, not the input or the planner: permission denied, disk full, a file where a folder should be."""

    exit_code = 2

    def __init__(self, line: Text) -> None:
        self.line = line
        super().__init__(str(line))

    def lines(self, lang: str = "en") -> list[str]:  # type: ignore[override]
        return [self.line.get(lang)]


_ENV_MESSAGES = {
    errno.EACCES: ("permission denied", "权限不足", "give a path you may read and write, or change its permissions",
                   "请换一个有读写权限的路径，或修改其权限"),
    errno.EPERM: ("operation not permitted", "不允许此操作", "give a path you may read and write, or change its permissions",
                  "请换一个有读写权限的路径，或修改其权限"),
    errno.EROFS: ("is on a read-only file system", "位于只读文件系统", "choose a folder on a writable disk",
                  "请选择可写磁盘上的文件夹"),
    errno.ENOSPC: ("no space left on the device", "磁盘空间不足", "free some space there or choose a folder on another disk "
                   "(nothing half-written was published)", "请清理磁盘空间或改用其他磁盘上的文件夹（未发布任何写了一半的文件）"),
    errno.EDQUOT: ("disk quota exceeded", "超出磁盘配额", "free some space there or choose a folder on another disk "
                   "(nothing half-written was published)", "请清理磁盘空间或改用其他磁盘上的文件夹（未发布任何写了一半的文件）"),
    errno.ENOTDIR: ("is not a folder (a part of the path is a file)", "不是文件夹（路径中有一部分是文件）",
                    "give a path whose parent folders are folders", "请给出上级均为文件夹的路径"),
    errno.EISDIR: ("is a folder where a file is expected", "是文件夹，但此处需要文件", "give the path of a file",
                   "请给出文件路径"),
    errno.EBUSY: ("is busy (a mount point or in use by another program)", "正被占用（挂载点或被其他程序使用）",
                  "close the program that uses it, or choose another path", "请关闭占用它的程序，或换一个路径"),
    errno.ETXTBSY: ("is busy (in use by another program)", "正被其他程序使用", "close the program that uses it, or choose "
                    "another path", "请关闭占用它的程序，或换一个路径"),
    errno.ENAMETOOLONG: ("has a name too long for the file system", "名称超出文件系统长度限制", "choose a shorter path",
                         "请使用更短的路径"),
    errno.ELOOP: ("has too many symbolic links", "符号链接层数过多", "give a path without a link loop", "请给出没有循环链接的路径"),
    errno.EMFILE: ("cannot be opened: too many open files", "无法打开：打开的文件过多", "raise the open-file limit (ulimit -n)",
                   "请提高打开文件数上限（ulimit -n）"),
    errno.EEXIST: ("already exists", "已存在", "choose another path or move it away", "请换一个路径或将其移走"),
}


def is_environment_error(exc: BaseException) -> bool:
    """True for an OSError the machine caused (see _ENV_MESSAGES), which is the user's to fix, not a bug."""
    return isinstance(exc, OSError) and exc.errno in _ENV_MESSAGES


def environment_error(exc: OSError, path: str | Path | None = None) -> BaseException:
    """The one-line error for an OSError of the environment (naming the path and the fix); other errors unchanged."""
    if not is_environment_error(exc):
        return exc
    en, zh, fix_en, fix_zh = _ENV_MESSAGES[exc.errno]
    where = exc.filename if exc.filename is not None else path
    where = os.fsdecode(where) if where is not None else "?"
    if exc.filename2 is not None:
        where = f"{where} -> {os.fsdecode(exc.filename2)}"
    return EnvironmentFault(Text(f"{where}: {en}. Fix: {fix_en}", f"{where}：{zh}。修改：{fix_zh}"))


_GDAL_SAYS = {"No space left on device": errno.ENOSPC, "database or disk is full": errno.ENOSPC,
              "Permission denied": errno.EACCES,
              "Read-only file system": errno.EROFS, "Not a directory": errno.ENOTDIR}


def environment_fault(exc: BaseException, path: str | Path | None = None) -> EnvironmentFault | None:
    """The EnvironmentFault an exception amounts to (an OSError of the machine, also when wrapped), or None for a bug.

    GDAL (GeoPackage, GeoJSON writers) reports a full disk or a refused permission in the
    text of its own exception; that text names the file.
    """
    seen = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, EnvironmentFault):
            return e
        if isinstance(e, ValueError) and "embedded null byte" in str(e):
            return EnvironmentFault(Text("a path contains a NUL character (\\0). Fix: give paths without NUL characters",
                                         "路径中含有 NUL 字符（\\0）。修改：请给出不含 NUL 字符的路径"))
        if is_environment_error(e):
            fault = environment_error(e, path)  # type: ignore[arg-type]
            return fault if isinstance(fault, EnvironmentFault) else None
        text = str(e)
        for words, code in _GDAL_SAYS.items():
            if words in text and type(e).__module__.startswith(("pyogrio", "fiona", "sqlite3")):
                named = re.search(r"(/[^\s:'\"]+)", text)
                where = named.group(1) if named else (str(path) if path is not None else None)
                return environment_error(OSError(code, words, where))  # type: ignore[return-value]
        e = e.__cause__ or e.__context__
    return None
