"""Save and load models and training checkpoints as safetensors files (no pickle, ever).

A model file is a `safetensors <https://github.com/huggingface/safetensors>`_
file holding

* one tensor per parameter, named ``"<i>.<attribute>"`` where ``i`` is the
  module's position in ``model.listModules()`` (``"0"`` is the model itself),
  e.g. ``"1.weight"``, ``"3.bias"``; a parameter shared between modules is
  stored once and recorded as an alias;
* every declared buffer (persistent state, e.g. running statistics);
* text metadata: ``format`` (``"ember"``), ``version`` (``"1"``), ``dtype``,
  ``aliases`` (shared parameters), a ``sha256`` of the other metadata and the
  tensors, and ``architecture``, a JSON description of the module tree built
  from each module's declared ``config()`` and its training/evaluation mode::

      {"type": "Sequential", "config": {}, "train": true,
       "modules": [{"type": "Linear", "config": {"n_in": 4, "n_out": 2, "bias": true}, "train": true}, ...]}

Loading rebuilds the model by looking each ``type`` up among the Module
classes that :mod:`ember.nn` exports (nothing named by the file is imported or
executed; nothing is unpickled; a criterion a module holds, e.g. ``CriterionTable``'s, is described as
``{"__criterion__": {"type": ..., "config": ...}}`` from its ``config()`` and looked up among ember.nn's
Criterion classes alike), then checks every tensor's name, shape and
dtype against the freshly built model and the checksum against the data. A
truncated, corrupted or tampered file, an unknown module type, a missing or
extra tensor or a shape mismatch raises :class:`ember.ModelFileError` (a ``ValueError``)
naming the file and the problem. A module class of your own is saved by its import path
(``"my_layers:Scale"``), and loading it needs ``trusted=[Scale]``: a file naming a class the
caller did not trust raises :class:`ember.UntrustedModuleError`. Files get the permissions
the umask gives, as ``open()`` would. Writes go to a temporary file in the target's directory, which is
then renamed over the target, so a crash mid-write never leaves a broken file; a save that fails (disk full,
permission denied, a directory in the way) raises :class:`ember.SaveError` (an ``OSError``) naming the path and
the cause, and the file there before is unchanged.

Checkpoints (:func:`save_checkpoint` / :func:`load_checkpoint`) add the
optimizer's state dict (arrays as tensors, everything else as JSON), the
number of completed epochs, the training history and the random generator
states, which is what ``ember.train.fit(..., resume=path)`` needs to continue
a run bit for bit.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file

from ember import nn
from ember.errors import InputError, InputTypeError, ModelFileError, ProtocolError, UntrustedModuleError
from ember.files import STALE_SECONDS, as_path, atomic_write, existing_file
from ember.nn.arguments import SIZES
from ember.nn.containers import Container
from ember.nn.criterion import Criterion
from ember.nn.module import Module, _memory_key
from ember.random import get_rng

FORMAT = "ember"
CHECKPOINT_FORMAT = "ember-checkpoint"
VERSION = "2"
_FLOAT_DTYPES = ("float16", "float32", "float64")

__all__ = [
    "Checkpoint",
    "architecture",
    "build",
    "info",
    "load",
    "load_checkpoint",
    "save",
    "save_checkpoint",
]


def module_classes() -> dict[str, type[Module]]:
    """The Module classes that ``ember.nn`` exports, by name: the only types :func:`load` will build."""
    return {name: obj for name, obj in vars(nn).items()
            if not name.startswith("_") and isinstance(obj, type) and issubclass(obj, Module)}


def criterion_classes() -> dict[str, type[Criterion]]:
    """The Criterion classes that ``ember.nn`` exports, by name: the criteria :func:`load` will build."""
    return {name: obj for name, obj in vars(nn).items()
            if not name.startswith("_") and isinstance(obj, type) and issubclass(obj, Criterion)}


# -- architecture ---------------------------------------------------------------------------

def _json_value(value: Any, where: str, seen: dict[int, int] | None = None) -> Any:
    """``value`` as plain JSON data (tuples become lists, a module its description), or a ``TypeError``
    saying where it is. ``seen`` numbers the modules described so far (see :func:`architecture`).
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, np.generic) and value.ndim == 0 and value.dtype.kind in "biuf":
        return value.item()
    if isinstance(value, Module):  # a wrapped module (Sequencer's, a Decorator's, a graph's node's)
        return {"__module__": _describe(value, True, {} if seen is None else seen)}
    if isinstance(value, Criterion):  # a held criterion (CriterionTable's), described by its own config()
        name = type_name(type(value))
        config = {key: item.tolist() if isinstance(item, np.ndarray) and item.dtype.kind in "biuf" else item
                  for key, item in value.config().items()}  # class weights: exact as JSON numbers
        return {"__criterion__": {"type": name, "config": _json_value(config, f"{name}.config()", seen)}}
    if isinstance(value, (list, tuple)):
        return [_json_value(item, f"{where}[{i}]", seen) for i, item in enumerate(value)]
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {key: _json_value(item, f"{where}[{key!r}]", seen) for key, item in value.items()}
    raise ProtocolError(f"cannot describe {where} = {value!r} ({type(value).__name__}) in JSON; "
                    f"only numbers, strings, booleans, None, modules and lists of them can be saved")


