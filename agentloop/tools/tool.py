"""``@tool`` and ``Tool``: a Python function plus its function declaration, built once."""

from __future__ import annotations

import copy
import functools
import inspect
import logging
import re
import types
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Generic, TypeVar, Union, get_args, get_origin, overload

from pydantic import ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined, to_json, to_jsonable_python
from typing_extensions import ParamSpec

from agentloop.types import FunctionCallStep

from .context import ToolContext
from .docstrings import parse_docstring
from .errors import ArgumentsInvalidError, ToolDefinitionError, ToolSchemaError
from .schema import adapter_and_schema, copy_json, field_info_of

__all__ = ["ApprovalPolicy", "Tool", "tool"]

logger = logging.getLogger("agentloop.tools")

ApprovalPolicy = Callable[[FunctionCallStep, ToolContext[Any]], bool]
"""Decides per call whether it waits for approval: ``(call, ctx) -> bool``."""

P = ParamSpec("P")
R = TypeVar("R")

# Gemini function names: letters, digits, _ . : - ; at most 64; not starting with a digit.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:\-]{0,63}")
_MISSING: Any = object()
_MAX_INPUT_REPR = 80


class _Param:
    """One declared parameter: how to validate it and what to call with when it is absent."""

    __slots__ = (
        "adapter",
        "default",
        "factory",
        "has_description",
        "name",
        "positional",
        "schema",
        "validate",
    )

    def __init__(self, name: str, annotation: Any, default: Any, positional: bool) -> None:
        self.name = name
        self.positional = positional
        self.factory: Callable[[], Any] | None = None
        info: FieldInfo | None
        if isinstance(default, FieldInfo):  # ``x: int = Field(3, description=...)``
            info = default
            annotation = Annotated[annotation, info]
            default = _MISSING if info.default is PydanticUndefined else info.default
            if info.default_factory is not None:
                self.factory = info.default_factory  # type: ignore[assignment]
        else:
            info = field_info_of(annotation)
            if default is _MISSING and info is not None:
                if info.default is not PydanticUndefined:
                    default = info.default
                elif info.default_factory is not None:
                    self.factory = info.default_factory  # type: ignore[assignment]
        self.default = default
        self.has_description = info is not None and bool(info.description)
        self.adapter, self.schema = adapter_and_schema(annotation)
        # The adapter's core validator (built with the schema): what
        # ``adapter.validate_python(raw)`` calls, without its Python wrapper (~0.13 us a call).
        self.validate: Callable[[Any], Any] = self.adapter.validator.validate_python

    @property
    def required(self) -> bool:
        return self.default is _MISSING and self.factory is None

    def fill(self) -> Any:
        """The value to pass when the model left the argument out (``_MISSING``: let Python)."""
        if self.factory is not None:
            return self.factory()
        if self.positional or isinstance(self.default, FieldInfo):
            return self.default
        return _MISSING


def _is_context(annotation: Any) -> bool:
    if annotation is ToolContext or get_origin(annotation) is ToolContext:
        return True
    if get_origin(annotation) in (Union, types.UnionType):  # Optional[ToolContext]
        args = [a for a in get_args(annotation) if a is not type(None)]
        return len(args) == 1 and _is_context(args[0])
    return False


