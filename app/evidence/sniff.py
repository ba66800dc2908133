"""What a file really is, from its bytes, checked against the media types evidence may have.

Declared types are not trusted: an executable renamed `.pdf` is still an executable. The allow-list
covers what partnerships actually send as evidence: PDF, Office documents (OOXML and the older binary
formats), CSV and plain text, and images.
"""

import zipfile
from pathlib import Path

OOXML = {
    "word/": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xl/": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt/": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
LEGACY_OFFICE = {"application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint", "application/x-ole-storage"}
MAGIC: list[tuple[bytes, str]] = [
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),
]
TEXT_TYPES = {"text/plain", "text/csv"}
ALLOWED = {*(t for _, t in MAGIC), *OOXML.values(), *LEGACY_OFFICE, *TEXT_TYPES, "image/webp"}


def sniff(path: Path, head: bytes) -> str | None:
    """The file's real media type, or None when it is nothing we accept (executables, archives, ...)."""
    for magic, media_type in MAGIC:
        if head.startswith(magic):
            return media_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"PK\x03\x04"):
        return _ooxml(path)
    if _is_text(head):
        return "text/plain"
    return None


def _ooxml(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return None
    if "[Content_Types].xml" not in names:
        return None  # a plain zip archive, not an Office document
    for prefix, media_type in OOXML.items():
        if any(n.startswith(prefix) for n in names):
            return media_type
    return None


def _is_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut off at the end of the sample is still text.
        return exc.start >= len(head) - 3 and _is_text(head[: exc.start])
    return True


def compatible(declared: str | None, real: str) -> bool:
    """Does what the client said match what the bytes are? (No declaration, or octet-stream, accepts any.)"""
    if declared is None or declared in ("", "application/octet-stream"):
        return True
    if real == "application/x-ole-storage":
        return declared in LEGACY_OFFICE
    if real == "text/plain":
        return declared in TEXT_TYPES
    return declared == real


def canonical(declared: str | None, real: str) -> str:
    """The media type to record: the declared one where it is the more precise of two compatible names."""
    if declared and real in ("application/x-ole-storage", "text/plain") and compatible(declared, real):
        return declared
    return real
