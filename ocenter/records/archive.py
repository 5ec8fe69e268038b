"""A ZIP archive that is the same bytes for the same content: fixed order, times and modes, and a
manifest naming every file with its SHA-256."""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from typing import BinaryIO

#: Every member's time: the earliest a ZIP can hold, so that the time of the export never enters
#: the bytes (the manifest says what the record is of, not when it was taken).
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
MANIFEST = "manifest.json"
README = "README.txt"


def canonical_json(value: object) -> bytes:
    """``value`` as indented JSON with sorted keys, UTF-8, ending with a line break."""
    return (json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode("utf-8")


@dataclass
class RecordArchive:
    """The files of one archive, collected before any is written (so that a refusal met while
    collecting leaves nothing behind), then written in path order."""

    files: dict[str, bytes] = field(default_factory=dict)

    def add(self, path: str, content: bytes | str) -> None:
        """Add one file; paths are ours (built from ids and fixed words), never user text."""
        if path in self.files or path in (MANIFEST, README):
            raise ValueError(f"{path} is already in the archive")
        self.files[path] = content.encode("utf-8") if isinstance(content, str) else content

    def add_json(self, path: str, value: object) -> None:
        """Add ``value`` as canonical JSON."""
        self.add(path, canonical_json(value))

    def digests(self) -> list[dict[str, object]]:
        """Every file with its size and SHA-256, in path order (what the manifest lists)."""
        return [{"path": path, "bytes": len(content),
                 "sha256": hashlib.sha256(content).hexdigest()}
                for path, content in sorted(self.files.items())]

    def write(self, target: BinaryIO, manifest: dict[str, object], readme: str) -> None:
        """Write the archive to ``target``: the README, the manifest, then every file by path."""
        members = [(README, readme.encode("utf-8")), (MANIFEST, canonical_json(manifest)),
                   *sorted(self.files.items())]
        with zipfile.ZipFile(target, "w") as archive:
            for path, content in members:
                info = zipfile.ZipInfo(path, date_time=FIXED_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3  # Unix, whatever the machine: its modes below
                info.external_attr = 0o644 << 16
                archive.writestr(info, content, compresslevel=6)
