"""Settings are read once; a missing or bad one stops start-up with one line naming it."""

from pathlib import Path

import pytest

from config.settings import (
    GRAPH_API_URL,
    SANDBOX_SERVER_KEY,
    SettingsError,
    load_settings,
    startup_warnings,
)
from tasks.services import policy_from_settings

REAL = {
    "MIDTRANS_SERVER_KEY": "SB-Mid-server-real",
    "ADMIN_TOKEN": "a" * 32,
    "SMTP_HOST": "smtp.example.com",
    "WHATSAPP_TOKEN": "t",
    "WHATSAPP_PHONE_NUMBER_ID": "1",
    "WHATSAPP_VERIFY_TOKEN": "verify-me",
    "WHATSAPP_APP_SECRET": "app-secret",
    "PUBLIC_BASE_URL": "https://shop.example.id",
    "TRUSTED_PROXY": "127.0.0.1",
    "SELLER_NAME": "CV Film Pintar",
    "SELLER_ADDRESS": "Jl. Braga No. 10, Bandung 40111",
    "SELLER_WHATSAPP": "0812-3456-7890",
    "SELLER_EMAIL": "halo@shop.example.id",
}


def test_without_keys_everything_points_at_the_local_sandbox():
    settings = load_settings({})
    assert settings.uses_sandbox and settings.midtrans.server_key == SANDBOX_SERVER_KEY
    assert settings.midtrans.snap_base_url == "http://127.0.0.1:8100/snap/v1"
    assert settings.midtrans.api_base_url == "http://127.0.0.1:8100"
    assert settings.whatsapp.api_url == "http://127.0.0.1:8100/v26.0"
    assert settings.midtrans.verify_with_status_api


def test_real_sandbox_keys_use_midtrans_sandbox_and_the_graph_api():
    settings = load_settings(REAL)
    assert not settings.uses_sandbox
    assert settings.midtrans.snap_base_url == "https://app.sandbox.midtrans.com/snap/v1"
    assert settings.midtrans.api_base_url == "https://api.sandbox.midtrans.com"
    assert settings.whatsapp.api_url == GRAPH_API_URL


