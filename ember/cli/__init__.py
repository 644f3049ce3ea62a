"""The ``ember`` command line (also ``python -m ember``): a thin shell over the library.

``main`` parses, runs one command's handler inside one error guard and returns the exit status
(see :mod:`ember.cli.common`); one module per group of commands declares them.
"""

from ember.cli.main import main

__all__ = ["main"]
