"""Fine-tuning end to end on a tiny set of real faces (ORL), plus the losses, batches and SVM.

The tiny set: six ORL people, four photos each, detected and aligned by the app's pipeline and
enrolled in a temporary database. Four are trained on; the other two keep strangers unknown and
measure false accepts. One epoch, one cached view: seconds, not minutes.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from faceattend.classifier import LinearSVM
from faceattend.config import Settings
from faceattend.embed import STOCK_MODEL
from faceattend.images import load_image
from faceattend.pipeline import ACTIVE_MODEL_KEY, Recognizer, models_dir
from faceattend.store import Store
from faceattend.train import (
    DEFAULT_LOSS,
    Trainer,
    TrainOptions,
    activate,
    discard_candidate,
    list_versions,
    save_candidate,
    store_data,
)
from faceattend.train.data import holdout_count, pk_batches, split_pool
from faceattend.train.losses import MarginHead, triplet_loss
from faceattend.train.metrics import evaluate
from faceattend.train.model import stock_state

from conftest import data_path
from recognition_fixtures import recognizer  # noqa: F401  (session fixture)

TINY = TrainOptions(epochs=1, batch_size=8, views=1, device="cpu")


def enrol_orl(recognizer: Recognizer, db: Path, people: int = 6, photos: int = 4) -> None:
    """Enrol ``people`` ORL subjects with ``photos`` aligned crops each, as the app would."""
    root = data_path("orl")
    with Store(db) as store:
        for n in range(1, people + 1):
            pid = store.add_person(f"orl s{n}")
            for k in range(1, photos + 1):
                path = root / f"s{n}" / f"{k}.pgm"
                face = recognizer.single_face(load_image(path), str(path))
                store.add_sample(pid, face.embedding, recognizer.model_name, face.crop, 1.0, str(path))


@pytest.fixture(scope="module")
def tiny(recognizer: Recognizer, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201, F811
    """(settings, the trained result, every report, the trainer) — one run shared below."""
    folder = tmp_path_factory.mktemp("tiny")
    settings = Settings(database=str(folder / "faceattend.db"), device="cpu")
    enrol_orl(recognizer, settings.database_path())
    with Store(settings.database_path()) as store:
        chosen = [p.id for p in store.people()][:4]
        data = store_data(store, chosen)
    trainer = Trainer(data, TINY)
    reports = list(trainer.run())
    return settings, reports[-1].result, reports, trainer


def snapshot(settings: Settings) -> tuple[object, ...]:
    with Store(settings.database_path()) as store:
        samples = [(s.id, s.model, s.embedding.tobytes()) for s in store.samples()]
        meta = store.db.execute("SELECT key, value FROM meta ORDER BY key").fetchall()
    folder = models_dir(settings)
    files = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    return samples, meta, files


def test_fine_tune_runs_end_to_end_and_changes_the_weights(tiny) -> None:  # noqa: ANN001
    _, result, reports, _ = tiny
    stages = [r.stage for r in reports]
    assert stages[0] == "prepare" and stages[-1] == "done" and "train" in stages
    assert [r.epoch for r in reports if r.validation is not None and r.stage == "train"] == [0, 1]
    losses = [r.losses for r in reports if r.losses]
    assert losses and all(np.isfinite(v) for terms in losses for v in terms.values())
    assert {DEFAULT_LOSS, "distill"} <= set(losses[0])
    stock = stock_state()
    assert not torch.equal(result.state["fc.weight"], stock["fc.weight"])
    assert torch.equal(result.state["blocks.0.pw.conv.weight"], stock["blocks.0.pw.conv.weight"])  # frozen
    assert (result.before.probes, result.before.strangers) == (result.after.probes, result.after.strangers) == (4, 4)


def test_before_figures_are_the_stock_embeddings_matched_by_hand(tiny) -> None:  # noqa: ANN001
    """"Before" is the stock model, whose embeddings the database already holds (they were
    enrolled with it): match them with a plain loop, not :class:`Gallery`, and compare counts."""
    settings, result, _, trainer = tiny
    d, before = trainer.data, result.before
    with Store(settings.database_path()) as store:
        stored = {s.id: s.embedding for s in store.samples()}

    gallery = list(zip(d.train.sample_ids, d.train.labels, strict=True))

    def best(sample_id: int) -> tuple[int, float]:
        """(person, similarity) of the closest training sample."""
        score, person = max((float(stored[sample_id] @ stored[g]), int(p)) for g, p in gallery)
        return person, score

    named = [(best(int(i)), int(truth)) for i, truth in zip(d.heldout.sample_ids, d.heldout.labels, strict=True)]
    right = sum(p == truth and s >= before.threshold for (p, s), truth in named)
    taken = sum(best(int(i))[1] >= before.threshold for i in d.strangers.sample_ids)
    assert before.identification == right / 4 and before.rank1 == sum(p == truth for (p, _), truth in named) / 4
    assert before.false_accepts == taken / 4 and before.false_accept_count == taken
    # ORL faces are easy for the stock model: all four held-out faces named, no stranger taken
    assert (right, taken) == (4, 0)


def test_discard_leaves_database_and_models_folder_untouched(tiny) -> None:  # noqa: ANN001
    settings, result, _, _ = tiny
    before = snapshot(settings)
    version = save_candidate(result, settings)
    assert version.path is not None and version.path.is_file()
    discard_candidate(version)
    assert snapshot(settings) == before


def test_accept_re_embeds_and_switches_then_the_stock_model_comes_back(tiny) -> None:  # noqa: ANN001
    settings, result, _, _ = tiny
    version = save_candidate(result, settings)
    with Store(settings.database_path()) as store:
        old = {s.id: s.embedding for s in store.samples()}
        assert activate(store, settings, version.name) == len(old)
        assert store.get_meta(ACTIVE_MODEL_KEY) == version.name
        assert store.sample_models() == {version.name: len(old)}
        assert len(store.gallery(version.name)) == len(old)
        new = {s.id: s.embedding for s in store.samples()}
        assert any(not np.allclose(old[i], new[i], atol=1e-4) for i in old)
        assert [v.name for v in list_versions(settings)] == [STOCK_MODEL, version.name]
        activate(store, settings, STOCK_MODEL)  # restore: back to the stock embeddings
        assert store.get_meta(ACTIVE_MODEL_KEY) == STOCK_MODEL
        for sample in store.samples():
            assert np.allclose(sample.embedding, old[sample.id], atol=1e-4)


def test_cancel_stops_the_generator(tiny) -> None:  # noqa: ANN001
    _, _, _, done = tiny
    cancel = threading.Event()
    reports = []
    for report in Trainer(done.data, TINY, bank=done.bank).run(cancel):  # cached faces: no prepare
        reports.append(report)
        if report.stage == "train":
            cancel.set()
    assert reports[-1].stage == "cancelled" and reports[-1].result is None
    assert [r.stage for r in reports] == ["train", "cancelled"]
    cancel = threading.Event()
    cancel.set()  # also while preparing
    assert [r.stage for r in Trainer(done.data, TINY).run(cancel)] == ["cancelled"]


@pytest.mark.parametrize("layers, trained, frozen", [
    ("last", "blocks.11.pw.conv.weight", "blocks.10.pw.conv.weight"),
    ("all", "blocks.0.dw.conv.weight", None),
])
def test_layer_choices_train_what_they_say(tiny, layers: str, trained: str, frozen: str | None,  # noqa: ANN001
                                           ) -> None:
    _, _, _, done = tiny
    reports = list(Trainer(done.data, replace(TINY, layers=layers, loss="triplet")).run())
    result = reports[-1].result
    assert result is not None
    assert any({"triplet", "softmax", "distill"} <= set(r.losses) for r in reports)
    stock = stock_state()
    assert not torch.equal(result.state[trained], stock[trained])
    if frozen is not None:
        assert torch.equal(result.state[frozen], stock[frozen])
    for key in ("blocks.0.dw.bn.running_mean", "bn_embedding.running_var"):  # statistics stay frozen
        assert torch.equal(result.state[key], stock[key])


def test_evaluation_figures_on_hand_made_embeddings() -> None:
    """Ann (1) and Bob (2) enrol one sample each on axes 0 and 1. Ann's held-out sample scores
    0.9 with Ann; Bob's scores 0.4 with Bob and 0.3 with Ann (right, but under the threshold
    0.55); the two held-out samples score 0.5 with each other, the closest different pair.
    Strangers' best scores: 0.6 (taken for Ann) and 0.2."""
    def vector(*entries: float) -> np.ndarray:
        v = np.zeros(6)
        v[:len(entries)] = entries
        v[5] = np.sqrt(1 - v @ v)
        return v

    ann_probe = vector(0.9, 0, np.sqrt(0.19))
    bob_probe = vector(0.3, 0.4, (0.5 - 0.27) / np.sqrt(0.19))
    bob_probe[5], ann_probe[5] = 0.0, 0.0  # they share no other axis: their similarity stays 0.5
    bob_probe[4] = np.sqrt(1 - bob_probe @ bob_probe)
    gallery = np.stack([vector(1.0), vector(0, 1.0)])
    strangers = np.stack([vector(0.6), vector(0, 0.2)])
    figures = evaluate(gallery, np.array([1, 2]), np.stack([ann_probe, bob_probe]), np.array([1, 2]),
                       strangers, {1: "Ann", 2: "Bob"}, threshold=0.55)
    assert float(ann_probe @ bob_probe) == pytest.approx(0.5)
    assert figures.rank1 == 1.0 and figures.identification == 0.5 and figures.probes == 2
    assert figures.false_accepts == 0.5 and figures.false_accept_count == 1 and figures.strangers == 2
    assert figures.own_similarity == pytest.approx((0.9 + 0.4) / 2)
    assert figures.stranger_similarity == pytest.approx((0.6 + 0.2) / 2)
    assert figures.closest_pair == pytest.approx(0.5) and figures.closest_names == ("Ann", "Bob")
    assert figures.gap == pytest.approx(0.05)


