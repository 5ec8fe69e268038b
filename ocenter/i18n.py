"""The one message catalogue: every text a user reads, in Bahasa Indonesia first and English second.

The catalogue is split by area into YAML files under ``ocenter/messages/`` so that each area keeps
its own words, but it is loaded as one table and a key may be defined only once.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"
#: libyaml's safe loader when installed (the catalogue is read at every process start).
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MESSAGE_DIR = Path(__file__).with_name("messages")


@cache
def catalogue() -> dict[str, dict[str, str]]:
    """Every message, by key; each value maps a language code to its text."""
    merged: dict[str, dict[str, str]] = {}
    for path in sorted(_MESSAGE_DIR.glob("*.yaml")):
        section = yaml.load(path.read_text(encoding="utf-8"), Loader=YAML_LOADER) or {}  # noqa: S506
        for key, texts in section.items():
            if key in merged:
                raise RuntimeError(f"message key {key!r} defined twice (again in {path.name})")
            missing = [lang for lang in LANGUAGES if not texts.get(lang)]
            if missing:
                raise RuntimeError(f"message key {key!r} in {path.name} lacks {missing}")
            merged[key] = {lang: str(texts[lang]) for lang in LANGUAGES}
    return merged


def t(key: str, lang: str = DEFAULT_LANGUAGE, **params: object) -> str:
    """The text of ``key`` in ``lang``, with ``{name}`` placeholders filled from ``params``.

    An unknown key is a bug, not a user error, so it raises ``KeyError``.
    """
    texts = catalogue()[key]
    text = texts.get(lang) or texts[DEFAULT_LANGUAGE]
    return text.format(**params) if params else text
