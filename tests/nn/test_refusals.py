"""What modules, containers and criteria refuse (issue 12): each test provokes one class of failure that once gave
a silent wrong result or a raw NumPy/Python error, and asserts the ember exception and its message."""

from __future__ import annotations

import numpy as np
import pytest

from ember import nn
from ember.errors import InputError, InputTypeError, ProtocolError

X = np.random.default_rng(0).standard_normal((2, 4))


def test_parallel_table_refuses_a_gradOutput_table_of_another_length():
    module = nn.ParallelTable(nn.Linear(4, 3), nn.Linear(4, 3))
    out = module.forward([X, X])
    for grads, got in (([out[0]], 1), ([out[0], out[1], out[1]], 3)):
        with pytest.raises(InputError, match=rf"ParallelTable: expected gradOutput shaped like the output table: "
                                             rf"a list of 2 entries, got {got}"):
            module.backward([X, X], grads)


def test_concat_table_names_the_entry_of_the_wrong_shape():
    module = nn.ConcatTable(nn.Linear(4, 3), nn.Linear(4, 2))
    module.forward(X)
    with pytest.raises(InputError, match=r"ConcatTable: .* an array of shape \(2, 2\) at \[1\], got \(2, 3\)"):
        module.backward(X, [np.ones((2, 3)), np.ones((2, 3))])


def test_concat_refuses_extra_gradOutput_columns():
    module = nn.Concat(1, nn.Linear(4, 3), nn.Linear(4, 3))
    module.forward(X)
    with pytest.raises(InputError, match=r"Concat\(1\): expected gradOutput of shape \(2, 6\) \(the output's\), "
                                         r"got \(2, 7\)"):
        module.backward(X, np.ones((2, 7)))


def test_a_list_or_an_ndarray_subclass_as_gradOutput():
    module = nn.Linear(4, 3)
    module.forward(X)
    with pytest.raises(InputTypeError, match=r"Linear\(4 -> 3\): expected gradOutput as a NumPy array of shape "
                                             r"\(2, 3\) \(the output's\), got list"):
        module.backward(X, [[1.0, 2.0, 3.0]])
    with pytest.raises(InputError, match=r"expected gradOutput of shape \(2, 3\) \(the output's\), got \(1, 3\)"):
        module.backward(X, np.ones((1, 3)).view(np.recarray))  # it used to broadcast
    square = nn.Square()
    square.forward(X)
    expected = square.backward(X, np.full((2, 4), 2.0)).copy()
    got = square.backward(X, np.asmatrix(np.full((2, 4), 2.0)))  # np.matrix's * is a matrix product
    assert type(got) is np.ndarray
    np.testing.assert_array_equal(got, expected)


def test_mse_backward_checks_the_target():
    criterion = nn.MSECriterion()
    criterion.forward(X, X)
    for target in (np.ones(3), np.ones((2, 1))):
        with pytest.raises(InputError, match=rf"MSECriterion: expected a target of the input's shape \(2, 4\), "
                                             rf"got \({target.shape[0]},"):
            criterion.backward(X, target)


def test_one_instance_twice_in_a_container_is_refused():
    linear = nn.Linear(4, 4)
    message = r"Sequential: cannot add Linear\(4 -> 4\): that instance is already in this container"
    with pytest.raises(InputError, match=message):
        nn.Sequential(linear, nn.Tanh(), linear)
    with pytest.raises(InputError, match=message):
        nn.Sequential(nn.Sequential(linear), linear)
    with pytest.raises(InputError, match=r"Concat: cannot add Linear"):
        nn.Concat(1, linear, linear)
    with pytest.raises(InputError, match=r"Sequential: cannot insert Linear"):
        nn.Sequential(linear).insert(linear, 0)
    twin = nn.Sequential(linear, nn.Tanh(), linear.sharedClone())  # the documented way: a shared clone
    assert twin.forward(X).shape == (2, 4)


def test_threshold_keeps_nan_as_torch():
    torch = pytest.importorskip("torch")
    x = np.array([np.nan, -1.0, 0.5, np.inf, -np.inf])
    expected = torch.nn.functional.threshold(torch.from_numpy(x), 0.1, 20.0).numpy()
    np.testing.assert_array_equal(nn.Threshold(0.1, 20.0).forward(x), expected)
    assert np.isnan(nn.ReLU().forward(np.array([np.nan])))[0]


def test_hyper_parameters_are_checked_where_they_are_given():
    with pytest.raises(InputError, match=r"BatchNormalization: eps must be a finite number >= 0, got -10"):
        nn.BatchNormalization(4, eps=-10)
    with pytest.raises(InputError, match=r"BatchNormalization: momentum must be a number in \[0, 1\], got 5"):
        nn.BatchNormalization(4, momentum=5)
    with pytest.raises(InputError, match="Threshold: threshold must be a number, got nan"):
        nn.Threshold(float("nan"))
    with pytest.raises(InputTypeError, match=r"LeakyReLU: negval must be a number, got None \(NoneType\)"):
        nn.LeakyReLU(None)


