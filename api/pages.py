"""The pages: the TV page (/tv), the operator console (/operator), the smartphone page (/m), and
the field pages: drivers (/driver), the drone operator (/drone), support workers (/support), sellers
(/seller); the municipality's dashboard (/municipality).

Each page is a server-rendered shell (Jinja2) with its own script and style from /static, after
the common scripts every page loads (static/common/: elements, the API client, the server's clock,
problems, the staff sign-in; docs/design.md, "Front end"); the scripts talk to the JSON API.
Nothing is loaded from outside the app: no CDN, no web fonts; the CSP below allows the app's own
scripts only, in any folder of /static.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
static = StaticFiles(directory=HERE / "static")
router = APIRouter(include_in_schema=False)

# What only pages need: they may load only what this app serves, and are never cached (they show
# personal data). nosniff, framing, referrer and the other common headers: api/security.py.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
}


def _page(request: Request, page: str, title: str) -> HTMLResponse:
    ctx = request.app.state.ctx
    cfg = ctx.config(ctx.default_tenant())
    resp = templates.TemplateResponse(request, f"{page}.html", {"title": title, "tenant": cfg, "page": page})
    resp.headers.update(PAGE_HEADERS)
    return resp


# path -> (page name: template, script and style; window title)
PAGES: dict[str, tuple[str, str]] = {
    "/tv": ("tv", "のりあい テレビ"),
    "/operator": ("operator", "のりあい オペレーター"),
    "/m": ("m", "のりあい"),
    "/driver": ("driver", "のりあい 運転手"),
    "/drone": ("drone", "のりあい ドローン"),
    "/support": ("support", "のりあい 集落支援員"),
    "/seller": ("seller", "のりあい 販売店"),
    "/municipality": ("municipality", "のりあい 市の統計"),
}


def _route(page: str, title: str) -> Callable[[Request], HTMLResponse]:
    def show(request: Request) -> HTMLResponse:
        return _page(request, page, title)

    return show


for _path, (_name, _title) in PAGES.items():
    router.add_api_route(
        _path, _route(_name, _title), methods=["GET"], response_class=HTMLResponse, name=_name
    )
