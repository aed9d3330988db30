"""Attendance on the sample videos with ground truth: one ID photo per person, and a few samples.

    .venv/bin/python bench/video_attendance.py [--runs 3] [--out bench/results/DATE-video-attendance]

Runs ``faceattend eval video`` (the app's own live logic, settings' defaults, the video's own
clock) on the three videos of ../shared/data/videos with the annotations in bench/annotations/,
for two galleries, each enrolled with padding on and off (as before padding existed):

- one photo: one tight ID crop per person (the detector's face box cut out of the reference
  photo, so the face fills the photo) for the 3 Hamilton people (videos/hamilton_refs), Joe
  Biden, the selfie video's man (his last frame: no other photo of him exists) and 9 LFW people
  as distractors: 14 people, as in issue #15;
- few samples: the same plus up to 4 frames picked by ``enroll --from-video``'s logic from the
  first part of each video (Hamilton: before 5.0 s; selfie: before 4.0 s) and Obama's two other
  portraits; the videos are then evaluated only after that point.

Everything enrolled is written to a temporary folder; nothing is copied into the repository.
The main setup (one photo, padding on) runs ``--runs`` times (3) to show the runs agree; the
comparisons ``--other-runs`` times (1). Prints a line per video and setup and writes the full
JSON next to the text output.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from faceattend.config import Settings  # noqa: E402
from faceattend.enrol_video import scan_video  # noqa: E402
from faceattend.images import load_image  # noqa: E402
from faceattend.paths import shared_data_dir  # noqa: E402
from faceattend.pipeline import load_recognizer  # noqa: E402
from faceattend.runtime import configure_process  # noqa: E402
from faceattend.video_eval import video_frames  # noqa: E402

configure_process()  # before numpy and torch load, as the app's entry points do
DATA = shared_data_dir()
import cv2  # noqa: E402

VIDEOS = DATA / "videos"
REFS = {"Lin-Manuel Miranda": "lin-manuel-miranda.png", "Alex Lacamoire": "alex-lacamoire.png",
        "Barack Obama": "obama.jpg", "Joe Biden": "biden.jpg"}
DISTRACTORS = 9
#: video -> (start of the evaluation in the few-sample setup, who gets samples from the stretch
#: [first, start) where they alone are in view, first); as ``enroll NAME --from-video`` takes them
FEW = {"short_hamilton_clip.mp4": (5.0, "Lin-Manuel Miranda", 2.74),
       "dunai_my_video.mp4": (4.0, "Dunai", 0.0), "facenet_pytorch_video.mp4": (0.0, None, 0.0)}


def write_rgb(path: Path, image) -> None:  # noqa: ANN001
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))


def tight_crop(recognizer, image):  # noqa: ANN001, ANN201
    """The detector's box of the largest face: an ID photo where the face fills the picture."""
    box = max(recognizer.detector.detect(image), key=lambda d: d.width).box
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    return image[max(0, y1):y2, max(0, x1):x2]


