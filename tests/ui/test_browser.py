"""The UI in a real browser: `streamlit run ui/app.py` as a subprocess over the live API, Chromium driven by
Playwright. With ASSISTANT_UPDATE_SCREENSHOTS=1 (`make screenshots`) it refreshes the README's screenshots in
ui/screenshots/; otherwise they stay in the test's folder, so a test run never dirties the checkout."""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from tests.live import LiveServer, free_port, process
from tests.test_decision_record import check_citations
from ui.app import EXAMPLES

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "ui" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
# Read while collecting: the autouse `isolated_settings` fixture removes every ASSISTANT_* variable before a test.
REQUIRED = bool(os.environ.get("ASSISTANT_REQUIRE_BROWSER"))
UPDATE_SCREENSHOTS = bool(os.environ.get("ASSISTANT_UPDATE_SCREENSHOTS"))
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BANK = "We're a bank with strict isolation needs. Which mode?"
WAIT_MS = 60_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not REQUIRED,
        reason="no /usr/bin/chromium (apt-get install -y chromium); set ASSISTANT_REQUIRE_BROWSER=1 to fail instead",
    ),
]


@pytest.fixture
def streamlit_url(live_api: LiveServer, tmp_path: Path) -> Iterator[str]:
    """`streamlit run ui/app.py` on a free port, pointed at the live API; always stopped afterwards."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "ASSISTANT_API_URL": live_api.url,
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        sys.executable, "-m", "streamlit", "run", "ui/app.py",
        "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
    ]  # fmt: skip
    with process(command, env, f"{url}/_stcore/health", tmp_path / "streamlit.log", cwd=ROOT):
        yield url


@pytest.fixture
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail("ASSISTANT_REQUIRE_BROWSER is set but /usr/bin/chromium is missing: apt-get install -y chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def fit_to_content(page: Page) -> None:
    """Grow the viewport to the scrolled content, so a screenshot holds the whole conversation."""
    height = page.evaluate(
        """() => Math.max(0, ...Array.from(document.querySelectorAll(
            '[data-testid="stMain"], [data-testid="stAppScrollToBottomContainer"], [data-testid="stSidebarContent"]'
        )).map(e => e.scrollHeight))"""
    )
    bottom = page.get_by_test_id("stBottom")  # the chat input (on the chat tab), fixed over the end of the content
    box = bottom.bounding_box() if bottom.count() else None
    margin = 40 + (int(box["height"]) if box else 0)
    page.set_viewport_size({"width": 1280, "height": min(max(int(height) + margin, 900), 6000)})
    page.wait_for_timeout(500)  # let Streamlit re-lay out at the new size


def save(target: Page | Locator, tmp_path: Path, name: str) -> None:
    """A screenshot in the test's folder; copied over the committed one in ui/screenshots/ when asked to."""
    shot = tmp_path / name
    target.screenshot(path=shot, animations="disabled")
    assert shot.stat().st_size > 10_000
    if UPDATE_SCREENSHOTS:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOTS / name)


def test_a_question_streams_a_cited_answer_with_its_recommendation(
    streamlit_url: str, browser: Browser, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    elsewhere: list[str] = []
    page.on(
        "request", lambda r: None if r.url.startswith((streamlit_url, "data:", "blob:")) else elsewhere.append(r.url)
    )
    page.goto(streamlit_url)

    box = page.get_by_test_id("stChatInputTextArea")
    expect(box).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_role("button", name=EXAMPLES[0])).to_be_visible()
    expect(page.get_by_text("— ready")).to_be_visible()  # the sidebar's API status
    box.fill(BANK)
    box.press("Enter")

    question = page.get_by_test_id("stChatMessage").filter(has_text=BANK)
    answer = page.get_by_test_id("stChatMessage").filter(has_text="is the best fit")
    expect(question).to_be_visible(timeout=WAIT_MS)
    expect(answer).to_be_visible(timeout=WAIT_MS)
    expect(answer).to_contain_text("[1]")  # the inline markers are kept
    expect(page.get_by_role("button", name=EXAMPLES[0])).to_have_count(0)

    sources = answer.get_by_test_id("stExpander").filter(has_text=re.compile(r"Sources \(\d+\)"))
    expect(sources).to_be_visible(timeout=WAIT_MS)
    sources.get_by_text(re.compile(r"Sources \(\d+\)")).click()
    expect(sources.get_by_text("[1] Ratings: Sidecar")).to_be_visible()
    expect(sources.get_by_role("link").first).to_have_attribute("href", re.compile(r"^https://"))

    card = answer.locator("[class*='st-key-card-']")
    expect(card).to_be_visible()
    expect(card).to_contain_text("Best fit: Sidecar")
    expect(card.get_by_test_id("stProgress")).to_have_count(4)
    expect(card).to_contain_text("1. Sidecar")
    expect(card).to_contain_text("What would change this")
    expect(card).to_contain_text("Ambient would lead")
    expect(answer.get_by_role("radio", name="Thumbs up")).to_be_visible()  # st.feedback
    expect(card.get_by_role("button", name="Decision record")).to_be_visible()

    fit_to_content(page)
    save(page, tmp_path, "answer.png")
    page.add_style_tag(content='[data-testid="stBottom"] {display: none}')  # nothing laid over the card alone
    save(card, tmp_path, "recommendation.png")

    with page.expect_download() as download:
        page.get_by_test_id("stSidebar").get_by_role("button", name="Download conversation").click()
    saved = tmp_path / "conversation.md"
    download.value.save_as(saved)
    transcript = saved.read_text()
    assert transcript.startswith("# Mesh Assistant conversation")
    assert f"## You\n\n{BANK}" in transcript
    assert "\nSources:\n\n1. [Ratings: Sidecar — Security](https://" in transcript
    assert elsewhere == [], f"the page called out: {elsewhere}"


