"""The classic workflows of the seed documents, end to end, as library functions.

* :mod:`ember.recipes.ocr` — the OCR-letters homework: one sigmoid hidden layer, softmax output, mean
  cross-entropy, per-example SGD in file order (``train_and_test``), and its hyper-parameter sweep.
* :mod:`ember.recipes.iris` — the "implement your own layer" practical: the Iris network with a sigmoid
  or ReQU non-linearity, full-batch adagrad, whole-model and per-module gradient checks.
* :mod:`ember.recipes.dense` — the backprop lab: ``build_dense(input_size, [2, 'tanh', 1, 'sigmoid'])``,
  XOR with binary cross-entropy and gradient descent, the experiment grid, a softmax network on MNIST.
* :mod:`ember.recipes.vectorised` — vectorised gradients: linear regression by gradient descent, a
  hand-derived one-hidden-layer ReLU network checked against backprop, the Legendre P3 module fitted to
  sin(x).
* :mod:`ember.recipes.train` — ``ember train`` as one call: ``run(Settings(dataset=..., model=...))`` loads the
  data, builds the model (mlp, lenet, a class of your own, a saved model), fits, scores and saves it.
* :mod:`ember.recipes.tour` — a tour of Torch ``nn``: every cell of the classic tutorial, printed and checked.
* :mod:`ember.recipes.lenet` — a LeNet-style CNN on MNIST (``ember.models.lenet``): ``train_lenet`` (8k/2k
  split, Adam, ≥ 97% test accuracy in 12 epochs).

* :mod:`ember.recipes.charrnn` — a character-level LSTM (``ember.models.char_lstm``) on tiny Shakespeare by
  truncated backpropagation through time, in bits per character, with samples at a temperature.

* :mod:`ember.recipes.trace` — show your work: every intermediate of one pass of the OCR network (``a, z,
  b, ŷ, J`` and every gradient) as Markdown, LaTeX or CSV, and the first wrong value of a student's own.

Each recipe is also an ``ember`` command and an example script in ``examples/``.
"""
