"""``faceattend train``: fine-tune on the app's database or on a folder of photos; switch models.

Hooked into the main CLI with one line in ``faceattend.cli.build_parser``:
``add_train_parser(sub)``. It reads the global ``--db``, ``--device`` and ``--threshold``
options of the main parser when they are there.

    faceattend train [--people NAME ...] [--loss L] [--layers L] [--epochs N] [--lr X] [--yes|--no]
    faceattend train --dataset DIR [--out FILE]
    faceattend train --list
    faceattend train --use NAME|FILE
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from faceattend.config import Settings, command_line_settings
from faceattend.errors import UserError
from faceattend.store import Store
from faceattend.train.options import LAYER_CHOICES, LOSSES, TrainOptions

if TYPE_CHECKING:  # torch behind these: imported when a command runs, not for --help
    from faceattend.train.data import FaceSet, TrainData
    from faceattend.train.engine import Progress, TrainResult


class TrainError(UserError):
    """A problem the user can fix (the main CLI prints it as one line)."""


def add_train_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``train`` to the main parser's sub-commands; returns the new parser."""
    d = TrainOptions()
    p = subparsers.add_parser("train", help="fine-tune the recogniser on enrolled faces; switch models",
                              description="Fine-tune the face embedder and compare it with the stock model.")
    p.add_argument("--people", nargs="+", metavar="NAME",
                   help="people to train on (default: everyone, which leaves no other people to keep "
                        "strangers unknown and measure false accepts unless --reference is given)")
    p.add_argument("--dataset", metavar="DIR", help="train on a folder of identity sub-folders instead")
    p.add_argument("--out", metavar="FILE", help="with --dataset: where to write the model (.pt)")
    p.add_argument("--reference", metavar="DIR", help="a folder of other people's faces (keeps strangers unknown)")
    p.add_argument("--loss", choices=LOSSES, default=d.loss, help=f"training loss (default {d.loss})")
    p.add_argument("--layers", choices=LAYER_CHOICES, default=d.layers, help=f"layers to train (default {d.layers})")
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--lr", type=float, default=d.lr, help=f"learning rate (default {d.lr})")
    p.add_argument("--batch", type=int, default=d.batch_size)
    p.add_argument("--center", type=float, default=d.center_weight, metavar="W", help="centre-loss weight (0: off)")
    p.add_argument("--keep-strangers", type=float, default=d.distill_weight, metavar="W",
                   help=f"weight of the distillation that keeps strangers unknown (default {d.distill_weight}; 0: off)")
    p.add_argument("--views", type=int, default=d.views, help="augmented views cached per photo")
    p.add_argument("--holdout", type=float, default=0.3, help="share of each person's samples held out for the test")
    p.add_argument("--seed", type=int, default=0)
    answer = p.add_mutually_exclusive_group()
    answer.add_argument("--yes", action="store_true", help="accept the new model without asking")
    answer.add_argument("--no", action="store_true", help="discard the new model without asking")
    p.add_argument("--list", action="store_true", help="list the model versions and which is active")
    p.add_argument("--use", metavar="NAME|FILE", help="switch to a model version (re-embeds the gallery)")
    p.set_defaults(handler=cmd_train)
    return p


def _settings(args: argparse.Namespace) -> Settings:
    return command_line_settings(getattr(args, "db", None), getattr(args, "device", None),
                                 getattr(args, "threshold", None))


def _options(args: argparse.Namespace, settings: Settings) -> TrainOptions:
    if args.epochs < 1 or args.lr <= 0 or args.batch < 4:
        raise TrainError("--epochs must be at least 1, --lr positive and --batch at least 4")
    return TrainOptions(loss=args.loss, layers=args.layers, epochs=args.epochs, lr=args.lr,
                        batch_size=args.batch, center_weight=args.center, distill_weight=args.keep_strangers,
                        views=max(1, args.views), threshold=settings.threshold, seed=args.seed,
                        device=settings.device)


