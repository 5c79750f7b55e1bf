"""The stop switch's context managers on their own (``running``, ``guard``, ``aguard``,
``call``, ``acall``): what each sets while inside and leaves behind, with and without a
``request`` meanwhile. ``test_cancel.py`` checks the same through whole turns."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from agentloop.loop.cancel import StopSwitch, cancelled_by_request


def test_running_counts_the_turn_and_the_last_one_out_resets_the_switch() -> None:
    stop = StopSwitch()
    assert stop.request() is False  # no turn runs
    first_wake = stop.wake
    with stop.running():
        assert stop.request() is True
        assert stop.requested and first_wake.done()
        with pytest.raises(asyncio.CancelledError) as caught:
            stop.check()
        assert cancelled_by_request(caught.value)
    assert stop.requested is False
    assert stop.wake is not first_wake and not stop.wake.done()  # a fresh signal
    assert stop.request() is False


def test_running_resets_after_an_exception_too() -> None:
    stop = StopSwitch()
    with pytest.raises(KeyError), stop.running():
        stop.request()
        raise KeyError("x")
    assert stop.requested is False and not stop.wake.done()


def test_guard_turns_a_failure_after_a_stop_into_the_cancellation() -> None:
    stop = StopSwitch()
    stream = object()
    with stop.running():
        with pytest.raises(ValueError), stop.guard(stream):  # no stop: the error as it is
            assert stop._closing is stream
            raise ValueError("plain")
        assert stop._closing is None
        with pytest.raises(asyncio.CancelledError) as caught, stop.guard(stream):
            stop.request()
            raise OSError("the stream was closed under its reader")
        assert cancelled_by_request(caught.value)
        assert isinstance(caught.value.__cause__, OSError)
        assert stop._closing is None
        with pytest.raises(asyncio.CancelledError), stop.guard():  # checked on the way in
            pytest.fail("a guard entered after the stop must not run its block")


def test_call_drops_a_result_returned_after_the_stop() -> None:
    stop = StopSwitch()

    class Stream:
        closed = False

        def close(self) -> None:
            self.closed = True

    opened = Stream()

    def create(**body: Any) -> Stream:
        stop.request()  # thrown while the request ran
        return opened

    with stop.running():
        assert stop.call(lambda **body: body, a=1) == {"a": 1}
        with pytest.raises(asyncio.CancelledError) as caught:
            stop.call(create, model="m")
        assert cancelled_by_request(caught.value) and opened.closed


def test_aguard_lets_request_cancel_the_current_task_only_while_inside() -> None:
    async def main() -> None:
        stop = StopSwitch()
        with stop.running():
            with stop.aguard():
                assert stop._task is not None and stop._task[0] is asyncio.current_task()
            assert stop._task is None
            with stop.aguard(close=object()):  # a stream is read: no task to cancel
                assert stop._task is None

            async def slow() -> str:
                await asyncio.sleep(10)
                return "late"

            asyncio.get_running_loop().call_later(0.01, stop.request)
            with pytest.raises(asyncio.CancelledError) as caught:
                await stop.acall(slow)
            assert cancelled_by_request(caught.value)
            assert stop._task is None
            with pytest.raises(asyncio.CancelledError):  # checked on the way in
                await stop.acall(slow)
        assert stop.requested is False

        async def quick(value: int) -> int:
            return value

        with stop.running():
            assert await stop.acall(quick, value=3) == 3

    asyncio.run(main())
