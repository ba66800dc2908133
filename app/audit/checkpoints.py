"""Signed checkpoints of the audit trail, kept outside the database.

The hash chain shows an event edited, removed or reordered *among the others*, but someone who can write
to the database can still rewrite a whole tail (edit one event, recompute every later hash), delete the
newest events or empty the table, and the chain alone still verifies. A checkpoint anchors the chain
where the database cannot reach: the seq and hash of the chain's last event at one moment, signed with an
Ed25519 key the database never holds, written to the storage backend (`app.evidence.storage`). From then
on `wsoa audit verify` requires the event at every checkpoint's seq to exist and carry the signed hash.

A checkpoint is one JSON object stored as `audit-checkpoints/<seq, 20 digits>-<taken_at>.json`, so names
sort in seq order:

    {"format": 1, "seq": 1234, "hash": "<64 hex>", "taken_at": "2026-12-01T04:30:00.000000Z",
     "public_key": "<base64 of 32 bytes>", "signature": "<base64 of 64 bytes>"}

The signature covers `wsoa-audit-checkpoint/1`, seq, hash and taken_at, one per line. Checking one needs
only the public key; a checkpoint counts only if it carries the *configured* public key (a forger can sign
with a key of their own, which proves nothing), its signature holds, and its name matches its contents.

The key: `WSOA_AUDIT_SIGNING_KEY` (base64 of the 32-byte private seed) or `WSOA_AUDIT_SIGNING_KEY_FILE`
(PEM, raw seed or its base64); a machine that only verifies may set `WSOA_AUDIT_PUBLIC_KEY` instead.
"""

import base64
import binascii
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select
from sqlmodel import col

from app.audit.service import Break, walk
from app.core.audit import timestamp
from app.core.config import Settings
from app.core.db import Database
from app.evidence.storage import Storage
from app.models import AuditEvent, utcnow

FOLDER = "audit-checkpoints"
FORMAT = 1
CONTEXT = b"wsoa-audit-checkpoint/1"
HEX64 = re.compile(r"[0-9a-f]{64}")


class CheckpointKeyError(ValueError):
    """The configured key cannot be read, or the signing and public keys do not belong together."""


class ChainBroken(Exception):
    """A checkpoint would vouch for a chain that does not verify; none is written."""

    def __init__(self, broken: Break) -> None:
        super().__init__(f"audit chain broken at seq {broken.seq}: {broken.reason}")
        self.broken = broken


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    taken_at: datetime
    name: str


@dataclass(frozen=True)
class Refused:
    """A stored checkpoint that does not count, and why."""

    name: str
    reason: str


@dataclass(frozen=True)
class Keys:
    signing: Ed25519PrivateKey | None
    public: Ed25519PublicKey | None  # the key every checkpoint must be signed with; None: checkpoints cannot be checked


# Keys ---------------------------------------------------------------------------------------------


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _b64_32(text: bytes | str, what: str) -> bytes:
    try:
        value = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CheckpointKeyError(f"{what} is not base64") from exc
    if len(value) != 32:
        raise CheckpointKeyError(f"{what} is not 32 bytes long")
    return value


