"""User settings as a dataclass, stored as TOML in the user data folder. No Qt here.

Every field has a range (:data:`RANGES`, :func:`field_problem`), checked wherever a value comes
in: the settings file, the Settings dialog and the command line. A settings file that does not
parse or holds a value out of range is never used half-silently, overwritten or replaced by
defaults behind the user's back: :func:`load_settings` keeps a copy aside (``settings.toml.bad``)
and raises :class:`SettingsFileError`, which says what is wrong and what resetting would give.
The database matters most: a broken file may have named one, and opening the default database
instead would file new check-ins in an empty one; the caller decides (the CLI refuses, the
window asks).
"""

from __future__ import annotations

import dataclasses
import math
import re
import sys
import tempfile
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import tomli_w

from faceattend.match import DEFAULT_THRESHOLD
from faceattend.paths import data_dir, make_private

DEVICES = ("auto", "cpu", "cuda")
#: The schemes ``camera.open_source`` treats as network streams (kept equal by a test; importing
#: ``camera`` here would load OpenCV for every ``--help``).
STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https")
MAX_CAMERA_INDEX = 99


@dataclass
class Settings:
    """Everything a user can change; defaults are what the README's figures were measured with.

    ``threshold`` trades strangers for misses: a higher value lets fewer strangers check in but
    needs a clearer view of enrolled people (see ``faceattend.match``).
    """

    camera: str = "0"  # camera index, video file or RTSP URL
    threshold: float = DEFAULT_THRESHOLD
    min_face_size: int = 40
    scale_factor: float = 0.709
    device: str = "auto"  # auto | cpu | cuda
    auto_checkin: bool = False
    auto_checkin_frames: int = 5  # consecutive frames a person must be recognised in
    auto_checkin_evidence: int = 3  # independent embeddings (>= 0.3 s apart) that must name the person
    auto_checkin_margin: float = 0.08  # ...each this far ahead of the second-best person (cosine)
    cooldown_minutes: float = 30.0  # no second check-in of the same person within this time
    database: str = ""  # empty: <data folder>/faceattend.db
    admin_relock_minutes: float = 5.0  # an unlocked window locks again after this long without input
    retention_months: int = 0  # 0: keep every record; else delete records and audit events older than this
    retention_drop_crops: bool = False  # True: delete face crops, keep only the embeddings
    extra: dict[str, str] = field(default_factory=dict)

    def database_path(self) -> Path:
        return Path(self.database) if self.database else data_dir() / "faceattend.db"


@dataclass(frozen=True)
class Range:
    """The values a number may take, and why (the reason goes into every refusal)."""

    low: float
    high: float
    why: str
    integer: bool = False

    def text(self) -> str:
        if self.integer:
            return f"from {self.low:.0f} to {self.high:.0f}"
        return f"from {self.low:g} to {self.high:g}"


#: The numeric fields' ranges. A helper adding a numeric field adds its range here.
RANGES: dict[str, Range] = {
    "threshold": Range(0.2, 0.95, "below 0.2 strangers are named as enrolled people, above 0.95 nobody is "
                                   "recognised"),
    "min_face_size": Range(12, 1000, "12 px is the detector's smallest window; larger than 1000 px finds "
                                      "no face in a camera picture", integer=True),
    "scale_factor": Range(0.5, 0.85, "it is the step between the detector's image sizes: above 0.85 the steps "
                                      "multiply until detection crawls and eats memory (1.0 never ends), below "
                                      "0.5 faces between two sizes are missed"),
    "auto_checkin_frames": Range(1, 100, "a person must be recognised in at least 1 frame", integer=True),
    "auto_checkin_evidence": Range(1, 20, "a check-in needs at least 1 embedding of the face; more than 20 "
                                          "(6 s of a face in view) is never reached", integer=True),
    "auto_checkin_margin": Range(0, 0.5, "a margin is a difference of cosine scores: 0 accepts a near tie "
                                         "with another person, above 0.5 nobody is ever sure enough"),
    "cooldown_minutes": Range(1, 24 * 60, "below 1 minute a person in view is checked in again and again; "
                                          "at most a day"),
    "admin_relock_minutes": Range(1, 8 * 60, "an unlocked kiosk must lock itself again, at the latest after "
                                              "a working day"),
    "retention_months": Range(0, 1200, "0 keeps everything; records cannot be kept for a negative time",
                              integer=True),
}


