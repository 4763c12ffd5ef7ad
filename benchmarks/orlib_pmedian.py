"""Benchmark ``planner.pmedian`` against PySAL spopt on the 40 OR-Library p-median instances.

Each instance ``pmedN.txt`` (Beasley 1985/1990) is an undirected graph; the cost matrix is
the all-pairs shortest-path matrix (when an edge is listed twice the last one counts, as in
Beasley's own codes). Both codes get the same matrix and the same per-instance time limit:

* ours: :func:`planner.pmedian.solve_pmedian` (heuristic, Lagrangian bound, Lagrangian
  branch-and-bound on the medians; the radius formulation on HiGHS via OR-Tools past its budget);
* spopt: ``spopt.locate.PMedian.from_cost_matrix(...)`` (the classic n^2 assignment model)
  solved with ``pulp.PULP_CBC_CMD(timeLimit=..., msg=False)``. PuLP reports the status
  "Optimal" even when CBC stops on the time limit with a feasible plan, so proof is read
  from ``problem.sol_status`` (1 = proven optimal, 2 = feasible only) and from CBC's log.

Times are wall-clock seconds including model building. Usage::

    python benchmarks/orlib_pmedian.py --csv benchmarks/results/orlib_pmedian.csv

runs ours on all 40 and spopt on pmed1-20 (n <= 400) in one run, two solves at a time
(``--jobs 2``, ours first): ours with a 300 s wall-clock limit per instance (``--time-limit-s``),
spopt with a 30 s limit per instance (``--spopt-time-limit-s``; CBC's own limit, wall clock as
PuLP sets it; PuLP's model building and file writing come on top). That took 11 minutes at load
average 4.4-7.9 on 2 cores (2026-12-01). ``--spopt-instances 1-40`` runs spopt on all 40:
with the 30 s CBC limit the n = 500 instances took 128-783 s wall each there (pmed21-23: PuLP
builds and writes the n^2 model outside CBC's limit), so an hour or more. An spopt solve stopped on its limit
is reported as not proven, with its limit in the header and its best plan and bound in the CSV.

``--no-spopt`` runs only our code (for development); ``--spopt-instances 1-15`` runs spopt on
a subset while ours runs on all of ``--instances``.

``--reuse-spopt CSV...`` / ``--reuse-ours CSV...`` take that side's columns from earlier
runs' CSVs instead of solving again (the peer needs hours for all 40; this lets the two
sides be measured in separate processes, or our side be re-measured alone, and merged).
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.sparse.csgraph import csgraph_from_dense, shortest_path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

DEFAULT_DATA_DIRS = (REPO_ROOT / "benchmarks" / "data" / "orlib-pmed",   # kept in the repository
                     REPO_ROOT.parent / "shared" / "bench" / "orlib-pmed")

CSV_FIELDS = [
    "instance",
    "n",
    "p",
    "optimum",
    "ours_objective",
    "ours_bound",
    "ours_proven",
    "ours_time_s",
    "ours_method",
    "spopt_objective",
    "spopt_bound",
    "spopt_proven",
    "spopt_time_s",
    "time_ratio",
    "ours_cpu_s",
    "spopt_cpu_s",
]


def parse_instances(text: str) -> list[int]:
    """Parse ``"1-40"``, ``"1,5,16"`` or ``"1-5,16"`` into sorted instance numbers."""
    numbers: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            lo_text, hi_text = part.split("-", 1)
            lo, hi = int(lo_text), int(hi_text)
            if lo > hi:
                raise argparse.ArgumentTypeError(f"empty range {part!r}")
            numbers.update(range(lo, hi + 1))
        else:
            numbers.add(int(part))
    bad = [k for k in numbers if not 1 <= k <= 40]
    if bad or not numbers:
        raise argparse.ArgumentTypeError(f"instances must be within 1..40, got {text!r}")
    return sorted(numbers)


def read_orlib_pmed(path: Path) -> tuple[np.ndarray, int]:
    """Read an OR-Library ``pmedN.txt`` file.

    Parameters
    ----------
    path : Path
        File with a header ``n m p`` then ``m`` lines ``i j c`` (1-based, undirected).

    Returns
    -------
    distance : numpy.ndarray
        (n x n) shortest-path distances (float, integral values).
    p : int
        Number of medians.
    """
    tokens = path.read_text().split()
    n, m, p = int(tokens[0]), int(tokens[1]), int(tokens[2])
    edges = np.array(tokens[3 : 3 + 3 * m], dtype=np.int64).reshape(m, 3)
    weight = np.full((n, n), np.inf)
    for i, j, c in edges:  # the last occurrence of an edge wins (Beasley's convention)
        weight[i - 1, j - 1] = c
        weight[j - 1, i - 1] = c
    np.fill_diagonal(weight, np.inf)
    graph = csgraph_from_dense(weight, null_value=np.inf)
    distance = shortest_path(graph, method="D", directed=False)
    if not np.isfinite(distance).all():
        raise ValueError(f"{path}: graph is not connected")
    return distance, p


def read_optima(path: Path) -> dict[int, float]:
    """Read ``optima.txt`` (a header line, then ``pmedN value`` lines)."""
    optima: dict[int, float] = {}
    for line in path.read_text().splitlines():
        match = re.match(r"\s*pmed(\d+)\s+([0-9.]+)\s*$", line)
        if match:
            optima[int(match.group(1))] = float(match.group(2))
    return optima


def run_ours(distance: np.ndarray, p: int, time_limit_s: float) -> dict:
    """Solve with :func:`planner.pmedian.solve_pmedian` and time it."""
    from planner.pmedian import solve_pmedian

    start = time.perf_counter()
    cpu_start = time.process_time()
    result = solve_pmedian(distance, p, time_limit_s=time_limit_s)
    elapsed = time.perf_counter() - start
    cpu_s = time.process_time() - cpu_start
    _check_plan(distance, p, result)
    return {
        "objective": result.objective,
        "bound": result.bound,
        "proven": result.status == "OPTIMAL",
        "time_s": elapsed,
        "method": str(result.stats.get("proved_by", result.status)),
        "cpu_s": cpu_s,
    }


def _check_plan(distance: np.ndarray, p: int, result) -> None:
    """Recompute the objective from the returned assignment; refuse an inconsistent result."""
    medians = set(result.medians)
    if len(medians) != p or any(j not in medians for j in result.assignment):
        raise RuntimeError(f"planner.pmedian returned an invalid plan ({len(medians)} medians, p = {p})")
    recomputed = float(distance[np.arange(distance.shape[0]), np.array(result.assignment)].sum())
    if abs(recomputed - result.objective) > 1e-6 * max(1.0, abs(recomputed)):
        raise RuntimeError(f"objective {result.objective} does not match its assignment ({recomputed})")
    if result.status == "OPTIMAL" and result.bound < result.objective - 0.5:
        raise RuntimeError(f"OPTIMAL with bound {result.bound} below objective {result.objective}")


def _cbc_log_bound(log_text: str) -> float | None:
    """Best possible objective that CBC printed, if any."""
    for pattern in (
        r"best possible\s+(-?[0-9.eE+]+)",
        r"Objective bounds?\s*:?\s*\[?\s*-?[0-9.eE+]*\s*,?\s*(-?[0-9.eE+]+)",
    ):
        found = re.findall(pattern, log_text)
        if found:
            try:
                return float(found[-1])
            except ValueError:
                continue
    return None


def run_spopt(distance: np.ndarray, p: int, time_limit_s: float) -> dict:
    """Build and solve spopt's ``PMedian`` with CBC through PuLP; tell proven from time-limited."""
    import pulp
    from spopt.locate import PMedian

    weights = np.ones(distance.shape[0])
    with tempfile.TemporaryDirectory() as tmp:
        log_path = os.path.join(tmp, "cbc.log")
        start = time.perf_counter()
        cpu_start = time.process_time()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        model = PMedian.from_cost_matrix(distance, weights, p_facilities=p)
        solver = pulp.PULP_CBC_CMD(timeLimit=time_limit_s, msg=False, logPath=log_path)
        error = ""
        try:
            model.solve(solver, results=False)
        except Exception as exc:  # spopt raises when PuLP's status is not "Optimal"
            error = str(exc)
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_s = (time.process_time() - cpu_start + after.ru_utime + after.ru_stime
                 - children.ru_utime - children.ru_stime)  # CBC runs as a child process
        log_text = Path(log_path).read_text() if os.path.exists(log_path) else ""
    problem = model.problem
    sol_status = getattr(problem, "sol_status", 0)
    objective = problem.objective.value() if sol_status in (1, 2) else float("nan")
    # sol_status 1 = CBC printed "Optimal"; the log must agree (no "Stopped on time").
    proven = sol_status == 1 and "Stopped on" not in log_text and not error
    bound = objective if proven else _cbc_log_bound(log_text)
    return {
        "objective": float(objective) if objective is not None else float("nan"),
        "bound": float("nan") if bound is None else float(bound),
        "proven": bool(proven),
        "time_s": elapsed,
        "cpu_s": cpu_s,
    }