def test_evaluation_without_probes_or_strangers_says_unmeasured() -> None:
    gallery = np.eye(4)[:2]
    figures = evaluate(gallery, np.array([1, 2]), np.zeros((0, 4)), np.zeros(0, np.int64),
                       np.zeros((0, 4)), {1: "Ann", 2: "Bob"}, threshold=0.5)
    assert figures.identification is None and figures.rank1 is None and figures.false_accepts is None
    assert figures.own_similarity is None and figures.stranger_similarity is None
    assert np.isnan(figures.closest_pair) and np.isnan(figures.gap)  # no held-out pair to measure


def test_triplet_loss_is_zero_when_people_are_far_apart_and_positive_when_mixed() -> None:
    labels = torch.tensor([0, 0, 1, 1])
    apart = torch.tensor([[1.0, 0], [1, 0], [0, 1], [0, 1]])
    assert float(triplet_loss(apart, labels)) == 0.0
    mixed = torch.nn.functional.normalize(torch.tensor([[1.0, 0], [0, 1], [1, 0.1], [0.1, 1]]), dim=1)
    assert float(triplet_loss(mixed, labels)) > 0.2
    assert float(triplet_loss(mixed, labels, mining="hard")) > 0.2


def test_margin_losses_penalise_the_margin() -> None:
    emb = torch.nn.functional.normalize(torch.tensor([[1.0, 0.7], [0.7, 1.0]]), dim=1)
    target = torch.tensor([0, 1])
    with torch.no_grad():
        plain = float(MarginHead(torch.eye(2), "amsoftmax", 30.0, 0.0)(emb, target))
        am = float(MarginHead(torch.eye(2), "amsoftmax", 30.0, 0.35)(emb, target))
        arc = float(MarginHead(torch.eye(2), "arcface", 64.0, 0.5)(emb, target))
    assert plain < 0.01 < 1 < am < arc  # right side of the boundary, but inside both margins


