"""Peer for ``verify_benchmark.py``: the same contract checked with pandera, for comparison.

Usage: ``python benchmarks/peer_pandera.py CONTRACT DATA``

Reads DATA with pandas, every column as text, builds a pandera ``DataFrameSchema`` with the cell
checks of the OCenter CONTRACT (required, type, allowed values, minimum, maximum, pattern, lengths,
reference lists, unique) and the primary key, validates lazily so that every failure is collected,
prints the number of failing cells and exits 0 if the data is valid, else 1.

As in OCenter, a missing cell (empty or one of the contract's ``missing_values``) fails only
``required``, and a text that does not parse as the field's type fails only ``type`` (its bounds
are not checked). Unlike OCenter, pandera runs every check on every cell, so a cell can fail
several checks: both the failure cases and the distinct failing cells are printed. Row counts and
freshness (dataset checks) are left out.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ocenter.contracts.model import ContractField, DataContract, FieldType, contract_from_yaml  # noqa: E402
from ocenter.reference import reference_codes  # noqa: E402

BOOLEAN_TEXTS = ["true", "false", "1", "0", "ya", "tidak"]  # compared case-insensitively
INTEGER_RE = r"[+-]?\d+"
DATE_RE = r"\d{4}-\d{2}-\d{2}"

Test = Callable[[pd.Series], pd.Series]


def shaped(s: pd.Series, regex: str) -> pd.Series:
    """``s`` with NA where the whole text does not match ``regex``."""
    return s.where(s.str.fullmatch(regex, na=False))


def parse(f: ContractField, decimal: str) -> Test:
    """A function giving the value of each text as ``f``'s type: NaN or NaT where it does not parse."""
    if f.type == FieldType.INTEGER:
        return lambda s: pd.to_numeric(shaped(s, INTEGER_RE), errors="coerce")
    if f.type == FieldType.NUMBER:
        if decimal == ".":
            return lambda s: pd.to_numeric(s, errors="coerce")
        return lambda s: pd.to_numeric(
            s.where(~s.str.contains(".", regex=False)).str.replace(",", ".", regex=False), errors="coerce"
        )
    if f.type == FieldType.DATE:
        # The shape first: pandas reads "2025-1-5" as a %Y-%m-%d date.
        return lambda s: pd.to_datetime(shaped(s, DATE_RE), format="%Y-%m-%d", errors="coerce")
    if f.type == FieldType.DATETIME:
        return lambda s: pd.to_datetime(s, format="ISO8601", errors="coerce", utc=True)
    if f.type == FieldType.BOOLEAN:
        return lambda s: s.str.lower().map({t: t in ("true", "1", "ya") for t in BOOLEAN_TEXTS})
    raise ValueError(f"no parser for type {f.type}")


def cell_tests(f: ContractField, contract: DataContract) -> dict[str, Test]:
    """OCenter check name -> test of present cells (True where the cell passes)."""
    tests: dict[str, Test] = {}
    if f.type != FieldType.STRING:
        value = parse(f, contract.decimal_separator)
        tests["type"] = lambda s: value(s).notna()
        if f.minimum is not None:
            tests["minimum"] = lambda s: ~(value(s) < f.minimum)  # NaN (not parsed) passes
        if f.maximum is not None:
            tests["maximum"] = lambda s: ~(value(s) > f.maximum)
    if f.allowed_values is not None:
        tests["allowed_values"] = lambda s: s.isin(f.allowed_values)
    if f.pattern is not None:
        tests["pattern"] = lambda s: s.str.fullmatch(f.pattern, na=False)
    if f.min_length is not None:
        tests["min_length"] = lambda s: s.str.len() >= f.min_length
    if f.max_length is not None:
        tests["max_length"] = lambda s: s.str.len() <= f.max_length
    if f.reference is not None:
        codes = reference_codes(f.reference)
        tests["reference"] = lambda s: s.isin(codes)
    if f.unique:
        tests["unique"] = lambda s: ~s.duplicated(keep="first")  # repeats after the first fail
    return tests


def column(f: ContractField, contract: DataContract) -> pa.Column:
    """The pandera column of ``f``: a missing cell fails only ``required``, present ones the rest."""
    markers = contract.missing_values

    def when_present(test: Test) -> Test:
        return lambda s: s.isin(markers) | test(s)

    checks = [pa.Check(when_present(test), name=name) for name, test in cell_tests(f, contract).items()]
    if f.required:
        checks.insert(0, pa.Check(lambda s: ~s.isin(markers), name="required"))
    return pa.Column(str, checks=checks, nullable=False)


def primary_key_check(contract: DataContract) -> pa.Check:
    """Rows whose complete primary key repeats an earlier row's fail (rows missing a key cell pass)."""
    names = contract.primary_key
    markers = contract.missing_values

    def test(df: pd.DataFrame) -> pd.Series:
        keys = df[names]
        incomplete = keys.isin(markers).any(axis=1)
        return incomplete | ~keys.duplicated(keep="first")

    return pa.Check(test, name="primary_key")


def schema(contract: DataContract) -> pa.DataFrameSchema:
    """Columns in file order, no others; the primary key unless a unique field already is it."""
    key = contract.primary_key
    covered = len(key) == 1 and contract.field(key[0]).unique
    return pa.DataFrameSchema(
        {f.name: column(f, contract) for f in contract.fields},
        checks=[primary_key_check(contract)] if key and not covered else None,
        strict=True,
        ordered=True,
    )


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    contract = contract_from_yaml(Path(sys.argv[1]).read_text(encoding="utf-8"))
    df = pd.read_csv(sys.argv[2], dtype=str, keep_default_na=False, na_filter=False)
    try:
        schema(contract).validate(df, lazy=True)
    except pa.errors.SchemaErrors as err:
        failures = err.failure_cases  # one row per failing cell and check
        of_cells = failures[failures["schema_context"] == "Column"]
        cells = of_cells[["column", "index"]].drop_duplicates()
        # Failures of the whole table (header, primary key: one entry per cell of a failing row).
        rest = failures[failures["schema_context"] != "Column"]
        print(
            f"rows={len(df)} failing cells={len(cells)} cell failure cases={len(of_cells)} "
            f"table failure cases={len(rest)} (rows {rest['index'].nunique()})"
        )
        print(failures.groupby(["schema_context", "column", "check"], sort=False).size().to_string())
        return 1
    print(f"rows={len(df)} failing cells=0")
    return 0


if __name__ == "__main__":
    sys.exit(main())
