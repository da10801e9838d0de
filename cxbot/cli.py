"""The `cxbot` command. Errors a person can fix are one line on stderr and exit code 2."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import date, datetime

from cxbot.config import ConfigError, Settings
from cxbot.council_file import DEFAULT_COUNCIL, CouncilFileError, load_council_file
from cxbot.domain.errors import CxError
from cxbot.store.migrate import UnknownRevision

USAGE_ERROR = 2


class CliError(Exception):
    """Something the operator can fix; printed as one line."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cxbot", description="The Customer-Experience council in Slack.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="serve Slack's HTTP requests (gunicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=3000)
    serve.add_argument("--workers", type=int, default=int(os.environ.get("CXBOT_WEB_WORKERS", "1")))
    serve.add_argument("--threads", type=int, default=int(os.environ.get("CXBOT_WEB_THREADS", "16")))
    serve.add_argument("--jobs", choices=("worker", "inline"), default=os.environ.get("CXBOT_JOBS", "worker"),
                       help="background work (applying votes, delivering to Slack, the schedule) in one extra "
                            "worker process (worker, the default) or inside every web worker (inline)")

    sub.add_parser("socket", help="connect to Slack in Socket Mode (no public URL needed)")

    db = sub.add_parser("db", help="database migrations")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_sub.add_parser("upgrade", help="apply every migration not yet applied")
    db_sub.add_parser("current", help="print the applied and latest revisions")

    council = sub.add_parser("council", help="the council's departments and people")
    c_sub = council.add_subparsers(dest="council_command", required=True, metavar="ACTION")
    load = c_sub.add_parser("load", help="load council files (TOML) into the database, all or nothing")
    load.add_argument("paths", nargs="+", metavar="FILE", help="a council file; one per council (council.key)")
    load.add_argument("--dry-run", action="store_true",
                      help="print what the load would change, open requests included, and change nothing")
    show = c_sub.add_parser("show", help="print a council as stored")
    _council_option(show)

    sweep = sub.add_parser("sweep", help="run one sweep now: deadlines, escalations, holds, reminders")
    sweep.add_argument("--now", type=_instant, default=None,
                       help="act as if it were this time (ISO 8601 with a UTC offset, e.g. 2026-12-01T09:00:00+01:00)")

    digest = sub.add_parser("digest", help="the chair's weekly digest")
    d_sub = digest.add_subparsers(dest="digest_command", required=True, metavar="ACTION")
    preview = d_sub.add_parser("preview", help="print (or write) a week's digest")
    preview.add_argument("--week", help="ISO week like 2026-W48 (default: the current week)")
    preview.add_argument("--format", choices=("text", "html", "slack"), default="text")
    preview.add_argument("--output", "-o", help="write to this file instead of printing")
    _council_option(preview)
    preview.add_argument("--out", metavar="DIR",
                         help="where the full lists the digest cuts are written as CSV (default: beside "
                              "--output, else the current directory)")
    send = d_sub.add_parser("send", help="send a week's digest to the chair now")
    send.add_argument("--week", help="ISO week like 2026-W48 (default: last week)")
    send.add_argument("--force", action="store_true", help="send it again even if it was sent")
    _council_option(send)

    export = sub.add_parser("export", help="write the record (requests, votes, objections, comments, decisions, "
                                           "the audit trail) as files, one each")
    export.add_argument("--format", choices=("csv", "jsonl"), default="csv",
                        help="CSV (a header row, RFC 4180, UTF-8) or JSON Lines (one object a line); default csv")
    export.add_argument("--since", type=_day, metavar="DATE",
                        help="only requests filed on or after this date (UTC, like 2026-11-23) and their rows, "
                             "and audit events from then")
    _council_option(export, "only this council (its council.key); default: every council")
    export.add_argument("--out", metavar="DIR", default=".",
                        help="the directory to write the files into, made if missing (default: the current one)")

    demo = sub.add_parser("demo", help="play the council story against a built-in Slack emulator")
    demo.add_argument("--quiet", action="store_true", help="print only the verdict")
    return p