def test_batches_cover_every_sample_with_pairs_of_several_people() -> None:
    labels = np.repeat(np.arange(7), [2, 3, 4, 5, 6, 7, 8])
    batches = pk_batches(labels, 16, 4, np.random.default_rng(0))
    seen = np.concatenate(batches)
    assert set(seen) == set(range(len(labels)))
    for batch in batches:
        assert len(np.unique(labels[batch])) >= 2
        _, counts = np.unique(labels[batch], return_counts=True)
        assert (counts >= 2).all()


def test_split_rules() -> None:
    assert [holdout_count(n, 0.3) for n in (1, 2, 3, 4, 10)] == [0, 0, 1, 1, 3]
    assert split_pool([5]) == ([], [5])
    assert split_pool([1, 2, 3]) == ([1, 3], [2])


def test_linear_svm_separates_people_and_calls_strangers_unknown() -> None:
    rng = np.random.default_rng(0)
    centres = np.eye(8)[:4] * 1.0
    x = np.concatenate([c + 0.05 * rng.standard_normal((10, 8)) for c in centres])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = np.repeat([10, 11, 12, 13], 10)
    svm = LinearSVM().fit(x, y, {10: "a", 11: "b", 12: "c", 13: "d"})
    assert [m.person_id for m in svm.match(x)] == list(y)
    strangers = np.eye(8)[4:] + 0.05 * rng.standard_normal((4, 8))
    svm.calibrate(strangers, max_far=0.0)
    assert all(not m.known for m in svm.match(strangers))
    assert sum(m.known for m in svm.match(x)) >= 38


