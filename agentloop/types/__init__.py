"""Pydantic models of the Interactions API wire format (API revision ``2026-05-20``).

Every model keeps unknown keys, every polymorphic field keeps unknown variants as
``Unknown*`` models, and dumping yields exactly the keys that were received or set.
"""

from ._base import RawJSON, WireModel
from ._encode import encode_json, encode_step
from .config import *  # noqa: F403
from .config import __all__ as _config_all
from .content import *  # noqa: F403
from .content import __all__ as _content_all
from .events import *  # noqa: F403
from .events import __all__ as _events_all
from .interaction import *  # noqa: F403
from .interaction import __all__ as _interaction_all
from .requests import *  # noqa: F403
from .requests import __all__ as _requests_all
from .steps import *  # noqa: F403
from .steps import __all__ as _steps_all
from .tools import *  # noqa: F403
from .tools import __all__ as _tools_all
from .values import *  # noqa: F403
from .values import __all__ as _values_all

__all__ = [
    "RawJSON",
    "WireModel",
    "encode_json",
    "encode_step",
    *_config_all,
    *_content_all,
    *_events_all,
    *_interaction_all,
    *_requests_all,
    *_steps_all,
    *_tools_all,
    *_values_all,
]
