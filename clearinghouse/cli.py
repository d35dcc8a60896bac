"""The `clearinghouse` command (also `flask --app clearinghouse ...`)."""

from __future__ import annotations

import csv
import getpass
import sys
import threading
import webbrowser
from pathlib import Path

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext

from clearinghouse import bodies
from clearinghouse.extensions import db
from clearinghouse.taxonomy import Taxonomy
from indexer.generate import generate_listings
from indexer.pipeline import ingest_files, ingest_records, load_sample_listings
from indexer.readers import FORMATS, FormatError
from indexer.sources import SOURCE_FORMATS
from indexer.sync import FALLBACK_STATE_NAME, rebuild, status, sync, sync_fallback


def register_commands(app: Flask) -> None:
    for command in (
        init_command,
        seed_command,
        ingest_command,
        index_group,
        users_group,
        api_keys_group,
        export_command,
        import_command,
        serve_command,
        worker_command,
        sources_group,
        demo_command,
    ):
        app.cli.add_command(command)


def _create_app() -> Flask:
    from clearinghouse import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False)
def main() -> None:
    """Self-help group clearinghouse: directory, search, staff console and partner feed."""


def _taxonomy() -> Taxonomy:
    from clearinghouse.taxonomy import default_taxonomy

    return default_taxonomy()


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Create or migrate the database and load the concern taxonomy."""
    from flask import current_app

    from clearinghouse.database import load_taxonomy, migrate

    migrate(current_app._get_current_object())  # type: ignore[attr-defined]
    count = load_taxonomy(db.session(), _taxonomy())
    db.session.commit()
    click.echo(f"Database ready; {count} concerns loaded.")


@click.command("seed")
@click.option(
    "--generate",
    "generate",
    type=click.IntRange(min=1),
    default=None,
    help="Load N synthetic listings from the deterministic generator instead.",
)
@click.option(
    "--seed",
    "random_seed",
    type=int,
    default=1,
    show_default=True,
    help="Random seed for --generate.",
)
@with_appcontext
def seed_command(generate: int | None, random_seed: int) -> None:
    """Load the sample listings in seed_data/ (or a synthetic corpus)."""
    if generate:
        records = generate_listings(generate, seed=random_seed)
        source = f"generated-{random_seed}"
    else:
        records = load_sample_listings()
        source = "sample"
    report = ingest_records(
        db.session,
        records,
        taxonomy=_taxonomy(),
        source=source,
        progress=sys.stderr.isatty(),
        total=generate,
    )
    click.echo(report.summary())


@click.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--format", "fmt", required=True, type=click.Choice(FORMATS))
@click.option(
    "--source",
    default=None,
    help="Who sent the files (listings are matched by their ids within it); required when "
    "records carry their own ids, else the file name.",
)
@click.option(
    "--concern",
    "concerns",
    multiple=True,
    help="Concern slug for records that carry none (e.g. alcohol for an AA feed).",
)
@click.option("--dry-run", is_flag=True, help="Validate and report, change nothing.")
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write rejected rows (row, field, reason) to this CSV file.",
)
@with_appcontext
def ingest_command(
    paths: tuple[str, ...],
    fmt: str,
    source: str | None,
    concerns: tuple[str, ...],
    dry_run: bool,
    rejects: str | None,
) -> None:
    """Import listings from files."""
    taxonomy = _taxonomy()
    for slug in concerns:
        if slug not in taxonomy:
            raise click.BadParameter(f"{slug!r} is not a concern slug", param_hint="--concern")
    try:
        report = ingest_files(
            db.session,
            [Path(p) for p in paths],
            fmt=fmt,
            source=source,
            default_concerns=concerns,
            dry_run=dry_run,
            taxonomy=taxonomy,
            progress=sys.stderr.isatty(),
        )
    except FormatError as error:
        raise click.ClickException(str(error)) from error
    for reject in report.rejects[:20]:
        click.echo(f"rejected {reject}", err=True)
    if len(report.rejects) > 20:
        click.echo(f"… and {len(report.rejects) - 20} more rejected rows", err=True)
    for warning in report.warnings[:10]:
        click.echo(f"warning {warning}", err=True)
    if report.warning_count > 10:
        click.echo(f"… and {report.warning_count - 10} more warnings", err=True)
    if rejects:
        with open(rejects, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["file", "row", "field", "reason"])
            for reject in report.rejects:
                writer.writerow([reject.path, reject.row, reject.field, reject.reason])
    click.echo(("Dry run: " if dry_run else "") + report.details())


@click.group("sources")
def sources_group() -> None:
    """Partner feeds that refresh themselves (the worker runs due refreshes)."""


@sources_group.command("add")
@click.argument("name")
@click.option("--url", required=True, help="The feed's address (http:// or https://).")
@click.option("--format", "fmt", required=True, type=click.Choice(SOURCE_FORMATS))
@click.option("--concern", default=None, help="Concern slug for listings that carry none.")
@click.option("--every", default="6h", show_default=True, help="How often: 30m, 6h, 1d, …")
@with_appcontext
def sources_add(name: str, url: str, fmt: str, concern: str | None, every: str) -> None:
    """Add a source; the worker (or `sources refresh NAME`) imports it."""
    from indexer.sources import SourceError, add_source, describe_interval

    try:
        source = add_source(
            db.session(), name, url=url, fmt=fmt, concern=concern, every=every, taxonomy=_taxonomy()
        )
    except SourceError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(
        f"Added source {source.name} ({source.format}, every "
        f"{describe_interval(source.interval_seconds)}); it refreshes at the worker's next pass."
    )


@sources_group.command("list")
@with_appcontext
def sources_list() -> None:
    """Every source: format, interval, last run and outcome, counts, next run."""
    from sqlalchemy import select

    from clearinghouse.models import FeedSource
    from indexer.sources import describe_interval

    found = False
    for source in db.session.scalars(select(FeedSource).order_by(FeedSource.name)):
        found = True
        state = "paused" if source.paused else f"every {describe_interval(source.interval_seconds)}"
        last = _when(source.last_run_at)
        upcoming = "—" if source.paused else _when(source.next_run_at)
        click.echo(f"{source.name}  {source.format}  {state}  {source.url}")
        click.echo(f"  last run {last}: {source.last_outcome or 'never run'}; next {upcoming}")
        if source.last_summary:
            click.echo(f"  {source.last_summary}")
        if source.attention:
            click.echo(f"  NEEDS STAFF: {source.attention}")
    if not found:
        click.echo("No sources yet; add one with `clearinghouse sources add NAME --url URL …`.")


def _when(moment: object) -> str:
    from datetime import datetime

    return (
        moment.isoformat(sep=" ", timespec="minutes") + " UTC"
        if isinstance(moment, datetime)
        else "never"
    )


@sources_group.command("refresh")
@click.argument("name", required=False)
@click.option(
    "--allow-removals",
    is_flag=True,
    help="The safety brake held removals and they are right: remove them, however many.",
)
@with_appcontext
def sources_refresh(name: str | None, allow_removals: bool) -> None:
    """Refresh one source now, or every source that is not paused."""
    from flask import current_app
    from sqlalchemy import select

    from clearinghouse.models import FeedSource, SourceOutcome
    from indexer.sources import RefreshSettings, SourceError, find_source, refresh_source

    session = db.session()
    try:
        sources = (
            [find_source(session, name)]
            if name
            else list(
                session.scalars(
                    select(FeedSource).where(FeedSource.paused.is_(False)).order_by(FeedSource.name)
                )
            )
        )
    except SourceError as error:
        raise click.ClickException(str(error)) from error
    if allow_removals and not name:
        raise click.BadParameter("name the source", param_hint="--allow-removals")
    settings = RefreshSettings.from_config(current_app.config)
    failed = 0
    for source in sources:
        result = refresh_source(
            session, source, taxonomy=_taxonomy(), settings=settings, allow_removals=allow_removals
        )
        failed += result.outcome == SourceOutcome.FAILED
        click.echo(f"{source.name}: {result.summary()}")
    if failed:
        raise click.ClickException(f"{failed} of {len(sources)} sources failed")


@sources_group.command("pause")
@click.argument("name")
@with_appcontext
def sources_pause(name: str) -> None:
    """Stop refreshing a source (its listings stay as they are)."""
    _set_paused(name, True)


@sources_group.command("resume")
@click.argument("name")
@with_appcontext
def sources_resume(name: str) -> None:
    """Refresh a paused source again, starting at the worker's next pass."""
    _set_paused(name, False)


