"""core.classifier: checksum-verified loading in safe mode, calibrated probabilities, lazy TF."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from core.errors import ModelError
from tests.conftest import ROOT, save_with_card


def test_importing_core_does_not_import_tensorflow():
    code = (
        "import sys; sys.path.insert(0, %r);"
        "import core, core.io, core.preprocess, core.classifier, core.modelcard, cli;"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules" % ROOT
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_predicts_probabilities_that_sum_to_one(tiny_model_path, head_image):
    from core.classifier import Classifier

    classifier = Classifier.load(tiny_model_path)
    predictions = classifier.predict_pixels([head_image, head_image.T])
    assert len(predictions) == 2
    for p in predictions:
        assert set(p.probabilities) == {"glioma", "meningioma", "notumor", "pituitary"}
        assert sum(p.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
        assert p.label == max(p.probabilities, key=p.probabilities.get)
        assert p.confidence == pytest.approx(max(p.probabilities.values()))


def test_temperature_from_the_card_is_applied(tmp_path, head_image):
    from core.classifier import Classifier, softmax
    from tests.conftest import tiny_classifier_model

    model = tiny_classifier_model()
    hot = Classifier.load(save_with_card(model, tmp_path / "t", temperature=3.0))
    logits = hot.logits(hot.preprocess([head_image])[0])
    probs = hot.predict_pixels([head_image])[0].probabilities
    np.testing.assert_allclose(list(probs.values()), softmax(logits, 3.0)[0], atol=1e-6)


def test_refuses_a_model_whose_checksum_does_not_match(tmp_path, tiny_model_path):
    from core.classifier import Classifier

    folder = tmp_path / "tampered"
    folder.mkdir()
    copy = folder / "tiny.keras"
    shutil.copy(tiny_model_path, copy)
    shutil.copy(tiny_model_path.replace(".keras", ".json"), folder / "tiny.json")
    with open(copy, "ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(ModelError, match="does not match its card"):
        Classifier.load(str(copy))


def test_missing_model_and_missing_card(tmp_path, tiny_model_path):
    from core.classifier import Classifier

    with pytest.raises(ModelError, match="not found"):
        Classifier.load(str(tmp_path / "absent.keras"))
    shutil.copy(tiny_model_path, tmp_path / "nocard.keras")
    with pytest.raises(ModelError, match="card not found"):
        Classifier.load(str(tmp_path / "nocard.keras"))


def test_corrupt_model_file_with_matching_card_gives_model_error(tmp_path):
    from core.classifier import Classifier
    from core.modelcard import sha256_of, write_card

    path = tmp_path / "junk.keras"
    path.write_bytes(b"PK\x03\x04 this is not a keras archive")
    write_card(str(tmp_path / "junk.json"), {"classes": ["a", "b"], "input_size": 32, "channels": 1,
                                               "preprocessing": {}, "sha256": sha256_of(str(path))})
    with pytest.raises(ModelError, match="cannot load model"):
        Classifier.load(str(path))


def test_lambda_layer_is_refused_in_safe_mode(tmp_path):
    import keras

    from core.classifier import Classifier

    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Lambda(lambda t: t * 2.0)(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(4, activation="softmax")(x)
    path = save_with_card(keras.Model(inputs, outputs), tmp_path, "lambda", input_size=8)
    with pytest.raises(ModelError, match="safe mode"):
        Classifier.load(path)


def test_card_input_size_must_match_model(tmp_path, tiny_model_path):
    from core.classifier import Classifier

    shutil.copy(tiny_model_path, tmp_path / "m.keras")
    card = json.load(open(tiny_model_path.replace(".keras", ".json")))
    card["input_size"] = 48
    json.dump(card, open(tmp_path / "m.json", "w"))
    with pytest.raises(ModelError, match="does not match its card"):
        Classifier.load(str(tmp_path / "m.keras"))


def test_committed_model_card_checksum_matches_the_committed_file():
    from core.modelcard import read_card, verify_checksum
    from core.paths import card_path_for, default_model_path

    model_path = default_model_path()
    if not os.path.exists(model_path):
        pytest.skip("no bundled model in models/")
    card = read_card(card_path_for(model_path))
    assert model_path.endswith(".tflite")  # the app runs on LiteRT
    assert verify_checksum(model_path, card) == card.data["litert"]["sha256"]
    keras_path = model_path[: -len(".tflite")] + ".keras"  # its source, kept for training and the equality tests
    assert verify_checksum(keras_path, card) == card.sha256 == card.data["litert"]["source_sha256"]
    assert card.classes == ["glioma", "meningioma", "notumor", "pituitary"]
    assert os.path.getsize(model_path) <= 20 * 1024 * 1024


def _copy_with_card_edit(tmp_path, tiny_model_path, edit):
    shutil.copy(tiny_model_path, tmp_path / "m.keras")
    card = json.load(open(tiny_model_path.replace(".keras", ".json")))
    edit(card)
    json.dump(card, open(tmp_path / "m.json", "w"))
    return str(tmp_path / "m.keras")


def test_preprocessing_named_in_the_card_is_the_one_used(tmp_path, tiny_model_path, head_image):
    """Models trained before v2 keep their v1 preprocessing; a v2 card gets v2's tensors."""
    from core.classifier import Classifier
    from core.preprocess import PERCENTILE_V1, RANK_V2, preprocess

    def rank(card):
        card["preprocessing"] = {"name": RANK_V2}

    def unnamed(card):
        card["preprocessing"] = {}

    for edit, expected in ((rank, RANK_V2), (unnamed, PERCENTILE_V1)):
        classifier = Classifier.load(_copy_with_card_edit(tmp_path, tiny_model_path, edit))
        assert classifier.preprocessing == expected
        batch, _ = classifier.preprocess([head_image])
        np.testing.assert_array_equal(batch[0], preprocess(head_image, classifier.input_size, expected)[0])
    assert not np.array_equal(preprocess(head_image, 32, RANK_V2)[0], preprocess(head_image, 32, PERCENTILE_V1)[0])


def test_unknown_preprocessing_in_the_card_is_refused(tmp_path, tiny_model_path):
    from core.classifier import Classifier

    def future(card):
        card["preprocessing"] = {"name": "head-crop-something-v9"}

    with pytest.raises(ModelError, match="unknown preprocessing.*newer version"):
        Classifier.load(_copy_with_card_edit(tmp_path, tiny_model_path, future))
