"""Run independent subproblems in order, across processes or on a Ray cluster, with identical results."""

from __future__ import annotations

import atexit
import contextlib
import gc
import multiprocessing
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from ._errors import SolverError
from ._gc import collect_less
from .i18n import Text

T = TypeVar("T")
R = TypeVar("R")

EXECUTORS = ("process", "ray")

MIN_PARALLEL_ITEMS = 12
"""Fewer tasks than this run in this process: starting workers (about 1.5 s) would cost more."""


def ordered_map(fn: Callable[..., R], items: Sequence[tuple], *, jobs: int = 1, executor: str = "process",
                address: str | None = None, progress: Callable[[R], None] | None = None) -> list[R]:
    """`[fn(*item) for item in items]`, in item order, run in parallel when asked.

    Parameters
    ----------
    fn
        A module-level function (it is pickled to the workers).
    items
        Argument tuples, one per task.
    jobs
        Worker processes for "process"; 1 runs in this process.
    executor
        "process" (a spawned process pool) or "ray" (tasks on a Ray cluster: `address` of a
        running cluster such as "127.0.0.1:6379", or None for a local one).
    progress
        Called with each result as it arrives (in completion order).

    Every task is deterministic, and results are returned in item order, so the output does not
    depend on the executor or on the number of workers.
    """
    if executor not in EXECUTORS:
        msg = f"unknown executor {executor!r}; choose one of {', '.join(EXECUTORS)}"
        raise SolverError(msg)
    if executor == "ray":
        return _ray_map(fn, items, address, progress)
    if jobs <= 1 or len(items) < MIN_PARALLEL_ITEMS:
        out = []
        for item in items:
            r = fn(*item)
            if progress is not None:
                progress(r)
            out.append(r)
        return out
    results: list[Any] = [None] * len(items)
    pool = _pool(jobs)
    pending: dict = {}
    try:
        # Submitting inside the try: a worker killed while the tasks are still being submitted breaks the pool,
        # and submit raises BrokenProcessPool itself (seen under load in test_a_killed_worker_...).
        for k, item in enumerate(items):
            pending[pool.submit(fn, *item)] = k
        # as_completed waits on all futures once; a wait(FIRST_COMPLETED) loop re-registers on every
        # pending future each time, O(n^2) in this process (9 s of its CPU for the country's 2,847 units).
        for fut in as_completed(pending):
            k = pending[fut]
            results[k] = fut.result()
            if progress is not None:
                progress(results[k])
    except BrokenProcessPool:
        _POOLS.pop(jobs, None)   # unusable now; a later stage starts a new one
        for fut in pending:
            fut.cancel()
        raise worker_died() from None
    except BaseException:
        for fut in pending:
            fut.cancel()
        raise
    return results


def start_map(fn: Callable[..., R], items: Sequence[tuple], *, jobs: int = 1, executor: str = "process",
              address: str | None = None) -> Callable[[], list[R]]:
    """`ordered_map` started now and collected later: the tasks go to the workers at once, and the
    function returned waits for them and gives their results in item order (call it once).

    This process can do other work in between, while the workers solve. Where `ordered_map` would
    run the tasks here (one job, fewer than MIN_PARALLEL_ITEMS tasks) or on Ray, they run when the
    results are asked for. Either way the results are `[fn(*item) for item in items]`.
    """
    if executor != "process" or jobs <= 1 or len(items) < MIN_PARALLEL_ITEMS:
        return lambda: ordered_map(fn, items, jobs=jobs, executor=executor, address=address)
    pool = _pool(jobs)
    futures: list = []
    broken = False
    try:
        for item in items:
            futures.append(pool.submit(fn, *item))
    except BrokenProcessPool:   # a worker died while the tasks were being submitted: raised when collected
        broken = True

    def results() -> list[R]:
        try:
            if broken:
                raise BrokenProcessPool
            return [fut.result() for fut in futures]
        except BrokenProcessPool:
            _POOLS.pop(jobs, None)
            for fut in futures:
                fut.cancel()
            raise worker_died() from None
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise

    return results


