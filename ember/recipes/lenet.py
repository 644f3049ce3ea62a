"""A LeNet-style convolutional network on MNIST: the 60,000 training images when downloaded, else a split of the
shipped 10,000 (8,000 to train and 2,000 to test).

:func:`ember.models.lenet` makes the network; its input is the rows of 784 pixels that
``ember.data.mnist`` returns, which its first ``View`` turns into 1 x 28 x 28 images::

    View(1, 28, 28) -> SpatialConvolution(1 -> 6, 5x5, pad 2) -> ReLU -> SpatialMaxPooling(2x2)   # 6 x 14 x 14
                    -> SpatialConvolution(6 -> 16, 5x5) -> ReLU -> SpatialMaxPooling(2x2)        # 16 x 5 x 5
                    -> View(-1) -> Linear(400 -> 120) -> ReLU [-> Dropout] -> Linear(120 -> 84) -> ReLU
                    -> Linear(84 -> 10) -> LogSoftMax

:func:`mnist_data` chooses the data: MNIST's 60,000 training images and its 10,000 test images
when the training set has been downloaded (``ember data download mnist``), else the shipped 10,000
split by ``ember.data.train_test_split`` (2,000 held out for testing); its ``record`` says which, in
the form ``ember train --save`` keeps in a model file, so that ``ember evaluate --split test`` scores
the held-out images. :func:`train_lenet` trains in float32 with Adam (step size 1e-3, decaying as
1/(1 + 1e-3·t)) on mini-batches of 32, shuffled each epoch, with ``ClassNLLCriterion``:
after 12 epochs the test accuracy is 97.4-97.7% (seeds 0-2), in about 35 s on 2 cores.

Example::

    from ember.recipes import lenet
    mnist = lenet.mnist_data()
    result = lenet.train_lenet(*mnist.train, test_data=mnist.test, epochs=2)
    print(mnist.description, result.test_accuracy)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ember import data, models, nn
from ember.errors import InputError
from ember.random import manual_seed

N_CLASSES = 10
#: the training settings of the recipe (and of ``ember train --model lenet``).
EPOCHS, BATCH_SIZE, LEARNING_RATE, LEARNING_RATE_DECAY = 12, 32, 1e-3, 1e-3
OPTIMIZER = "adam"
#: images held out for testing, of the 10,000 shipped.
N_TEST = 2000


@dataclass
class MnistData:
    """The images a LeNet trains and is tested on, chosen by :func:`mnist_data`.

    Attributes:
        train, test: ``(X, y)`` pairs, ``X`` rows of 784 pixels in [0, 1].
        description: one line saying which images these are.
        record: what a saved model keeps about its training data (``io.save(model, path, info=
            {"ember train": record})``): the dataset name, the seed and the held-out rows of the
            shipped 10,000 (``None`` when the model trained on MNIST's training set).

    """

    train: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]
    description: str
    record: dict[str, Any]


def mnist_data(data_dir: Any = None, *, n_test: int = N_TEST, n_train: int | None = None,
               seed: int = 0) -> MnistData:
    """MNIST's 60,000 training and 10,000 test images where the training set is present (the data directory or
    the download cache), else the shipped 10,000 split ``10,000 − n_test`` / ``n_test`` with ``seed``
    (``n_train``, when given, sets the training part's size instead).
    """
    test = data.mnist(data_dir=data_dir)
    if n_train is not None:
        n_test = len(test[0]) - n_train
    try:
        train = data.mnist("train", data_dir=data_dir)
    except FileNotFoundError:
        if not 0 < n_test < len(test[0]):
            raise InputError(f"mnist_data: the split must leave 1 to {len(test[0]) - 1} of the {len(test[0])} images "
                             f"for testing, got {n_test}") from None
        kept, held_out = data.split_indices(len(test[0]), n_test, seed=seed)
        X, y = test
        return MnistData((X[kept], y[kept]), (X[held_out], y[held_out]),
                         f"the shipped MNIST test set split {len(kept)} for training / {len(held_out)} for testing "
                         f"(seed {seed}; 'ember data download mnist' for the 60,000 training images)",
                         {"dataset": "mnist", "limit": None, "seed": seed,
                          "held_out": sorted(int(i) for i in held_out)})
    return MnistData(train, test, f"MNIST: {len(train[0])} training images, {len(test[0])} test images",
                     {"dataset": "mnist", "limit": None, "seed": seed, "held_out": None})


@dataclass
class LenetResult:
    """A LeNet trained by :func:`train_lenet`.

    Attributes:
        model: the trained network (in training mode, as ``fit`` leaves it).
        history: the ``ember.train`` history: ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy`` per epoch.
        train_accuracy, test_accuracy: the final accuracies on the training and test images.
        test_loss: the final mean ClassNLL loss on the test images.
        seconds: the training time (``fit`` only, not the data split or the final evaluation).

    """

    model: nn.Sequential
    history: Any = field(repr=False)
    train_accuracy: float
    test_accuracy: float
    test_loss: float
    seconds: float


def train_lenet(X: np.ndarray, y: np.ndarray, *, epochs: int = EPOCHS, batch_size: int = BATCH_SIZE,
                learning_rate: float = LEARNING_RATE, learning_rate_decay: float = LEARNING_RATE_DECAY,
                dropout: float = 0.0, n_test: int = N_TEST, seed: int = 0, dtype: Any = np.float32,
                progress: bool = False,
                callbacks: Iterable[Callable[[int, dict[str, float]], Any]] = (),
                test_data: tuple[np.ndarray, np.ndarray] | None = None) -> LenetResult:
    """Build a LeNet and train it with Adam on MNIST images, tested on held-out ones.

    Args:
        X: ``(n, 784)`` images scaled to [0, 1] (``ember.data.mnist()``).
        y: ``(n,)`` digits.
        epochs: passes over the training images.
        batch_size: examples per Adam step.
        learning_rate: Adam's initial step size.
        learning_rate_decay: Adam's step size at step ``t`` is ``learning_rate / (1 + t · learning_rate_decay)``.
        dropout: see :func:`ember.models.lenet`.
        n_test: images held out for testing (``ember.data.train_test_split``, shuffled with ``seed``).
        seed: seed of the split, the initialisation (``ember.random.manual_seed``) and the shuffling.
        dtype: the network's dtype (default float32).
        progress: show ``ember.train``'s progress bar.
        callbacks: ``callback(epoch, logs)`` after each epoch, as ``ember.train.fit`` takes them.
        test_data: ``(X_test, y_test)`` to test on (e.g. :func:`mnist_data`'s): then all of ``X`` trains and
            nothing is split off (``n_test`` is not used).

    Raises:
        ValueError: the images are not rows of 784 pixels, or ``n_test`` leaves no training or test image.

    """
    from ember.train import evaluate, fit

    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != int(np.prod(models.IMAGE_SHAPE)):
        raise InputError(f"train_lenet: expected images as rows of 784 pixels, shape (n, 784), got {X.shape}")
    if test_data is None:
        X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=n_test, seed=seed)
    else:
        (X_train, y_train), (X_test, y_test) = (X, y), test_data
    X_train, X_test = X_train.astype(dtype, copy=False), X_test.astype(dtype, copy=False)
    manual_seed(seed)
    model = models.lenet(N_CLASSES, dropout=dropout, dtype=dtype)
    criterion = nn.ClassNLLCriterion()
    config = {"learning_rate": learning_rate, "learning_rate_decay": learning_rate_decay}
    start = time.perf_counter()
    history = fit(model, criterion, X_train, y_train, optimizer=OPTIMIZER, config=config, epochs=epochs,
                  batch_size=batch_size, shuffle=True, seed=seed, validation_data=(X_test, y_test),
                  progress=progress, callbacks=callbacks)
    seconds = time.perf_counter() - start
    train_scores = evaluate(model, criterion, X_train, y_train, batch_size=500)
    test_scores = evaluate(model, criterion, X_test, y_test, batch_size=500)
    return LenetResult(model, history, float(train_scores["accuracy"]), float(test_scores["accuracy"]),
                       float(test_scores["loss"]), seconds)
