"""User settings as a dataclass, stored as TOML in the user data folder. No Qt here."""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

from faceattend.match import DEFAULT_THRESHOLD
from faceattend.paths import data_dir


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
    cooldown_minutes: float = 30.0  # no second check-in of the same person within this time
    database: str = ""  # empty: <data folder>/faceattend.db
    extra: dict[str, str] = field(default_factory=dict)

    def database_path(self) -> Path:
        return Path(self.database) if self.database else data_dir() / "faceattend.db"


def settings_path() -> Path:
    return data_dir() / "settings.toml"


def load_settings(path: Path | None = None) -> Settings:
    """Read settings, ignoring unknown keys and falling back to defaults for bad values.

    A damaged settings file must never stop the app from opening.
    """
    path = path or settings_path()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return Settings()
    defaults = Settings()
    values = {}
    for f in dataclasses.fields(Settings):
        if f.name in raw:
            wanted = type(getattr(defaults, f.name))
            value = raw[f.name]
            if wanted is float and isinstance(value, int):
                value = float(value)
            if isinstance(value, wanted):
                values[f.name] = value
    return Settings(**values)


def command_line_settings(db: str | None, device: str | None, threshold: float | None) -> Settings:
    """The saved settings with the command line's ``--db``, ``--device``, ``--threshold`` on top
    (for this run only: nothing is saved)."""
    settings = load_settings()
    if db:
        settings = dataclasses.replace(settings, database=str(Path(db).resolve()))
    if device:
        settings = dataclasses.replace(settings, device=device)
    if threshold is not None:
        settings = dataclasses.replace(settings, threshold=threshold)
    return settings


def save_settings(settings: Settings, path: Path | None = None) -> None:
    """Write atomically, so a crash mid-write leaves the previous file intact."""
    path = path or settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(tomli_w.dumps(dataclasses.asdict(settings)), encoding="utf-8")
    tmp.replace(path)
