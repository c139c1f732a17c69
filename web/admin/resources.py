"""Four generic resources: a screen as an HTML page or as JSON, an action as a form POST or as
a JSON POST. Each screen and action is one function, so a page and its JSON twin never differ
(only the health page adds the alarms' Indonesian text, see Screens.health_page).
Screens open their own database connection (the health screen must work without one).

None of them can change an order's status: the only actions wired are the outbox and
dead-letter recoveries and the access corrections in web/admin/actions.py, which queue the work
for a worker (202). An action that takes the form's fields (a reason) is wired `with_form`.
"""

from __future__ import annotations

from collections.abc import Callable

import falcon
from jinja2 import Environment

from models.db import connection
from web.admin.actions import ActionRefused
from web.admin.auth import AdminAuth, console_headers, require_bearer, require_session, safe_next
from web.admin.rendering import render
from web.body import read_form

Screen = Callable[..., dict]
Action = Callable[..., dict]


@falcon.before(require_session)
@falcon.after(console_headers)
class PageResource:
    def __init__(self, auth: AdminAuth, templates: Environment, template_name: str, screen: Screen):
        self.auth = auth
        self._templates = templates
        self._template_name = template_name
        self._screen = screen

    def on_get(self, req, resp, **params):
        """A refused query or a missing order is shown as a page the operator can read."""
        try:
            context = self._screen(req, **params)
        except (falcon.HTTPBadRequest, falcon.HTTPNotFound) as refusal:
            resp.status = refusal.status
            self._render("problem.html", req, resp, problem=refusal)
            return
        self._render(self._template_name, req, resp, **context)

    def _render(self, template_name: str, req, resp, **context) -> None:
        render(resp, self._templates, template_name, csrf_token=req.context.csrf_token, **context)


@falcon.before(require_bearer)
@falcon.after(console_headers)
class ApiResource:
    def __init__(self, auth: AdminAuth, screen: Screen):
        self.auth = auth
        self._screen = screen

    def on_get(self, req, resp, **params):
        resp.media = self._screen(req, **params)


def _params(req, params: dict, with_form: bool) -> dict:
    return {**params, "form": read_form(req)} if with_form else params


def _perform(action: Action, params: dict) -> tuple[str, dict]:
    """The HTTP status and outcome of an action: 202 queued, or a refusal (404, 409)."""
    try:
        with connection():
            return falcon.HTTP_202, action(**params)
    except ActionRefused as refusal:
        return refusal.http_status, {"ok": False, "message": str(refusal)}


@falcon.before(require_session)
@falcon.after(console_headers)
class PageActionResource:
    """A console button: does the action and shows its outcome with a way back."""

    def __init__(
        self, auth: AdminAuth, templates: Environment, action: Action, with_form: bool = False
    ):
        self.auth = auth
        self._templates = templates
        self._action = action
        self._with_form = with_form

    def on_post(self, req, resp, **params):
        resp.status, outcome = _perform(self._action, _params(req, params, self._with_form))
        back = safe_next(read_form(req).get("back"))
        render(
            resp,
            self._templates,
            "action.html",
            csrf_token=req.context.csrf_token,
            outcome=outcome,
            back=back,
        )


@falcon.before(require_bearer)
@falcon.after(console_headers)
class ApiActionResource:
    def __init__(self, auth: AdminAuth, action: Action, with_form: bool = False):
        self.auth = auth
        self._action = action
        self._with_form = with_form

    def on_post(self, req, resp, **params):
        resp.status, resp.media = _perform(self._action, _params(req, params, self._with_form))