class Tool(Generic[P, R]):
    """A function the model can call: the original callable plus its declaration.

    Calls like the original function. Build one with ``@tool``. Attributes: ``name``,
    ``description``, ``parameters`` (JSON schema, built once), ``timeout`` (seconds or None),
    ``requires_approval`` (a bool, or a policy ``(call, ctx) -> bool``; ask
    :meth:`needs_approval`), ``idempotent`` (safe to run again after a crash), ``strict`` (no
    type coercion, ``additionalProperties: false``), ``is_async``; ``declaration()`` is the
    wire ``function`` tool object.
    """

    name: str
    description: str
    parameters: dict[str, Any]
    timeout: float | None
    requires_approval: bool | ApprovalPolicy
    idempotent: bool
    strict: bool
    is_async: bool
    #: The same call run again picks up its own earlier run (a sub-agent, a managed or remote
    #: agent: idempotent for that reason), while a *new* call starts afresh. The model is then
    #: never told that a call whose outcome is unknown is safe to make again.
    resumes: bool = False

    def __init__(
        self,
        function: Callable[P, R],
        *,
        name: str | None = None,
        description: str | None = None,
        timeout: float | None = None,
        requires_approval: bool | ApprovalPolicy = False,
        idempotent: bool = False,
        strict: bool = False,
    ) -> None:
        fn: Any = function
        if isinstance(fn, (staticmethod, classmethod)):
            self._binder: str | None = "class" if isinstance(fn, classmethod) else None
            fn = fn.__func__
        else:
            self._binder = None
        target = fn.func if isinstance(fn, functools.partial) else fn
        # A callable object's instance __dict__ must not be merged into the Tool's.
        functools.update_wrapper(
            self, target, updated=() if not inspect.isroutine(target) else functools.WRAPPER_UPDATES
        )
        self.__wrapped__ = fn
        self._fn: Callable[..., Any] = fn

        self.name = name if name is not None else _default_name(target)
        if not _NAME.fullmatch(self.name):
            raise ToolDefinitionError(
                f"Cannot declare tool {self.name!r}: a tool name must start with a letter or "
                "'_' and contain only letters, digits, '_', '.', ':' or '-' (at most 64); "
                "pass a valid one with @tool(name=...)."
            )
        bad = isinstance(timeout, bool) or not isinstance(timeout, (int, float, type(None)))
        if bad or (timeout is not None and not timeout > 0):
            raise ToolDefinitionError(
                f"Cannot declare tool {self.name!r}: timeout must be a positive number of "
                f"seconds or None, got {timeout!r}."
            )
        self.timeout = float(timeout) if timeout is not None else None
        if not isinstance(requires_approval, bool) and not callable(requires_approval):
            raise ToolDefinitionError(
                f"Cannot declare tool {self.name!r}: requires_approval must be True, False or "
                f"a policy function (call, ctx) -> bool, got {requires_approval!r}."
            )
        self.requires_approval = requires_approval
        self.idempotent = bool(idempotent)
        self.strict = strict
        self.is_async = _is_async(fn)
        # A decaying maximum of the seconds its sync calls took where they ran (None: not run
        # yet). The drivers let a batch's calls share a pool thread when all their tools are
        # quick; one slow call (e.g. waiting for another call) keeps it slow for a few calls.
        self._recent_seconds: float | None = None
        if inspect.isasyncgenfunction(fn) or inspect.isgeneratorfunction(fn):
            raise ToolDefinitionError(
                f"Cannot declare tool {self.name!r}: generator functions are not supported; "
                "return the collected values (e.g. a list) instead."
            )

        doc_text, doc_params = parse_docstring(inspect.getdoc(target))
        self.description = description if description is not None else doc_text
        self._params, self._context_params, self._method = self._inspect(fn, doc_params)
        self.parameters = self._build_parameters(doc_params)
        self._declaration: dict[str, Any] | None = None
        self._names = frozenset(p.name for p in self._params)

    # --- declaration ---------------------------------------------------------------------------

    def _fail(self, message: str) -> ToolDefinitionError:
        return ToolDefinitionError(f"Cannot declare tool {self.name!r}: {message}")

    def _inspect(
        self, fn: Callable[..., Any], doc_params: dict[str, str]
    ) -> tuple[tuple[_Param, ...], tuple[str, ...], bool]:
        try:
            signature = inspect.signature(fn, eval_str=True)
        except NameError as exc:
            raise self._fail(
                f"a type annotation cannot be resolved ({exc}); define the type at module "
                "level so it can be found by name."
            ) from exc
        except (TypeError, ValueError) as exc:
            raise self._fail(f"its signature cannot be read ({exc}).") from exc
        params: list[_Param] = []
        context: list[str] = []
        method = False
        for index, p in enumerate(signature.parameters.values()):
            if p.kind is p.VAR_POSITIONAL or p.kind is p.VAR_KEYWORD:
                star = "*" if p.kind is p.VAR_POSITIONAL else "**"
                raise self._fail(
                    f"parameter '{star}{p.name}' is variadic; tools take named parameters "
                    f"only (e.g. replace {star}{p.name} with {p.name}: list[str])."
                )
            if index == 0 and p.name in ("self", "cls") and p.annotation is p.empty:
                method = True  # bound later through the descriptor protocol
                continue
            if _is_context(p.annotation):
                context.append(p.name)
                continue
            if getattr(get_origin(p.annotation) or p.annotation, "__name__", "") == "RunContext":
                raise self._fail(
                    f"parameter '{p.name}' is a RunContext: that is what an agent's "
                    f"instructions callable gets; a tool gets the run as a ToolContext "
                    f"({p.name}: ToolContext, with .deps and .conversation)."
                )
            if p.annotation is p.empty:
                raise self._fail(
                    f"parameter '{p.name}' has no type annotation; annotate it "
                    f"(e.g. {p.name}: str)."
                )
            default = _MISSING if p.default is p.empty else p.default
            try:
                params.append(_Param(p.name, p.annotation, default, p.kind is p.POSITIONAL_ONLY))
            except ToolSchemaError as exc:
                raise self._fail(
                    f"parameter '{p.name}' has type {_type_name(p.annotation)} that cannot "
                    f"be declared: {exc}."
                ) from exc
        known = {p.name for p in params} | set(context) | {"self", "cls"}
        unknown = [name for name in doc_params if name not in known]
        if unknown:
            raise self._fail(
                f"the docstring documents parameter(s) {', '.join(map(repr, unknown))} that "
                f"the function does not have (parameters: "
                f"{', '.join(p.name for p in params) or 'none'}); fix the docstring."
            )
        return tuple(params), tuple(context), method

    def _build_parameters(self, doc_params: dict[str, str]) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        required: list[str] = []
        for param in self._params:
            schema = dict(param.schema)
            if not param.has_description and doc_params.get(param.name):
                schema["description"] = doc_params[param.name]  # beats a type's own docstring
            if param.required:
                required.append(param.name)
            elif param.factory is None and param.default is not _MISSING:
                try:
                    schema["default"] = to_jsonable_python(param.default)
                except Exception:  # a default the model cannot see is simply not shown
                    schema.pop("default", None)
            properties[param.name] = schema
        root: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            root["required"] = required
        if self.strict:
            root["additionalProperties"] = False
        result = copy_json(root)  # callers may mutate it; the cached parts stay intact
        assert isinstance(result, dict)
        return result

    def declaration(self) -> dict[str, Any]:
        """The wire ``function`` tool: ``{"type", "name", "description", "parameters"}``."""
        if self._declaration is None:
            decl: dict[str, Any] = {"type": "function", "name": self.name}
            if self.description:
                decl["description"] = self.description
            decl["parameters"] = self.parameters
            self._declaration = decl
        return self._declaration

    # --- calling -------------------------------------------------------------------------------

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        result: R = self._fn(*args, **kwargs)
        return result

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Tool[P, R]: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> Tool[..., R]: ...
    def __get__(self, obj: object | None, owner: type | None = None) -> Tool[..., R]:
        if not self._method:
            return self
        if self._binder == "class":
            target: object = owner if owner is not None else type(obj)
        elif obj is None:
            return self
        else:
            target = obj
        bound = copy.copy(self)
        bound._fn = types.MethodType(self._fn, target)
        bound._method = False
        bound.__dict__["__self__"] = target
        return bound

    @property
    def function(self) -> Callable[..., Any]:
        """The wrapped callable (bound, for a tool taken from an instance)."""
        return self._fn

    @property
    def needs_binding(self) -> bool:
        """True for a method taken from the class: it must be taken from an instance."""
        return self._method

    def needs_approval(self, call: FunctionCallStep, ctx: ToolContext[Any]) -> bool:
        """Whether ``call`` must wait for the user's approval before it runs.

        ``requires_approval=True``/``False`` answers for every call; a policy function is
        asked with the call (its raw, unvalidated ``arguments``) and the call's context. A
        policy that raises is treated as "ask the user" (and logged): failing safe.
        """
        policy = self.requires_approval
        if isinstance(policy, bool):
            return policy
        try:
            return bool(policy(call, ctx))
        except Exception:
            logger.warning(
                "the approval policy of tool %r raised; the call %s waits for approval",
                self.name,
                call.id,
                exc_info=True,
            )
            return True

    @property
    def context_parameters(self) -> tuple[str, ...]:
        """Names of the parameters that receive the ``ToolContext``."""
        return self._context_params

    def validate_arguments(
        self, arguments: Mapping[str, Any], context: ToolContext[Any] | None = None
    ) -> tuple[list[Any], dict[str, Any]]:
        """Validated ``(args, kwargs)`` to call the function with, or ``ArgumentsInvalidError``."""
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        problems: list[str] = []
        for param in self._params:
            value = _MISSING
            if param.name in arguments:
                raw = arguments[param.name]
                try:
                    if self.strict:  # JSON strictness: no coercion, yet "red" is a valid Enum
                        value = param.adapter.validate_json(to_json(raw), strict=True)
                    else:
                        value = param.validate(raw)
                except ValidationError as exc:
                    if raw is None and not param.required and not self.strict:
                        value = param.fill()  # models often send null for "not given"
                    else:
                        problems.extend(_describe(param.name, exc))
                        continue
            elif param.required:
                problems.append(f"{param.name}: Field required")
                continue
            else:
                value = param.fill()
            if value is _MISSING:
                continue
            if param.positional:
                args.append(value)
            else:
                kwargs[param.name] = value
        # An argument name the function does not take is an error the model must see, never
        # dropped: a model that misspells every argument would otherwise run the tool with
        # its defaults (``pay(0, 'default-account')``). (A tool cannot take ``**kwargs``.)
        for extra in arguments:
            if extra not in self._names:
                allowed = ", ".join(sorted(self._names)) or "none"
                problems.append(f"{extra}: Unexpected argument (parameters: {allowed})")
        if problems:
            raise ArgumentsInvalidError(problems)
        if context is not None:
            for name in self._context_params:
                kwargs[name] = context
        return args, kwargs

    def __repr__(self) -> str:
        return f"<Tool {self.name!r}{' async' if self.is_async else ''}>"


