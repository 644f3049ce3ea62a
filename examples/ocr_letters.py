"""The OCR-letters homework: a one-hidden-layer network trained by per-example SGD.

Sigmoid hidden layer, softmax output, mean cross-entropy; SGD one example at a
time in the order of the file; RANDOM (uniform ±0.1, zero biases) or ZERO
initialisation. The network is built from ember modules (Linear, Sigmoid,
Linear, CrossEntropyCriterion) in ``ember/recipes/ocr.py``.

Run: ``EMBER_DATA_DIR=../shared/data python examples/ocr_letters.py [--split small] [--epochs 10]``
The same from the command line: ``ember neuralnet TRAIN_CSV TEST_CSV … ``.
"""

import argparse
from pathlib import Path

from ember import data, plot
from ember.recipes import ocr


def main() -> None:
    """Show the data, check the gradient, train with both initialisations, plot."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="small", choices=("tiny", "small", "medium", "large"))
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--hidden", type=int, default=50)
    parser.add_argument("--learning-rate", type=float, default=0.1)
    parser.add_argument("--out", default="figures", help="folder for the figures")
    args = parser.parse_args()
    out = Path(args.out)

    # 1. The data: 16x8 binary images of the letters a e g i l n o r t u (labels 0..9).
    (X_train, y_train), (X_test, y_test) = data.ocr_letters(args.split)
    print(f"{args.split}: {len(X_train)} training and {len(X_test)} test images of {X_train.shape[1]} pixels")
    if X_train.shape[1] == 128:
        print("wrote", plot.letter_grid(out / "ocr_letters.png", X_train, y_train, title="10 random images per letter"))

    # 2. The homework end to end (`ember neuralnet`), with RANDOM and then ZERO initialisation: the
    #    gradient check (the homework's tip), training, the error rates and the figures.
    for init_rand in (True, False):
        name = "RANDOM" if init_rand else "ZERO"
        print(f"\n{name} initialisation, {args.hidden} hidden units, learning rate {args.learning_rate}:")
        settings = ocr.Settings((X_train, y_train), (X_test, y_test), num_epoch=args.epochs,
                                hidden_units=args.hidden, init_rand=init_rand, learning_rate=args.learning_rate,
                                check_gradient=init_rand)
        ocr.run(settings, out / name.lower(), progress=lambda epoch, j_train, j_test: print(
            f"epoch={epoch} crossentropy(train): {j_train:.6f}  crossentropy(test): {j_test:.6f}"))


if __name__ == "__main__":
    main()
