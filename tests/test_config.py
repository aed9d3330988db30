"""Settings that cannot break the app: ranges, broken files kept aside, no silent database switch.

The command line runs as a subprocess against a real settings file and real SQLite files, as a
user would run it.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from faceattend import camera
from faceattend.config import (
    RANGES,
    Settings,
    SettingsError,
    SettingsFileError,
    camera_problem,
    command_line_settings,
    data_folder_problem,
    field_problem,
    load_settings,
    problems,
    save_settings,
    settings_path,
)
from faceattend.store import Store

from conftest import data_path


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """The real CLI in the test's data folder (FACEATTEND_DATA_DIR is set by conftest)."""
    return subprocess.run([sys.executable, "-m", "faceattend", *args], capture_output=True, text=True,
                          env=dict(os.environ), timeout=300)


def write_settings(text: str) -> Path:
    path = settings_path()
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_are_in_range_and_round_trip(tmp_path: Path) -> None:
    assert problems(Settings()) == {}
    path = tmp_path / "settings.toml"
    saved = Settings(threshold=0.5, camera="clip.mp4", min_face_size=60, scale_factor=0.8, cooldown_minutes=2)
    save_settings(saved, path)
    assert load_settings(path) == saved
    assert not list(tmp_path.glob("*.bad*"))


def test_ints_written_as_floats_and_floats_as_ints_are_read_as_their_type(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text("min_face_size = 40.0\ncooldown_minutes = 5\n")
    loaded = load_settings(path)
    assert loaded.min_face_size == 40 and isinstance(loaded.min_face_size, int)
    assert loaded.cooldown_minutes == 5.0 and isinstance(loaded.cooldown_minutes, float)


@pytest.mark.parametrize("line, field, words", [
    ("threshold = -1", "threshold", "from 0.2 to 0.95"),
    ("threshold = nan", "threshold", "not nan"),
    ("threshold = 'high'", "threshold", "must be a number"),
    ("min_face_size = 0", "min_face_size", "from 12 to 1000"),
    ("min_face_size = 40.5", "min_face_size", "whole number"),
    ("scale_factor = 1.0", "scale_factor", "1.0 never ends"),
    ("scale_factor = 1.5", "scale_factor", "from 0.5 to 0.85"),
    ("cooldown_minutes = 0", "cooldown_minutes", "again and again"),
    ("auto_checkin_frames = 0", "auto_checkin_frames", "at least 1"),
    ("auto_checkin = 1", "auto_checkin", "true or false"),
    ("device = 'gpu'", "device", "auto, cpu, cuda"),
    ("camera = '²'", "camera", "digits 0-9"),
    ("camera = '99999999999999999999'", "camera", "0 to 99"),
    ("camera = 'rtsp://'", "camera", "no host"),
    ("camera = ''", "camera", "empty"),
    ("extra = {samples = 5}", "extra", "text values"),
])
def test_out_of_range_values_are_refused_with_the_reason(tmp_path: Path, line: str, field: str, words: str) -> None:
    path = tmp_path / "settings.toml"
    good = "" if field == "threshold" else "threshold = 0.6\n"
    text = f"database = '{tmp_path / 'school.db'}'\n{good}{line}\n"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SettingsFileError) as caught:
        load_settings(path)
    error = caught.value
    assert field in str(error) and words in str(error)
    assert path.read_text(encoding="utf-8") == text, "the file is never rewritten"
    assert error.kept == tmp_path / "settings.toml.bad" and error.kept.read_text(encoding="utf-8") == text
    assert error.database_known and error.salvaged.database == str(tmp_path / "school.db")
    assert getattr(error.salvaged, field) == getattr(Settings(), field), "the bad value is not used"
    if field != "threshold":
        assert error.salvaged.threshold == 0.6, "the good values are kept"


def test_a_database_under_a_regular_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("x")
    path = tmp_path / "settings.toml"
    path.write_text(f"database = '{tmp_path / 'file.txt' / 'faceattend.db'}'\n")
    with pytest.raises(SettingsFileError) as caught:
        load_settings(path)
    assert "is a file, not a folder" in str(caught.value)
    assert not caught.value.database_known, "resetting it would open another database: the caller must ask"


