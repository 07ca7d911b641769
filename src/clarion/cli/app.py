"""``clarion``: run the server, migrate, and drive a running server through its API.

The shared plumbing is in :mod:`clarion.cli.base`; team channel commands are in
:mod:`clarion.cli.channels`.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from clarion.cli import channels as _channels  # noqa: F401  (registers `clarion channels`)
from clarion.cli.base import (
    State,
    api,
    app,
    console,
    db_app,
    err,
    event_types_app,
    key_values,
    messages_app,
    notifications_app,
    secrets_app,
    show,
    tokens_app,
    users_app,
)
from clarion.roles import ROLES

if TYPE_CHECKING:
    from clarion.config import Settings


# --- server and database ----------------------------------------------------------------------


def _settings(cli_args: list[str] | None = None) -> Settings:
    """The settings, or one line per bad one and exit status 2 (not a traceback)."""
    from pydantic import ValidationError

    from clarion.config import load_settings

    try:
        return load_settings(cli_args)
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]) or "settings"
            message = error["msg"].removeprefix("Value error, ")
            err.print(
                f"[red]invalid setting[/red] {where}: {message}", highlight=False, soft_wrap=True
            )
        raise typer.Exit(2) from None


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def server(ctx: typer.Context) -> None:
    """Run the API, UI and dispatcher. Every CLARION_* setting is also a flag (--retention 7d)."""
    from clarion.server import run_server

    run_server(_settings(list(ctx.args)))


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply the schema migrations to CLARION_DATABASE_URL (the server also does this on start)."""
    from clarion.store.db import Database
    from clarion.store.migrate import migrate

    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    async def run() -> None:
        db = Database(settings.resolved_database_url)
        try:
            await migrate(db)
        finally:
            await db.close()

    asyncio.run(run())
    console.print("database is up to date")


@db_app.command("backup")
def db_backup(
    path: Annotated[Path, typer.Argument(help="the new backup file (never overwritten)")],
) -> None:
    """Copy the SQLite database to PATH, consistently, while the server runs.

    Keep CLARION_SECRET_KEY (or the data dir's secret.key) with it: without the key the
    channels' stored secrets cannot be read. For PostgreSQL, use pg_dump.
    """
    from clarion.store.backup import BackupError, backup, sqlite_file

    settings = _settings()
    try:
        done = backup(sqlite_file(settings.resolved_database_url), path)
    except BackupError as exc:
        err.print(f"[red]error[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    console.print(
        f"backed up to {done.path} ({done.size} bytes, schema {done.revision})",
        highlight=False,
        soft_wrap=True,
    )


@db_app.command("restore")
def db_restore(
    path: Annotated[Path, typer.Argument(help="a file made by `clarion db backup`")],
) -> None:
    """Put a backup in place of the SQLite database; stop every server using it first.

    The data dir needs the secret key the backup was made under (CLARION_SECRET_KEY or
    secret.key). A server started on it brings an older schema up to date. For PostgreSQL,
    use pg_restore.
    """
    from clarion.store.backup import BackupError, restore, sqlite_file

    settings = _settings()
    try:
        done = restore(path, sqlite_file(settings.resolved_database_url))
    except BackupError as exc:
        err.print(f"[red]error[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    console.print(
        f"restored {path} into {done.path} (schema {done.revision})",
        highlight=False,
        soft_wrap=True,
    )


