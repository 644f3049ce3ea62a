"""A character-level language model: an LSTM trained on Shakespeare by truncated backpropagation through time.

The Oxford practical after the MLP (and Karpathy's char-rnn): ``LookupTable → LSTM → Sequencer(Linear)``
(:func:`ember.models.char_lstm`) with ``SequencerCriterion(CrossEntropyCriterion)`` predicts each next
character. The text is cut into ``batch_size`` streams read side by side, ``seq_length`` characters at a
time; the LSTM carries its state from one chunk to the next (``remember()``) (truncated BPTT: gradients stop at
the chunk's start). Adam with the flat gradient clipped to norm ``max_norm``; the last 10% of the text
validates. Progress is in bits per character (the mean cross-entropy / ln 2); samples are drawn one
character at a time at a ``temperature``.

Example::

    from ember.recipes import charrnn
    result = charrnn.run(charrnn.Settings(hidden=64, epochs=1, max_chars=50_000), out="figures")
    print(result.history["val_bpc"][-1], result.samples[-1])
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ember import data, models, nn, optim
from ember.errors import InputError
from ember.random import manual_seed


@dataclass
class Settings:
    """What :func:`run` trains (defaults: the W6 benchmark's LSTM, hidden 128, batch 32, sequence 50)."""

    hidden: int = 128
    seq_length: int = 50
    batch_size: int = 32
    epochs: int = 1
    learning_rate: float = 2e-3
    max_norm: float = 5.0
    seed: int = 0
    temperature: float = 0.8
    sample_length: int = 200
    max_chars: int | None = None  #: use only the text's first characters (quick runs)
    max_seconds: float | None = None  #: stop training after this much time (checked after each step)
    validation: float = 0.1  #: the fraction of the text (its end) that validates
    dtype: str = "float64"  #: the model's dtype (``"float32"`` trains about twice as fast)
    text: str | None = None  #: the corpus (default: ``data.text()``, tiny Shakespeare)
    data_dir: str | None = None


@dataclass
class Result:
    """What :func:`run` returns: the model, its alphabet, bits per character per epoch, samples, timing."""

    model: nn.Module
    vocab: str
    history: dict[str, list[float]] = field(default_factory=lambda: {"train_bpc": [], "val_bpc": []})
    samples: list[str] = field(default_factory=list)
    steps: int = 0
    seconds: float = 0.0
    figure: Path | None = None


def encode(text: str, vocab: str) -> np.ndarray:
    """The text as indices into ``vocab`` (int64)."""
    lookup = np.zeros(max(map(ord, vocab)) + 1, dtype=np.int64)
    lookup[[ord(c) for c in vocab]] = np.arange(len(vocab))
    return lookup[np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)]