@pytest.mark.parametrize(("args", "error", "message"), [
    ((-1, 3), InputError, "n_in must be an integer >= 1 \\(a size\\), got -1"),
    ((0, 3), InputError, "n_in must be an integer >= 1 \\(a size\\), got 0"),
    ((4, 0), InputError, "n_out must be an integer >= 1 \\(a size\\), got 0"),
    ((4.5, 2), InputTypeError, "n_in must be an integer, got 4.5 \\(float\\)"),
    (("4", 2), InputTypeError, "n_in must be an integer, got '4' \\(str\\)"),
    ((True, 2), InputTypeError, "n_in must be an integer, got True \\(bool\\)"),
])
def test_size_arguments_are_checked(args, error, message):
    with pytest.raises(error, match=f"Linear: {message}"):
        nn.Linear(*args)


def test_size_arguments_of_every_family_and_numpy_integers():
    with pytest.raises(InputError, match=r"SpatialConvolution: kW must be an integer >= 1 \(a size\), got -3"):
        nn.SpatialConvolution(1, 2, -3, 3)
    with pytest.raises(InputError, match=r"SpatialConvolution: padW must be an integer >= 0, got -1"):
        nn.SpatialConvolution(1, 2, 3, 3, padW=-1)
    with pytest.raises(InputError, match=r"LSTM: hidden_size must be an integer >= 1 \(a size\), got 0"):
        nn.LSTM(3, 0)
    module = nn.Linear(np.int64(4), np.int32(2))  # a NumPy integer is an integer, kept as a Python int
    assert type(module.config()["n_in"]) is int and module.forward(X).shape == (2, 2)


@pytest.mark.parametrize("criterion", [nn.ClassNLLCriterion(), nn.MSECriterion(), nn.BCECriterion(),
                                       nn.MultiMarginCriterion(), nn.CrossEntropyCriterion()], ids=repr)
def test_criteria_refuse_an_empty_batch(criterion):
    empty = np.zeros((0, 3))
    target = empty if criterion.output_meaning != "scores" else np.zeros(0, dtype=np.int64)
    with pytest.raises(InputError, match=rf"{type(criterion).__name__}: expected at least one example, "
                                         rf"got an empty input of shape \(0, 3\)"):
        criterion.forward(empty, target)


def test_class_weights_that_sum_to_zero():
    log_probabilities = np.log(np.full((2, 3), 1 / 3))
    for criterion in (nn.ClassNLLCriterion(np.zeros(3)), nn.CrossEntropyCriterion(np.array([0.0, 0.0, 1.0]))):
        with pytest.raises(InputError, match=r"the class weights of the target labels sum to 0 \(labels \[0, 1\]\)"):
            criterion.forward(log_probabilities, np.array([0, 1]))
        criterion.sizeAverage = False  # a sum is defined
        assert criterion.forward(log_probabilities, np.array([0, 1])) == 0.0
    with pytest.raises(InputError, match="ClassNLLCriterion: expected 1-D finite class weights"):
        nn.ClassNLLCriterion(np.array([1.0, np.nan]))


def test_concat_of_mismatched_children():
    with pytest.raises(InputError, match=r"Concat\(1\): children's outputs \[\(2, 3\), \(2, 2, 2\)\] differ "
                                         r"outside dim 1"):
        nn.Concat(1, nn.Linear(4, 3), nn.Reshape(2, 2)).forward(X)
    with pytest.raises(InputError, match=r"Concat\(2\): cannot concatenate along dim 2 outputs of 2 dimensions"):
        nn.Concat(2, nn.Linear(4, 3), nn.Linear(4, 3)).forward(X)


def test_spatial_convolution_on_an_empty_batch_as_linear():
    module = nn.SpatialConvolution(1, 2, 3, 3)
    x = np.zeros((0, 1, 5, 5))
    out = module.forward(x)
    assert out.shape == (0, 2, 3, 3)
    assert module.backward(x, np.zeros_like(out)).shape == x.shape
    assert not module.gradWeight.any() and not module.gradBias.any()


def test_backward_before_forward():
    with pytest.raises(ProtocolError, match=r"CrossEntropyCriterion: backward called before forward: call "
                                            r"forward\(input, target\) first"):
        nn.CrossEntropyCriterion().backward(X, np.array([0, 1]))
    criterion = nn.CrossEntropyCriterion()
    criterion.forward(X, np.array([0, 1]))
    with pytest.raises(ProtocolError, match=r"backward got an input of shape \(4,\) and a int target, but the last "
                                            r"forward was given an input of shape \(2, 4\)"):
        criterion.backward(X[0], 1)
    assert nn.MSECriterion().backward(X, X).shape == X.shape  # a criterion that keeps nothing needs no forward
    with pytest.raises(ProtocolError, match=r"ParallelTable: backward called before forward"):
        nn.ParallelTable(nn.Linear(4, 3)).backward([X], [np.ones((2, 3))])
