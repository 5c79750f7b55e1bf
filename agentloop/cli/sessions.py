"""``agentloop sessions [list|show|delete]``: the saved sessions of ``chat`` and ``serve``."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from ._common import UsageError, plural
from ._render import branch_lines, step_line, turn_line

__all__ = ["run_sessions"]


def _when(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp)) if stamp else "-"


def _list(sessions: Any, as_json: bool) -> int:
    infos = sessions.list()
    if as_json:
        rows = [
            {"id": i.id, "updated": i.updated, "title": i.meta.get("title") or "", "meta": i.meta}
            for i in infos
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    if not infos:
        print(f"no sessions in {sessions.where}")
        return 0
    print(f"{plural(len(infos), 'session')} in {sessions.where} (newest first):")
    width = max(len(i.id) for i in infos)
    for info in infos:
        steps = sessions.steps(info.id)
        title = info.meta.get("title") or ""
        if info.parent:
            title = f"{title}  (branch of {info.parent})"
        line = f"  {info.id:<{width}}  {_when(info.updated)}  {plural(steps, 'step'):>9}  {title}"
        print(line.rstrip())
    return 0


def _show(sessions: Any, ids: list[str], as_json: bool) -> int:
    for id in ids:
        conv = sessions.load(id, client=None)
        meta = sessions.meta(id)
        root, children = sessions.family(id)
        if as_json:
            tree = {
                "root": root,
                "children": {
                    parent or "": [info.id for info in kids] for parent, kids in children.items()
                },
            }
            data = {**conv.to_dict(), "meta": meta, "branches": tree}
            print(json.dumps(data, indent=2, ensure_ascii=False))
            continue
        history = conv.history
        tools = ", ".join(sessions.tool_names(id)) or "none"
        print(
            f"session {id!r}: model {conv.model or conv.agent}, strategy "
            f"{conv.strategy}, tools: {tools}, {plural(len(history), 'step')}, "
            f"updated {_when(float(meta.get('updated') or 0))}"
        )
        for i, step in enumerate(history):
            print(step_line(i, step))
        turns = conv.turns
        print(f"{plural(len(turns), 'turn')}:")
        for info in turns:
            print(turn_line(info))
        rewinds = _rewinds(sessions, id)
        if rewinds:
            print(f"rewound {plural(rewinds, 'time')}: the turns left are kept in the journal")
        print("branches:")
        for line in branch_lines(root, children, current=id):
            print(f"  {line}")
    return 0


def _rewinds(sessions: Any, id: str) -> int:
    """How many times session ``id`` was rewound (its journal's ``rewind`` records)."""
    return sum(1 for r in sessions.store.read(id).records if r.startswith('{"k":"rewind"'))


def run_sessions(args: argparse.Namespace) -> int:
    from agentloop.stores.sessions import open_sessions

    if args.action in ("show", "delete") and not args.ids:
        raise UsageError(f"sessions {args.action} needs at least one session ID")
    if args.action == "list" and args.ids:
        raise UsageError("sessions list takes no ID; use sessions show ID")
    sessions = open_sessions(args.store)
    try:
        missing = [i for i in args.ids if i not in sessions]
        if missing:
            known = ", ".join(i.id for i in sessions.list()[:10]) or "none"
            raise UsageError(f"no session {missing[0]!r} in {sessions.where} (known: {known})")
        if args.action == "show":
            return _show(sessions, args.ids, args.json)
        if args.action == "delete":
            for id in args.ids:
                sessions.delete(id)
            print(f"deleted {plural(len(args.ids), 'session')}: {', '.join(args.ids)}")
            return 0
        return _list(sessions, args.json)
    finally:
        sessions.close()
