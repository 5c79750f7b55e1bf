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

from collections.abc import Callable
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict
from pydantic.main import IncEx

__all__ = ["UNKNOWN_TAG", "RawJSON", "UnknownMixin", "WireModel", "tag_of"]

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


def tag_of(key: str, known: frozenset[str]) -> Callable[[Any], str]:
    """A callable discriminator for an open union: unknown tags map to ``UNKNOWN_TAG``."""

    def discriminate(value: Any) -> str:
        if isinstance(value, dict):
            tag = value.get(key)
        else:
            tag = getattr(value, key, None)
            if getattr(value, "is_unknown", False) is True:
                return UNKNOWN_TAG
        # A tag that is not a string (``"type": {}``) is no known tag, never a crash.
        return tag if isinstance(tag, str) and tag in known else UNKNOWN_TAG

    return discriminate


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
