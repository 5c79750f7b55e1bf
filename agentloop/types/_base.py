"""The base of every wire model.

Two rules from the spec drive this module:

* Readers keep what they do not know. Every model allows extra keys, and every polymorphic
  field has an ``Unknown*`` variant that stores the object as received.
* Dumping never invents keys. ``model_dump``/``model_dump_json`` default to ``by_alias=True``
  and ``exclude_unset=True`` so a model re-serialises to the keys it was given; the ``type``
  (or ``event_type``) discriminator of an object built in Python counts as set.
* Dumping is fast: ``serialize_as_any=True`` by default, so each nested object is written by its
  own serializer rather than through the open union's Python discriminator (same output).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler, Tag, ValidationError
from pydantic.main import IncEx
from pydantic_core import ErrorDetails, PydanticCustomError, core_schema

__all__ = ["UNKNOWN_TAG", "OpenUnion", "RawJSON", "UnknownMixin", "WireModel", "wire_errors"]

UNKNOWN_TAG = "__unknown__"


class WireModel(BaseModel):
    """A model of an object that travels over the wire."""

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
        protected_namespaces=(),
        arbitrary_types_allowed=False,
        ser_json_bytes="base64",
        val_json_bytes="base64",
    )

    # Discriminators (``type``/``event_type``) with a default, per class. Objects built in
    # Python get them as if passed explicitly, so they are dumped; objects validated from the
    # wire keep exactly the keys they arrived with. Doing this in ``__init__`` rather than in
    # ``model_post_init`` keeps validation free of a Python call per object (~35% faster).
    _dump_defaults: ClassVar[tuple[tuple[str, Any], ...]] = ()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._dump_defaults = tuple(
            (key, field.default)
            for key, field in cls.model_fields.items()
            if key in ("type", "event_type") and isinstance(field.default, str)
        )

    def __init__(self, /, **data: Any) -> None:
        for key, default in self._dump_defaults:
            if key not in data:
                data[key] = default
        super().__init__(**data)

    # Tell pydantic this is not a custom ``__init__``: validation (``model_validate*``, nested
    # models) must not route every object through it. Only Python construction needs it.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    def model_dump(
        self,
        *,
        mode: Literal["json", "python"] | str = "python",
        include: IncEx | None = None,
        exclude: IncEx | None = None,
        context: Any | None = None,
        by_alias: bool | None = True,
        exclude_unset: bool = True,
        exclude_defaults: bool = False,
        exclude_none: bool = False,
        round_trip: bool = False,
        warnings: bool | Literal["none", "warn", "error"] = True,
        serialize_as_any: bool = True,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Dump to the wire shape: aliases, and only the keys received or set."""
        return super().model_dump(
            mode=mode,
            include=include,
            exclude=exclude,
            context=context,
            by_alias=by_alias,
            exclude_unset=exclude_unset,
            exclude_defaults=exclude_defaults,
            exclude_none=exclude_none,
            round_trip=round_trip,
            warnings=warnings,
            serialize_as_any=serialize_as_any,
            **kwargs,
        )

    def model_dump_json(
        self,
        *,
        indent: int | None = None,
        include: IncEx | None = None,
        exclude: IncEx | None = None,
        context: Any | None = None,
        by_alias: bool | None = True,
        exclude_unset: bool = True,
        exclude_defaults: bool = False,
        exclude_none: bool = False,
        round_trip: bool = False,
        warnings: bool | Literal["none", "warn", "error"] = True,
        serialize_as_any: bool = True,
        **kwargs: Any,
    ) -> str:
        """Dump to wire JSON: aliases, and only the keys received or set."""
        return super().model_dump_json(
            indent=indent,
            include=include,
            exclude=exclude,
            context=context,
            by_alias=by_alias,
            exclude_unset=exclude_unset,
            exclude_defaults=exclude_defaults,
            exclude_none=exclude_none,
            round_trip=round_trip,
            warnings=warnings,
            serialize_as_any=serialize_as_any,
            **kwargs,
        )

    def __repr_args__(self) -> Any:
        # Show what the object holds, not a wall of ``None`` defaults.
        for key, value in super().__repr_args__():
            if value is not None:
                yield key, value

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready wire dict of this object."""
        return self.model_dump(mode="json")


class UnknownMixin:
    """Shared behaviour of the ``Unknown*`` variants of open unions."""

    is_unknown: ClassVar[bool] = True

    @property
    def raw(self) -> dict[str, Any]:
        """The object exactly as received (a JSON-ready dict)."""
        assert isinstance(self, WireModel)
        return self.model_dump(mode="json")


class OpenUnion:
    """``Annotated`` metadata making a union of ``Annotated[Model, Tag(tag)]`` members *open*:
    the member tagged ``UNKNOWN_TAG`` takes every object whose ``key`` is no known tag.

    Validation stays in Rust: a union discriminated by the ``key`` field (pydantic's own
    tagged union, which reads the key straight from JSON), then the unknown member. A Python
    discriminator would turn every JSON object into a dict and call back into Python per
    object (~0.4 µs each, several per event or step). The unknown member refuses known
    tags, so an invalid object of a known type is an error, never an unknown object.
    """

    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        self.key = key

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        known: dict[Hashable, core_schema.CoreSchema] = {}
        unknown: Any = None
        for member in get_args(source):
            model, tag = get_args(member)[0], _tag(member)
            if tag == UNKNOWN_TAG:
                unknown = model
            else:
                known[tag] = handler.generate_schema(model)
        assert unknown is not None, "an open union needs an Unknown* member"
        key = self.key

        def refuse_known(value: Any) -> Any:
            # Reached only when the tagged union failed: unknown tags, or invalid known objects.
            tag = value.get(key) if isinstance(value, dict) else None
            if isinstance(tag, str) and tag in known:
                raise PydanticCustomError(
                    _KNOWN_TAG,
                    "not an unknown object: {key} '{tag}' is known (see its own error)",
                    {"key": key, "tag": tag},
                )
            return value

        return core_schema.union_schema(
            [
                (core_schema.tagged_union_schema(known, key), _KNOWN),
                (
                    core_schema.no_info_before_validator_function(
                        refuse_known, handler.generate_schema(unknown)
                    ),
                    unknown.__name__,
                ),
            ],
            mode="left_to_right",
        )


_KNOWN = "known"  # the location part naming an open union's known branch
_KNOWN_TAG = "known_tag"  # the error type of the unknown member refusing a known tag


def wire_errors(exc: ValidationError) -> list[ErrorDetails]:
    """``exc.errors()`` as a reader wants them: without the unknown members' refusals of known
    tags (each repeats an error that is listed) and without the open unions' ``known`` branch
    in locations (``steps.0.function_call.arguments``)."""
    out: list[ErrorDetails] = []
    for error in exc.errors(include_url=False):
        if error["type"] != _KNOWN_TAG:
            error["loc"] = tuple(part for part in error["loc"] if part != _KNOWN)
            out.append(error)
    return out


def _tag(member: Any) -> str:
    for meta in get_args(member)[1:]:
        if isinstance(meta, Tag):
            return meta.tag
    raise TypeError(f"open union member {member!r} has no Tag(...)")


class RawJSON:
    """A JSON value already encoded to bytes, spliced verbatim into a request body.

    The conversation history keeps every step's wire encoding from the moment it was
    received, so a stateless turn resends history without re-serialising it.
    """

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __repr__(self) -> str:
        return f"RawJSON({self.data[:60]!r}{'...' if len(self.data) > 60 else ''})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RawJSON) and other.data == self.data

    def __hash__(self) -> int:
        return hash(self.data)
