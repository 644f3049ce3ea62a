"""The backprop lab: a dense network on XOR, weight decay, an experiment grid, and MNIST.

``build_dense(2, [2, 'tanh', 1, 'sigmoid'])`` builds Linear → Tanh → Linear → Sigmoid;
it is trained on the four XOR points with the binary cross-entropy and gradient
descent (learning rate 0.25, 250 iterations). Weight decay adds λ/2·‖W‖² to the
loss, λ·W to each weight's gradient in the optimizer. Then the lab's question 9
(activations × learning rates × initialisations × depths) and its optional part:
softmax + categorical cross-entropy on MNIST, 8,000 images to train, 2,000 to test.

Run: ``EMBER_DATA_DIR=../shared/data python examples/backprop_lab.py [--seeds 5] [--mnist-epochs 10]``
(without EMBER_DATA_DIR the MNIST part is skipped). The same from the command line:
``ember lab xor``, ``ember lab grid``, ``ember lab mnist``.
"""

import argparse
import os
from pathlib import Path

from ember import plot
from ember.recipes import dense


def main() -> None:
    """XOR, weight decay, the grid, MNIST."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds per configuration of the grid")
    parser.add_argument("--mnist-epochs", type=int, default=10, help="0 skips MNIST")
    parser.add_argument("--out", default="figures", help="folder for the figures")
    args = parser.parse_args()
    out = Path(args.out)

    # 1. XOR with the lab's network and settings.
    result = dense.train_xor([2, "tanh", 1, "sigmoid"], learning_rate=0.25, iterations=250)
    print(result.model)
    print("outputs for (-1,-1), (-1,1), (1,-1), (1,1):", result.probabilities.round(3), "correct:", result.correct)
    weights = dense.linear_weights(result.model)
    for name, value in weights.items():
        print(name, value.round(3).tolist())
    print("wrote", plot.loss_curves(out / "xor_loss.png", result.losses, xlabel="iteration", title="XOR"))
    print("wrote", plot.hinton(out / "xor_hinton.png", {k: v for k, v in weights.items() if k.startswith("W")}))
    print("wrote", plot.decision_regions(out / "xor_regions.png", result.model.forward, dense.XOR_X,
                                         dense.XOR_Y[:, 0].astype(int), margin=0.5, title="XOR: decision regions"))

    # 2. Weight decay shrinks the weights.
    for weight_decay in (0.0, 0.001, 0.01, 0.1):
        decayed = dense.train_xor(weight_decay=weight_decay)
        norm = sum(float((w ** 2).sum()) for k, w in dense.linear_weights(decayed.model).items() if k.startswith("W"))
        print(f"weight decay {weight_decay:<6g} final loss {decayed.losses[-1]:.4f}  ||W||² {norm:.3f}  "
              f"correct {decayed.correct}")

    # 3. The experiment grid.
    rows = dense.experiment_grid(seeds=args.seeds)
    print(dense.grid_table(rows))
    print("wrote", dense.plot_grid(out / "xor_grid.png", rows))

    # 4. MNIST: softmax output and categorical cross-entropy (computed as LogSoftMax + ClassNLL).
    if args.mnist_epochs and os.environ.get("EMBER_DATA_DIR"):
        from ember import data

        X, y = data.mnist()
        mnist = dense.train_mnist(X, y, epochs=args.mnist_epochs)
        print(f"MNIST: train accuracy {100 * mnist.train_accuracy:.2f}%, "
              f"test accuracy {100 * mnist.test_accuracy:.2f}%")
    else:
        print("MNIST part skipped (set EMBER_DATA_DIR and --mnist-epochs > 0)")


if __name__ == "__main__":
    main()