def _from_json(value: Any, classes: _Classes, where: str, built: list[Module]) -> Any:
    """Undo :func:`_json_value` as far as constructors need: lists become tuples again, module
    descriptions modules.
    """
    if isinstance(value, list):
        return tuple(_from_json(item, classes, where, built) for item in value)
    if isinstance(value, dict):
        if set(value) == {"__module__"}:
            return _build(value["__module__"], classes, where, built)
        if set(value) == {"__criterion__"}:
            return _build_criterion(value["__criterion__"], classes, where, built)
        return {key: _from_json(item, classes, where, built) for key, item in value.items()}
    return value


def _build_criterion(description: Any, classes: _Classes, where: str, built: list[Module]) -> Criterion:
    """The criterion a ``{"type": ..., "config": ...}`` description names (its modules built as in a model)."""
    if not isinstance(description, dict) or not isinstance(description.get("type"), str) \
            or not isinstance(description.get("config", {}), dict):
        raise InputError(f"{where}: expected a criterion as an object with a 'type' and a 'config', "
                         f"got {description!r:.80}")
    name = description["type"]
    cls = classes.get(name, where, Criterion)
    arguments = _from_json(description.get("config", {}), classes, f"{where}.config", built)
    try:
        return cls.from_config(arguments)
    except Exception as exc:
        raise InputError(f"{where}: cannot build {name} from config {description.get('config')}: {exc}") from exc


def type_name(cls: type[Module] | type[Criterion]) -> str:
    """How a file names a module or criterion class: ``"Linear"`` for ember.nn's, else its import path
    ``"package.module:QualName"``.
    """
    if vars(nn).get(cls.__name__) is cls:
        return cls.__name__
    return f"{cls.__module__}:{cls.__qualname__}"


def architecture(model: Module, modes: bool = True) -> dict[str, Any]:
    """Describe ``model``'s tree as JSON-ready data, from each module's declared ``config()``::

        {"type": "Sequential", "config": {}, "train": true,
         "modules": [{"type": "Linear", "config": {"n_in": 4, "n_out": 2, "bias": true}, "train": true}]}

    A module that is not one of ``ember.nn``'s is named by its import path
    (``"my_layers:Scale"``); loading it needs ``trusted=``. A container's children are taken
    from ``.modules``; modules in a configuration (a ``Sequencer``'s, a graph's nodes') are
    described there. A module met a second time (one module at two places, an unpooling
    module's pooling module) is ``{"__ref__": n}``, the n-th module described (from 0, in the
    order of this description), so that loading rebuilds one module, not two. ``modes=False``
    leaves out the ``"train"`` entries (to compare architectures whatever mode the models are in).

    Raises:
        ProtocolError: a module's constructor takes arguments but it defines no ``config()``.
        TypeError: a configuration cannot be written as JSON.

    """
    return _describe(model, modes, {})


