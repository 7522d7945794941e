"""Walking the app as one person, in a real browser, and noticing everything that breaks.

A `Walk` signs a person in and watches the page for as long as the walk lasts: any
response of status 400 or more (pages, stylesheets, scripts, htmx requests), a request
that never got an answer, a request leaving the server (the app must work offline), a
console error and an uncaught script error are all problems. Every page it lands on must
be a styled page of the app: the app's stylesheet applied and the navigation bar shown
(Django's admin: its own header and stylesheet). `Walk.done()` fails the test with every
problem seen, so one run tells the whole story.

The role tests (test_walk.py) share it; `make screenshots` (scripts/screenshots.py) too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

# What web/static/web/app.css sets and a browser's defaults do not: the page background
# (on <html>) and no margin on <body>. A bare error page has neither.
APP_BACKGROUND = "rgb(244, 246, 249)"

PAGE_FACTS = r"""() => {
  const html = getComputedStyle(document.documentElement);
  const body = getComputedStyle(document.body);
  const visible = (selector) => {
    const el = document.querySelector(selector);
    return !!el && el.getBoundingClientRect().height > 0;
  };
  return {
    background: html.backgroundColor,
    bodyMargin: body.marginTop,
    nav: visible('header.topbar nav.nav') && !!document.querySelector('nav.nav a.who'),
    // Every item of the navigation bar on one line: its content no taller than a line.
    wrapped: [...document.querySelectorAll('nav.nav > a, nav.nav button')].filter((el) => {
      const cs = getComputedStyle(el);
      const px = (value) => parseFloat(value) || 0;
      const line = cs.lineHeight === 'normal' ? px(cs.fontSize) * 1.3 : px(cs.lineHeight);
      const content = el.getBoundingClientRect().height - px(cs.paddingTop)
        - px(cs.paddingBottom) - px(cs.borderTopWidth) - px(cs.borderBottomWidth);
      return content > line * 1.5;
    }).map((el) => el.textContent.trim().replace(/\s+/g, ' ')),
    // The page fits the window's width: nothing pushes it sideways.
    overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    adminHeader: visible('#header'),
    publicPage: document.body.classList.contains('public'),
    title: document.title,
  };
}"""

# Links a walk never follows: leaving, and what is not a page.
SKIP = re.compile(r"^(mailto:|tel:|javascript:|#)|/logout/|/admin/logout/")
# Pages whose links are a section of the navigation: My settings leads to People, Teams.
SECTIONS = frozenset({"/settings/"})
ADMIN_LIST = re.compile(r"^/admin/\w+/\w+/$")
LEAD_PAGE = re.compile(r"^/leads/\d+/$")
DOWNLOAD = re.compile(r"\.csv(\?|$)")


def shape(url: str) -> str:
    """A link's kind: its path with numbers as N and its query's keys. The walk opens one
    link of each kind (one lead page, not every lead)."""
    parts = urlsplit(url)
    keys = sorted({key for key, _ in parse_qsl(parts.query, keep_blank_values=True)})
    return re.sub(r"\d+", "N", parts.path) + ("?" + "&".join(keys) if keys else "")


@dataclass
class Walk:
    page: Any
    base: str
    who: str = ""
    problems: list[str] = field(default_factory=list)
    visited: list[str] = field(default_factory=list)
    seen_shapes: set[str] = field(default_factory=set)
    # Lead actions (users.choices.LeadAction values) the lead pages offered, and those done.
    offered: set[str] = field(default_factory=set)
    performed: set[str] = field(default_factory=set)
    touch_kinds_logged: list[str] = field(default_factory=list)

    @classmethod
    def start(
        cls, browser: Any, base: str, username: str, password: str, *, width: int = 1280
    ) -> Walk:
        """A fresh browser context, watched from its first request, signed in through the
        login page as `username`."""
        context = browser.new_context(viewport={"width": width, "height": 800})
        page = context.new_page()
        page.set_default_timeout(15_000)
        walk = cls(page=page, base=base.rstrip("/"), who=username)
        page.on("response", walk._on_response)
        page.on("requestfailed", walk._on_request_failed)
        page.on("request", walk._on_request)
        page.on("console", walk._on_console)
        page.on("pageerror", walk._on_page_error)
        walk.login(username, password)
        return walk

    # --- watching ------------------------------------------------------------------------

    def _where(self) -> str:
        return self.page.url.removeprefix(self.base) or "/"

    def _on_response(self, response: Any) -> None:
        if response.status >= 400:
            self.problems.append(
                f"{response.status} for {response.request.method} "
                f"{response.url.removeprefix(self.base)} (on {self._where()})"
            )

    def _on_request_failed(self, request: Any) -> None:
        failure = request.failure or ""
        # A navigation cancels what the page it leaves was still loading: not a fault.
        if "ERR_ABORTED" in failure:
            return
        self.problems.append(f"request failed: {request.url} ({failure}) on {self._where()}")

    def _on_request(self, request: Any) -> None:
        url = request.url
        if url.startswith(("data:", "blob:", "about:")) or url.startswith(self.base):
            return
        self.problems.append(f"request leaves the server: {url} (on {self._where()})")

    def _on_console(self, message: Any) -> None:
        if message.type == "error":
            self.problems.append(f"console error on {self._where()}: {message.text}")

    def _on_page_error(self, error: Any) -> None:
        self.problems.append(f"script error on {self._where()}: {error}")

    # --- moving --------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return urljoin(self.base + "/", path)

    def login(self, username: str, password: str) -> None:
        self.page.goto(self.url("/login/"))
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", password)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(self.url("/"))
        self.check_page()

    def visit(self, path: str) -> None:
        """Open `path` (or a full URL of the server) and check the page it shows."""
        target = self.url(path)
        self.page.goto(target)
        self.page.wait_for_load_state("load")
        self.visited.append(target.removeprefix(self.base))
        self.seen_shapes.add(shape(target.removeprefix(self.base)))
        self.check_page()
        self._note_offered()

    def fetch(self, path: str) -> None:
        """A download link (CSV): fetched with the page's cookies, its status checked."""
        answer = self.page.context.request.get(self.url(path))
        self.visited.append(path)
        if answer.status >= 400:
            self.problems.append(f"{answer.status} for download {path} (on {self._where()})")

    def check_page(self) -> None:
        """The page shown is a styled page of the app (or of Django's admin)."""
        facts = self.page.evaluate(PAGE_FACTS)
        where = self._where()
        if where.startswith("/admin/"):
            if not facts["adminHeader"] or facts["bodyMargin"] != "0px":
                self.problems.append(f"unstyled admin page: {where} ({facts['title']!r})")
            return
        if facts["background"] != APP_BACKGROUND:
            self.problems.append(f"page without the app's stylesheet: {where} ({facts})")
        elif not facts["nav"] and not facts["publicPage"]:
            self.problems.append(f"page without the navigation bar: {where} ({facts})")
        if facts["overflow"] > 0 and not where.startswith("/admin/"):
            self.problems.append(f"page wider than the window by {facts['overflow']} px: {where}")
        if facts["wrapped"]:
            self.problems.append(f"navigation items broken over lines: {facts['wrapped']}")

    def links(self, scope: str = "main") -> list[str]:
        """The server's links in `scope` of the page shown, as paths, in page order."""
        hrefs: list[str] = self.page.eval_on_selector_all(
            f"{scope} a[href]", "els => els.map(e => e.getAttribute('href'))"
        )
        found: list[str] = []
        for href in hrefs:
            if not href or SKIP.search(href):
                continue
            absolute = urljoin(self.page.url, href)
            if not absolute.startswith(self.base + "/"):
                continue
            path = absolute.removeprefix(self.base).split("#")[0]
            if path not in found:
                found.append(path)
        return found

    def nav_links(self) -> list[str]:
        """Every page of the navigation bar (My settings included), in its order."""
        return self.links("header.topbar nav.nav")

    def walk_nav(self, *, deep: bool = True, extra: Iterable[str] = ()) -> list[str]:
        """Open every page of the navigation bar (and `extra` pages), then, if `deep`, one
        link of each kind each of them shows (a lead, a campaign, an edit page…)."""
        self.visit("/")
        pages = [*self.nav_links(), *extra]
        assert pages, f"{self.who} sees no navigation"
        second: list[str] = []
        for path in pages:
            self.visit(path)
            scope = "#content" if path.startswith("/admin/") else "main"
            links = self.links(scope)
            if path in SECTIONS:  # its pages (People, Teams) are the navigation's too
                pages += [link for link in links if link not in pages]
            second += [link for link in links if link not in second]
        if deep:
            for link in second:
                kind = shape(link)
                if kind in self.seen_shapes:
                    continue
                self.seen_shapes.add(kind)
                if DOWNLOAD.search(link):
                    self.fetch(link)
                else:
                    self.visit(link)
        return pages

    def search_leads(self, text: str) -> int:
        """Type `text` in the lead list's search box and pick the first stage in the filter:
        htmx swaps the results each time. How many leads the search found."""
        self.visit("/leads/")
        with self.page.expect_response(lambda r: "/leads/?" in r.url and "q=" in r.url):
            self.page.locator("#id_q").press_sequentially(text)
        self.page.locator("#results").wait_for()
        found = int(self.page.locator("#results .bar strong").inner_text())
        stage = self.page.eval_on_selector("#id_stage option:nth-child(2)", "e => e.value")
        with self.page.expect_response(lambda r: f"stage={stage}" in r.url):
            self.page.select_option("#id_stage", stage)
        self.check_page()
        return found

    def walk_admin_objects(self) -> None:
        """From each Django admin list the walk saw, the first object's change page."""
        lists = [path for path in self.visited if ADMIN_LIST.match(path)]
        for path in dict.fromkeys(lists):
            self.visit(path)
            first = self.page.locator("#result_list tbody a[href]").first
            if first.count():
                self.visit(urljoin(self.base + path, first.get_attribute("href") or ""))

    # --- on a lead page ----------------------------------------------------------------

    def _note_offered(self) -> None:
        """On a lead page, remember what it offers: its action buttons, the kinds of touch
        (a call, email or meeting is `log_touch`, a note `log_note`), reassigning."""
        if not LEAD_PAGE.match(self._where()):
            return
        forms: list[str] = self.page.eval_on_selector_all(
            ".actions-card form.action", "els => els.map(e => e.id.replace('action-', ''))"
        )
        self.offered.update(forms)
        for kind in self.touch_kinds():
            self.offered.add("log_note" if kind == "note" else "log_touch")
        if self.page.locator("form.reassign-form").count():
            self.offered.add("reassign")

    def open_lead(self, pk: int) -> None:
        self.visit(f"/leads/{pk}/")

    def touch_kinds(self) -> list[str]:
        """The kinds of touch the lead page shown offers."""
        kinds: list[str] = self.page.eval_on_selector_all(
            "#touch-form #id_kind option", "els => els.map(e => e.value)"
        )
        return kinds

    def touch(self, kind: str, outcome: str, notes: str) -> None:
        """Log a touch through the lead page's form (htmx swaps the activity panel)."""
        self.page.select_option("#id_kind", kind)
        # The outcome is optional; main's form enables only those that fit the kind and
        # lead (web/static/web/touch.js), so the walk logs each kind without one.
        del outcome
        self.page.fill("#id_notes", notes)
        with self.page.expect_response(lambda r: r.url.endswith("/touch/")):
            self.page.click("#touch-form button[type=submit]")
        self.page.locator("#timeline li", has_text=notes).first.wait_for()
        self.check_page()
        self.performed.add("log_note" if kind == "note" else "log_touch")
        self.touch_kinds_logged.append(kind)

    def submit(self, form: Any, what: str) -> str:
        """Submit `form` (a locator) with its button; the confirmation shown where it lands
        (none is a problem)."""
        with self.page.expect_navigation():
            form.locator("button").last.click()
        self.page.wait_for_load_state("load")
        self.visited.append(self._where())
        self.check_page()
        self._note_offered()
        done = self.page.locator(".messages .msg.success, .messages .msg.info")
        if not done.count():
            self.problems.append(f"{what}: no confirmation on {self._where()}")
            return ""
        return str(done.first.inner_text())

    def _submit(self, form: Any, action: str) -> str:
        self.performed.add(action)
        return self.submit(form, action)

    def act(self, lead: Any, action: str, **fields: str) -> str:
        """Open `lead`'s page, take `action` through its form, filling `fields`; the
        confirmation shown where it lands."""
        self.open_lead(lead.pk)
        form = self.page.locator(f"#action-{action}")
        if not form.count():
            self.problems.append(f"{action} is not offered on {self._where()}")
            return ""
        for name, value in fields.items():
            form.locator(f"[name='{action}-{name}']").fill(value)
        return self._submit(form, action)

    def reassign(self, lead: Any, to: Any, reason: str) -> str:
        """Give `lead` to the rep `to` through the lead page's reassign control."""
        self.open_lead(lead.pk)
        form = self.page.locator("form.reassign-form")
        if not form.count():
            self.problems.append(f"reassign is not offered on {self._where()}")
            return ""
        form.locator("select[name=to]").select_option(label=to.display_name)
        form.locator("input[name=reason]").fill(reason)
        return self._submit(form, "reassign")

    def done(self) -> None:
        """Fail with every problem the walk saw."""
        print(f"{self.who} walked {len(self.visited)} pages:", *self.visited, sep="\n  ")
        if self.problems:
            listed = "\n  ".join(dict.fromkeys(self.problems))
            raise AssertionError(f"walking as {self.who}, problems:\n  {listed}")
