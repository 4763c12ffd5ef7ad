"""Bilingual text: messages that read as English strings and carry their Chinese wording."""

from __future__ import annotations

LANGS = ("zh", "en")
"""Languages the planner writes: Chinese (the default for officials) and English."""


class Text(str):
    """A message in English and Chinese.

    The string value is the English text, so a `Text` goes anywhere a `str` does (f-strings,
    joins, comparisons, files); `.zh` holds the Chinese wording. Build one with both texts:
    ``Text("3 communities; the rule allows 1-2", "3个医共体；规则允许1-2个")``.

    Parameters
    ----------
    en
        The English text.
    zh
        The Chinese text; None means the message has no Chinese wording yet, and `.zh`
        falls back to the English.
    """

    zh: str

    def __new__(cls, en: str, zh: str | None = None) -> Text:
        obj = super().__new__(cls, en)
        obj.zh = str(en) if zh is None else str(zh)
        return obj

    def __getnewargs__(self) -> tuple[str, str]:  # type: ignore[override]
        # Pickling (worker processes) must keep both texts.
        return (str(self), self.zh)

    @property
    def en(self) -> str:
        """The English text as a plain str."""
        return str.__str__(self)

    def get(self, lang: str) -> str:
        """The text in `lang` ("zh" or "en")."""
        return self.zh if lang == "zh" else self.en

    def __add__(self, other: object) -> Text:  # type: ignore[override]
        if isinstance(other, Text):
            return Text(self.en + other.en, self.zh + other.zh)
        if isinstance(other, str):
            return Text(self.en + other, self.zh + other)
        return NotImplemented

    def __radd__(self, other: object) -> Text:
        if isinstance(other, str):
            return Text(other + self.en, other + self.zh)
        return NotImplemented


def tr(message: object, lang: str) -> str:
    """`message` in `lang`: the Chinese of a `Text` when lang is "zh", else its plain string."""
    if lang == "zh" and isinstance(message, Text):
        return message.zh
    return str(message)


def join(parts: list[Text | str], sep_en: str = "; ", sep_zh: str = "；") -> Text:
    """Join messages in both languages (plain strings count as the same text in both)."""
    return Text(sep_en.join(tr(p, "en") for p in parts), sep_zh.join(tr(p, "zh") for p in parts))