def cmd_train(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.list:
        return _list(settings)
    if args.use:
        return _use(settings, args.use)
    if args.dataset:
        return _train_dataset(args, settings)
    return _train_store(args, settings)


def _list(settings: Settings) -> int:
    from faceattend.train.versions import active_model, list_versions

    with Store(settings.database_path()) as store:
        active = active_model(store)
    for version in list_versions(settings):
        people = version.info.get("people")
        count = len(people) if isinstance(people, list) else 0
        mark = "*" if version.name == active else " "
        what = "stock model" if version.is_stock else f"{version.info.get('created', '')}, {count} people"
        print(f"{mark} {version.name}\t{what}")
    return 0


def _use(settings: Settings, which: str) -> int:
    from faceattend.train.versions import activate, install_model_file, list_versions

    path = Path(which)
    name = install_model_file(settings, path) if path.suffix == ".pt" and path.is_file() else which
    known = {v.name for v in list_versions(settings)}
    if name not in known:
        raise TrainError(f"no model called {name}; see: faceattend train --list")
    with Store(settings.database_path()) as store:
        count = activate(store, settings, name, _bar("re-embedding"))
    print(f"\nnow using {name} ({count} sample(s) re-embedded)")
    return 0


def _bar(what: str) -> Callable[[int, int], None]:
    """A progress callback that rewrites one line of stderr."""
    def show(done: int, total: int) -> None:
        print(f"\r{what}: {done} of {total}", end="", file=sys.stderr, flush=True)
    return show


def _store_data(args: argparse.Namespace, settings: Settings, store: Store) -> TrainData:
    from faceattend.train.sources import store_data

    people = store.people()
    if args.people:
        chosen = []
        for name in args.people:
            person = store.find_person(name)
            if person is None:
                raise TrainError(f"nobody called {name!r} is enrolled")
            chosen.append(person.id)
    else:
        chosen = [p.id for p in people if p.sample_count]
    return store_data(store, chosen, extra=_reference(args, settings), holdout=args.holdout, seed=args.seed)


def _reference(args: argparse.Namespace, settings: Settings) -> FaceSet | None:
    if not args.reference:
        return None
    from faceattend.detect import load_detector
    from faceattend.train.sources import folder_faces

    detector = load_detector(settings.min_face_size, settings.scale_factor, device=settings.device)
    faces, skipped = folder_faces(detector, Path(args.reference), _bar("reading reference faces"))
    print(f"\n{len(faces)} reference face(s), {len(skipped)} photo(s) skipped", file=sys.stderr)
    return faces


def _train_store(args: argparse.Namespace, settings: Settings) -> int:
    from faceattend.train.versions import activate, discard_candidate, save_candidate

    with Store(settings.database_path()) as store:
        data = _store_data(args, settings, store)
        result = _run(data, _options(args, settings))
        if result is None:
            return 1
        version = save_candidate(result, settings)
        try:
            accepted = _accepted(args, version.name)
        except BaseException:  # Ctrl-C or end of input at the question: leave nothing behind
            discard_candidate(version)
            raise
        if not accepted:
            discard_candidate(version)
            print("discarded; nothing changed")
            return 0
        count = activate(store, settings, version.name, _bar("re-embedding"))
    print(f"\nnow using {version.name} ({count} sample(s) re-embedded); go back with: faceattend train --use NAME")
    return 0


def _accepted(args: argparse.Namespace, name: str) -> bool:
    if args.yes or args.no:
        return bool(args.yes)
    if not sys.stdin.isatty():
        print("not a terminal and neither --yes nor --no given: discarding", file=sys.stderr)
        return False
    try:
        answer = input(f"Accept {name} and re-embed the gallery with it? [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def _train_dataset(args: argparse.Namespace, settings: Settings) -> int:
    from faceattend.detect import load_detector
    from faceattend.train.sources import folder_data
    from faceattend.train.versions import save_candidate

    detector = load_detector(settings.min_face_size, settings.scale_factor, device=settings.device)
    extra = Path(args.reference) if args.reference else None
    data, skipped = folder_data(detector, Path(args.dataset), extra, holdout=args.holdout, seed=args.seed,
                                progress=_bar("reading photos"))
    print(f"\n{len(skipped)} photo(s) skipped (no face or unreadable)", file=sys.stderr)
    result = _run(data, _options(args, settings))
    if result is None:
        return 1
    version = save_candidate(result, settings, path=Path(args.out) if args.out else None)
    print(f"wrote {version.path}; switch to it with: faceattend train --use {version.path}")
    return 0


def _run(data: TrainData, options: TrainOptions) -> TrainResult | None:
    """Drive the engine, printing progress; the before/after table at the end."""
    print(f"training on {len(data.train.people)} people: {len(data.train)} samples "
          f"({len(data.heldout)} held out), {len(data.reference)} reference face(s), "
          f"{len(data.strangers)} stranger face(s)")
    for note in data.notes:
        print(f"note: {note}", file=sys.stderr)
    result = None
    for report in _reports(data, options):
        result = report.result or result
    if result is None:
        return None
    print(format_table(result))
    return result


def _reports(data: TrainData, options: TrainOptions) -> Iterator[Progress]:
    from faceattend.train.engine import Trainer

    for report in Trainer(data, options).run():
        if report.stage == "prepare":
            print(f"\r{report.message}", end="", file=sys.stderr, flush=True)
        elif report.validation is not None and report.stage == "train":
            v = report.validation
            ident = "n/a" if v.identification is None else f"{100 * v.identification:.1f}%"
            far = "n/a" if v.false_accepts is None else f"{100 * v.false_accepts:.1f}%"
            close = dict(v.as_rows())["closest different people (held-out)"]
            print(f"\repoch {report.epoch}/{report.epochs}: identification {ident}, false accepts {far}, "
                  f"closest held-out pair {close}", file=sys.stderr)
        elif report.stage == "cancelled":
            print(report.message, file=sys.stderr)
        yield report


def format_table(result: TrainResult) -> str:
    """Before and after, side by side."""
    rows = zip(result.before.as_rows(), result.after.as_rows(), strict=True)
    lines = [f"{'':28} {'before (stock)':>26} {'after':>26}"]
    lines += [f"{name:28} {old:>26} {new:>26}" for (name, old), (_, new) in rows]
    return "\n".join(lines)
