"""Receiving an uploaded file, sent as `multipart/form-data` (field `file`) or as the raw body: streamed to a scratch
file while its SHA-256 is computed, never whole in memory. Evidence files and case-event imports arrive this way; the
body-limit middleware has already refused anything past the route's size."""

import hashlib
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

import anyio
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request

from app.core.errors import FieldError, Unprocessable

CHUNK = 256 * 1024
HEAD = 8192  # the first bytes kept for sniffing the file's type


@dataclass(frozen=True)
class Received:
    path: Path
    sha256: str
    size: int
    head: bytes
    declared: str | None  # the media type the client gave, without parameters
    name: str | None  # the file name the client gave


async def receive(chunks: AsyncIterator[bytes], folder: Path, declared: str | None = None, name: str | None = None) -> Received:
    """Stream `chunks` to a scratch file in `folder` while hashing them."""
    digest = hashlib.sha256()
    head = b""
    size = 0
    handle, scratch = tempfile.mkstemp(dir=folder)
    path = Path(scratch)
    try:
        async with await anyio.open_file(handle, "wb", closefd=True) as out:
            async for chunk in chunks:
                if not chunk:
                    continue
                digest.update(chunk)
                size += len(chunk)
                if len(head) < HEAD:
                    head += chunk[: HEAD - len(head)]
                await out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    media = declared.split(";")[0].strip() or None if declared else None
    return Received(path, digest.hexdigest(), size, head, media, name)


async def receive_request(request: Request, folder: Path) -> Received:
    """The request's file: the multipart field `file` (Starlette spools each part to a temporary file past 1 MB), or
    the raw body with its `Content-Type` and the name in its `Content-Disposition`."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        return await receive(request.stream(), folder, content_type, _disposition_name(request.headers.get("content-disposition")))
    form: FormData = await request.form(max_files=1, max_fields=5)
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise Unprocessable("Send the file in a multipart field named `file`.", errors=[FieldError(pointer="/file", message="missing")])
        return await receive(_chunks(upload), folder, upload.content_type, upload.filename)
    finally:
        await form.close()


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(CHUNK):
        yield chunk


def _disposition_name(header: str | None) -> str | None:
    if not header:
        return None
    message = Message()
    message["content-disposition"] = header
    name = message.get_filename()
    return name if isinstance(name, str) else None
