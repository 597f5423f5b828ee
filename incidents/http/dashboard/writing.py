"""Signing in with a token, and the forms that write through the service.

Signing in checks the token against the token store and keeps it in an HttpOnly,
SameSite=Strict cookie that the authentication middleware reads like a bearer token (for a
write, only with the service's own ``Origin``). Every form carries a CSRF token (Litestar's
CSRF middleware, on ``/dashboard`` only). A form posted without a writer's session sends the
browser to the sign-in page.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Controller, Request, Response, get, post
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from incidents.domain.state import NoteState, ProtestState
from incidents.http.auth import SESSION_COOKIE, tokens_of
from incidents.http.dashboard import forms, reads
from incidents.http.dashboard.pages import checked_stream, frame, note_context, protest_context
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

    @post("/notes/{stream_id:str}/reply", opt=PUBLIC, status_code=303)
    async def reply(
        self,
        request: Request[Any, Any, Any],
        stream_id: FromPath[str],
        projections: NamedDependency[Projections],
        service: NamedDependency[LogService],
    ) -> Response[Any]:
        """Record a reply to the note."""
        page = f"/dashboard/notes/{stream_id}"
        writer = _writer(request)
        if writer is None:
            return _to_sign_in(request, page)
        note = await reads.stream_state(projections, checked_stream(stream_id, "note"), NoteState)
        if note is None:
            raise NotFoundException(f"no note {stream_id!r}")
        result = await forms.record_reply(service, stream_id, await _form(request), writer.name)
        if result.ok:
            return Redirect(page, status_code=303)
        context = await note_context(request, stream_id, note, projections)
        context["reply_form"] = result
        return Template("note.html", context=context, status_code=422)

    @post("/protests/{stream_id:str}/answer", opt=PUBLIC, status_code=303)
    async def answer(
        self,
        request: Request[Any, Any, Any],
        stream_id: FromPath[str],
        projections: NamedDependency[Projections],
        service: NamedDependency[LogService],
    ) -> Response[Any]:
        """Answer one demand of the protest."""
        page = f"/dashboard/protests/{stream_id}"
        writer = _writer(request)
        if writer is None:
            return _to_sign_in(request, page)
        protest = await reads.stream_state(
            projections, checked_stream(stream_id, "protest"), ProtestState
        )
        if protest is None:
            raise NotFoundException(f"no protest {stream_id!r}")
        result = await forms.answer_demand(service, stream_id, await _form(request), writer.name)
        if result.ok:
            return Redirect(page, status_code=303)
        context = await protest_context(request, stream_id, protest, projections)
        context["answer_form"] = result
        return Template("protest.html", context=context, status_code=422)

    @get("/protests/new")
    async def new_protest_page(
        self, request: Request[Any, Any, Any], service: NamedDependency[LogService]
    ) -> Response[Any]:
        """The form to lodge a protest."""
        writer = _writer(request)
        if writer is None:
            return _to_sign_in(request, "/dashboard/protests/new")
        return await _new_form(request, service, "new_protest.html", forms.FormResult({}))

    @post("/protests/new", opt=PUBLIC, status_code=303)
    async def lodge(
        self, request: Request[Any, Any, Any], service: NamedDependency[LogService]
    ) -> Response[Any]:
        """Lodge a protest: a new protest stream."""
        writer = _writer(request)
        if writer is None:
            return _to_sign_in(request, "/dashboard/protests/new")
        result = await forms.lodge_protest(service, await _form(request), writer.name)
        if result.ok and result.stream_id is not None:
            return Redirect(f"/dashboard/protests/{result.stream_id}", status_code=303)
        return await _new_form(request, service, "new_protest.html", result, 422)

    @get("/incidents/new")
    async def new_incident_page(
        self, request: Request[Any, Any, Any], service: NamedDependency[LogService]
    ) -> Response[Any]:
        """The form to report an incident."""
        writer = _writer(request)
        if writer is None:
            return _to_sign_in(request, "/dashboard/incidents/new")
        return await _new_form(request, service, "new_incident.html", forms.FormResult({}))

    @post("/incidents/new", opt=PUBLIC, status_code=303)
    async def report(
        self, request: Request[Any, Any, Any], service: NamedDependency[LogService]
    ) -> Response[Any]:
        """Report an incident: a new incident stream."""
        writer = _writer(request)
        if writer is None:
            return _to_sign_in(request, "/dashboard/incidents/new")
        result = await forms.report_incident(service, await _form(request), writer.name)
        if result.ok:
            mission = result.values.get("mission")
            return Redirect(
                f"/dashboard/missions/{mission}" if mission else "/dashboard/", status_code=303
            )
        return await _new_form(request, service, "new_incident.html", result, 422)


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
