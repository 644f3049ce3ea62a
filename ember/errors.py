"""ember's exceptions: one hierarchy, so that callers (the checker, the command line, a test)
recognise what went wrong by type, never by the text of a message.

* :class:`InputError` (a ``ValueError``): a module or criterion rejected its input (shape, value);
  :class:`InputTypeError` (also a ``TypeError``) for a wrong type or dtype and
  :class:`InputIndexError` (also an ``IndexError``) for an index out of range.
* :class:`ProtocolError` (a ``TypeError``): a module breaks the module protocol (``updateOutput``
  returned ``None``, ``backward`` before ``forward``, no ``config()`` to rebuild it from).
* :class:`CheckSetupError` (an ``InputError``): :mod:`ember.check` cannot set up the check asked for (the
  class does not build from the arguments, or the module refuses the input drawn for it).
* :class:`ModelFileError` (a ``ValueError``): a model file is corrupted, tampered with or does not
  fit its architecture; :class:`UntrustedModuleError` when it names a class the caller did not trust.
* :class:`DataFileError` (a ``ValueError``): a data file (CSV, IDX, gzip) cannot be read as data; the
  message names the file and, where there is one, the line and column.
* :class:`FileAccessError` (an ``OSError``, keeping ``errno`` and ``filename``): a file cannot be read or written;
  :class:`SaveError` when a save failed (disk full, permission, a directory or a missing folder in the way), and
  :class:`MissingFileError` (a ``FileNotFoundError``), :class:`NotAFileError` (an ``IsADirectoryError``) and
  :class:`UnreadableFileError` (a ``PermissionError``) for a file to read; the message names the path and the cause.
* :class:`NonFiniteError` (a ``FloatingPointError``): a NaN or inf appeared where ember stops on one (the loss
  in ``fit``, a module wrapped in ``nn.NaN``); the message names where.
* :class:`SizeError` (an ``InputError`` and a ``MemoryError``): sizes given to a constructor (a layer, a model
  builder) need more memory than there is, or more elements than an array can hold; the message names them.
* :class:`NotFittedError` (a ``RuntimeError``): something fitted to data (a ``Standardizer``) used before
  ``fit``.

All derive from :class:`EmberError`.
"""

from __future__ import annotations

__all__ = ["CheckSetupError", "DataFileError", "EmberError", "FileAccessError", "InputError", "InputIndexError",
           "InputTypeError", "MissingFileError", "ModelFileError", "NonFiniteError", "NotAFileError", "NotFittedError",
           "ProtocolError", "SaveError", "SizeError", "UnreadableFileError", "UntrustedModuleError"]


class EmberError(Exception):
    """Base class of every exception ember raises on purpose."""


class InputError(EmberError, ValueError):
    """A module or criterion rejected its input: the message names it, the expected and the given."""


class InputTypeError(InputError, TypeError):
    """Rejected input of the wrong type or dtype (e.g. a list where an array is needed)."""


class InputIndexError(InputError, IndexError):
    """Rejected input holding an index out of range (a class label, a ``LookupTable`` row, a dim)."""


class CheckSetupError(InputError):
    """A check cannot start: its module does not build from the arguments given, or refuses the input drawn for it.

    ``input_shape`` is the refused input's shape, or ``None`` when the module could not be built.
    """

    def __init__(self, message: str, input_shape: tuple[int, ...] | None = None) -> None:
        super().__init__(message)
        self.input_shape = input_shape


class ProtocolError(EmberError, TypeError):
    """A module does not keep the module protocol; the message names the module and the fix."""


class ModelFileError(EmberError, ValueError):
    """A model or checkpoint file cannot be loaded: the message names the file and the problem."""


class DataFileError(EmberError, ValueError):
    """A data file cannot be read: the message names the file (and the line, column or byte) and the problem."""


class FileAccessError(EmberError, OSError):
    """A file cannot be read or written. Built as ``OSError(errno, message, filename)``: ``errno`` and
    ``filename`` are kept for ``except OSError`` callers, and ``str()`` is the message, which names the path
    and the cause.
    """

    def __str__(self) -> str:
        return self.strerror if isinstance(self.strerror, str) else super().__str__()


class SaveError(FileAccessError):
    """A save failed (disk full, permission denied, a directory or a missing folder in the way): the message
    names the path, the cause and whether the file there before is unchanged.
    """


class MissingFileError(FileAccessError, FileNotFoundError):
    """A file (or data folder) to read does not exist."""


class NotAFileError(FileAccessError, IsADirectoryError):
    """A path given as a file to read is a directory (or another thing that is not a regular file)."""


class UnreadableFileError(FileAccessError, PermissionError):
    """A file to read exists but this process may not read it."""


class SizeError(InputError, MemoryError):
    """Sizes given to a constructor need more memory than there is (or more elements than an array holds)."""


class NonFiniteError(EmberError, FloatingPointError):
    """A NaN or inf appeared where ember stops on one: the loss in ``fit``, a module wrapped in ``nn.NaN``."""


class NotFittedError(EmberError, RuntimeError):
    """Something that is fitted to data (a ``Standardizer``) was used before ``fit``."""


class UntrustedModuleError(ModelFileError):
    """A model file names a module class the caller did not pass in ``trusted=``."""


#: The builtin exception types a ``fail(message, error)`` call may name, and the ember type raised instead.
INPUT_ERRORS: dict[type[Exception], type[InputError]] = {
    ValueError: InputError, TypeError: InputTypeError, IndexError: InputIndexError,
}
