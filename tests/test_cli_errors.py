"""The command line prints a user's mistake as one line, and lets a bug keep its traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from faceattend import cli
from faceattend.config import SettingsError
from faceattend.errors import UserError
from faceattend.images import ImageError
from faceattend.pipeline import FaceCountError
from faceattend.session import start_time
from faceattend.store import StoreError
from faceattend.train.cli import TrainError
from faceattend.video_eval import AnnotationError


def _failing_command(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    """``faceattend export`` raises ``error`` from inside the command."""
    def command(_args: object) -> int:
        raise error

    monkeypatch.setattr(cli, "cmd_export", command)


@pytest.mark.parametrize("error", [
    UserError("u"), TrainError("t"), FaceCountError("f"), AnnotationError("a"), ImageError("i"),
    SettingsError("s"), StoreError("d"), FileNotFoundError("n"),
], ids=type)
def test_a_user_error_is_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                  tmp_path: Path, error: Exception) -> None:
    _failing_command(monkeypatch, error)
    assert cli.main(["export", "--csv", str(tmp_path / "out.csv")]) == 1
    err = capsys.readouterr().err
    assert err == f"faceattend: error: {error}\n"


@pytest.mark.parametrize("error", [ValueError("internal"), TypeError("internal")], ids=type)
def test_a_programming_error_keeps_its_traceback(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                 error: Exception) -> None:
    """A plain ValueError from deep inside (a wrong shape, a bad argument) is a bug, not a message."""
    _failing_command(monkeypatch, error)
    with pytest.raises(type(error), match="internal"):
        cli.main(["export", "--csv", str(tmp_path / "out.csv")])


def test_a_mistyped_date_is_still_a_message(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert cli.main(["export", "--csv", str(tmp_path / "out.csv"), "--from", "yesterday"]) == 1
    assert capsys.readouterr().err == "faceattend: error: 'yesterday' is not a date like 2026-09-01\n"
    assert not (tmp_path / "out.csv").exists()


def test_start_time_problems_are_user_errors() -> None:
    """``checkin --start-time`` on a camera: a sentence for the user, which the CLI prints as one line."""
    with pytest.raises(UserError, match="for video files"):
        start_time("2026-12-03 08:00", object())  # type: ignore[arg-type]
