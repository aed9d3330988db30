"""The window's health log (what bench/soak.py reads): one JSON line per interval, only when asked."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from faceattend.gui import health

from gui_fixtures import ListSource, answers, make_window  # noqa: F401  (fixtures)


def test_no_log_unless_asked(make_window, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    monkeypatch.delenv(health.ENV_LOG, raising=False)
    assert health.attach(make_window(source=ListSource(count=0))) is None


def test_sample_records_memory_references_and_frames_painted(make_window, qtbot, tmp_path: Path,  # noqa: ANN001
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    main_window = make_window(source=ListSource(count=0))  # no camera frames: the test paints its own
    qtbot.waitExposed(main_window)
    view = main_window.live.view
    qtbot.waitUntil(lambda: view.message is not None and "Opening" not in view.message)  # the empty source ended
    target = tmp_path / "health.jsonl"
    monkeypatch.setenv(health.ENV_LOG, str(target))
    monkeypatch.setenv(health.ENV_EVERY, "3600")  # samples only when the test asks
    log = health.attach(main_window)
    assert log is not None
    frame = np.zeros((48, 64, 3), np.uint8)
    for shown, shade in enumerate((10, 20), start=1):
        view.set_frame(np.full_like(frame, shade))
        qtbot.waitUntil(lambda shown=shown: log.frames_painted == shown, timeout=3000)  # the event loop paints it
    view.update()
    qtbot.wait(200)  # painting the same frame again is not a new frame shown
    log.sample()
    record = json.loads(target.read_text().splitlines()[-1])
    assert record["painted"] == 2
    assert record["rss_mb"] > 10 and record["objects"] > 1000 and record["none_refs"] > 0
    assert {"longest_stall_ms", "stalls_over_100ms", "captured", "recognised", "t"} <= record.keys()
