"""ember.sklearn: the estimators pass scikit-learn's own checks and work in Pipeline, GridSearchCV, cross-validation."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

from tests.optional import skip_reason

sklearn = pytest.importorskip("sklearn", reason=skip_reason("sklearn", "the scikit-learn estimator tests"))

from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from ember import data, nn  # noqa: E402
from ember.errors import InputError, InputTypeError  # noqa: E402
from ember.sklearn import EmberClassifier, EmberRegressor  # noqa: E402


def scores_module(n_features, n_classes):
    """A custom factory: scores without LogSoftMax (so CrossEntropyCriterion is chosen)."""
    return nn.Sequential(nn.Linear(n_features, 8), nn.Tanh(), nn.Linear(8, n_classes))


def regression_module(n_features, n_outputs):
    return nn.Sequential(nn.Linear(n_features, 16), nn.Tanh(), nn.Linear(16, n_outputs))


@parametrize_with_checks([EmberClassifier(), EmberRegressor(),
                          EmberClassifier(scores_module, optimizer="sgd", learning_rate=0.1,
                                          optimizer_config={"momentum": 0.9}, early_stopping=True, dtype="float32"),
                          EmberRegressor(regression_module, early_stopping=True, dtype="float32")])
def test_check_estimator(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


@pytest.fixture(scope="module")
def iris():
    X, y = data.iris()[:2]
    return (X - X.mean(axis=0)) / X.std(axis=0), y


def test_pipeline_grid_search_and_cross_validation(iris):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    pipeline = make_pipeline(StandardScaler(), EmberClassifier(max_iter=60, learning_rate=0.01, random_state=0))
    search = GridSearchCV(pipeline, {"emberclassifier__hidden_layer_sizes": [(4,), (16,)],
                                     "emberclassifier__activation": ["tanh", "relu"]}, cv=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, names)
        assert set(search.best_params_) == {"emberclassifier__hidden_layer_sizes", "emberclassifier__activation"}
        assert search.score(X, names) > 0.9
        assert set(search.predict(X)) <= set(names)
        scores = cross_val_score(pipeline, X, names, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.8


def test_fit_records_sklearn_attributes_and_reproduces(iris):
    X, y = iris
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        first = EmberClassifier(hidden_layer_sizes=(8,), max_iter=20, random_state=3).fit(X, y)
        again = EmberClassifier(hidden_layer_sizes=(8,), max_iter=20, random_state=3).fit(X, y)
        other = EmberClassifier(hidden_layer_sizes=(8,), max_iter=20, random_state=4).fit(X, y)
    assert list(first.classes_) == [0, 1, 2] and first.n_features_in_ == 4
    assert first.n_iter_ == len(first.loss_curve_) == 20 and first.t_ == 20 * len(X)
    assert first.loss_ == first.loss_curve_[-1] and first.best_loss_ == min(first.loss_curve_)
    assert first.loss_curve_ == again.loss_curve_ and first.loss_curve_ != other.loss_curve_
    probabilities = first.predict_proba(X)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(first.predict(X), probabilities.argmax(axis=1))
    np.testing.assert_allclose(first.predict_log_proba(X), np.log(probabilities), rtol=1e-12)
    assert isinstance(first.model_, nn.Sequential) and type(first.criterion_).__name__ == "ClassNLLCriterion"
    restored = pickle.loads(pickle.dumps(first))
    np.testing.assert_array_equal(restored.predict_proba(X), probabilities)


def test_max_iter_reached_warns_and_tol_stops_early(iris):
    X, y = iris
    with pytest.warns(ConvergenceWarning, match="max_iter=3 reached"):
        EmberClassifier(max_iter=3, random_state=0).fit(X, y)
    stopped = EmberClassifier(max_iter=500, tol=10.0, n_iter_no_change=2, random_state=0).fit(X, y)
    assert stopped.n_iter_ == 4  # as MLPClassifier: no epoch after the first improves by 10, the count passes 2


def test_early_stopping_keeps_the_best_validation_epoch(iris):
    X, y = iris
    clf = EmberClassifier(hidden_layer_sizes=(8,), early_stopping=True, validation_fraction=0.2, learning_rate=0.01,
                          batch_size=16, max_iter=300, n_iter_no_change=10, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert len(clf.validation_scores_) == clf.n_iter_ < 300
    assert clf.best_validation_score_ == max(clf.validation_scores_) and clf.best_loss_ is None
    assert clf.score(X, y) > 0.9


def test_partial_fit_trains_incrementally(iris):
    X, y = iris
    clf = EmberClassifier(hidden_layer_sizes=(8,), learning_rate=0.02, random_state=0)
    with pytest.raises(InputError, match="EmberClassifier: the first partial_fit needs classes="):
        clf.partial_fit(X, y)
    clf.partial_fit(X[:50], y[:50], classes=[0, 1, 2])
    for _ in range(40):
        clf.partial_fit(X, y)
    assert clf.n_iter_ == 41 and clf.loss_curve_[-1] < clf.loss_curve_[1]
    assert clf.score(X, y) > 0.8
    with pytest.raises(InputError, match="label 7, not among classes"):
        clf.partial_fit(X[:2], [0, 7])
    with pytest.raises(ValueError, match="X has 3 features"):
        clf.partial_fit(X[:, :3], y)
    reg = EmberRegressor(regression_module, random_state=0)
    target = X[:, :2] @ np.array([[1.0, -1.0], [0.5, 2.0]])
    for _ in range(3):
        reg.partial_fit(X, target)
    assert reg.predict(X).shape == (150, 2) and reg.n_iter_ == 3
    with pytest.raises(InputError, match="y has 1 outputs, but the first call had 2"):
        reg.partial_fit(X, target[:, 0:1])


def test_regressor_single_and_multi_output():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = EmberRegressor(hidden_layer_sizes=(32,), activation="tanh", learning_rate=0.01, batch_size=32,
                             max_iter=300, random_state=0).fit(X, y)
        multi = EmberRegressor(hidden_layer_sizes=(32,), activation="tanh", learning_rate=0.01, batch_size=32,
                               max_iter=300, random_state=0).fit(X, np.stack([y, -y], axis=1))
    assert reg.predict(X).shape == (200,) and reg.score(X, y) > 0.95
    assert multi.predict(X).shape == (200, 2) and multi.score(X, np.stack([y, -y], axis=1)) > 0.95
    assert type(reg.criterion_).__name__ == "MSECriterion"


def test_custom_module_float32_and_criterion(iris):
    X, y = iris
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = EmberClassifier(scores_module, dtype="float32", learning_rate=0.05, max_iter=100, random_state=0)
        clf.fit(X, y)
        margin = EmberClassifier(scores_module, criterion=nn.MultiMarginCriterion, max_iter=5, random_state=0)
        margin.fit(X, y)
    assert clf.model_.modules[0].weight.dtype == np.float32 and clf.predict_proba(X).dtype == np.float64
    assert type(clf.criterion_).__name__ == "CrossEntropyCriterion" and clf.score(X, y) > 0.9
    assert type(margin.criterion_).__name__ == "MultiMarginCriterion"
    assert clone(clf).get_params()["module"] is scores_module


def test_errors_name_the_estimator(iris):
    X, y = iris
    with pytest.raises(NotFittedError):
        EmberClassifier().predict(X)
    with pytest.raises(InputError, match="EmberClassifier: optimizer must be one of"):
        EmberClassifier(optimizer="lbfgs").fit(X, y)
    with pytest.raises(InputError, match="EmberRegressor: activation must be one of"):
        EmberRegressor(activation="gelu").fit(X, y)
    with pytest.raises(InputTypeError, match="module\\(n_features, n_outputs\\) must return an ember Module"):
        EmberClassifier(lambda n, k: "not a module").fit(X, y)
    with pytest.raises(InputError, match="needs at least two classes"):
        EmberClassifier().fit(X[:10], y[:10])
    with pytest.raises(FloatingPointError, match="the loss is"):
        EmberRegressor(max_iter=5).fit(X, y * 1e300)
