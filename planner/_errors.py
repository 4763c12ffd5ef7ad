"""Typed errors that carry every problem found, for one-line-per-problem reports."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One problem in user input: where it is, what is wrong, and how to fix it.

    Parameters
    ----------
    source
        The file (or rule file, or region) the problem was found in.
    where
        The row, code, rule id or key inside `source` ("row 12", "code 330102001").
    message
        What is wrong, quoting the bad value.
    fix
        How to fix it.
    """

    source: str
    where: str
    message: str
    fix: str = ""

    def __str__(self) -> str:
        head = f"{self.source}: {self.where}: " if self.where else f"{self.source}: "
        body = self.message if self.message.endswith((".", "?", "!")) else self.message + "."
        return f"{head}{body} Fix: {self.fix}" if self.fix else f"{head}{body}"


class PlannerError(Exception):
    """Base of every error the planner raises on purpose (bad input, impossible rules)."""

    exit_code = 2

    def lines(self) -> list[str]:
        """Return the error as report lines (one per problem)."""
        return [str(self)]


class ProblemsError(PlannerError):
    """An error that collects several problems and reports them all at once."""

    kind = "problem"

    def __init__(self, problems: list[Problem] | Problem) -> None:
        if isinstance(problems, Problem):
            problems = [problems]
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


class InputDataError(ProblemsError):
    """Geodata, rosters or matrices that cannot be used as given."""

    kind = "input data"


class RuleFileError(ProblemsError):
    """A constraint file that is malformed or contradicts itself."""

    kind = "rule file"


class InfeasibleError(ProblemsError):
    """Rules that cannot all hold for some county or city, with the conflicting rules named."""

    kind = "infeasible"


class SolverError(PlannerError):
    """A solver backend that is missing or failed to run (not a property of the input)."""


def raise_if(problems: list[Problem], error: type[ProblemsError] = InputDataError) -> None:
    """Raise `error` with every problem in `problems`, if there are any."""
    if problems:
        # Drop repeats; order by file, then by row number where the problem names one.
        unique = list(dict.fromkeys(problems))
        raise error(sorted(unique, key=_order))


def _order(p: Problem) -> tuple:
    row = p.where[4:] if p.where.startswith("row ") else ""
    return (p.source, 0 if row.isdigit() else 1, int(row) if row.isdigit() else 0)
