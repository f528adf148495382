"""The HTML report (``--format html``): structure and escaping checked with the standard library's HTML
parser, and the real page driven in headless Chromium (Debian ``chromium`` + ``chromium-driver``).

The browser tests never skip silently: without Chromium they fail and say how to install it, unless
KEYAUDIT_SKIP_BROWSER=1 asks for a skip explicitly. The screenshot goes to $KEYAUDIT_ARTIFACTS (default:
pytest's temporary directory); its path is printed.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from scanner.engine import discover_rules, evaluate_all
from scanner.findings import Summary
from scanner.inventory import Capability, Rotation
from scanner.output.html_writer import HtmlWriter
from tests import factories as f

REPO = Path(__file__).resolve().parent.parent
KEY_TYPES = {
    "AWS::KMS::Key",
    "cloudkms.googleapis.com/CryptoKey",
    "Microsoft.KeyVault/vaults/keys",
    "Microsoft.KeyVault/managedHSMs/keys",
}
FAILING = {"fail", "unknown", "error"}
WEIGHT = {"pass": 0, "unknown": 1, "error": 2, "fail": 3}

HOSTILE = "</script><img src=x onerror=alert(1)>"
# Newline, both quotes, an ANSI colour escape, markup and a right-to-left override in one name.
TRICKY = "line one\nline \"two\" 'three' \x1b[31mred\x1b[0m <b>bold</b> \u202eevil"
INSTALL_HINT = (
    "Chromium and chromedriver are needed for the HTML report's browser test: install them with "
    "`apt-get install -y --no-install-recommends chromium chromium-driver` (`make test` does it through "
    "scripts/ensure-chromium.sh), or set KEYAUDIT_SKIP_BROWSER=1 to skip this test on purpose."
)


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_PROFILE", "GOOGLE_APPLICATION_CREDENTIALS")}
    env.update(
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="eu-west-1",
        CLOUDSDK_CONFIG=str(tmp),
        NO_GCE_CHECK="True",
    )
    return env


def _keyaudit(tmp: Path, *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "scanner", *args, "--quiet"],
        capture_output=True, text=True, timeout=300, check=False, cwd=tmp, env=_env(tmp),
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode in (0, 3), result.stderr


class Page(HTMLParser):
    """Every start tag with its attributes, script bodies, and the visible text, as html.parser sees them."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.text: list[str] = []
        self._script: tuple[dict[str, str | None], list[str]] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._script = (dict(attrs), [])

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script[0], "".join(self._script[1])))
            self._script = None

    def handle_data(self, data: str) -> None:
        (self._script[1] if self._script is not None else self.text).append(data)

    def data(self) -> dict[str, Any]:
        (block,) = [body for attrs, body in self.scripts if attrs.get("type") == "application/json"]
        return json.loads(block)

    @property
    def all_text(self) -> str:
        return "".join(self.text)


# -------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """One demo run writing the report and the native JSON result it must agree with."""
    out = tmp_path_factory.mktemp("html-demo")
    _keyaudit(out, "demo", "--format", "html", "--format", "json", "-o", str(out))
    return out / "keyaudit-report.html", json.loads((out / "keyaudit-report.json").read_text())


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report on an estate whose names and error messages try to break out of the page."""
    tmp = tmp_path_factory.mktemp("html-hostile")
    k1 = f.key("k1", name=HOSTILE)
    k2 = f.key("k2", name=TRICKY, rotation=None)
    admin = f"arn:aws:iam::{f.ACCOUNT}:role/{HOSTILE}"
    bindings = (
        f.binding(admin, k1.uid, Capability.ADMINISTER_ACCESS, Capability.DECRYPT),
        f.binding(admin, k2.uid, Capability.ADMINISTER_ACCESS, Capability.DECRYPT),
    )
    inventory = f.inventory(
        scopes=(f.scope(name=TRICKY),),
        keys=(k1, k2),
        principals=(f.principal(admin),),
        bindings=bindings,
        errors=(f.error(message=f"AccessDenied {HOSTILE} {TRICKY}"),),
    )
    source = tmp / "inventory.json"
    source.write_text(inventory.model_dump_json(), encoding="utf-8")
    report = tmp / "report.html"
    _keyaudit(tmp, "evaluate", str(source), "--format", "html", "-o", str(report), "--fail-on", "none")
    return report


def _keys(native: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per key uid in the native result: provider, name and worst open status."""
    keys: dict[str, dict[str, Any]] = {}
    for x in native["findings"]:
        if x["resource"]["type"] in KEY_TYPES:
            entry = keys.setdefault(
                x["resource"]["uid"], {"p": x["provider"], "n": x["resource"]["name"], "w": "pass"}
            )
            if not x["waived"] and WEIGHT[x["status"]] > WEIGHT[entry["w"]]:
                entry["w"] = x["status"]
    return keys