PRODUCTION = {
    **REAL,
    "MIDTRANS_IS_PRODUCTION": "true",
    "DATABASE_URL": "postgresql://bfa@db.internal/bfa",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


def test_production_uses_production_urls():
    settings = load_settings(PRODUCTION)
    assert settings.midtrans.snap_base_url == "https://app.midtrans.com/snap/v1"
    assert settings.midtrans.api_base_url == "https://api.midtrans.com"


@pytest.mark.parametrize(
    "missing",
    [
        "ADMIN_TOKEN",
        "SMTP_HOST",
        "WHATSAPP_TOKEN",
        "WHATSAPP_PHONE_NUMBER_ID",
        "WHATSAPP_VERIFY_TOKEN",
        "WHATSAPP_APP_SECRET",
        "PUBLIC_BASE_URL",
        "TRUSTED_PROXY",
        "SELLER_NAME",
        "SELLER_ADDRESS",
        "SELLER_WHATSAPP",
        "SELLER_EMAIL",
    ],
)
def test_real_keys_require_the_real_providers_an_admin_token_and_the_receipts_seller(missing):
    with pytest.raises(SettingsError, match=missing):
        load_settings({**REAL, missing: ""})


def test_switching_to_real_keys_names_every_missing_setting_in_one_message():
    with pytest.raises(SettingsError) as error:
        load_settings({"MIDTRANS_SERVER_KEY": "SB-Mid-server-real"})
    message = str(error.value)
    assert all(name in message for name in REAL if name != "MIDTRANS_SERVER_KEY")
    assert "\n" not in message


def test_every_bad_variable_of_one_start_is_named_at_once():
    bad = {"PORT": "eighty", "SMTP_TLS": "maybe", "ALERT_EMAIL_TO": "owner at shop"}
    with pytest.raises(SettingsError) as error:
        load_settings({**bad, "MIDTRANS_IS_PRODUCTION": "true"})
    message = str(error.value)
    assert all(name in message for name in bad)
    assert "MIDTRANS_SERVER_KEY is required when MIDTRANS_IS_PRODUCTION=true" in message
    assert "\n" not in message


def test_each_setting_is_one_line_of_the_table():
    from dataclasses import fields

    from config.settings import PARTS, VARIABLES, Settings

    own = [field.name for field in fields(Settings) if field.name not in PARTS]
    parts = [f"{name}.{field.name}" for name, part in PARTS.items() for field in fields(part)]
    assert sorted(variable.field for variable in VARIABLES) == sorted(own + parts)
    assert len({variable.name for variable in VARIABLES}) == len(VARIABLES)


def test_real_keys_refuse_the_sandbox_admin_token_everyone_can_read():
    with pytest.raises(SettingsError, match="not the sandbox's"):
        load_settings({**REAL, "ADMIN_TOKEN": "sandbox-admin-token"})


def test_the_launcher_prints_only_the_sandbox_default_admin_token(capsys):
    from local.launcher import _print_urls

    _print_urls(load_settings({}))
    assert "Admin token: sandbox-admin-token" in capsys.readouterr().out
    chosen = "owner-chosen-secret-token-1234"
    _print_urls(load_settings({"ADMIN_TOKEN": chosen}))  # a sandbox staging box
    printed = capsys.readouterr().out
    assert chosen not in printed and "Admin token" not in printed


def test_production_without_a_server_key_is_refused():
    with pytest.raises(SettingsError, match="MIDTRANS_SERVER_KEY"):
        load_settings({"MIDTRANS_IS_PRODUCTION": "true"})


@pytest.mark.parametrize(
    "missing", [("DATABASE_URL",), ("REDIS_URL",), ("DATABASE_URL", "REDIS_URL")]
)
def test_production_without_its_own_database_and_redis_refuses_to_start(missing):
    with pytest.raises(SettingsError) as error:
        load_settings({**PRODUCTION, **dict.fromkeys(missing, "")})
    message = str(error.value)
    assert all(name in message for name in missing) and "MIDTRANS_IS_PRODUCTION=true" in message
    assert "empty database" in message and "\n" not in message


def test_midtrans_sandbox_keys_may_still_use_the_embedded_servers():
    assert load_settings(REAL).database_url is None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000",
        "http://localhost:8000",
        "http://shop.localhost",
        "http://[::1]:8000",
        "http://192.168.1.20:8000",
        "http://10.0.0.5",
        "https://172.16.3.4",
    ],
)
def test_the_sandbox_runs_on_a_local_address(url):
    assert load_settings({"PUBLIC_BASE_URL": url}).public_base_url == url


@pytest.mark.parametrize(
    "url",
    [
        "https://shop.example.id",
        "http://36.86.63.182:8000",
        "https://[2001:4860::8888]",
        "http://toko",
    ],
)
def test_the_sandbox_refuses_a_public_address_because_its_token_is_public(url):
    with pytest.raises(SettingsError, match="PUBLIC_BASE_URL") as error:
        load_settings({"PUBLIC_BASE_URL": url})
    assert "token is public in the README" in str(error.value)


# Comparing, not binding: these hosts are what the settings must refuse.
EVERY_INTERFACE = "0.0.0.0"  # noqa: S104


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "192.168.1.20", "10.0.0.5"])
def test_the_sandbox_may_listen_on_loopback_or_the_lan(host):
    settings = load_settings({"WEB_HOST": host, "SANDBOX_HOST": host})
    assert (settings.web_host, settings.sandbox_host) == (host, host)


@pytest.mark.parametrize(
    "environment, named",
    [
        ({"WEB_HOST": EVERY_INTERFACE}, ["WEB_HOST=0.0.0.0"]),
        ({"SANDBOX_HOST": "::"}, ["SANDBOX_HOST=::"]),
        ({"WEB_HOST": "36.86.63.182"}, ["WEB_HOST=36.86.63.182"]),
        (
            {"WEB_HOST": "::", "SANDBOX_HOST": EVERY_INTERFACE},
            ["WEB_HOST=::", "SANDBOX_HOST=0.0.0.0"],
        ),
    ],
)
def test_the_sandbox_refuses_to_listen_on_every_interface(environment, named):
    with pytest.raises(SettingsError) as error:
        load_settings(environment)
    message = str(error.value)
    assert all(name in message for name in named) and "public interfaces" in message


