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
from typing import Any, NoReturn

from faceattend import __version__
from faceattend.config import (
    DEVICES,
    RANGES,
    Settings,
    SettingsError,
    camera_problem,
    command_line_settings,
    database_problem,
    field_problem,
)
from faceattend.errors import UserError
from faceattend.images import GROUP_PIXELS, ImageError, load_photo
from faceattend.match import DEFAULT_THRESHOLD
from faceattend.pipeline import ACTIVE_MODEL_KEY, Recognizer, load_recognizer
from faceattend.store import Store, StoreError

EXIT_USAGE = 2
#: What ends in a one-line message. A plain ValueError is not here: it is a bug, with its traceback.
USER_ERRORS = (UserError, SettingsError, StoreError, ImageError, FileNotFoundError)


#: The longest export: a row per person per day, and years of days are a mistyped year.
MAX_EXPORT_DAYS = 3660


#: Commands that never open the database: a broken settings file does not stop them.
_NO_DATABASE = {"eval"}


def _settings(args: argparse.Namespace) -> Settings:
    return command_line_settings(args.db, args.device, args.threshold,
                                 needs_database=getattr(args, "command", None) not in _NO_DATABASE)


def _open(args: argparse.Namespace) -> tuple[Settings, Store]:
    settings = _settings(args)
    store = Store(settings.database_path())
    if store.read_only:
        print(f"faceattend: note: writes are off: {store.read_only}", file=sys.stderr)
    return settings, store


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
    from faceattend.enrol import EnrolReport, enrol_candidates, enrol_photos, folder_plan

    settings, store = _open(args)
    if args.from_video:
        if not args.name or args.images or args.folder:
            raise UserError("--from-video takes one NAME and no photos: faceattend enroll NAME --from-video FILE")
        recognizer = _recognizer(settings, store)
        candidates = _video_candidates(recognizer, args.from_video, args.samples)
        report = enrol_candidates(store, recognizer, args.name, candidates, args.id, args.group, args.add_to)
        return _print_enrolled([report], "sample(s)")
    if args.folder:
        folder = Path(args.folder)
        if not folder.is_dir():
            raise UserError(f"{folder} is not a folder")
        plan = folder_plan(folder)
        if not plan:
            raise UserError(f"{folder} has no sub-folders of photos and no files named name_anything.jpg")
    else:
        if not args.name or not args.images:
            raise UserError("give a NAME and at least one IMAGE, or --folder DIR, or NAME --from-video FILE")
        plan = {args.name: [Path(p) for p in args.images]}
    recognizer = _recognizer(settings, store)
    reports: list[EnrolReport] = []
    for name, photos in plan.items():  # one person at a time: a failure stops no one else
        reports.append(enrol_photos(store, recognizer, name, photos, args.id, args.group, args.add_to))
        recognizer.gallery = store.gallery(recognizer.model_name)
        _print_enrolled(reports[-1:], "photo(s)")
    return 1 if any(not r.added for r in reports) else 0


def _video_candidates(recognizer: Recognizer, spec: str, wanted: int) -> list:  # list[Candidate]
    from faceattend.camera import CameraError
    from faceattend.enrol_video import scan_video

    try:
        scan = scan_video(recognizer, spec, wanted)
    except CameraError as error:
        raise UserError(str(error)) from None
    refused = ", ".join(f"{count} {reason}" for reason, count in scan.refused.most_common())
    print(f"looked at {scan.looked} frame(s) of {spec}: {len(scan.candidates)} sample(s) chosen"
          + (f"; frames refused: {refused}" if refused else ""), file=sys.stderr)
    return scan.candidates


def _print_enrolled(reports: Sequence, unit: str) -> int:  # Sequence[EnrolReport]
    """One line per outcome: refused photos and weak samples with their reasons, then the result."""
    for report in reports:
        for source, reason in report.refused:
            print(f"refused {source}: {reason}", file=sys.stderr)
        for source, reason in report.weak:
            print(f"weak sample {source}: {reason}", file=sys.stderr)
        for source, other, similarity in report.look_alikes:
            print(f"warning: {source} looks like {other} (similarity {similarity:.2f})", file=sys.stderr)
        if report.failed:
            print(f"not enrolled {report.name}: {report.failed}; nothing was saved for them", file=sys.stderr)
        elif report.added:
            weak = f", {len(report.weak)} weak" if report.weak else ""
            print(f"enrolled {report.name}: {len(report.added)} {unit}{weak}")
            if report.only_weak:
                print(f"warning: {report.name} has only weak samples and may not be recognised; add a sharp, "
                      "frontal photo with some space around the face, or capture from the camera", file=sys.stderr)
        else:
            print(f"not enrolled {report.name}: no usable photo", file=sys.stderr)
    return 1 if any(not r.added for r in reports) else 0