# ------------------------------------------------------------------------------- structure (no browser)


def test_the_report_is_one_self_contained_file(demo) -> None:
    path, _native = demo
    text = path.read_text(encoding="utf-8")
    page = Page(text)
    tags = {tag for tag, _ in page.tags}
    assert not tags & {"img", "link", "iframe", "object", "embed", "base", "form", "audio", "video"}
    assert all("src" not in attrs for _, attrs in page.tags)
    assert all(attrs["href"].startswith("#") for _, attrs in page.tags if "href" in attrs)
    assert "url(" not in text and "@import" not in text and "fetch(" not in text
    # Exactly one data block and one inline script; the Content-Security-Policy allows that script only.
    assert [attrs for attrs, _ in page.scripts] == [{"type": "application/json", "id": "keyaudit-data"}, {}]
    (csp,) = [
        a["content"] for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"
    ]
    script = page.scripts[1][1]
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert "default-src 'none'" in csp and f"script-src 'sha256-{digest}'" in csp


def test_header_coverage_and_summary_match_the_run(demo) -> None:
    path, native = demo
    page = Page(path.read_text(encoding="utf-8"))
    text = page.all_text
    scan = native["scan"]
    for value in (
        scan["run_id"],
        scan["mode"],
        scan["tool_version"],
        scan["policy"]["path"],
        scan["policy"]["sha256"],
    ):
        assert value in text
    assert f"Coverage gaps: {len(scan['coverage'])}" in text
    # The demo's three designed gaps (one CI run once reported a fourth, not reproduced since: the
    # designed ones are pinned, the full list is shown if they are missing).
    apis = {gap["api"] for gap in scan["coverage"]}
    designed = {
        "sts:AssumeRole",
        "cloudresourcemanager.projects.getIamPolicy",
        "Microsoft.KeyVault/vaults/keys/read",
    }
    assert designed <= apis, scan["coverage"]
    for gap in scan["coverage"]:
        assert gap["api"] in text and gap["scope"] in text
    cards = re.findall(
        r'<div class="card[^"]*"><span class="n">([\d,]+)</span><span>(\w+)</span>', path.read_text()
    )
    by_status = native["scan"]["summary"]["by_status"]
    assert {label: n for n, label in cards} == {
        "findings": f"{len(native['findings']):,}",
        **{s: f"{by_status.get(s, 0):,}" for s in ("pass", "fail", "unknown", "error")},
        "waived": "0",
    }


def test_charts_carry_the_counts_of_the_run(demo) -> None:
    path, native = demo
    html = path.read_text(encoding="utf-8")
    stacked = Counter()
    for provider, severity, n in re.findall(
        r'class="seg" data-provider="([^"]+)" data-severity="(\w+)"[^>]*><title>[^<]*: (\d+) ', html
    ):
        stacked[provider, severity] += int(n)
    expected = Counter((x["provider"], x["severity"]) for x in native["findings"] if x["status"] in FAILING)
    assert stacked == expected and {p for p, _ in stacked} == {"aws", "azure", "gcp"}
    # Pass rate of CSA-AICM:CEK-02, recomputed from the findings.
    cek02 = [x for x in native["findings"] if "CSA-AICM:CEK-02" in x["controls"]]
    passed = sum(x["status"] == "pass" for x in cek02)
    assert 'data-control="CEK-02"' in html
    assert f"CEK-02: {passed} of {len(cek02)} pass" in html


