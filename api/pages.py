"""The pages: the TV page (/tv), the operator console (/operator), the smartphone page (/m), and
the field pages: drivers (/driver), the drone operator (/drone), support workers (/support), sellers
(/seller); the municipality's dashboard (/municipality).

Every municipality has its own pages under /t/<tenant id>/ (/t/ina-demo/tv, ...). The plain paths
(/tv, ...) serve the deployment's only municipality; where several are served they show a chooser
listing them. An unknown municipality is a 404 page in Japanese. The page's tenant is in
`<html data-tenant>`: the scripts send it where they sign in without a staff token (a new TV box,
the phone's PIN) and the staff sign-in sends it too, so a user of another town is refused.

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
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from dispatcher.context import Dispatcher
from dispatcher.errors import InvalidRequest, NotFound
from dispatcher.tenant_config import TenantConfig

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


def _render(request: Request, template: str, context: dict[str, object], status: int = 200) -> HTMLResponse:
    resp = templates.TemplateResponse(request, template, context, status_code=status)
    resp.headers.update(PAGE_HEADERS)
    return resp


def tenant_prefix(tenant_id: str) -> str:
    """Where a municipality's own pages live: /t/<tenant id>."""
    return f"/t/{tenant_id}"


def page_tenant(request: Request, tenant_id: str | None) -> tuple[TenantConfig, str] | None:
    """The configuration of the page's municipality and the path prefix of its pages, or None when
    the path names an unknown one (tenant_id given) or the plain path cannot tell which (several)."""
    ctx: Dispatcher = request.app.state.ctx
    if tenant_id is None:
        try:
            return ctx.config(ctx.default_tenant()), ""
        except InvalidRequest:
            return None
    try:
        return ctx.config(tenant_id), tenant_prefix(tenant_id)
    except NotFound:
        return None


def towns_page(request: Request, path: str, unknown: str | None = None) -> HTMLResponse:
    """The chooser of municipalities for a plain path (or the 404 page of an unknown one): each
    town's link to the same page under its prefix."""
    ctx: Dispatcher = request.app.state.ctx
    towns = [(name, f"{tenant_prefix(tid)}{path}") for tid, name in ctx.tenants()]
    return _render(
        request,
        "towns.html",
        {
            "title": "のりあい 市町村を選ぶ",
            "tenant": None,
            "page": "towns",
            "towns": towns,
            "unknown": unknown,
        },
        status=404 if unknown is not None else 200,
    )


def _page(request: Request, page: str, title: str, path: str, tenant_id: str | None = None) -> HTMLResponse:
    found = page_tenant(request, tenant_id)
    if found is None:
        return towns_page(request, path, unknown=tenant_id)
    cfg, prefix = found
    return _render(request, f"{page}.html", {"title": title, "tenant": cfg, "page": page, "base": prefix})


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


# what each page is for, in a municipality's list of its pages
LABELS: dict[str, str] = {
    "tv": "テレビの画面（利用者のお宅）",
    "operator": "オペレーター（電話受付・登録）",
    "m": "スマートフォンの画面（利用者・ご家族）",
    "driver": "運転手",
    "drone": "ドローンの運航",
    "support": "集落支援員",
    "seller": "販売店",
    "municipality": "市町村の統計",
}


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    """The server's front page: the municipalities it serves, each with the list of its pages."""
    return towns_page(request, "")


def _route(page: str, title: str, path: str) -> Callable[[Request], HTMLResponse]:
    def show(request: Request) -> HTMLResponse:
        return _page(request, page, title, path)

    return show


def _tenant_route(page: str, title: str, path: str) -> Callable[[Request, str], HTMLResponse]:
    def show(request: Request, tenant_id: str) -> HTMLResponse:
        return _page(request, page, title, path, tenant_id)

    return show


for _path, (_name, _title) in PAGES.items():
    router.add_api_route(
        _path, _route(_name, _title, _path), methods=["GET"], response_class=HTMLResponse, name=_name
    )
    router.add_api_route(
        "/t/{tenant_id}" + _path,
        _tenant_route(_name, _title, _path),
        methods=["GET"],
        response_class=HTMLResponse,
        name=f"{_name}-of-tenant",
    )


@router.get("/t/{tenant_id}", response_class=HTMLResponse)
def town_pages(request: Request, tenant_id: str) -> HTMLResponse:
    """A municipality's own list of its pages (404 page for an unknown one)."""
    found = page_tenant(request, tenant_id)
    if found is None:
        return towns_page(request, "", unknown=tenant_id)
    cfg, prefix = found
    pages = [(LABELS[name], f"{prefix}{path}") for path, (name, _) in PAGES.items() if _offered(cfg, name)]
    return _render(
        request,
        "towns.html",
        {"title": f"{cfg.name} のりあい", "tenant": cfg, "page": "towns", "pages": pages, "unknown": None},
    )


@router.get("/t/{tenant_id}/", include_in_schema=False)
def town_pages_slash(tenant_id: str) -> RedirectResponse:
    return RedirectResponse(tenant_prefix(tenant_id), status_code=308)


def _offered(cfg: TenantConfig, page: str) -> bool:
    """Whether a municipality has any use for a page (no drones: no drone page; no shopping: no
    support workers' or sellers' page). The pages still open: they have nothing to show."""
    if page == "drone":
        return cfg.drones is not None
    if page in ("support", "seller"):
        return cfg.shopping is not None
    return True
