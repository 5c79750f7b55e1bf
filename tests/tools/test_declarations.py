"""Declarations: a table of signatures and docstrings against the exact expected JSON."""

from __future__ import annotations

import dataclasses
import enum
import functools
import json
from typing import Annotated, Any, Literal, Optional, Union

import pydantic
import pytest
from _lazy import lazy_module
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from agentloop.tools import Tool, ToolContext, ToolDefinitionError, tool

# The official SDK, a test-only oracle (imported by the first test that checks against it).
genai_interactions = lazy_module("google.genai.interactions")
genai_types = lazy_module("google.genai.types")


@functools.cache
def sdk_tool() -> pydantic.TypeAdapter[Any]:
    return pydantic.TypeAdapter(genai_interactions.Tool)


def check_with_sdk(decl: dict[str, Any]) -> None:
    """The declaration is a valid SDK Tool, and its schema fits the documented JSON Schema
    subset (``google.genai.types.JSONSchema`` forbids any keyword outside it)."""
    parsed = sdk_tool().validate_python(decl)
    assert parsed.type == "function"
    assert parsed.name == decl["name"]
    assert parsed.parameters == decl["parameters"]
    genai_types.JSONSchema.model_validate(decl["parameters"])
    text = json.dumps(decl)
    assert "$ref" not in text and "$defs" not in text and '"title"' not in text


# --- types used by the table -------------------------------------------------------------------


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Address(BaseModel):
    """A postal address."""

    street: str
    zip_code: Annotated[str, Field(pattern=r"^\d{5}$", description="Five digits.")]


class Person(BaseModel):
    name: str
    age: int = Field(ge=0, le=150)
    address: Address
    tags: list[str] = []


@dataclasses.dataclass
class Point:
    x: float
    y: float = 0.0


class Options(TypedDict):
    verbose: bool
    level: int


class Node(BaseModel):
    value: int
    children: list[Node] = []


# --- the table ---------------------------------------------------------------------------------


def f_basic(city: str, days: int, ratio: float, flag: bool) -> None:
    """Basic scalars."""


def f_defaults(
    city: str,
    days: int = 3,
    unit: str = "c",
    note: Optional[str] = None,  # noqa: UP045
) -> None:
    """Defaults."""


def f_collections(
    names: list[str],
    pair: tuple[int, str],
    rest: tuple[int, ...],
    uniq: set[str],
    counts: dict[str, int],
) -> None:
    """Collections."""


def f_unions(
    a: Union[int, str],
    b: int | None,
    c: Optional[list[int]] = None,  # noqa: UP045
) -> None:
    """Unions."""


def f_literal_enum(
    mode: Literal["fast", "slow"],
    color: Color,
    prio: Priority = Priority.LOW,
    only: Literal["x"] = "x",
) -> None:
    """Literals and enums."""


def f_models(person: Person, point: Point, options: Options) -> None:
    """Nested models."""


def f_constraints(
    n: Annotated[int, Field(ge=1, le=10, description="How many.")],
    name: Annotated[str, Field(min_length=2, max_length=5)],
    items: Annotated[list[int], Field(min_length=1, max_length=3)],
    positive: Annotated[float, Field(gt=0)],
    step: Annotated[int, Field(multiple_of=5)] = 5,
    k: int = Field(7, description="Field as default."),
) -> None:
    """Constraints."""


def f_context(query: str, ctx: ToolContext) -> None:
    """Context is hidden."""


def f_empty() -> None:
    """No parameters."""


def f_google(city: str, days: int = 1) -> None:
    """Get the forecast.

    Looks the city up first.

    Args:
        city: Name of the city.
        days (int): Number of days.

    Returns:
        The forecast.

    Raises:
        ValueError: Unknown city.
    """


def f_numpy(city: str, days: int = 1) -> None:
    """Get the forecast.

    Parameters
    ----------
    city : str
        Name of the city.
    days : int, optional
        Number of days.

    Returns
    -------
    str
        The forecast.
    """


