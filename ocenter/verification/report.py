"""The verification report: failing cells, dataset issues and the summary, in the user's language."""

from __future__ import annotations

import json
import string
from collections.abc import Iterable, Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from ocenter.accounts.levels import Level, highest
from ocenter.i18n import t

#: Cell checks, in the order they are tried: a cell reports only the first one it fails, so the
#: sender sees the most basic problem (empty, wrong type) before finer ones.
CELL_CHECKS = (
    "required",
    "type",
    "allowed_values",
    "minimum",
    "maximum",
    "pattern",
    "min_length",
    "max_length",
    "reference",
    "partition",
    "unique",
)
DATASET_CHECKS = (
    "header",
    "no_rows",
    "min_rows",
    "max_rows",
    "primary_key",
    "freshness",
    "quality",
    "quality_table",
    "quality_not_checked",
)
MASK = "***"
#: Cell errors kept in detail; the summary still counts every one. Bounds the report's memory
#: when a whole file is wrong (10 million rows of a wrong type would be 10 million entries).
DEFAULT_MAX_ERRORS = 100_000
#: Longest cell text quoted back in an error; longer values are cut with an ellipsis.
VALUE_MAX_CHARS = 200
BOOLEAN_TEXTS = ("true", "false", "1", "0", "ya", "tidak")
TRUE_TEXTS = ("true", "1", "ya")


#: Header problems whose ``columns`` are the file's own header texts (a file without a header row
#: has its first data row there); "missing" names the contract's fields.
_HEADER_KINDS_FROM_FILE = ("unexpected", "duplicate")


def may_read_value(clearance: Level, field_level: Level, dataset_level: Level) -> bool:
    """The one rule for a value of sent data, wherever it is quoted (the report on the page,
    the failing rows downloaded): readable when ``clearance`` covers the higher of its field's
    level and its dataset's level (the higher of the level the sender declared and the
    contract's)."""
    return clearance.allows(highest([field_level, dataset_level]))


# --- the report ----------------------------------------------------------------------------------


class CellError(BaseModel):
    """One cell that fails one check: what the sender must correct."""

    model_config = ConfigDict(extra="forbid")

    row: int = Field(description="Spreadsheet row: the header is row 1, the first record row 2.")
    column: str = Field(description="Column (contract field) name.")
    check: str = Field(description="Stable check name, one of CELL_CHECKS.", examples=["type"])
    value: str | None = Field(description="The cell's text (cut if very long), or *** if masked.")
    params: dict[str, Any] = Field(
        default_factory=dict, description="Values the message needs (bounds, allowed values)."
    )
    level: Level = Field(
        default=Level.TERBUKA, description="Confidentiality level of the field, for masking."
    )

    def message(self, lang: str = "id") -> str:
        """The error in the sender's words, in ``lang``."""
        key = _message_key(self.check, self.params)
        return t(key, lang, row=self.row, column=self.column, value=self.value, **self.params)


def _message_key(check: str, params: dict[str, Any]) -> str:
    if check in ("minimum", "maximum") and params.get("bound") == "date":
        return f"verify.{check}_date"
    return f"verify.type.{params['type']}" if check == "type" else f"verify.{check}"


_Failing = tuple[int, str, str, str | None, dict[str, Any]]  # (row, column, check, value, params)


def _with_messages(errors: Iterable[_Failing], lang: str) -> Iterator[tuple[int, str, str, str | None, str]]:
    """Failing cells with their message in ``lang`` (the same text as :meth:`CellError.message`),
    each message's template looked up once, not per cell."""
    templates: dict[str, str] = {}
    for row, column, check, value, params in errors:
        key = _message_key(check, params)
        template = templates.get(key)
        if template is None:
            template = templates[key] = t(key, lang)
        yield row, column, check, value, template.format(row=row, column=column, value=value, **params)


def _json_errors(errors: Iterable[_Failing], lang: str) -> list[dict]:
    """Failing cells as the JSON report lists them, each with its message in ``lang``."""
    return [
        {"row": row, "column": column, "check": check, "value": value, "message": message}
        for row, column, check, value, message in _with_messages(errors, lang)
    ]


def _json_error_texts(errors: Iterable[_Failing], lang: str) -> Iterator[str]:
    """:func:`_json_errors` as JSON text, entry by entry, for the thousands of failing cells of a
    large file: the entries of one column, check and message share a pattern made once (see
    :func:`_entry_pattern`) that takes each cell's row and escaped value."""
    escape = json.encoder.encode_basestring  # type: ignore[attr-defined]  # json.dumps' escaping
    templates: dict[str, str] = {}
    patterns: dict[tuple[Any, ...], str | None] = {}
    for row, column, check, value, params in errors:
        key = _message_key(check, params)
        shape = (key, column, *params.items())
        pattern = patterns.get(shape, "")
        if pattern == "":
            template = templates.get(key)
            if template is None:
                template = templates[key] = t(key, lang)
            pattern = patterns[shape] = _entry_pattern(template, column, check, params)
        if pattern is not None and value is not None:
            yield pattern.format(row, escape(value)[1:-1])
            continue
        message = templates[key].format(row=row, column=column, value=value, **params)
        shown = "null" if value is None else escape(value)
        yield (
            f'{{"row": {row}, "column": {escape(column)}, "check": {escape(check)}, '
            f'"value": {shown}, "message": {escape(message)}}}'
        )


