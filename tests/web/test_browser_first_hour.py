"""The chat page without dead ends, in a real headless Chromium against the emulator: stale
approval cards, failures that say what failed and survive a reload, no empty sessions, a
360 px layout (screenshot in docs/img), and the developer panel."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _http import serve
from test_browser import ROOT, Page, browser  # noqa: F401 - the module's browser fixture
from web_helpers import offline_app

from agentloop.testing import DemoModel, FunctionModel
from agentloop.testing._errors import ApiException

pytestmark = pytest.mark.slow


def _model() -> FunctionModel:
    """The demo model, except that a message saying "explode" fails the request (HTTP 400)."""
    demo = DemoModel()

    def answer(request: Any) -> Any:
        if "explode" in request.last_user_text.lower():
            raise ApiException(400, "the model refused this request (emulated)", "INVALID_ARGUMENT")
        return demo(request)

    return FunctionModel(answer)


@pytest.fixture
def page(browser: Any, tmp_path: Path) -> Iterator[Page]:  # noqa: F811
    with serve(offline_app(_model(), tmp_path / "web.db")) as base:
        yield Page(browser, base)


def _status(page: Page) -> str:
    return str(page.driver.execute_script("return document.getElementById('status').textContent"))


def test_a_new_message_retires_the_waiting_approval_card(page: Page) -> None:
    page.open()
    page.send("Please delete the file notes.txt")
    old = page.until_text(".tool-card", "needs your approval")
    page.idle()
    page.send("Never mind, hello")
    page.until_text(".msg.assistant", "You said: Never mind, hello")
    page.idle()
    assert not old.find_elements("css selector", "button")  # no live Approve/Reject
    # the run's TOOL_CALL_RESULT closes the card with what the model was told
    assert "did not approve this call before sending a new message" in old.text
    assert _status(page) == ""  # nothing stuck at "Working…"
    page.driver.refresh()  # after a reload the call shows what the model was told
    card = page.until_text(".tool-card", "delete_file")
    assert "did not approve" in card.text and not page.css("button.approve")


def test_an_error_clears_the_status_says_what_failed_and_survives_a_reload(page: Page) -> None:
    page.open()
    page.send("I have 2 dogs.")
    page.until_text(".msg.assistant", "I have 2 dogs")
    page.idle()
    page.send("Now explode please")
    note = page.until_text(".note.error", "The turn failed")
    page.idle()
    assert "the model refused this request" in note.text
    status = _status(page)
    assert status.startswith("The turn failed:") and "refused" in status
    assert "Working" not in status
    page.send("How many paws are in my house?")  # the conversation goes on
    page.until_text(".msg.assistant", "8 paws")
    page.idle()

    page.driver.refresh()
    failed = page.until_text(".msg.user.failed", "Now explode please")
    error = page.until_text(".note.error", "Failed:")
    assert "the model refused this request" in error.text
    texts = [e.text for e in page.css(".msg.user, .note.error")]
    order = [i for i, t in enumerate(texts) if "explode" in t or "refused" in t or "paws" in t]
    assert texts.index(failed.text) < texts.index(error.text) < order[-1]  # in its place
    # The failed exchange is no turn: edit-and-re-run is offered on the two real turns only.
    page.wait.until(lambda d: len(page.css(".msg.user .rerun")) == 2)
    assert not failed.find_elements("css selector", ".rerun")


def test_no_empty_sessions_in_the_sidebar(page: Page) -> None:
    from selenium.webdriver.support.ui import Select

    page.open()
    Select(page.css("#strategy")[0]).select_by_value("stateless")  # before any message
    assert "from the first message" in _status(page)
    assert _listing(page) == []  # choosing a strategy stores no session
    page.driver.refresh()  # the fresh session's address opens as a fresh session again
    page.wait.until(lambda d: _status(page) == "" and not page.css(".note"))
    assert _listing(page) == [] and not page.css("#sessions .session")
    Select(page.css("#strategy")[0]).select_by_value("stateless")
    page.send("Hello there")
    page.until_text(".msg.assistant", "Hello there")
    page.idle()
    page.until_text("#sessions .session", "Hello there")
    assert len(_listing(page)) == 1
    detail = page.driver.execute_script(
        "return fetch('/api/sessions/' + location.hash.slice(3)).then(r => r.json())"
    )
    assert detail["strategy"] == "stateless"  # the choice went with the first message


def _listing(page: Page) -> list[Any]:
    data = page.driver.execute_script("return fetch('/api/sessions').then(r => r.json())")
    return list(data["sessions"])


def test_the_page_fits_360_px_and_the_sessions_drawer_opens(page: Page, browser: Any) -> None:  # noqa: F811
    browser.set_window_size(360, 740)
    try:
        page.open()
        page.send("What is the weather in Oslo?")
        page.until_text(".msg.assistant", "get_weather returned")
        page.idle()
        page.send("Please delete the file notes.txt")
        page.until_text(".tool-card", "needs your approval")
        page.idle()
        width = page.driver.execute_script("return window.innerWidth")
        overflow = page.driver.execute_script(
            "return Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        )
        assert overflow <= width  # nothing sticks out sideways
        for selector in ("#send", "#input", "#dev-toggle", "#sessions-toggle", "button.approve"):
            box = page.driver.execute_script(
                "const r = document.querySelector(arguments[0]).getBoundingClientRect();"
                "return [r.left, r.right, r.width]",
                selector,
            )
            assert box[0] >= 0 and box[1] <= width and box[2] > 0, (selector, box, width)
        out = ROOT / "docs" / "img"
        out.mkdir(parents=True, exist_ok=True)
        assert page.driver.save_screenshot(str(out / "web-chat-360.png"))
        sidebar = page.css("#sidebar")[0]
        assert sidebar.rect["x"] + sidebar.rect["width"] <= 0  # a closed drawer
        page.css("#sessions-toggle")[0].click()
        page.wait.until(lambda d: page.css("#sidebar")[0].rect["x"] >= 0)
        page.until_text("#sessions .session", "What is the weather")
    finally:
        browser.set_window_size(1280, 860)
    assert (out / "web-chat-360.png").stat().st_size > 5_000


def test_the_developer_panel_shows_events_tool_calls_usage_and_interaction_ids(
    page: Page,
    browser: Any,  # noqa: F811
) -> None:
    page.open()
    assert page.css("#devpanel")[0].is_displayed() is False
    page.css("#dev-toggle")[0].click()
    assert page.css("#devpanel")[0].is_displayed()
    page.send("What is the weather in Oslo?")
    page.until_text(".msg.assistant", "get_weather returned")
    page.idle()
    tool = page.until_text("#dev-tools li", "get_weather")
    assert '{"city": "Oslo"}' in tool.text and '"temperature": 21' in tool.text
    assert " ms" in tool.text  # its timing
    interactions = page.css("#dev-interactions li")
    assert len(interactions) == 2  # one per model request of the turn
    statuses = [i.find_element("css selector", ".kind").text for i in interactions]
    assert statuses == ["requires_action", "completed"]  # the tool call, then the answer
    assert all(" in · " in i.text and " total" in i.text for i in interactions)
    ids = {i.find_element("css selector", "code").text for i in interactions}
    assert len(ids) == 2 and all(ids)
    state = page.css("#dev-state")[0].text
    assert "strategy stateful" in state and "model gemini-3.5-flash" in state
    assert "nothing waiting" in state
    usage = page.css("#dev-usage")[0].text
    assert "2 requests" in usage and "total tokens" in usage and "cost" in usage
    events = [e.text for e in page.css("#dev-events li")]
    for kind in ("RUN_STARTED", "TOOL_CALL_START", "TOOL_CALL_RESULT", "RUN_FINISHED"):
        assert any(kind in e for e in events), kind
    assert any("agentloop.interaction" in e for e in events)
    browser.set_window_size(1280, 1000)
    try:
        out = ROOT / "docs" / "img"
        assert page.driver.save_screenshot(str(out / "web-devpanel.png"))
    finally:
        browser.set_window_size(1280, 860)
    page.driver.refresh()  # open stays open; a reloaded session lists its calls from history
    page.until_text("#dev-tools li", "done (history)")
    assert page.css("#devpanel")[0].is_displayed()
    page.css("#dev-close")[0].click()
    assert not page.css("#devpanel")[0].is_displayed()
