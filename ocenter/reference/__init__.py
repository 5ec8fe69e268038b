"""Reference lists the project ships (UPT offices, provinces, product categories) for keys and maps."""

from __future__ import annotations

import csv
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
