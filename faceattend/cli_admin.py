"""Command-line side of the operator lock and of privacy: ``admin``, ``people export``,
``retention apply``, and the ownership rule every changing command follows.

The rule (see ``faceattend.admin``): the command line does not ask for the administrator
password; it changes or exports data only when it runs as the OS user who owns the data folder
and no other user can write there. Reading commands (``people list``, ``identify``, ``eval``,
``verify``, ``admin status``) are left to the folder's permissions.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from pathlib import Path

from faceattend import admin, privacy
from faceattend.store import Store

#: Commands that only read; every other command (and any added later) changes or exports data.
READ_ONLY_COMMANDS = {"identify", "eval", "verify"}


def changes_data(args: argparse.Namespace) -> bool:
    command = getattr(args, "command", None)
    if command is None or command in READ_ONLY_COMMANDS:
        return False  # no command: the window, which has its own lock
    if command == "people":
        return getattr(args, "action", None) not in (None, "list")
    if command == "admin":
        return getattr(args, "admin_action", None) != "status"
    if command == "train":
        return not getattr(args, "list", False)
    return True


def refuse_unless_owner(args: argparse.Namespace) -> None:
    """Raise AdminError when this command would change or export data this user does not own."""
    if not changes_data(args):
        return
    from faceattend.cli import _settings

    folder = _settings(args).database_path().parent
    if not folder.exists():
        return  # created now, by this user, closed to others (paths.py)
    problem = admin.owner_problem(folder)
    if problem:
        raise admin.AdminError(problem)


def _open(args: argparse.Namespace) -> Store:
    from faceattend.cli import _open as open_store

    return open_store(args)[1]


def _read_secret(prompt: str) -> str:
    """A password from the terminal without echo, or one line of standard input (scripts, tests)."""
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    line = sys.stdin.readline()
    if not line:
        raise admin.AdminError(f"no password given ({prompt.strip().rstrip(':')} expected on standard input)")
    return line.rstrip("\r\n")


def _new_password() -> str:
    new = _read_secret("New administrator password: ")
    admin.check_new_password(new)
    if sys.stdin.isatty() and getpass.getpass("Again: ") != new:
        raise admin.AdminError("the two passwords differ; nothing was changed")
    return new


# -- commands -----------------------------------------------------------------------------
def cmd_admin(args: argparse.Namespace) -> int:
    store = _open(args)
    if args.admin_action == "status":
        state = "set" if admin.has_password(store) else "not set (the window is unlocked)"
        print(f"administrator password: {state}")
        return 0
    if args.admin_action == "set-password":
        current = _read_secret("Current administrator password: ") if admin.has_password(store) else None
        admin.set_password(store, _new_password(), current)
        print("administrator password set; the window locks to check-in until it is unlocked")
        return 0
    # reset-password: the recovery path, for the owner of the data folder (checked before this runs)
    if args.remove:
        admin.reset_password(store, None)
        print("administrator password removed; the window is unlocked (logged in the audit trail)")
    else:
        admin.reset_password(store, _new_password())
        print("administrator password reset (logged in the audit trail)")
    return 0


def cmd_people_export(args: argparse.Namespace, store: Store, person_id: int) -> int:
    if not args.to:
        raise admin.AdminError("people export needs --to DIR, the folder to write into")
    report = privacy.export_person(store, person_id, Path(args.to))
    print(f"exported {report.describe()} to {report.folder}")
    return 0


def cmd_retention(args: argparse.Namespace) -> int:
    from faceattend.cli import _settings

    settings = _settings(args)
    months = settings.retention_months if args.months is None else args.months
    drop = settings.retention_drop_crops or args.drop_crops
    store = Store(settings.database_path())
    report = privacy.apply_retention(store, months, drop, always_log=True)
    print(report.describe())
    if not report.wal_emptied:
        print("warning: another program has the database open; the deleted content leaves the "
              "journal file when it closes", file=sys.stderr)
    return 0


def _months(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of months") from None
    if not 0 <= value <= 1200:
        raise argparse.ArgumentTypeError(f"{value} is not from 0 to 1200 months (0 keeps everything)")
    return value


def add_admin_parsers(sub: argparse._SubParsersAction) -> list[argparse.ArgumentParser]:
    """``admin`` and ``retention``; returns the parsers so cli.py adds its common options."""
    made: list[argparse.ArgumentParser] = []

    def add(name: str, handler: Callable[[argparse.Namespace], int], text: str) -> argparse.ArgumentParser:
        parser = sub.add_parser(name, help=text, description=text)
        parser.set_defaults(handler=handler)
        made.append(parser)
        return parser

    admin_parser = add("admin", cmd_admin, "the administrator password that locks the window "
                       "(passwords are read from the terminal, or one per line from standard input)")
    admin_parser.add_argument("admin_action", choices=["status", "set-password", "reset-password"],
                              help="reset-password: the recovery path when the password is forgotten; only the "
                                   "owner of the data folder can run it, and it is logged")
    admin_parser.add_argument("--remove", action="store_true",
                              help="reset-password: remove the password instead of setting a new one")
    retention = add("retention", cmd_retention, "apply the retention setting now: delete attendance records "
                    "and audit events older than N months, optionally every face image")
    retention.add_argument("retention_action", choices=["apply"])
    retention.add_argument("--months", type=_months, help="override the setting (0 keeps every record)")
    retention.add_argument("--drop-crops", action="store_true",
                           help="also delete every face image, keeping only the embeddings")
    return made
