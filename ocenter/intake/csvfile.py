"""A sender's CSV file: encoding, delimiter and columns sniffed from its start, and its text read
piece by piece, on a thread of its own when asked.

Nothing here needs the contract machinery (pydantic), so ``python -m ocenter verify`` starts
reading the file while that machinery loads (see :func:`read_ahead`). :mod:`ocenter.intake.read` is
the front door: limits, spreadsheets, and the table or batches the verifier gets.
"""

from __future__ import annotations

import codecs
import csv
import io
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.csv as pv

from ocenter.errors import UserError

MB = 1024 * 1024

#: Delimiters a CSV may use: Excel writes ";" where the decimal mark is a comma (Indonesian
#: Windows settings), "," elsewhere, and a tab for "Unicode text".
DELIMITERS = (",", ";", "\t")
_SAMPLE_BYTES = 64 * 1024
_SNIFF_RECORDS = 50
_CHECK_CHUNK = 16 * MB
_SURVEY_CHUNK = 1 * MB
#: Whether Arrow parses a piece on several threads: not, as verification runs beside it and
#: one thread per piece takes less time in all (fewer threads, fewer fresh pages).
_PIECE_THREADS = False
#: Arrow decodes UTF-8 natively; other encodings go through Python's codecs while streaming.
ARROW_UTF8 = "utf8"
#: Pieces a read-ahead keeps parsed and waiting: what it can read while the verifier loads
#: (about a third of a second), yet a small share of memory.
AHEAD_PIECES = 6
#: How long jemalloc keeps freed pages before returning them (see lean_memory): long enough
#: that the next piece reuses them (each fresh page costs a fault), short enough that the
#: process does not grow beyond the few pieces in flight.
_DECAY_MS = 1000


def pieces(path: Path, plan: CsvPlan, block_size: int) -> Iterator[pa.RecordBatch]:
    """The file cut after its last line feed of every ``block_size`` bytes, each piece parsed.

    A line feed ends a record while the file has no quote (only a quoted value can hold a line
    break). Memory holds one piece and its table, not Arrow's read-ahead of many blocks, and a
    file of plain ASCII is read once. At the first piece holding a quote or a byte beyond
    ASCII, the rest of the file is surveyed once: if it holds a quote, or is not UTF-8 (then
    the whole file is Windows-1252, every earlier piece being ASCII), the rest is read by
    Arrow's streaming reader from that piece on, exactly as if the whole file had been
    surveyed first.
    """
    size = max(block_size, 1)
    buffer = bytearray(size)  # reused: Arrow copies every cell out of it while parsing
    surveyed = False
    with path.open("rb", buffering=0) as handle:
        while True:
            start = handle.tell()
            count = handle.readinto(buffer)
            if count < len(buffer):
                count += _fill(handle, buffer, count)
            if not count:
                return
            cut = count
            if count == len(buffer):  # more may follow: end the piece after its last line feed
                cut = buffer.rfind(b"\n") + 1
                if cut == 0:  # a line longer than the buffer: read it again into one twice as big
                    handle.seek(start)
                    buffer = bytearray(2 * len(buffer))
                    continue
                handle.seek(start + cut)
            block = buffer if count == len(buffer) else buffer[:count]
            if not surveyed and (not block.isascii() or block.find(b'"', 0, cut) != -1):
                decodes, quoted = _survey(path, utf8=True, start=start)
                if quoted or not decodes:
                    rest = replace(
                        plan,
                        encoding=plan.encoding if decodes else _detect_encoding(path, b"", False),
                        quoted=quoted,
                    )
                    yield from streamed(path, rest, block_size, start=start)
                    return
                surveyed = True  # the rest is UTF-8 without quotes: pieces all the way
            # One Arrow block per piece: one chunk per column, which costs less than many small
            # chunks later on. The piece is known to be UTF-8 (ASCII, or surveyed): no check.
            options = plan.arrow_options(cut + 1, check_utf8=False, threads=_PIECE_THREADS)
            try:
                table = pv.read_csv(pa.BufferReader(pa.py_buffer(buffer)[:cut]), **options)
            except pa.ArrowInvalid as exc:
                raise csv_failure(path, plan, exc) from None
            yield from table.to_batches()
            if len(buffer) > size:
                buffer = bytearray(size)


def _fill(handle: BinaryIO, buffer: bytearray, count: int) -> int:
    """Bytes added to a short read until ``buffer`` is full or the file ends."""
    added = 0
    view = memoryview(buffer)
    while count + added < len(buffer):
        more = handle.readinto(view[count + added :])
        if not more:
            break
        added += more
    return added


