"""The sessions API of time travel (no browser): re-run from a turn in a new branch, and the
branch tree the page's switcher draws."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient
from web_helpers import events_of, user_input

from agentloop.web import create_app

LOCAL = "http://127.0.0.1:8000"


def test_rerun_makes_a_branch_and_branches_lists_the_tree(tmp_path: Path) -> None:
    with TestClient(create_app(store=tmp_path / "web.db", emulator=True), base_url=LOCAL) as client:
        for n, text in enumerate(["I have 3 cats.", "I have 2 dogs."]):
            response = client.post("/agui", json=user_input("s1", text, run=f"r{n}"))
            assert events_of(response.text)[-1]["type"] == "RUN_FINISHED"
        tree = client.get("/api/sessions/s1/branches").json()
        assert [t["input_text"] for t in tree["turns"]] == ["I have 3 cats.", "I have 2 dogs."]
        assert [b["id"] for b in tree["branches"]] == ["s1"]

        branch = client.post("/api/sessions/s1/rerun", json={"turn": 1}).json()
        assert branch["id"] != "s1"
        client.post("/agui", json=user_input(branch["id"], "I have 1 dog.", run="r3"))
        titles = {s["id"]: s["title"] for s in client.get("/api/sessions").json()["sessions"]}
        assert titles == {"s1": "I have 3 cats.", branch["id"]: "I have 1 dog."}
        tree = client.get(f"/api/sessions/{branch['id']}/branches").json()
        assert tree["root"] == "s1" and tree["current"] == branch["id"]
        rows = [(b["id"], b["parent"], b["at"], b["kind"], b["depth"]) for b in tree["branches"]]
        assert rows == [("s1", None, None, None, 0), (branch["id"], "s1", 1, "replay", 1)]
        assert [t["input_text"] for t in tree["turns"]] == ["I have 3 cats.", "I have 1 dog."]
        original = client.get("/api/sessions/s1").json()
        assert [i["text"] for i in original["items"] if i["kind"] == "user"] == [
            "I have 3 cats.",
            "I have 2 dogs.",
        ]

        bad = client.post("/api/sessions/s1/rerun", json={"turn": 5})
        assert bad.status_code == 400 and "out of range" in bad.json()["error"]
        assert client.post("/api/sessions/s1/rerun", json={"turn": "x"}).status_code == 400
        assert client.post("/api/sessions/nope/rerun", json={"turn": 0}).status_code == 404