@secrets_app.command("rotate")
def secrets_rotate() -> None:
    """Seal every stored secret again under the newest key of CLARION_SECRET_KEY (the first).

    Run it after putting a new key in front (CLARION_SECRET_KEY=new,old) on every server; once
    it is done, the old key can be dropped.
    """
    from clarion.secrets import SecretBox, SecretsError, load_keys
    from clarion.store.channels import reseal_secrets
    from clarion.store.db import Database

    settings = _settings()
    key = settings.secret_key.get_secret_value() if settings.secret_key else None
    try:
        box = SecretBox(load_keys(key, settings.data_dir))
    except SecretsError as exc:
        err.print(f"[red]error[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None

    async def run() -> list[str]:
        db = Database(settings.resolved_database_url)
        try:
            async with db.begin() as conn:
                return await reseal_secrets(conn, box)
        finally:
            await db.close()

    try:
        done = asyncio.run(run())
    except SecretsError as exc:
        err.print(f"[red]error[/red] {exc}; nothing was changed", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    console.print(f"re-sealed the secrets of {len(done)} channel(s) under the newest key")


# --- users and tokens -------------------------------------------------------------------------

USER_COLUMNS = ["id", "email", "username", "name", "roles", "status"]


@users_app.command("create")
def users_create(
    email: str,
    username: Annotated[str | None, typer.Option(help="default: the email's local part")] = None,
    name: Annotated[str, typer.Option()] = "",
    role: Annotated[list[str] | None, typer.Option(help=", ".join(ROLES))] = None,
) -> None:
    """Create a user."""
    body = {"email": email, "name": name, "roles": role or ["member"]}
    if username:
        body["username"] = username
    show(api("POST", "/api/v1/users", json=body), USER_COLUMNS)


@users_app.command("list")
def users_list(status: Annotated[str | None, typer.Option()] = None) -> None:
    """List users."""
    show(api("GET", "/api/v1/users", params={"status": status})["items"], USER_COLUMNS)


def _set_status(ref: str, status: str) -> None:
    show(api("PATCH", f"/api/v1/users/{ref}", json={"status": status}), USER_COLUMNS)


@users_app.command("suspend")
def users_suspend(user: str) -> None:
    """Suspend a user (by email, username or id)."""
    _set_status(user, "suspended")


@users_app.command("activate")
def users_activate(user: str) -> None:
    """Activate a suspended user."""
    _set_status(user, "active")


@users_app.command("delete")
def users_delete(user: str) -> None:
    """Delete a user (kept as status 'deleted'; they receive nothing more)."""
    api("DELETE", f"/api/v1/users/{user}")
    console.print(f"deleted {user}")


@tokens_app.command("create")
def tokens_create(
    user: Annotated[str, typer.Option(help="email, username or id; default: yourself")] = "me",
    name: Annotated[str, typer.Option()] = "",
    lifetime_days: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Create an API token; it is shown once."""
    body: dict[str, Any] = {"name": name}
    if lifetime_days:
        body["lifetime_days"] = lifetime_days
    result = api("POST", f"/api/v1/users/{user}/tokens", json=body)
    if State["json"]:
        show(result)
    else:
        console.print(result["token"], soft_wrap=True, highlight=False)
        err.print("Keep it: it will not be shown again. Use it as CLARION_TOKEN.")


# --- events and the message log --------------------------------------------------------------


@app.command()
def send(
    event_type: Annotated[str, typer.Argument(help="event type key, e.g. workspace_deleted")],
    user: Annotated[str | None, typer.Option(help="the affected user's email")] = None,
    label: Annotated[list[str] | None, typer.Option(help="key=value, repeatable")] = None,
    data: Annotated[str | None, typer.Option(help="JSON object")] = None,
    idempotency_key: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Post an event, as a platform would."""
    body: dict[str, Any] = {"type": event_type, "labels": key_values(label or [], "--label")}
    if user:
        body["user_email"] = user
    if data:
        try:
            body["data"] = json.loads(data)
        except json.JSONDecodeError as exc:
            err.print(f"[red]error:[/red] --data is not JSON: {exc}")
            raise typer.Exit(2) from None
    if idempotency_key:
        body["idempotency_key"] = idempotency_key
    result = api("POST", "/api/v1/events", json=body)
    if State["json"]:
        show(result)
        return
    console.print(f"event {result['id']}")
    show(result["messages"], ["id", "method", "recipient", "status"])


MESSAGE_COLUMNS = [
    "id",
    "created_at",
    "event_type",
    "method",
    "recipient",
    "status",
    "status_reason",
]


@messages_app.command("list")
def messages_list(
    status: Annotated[str | None, typer.Option()] = None,
    event_type: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option()] = 50,
) -> None:
    """The message log, newest first."""
    params = {"status": status, "event_type": event_type, "limit": limit}
    show(api("GET", "/api/v1/messages", params=params)["items"], MESSAGE_COLUMNS)


@messages_app.command("show")
def messages_show(message_id: str) -> None:
    """One message in full: state, reason, attempts, rendered content."""
    show(api("GET", f"/api/v1/messages/{message_id}"))


@messages_app.command("retry")
def messages_retry(message_id: str) -> None:
    """Send a failed message again now, with a fresh round of attempts."""
    message = api("POST", f"/api/v1/messages/{message_id}/retry")
    show({k: message[k] for k in ("id", "status", "recipient", "method")})


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "none waiting"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    units = ((days, "d"), (hours, "h"), (minutes, "m"), (secs, "s"))
    first = next((i for i, (n, _) in enumerate(units) if n), len(units) - 1)
    return " ".join(f"{n}{unit}" for n, unit in units[first : first + 2] if n) or "0s"


STATS_COLUMNS = ["messages", "sent", "failed", "retried", "unfinished", "inhibited"]


@messages_app.command("stats")
def messages_stats(
    since: Annotated[str, typer.Option(help="window of the per-method table: 1h, 24h, 7d")] = "24h",
) -> None:
    """The queue by status, the oldest unsent message, and sent / failed / retried by method."""
    data = api("GET", "/api/v1/messages/stats", params={"since": since})
    if State["json"]:
        show(data)
        return
    running = "[yellow]paused[/yellow]" if data["paused"] else "[green]running[/green]"
    console.print(
        f"delivery: {running}    oldest unsent message: {_age(data['oldest_pending_age_seconds'])}"
    )
    queue = Table(title="Messages by status (all kept)")
    for status in data["by_status"]:
        queue.add_column(status, justify="right")
    queue.add_row(*[str(n) for n in data["by_status"].values()])
    console.print(queue)
    table = Table(
        title=f"By method, created in the last {since}",
        caption="failed: permanent_failure; retried: failed attempts tried again; "
        "unfinished: pending, leased or temporary_failure",
    )
    table.add_column("method", overflow="fold")
    for column in STATS_COLUMNS:
        table.add_column(column, justify="right")
    for method, row in data["by_method"].items():
        cells = {**row, "failed": row["permanent_failure"]}
        cells["unfinished"] = row["pending"] + row["leased"] + row["temporary_failure"]
        table.add_row(method, *[str(cells[c]) for c in STATS_COLUMNS])
    table.add_row("total", *[str(data["window"][c]) for c in STATS_COLUMNS], style="bold")
    console.print(table)


# --- notifications ---------------------------------------------------------------------------


@notifications_app.command("pause")
def notifications_pause() -> None:
    """Stop sending (messages are still created and kept)."""
    api("PUT", "/api/v1/notifications/settings", json={"paused": True})
    console.print("notifications paused")


@notifications_app.command("resume")
def notifications_resume() -> None:
    """Resume sending; held messages go out."""
    api("PUT", "/api/v1/notifications/settings", json={"paused": False})
    console.print("notifications resumed")


@notifications_app.command("status")
def notifications_status() -> None:
    """Whether delivery is paused."""
    paused = api("GET", "/api/v1/notifications/settings")["paused"]
    console.print("paused" if paused else "running")


@notifications_app.command("test")
def notifications_test() -> None:
    """Send yourself a test notification."""
    result = api("POST", "/api/v1/notifications/test")
    show(result["messages"], ["id", "method", "recipient", "status"])


@event_types_app.command("list")
def event_types_list() -> None:
    """The catalog, with whether each type is enabled and its method."""
    items = api("GET", "/api/v1/event-types")["items"]
    show(items, ["key", "group", "name", "enabled", "effective_method"])


def main() -> None:
    app(prog_name="clarion")


if __name__ == "__main__":
    main()
