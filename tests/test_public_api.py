"""The public surface stays in step: ``__all__``, the lazy table of ``agentloop``, the docstrings
and the API reference (``docs/reference.md``).

A public name is one listed in the ``__all__`` of a public module below. Every such name
exists, every public class, method, property and function has a docstring, type aliases and
constants have an attribute docstring, and the reference documents all of them and nothing
else (no internal module, no name outside an ``__all__``).
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import re
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import agentloop

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "reference.md"

PUBLIC_MODULES = [
    "agentloop",
    "agentloop.a2a",
    "agentloop.agents",
    "agentloop.client",
    "agentloop.durable",
    "agentloop.errors",
    "agentloop.evals",
    "agentloop.loop",
    "agentloop.loop.drive",
    "agentloop.loop.effects",
    "agentloop.loop.events",
    "agentloop.loop.hooks",
    "agentloop.mcp",
    "agentloop.observe",
    "agentloop.stores",
    "agentloop.testing",
    "agentloop.testing.recordings",
    "agentloop.tools",
    "agentloop.web",
    "agentloop.webhooks",
]

# Internals that once leaked into an ``__all__``: importable from their modules, never public.
INTERNALS = {
    "TurnEngine",
    "ConversationState",
    "History",
    "ModelView",
    "SSETranslator",
    "events_from_sse",
    "SSEDecoder",
    "observer_for",
    "HookSet",
}

# Members of public classes that are deliberately left out of the reference (documented
# in docs/reference.md's mkdocstrings options): the emulator's sans-I/O entry point.
UNLISTED_MEMBERS = {"agentloop.testing.emulator.Emulator.handle"}


def public_names(module_name: str) -> list[str]:
    return list(importlib.import_module(module_name).__all__)


def public_objects() -> list[tuple[str, Any]]:
    """(qualified name, object) of every name in a public ``__all__``, modules excluded."""
    out = []
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if not isinstance(obj, ModuleType):
                out.append((f"{module_name}.{name}", obj))
    return out


def _own_doc(cls: type) -> str | None:
    doc = cls.__dict__.get("__doc__")
    # dataclasses write "Name(field, ...)" as the doc of a class that has none
    if dataclasses.is_dataclass(cls) and doc and doc.startswith(f"{cls.__name__}("):
        return None
    return doc


def _members(cls: type) -> dict[str, Any]:
    """Public methods and properties of a class, its agentloop base classes' included."""
    found: dict[str, Any] = {}
    for base in reversed(cls.__mro__):
        if not base.__module__.startswith("agentloop"):
            continue
        for name, value in vars(base).items():
            if name.startswith("_"):
                continue
            if isinstance(value, (staticmethod, classmethod)):
                value = value.__func__
            if inspect.isfunction(value) or isinstance(value, property):
                found[name] = getattr(cls, name)
    return found


@cache
def _attribute_docs(file: Path) -> dict[str, str | None]:
    """Each top-level assignment's attribute docstring (the string after it; ``None`` when
    there is none) in one file, first assignment first. Only the strings are kept: the parsed
    trees (hundreds of thousands of objects) are dropped, so the garbage collector does not
    walk them for the rest of the run."""
    body = ast.parse(file.read_text(encoding="utf-8")).body
    docs: dict[str, str | None] = {}
    for node, after in zip(body, [*body[1:], None], strict=True):
        targets = (
            [t for t in node.targets if isinstance(t, ast.Name)]
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
            else []
        )
        doc = (
            after.value.value
            if isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
            else None
        )
        for target in targets:
            if isinstance(target, ast.Name):
                docs.setdefault(target.id, doc)
    return docs


def _attribute_doc(module_name: str, name: str) -> str | None:
    """The string after the first top-level assignment of ``name`` (an attribute docstring) in
    a module or, for a package, in the first of its modules (by path) that assigns it. Only the
    files that mention ``name`` are parsed (parsing the whole package for each name was most
    of this check's time)."""
    module = importlib.import_module(module_name)
    path = Path(module.__file__ or "")
    files = sorted(path.parent.rglob("*.py")) if path.name == "__init__.py" else [path]
    word = re.compile(rf"\b{re.escape(name)}\b")
    for file in files:
        if word.search(file.read_text(encoding="utf-8")):
            docs = _attribute_docs(file)
            if name in docs:
                return docs[name]
    return None


def undocumented() -> list[str]:
    """Every public name, method and property without a docstring."""
    missing: list[str] = []
    seen: set[int] = set()
    for qualname, obj in public_objects():
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        module_name, _, name = qualname.rpartition(".")
        if inspect.isclass(obj):
            if not _own_doc(obj):
                missing.append(qualname)
            for member_name, member in _members(obj).items():
                if f"{obj.__module__}.{obj.__qualname__}.{member_name}" in UNLISTED_MEMBERS:
                    continue
                if not inspect.getdoc(member):
                    missing.append(f"{qualname}.{member_name}")
        elif inspect.isfunction(obj):
            if not obj.__doc__:
                missing.append(qualname)
        elif not _attribute_doc(module_name, name):  # a constant or a type alias
            missing.append(qualname)
    return missing


