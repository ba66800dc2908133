"""The `wsoa` command: serve, migrate, seed-demo, keys, exports and imports."""

import asyncio
import gc
import json
import os
import re
import uuid
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import uvicorn
from pydantic import ValidationError
from pydantic_settings import SettingsError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from app.core.config import Settings, get_settings
from app.core.db import Database
from app.core.errors import DomainError, NotFound
from app.core.migrations import upgrade
from app.core.uow import unit_of_work
from app.models.enums import Audience, ExportFormat, Role

if TYPE_CHECKING:
    from app.audit.checkpoints import Checkpoint, Keys, Refused
    from app.audit.service import Break
    from app.imports.schemas import ImportReport

# Plain help (no `<bool>` after flags) and no rich tracebacks: every error is one line (`main`).
PLAIN: dict[str, Any] = {"rich_markup_mode": None, "pretty_exceptions_enable": False}
cli = typer.Typer(help="wsoa-tracker: the SEND improvement plan tracker.", no_args_is_help=True, add_completion=False, **PLAIN)
keys_cli = typer.Typer(help="Create and revoke API keys.", no_args_is_help=True, **PLAIN)
cli.add_typer(keys_cli, name="keys")


def _database() -> Database:
    """The configured database, which must exist: a command run from the wrong folder must not create an empty one."""
    url = get_settings().database_url
    parsed = make_url(url)
    path = parsed.database
    if parsed.get_backend_name() == "sqlite" and path and path != ":memory:" and not Path(path).exists():
        typer.echo(
            f"wsoa: no database at {path}: run this in the folder that holds it, set WSOA_DATABASE_URL, or create it with `wsoa migrate`.",
            err=True,
        )
        raise typer.Exit(2)
    return Database(url)


def _setting(loc: tuple[Any, ...]) -> str:
    """The variable behind a settings error's location: `WSOA_RATE_LIMITS` (key `admin`) for ("rate_limits", "admin")."""
    name = f"WSOA_{str(loc[0]).upper()}"
    return name + (f" (key {'.'.join(map(str, loc[1:]))})" if len(loc) > 1 else "")