def _describe(name: str, exc: ValidationError) -> list[str]:
    problems: list[str] = []
    for error in exc.errors(include_url=False):
        loc = ".".join(str(part) for part in (name, *error["loc"]))
        text = f"{loc}: {error['msg']}"
        if error["type"] != "missing":
            shown = repr(error["input"])
            if len(shown) > _MAX_INPUT_REPR:
                shown = shown[: _MAX_INPUT_REPR - 3] + "..."
            text += f" (got {shown})"
        problems.append(text)
    return problems


def _default_name(fn: Any) -> str:
    name = getattr(fn, "__name__", None)
    if not isinstance(name, str):
        name = type(fn).__name__
    return name


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__qualname__
    return repr(annotation).replace("typing.", "")


def _is_async(fn: Any) -> bool:
    if inspect.iscoroutinefunction(fn):
        return True
    # an object with ``async def __call__``
    return not inspect.isroutine(fn) and inspect.iscoroutinefunction(type(fn).__call__)


@overload
def tool(function: Callable[P, R], /) -> Tool[P, R]: ...
@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    requires_approval: bool | ApprovalPolicy = False,
    idempotent: bool = False,
    strict: bool = False,
) -> Callable[[Callable[P, R]], Tool[P, R]]: ...
def tool(
    function: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    requires_approval: bool | ApprovalPolicy = False,
    idempotent: bool = False,
    strict: bool = False,
) -> Tool[P, R] | Callable[[Callable[P, R]], Tool[P, R]]:
    """Turn a function (sync or async, a method, or any callable) into a ``Tool``.

    Use it bare (``@tool``) or with options (``@tool(name="lookup", timeout=5)``). The
    description comes from the docstring and each parameter's from its docstring entry
    (Google, NumPy, reST or Epydoc) unless ``Field(description=...)`` gives one.

    ``requires_approval`` is ``True`` (every call waits for the user's approval), ``False``,
    or a policy ``(call: FunctionCallStep, ctx: ToolContext) -> bool`` deciding per call.
    ``idempotent=True`` marks a tool that is safe to run again for the same call (e.g. after a
    crash between running it and recording its result); the default is ``False``.
    """

    def decorate(fn: Callable[P, R]) -> Tool[P, R]:
        if isinstance(fn, Tool):
            fn = fn.function
        return Tool(
            fn,
            name=name,
            description=description,
            timeout=timeout,
            requires_approval=requires_approval,
            idempotent=idempotent,
            strict=strict,
        )

    if function is not None:
        return decorate(function)
    return decorate
