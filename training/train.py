"""Train a model, calibrate it on validation, export it with its model card.

Reads top to bottom: data -> model -> compile -> fit -> calibrate -> export -> evaluate.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import time
from dataclasses import asdict

import numpy as np

from core.modelcard import sha256_of, write_card
from core.preprocess import RANK_V2, method_for
from core.version import __version__
from training.config import TrainConfig  # also importable from here, as before
from training.data import class_names
from training.multisource import training_data
from training.sources import counts_table, source_class_weights
from training.dedup import HASH_NAME, MAX_DISTANCE
from training.model import MOBILENET_ARCHS, TRANSFER_ARCHS, backbone_of, build_model


def augment_config(cfg: TrainConfig):
    """The augmentation a training run applies (training.augment's defaults plus the run's options)."""
    from training.augment import AugmentConfig

    return AugmentConfig(inversion_probability=cfg.inversion_probability,
                         curve_probability=cfg.curve_probability,
                         skull_strip_probability=cfg.skull_strip_probability,
                         random_conv_probability=cfg.random_conv_probability,
                         rerank=cfg.preprocessing == RANK_V2)


def _datasets(tf, images, labels, train_idx, val_idx, num_classes, cfg, sample_weights):
    from training.augment import augment_batch

    augment = augment_config(cfg)
    one_hot = np.eye(num_classes, dtype=np.float32)[labels]
    train = tf.data.Dataset.from_tensor_slices((images[train_idx], one_hot[train_idx], sample_weights))
    train = train.shuffle(len(train_idx), seed=cfg.seed, reshuffle_each_iteration=True)
    train = train.batch(cfg.batch_size, drop_remainder=len(train_idx) >= cfg.batch_size)
    train = train.map(
        lambda x, y, w: (augment_batch(tf.cast(x, tf.float32), augment), y, w), num_parallel_calls=tf.data.AUTOTUNE
    ).prefetch(tf.data.AUTOTUNE)
    val = tf.data.Dataset.from_tensor_slices((images[val_idx].astype(np.float32), one_hot[val_idx]))
    val = val.batch(128).prefetch(tf.data.AUTOTUNE)
    return train, val


def export_model(model, path: str) -> None:
    """Save ``model`` for the app: architecture and weights without the optimizer's state, which
    would triple the file (MobileNetV2: 27.6 MB with AdamW's moments, 9 MB without)."""
    import keras

    bare = keras.models.clone_model(model)
    bare.set_weights(model.get_weights())
    bare.save(path)


class TimeLimit:
    """Stop training cleanly once a wall-clock budget is spent (keeps the 45-minute promise)."""

    @staticmethod
    def callback(keras, minutes):
        class _TimeLimit(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                self.started = time.time()
                self.epoch_times = []

            def on_epoch_end(self, epoch, logs=None):
                self.epoch_times.append(time.time())
                elapsed = time.time() - self.started
                per_epoch = elapsed / len(self.epoch_times)
                if elapsed + per_epoch > minutes * 60:
                    print(f"\ntime budget of {minutes:g} min reached after epoch {epoch + 1}; stopping")
                    self.model.stop_training = True

        return _TimeLimit()


def _fit(keras, model, train_ds, val_ds, epochs, lr, steps_per_epoch, callbacks, cfg):
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=lr / 10,
        decay_steps=max(1, epochs * steps_per_epoch),
        warmup_target=lr,
        warmup_steps=min(2 * steps_per_epoch, epochs * steps_per_epoch // 4),
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=cfg.weight_decay),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=cfg.label_smoothing),
        metrics=["accuracy"],
    )
    return model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=epochs,
        callbacks=callbacks,
        verbose=1 if os.isatty(1) else 2,
    )


