"""A tour of Torch ``nn``, cell by cell, in ember.

Every cell of the classic Torch ``nn`` tutorial, translated: modules and their
forward and backward passes, batching, containers, printing, accumulating
parameter gradients, the modules with and without parameters, table layers,
criteria, two training loops, and the exercise of writing a multi-class hinge
loss criterion with its gradient check. The checks the tutorial asserts are
asserted here too.

Differences from Lua Torch: indices and dimensions count from 0 (Torch's
``nn.Sum(1)`` is ``nn.Sum(0)``, the LookupTable index 2 is 1 here), and the
random numbers differ from Torch's even with the same seed.

Run: ``ember tour`` or ``python examples/tour_of_nn.py``; read this file beside its output.
"""

from __future__ import annotations

import numpy as np

import ember
from ember import check, nn


def cell(title: str) -> None:
    """Print a cell heading."""
    print(f"\n=== {title} " + "=" * max(0, 70 - len(title)))


def main() -> None:
    """Run every cell of the tour."""
    np.set_printoptions(precision=4, suppress=True)
    ember.manual_seed(287)
    rng = np.random.default_rng(287)

    # -- 2a. the forward pass ---------------------------------------------------------------------
    cell("2a. CMul: f(x) = x ⊙ w")
    x = np.arange(1.0, 6.0)
    f = nn.CMul(x.shape[0])
    print("f.weight =", f.weight)
    print("f.forward(x) =", f.forward(x))
    print("f.output (modules keep their last output) =", f.output)

    g = nn.Sum(0)  # Torch's nn.Sum(1): dimensions count from 0
    print("Sum(0).forward(x) =", g.forward(x))

    # -- 2b. batching -----------------------------------------------------------------------------
    cell("2b. batching along the first dimension")
    X = np.broadcast_to(x, (3, 5)).copy()
    print(f.forward(X))

    # -- 2c. containers ---------------------------------------------------------------------------
    cell("2c. Sequential and Concat")
    h = nn.Sequential(f, g)
    print("h(x) = sum(x ⊙ w) =", h.forward(x))
    cat = nn.Concat(0, nn.Identity(), nn.Sum(0))
    print("Concat(0)[Identity, Sum(0)](x) =", cat.forward(x))
    print(h)
    print("h.get(0) =", h.get(0), "  h.modules[0] =", h.modules[0])

    # -- 2d. the backward pass --------------------------------------------------------------------
    cell("2d. backward: gradInput = gradOutput · ∂z/∂x")
    grad_out = rng.standard_normal(1)  # dL/dz, shaped like the output of h (size 1, as in Torch)
    h.forward(x)
    print("gradOutput =", grad_out)
    print("h.backward(x, gradOutput) =", h.backward(x, grad_out))
    print("g.gradInput =", g.gradInput, "(Sum passes gradOutput to every element)")
    assert np.abs(f.gradInput - g.gradInput * f.weight).max() < 1e-10
    print("asserted: f.gradInput == g.gradInput ⊙ f.weight")

    cell("2d. parameter gradients accumulate")
    h.zeroGradParameters()  # backward adds to gradWeight: clear it first
    h.forward(x)
    h.backward(x, grad_out)
    print("f.gradWeight =", f.gradWeight)
    assert np.abs(f.gradWeight - g.gradInput * x).max() < 1e-10
    print("asserted: f.gradWeight == g.gradInput ⊙ x")
    h.backward(x, grad_out)
    print("after a second backward, without zeroing: f.gradWeight =", f.gradWeight)
    assert np.abs(f.gradWeight - 2 * g.gradInput * x).max() < 1e-10
    print("asserted: it doubled")

    # -- 2e. module internals ---------------------------------------------------------------------
    cell("2e. module internals: the three hooks")
    mine = SimpleCMul(5)
    mine.weight[...] = f.weight
    f.zeroGradParameters()
    gradient = rng.standard_normal(5)
    for module in (f, mine):
        module.forward(x)
        module.backward(x, gradient)
    print("SimpleCMul output =", mine.output, " gradWeight =", mine.gradWeight)
    assert np.allclose(mine.output, f.output) and np.allclose(mine.gradInput, f.gradInput)
    assert np.allclose(mine.gradWeight, f.gradWeight)
    print("asserted: the three hooks reproduce nn.CMul")

    # -- 2f. modules with parameters --------------------------------------------------------------
    cell("2f. Linear, LookupTable, Add")
    lin = nn.Linear(x.shape[0], 3)
    print("Linear(5 -> 3)(x) =", lin.forward(x))
    lookup = nn.LookupTable(5, 3)
    print("LookupTable weight:\n", lookup.weight)
    print("rows 0, 1, 4:\n", lookup.forward(np.array([0, 1, 4])))
    print("batched indices [[0, 2], [3, 4], [1, 2]] ->\n", lookup.forward(np.array([[0, 2], [3, 4], [1, 2]])))
    add = nn.Add(x.shape[0])
    print("Add(5)(x) = x + b =", add.forward(x))

    # -- 2g. modules without parameters -----------------------------------------------------------
    cell("2g. non-linearities and other operations")
    v = rng.standard_normal(5)
    for module in (nn.Sigmoid(), nn.LogSoftMax(), nn.Tanh(), nn.ReLU()):
        print(f"{module.describe():>10}:", module.forward(v))
    M = rng.standard_normal((3, 2))
    print("M =\n", M)
    print("Max(0, 2)(M), the max over dimension 0 =", nn.Max(0, 2).forward(M))
    print("Mean(1, 2)(M), the mean over dimension 1 =", nn.Mean(1, 2).forward(M))
    print("Abs(M) =\n", nn.Abs().forward(M))
    print("View(2, 3)(M) =\n", nn.View(2, 3).forward(M))

    # -- table layers -----------------------------------------------------------------------------
    cell("tables: a sparse + dense linear layer, W_o x_o + W_d x_d + b")
    d_o, d_d, d_h = 5, 3, 2
    x_o = np.array([1])  # the index of [0 1 0 0 0]
    x_d = rng.standard_normal((1, d_d))
    par = nn.ParallelTable(nn.LookupTable(d_o, d_h), nn.Linear(d_d, d_h))
    print("ParallelTable output:", [a.shape for a in par.forward([x_o, x_d])])
    sparse_and_dense = nn.Sequential(par, nn.CAddTable())
    print(sparse_and_dense)
    result = sparse_and_dense.forward([x_o, x_d])
    print("W_o x_o + W_d x_d + b =", result)
    lookup_o, linear_d = par.get(0), par.get(1)
    expected = lookup_o.weight[1] + linear_d.weight @ x_d[0] + linear_d.bias
    assert np.allclose(result[0], expected)
    print("asserted: equals the sum written out")

    t = [rng.standard_normal((1, 3)), rng.standard_normal((1, 3)), rng.standard_normal((1, 2))]
    print("JoinTable(1, 2)(t) =", nn.JoinTable(1, 2).forward(t))
    print("NarrowTable(0, 2)(t) =", [a.shape for a in nn.NarrowTable(0, 2).forward(t)])

    # -- 3. criteria ------------------------------------------------------------------------------
    cell("3. MSECriterion, with and without sizeAverage")
    mse = nn.MSECriterion()
    y = rng.standard_normal(3)
    y_hat = np.zeros(3)
    print("MSE =", mse.forward(y_hat, y))
    mse.sizeAverage = False
    print("sum of squares =", mse.forward(y_hat, y))
    print("dL/dŷ =", mse.backward(y_hat, y))

    cell("3. ClassNLLCriterion on log-probabilities")
    nll = nn.ClassNLLCriterion()
    Z = rng.standard_normal((2, 3))
    log_probs = nn.LogSoftMax().forward(Z)
    labels = np.array([2, 0])  # Torch's {3, 1}
    print("NLL =", nll.forward(log_probs, labels))
    print("dL/dinput (divided by the batch size) =\n", nll.backward(log_probs, labels))

    # -- 4. training ------------------------------------------------------------------------------
    cell("4. training with getParameters() and a manual SGD step")
    losses_flat = train_with_flat_parameters()
    cell("4. the same with updateParameters(eta)")
    losses_update = train_with_update_parameters()
    assert np.allclose(losses_flat, losses_update)
    print("asserted: both loops give the same losses")

    # -- 6. exercise: multi-class hinge loss ------------------------------------------------------
    cell("6. exercise: a multi-class hinge loss criterion")
    hinge_exercise(rng)