def one_photo_gallery(recognizer, folder: Path) -> None:  # noqa: ANN001
    for name, file in REFS.items():
        write_rgb(folder / name / "id.png", tight_crop(recognizer, load_image(VIDEOS / "hamilton_refs" / file)))
    last = list(video_frames(VIDEOS / "dunai_my_video.mp4"))[-1][1]
    write_rgb(folder / "Dunai" / "id.png", tight_crop(recognizer, last))
    people = sorted(p for p in (DATA / "lfw_dev" / "deepfunneled").iterdir() if p.is_dir())
    for person in people[:: max(1, len(people) // DISTRACTORS)][:DISTRACTORS]:
        write_rgb(folder / person.name / "id.png", tight_crop(recognizer, load_image(sorted(person.iterdir())[0])))


def few_samples_gallery(recognizer, one: Path, folder: Path, video: str, work: Path) -> None:  # noqa: ANN001
    """The one-photo gallery plus frames of the video before the evaluation starts."""
    subprocess.run(["cp", "-r", f"{one}/.", str(folder)], check=True)
    for extra in ("obama2.jpg", "obama3.jpg"):
        subprocess.run(["cp", str(DATA / "portraits" / "obama" / extra), str(folder / "Barack Obama")], check=True)
    start, name, first = FEW[video]
    if name is None:
        return
    frames = work / f"frames-{video}"
    kept = []
    for t, frame in video_frames(VIDEOS / video):
        if first <= t < start:
            write_rgb(frames / f"{len(kept):05d}.jpg", frame)
            kept.append(frame)
    for candidate in scan_video(recognizer, str(frames), wanted=4).candidates:
        position = int(candidate.source.rsplit(" ", 1)[1])
        write_rgb(folder / name / f"frame{position:05d}.jpg", kept[position])


def evaluate(video: str, gallery: Path, pad: bool, runs: int, start: float, data_dir: Path) -> dict:
    command = [sys.executable, "-m", "faceattend", "eval", "video", str(VIDEOS / video),
               "--annotations", str(REPO / "bench" / "annotations" / video.replace(".mp4", ".toml")),
               "--enrol-dir", str(gallery), "--runs", str(runs), "--start", str(start), "--json"]
    env = {**os.environ, "FACEATTEND_DATA_DIR": str(data_dir), "QT_QPA_PLATFORM": "offscreen"}
    began = time.monotonic()
    done = subprocess.run(command + ([] if pad else ["--no-pad"]), capture_output=True, text=True, env=env, cwd=REPO)
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
    result = json.loads(done.stdout)
    result["seconds"] = round(time.monotonic() - began, 1)
    return result


def line(setup: str, result: dict) -> str:
    people = ", ".join(f"{n.split()[0]} " + (f"{p['after_first_seen_s']:.2f}s" if p["checked_in"] else "MISSED")
                       for n, p in result["people"].items())
    false = ", ".join(f"{f['name']} at {f['at_s']:.1f}s ({f['score']:.2f})" for f in result["false_checkins"])
    weak = sum(p["weak"] for p in result["enrolled"].values())
    samples = sum(p["samples"] for p in result["enrolled"].values())
    return (f"  {setup:<24} checked in {result['checked_in']}/{result['annotated']}  "
            f"false {len(result['false_checkins'])}"
            f"  wrong-name frames {result['frames_with_wrong_name']}/{result['frames']}"
            f"  runs identical: {result['identical_runs']} ({result['runs']})  samples {samples} ({weak} weak)"
            f"  {result['seconds']} s\n      time to check-in: {people or '-'}"
            + (f"\n      false: {false}" if false else ""))


def save(out: str, report: list[str], results: dict) -> None:
    Path(out + ".txt").write_text("\n".join(report) + "\n", encoding="utf-8")
    Path(out + ".json").write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of the main setup (one photo, padding on)")
    parser.add_argument("--other-runs", type=int, default=1, help="runs of the comparison setups")
    parser.add_argument("--out", default=str(REPO / "bench" / "results"
                                             / f"{time.strftime('%Y-%m-%d')}-video-attendance"))
    parser.add_argument("--videos", nargs="*", default=list(FEW))
    args = parser.parse_args()
    if not VIDEOS.is_dir():
        raise SystemExit(f"the sample videos are not in {VIDEOS} (set FACEATTEND_TEST_DATA)")
    recognizer = load_recognizer(Settings(device="cpu"))
    report, results = [], {}
    live = subprocess.run(["git", "log", "-1", "--format=%h %cd", "--", "faceattend/live.py"], capture_output=True,
                          text=True, cwd=REPO).stdout.strip()
    dirty = subprocess.run(["git", "status", "--short", "faceattend/live.py"], capture_output=True, text=True,
                           cwd=REPO).stdout.strip()
    source = (REPO / "faceattend" / "live.py").read_bytes()
    changed = time.strftime("%H:%M:%S UTC", time.gmtime((REPO / "faceattend" / "live.py").stat().st_mtime))
    report.append(f"bench/video_attendance.py, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
                  f"{args.runs} runs each; "
                  f"faceattend/live.py at commit {live}"
                  f"{f' with uncommitted changes (file last changed {changed})' if dirty else ''}, "
                  f"sha256 {hashlib.sha256(source).hexdigest()[:12]}; settings' defaults {Settings()}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        one_photo_gallery(recognizer, work / "one")
        for video in args.videos:
            few_samples_gallery(recognizer, work / "one", work / f"few-{video}", video, work)
        # The claim first (one photo, padding on, repeated), then the comparisons, so a run cut
        # short still has the figures that matter most for every video.
        for setup, pad, few, runs in (("one photo, padding on", True, False, args.runs),
                                      ("one photo, padding off", False, False, args.other_runs),
                                      ("few samples, padding on", True, True, args.other_runs),
                                      ("few samples, padding off", False, True, args.other_runs)):
            report.append(f"\n== {setup}"
                          + (" (few samples: each video from the point its samples end)" if few else ""))
            for video in args.videos:
                gallery, begin = (work / f"few-{video}", FEW[video][0]) if few else (work / "one", 0.0)
                result = evaluate(video, gallery, pad, runs, begin, work / "data")
                results[f"{video} | {setup}"] = result
                report.append(line(video, result))
                print(report[-1], flush=True)
                save(args.out, report, results)  # after every run: a long run interrupted keeps what it measured
    print("\n".join(report[:1]))
    print(f"wrote {args.out}.txt and .json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
