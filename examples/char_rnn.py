"""A character-level LSTM language model on tiny Shakespeare (the Oxford practical after the MLP; char-rnn).

The workflow is ``ember.recipes.charrnn``: ``LookupTable -> LSTM -> Sequencer(Linear)``
(``ember.models.char_lstm``) with ``SequencerCriterion(CrossEntropyCriterion)``, truncated
backpropagation through time over 32 streams of 50 characters (the LSTM carries its
state between chunks), Adam and gradient-norm clipping; each epoch prints training and
validation bits per character and a sample. The same is ``ember lab charrnn``.

Run: ``python examples/char_rnn.py [--hidden 128] [--epochs 1] [--max-seconds 300] [--out figures]``
"""

from __future__ import annotations

import argparse

from ember.recipes import charrnn


def main(argv: list[str] | None = None) -> float:
    """Train; return the last validation bits per character."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hidden", type=int, default=charrnn.Settings.hidden)
    parser.add_argument("--seq-length", type=int, default=charrnn.Settings.seq_length)
    parser.add_argument("--batch-size", type=int, default=charrnn.Settings.batch_size)
    parser.add_argument("--epochs", type=int, default=charrnn.Settings.epochs)
    parser.add_argument("--max-chars", type=int, default=None, help="use only the text's first characters")
    parser.add_argument("--max-seconds", type=float, default=None, help="stop training after this long")
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=".", help="folder for the loss plot")
    args = parser.parse_args(argv)
    settings = charrnn.Settings(hidden=args.hidden, seq_length=args.seq_length, batch_size=args.batch_size,
                                epochs=args.epochs, max_chars=args.max_chars, max_seconds=args.max_seconds,
                                dtype=args.dtype, seed=args.seed)
    result = charrnn.run(settings, out=args.out, report=print)
    print(f"wrote {result.figure}")
    return result.history["val_bpc"][-1]


if __name__ == "__main__":
    main()