def train(cfg: TrainConfig) -> dict:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    from training.metrics import fit_temperature, softmax

    keras.utils.set_random_seed(cfg.seed)
    if cfg.deterministic:
        tf.config.experimental.enable_op_determinism()
    started = time.time()

    names = class_names(cfg.data)
    data = training_data(cfg, names)
    train_idx, val_idx = data.train_idx, data.val_idx
    sample_weights = source_class_weights(data.sources[train_idx], data.labels[train_idx], len(names))
    counts = np.bincount(data.labels[train_idx], minlength=len(names))
    print(f"training images: {len(train_idx)} train / {len(val_idx)} validation (split by group); classes {names}")
    for source in np.unique(data.sources):
        in_source = data.sources[train_idx] == source
        print(f"  {source}: {int(in_source.sum())} train, weights per class "
              + ", ".join(f"{names[c]} {sample_weights[in_source & (data.labels[train_idx] == c)][:1].sum():.2f}"
                          for c in range(len(names)) if np.any(in_source & (data.labels[train_idx] == c))))
    train_ds, val_ds = _datasets(tf, data.images, data.labels, train_idx, val_idx, len(names), cfg, sample_weights)
    steps = max(1, len(train_idx) // cfg.batch_size)

    weights = cfg.weights if cfg.arch in TRANSFER_ARCHS or cfg.arch in MOBILENET_ARCHS else None
    model = build_model(cfg.arch, cfg.img_size, 1, len(names), weights=weights)
    run_dir = os.path.join(cfg.log_dir, f"{cfg.name}-{dt.datetime.now():%Y%m%d-%H%M%S}")
    os.makedirs(run_dir, exist_ok=True)
    checkpoint = os.path.join(run_dir, "best.weights.h5")
    callbacks = [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=cfg.patience, restore_best_weights=True),
        keras.callbacks.ModelCheckpoint(checkpoint, monitor="val_loss", save_best_only=True, save_weights_only=True),
        keras.callbacks.CSVLogger(os.path.join(run_dir, "epochs.csv"), append=True),
        keras.callbacks.TensorBoard(os.path.join(run_dir, "tensorboard"), write_graph=False),
    ]
    if cfg.max_minutes:
        callbacks.append(TimeLimit.callback(keras, cfg.max_minutes))

    backbone = backbone_of(model)
    if cfg.arch in TRANSFER_ARCHS and backbone is not None:
        backbone.trainable = False  # stage 1: train the new head on a frozen base
        _fit(keras, model, train_ds, val_ds, cfg.epochs, cfg.learning_rate, steps, callbacks, cfg)
        backbone.trainable = True  # stage 2: fine-tune everything at a lower rate
        _fit(keras, model, train_ds, val_ds, cfg.fine_tune_epochs, cfg.learning_rate / 10, steps, callbacks, cfg)
    else:
        _fit(keras, model, train_ds, val_ds, cfg.epochs, cfg.learning_rate, steps, callbacks, cfg)
    train_seconds = time.time() - started

    from core.keras_support import logits_model

    val_images = data.images[val_idx].astype(np.float32)
    val_logits = logits_model(model).predict(val_images, batch_size=128, verbose=0)
    temperature = fit_temperature(val_logits, data.labels[val_idx])
    val_probs = softmax(val_logits, temperature)
    val_accuracy = float((val_probs.argmax(1) == data.labels[val_idx]).mean())

    os.makedirs(cfg.out, exist_ok=True)
    model_path = os.path.join(cfg.out, f"{cfg.name}.keras")
    export_model(model, model_path)
    card = {
        "name": cfg.name,
        "version": __version__,
        "trained": True,
        "architecture": cfg.arch,
        "parameters": int(model.count_params()),
        "classes": names,
        "display_names": {"glioma": "Glioma", "meningioma": "Meningioma", "notumor": "No tumour", "pituitary": "Pituitary tumour"},
        "input_size": cfg.img_size,
        "channels": 1,
        "preprocessing": {
            "name": cfg.preprocessing,
            "function": "core.preprocess.preprocess",
            "description": method_for(cfg.preprocessing).description,
        },
        "output": "softmax over logits / temperature (core.classifier applies the temperature)",
        "temperature": temperature,
        "low_confidence_threshold": 0.70,
        "training_data": {
            "dataset": "Brain Tumor MRI Dataset (Kaggle, M. Nickparvar; CC0): figshare + SARTAJ + Br35H",
            "split_used": "Training/" + "".join(f" + {os.path.basename(os.path.normpath(f))} (split == train)" for f in cfg.sources),
            "sources": [os.path.basename(os.path.normpath(f)) for f in cfg.sources],
            "counts_by_source_sequence_class": {
                "train": counts_table((data.sources[train_idx], data.sequences[train_idx], data.labels[train_idx]), names),
                "validation": counts_table((data.sources[val_idx], data.sequences[val_idx], data.labels[val_idx]), names),
            },
            "loss_weights": "every class weighs the same; inside a class every source that has it weighs the same",
            "train_images": int(len(train_idx)),
            "validation_images": int(len(val_idx)),
            "train_counts": {n: int(c) for n, c in zip(names, counts)},
            "validation_split": f"Kaggle: by near-duplicate group ({HASH_NAME}, <= {MAX_DISTANCE} bits), stratified by class; "
            f"manifest sources: {cfg.source_validation_fraction:.0%} of groups (patient / examination); seed {data.seed}",
            "augmentation": augment_config(cfg).description(),
        },
        "training": {
            "config": {k: v for k, v in asdict(cfg).items() if k not in ("data", "cache_dir", "log_dir")},
            "epochs_run": None,
            "seconds": round(train_seconds, 1),
            "hardware": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores; TensorFlow {tf.__version__}",
            "validation_accuracy_calibrated": val_accuracy,
            "log_dir": run_dir,
        },
        "date": dt.date.today().isoformat(),
        "metrics": {},
        "sha256": sha256_of(model_path),
    }
    with open(os.path.join(run_dir, "validation.json"), "w") as handle:
        json.dump({"paths": [data.paths[i] for i in val_idx]}, handle)
    csv_path = os.path.join(run_dir, "epochs.csv")
    if os.path.exists(csv_path):
        with open(csv_path) as handle:
            card["training"]["epochs_run"] = max(0, sum(1 for _ in handle) - 1)
    card_path = os.path.join(cfg.out, f"{cfg.name}.json")
    write_card(card_path, card)
    from training.export import export  # the .tflite file the app runs, its SHA-256 in the card

    export(model_path)
    print(json.dumps({"model": model_path, "card": card_path, "temperature": temperature,
                      "validation_accuracy": val_accuracy, "train_seconds": round(train_seconds, 1)}))
    return {"model_path": model_path, "card_path": card_path, "run_dir": run_dir}
