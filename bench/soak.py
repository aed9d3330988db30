"""Soak test: the real window on a looping video for as long as a school day's session.

Starts the app as a user would (its own process, a real X window on Xvfb, a fresh data folder),
with people enrolled through the app's own command line, the sample video as the camera (the
window loops video files) and automatic check-in on. The window writes a health line every few
seconds (``faceattend/gui/health.py``); this script watches the process from outside and prints:

- whether the process stayed alive for the whole run (and its exit status if it did not);
- resident memory after warm-up and at the end, its growth, and the bound it must stay under;
- Python objects alive and the reference count of ``None`` (a leaking Qt binding shows here);
- the GUI thread's longest stall, stalls over 100 ms, frames painted, captured and recognised per
  second;
- the check-ins recorded, per person, against the ones expected: one per cooldown for the
  performer who is on stage in every loop, none for people who are not in the video.

    make soak                                    # 60 minutes, the development install
    .venv/bin/python bench/soak.py --minutes 5   # a short run
    .venv/bin/python bench/soak.py --app build/pyi-dist/faceattend/faceattend --minutes 10   # frozen app

Exit status 0 when every check passed, 1 otherwise. Needs Xvfb (``scripts/system-deps.sh --xvfb``)
unless ``--offscreen``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from faceattend.paths import shared_data_dir  # noqa: E402  (imports nothing heavy)

DATA = shared_data_dir()
VIDEO = DATA / "videos" / "short_hamilton_clip.mp4"
PERFORMER = ("Lin-Manuel Miranda", DATA / "videos" / "hamilton_refs" / "lin-manuel-miranda.png")
#: People who are not in the video: a check-in of any of them is a false check-in.
ABSENT = [("Joe Biden", DATA / "portraits" / "biden"),
          *((name.replace("_", " "), DATA / "lfw_dev" / "deepfunneled" / name)
            for name in ("Colin_Powell", "Tony_Blair", "Hugo_Chavez", "Jacques_Chirac", "Laura_Bush", "Andre_Agassi"))]
WARM_UP_S = 120.0  # model loading, first allocations, caches: memory is compared from here on
CLIP_SLACK_S = 30.0  # the clip loops every 9 s: a performer due a check-in is seen again within this


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run the real window on a looping video and check its health.")
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--app", default=str(REPO / ".venv" / "bin" / "faceattend"),
                        help="the faceattend command to run (default: the development install)")
    parser.add_argument("--video", default=str(VIDEO))
    parser.add_argument("--cooldown", type=float, default=2.0, help="minutes between two check-ins of one person")
    parser.add_argument("--every", type=float, default=10.0, help="seconds between health samples")
    parser.add_argument("--max-growth-mb", type=float, default=64.0,
                        help="resident memory may grow at most this much after warm-up")
    parser.add_argument("--offscreen", action="store_true", help="Qt offscreen instead of a window on Xvfb")
    parser.add_argument("--keep", help="keep the data folder and logs here instead of a temporary folder")
    parser.add_argument("--json", help="also write the result as JSON to this file")
    return parser.parse_args(argv)


def _enrol(app: str, env: dict[str, str], folder: Path) -> list[str]:
    """Enrol the performer and the absent people with the app's own CLI; returns who was enrolled."""
    enrolled = []
    for name, path in [PERFORMER, *ABSENT]:
        photos = sorted(path.glob("*.jp*g"))[:3] if path.is_dir() else [path]
        if not photos:
            continue
        done = subprocess.run([app, "enroll", name, *map(str, photos)], env=env, capture_output=True, text=True,
                              timeout=600)
        if done.returncode != 0:
            raise SystemExit(f"enrolling {name} failed: {done.stdout}{done.stderr}")
        enrolled.append(name)
    (folder / "enrol.log").write_text("\n".join(enrolled) + "\n", encoding="utf-8")
    return enrolled