def test_the_requirements_form_and_the_ratings_heatmap(streamlit_url: str, browser: Browser, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(streamlit_url)
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text("Your requirements")).to_be_visible(timeout=WAIT_MS)

    sidebar.get_by_text("Regulated (finance").click()
    slider = sidebar.get_by_role("slider").first  # Security
    slider.focus()
    slider.press("ArrowRight")  # medium -> high
    expect(sidebar.get_by_test_id("stSliderThumbValue").first).to_have_text("high")
    sidebar.get_by_role("button", name="Recommend").click()

    card = page.locator(".st-key-card-form")
    expect(card).to_be_visible(timeout=WAIT_MS)
    expect(card).to_contain_text("Best fit: Sidecar")
    expect(card.get_by_test_id("stProgress")).to_have_count(4)
    expect(card.get_by_role("link", name="source").first).to_be_visible()
    fit_to_content(page)
    save(page, tmp_path, "requirements.png")

    page.set_viewport_size({"width": 1280, "height": 1000})
    page.get_by_text("Ratings", exact=True).click()
    chart = page.get_by_test_id("stVegaLiteChart")
    expect(chart).to_be_visible(timeout=WAIT_MS)
    chart.locator("canvas, svg").first.wait_for()
    page.wait_for_timeout(500)  # Vega draws after the element appears
    box = chart.bounding_box()
    assert box is not None
    tooltip = page.locator("#vg-tooltip-element")
    for x, y in ((0.30, 0.35), (0.45, 0.40), (0.55, 0.30)):  # a cell in the middle of the grid
        page.mouse.move(box["x"] + box["width"] * x, box["y"] + box["height"] * y)
        page.wait_for_timeout(300)
        if tooltip.is_visible():
            break
    expect(tooltip).to_be_visible()
    expect(tooltip).to_contain_text("Why")
    expect(tooltip).to_contain_text("https://")
    save(page, tmp_path, "ratings.png")


def test_the_features_view_filters_to_where_the_modes_differ(
    streamlit_url: str, browser: Browser, live_api: LiveServer, tmp_path: Path
) -> None:
    matrix = httpx.get(f"{live_api.url}/v1/features", timeout=30).json()["features"]
    istio = ("sidecar", "ambient")
    differ = sum(1 for row in matrix.values() if len({row["modes"][m]["status"] for m in istio}) > 1)
    page = browser.new_page(viewport={"width": 1280, "height": 1200})
    page.goto(streamlit_url)
    page.get_by_text("Features", exact=True).click()
    count = page.get_by_text(re.compile(r"\d+ of \d+ features\."))
    expect(count).to_have_text(f"{len(matrix)} of {len(matrix)} features.", timeout=WAIT_MS)
    expect(page.get_by_test_id("stDataFrame")).to_be_visible()
    for other in ("Cilium", "Proxyless gRPC"):  # compare Istio's two data planes only
        page.get_by_role("button", name=f"Remove {other}").first.click()
        page.wait_for_timeout(300)
    page.get_by_text("Only the rows where these modes differ").click()
    expect(count).to_have_text(f"{differ} of {len(matrix)} features.", timeout=WAIT_MS)
    assert 0 < differ < len(matrix)
    expect(page.get_by_role("link", name="source").first).to_have_attribute("href", re.compile(r"^https://"))
    save(page, tmp_path, "features.png")


