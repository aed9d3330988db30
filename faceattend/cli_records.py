"""Command-line records care: ``verify``, ``backup``, ``restore``, ``people archive|erase``.

Registered in ``cli.build_parser`` with ``add_records_parsers``. Errors a user can cause are
StoreError/UserError (one line, non-zero exit), as in ``cli.py``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from faceattend.config import Settings, command_line_settings
from faceattend.store import Store, StoreError


def _settings(args: argparse.Namespace) -> Settings:
    return command_line_settings(args.db, getattr(args, "device", None), getattr(args, "threshold", None))


def cmd_verify(args: argparse.Namespace) -> int:
    from faceattend.store.verify import verify_file

    path = _settings(args).database_path()
    verdict = verify_file(path)
    for problem in verdict.problems:
        print(f"PROBLEM: {problem}")
    for note in verdict.notes:
        print(f"  {note}")
    if verdict.ok:
        print(f"{path}: ok (file intact, attendance and audit chains whole)")
        return 0
    print(f"{path}: {len(verdict.problems)} problem(s) found", file=sys.stderr)
    return 1


def cmd_backup(args: argparse.Namespace) -> int:
    from faceattend.store.backup import daily_backup, list_backups

    path = _settings(args).database_path()
    if args.list:
        for found in list_backups(path):
            print(f"{found}\t{found.stat().st_size} bytes")
        return 0
    with Store(path, backups=False) as store:
        made = daily_backup(store)
    print(f"backed up to {made}" if made else "today's backup already exists (or nobody is enrolled yet)")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from faceattend.store.backup import restore

    path = _settings(args).database_path()
    used, aside = restore(path, Path(args.backup) if args.backup else None)
    print(f"restored {path} from {used}")
    if aside is not None:
        print(f"the file it replaced is kept as {aside} (delete it once you are sure)")
    return 0


def remove_person(args: argparse.Namespace, store: Store) -> int:
    """``people remove|archive|erase NAME``: ``remove`` explains the two ways and changes nothing."""
    from faceattend.store.erase import archive_person, erase_person

    person = store.find_person(args.name)
    if person is None:
        raise StoreError(f"nobody called {args.name!r} is enrolled")
    if args.action == "remove":
        print(f"choose how to remove {person.name}:\n"
              f"  faceattend people archive {person.name!r}   a leaver: face data erased, no longer "
              "recognised, attendance kept under their name\n"
              f"  faceattend people erase {person.name!r}     a privacy request: everything about them "
              "erased; the audit trail keeps only a count", file=sys.stderr)
        return 2
    report = (archive_person if args.action == "archive" else erase_person)(store, person.id)
    retired = _retire_models(args, store, report.name)
    if args.action == "archive":
        print(f"archived {report.name}: {report.samples} face sample(s) erased, attendance kept")
    else:
        print(f"erased {report.name}: {report.samples} sample(s), {report.records} attendance record(s), "
              f"{report.audit_events} audit event(s)")
    for line in report.backups + [f"model {name} retired (trained on their face)" for name in retired]:
        print(f"  {line}")
    if not report.wal_emptied:
        print("warning: another program (the window?) is reading the database; close it so the "
              "erased data leaves the -wal file", file=sys.stderr)
        return 1
    return 0


def _retire_models(args: argparse.Namespace, store: Store, name: str) -> list[str]:
    from faceattend.train.versions import retire_models_for

    return retire_models_for(store, _settings(args), [name])


def add_records_parsers(sub: argparse._SubParsersAction) -> list[argparse.ArgumentParser]:
    """Add ``verify``, ``backup`` and ``restore``; returns their parsers (cli.py adds --db)."""
    parsers = []
    command = sub.add_parser("verify", help="check the database and the tamper-evident log",
                             description="Check the file (integrity_check), the hash chains of the attendance "
                                         "records and the audit trail; exit 1 and say what is wrong.")
    command.set_defaults(handler=cmd_verify)
    parsers.append(command)
    command = sub.add_parser("backup", help="make today's backup now, or list backups")
    command.add_argument("--list", action="store_true", help="list the backups")
    command.set_defaults(handler=cmd_backup)
    parsers.append(command)
    command = sub.add_parser("restore", help="put a backup in place of the database (close the app first)")
    command.add_argument("backup", nargs="?", help="backup file (default: the newest)")
    command.set_defaults(handler=cmd_restore)
    parsers.append(command)
    return parsers