def f_rest(city: str, days: int = 1) -> None:
    """Get the forecast.

    :param city: Name of the city.
    :type city: str
    :param days: Number of days.
    :returns: The forecast.
    """


def f_epydoc(city: str, days: int = 1) -> None:
    """Get the forecast.

    @param city: Name of the city.
    @type city: str
    @param days: Number of days.
    @return: The forecast.
    """


def f_field_beats_doc(
    city: Annotated[str, Field(description="From Field.")], address: Address
) -> None:
    """Precedence.

    Args:
        city: From the docstring.
        address: Where to deliver.
    """


FORECAST = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "Name of the city."},
        "days": {"type": "integer", "description": "Number of days.", "default": 1},
    },
    "required": ["city"],
}

ADDRESS = {
    "type": "object",
    "description": "A postal address.",
    "properties": {
        "street": {"type": "string"},
        "zip_code": {"type": "string", "pattern": r"^\d{5}$", "description": "Five digits."},
    },
    "required": ["street", "zip_code"],
}

CASES: list[tuple[Any, str, dict[str, Any]]] = [
    (
        f_basic,
        "Basic scalars.",
        {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "days": {"type": "integer"},
                "ratio": {"type": "number"},
                "flag": {"type": "boolean"},
            },
            "required": ["city", "days", "ratio", "flag"],
        },
    ),
    (
        f_defaults,
        "Defaults.",
        {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "days": {"type": "integer", "default": 3},
                "unit": {"type": "string", "default": "c"},
                "note": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
            },
            "required": ["city"],
        },
    ),
    (
        f_collections,
        "Collections.",
        {
            "type": "object",
            "properties": {
                "names": {"type": "array", "items": {"type": "string"}},
                "pair": {
                    "type": "array",
                    "items": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
                    "minItems": 2,
                    "maxItems": 2,
                },
                "rest": {"type": "array", "items": {"type": "integer"}},
                "uniq": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
                "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
            },
            "required": ["names", "pair", "rest", "uniq", "counts"],
        },
    ),
    (
        f_unions,
        "Unions.",
        {
            "type": "object",
            "properties": {
                "a": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
                "b": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
                "c": {
                    "anyOf": [{"type": "array", "items": {"type": "integer"}}, {"type": "null"}],
                    "default": None,
                },
            },
            "required": ["a", "b"],
        },
    ),
    (
        f_literal_enum,
        "Literals and enums.",
        {
            "type": "object",
            "properties": {
                "mode": {"type": "string", "enum": ["fast", "slow"]},
                "color": {"type": "string", "enum": ["red", "green"]},
                "prio": {"type": "integer", "enum": [1, 2], "default": 1},
                "only": {"type": "string", "enum": ["x"], "default": "x"},
            },
            "required": ["mode", "color"],
        },
    ),
    (
        f_models,
        "Nested models.",
        {
            "type": "object",
            "properties": {
                "person": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "age": {"type": "integer", "minimum": 0, "maximum": 150},
                        "address": ADDRESS,
                        "tags": {"type": "array", "items": {"type": "string"}, "default": []},
                    },
                    "required": ["name", "age", "address"],
                },
                "point": {
                    "type": "object",
                    "properties": {
                        "x": {"type": "number"},
                        "y": {"type": "number", "default": 0.0},
                    },
                    "required": ["x"],
                },
                "options": {
                    "type": "object",
                    "properties": {"verbose": {"type": "boolean"}, "level": {"type": "integer"}},
                    "required": ["verbose", "level"],
                },
            },
            "required": ["person", "point", "options"],
        },
    ),
    (
        f_constraints,
        "Constraints.",
        {
            "type": "object",
            "properties": {
                "n": {"type": "integer", "minimum": 1, "maximum": 10, "description": "How many."},
                "name": {"type": "string", "minLength": 2, "maxLength": 5},
                "items": {
                    "type": "array",
                    "items": {"type": "integer"},
                    "minItems": 1,
                    "maxItems": 3,
                },
                "positive": {"type": "number", "description": "Must be > 0."},
                "step": {
                    "type": "integer",
                    "description": "Must be a multiple of 5.",
                    "default": 5,
                },
                "k": {"type": "integer", "description": "Field as default.", "default": 7},
            },
            "required": ["n", "name", "items", "positive"],
        },
    ),
    (
        f_context,
        "Context is hidden.",
        {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
    ),
    (f_empty, "No parameters.", {"type": "object", "properties": {}}),
    (f_google, "Get the forecast.\n\nLooks the city up first.", FORECAST),
    (f_numpy, "Get the forecast.", FORECAST),
    (f_rest, "Get the forecast.", FORECAST),
    (f_epydoc, "Get the forecast.", FORECAST),
    (
        f_field_beats_doc,
        "Precedence.",
        {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "From Field."},
                # the docstring entry beats the model's own docstring
                "address": {**ADDRESS, "description": "Where to deliver."},
            },
            "required": ["city", "address"],
        },
    ),
]