class SimpleCMul(nn.Module):
    """A simplified CMul, as the tutorial writes it: only the three hooks, never forward/backward."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.register_parameter("weight", np.ones(size))  # sets self.weight and self.gradWeight (zeros)

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        self.output = input * self.weight  # z = x ⊙ w
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        self.gradInput = gradOutput * self.weight  # ∂L/∂x = ∂L/∂z ⊙ w
        return self.gradInput

    def accGradParameters(self, input: np.ndarray, gradOutput: np.ndarray, scale: float = 1.0) -> None:
        self.gradWeight += scale * gradOutput * input  # accumulate: never overwrite


def make_regression_problem() -> tuple[nn.Sequential, np.ndarray, np.ndarray]:
    """The tutorial's data (5 examples, 4 features) and a 1-hidden-layer MLP (3 tanh units)."""
    ember.manual_seed(287)
    data_rng = np.random.default_rng(287)
    n, features, hidden = 5, 4, 3
    X = data_rng.standard_normal((n, features))
    y = data_rng.standard_normal((n, 1))
    mlp = nn.Sequential(nn.Linear(features, hidden), nn.Tanh(), nn.Linear(hidden, 1))
    return mlp, X, y


def train_with_flat_parameters(epochs: int = 5, eta: float = 0.01) -> list[float]:
    """SGD on the flat parameter vector: ``params -= eta * gradParams``."""
    mlp, X, y = make_regression_problem()
    mse = nn.MSECriterion()
    params, grad_params = mlp.getParameters()  # views of every weight and bias
    losses = []
    for epoch in range(1, epochs + 1):
        grad_params.fill(0)  # gradients accumulate: zero them every step
        predictions = mlp.forward(X)
        loss = mse.forward(predictions, y)
        print(f"epoch {epoch}, loss: {loss}")
        mlp.backward(X, mse.backward(predictions, y))
        params -= eta * grad_params
        losses.append(loss)
    return losses