def _explain(exc: Exception) -> str:
    """One line for an error a person reads, with what to do where we know it."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, ValidationError) and exc.title == "Settings":  # a WSOA_* variable holds a value it cannot
        wrong = "; ".join(_setting(e["loc"]) + f": {e['msg']}" for e in exc.errors()[:5])
        return f"a setting is wrong: {wrong}. Fix the environment variable (README: Configuration)."
    if isinstance(exc, SettingsError):  # a value the settings could not even parse (JSON of WSOA_RATE_LIMITS)
        field = re.search(r'field "(\w+)"', text)
        name = f"WSOA_{field.group(1).upper()}" if field else "a WSOA_* variable"
        return f"a setting is wrong: {name} cannot be parsed (it takes JSON). Fix the environment variable (README: Configuration)."
    if isinstance(exc, SQLAlchemyError):
        if "no such table" in text or "does not exist" in text:
            return "the database has no schema yet: run `wsoa migrate` (or point WSOA_DATABASE_URL at the right database)."
        return f"database error ({type(exc).__name__}): {text[:200]}. Check WSOA_DATABASE_URL and that the database is up."
    return f"{type(exc).__name__}: {text[:300]}"


@cli.command()
def migrate() -> None:
    """Upgrade the database to the latest schema."""
    upgrade(get_settings().database_url)
    typer.echo("database at the latest schema", err=True)


async def _seed(with_keys: bool) -> list[tuple[str, str]]:
    """Load the demo; with keys, the ones kept from the last start when they all still work (`DEMO_KEYS_FILE`), else a
    new set, kept for the next start."""
    from app.demo.seed import demo_keys, kept_keys, seed_demo

    db = _database()
    try:
        async with unit_of_work(db) as session:
            partnership = await seed_demo(session)
        if not with_keys:
            return []
        async with unit_of_work(db) as session:
            tokens = await kept_keys(session, _read_kept_keys())
            if tokens is None:
                tokens = await demo_keys(session, partnership.id)
        _keep_keys(tokens)
        return tokens
    finally:
        await db.dispose()


def _read_kept_keys() -> dict[str, str]:
    try:
        kept = json.loads(DEMO_KEYS_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in kept.items()} if isinstance(kept, dict) else {}


def _keep_keys(tokens: list[tuple[str, str]]) -> None:
    """The demo keys in a file only the user can read, so a restart prints the same ones."""
    descriptor = os.open(DEMO_KEYS_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(dict(tokens), file, indent=2)
    DEMO_KEYS_FILE.chmod(0o600)


@cli.command("seed-demo")
def seed_demo_command() -> None:
    """Load the demo partnership, Wessex Vale (idempotent)."""
    asyncio.run(_seed(with_keys=False))
    typer.echo("demo partnership loaded", err=True)


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    demo: Annotated[bool, typer.Option("--demo", help="Load the demo partnership and print one key per role.")] = False,
) -> None:
    """Migrate if needed, then serve the API."""
    from app.reporting.mail import mail_folder

    settings = get_settings()
    _refuse_unsafe(settings)
    upgrade(settings.database_url)
    if demo:
        _demo_signing_key()
        tokens = asyncio.run(_seed(with_keys=True))
        anchor = _demo_checkpoint()
        typer.echo(
            f"\nDemo partnership: Wessex Vale (LA code 990). Demo API keys (kept in {DEMO_KEYS_FILE.resolve()}, the same on every start):"
        )
        for role, token in tokens:
            typer.echo(f"  {role:<17} {token}")
        if anchor is not None:
            typer.echo(f"\nAudit trail signed: checkpoint at seq {anchor.seq} (`wsoa audit verify` checks it)")
        typer.echo(f"\nTry: curl -H 'Authorization: Bearer {tokens[0][1]}' http://{host}:{port}/api/v1/plans")
        folder = mail_folder(settings)
        where = f"sent through {settings.smtp_host}" if settings.smtp_host else f"written as .eml files into {Path(folder).resolve()}"
        typer.echo(f"Monthly returns: `wsoa worker` opens periods and sends reminders, {where}\n")
    gc.collect()
    gc.freeze()  # start-up objects never need collecting; keeps GC pauses off the request path
    gc.set_threshold(50_000, 20, 100)  # fewer young-generation collections under load
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        server_header=False,  # no `server: uvicorn`: nothing tells a caller what the service runs on
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )


def _refuse_unsafe(settings: Settings) -> None:
    problems = settings.production_problems() if settings.env == "production" else []
    for problem in problems:
        typer.echo(f"wsoa: {problem}", err=True)
    if problems:
        raise typer.Exit(2)


@cli.command("check-config")
def check_config() -> None:
    """Print what production mode would refuse in the current settings, without starting (exit 1 if anything)."""
    settings = get_settings()
    problems = settings.production_problems()
    for problem in problems:
        typer.echo(f"- {problem}")
    mode = f"WSOA_ENV={settings.env}"
    if problems:
        verdict = "would refuse to start" if settings.env == "production" else "would be refused with WSOA_ENV=production"
        typer.echo(f"{len(problems)} problem(s): {mode} {verdict}.", err=True)
        raise typer.Exit(1)
    typer.echo(f"configuration fit for production ({mode}).", err=True)


DEMO_KEY_FILE = Path(".wsoa-audit-key")
DEMO_KEYS_FILE = Path(".wsoa-demo-keys.json")  # the demo's API keys, kept between starts (read and write by the user only)


def _demo_signing_key() -> None:
    """`serve --demo` signs audit checkpoints with a key of its own when none is configured: a file in the
    working directory, created once and reused on every restart (so old checkpoints still verify), handed to
    the served process through the environment."""
    settings = get_settings()
    if settings.audit_signing_key.get_secret_value() or settings.audit_signing_key_file or settings.audit_public_key:
        return
    from app.audit.checkpoints import ensure_key_file

    path = ensure_key_file(DEMO_KEY_FILE).resolve()
    os.environ["WSOA_AUDIT_SIGNING_KEY_FILE"] = str(path)
    get_settings.cache_clear()
    typer.echo(f"audit checkpoints are signed with the demo key in {path}", err=True)


def _demo_checkpoint() -> "Checkpoint | None":
    """Sign the demo data's trail, so `wsoa audit verify` and exports show a checkpoint from the start; a problem
    with the key or the chain is reported, and the demo is served anyway."""
    from app.audit.checkpoints import ChainBroken, CheckpointKeyError

    try:
        return asyncio.run(_checkpoint(get_settings(), only_if_grown=True))
    except (ChainBroken, CheckpointKeyError) as exc:
        typer.echo(f"no audit checkpoint signed: {exc}", err=True)
        return None


@cli.command()
def openapi(output: Annotated[Path | None, typer.Option(help="Write here instead of standard output.")] = None) -> None:
    """Print (or write) the OpenAPI document the service serves."""
    from app.core.config import Settings
    from app.main import create_app

    document = json.dumps(create_app(Settings(database_url="sqlite://")).openapi(), indent=2, ensure_ascii=False) + "\n"
    if output is None:
        typer.echo(document, nl=False)
    else:
        output.write_text(document, encoding="utf-8")


@keys_cli.command("create")
def keys_create(
    role: Annotated[Role, typer.Option(help="The key's role.")],
    name: Annotated[str, typer.Option(help="Who or what the key is for.")],
    partnership_id: Annotated[uuid.UUID | None, typer.Option(help="Limit the key to one partnership.")] = None,
    person_id: Annotated[uuid.UUID | None, typer.Option(help="The person the key acts for.")] = None,
    expires_on: Annotated[str | None, typer.Option(help="Last valid day, YYYY-MM-DD.")] = None,
) -> None:
    """Create an API key and print its token (alone, on standard output). Only its hash is stored."""
    from app.apikeys.service import create_key

    try:
        expiry = date.fromisoformat(expires_on) if expires_on else None
    except ValueError as exc:
        raise typer.BadParameter(f"{expires_on!r} is not a date: use YYYY-MM-DD, e.g. 2027-03-31.", param_hint="--expires-on") from exc

    async def run() -> str:
        db = _database()
        try:
            async with unit_of_work(db) as session:
                _, token = await create_key(
                    session, role=role, name=name, partnership_id=partnership_id, person_id=person_id, expires_on=expiry
                )
                return token
        finally:
            await db.dispose()

    try:
        typer.echo(asyncio.run(run()))
    except DomainError as exc:
        details = "; ".join(f"{e.pointer.lstrip('/')}: {e.message}" for e in exc.errors or [])
        typer.echo(f"{exc.detail} {details}".strip(), err=True)
        raise typer.Exit(2) from exc


@keys_cli.command("revoke")
def keys_revoke(prefix: Annotated[str, typer.Argument(help="The key's prefix (the part after `wsoa_`).")]) -> None:
    """Revoke an API key by its prefix."""
    from app.apikeys.service import revoke_key

    async def run() -> None:
        db = _database()
        try:
            async with unit_of_work(db) as session:
                await revoke_key(session, prefix=prefix)
        finally:
            await db.dispose()

    try:
        asyncio.run(run())
    except NotFound as exc:
        typer.echo(exc.detail, err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"revoked {prefix}", err=True)


@cli.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="Send what is due, then stop (for cron and tests).")] = False,
    interval: Annotated[float, typer.Option(help="Seconds to wait when nothing is due.")] = 1.0,
) -> None:
    """Deliver webhooks, produce pending exports and send the reporting cycle's e-mails until stopped (several workers
    may share the work on PostgreSQL); once a minute open due reporting periods, mark missed returns and queue reminders,
    and forget expired Idempotency-Key records and old rate-limit counts."""
    import signal
    import time

    import structlog

    from app.core.idempotency import purge_expired
    from app.core.observability import configure_logging
    from app.core.ratelimit import purge_old_windows
    from app.evidence.storage import storage_from
    from app.exports.service import produce_pending
    from app.integrations.webhooks import deliver_due, fan_out
    from app.reporting import cycle as reporting

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    done = 0

    async def run() -> None:
        nonlocal done
        db = _database()
        purged_at = 0.0
        planned_at = float("-inf")
        checkpointed_at = float("-inf")
        try:
            while not stopping:
                if time.monotonic() - checkpointed_at > settings.audit_checkpoint_minutes * 60:
                    await _checkpoint_quietly(db, settings)
                    checkpointed_at = time.monotonic()
                if time.monotonic() - purged_at > 60:
                    await purge_expired(db)
                    await purge_old_windows(db)
                    purged_at = time.monotonic()
                if time.monotonic() - planned_at > 60:  # periods, missed returns and reminders change by the day
                    try:
                        done += await reporting.plan(db)
                    except Exception:  # logged; webhooks, exports and the e-mails already queued go on
                        structlog.get_logger("wsoa.reporting").exception("reporting_cycle_failed")
                    planned_at = time.monotonic()
                sent = (
                    await fan_out(db)
                    + await deliver_due(db, settings)
                    + await produce_pending(db, storage_from(settings))
                    + await reporting.deliver_due(db, settings)
                )
                done += sent
                if once and sent == 0:
                    return
                if sent == 0:
                    await asyncio.sleep(interval)
        finally:
            await db.dispose()

    asyncio.run(run())
    if once:
        typer.echo(
            f"worker: {done} item(s) handled (change-feed fan-out, webhook deliveries, pending exports, reporting periods opened, "
            "returns marked missed, reminders queued and sent); nothing left due",
            err=True,
        )


async def _checkpoint_quietly(db: Database, settings: Settings) -> None:
    """The worker's periodic checkpoint: nothing without a signing key or when the chain has not grown since the
    newest checkpoint; a failure is logged and the worker goes on delivering."""
    import structlog

    from app.audit.checkpoints import ChainBroken, keys_from, take
    from app.evidence.storage import storage_from

    log = structlog.get_logger("wsoa.audit")
    try:
        key = keys_from(settings).signing
        anchor = None if key is None else await take(db, storage_from(settings), key, only_if_grown=True)
    except ChainBroken as exc:
        log.error("audit_checkpoint_refused", seq=exc.broken.seq, reason=exc.broken.reason)
        return
    except Exception:  # a storage or key problem must not stop webhook deliveries and exports
        log.exception("audit_checkpoint_failed")
        return
    if anchor is not None:
        log.info("audit_checkpoint", seq=anchor.seq, hash=anchor.hash, name=anchor.name)


audit_cli = typer.Typer(help="Check the audit trail and sign checkpoints of it.", no_args_is_help=True, **PLAIN)
cli.add_typer(audit_cli, name="audit")


def _audit_keys(settings: Settings) -> "Keys":
    """The checkpoint keys, or exit 2 naming what is wrong with the configuration."""
    from app.audit.checkpoints import CheckpointKeyError, keys_from

    try:
        return keys_from(settings)
    except CheckpointKeyError as exc:
        typer.echo(f"audit signing key: {exc}", err=True)
        raise typer.Exit(2) from exc


async def _checkpoint(settings: Settings, *, only_if_grown: bool) -> "Checkpoint | None":
    """Sign and store a checkpoint now (None without a signing key or events; see `app.audit.checkpoints.take`)."""
    from app.audit.checkpoints import keys_from, take
    from app.evidence.storage import storage_from

    key = keys_from(settings).signing
    if key is None:
        return None
    db = _database()
    try:
        return await take(db, storage_from(settings), key, only_if_grown=only_if_grown)
    finally:
        await db.dispose()


@audit_cli.command("verify")
def audit_verify() -> None:
    """Walk the audit hash chain and check it against every signed checkpoint; exit 1 naming the first broken seq
    if an event was edited, removed or reordered, the chain was rewritten or cut short, or a checkpoint is forged."""
    from app.audit.checkpoints import describe, load
    from app.audit.service import verify
    from app.evidence.storage import storage_from

    settings = get_settings()
    trusted = _audit_keys(settings).public

    async def run() -> tuple[int, "Break | None", list["Checkpoint"], list["Refused"]]:
        found, refused = await load(storage_from(settings), trusted) if trusted is not None else ([], [])
        db = _database()
        try:
            checked, broken = await verify(db, found)
        finally:
            await db.dispose()
        return checked, broken, found, refused

    checked, broken, found, refused = asyncio.run(run())
    for item in refused:
        typer.echo(f"checkpoint {item.name} refused: {item.reason}", err=True)
    if broken is not None:
        typer.echo(f"audit chain broken at seq {broken.seq}: {broken.reason}", err=True)
    if broken is not None or refused:
        raise typer.Exit(1)
    if trusted is None:
        typer.echo(f"audit chain intact: {checked} events (checkpoints not checked: no audit signing or public key configured)")
    else:
        typer.echo(f"audit chain intact: {checked} events, {describe(found)}")


@audit_cli.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign a checkpoint of the audit trail's last event (seq and hash) and keep it in the storage backend, outside
    the database; exit 1 without writing one if the chain does not verify, 2 if no signing key is configured."""
    from app.audit.checkpoints import ChainBroken

    settings = get_settings()
    if _audit_keys(settings).signing is None:
        typer.echo("no audit signing key configured: set WSOA_AUDIT_SIGNING_KEY or WSOA_AUDIT_SIGNING_KEY_FILE", err=True)
        raise typer.Exit(2)
    try:
        anchor = asyncio.run(_checkpoint(settings, only_if_grown=False))
    except ChainBroken as exc:
        typer.echo(f"{exc}; no checkpoint written", err=True)
        raise typer.Exit(1) from exc
    if anchor is None:
        typer.echo("the audit trail is empty: nothing to checkpoint", err=True)
        return
    typer.echo(f"checkpoint at seq {anchor.seq} (hash {anchor.hash})")


