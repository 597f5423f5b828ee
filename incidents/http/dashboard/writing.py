"""Signing in with a token, and the forms that write through the service.

Signing in checks the token against the token store and keeps it in an HttpOnly,
SameSite=Strict cookie that the authentication middleware reads like a bearer token (for a
write, only with the service's own ``Origin``). Every form carries a CSRF token (Litestar's
CSRF middleware, on ``/dashboard`` only). A form posted without a writer's session sends the
browser to the sign-in page.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Controller, Request, Response, get, post
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from incidents.http.auth import SESSION_COOKIE, tokens_of
from incidents.http.dashboard import forms
from incidents.http.dashboard.pages import (
    STREAM_PAGES,
    frame,
    named,
    stream_context,
    stream_state,
)
from incidents.projections.reader import Projections
from incidents.service import LogService
from incidents.tokens import Principal

PUBLIC = {"role": "public"}


def csrf_config(secret: str | None) -> CSRFConfig:
    """CSRF tokens on every dashboard form (the middleware wraps the dashboard's routes
    only: API clients send bearer tokens, not cookies). Served workers share ``secret`` (a
    token one worker made must hold in another); without one, this process makes its own."""
    return CSRFConfig(
        secret=secret or secrets.token_urlsafe(32),
        cookie_name="incidents_csrf",
        cookie_httponly=True,
        cookie_samesite="strict",
        cookie_path="/dashboard",
    )


def _writer(request: Request[Any, Any, Any]) -> Principal | None:
    user = request.scope.get("user")
    return user if isinstance(user, Principal) and user.may("writer") else None


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: a dashboard path of this site, never elsewhere."""
    if target and target.startswith("/dashboard") and not target.startswith("//"):
        return target
    return "/dashboard/"


def _to_sign_in(request: Request[Any, Any, Any], back: str) -> Redirect:
    return Redirect(f"/dashboard/sign-in?next={quote(back)}", status_code=303)


async def _form(request: Request[Any, Any, Any]) -> dict[str, Any]:
    data = await request.form()
    values: dict[str, Any] = {}
    for key, value in data.multi_items():
        if key in values:
            existing = values[key]
            values[key] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            values[key] = value
    return values


def _stream_form(
    category: str,
    action: str,
    submit: Callable[[LogService, str, dict[str, Any], str], Awaitable[forms.FormResult]],
    doc: str,
) -> HTTPRouteHandler:
    """``POST /{category}s/{stream_id}/{action}``: a form on a note's or a protest's page,
    handed to ``submit`` (see :func:`_post_to_stream`)."""

    async def handler(
        self: Controller,
        request: Request[Any, Any, Any],
        stream_id: FromPath[str],
        projections: NamedDependency[Projections],
        service: NamedDependency[LogService],
    ) -> Response[Any]:
        return await _post_to_stream(
            request, category, stream_id, projections, partial(submit, service)
        )

    route = post(f"/{category}s/{{stream_id:str}}/{action}", opt=PUBLIC, status_code=303)
    return route(named(handler, action, doc))


def _new_stream_routes(
    category: str,
    action: str,
    article: str,
    submit: Callable[[LogService, dict[str, Any], str], Awaitable[forms.FormResult]],
) -> tuple[HTTPRouteHandler, HTTPRouteHandler]:
    """``GET`` and ``POST /{category}s/new``: the form opening a new stream of
    ``category``, and its post (``action``), both through :func:`_new_stream`."""

    async def page(
        self: Controller, request: Request[Any, Any, Any], service: NamedDependency[LogService]
    ) -> Response[Any]:
        return await _new_stream(request, service, category)

    async def create(
        self: Controller, request: Request[Any, Any, Any], service: NamedDependency[LogService]
    ) -> Response[Any]:
        return await _new_stream(request, service, category, submit)

    what = f"{action} {article} {category}"
    path = f"/{category}s/new"
    return (
        get(path)(named(page, f"new_{category}_page", f"The form to {what}.")),
        post(path, opt=PUBLIC, status_code=303)(
            named(create, action, f"{what.capitalize()}: a new {category} stream.")
        ),
    )