_POOLS: dict[int, ProcessPoolExecutor] = {}


def forked_map(fn: Callable[..., R], items: Sequence[tuple], *, jobs: int = 1, executor: str = "process",
               address: str | None = None, progress: Callable[[R], None] | None = None) -> list[R]:
    """`ordered_map` for tasks whose arguments are large (sub-regions): workers forked from this process
    read them from its memory, so only the task's number goes to a worker and only its result comes back.

    Pickling a task's sub-region in this process and unpickling it in a spawned worker cost more than
    some tasks themselves (the country's dispatch: 420 MB of facility and staff frames, about 7 s of
    CPU). Falls back to `ordered_map` where forking does not apply (one job, few tasks, Ray, no fork).
    The results are the same: each task is `fn(*item)`, deterministic, returned in item order;
    `progress`, as in `ordered_map`, is called with each result as it arrives.
    """
    global _FORKED
    if not forks(jobs, executor, len(items)):
        return ordered_map(fn, items, jobs=jobs, executor=executor, address=address, progress=progress)
    results: list[Any] = [None] * len(items)
    _FORKED = (fn, items)
    # Frozen, the parent's objects are left alone by the children's garbage collector, which would
    # otherwise write to each one's header and so copy every page of a national run.
    gc.freeze()
    try:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork"),
                                 initializer=_forked_setup) as pool:
            pending: dict = {}
            try:
                for k in range(len(items)):
                    pending[pool.submit(_forked_task, k)] = k
                for fut in as_completed(pending):
                    k = pending[fut]
                    results[k] = fut.result()
                    if progress is not None:
                        progress(results[k])
            except BrokenProcessPool:
                raise worker_died() from None
            except BaseException:
                for fut in pending:
                    fut.cancel()
                raise
    finally:
        gc.unfreeze()
        _FORKED = None
    return results


def fork_call(fn: Callable[..., R], *args: Any) -> Callable[[], R]:
    """`fn(*args)` started now in one worker forked from this process (it reads the arguments from this
    process's memory: nothing is pickled to it), collected later: the function returned waits for the
    worker and gives the result (call it once). This process can do other work in between.

    For one large task beside another in this process (the village check's two rules on the country);
    the caller decides whether forking pays (`forks`). The result is `fn(*args)`, as run here."""
    global _FORKED
    _FORKED = (fn, [args])
    gc.freeze()   # as in forked_map: the child's collector leaves the parent's pages alone
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"), initializer=_forked_setup)
    try:
        fut = pool.submit(_forked_task, 0)
        # The worker is forked when the task is submitted; this process's later objects are not its concern.
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        gc.unfreeze()
        _FORKED = None
        raise
    _FORKED = None

    def result() -> R:
        try:
            return fut.result()
        except BrokenProcessPool:
            raise worker_died() from None
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            gc.unfreeze()

    return result


@contextlib.contextmanager
def joined_on_error(pending: Iterable[Callable[[], Any] | None]) -> Iterator[None]:
    """On an error in the block, call each of `pending` (what `fork_call` returned; None skipped), so that every
    worker is joined and its pool shut down before the error goes on; their own errors give way to it. `pending`
    is read when the error comes (a list the block appends to is seen whole)."""
    try:
        yield
    except BaseException:
        for collect in pending:
            if collect is not None:
                with contextlib.suppress(Exception):
                    collect()
        raise


def forks(jobs: int, executor: str, n_items: int) -> bool:
    """Whether `forked_map` runs `n_items` tasks on forked workers (else as `ordered_map` does): a caller
    whose items are large can then leave a worker to make its own from what it inherits."""
    return (executor == "process" and jobs > 1 and n_items >= MIN_PARALLEL_ITEMS
            and "fork" in multiprocessing.get_all_start_methods())


_FORKED: tuple[Callable[..., Any], Sequence[tuple]] | None = None


