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


def test_a_new_databases_queue_is_there_when_dbos_launches(tmp_path, monkeypatch) -> None:
    """DBOS's queue manager lists the queues at launch and then once a second: the worker's
    queue is registered before ``DBOS.launch()``, so a new database's first task does not wait
    for the next listing."""
    from agentloop.durable import TaskQueue
    from agentloop.durable._driver import QUEUE_NAME
    from agentloop.testing import Emulator

    queue = TaskQueue(tmp_path / "tasks.db", tools=[], client=Emulator().client())
    listed: list[list[str]] = []
    launch = dbos.DBOS.launch

    def spied_launch() -> None:
        listed.append([q.name for q in queue._client().list_queues()])
        launch()

    monkeypatch.setattr(dbos.DBOS, "launch", staticmethod(spied_launch))
    queue.start_worker()
    try:
        assert listed and QUEUE_NAME in listed[0]
        assert queue.submit("hello").result(timeout=30).status == "completed"
    finally:
        queue.stop()
        queue.close()