def _write_settings(data: Path, video: str, cooldown: float) -> None:
    lines = [f"camera = {json.dumps(video)}", "auto_checkin = true", f"cooldown_minutes = {cooldown}"]
    (data / "settings.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _start_display() -> tuple[subprocess.Popen[bytes], str]:
    """An Xvfb server on a free display number (Xvfb writes the number to the pipe it is given)."""
    read_end, write_end = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write_end), "-screen", "0", "1400x900x24", "-nolisten", "tcp"],
                            pass_fds=(write_end,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        number = pipe.readline().strip()
    if not number:
        raise SystemExit("Xvfb did not start (install it: bash scripts/system-deps.sh --xvfb)")
    return xvfb, f":{number}"


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _check_ins(database: Path) -> list[tuple[str, str]]:
    """(name, time) of every automatic check-in in the app's database."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT p.name, a.time FROM attendance a JOIN people p ON p.id = a.person_id "
                          "WHERE a.kind = 'check-in' ORDER BY a.time").fetchall()
    return [(str(name), str(when)) for name, when in rows]


def run(args: argparse.Namespace, folder: Path) -> dict[str, object]:
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "FACEATTEND_DATA_DIR": str(data)}
    enrolled = _enrol(args.app, env, folder)
    _write_settings(data, args.video, args.cooldown)
    health_path = folder / "health.jsonl"
    env.update(FACEATTEND_HEALTH_LOG=str(health_path), FACEATTEND_HEALTH_EVERY=str(args.every))
    xvfb = None
    if args.offscreen:
        env["QT_QPA_PLATFORM"] = "offscreen"
    else:
        xvfb, display = _start_display()
        env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb")
    log = (folder / "app.log").open("wb")
    started = time.monotonic()
    app = subprocess.Popen([args.app], env=env, stdout=log, stderr=subprocess.STDOUT)
    rss: list[tuple[float, float]] = []
    try:
        while time.monotonic() - started < args.minutes * 60 and app.poll() is None:
            time.sleep(min(5.0, args.every))
            rss.append((time.monotonic() - started, _rss_mb(app.pid)))
        alive = app.poll() is None
        ran_s = time.monotonic() - started
        if alive:
            app.send_signal(signal.SIGTERM)
            try:
                app.wait(30)
            except subprocess.TimeoutExpired:
                app.kill()
    finally:
        if app.poll() is None:
            app.kill()
        if xvfb is not None:
            xvfb.terminate()
        log.close()
    samples = [json.loads(line) for line in health_path.read_text().splitlines()] if health_path.exists() else []
    return _summary(args, enrolled, alive, app.returncode, ran_s, rss, samples, _check_ins(data / "faceattend.db"))


def _summary(args: argparse.Namespace, enrolled: list[str], alive: bool, returncode: int | None, ran_s: float,
             rss: list[tuple[float, float]], samples: list[dict],
             check_ins: list[tuple[str, str]]) -> dict[str, object]:
    warm = [s for s in samples if s["t"] >= WARM_UP_S] or samples[-1:]
    first, last = (warm[0], samples[-1]) if samples else ({}, {})
    rates = []
    for a, b in zip(samples, samples[1:], strict=False):
        dt = b["t"] - a["t"]
        if dt > 0 and a["t"] >= WARM_UP_S:
            rates.append({k: (b[k] - a[k]) / dt for k in ("painted", "captured", "recognised")})
    counts = Counter(name for name, _ in check_ins)
    times = [datetime.fromisoformat(when) for name, when in check_ins if name == PERFORMER[0]]
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
    expected = int(ran_s // (args.cooldown * 60 + CLIP_SLACK_S / 2))  # about one per cooldown
    growth = (last.get("rss_mb", float("nan")) - first.get("rss_mb", float("nan"))) if samples else float("nan")
    result: dict[str, object] = {
        "app": args.app, "video": Path(args.video).name, "minutes_asked": args.minutes, "ran_s": round(ran_s, 1),
        "alive": alive, "returncode_after_sigterm" if alive else "died_with": returncode,
        "enrolled": enrolled, "samples": len(samples),
        "rss_mb_after_warm_up": first.get("rss_mb"), "rss_mb_end": last.get("rss_mb"),
        "rss_mb_max": max((r for _, r in rss if r == r), default=None), "rss_growth_mb": round(growth, 1),
        "max_growth_mb": args.max_growth_mb,
        "objects_after_warm_up": first.get("objects"), "objects_end": last.get("objects"),
        "none_refs_after_warm_up": first.get("none_refs"), "none_refs_end": last.get("none_refs"),
        "longest_stall_ms": max((s["longest_stall_ms"] for s in warm), default=None),
        "stalls_over_100ms": sum(s["stalls_over_100ms"] for s in warm),
        "painted_fps_median": _median(rates, "painted"), "painted_fps_min": _minimum(rates, "painted"),
        "captured_fps_median": _median(rates, "captured"), "recognised_fps_median": _median(rates, "recognised"),
        "check_ins": dict(counts), "performer_gaps_s": [round(g) for g in gaps],
        "false_check_ins": sum(counts[name] for name, _ in ABSENT),
        "check_in_times": check_ins,
    }
    cooldown_s = args.cooldown * 60
    result["checks"] = {
        "alive for the whole run": alive,
        f"memory growth after warm-up under {args.max_growth_mb:.0f} MB":
            growth == growth and growth < args.max_growth_mb,
        "None reference count did not fall": bool(samples) and last["none_refs"] >= first["none_refs"] - 1000,
        "no check-in of anyone absent from the video": result["false_check_ins"] == 0,
        # The performer is on stage in every loop of the clip, so each cooldown ends with a check-in
        # within one loop of the video (plus the evidence the check-in rules ask for).
        f"performer checked in again within {CLIP_SLACK_S:.0f} s of each cooldown's end":
            len(times) >= max(1, expected - 1) and all(cooldown_s <= g <= cooldown_s + CLIP_SLACK_S for g in gaps),
    }
    return result


def _median(rates: list[dict[str, float]], key: str) -> float | None:
    return round(statistics.median(r[key] for r in rates), 1) if rates else None


def _minimum(rates: list[dict[str, float]], key: str) -> float | None:
    return round(min(r[key] for r in rates), 1) if rates else None


def _print(result: dict[str, object]) -> None:
    skip = {"checks", "check_in_times"}
    for key, value in result.items():
        if key not in skip:
            print(f"{key:28} {value}")
    print("check-ins (UTC):")
    for name, when in result["check_in_times"]:  # type: ignore[union-attr]
        print(f"  {when}  {name}")
    print("checks:")
    for text, ok in result["checks"].items():  # type: ignore[union-attr]
        print(f"  {'PASS' if ok else 'FAIL'}  {text}")


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if not Path(args.video).is_file():
        print(f"skipped: the sample video is not there ({args.video}); set FACEATTEND_TEST_DATA", file=sys.stderr)
        return 2
    print(f"soak: {args.app} on {Path(args.video).name} (looping) for {args.minutes:g} min, "
          f"cooldown {args.cooldown:g} min, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}", flush=True)
    if args.keep:
        folder = Path(args.keep)
        folder.mkdir(parents=True, exist_ok=True)
        result = run(args, folder)
    else:
        with tempfile.TemporaryDirectory(prefix="faceattend-soak-") as tmp:
            result = run(args, Path(tmp))
    _print(result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0 if all(result["checks"].values()) else 1  # type: ignore[union-attr]


if __name__ == "__main__":
    sys.exit(main())