def test_data_block_holds_every_key_and_every_failing_finding(demo) -> None:
    path, native = demo
    data = Page(path.read_text(encoding="utf-8")).data()
    keys = {r["u"]: r for r in data["resources"] if r["kind"] == "key"}
    expected = _keys(native)
    assert set(keys) == set(expected) and len(keys) > 50
    assert {uid: r["w"] for uid, r in keys.items()} == {uid: e["w"] for uid, e in expected.items()}
    failing = {x["finding_id"] for x in native["findings"] if x["status"] in FAILING}
    assert {x["id"] for x in data["findings"]} == failing  # passes are counted, never listed
    assert data["not_listed"] == 0 and data["cap"] == 20_000
    evidence = {x["finding_id"]: x["evidence"] for x in native["findings"]}
    assert all(x["e"] == evidence[x["id"]] for x in data["findings"])


def test_segregation_of_duties_lists_every_conflict_of_the_demo(demo) -> None:
    path, native = demo
    data = Page(path.read_text(encoding="utf-8")).data()
    resources = data["resources"]
    flagged = {
        (p["u"], resources[s["r"]]["u"], role)
        for s in data["sod"]
        for role in ("admins", "users")
        for p in s[role]
        if "conflict" in p["flags"]
    }
    conflicts = {
        (p["uid"], x["resource"]["uid"])
        for x in native["findings"]
        if x["rule_id"] == "key_admin_separated_from_use" and x["status"] == "fail"
        for p in x["evidence"]["conflicting_principals"]
    }
    assert len(conflicts) > 10
    assert flagged == {(p, k, role) for p, k in conflicts for role in ("admins", "users")}
    # The known one: devops-lead both administers and uses customer-pii, and is not declared either way.
    (pii,) = [s for s in data["sod"] if resources[s["r"]]["n"] == "customer-pii"]
    (lead,) = [p for p in pii["admins"] if p["u"].endswith(":user/devops-lead")]
    assert set(lead["flags"]) == {"conflict", "undeclared"} and "decrypt" in lead["use"]
    assert any(p["u"].endswith(":role/KeyAdmin") and not p["flags"] for p in pii["admins"])


def test_hostile_names_are_text_not_markup(hostile: Path) -> None:
    raw = hostile.read_bytes()
    assert b"<img" not in raw and b"\x1b" not in raw
    page = Page(raw.decode("utf-8"))
    assert "\u202e" not in page.all_text  # the override is shown as an escape, not applied
    assert "img" not in {tag for tag, _ in page.tags}
    assert len(page.scripts) == 2
    assert not any(name.startswith("on") for _, attrs in page.tags for name in attrs)
    # The scope name and the collection error are rendered here, visibly escaped.
    assert HOSTILE in page.all_text
    assert "\\x1b[31mred\\x1b[0m <b>bold</b> \\u202eevil" in page.all_text
    # The JSON block gives the names back exactly.
    data = page.data()
    assert {r["n"] for r in data["resources"] if r["kind"] == "key"} == {HOSTILE, TRICKY}
    admins = {p["u"] for s in data["sod"] for p in s["admins"]}
    assert admins == {f"arn:aws:iam::{f.ACCOUNT}:role/{HOSTILE}"}


def test_detailed_findings_are_capped_and_waivers_marked() -> None:
    """Engine findings on a small estate through the writer with a cap of 2."""
    keys = [f.key(f"k{i}", rotation=Rotation(enabled=False)) for i in range(5)]
    inventory = f.inventory(keys=tuple(keys))
    rules = [r for r in discover_rules() if r.meta.id == "key_rotation_enabled"]
    findings = list(evaluate_all(rules, f.context(inventory)))
    assert len(findings) == 5 and all(x.status.value == "fail" for x in findings)
    findings[0].waived = True
    findings[0].waiver = {"reason": "migration ticket SEC-1", "expires": "2027-01-01"}
    findings[1].evidence = {"blob": "x" * 100_000}
    summary = Summary(fail_on=None)
    stream = io.BytesIO()
    writer = HtmlWriter(stream, max_findings=2)
    for finding in findings:
        summary.add(finding)
        writer.write(finding)
    writer.close({"run_id": "r1", "coverage": []}, summary)
    page = Page(stream.getvalue().decode("utf-8"))
    data = page.data()
    assert (data["listed"], data["not_listed"]) == (2, 3)
    assert data["rules"][0]["not_listed"] == 3 and data["rules"][0]["counts"] == {"fail": 5, "waived": 1}
    waived = data["findings"][0]
    assert waived["w"] is True and waived["wv"]["reason"] == "migration ticket SEC-1"
    assert "bytes shortened" in data["findings"][1]["e"]["note"]
    (first,) = [r for r in data["resources"] if r["u"] == findings[0].resource.uid]
    assert first["w"] == "waived" and first["x"] == 1
    text = " ".join(page.all_text.split())
    assert "up to a cap of 2 are listed" in text and "3 failing finding(s) beyond the cap" in text