def test_the_form_shows_what_the_chat_understood(streamlit_url: str, browser: Browser) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(streamlit_url)
    box = page.get_by_test_id("stChatInputTextArea")
    expect(box).to_be_visible(timeout=WAIT_MS)
    box.fill(BANK)
    box.press("Enter")
    expect(page.get_by_test_id("stChatMessage").filter(has_text="is the best fit")).to_be_visible(timeout=WAIT_MS)
    sidebar = page.get_by_test_id("stSidebar")
    regulated = sidebar.get_by_role("checkbox", name=re.compile("Regulated"))
    expect(regulated).to_be_checked(timeout=WAIT_MS)  # the bank, as the chat understood it
    expect(sidebar.get_by_test_id("stSliderThumbValue").first).to_have_text("high")  # security, implied


def test_the_estimate_view_charts_each_mode_and_the_card_downloads_the_decision_record(
    streamlit_url: str, browser: Browser, live_api: LiveServer, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(streamlit_url)
    page.get_by_text("Estimate", exact=True).click()
    form = page.get_by_test_id("stForm").filter(has=page.get_by_label("Meshed pods"))
    for label, value in (("Nodes", "40"), ("Meshed pods", "1200"), ("L7 scopes", "5"),
                         ("Requests per second", "10000"), ("Zones", "3")):  # fmt: skip
        field = form.get_by_role("spinbutton", name=label, exact=True)
        field.fill(value)
        field.press("Tab")
    form.get_by_test_id("stFormSubmitButton").click()

    charts = page.locator(".st-key-estimate-charts").get_by_test_id("stVegaLiteChart")
    expect(charts).to_have_count(2, timeout=WAIT_MS)  # CPU and memory, a bar per mode
    expect(
        page.get_by_text("For 40 nodes, 1,200 meshed pods, 5 L7 scopes, 10,000 requests per second, 3 zones.")
    ).to_be_visible()
    expect(page.get_by_text("Sidecar: 4.00 vCPU and 72.0 GB")).to_be_visible()
    expect(page.get_by_text("Ambient: 3.70 vCPU and 1.4 GB")).to_be_visible()
    expect(page.get_by_text("Cilium: no published figure")).to_be_visible()
    expect(page.get_by_text("Assumptions", exact=True)).to_be_visible()
    expect(page.get_by_text(re.compile("in proportion to the requests it carries"))).to_be_visible()
    page.get_by_text("Sidecar: 4.00 vCPU and 72.0 GB").click()  # its figure, how it scales, and the source
    expect(page.get_by_role("link", name="source").first).to_have_attribute("href", re.compile(r"^https://istio.io/"))
    charts.first.locator("canvas, svg").first.wait_for()
    page.wait_for_timeout(500)  # Vega draws after the element appears
    fit_to_content(page)
    save(page, tmp_path, "estimate.png")

    page.set_viewport_size({"width": 1280, "height": 1000})
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text("Your cluster, from the Estimate view: 40 nodes")).to_be_visible()
    sidebar.get_by_role("button", name="Recommend").click()
    card = page.locator(".st-key-card-form")
    expect(card).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text("For: 40 nodes, 1,200 meshed pods")).to_be_visible()
    expect(card.get_by_text("Estimated data-plane cost for your cluster")).to_be_visible()
    with page.expect_download() as download:
        card.get_by_role("button", name="Decision record").click()
    saved = tmp_path / "decision-record.md"
    download.value.save_as(saved)
    record = saved.read_text()
    assert download.value.suggested_filename == "decision-record-ambient.md"
    assert record.startswith("---\nstatus: proposed\n") and "# Use Ambient as the service-mesh data plane" in record
    assert "| Sidecar | 4.00 vCPU | 72.0 GB | nothing |" in record
    check_citations(record)
    cluster = {"nodes": 40, "pods": 1200, "l7_scopes": 5, "requests_per_second": 10000.0, "zones": 3}
    stated = {**dict.fromkeys(("security", "resources", "performance", "simplicity", "maturity", "network"),
                              "medium"), "cluster": cluster}  # fmt: skip
    posted = httpx.post(f"{live_api.url}/v1/decision-record", json={"requirements": stated}, timeout=30)
    assert posted.text == record  # the UI's download is the API's record for the same requirements
