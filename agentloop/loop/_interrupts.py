"""Ctrl-C never lands halfway through a change of a conversation's state.

Python raises ``KeyboardInterrupt`` in the main thread at whatever bytecode runs when SIGINT
arrives. Between two effects the engine changes a conversation's state in several steps (a
tool's result added to history, its call closed, the record journaled): an interruption
between two of them would leave history saying a call that ran was never answered, and the
interruption path would then answer it "Not run". So the blocking driver advances the engine
through a :class:`Stepper`: while a turn is driven, a SIGINT arriving as engine code runs is
held, and delivered as soon as the engine yields its next effect, exactly as if it had arrived
when that effect began (every effect already handles an interruption). A second SIGINT while
one is held is raised at once: two Ctrl-C always stop (the engine runs library code, but some
of it calls user callables, e.g. output validators).

The handler is installed while a turn is driven in the main thread, only in place of Python's
own default handler (``signal.default_int_handler``), and behaves exactly like it outside
engine code; the default handler is put back when the last such turn ends. An application with
a SIGINT handler of its own keeps it (and gets no protection). Under a running event loop
nothing is installed: ``asyncio.run`` turns SIGINT into a cancellation, which only lands where
the engine awaits an effect.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from types import FrameType
from typing import Any

from .effects import Effect, Protocol

try:  # (the C function: ``signal.signal`` wraps it in enum conversions, 16x slower)
    from _signal import signal as _set_handler  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - not CPython
    _set_handler = signal.signal

__all__ = ["Stepper", "hold_interrupts"]

_SIGINT = int(signal.SIGINT)
_DEFAULT = signal.default_int_handler


class _Protection:
    """The main thread's protected depth, the SIGINT it holds, and the turns driven."""

    __slots__ = ("depth", "held", "turns")

    def __init__(self) -> None:
        self.depth = 0  # > 0 while engine code runs
        self.held = False
        self.turns = 0  # turns being driven (the handler is installed while > 0)

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if self.depth and not self.held:
            self.held = True  # delivered when the engine yields its next effect
            return
        self.held = False
        raise KeyboardInterrupt

    def take(self) -> bool:
        """Whether a SIGINT is held (to be delivered now); it is no longer held."""
        held, self.held = self.held, False
        return held

    def enter(self) -> bool:
        """Install the handler for one more turn; False when it cannot be (not the main
        thread, a running event loop, no signals, or a handler of the application's). Heals
        itself: a count left behind by an interrupted :meth:`leave` is reset."""
        if (
            threading.current_thread() is not threading.main_thread()
            or asyncio._get_running_loop() is not None
        ):
            return False
        try:
            previous = _set_handler(_SIGINT, self.handle)
        except (ValueError, OSError):  # (an embedded interpreter without signals)
            return False
        if previous is _DEFAULT:
            self.turns = 1  # (whatever a cut leave() left)
            return True
        if previous == self.handle:  # another turn is being driven
            self.turns += 1
            return True
        _set_handler(_SIGINT, previous)  # the application's: not ours to replace
        return False

    def leave(self) -> None:
        self.turns -= 1
        if self.turns <= 0:
            self.turns = 0
            try:
                previous = _set_handler(_SIGINT, _DEFAULT)
                if previous != self.handle:  # the application set its own meanwhile: keep it
                    _set_handler(_SIGINT, previous)
            except (TypeError, ValueError):  # (at interpreter exit: a stream left unfinished)
                pass


_PROTECTION = _Protection()
_MAIN = threading.main_thread().ident


class hold_interrupts:  # (lower case: used as a function, ``with hold_interrupts():``)
    """A SIGINT arriving inside is held too, while a turn is driven in the main thread (for a
    store write: a Ctrl-C after the store took the records, before the conversation noted the
    new version, would leave the two apart). It stays held on the way out: the driver delivers
    it when the engine yields its next effect."""

    __slots__ = ("on",)

    def __enter__(self) -> None:
        self.on = _PROTECTION.turns > 0 and threading.get_ident() == _MAIN
        if self.on:
            _PROTECTION.depth += 1

    def __exit__(self, *exc: object) -> None:
        if self.on:
            _PROTECTION.depth -= 1


class Stepper:
    """Advances a protocol (``send``/``throw``) with Ctrl-C held while it runs, when the
    handler could be installed; :meth:`close` when the turn's driving ends."""

    __slots__ = ("guard", "proto")

    def __init__(self, proto: Protocol) -> None:
        self.proto = proto
        self.guard = _PROTECTION if _PROTECTION.enter() else None

    def __call__(self, value: Any, error: BaseException | None) -> Effect:
        """The protocol's next effect (``StopIteration`` when it returns)."""
        proto, guard = self.proto, self.guard
        if guard is None:
            return proto.throw(error) if error is not None else proto.send(value)
        while True:
            guard.depth += 1
            try:
                effect = proto.throw(error) if error is not None else proto.send(value)
            except BaseException as exc:  # (StopIteration: the turn ended)
                guard.depth -= 1
                if not guard.depth and guard.take():
                    raise KeyboardInterrupt from (None if type(exc) is StopIteration else exc)
                raise
            guard.depth -= 1
            if guard.depth or not guard.take():
                return effect
            # As if it came as this effect began: the engine handles that at every effect.
            value, error = None, KeyboardInterrupt()

    def close(self) -> None:
        if self.guard is not None:
            self.guard = None
            _PROTECTION.leave()