@audit_cli.command("public-key")
def audit_public_key() -> None:
    """Print the checkpoints' public key (base64), for WSOA_AUDIT_PUBLIC_KEY where they are verified but never signed."""
    import base64

    from app.audit.checkpoints import raw_public

    public = _audit_keys(get_settings()).public
    if public is None:
        typer.echo("no audit signing or public key configured", err=True)
        raise typer.Exit(2)
    typer.echo(base64.b64encode(raw_public(public)).decode())


@cli.command("export")
def export_command(
    plan_id: Annotated[uuid.UUID, typer.Option(help="The plan to export.")],
    output: Annotated[Path, typer.Option(help="Write the bytes here.")],
    export_format: Annotated[ExportFormat, typer.Option("--format", help="json, csv, xlsx, pdf or html.")] = ExportFormat.pdf,
    audience: Annotated[Audience, typer.Option(help="inspectors, board or public.")] = Audience.inspectors,
    as_of: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default: today).")] = None,
) -> None:
    """Produce an export of a plan now (whatever its size), record it like one made through the API, and write its bytes."""
    from app.core.auth import Actor
    from app.core.routing import read_one
    from app.evidence.storage import storage_from
    from app.exports.router import exports
    from app.exports.service import make_export
    from app.plans.resources import plans

    settings = get_settings().model_copy(update={"export_inline_max_actions": 1_000_000, "export_inline_max_pdf_actions": 1_000_000})
    actor = Actor("cli", "cli", "command line", Role.admin)

    existed = output.exists()
    try:  # the destination must take bytes before anything is made and recorded
        with output.open("ab"):
            pass
    except OSError as exc:
        typer.echo(f"wsoa: cannot write {output} ({exc.strerror or type(exc).__name__}): choose another --output.", err=True)
        raise typer.Exit(2) from exc

    async def run() -> dict[str, Any]:
        db = _database()
        storage = storage_from(settings)
        try:
            plan = await read_one(db, actor, plans, plan_id)
            day = date.fromisoformat(as_of) if as_of else None
            async with unit_of_work(db) as session:
                export_id, _ = await make_export(
                    db, session, storage, settings, actor=actor, plan=plan, export_format=export_format, audience=audience, as_of=day
                )
            row = await read_one(db, actor, exports, export_id)
            with output.open("wb") as handle:
                async for chunk in storage.read(row["sha256"]):
                    handle.write(chunk)
            return row
        finally:
            await db.dispose()

    try:
        row = asyncio.run(run())
    except (DomainError, ValueError) as exc:
        if not existed:
            output.unlink(missing_ok=True)
        typer.echo(getattr(exc, "detail", str(exc)), err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"export {row['id']} sha256 {row['sha256']} ({row['size_bytes']} bytes) written to {output}")