def train_with_update_parameters(epochs: int = 5, eta: float = 0.01) -> list[float]:
    """The same loop with ``zeroGradParameters()`` and ``updateParameters(eta)``."""
    mlp, X, y = make_regression_problem()
    mse = nn.MSECriterion()
    losses = []
    for epoch in range(1, epochs + 1):
        mlp.zeroGradParameters()
        predictions = mlp.forward(X)
        loss = mse.forward(predictions, y)
        print(f"epoch {epoch}, loss: {loss}")
        mlp.backward(X, mse.backward(predictions, y))
        mlp.updateParameters(eta)
        losses.append(loss)
    return losses


class MyHingeCriterion(nn.Criterion):
    """The exercise: ``L = max(0, 1 − (ŷ_c − ŷ_c'))`` with ``c'`` the best-scoring wrong class,
    averaged over the batch.

    Backward: where the hinge is active, ``−1/n`` at the true class ``c`` and ``+1/n`` at ``c'``.
    """

    def updateOutput(self, input: np.ndarray, target: np.ndarray) -> float:
        rows = np.arange(len(target))
        wrong = input.copy()
        wrong[rows, target] = -np.inf
        self._rivals = wrong.argmax(axis=1)
        self._hinge = np.maximum(0.0, 1.0 - (input[rows, target] - input[rows, self._rivals]))
        self.output = float(self._hinge.mean())
        return self.output

    def updateGradInput(self, input: np.ndarray, target: np.ndarray) -> np.ndarray:
        self.updateOutput(input, target)
        rows = np.arange(len(target))
        active = (self._hinge > 0) / len(target)
        self.gradInput = np.zeros_like(input)
        self.gradInput[rows, target] -= active
        self.gradInput[rows, self._rivals] += active
        return self.gradInput


def hinge_exercise(rng: np.random.Generator) -> None:
    """Check the hand-written criterion against ember's and against finite differences."""
    scores = rng.standard_normal((4, 5))
    labels = np.array([0, 3, 1, 4])
    mine, library = MyHingeCriterion(), nn.MultiClassHingeCriterion()
    loss_mine, loss_library = mine.forward(scores, labels), library.forward(scores, labels)
    print(f"my hinge loss = {loss_mine:.6f}, nn.MultiClassHingeCriterion = {loss_library:.6f}")
    assert np.isclose(loss_mine, loss_library)
    assert np.allclose(mine.backward(scores, labels), library.backward(scores, labels))

    # the gradient check: a linear model under the criterion, backprop vs finite differences
    model = nn.Linear(3, 5)
    inputs = rng.standard_normal((4, 3))
    error = check.gradient_error(model, mine, inputs, labels)
    print(f"gradient check through Linear(3 -> 5): symmetric relative error = {error:.3e}")
    assert error < 1e-6


if __name__ == "__main__":
    main()
