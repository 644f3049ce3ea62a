"""scikit-learn estimators around ember networks: :class:`EmberClassifier` and :class:`EmberRegressor`.

Needs ``pip install 'ember[sklearn]'`` (scikit-learn 1.6 or newer). Either estimator trains an ember module
with an :mod:`ember.optim` optimizer in mini-batches, as scikit-learn's ``MLPClassifier`` /
``MLPRegressor`` do, and is a full scikit-learn estimator: ``get_params``/``set_params``, ``clone``,
``Pipeline``, ``GridSearchCV``, ``cross_val_score``, ``partial_fit``; it passes ``check_estimator``.

The network is built at ``fit`` by ``module(n_features, n_outputs)`` (any callable returning an ember
module; default :func:`ember.models.mlp` with ``hidden_layer_sizes`` and ``activation``) and its parameters
are then drawn by the module's own ``reset`` from ``random_state``, so equal ``random_state`` gives equal
models. The trained module is ``model_``; its loss per epoch is ``loss_curve_``.

Example:
    >>> from ember.sklearn import EmberClassifier
    >>> from ember import data
    >>> X, y = data.iris()[:2]
    >>> clf = EmberClassifier(hidden_layer_sizes=(16,), learning_rate=0.01, max_iter=300, random_state=0)
    >>> clf.fit(X, y).score(X, y) > 0.9
    True

"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import check_is_fitted, validate_data

from ember import models, nn, optim
from ember.errors import EmberError, InputError, InputTypeError, NonFiniteError
from ember.train import predict_proba as _predict_proba

__all__ = ["EmberClassifier", "EmberRegressor"]

#: ember.optim functions the estimators accept by name (steps of the form ``x, fx = opt(feval, x, state)``).
OPTIMIZERS = ("adadelta", "adagrad", "adam", "adamax", "adamw", "nag", "rmsprop", "rprop", "sgd")


def _validated(estimator: Any, *args: Any, **kwargs: Any) -> Any:
    """scikit-learn's ``validate_data``, its ``ValueError`` (NaN, wrong shape or dtype, too few rows) raised as
    an :class:`~ember.errors.InputError` naming the estimator, with scikit-learn's message kept.
    """
    try:
        return validate_data(estimator, *args, **kwargs)
    except (ValueError, TypeError) as error:
        if isinstance(error, EmberError):
            raise
        kind = InputTypeError if isinstance(error, TypeError) else InputError
        raise kind(f"{type(estimator).__name__}: {error}") from error


class _EmberEstimator(BaseEstimator):
    """What both estimators share: parameters, validation, the training loop, early stopping."""

    def __init__(self, module: Callable[[int, int], nn.Module] | None = None, *,
                 hidden_layer_sizes: tuple[int, ...] = (100,), activation: str = "relu",
                 criterion: Callable[[], nn.Criterion] | nn.Criterion | None = None, optimizer: str = "adam",
                 learning_rate: float = 1e-3, weight_decay: float = 0.0, optimizer_config: dict | None = None,
                 batch_size: int | str = "auto", max_iter: int = 200, tol: float = 1e-4,
                 n_iter_no_change: int = 10, early_stopping: bool = False, validation_fraction: float = 0.1,
                 shuffle: bool = True, random_state: Any = None, dtype: str = "float64") -> None:
        self.module = module
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.criterion = criterion
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.optimizer_config = optimizer_config
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.shuffle = shuffle
        self.random_state = random_state
        self.dtype = dtype

    # -- checks -------------------------------------------------------------------------------------------
    def _fail(self, message: str, kind: type[Exception] = InputError) -> None:
        raise kind(f"{type(self).__name__}: {message}")

    def _check_params(self) -> None:
        def integer(value: Any) -> bool:
            return isinstance(value, (int, np.integer)) and not isinstance(value, bool)

        if self.optimizer not in OPTIMIZERS:
            self._fail(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.module is None and self.activation not in models.ACTIVATIONS:
            self._fail(f"activation must be one of {', '.join(sorted(models.ACTIVATIONS))}, got {self.activation!r}")
        if self.module is not None and not callable(self.module):
            self._fail(f"module must be a callable (n_features, n_outputs) -> ember Module, got "
                       f"{type(self.module).__name__}", InputTypeError)
        if not (integer(self.max_iter) and self.max_iter >= 1):
            self._fail(f"max_iter must be a positive integer, got {self.max_iter!r}")
        if not (integer(self.n_iter_no_change) and self.n_iter_no_change >= 1):
            self._fail(f"n_iter_no_change must be a positive integer, got {self.n_iter_no_change!r}")
        if not (self.batch_size == "auto" or (integer(self.batch_size) and self.batch_size >= 1)):
            self._fail(f"batch_size must be 'auto' or a positive integer, got {self.batch_size!r}")
        for name in ("learning_rate", "weight_decay", "tol"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not value >= 0:
                self._fail(f"{name} must be a non-negative number, got {value!r}")
        for name in ("learning_rate", "weight_decay", "tol"):
            if not math.isfinite(getattr(self, name)):
                self._fail(f"{name} must be a finite number, got {getattr(self, name)!r}")
        for name in ("early_stopping", "shuffle"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                self._fail(f"{name} must be True or False, got {getattr(self, name)!r}", InputTypeError)
        sizes = self.hidden_layer_sizes
        if self.module is None and (isinstance(sizes, (str, bytes)) or not isinstance(sizes, (tuple, list))
                                    or not all(integer(size) and size >= 1 for size in sizes)):
            self._fail(f"hidden_layer_sizes must be a tuple of positive integers, got {sizes!r}", InputTypeError)
        if self.criterion is not None and not isinstance(self.criterion, nn.Criterion) and not callable(self.criterion):
            self._fail(f"criterion must be an ember Criterion or a callable returning one, got "
                       f"{type(self.criterion).__name__}", InputTypeError)
        value = self.validation_fraction
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)):
            self._fail(f"validation_fraction must be a number in (0, 1), got {value!r}", InputTypeError)
        if not 0 < self.validation_fraction < 1:
            self._fail(f"validation_fraction must be in (0, 1), got {self.validation_fraction!r}")
        if self.dtype not in ("float32", "float64"):
            self._fail(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")
        if self.optimizer_config is not None and not isinstance(self.optimizer_config, dict):
            self._fail(f"optimizer_config must be a dict, got {type(self.optimizer_config).__name__}", InputTypeError)

    # -- building ------------------------------------------------------------------------------------------
    def _build(self, n_features: int, n_outputs: int, rng: np.random.Generator) -> None:
        """``model_``, ``criterion_``, the flat parameters and the optimizer state, freshly initialised."""
        if self.module is None:
            model = models.mlp(n_features, list(self.hidden_layer_sizes), self.activation, n_outputs,
                               regression=self._regression)
        else:
            model = self.module(n_features, n_outputs)
            if not isinstance(model, nn.Module):
                self._fail(f"module(n_features, n_outputs) must return an ember Module, got "
                           f"{type(model).__name__}", InputTypeError)
        model.reset(rng)
        model.type(np.dtype(self.dtype))
        criterion = self.criterion
        if criterion is None:
            criterion = nn.MSECriterion() if self._regression else models.criterion_for(model)
        elif not isinstance(criterion, nn.Criterion):
            criterion = criterion()
        else:
            criterion = type(criterion)(**criterion.config()) if hasattr(criterion, "config") else criterion
        if not isinstance(criterion, nn.Criterion):
            self._fail(f"criterion must be an ember Criterion or a callable returning one, got "
                       f"{type(criterion).__name__}", InputTypeError)
        self.model_, self.criterion_ = model, criterion
        self._params, self._grads = model.getParameters()
        self._state = {"learning_rate": float(self.learning_rate), **(self.optimizer_config or {})}
        if self.weight_decay:
            self._state["weight_decay"] = float(self.weight_decay)
        self._rng = rng
        self.n_iter_, self.t_ = 0, 0
        self.loss_curve_: list[float] = []
        self.best_loss_ = math.inf

    def _generator(self) -> np.random.Generator:
        try:
            return np.random.default_rng(check_random_state(self.random_state).randint(2**32 - 1))
        except ValueError as error:
            raise InputError(f"{type(self).__name__}: random_state: {error}") from error

    # -- training ------------------------------------------------------------------------------------------
    def _epoch(self, X: np.ndarray, T: np.ndarray) -> float:
        """One pass over ``(X, T)`` in mini-batches; the mean loss over the examples, as first evaluated."""
        n = len(X)
        size = min(200, n) if self.batch_size == "auto" else min(int(self.batch_size), n)
        order = self._rng.permutation(n) if self.shuffle else np.arange(n)
        model, criterion, grads, step = self.model_, self.criterion_, self._grads, getattr(optim, self.optimizer)
        mean = getattr(criterion, "sizeAverage", True)
        total = 0.0
        model.training()
        for low in range(0, n, size):
            rows = order[low:low + size]
            inputs, targets = X[rows], T[rows]
            losses: list[float] = []

            def feval(x: np.ndarray, inputs: np.ndarray = inputs, targets: np.ndarray = targets,
                      losses: list = losses) -> tuple[float, np.ndarray]:
                if x is not self._params:
                    self._params[...] = x
                grads.fill(0)
                output = model.forward(inputs)
                loss = criterion.forward(output, targets)
                if not math.isfinite(loss):
                    raise NonFiniteError(f"{type(self).__name__}: the loss is {loss} at epoch "
                                             f"{self.n_iter_ + 1}; training stopped (try a lower learning_rate)")
                model.backward(inputs, criterion.backward(output, targets))
                losses.append(float(loss))
                return loss, grads

            result, _ = step(feval, self._params, self._state)
            if result is not self._params:
                self._params[...] = result
            total += losses[0] * (len(rows) if mean else 1)
        model.evaluate()
        self.n_iter_ += 1
        self.t_ += n
        return total / n

    def _train(self, X: np.ndarray, T: np.ndarray, y: np.ndarray) -> None:
        """``fit``'s epochs, stopping as scikit-learn's MLP does (on the training loss or, with
        ``early_stopping``, on the validation score, restoring the best parameters).
        """
        validation = None
        if self.early_stopping:
            seed = int(self._rng.integers(2**31 - 1))
            stratify = y if not self._regression else None
            try:  # stratified where every class can be in both parts, else a plain random split
                X, X_val, T, _, _, y_val = train_test_split(X, T, y, test_size=self.validation_fraction,
                                                            stratify=stratify, random_state=seed)
            except ValueError:
                try:
                    X, X_val, T, _, _, y_val = train_test_split(X, T, y, test_size=self.validation_fraction,
                                                                random_state=seed)
                except ValueError as error:
                    self._fail(f"early_stopping: cannot hold out validation_fraction={self.validation_fraction} "
                               f"of {len(X)} examples ({error})")
            validation = (X_val, y_val)
            self.validation_scores_: list[float] = []
            self.best_validation_score_ = -math.inf
            best = self._params.copy()
        stale = 0
        for _ in range(self.max_iter):
            loss = self._epoch(X, T)
            self.loss_curve_.append(loss)
            self.loss_ = loss
            if validation is not None:
                score = float(self._score(*validation))
                self.validation_scores_.append(score)
                stale = stale + 1 if score < self.best_validation_score_ + self.tol else 0
                if score > self.best_validation_score_:
                    self.best_validation_score_ = score
                    best[...] = self._params
            else:
                stale = stale + 1 if loss > self.best_loss_ - self.tol else 0
                self.best_loss_ = min(self.best_loss_, loss)
            if stale > self.n_iter_no_change:
                break
        else:
            warnings.warn(f"{type(self).__name__}: max_iter={self.max_iter} reached before the "
                          f"{'validation score' if validation is not None else 'training loss'} stopped improving",
                          ConvergenceWarning, stacklevel=3)
        if validation is not None:
            self._params[...] = best
            self.best_loss_ = None

    def _record(self, loss: float) -> None:
        """A ``partial_fit`` epoch's loss in ``loss_``, ``loss_curve_`` and ``best_loss_``."""
        self.loss_curve_.append(loss)
        self.loss_ = loss
        self.best_loss_ = loss if self.best_loss_ is None else min(self.best_loss_, loss)

    def _outputs(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "model_")
        X = _validated(self, X, reset=False, dtype=[np.float64, np.float32])
        self.model_.evaluate()
        return self.model_.forward(X.astype(self.dtype, copy=False)).copy()


