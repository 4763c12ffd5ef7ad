"""How the planner's errors read to a user, in English or Chinese: the same lines on the command line and the review page."""

from __future__ import annotations

from ._errors import PlannerError
from .i18n import Text, tr


def error_lines(exc: PlannerError, lang: str = "en") -> list[str]:
    """One line per problem, in `lang` where the problem carries Chinese wording (planner.i18n.Text)."""
    try:
        lines = exc.lines(lang)  # type: ignore[call-arg]  # errors that render themselves in a language
    except TypeError:
        lines = exc.lines()
    if lang != "zh":
        return [str.__str__(line) if isinstance(line, Text) else str(line) for line in lines]
    problems = getattr(exc, "problems", None)
    if not problems or len(problems) != len(lines):
        problems = [None] * len(lines)
    out = []
    for p, line in zip(problems, lines):
        zh = None if isinstance(line, Text) or p is None else problem_zh(p)
        out.append(zh if zh is not None and zh != str(p) else tr(line, lang))
    return out


def problem_zh(p: object) -> str | None:
    """A Problem in Chinese, when its message carries Chinese wording."""
    message, fix = getattr(p, "message", None), getattr(p, "fix", "")
    if not isinstance(message, Text):
        return None
    where = getattr(p, "where", "")
    head = f"{tr(p.source, 'zh')}：{tr(where, 'zh')}：" if where else f"{tr(p.source, 'zh')}："
    body = tr(message, "zh").rstrip("。.") + "。"
    return f"{head}{body}修改：{tr(fix, 'zh')}" if fix else f"{head}{body}"


def error_report(exc: PlannerError, lang: str = "en") -> list[str]:
    """What the command line prints for an error: "Error: ..." and the problems, one per line."""
    lines = error_lines(exc, lang)
    zh = lang == "zh"
    if len(lines) > 1:
        n = len(getattr(exc, "problems", None) or lines)  # the lines may end in "... and 12 more"
        return [f"错误：发现 {n} 个问题：" if zh else f"Error: {n} problems found:"] + [f"  {x}" for x in lines]
    return [f"错误：{lines[0]}" if zh else f"Error: {lines[0]}"]