def streamed(path: Path, plan: CsvPlan, block_size: int, start: int = 0) -> Iterator[pa.RecordBatch]:
    """The file from byte ``start`` through Arrow's streaming reader (quotes, or an encoding
    Arrow transcodes)."""
    with pa.OSFile(str(path)) as source:
        source.seek(start)
        try:
            reader = pv.open_csv(source, **plan.arrow_options(block_size))
        except pa.ArrowInvalid as exc:
            raise csv_failure(path, plan, exc) from None
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except pa.ArrowInvalid as exc:
                raise csv_failure(path, plan, exc) from None
            yield batch


# --- CSV -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CsvPlan:
    """What sniffing the start of a CSV decided: encoding, delimiter and column count."""

    filename: str
    encoding: str  # Python codec name, for our own decoding
    delimiter: str
    ncols: int
    quoted: bool  # any quote at all: only then can a value hold a line break
    has_line_feed: bool = True  # records end with "\n" (or "\r\n"), not a lone "\r"

    @property
    def arrow_encoding(self) -> str:
        # UTF-8 (with or without BOM: Arrow skips it) is decoded natively, much faster.
        return ARROW_UTF8 if self.encoding in ("utf-8", "utf-8-sig") else self.encoding

    def arrow_options(
        self, block_size: int | None = None, *, check_utf8: bool = True, threads: bool = True
    ) -> dict[str, Any]:
        names = [f"c{i}" for i in range(self.ncols)]
        read = {"column_names": names, "encoding": self.arrow_encoding, "use_threads": threads}
        if block_size:
            read["block_size"] = block_size
        return {
            # The header is read as the first data row, so Arrow's own parser (quotes, line
            # breaks inside quotes) decides the names, and every column is text from the start.
            "read_options": pv.ReadOptions(**read),
            "parse_options": pv.ParseOptions(
                delimiter=self.delimiter,
                quote_char='"',
                double_quote=True,
                escape_char=False,
                # Line breaks inside quoted values need a slower, quote-aware chunker.
                newlines_in_values=self.quoted,
                # Kept as rows of empty cells so row numbers match the spreadsheet.
                ignore_empty_lines=False,
            ),
            "convert_options": pv.ConvertOptions(
                column_types={name: pa.string() for name in names},
                null_values=[],
                true_values=[],
                false_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                check_utf8=check_utf8,
            ),
        }

    def clean_header(self, names: list[str | None]) -> list[str]:
        cleaned = ["" if name is None else name for name in names]
        if cleaned and cleaned[0].startswith("\ufeff"):
            cleaned[0] = cleaned[0][1:]
        return cleaned


def plan_csv(
    source: bytes | Path,
    filename: str,
    field_names: frozenset[str] = frozenset(),
    *,
    whole: bool = True,
    survey: bool = True,
) -> CsvPlan:
    """Encoding, delimiter and columns of a CSV; ``field_names`` (the contract's) help choose
    the delimiter. ``whole``: the encoding is judged on the whole
    input, else on its first 64 KB. Without ``survey`` nothing beyond the sample is read and
    ``quoted`` is False: the caller looks for quotes itself (see :func:`pieces`)."""
    sample = _head(source, _SAMPLE_BYTES)
    decodes, quoted = _survey(source, utf8=whole) if survey else (False, False)
    encoding = _detect_encoding(source, sample, decodes if whole else None)
    truncated = len(sample) == _SAMPLE_BYTES and size_of(source) > _SAMPLE_BYTES
    text = sample.decode(encoding, errors="ignore").lstrip("\ufeff")
    if not text.strip():
        raise UserError("ingest.empty", filename=filename)
    delimiter, header = _sniff(text, truncated, field_names)
    if not header or all(name == "" for name in header):
        raise UserError("ingest.no_header", filename=filename)
    return CsvPlan(
        filename=filename,
        encoding=encoding,
        delimiter=delimiter,
        ncols=len(header),
        quoted=quoted,
        has_line_feed="\n" in text,
    )


def _detect_encoding(source: bytes | Path, head: bytes, whole_utf8: bool | None) -> str:
    """UTF-8 (with or without BOM) when every byte decodes so, else Windows-1252.

    ``whole_utf8`` says whether the entire input decodes as UTF-8 (from :func:`_survey`), so
    a late accented letter cannot make Arrow fail half way through a stream; ``None`` lets the
    first 64 KB decide UTF-8 (the caller lets Arrow check the rest).
    """
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"  # Excel's "Unicode text" export
    if b"\x00" in head:
        raise UserError("ingest.not_text")
    if whole_utf8 is None:
        whole_utf8 = _decodes_as(head, "utf-8", final=len(head) < _SAMPLE_BYTES)
    if whole_utf8:
        return "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
    if _decodes_as(source, "cp1252"):
        return "cp1252"
    raise UserError("ingest.encoding")


