"""Real servers and a real browser for the page tests: uvicorn on a loopback port, Debian's
Chromium driven by Playwright (never a downloaded browser), and checks every page test shares:
the request log (nothing outside the app), colour contrast, type size, the focused element, and
axe-core's WCAG 2.2 A/AA rules on every state a test photographs (`shot`)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import uvicorn

from api.app import create_app
from api.ratelimit import proxy_options
from dispatcher.context import Dispatcher

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(os.environ.get("NORIAI_TEST_ARTIFACTS", "var/test-artifacts"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_serving(
    base: str, proc: Any, why: Callable[[], str] = lambda: "", seconds: float = 60
) -> None:
    """Wait until a `noriai serve` subprocess answers /healthz; RuntimeError if it dies or never does."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError(f"server did not start:\n{why()}")
        time.sleep(0.2)


class Server:
    """uvicorn serving the app in a background thread on a loopback port, with `noriai serve`'s
    client-address options (`trusted_proxies`: none by default, as deployed)."""

    def __init__(self, ctx: Dispatcher, app: Any = None, trusted_proxies: list[str] | None = None) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            app or create_app(ctx=ctx, scheduler=False),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            **proxy_options(trusted_proxies or []),
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.05)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def launch(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


class RequestLog:
    """Every URL the page asked for; `outside(base)` lists those not served by the app."""

    def __init__(self, page: Any) -> None:
        self.urls: list[str] = []
        page.on("request", lambda r: self.urls.append(r.url))

    def outside(self, base: str) -> list[str]:
        host = urlparse(base).netloc
        return [u for u in self.urls if not u.startswith(("data:", "blob:")) and urlparse(u).netloc != host]


# For each visible element with its own text: the text colour and the colour behind it (the
# nearest ancestor with an opaque background, blended over the page), and the contrast ratio.
CONTRAST_JS = """
() => {
  function rgba(s) {
    const m = s.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return [0, 0, 0, 0];
    const p = m[1].split(',').map(x => parseFloat(x));
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  }
  function lum(c) {
    const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  }
  function blend(top, under) {
    const a = top[3];
    return [0, 1, 2].map(i => top[i] * a + under[i] * (1 - a)).concat([1]);
  }
  function background(el) {
    const stack = [];
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) stack.push(c);
      if (c[3] >= 1) break;
    }
    let bg = [255, 255, 255, 1];
    for (let i = stack.length - 1; i >= 0; i--) bg = blend(stack[i], bg);
    return bg;
  }
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const own = Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own) continue;
    const r = el.getBoundingClientRect();
    const st = getComputedStyle(el);
    if (!r.width || !r.height || st.visibility === 'hidden' || el.closest('[hidden]')) continue;
    const fg = blend(rgba(st.color), background(el));
    const l1 = lum(fg), l2 = lum(background(el));
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    out.push({text: el.textContent.trim().slice(0, 40), ratio: ratio, size: parseFloat(st.fontSize),
              focused: el === document.activeElement || el.closest(':focus') !== null});
  }
  return out;
}
"""


def text_styles(page: Any) -> list[dict[str, Any]]:
    """Contrast ratio and font size (px) of every visible text on the page."""
    return page.evaluate(CONTRAST_JS)


def focused(page: Any) -> str:
    """The data-id (or text) of the focused element."""
    return page.evaluate(
        "() => { const e = document.activeElement; "
        "return e ? (e.getAttribute('data-id') || e.textContent.trim()) : ''; }"
    )


def shot(page: Any, folder: str, name: str) -> Path:
    """Screenshot of the page state as `ARTIFACTS/folder/name.png`, then `accessible(page)`: every
    state a browser test photographs is also checked by axe-core."""
    path = ARTIFACTS / folder / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))
    accessible(page, f"{folder}/{name}")
    return path


# WCAG 2.2 level A and AA, as axe-core tags them.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
_AXE_SEEN: set[str] = set()
_AXE_SECONDS = [0.0]


def axe_seconds() -> float:
    """Seconds spent in axe-core so far in this process (a test's own time budget leaves them out)."""
    return _AXE_SECONDS[0]


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.2 A/AA violations on the page as it is now. The script comes from the
    axe-playwright-python package (bundled, never fetched) and is injected once per document."""
    from axe_playwright_python.base import AXE_SCRIPT
    from playwright.sync_api import Error

    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
    for attempt in (1, 2):
        try:
            if not page.evaluate("() => typeof window.axe === 'object'"):
                page.evaluate(AXE_SCRIPT)
            return page.evaluate("options => axe.run(document, options).then(r => r.violations)", options)
        except Error as e:  # the page went on to another document meanwhile: check that one
            if attempt == 2 or "context was destroyed" not in str(e):
                raise
            page.wait_for_load_state()
    return []


def describe_violations(violations: list[dict[str, Any]]) -> str:
    """One line per rule and element: rule id, impact, what is wrong and the element's selector and HTML."""
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v.get('impact')}): {v['help']}")
        for node in v["nodes"]:
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"    {' '.join(map(str, node['target']))}  {node['html'][:160]}  — {summary[:240]}")
    return "\n".join(lines)


def accessible(page: Any, where: str = "") -> None:
    """AssertionError listing axe-core's WCAG 2.2 A/AA violations (rule and element) on the page.
    A state already checked in this process (same address and same markup) is not checked again."""
    state = page.evaluate(
        "() => location.pathname + location.search + '#' + document.documentElement.outerHTML.length + ':' + "
        "Array.from(document.documentElement.outerHTML).reduce((h, c) => (h * 31 + c.charCodeAt(0)) | 0, 0)"
    )
    if state in _AXE_SEEN:
        return
    started = time.monotonic()
    violations = axe_violations(page)
    _AXE_SECONDS[0] += time.monotonic() - started
    if not violations:
        _AXE_SEEN.add(state)
        return
    raise AssertionError(
        f"axe-core, WCAG 2.2 A/AA, at {where or page.url}:\n{describe_violations(violations)}"
    )


class WebhookReceiver:
    """A partner's HTTP server on loopback: records every POST (headers and raw body) and answers
    with `status` and `body` (change them to make the partner fail or recover). `tls`: (cert, key)
    PEM files, for an https:// partner (`self_signed` makes a pair for 127.0.0.1)."""

    def __init__(self, status: int = 200, body: bytes = b"ok", tls: tuple[Path, Path] | None = None) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.status = status
        self.body = body
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", str(len(receiver.body)))
                self.end_headers()
                self.wfile.write(receiver.body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.scheme = "http"
        if tls is not None:
            import ssl

            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.server.server_address[1]}/noriai"

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (PEM, by the openssl command), to serve https on
    loopback; the certificate is its own CA (NORIAI_WEBHOOK_CA_FILE)."""
    import subprocess

    cert, key = folder / "partner.crt", folder / "partner.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


class MailBox:
    """A real SMTP server (aiosmtpd) on loopback that keeps every message it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Any] = []
        box = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                from email import message_from_bytes, policy

                box.messages.append(message_from_bytes(envelope.content, policy=policy.default))
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=free_port())

    @property
    def port(self) -> int:
        return self.controller.port

    def __enter__(self) -> MailBox:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