def test_only_failed_runs_still_count_passes_per_control() -> None:
    """With --only-failed the writer sees no pass, but the summary counts them: the report says so and
    takes the controls of rules it never saw from the catalogue."""
    inventory = f.inventory(keys=(f.key("k1", rotation=Rotation(enabled=False)),))
    rules = [r for r in discover_rules() if r.meta.id in ("key_rotation_enabled", "key_not_pending_deletion")]
    summary = Summary(fail_on=None)
    stream = io.BytesIO()
    writer = HtmlWriter(stream)
    for finding in evaluate_all(rules, f.context(inventory)):
        summary.add(finding)
        if finding.status.is_failing:
            writer.write(finding)
    writer.close({"run_id": "r1", "coverage": []}, summary)
    html = stream.getvalue().decode("utf-8")
    page = Page(html)
    (passing,) = [r for r in page.data()["rules"] if r["id"] == "key_not_pending_deletion"]
    (meta,) = [r.meta for r in rules if r.meta.id == "key_not_pending_deletion"]
    assert passing["counts"] == {"pass": 1} and passing["controls"] == list(meta.controls)
    rotation = next(r.meta for r in rules if r.meta.id == "key_rotation_enabled")
    for control in meta.controls:  # one pass, plus the rotation failure where that rule maps too
        assert f"{control.partition(':')[2]}: 1 of {1 + (control in rotation.controls)} pass" in html
    assert "1 passing finding(s) were left out of this run (--only-failed)" in " ".join(page.all_text.split())


# --------------------------------------------------------------------------------------------- browser


@pytest.fixture(scope="module")
def browser():
    if os.environ.get("KEYAUDIT_SKIP_BROWSER") == "1":
        pytest.skip(
            "KEYAUDIT_SKIP_BROWSER=1: the headless-Chromium tests of the HTML report are skipped on request"
        )
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    chromedriver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    missing = [p for p in (chromium, chromedriver) if not Path(p).exists()]
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing.append("the selenium package (pip install selenium; it is in the test extra)")
    if missing:
        pytest.fail(f"missing {', '.join(missing)}. {INSTALL_HINT}")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(chromedriver))
    # Record alert() calls instead of blocking on them (runs before any page script, CSP or not).
    driver.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument",
        {"source": "window.__alerts = []; window.alert = (m) => window.__alerts.push(String(m));"},
    )
    yield driver
    driver.quit()