class SettingsError(ValueError):
    """A setting the user gave is not usable; the message says which and why."""


class SettingsFileError(SettingsError):
    """The settings file cannot be used as it is.

    ``reasons`` says why (one sentence each); ``salvaged`` is what resetting gives: the valid
    values kept, defaults for the rest; ``database_known`` is False when the file may have named
    a database that ``salvaged`` does not (it did not parse, or its database is invalid), so
    using ``salvaged`` could switch databases; ``named_database`` is the database the text
    names, when it could be read; ``kept`` is the copy kept aside (None if it could not be made).
    """

    def __init__(self, path: Path, reasons: list[str], salvaged: Settings, database_known: bool,
                 named_database: str | None, kept: Path | None) -> None:
        self.path, self.reasons, self.salvaged = path, reasons, salvaged
        self.database_known, self.named_database, self.kept = database_known, named_database, kept
        super().__init__(f"the settings file {path} cannot be used: {'; '.join(reasons)}")

    def summary(self) -> str:
        """One line: what is wrong and where the copy is."""
        kept = f"a copy is kept in {self.kept}" if self.kept else "no copy could be kept"
        return f"{self} ({kept})"


# -- checks --------------------------------------------------------------------------------
def field_problem(name: str, value: object) -> str | None:
    """Why ``value`` cannot be the setting ``name`` (None when it can). Types are checked too."""
    default = getattr(Settings(), name)
    if isinstance(default, bool):
        return None if isinstance(value, bool) else f"{name} must be true or false, not {value!r}"
    if isinstance(default, (int, float)):
        return _number_problem(name, value, RANGES.get(name), isinstance(default, int))
    if name == "device":
        return None if value in DEVICES else f"device must be one of {', '.join(DEVICES)}, not {value!r}"
    if name == "camera":
        return camera_problem(value) if isinstance(value, str) else f"camera must be text, not {value!r}"
    if name == "database":
        return database_problem(value) if isinstance(value, str) else f"database must be text, not {value!r}"
    if name == "extra":
        ok = isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
        return None if ok else "extra must be a table of text values"
    return None if isinstance(value, type(default)) else f"{name} must be a {type(default).__name__}"


def _number_problem(name: str, value: object, limits: Range | None, integer: bool) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"{name} must be a number, not {value!r}"
    if integer and not (isinstance(value, int) or float(value).is_integer()):
        return f"{name} must be a whole number, not {value!r}"
    if not math.isfinite(value):
        return f"{name} must be a number, not {value!r}"
    if limits is not None and not limits.low <= value <= limits.high:
        return f"{name} {value!r} is out of range: it must be {limits.text()} ({limits.why})"
    return None


def problems(settings: Settings) -> dict[str, str]:
    """Field name -> why its value is not usable, for every field that is not."""
    found = {}
    for f in dataclasses.fields(Settings):
        reason = field_problem(f.name, getattr(settings, f.name))
        if reason:
            found[f.name] = reason
    return found


def camera_problem(text: str) -> str | None:
    """Why ``text`` is not a camera number, a stream address or a file path (syntax only: a file
    may live on a drive that is not plugged in yet)."""
    spec = text.strip()
    if not spec:
        return "the camera is empty: give a camera number (0, 1…), a video file or an rtsp:// address"
    if any(ord(c) < 32 for c in spec):
        return f"camera {spec!r} contains control characters"
    if any(c.isdigit() for c in spec) and all(c.isdigit() or c.isspace() for c in spec):
        if not (spec.isascii() and spec.isdecimal()):
            return f"camera {spec!r} is not a camera number: use the digits 0-9"
        if int(spec) > MAX_CAMERA_INDEX:
            return f"camera number {spec} is out of range: cameras are numbered 0 to {MAX_CAMERA_INDEX}"
        return None
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", spec):
        parts = urlsplit(spec)
        if parts.scheme.lower() not in STREAM_SCHEMES:
            return f"camera {spec!r}: {parts.scheme}:// is not a stream address; use {', '.join(STREAM_SCHEMES)}"
        if not parts.hostname:
            return f"camera {spec!r}: the stream address has no host"
    return None