def _set_paused(name: str, paused: bool) -> None:
    from indexer.sources import SourceError, find_source, set_paused

    try:
        source = find_source(db.session(), name)
    except SourceError as error:
        raise click.ClickException(str(error)) from error
    set_paused(source, paused)
    db.session.commit()
    click.echo(f"{'Paused' if paused else 'Resumed'} {source.name}.")


@click.group("index")
def index_group() -> None:
    """Keep the search index in step with the database."""


@index_group.command("sync")
@with_appcontext
def index_sync() -> None:
    """Apply pending changes from the outbox (to the fallback engine too, when there is one)."""
    from clearinghouse.search import get_backend, get_fallback

    report = sync(db.session(), get_backend(), _taxonomy())
    click.echo(
        f"Applied {report.applied} changes ({report.upserted} upserted, "
        f"{report.removed} removed); at seq {report.last_seq}."
    )
    fallback = get_fallback()
    if fallback is not None:
        report = sync_fallback(db.session(), fallback, _taxonomy())
        click.echo(f"Fallback ({fallback.name}): at seq {report.last_seq}.")


@index_group.command("rebuild")
@with_appcontext
def index_rebuild() -> None:
    """Rebuild the index from the database, then apply anything that came in meanwhile."""
    from clearinghouse.search import get_backend, get_fallback

    count = rebuild(db.session(), get_backend(), _taxonomy())
    sync(db.session(), get_backend(), _taxonomy())
    click.echo(f"Rebuilt the index with {count} listings.")
    made = bodies.make_missing(db.session())
    if made:
        click.echo(f"Stored the public body of {made} listings that had none or an old one.")
    fallback = get_fallback()
    if fallback is not None:
        count = rebuild(db.session(), fallback, _taxonomy(), FALLBACK_STATE_NAME)
        sync_fallback(db.session(), fallback, _taxonomy())
        click.echo(f"Rebuilt the fallback ({fallback.name}) with {count} listings.")


