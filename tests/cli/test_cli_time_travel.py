"""``agentloop chat`` /turns, /fork, /rewind, /branches and ``sessions show`` drawing the
branch tree."""

from __future__ import annotations

import json

from cli_helpers import CLI


def test_chat_forks_rewinds_and_draws_the_branches(cli: CLI) -> None:
    script = [
        "I have 2 dogs in my house.",
        "I have 3 cats too.",
        "/turns",
        "/fork 0",
        "How many paws are in my house?",
        "/turns",
        "/branches",
        "/fork x",
        "/fork 9",
        "/rewind",
        "/turns",
        "/branches pets",
        "/turns",
    ]
    proc = cli("chat", "--session", "pets", stdin="\n".join(script) + "\n")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "2 turns in session 'pets':" in out
    assert "new branch 'pets-fork1' from 'pets' at turn 0 (session 'pets' is kept)" in out
    assert "8 paws" in out  # the fork never had the cats
    assert "2 turns in session 'pets-fork1':" in out
    lines = out.splitlines()
    tree = lines.index("  pets  I have 2 dogs in my house.")
    assert lines[tree + 1].startswith("  └─ pets-fork1  (forked at turn 0 of pets)")
    assert lines[tree + 1].endswith("<- here")
    assert "error: 'x' is not a turn number; use /fork N (see /turns)" in out
    assert "error: at=9 is out of range: the conversation has 2 turn(s)" in out
    assert "went back to 1 turn" in out
    assert "switched to session 'pets' (2 turns)" in out

    listing = cli("sessions").stdout
    assert "I have 2 dogs in my house.  (branch of pets)" in listing

    shown = cli("sessions", "show", "pets")
    assert shown.returncode == 0, shown.stderr
    assert "2 turns:" in shown.stdout
    assert "branches:\n  pets  I have 2 dogs in my house.  <- here\n" in shown.stdout
    assert "  └─ pets-fork1  (forked at turn 0 of pets)" in shown.stdout
    fork = cli("sessions", "show", "pets-fork1")
    assert "rewound 1 time: the turns left are kept in the journal" in fork.stdout
    assert "1 turn:" in fork.stdout
    data = json.loads(cli("sessions", "show", "pets-fork1", "--json").stdout)
    assert data["branches"] == {"root": "pets", "children": {"": ["pets"], "pets": ["pets-fork1"]}}
    assert data["meta"]["title"] == "I have 2 dogs in my house."
