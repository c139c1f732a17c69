"""Starting and stopping the whole sandbox (HTTP on waitress, SMTP on aiosmtpd) in-process."""

import threading
from dataclasses import dataclass

import waitress
from waitress import wasyncore
from waitress.server import BaseWSGIServer

from harness.sandbox.app import add_sandbox_routes, create_sandbox_app
from harness.sandbox.config import SandboxConfig
from harness.sandbox.smtp import SmtpSandbox
from harness.sandbox.state import SandboxState

__all__ = ["SandboxConfig", "SandboxHandle", "start_sandbox"]

WILDCARD_HOSTS = {"", "0.0.0.0", "::"}


@dataclass
class SandboxHandle:
    """A running sandbox: where to reach it, its state for inspection, and how to stop it."""

    base_url: str
    smtp_host: str
    smtp_port: int
    state: SandboxState
    http_server: BaseWSGIServer
    http_thread: threading.Thread
    smtp: SmtpSandbox

    def stop(self) -> None:
        """Close both listeners; closing runs on waitress' own loop thread so it exits cleanly."""
        self.smtp.stop()
        server = self.http_server
        server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        self.http_thread.join(timeout=5)
        server.task_dispatcher.shutdown()


def _reachable_host(host: str) -> str:
    """Where a local client connects when the server binds every interface."""
    return "127.0.0.1" if host in WILDCARD_HOSTS else host


def start_sandbox(config: SandboxConfig) -> SandboxHandle:
    """Listen on the configured ports (0 picks free ones) and serve in daemon threads."""
    state = SandboxState()
    app = create_sandbox_app()
    http_server = waitress.create_server(
        app, host=config.host, port=config.http_port, threads=config.http_threads, ident="sandbox"
    )
    base_url = f"http://{_reachable_host(config.host)}:{http_server.effective_port}"
    smtp = SmtpSandbox(state, config.host, config.smtp_port)
    add_sandbox_routes(app, state, config, config.public_url or base_url, smtp)
    smtp.start()
    http_thread = threading.Thread(target=http_server.run, name="sandbox-http", daemon=True)
    http_thread.start()
    return SandboxHandle(
        base_url, _reachable_host(config.host), smtp.port, state, http_server, http_thread, smtp
    )
