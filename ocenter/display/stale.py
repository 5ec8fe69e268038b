"""What a tile shows when its dataset cannot be read: the last good picture this process drew of
it for the same cut of the data, with a visible "stale since" note, rather than a blank tile or an
error on the wall.

The pictures are kept per viewer cut (``filtering.ViewerCut.key``), like every other thing the
display keeps, so a viewer is never shown a picture drawn for another authority.
May import: display (render's panel, filtering's cut), i18n.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime

#: Pictures kept (one per panel, language and cut): a few hundred small Vega-Lite specs.
MAX_PICTURES = 512


class LastGood:
    """The newest picture of each tile, and since when each dataset has failed to be read."""

    def __init__(self, max_pictures: int = MAX_PICTURES) -> None:
        self._pictures: OrderedDict[tuple, object] = OrderedDict()
        self._failing: dict[str, datetime] = {}
        self._max = max_pictures
        self._lock = threading.Lock()

    def keep(self, key: tuple, picture: object) -> None:
        """Remember ``picture`` as the tile's newest good one."""
        with self._lock:
            self._pictures[key] = picture
            self._pictures.move_to_end(key)
            while len(self._pictures) > self._max:
                self._pictures.popitem(last=False)

    def picture(self, key: tuple) -> object | None:
        """The tile's newest good picture, if this process drew one."""
        with self._lock:
            return self._pictures.get(key)

    def failing(self, dataset_id: str, now: datetime) -> datetime:
        """Note that ``dataset_id`` could not be read at ``now``; since when it has failed."""
        with self._lock:
            return self._failing.setdefault(dataset_id, now)

    def readable(self, dataset_id: str) -> None:
        """``dataset_id`` was read again: it is no longer failing."""
        with self._lock:
            self._failing.pop(dataset_id, None)


#: The one store of the process (Streamlit serves every session from it).
LAST_GOOD = LastGood()


def tile_key(dashboard_id: str, panel_json: str, lang: str, cut_key: str) -> tuple:
    """A tile's key: its dashboard, the panel as specified, the language and the viewer's cut."""
    return (dashboard_id, panel_json, lang, cut_key)