def _fmt(value: float, digits: int = 0) -> str:
    if value is None or value == "" or (isinstance(value, float) and not np.isfinite(value)):
        return "-"
    return f"{value:,.{digits}f}"


def _row_text(row: dict) -> str:
    def yes(flag: object) -> str:
        if flag in ("", None):
            return "-"
        return "yes" if str(flag) in ("True", "1", "yes") else "NO"

    return (
        f"{row['instance']:>7} {row['n']:>4} {row['p']:>4} {_fmt(row['optimum']):>7} | "
        f"{_fmt(row['ours_objective']):>7} {yes(row['ours_proven']):>4} "
        f"{_fmt(row['ours_time_s'], 1):>7} | "
        f"{_fmt(row['spopt_objective']):>7} {yes(row['spopt_proven']):>4} "
        f"{_fmt(row['spopt_time_s'], 1):>7} | {_fmt(row['time_ratio'], 3):>6}"
    )


HEADER = (
    f"{'inst':>7} {'n':>4} {'p':>4} {'optimum':>7} | {'ours':>7} {'prov':>4} {'time_s':>7} | "
    f"{'spopt':>7} {'prov':>4} {'time_s':>7} | {'ratio':>6}"
)


def _load_reuse(path: Path, side: str) -> dict[str, dict]:
    """Rows of an earlier run's CSV for one side (``"ours"`` or ``"spopt"``)."""
    rows: dict[str, dict] = {}
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row.get(f"{side}_time_s", "") != "":
                rows[row["instance"]] = {
                    "objective": float(row[f"{side}_objective"] or "nan"),
                    "bound": float(row[f"{side}_bound"] or "nan"),
                    "proven": row[f"{side}_proven"] == "True",
                    "time_s": float(row[f"{side}_time_s"]),
                    "method": row.get("ours_method", ""),
                }
    return rows


