"""The one place domain errors become HTTP answers; nothing leaks a traceback."""

from __future__ import annotations

import falcon
import peewee
import redis
from jinja2 import Environment
from loguru import logger

from web.queue import BrokerUnavailable


def _broker_unavailable(req, resp, error, params):
    logger.error("Broker unavailable: {}", error)
    raise falcon.HTTPServiceUnavailable(
        title="Layanan sedang sibuk", description="Coba lagi sebentar lagi.", retry_after=30
    )


def _database_unavailable(req, resp, error, params):
    logger.error("Database unavailable: {}", error)
    raise falcon.HTTPServiceUnavailable(
        title="Database tidak tersedia", description="Coba lagi sebentar lagi.", retry_after=30
    )


def _unexpected(req, resp, error, params):
    if isinstance(error, falcon.HTTPError):
        raise error
    logger.exception("Unhandled error on {} {}", req.method, req.path)
    raise falcon.HTTPInternalServerError(
        title="Terjadi kesalahan", description=f"Request id {req.context.get('request_id')}"
    )


# What a person reading a browser sees for each kind of answer (API clients keep JSON).
_PAGES = {
    400: ("Permintaan tidak valid", "Alamat atau isian yang dikirim tidak bisa kami proses."),
    401: ("Perlu masuk", "Halaman ini hanya untuk yang berhak membukanya."),
    403: ("Tidak diizinkan", "Halaman ini hanya untuk yang berhak membukanya."),
    404: ("Halaman tidak ditemukan", "Alamat yang Anda buka tidak ada. Periksa kembali tautannya."),
    405: ("Permintaan tidak valid", "Halaman ini tidak bisa dibuka dengan cara itu."),
    413: ("Kiriman terlalu besar", "Data yang dikirim melebihi batas."),
    415: ("Permintaan tidak valid", "Format data yang dikirim tidak kami terima."),
    429: ("Terlalu banyak percobaan", "Tunggu sebentar, lalu coba lagi."),
}
_UNAVAILABLE = (
    "Layanan sedang tidak tersedia",
    "Maaf, ada gangguan sementara. Coba lagi beberapa menit lagi; pembayaran Anda tetap aman.",
)


def _wants_html(req: falcon.Request) -> bool:
    """A browser asking for a page, not a client of the JSON API or a webhook sender."""
    if req.path.startswith(("/api/", "/webhooks/")):
        return False
    return req.client_prefers(["application/json", "text/html"]) == "text/html"


def error_serializer(templates: Environment):
    """Falcon's error serializer: an Indonesian HTML page for browsers, JSON for the rest
    (Falcon's default would answer a browser with XML)."""

    def serialize(req: falcon.Request, resp: falcon.Response, error: falcon.HTTPError) -> None:
        if not _wants_html(req):
            resp.content_type = falcon.MEDIA_JSON
            resp.data = error.to_json()
            return
        status = error.status_code
        heading, explanation = _PAGES.get(status, _UNAVAILABLE)
        resp.content_type = falcon.MEDIA_HTML
        resp.text = templates.get_template("error.html").render(
            status=status, heading=heading, explanation=explanation
        )

    return serialize


def install_error_handlers(app: falcon.App) -> None:
    app.add_error_handler(Exception, _unexpected)
    app.add_error_handler(BrokerUnavailable, _broker_unavailable)
    app.add_error_handler(redis.RedisError, _broker_unavailable)
    app.add_error_handler(peewee.OperationalError, _database_unavailable)
    app.add_error_handler(peewee.InterfaceError, _database_unavailable)
