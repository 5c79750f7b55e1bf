"""The one private DBOS call agentloop makes, pinned (issue 21): ``dbos`` is held below its
next major in pyproject.toml, and this contract says what the worker relies on, so an upgrade
that changes it fails here rather than in a worker's recovery."""

from __future__ import annotations

import inspect

from _lazy import lazy_module, require

require("dbos")
dbos = lazy_module("dbos")  # imported by the test that reads it, not at collection


def test_recover_pending_workflows_takes_a_list_of_executor_ids() -> None:
    """``TaskQueue.start_worker(recover_from=[...])`` hands dead workers' pending workflows
    to this process with ``DBOS._recover_pending_workflows(ids)``."""
    method = dbos.DBOS._recover_pending_workflows
    params = list(inspect.signature(method).parameters.values())
    assert [p.name for p in params] == ["executor_ids"]
    assert params[0].kind in (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    )
    assert isinstance(inspect.getattr_static(dbos.DBOS, "_recover_pending_workflows"), classmethod)


def test_the_pin_is_below_the_next_major() -> None:
    from importlib.metadata import version

    major = int(version("dbos").split(".")[0])
    assert major == 3, "agentloop[durable] pins dbos<4; update the contract above first"