@cli.command("import")
def import_command(
    plan_id: Annotated[uuid.UUID, typer.Argument(help="The plan to import into.")],
    tracker: Annotated[
        Path, typer.Argument(help="The tracker: an .xlsx workbook or a .csv file.", exists=True, dir_okay=False, readable=True)
    ],
    mapping: Annotated[str | None, typer.Option(help="The name of a mapping saved with POST /import-mappings.")] = None,
    mapping_file: Annotated[Path | None, typer.Option(help="A JSON file holding the column mapping.", exists=True, dir_okay=False)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report what the import would do, and write nothing.")] = False,
    author: Annotated[
        str | None, typer.Option(help="Who records the progress updates (e-mail or HR id of a person of the plan's partnership).")
    ] = None,
) -> None:
    """Import a council's tracker into a plan, as POST /plans/{id}/imports does (the template's mapping by default).
    Prints one line per table and every refused row; exits 1 when anything was refused. Progress updates are signed by
    `--author`; without it, rows carrying progress are refused."""
    from app.core.auth import Actor
    from app.imports import service

    actor = Actor("cli", "cli", "command line", Role.admin)
    raw = tracker.read_bytes()

    async def run() -> "ImportReport":
        db = _database()
        try:
            async with unit_of_work(db) as session:
                sent = service.mapping_from_json(mapping_file.read_bytes()) if mapping_file is not None else None
                return await service.import_file(
                    session, actor=actor, plan_id=plan_id, raw=raw, filename=tracker.name, sent=sent, saved=mapping, dry_run=dry_run,
                    author=author,
                )  # fmt: skip
        finally:
            await db.dispose()

    try:
        report = asyncio.run(run())
    except DomainError as exc:
        typer.echo(f"wsoa: {exc.detail}", err=True)
        for error in (exc.errors or [])[:50]:
            typer.echo(f"  {error.pointer}: {error.message}", err=True)
        raise typer.Exit(1) from exc
    for kind, count in report.counts.items():
        if any(count.model_dump().values()):
            typer.echo(f"{kind}: {count.created} created, {count.updated} updated, {count.unchanged} unchanged, {count.refused} refused")
    for row in report.rows:
        if row.outcome == "refused":
            reasons = "; ".join(f"{p.cell or 'row'}: {p.reason}" for p in row.problems)
            typer.echo(f"refused {row.sheet} row {row.row} ({row.kind} {row.key}): {reasons}", err=True)
    outcome = "dry run, nothing written" if dry_run else ("refused, nothing written" if report.refused else "imported")
    typer.echo(f"{tracker.name} (sha256 {report.sha256}): {outcome}")
    if report.refused:
        raise typer.Exit(1)


case_events_cli = typer.Typer(help="Case events from files: SEN2 returns and CSV extracts.", no_args_is_help=True, **PLAIN)
cli.add_typer(case_events_cli, name="case-events")


@case_events_cli.command("import")
def case_events_import(
    file: Annotated[Path, typer.Argument(help="An SEN2 person-level return (XML) or a CSV extract, one row per request.")],
    partnership: Annotated[
        str | None, typer.Option(help="The partnership's id or LA code (may be left out when there is only one).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report what the import would add, and write nothing.")] = False,
    skip_refused: Annotated[
        bool, typer.Option("--skip-refused", help="Import the requests that can be even when others are refused.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole report as JSON.")] = False,
) -> None:
    """Import case events from a file, as `POST /case-events/imports` does (same rules, same audit trail); exit status 1
    when requests were refused and nothing was imported."""
    from app.cases import imports, sen2
    from app.core.auth import Actor

    actor = Actor("cli", "cli", "command line", Role.admin)
    if not file.is_file():
        typer.echo(f"wsoa: no file at {file}.", err=True)
        raise typer.Exit(2)
    with file.open("rb") as handle:
        head = handle.read(64)
    kind = sen2.format_of("text/csv" if file.suffix.lower() == ".csv" else "", head)
    assert kind is not None

    async def run() -> dict[str, Any]:
        db = _database()
        try:
            async with db.read_session() as reader:  # no write transaction (on SQLite, no lock) while the file is read
                target = await _partnership_of(reader, partnership)
            sha256 = await asyncio.to_thread(imports.file_digest, file)
            async with unit_of_work(db) as session:
                report = await imports.import_file(
                    session,
                    actor=actor,
                    settings=get_settings(),
                    partnership_id=target,
                    path=file,
                    kind=kind,
                    sha256=sha256,
                    dry_run=dry_run,
                    skip_refused=skip_refused,
                )
            return report.model_dump(mode="json")
        finally:
            await db.dispose()

    try:
        report = asyncio.run(run())
    except DomainError as exc:
        found = exc.extensions.get("report")
        if as_json and found is not None:
            typer.echo(json.dumps(found, indent=2))
        typer.echo(f"wsoa: {exc.detail}", err=True)
        for error in (exc.errors or [])[:20]:
            typer.echo(f"  {error.pointer or '(file)'}: {error.message}", err=True)
        raise typer.Exit(1) from exc
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    verb = "would add" if dry_run else "added"
    typer.echo(
        f"{report['records']} requests in the {report['format']} file: {report['accepted']} with new events, {report['unchanged']} "
        f"unchanged, {report['refused']} refused; {verb} {report['events_new']} case events ({report['events_held']} already held)."
    )
    for issue in report["refusals"][:20]:
        typer.echo(f"  refused record {issue['record']} (line {issue['line']}) {issue['item']}: {issue['message']}")
    if report["refused"] > 20:
        typer.echo(f"  ... and more: --json lists up to {imports.MAX_LISTED}.")


async def _partnership_of(session: Any, given: str | None) -> uuid.UUID:
    from sqlalchemy import select
    from sqlmodel import col

    from app.models import Partnership

    query = select(col(Partnership.id))
    if given is not None:
        try:
            query = query.where(col(Partnership.id) == uuid.UUID(given))
        except ValueError:
            query = query.where(col(Partnership.la_code) == given)
    found = list((await session.execute(query.limit(2))).scalars())
    if len(found) != 1:
        what = f"no single partnership with the id or LA code {given}" if given else "more than one partnership (or none)"
        raise NotFound(f"There is {what}: name it with --partnership.")
    return uuid.UUID(str(found[0]))


def main() -> None:
    try:
        cli()
    except Exception as exc:  # the last resort: one line a person can act on, never a traceback
        typer.echo(f"wsoa: {_explain(exc)}", err=True)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