def private_key_from(data: bytes, what: str) -> Ed25519PrivateKey:
    """A PEM private key, a raw 32-byte seed, or the seed in base64."""
    if data.lstrip().startswith(b"-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise CheckpointKeyError(f"{what} is not a readable unencrypted PEM private key") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise CheckpointKeyError(f"{what} is not an Ed25519 key")
        return key
    seed = data if len(data) == 32 else _b64_32(data.strip(), what)
    return Ed25519PrivateKey.from_private_bytes(seed)


@lru_cache(maxsize=8)
def _keys(secret: str, key_file: str, public: str) -> Keys:
    if secret and key_file:
        raise CheckpointKeyError("set WSOA_AUDIT_SIGNING_KEY or WSOA_AUDIT_SIGNING_KEY_FILE, not both")
    signing = None
    if secret:
        signing = private_key_from(secret.encode(), "WSOA_AUDIT_SIGNING_KEY")
    elif key_file:
        try:
            data = Path(key_file).read_bytes()
        except OSError as exc:
            raise CheckpointKeyError(f"WSOA_AUDIT_SIGNING_KEY_FILE {key_file}: {exc.strerror}") from exc
        signing = private_key_from(data, f"WSOA_AUDIT_SIGNING_KEY_FILE {key_file}")
    trusted = Ed25519PublicKey.from_public_bytes(_b64_32(public, "WSOA_AUDIT_PUBLIC_KEY")) if public else None
    if signing is not None and trusted is not None and raw_public(signing.public_key()) != raw_public(trusted):
        raise CheckpointKeyError("WSOA_AUDIT_PUBLIC_KEY is not the public key of the signing key")
    return Keys(signing, trusted or (signing.public_key() if signing else None))


def keys_from(settings: Settings) -> Keys:
    """The configured keys (read once per process and configuration)."""
    return _keys(settings.audit_signing_key.get_secret_value().strip(), settings.audit_signing_key_file, settings.audit_public_key.strip())


def ensure_key_file(path: Path) -> Path:
    """A signing key in `path` (PEM, owner-readable only), created once and reused after (the demo's key)."""
    if not path.exists():
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
    return path


# The stored form -----------------------------------------------------------------------------------


def name_of(seq: int, taken_at: datetime) -> str:
    return f"{FOLDER}/{seq:020d}-{taken_at.astimezone(UTC):%Y%m%dT%H%M%S%fZ}.json"


def signed_bytes(seq: int, hash_: str, taken_at: str) -> bytes:
    return b"\n".join([CONTEXT, str(seq).encode(), hash_.encode(), taken_at.encode()])


def encode(key: Ed25519PrivateKey, seq: int, hash_: str, taken_at: datetime) -> bytes:
    stamp = timestamp(taken_at)
    document = {
        "format": FORMAT,
        "seq": seq,
        "hash": hash_,
        "taken_at": stamp,
        "public_key": base64.b64encode(raw_public(key.public_key())).decode(),
        "signature": base64.b64encode(key.sign(signed_bytes(seq, hash_, stamp))).decode(),
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"


@dataclass(frozen=True)
class _Stored:
    seq: int
    hash: str
    taken_at: str
    public_key: bytes
    signature: bytes


def _parse(data: bytes) -> _Stored | None:
    try:
        document = orjson.loads(data)
        stored = _Stored(
            document["seq"], document["hash"], document["taken_at"],
            base64.b64decode(document["public_key"], validate=True), base64.b64decode(document["signature"], validate=True),
        )  # fmt: skip
        datetime.strptime(stored.taken_at, "%Y-%m-%dT%H:%M:%S.%fZ")
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, binascii.Error):
        return None
    if document.get("format") != FORMAT or type(stored.seq) is not int or stored.seq < 1 or not HEX64.fullmatch(str(stored.hash)):
        return None
    return stored


def decode(name: str, data: bytes, trusted: Ed25519PublicKey) -> Checkpoint | Refused:
    """The checkpoint a file holds, if it counts (see the module's docstring)."""
    stored = _parse(data)
    if stored is None:
        return Refused(name, "it is not a checkpoint (unreadable or incomplete)")
    if stored.public_key != raw_public(trusted):
        return Refused(name, "it is signed by another key than the configured one")
    try:
        trusted.verify(stored.signature, signed_bytes(stored.seq, stored.hash, stored.taken_at))
    except InvalidSignature:
        return Refused(name, "its signature does not verify (the file was edited or forged)")
    taken_at = datetime.strptime(stored.taken_at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    if name != name_of(stored.seq, taken_at):
        return Refused(name, "its name does not match its contents (the file was renamed)")
    return Checkpoint(stored.seq, stored.hash, taken_at, name)


# Reading and writing ---------------------------------------------------------------------------------


async def load(storage: Storage, trusted: Ed25519PublicKey) -> tuple[list[Checkpoint], list[Refused]]:
    """Every stored checkpoint, in seq order, and those that do not count."""
    found: list[Checkpoint] = []
    refused: list[Refused] = []
    for name in await storage.list_objects(FOLDER):
        item = decode(name, await storage.read_object(name), trusted)
        if isinstance(item, Checkpoint):
            found.append(item)
        else:
            refused.append(item)
    return found, refused


async def latest(storage: Storage, trusted: Ed25519PublicKey) -> Checkpoint | None:
    """The checkpoint with the highest seq that counts (names sort in seq order, so the newest are read first)."""
    for name in reversed(await storage.list_objects(FOLDER)):
        item = decode(name, await storage.read_object(name), trusted)
        if isinstance(item, Checkpoint):
            return item
    return None


async def latest_trusted(storage: Storage, settings: Settings) -> Checkpoint | None:
    """The newest checkpoint signed with the configured key; None when no key is configured."""
    keys = keys_from(settings)
    return None if keys.public is None else await latest(storage, keys.public)


async def head(db: Database) -> tuple[int, str] | None:
    """The chain's last event (seq, hash), if any."""
    stmt = select(col(AuditEvent.seq), col(AuditEvent.hash)).order_by(col(AuditEvent.seq).desc()).limit(1)
    async with db.reader.connect() as conn:
        row = (await conn.execute(stmt)).first()
    return None if row is None else (int(row[0]), str(row[1]))


async def take(db: Database, storage: Storage, key: Ed25519PrivateKey, *, only_if_grown: bool = False) -> Checkpoint | None:
    """Sign and store a checkpoint of the chain's last event; None when the chain is empty (or, with
    `only_if_grown`, has not grown since the newest checkpoint).

    The chain is walked from the newest checkpoint first (the whole chain when there is none): a signature
    over a chain that does not verify would vouch for the tampering, so `ChainBroken` is raised instead.
    """
    base = await latest(storage, key.public_key())
    if only_if_grown and base is not None and await head(db) == (base.seq, base.hash):
        return None
    result = await walk(db, since=base)
    if result.broken is not None:
        raise ChainBroken(result.broken)
    if result.last is None:
        return None
    seq, hash_ = result.last
    taken_at = utcnow()
    name = name_of(seq, taken_at)
    await storage.write_object(name, encode(key, seq, hash_, taken_at))
    return Checkpoint(seq, hash_, taken_at, name)


def describe(found: Sequence[Checkpoint]) -> str:
    """One phrase for `wsoa audit verify`'s report."""
    if not found:
        return "no checkpoints yet"
    return f"matching {len(found)} signed checkpoint{'s' if len(found) > 1 else ''} (the newest at seq {found[-1].seq})"
