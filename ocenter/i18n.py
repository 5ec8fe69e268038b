"""The one message catalogue: every text a user reads, in Bahasa Indonesia first and English second.

The catalogue is split by area into YAML files under ``ocenter/messages/`` so that each area keeps
its own words, but it is loaded as one table and a key may be defined only once.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

# PyYAML and pydantic_core are imported where they are used: ``python -m ocenter verify`` imports
# this module (through ocenter.errors) before it starts reading its file, and loads them only
# after, while the file is being read (about 30 ms that would otherwise delay the first byte).
if TYPE_CHECKING:
    from pydantic_core import PydanticCustomError

LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"
_MESSAGE_DIR = Path(__file__).with_name("messages")


#: A top-level key's area: "verify" of "verify.summary.valid".
_TOP_AREA = re.compile(r"^([A-Za-z0-9_-]+)\.", re.MULTILINE)


@cache
def catalogue() -> dict[str, dict[str, str]]:
    """Every message, by key; each value maps a language code to its text."""
    merged: dict[str, dict[str, str]] = {}
    for path in _files():
        for key, texts in _file_messages(path).items():
            if key in merged:
                raise RuntimeError(f"message key {key!r} defined twice (again in {path.name})")
            merged[key] = texts
    return merged


class Term(str):
    """A catalogue key given as a value of a message (say the tier a refusal names): it is
    written in the reader's language, so a refusal made once reads right in either."""

    __slots__ = ()


class Said(str):
    """A message of the catalogue that can still be said in either language: as a ``str`` it is
    the English text (for Git, the command line and the logs, which developers read), and
    ``in_language`` says it in a reader's language. Several join into one (``Said.joined``)."""

    def __new__(cls, key: str, **params: object) -> Said:
        said = super().__new__(cls, t(key, "en", **params))
        said._parts = (key, params)
        return said

    @classmethod
    def joined(cls, separator: str, parts: list[str]) -> Said:
        """``parts`` (each a ``Said`` or plain text) one after the other, ``separator`` between."""
        said = str.__new__(cls, separator.join(parts))
        said._parts = (None, {"separator": separator, "parts": list(parts)})
        return said

    def in_language(self, lang: str) -> str:
        """The message in ``lang``."""
        key, params = self._parts
        if key is None:
            return params["separator"].join(said_in(part, lang) for part in params["parts"])
        return t(key, lang, **params)

    def __reduce__(self) -> tuple:
        key, params = self._parts
        if key is None:
            return (Said.joined, (params["separator"], params["parts"]))
        return (_said, (key, params))


def _said(key: str, params: dict) -> Said:
    return Said(key, **params)


def said_in(text: object, lang: str) -> str:
    """``text`` in ``lang`` when it is a message of the catalogue (``Said`` or ``Term``), else as
    it was written."""
    if isinstance(text, Said):
        return text.in_language(lang)
    if isinstance(text, Term):
        return t(text, lang)
    return str(text)


def t(key: str, lang: str = DEFAULT_LANGUAGE, **params: object) -> str:
    """The text of ``key`` in ``lang``, with ``{name}`` placeholders filled from ``params``
    (a ``Term`` or ``Said`` value by its own text in ``lang``).

    An unknown key is a bug, not a user error, so it raises ``KeyError``.
    """
    texts = _texts(key)
    text = texts.get(lang) or texts[DEFAULT_LANGUAGE]
    if not params:
        return text
    return text.format(**{name: said_in(value, lang) if isinstance(value, (Term, Said)) else value
                          for name, value in params.items()})


def refusal(key: str, **params: object) -> PydanticCustomError:
    """What a model's validator raises for a rule of its own: pydantic keeps ``key`` as the
    error's type and ``params`` as its context, so ``errors.validation_details`` can say it in
    the reader's language."""
    from pydantic_core import PydanticCustomError

    return PydanticCustomError(key, _texts(key)["en"], {name: str(value) for name, value in params.items()})


#: Every ASCII punctuation character: CommonMark lets each be escaped with a backslash, and
#: escaping them all leaves no link, image, autolink (``http:``, ``www.``), emphasis, heading,
#: list, table, LaTeX (``$``) or Streamlit directive (``:red[...]``, ``:material/...:``) to form.
_MARKDOWN_SPECIALS = re.compile(r"([!-/:-@\[-`{-~])")


def markdown_literal(text: str) -> str:
    """``text`` as Markdown that shows exactly ``text``: what someone typed (a title, a file
    name, a note) never becomes a link, an image or formatting on another person's screen.
    Line breaks stay line breaks."""
    escaped = _MARKDOWN_SPECIALS.sub(r"\\\1", str(text))
    return escaped.replace("\r\n", "\n").replace("\n", "  \n")


def t_markdown(key: str, lang: str = DEFAULT_LANGUAGE, **params: object) -> str:
    """``t`` for text shown as Markdown: the catalogue's own words keep their formatting, every
    text value filled in is escaped (numbers keep their format specs)."""
    return t(key, lang, **{name: markdown_literal(said_in(value, lang)) if isinstance(value, str)
                           else value for name, value in params.items()})


def _texts(key: str) -> dict[str, str]:
    """The texts of ``key``, parsing only the files that define keys of its area until the whole
    catalogue is loaded anyway: a short command (``verify``) reads one file, not all."""
    if catalogue.cache_info().currsize:
        return catalogue()[key]
    for path in _files_by_area().get(key.split(".", 1)[0], ()):
        texts = _file_messages(path).get(key)
        if texts is not None:
            return texts
    return catalogue()[key]  # KeyError for a key no file defines


@cache
def _files() -> tuple[Path, ...]:
    return tuple(sorted(_MESSAGE_DIR.glob("*.yaml")))


@cache
def _files_by_area() -> dict[str, tuple[Path, ...]]:
    """The files defining keys of each area, from a scan of their top-level lines (every key
    is one, unindented), which costs far less than parsing them."""
    areas: dict[str, list[Path]] = {}
    for path in _files():
        for area in dict.fromkeys(_TOP_AREA.findall(path.read_text(encoding="utf-8"))):
            areas.setdefault(area, []).append(path)
    return {area: tuple(paths) for area, paths in areas.items()}


@cache
def _file_messages(path: Path) -> dict[str, dict[str, str]]:
    """The messages of one catalogue file, each complete in every language."""
    import yaml

    # libyaml's safe loader when installed (the catalogue is read at every process start).
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    section = yaml.load(path.read_text(encoding="utf-8"), Loader=loader) or {}  # noqa: S506
    messages: dict[str, dict[str, str]] = {}
    for key, texts in section.items():
        missing = [lang for lang in LANGUAGES if not texts.get(lang)]
        if missing:
            raise RuntimeError(f"message key {key!r} in {path.name} lacks {missing}")
        messages[key] = {lang: str(texts[lang]) for lang in LANGUAGES}
    return messages