def test_real_keys_may_listen_on_every_interface():
    assert load_settings(REAL | {"WEB_HOST": EVERY_INTERFACE}).web_host == EVERY_INTERFACE


def test_real_keys_may_face_the_internet():
    assert load_settings(REAL).public_base_url == "https://shop.example.id"


@pytest.mark.parametrize(
    "environment, mode",
    [({}, "local-sandbox"), (REAL, "midtrans-sandbox"), (PRODUCTION, "production")],
)
def test_the_mode_says_where_payments_go(environment, mode):
    assert load_settings(environment).mode == mode


@pytest.mark.parametrize(
    "name, value",
    [
        ("PORT", "eighty"),
        ("PORT", "0"),
        ("SMTP_TLS", "maybe"),
        ("LOG_FORMAT", "xml"),
        ("MIDTRANS_IS_PRODUCTION", "perhaps"),
        ("PUBLIC_BASE_URL", "ftp://shop"),
        ("WHATSAPP_API_URL", "https:graph.facebook.com"),  # no host: no call could be made
        ("ALERT_WEBHOOK_URL", "http:///hooks"),
        ("PAYMENT_EXPIRY_MINUTES", "1"),
        ("NOTIFICATION_STUCK_AFTER_SECONDS", "20"),  # below SMTP's 20 s timeout plus margin
    ],
)
def test_an_invalid_value_names_its_setting(name, value):
    with pytest.raises(SettingsError, match=name) as error:
        load_settings({name: value})
    assert "\n" not in str(error.value)


def test_the_real_environment_wins_over_the_env_file(tmp_path, monkeypatch):
    import config.settings as module

    (tmp_path / ".env").write_text("PORT=9001\nPAYMENT_EXPIRY_MINUTES=30\n")
    monkeypatch.setattr(module, "PROJECT_ROOT", tmp_path)
    monkeypatch.setenv("PORT", "9002")
    monkeypatch.delenv("PAYMENT_EXPIRY_MINUTES", raising=False)
    settings = load_settings()
    assert (settings.port, settings.payment_expiry_minutes) == (9002, 30)


def test_the_documented_example_file_loads_as_the_defaults():
    from dotenv import dotenv_values

    from config.settings import PROJECT_ROOT

    example = dotenv_values(PROJECT_ROOT / ".env.example")
    documented = load_settings({key: value for key, value in example.items() if value is not None})
    assert documented == load_settings({})


def test_real_keys_refuse_to_act_on_unverified_notifications():
    with pytest.raises(SettingsError, match="MIDTRANS_VERIFY_WITH_STATUS_API=false is refused"):
        load_settings({**REAL, "MIDTRANS_VERIFY_WITH_STATUS_API": "false"})
    assert not load_settings(
        {"MIDTRANS_VERIFY_WITH_STATUS_API": "false"}
    ).midtrans.verify_with_status_api


def test_real_keys_without_an_alert_target_warn_and_alert_settings_are_read():
    assert startup_warnings(load_settings(REAL))[0].startswith("NO ALERT TARGET")
    configured = load_settings(
        {**REAL, "ALERT_EMAIL_TO": "owner@shop.id, ops@shop.id", "ALERT_REPEAT_MINUTES": "30"}
    )
    assert startup_warnings(configured) == []
    assert configured.alerts.email_to == ("owner@shop.id", "ops@shop.id")
    assert configured.alerts.repeat_minutes == 30
    assert startup_warnings(load_settings({})) == []  # the sandbox needs no alerts
    with pytest.raises(SettingsError, match="ALERT_EMAIL_TO"):
        load_settings({"ALERT_EMAIL_TO": "owner at shop"})
    telegram = load_settings(
        {
            **REAL,
            "ALERT_URLS": "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/987, json://h/x",
        }
    )
    assert telegram.alerts.urls == (
        "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/987",
        "json://h/x",
    )
    assert startup_warnings(telegram) == []
    with pytest.raises(SettingsError, match=r"ALERT_URLS URL 2 \(telegrm://...\)"):
        load_settings({"ALERT_URLS": "json://h/x telegrm://123:abc/987"})