def cmd_identify(args: argparse.Namespace) -> int:
    """Name the faces in each photo; a photo that cannot be read is reported with why, the others go on."""
    settings, store = _open(args)
    recognizer = _recognizer(settings, store)
    results: list[dict] = []
    for path in args.images:
        try:
            photo = load_photo(path, GROUP_PIXELS)  # group photos: small faces need more pixels
        except ImageError as error:
            print(f"error: {error}", file=sys.stderr)
            results.append({"image": path, "error": str(error)})
            continue
        results.append({"image": path, "faces": [  # boxes in the photo's own pixels, even when read reduced
            {"box": [round(v / photo.scale, 1) for v in f.detection.box], "name": f.match.label,
             "person_id": f.match.person_id, "score": round(f.match.similarity, 4)}
            for f in recognizer.faces(photo.image)]})
    if args.json:
        _print_json(results)
    else:
        for result in results:
            if "faces" in result and not result["faces"]:
                print(f"{result['image']}: no face")
            for face in result.get("faces", []):
                box = ",".join(f"{v:.0f}" for v in face["box"])
                print(f"{result['image']}: [{box}] {face['name']} {face['score']:.3f}")
    return 1 if any("error" in r for r in results) else 0


def cmd_checkin(args: argparse.Namespace) -> int:
    from faceattend.camera import CameraError, FrameSource, open_source
    from faceattend.live import AutoCheckin, LiveRecognizer
    from faceattend.session import CheckinSession, start_time

    settings, store = _open(args)
    if getattr(store, "read_only", None):
        raise UserError(f"check-ins cannot be recorded: {store.read_only}")
    if not store.people():
        raise UserError("nobody is enrolled yet; run: faceattend enroll NAME PHOTO")
    try:
        first = [open_source(args.source)]
    except CameraError as error:
        raise UserError(str(error)) from None
    try:  # the quick checks first: loading the networks takes seconds
        start = start_time(args.start_time, first[0])
        recognizer = _recognizer(settings, store)
        if len(recognizer.gallery) == 0:
            raise UserError("nobody is enrolled yet; run: faceattend enroll NAME PHOTO")
    except BaseException:
        first[0].close()
        raise

    def opener() -> FrameSource:  # the source opened above, then the same spec again on a reconnect
        return first.pop() if first else open_source(args.source)

    cooldown = timedelta(minutes=args.cooldown if args.cooldown is not None else settings.cooldown_minutes)
    if args.frames_needed:
        settings.auto_checkin_frames = args.frames_needed
    rules = AutoCheckin.from_settings(settings, cooldown)
    session = CheckinSession(store, LiveRecognizer(recognizer), rules, opener, kind=args.kind, cooldown=cooldown,
                             label=f"camera {args.source}", start_time=start, reconnect_for=args.reconnect_for)
    started = time.monotonic()
    result = session.run(args.max_frames)
    print(f"{result.frames} frames in {time.monotonic() - started:.1f} s, {result.recorded} {args.kind}(s) recorded")
    if result.failure:
        raise UserError(result.failure)
    if result.unwritten:
        raise UserError(f"{len(result.unwritten)} {args.kind}(s) could not be written (listed above)")
    return 0


