"""The administrator password (scrypt, in the database) and the command line's ownership rule,
with the real CLI as a subprocess on real SQLite files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from faceattend import admin
from faceattend.store import Store, audit

PASSWORD = "correct horse battery"


def run_cli(*args: str, db: Path, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "faceattend", "--db", str(db), *args], input=stdin,
                          capture_output=True, text=True, env=dict(os.environ), timeout=120)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    data = tmp_path / "school"
    data.mkdir(mode=0o700)
    return data


def test_hash_is_scrypt_salted_and_checks() -> None:
    first, second = admin.hash_password(PASSWORD), admin.hash_password(PASSWORD)
    assert first.startswith("scrypt$15$8$1$") and first != second, "a random salt per hash"
    assert PASSWORD not in first
    assert admin.check_password(PASSWORD, first) and admin.check_password(PASSWORD, second)
    assert not admin.check_password("correct horse battery ", first)
    assert not admin.check_password(PASSWORD, "scrypt$15$8$1$zz$00"), "a damaged hash is a refusal, not a crash"
    assert not admin.check_password(PASSWORD, "plain")
    # the same password typed with a compatibility character (full-width digit) still matches
    assert admin.check_password("secret\uff11234", admin.hash_password("secret1234"))


def test_password_rules_and_change_needs_the_current_one(folder: Path) -> None:
    with Store(folder / "a.db") as store:
        assert not admin.has_password(store) and admin.verify(store, "anything")
        with pytest.raises(admin.AdminError, match="at least 8"):
            admin.set_password(store, "short")
        admin.set_password(store, PASSWORD)
        assert admin.has_password(store)
        assert admin.verify(store, PASSWORD) and not admin.verify(store, "wrong password")
        with pytest.raises(admin.AdminError, match="current administrator password is wrong"):
            admin.set_password(store, "another password", current="wrong password")
        admin.set_password(store, "another password", current=PASSWORD)
        assert admin.verify(store, "another password") and not admin.verify(store, PASSWORD)
        actions = [(e.action, e.detail) for e in audit.events(store)]
    assert ("admin", {"change": "password-set"}) in actions
    assert ("admin", {"change": "password-changed"}) in actions
    assert actions.count(("login", {"ok": False})) == 2, "failed attempts leave a trace"


def test_password_is_never_stored_in_clear(folder: Path) -> None:
    with Store(folder / "a.db") as store:
        admin.set_password(store, PASSWORD)
        other = Store(folder / "a.db")  # the window keeps a connection open
        assert admin.verify(other, PASSWORD)
        other.close()
    for path in folder.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path


def test_owner_problem(folder: Path) -> None:
    assert admin.owner_problem(folder) is None
    folder.chmod(0o770)
    assert "chmod 700" in admin.owner_problem(folder)
    folder.chmod(0o700)
    if os.geteuid() == 0:
        os.chown(folder, 65534, -1)
        assert "not to you" in admin.owner_problem(folder)


def test_cli_set_password_and_recovery_are_logged(folder: Path) -> None:
    db = folder / "a.db"
    assert "not set" in run_cli("admin", "status", db=db).stdout
    done = run_cli("admin", "set-password", db=db, stdin=f"{PASSWORD}\n")
    assert done.returncode == 0, done.stderr
    assert "set" in run_cli("admin", "status", db=db).stdout
    wrong = run_cli("admin", "set-password", db=db, stdin="not it at all\nnew password 1\n")
    assert wrong.returncode == 1 and "current administrator password is wrong" in wrong.stderr
    # the recovery path: the owner of the data folder resets it without knowing it
    done = run_cli("admin", "reset-password", db=db, stdin="brand new password\n")
    assert done.returncode == 0 and "reset" in done.stdout, done.stderr
    with Store(db) as store:
        assert admin.verify(store, "brand new password")
        resets = [e for e in audit.events(store, action="admin") if e.detail["change"] == "password-reset"]
        assert len(resets) == 1 and resets[0].actor.startswith("cli:")
    assert run_cli("admin", "reset-password", "--remove", db=db).returncode == 0
    with Store(db) as store:
        assert not admin.has_password(store)


def test_cli_refuses_changes_and_exports_in_a_folder_others_can_write(folder: Path, tmp_path: Path) -> None:
    db = folder / "a.db"
    with Store(db) as store:
        store.add_person("Ada Lovelace")
    folder.chmod(0o777)
    try:
        for args in (["people", "rename", "Ada Lovelace", "Ada King"], ["export", "--csv", str(tmp_path / "x.csv")],
                     ["people", "export", "Ada Lovelace", "--to", str(tmp_path)], ["retention", "apply"],
                     ["admin", "reset-password", "--remove"]):
            done = run_cli(*args, db=db)
            assert done.returncode == 1, args
            assert "other users can write" in done.stderr and "Traceback" not in done.stderr, args
        listed = run_cli("people", db=db)
        assert listed.returncode == 0 and "Ada Lovelace" in listed.stdout, "reading is left to the permissions"
    finally:
        folder.chmod(0o700)
    assert not (tmp_path / "x.csv").exists()
    assert run_cli("people", "rename", "Ada Lovelace", "Ada King", db=db).returncode == 0


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to give the folder away")
def test_cli_refuses_data_owned_by_another_user(folder: Path) -> None:
    db = folder / "a.db"
    with Store(db) as store:
        admin.set_password(store, PASSWORD)
    os.chown(folder, 65534, 65534)
    done = run_cli("admin", "reset-password", "--remove", db=db)
    assert done.returncode == 1 and "not to you" in done.stderr
    with Store(db) as store:
        assert admin.has_password(store), "nothing changed"
