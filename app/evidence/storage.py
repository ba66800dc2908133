"""Where evidence bytes live: content-addressed by SHA-256, behind a small interface.

`LocalStorage` (a directory, the default) keeps each blob at `<root>/<aa>/<bb>/<sha256>`; uploads
never choose a path, so a file name cannot escape the store. Blobs are written once: a second upload
of the same bytes finds them already there.
"""

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

import anyio

CHUNK = 256 * 1024


class Storage(Protocol):
    def scratch(self) -> Path: ...

    async def keep(self, source: Path, sha256: str) -> None: ...

    async def exists(self, sha256: str) -> bool: ...

    def read(self, sha256: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]: ...


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def scratch(self) -> Path:
        """A folder on the same file system as the store, so keeping a file is a rename."""
        folder = self.root / "tmp"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    async def keep(self, source: Path, sha256: str) -> None:
        target = self.path(sha256)
        if target.exists():
            source.unlink(missing_ok=True)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
        target.chmod(0o440)

    async def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    async def read(self, sha256: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """Bytes `start`..`end` (inclusive), read in chunks off the event loop."""
        async with await anyio.open_file(self.path(sha256), "rb") as handle:
            await handle.seek(start)
            remaining = None if end is None else end - start + 1
            while remaining is None or remaining > 0:
                chunk = await handle.read(CHUNK if remaining is None else min(CHUNK, remaining))
                if not chunk:
                    break
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk
