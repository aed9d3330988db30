"""Command line over the same core as the window: ``faceattend <command>``.

Every error a user can cause ends in a one-line message and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from pathlib import Path

from faceattend import __version__
from faceattend.config import Settings, command_line_settings
from faceattend.images import ImageError, load_image
from faceattend.pipeline import ACTIVE_MODEL_KEY, Recognizer, load_recognizer
from faceattend.store import Store, StoreError

EXIT_USAGE = 2


class UserError(Exception):
    """A problem the user can fix; printed as one line."""


def _settings(args: argparse.Namespace) -> Settings:
    return command_line_settings(args.db, args.device, args.threshold)


def _open(args: argparse.Namespace) -> tuple[Settings, Store]:
    settings = _settings(args)
    return settings, Store(settings.database_path())


def _recognizer(settings: Settings, store: Store | None) -> Recognizer:
    model = store.get_meta(ACTIVE_MODEL_KEY) if store is not None else None
    recognizer = load_recognizer(settings, model)
    if store is not None:
        recognizer.gallery = store.gallery(recognizer.model_name)
    return recognizer


def _print_json(value: object) -> None:
    print(json.dumps(value, indent=2, default=str))


# -- commands --------------------------------------------------------------------------------
def cmd_enroll(args: argparse.Namespace) -> int:
    from faceattend.enrol import enrol_photos, folder_plan

    settings, store = _open(args)
    if args.folder:
        folder = Path(args.folder)
        if not folder.is_dir():
            raise UserError(f"{folder} is not a folder")
        plan = folder_plan(folder)
        if not plan:
            raise UserError(f"{folder} has no sub-folders of photos and no files named name_anything.jpg")
    else:
        if not args.name or not args.images:
            raise UserError("give a NAME and at least one IMAGE, or --folder DIR")
        plan = {args.name: [Path(p) for p in args.images]}
    recognizer = _recognizer(settings, store)
    failures = 0
    for name, photos in plan.items():
        report = enrol_photos(store, recognizer, name, photos, args.id, args.group)
        recognizer.gallery = store.gallery(recognizer.model_name)
        for source, reason in report.refused:
            print(f"refused {source}: {reason}", file=sys.stderr)
        for source, other, similarity in report.look_alikes:
            print(f"warning: {source} looks like {other} (similarity {similarity:.2f})", file=sys.stderr)
        if report.added:
            print(f"enrolled {report.name}: {len(report.added)} photo(s)")
        else:
            print(f"not enrolled {name}: no usable photo", file=sys.stderr)
            failures += 1
    return 1 if failures else 0


def cmd_identify(args: argparse.Namespace) -> int:
    settings, store = _open(args)
    recognizer = _recognizer(settings, store)
    results, errors = [], 0
    for path in args.images:
        try:
            faces = recognizer.faces(load_image(path))
        except ImageError as error:
            print(f"error: {error}", file=sys.stderr)
            errors += 1
            continue
        results.append({"image": path, "faces": [
            {"box": [round(v, 1) for v in f.detection.box], "name": f.match.label,
             "person_id": f.match.person_id, "score": round(f.match.similarity, 4)} for f in faces]})
    if args.json:
        _print_json(results)
    else:
        for result in results:
            if not result["faces"]:
                print(f"{result['image']}: no face")
            for face in result["faces"]:
                box = ",".join(f"{v:.0f}" for v in face["box"])
                print(f"{result['image']}: [{box}] {face['name']} {face['score']:.3f}")
    return 1 if errors else 0


def cmd_checkin(args: argparse.Namespace) -> int:
    from faceattend.camera import CameraError, open_source
    from faceattend.live import AutoCheckin, LiveRecognizer
    from faceattend.store import attendance

    settings, store = _open(args)
    recognizer = _recognizer(settings, store)
    if len(recognizer.gallery) == 0:
        raise UserError("nobody is enrolled yet; run: faceattend enroll NAME PHOTO")
    try:
        source = open_source(args.source)
    except CameraError as error:
        raise UserError(str(error)) from None
    live = LiveRecognizer(recognizer)
    cooldown = timedelta(minutes=args.cooldown if args.cooldown is not None else settings.cooldown_minutes)
    rules = AutoCheckin(args.frames_needed or settings.auto_checkin_frames, cooldown)
    frames, started, recorded = 0, time.monotonic(), 0
    try:
        while args.max_frames is None or frames < args.max_frames:
            frame = source.read()
            if frame is None:
                break
            frames += 1
            for face in rules.due(live.process(frame)):
                event = attendance.record(store, face.match.person_id, args.kind, score=face.match.similarity,
                                          source=f"camera {args.source}", cooldown=cooldown)
                if event is not None:
                    recorded += 1
                    print(f"{event.time.astimezone():%Y-%m-%d %H:%M:%S} {args.kind} {event.name} "
                          f"({face.match.similarity:.2f})", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        source.close()
    print(f"{frames} frames in {time.monotonic() - started:.1f} s, {recorded} {args.kind}(s) recorded")
    return 0


def cmd_people(args: argparse.Namespace) -> int:
    _, store = _open(args)
    if args.action in (None, "list"):
        people = store.people()
        if args.json:
            _print_json([p.__dict__ for p in people])
        for person in [] if args.json else people:
            extra = " ".join(x for x in (person.external_id or "", person.group_name or "") if x)
            print(f"{person.name}\t{person.sample_count} sample(s)\t{extra}".rstrip())
        return 0
    if not args.name:
        raise UserError(f"people {args.action} needs a NAME")
    person = store.find_person(args.name)
    if person is None:
        raise UserError(f"nobody called {args.name!r} is enrolled")
    if args.action == "rename":
        if not args.new_name:
            raise UserError("people rename needs OLD and NEW names")
        store.rename_person(person.id, args.new_name)
        print(f"renamed {person.name} to {' '.join(args.new_name.split())}")
    elif args.action == "remove":
        store.remove_person(person.id)
        print(f"removed {person.name} with {person.sample_count} sample(s) and their attendance")
    return 0


def _parse_day(text: str | None, default: date) -> date:
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError(f"{text!r} is not a date like 2026-09-01") from None


def cmd_export(args: argparse.Namespace) -> int:
    from faceattend.store.attendance import summary
    from faceattend.store.export import write_csv

    _, store = _open(args)
    first = _parse_day(args.date_from, date.today())
    last = _parse_day(args.date_to, max(first, date.today()) if args.date_from else first)
    count = write_csv(summary(store, first, last), Path(args.csv))
    print(f"wrote {count} row(s) to {args.csv}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from faceattend import evaluate

    settings = _settings(args)
    recognizer = load_recognizer(settings)
    if args.flip is not None:
        recognizer.embedder.flip = args.flip == "on"

    def progress(done: int, total: int) -> None:
        if sys.stderr.isatty():
            print(f"\rembedding {done}/{total}", end="", file=sys.stderr, flush=True)

    if args.protocol == "lfw":
        for required, what in ((args.pairs, "--pairs FILE"), (args.images, "--images DIR")):
            if not required or not Path(required).exists():
                raise UserError(f"eval lfw needs {what} that exists")
        result = evaluate.verify_lfw(recognizer, Path(args.pairs), Path(args.images), progress)
        text = (f"LFW verification, {result['folds']} folds, {result['pairs']} pairs: accuracy "
                f"{100 * result['accuracy_mean']:.2f}% +- {100 * result['accuracy_std']:.2f}%")
    else:
        if not args.dir or not Path(args.dir).is_dir():
            raise UserError("eval identify needs --dir DIR of identity sub-folders")
        result = evaluate.identify_open_set(recognizer, Path(args.dir), args.enrol, settings.threshold, progress)
        text = (f"open-set identification: {result['enrolled_people']} enrolled ({args.enrol} photos each), "
                f"{result['probes']} probes, {result['strangers']} strangers\n"
                f"  DIR at FAR 1%: {100 * result['dir_at_far1']:.2f}% (threshold {result['threshold_at_far1']:.3f})\n"
                f"  at threshold {settings.threshold:.3f}: identified {100 * result['dir_at_threshold']:.2f}%, "
                f"strangers accepted {100 * result['far_at_threshold']:.2f}%")
    result["flip"] = bool(recognizer.embedder.flip)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    if args.json:
        _print_json(result)
    else:
        print(text)
        print(f"  no face found in {result['no_face']['count']} image(s); {result['no_face']['fallback']}")
        if result.get("missing_images", {}).get("count"):
            missing = result["missing_images"]
            print(f"  {missing['count']} image(s) missing from the data set; "
                  f"{missing['pairs_counted_as_errors']} pair(s) counted as errors")
    return 0


def cmd_gui(args: argparse.Namespace) -> int:
    try:
        from faceattend.gui import main
    except ImportError as error:
        raise UserError(f"the window cannot start: {error}") from None
    return int(main([]))


# -- parser ----------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="faceattend", description="Offline face-recognition attendance.")
    parser.add_argument("--version", action="version", version=f"faceattend {__version__}")
    parser.add_argument("--db", help="database file (default: in the user data folder)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], help="where the networks run")
    parser.add_argument("--threshold", type=float, help="similarity a face needs to be recognised")
    parser.add_argument("--smoke-test", action="store_true",
                        help="check the installation (models, detection, window) and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add(sub, "enroll", cmd_enroll, "add a person's photos", [
        (("name",), dict(nargs="?")), (("images",), dict(nargs="*")),
        (("--folder",), dict(help="a sub-folder per person, or files named name_anything.jpg")),
        (("--id",), dict(help="external id (student or staff number)")), (("--group",), {})])
    _add(sub, "identify", cmd_identify, "name the faces in photos", [
        (("images",), dict(nargs="+")), (("--json",), dict(action="store_true"))])
    _add(sub, "checkin", cmd_checkin, "record attendance from a camera, video or stream", [
        (("--source",), dict(required=True, help="camera index, video file or rtsp:// URL")),
        (("--kind",), dict(choices=["check-in", "check-out"], default="check-in")),
        (("--frames-needed",), dict(type=int, help="consecutive frames a face must be recognised")),
        (("--cooldown",), dict(type=float, help="minutes before the same person is recorded again")),
        (("--max-frames",), dict(type=int, help="stop after this many frames"))])
    _add(sub, "people", cmd_people, "list, rename or remove people", [
        (("action",), dict(nargs="?", choices=["list", "rename", "remove"])),
        (("name",), dict(nargs="?")), (("new_name",), dict(nargs="?")),
        (("--json",), dict(action="store_true"))])
    _add(sub, "export", cmd_export, "write the attendance summary as CSV", [
        (("--csv",), dict(required=True, metavar="FILE")),
        (("--from",), dict(dest="date_from", metavar="DATE")), (("--to",), dict(dest="date_to", metavar="DATE"))])
    _add(sub, "eval", cmd_eval, "measure accuracy on a labelled data set", [
        (("protocol",), dict(choices=["lfw", "identify"])),
        (("--pairs",), {}), (("--images",), {}), (("--dir",), {}),
        (("--enrol",), dict(type=int, default=2)), (("--flip",), dict(choices=["on", "off"])),
        (("--json",), dict(action="store_true"))])
    from faceattend.train.cli import add_train_parser  # argparse only; torch loads when it runs

    add_train_parser(sub)
    return parser


def _add(sub: argparse._SubParsersAction, name: str, handler: Callable[[argparse.Namespace], int],
         help_text: str, arguments: Sequence[tuple[tuple[str, ...], dict]]) -> None:
    command = sub.add_parser(name, help=help_text, description=help_text)
    for flags, options in arguments:
        command.add_argument(*flags, **options)
    command.set_defaults(handler=handler)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.smoke_test:
        from faceattend.smoke import run_smoke_test

        return run_smoke_test()
    handler = getattr(args, "handler", cmd_gui)
    try:
        return handler(args)
    except (UserError, StoreError, ImageError, FileNotFoundError, ValueError) as error:
        print(f"faceattend: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