class WritingController(Controller):
    """Sign in and out, and the four forms."""

    path = "/"
    include_in_schema = False

    @get("/sign-in", opt=PUBLIC)
    async def sign_in_page(
        self,
        request: Request[Any, Any, Any],
        next_: Annotated[str | None, QueryParameter(name="next", max_length=2000)] = None,
    ) -> Template:
        """The sign-in form."""
        return Template(
            "sign_in.html",
            context={**frame(request), "next": _safe_next(next_), "errors": {}},
        )

    @post("/sign-in", opt=PUBLIC, status_code=303)
    async def sign_in(self, request: Request[Any, Any, Any]) -> Response[Any]:
        """Check the token; keep it in the session cookie when it holds."""
        form = await _form(request)
        token = str(form.get("token", "")).strip()
        target = _safe_next(str(form.get("next", "")))
        principal = await tokens_of(request.app).authenticate(token) if token else None
        if principal is None:
            message = "Give your token." if not token else "This token is not valid."
            return Template(
                "sign_in.html",
                context={**frame(request), "next": target, "errors": {"token": message}},
                status_code=401,
            )
        response: Response[Any] = Redirect(target, status_code=303)
        response.set_cookie(
            Cookie(
                key=SESSION_COOKIE,
                value=token,
                path="/",
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
            )
        )
        return response

    @post("/sign-out", opt=PUBLIC, status_code=303)
    async def sign_out(self) -> Redirect:
        """Forget the session."""
        response = Redirect("/dashboard/", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    reply = _stream_form("note", "reply", forms.record_reply, "Record a reply to the note.")
    answer = _stream_form(
        "protest", "answer", forms.answer_demand, "Answer one demand of the protest."
    )
    new_protest_page, lodge = _new_stream_routes("protest", "lodge", "a", forms.lodge_protest)
    new_incident_page, report = _new_stream_routes(
        "incident", "report", "an", forms.report_incident
    )


def _created_page(category: str, result: forms.FormResult) -> str:
    """Where a new stream is shown: a protest's own page; an incident's mission's page."""
    if category == "protest":
        return f"/dashboard/protests/{result.stream_id}"
    mission = result.values.get("mission")
    return f"/dashboard/missions/{mission}" if mission else "/dashboard/"


async def _new_stream(
    request: Request[Any, Any, Any],
    service: LogService,
    category: str,
    submit: Callable[[LogService, dict[str, Any], str], Awaitable[forms.FormResult]] | None = None,
) -> Response[Any]:
    """The form opening a new stream (``submit`` None), or what its post makes: the new
    stream's page, or the form again showing what it got wrong (422); a visitor without a
    writer's session signs in first."""
    writer = _writer(request)
    if writer is None:
        return _to_sign_in(request, f"/dashboard/{category}s/new")
    template = f"new_{category}.html"
    if submit is None:
        return await _new_form(request, service, template, forms.FormResult({}))
    result = await submit(service, await _form(request), writer.name)
    if result.ok:
        return Redirect(_created_page(category, result), status_code=303)
    return await _new_form(request, service, template, result, 422)


async def _post_to_stream(
    request: Request[Any, Any, Any],
    category: str,
    stream_id: str,
    projections: Projections,
    submit: Callable[[str, dict[str, Any], str], Awaitable[forms.FormResult]],
) -> Response[Any]:
    """Submit a note's or a protest's form: back to its page, or the page again showing
    what the form got wrong (422); a visitor without a writer's session signs in first."""
    page = f"/dashboard/{category}s/{stream_id}"
    writer = _writer(request)
    if writer is None:
        return _to_sign_in(request, page)
    state = await stream_state(projections, category, stream_id)
    result = await submit(stream_id, await _form(request), writer.name)
    if result.ok:
        return Redirect(page, status_code=303)
    context = await stream_context(request, category, stream_id, state, projections)
    posted, *_ = STREAM_PAGES[category][1]
    context[posted] = result
    return Template(f"{category}.html", context=context, status_code=422)


async def _new_form(
    request: Request[Any, Any, Any],
    service: LogService,
    template: str,
    result: forms.FormResult,
    status_code: int = 200,
) -> Template:
    missions = await service.store.list_streams("mission")
    return Template(
        template,
        context={
            **frame(request),
            "form": result,
            "missions": [row.stream_id for row in missions],
            "choices": forms,
        },
        status_code=status_code,
    )
