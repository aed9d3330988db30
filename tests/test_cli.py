"""The real command line as a subprocess, against a real SQLite file."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from faceattend.embed import STOCK_MODEL
from faceattend.store import Store

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
    done = run_cli("checkin", "--source", str(clip), "--max-frames", "150", "--frames-needed", "3", db=db)
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
    asked = run_cli("people", "remove", "Barack", db=db)  # remove only explains archive and erase
    assert asked.returncode == 2 and "people archive" in asked.stderr and "people erase" in asked.stderr
    assert run_cli("people", "erase", "Barack", db=db).returncode == 0
    listed = run_cli("people", "--json", db=db)
    assert [p["name"] for p in json.loads(listed.stdout)] == ["Obama"]


@pytest.mark.parametrize("args, message", [
    (["enroll", "Nobody", "/no/such/photo.jpg"], "cannot read"),
    (["identify", "{bad_image}"], "not an image"),
    (["export", "--csv", "/no/such/dir/x.csv"], "cannot write"),
    (["export", "--csv", "x.csv", "--from", "yesterday"], "not a date"),
    (["checkin", "--source", "0"], "nobody is enrolled"),
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


def test_checkin_from_a_missing_file_names_the_source(tmp_path: Path) -> None:
    """With someone enrolled, so that the refusal can only be about the source."""
    db = tmp_path / "c.db"
    with Store(db) as store:
        person = store.add_person("Ada Lovelace")
        store.add_sample(person, np.full(128, 128 ** -0.5, np.float32), STOCK_MODEL,
                         np.zeros((112, 112, 3), np.uint8), 1.0, "test")
    done = run_cli("checkin", "--source", "/no/such/file.mp4", db=db)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "nobody is enrolled" not in done.stderr
    assert "/no/such/file.mp4" in done.stderr and "existing file" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_corrupt_database_is_reported(tmp_path: Path) -> None:
    db = tmp_path / "broken.db"
    db.write_bytes(b"garbage" * 500)
    done = run_cli("people", db=db)
    assert done.returncode == 1 and "damaged" in done.stderr and "Traceback" not in done.stderr


def test_identify_reports_each_bad_photo_and_goes_on(tmp_path: Path) -> None:
    """A bomb, a corrupt file and a 30 MP photo among good ones: each bad one is named with its
    reason, the others are identified, and boxes are in the photo's own pixels even when it was
    read reduced."""
    import cv2
    from test_images import write_png_bomb

    db = tmp_path / "i.db"
    obama = data_path("portraits", "obama", "obama.jpg")
    assert run_cli("enroll", "Obama", str(obama), db=db).returncode == 0
    big = tmp_path / "big.jpg"
    image = cv2.imread(str(obama))
    cv2.imwrite(str(big), cv2.resize(image, None, fx=5.5, fy=5.5))  # 5005x6253, 31 MP
    bomb = write_png_bomb(tmp_path / "bomb.png", 30000, 30000)
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(obama.read_bytes()[:3000])
    done = run_cli("identify", "--json", str(bomb), str(obama), str(corrupt), str(big), db=db)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    results = json.loads(done.stdout)
    assert [r["image"] for r in results] == [str(bomb), str(obama), str(corrupt), str(big)]
    assert "30000x30000 pixels" in results[0]["error"] and "refused" in results[0]["error"]
    assert "error" in results[2] or results[2]["faces"] == []  # a cut JPEG may decode grey at the bottom
    small, large = results[1]["faces"][0], results[3]["faces"][0]
    assert small["name"] == large["name"] == "Obama"
    for a, b in zip(small["box"], large["box"], strict=True):
        assert b == pytest.approx(5.5 * a, abs=0.04 * 5.5 * 240)  # the same face, in the big photo's pixels


@pytest.mark.parametrize("args, message", [
    (["--to", "9999-12-31"], "dates go up to 9999-12-30"),
    (["--from", "9999-12-31"], "dates go up to 9999-12-30"),
    (["--to", "9999-12-30"], "more than 3660 days"),
    (["--from", "2026-01-01", "--to", "2045-01-01"], "at most 10 years"),
])
def test_export_of_impossible_ranges_is_a_clear_error(tmp_path: Path, args: list[str], message: str) -> None:
    done = run_cli("export", "--csv", str(tmp_path / "x.csv"), *args, db=tmp_path / "x.db")
    assert done.returncode == 1 and message in done.stderr and "Traceback" not in done.stderr


def test_same_name_another_face_is_refused_without_add_to(tmp_path: Path) -> None:
    """Two different John Smiths never silently become one identity (#10); the same one may add photos."""
    db = tmp_path / "names.db"
    obama = sorted(data_path("portraits", "obama").glob("*.jpg"))
    biden = data_path("portraits", "biden", "biden.jpg")
    assert run_cli("enroll", "John Smith", str(obama[0]), db=db).returncode == 0

    other = run_cli("enroll", "JOHN SMITH", str(biden), db=db)  # another man, the name in capitals
    assert other.returncode == 1
    assert "already enrolled" in other.stderr and "does not look like them" in other.stderr
    assert "--add-to" in other.stderr

    same = run_cli("enroll", "john smith", str(obama[1]), db=db)  # the same man: his photos are welcome
    assert same.returncode == 0, same.stderr
    forced = run_cli("enroll", "John Smith", str(biden), "--add-to", db=db)
    assert forced.returncode == 0, forced.stderr
    listed = run_cli("people", db=db).stdout
    assert listed.count("John Smith") == 1 and "3 sample" in listed
