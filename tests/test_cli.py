"""The real command line as a subprocess, against a real SQLite file."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import data_path


def run_cli(*args: str, db: Path, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "faceattend", "--db", str(db), *args],
                          capture_output=True, text=True, env=env, timeout=300)


def test_enrol_identify_checkin_export(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    obama = sorted(data_path("portraits", "obama").glob("*.jpg"))
    biden = data_path("portraits", "biden", "biden.jpg")
    clip = data_path("videos", "short_hamilton_clip.mp4")
    ref = data_path("videos", "hamilton_refs", "lin-manuel-miranda.png")

    done = run_cli("enroll", "Barack Obama", str(obama[0]), str(obama[1]), db=db)
    assert done.returncode == 0, done.stderr
    assert "enrolled Barack Obama: 2 photo(s)" in done.stdout

    done = run_cli("identify", "--json", str(obama[2]), str(biden), db=db)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert [f["name"] for f in result[0]["faces"]] == ["Barack Obama"]
    assert [f["name"] for f in result[1]["faces"]] == ["Unknown"]

    assert run_cli("enroll", "Lin-Manuel Miranda", str(ref), db=db).returncode == 0
    done = run_cli("checkin", "--source", str(clip), "--max-frames", "60", "--frames-needed", "3", db=db)
    assert done.returncode == 0, done.stderr
    assert "check-in Lin-Manuel Miranda" in done.stdout

    out = tmp_path / "day.csv"
    assert run_cli("export", "--csv", str(out), db=db).returncode == 0
    with open(out, encoding="utf-8-sig", newline="") as handle:
        rows = {r["name"]: r["status"] for r in csv.DictReader(handle)}
    assert rows == {"Barack Obama": "absent", "Lin-Manuel Miranda": "present"}


def test_people_rename_and_remove(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    obama = data_path("portraits", "obama", "obama.jpg")
    assert run_cli("enroll", "Obama", str(obama), db=db).returncode == 0
    assert run_cli("enroll", "Someone", str(obama), db=db).stderr.startswith("warning: ")
    taken = run_cli("people", "rename", "Someone", "obama", db=db)
    assert taken.returncode == 1 and "already taken" in taken.stderr
    assert run_cli("people", "rename", "Someone", "Barack", db=db).returncode == 0
    assert run_cli("people", "remove", "Barack", db=db).returncode == 0
    listed = run_cli("people", "--json", db=db)
    assert [p["name"] for p in json.loads(listed.stdout)] == ["Obama"]


@pytest.mark.parametrize("args, message", [
    (["enroll", "Nobody", "/no/such/photo.jpg"], "cannot read"),
    (["identify", "{bad_image}"], "not an image"),
    (["export", "--csv", "/no/such/dir/x.csv"], "cannot write"),
    (["export", "--csv", "x.csv", "--from", "yesterday"], "not a date"),
    (["checkin", "--source", "/no/such/video.mp4"], "nobody is enrolled"),
    (["people", "remove", "Ghost"], "nobody called"),
    (["eval", "lfw", "--pairs", "/nope"], "needs --pairs"),
])
def test_user_errors_are_one_line_without_traceback(tmp_path: Path, args: list[str], message: str) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not really a jpeg")
    args = [a.replace("{bad_image}", str(bad)) for a in args]
    done = run_cli(*args, db=tmp_path / "e.db")
    assert done.returncode != 0
    assert message in done.stderr and "Traceback" not in done.stderr
    if args[0] != "enroll":  # enroll names each refused photo, then the outcome
        assert len(done.stderr.strip().splitlines()) == 1


def test_corrupt_database_is_reported(tmp_path: Path) -> None:
    db = tmp_path / "broken.db"
    db.write_bytes(b"garbage" * 500)
    done = run_cli("people", db=db)
    assert done.returncode == 1 and "damaged" in done.stderr and "Traceback" not in done.stderr
