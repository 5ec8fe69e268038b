"""The one message catalogue: every text a user reads, in Bahasa Indonesia first and English second.

The catalogue is split by area into YAML files under ``ocenter/messages/`` so that each area keeps
its own words, but it is loaded as one table and a key may be defined only once.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import yaml

LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"
#: libyaml's safe loader when installed (the catalogue is read at every process start).
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
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


def t(key: str, lang: str = DEFAULT_LANGUAGE, **params: object) -> str:
    """The text of ``key`` in ``lang``, with ``{name}`` placeholders filled from ``params``
    (a ``Term`` value by its own text in ``lang``).

    An unknown key is a bug, not a user error, so it raises ``KeyError``.
    """
    texts = _texts(key)
    text = texts.get(lang) or texts[DEFAULT_LANGUAGE]
    if not params:
        return text
    return text.format(**{name: t(value, lang) if isinstance(value, Term) else value
                          for name, value in params.items()})


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
    return t(key, lang, **{name: markdown_literal(value) if isinstance(value, str) else value
                           for name, value in params.items()})


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
    section = yaml.load(path.read_text(encoding="utf-8"), Loader=YAML_LOADER) or {}  # noqa: S506
    messages: dict[str, dict[str, str]] = {}
    for key, texts in section.items():
        missing = [lang for lang in LANGUAGES if not texts.get(lang)]
        if missing:
            raise RuntimeError(f"message key {key!r} in {path.name} lacks {missing}")
        messages[key] = {lang: str(texts[lang]) for lang in LANGUAGES}
    return messages