def _council_option(parser: argparse.ArgumentParser,
                    help: str = "the council (its council.key); needed only when the database holds several") -> None:
    parser.add_argument("--council", metavar="KEY", help=help)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        from cxbot import logs

        logs.configure(settings.log_format, settings.log_level)
        return _dispatch(args, settings)
    except (ConfigError, CouncilFileError, CliError, UnknownRevision) as exc:
        print(f"cxbot: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except CxError as exc:
        print(f"cxbot: {exc.message}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        return 130


def _engine(settings: Settings):  # type: ignore[no-untyped-def]
    from cxbot.store.db import make_engine

    return make_engine(settings.database_url)


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "db":
        from cxbot.store import migrate

        engine = _engine(settings)
        if args.db_command == "upgrade":
            migrate.upgrade(engine)
            print(f"database at revision {migrate.current_revision(engine)}")
        else:
            print(f"applied: {migrate.current_revision(engine) or 'none'}; latest: {migrate.head_revision()}")
        return 0
    if args.command == "council":
        return _council(args, settings)
    if args.command == "serve":
        if args.jobs not in ("worker", "inline"):
            raise CliError(f"CXBOT_JOBS must be `worker` or `inline`, not {args.jobs!r}")
        _ready_to_serve(settings, socket_mode=False)
        from cxbot.server import serve

        serve(settings, host=args.host, port=args.port, workers=args.workers, threads=args.threads, jobs=args.jobs)
        return 0
    if args.command == "socket":
        _ready_to_serve(settings, socket_mode=True)
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        from cxbot import heap
        from cxbot.app import Runtime

        runtime = Runtime(settings, mode="socket")
        runtime.start()
        heap.settle()
        SocketModeHandler(runtime.bolt, settings.app_token).start()
        return 0
    if args.command == "digest":
        return _digest(args, settings)
    if args.command == "sweep":
        return _sweep(settings, args.now)
    if args.command == "export":
        return _export(args, settings)
    if args.command == "demo":
        from cxbot.sandbox.demo import run_demo

        return run_demo(quiet=args.quiet)
    raise CliError(f"unknown command {args.command}")


def _instant(text: str) -> datetime:
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time like 2026-12-01T09:00:00+01:00") from None
    if at.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs a UTC offset, like +01:00 or Z")
    return at


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-23") from None


def _export(args: argparse.Namespace, settings: Settings) -> int:
    """Every file of the record, read in one transaction (see cxbot.reports.export)."""
    from cxbot.reports import export
    from cxbot.services.council import find_council
    from cxbot.store.db import make_session_factory
    from cxbot.store.migrate import is_at_head

    engine = _engine(settings)
    if not is_at_head(engine):
        raise CliError("the database is not at the latest migration: run `cxbot db upgrade` first")
    if engine.dialect.name == "postgresql":   # one snapshot for every file
        engine = engine.execution_options(isolation_level="REPEATABLE READ")
    with make_session_factory(engine, read_only=True)() as s:
        council = find_council(s, args.council) if args.council is not None else None
        scope = export.Scope(since=export.since_date(args.since) if args.since else None,
                             council_id=council.id if council else None, council=council.key if council else None)
        try:
            export.writable_directory(args.out)
            written = export.export(s, scope, args.out, args.format)
        except export.OutError as exc:
            raise CliError(str(exc)) from None
        except OSError as exc:
            raise CliError(f"{args.out}: cannot write there ({exc.strerror})") from None
    for w in written:
        print(f"wrote {w.path} ({w.rows} row{'' if w.rows == 1 else 's'})")
    return 0


def _sweep(settings: Settings, now: datetime | None) -> int:
    """One sweep, then deliver what it queued before exiting."""
    from cxbot.app import Runtime
    from cxbot.clock import FixedClock

    runtime = Runtime(settings, mode="jobs", clock=FixedClock(now) if now else None)
    report = runtime.sweep()
    runtime.worker.drain()
    print(f"swept {report.requests} request(s): {report.reminders} reminder(s), {report.escalations} "
          f"escalation(s), {report.expired} expired, {report.holds_lapsed} hold(s) lapsed"
          + (f", {report.failed} failed (see the log)" if report.failed else ""))
    return 1 if report.failed else 0


def _digest(args: argparse.Namespace, settings: Settings) -> int:
    from cxbot.reports.digest import parse_week
    from cxbot.services import digests

    if args.week:
        parse_week(args.week)  # a bad week is an error before anything else happens
    if args.digest_command == "preview":
        from cxbot.reports.render import render, render_csv
        from cxbot.services.context import Services
        from cxbot.store.db import make_session_factory

        csv_dir = args.out or (os.path.dirname(args.output) if args.output else "") or "."
        if os.path.exists(csv_dir) and not os.path.isdir(csv_dir):
            raise CliError(f"{csv_dir}: not a directory")
        services = Services(make_session_factory(_engine(settings)), settings.clock())
        result = digests.digest(services.uow(), week=args.week, clock=services.clock, council=args.council)
        output = render(result, args.format)
        # The digest names a CSV for each list it cuts ("… and N more: all … are in FILE"):
        # they are written too, so every file it names exists.
        files = {os.path.join(csv_dir, name): content for name, content in render_csv(result).items()}
        if args.output:
            _write(args.output, output.encode())
            print(f"wrote {args.output}")
        else:
            sys.stdout.write(output if output.endswith("\n") else output + "\n")
        if files:
            try:
                os.makedirs(csv_dir, exist_ok=True)
            except OSError as exc:
                raise CliError(f"{csv_dir}: cannot create ({exc.strerror})") from None
        for path, content in files.items():
            _write(path, content)
            # Beside the digest on stdout, the names go to stderr so the digest can be piped.
            print(f"wrote {path}", file=sys.stdout if args.output else sys.stderr)
        return 0
    from cxbot.app import Runtime
    from cxbot.reports.digest import previous_week, week_of
    from cxbot.services.council import find_council
    from cxbot.store.db import make_session_factory

    with make_session_factory(_engine(settings))() as s:
        council = find_council(s, args.council)  # an unknown council is an error before anything else
        key, timezone = council.key, council.timezone
    runtime = Runtime(settings, mode="jobs")
    week = args.week or previous_week(week_of(runtime.clock.now(), timezone))
    of = f"{week}" if key == DEFAULT_COUNCIL else f"{week} ({key})"
    if not digests.send(runtime.services.uow(), week=week, clock=runtime.clock, force=args.force, actor="cli",
                        council=key):
        print(f"the digest of {of} was already sent; --force sends it again")
        return 0
    runtime.worker.drain()
    print(f"sent the digest of {of}")
    return 0


def _write(path: str, content: bytes) -> None:
    try:
        with open(path, "wb") as f:
            f.write(content)
    except OSError as exc:
        raise CliError(f"{path}: cannot write ({exc.strerror})") from None


def _ready_to_serve(settings: Settings, *, socket_mode: bool) -> None:
    """Fail fast, before any worker starts: tokens, migrations, and the council file if given."""
    from cxbot.store.migrate import is_at_head

    settings.require("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN" if socket_mode else "SLACK_SIGNING_SECRET")
    engine = _engine(settings)
    if not is_at_head(engine):
        raise CliError("the database is not at the latest migration: run `cxbot db upgrade` first")
    if settings.council_file:
        # One file, or several (one per council) separated like PATH's entries.
        _load_council(settings, [p for p in settings.council_file.split(os.pathsep) if p], engine)


def _load_council(settings: Settings, paths: Sequence[str], engine=None, *,  # type: ignore[no-untyped-def]
                  dry_run: bool = False) -> None:
    """Every file is read and checked before anything is stored, then all are loaded in one
    transaction (`load_councils`): a problem with any file changes nothing."""
    from cxbot.services.context import Services
    from cxbot.services.council import load_councils
    from cxbot.store.db import make_session_factory
    from cxbot.store.migrate import is_at_head

    specs = [load_council_file(path) for path in paths]
    engine = engine or _engine(settings)
    if not is_at_head(engine):
        raise CliError("the database is not at the latest migration: run `cxbot db upgrade` first")
    reports = load_councils(Services(make_session_factory(engine)).uow(), specs, clock=settings.clock(),
                            dry_run=dry_run)
    for path, report in zip(paths, reports, strict=True):
        if report.changes:
            would = "would make " if dry_run else ""
            print(f"{path}: {would}{len(report.changes)} change(s)")
            for change in report.changes:
                print(f"  {change}")
            if report.requests:
                print(f"open requests{' (would change)' if dry_run else ''}:")
                for line in report.requests:
                    print(f"  {line}")
        else:
            print(f"{path}: the council already matches the file; nothing {'would change' if dry_run else 'changed'}")
    if dry_run and any(report.changes for report in reports):
        print("dry run: nothing was changed")


def _council(args: argparse.Namespace, settings: Settings) -> int:
    if args.council_command == "load":
        _load_council(settings, args.paths, dry_run=args.dry_run)
        return 0
    from cxbot.services.council import overview
    from cxbot.store.db import make_session_factory

    with make_session_factory(_engine(settings))() as s:
        c = overview(s, args.council)
    print(f"council  {c.key}\nchannel  {c.channel}\nchair    {c.chair}\nadmins   {', '.join(c.admins) or '-'}\n"
          f"timezone {c.timezone}\nstages   {', '.join(c.stages)}")
    for d in c.departments:
        print(f"\n[{d.key}] {d.name}\n  leads     {', '.join(d.leads) or '-'}\n"
              f"  advocates {', '.join(d.advocates) or '-'}"
              + (f"\n  usergroup {d.usergroup}" if d.usergroup else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