def cli(*argv: str) -> int:
    """The main CLI's global options plus ``add_train_parser``, as ``faceattend.cli`` wires them."""
    import argparse

    from faceattend.train.cli import add_train_parser

    parser = argparse.ArgumentParser(prog="faceattend")
    parser.add_argument("--db")
    parser.add_argument("--device")
    parser.add_argument("--threshold", type=float)
    add_train_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    return int(args.handler(args))


def test_cli_trains_from_a_folder_then_switches_and_lists(tiny, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    settings, _, _, _ = tiny
    dataset = tmp_path / "people"
    for n in (7, 8, 9, 10):  # read in place: links, not copies
        (dataset / f"s{n}").mkdir(parents=True)
        for k in (1, 2, 3):
            (dataset / f"s{n}" / f"{k}.pgm").symlink_to(data_path("orl", f"s{n}", f"{k}.pgm"))
    out = tmp_path / "class.pt"
    db = str(settings.database_path())
    assert cli("--db", db, "--device", "cpu", "train", "--dataset", str(dataset), "--out", str(out),
               "--epochs", "1", "--batch", "8", "--views", "1", "--holdout", "0.34") == 0
    assert out.is_file() and out.with_suffix(".json").is_file()
    printed = capsys.readouterr().out
    assert "before (stock)" in printed and "identification (held-out)" in printed
    assert cli("--db", db, "--device", "cpu", "train", "--use", str(out)) == 0
    with Store(settings.database_path()) as store:
        assert store.get_meta(ACTIVE_MODEL_KEY) == "class"
    capsys.readouterr()
    assert cli("--db", db, "train", "--list") == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0].endswith("stock model") and any(line.startswith("* class") for line in listed)
    assert cli("--db", db, "--device", "cpu", "train", "--use", STOCK_MODEL) == 0


def test_cli_discard_and_accept_on_the_database(tiny, capsys) -> None:  # noqa: ANN001
    settings, _, _, _ = tiny
    db = str(settings.database_path())
    quick = ("--epochs", "1", "--batch", "8", "--views", "1")
    with Store(db) as store:
        active = store.get_meta(ACTIVE_MODEL_KEY)
    before = snapshot(settings)
    assert cli("--db", db, "--device", "cpu", "train", "--people", "orl s1", "orl s2", *quick, "--no") == 0
    assert "discarded" in capsys.readouterr().out
    assert snapshot(settings) == before
    assert cli("--db", db, "--device", "cpu", "train", "--people", "orl s1", "orl s2", *quick, "--yes") == 0
    with Store(db) as store:
        name = store.get_meta(ACTIVE_MODEL_KEY)
        assert name != active and store.sample_models() == {name: 24}
    assert cli("--db", db, "--device", "cpu", "train", "--use", active or STOCK_MODEL) == 0
