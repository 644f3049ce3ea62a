"""Finite-difference gradient checking: for a module, for a whole model, from pytest and the command line.

* :func:`jacobian` builds a module's Jacobian twice: by backprop (one one-hot
  ``gradOutput`` per output element, row by row) and by two-sided finite
  differences ``(f(x + h⁺ e_j) − f(x − h⁻ e_j)) / (h⁺ + h⁻)`` (column by column),
  where ``h±`` are the steps actually taken (``eps`` rounded to the array's dtype).
* :func:`check_module` audits one module: its Jacobians with respect to the input
  and to each parameter, and the protocol (batch = examples one at a time,
  accumulation and ``scale``, determinism and linearity of ``backward``, input
  and ``gradOutput`` left unchanged, float32 stays float32). It returns a
  :class:`ModuleReport`.
* :func:`check_criterion` is the same audit for a criterion, check for check (the Jacobian of the
  loss, a batch's summed loss = its examples', gradInput overwritten not accumulated, determinism,
  input and target unchanged, a Python-float loss and float32 kept).
* :func:`gradient_error` is the whole-model check: the symmetric relative error
  ``‖g_backprop − g_numeric‖ / ‖g_backprop + g_numeric‖`` over all parameters.
* :func:`check_model` runs it and, when it fails, the **bug localiser**: every
  leaf module is Jacobian-checked at the input it actually receives inside the
  model, and so is the criterion. It returns a :class:`ModelReport` whose
  ``failures`` are the culprit objects.
* :func:`diagnose_jacobian` names the classic mistake a failed check shows
  (transposed, sign, a constant factor, assignment instead of accumulation,
  ``scale`` ignored, batch handled wrongly, stale input, wrong at a kink or for
  some elements): every failed :class:`CheckResult` carries it as ``diagnosis``.
* ``check_model(..., mode="fast", budget=10)`` (:mod:`ember.check.fast`) compares random directional
  derivatives within a time budget, for models too big to perturb entry by entry;
  :mod:`ember.check.planted` plants classic bugs in a module instance, to test the checkers.
* :func:`check_built` builds a module from a class and its arguments, draws a seeded input of a
  default or given shape and audits it (``ember check``); :func:`check_built_model` is its fast
  whole-model twin, with the criterion the caller picks (:mod:`ember.check.built`).
* :func:`assert_module` and :func:`assert_gradients` raise ``AssertionError``
  carrying the report, for tests.

Inputs and outputs may be arrays or (nested) lists of arrays ("tables"); their
elements are numbered in order, table entry by table entry. The checkers never
modify the caller's input, restore every perturbed parameter entry exactly, and
leave parameter gradients (and persistent state such as running statistics) as
they found them.

Tolerance: an element passes when ``|backprop − numeric| ≤ tol · max(1, max |numeric|)``,
the maximum taken over the whole Jacobian (or array compared), so ``tol`` is
absolute for derivatives of order one and relative for large ones. Check in
float64: in float32 the finite differences are dominated by rounding, and the
checkers warn.

Kinks: at a point where the function is not differentiable (ReLU or Abs at 0,
ties in Max) the central difference is the mean of two different one-sided
slopes and disagrees with any backprop value. Where an element fails, the
checker also takes the forward and backward differences
``(f(x + h e_j) − f(x)) / h`` and ``(f(x) − f(x − h e_j)) / h``; if they disagree
(by more than ``max(tol, 1000·eps)`` times the scale, well above the ``eps·|f''|``
by which they differ on a smooth function) and the backprop value lies between
them, the element is at a kink: reported as ``KINK``, which counts as ok.
"""

from ember.check.audit import assert_module, check_module
from ember.check.built import BuiltCheck, check_built, check_built_model, default_input_shape
from ember.check.criteria import check_criterion
from ember.check.diagnose import Diagnosis, diagnose_jacobian
from ember.check.jacobians import jacobian, jacobian_error
from ember.check.model import assert_gradients, check_model, gradient_error, record_inputs
from ember.check.report import CheckResult, ModelReport, ModuleReport
from ember.check.structure import copy_structure, flatten, leaves, one_hot_like, zeros_like
from ember.finite_differences import relative_error
