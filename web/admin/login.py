"""The console's login form and logout button."""

from __future__ import annotations

import falcon
import redis
from jinja2 import Environment
from loguru import logger

from web.admin.auth import (
    AdminAuth,
    client_address,
    console_headers,
    refuse_if_locked,
    require_session,
    safe_next,
)
from web.admin.rendering import render, see_other
from web.body import read_form


@falcon.after(console_headers)
class LoginResource:
    """GET shows the form; POST checks the token and sets the session cookie."""

    def __init__(self, auth: AdminAuth, templates: Environment):
        self.auth = auth
        self._templates = templates

    def on_get(self, req, resp):
        next_path = safe_next(req.get_param("next"))
        if self.auth.session_of(req):
            raise falcon.HTTPSeeOther(next_path)
        render(resp, self._templates, "login.html", next_path=next_path, error=None)

    def on_post(self, req, resp):
        refuse_if_locked(self.auth, req)
        form = read_form(req)
        next_path = safe_next(form.get("next"))
        if self.auth.token_matches(form.get("token", "")):
            self.auth.set_session_cookie(resp, self.auth.new_session())
            logger.info("Admin signed in to the console")
            see_other(resp, next_path)
            return
        if self.auth.throttle.record_failure(client_address(req)):
            resp.status = falcon.HTTP_429
            error = "Terlalu banyak percobaan gagal. Tunggu semenit, lalu coba lagi."
        else:
            resp.status = falcon.HTTP_401
            error = "Token admin salah."
        render(resp, self._templates, "login.html", next_path=next_path, error=error)


@falcon.before(require_session)
@falcon.after(console_headers)
class LogoutResource:
    def __init__(self, auth: AdminAuth):
        self.auth = auth

    def on_post(self, req, resp):
        try:
            self.auth.end_sessions(req)
        except redis.RedisError as error:
            logger.error("Admin logout not recorded: {}", error)
            raise falcon.HTTPServiceUnavailable(
                title="Logout could not be recorded; try again in a moment", retry_after=5
            ) from error
        self.auth.clear_session_cookie(resp)
        see_other(resp, "/admin/login")