def reference_targets() -> list[str]:
    return re.findall(r"^::: ([\w.]+)", REFERENCE.read_text(encoding="utf-8"), re.M)


def resolve(path: str) -> tuple[str, Any]:
    """The module that holds ``path`` and the object it names."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            module = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        obj: Any = module
        for part in parts[cut:]:
            obj = getattr(obj, part)
        return ".".join(parts[:cut]), obj
    raise AssertionError(f"{path} does not resolve")


# -- tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_name_in_all_exists(module_name: str) -> None:
    module = importlib.import_module(module_name)
    names = module.__all__
    assert len(names) == len(set(names)), f"{module_name}.__all__ lists a name twice"
    for name in names:
        assert hasattr(module, name), f"{module_name}.__all__ lists {name}, which is not there"


def test_lazy_table_and_all_agree() -> None:
    lazy = set(agentloop._EXPORTS)
    assert lazy | {"__version__"} == set(agentloop.__all__)
    for name, module_name in agentloop._EXPORTS.items():
        value = getattr(agentloop, name)
        module = importlib.import_module(module_name)
        expected = module if module_name == f"agentloop.{name}" else getattr(module, name)
        assert value is expected, name
    assert set(agentloop.__all__) <= set(dir(agentloop))


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_no_internals_in_all(module_name: str) -> None:
    leaked = INTERNALS & set(public_names(module_name))
    assert not leaked, f"{module_name}.__all__ exports internals: {sorted(leaked)}"
    assert not [n for n in public_names(module_name) if n.startswith("_") and n != "__version__"]


def test_every_public_name_has_a_docstring() -> None:
    missing = undocumented()
    assert not missing, "no docstring:\n" + "\n".join(missing)


def test_the_check_finds_a_missing_docstring() -> None:
    class Bare:
        def method(self) -> None:
            pass

    Bare.__module__ = "agentloop.fake"
    assert list(_members(Bare)) == ["method"] and not inspect.getdoc(Bare.method)
    assert _attribute_doc("agentloop.tools", "ToolContextFactory")
    assert _attribute_doc("agentloop.tools", "no_such_name") is None


@pytest.mark.parametrize("cls", [agentloop.Turn, agentloop.ToolCall, agentloop.ToolContext])
def test_dataclass_fields_are_documented(cls: type) -> None:
    doc = inspect.getdoc(cls) or ""
    assert "Attributes:" in doc, cls
    section = doc.split("Attributes:", 1)[1]
    for field in dataclasses.fields(cls):
        if not field.name.startswith("_"):
            assert re.search(rf"^\s+{field.name}\b.*:", section, re.M), (cls, field.name)


def test_reference_names_resolve_and_are_public() -> None:
    targets = reference_targets()
    assert targets
    for path in targets:
        module_name, obj = resolve(path)
        assert not any(part.startswith("_") for part in path.split(".")), path
        if isinstance(obj, ModuleType):
            assert module_name == path
            assert hasattr(obj, "__all__"), f"{path}: a documented module needs an __all__"
            continue
        holder = importlib.import_module(module_name)
        assert path.rsplit(".", 1)[1] in getattr(holder, "__all__", []), (
            f"{path} is documented but not in {module_name}.__all__"
        )


def test_reference_documents_every_public_name() -> None:
    documented: set[int] = set()
    for path in reference_targets():
        _, obj = resolve(path)
        documented.add(id(obj))
        if isinstance(obj, ModuleType):
            documented.update(id(getattr(obj, name)) for name in obj.__all__)
    missing = [
        qualname
        for qualname, obj in public_objects()
        if id(obj) not in documented and qualname != "agentloop.__version__"
    ]
    assert not missing, "public but not in docs/reference.md:\n" + "\n".join(missing)


def test_the_old_stream_event_name_is_gone() -> None:
    from agentloop import loop
    from agentloop.loop import events

    assert not hasattr(events, "ServerError") and not hasattr(loop, "ServerError")


def test_event_types_are_class_names_in_snake_case() -> None:
    from agentloop.loop import events

    classes = [getattr(events, name) for name in events.__all__]
    for cls in classes:
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()
        assert cls.type == snake, cls
    assert len({cls.type for cls in classes}) == len(classes)


def test_an_error_on_the_stream_is_a_stream_error_event() -> None:
    from agentloop.loop import StreamError
    from agentloop.loop.events import events_from_sse
    from agentloop.types import ApiError, ErrorEvent

    event = ErrorEvent(error=ApiError(code=503, message="overloaded"))
    [found] = events_from_sse(event, "int_1")
    assert isinstance(found, StreamError) and found.type == "stream_error"
    assert (found.code, found.message) == (503, "overloaded")