def database_problem(text: str) -> str | None:
    """Why ``text`` cannot name the database file ("" is the default one in the data folder)."""
    if not text:
        return None
    if "\x00" in text:
        return "the database path contains a NUL character"
    path = Path(text).expanduser()
    if path.is_dir():
        return f"the database {path} is a folder, not a file"
    blocker = _file_in_the_way(path.parent)
    if blocker is not None:
        return f"the database {path} cannot exist: {blocker} is a file, not a folder"
    return None


def _file_in_the_way(folder: Path) -> Path | None:
    """The nearest existing ancestor of ``folder`` (itself included) when it is not a folder."""
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            return None if candidate.is_dir() else candidate
    return None


def data_folder_problem(folder: Path) -> str | None:
    """Why ``folder`` cannot hold the database: it must be (or become) a folder we can write in.

    Checked by writing a temporary file, since permission bits do not tell about read-only
    mounts or Windows access lists. A missing folder is fine when its parent can hold it.
    """
    if not folder.is_absolute():
        return f"the data folder {folder} is not a full path (start it with / or a drive letter)"
    blocker = _file_in_the_way(folder)
    if blocker is not None:
        return f"the data folder {folder} cannot be made: {blocker} is a file, not a folder"
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        return f"the data folder {folder} is not writable: cannot write in {existing} ({error.strerror or error})"
    if (folder / "faceattend.db").is_dir():
        return f"{folder / 'faceattend.db'} is a folder, so the database cannot be kept in {folder}"
    return None


def cuda_problem() -> str | None:
    """Why the networks cannot run on CUDA here (None when they can). Imports torch."""
    import torch

    if torch.cuda.is_available():
        return None
    if torch.version.cuda is None:
        return f"this installation's torch {torch.__version__} is built for the CPU only (no CUDA)"
    return "no CUDA GPU (or no working NVIDIA driver) was found on this computer"


# -- the file ------------------------------------------------------------------------------
def settings_path() -> Path:
    return data_dir() / "settings.toml"


def load_settings(path: Path | None = None) -> Settings:
    """The saved settings; defaults when there is no file yet (the first start).

    Unknown keys are ignored (a newer version may have written them). Raises
    :class:`SettingsFileError` when the file cannot be read, does not parse or holds a value
    that fails :func:`field_problem`, after keeping a copy of it aside.
    """
    path = path or settings_path()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return Settings()
    except OSError as error:
        raise SettingsFileError(path, [f"it cannot be read ({error.strerror or error})"], Settings(),
                                False, None, None) from None
    salvaged, reasons, database_known, named = _read(data)
    if not reasons:
        return salvaged
    raise SettingsFileError(path, reasons, salvaged, database_known, named, keep_aside(path, data))


def _read(data: bytes) -> tuple[Settings, list[str], bool, str | None]:
    """(valid values over defaults, what is wrong, database known, database named) of a file."""
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        return Settings(), ["it is not UTF-8 text"], b"database" not in data, None
    except tomllib.TOMLDecodeError as error:
        named = _database_line(data.decode("utf-8"))
        return Settings(), [f"it does not parse ({error})"], named == "", named or None
    values: dict[str, object] = {}
    reasons = []
    for f in dataclasses.fields(Settings):
        if f.name not in raw:
            continue
        value = raw[f.name]
        reason = field_problem(f.name, value)
        if reason:
            reasons.append(reason)
        else:
            values[f.name] = _coerce(getattr(Settings(), f.name), value)
    database_known = "database" in values or "database" not in raw
    named = raw.get("database") if isinstance(raw.get("database"), str) else None
    return Settings(**values), reasons, database_known, named  # type: ignore[arg-type]


