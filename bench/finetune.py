"""Fine-tuning benchmark: does the training wizard help, does it let strangers in, which loss wins.

    .venv/bin/python bench/finetune.py [--quick] [--json PATH] [--threads N]

On the shared data sets (read in place, see /work/shared/data/README.md), detected and aligned
by the app's own pipeline, each run enrols a class, fine-tunes with the engine's defaults and
prints, with the stock model as the baseline in the same run:

- identification of held-out photos of the enrolled people at the app's threshold, false
  accepts among people held out entirely (strangers), the mean similarities behind them and
  the closest pair of different enrolled people;
- the loss comparison used to pick the default (each loss on the same cached faces; on ORL
  and LFW), and what the strangers safeguard does: the default and a ten times higher
  learning rate, each with and without it;
- a linear SVM against nearest-neighbour matching on the same embeddings and splits.

Splits per data set (people are disjoint between the three roles):
- ORL: 24 people enrolled with 5 photos, 5 probes each; 8 reference people; 8 strangers.
- Yale: 9 people enrolled with about 5 photos (lighting, glasses, expressions); 3 + 3.
- LFW (dev folds): 30 people with 10+ photos enrolled with 3, probed with 7; 20 others as
  reference (5 photos each); 150 one-photo people as strangers.
- LFW look-alikes: the 30 people (of the 283 with 4+ photos) whose enrolment photos the stock
  model finds most alike, enrolled with 3 photos and probed with up to 3 more; 20 others as
  reference; 150 one-photo people as strangers. The case the wizard exists for.

``--quick`` halves the classes (12 ORL, 15 LFW people, 60 strangers) and skips Yale.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from faceattend.runtime import configure_process  # noqa: E402

configure_process()  # passive OpenMP waiting, as the app runs: before torch and numpy load

import numpy as np  # noqa: E402
import torch  # noqa: E402

from faceattend.classifier import LinearSVM  # noqa: E402
from faceattend.detect import load_detector  # noqa: E402
from faceattend.evaluate import threshold_at_far  # noqa: E402
from faceattend.images import is_image_file  # noqa: E402
from faceattend.match import DEFAULT_THRESHOLD, Gallery  # noqa: E402
from faceattend.train import Evaluation, FaceSet, TrainData, Trainer, TrainOptions, assemble  # noqa: E402
from faceattend.train.sources import detect_crops  # noqa: E402

VARIANTS: dict[str, dict[str, object]] = {
    "arcface": {"loss": "arcface"},
    "amsoftmax": {"loss": "amsoftmax"},
    "triplet": {"loss": "triplet"},
    "default + centre": {"center_weight": 0.05},
    "default, no safeguard": {"distill_weight": 0.0},
    "safeguard weight 3": {"distill_weight": 3.0},
    "lr x10": {"lr": 1e-3},
    "lr x10, safeguard 3": {"lr": 1e-3, "distill_weight": 3.0},
    "lr x10, no safeguard": {"lr": 1e-3, "distill_weight": 0.0},
}


@dataclass
class Split:
    name: str
    paths: list[Path]
    labels: list[int]
    chosen: list[int]
    reference: list[int]
    strangers: list[int]
    holdout: float
    min_face: int
    #: builds the four sets from the detected faces instead of ``assemble`` (look-alikes)
    pick: Callable[[FaceSet], TrainData] | None = None


def data_root() -> Path:
    env = os.environ.get("FACEATTEND_TEST_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def _folders(root: Path, names: list[str]) -> tuple[list[Path], list[int]]:
    paths, labels = [], []
    for label, name in enumerate(names):
        photos = sorted(p for p in (root / name).iterdir() if is_image_file(p))
        paths += photos
        labels += [label] * len(photos)
    return paths, labels


def orl(quick: bool) -> Split:
    n_chosen = 12 if quick else 24
    paths, labels = _folders(data_root() / "orl", [f"s{i}" for i in range(1, 41)])
    return Split("ORL", paths, labels, list(range(n_chosen)), list(range(24, 32)), list(range(32, 40)), 0.5, 40)


def yale() -> Split:
    paths, labels = _folders(data_root() / "yalefaces", [f"subject{i:02d}" for i in range(1, 16)])
    return Split("Yale", paths, labels, list(range(9)), [9, 10, 11], [12, 13, 14], 0.5, 60)


def lfw(quick: bool) -> Split:
    root = data_root() / "lfw_dev" / "deepfunneled"
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    counts = {f: len(list(f.glob("*.jpg"))) for f in folders}
    rng = np.random.default_rng(0)
    many = [f for f in folders if counts[f] >= 10]
    many = [many[i] for i in rng.permutation(len(many))]
    single = [f for f in folders if counts[f] == 1]
    single = [single[i] for i in rng.permutation(len(single))]
    n_chosen, n_ref, n_strangers = (15, 10, 60) if quick else (30, 20, 150)
    paths, labels = [], []
    for label, folder in enumerate(many[:n_chosen + n_ref]):
        photos = sorted(folder.glob("*.jpg"))[: 10 if label < n_chosen else 5]
        paths += photos
        labels += [label] * len(photos)
    first = n_chosen + n_ref
    for offset, folder in enumerate(single[:n_strangers]):
        paths += sorted(folder.glob("*.jpg"))
        labels.append(first + offset)
    return Split("LFW", paths, labels, list(range(n_chosen)), list(range(n_chosen, first)),
                 list(range(first, first + n_strangers)), 0.7, 60)


def lfw_lookalikes(quick: bool) -> Split:
    """The case the wizard is for: the enrolled people are those the stock model confuses most.

    Candidates: LFW dev people with 4+ photos (up to 6 each); each is enrolled with their first
    3 photos and probed with the rest. The class is built greedily from the pairs of different
    people whose *enrolment* photos are most alike under the stock model (probes play no part
    in the choice); 20 other candidates are the reference people, 150 one-photo people the
    strangers.
    """
    root = data_root() / "lfw_dev" / "deepfunneled"
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    photos = {f: sorted(f.glob("*.jpg")) for f in folders}
    many = [f for f in folders if len(photos[f]) >= 4]
    single = [f for f in folders if len(photos[f]) == 1]
    single = [single[i] for i in np.random.default_rng(1).permutation(len(single))][: 60 if quick else 150]
    paths, labels = [], []
    for label, folder in enumerate(many + single):
        paths += photos[folder][:6]
        labels += [label] * len(photos[folder][:6])
    n_chosen = 15 if quick else 30
    strangers = list(range(len(many), len(many) + len(single)))
    return Split("LFW look-alikes", paths, labels, [], [], strangers, 0.0, 60,
                 lambda faces: pick_lookalikes(faces, len(many), n_chosen, 20, strangers))


def pick_lookalikes(faces: FaceSet, candidates: int, n_chosen: int, n_reference: int,
                    strangers: list[int]) -> TrainData:
    """Enrol/probe split by photo order; the class grown from the most alike pairs of people."""
    from faceattend.embed import load_embedder
    from faceattend.train.data import concat

    enrol_idx, probe_idx = [], []
    for person in range(candidates):
        index = np.flatnonzero(faces.labels == person)
        if len(index) >= 4:  # a photo without a face can leave fewer
            enrol_idx += index[:3].tolist()
            probe_idx += index[3:].tolist()
    enrol, probes = faces.take(enrol_idx), faces.take(probe_idx)
    emb = load_embedder("cpu").embed(enrol.crops)
    sims = emb @ emb.T
    sims[enrol.labels[:, None] == enrol.labels[None, :]] = -1
    chosen: list[int] = []
    for flat in np.argsort(sims, axis=None)[::-1]:
        i, j = np.unravel_index(flat, sims.shape)
        for person in (int(enrol.labels[i]), int(enrol.labels[j])):
            if person not in chosen and len(chosen) < n_chosen:
                chosen.append(person)
        if len(chosen) >= n_chosen:
            break
    rest = [p for p in enrol.people if p not in chosen]
    reference = [rest[i] for i in np.random.default_rng(0).permutation(len(rest))[:n_reference]]
    return TrainData(enrol.of_people(chosen), probes.of_people(chosen),
                     concat([enrol.of_people(reference), probes.of_people(reference)]),
                     faces.of_people(strangers))


def load(split: Split, device: str) -> tuple[TrainData, float, int]:
    """Detect and align every photo; (the four sets, seconds, photos without a face)."""
    started = time.monotonic()
    detector = load_detector(split.min_face, 0.709, device=device)
    crops, kept, skipped = detect_crops(detector, split.paths)
    labels = np.array(split.labels, np.int64)[kept]
    names = {label: f"{split.name}-{label}" for label in set(split.labels)}
    faces = FaceSet(crops, labels, names)
    if split.pick is not None:
        data = split.pick(faces)
    else:
        data = assemble(faces, split.chosen, split.reference, split.strangers, holdout=split.holdout, seed=0)
    return data, time.monotonic() - started, len(skipped)


def run(trainer: Trainer) -> tuple[Evaluation, Evaluation, dict[str, np.ndarray]]:
    result = None
    for report in trainer.run():
        result = report.result or result
    assert result is not None
    return result.before, result.after, trainer.embeddings(result.state)


def _rates(known: list[int | None], truth: np.ndarray, strangers: list[int | None]) -> tuple[float, float]:
    ident = float(np.mean([k == t for k, t in zip(known, truth, strict=True)])) if len(truth) else float("nan")
    far = float(np.mean([k is not None for k in strangers])) if strangers else float("nan")
    return ident, far


def classifiers(emb: dict[str, np.ndarray], data: TrainData, threshold: float) -> dict[str, tuple[float, float]]:
    """(identification, false accepts) of nearest neighbour and the SVM on the same embeddings.

    "calibrated": the Unknown threshold that lets 1% of the *reference* people's faces through
    (people in neither the gallery nor the stranger test), the same rule for both methods.
    """
    names, truth = data.names, data.heldout.labels
    gallery = Gallery(emb["train"], [int(v) for v in data.train.labels], names)

    def nn(t: float) -> tuple[float, float]:
        probes = [m.person_id for m in gallery.match(emb["heldout"], t)]
        return _rates(probes, truth, [m.person_id for m in gallery.match(emb["strangers"], t)])

    out = {f"nearest neighbour @ {threshold:.2f}": nn(threshold)}
    if len(emb["reference"]):
        _, ref_scores = gallery.person_scores(emb["reference"])
        out["nearest neighbour @ calibrated"] = nn(threshold_at_far(ref_scores.max(1), 0.01))
    svm = LinearSVM().fit(emb["train"], data.train.labels, names)

    def sv() -> tuple[float, float]:
        probes = [m.person_id for m in svm.match(emb["heldout"])]
        return _rates(probes, truth, [m.person_id for m in svm.match(emb["strangers"])])

    out["SVM @ 0 (no calibration)"] = sv()
    if len(emb["reference"]):
        svm.calibrate(emb["reference"], 0.01)
        out["SVM @ calibrated"] = sv()
    return out


def pct(value: float | None) -> str:
    return "  n/a" if value is None or value != value else f"{100 * value:5.1f}"


def figures_line(label: str, e: Evaluation) -> str:
    return (f"  {label:24} ident {pct(e.identification)}%  rank-1 {pct(e.rank1)}%  false acc "
            f"{pct(e.false_accepts)}% ({e.false_accept_count}/{e.strangers})  own sim "
            f"{e.own_similarity or 0:.3f}  stranger sim {e.stranger_similarity or 0:.3f}  "
            f"closest pair {e.closest_pair:.3f} (gap {e.gap:+.3f})")


def score(before: Evaluation, after: Evaluation) -> tuple[float, float, float]:
    """How a variant ranks, in points: identification gain minus false-accept rise first; then
    the gain in separation (own-person minus strangers' similarity) and in the closest pair's
    gap to the threshold, which move before the counts do when a split is at the ceiling."""
    gain = 100 * ((after.identification or 0) - (before.identification or 0))
    gain -= 100 * ((after.false_accepts or 0) - (before.false_accepts or 0))
    sep_after = (after.own_similarity or 0) - (after.stranger_similarity or 0)
    sep_before = (before.own_similarity or 0) - (before.stranger_similarity or 0)
    return gain, 100 * (sep_after - sep_before), 100 * (after.gap - before.gap)


def bench_split(split: Split, options: TrainOptions, report: dict[str, object],
                with_variants: bool = True) -> dict[str, tuple[float, float, float]]:
    from faceattend.train.model import stock_state

    data, seconds, skipped = load(split, options.device)
    print(f"\n== {split.name}: {len(data.train.people)} people enrolled with {len(data.train)} photos, "
          f"{len(data.heldout)} held-out probes, {len(data.reference)} reference faces, "
          f"{len(data.strangers)} stranger faces (detect+align {seconds:.0f} s, {skipped} without a face)",
          flush=True)
    started = time.monotonic()
    trainer = Trainer(data, options)
    before, after, tuned = run(trainer)
    print(f"  fine-tuned with the defaults in {time.monotonic() - started:.0f} s "
          f"({options.loss}, {options.layers}, {options.epochs} epochs, lr {options.lr:g})")
    print(figures_line("stock (baseline)", before))
    print(figures_line("fine-tuned (default)", after), flush=True)
    scores = {"default": score(before, after)}
    variants = {}
    for name, change in VARIANTS.items() if with_variants else []:
        opts = replace(options, **change)  # type: ignore[arg-type]
        if opts == options:
            result_after = after
        else:
            started = time.monotonic()
            _, result_after, _ = run(Trainer(data, opts, bank=trainer.bank))
            name += f" ({time.monotonic() - started:.0f} s)"
        print(figures_line(name.split(" (")[0], result_after), flush=True)
        scores[name.split(" (")[0]] = score(before, result_after)
        variants[name.split(" (")[0]] = asdict(result_after)
    stock = trainer.embeddings(stock_state())
    print("  classifier on held-out probes / strangers      stock: ident  false acc   fine-tuned: ident  false acc")
    stock_rates, tuned_rates = classifiers(stock, data, options.threshold), classifiers(tuned, data, options.threshold)
    for method in stock_rates:
        (si, sf), (ti, tf) = stock_rates[method], tuned_rates[method]
        print(f"  {method:46} {pct(si)}%   {pct(sf)}%            {pct(ti)}%   {pct(tf)}%")
    report[split.name] = {"before": asdict(before), "after": asdict(after), "variants": variants,
                          "classifiers": {"stock": stock_rates, "fine-tuned": tuned_rates},
                          "detect_seconds": seconds}
    return scores


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller classes, no Yale (about half the time)")
    parser.add_argument("--json", metavar="PATH", help="also write every figure as JSON")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if not data_root().is_dir():
        print(f"no data at {data_root()} (set FACEATTEND_TEST_DATA)", file=sys.stderr)
        return 1
    started = time.monotonic()
    options = TrainOptions(device=args.device, threshold=DEFAULT_THRESHOLD)
    from faceattend.device import pick_device

    print(f"bench/finetune.py{' --quick' if args.quick else ''}: torch {torch.__version__} on "
          f"{pick_device(args.device)}, {args.threads} thread(s), {os.cpu_count()} CPU(s); defaults: "
          f"{options.loss}, layers {options.layers}, {options.epochs} epochs, lr {options.lr:g}, "
          f"keep-strangers weight {options.distill_weight:g}, threshold {options.threshold:.2f}")
    splits = [orl(args.quick), lfw(args.quick), lfw_lookalikes(args.quick)] + ([] if args.quick else [yale()])
    report: dict[str, object] = {"options": {k: v for k, v in asdict(options).items() if k != "augment"}}
    totals: dict[str, list[float]] = {}
    for split in splits:
        compare = split.name != "Yale"
        for name, figures in bench_split(split, options, report, compare).items():
            if compare:
                totals[name] = [a + b for a, b in zip(totals.get(name, [0.0, 0.0, 0.0]), figures, strict=True)]
    print("\n== loss comparison, summed over ORL, LFW and LFW look-alikes (points; higher is better; "
          "Yale: default only)")
    print("  variant                  ident gain - false-accept rise   separation gain   closest-pair gap gain")
    for name, (gain, sep, gap) in sorted(totals.items(), key=lambda kv: (-kv[1][0], -kv[1][1])):
        print(f"  {name:24} {gain:+8.1f}                        {sep:+8.2f}          {gap:+8.2f}")
    report["totals"] = totals
    print(f"\ntotal {time.monotonic() - started:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