@pytest.mark.parametrize(
    ("fn", "description", "parameters"), CASES, ids=lambda v: getattr(v, "__name__", "")
)
def test_declaration_table(fn: Any, description: str, parameters: dict[str, Any]) -> None:
    t = tool(fn)
    decl = t.declaration()
    assert decl == {
        "type": "function",
        "name": fn.__name__,
        "description": description,
        "parameters": parameters,
    }
    assert t.parameters is decl["parameters"]
    assert t.declaration() is decl  # cached
    check_with_sdk(decl)


def test_strict_adds_additional_properties_false() -> None:
    t = tool(strict=True)(f_basic)
    assert t.strict is True
    assert t.parameters["additionalProperties"] is False
    check_with_sdk(t.declaration())


def test_options_override_name_and_description() -> None:
    t = tool(name="forecast", description="Custom.", timeout=2, requires_approval=True)(f_google)
    decl = t.declaration()
    assert decl["name"] == "forecast" and decl["description"] == "Custom."
    assert decl["parameters"] == FORECAST  # parameter docs still come from the docstring
    assert t.timeout == 2.0 and t.requires_approval is True and t.strict is False


def test_no_docstring_omits_description() -> None:
    def bare(x: int) -> int:
        return x

    assert tool(bare).declaration() == {
        "type": "function",
        "name": "bare",
        "parameters": {
            "type": "object",
            "properties": {"x": {"type": "integer"}},
            "required": ["x"],
        },
    }


def test_shared_types_do_not_leak_between_tools() -> None:
    first = tool(f_models)
    first.parameters["properties"]["person"]["properties"]["name"]["description"] = "mutated"
    second = tool(f_models)
    assert "description" not in second.parameters["properties"]["person"]["properties"]["name"]


def test_same_field_constraints_in_two_functions() -> None:
    def a(n: Annotated[int, Field(ge=1, description="A.")]) -> None: ...
    def b(n: Annotated[int, Field(ge=1, description="B.")]) -> None: ...

    assert tool(a).parameters["properties"]["n"]["description"] == "A."
    assert tool(b).parameters["properties"]["n"]["description"] == "B."


# --- decorator forms ---------------------------------------------------------------------------


def test_bare_and_called_forms_keep_the_function_callable() -> None:
    @tool
    def add(a: int, b: int) -> int:
        """Add."""
        return a + b

    @tool(name="mul")
    def multiply(a: int, b: int) -> int:
        return a * b

    assert isinstance(add, Tool) and add(2, 3) == 5 and add.__name__ == "add"
    assert add.__doc__ == "Add." and add.__wrapped__ is not None
    assert multiply.name == "mul" and multiply(2, 3) == 6
    assert add.is_async is False


async def test_async_function_tool() -> None:
    @tool
    async def fetch(url: str) -> str:
        """Fetch a URL."""
        return url.upper()

    assert fetch.is_async is True
    assert await fetch("x") == "X"
    assert fetch.parameters == {
        "type": "object",
        "properties": {"url": {"type": "string"}},
        "required": ["url"],
    }