def _coerce(default: object, value: object) -> object:
    """A checked TOML value as the field's own type (TOML's 40.0 for an int field, 30 for a float)."""
    if isinstance(default, bool) or not isinstance(value, (int, float)):
        return value
    return int(value) if isinstance(default, int) else float(value)


def _database_line(text: str) -> str | None:
    """The database a file that does not parse names: its value when that one line parses,
    "" when the text names no database at all, None when it seems to name one we cannot read."""
    lines = [line for line in text.splitlines() if re.match(r"\s*database\s*=", line)]
    if not lines and "database" not in text:
        return ""
    if len(lines) == 1:
        try:
            value = tomllib.loads(lines[0].strip()).get("database")
        except tomllib.TOMLDecodeError:
            return None
        return value if isinstance(value, str) and value else None
    return None


def keep_aside(path: Path, data: bytes) -> Path | None:
    """Copy a bad settings file to ``<name>.bad`` (``.bad.1``, ``.bad.2``… when an older, different
    copy is there; a copy with the same content is reused). None if no copy could be written."""
    for n in range(100):
        candidate = path.with_name(path.name + (".bad" if n == 0 else f".bad.{n}"))
        try:
            if candidate.exists():
                if candidate.read_bytes() == data:
                    return candidate
                continue
            with open(candidate, "xb") as handle:
                handle.write(data)
            return candidate
        except OSError:
            return None
    return None


def save_settings(settings: Settings, path: Path | None = None) -> None:
    """Write atomically, so a crash mid-write leaves the previous file intact.

    Refuses invalid settings (:class:`SettingsError`), and keeps a copy of a file it replaces
    that would not load, so no typed-in value is ever lost to a save.
    """
    found = problems(settings)
    if found:
        raise SettingsError("; ".join(found.values()))
    path = path or settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        old = path.read_bytes()
    except OSError:
        old = None
    if old is not None and _read(old)[1]:
        keep_aside(path, old)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(tomli_w.dumps(dataclasses.asdict(settings)), encoding="utf-8")
    make_private(tmp)  # 0600: a stream address may carry its password
    tmp.replace(path)


# -- the command line ------------------------------------------------------------------------
def _stderr(line: str) -> None:
    print(f"faceattend: warning: {line}", file=sys.stderr)


def command_line_settings(db: str | None, device: str | None, threshold: float | None,
                          warn: Callable[[str], None] = _stderr, needs_database: bool = True) -> Settings:
    """The saved settings with the command line's ``--db``, ``--device``, ``--threshold`` on top
    (for this run only: nothing is saved).

    A broken settings file gets one warning line and its valid values are used, unless it may
    have named a database that cannot be read, the command needs one and no ``--db`` says which:
    then :class:`SettingsError` explains how to go on, since the default database may be another.
    """
    try:
        settings = load_settings()
    except SettingsFileError as error:
        if needs_database and not error.database_known and not db:
            raise SettingsError(_refusal(error)) from None
        warn(f"{error.summary()}; using defaults for what is wrong")
        settings = error.salvaged
    changes: dict[str, object] = {}
    if db:
        reason = database_problem(db)
        if reason:
            raise SettingsError(f"--db: {reason}")
        changes["database"] = str(Path(db).expanduser().resolve())
    if device:
        changes["device"] = device
    if threshold is not None:
        reason = field_problem("threshold", threshold)
        if reason:
            raise SettingsError(f"--threshold: {reason}")
        changes["threshold"] = threshold
    settings = dataclasses.replace(settings, **changes)  # type: ignore[arg-type]
    if settings.device == "cuda":
        reason = cuda_problem()
        if reason and device:
            raise SettingsError(f"--device cuda: {reason}; use --device cpu or auto")
        if reason:
            warn(f"the settings ask for device cuda, but {reason}: running on the CPU")
    return settings


def _refusal(error: SettingsFileError) -> str:
    where = f"; it names the database {error.named_database}" if error.named_database else \
        "; it may name a database that cannot be read"
    use = f"--db {error.named_database}" if error.named_database else "--db FILE"
    return (f"{error.summary()}{where}. Nothing was done, so that nothing goes into another database: "
            f"fix the file, or delete it to use the default database, or run with {use}")