def _forked_setup() -> None:
    """In a forked worker, before its first task: stdout and stderr objects of its own, on the same descriptors.

    The worker is a copy of this process taken while its other threads ran (the progress bar redraws on stderr
    while units are solved); a stream whose lock such a thread held at that moment stays locked in the copy, so
    a warning written there would wait forever. The inherited objects are left unused (not flushed: their
    buffers hold the parent's text).
    """
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name, None)
        try:
            fd = stream.fileno() if stream is not None else None
        except (AttributeError, OSError, ValueError):   # not a file (pytest's capture, a StringIO)
            continue
        if fd is not None:
            setattr(sys, name, open(fd, "w", encoding=getattr(stream, "encoding", None) or "utf-8",
                                    errors=getattr(stream, "errors", None) or "strict", closefd=False,
                                    buffering=1))


def _forked_task(k: int) -> Any:
    """Task `k` of the forked_map that forked this worker."""
    assert _FORKED is not None
    fn, items = _FORKED
    return fn(*items[k])


def worker_died() -> Exception:
    """The error for a worker process that ended without a result: the machine killed it (most
    often for memory), which is an environment fault, not a bug to show as a traceback."""
    from .publish import EnvironmentFault   # publish is an I/O module; imported only on this path

    return EnvironmentFault(Text(
        "a worker process ended without its result (the system killed it, most often for lack of memory). "
        "Fix: run again with --jobs 1, or on a machine with more free memory; nothing was published",
        "一个工作进程未返回结果即退出（被系统终止，多为内存不足）。修改：用 --jobs 1 重新运行，"
        "或换用空闲内存更多的机器；未发布任何结果"))


def _pool(jobs: int) -> ProcessPoolExecutor:
    """One pool of spawned workers per size, kept for the process's life (stages share it).

    Spawned, not forked: a forked child could inherit locks held by the progress bar's thread.
    """
    pool = _POOLS.get(jobs)
    if pool is None:
        pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_worker_setup)
        _POOLS[jobs] = pool
        atexit.register(pool.shutdown, wait=False, cancel_futures=True)
    return pool


def prestart(jobs: int, executor: str = "process", modules: Sequence[str] = ()) -> None:
    """Start the spawned pool's workers now, each importing `modules`, and return at once.

    A spawned worker imports the planner and its solvers before its first task (about a second each); started
    while this process works alone (checking a solved plan), they are ready when the next stage sends tasks.
    Nothing is started for one job or another executor; a failure here is left for the stage to meet."""
    if executor != "process" or jobs <= 1:
        return
    pool = _pool(jobs)
    for _ in range(jobs):
        pool.submit(_import_modules, tuple(modules))


def _import_modules(modules: tuple[str, ...]) -> None:
    import importlib

    for name in modules:
        importlib.import_module(name)


def _worker_setup() -> None:
    """In each worker: collect garbage less often (tasks build many small model objects; see
    planner._gc.fewer_collections, the same setting in the main process during a run)."""
    collect_less()


def _ray_map(fn: Callable[..., R], items: Sequence[tuple], address: str | None,
             progress: Callable[[R], None] | None) -> list[R]:
    try:
        import ray
    except ImportError:
        msg = 'the Ray executor needs the ray extra: pip install "medcommunity-planner[ray]"'
        raise SolverError(msg) from None
    if not ray.is_initialized():
        try:
            ray.init(address=address, ignore_reinit_error=True, include_dashboard=False, log_to_driver=False,
                     logging_level="ERROR")
        except (ConnectionError, RuntimeError, ValueError) as exc:
            msg = f"cannot reach a Ray cluster at {address or 'a new local cluster'} ({exc}); start one with `ray start --head`"
            raise SolverError(msg) from None
    remote = ray.remote(num_cpus=1)(fn)
    refs = [remote.remote(*item) for item in items]
    index = {ref: k for k, ref in enumerate(refs)}
    results: list[Any] = [None] * len(items)
    pending = list(refs)
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        for ref in done:
            results[index[ref]] = ray.get(ref)
            if progress is not None:
                progress(results[index[ref]])
    return results