def test_a_production_key_outside_production_mode_warns_at_start_up():
    alerted = {**REAL, "ALERT_EMAIL_TO": "owner@shop.id"}
    [warning] = startup_warnings(load_settings(alerted | {"MIDTRANS_SERVER_KEY": "Mid-server-x"}))
    assert (
        warning.startswith("PRODUCTION KEY IN SANDBOX MODE") and "MIDTRANS_IS_PRODUCTION" in warning
    )
    production = alerted | PRODUCTION | {"MIDTRANS_SERVER_KEY": "Mid-server-x"}
    assert startup_warnings(load_settings(production)) == []


def test_the_stuck_sending_cutoff_reaches_the_delivery_policy():

    assert policy_from_settings(load_settings({}).delivery).stuck_after_seconds == 300
    tuned = load_settings({"NOTIFICATION_STUCK_AFTER_SECONDS": "45"})
    assert policy_from_settings(tuned.delivery).stuck_after_seconds == 45


def test_the_sellers_whatsapp_number_is_kept_as_wa_me_wants_it():
    seller = load_settings(REAL).seller
    assert seller.whatsapp_url == "https://wa.me/6281234567890"
    assert seller.name == "CV Film Pintar" and seller.address == "Jl. Braga No. 10, Bandung 40111"


@pytest.mark.parametrize("name, value", [("SELLER_WHATSAPP", "12ab"), ("SELLER_EMAIL", "halo")])
def test_a_bad_seller_contact_stops_start_up_naming_it(name, value):
    with pytest.raises(SettingsError, match=name):
        load_settings({**REAL, name: value})


def test_run_sh_with_production_keys_and_no_database_stops_before_starting_anything(tmp_path):
    import os
    import subprocess
    import sys

    from config.settings import PROJECT_ROOT

    environment = {
        **PRODUCTION,
        "DATABASE_URL": "",
        "VAR_DIR": str(tmp_path / "var"),
        "PATH": os.environ["PATH"],
    }
    launcher = subprocess.run(
        [sys.executable, "-m", "local.launcher"],
        env=environment,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert launcher.returncode == 2
    assert launcher.stderr.startswith("Configuration error: DATABASE_URL is required")
    assert not (tmp_path / "var").exists()  # no embedded PostgreSQL or Redis was started


def test_the_shop_wide_budget_of_unpaid_order_messages_defaults_to_200_an_hour():
    assert load_settings({}).delivery.unpaid_messages_per_hour == 200
    assert load_settings({"UNPAID_MESSAGES_PER_HOUR": "50"}).delivery.unpaid_messages_per_hour == 50
    with pytest.raises(SettingsError, match="UNPAID_MESSAGES_PER_HOUR must be a whole number"):
        load_settings({"UNPAID_MESSAGES_PER_HOUR": "many"})


def test_the_machine_alarms_watch_var_and_the_backups_by_default_and_take_percentages():
    from config.settings import PROJECT_ROOT

    machine = load_settings({"VAR_DIR": "/srv/bfa/shared/var"}).machine
    assert machine.disk_paths == (Path("/srv/bfa/shared/var"), PROJECT_ROOT / "backups")
    assert (machine.disk_free_alarm_percent, machine.redis_memory_alarm_percent) == (10, 90)
    chosen = load_settings({"DISK_PATHS": "/var/lib/postgresql, /srv/backups"}).machine
    assert chosen.disk_paths == (Path("/var/lib/postgresql"), Path("/srv/backups"))
    with pytest.raises(SettingsError, match="DISK_FREE_ALARM_PERCENT must be a percentage"):
        load_settings({"DISK_FREE_ALARM_PERCENT": "100"})


def test_personal_data_is_kept_30_days_after_an_unpaid_order_and_message_bodies_90():
    retention = load_settings({}).retention
    assert (retention.unpaid_days, retention.message_body_days) == (30, 90)
    chosen = {"RETENTION_UNPAID_DAYS": "14", "RETENTION_MESSAGE_BODY_DAYS": "60"}
    assert load_settings(chosen).retention.unpaid_days == 14
    with pytest.raises(SettingsError) as error:
        load_settings({"RETENTION_UNPAID_DAYS": "0", "RETENTION_MESSAGE_BODY_DAYS": "soon"})
    assert "RETENTION_UNPAID_DAYS" in str(error.value)
    assert "RETENTION_MESSAGE_BODY_DAYS" in str(error.value)