def _entry_pattern(template: str, column: str, check: str, params: dict[str, Any]) -> str | None:
    """A failing cell's JSON entry as a ``str.format`` pattern taking the row (``{0}``) and the
    value already escaped for JSON (``{1}``): every other text filled in from ``template``,
    escaped and with its braces doubled. None for a template with a format spec or conversion
    (then each message is formatted whole)."""
    escape = json.encoder.encode_basestring  # type: ignore[attr-defined]

    def literal(text: str) -> str:
        return escape(text)[1:-1].replace("{", "{{").replace("}", "}}")

    fields = {"column": column, **params}
    message = []
    for text, name, spec, conversion in string.Formatter().parse(template):
        message.append(literal(text))
        if name is None:
            continue
        if spec or conversion or name not in ("row", "value", *fields):
            return None
        slot = {"row": "{0}", "value": "{1}"}.get(name)
        message.append(slot if slot is not None else literal(format(fields[name], "")))
    return (
        f'{{{{"row": {{0}}, "column": "{literal(column)}", "check": "{literal(check)}", '
        f'"value": "{{1}}", "message": "{"".join(message)}"}}}}'
    )


_CELL_ERRORS = TypeAdapter(list[CellError])


class DatasetIssue(BaseModel):
    """A problem of the file as a whole: header, row count, repeated keys, stale data."""

    model_config = ConfigDict(extra="forbid")

    check: str = Field(description="Stable check name, one of DATASET_CHECKS.")
    params: dict[str, Any] = Field(default_factory=dict, description="Values the message needs.")
    severity: Literal["error", "warning"] = Field(
        default="error", description="An error makes the data invalid; a warning does not."
    )
    level: Level = Field(
        default=Level.TERBUKA, description="Level of the data quoted in params, for masking."
    )

    def message(self, lang: str = "id") -> str:
        """The issue in the sender's words, in ``lang``."""
        key = f"verify.{self.check}"
        if self.check == "header":
            key = f"verify.header.{self.params['kind']}"
        return t(key, lang, **self.params)


class SummaryEntry(BaseModel):
    """How many cells of one column fail one check."""

    model_config = ConfigDict(extra="forbid")

    column: str = Field(description="Column (contract field) name.")
    check: str = Field(description="Stable check name.")
    count: int = Field(ge=1, description="Number of failing cells, all of them, never capped.")


class VerificationReport(BaseModel):
    """Result of verifying one file against its contract."""

    model_config = ConfigDict(extra="forbid")

    valid: bool = Field(description="True when no cell error and no dataset error was found.")
    rows: int = Field(ge=0, description="Number of data rows checked.")
    errors: list[CellError] = Field(
        default_factory=list,
        description="Failing cells by row then column order, at most one per cell (capped).",
    )
    dataset_issues: list[DatasetIssue] = Field(
        default_factory=list, description="Problems of the file as a whole."
    )
    summary: list[SummaryEntry] = Field(
        default_factory=list, description="Failing-cell counts per column and check."
    )

    @property
    def error_count(self) -> int:
        """All failing cells, including those beyond the detail cap."""
        return sum(entry.count for entry in self.summary)

    @property
    def truncated(self) -> bool:
        """True when ``errors`` holds fewer entries than there are failing cells."""
        return self.error_count > len(self.errors)

    def masked_for(self, clearance: Level, dataset_level: Level = Level.TERBUKA) -> VerificationReport:
        """A copy in which every value quoted from the file that ``clearance`` may not read
        (``may_read_value``: the higher of its field's and ``dataset_level``) reads ``***``."""
        errors = [
            e if may_read_value(clearance, e.level, dataset_level)
            else e.model_copy(update={"value": MASK})
            for e in self.errors
        ]
        issues = []
        for issue in self.dataset_issues:
            if not may_read_value(clearance, issue.level, dataset_level):
                quoted = {"newest": MASK} if "newest" in issue.params else {}
                if issue.check == "header" and issue.params.get("kind") in _HEADER_KINDS_FROM_FILE:
                    quoted["columns"] = MASK
                issue = issue.model_copy(update={"params": {**issue.params, **quoted}})
            issues.append(issue)
        return self.model_copy(update={"errors": errors, "dataset_issues": issues})

    def to_json_dict(self, lang: str = "id") -> dict[str, Any]:
        """The report as plain JSON data with every message in ``lang``."""
        return {
            "valid": self.valid,
            "rows": self.rows,
            "errors": _json_errors(
                ((e.row, e.column, e.check, e.value, e.params) for e in self.errors), lang
            ),
            "summary": [s.model_dump(mode="json") for s in self.summary],
            "dataset_issues": [
                {
                    "check": i.check,
                    "severity": i.severity,
                    "params": i.params,
                    "message": i.message(lang),
                }
                for i in self.dataset_issues
            ],
        }

    def headline(self, lang: str = "id") -> str:
        """One sentence saying whether the data conforms."""
        if self.valid:
            return t("verify.summary.valid", lang, rows=_count(self.rows, lang))
        issues = sum(i.severity == "error" for i in self.dataset_issues)
        return t(
            "verify.summary.invalid",
            lang,
            errors=_count(self.error_count, lang),
            issues=issues,
            rows=_count(self.rows, lang),
        )


def _count(number: int, lang: str) -> str:
    """Thousands grouped as the reader writes them: 1.000.000 in Indonesian, 1,000,000 in English."""
    text = f"{number:,}"
    return text.replace(",", ".") if lang == "id" else text