def streams(ids: np.ndarray, batch_size: int, seq_length: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and next-character targets as ``(chunks, seq_length, batch)``: ``batch`` streams side by side."""
    length = (len(ids) - 1) // (batch_size * seq_length) * seq_length
    if length == 0:
        raise InputError(f"charrnn: a text of {len(ids)} characters is too short for {batch_size} streams of "
                         f"{seq_length} characters")
    x = ids[:batch_size * length].reshape(batch_size, length // seq_length, seq_length)
    y = ids[1:batch_size * length + 1].reshape(batch_size, length // seq_length, seq_length)
    return np.ascontiguousarray(x.transpose(1, 2, 0)), np.ascontiguousarray(y.transpose(1, 2, 0))


def _lstm(model: nn.Module) -> nn.LSTM:
    return model.findModules(nn.LSTM)[0]


def evaluate_bpc(model: nn.Module, criterion: nn.Criterion, ids: np.ndarray, batch_size: int,
                 seq_length: int) -> float:
    """Bits per character of ``model`` on ``ids`` (its state carried through each stream)."""
    batch_size = max(1, min(batch_size, (len(ids) - 1) // seq_length))
    x, y = streams(ids, batch_size, seq_length)
    lstm = _lstm(model).forget().remember()
    model.evaluate()
    try:
        total = sum(criterion.forward(model.forward(xs), ys) for xs, ys in zip(x, y))
    finally:
        model.training()
        lstm.forget()
    return total / len(x) / math.log(2)


def sample(model: nn.Module, vocab: str, length: int, temperature: float, rng: np.random.Generator,
           start: str = "\n") -> str:
    """``length`` characters drawn one at a time from ``softmax(scores / temperature)``, after ``start``."""
    lstm = _lstm(model).forget().remember()
    model.evaluate()
    chars = []
    try:
        index = vocab.index(start) if start in vocab else 0
        for _ in range(length):
            scores = model.forward(np.array([[index]]))[0, 0] / temperature
            p = np.exp(scores - scores.max())
            index = int(rng.choice(len(vocab), p=p / p.sum()))
            chars.append(vocab[index])
    finally:
        model.training()
        lstm.forget()
    return "".join(chars)


def run(settings: Settings, out: str | Path | None = None, report: Callable[[str], Any] | None = None) -> Result:
    """Train the character LSTM as ``settings`` say; write the loss plot to ``out`` (if given); return a Result.

    Deterministic for a seed (initialisation, sampling). ``report`` receives one line per epoch and
    the samples (e.g. ``print``).
    """
    say = report or (lambda line: None)
    corpus = settings.text if settings.text is not None else data.text(data_dir=settings.data_dir)
    if settings.max_chars:
        corpus = corpus[:settings.max_chars]
    vocab = "".join(sorted(set(corpus)))
    ids = encode(corpus, vocab)
    split = int(len(ids) * (1 - settings.validation))
    train_ids, val_ids = ids[:split], ids[split:]
    x, y = streams(train_ids, settings.batch_size, settings.seq_length)
    manual_seed(settings.seed)
    model = models.char_lstm(len(vocab), settings.hidden).type(settings.dtype)
    criterion = nn.SequencerCriterion(nn.CrossEntropyCriterion(), size_average=True)
    params, grads = model.getParameters()
    state = {"learning_rate": settings.learning_rate}
    rng = np.random.default_rng(settings.seed)
    result = Result(model, vocab)
    lstm = _lstm(model)
    say(f"char-LSTM: {len(corpus):,} characters ({len(vocab)} distinct), {len(train_ids):,} to train and "
        f"{len(val_ids):,} to validate; hidden {settings.hidden}, {settings.batch_size} streams of "
        f"{settings.seq_length} characters, Adam {settings.learning_rate:g}, gradient norm clipped at "
        f"{settings.max_norm:g}; {sum(p.size for p in model.parameters()[0]):,} parameters")
    start = time.perf_counter()
    out_of_time = False
    for epoch in range(1, settings.epochs + 1):
        lstm.forget().remember()
        losses = []
        for xs, ys in zip(x, y):
            def feval(_: np.ndarray, xs: np.ndarray = xs, ys: np.ndarray = ys) -> tuple[float, np.ndarray]:
                grads.fill(0)
                output = model.forward(xs)
                loss = criterion.forward(output, ys)
                model.backward(xs, criterion.backward(output, ys))
                optim.clip_grad_norm(grads, settings.max_norm)
                return loss, grads

            _, fx = optim.adam(feval, params, state)
            losses.append(fx[0])
            result.steps += 1
            if settings.max_seconds is not None and time.perf_counter() - start > settings.max_seconds:
                out_of_time = True
                break
        lstm.forget()
        result.seconds = time.perf_counter() - start
        result.history["train_bpc"].append(float(np.mean(losses)) / math.log(2))
        result.history["val_bpc"].append(evaluate_bpc(model, criterion, val_ids, settings.batch_size,
                                                      settings.seq_length))
        result.samples.append(sample(model, vocab, settings.sample_length, settings.temperature, rng))
        say(f"epoch {epoch:3d}  train {result.history['train_bpc'][-1]:.3f} bits/char  validation "
            f"{result.history['val_bpc'][-1]:.3f} bits/char  ({result.steps} steps, {result.seconds:.0f} s)")
        say(f"sample at temperature {settings.temperature:g}:\n{result.samples[-1]}")
        if out_of_time:
            say(f"stopped after {settings.max_seconds:g} s")
            break
    if out is not None:
        from ember import plot

        result.figure = plot.loss_curves(Path(out) / "charrnn-loss.png", result.history["train_bpc"],
                                         result.history["val_bpc"], ylabel="bits per character",
                                         title="char-LSTM: bits per character per epoch")
    return result