@index_group.command("status")
@with_appcontext
def index_status() -> None:
    """Show the engine, lag and counts (and the fallback's)."""
    from clearinghouse.search import get_backend, get_fallback

    for key, value in status(db.session(), get_backend()).items():
        click.echo(f"{key}: {value if value is not None else 'unavailable'}")
    fallback = get_fallback()
    if fallback is not None:
        for key, value in status(db.session(), fallback, FALLBACK_STATE_NAME).items():
            click.echo(f"fallback {key}: {value if value is not None else 'unavailable'}")


@click.group("users")
def users_group() -> None:
    """Staff accounts."""


@users_group.command("create")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice(["admin", "editor"]))
@click.option("--password", default=None, help="Prompted for when not given.")
@with_appcontext
def users_create(email: str, role: str, password: str | None) -> None:
    """Create a staff user."""
    from clearinghouse.accounts import AccountError, create_user

    try:
        user = create_user(db.session(), email, role, password or _read_password())
    except AccountError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"Created {user.role} {user.email}.")


@users_group.command("set-password")
@click.option("--email", required=True)
@click.option("--password", default=None, help="Prompted for when not given.")
@with_appcontext
def users_set_password(email: str, password: str | None) -> None:
    """Give a staff user a new password (ends their sign-ins); e.g. after `import`."""
    from sqlalchemy import select

    from clearinghouse.accounts import AccountError, set_password
    from clearinghouse.models import User

    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"no staff user has the e-mail {email!r}")
    try:
        set_password(db.session(), user, password or _read_password())
    except AccountError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"New password set for {user.email}.")


def _read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != password:
        raise click.ClickException("the passwords differ")
    return password


@click.command("export")
@click.argument("path", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@with_appcontext
def export_command(path: Path) -> None:
    """Back up the whole directory to PATH (JSON Lines; gzip when PATH ends in .gz)."""
    from clearinghouse.backup import export_backup

    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":  # one snapshot of every table
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            report = export_backup(connection, path)
    click.echo(f"Exported {report.summary()} to {path}.")


@click.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_command(path: Path) -> None:
    """Restore a backup made by `export` into a new, empty database, then index it."""
    from flask import current_app

    from clearinghouse.backup import BackupError, import_backup
    from clearinghouse.database import migrate

    migrate(current_app._get_current_object())  # type: ignore[attr-defined]
    try:
        with db.engine.begin() as connection:
            report = import_backup(connection, path)
    except BackupError as error:
        raise click.ClickException(f"{path}: {error}") from error
    except (UnicodeDecodeError, ValueError, OSError) as error:  # not JSON Lines, bad gzip
        raise click.ClickException(f"{path} is not a readable backup: {error}") from error
    click.echo(f"Imported {report.summary()}.")
    click.echo(
        "Staff passwords are not in backups: give each user a new one with "
        "`clearinghouse users set-password --email E`."
    )
    _index_after_import()


def _index_after_import() -> None:
    from clearinghouse.search import get_backend
    from clearinghouse.search.base import SearchUnavailable

    try:
        count = rebuild(db.session(), get_backend(), _taxonomy())
    except SearchUnavailable as error:  # the import stands; the queue waits for the engine
        db.session.rollback()
        click.echo(
            f"Search index not rebuilt ({error}); every listing is queued and the worker "
            "applies them when the engine answers (or run `clearinghouse index rebuild`)."
        )
        return
    sync(db.session(), get_backend(), _taxonomy())
    click.echo(f"Rebuilt the search index with {count} listings.")


@click.group("api-keys")
def api_keys_group() -> None:
    """Partner API keys."""


@api_keys_group.command("create")
@click.option("--name", required=True, help="Who the key is for.")
@click.option("--rate-limit", default="120/minute", show_default=True)
@with_appcontext
def api_keys_create(name: str, rate_limit: str) -> None:
    """Create a key; it is printed once, on the last line."""
    from clearinghouse.accounts import AccountError, create_api_key

    try:
        _api_key, key = create_api_key(db.session(), name, rate_limit=rate_limit)
    except AccountError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"API key for {name} (shown once; store it safely):")
    click.echo(key)


