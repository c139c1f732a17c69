"""The one place domain errors become HTTP answers; nothing leaks a traceback."""

from __future__ import annotations

import falcon
import peewee
import redis
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


def install_error_handlers(app: falcon.App) -> None:
    app.add_error_handler(Exception, _unexpected)
    app.add_error_handler(BrokerUnavailable, _broker_unavailable)
    app.add_error_handler(redis.RedisError, _broker_unavailable)
    app.add_error_handler(peewee.OperationalError, _database_unavailable)
    app.add_error_handler(peewee.InterfaceError, _database_unavailable)
