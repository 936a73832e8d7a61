"""The pages: the TV page (/tv), the operator console (/operator), the smartphone page (/m), and
the field pages: drivers (/driver), the drone operator (/drone), support workers (/support), sellers
(/seller).

Each page is a server-rendered shell (Jinja2) with its own script and style from /static; the
scripts talk to the JSON API. Nothing is loaded from outside the app: no CDN, no web fonts.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
static = StaticFiles(directory=HERE / "static")
router = APIRouter(include_in_schema=False)

# Pages must not be framed by other sites, and may load only what this app serves.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _page(request: Request, page: str, title: str) -> HTMLResponse:
    ctx = request.app.state.ctx
    cfg = ctx.config(ctx.default_tenant())
    resp = templates.TemplateResponse(request, f"{page}.html", {"title": title, "tenant": cfg, "page": page})
    resp.headers.update(SECURITY_HEADERS)
    return resp


@router.get("/tv", response_class=HTMLResponse)
def tv(request: Request) -> HTMLResponse:
    return _page(request, "tv", "のりあい テレビ")


@router.get("/operator", response_class=HTMLResponse)
def operator(request: Request) -> HTMLResponse:
    return _page(request, "operator", "のりあい オペレーター")


@router.get("/m", response_class=HTMLResponse)
def phone(request: Request) -> HTMLResponse:
    return _page(request, "m", "のりあい")


@router.get("/driver", response_class=HTMLResponse)
def driver(request: Request) -> HTMLResponse:
    return _page(request, "driver", "のりあい 運転手")


@router.get("/drone", response_class=HTMLResponse)
def drone(request: Request) -> HTMLResponse:
    return _page(request, "drone", "のりあい ドローン")


@router.get("/support", response_class=HTMLResponse)
def support(request: Request) -> HTMLResponse:
    return _page(request, "support", "のりあい 集落支援員")


@router.get("/seller", response_class=HTMLResponse)
def seller(request: Request) -> HTMLResponse:
    return _page(request, "seller", "のりあい 販売店")