def cmd_people(args: argparse.Namespace) -> int:
    _, store = _open(args)
    if args.action in (None, "list"):
        people = store.people()
        if args.json:
            _print_json([p.__dict__ for p in people])
        for listed in [] if args.json else people:
            extra = " ".join(x for x in (listed.external_id or "", listed.group_name or "") if x)
            print(f"{listed.name}\t{listed.sample_count} sample(s)\t{extra}".rstrip())
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
    elif args.action in ("remove", "archive", "erase"):
        from faceattend.cli_records import remove_person

        return remove_person(args, store)
    elif args.action == "export":
        from faceattend.cli_admin import cmd_people_export

        return cmd_people_export(args, store, person.id)
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
    if max(first, last) >= date.max:  # a day's end is the next midnight, which does not exist
        raise UserError(f"dates go up to {date.max - timedelta(days=1)}")
    if (last - first).days >= MAX_EXPORT_DAYS:
        raise UserError(f"{first} to {last} is more than {MAX_EXPORT_DAYS} days; export at most "
                        f"{MAX_EXPORT_DAYS // 366} years at a time")
    count = write_csv(summary(store, first, last), Path(args.csv))
    if not store.read_only:
        store.log("export", str(args.csv), {"from": first.isoformat(), "to": last.isoformat(), "rows": count})
    print(f"wrote {count} row(s) to {args.csv}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from faceattend import evaluate

    settings = _settings(args)
    recognizer = load_recognizer(settings)
    if args.flip is not None:
        recognizer.embedder.flip = args.flip == "on"
    if args.protocol == "video":
        return _eval_video(args, settings, recognizer)

    def progress(done: int, total: int) -> None:
        if sys.stderr.isatty():
            print(f"\rembedding {done}/{total}", end="", file=sys.stderr, flush=True)

    result: dict[str, Any]  # the evaluation's JSON report
    if args.protocol == "lfw":
        for required, what in ((args.pairs, "--pairs FILE"), (args.images, "--images DIR")):
            if not required or not Path(required).exists():
                raise UserError(f"eval lfw needs {what} that exists")
        result = dict(evaluate.verify_lfw(recognizer, Path(args.pairs), Path(args.images), progress))
        text = (f"LFW verification, {result['folds']} folds, {result['pairs']} pairs: accuracy "
                f"{100 * result['accuracy_mean']:.2f}% +- {100 * result['accuracy_std']:.2f}%")
    else:
        if not args.dir or not Path(args.dir).is_dir():
            raise UserError("eval identify needs --dir DIR of identity sub-folders")
        people = evaluate.read_people(Path(args.people)) if args.people else None
        result = dict(evaluate.identify_open_set(recognizer, Path(args.dir), args.enrol, settings.threshold, progress,
                                                 people=people))
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


def _eval_video(args: argparse.Namespace, settings: Settings, recognizer: Recognizer) -> int:
    from faceattend.video_eval import enrol_gallery, evaluate_video, format_result, load_annotation

    for required, what in ((args.video, "a VIDEO file"), (args.annotations, "--annotations FILE"),
                           (args.enrol_dir, "--enrol-dir DIR")):
        if not required or not Path(required).exists():
            raise UserError(f"eval video needs {what} that exists")
    annotation = load_annotation(Path(args.annotations))
    recognizer.gallery, enrolled = enrol_gallery(recognizer, Path(args.enrol_dir), pad=not args.no_pad)
    result = evaluate_video(recognizer, Path(args.video), annotation, settings, args.runs, max(0.0, args.start))
    result.update(enrolled=enrolled, pad=not args.no_pad, threshold=settings.threshold)
    if args.json:
        _print_json(result)
    else:
        print(format_result(result))
    return 0


def cmd_gui(args: argparse.Namespace) -> int:
    try:
        from faceattend.gui import main
    except ImportError as error:
        raise UserError(f"the window cannot start: {error}") from None
    return int(main([]))


# -- parser ----------------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    """argparse with its errors on one line: what is wrong, and where the help is (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see: {self.prog} --help)\n")


def _checked(name: str, kind: type[int] | type[float]) -> Callable[[str], int | float]:
    """An argparse type for a number setting: parsed, then checked against its range."""
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {'whole ' if kind is int else ''}number") from None
        reason = field_problem(name, value)
        if reason:
            raise argparse.ArgumentTypeError(reason)
        return value
    parse.__name__ = name
    return parse


def _text_arg(check: Callable[[str], str | None]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        reason = check(text)
        if reason:
            raise argparse.ArgumentTypeError(reason)
        return text
    return parse


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not at least 1")
    return value


def _common_options(parser: argparse.ArgumentParser, in_command: bool) -> None:
    """``--db``, ``--device`` and ``--threshold``, accepted before the command and after it.

    In a command's parser they default to "absent" (SUPPRESS), so a value given before the
    command is not overwritten by the command's own default.
    """
    default = argparse.SUPPRESS if in_command else None
    limits = RANGES["threshold"]
    parser.add_argument("--db", type=_text_arg(database_problem), default=default, metavar="FILE",
                        help="database file (default: the one in the settings, else in the user data folder)")
    parser.add_argument("--device", choices=list(DEVICES), default=default,
                        help="where the networks run (default: the settings' choice, auto)")
    parser.add_argument("--threshold", type=_checked("threshold", float), default=default, metavar="X",
                        help=f"similarity a face needs to be named, {limits.text()} "
                             f"(default: the settings' value, {DEFAULT_THRESHOLD})")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="faceattend", description="Offline face-recognition attendance.")
    parser.add_argument("--version", action="version", version=f"faceattend {__version__}")
    _common_options(parser, in_command=False)
    parser.add_argument("--smoke-test", action="store_true",
                        help="check the installation (models, detection, window) and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add(sub, "enroll", cmd_enroll, "add a person's photos", [
        (("name",), dict(nargs="?")), (("images",), dict(nargs="*")),
        (("--folder",), dict(help="a sub-folder per person, or files named name_anything.jpg")),
        (("--from-video",), dict(metavar="FILE", help="pick sharp frontal frames of the one person in a video "
                                 "file or a folder of frames")),
        (("--samples",), dict(type=_positive, default=5, help="samples to take with --from-video (default 5)")),
        (("--add-to",), dict(action="store_true", help="NAME is already enrolled and these photos are that same "
                                                        "person: add them even where they do not match the samples")),
        (("--id",), dict(help="external id (student or staff number)")), (("--group",), {})])
    _add(sub, "identify", cmd_identify, "name the faces in photos", [
        (("images",), dict(nargs="+")), (("--json",), dict(action="store_true"))])
    frames, cooldown = RANGES["auto_checkin_frames"], RANGES["cooldown_minutes"]
    _add(sub, "checkin", cmd_checkin, "record attendance from a camera, video or stream", [
        (("--source",), dict(required=True, type=_text_arg(camera_problem),
                             help="camera index, video file or rtsp:// URL")),
        (("--kind",), dict(choices=["check-in", "check-out"], default="check-in")),
        (("--frames-needed",), dict(type=_checked("auto_checkin_frames", int), metavar="N",
                                    help=f"consecutive frames a face must be recognised, {frames.text()}")),
        (("--cooldown",), dict(type=_checked("cooldown_minutes", float), metavar="MIN",
                               help=f"minutes before the same person is recorded again, {cooldown.text()}")),
        (("--max-frames",), dict(type=_positive, help="stop after this many frames")),
        (("--start-time",), dict(metavar="TIME", help="for a video file: when it was recorded, e.g. "
                                 "\"2026-12-03 08:00\" (local time); check-ins are stamped with this time plus "
                                 "the video's own time. Without it, a video's check-ins get the time they are "
                                 "processed (the clock), as a camera's do")),
        (("--reconnect-for",), dict(type=_positive, default=300, metavar="S", help="how long to keep reopening "
                                    "a camera or stream that stopped before giving up (default 300 s)"))])
    _add(sub, "people", cmd_people, "list, rename or remove people", [
        (("action",), dict(nargs="?", choices=["list", "rename", "remove", "archive", "erase", "export"])),
        (("name",), dict(nargs="?")), (("new_name",), dict(nargs="?")),
        (("--to",), dict(metavar="DIR", help="people export: the folder to write everything about NAME into")),
        (("--json",), dict(action="store_true"))])
    _add(sub, "export", cmd_export, "write the attendance summary as CSV", [
        (("--csv",), dict(required=True, metavar="FILE")),
        (("--from",), dict(dest="date_from", metavar="DATE")), (("--to",), dict(dest="date_to", metavar="DATE"))])
    _add(sub, "eval", cmd_eval, "measure accuracy on a labelled data set", [
        (("protocol",), dict(choices=["lfw", "identify", "video"])),
        (("video",), dict(nargs="?", help="eval video: the video file")),
        (("--annotations",), dict(metavar="FILE", help="eval video: who appears when (TOML)")),
        (("--enrol-dir",), dict(metavar="DIR", help="eval video: photos to enrol, as enroll --folder reads them")),
        (("--no-pad",), dict(action="store_true", help="eval video: enrol photos without padding (as before)")),
        (("--runs",), dict(type=_positive, default=1, help="eval video: repeat the run, check it gives the same")),
        (("--start",), dict(type=float, default=0.0, metavar="S", help="eval video: begin at S seconds")),
        (("--pairs",), {}), (("--images",), {}), (("--dir",), {}),
        (("--enrol",), dict(type=int, default=2)), (("--flip",), dict(choices=["on", "off"])),
        (("--people",), dict(metavar="FILE", help="eval identify: only these folders (one name a line), "
                                                  "e.g. bench/splits/lfw_report.txt")),
        (("--json",), dict(action="store_true"))])
    from faceattend.train.cli import add_train_parser  # argparse only; torch loads when it runs

    _common_options(add_train_parser(sub), in_command=True)
    from faceattend.cli_records import add_records_parsers

    for command in add_records_parsers(sub):
        _common_options(command, in_command=True)
    from faceattend.cli_admin import add_admin_parsers

    for command in add_admin_parsers(sub):
        _common_options(command, in_command=True)
    return parser


def _add(sub: argparse._SubParsersAction, name: str, handler: Callable[[argparse.Namespace], int],
         help_text: str, arguments: Sequence[tuple[tuple[str, ...], dict]]) -> None:
    command = sub.add_parser(name, help=help_text, description=help_text)
    for flags, options in arguments:
        command.add_argument(*flags, **options)
    _common_options(command, in_command=True)
    command.set_defaults(handler=handler)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.smoke_test:
        from faceattend.smoke import run_smoke_test

        return run_smoke_test()
    handler = getattr(args, "handler", cmd_gui)
    try:
        from faceattend.cli_admin import refuse_unless_owner

        refuse_unless_owner(args)  # changes and exports: only the owner of the data folder
        return handler(args)
    except USER_ERRORS as error:
        print(f"faceattend: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