def test_a_file_that_does_not_parse_is_kept_aside_never_clobbering_an_older_copy(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    older = tmp_path / "settings.toml.bad"
    older.write_text("an older bad file\n")
    broken = 'database = "/x/school.db"\n]\nthreshold = 0.6\n'
    path.write_text(broken)
    for _ in range(2):  # a second start reuses the copy instead of piling up more
        with pytest.raises(SettingsFileError) as caught:
            load_settings(path)
        error = caught.value
        assert "does not parse" in str(error) and "line 2" in str(error)
        assert error.kept == tmp_path / "settings.toml.bad.1" and error.kept.read_text() == broken
    assert older.read_text() == "an older bad file\n"
    assert path.read_text() == broken
    assert not error.database_known and error.named_database == "/x/school.db"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["settings.toml", "settings.toml.bad", "settings.toml.bad.1"]


def test_a_broken_file_that_names_no_database_keeps_the_default_one(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text("threshold = 0.5\n[[[\n")
    with pytest.raises(SettingsFileError) as caught:
        load_settings(path)
    assert caught.value.database_known and caught.value.salvaged == Settings()


def test_saving_refuses_bad_values_and_keeps_a_bad_file_it_replaces(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    with pytest.raises(SettingsError, match="cooldown_minutes"):
        save_settings(Settings(cooldown_minutes=0), path)
    assert not path.exists()
    path.write_text('database = "/x/school.db"\n]\n')
    save_settings(Settings(), path)
    assert (tmp_path / "settings.toml.bad").read_text() == 'database = "/x/school.db"\n]\n'
    assert load_settings(path) == Settings()


def test_field_problem_checks_every_range_edge() -> None:
    for name, limits in RANGES.items():
        kind = int if limits.integer else float
        assert field_problem(name, kind(limits.low)) is None and field_problem(name, kind(limits.high)) is None
        step = 1 if limits.integer else 0.001
        for bad in (kind(limits.low) - step, kind(limits.high) + step):
            assert limits.why in str(field_problem(name, bad))
        assert field_problem(name, math.inf) is not None
        assert field_problem(name, True) is not None, "a bool is not a number here"


def test_camera_syntax() -> None:
    for good in ("0", " 1 ", "99", "rtsp://user:pw@cam.local/stream", "clip.mp4", "/videos/class 3.mkv"):
        assert camera_problem(good) is None, good
    for bad in ("", "  ", "100", "²", "١", "ftp://host/x", "http://", "cam\x00era"):
        assert camera_problem(bad), bad


def test_stream_schemes_agree_with_the_camera_module() -> None:
    from faceattend.config import STREAM_SCHEMES

    assert tuple(f"{s}://" for s in STREAM_SCHEMES) == camera.STREAM_SCHEMES


def test_data_folder_must_be_a_writable_folder(tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("x")
    assert "is a file, not a folder" in str(data_folder_problem(tmp_path / "file.txt" / "data"))
    assert "is a file, not a folder" in str(data_folder_problem(tmp_path / "file.txt"))
    assert "not a full path" in str(data_folder_problem(Path("relative/data")))
    assert data_folder_problem(tmp_path / "new" / "data") is None, "a missing folder is made"
    assert data_folder_problem(tmp_path) is None
    (tmp_path / "db" / "faceattend.db").mkdir(parents=True)
    assert "is a folder" in str(data_folder_problem(tmp_path / "db"))
    if Path("/proc/self").is_dir():  # never writable, even for root
        assert "not writable" in str(data_folder_problem(Path("/proc/faceattend")))


def test_command_line_settings_refuses_to_switch_databases(tmp_path: Path) -> None:
    write_settings(f'database = "{tmp_path / "school.db"}"\n]\n')
    with pytest.raises(SettingsError, match=f"--db {tmp_path / 'school.db'}"):
        command_line_settings(None, None, None, warn=print)
    warnings: list[str] = []
    settings = command_line_settings(str(tmp_path / "school.db"), None, None, warn=warnings.append)
    assert settings.database_path() == tmp_path / "school.db" and len(warnings) == 1
    assert command_line_settings(None, None, 0.5, warn=warnings.append, needs_database=False).threshold == 0.5
    with pytest.raises(SettingsError, match="--threshold"):
        command_line_settings(str(tmp_path / "school.db"), None, float("nan"), warn=warnings.append)


# -- the command line, as a subprocess --------------------------------------------------------
@pytest.mark.parametrize("args", [
    ["--threshold", "-1", "people"],
    ["people", "--threshold", "-1"],
    ["checkin", "--threshold", "nan", "--source", "x"],
    ["checkin", "--source", "²"],
    ["checkin", "--source", "99999999999999999999"],
    ["checkin", "--source", "0", "--cooldown", "0"],
    ["checkin", "--source", "0", "--frames-needed", "0"],
    ["people", "--db", "{file}/x.db"],
])
def test_bad_command_line_values_are_one_line_usage_errors(tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "file").write_text("x")
    done = run_cli(*[a.replace("{file}", str(tmp_path / "file")) for a in args])
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "error: argument" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_global_options_work_after_the_command_and_show_in_its_help(tmp_path: Path) -> None:
    db = tmp_path / "after.db"
    done = run_cli("people", "--threshold", "0.4", "--db", str(db), "--device", "cpu")
    assert done.returncode == 0, done.stderr
    assert db.is_file(), "--db after the command is the database used"
    done = run_cli("checkin", "--threshold", "0.4", "--source", "0", "--db", str(tmp_path / "c.db"))
    assert done.returncode == 1 and "nobody is enrolled" in done.stderr, "parsed, then refused on its merits"
    for command in ("checkin", "enroll", "people", "identify", "export", "eval", "train"):
        text = run_cli(command, "--help").stdout
        assert "--threshold" in text and "--db" in text and "--device" in text, command
    assert "from 0.2 to 0.95" in run_cli("checkin", "--help").stdout


def test_cli_refuses_a_broken_settings_file_that_names_a_database(tmp_path: Path) -> None:
    school = tmp_path / "school.db"
    with Store(school) as store:
        store.add_person("Ada Lovelace")
    broken = f'database = "{school}"\n]\ncooldown_minutes = 10\n'
    path = write_settings(broken)
    default_db = path.parent / "faceattend.db"
    for args in (["people"], ["enroll", "Grace", "photo.jpg"], ["checkin", "--source", "0"]):
        done = run_cli(*args)
        assert done.returncode == 1, (args, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
        assert f"--db {school}" in done.stderr and "settings.toml.bad" in done.stderr
    assert not default_db.exists(), "nothing was written to another database"
    assert path.read_text() == broken and (path.parent / "settings.toml.bad").read_text() == broken
    done = run_cli("people", "--db", str(school))
    assert done.returncode == 0 and done.stdout.startswith("Ada Lovelace")
    assert len(done.stderr.strip().splitlines()) == 1 and "warning" in done.stderr


def test_cli_uses_the_named_database_when_only_a_value_is_out_of_range(tmp_path: Path) -> None:
    school = tmp_path / "school.db"
    with Store(school) as store:
        store.add_person("Ada Lovelace")
    text = f'database = "{school}"\nthreshold = -1\n'
    path = write_settings(text)
    done = run_cli("people")
    assert done.returncode == 0 and done.stdout.startswith("Ada Lovelace"), done.stderr
    assert done.stderr.count("\n") == 1 and "threshold -1 is out of range" in done.stderr
    assert path.read_text() == text


def test_cuda_without_a_gpu_is_said_not_silently_replaced(tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA; the message is for machines without it")
    done = run_cli("people", "--device", "cuda", "--db", str(tmp_path / "x.db"))
    assert done.returncode == 1 and "--device cuda" in done.stderr and "CPU only" in done.stderr
    write_settings('device = "cuda"\n')
    done = run_cli("people", "--db", str(tmp_path / "x.db"))
    assert done.returncode == 0 and "running on the CPU" in done.stderr


# -- the detector follows run-time changes ------------------------------------------------------
def test_a_smaller_minimum_face_is_honoured_after_the_first_frame() -> None:
    """The pyramid cache was keyed by frame size only: raising min_face_size changed nothing."""
    import cv2

    from faceattend.detect import load_detector
    from faceattend.images import load_image

    image = load_image(data_path("portraits", "obama", "obama.jpg"))
    scale = 320 / max(image.shape[:2])
    frame = np.ascontiguousarray(cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA))
    detector = load_detector(min_face_size=20, device="cpu")
    found = detector.detect(frame)
    assert len(found) == 1
    x1, y1, x2, y2 = found[0].box
    side = max(x2 - x1, y2 - y1)
    detector.min_face_size = min(int(side * 2.5), min(frame.shape[:2]) - 1)  # the pyramid still has a level
    assert detector.detect(frame) == [], f"a {side:.0f} px face is well under the new minimum"
    detector.min_face_size = 20
    assert len(detector.detect(frame)) == 1
    detector.scale_factor = 1.0
    with pytest.raises(ValueError, match="scale_factor"):
        detector.detect(frame)


def test_the_settings_file_is_private_to_its_owner(tmp_path: Path) -> None:
    """A stream address may carry a password: the file is 0600 whatever the umask (#10)."""
    import stat

    path = tmp_path / "settings.toml"
    old = os.umask(0o022)
    try:
        save_settings(Settings(camera="rtsp://admin:secret@127.0.0.1/stream"), path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
