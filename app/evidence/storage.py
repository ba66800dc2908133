"""Where evidence bytes live: content-addressed by SHA-256, behind a small interface.

`LocalStorage` (a directory, the default) keeps each blob at `<root>/<aa>/<bb>/<sha256>`; uploads
never choose a path, so a file name cannot escape the store. Blobs are written once: a second upload
of the same bytes finds them already there.

Beside the blobs, a few small named objects (the audit trail's signed checkpoints, `app.audit.checkpoints`)
are kept in folders of their own: `write_object`, `read_object`, `list_objects`. Their names are checked
(`named`), so they can neither escape the store nor collide with a blob's path.
"""

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

import anyio

from app.core.config import Settings

CHUNK = 256 * 1024


def checked(sha256: str) -> str:
    """Storage keys are SHA-256 hex digests and nothing else."""
    if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
        raise ValueError("not a SHA-256 hex digest")
    return sha256


# Named objects are `<folder>/<leaf>`: the folder is longer than a blob's two-character fan-out folders and the
# scratch folder `tmp` (so they never meet), and neither part can climb out of the store.
FOLDER = re.compile(r"[a-z0-9][a-z0-9_-]{3,}")
LEAF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def folder_name(folder: str) -> str:
    if not FOLDER.fullmatch(folder):
        raise ValueError(f"not an object folder: {folder!r}")
    return folder


def named(name: str) -> str:
    """Named objects live in a folder of their own (`audit-checkpoints/...`) and nowhere else."""
    folder, _, leaf = name.partition("/")
    if not FOLDER.fullmatch(folder) or not LEAF.fullmatch(leaf):
        raise ValueError(f"not an object name: {name!r}")
    return name


class Storage(Protocol):
    def scratch(self) -> Path: ...

    async def keep(self, source: Path, sha256: str) -> None: ...

    async def exists(self, sha256: str) -> bool: ...

    def read(self, sha256: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]: ...

    async def write_object(self, name: str, data: bytes) -> None: ...

    async def read_object(self, name: str) -> bytes: ...

    async def list_objects(self, folder: str) -> list[str]: ...


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def scratch(self) -> Path:
        """A folder on the same file system as the store, so keeping a file is a rename."""
        folder = self.root / "tmp"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / checked(sha256)

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

    async def write_object(self, name: str, data: bytes) -> None:
        """Written whole or not at all (a rename), then read-only like the blobs."""
        target = self.root / named(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        scratch = self.scratch() / f"object-{os.urandom(8).hex()}"
        await anyio.Path(scratch).write_bytes(data)
        os.replace(scratch, target)
        target.chmod(0o440)

    async def read_object(self, name: str) -> bytes:
        return await anyio.Path(self.root / named(name)).read_bytes()

    async def list_objects(self, folder: str) -> list[str]:
        """Names (`<folder>/<leaf>`) of the objects in `folder`, sorted."""
        path = self.root / folder_name(folder)
        if not path.is_dir():
            return []
        return sorted(f"{folder}/{entry.name}" for entry in path.iterdir() if entry.is_file())


class S3Storage:
    """An S3-compatible bucket (AWS, MinIO, Ceph...), for deployments with several app servers.

    Credentials come from the usual AWS environment variables or instance role. boto3 is blocking,
    so every call runs in a worker thread; uploads arrive in a local scratch folder first (hashing and
    sniffing need the whole file) and are then sent to the bucket.
    """

    def __init__(self, *, bucket: str, prefix: str, endpoint_url: str | None, region: str | None, scratch_root: Path) -> None:
        import boto3  # only deployments that use the S3 backend pay for importing it

        self.bucket, self.prefix, self.scratch_root = bucket, prefix, scratch_root
        self.client = boto3.client("s3", endpoint_url=endpoint_url or None, region_name=region or None)

    def scratch(self) -> Path:
        folder = self.scratch_root / "tmp"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def key(self, sha256: str) -> str:
        return f"{self.prefix}{sha256[:2]}/{checked(sha256)}"

    async def keep(self, source: Path, sha256: str) -> None:
        try:
            if not await self.exists(sha256):
                await anyio.to_thread.run_sync(lambda: self.client.upload_file(str(source), self.bucket, self.key(sha256)))
        finally:
            source.unlink(missing_ok=True)

    async def exists(self, sha256: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            await anyio.to_thread.run_sync(lambda: self.client.head_object(Bucket=self.bucket, Key=self.key(sha256)))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    async def read(self, sha256: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        from botocore.exceptions import ClientError

        extra = {"Range": f"bytes={start}-{'' if end is None else end}"} if start or end is not None else {}
        try:
            response = await anyio.to_thread.run_sync(lambda: self.client.get_object(Bucket=self.bucket, Key=self.key(sha256), **extra))
        except ClientError as exc:
            raise FileNotFoundError(sha256) from exc
        body = response["Body"]
        try:
            while chunk := await anyio.to_thread.run_sync(body.read, CHUNK):
                yield chunk
        finally:
            body.close()

    async def write_object(self, name: str, data: bytes) -> None:
        key = f"{self.prefix}{named(name)}"
        await anyio.to_thread.run_sync(lambda: self.client.put_object(Bucket=self.bucket, Key=key, Body=data))

    async def read_object(self, name: str) -> bytes:
        from botocore.exceptions import ClientError

        key = f"{self.prefix}{named(name)}"
        try:
            response = await anyio.to_thread.run_sync(lambda: self.client.get_object(Bucket=self.bucket, Key=key))
        except ClientError as exc:
            raise FileNotFoundError(name) from exc
        body = response["Body"]
        try:
            data: bytes = await anyio.to_thread.run_sync(body.read)
        finally:
            body.close()
        return data

    async def list_objects(self, folder: str) -> list[str]:
        """Names (`<folder>/<leaf>`) of the objects in `folder`, sorted."""
        start = f"{self.prefix}{folder_name(folder)}/"

        def listing() -> list[str]:
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=start)
            keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
            return [key[len(self.prefix) :] for key in keys if "/" not in key[len(start) :]]

        return sorted(await anyio.to_thread.run_sync(listing))


def storage_from(settings: Settings) -> Storage:
    """The backend named by `WSOA_STORAGE_BACKEND`."""
    if settings.storage_backend == "s3":
        return S3Storage(
            bucket=settings.s3_bucket, prefix=settings.s3_prefix, endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region, scratch_root=Path(settings.storage_dir),
        )  # fmt: skip
    return LocalStorage(Path(settings.storage_dir))
