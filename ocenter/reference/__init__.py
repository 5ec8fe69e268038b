"""Reference lists the project ships (UPT offices, provinces, product categories), the working-day
calendar's seed and the province map."""

from __future__ import annotations

import csv
import json
from functools import cache
from pathlib import Path

_REFERENCE_DIR = Path(__file__).parent

#: Reference list id -> file under ocenter/reference/. Each file is UTF-8 CSV whose first column
#: is ``code``, the value a data field refers to.
REFERENCE_LISTS = {
    "upt": "upt.csv",
    "provinsi": "provinsi.csv",
    "kategori_produk": "kategori_produk.csv",
}


@cache
def reference_rows(list_id: str) -> tuple[dict[str, str], ...]:
    """Every row of the reference list ``list_id``, as read from its CSV file.

    Raises ``KeyError`` for an unknown list id (a contract naming one is refused before this).
    """
    path = _REFERENCE_DIR / REFERENCE_LISTS[list_id]
    with path.open(encoding="utf-8", newline="") as handle:
        return tuple(csv.DictReader(handle))


def reference_codes(list_id: str) -> frozenset[str]:
    """The set of valid codes of the reference list ``list_id``."""
    return frozenset(row["code"] for row in reference_rows(list_id))


#: The working-day calendar's seed: the cuti bersama of the years decreed when this version was
#: made, each with its decree, imported into the database at first start (never read after that).
CALENDAR_SEED = "hari_libur.csv"


@cache
def calendar_seed_rows() -> tuple[dict[str, str], ...]:
    """Every row of the calendar's seed: ``date`` (YYYY-MM-DD), ``name``, ``kind``, ``decree``."""
    with (_REFERENCE_DIR / CALENDAR_SEED).open(encoding="utf-8", newline="") as handle:
        return tuple(csv.DictReader(handle))


#: The province map: one GeoJSON feature per province of provinsi.csv, ``properties.code`` its
#: BPS code (source, licence and how it was made: README.md here).
PROVINCE_MAP = "provinsi.geojson"


@cache
def province_boundaries() -> tuple[dict, ...]:
    """Every province's boundary as a GeoJSON feature with ``properties.code`` (BPS) and
    ``properties.name``, read once per process; rings wound for Vega's maps (outer clockwise)."""
    text = (_REFERENCE_DIR / PROVINCE_MAP).read_text(encoding="utf-8")
    return tuple(json.loads(text)["features"])
