"""``agentloop sessions [list|show|delete|search]``: the sessions of ``chat`` and ``serve``."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
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


def _updated(sessions: Any, id: str) -> float:
    """When the store last wrote session ``id`` (a session no chat saved app meta for)."""
    return next((info.updated for info in sessions.list() if info.id == id), 0.0)


def _show(sessions: Any, ids: list[str], as_json: bool) -> int:
    for id in ids:
        conv = sessions.inspect(id)
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
            f"updated {_when(float(meta.get('updated') or _updated(sessions, id)))}"
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


def _step_text(step: Any) -> tuple[str, str]:
    """(who, text) of a step a search looks in: user messages and model answers."""
    kind = getattr(step, "type", None)
    if kind == "user_input":
        from agentloop.testing.models import text_of_user_input

        return "you", text_of_user_input(step)
    if kind == "model_output":
        blocks = getattr(step, "content", None) or []
        return "model", " ".join(getattr(b, "text", "") or "" for b in blocks)
    return "", ""


def _search(sessions: Any, words: list[str], as_json: bool) -> int:
    """Sessions whose messages contain TEXT (case-insensitive), newest first, with the lines."""
    needle = " ".join(words).strip()
    if not needle:
        raise UsageError("sessions search needs the TEXT to look for")
    lowered = needle.lower()
    found: list[dict[str, Any]] = []
    for info in sessions.list():
        title = str(info.meta.get("title") or "")
        hits = []
        for i, step in enumerate(sessions.inspect(info.id).history):
            who, text = _step_text(step)
            at = text.lower().find(lowered)
            if who and at >= 0:
                hits.append({"step": i, "who": who, "text": _snippet(text, at, len(needle))})
        if hits or lowered in title.lower():
            found.append({"id": info.id, "updated": info.updated, "title": title, "hits": hits})
    if as_json:
        print(json.dumps(found, indent=2, ensure_ascii=False))
        return 0 if found else 1
    if not found:
        print(f"no session mentions {needle!r} in {sessions.where}")
        return 1
    verb = "mentions" if len(found) == 1 else "mention"
    print(f"{plural(len(found), 'session')} {verb} {needle!r} (newest first):")
    for row in found:
        print(f"  {row['id']}  {_when(row['updated'])}  {row['title']}".rstrip())
        for hit in row["hits"][:5]:
            print(f"    [{hit['step']}] {hit['who']}: {hit['text']}")
        if len(row["hits"]) > 5:
            print(f"    ... {len(row['hits']) - 5} more")
    print("open one with: agentloop sessions show ID (or agentloop chat --session ID)")
    return 0


def _rewinds(sessions: Any, id: str) -> int:
    """How many times session ``id`` was rewound (its journal's ``rewind`` records)."""
    return sum(1 for r in sessions.store.read(id).records if r.startswith('{"k":"rewind"'))


def _no_store_file(store: Any) -> Path | None:
    """``--store PATH`` naming a SQLite file that does not exist (reading it must not make
    one, nor its folders: a mistyped path would look like an empty store)."""
    if not isinstance(store, str) or ("://" in store and not store.startswith("sqlite:///")):
        return None
    path = Path(store[len("sqlite:///") :] if store.startswith("sqlite:///") else store)
    return None if path.exists() else path


def _snippet(text: str, at: int, size: int) -> str:
    """The words around ``text[at:at + size]`` (cut at word edges; ``…`` where text was left
    out), on one line."""
    start, end = max(0, at - 30), min(len(text), at + size + 50)
    if start > 0:
        space = text.find(" ", start, at)
        start = space + 1 if space >= 0 else start
    if end < len(text):
        space = text.rfind(" ", at + size, end)
        end = space if space >= 0 else end
    middle = " ".join(text[start:end].split())
    return ("…" if start > 0 else "") + middle + ("…" if end < len(text) else "")


def run_sessions(args: argparse.Namespace) -> int:
    from agentloop.stores.sessions import open_sessions

    missing_store = _no_store_file(args.store)
    if missing_store is not None:
        if args.action in ("list", "search") and not (args.action == "list" and args.ids):
            if getattr(args, "json", False):
                print("[]")  # (a script reads JSON: no sessions)
            else:
                print(f"no sessions in {missing_store} (there is no such file)")
            return 0 if args.action == "list" else 1
        if args.ids:
            raise UsageError(f"no session {args.ids[0]!r}: there is no file {missing_store}")
    if args.action == "search":
        sessions = open_sessions(args.store)
        try:
            return _search(sessions, args.ids, args.json)
        finally:
            sessions.close()
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