def _solve_task(code: str, path: Path, time_limit_s: float) -> dict:
    """One solve in a worker process (module level so it can be sent to a spawned process)."""
    distance, p = read_orlib_pmed(path)
    return run_ours(distance, p, time_limit_s) if code == "ours" else run_spopt(distance, p, time_limit_s)


def _runs_peer(k: int, args: argparse.Namespace) -> bool:
    """Whether spopt solves instance `k` in this run (``--spopt-instances`` narrows it)."""
    return not args.no_spopt and (args.spopt_instances is None or k in args.spopt_instances)


def _solve_all(instances: list[int], args: argparse.Namespace) -> dict[tuple[str, str], dict]:
    """Every (instance, code) solve on `args.jobs` spawned processes, longest expected first."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    tasks = []
    if not args.no_ours and not args.reuse_ours:
        # ours first (minutes), largest first; then spopt, smallest first, so that a run cut
        # short still has all of ours and spopt on a prefix (the stderr lines keep each result)
        tasks += [("ours", k) for k in sorted(instances, reverse=True)]
    if not args.no_spopt and not args.reuse_spopt:
        tasks += [("spopt", k) for k in instances if _runs_peer(k, args)]
    out: dict[tuple[str, str], dict] = {}
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(_solve_task, code, args.data_dir / f"pmed{k}.txt",
                               args.time_limit_s if code == "ours" else args.spopt_time_limit_s):
                   (f"pmed{k}", code)
                   for code, k in tasks}
        for fut in as_completed(futures):
            key = futures[fut]
            out[key] = fut.result()
            res = out[key]
            print(f"  done {key[0]} {key[1]}: objective {res['objective']:.0f} proven {res['proven']} "
                  f"{res['time_s']:.1f} s wall {res['cpu_s']:.1f} s CPU ({len(out)}/{len(tasks)}, "
                  f"load {os.getloadavg()[0]:.1f})", file=sys.stderr, flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=parse_instances, default=parse_instances("1-40"),
                        help="subset such as 1-40, 1,5,16 or 1-5,16 (default 1-40)")
    parser.add_argument("--time-limit-s", type=float, default=300.0,
                        help="our time limit per instance, seconds (default 300)")
    parser.add_argument("--spopt-time-limit-s", type=float, default=30.0,
                        help="spopt's (CBC's) time limit per instance, seconds (default 30, so that "
                             "spopt on all 40 fits in the same run; 300 for the full comparison)")
    parser.add_argument("--no-spopt", action="store_true", help="do not run PySAL spopt")
    parser.add_argument("--no-ours", action="store_true", help="run only the peer (spopt)")
    parser.add_argument("--spopt-instances", type=parse_instances, default=parse_instances("1-20"),
                        help="run spopt only on this subset of --instances; ours runs on all (default "
                             "1-20, n <= 400: for n >= 500 PuLP's n^2 model takes minutes to build and "
                             "write on a loaded machine, whatever CBC's limit; 1-40 for all)")
    parser.add_argument("--reuse-spopt", type=Path, nargs="+", default=None,
                        help="take spopt results from these earlier CSVs instead of solving "
                             "(instances missing there are reported without spopt)")
    parser.add_argument("--reuse-ours", type=Path, nargs="+", default=None,
                        help="take our results from these earlier CSVs instead of solving")
    parser.add_argument("--reverse", action="store_true",
                        help="run the instances in descending order")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="folder with pmedN.txt and optima.txt (default: benchmarks/data/orlib-pmed, "
                             "kept in the repository)")
    parser.add_argument("--csv", type=Path, default=None, help="also write the table as CSV")
    parser.add_argument("--jobs", type=int, default=2,
                        help="solves run at once, each in its own process on one thread (2 on a 2-core machine: "
                             "both codes in one run in half the wall time; each solve still has one core)")
    args = parser.parse_args(argv)
    if args.data_dir is None:
        args.data_dir = next((d for d in DEFAULT_DATA_DIRS if (d / "optima.txt").exists()),
                             DEFAULT_DATA_DIRS[0])
    if args.jobs < 1 or args.time_limit_s <= 0 or args.spopt_time_limit_s <= 0:
        parser.error("--jobs and the time limits must be positive")

    optima = read_optima(args.data_dir / "optima.txt")
    reuse: dict[str, dict] = {}
    for path in args.reuse_spopt or []:
        reuse.update(_load_reuse(path, "spopt"))
    reuse_ours: dict[str, dict] = {}
    for path in args.reuse_ours or []:
        reuse_ours.update(_load_reuse(path, "ours"))
    instances = sorted(args.instances, reverse=args.reverse)
    run_peer = not args.no_spopt

    spopt_text = "" if args.no_spopt else f", spopt (CBC) {args.spopt_time_limit_s:g} s"
    print(f"OR-Library p-median, time limit per instance: ours {args.time_limit_s:g} s{spopt_text}; "
          f"{args.jobs} solve(s) at a time; load average {os.getloadavg()[0]:.1f} at the start")
    print(HEADER)
    print("-" * len(HEADER), flush=True)
    run_start = time.perf_counter()
    solved = _solve_all(instances, args) if args.jobs > 1 else {}
    # opened only now, so that a parallel run killed before its end leaves an earlier CSV intact
    csv_handle = None
    writer = None
    if args.csv:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        csv_handle = args.csv.open("w", newline="")
        writer = csv.DictWriter(csv_handle, fieldnames=CSV_FIELDS)
        writer.writeheader()
    rows = []
    for k in instances:
        name = f"pmed{k}"
        distance, p = read_orlib_pmed(args.data_dir / f"{name}.txt")
        row: dict = {field: "" for field in CSV_FIELDS}
        row.update(instance=name, n=distance.shape[0], p=p, optimum=optima.get(k, float("nan")))
        if args.reuse_ours:
            ours = reuse_ours.get(name)
        elif (name, "ours") in solved:
            ours = solved[name, "ours"]
        elif not args.no_ours:
            ours = run_ours(distance, p, args.time_limit_s)
        else:
            ours = None
        if ours is not None:
            row.update(ours_objective=ours["objective"], ours_bound=ours["bound"],
                       ours_proven=ours["proven"], ours_time_s=round(ours["time_s"], 3),
                       ours_method=ours["method"],
                       ours_cpu_s=round(ours["cpu_s"], 3) if "cpu_s" in ours else "")
        if run_peer and (args.reuse_spopt or _runs_peer(k, args)):
            if args.reuse_spopt:
                peer = reuse.get(name)
            elif (name, "spopt") in solved:
                peer = solved[name, "spopt"]
            else:
                peer = run_spopt(distance, p, args.spopt_time_limit_s)
            if peer is not None:
                row.update(spopt_objective=peer["objective"], spopt_bound=peer["bound"],
                           spopt_proven=peer["proven"], spopt_time_s=round(peer["time_s"], 3),
                           spopt_cpu_s=round(peer["cpu_s"], 3) if "cpu_s" in peer else "")
        if row["ours_time_s"] != "" and row["spopt_time_s"] != "":
            row["time_ratio"] = round(row["ours_time_s"] / max(row["spopt_time_s"], 1e-9), 4)
        rows.append(row)
        print(_row_text(row), flush=True)
        if writer is not None:
            writer.writerow(row)
            csv_handle.flush()

    print("-" * len(HEADER))

    def at_optimum(row: dict, side: str) -> bool:
        return (row[f"{side}_proven"] is True
                and abs(row[f"{side}_objective"] - row["optimum"]) < 0.5)

    total = len(rows)
    spopt_label = ("spopt (PuLP/CBC)" if args.reuse_spopt
                   else f"spopt (CBC, {args.spopt_time_limit_s:g} s limit)")
    for side, label in (("ours", "ours (planner.pmedian)"), ("spopt", spopt_label)):
        timed = [r for r in rows if r[f"{side}_time_s"] != ""]
        if not timed:
            continue
        proven = sum(at_optimum(r, side) for r in timed)
        wrong = [r["instance"] for r in timed
                 if r[f"{side}_proven"] is True and not at_optimum(r, side)]
        seconds = sum(r[f"{side}_time_s"] for r in timed)
        cpu = [r[f"{side}_cpu_s"] for r in timed if r[f"{side}_cpu_s"] != ""]
        cpu_text = f" (CPU {sum(cpu):,.1f} s)" if len(cpu) == len(timed) else ""
        print(f"{label:<28} proven optimal at the known optimum: {proven}/{len(timed)}"
              f"   total time {seconds:,.1f} s{cpu_text}" + (f"   MISMATCH {wrong}" if wrong else ""))
    both = [r for r in rows if r["time_ratio"] != ""]
    if both:
        ours_s = sum(r["ours_time_s"] for r in both)
        peer_s = sum(r["spopt_time_s"] for r in both)
        print(f"overall time ratio ours/spopt over {len(both)} instances: "
              f"{ours_s:,.1f} / {peer_s:,.1f} = {ours_s / max(peer_s, 1e-9):.4f}")
    print(f"instances: {total}; run {time.perf_counter() - run_start:,.1f} s wall; "
          f"load average {os.getloadavg()[0]:.1f} at the end")
    if csv_handle is not None:
        csv_handle.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
