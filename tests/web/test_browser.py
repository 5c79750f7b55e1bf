"""The chat page in a real headless Chromium (Debian's, never downloaded) against the emulator."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _http import serve
from web_helpers import Gate, delete_file, get_weather, offline_app, show_snippet

from agentloop.testing import DemoModel, Emulator, FunctionModel
from agentloop.web import create_app
from tests._services import chromium_path, unavailable

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
WAIT = 20

MARKDOWN = (
    "Here is a **short** plan:\n\n"
    "1. Check the weather with `get_weather`\n"
    "2. Ask before deleting anything\n\n"
    "```python\nprint('hello')\n```\n"
    "Docs: [agentloop](https://example.org/docs) and [bad](javascript:alert(1)) "
    '<img src=x onerror="window.pwned = 3"> <script>window.pwned = 4</script>'
)


def _markdown_model() -> FunctionModel:
    demo = DemoModel()

    def answer(request: Any) -> Any:
        if "markdown" in request.last_user_text.lower():
            return MARKDOWN
        return demo(request)

    return FunctionModel(answer)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    binary = chromium_path()
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    if not Path(driver_path).is_file():
        unavailable("no chromedriver (apt-get install chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="agentloop-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--window-size=1280,860",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


class Page:
    """The chat page, as a person uses it."""

    def __init__(self, driver: Any, base: str) -> None:
        from selenium.common.exceptions import StaleElementReferenceException
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver = driver
        self.base = base
        # The page redraws lists and messages: a stale element is looked up again.
        self.wait = WebDriverWait(driver, WAIT, ignored_exceptions=[StaleElementReferenceException])

    def open(self, fragment: str = "") -> None:
        self.driver.get(self.base + "/" + fragment)
        self.wait.until(
            lambda d: d.execute_script(
                "return document.getElementById('backend-note').hidden === false"
            )
        )

    def css(self, selector: str) -> list[Any]:
        from selenium.webdriver.common.by import By

        return list(self.driver.find_elements(By.CSS_SELECTOR, selector))

    def send(self, text: str) -> None:
        from selenium.webdriver.common.keys import Keys

        box = self.css("#input")[0]
        box.click()
        box.send_keys(text)
        box.send_keys(Keys.ENTER)

    def until_text(self, selector: str, needle: str) -> Any:
        def found(_: Any) -> Any:
            for element in self.css(selector):
                if needle in element.text:
                    return element
            return False

        return self.wait.until(found, f"no {selector} containing {needle!r}")

    def idle(self) -> None:
        self.wait.until(
            lambda d: d.execute_script("return document.getElementById('send').disabled === false")
        )

    def session_id(self) -> str:
        fragment: str = self.driver.execute_script("return location.hash")
        return fragment.removeprefix("#s=")


@pytest.fixture
def page(browser: Any, tmp_path: Path) -> Iterator[Page]:
    app = create_app(
        emulator=True, tools=[get_weather, delete_file, show_snippet], store=tmp_path / "web.db"
    )
    with serve(app) as base:
        yield Page(browser, base)


def test_send_a_message_and_see_streamed_text_and_a_tool_card(page: Page) -> None:
    page.open()
    assert "emulator" in page.css("#backend-note")[0].text  # says it runs offline
    page.driver.execute_script("""
        window.__renders = 0;
        new MutationObserver((list) => {
          for (const m of list) {
            const msg = m.target.closest ? m.target.closest('.msg.assistant') :
              m.target.parentElement && m.target.parentElement.closest('.msg.assistant');
            if (msg) window.__renders++;
          }
        }).observe(document.getElementById('messages'),
                   {childList: true, subtree: true, characterData: true});
    """)
    page.send("What is the weather in Oslo?")
    answer = page.until_text(".msg.assistant", "get_weather returned")
    page.idle()
    assert "(agentloop emulator)" in answer.text
    assert page.driver.execute_script("return window.__renders") > 2  # drawn piece by piece
    card = page.until_text(".tool-card", "get_weather")
    assert card.find_element("css selector", ".tool-args").text == '{"city": "Oslo"}'
    assert '"temperature": 21' in card.find_element("css selector", ".tool-result").text
    assert "ms" in card.find_element("css selector", ".tool-state").text  # the duration
    assert page.css(".thought summary")  # thought summaries, folded
    assert not page.css(".thought[open]")
    assert "tokens" in page.css("#usage")[0].text and page.css("#usage")[0].text[0] != "0"


def test_approve_a_call_then_reload_and_see_the_history(page: Page) -> None:
    page.open()
    page.send("Please delete the file notes.txt")
    card = page.until_text(".tool-card", "needs your approval")
    assert not card.find_element("css selector", ".tool-result").text  # not run yet
    card.find_element("css selector", "button.approve").click()
    page.until_text(".tool-card", "done")
    page.until_text(".msg.assistant", "delete_file returned deleted")
    page.idle()
    session = page.session_id()

    page.driver.refresh()
    page.until_text(".msg.user", "Please delete the file notes.txt")
    card = page.until_text(".tool-card", "delete_file")
    assert "deleted" in card.find_element("css selector", ".tool-result").text
    assert not page.css("button.approve")
    page.until_text(".msg.assistant", "delete_file returned deleted")
    assert page.session_id() == session


def test_reject_a_call(page: Page) -> None:
    page.open()
    page.send("Please delete the file notes.txt")
    card = page.until_text(".tool-card", "needs your approval")
    card.find_element("css selector", "button.reject").click()
    page.until_text(".msg.assistant", "delete_file failed")


def test_switch_and_delete_sessions(page: Page) -> None:
    page.open()
    page.send("I have 3 cats.")
    page.until_text(".msg.assistant", "I have 3 cats")
    page.idle()
    first = page.session_id()
    page.css("#new-session")[0].click()
    page.wait.until(lambda d: not page.css(".msg"))
    page.send("I have 2 dogs in my house.")
    page.until_text(".msg.assistant", "2 dogs")
    page.idle()
    second = page.session_id()
    assert first != second
    page.until_text("#sessions .session", "I have 3 cats.").find_element(
        "css selector", ".open"
    ).click()
    page.until_text(".msg.user", "I have 3 cats.")
    page.send("How many paws are in my house?")
    page.until_text(".msg.assistant", "12 paws")  # this session's memory, not the other's
    page.idle()
    assert page.session_id() == first
    # The strategy is shown and switchable; the history carries over.
    from selenium.webdriver.support.ui import Select

    Select(page.css("#strategy")[0]).select_by_value("stateless")
    page.until_text("#status", "Strategy: stateless")
    page.send("How many cats do I have?")
    page.until_text(".msg.assistant", "3 cats")
    page.idle()
    # Delete the other session from the list.
    row = page.until_text("#sessions .session", "I have 2 dogs")
    row.find_element("css selector", ".delete").click()
    page.wait.until(lambda d: "2 dogs" not in page.css("#sessions")[0].text)
    assert "I have 3 cats." in page.css("#sessions")[0].text


def test_an_xss_attempt_stays_inert(browser: Any, tmp_path: Path) -> None:
    client = Emulator(_markdown_model()).async_client()
    app = create_app(
        tools=[show_snippet],
        store=tmp_path / "web.db",
        client=client,
        offline=True,
        backend_note="Offline: the agentloop emulator answers.",
    )
    with serve(app) as base:
        page = Page(browser, base)
        page.open()
        page.send('<img src=x onerror="window.__pwned = 1"> show the snippet called banner')
        card = page.until_text(".tool-card", "show_snippet")
        page.idle()
        result = card.find_element("css selector", ".tool-result").text
        assert "<script>window.__pwned = 1</script>" in result  # shown as text
        page.send("Answer in markdown please")
        answer = page.until_text(".msg.assistant", "Here is a short plan")
        page.idle()
        assert answer.find_elements("css selector", "strong")
        assert len(answer.find_elements("css selector", "ol li")) == 2
        assert answer.find_elements("css selector", "pre code")
        links = answer.find_elements("css selector", "a")
        assert [a.get_attribute("href") for a in links] == ["https://example.org/docs"]
        assert "[bad](javascript:alert(1))" in answer.text
        assert "<script>window.pwned = 4</script>" in answer.text
        assert page.driver.execute_script("return [window.__pwned, window.pwned]") == [None, None]
        assert (
            page.driver.execute_script(
                "return document.querySelectorAll('#messages script, #messages img').length"
            )
            == 0
        )
        assert page.css(".msg.user")[0].text.endswith("show the snippet called banner")


def test_esc_stops_a_turn_and_a_closed_tab_does_not(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.keys import Keys

    gate = Gate()
    app = create_app(emulator=True, tools=[gate.tool], store=tmp_path / "web.db")
    try:
        with serve(app) as base:
            page = Page(browser, base)
            page.open()
            page.send("Write a slow report about the moon")
            page.until_text(".tool-card", "slow_report")
            assert gate.entered.wait(WAIT)
            page.css("#input")[0].send_keys(Keys.ESCAPE)
            page.until_text(".note", "Stopped.")
            page.idle()
            page.until_text(".tool-card", "stopped")
            session = page.session_id()

            # A second turn, and the tab goes away while the tool runs.
            gate.entered.clear()
            page.send("Write a slow report about the sea")
            assert gate.entered.wait(WAIT)
            page.driver.get("about:blank")
            gate.open.set()
            page.open(f"#s={session}")
            page.until_text(".msg.assistant", "sea: all good")
    finally:
        gate.open.set()


def test_a_token_is_asked_for_once(browser: Any, tmp_path: Path) -> None:
    app = create_app(emulator=True, tools=[get_weather], store=tmp_path / "web.db", token="s3cret")
    with serve(app) as base:
        page = Page(browser, base)
        page.driver.get(base + "/")
        page.driver.execute_script("localStorage.clear()")
        page.driver.refresh()
        page.wait.until(lambda d: page.css("#token-form")[0].is_displayed())
        page.css("#token-input")[0].send_keys("s3cret\n")
        page.wait.until(lambda d: not page.css("#token-form")[0].is_displayed())
        page.send("What is the weather in Oslo?")
        page.until_text(".msg.assistant", "get_weather returned")
        page.driver.refresh()  # remembered
        page.wait.until(lambda d: page.css("#backend-note")[0].is_displayed())
        assert not page.css("#token-form")[0].is_displayed()
        page.driver.execute_script("localStorage.clear()")


def test_screenshot_for_the_docs(browser: Any, tmp_path: Path) -> None:
    app = offline_app(_markdown_model(), tmp_path / "web.db")
    browser.set_window_size(1280, 1180)
    with serve(app) as base:
        page = Page(browser, base)
        page.open()
        page.send("What is the weather in Oslo and Paris?")
        page.until_text(".msg.assistant", "get_weather returned")
        page.idle()
        page.send("Answer in markdown please")
        page.until_text(".msg.assistant", "Here is a short plan")
        page.idle()
        page.send("Please delete the file notes.txt")
        page.until_text(".tool-card", "needs your approval")
        page.idle()
        page.css(".thought summary")[-1].click()
        page.driver.execute_script(
            "const m = document.getElementById('messages'); m.scrollTop = m.scrollHeight"
        )
        out = ROOT / "docs" / "img"
        out.mkdir(parents=True, exist_ok=True)
        assert page.driver.save_screenshot(str(out / "web-chat.png"))
        browser.set_window_size(1280, 860)
    assert (out / "web-chat.png").stat().st_size > 10_000


def test_shift_enter_adds_a_line_and_enter_sends(page: Page) -> None:
    from selenium.webdriver.common.keys import Keys

    page.open()
    box = page.css("#input")[0]
    box.send_keys("line one")
    box.send_keys(Keys.SHIFT, Keys.ENTER)
    box.send_keys("line two")
    assert not page.css(".msg.user")  # not sent yet
    box.send_keys(Keys.ENTER)
    user = page.until_text(".msg.user", "line two")
    assert user.text.endswith("line one\nline two")
    page.until_text(".msg.assistant", "You said: line one")
    page.idle()


def test_edit_and_rerun_from_a_user_message_in_a_new_branch(browser: Any, tmp_path: Path) -> None:
    from agentloop.testing import Emulator as _Emulator

    emu = _Emulator(model=DemoModel())
    app = create_app(client=emu.async_client(), store=tmp_path / "web.db", offline=True)
    with serve(app) as base:
        page = Page(browser, base)
        page.open()
        for text in ("I have 3 cats.", "I have 2 dogs.", "How many paws are in my house?"):
            page.send(text)
            page.until_text(".msg.assistant", "You said" if "have" in text else "paws")
            page.idle()
        page.until_text(".msg.assistant", "There are 20 paws")
        original = page.session_id()
        creates = [r.json for r in emu.requests if r.method == "POST"]
        assert "previous_interaction_id" not in creates[0]
        chain = creates[1]["previous_interaction_id"]

        second = page.wait.until(lambda d: page.css(".msg.user")[1:2] or False)[0]
        page.wait.until(lambda d: second.find_elements("css selector", "button.rerun"))
        second.find_element("css selector", "button.rerun").click()
        box = second.find_element("css selector", ".rerun-editor textarea")
        assert box.get_attribute("value") == "I have 2 dogs."
        box.clear()
        box.send_keys("I have 1 dog.")
        second.find_element("css selector", "button.rerun-go").click()

        page.wait.until(lambda d: page.session_id() != original)
        page.until_text(".msg.user", "I have 1 dog.")
        page.idle()
        rerun = [r.json for r in emu.requests if r.method == "POST"][-1]
        # The branch chains onto the interaction that ended turn 0 and sends only the edit.
        assert rerun["previous_interaction_id"] == chain
        assert [s["content"][0]["text"] for s in rerun["input"]] == ["I have 1 dog."]
        page.send("How many paws are in my house?")
        page.until_text(".msg.assistant", "There are 16 paws")
        page.idle()
        users = [e.text for e in page.css(".msg.user .body")]
        assert users == ["I have 3 cats.", "I have 1 dog.", "How many paws are in my house?"]

        # The branch switcher lists both; the original is unchanged.
        switcher = page.wait.until(
            lambda d: page.css("#branches option")[1:] and page.css("#branches")
        )
        options = [o.get_attribute("value") for o in page.css("#branches option")]
        assert options[0] == original and page.session_id() in options
        from selenium.webdriver.support.ui import Select

        Select(switcher[0]).select_by_value(original)
        page.wait.until(lambda d: page.session_id() == original)
        page.until_text(".msg.assistant", "There are 20 paws")
        users = [e.text for e in page.css(".msg.user .body")]
        assert users == ["I have 3 cats.", "I have 2 dogs.", "How many paws are in my house?"]
