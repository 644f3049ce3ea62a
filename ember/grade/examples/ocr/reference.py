"""Reference solution and instructor helpers of the OCR homework (kept from students).

``run`` trains a ``train_and_test`` on a hidden split of the OCR letters: ``rows`` training and
``test_rows`` test examples drawn (with ``split_seed``) from the shipped ``small`` set. Both the student's
function and the reference's are run the same way, and the grader compares their metrics.
"""

import numpy as np

import ember
from ember import data
from ember.recipes.ocr import train_and_test  # noqa: F401 -- the reference implementation


def hidden_split(arguments):
    """``(X, y)`` pairs for training and testing, drawn from the small set with the hidden seed."""
    (X_train, y_train), (X_test, y_test) = data.ocr_letters("small")
    rng = np.random.default_rng(arguments.pop("split_seed"))
    train = np.sort(rng.choice(len(X_train), arguments.pop("rows"), replace=False))
    test = np.sort(rng.choice(len(X_test), arguments.pop("test_rows"), replace=False))
    return (X_train[train], y_train[train]), (X_test[test], y_test[test])


def run(function, arguments):
    """Call ``function(train_data, test_data, num_epoch, num_hidden, init_rand, learning_rate)``."""
    train_data, test_data = hidden_split(arguments)
    seed = arguments.pop("seed", 0)
    np.random.seed(seed)  # students draw their RANDOM initialisation from numpy or from ember
    ember.manual_seed(seed)
    return function(train_data, test_data, **arguments)


def test_result_shape(submission):
    """The returned dict has the six keys, one loss per epoch, error rates in [0, 1]."""
    arguments = {"rows": 20, "test_rows": 10, "split_seed": 1, "num_epoch": 2, "num_hidden": 3,
                 "init_rand": False, "learning_rate": 0.1}
    result = run(submission.train_and_test, arguments)
    keys = {"loss_per_epoch_train", "loss_per_epoch_val", "err_train", "err_val", "y_hat_train", "y_hat_val"}
    assert isinstance(result, dict), f"train_and_test returned a {type(result).__name__}, expected a dict"
    missing = keys - set(result)
    assert not missing, f"the result misses {', '.join(sorted(missing))}"
    assert len(result["loss_per_epoch_train"]) == 2, "loss_per_epoch_train needs one entry per epoch (2 epochs)"
    assert 0 <= result["err_val"] <= 1, f"err_val is {result['err_val']}, expected a rate in [0, 1]"
    assert len(result["y_hat_val"]) == 10, "y_hat_val needs one label per test example"