def _survey(source: bytes | Path, *, utf8: bool, start: int = 0) -> tuple[bool, bool]:
    """(the input from byte ``start`` decodes as UTF-8, it holds a quote character), in one pass.

    Read through one reused buffer (no mapping: mapped pages would count as the process's
    memory); pure ASCII chunks skip the decoder. Without ``utf8`` the first element is False.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source[start:]) if isinstance(source, memoryview) or start else source
        return utf8 and (data.isascii() or _decodes_as(data, "utf-8")), b'"' in data
    decoder = codecs.getincrementaldecoder("utf-8")() if utf8 else None
    quoted = False
    buffer = bytearray(_SURVEY_CHUNK)
    with Path(source).open("rb", buffering=0) as handle:
        handle.seek(start)
        while count := handle.readinto(buffer):
            chunk = buffer if count == len(buffer) else buffer[:count]
            quoted = quoted or chunk.find(b'"') != -1
            if decoder is not None and not (chunk.isascii() and not decoder.getstate()[0]):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    decoder = None
            if quoted and decoder is None:
                break
    if decoder is not None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            decoder = None
    return decoder is not None, quoted


def _decodes_as(source: bytes | Path, encoding: str, *, final: bool = True) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        for chunk in _chunks(source, _CHECK_CHUNK):
            if encoding == "utf-8" and chunk.isascii() and not decoder.getstate()[0]:
                continue
            decoder.decode(chunk)
        if final:  # a sample may end inside a character: only a whole input must end cleanly
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _sniff(text: str, truncated: bool, field_names: set[str]) -> tuple[str, list[str]]:
    """The delimiter among , ; tab that best splits the first records, and the header it gives.

    Records are parsed with quotes respected. Preferred: the delimiter whose header names the
    most contract fields, then the one giving the same field count on most records, then the
    most columns. A file whose header has no delimiter at all is read as one column.
    """
    best: tuple[tuple[int, float, int], str, list[str]] | None = None
    for delimiter in DELIMITERS:
        records = _sample_records(text, delimiter, truncated)
        if not records:
            continue
        header = records[0]
        width = len(header)
        body = [r for r in records[1:] if r]  # blank lines are not evidence either way
        consistent = sum(len(r) == width for r in body) / len(body) if body else 1.0
        known = sum(name.lstrip("\ufeff") in field_names for name in header)
        score = (known, consistent if width > 1 else -1.0, width)
        if best is None or score > best[0]:
            best = (score, delimiter, header)
    if best is None:
        return ",", []
    return best[1], best[2]


def _sample_records(text: str, delimiter: str, truncated: bool) -> list[list[str]]:
    records: list[list[str]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    try:
        for record in reader:
            records.append(record)
            if len(records) > _SNIFF_RECORDS:
                break
    except csv.Error:
        pass  # a quote left open at the sample's cut: the records so far are enough
    if truncated and len(records) > 1 and len(records) <= _SNIFF_RECORDS:
        records.pop()  # the last record may be cut in the middle
    return records


def csv_failure(source: bytes | Path, plan: CsvPlan, exc: Exception) -> UserError:
    """A user-facing reason for Arrow refusing a CSV: usually a row with the wrong cell count."""
    found = _find_ragged_row(source, plan)
    if found is not None:
        row, count = found
        return UserError("ingest.ragged_row", row=row, expected=plan.ncols, found=count)
    detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    return UserError("ingest.unreadable_csv", filename=plan.filename, detail=detail)


def _find_ragged_row(source: bytes | Path, plan: CsvPlan) -> tuple[int, int] | None:
    """Spreadsheet row number and cell count of the first record whose width is wrong."""
    with open_source(source) as raw:
        text = io.TextIOWrapper(raw, encoding=plan.encoding, newline="", errors="replace")
        reader = csv.reader(text, delimiter=plan.delimiter, strict=False)
        try:
            for number, record in enumerate(reader, start=1):
                if record and len(record) != plan.ncols:
                    return number, len(record)
        except csv.Error:
            return None
    return None


# --- reading ahead ---------------------------------------------------------------------------


class ReadAhead:
    """A CSV's pieces parsed on a thread of its own, up to ``ahead`` of them waiting.

    Arrow parses without holding Python's lock, so this thread keeps a second processor busy
    while the first loads the contract machinery. A problem met while reading (a ragged row,
    say) is raised to whoever takes the batches, where the file would have raised it anyway.
    """

    def __init__(self, path: Path, plan: CsvPlan, block_size: int, ahead: int = AHEAD_PIECES) -> None:
        self.path = path
        self.plan = plan
        self.block_size = block_size
        self._ahead = max(1, ahead)
        self._ready: deque[tuple[str, Any]] = deque()
        self._changed = threading.Condition()
        self._stopped = False
        self._taken = False
        self._thread = threading.Thread(target=self._read, name="ocenter-read-ahead", daemon=True)
        self._thread.start()

    def batches_for(self, path: Path, plan: CsvPlan, block_size: int) -> Iterator[pa.RecordBatch] | None:
        """The batches, when this read-ahead reads ``path`` as ``plan`` says (the plan sniffed
        with the contract's field names can differ); else None, and the read-ahead stops."""
        same = (
            Path(path) == self.path
            and block_size == self.block_size
            and replace(plan, filename=self.plan.filename) == self.plan
            and not self._taken
        )
        if not same:
            self.cancel()
            return None
        self._taken = True
        self.plan = plan  # messages name the file as the caller does
        return self._batches()

    def reading(self) -> bool:
        """Whether the thread is reading now: not done, and not waiting for room to put a piece
        (while it waits, the processor it used is free for other work)."""
        return self._thread.is_alive() and len(self._ready) < self._ahead

    def cancel(self) -> None:
        """Stop reading and drop what was read; the thread ends at its next piece."""
        with self._changed:
            self._stopped = True
            self._ready.clear()
            self._changed.notify_all()

    def _batches(self) -> Iterator[pa.RecordBatch]:
        try:
            while True:
                with self._changed:
                    while not self._ready:
                        self._changed.wait()
                    kind, value = self._ready.popleft()
                    self._changed.notify_all()
                if kind == "end":
                    return
                if kind == "error":
                    raise value
                yield value
        finally:
            self.cancel()

    def _offer(self, kind: str, value: Any) -> bool:
        with self._changed:
            while len(self._ready) >= self._ahead and not self._stopped:
                self._changed.wait()
            if self._stopped:
                return False
            self._ready.append((kind, value))
            self._changed.notify_all()
            return True

    def _read(self) -> None:
        batches = pieces(self.path, self.plan, self.block_size)
        try:
            for batch in batches:
                if not self._offer("batch", batch):
                    return
        except BaseException as exc:  # handed to the reader of the batches, raised there
            self._offer("error", exc)
            return
        finally:
            batches.close()
        self._offer("end", None)


def read_ahead(path: Path, block_size: int = 4 * MB) -> ReadAhead | None:
    """Start reading a CSV on a thread of its own, or None when it is not a plain UTF-8 CSV file
    (the caller then reads it as usual). Whatever is wrong with the file is left for the
    caller's own reading to find and say."""
    try:
        if path.suffix.lower() != ".csv" or not path.is_file():
            return None
        plan = plan_csv(path, path.name, whole=False, survey=False)
    except (UserError, OSError):
        return None
    if plan.arrow_encoding != ARROW_UTF8 or not plan.has_line_feed:
        return None
    return ReadAhead(path, plan, block_size)


@contextmanager
def lean_memory() -> Iterator[None]:
    """Arrow's memory taken, for the duration, from jemalloc told to return freed pages soon.

    A stream frees each piece's memory soon after allocating it; Arrow's default allocator
    (mimalloc) keeps freed pages for reuse, so the process's resident memory grows to several
    times what is in use (about 210 MB instead of 155 MB for a 71 MB file). Where jemalloc is
    not built in, the default allocator stays. The decay setting is jemalloc's own, process
    wide; the default pool is restored on leaving.
    """
    try:
        pool = pa.jemalloc_memory_pool()
        pa.jemalloc_set_decay_ms(_DECAY_MS)
    except (pa.ArrowNotImplementedError, NotImplementedError):  # pragma: no cover - platform
        yield
        return
    previous = pa.default_memory_pool()
    pa.set_memory_pool(pool)
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


# --- bytes or path ---------------------------------------------------------------------------


def size_of(source: bytes | Path) -> int:
    if isinstance(source, bytes | bytearray | memoryview):
        return len(source)
    try:
        return Path(source).stat().st_size
    except FileNotFoundError:
        raise UserError("ingest.not_found", path=str(source)) from None


def open_source(source: bytes | Path) -> BinaryIO:
    if isinstance(source, bytes | bytearray | memoryview):
        return io.BytesIO(source)
    return Path(source).open("rb")


def arrow_input(source: bytes | Path) -> Any:
    # A path lets Arrow read natively without the GIL; bytes are wrapped without copying.
    if isinstance(source, bytes | bytearray | memoryview):
        return pa.BufferReader(pa.py_buffer(source))
    return str(source)


def _head(source: bytes | Path, size: int) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source[:size])
    with Path(source).open("rb") as handle:
        return handle.read(size)


def _chunks(source: bytes | Path, size: int) -> Iterator[bytes]:
    if isinstance(source, bytes | bytearray | memoryview):
        view = memoryview(source)
        for start in range(0, len(view), size):
            yield view[start : start + size].tobytes()
        return
    with Path(source).open("rb") as handle:
        while chunk := handle.read(size):
            yield chunk


def mb(size: int) -> str:
    return f"{size / MB:,.1f}"