class EmberClassifier(ClassifierMixin, _EmberEstimator):
    """A scikit-learn classifier training an ember network (default: an MLP ending in LogSoftMax, ClassNLL).

    Args:
        module: a callable ``module(n_features, n_classes)`` returning the ember module to train (its
            output: log-probabilities, probabilities, or scores per class; see
            :func:`ember.train.predict_proba`); default :func:`ember.models.mlp`.
        hidden_layer_sizes, activation: the default MLP's hidden sizes and activation
            (``"relu"``, ``"tanh"``, ``"sigmoid"``, ``"requ"``); ignored with ``module``.
        criterion: an ember criterion class (or instance) for integer class labels; default
            :func:`ember.models.criterion_for` the module (ClassNLL after LogSoftMax).
        optimizer: the :mod:`ember.optim` function by name (``"adam"``, ``"sgd"``, …).
        learning_rate, weight_decay: its step size and L2 penalty; ``optimizer_config`` adds other keys
            (``{"momentum": 0.9}``).
        batch_size: examples per step, ``"auto"`` for ``min(200, n_samples)``.
        max_iter: the most epochs ``fit`` runs.
        tol, n_iter_no_change: ``fit`` stops when the training loss (or, with ``early_stopping``, the
            validation accuracy) has not improved by ``tol`` for more than ``n_iter_no_change`` epochs.
        early_stopping, validation_fraction: hold out that fraction (stratified) to score each epoch, and
            keep the parameters of the best epoch.
        shuffle: visit the examples in a new random order each epoch.
        random_state: seeds the initial parameters, the shuffling and the validation split.
        dtype: ``"float64"`` or ``"float32"``, the network's arithmetic.

    Attributes:
        classes_, n_features_in_, model_, criterion_, loss_, loss_curve_, best_loss_, n_iter_, t_,
        validation_scores_ and best_validation_score_ (with ``early_stopping``).

    """

    _regression = False

    def fit(self, X: Any, y: Any) -> EmberClassifier:
        """Train a new network on ``(X, y)`` for up to ``max_iter`` epochs; return ``self``."""
        self._check_params()
        X, y = _validated(self, X, y, dtype=[np.float64, np.float32])
        check_classification_targets(y)
        self.classes_, labels = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            self._fail(f"needs at least two classes to train, but y holds one class ({self.classes_[0].tolist()!r})")
        self._build(X.shape[1], len(self.classes_), self._generator())
        self._train(X.astype(self.dtype, copy=False), labels, labels)
        return self

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> EmberClassifier:
        """One epoch over ``(X, y)``, from the current parameters; the first call needs every ``classes``."""
        first = not hasattr(self, "model_")
        if first:
            self._check_params()
            if classes is None:
                self._fail("the first partial_fit needs classes=, every class label that y may hold")
        X, y = _validated(self, X, y, reset=first, dtype=[np.float64, np.float32])
        check_classification_targets(y)
        if first:
            self.classes_ = unique_labels(classes)
            if len(self.classes_) < 2:
                self._fail(f"needs at least two classes to train, got classes={self.classes_.tolist()}")
            self._build(X.shape[1], len(self.classes_), self._generator())
        elif classes is not None and not np.array_equal(unique_labels(classes), self.classes_):
            self._fail(f"classes={unique_labels(classes).tolist()} differ from the first call's "
                       f"{self.classes_.tolist()}")
        labels = np.searchsorted(self.classes_, y)
        unknown = (labels >= len(self.classes_)) | (self.classes_[np.minimum(labels, len(self.classes_) - 1)] != y)
        if unknown.any():
            self._fail(f"y holds the label {y[np.argmax(unknown)].tolist()!r}, not among classes "
                       f"{self.classes_.tolist()}")
        loss = self._epoch(X.astype(self.dtype, copy=False), labels)
        self._record(loss)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(n_samples, n_classes)``, columns in the order of ``classes_``."""
        check_is_fitted(self, "model_")
        X = _validated(self, X, reset=False, dtype=[np.float64, np.float32])
        return _predict_proba(self.model_, X.astype(self.dtype, copy=False)).astype(np.float64)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """The logarithm of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row of ``X`` (labels as in ``classes_``)."""
        probabilities = self.predict_proba(X)
        return self.classes_[np.argmax(probabilities, axis=1)]

    def _score(self, X: np.ndarray, y: np.ndarray) -> float:
        self.model_.evaluate()
        return float(np.mean(np.argmax(self.model_.forward(X), axis=1) == y))


class EmberRegressor(RegressorMixin, _EmberEstimator):
    """A scikit-learn regressor training an ember network (default: an MLP ending in Linear, MSECriterion).

    Takes the arguments of :class:`EmberClassifier`, with ``module(n_features, n_outputs)`` returning a
    module whose output has one column per target, and ``criterion`` default ``MSECriterion``. ``y`` may
    have several columns (multi-output regression). ``early_stopping`` scores by R².
    """

    _regression = True

    def _targets(self, y: np.ndarray) -> np.ndarray:
        if y.dtype.kind not in "fiub":
            self._fail(f"y must hold numbers for regression, got dtype {y.dtype}", InputTypeError)
        return (y.reshape(-1, 1) if y.ndim == 1 else y).astype(self.dtype)

    def fit(self, X: Any, y: Any) -> EmberRegressor:
        """Train a new network on ``(X, y)`` for up to ``max_iter`` epochs; return ``self``."""
        self._check_params()
        X, y = _validated(self, X, y, multi_output=True, y_numeric=True, dtype=[np.float64, np.float32])
        T = self._targets(y)
        self.n_outputs_, self._one_target = T.shape[1], y.ndim == 1
        self._build(X.shape[1], self.n_outputs_, self._generator())
        self._train(X.astype(self.dtype, copy=False), T, T)
        return self

    def partial_fit(self, X: Any, y: Any) -> EmberRegressor:
        """One epoch over ``(X, y)``, from the current parameters (a new network at the first call)."""
        first = not hasattr(self, "model_")
        if first:
            self._check_params()
        X, y = _validated(self, X, y, reset=first, multi_output=True, y_numeric=True,
                             dtype=[np.float64, np.float32])
        T = self._targets(y)
        if first:
            self.n_outputs_, self._one_target = T.shape[1], y.ndim == 1
            self._build(X.shape[1], self.n_outputs_, self._generator())
        elif T.shape[1] != self.n_outputs_:
            self._fail(f"y has {T.shape[1]} outputs, but the first call had {self.n_outputs_}")
        loss = self._epoch(X.astype(self.dtype, copy=False), T)
        self._record(loss)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """The network's outputs, ``(n_samples,)`` for a single target, else ``(n_samples, n_outputs)``."""
        output = self._outputs(X).astype(np.float64)
        return output.reshape(len(output)) if self._one_target else output

    def _score(self, X: np.ndarray, T: np.ndarray) -> float:
        self.model_.evaluate()
        output = self.model_.forward(X)
        residual = ((T - output) ** 2).sum(axis=0)
        total = ((T - T.mean(axis=0)) ** 2).sum(axis=0)
        return float(np.mean(1 - residual / np.where(total > 0, total, 1)))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