def _open(driver, path: Path) -> list[dict[str, Any]]:
    """Load the report, wait for the script to finish; the console messages of the load."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get_log("browser")  # drop anything from a previous page
    driver.get(path.resolve().as_uri())
    WebDriverWait(driver, 20).until(
        lambda d: d.execute_script("return document.body.dataset.ready") == "true"
    )
    return driver.get_log("browser")


def _rows(driver, table: str) -> int:
    return driver.execute_script(f"return document.querySelectorAll('#{table} tbody tr').length")


def _wait_rows(driver, table: str, expected: int) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 5).until(
        lambda d: _rows(d, table) == expected, f"{table}: expected {expected} rows"
    )


def test_demo_report_in_chromium(browser, demo, tmp_path_factory: pytest.TempPathFactory) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    path, native = demo
    logs = _open(browser, path)
    assert [e for e in logs if e["level"] == "SEVERE"] == []

    # Charts: a bar segment per provider and severity, a bar per CSA-AICM control.
    assert len(browser.find_elements(By.CSS_SELECTOR, "#chart-severity-provider svg rect.seg")) >= 3
    aicm = {c for x in native["findings"] for c in x["controls"] if c.startswith("CSA-AICM:")}
    assert len(browser.find_elements(By.CSS_SELECTOR, "#chart-control-pass-csa-aicm svg rect.rate")) == len(
        aicm
    )

    # Key table filters.
    keys = _keys(native)
    _wait_rows(browser, "keys-table", len(keys))
    search = browser.find_element(By.ID, "keys-search")
    search.send_keys("customer-pii")
    _wait_rows(browser, "keys-table", sum("customer-pii" in (k["n"] or "") + uid for uid, k in keys.items()))
    search.clear()
    search.send_keys(" ")  # clear() fires no input event
    _wait_rows(browser, "keys-table", len(keys))
    Select(browser.find_element(By.ID, "keys-provider")).select_by_value("gcp")
    gcp = [k for k in keys.values() if k["p"] == "gcp"]
    _wait_rows(browser, "keys-table", len(gcp))
    Select(browser.find_element(By.ID, "keys-status")).select_by_value("fail")
    _wait_rows(browser, "keys-table", sum(k["w"] == "fail" for k in gcp))
    assert 0 < sum(k["w"] == "fail" for k in gcp) < len(gcp) < len(keys)
    Select(browser.find_element(By.ID, "keys-provider")).select_by_value("")
    Select(browser.find_element(By.ID, "keys-status")).select_by_value("")

    # Segregation of duties: the demo's known conflict, highlighted.
    conflicted = {
        x["resource"]["uid"]
        for x in native["findings"]
        if x["rule_id"] == "key_admin_separated_from_use" and x["status"] == "fail"
    }
    Select(browser.find_element(By.ID, "sod-show")).select_by_value("conflict")
    _wait_rows(browser, "sod-table", len(conflicted))
    browser.find_element(By.ID, "sod-search").send_keys("devops-lead")
    _wait_rows(browser, "sod-table", 1)
    row = browser.find_element(By.CSS_SELECTOR, "#sod-table tbody tr")
    assert row.find_element(By.CSS_SELECTOR, "td.key .name").text == "customer-pii"
    flagged = row.find_elements(By.CSS_SELECTOR, "li.principal.conflict code.uid")
    assert [e.text for e in flagged] == ["arn:aws:iam::111122223333:user/devops-lead"] * 2  # admin and user

    # Findings: a group opens, its evidence shows as pretty JSON.
    group = browser.find_element(By.CSS_SELECTOR, "#findings-list details.group")
    group.find_element(By.TAG_NAME, "summary").click()
    # Group bodies and evidence are rendered on the details' toggle event, which fires after the click.
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 10)
    evidence = wait.until(lambda _: group.find_elements(By.CSS_SELECTOR, "details.evidence"))[0]
    evidence.find_element(By.TAG_NAME, "summary").click()
    pre = wait.until(lambda _: evidence.find_elements(By.TAG_NAME, "pre"))[0]
    assert json.loads(pre.text)

    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1400, min(height, 12000))
    artifacts = Path(os.environ.get("KEYAUDIT_ARTIFACTS") or tmp_path_factory.mktemp("artifacts"))
    artifacts.mkdir(parents=True, exist_ok=True)
    shot = artifacts / "keyaudit-demo-report.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 20_000
    print(f"HTML report screenshot: {shot}")
    assert browser.execute_script("return window.__alerts") == []
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


def test_hostile_names_cannot_inject_in_chromium(browser, hostile: Path) -> None:
    from selenium.webdriver.common.by import By

    logs = _open(browser, hostile)
    assert [e for e in logs if e["level"] == "SEVERE"] == []
    assert (
        browser.execute_script("return document.querySelectorAll('img').length + document.images.length") == 0
    )
    assert browser.execute_script("return window.__alerts") == []
    names = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#keys-table td.key .name")]
    assert sorted(names) == sorted(
        [HOSTILE, "line one\\nline \"two\" 'three' \\x1b[31mred\\x1b[0m <b>bold</b> \\u202eevil"]
    )
    # Open every finding group: rendering messages and evidence injects nothing either.
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 10)
    browser.find_element(By.ID, "findings-expand").click()
    summaries = wait.until(lambda _: browser.find_elements(By.CSS_SELECTOR, "details.evidence > summary"))
    for summary in summaries:
        summary.click()
    # Every evidence block rendered (asynchronously, on toggle) before looking for injected markup.
    wait.until(
        lambda _: len(browser.find_elements(By.CSS_SELECTOR, "details.evidence pre")) == len(summaries)
    )
    assert browser.execute_script("return document.querySelectorAll('img, b').length") == 0
    assert HOSTILE in browser.find_element(By.ID, "sod").text
    assert browser.execute_script("return window.__alerts") == []
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