class Shop:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    @tool
    def order(self, item: str, qty: int = 1) -> str:
        """Order an item.

        Args:
            item: What to order.
            qty: How many.
        """
        return f"{self.prefix}:{item}x{qty}"

    @tool
    @staticmethod
    def ping(msg: str) -> str:
        return msg

    @tool
    @classmethod
    def kind(cls, loud: bool = False) -> str:
        return cls.__name__.upper() if loud else cls.__name__


def test_method_tool_binds_and_hides_self() -> None:
    shop = Shop("s")
    bound = shop.order
    assert isinstance(bound, Tool)
    assert bound("apple", 2) == "s:apple x2".replace(" ", "")
    assert bound.parameters == {
        "type": "object",
        "properties": {
            "item": {"type": "string", "description": "What to order."},
            "qty": {"type": "integer", "description": "How many.", "default": 1},
        },
        "required": ["item"],
    }
    assert Shop.order.needs_binding and not bound.needs_binding
    assert Shop.order(shop, "pear") == "s:pearx1"
    assert Shop.ping("x") == "x" and Shop.ping.parameters["required"] == ["msg"]
    assert Shop.kind(loud=True) == "SHOP" and "cls" not in Shop.kind.parameters["properties"]


def test_callable_object_and_partial() -> None:
    import functools

    class Greeter:
        """Greet someone."""

        def __call__(self, name: str) -> str:
            return f"hi {name}"

    g = tool(Greeter())
    assert g.name == "Greeter" and g("bo") == "hi bo"
    assert g.parameters["required"] == ["name"]

    def power(base: int, exp: int) -> int:
        """Raise base to exp."""
        return int(base**exp)

    square = tool(name="square")(functools.partial(power, exp=2))
    assert square(3) == 9
    assert square.description == "Raise base to exp."
    assert square.parameters["properties"]["exp"]["default"] == 2


def test_positional_only_parameters() -> None:
    def f(a: int, /, b: int = 2) -> int:
        return a * 10 + b

    t = tool(f)
    args, kwargs = t.validate_arguments({"a": 1})
    assert t.function(*args, **kwargs) == 12


# --- definition errors -------------------------------------------------------------------------


def _varargs(*names: str) -> None: ...
def _kwargs(**opts: str) -> None: ...
def _untyped(x) -> None: ...  # type: ignore[no-untyped-def]
def _recursive(tree: Node) -> None: ...
def _documented_ghost(city: str) -> None:
    """Doc.

    Args:
        city: The city.
        country: Not a parameter.
    """


class NotAType:
    pass


def _opaque(x: NotAType) -> None: ...


@pytest.mark.parametrize(
    ("fn", "fragment"),
    [
        (_varargs, "parameter '*names' is variadic"),
        (_kwargs, "parameter '**opts' is variadic"),
        (_untyped, "parameter 'x' has no type annotation; annotate it (e.g. x: str)."),
        (_recursive, "type 'Node' is recursive"),
        (_documented_ghost, "documents parameter(s) 'country'"),
        (_opaque, "parameter 'x' has type NotAType that cannot be declared"),
    ],
)
def test_definition_errors_name_the_parameter(fn: Any, fragment: str) -> None:
    with pytest.raises(ToolDefinitionError) as info:
        tool(fn)
    message = str(info.value)
    assert message.startswith(f"Cannot declare tool '{fn.__name__}': ")
    assert fragment in message
    assert isinstance(info.value, ValueError)


def test_bad_names_and_timeouts() -> None:
    with pytest.raises(ToolDefinitionError, match="tool name must start"):
        tool(lambda x: x)
    with pytest.raises(ToolDefinitionError, match="timeout must be a positive"):
        tool(timeout=0)(f_empty)
    with pytest.raises(ToolDefinitionError, match="generator functions are not supported"):

        @tool
        def gen(n: int) -> Any:
            yield n


def test_unresolvable_forward_reference() -> None:
    def f(x: Missing) -> None: ...  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(ToolDefinitionError, match="cannot be resolved"):
        tool(f)
