"""``python -m ocenter verify``: a contract and a file in, a report and an exit code out."""

from __future__ import annotations

import gc
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ocenter.contracts.model import DataContract
from ocenter.errors import UserError, validation_details
from ocenter.intake.csvfile import ReadAhead, lean_memory
from ocenter.verification.engine import _PRINTED_ERRORS, _Engine, _verified
from ocenter.verification.report import VerificationReport, _json_error_texts

# --- command line ---------------------------------------------------------------------------------


def load_contract(path: Path, table: str | None = None) -> DataContract:
    """A contract file: OCenter YAML, or ODCS v3 when it has ``apiVersion``/``kind: DataContract``
    (``table``: which of its tables, when it describes several).

    Raises ``UserError("verify.contract_unreadable")`` with the reason, the ODCS import's own
    refusal, or ``verify.schema_not_odcs`` for a table chosen in an OCenter contract.
    """
    import yaml
    from pydantic import ValidationError

    from ocenter.yamlfiles import load_yaml, read_yaml_file

    path = Path(path)
    try:
        text = read_yaml_file(path)
        data = load_yaml(text)
        if isinstance(data, dict) and ("apiVersion" in data or data.get("kind") == "DataContract"):
            from ocenter.contracts.odcs import contract_from_odcs

            return contract_from_odcs(text, table)
        if table is not None:
            raise UserError("verify.schema_not_odcs", path=str(path))
        if not isinstance(data, dict):
            raise ValueError("a data contract must be a YAML mapping")
        return DataContract.model_validate(data)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, ValueError, ValidationError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if isinstance(exc, ValidationError):
            detail = validation_details(exc, limit=5)
        raise UserError("verify.contract_unreadable", path=str(path), detail=detail) from None


def _report_text(engine: _Engine, report: VerificationReport, lang: str, errors: str | None = None) -> str:
    """``report.to_json_dict(lang)`` as one line of JSON, with every failing cell the engine kept
    in detail (``report``, finished with a smaller ``detail``, holds only a few of them); the
    failing cells come last, after the summary a reader looks for first. ``errors``: those
    cells as :func:`_error_list_text` gives them, when already written."""
    data = report.to_json_dict(lang)
    del data["errors"]
    head = json.dumps(data, ensure_ascii=False)  # one line, through json's C encoder
    if errors is None:
        errors = _error_list_text(engine.error_rows(), lang)
    return f'{head[:-1]}, "errors": {errors}}}'


def _error_list_text(rows: list[tuple[Any, ...]], lang: str) -> str:
    """The JSON list of the failing cells ``rows`` (as :meth:`_Engine.error_rows` gives them)."""
    return "[" + ", ".join(_json_error_texts((row[:5] for row in rows), lang)) + "]"


def run_verify(
    contract_path: Path | str,
    data_path: Path | str,
    report_path: Path | str | None,
    lang: str = "id",
    ahead: ReadAhead | None = None,
    table: str | None = None,
) -> int:
    """Verify a data file against a contract (``table``: the one of an ODCS contract's tables
    the file holds) and write the JSON report.

    Prints a short summary. Returns 0 when the data conforms, 1 when it does not, 2 when the
    contract or the data cannot be read (the reason is printed, never a traceback). A CSV is
    verified in batches, in bounded memory; ``ahead`` is that file already being read on a
    thread (see :func:`ocenter.intake.csvfile.read_ahead`).
    """
    data_path = Path(data_path)
    collecting = gc.isenabled()
    # Nothing built here forms reference cycles worth collecting, and each pass of the cyclic
    # collector would walk every object the imports made: pause it for the command.
    gc.disable()
    try:
        return _run_verify(contract_path, data_path, report_path, lang, ahead, table)
    finally:
        if ahead is not None:
            ahead.cancel()  # the contract could not be read, say: the file is not needed
        if collecting:
            gc.enable()


def _run_verify(
    contract_path: Path | str,
    data_path: Path,
    report_path: Path | str | None,
    lang: str,
    ahead: ReadAhead | None,
    table: str | None = None,
) -> int:
    from ocenter.intake.read import ReadLimits, file_kind, iter_batches, read_table

    try:
        contract = load_contract(Path(contract_path), table)
        limits = ReadLimits()
        if not data_path.is_file():
            raise UserError("ingest.not_found", path=str(data_path))
        with lean_memory():
            if file_kind(data_path.name) == "csv":
                # Every CSV is streamed: a few parts in memory at a time, read while others are
                # judged, whatever the file's size (up to limits.max_stream_bytes).
                batches = iter_batches(data_path, contract, limits=limits, ahead=ahead)
                engine = _verified(contract, batches, reading=ahead.reading if ahead is not None else None)
            else:
                engine = _verified(contract, read_table(data_path, data_path.name, contract, limits=limits))
    except UserError as exc:
        print(exc.text(lang), file=sys.stderr)
        return 2
    # Repeated keys are found on a helper thread while this one writes out the failing cells
    # found so far; they stand unless the repeats add failing cells of their own (then the
    # cells are laid out and written again, all of them in order).
    with ThreadPoolExecutor(1, "ocenter-repeats") as helper:
        repeats = helper.submit(engine.find_repeats)
        early_rows = engine.error_rows()
        early_text = _error_list_text(early_rows, lang) if report_path is not None else None
        repeats.result()
    # The report as verify_table gives it, but for the JSON file the failing cells go straight
    # from the engine to JSON, without a CellError (validated, then read back) for each.
    report = engine.finish(detail=_PRINTED_ERRORS)
    if report_path is not None:
        errors = early_text if engine.error_rows() is early_rows else None
        Path(report_path).write_text(_report_text(engine, report, lang, errors) + "\n", encoding="utf-8")
    print(report.headline(lang))
    for error in report.errors[:_PRINTED_ERRORS]:
        print(f"  {error.message(lang)}")
    for issue in report.dataset_issues:
        print(f"  {issue.message(lang)}")
    return 0 if report.valid else 1
