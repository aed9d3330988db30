"""The administrator password and who may change the data. No Qt here.

The password locks the window's administrative actions (kiosk mode: see ``gui/admin_lock.py``).
It is hashed with scrypt (``hashlib.scrypt``, OpenSSL's memory-hard KDF: 32 MiB and about a
fifth of a second per guess here, so a stolen hash is slow to guess on a GPU) with a random
salt; the clear password is never stored or logged.

Where the hash lives: in the database's ``meta`` table, not in a file of its own. The lock
protects a database, so it travels with it (``--db``, a moved data folder, a backup) and the
setting of a password commits in one transaction with its audit event. Whoever can write the
database file can remove the hash, but they can also change every record directly: the file
itself is guarded by the operating system (data folder 0700, files 0600), not by this module.

The command line does not ask for the password. It runs as an operating-system user, and
anyone who can run it as the owner of the data folder can open the database with any SQLite
tool, so a password prompt there would protect nothing and only break scheduled jobs. Instead
``owner_problem`` makes it refuse to change or export data unless it runs as the user who owns
the data folder and that folder is closed to other users; every change it makes is logged as
``cli:<user>``. That same owner can reset a forgotten password (``faceattend admin
reset-password``), which is the recovery path and is logged too.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
import sys
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING

from faceattend.store.errors import StoreError

if TYPE_CHECKING:
    from faceattend.store.db import Store

PASSWORD_KEY = "admin:password"
MIN_LENGTH = 8
MAX_LENGTH = 1024  # scrypt's cost does not depend on it, but a megabyte of "password" is a mistake
# scrypt cost: N=2**15, r=8 -> 128 * r * N = 32 MiB per hash (OWASP's minimum is N=2**17 at
# r=8, p=1 for a server hashing many logins; one kiosk unlock at a time can afford this and it
# keeps the unlock under half a second on a slow school computer).
LOG2_N, R, P = 15, 8, 1
SCHEME = "scrypt"


class AdminError(StoreError):
    """A wrong or unusable password, or a refused change; the message says what to do."""


def _normalise(password: str) -> bytes:
    """NFKC, so the same password typed on another keyboard layout or OS still matches."""
    return unicodedata.normalize("NFKC", password).encode("utf-8")


def _scrypt(password: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    maxmem = 256 * r * (2 ** log2_n) * p  # twice the work area: OpenSSL needs a little over 128rN
    return hashlib.scrypt(_normalise(password), salt=salt, n=2 ** log2_n, r=r, p=p, maxmem=maxmem, dklen=32)


def check_new_password(password: str) -> None:
    """Refuse passwords too short to stop a person at the kiosk from guessing them."""
    if len(password) < MIN_LENGTH:
        raise AdminError(f"the administrator password must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise AdminError(f"the administrator password must have at most {MAX_LENGTH} characters")
    if not password.strip():
        raise AdminError("the administrator password cannot be only spaces")


def hash_password(password: str) -> str:
    """``scrypt$<log2 N>$<r>$<p>$<salt hex>$<key hex>``: the parameters travel with the hash,
    so a later version can raise the cost and still check older hashes."""
    salt = secrets.token_bytes(16)
    key = _scrypt(password, salt, LOG2_N, R, P)
    return f"{SCHEME}${LOG2_N}${R}${P}${salt.hex()}${key.hex()}"


def check_password(password: str, stored: str) -> bool:
    """True when ``password`` matches ``stored``; False for a wrong one or a damaged hash."""
    try:
        scheme, log2_n, r, p, salt, key = stored.split("$")
        if scheme != SCHEME or not (10 <= int(log2_n) <= 22 and 1 <= int(r) <= 32 and 1 <= int(p) <= 16):
            return False
        expected = bytes.fromhex(key)
        actual = _scrypt(password, bytes.fromhex(salt), int(log2_n), int(r), int(p))
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(actual, expected)


# -- the password in a database ------------------------------------------------------------
def has_password(store: Store) -> bool:
    return bool(store.get_meta(PASSWORD_KEY))


def verify(store: Store, password: str) -> bool:
    """Check a password against the database's; logs failed attempts (a guesser leaves a trace)."""
    stored = store.get_meta(PASSWORD_KEY)
    if not stored:
        return True
    ok = check_password(password, stored)
    if not ok and store.read_only is None:
        store.log("login", None, {"ok": False})
    return ok


def set_password(store: Store, new: str, current: str | None = None) -> None:
    """Set or change the password; changing one needs the current one (else ``reset_password``)."""
    check_new_password(new)
    stored = store.get_meta(PASSWORD_KEY)
    if stored and (current is None or not check_password(current, stored)):
        raise AdminError("the current administrator password is wrong")
    digest = hash_password(new)
    with store.write("cannot save the administrator password"):
        store.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [PASSWORD_KEY, digest])
        store.log("admin", None, {"change": "password-changed" if stored else "password-set"})


def reset_password(store: Store, new: str | None) -> None:
    """The recovery path, for the owner of the data folder: replace (or, with None, remove) the
    password without knowing it. The command line checks ownership before calling this."""
    if new is not None:
        check_new_password(new)
    with store.write("cannot reset the administrator password"):
        if new is None:
            store.db.execute("DELETE FROM meta WHERE key = ?", [PASSWORD_KEY])
        else:
            store.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                             [PASSWORD_KEY, hash_password(new)])
        store.log("admin", None, {"change": "password-removed" if new is None else "password-reset"})


# -- who may change the data from the command line ------------------------------------------
def owner_problem(folder: Path) -> str | None:
    """Why this OS user must not change or export the data in ``folder``; None when it may.

    It may when it owns the folder and no other user can write to it (group or others). On
    Windows the per-user data folder is protected by its ACL and ownership is not compared.
    """
    if sys.platform == "win32" or not hasattr(os, "geteuid"):
        return None
    try:
        info = folder.stat()
    except OSError as error:
        return f"cannot check the data folder {folder}: {error.strerror or error}"
    me = os.geteuid()
    if info.st_uid != me:
        owner = _user_name(info.st_uid)
        return (f"the data folder {folder} belongs to {owner}, not to you; run faceattend as {owner} "
                "(changes and exports are allowed only to the owner of the data)")
    if stat.S_IMODE(info.st_mode) & 0o022:
        return (f"other users can write to the data folder {folder} "
                f"(permissions {stat.S_IMODE(info.st_mode):o}); close it first with: chmod 700 '{folder}'")
    return None


def _user_name(uid: int) -> str:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return f"user {uid}"