def _describe(model: Module, modes: bool, seen: dict[int, int]) -> dict[str, Any]:
    if id(model) in seen:
        return {"__ref__": seen[id(model)]}
    seen[id(model)] = len(seen)
    name = type_name(type(model))
    description: dict[str, Any] = {"type": name, "config": _json_value(model.config(), f"{name}.config()", seen)}
    if modes:
        description["train"] = bool(model.train)
    if isinstance(model, Container):
        description["modules"] = [_describe(child, modes, seen) for child in model.modules]
    return description


class _Classes:
    """The classes a load may build: ember.nn's, and exactly those the caller trusts."""

    def __init__(self, trusted: Iterable[type[Module] | type[Criterion] | str] | None) -> None:
        self.builtin: dict[str, type] = {**module_classes(), **criterion_classes()}
        self.by_name: dict[str, type] = {}
        self.by_qualname: dict[str, type] = {}
        for item in trusted or ():
            cls = _import_trusted(item) if isinstance(item, str) else item
            if not (isinstance(cls, type) and issubclass(cls, (Module, Criterion))):
                raise InputTypeError(f"trusted: expected Module or Criterion classes or 'package.module:Class' names, "
                                     f"got {item!r}")
            self.by_name[item if isinstance(item, str) else f"{cls.__module__}:{cls.__qualname__}"] = cls
            if not isinstance(item, str):  # a class given itself is trusted wherever it was defined
                self.by_qualname.setdefault(cls.__qualname__, cls)

    def get(self, name: str, where: str, kind: type = Module) -> Any:
        """The class ``name`` names, which must be a ``kind`` (Module, or Criterion for a held criterion)."""
        what = "module" if kind is Module else "criterion"
        if ":" not in name:
            cls = self.builtin.get(name)
            if cls is None or not issubclass(cls, kind):
                raise InputError(f"{where}: unknown {what} type {name!r} (not one of ember.nn's {what}s)")
            return cls
        cls = self.by_name.get(name) or self.by_qualname.get(name.split(":", 1)[1])
        if cls is None:
            qualname = name.split(":", 1)[1]
            raise UntrustedModuleError(
                f"{where}: the file names the {what} class {name!r}, which is not one of ember.nn's; nothing it "
                f"names is imported or run unless you trust it: load(path, trusted=[{qualname}]) or "
                f"trusted=[{name!r}] (command line: --trust FILE.py:{qualname})")
        if not issubclass(cls, kind):
            raise InputError(f"{where}: {name!r} is not a {what} class")
        return cls


def _import_trusted(name: str) -> type[Module] | type[Criterion]:
    """The class a trusted ``"package.module:QualName"`` names (importing that module: the caller named it)."""
    module_name, _, qualname = name.partition(":")
    if not module_name or not qualname:
        raise InputError(f"trusted: expected 'package.module:Class', got {name!r}")
    value: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        value = getattr(value, part, None)
    if not (isinstance(value, type) and issubclass(value, (Module, Criterion))):
        raise InputError(f"trusted: {name!r} is not a Module or Criterion class")
    return value


def build(description: dict[str, Any], trusted: Iterable[type[Module] | str] | None = None) -> Module:
    """Build a fresh model from an :func:`architecture` description.

    Module types are looked up among ``ember.nn``'s exported Module classes and the classes
    in ``trusted`` (classes, or ``"package.module:Class"`` names); nothing else is imported
    or run. The library-wide random generator is left as it was (construction
    initialises parameters, which are normally overwritten by a load).

    Raises:
        ValueError: the description is malformed or names an unknown module type.
        UntrustedModuleError: it names a class that is not ember.nn's and not trusted.

    """
    classes = _Classes(trusted)
    state = get_rng().bit_generator.state
    try:
        return _build(description, classes, "model", [])
    finally:
        get_rng().bit_generator.state = state


