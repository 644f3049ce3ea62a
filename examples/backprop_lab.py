"""The backprop lab: a dense network on XOR, weight decay, an experiment grid, and MNIST.

``build_dense(2, [2, 'tanh', 1, 'sigmoid'])`` builds Linear → Tanh → Linear → Sigmoid;
it is trained on the four XOR points with the binary cross-entropy and gradient
descent (learning rate 0.25, 250 iterations). Weight decay adds λ/2·‖W‖² to the
loss, λ·W to each weight's gradient in the optimizer. Then the lab's question 9
(activations × learning rates × initialisations × depths) and its optional part:
softmax + categorical cross-entropy on MNIST, 8,000 images to train, 2,000 to test.

Run: ``python examples/backprop_lab.py [--seeds 5] [--mnist-epochs 10]``
(``--mnist-epochs 0`` skips the MNIST part). The same from the command line:
``ember lab xor``, ``ember lab grid``, ``ember lab mnist``.
"""

import argparse
from pathlib import Path

from ember.recipes import dense


def main() -> None:
    """XOR, weight decay, the grid, MNIST."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds per configuration of the grid")
    parser.add_argument("--mnist-epochs", type=int, default=10, help="0 skips MNIST")
    parser.add_argument("--out", default="figures", help="folder for the figures")
    args = parser.parse_args()
    out = Path(args.out)

    # 1. XOR with the lab's network and settings (`ember lab xor`): the outputs, weights and four figures.
    result = dense.run_xor(dense.XorSettings(), out)
    print("all four correct:", result.correct)

    # 2. Weight decay shrinks the weights.
    for weight_decay in (0.0, 0.001, 0.01, 0.1):
        decayed = dense.train_xor(weight_decay=weight_decay)
        norm = sum(float((w ** 2).sum()) for k, w in dense.linear_weights(decayed.model).items() if k.startswith("W"))
        print(f"weight decay {weight_decay:<6g} final loss {decayed.losses[-1]:.4f}  ||W||² {norm:.3f}  "
              f"correct {decayed.correct}")

    # 3. The experiment grid (`ember lab grid`): a table, a CSV and two heatmaps.
    dense.run_grid(dense.GridSettings(seeds=args.seeds), out)

    # 4. MNIST (`ember lab mnist`): softmax output and categorical cross-entropy (LogSoftMax + ClassNLL).
    if args.mnist_epochs:
        dense.run_mnist(dense.MnistSettings(epochs=args.mnist_epochs), out)
    else:
        print("MNIST part skipped (--mnist-epochs 0)")


if __name__ == "__main__":
    main()
