"""The Dagster UI in a real browser: the webserver on loopback against a temporary instance that holds a
completed run, driven by headless Chromium (Debian's chromium and chromium-driver, which `make test`
installs). Screenshots go to the test's tmp folder."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from pipelines.automation import MAIN_JOB, NO_RETRIES_RUN_CONFIG
from pipelines.settings import REPO_ROOT

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
CHROME_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1600,1000",
)
SERVER_START_S, PAGE_S = 180, 90

if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    message = "chromium and chromium-driver are missing: `make test` installs them (apt-get, as root)"
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message, allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@dataclass(frozen=True)
class Site:
    url: str
    run_id: str
    shots: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_serving(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"webserver exited: {log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise AssertionError(f"webserver not up in {SERVER_START_S}s: {log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("browser")
    raw, home = root / "raw", root / "dagster_home"
    home.mkdir()
    subprocess.run(
        [sys.executable, "-m", "pipelines.generate", "--out", str(raw), "--customers", "120", "--seed", "5"],
        check=True,
        cwd=REPO_ROOT,
        capture_output=True,
        timeout=300,
    )
    env = {
        "CRM_RAW_DIR": str(raw),
        "CRM_WAREHOUSE_PATH": str(root / "warehouse.duckdb"),
        "CRM_PUBLISH_DIR": str(root / "exports"),
    }
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        from pipelines.definitions import build_definitions

        with dg.DagsterInstance.from_config(str(home)) as instance:
            result = (
                build_definitions()
                .resolve_job_def(MAIN_JOB)
                .execute_in_process(instance=instance, run_config=NO_RETRIES_RUN_CONFIG)
            )
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    assert result.success

    port, log = _free_port(), root / "webserver.log"
    url = f"http://127.0.0.1:{port}"
    with open(log, "w") as out:
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port)]
            + ["-m", "pipelines.definitions"],
            cwd=REPO_ROOT,
            env={**os.environ, **env, "DAGSTER_HOME": str(home)},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_serving(url, server, log)
        yield Site(url=url, run_id=result.run_id, shots=root)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROME_FLAGS, f"--user-data-dir={site.shots / 'chrome-profile'}"):
        options.add_argument(flag)
    service = webdriver.ChromeService(
        executable_path=str(CHROMEDRIVER), log_output=str(site.shots / "driver.log")
    )
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(PAGE_S)
    driver.set_script_timeout(PAGE_S)
    try:
        yield driver
    finally:
        driver.quit()


def _page_shows(driver: webdriver.Chrome, texts: list[str]) -> bool:
    body = driver.find_element(By.TAG_NAME, "body").text
    return all(text in body for text in texts)


def _dismiss_prompts(driver: webdriver.Chrome) -> None:
    """The UI greets a new browser profile with a 'Join the Dagster community' dialog: skip it."""
    for button in driver.find_elements(By.XPATH, "//button[normalize-space()='Skip']"):
        button.click()


def _open(driver: webdriver.Chrome, url: str, texts: list[str], shot: Path) -> str:
    driver.get(url)
    try:
        WebDriverWait(driver, PAGE_S, poll_frequency=1).until(lambda d: _page_shows(d, texts))
        time.sleep(1)  # the dialog and the graph's layout come a moment after the text
        _dismiss_prompts(driver)
    finally:
        driver.save_screenshot(str(shot))
    return driver.find_element(By.TAG_NAME, "body").text


def test_asset_graph_shows_every_layer(site: Site, browser: webdriver.Chrome):
    # Everything upstream of the published copy is the whole graph, each layer a box of its assets.
    url = f"{site.url}/assets/published/warehouse?view=lineage&lineageScope=upstream&lineageDepth=20"
    layers = ["raw", "staging", "intermediate", "marts", "published"]
    assets = ["dealers", "stations", "call_center", "stg_oem__calls", "stg_dms__sales", "customer_xref"]
    body = _open(
        browser, url, [*layers, *assets, "dim_customer", "dim_vehicle"], site.shots / "asset_graph.png"
    )
    assert body.count("warehouse") >= 2  # the breadcrumb and the graph node
    assert (site.shots / "asset_graph.png").stat().st_size > 30_000


def test_published_asset_shows_the_runs_metadata_and_plot(site: Site, browser: webdriver.Chrome):
    body = _open(
        browser,
        f"{site.url}/assets/published/warehouse",
        ["customers_out", "merge_rate", "quarantined_rows", "cluster_size_plot"],
        site.shots / "published_asset.png",
    )
    assert "Latest materialization" in body and "eager" in body
    # Long markdown values open in a dialog: the cluster-size plot is a PNG there.
    row = browser.find_element(By.XPATH, "//tr[.//*[text()='cluster_size_plot']]")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", row)
    row.find_element(By.XPATH, ".//*[contains(text(), 'Show Markdown')]").click()
    plot = WebDriverWait(browser, PAGE_S, poll_frequency=1).until(
        lambda d: next(
            (
                img
                for img in d.find_elements(By.TAG_NAME, "img")
                if (img.get_attribute("src") or "").startswith("data:image/png;base64,")
                and img.size["width"] > 200
            ),
            False,
        )
    )
    time.sleep(1)
    browser.save_screenshot(str(site.shots / "cluster_size_plot.png"))
    assert plot.size["height"] > 100


def test_run_page_shows_a_successful_run(site: Site, browser: webdriver.Chrome):
    texts = [site.run_id[:8], "Success", "published__warehouse", "RUN_SUCCESS"]
    _open(browser, f"{site.url}/runs/{site.run_id}", texts, site.shots / "run.png")
