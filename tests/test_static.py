"""The front end's shell and dialects (docs/design.md, "Front end: one shell, and its dialects").

Every page template loads the common scripts (api/static/common/) first, in their order; the pages
of old browsers (the set-top box, the phones) load only ES5; requests and the staff sign-in live in
the common shell alone; a wheel carries every static file. No browser, no database: the templates
are rendered with a stand-in tenant and the scripts are read as text.
"""

from __future__ import annotations

import re
import tomllib
from fnmatch import fnmatch
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pytest

from api.pages import PAGES, templates

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "api" / "static"
COMMON = [
    "/static/common/dom.js",
    "/static/common/api.js",
    "/static/common/servertime.js",
    "/static/common/problem.js",
    "/static/common/signin.js",
]
# The set-top box and the phones (old browsers): ES5. The office PCs (operator, municipality): ES2017.
ES5_PAGES = ["tv", "m", "driver", "drone", "support", "seller"]
TENANT = SimpleNamespace(
    id="test-town",
    name="テスト町",
    timezone="Asia/Tokyo",
    call_centre_phone="0265-00-0000",
    billing=SimpleNamespace(collector=None),
)


class _Scripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.srcs: list[str] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            src = dict(attrs).get("src")
            if src:
                self.srcs.append(src)
            self._in_script = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(data)


def scripts_of(page: str, **extra: object) -> _Scripts:
    html = templates.env.get_template(f"{page}.html").render(
        request=None, title="t", tenant=TENANT, page=page, **extra
    )
    parser = _Scripts()
    parser.feed(html)
    return parser


# ---------- JavaScript as code only ----------

_REGEX_AFTER = set("(,=:[!&|?{};+-*%<>~^")
_REGEX_KEYWORDS = {"return", "typeof", "case", "in", "of", "new", "delete", "void", "throw", "else", "do"}


def code_only(src: str) -> str:
    """The source without comments, and with string and regex literals emptied (newlines kept, so
    line numbers hold). A template literal's backtick stays: it is what ES5 must not have."""
    out: list[str] = []
    i, n = 0, len(src)

    def regex_may_start() -> bool:
        text = "".join(out).rstrip()
        if not text or text[-1] in _REGEX_AFTER:
            return True
        word = re.search(r"([A-Za-z_$][\w$]*)$", text)
        return bool(word) and word.group(1) in _REGEX_KEYWORDS

    while i < n:
        c = src[i]
        if src.startswith("//", i):
            while i < n and src[i] != "\n":
                i += 1
        elif src.startswith("/*", i):
            end = src.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append("\n" * src.count("\n", i, end))
            i = end
        elif c in "'\"`":
            j = i + 1
            while j < n and src[j] != c:
                j += 2 if src[j] == "\\" else 1
            out.append(c + ("" if c == "`" else c) + "\n" * src.count("\n", i, j))
            i = j + 1
        elif c == "/" and regex_may_start():
            j, in_class = i + 1, False
            while j < n and (in_class or src[j] != "/") and src[j] != "\n":
                if src[j] == "\\":
                    j += 1
                elif src[j] == "[":
                    in_class = True
                elif src[j] == "]":
                    in_class = False
                j += 1
            out.append("/r/")
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


NOT_ES5 = {
    "an arrow function (=>)": re.compile(r"=>"),
    "const": re.compile(r"\bconst\s"),
    "let": re.compile(r"\blet\s"),
    "a template literal (`)": re.compile(r"`"),
    "a class": re.compile(r"\bclass\s"),
}


def es5_problems(path: Path) -> list[str]:
    code = code_only(path.read_text(encoding="utf-8"))
    found = []
    for line_no, line in enumerate(code.split("\n"), start=1):
        for what, pattern in NOT_ES5.items():
            if pattern.search(line):
                found.append(f"{path.relative_to(ROOT)}:{line_no}: {what}")
    return found


def static_file(src: str) -> Path:
    assert src.startswith("/static/"), src  # same origin: what the pages' CSP (script-src 'self') allows
    return STATIC / src.removeprefix("/static/")


# ---------- tests ----------


def test_the_es5_check_sees_through_comments_strings_and_regexes() -> None:
    quiet = (
        '/* const a = () => 1; */ var s = "=> `x` class let "; // let b\n'
        "var r = /[`'\"]=>/g, q = 'const '; var d = a / b / c; if (x) return /class /.test(s);\n"
    )
    code = code_only(quiet)
    assert not any(p.search(code) for p in NOT_ES5.values()), code
    for loud in ("var f = (x) => x;", "const a = 1;", "let a = 1;", "var t = `x`;", "class A {}"):
        assert any(p.search(code_only(loud)) for p in NOT_ES5.values()), loud


@pytest.mark.parametrize("page", sorted({name for name, _ in PAGES.values()}))
def test_every_page_loads_the_common_shell_first(page: str) -> None:
    found = scripts_of(page)
    assert found.srcs[: len(COMMON)] == COMMON, found.srcs
    assert found.srcs[len(COMMON) :], f"{page} loads no script of its own"
    assert not found.inline, f"{page} has inline script, which the CSP refuses"
    for src in found.srcs:
        assert static_file(src).is_file(), src


def test_the_page_without_script_stays_without() -> None:
    assert scripts_of("watch", state="ask", token="t").srcs == []


def test_the_old_browsers_get_es5_only() -> None:
    files = {static_file(src) for page in ES5_PAGES for src in scripts_of(page).srcs}
    assert {static_file(src) for src in COMMON} <= files
    problems = [p for f in sorted(files) for p in es5_problems(f)]
    assert not problems, "\n".join(problems)


def test_requests_and_the_staff_sign_in_live_in_the_common_shell() -> None:
    scripts = sorted(STATIC.rglob("*.js"))
    fetching = [f.relative_to(STATIC).as_posix() for f in scripts if "fetch(" in code_only(f.read_text())]
    assert fetching == ["common/api.js"]
    signing_in = [f.relative_to(STATIC).as_posix() for f in scripts if "/api/v1/auth/token" in f.read_text()]
    assert signing_in == ["common/signin.js"]


def test_a_wheel_carries_every_static_file() -> None:
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["api"]
    api = ROOT / "api"
    for f in STATIC.rglob("*"):
        if f.is_file():
            rel = f.relative_to(api).as_posix()
            assert any(fnmatch(rel, g) and rel.count("/") == g.count("/") for g in globs), rel
