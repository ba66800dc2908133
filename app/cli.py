"""The `wsoa` command: serve, migrate, seed-demo and keys."""

import asyncio
import gc
import json
import uuid
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn

from app.core.config import get_settings
from app.core.db import Database
from app.core.errors import DomainError, NotFound
from app.core.migrations import upgrade
from app.core.uow import unit_of_work
from app.models.enums import Audience, ExportFormat, Role

cli = typer.Typer(help="wsoa-tracker: the SEND improvement plan tracker.", no_args_is_help=True, add_completion=False)
keys_cli = typer.Typer(help="Create and revoke API keys.", no_args_is_help=True)
cli.add_typer(keys_cli, name="keys")


def _database() -> Database:
    return Database(get_settings().database_url)


@cli.command()
def migrate() -> None:
    """Upgrade the database to the latest schema."""
    upgrade(get_settings().database_url)
    typer.echo("database at the latest schema", err=True)


async def _seed(with_keys: bool) -> list[tuple[str, str]]:
    from app.demo.seed import demo_keys, seed_demo

    db = _database()
    try:
        async with unit_of_work(db) as session:
            partnership = await seed_demo(session)
        if not with_keys:
            return []
        async with unit_of_work(db) as session:
            return await demo_keys(session, partnership.id)
    finally:
        await db.dispose()


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
    settings = get_settings()
    upgrade(settings.database_url)
    if demo:
        tokens = asyncio.run(_seed(with_keys=True))
        typer.echo("\nDemo partnership: Wessex Vale (LA code 990). Demo API keys, shown once:")
        for role, token in tokens:
            typer.echo(f"  {role:<17} {token}")
        typer.echo(f"\nTry: curl -H 'Authorization: Bearer {tokens[0][1]}' http://{host}:{port}/api/v1/plans\n")
    gc.collect()
    gc.freeze()  # start-up objects never need collecting; keeps GC pauses off the request path
    gc.set_threshold(50_000, 20, 100)  # fewer young-generation collections under load
    uvicorn.run("app.main:create_app", factory=True, host=host, port=port, workers=workers, log_config=None, access_log=False)


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

    expiry = date.fromisoformat(expires_on) if expires_on else None

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
    """Deliver webhooks and produce pending exports until stopped (several workers may share the work on
    PostgreSQL); forget expired Idempotency-Key records and old rate-limit counts once a minute."""
    import signal
    import time

    from app.core.idempotency import purge_expired
    from app.core.observability import configure_logging
    from app.core.ratelimit import purge_old_windows
    from app.evidence.storage import storage_from
    from app.exports.service import produce_pending
    from app.integrations.webhooks import deliver_due

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    async def run() -> None:
        db = _database()
        purged_at = 0.0
        try:
            while not stopping:
                if time.monotonic() - purged_at > 60:
                    await purge_expired(db)
                    await purge_old_windows(db)
                    purged_at = time.monotonic()
                sent = await deliver_due(db, settings) + await produce_pending(db, storage_from(settings))
                if once and sent == 0:
                    return
                if sent == 0:
                    await asyncio.sleep(interval)
        finally:
            await db.dispose()

    asyncio.run(run())


audit_cli = typer.Typer(help="Check the audit trail.", no_args_is_help=True)
cli.add_typer(audit_cli, name="audit")


@audit_cli.command("verify")
def audit_verify() -> None:
    """Walk the audit hash chain; exit 1 naming the first broken seq if any event was edited, removed or reordered."""
    from app.audit.service import Break, verify

    async def run() -> tuple[int, Break | None]:
        db = _database()
        try:
            return await verify(db)
        finally:
            await db.dispose()

    checked, broken = asyncio.run(run())
    if broken is not None:
        typer.echo(f"audit chain broken at seq {broken.seq}: {broken.reason}", err=True)
        raise typer.Exit(1)
    typer.echo(f"audit chain intact: {checked} events")


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
    from app.exports.service import create_export
    from app.plans.resources import plans

    settings = get_settings().model_copy(update={"export_inline_max_actions": 1_000_000, "export_inline_max_pdf_actions": 1_000_000})
    actor = Actor("cli", "cli", "command line", Role.admin)

    async def run() -> dict[str, Any]:
        db = _database()
        storage = storage_from(settings)
        try:
            plan = await read_one(db, actor, plans, plan_id)
            day = date.fromisoformat(as_of) if as_of else None
            async with unit_of_work(db) as session:
                export_id = await create_export(
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
        typer.echo(getattr(exc, "detail", str(exc)), err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"export {row['id']} sha256 {row['sha256']} ({row['size_bytes']} bytes) written to {output}")


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