def _build(description: Any, classes: _Classes, where: str, built: list[Module]) -> Module:
    """The module ``description`` describes; ``built`` lists the modules built so far, which ``__ref__`` names."""
    if isinstance(description, dict) and set(description) == {"__ref__"}:
        ref = description["__ref__"]
        if not (isinstance(ref, int) and 0 <= ref < len(built)) or built[ref] is None:
            raise InputError(f"{where}: a reference to module {ref!r}, which is not one described before it "
                             f"(of {len(built)}, the unfinished ones containing this one excluded)")
        return built[ref]
    if not isinstance(description, dict) or not isinstance(description.get("type"), str):
        raise InputError(f"{where}: expected an object with a 'type', got {description!r:.80}")
    name = description["type"]
    cls = classes.get(name, where)
    config = description.get("config", {})
    if not isinstance(config, dict):
        raise InputError(f"{where} ({name}): 'config' must be an object")
    children = description.get("modules")
    if (children is not None) != issubclass(cls, Container) or not isinstance(children or [], list):
        raise InputError(f"{where} ({name}): 'modules' must be a list exactly when the type is a container")
    index = len(built)
    built.append(None)  # numbered before the modules in its configuration, as architecture() numbers them
    arguments = _from_json(config, classes, f"{where}.config", built)
    try:
        module = cls.from_config(arguments)
    except Exception as exc:
        raise InputError(f"{where}: cannot build {name} from config {config}: {exc}") from exc
    for i, child in enumerate(children or []):
        module.add(_build(child, classes, f"{where}.modules[{i}]", built))
    built[index] = module  # (only now: a module inside it cannot refer to it)
    module.train = bool(description.get("train", True))
    return module


# -- tensors --------------------------------------------------------------------------------

def _model_tensors(model: Module) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The model's parameters and persistent state by name, and the aliases of shared arrays."""
    tensors: dict[str, np.ndarray] = {}
    aliases: dict[str, str] = {}
    seen: dict[tuple, str] = {}
    for index, module in enumerate(model.listModules()):
        declared = module.declared_parameters()
        names = [*declared, *declared.values(), *module.declared_buffers()]
        for name in names:
            value = getattr(module, name, None)
            if value is None:
                continue
            key = f"{index}.{name}"
            memory = _memory_key(value)
            if memory in seen:
                aliases[key] = seen[memory]
            else:
                seen[memory] = key
                if not name.startswith("grad"):
                    tensors[key] = np.ascontiguousarray(value)
    # A gradient is only recorded to keep sharing: drop aliases that point at unsaved gradients.
    aliases = {key: source for key, source in aliases.items() if source in tensors}
    return tensors, aliases


def _model_dtype(tensors: dict[str, np.ndarray], model: Module) -> str:
    dtypes = {str(array.dtype) for array in tensors.values()}
    if len(dtypes) > 1:
        raise InputTypeError(f"cannot save {model.describe()}: its parameters have mixed dtypes {sorted(dtypes)}; "
                             f"call .type() first")
    dtype = dtypes.pop() if dtypes else "float64"
    if dtype not in _FLOAT_DTYPES:
        raise InputTypeError(f"cannot save {model.describe()}: parameters of dtype {dtype} (expected floating point)")
    return dtype