@api_keys_group.command("list")
@with_appcontext
def api_keys_list() -> None:
    """Every key by prefix: who it is for, its limit, when it was last used, whether revoked."""
    from sqlalchemy import select

    from clearinghouse.models import ApiKey

    for api_key in db.session.scalars(select(ApiKey).order_by(ApiKey.created_at)):
        used = (
            api_key.last_used_at.isoformat(timespec="minutes") if api_key.last_used_at else "never"
        )
        state = "revoked" if api_key.revoked_at else "active"
        limit = api_key.rate_limit
        click.echo(f"{api_key.prefix}  {state:7}  {limit:>14}  last used {used}  {api_key.name}")


@api_keys_group.command("revoke")
@click.argument("prefix")
@with_appcontext
def api_keys_revoke(prefix: str) -> None:
    """Revoke the key with this prefix (the 8 characters after chk_); it stops working at once."""
    from sqlalchemy import select

    from clearinghouse.accounts import revoke_api_key
    from clearinghouse.models import ApiKey

    wanted = prefix.removeprefix("chk_").split("_", 1)[0]
    api_key = db.session.scalar(select(ApiKey).where(ApiKey.prefix == wanted))
    if api_key is None:
        raise click.ClickException(f"no API key has prefix {wanted!r}; see `api-keys list`")
    if api_key.revoked_at is None:
        revoke_api_key(db.session(), api_key)
        db.session.commit()
    click.echo(f"Revoked {api_key.prefix} ({api_key.name}).")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    help="Processes answering requests (default: one per core).",
)
@click.option(
    "--threads",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    help="Threads in each process.",
)
@click.option(
    "--worker/--no-worker",
    "background",
    default=None,
    help="Run the background loop (outbox → search index) in one web process "
    "(default: on with the embedded engine; use --no-worker beside `clearinghouse worker`).",
)
@with_appcontext
def serve_command(
    host: str, port: int, workers: int | None, threads: int, background: bool | None
) -> None:
    """Serve the site: gunicorn, one process per core, on host:port."""
    from flask import current_app

    from clearinghouse import server

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if background is None:
        background = app.config.get("SEARCH_ENGINE") == "embedded"
    _serve(
        app,
        host,
        port,
        workers=workers or server.default_workers(),
        threads=threads,
        background=background,
    )


def _serve(
    app: Flask,
    host: str,
    port: int,
    *,
    workers: int,
    threads: int,
    background: bool,
    open_browser: bool = False,
) -> None:
    from clearinghouse import server

    url = f"http://{host}:{port}/"
    click.echo(f"Serving on {url} with {workers} process(es) (Ctrl-C to stop)")
    if open_browser:
        threading.Timer(2.0, lambda: webbrowser.open(url)).start()
    server.serve(app, host, port, workers=workers, threads=threads, background=background)


@click.command("worker")
@with_appcontext
def worker_command() -> None:
    """Keep the search index caught up (and run other periodic jobs) until SIGTERM/SIGINT."""
    import signal

    from flask import current_app

    from indexer.worker import default_worker

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    worker = default_worker(app)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: worker.stop())
    click.echo(f"Worker running: {', '.join(job.name for job in worker.jobs)} (Ctrl-C to stop)")
    worker.run_forever()
    click.echo("Worker stopped.")


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-browser", is_flag=True, help="Do not open a browser window.")
@with_appcontext
def demo_command(host: str, port: int, no_browser: bool) -> None:
    """Init, seed, index and serve on the embedded engine, in one command."""
    from flask import current_app

    from clearinghouse import server
    from clearinghouse.database import load_taxonomy, migrate
    from clearinghouse.models import Group
    from clearinghouse.search import get_backend

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config.get("SMTP_URL"):
        # No mail server: the yearly confirmation e-mails are logged (their links only),
        # pointing at this server, so a person can try the whole flow locally.
        app.config["MAIL_LOG_LINKS"] = True
        app.config["MAIL_LINK_BASE"] = app.config.get("BASE_URL") or f"http://{host}:{port}"
    migrate(app)
    load_taxonomy(db.session(), _taxonomy())
    db.session.commit()
    if db.session.query(Group).count() == 0:
        report = ingest_records(
            db.session,
            load_sample_listings(),
            taxonomy=_taxonomy(),
            source="sample",
            progress=sys.stderr.isatty(),
        )
        click.echo(report.summary())
        rebuild(db.session(), get_backend(), _taxonomy())
    sync(db.session(), get_backend(), _taxonomy())
    _serve(
        app,
        host,
        port,
        workers=server.default_workers(),
        threads=4,
        background=True,
        open_browser=not no_browser,
    )
