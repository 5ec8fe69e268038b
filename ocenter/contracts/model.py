"""Data contracts: what a dataset sent to the Operational Center must look like (pydantic, stored as YAML)."""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ocenter.accounts.levels import Level, highest
from ocenter.contracts.quality import QualityRule
from ocenter.i18n import refusal
from ocenter.reference import REFERENCE_LISTS
from ocenter.yamlfiles import dump_record, load_yaml_mapping

#: Ids of datasets, dashboards and panels: lower-case letters, digits and dashes, so that they can
#: safely become file names and Git ref components.
ID_PATTERN = r"^[a-z][a-z0-9-]{1,62}[a-z0-9]$"
FIELD_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"


class FieldType(StrEnum):
    """The type a field's text must parse as."""

    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"  # ISO 8601 calendar date, YYYY-MM-DD
    DATETIME = "datetime"  # ISO 8601 date and time


class ContractField(BaseModel):
    """One column of a dataset and every check its cells must pass."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        pattern=FIELD_NAME_PATTERN,
        description="Name of the column in the Operational Center's data (dashboards, stored "
        "data); also its header in a file unless ``header`` says otherwise.",
        examples=["kode_upt"],
    )
    header: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The header text the column appears under in a sender's file, when it is not "
        "``name`` (ODCS ``physicalName``); matched as the contract's ``header_matching`` says.",
        examples=["Kode UPT", "DataValue"],
    )
    label: str = Field(
        default="",
        description="Human name shown on dashboards, in Bahasa Indonesia (the default language).",
        examples=["Kode UPT"],
    )
    label_en: str | None = Field(
        default=None,
        description="The same name in English, shown to viewers who read English; None shows "
        "``label`` to them too.",
        examples=["UPT code"],
    )
    description: str = Field(default="", description="What the column means, for the sender.")
    type: FieldType = Field(default=FieldType.STRING, description="Type the text must parse as.")
    required: bool = Field(default=False, description="An empty cell is an error.")
    unique: bool = Field(default=False, description="No two rows may share a value.")
    allowed_values: list[str] | None = Field(
        default=None,
        description="If set, the only values allowed (compared as text).",
        examples=[["MS", "TMS"]],
    )
    minimum: float | None = Field(default=None, description="Smallest allowed number (inclusive).")
    maximum: float | None = Field(default=None, description="Largest allowed number (inclusive).")
    earliest: dt.date | None = Field(
        default=None,
        description="Date and datetime fields: the earliest date allowed (inclusive; a datetime "
        "is judged by its date), e.g. the first day of the reporting period.",
        examples=["2026-01-01"],
    )
    latest: dt.date | None = Field(
        default=None,
        description="Date and datetime fields: the latest date allowed (inclusive; a datetime is "
        "judged by its date), e.g. the last day of the reporting period.",
        examples=["2026-12-31"],
    )
    pattern: str | None = Field(
        default=None,
        description="Regular expression (RE2 syntax) the whole text must match.",
        examples=[r"^\d{4}$"],
    )
    min_length: int | None = Field(default=None, ge=0, description="Fewest characters allowed.")
    max_length: int | None = Field(default=None, ge=1, description="Most characters allowed.")
    level: Level = Field(
        default=Level.TERBUKA,
        description="The field's own confidentiality level; viewers below it never receive it.",
    )
    reference: str | None = Field(
        default=None,
        description="Reference list the value must be a code of (foreign key).",
        examples=["upt", "provinsi", "kategori_produk"],
    )
    quality: list[QualityRule] = Field(
        default_factory=list,
        description="ODCS quality rules of this column (thresholds over the whole column), "
        "checked on every file besides the per-cell checks above.",
    )

    def header_text(self) -> str:
        """The header the column appears under in a file."""
        return self.header if self.header is not None else self.name

    def label_in(self, lang: str) -> str:
        """The name a viewer reading ``lang`` sees: the English label when there is one and they
        read English, else the Indonesian label, else the column name made readable
        ("kode_upt" -> "Kode upt"), so no heading ever shows a raw column name."""
        if lang == "en" and self.label_en:
            return self.label_en
        return self.label or self.name.replace("_", " ").capitalize()

    @field_validator("reference")
    @classmethod
    def _reference_exists(cls, value: str | None) -> str | None:
        if value is not None and value not in REFERENCE_LISTS:
            known = ", ".join(sorted(REFERENCE_LISTS))
            raise refusal("check.unknown_reference", reference=value, known=known)
        return value

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            check_pattern(value)
        return value

    @model_validator(mode="after")
    def _bounds_are_consistent(self) -> ContractField:
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise refusal("check.minimum_above_maximum", field=self.name)
        if (
            self.min_length is not None
            and self.max_length is not None
            and self.min_length > self.max_length
        ):
            raise refusal("check.min_length_above_max_length", field=self.name)
        if (self.minimum is not None or self.maximum is not None) and self.type not in (
            FieldType.INTEGER,
            FieldType.NUMBER,
        ):
            raise refusal("check.bounds_need_number", field=self.name)
        if (self.earliest is not None or self.latest is not None) and self.type not in (
            FieldType.DATE,
            FieldType.DATETIME,
        ):
            raise refusal("check.date_bounds_need_date", field=self.name)
        if self.earliest is not None and self.latest is not None and self.earliest > self.latest:
            raise refusal("check.earliest_after_latest", field=self.name)
        for rule in self.quality:
            if rule.metric == "rowCount" or rule.properties:
                raise refusal("check.quality_table_rule_on_field", field=self.name)
        return self


class Partitioning(BaseModel):
    """How the files of many senders combine into one dataset (the SOP's data "integrated from
    all data producers"): each accepted file replaces exactly the partitions it contains."""

    model_config = ConfigDict(extra="forbid")

    sender_field: str = Field(
        description="Field naming the sender of each row (a UPT, central unit or agency code). A "
        "UPT or an agency may send only rows with its own code; a central unit may send any.",
        examples=["kode_upt"],
    )
    period_field: str | None = Field(
        default=None,
        description="Date field whose calendar month is part of a partition (sender x month); "
        "None: all of a sender's rows are one partition.",
        examples=["tanggal_sampling"],
    )


class DataContract(BaseModel):
    """The agreement between a data sender and Pusdatin about one dataset."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(
        pattern=ID_PATTERN,
        description="Dataset id; also the file name in data_contracts/.",
        examples=["sampling-pengujian"],
    )
    title: str = Field(description="Dataset name shown to users.")
    description: str = Field(default="", description="What the dataset holds and who sends it.")
    owner_unit: str = Field(description="Code of the unit that owns and sends the data.")
    level: Level = Field(
        default=Level.TERBATAS, description="Confidentiality level of the dataset as a whole."
    )
    cadence_days: int | None = Field(
        default=None,
        ge=1,
        description="Expected delivery interval in days; older data is reported as stale.",
        examples=[30],
    )
    fields: list[ContractField] = Field(min_length=1, description="The columns, in file order.")
    primary_key: list[str] = Field(
        default_factory=list, description="Fields whose combined value must be unique per row."
    )
    min_rows: int | None = Field(default=None, ge=0, description="Fewest data rows accepted.")
    max_rows: int | None = Field(default=None, ge=1, description="Most data rows accepted.")
    scope_field: str | None = Field(
        default=None,
        description="Field holding the UPT code of each row; a UPT viewer sees only its own rows.",
        examples=["kode_upt"],
    )
    time_field: str | None = Field(
        default=None, description="Date field used for freshness and period filters."
    )
    partitioning: Partitioning | None = Field(
        default=None,
        description="How senders' files combine; None: each accepted file replaces the whole dataset.",
    )
    decimal_separator: Literal[".", ","] = Field(
        default=".", description="Decimal mark used in the file's numbers."
    )
    missing_values: list[str] = Field(
        default_factory=lambda: [""],
        description="Cell texts that count as missing. Only the empty cell unless listed here.",
    )
    header_matching: Literal["exact", "loose"] = Field(
        default="exact",
        description="How a file's headers are matched to the fields' headers: ``exact`` text, or "
        "``loose``: ignoring upper and lower case, spaces, underscores and dashes (\"Kode UPT\", "
        "\"kode_upt\" and \"KODE-UPT\" are then one header).",
    )
    quality: list[QualityRule] = Field(
        default_factory=list,
        description="ODCS quality rules of the table as a whole (rowCount, duplicateValues over "
        "several fields, SQL), checked on every file.",
    )

    @model_validator(mode="after")
    def _names_are_consistent(self) -> DataContract:
        names = [f.name for f in self.fields]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise refusal("check.field_names_twice", names=", ".join(duplicates))
        for role, wanted in (
            ("primary_key", self.primary_key),
            ("scope_field", [self.scope_field] if self.scope_field else []),
            ("time_field", [self.time_field] if self.time_field else []),
            ("partitioning", [n for n in (
                self.partitioning.sender_field, self.partitioning.period_field
            ) if n] if self.partitioning else []),
        ):
            unknown = [n for n in wanted if n not in names]
            if unknown:
                raise refusal("check.role_names_unknown", role=role, names=", ".join(unknown))
        if self.partitioning is not None and self.partitioning.period_field is not None:
            kind = self.field(self.partitioning.period_field).type
            if kind not in (FieldType.DATE, FieldType.DATETIME):
                raise refusal("check.period_field_not_date")
        if self.min_rows is not None and self.max_rows is not None and self.min_rows > self.max_rows:
            raise refusal("check.min_rows_above_max_rows")
        headers = [header_key(f.header_text(), self.header_matching) for f in self.fields]
        twice = sorted({f.header_text() for f, key in zip(self.fields, headers, strict=True)
                        if headers.count(key) > 1})
        if twice:
            raise refusal("check.headers_twice", headers=", ".join(twice))
        for rule in self.quality:
            unknown = [n for n in rule.properties if n not in names]
            if unknown:
                raise refusal("check.role_names_unknown", role="quality", names=", ".join(unknown))
            if rule.metric in ("nullValues", "missingValues", "invalidValues") or (
                rule.metric == "duplicateValues" and not rule.properties
            ):
                raise refusal("check.quality_needs_column", metric=rule.metric)
        return self

    def column_positions(self, headers: list[str]) -> dict[str, int]:
        """Each field's position among a file's ``headers`` (by ``header_matching``), for the
        fields present; the first of repeated headers counts."""
        first: dict[str, int] = {}
        for position, text in enumerate(headers):
            first.setdefault(header_key(text, self.header_matching), position)
        found = {}
        for f in self.fields:
            position = first.get(header_key(f.header_text(), self.header_matching))
            if position is not None:
                found[f.name] = position
        return found

    def field(self, name: str) -> ContractField:
        """The field called ``name``; ``KeyError`` if there is none."""
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        raise KeyError(name)

    def field_names(self) -> list[str]:
        """Column names in file order."""
        return [f.name for f in self.fields]

    def highest_level(self, names: list[str] | None = None) -> Level:
        """Highest level of the dataset and the given fields (all fields when ``names`` is None)."""
        chosen = self.fields if names is None else [self.field(n) for n in names]
        return highest([self.level, *(f.level for f in chosen)])


_SPACING = re.compile(r"[\s_\-]+")


def header_key(text: str, matching: str) -> str:
    """What a header is compared by: itself (``exact``), or without case and spacing (``loose``)."""
    if matching == "exact":
        return text
    return _SPACING.sub("", text).casefold()


def check_pattern(pattern: str) -> None:
    """Raise ``ValueError`` unless the verification engine (RE2, through pyarrow) can run ``pattern``."""
    import pyarrow as pa
    import pyarrow._compute as arrow_compute  # pyarrow.compute's engine, without its 60 ms import

    try:
        # pa.nulls, not pa.array: building an array from Python objects imports pandas (0.3 s).
        options = arrow_compute.MatchSubstringOptions(pattern)
        arrow_compute.call_function("match_substring_regex", [pa.nulls(1, pa.string())], options)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise ValueError(f"pattern {pattern!r} cannot be used: {exc}") from None


def contract_from_yaml(text: str) -> DataContract:
    """Parse a contract from YAML text; raises ``ValueError`` (or pydantic's) on bad content,
    ``YamlLimitError`` (a ``ValueError``) on a text over the reading limits."""
    data = load_yaml_mapping(text, "contract")
    return DataContract.model_validate(data)


def contract_to_yaml(contract: DataContract) -> str:
    """The contract as reviewable YAML, fields in declaration order, defaults left out."""
    return dump_record(contract)