def _checksum(tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> str:
    """SHA-256 over the metadata (but its ``sha256`` entry) and the tensors' names, dtypes, shapes and bytes."""
    digest = hashlib.sha256()
    for key in sorted(metadata):
        if key != "sha256":
            digest.update(f"{key}={metadata[key]}|".encode())
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _verify(path: Path, tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> None:
    if metadata.get("sha256") != _checksum(tensors, metadata):
        raise ModelFileError(f"{path}: checksum mismatch: the file was corrupted or modified after it was saved")


def _write_atomic(path: Path, tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> None:
    """Write a safetensors file to a temporary file beside ``path``, flush it to disk, rename it over ``path``
    (:func:`ember.files.atomic_write`: a failure is a ``SaveError`` naming the path and the cause).
    """
    atomic_write(path, lambda temporary: save_file(tensors, str(temporary), metadata=metadata),
                 stale_seconds=STALE_SECONDS)


def _read(path: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """All tensors (copied into memory) and the metadata of a safetensors file."""
    existing_file(path, "a model file")
    try:
        with safe_open(str(path), framework="np") as opened:
            metadata = opened.metadata() or {}
            tensors = {name: np.array(opened.get_tensor(name), copy=True) for name in opened.keys()}
    except Exception as exc:
        raise ModelFileError(f"{path}: not a readable safetensors file (truncated or corrupted?): {exc}") from exc
    return tensors, metadata


def _json_field(path: Path, metadata: dict[str, str], key: str) -> Any:
    if key not in metadata:
        raise ModelFileError(f"{path}: metadata has no {key!r} entry")
    try:
        value = json.loads(metadata[key])
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{path}: metadata entry {key!r} is not valid JSON: {exc}") from exc
    except RecursionError:
        raise ModelFileError(f"{path}: metadata entry {key!r} is nested too deeply to be a model") from None
    _check_depth(path, key, value)
    return value


#: the deepest nesting of JSON a model file's metadata may have (a model 30 containers deep needs about 100)
MAX_DEPTH = 200


def _check_depth(path: Path, key: str, value: Any) -> None:
    """Refuse metadata nested deeper than :data:`MAX_DEPTH` before anything recurses into it."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise ModelFileError(f"{path}: metadata entry {key!r} is nested more than {MAX_DEPTH} deep")
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        pending.extend((child, depth + 1) for child in children)


#: the most modules a model file may describe
MAX_MODULES = 100_000
#: what a module's declared sizes may ask beyond the file's own parameter values (elements), before building:
#: the parameter-free modules' working arrays (a 4096 x 4096 pooling window, say) fit in it
SIZE_SLACK = 2 ** 24


def _check_declared_sizes(path: Path, description: Any, values_in_file: int) -> None:
    """Refuse an architecture whose sizes would allocate far more than the file holds, before building it.

    safetensors itself checks each tensor's shape and dtype against its byte range and the ranges against the
    file's size, so the file's tensors are bounded by the file. The architecture is not: ``Linear(100000,
    100000)`` in the metadata of a 1 kB file would allocate 80 GB when built. Each module's largest weight is at
    least the product of its two largest size arguments (``n_in`` x ``n_out``, ``n_output_plane`` x ``kW``,
    ``hidden_size`` x ``input_size``: :data:`ember.nn.arguments.SIZES`); a module whose product exceeds the
    file's parameter values by more than :data:`SIZE_SLACK` is refused, as is a description of more than
    :data:`MAX_MODULES` modules.
    """
    pending, count = [description], 0
    while pending:
        item = pending.pop()
        if isinstance(item, list):
            pending.extend(item)
            continue
        if not isinstance(item, dict):
            continue
        pending.extend(item.values())
        config = item.get("config")
        if not isinstance(item.get("type"), str) or not isinstance(config, dict):
            continue
        count += 1
        if count > MAX_MODULES:
            raise ModelFileError(f"{path}: the architecture describes more than {MAX_MODULES} modules")
        sizes = sorted(value for key, value in config.items() if key in SIZES and isinstance(value, int)
                       and not isinstance(value, bool))[-2:]
        if math.prod(sizes) > values_in_file + SIZE_SLACK:
            declared = ", ".join(f"{key}={value}" for key, value in config.items() if key in SIZES)
            raise ModelFileError(f"{path}: {item['type']}({declared}) in the metadata asks for at least "
                                 f"{math.prod(sizes):,} values, but the file holds {values_in_file:,}: the "
                                 f"architecture does not fit the file")


def _check_header(path: Path, metadata: dict[str, str], expected_format: str) -> None:
    file_format = metadata.get("format")
    if file_format != expected_format:
        hint = " (use load_checkpoint)" if file_format == CHECKPOINT_FORMAT else (
            " (use load)" if file_format == FORMAT else "")
        raise ModelFileError(f"{path}: format {file_format!r} in the metadata, expected {expected_format!r}{hint}")
    if metadata.get("version") != VERSION:
        raise ModelFileError(f"{path}: format version {metadata.get('version')!r}, this ember reads version {VERSION}")


def _model_from(path: Path, tensors: dict[str, np.ndarray], metadata: dict[str, str],
                trusted: Iterable[type[Module] | str] | None = None) -> Module:
    """Build the model the metadata describes and fill it with the file's tensors, checking everything."""
    dtype = metadata.get("dtype")
    if dtype not in _FLOAT_DTYPES:
        raise ModelFileError(f"{path}: metadata dtype {dtype!r} is not one of {list(_FLOAT_DTYPES)}")
    aliases = _json_field(path, metadata, "aliases") if "aliases" in metadata else {}
    if not isinstance(aliases, dict):
        raise ModelFileError(f"{path}: metadata entry 'aliases' must be an object")
    description = _json_field(path, metadata, "architecture")
    _check_declared_sizes(path, description, sum(array.size for array in tensors.values()))
    try:
        model = build(description, trusted)
    except UntrustedModuleError as exc:
        raise UntrustedModuleError(f"{path}: {exc}") from None
    except ValueError as exc:
        raise ModelFileError(f"{path}: bad architecture: {exc}") from exc
    if dtype != "float64":
        model.type(dtype)
    expected, _ = _model_tensors(model)
    expected = {name: array for name, array in expected.items() if name not in aliases}
    modules = model.listModules()
    # a buffer that is None until set (a recurrent layer's initial state h0) is filled when the file has it
    unset = {f"{i}.{name}": (module, name) for i, module in enumerate(modules)
             for name in module.declared_buffers() if getattr(module, name) is None}
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected) - set(unset))
    if missing or extra:
        raise ModelFileError(f"{path}: tensors do not match the architecture: "
                         f"missing {missing or 'none'}, unexpected {extra or 'none'}")
    for name, target in expected.items():
        array = tensors[name]
        if array.shape != target.shape or array.dtype != target.dtype:
            raise ModelFileError(f"{path}: tensor {name!r} has shape {array.shape} and dtype {array.dtype}, "
                             f"the architecture needs {target.shape} and {target.dtype}")
    for name, array in tensors.items():
        if name in unset:
            if array.dtype != np.dtype(dtype):
                raise ModelFileError(f"{path}: tensor {name!r} has dtype {array.dtype}, the model's is {dtype}")
            setattr(*unset[name], array)
            continue
        index, attribute = name.split(".", 1)
        getattr(modules[int(index)], attribute)[...] = array
    for name, source in aliases.items():
        try:
            index, attribute = name.split(".", 1)
            source_index, source_attribute = source.split(".", 1)
            target_module, source_module = modules[int(index)], modules[int(source_index)]
            value = getattr(source_module, source_attribute)
            if getattr(target_module, attribute).shape != value.shape:
                raise InputError("shapes differ")
        except (ValueError, IndexError, AttributeError) as exc:
            raise ModelFileError(f"{path}: bad shared-parameter alias {name!r} -> {source!r}: {exc}") from exc
        setattr(target_module, attribute, value)
        grad_of, source_grad_of = target_module.declared_parameters(), source_module.declared_parameters()
        if attribute in grad_of and source_attribute in source_grad_of:
            setattr(target_module, grad_of[attribute], getattr(source_module, source_grad_of[source_attribute]))
    return model


def _model_payload(model: Module) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    if not isinstance(model, Module):
        raise InputTypeError(f"expected an ember Module to save, got {type(model).__name__}")
    tensors, aliases = _model_tensors(model)
    metadata = {
        "format": FORMAT,
        "version": VERSION,
        "dtype": _model_dtype(tensors, model),
        "architecture": json.dumps(architecture(model)),
        "aliases": json.dumps(aliases),
    }
    return tensors, metadata


# -- public API: models ---------------------------------------------------------------------

def save(model: Module, path: str | os.PathLike, *, info: dict[str, Any] | None = None) -> Path:
    """Save ``model``'s architecture and parameters to ``path`` (a ``.safetensors`` file), atomically.

    ``info`` is any JSON data to keep with the model (``ember train`` records the
    dataset and the rows it held out); :func:`info` reads it back.

    Returns:
        The path written.

    Raises:
        TypeError: the model contains a module that is not one of ``ember.nn``'s,
            a constructor argument that JSON cannot hold, or mixed dtypes.
        SaveError: the file could not be written (the message names the path and the cause).

    Example:
        >>> import tempfile
        >>> from ember import nn
        >>> model = nn.Sequential(nn.Linear(4, 3), nn.LogSoftMax())
        >>> path = save(model, Path(tempfile.mkdtemp()) / "iris.safetensors")
        >>> repr(load(path)) == repr(model)
        True

    """
    path = as_path(path, "a model file")
    tensors, metadata = _model_payload(model)
    if info is not None:
        try:
            metadata["info"] = json.dumps(info)
        except TypeError as error:
            raise InputTypeError(f"save: info must be JSON data ({error})") from None
    metadata["sha256"] = _checksum(tensors, metadata)
    _write_atomic(path, tensors, metadata)
    return path


def info(path: str | os.PathLike) -> dict[str, Any]:
    """The ``info`` a model file was saved with (``{}`` if none), after checking the file."""
    path = as_path(path, "a model file")
    tensors, metadata = _read(path)
    _check_header(path, metadata, FORMAT)
    _verify(path, tensors, metadata)
    return _json_field(path, metadata, "info") if "info" in metadata else {}


def load(path: str | os.PathLike, trusted: Iterable[type[Module] | str] | None = None) -> Module:
    """Rebuild a model saved by :func:`save` (in the training/evaluation mode it was saved in, fresh gradients).

    Args:
        path: the file.
        trusted: your own module classes the file may name, as classes (``[Scale]``) or import
            paths (``["my_layers:Scale"]``); nothing else is imported or run.

    Raises:
        FileNotFoundError: there is no such file.
        ModelFileError: the file is truncated, corrupted or tampered with, names an
            unknown module type, or its tensors do not fit the architecture.
        UntrustedModuleError: it names a module class not in ``trusted`` (the message says how to trust it).

    """
    path = as_path(path, "a model file")
    tensors, metadata = _read(path)
    _check_header(path, metadata, FORMAT)
    _verify(path, tensors, metadata)
    return _model_from(path, tensors, metadata, trusted)


# -- public API: checkpoints ----------------------------------------------------------------

@dataclass
class Checkpoint:
    """What :func:`load_checkpoint` returns.

    Attributes:
        model: the rebuilt model, with its parameters.
        optimizer_state: the optimizer's state dict (configuration and history).
        epoch: the number of completed epochs.
        history: the per-epoch metrics so far (metric name → list of floats).
        rng_state: the ``bit_generator.state`` of the training loop's generator.
        extra: any other JSON data the caller stored.

    """

    model: Module
    optimizer_state: dict[str, Any]
    epoch: int
    history: dict[str, list[float]]
    rng_state: dict[str, Any] | None
    extra: dict[str, Any] = field(default_factory=dict)


def _encode_state(value: Any, tensors: dict[str, np.ndarray], where: str) -> Any:
    """Optimizer state as JSON data; arrays (and NumPy scalars) go to ``tensors`` and leave a reference."""
    if isinstance(value, (np.ndarray, np.generic)):
        name = f"optim/{len(tensors)}"
        tensors[name] = np.ascontiguousarray(value)
        return {"__tensor__": name, "shape": list(np.shape(value)), "scalar": isinstance(value, np.generic)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        items = [_encode_state(item, tensors, f"{where}[{i}]") for i, item in enumerate(value)]
        return {"__tuple__": items} if isinstance(value, tuple) else items
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise InputTypeError(f"cannot save {where}: only string keys can be saved, got {list(value)!r:.80}")
        if "__tensor__" in value or "__tuple__" in value:
            raise InputTypeError(f"cannot save {where}: the keys '__tensor__' and '__tuple__' are reserved")
        return {key: _encode_state(item, tensors, f"{where}[{key!r}]") for key, item in value.items()}
    raise InputTypeError(f"cannot save {where} = {value!r:.80} ({type(value).__name__}) in a checkpoint; "
                         f"only arrays, numbers, strings, booleans, None, lists and dicts can be saved")


def _decode_state(value: Any, tensors: dict[str, np.ndarray], path: Path) -> Any:
    if isinstance(value, list):
        return [_decode_state(item, tensors, path) for item in value]
    if isinstance(value, dict):
        if "__tensor__" in value:
            name = value["__tensor__"]
            if name not in tensors:
                raise ModelFileError(f"{path}: optimizer state refers to a missing tensor {name!r}")
            array = tensors[name]
            shape = tuple(value.get("shape", array.shape))
            if int(np.prod(shape)) != array.size:
                raise ModelFileError(f"{path}: optimizer tensor {name!r} has {array.size} elements, "
                                     f"expected shape {shape}")
            array = array.reshape(shape)
            return array[()] if value.get("scalar") else array
        if "__tuple__" in value:
            return tuple(_decode_state(item, tensors, path) for item in value["__tuple__"])
        return {key: _decode_state(item, tensors, path) for key, item in value.items()}
    return value


def save_checkpoint(path: str | os.PathLike, model: Module, optimizer_state: dict[str, Any], epoch: int,
                    history: dict[str, list[float]], rng_state: dict[str, Any] | None,
                    extra: dict[str, Any] | None = None) -> Path:
    """Save everything needed to resume training, atomically.

    Args:
        path: the file to write (``.safetensors``; replaced if it exists).
        model: the model being trained.
        optimizer_state: the optimizer's state dict; arrays are stored as tensors,
            other values (numbers, strings, lists, dicts) as JSON.
        epoch: the number of completed epochs.
        history: per-epoch metrics (metric name → list of floats).
        rng_state: ``generator.bit_generator.state`` of the training loop's generator.
        extra: other JSON-serialisable data (e.g. the optimizer's name).

    Returns:
        The path written.

    """
    path = as_path(path, "a checkpoint file")
    if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
        raise InputTypeError(f"save_checkpoint: epoch must be an integer >= 0, got {epoch!r}")
    for name, value in (("optimizer_state", optimizer_state), ("history", history)):
        if not isinstance(value, dict):
            raise InputTypeError(f"save_checkpoint: {name} must be a dict, got {type(value).__name__}")
    tensors, metadata = _model_payload(model)
    metadata["format"] = CHECKPOINT_FORMAT
    optimizer_tensors: dict[str, np.ndarray] = {}
    encoded = _encode_state(dict(optimizer_state), optimizer_tensors, "optimizer_state")
    tensors.update(optimizer_tensors)
    metadata.update({
        "optimizer_state": json.dumps(encoded),
        "epoch": json.dumps(int(epoch)),
        "history": json.dumps(_json_value(dict(history), "history")),
        "rng_state": json.dumps(_json_value(rng_state, "rng_state")),
        "extra": json.dumps(_json_value(dict(extra or {}), "extra")),
    })
    metadata["sha256"] = _checksum(tensors, metadata)
    _write_atomic(path, tensors, metadata)
    return path


def load_checkpoint(path: str | os.PathLike, trusted: Iterable[type[Module] | str] | None = None) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint` (see :class:`Checkpoint`).

    Raises:
        FileNotFoundError: there is no such file.
        ValueError: the file is truncated, corrupted or tampered with, or does
            not hold a consistent checkpoint.

    """
    path = as_path(path, "a checkpoint file")
    tensors, metadata = _read(path)
    _check_header(path, metadata, CHECKPOINT_FORMAT)
    _verify(path, tensors, metadata)
    model_tensors = {name: array for name, array in tensors.items() if not name.startswith("optim/")}
    optimizer_tensors = {name: array for name, array in tensors.items() if name.startswith("optim/")}
    model = _model_from(path, model_tensors, metadata, trusted)
    state = _decode_state(_json_field(path, metadata, "optimizer_state"), optimizer_tensors, path)
    epoch = _json_field(path, metadata, "epoch")
    history = _json_field(path, metadata, "history")
    if not isinstance(epoch, int) or epoch < 0:
        raise ModelFileError(f"{path}: 'epoch' must be a non-negative integer, got {epoch!r}")
    if not isinstance(history, dict) or not all(isinstance(v, list) for v in history.values()):
        raise ModelFileError(f"{path}: 'history' must map metric names to lists")
    if not isinstance(state, dict):
        raise ModelFileError(f"{path}: 'optimizer_state' must be an object")
    return Checkpoint(model=model, optimizer_state=state, epoch=epoch, history=history,
                      rng_state=_json_field(path, metadata, "rng_state"),
                      extra=_json_field(path, metadata, "extra"))
