import re
import socket
from pathlib import Path

import pytest

from newsmon.compose import store_config
from newsmon.errors import ConfigError, StoreError
from newsmon.settings import load_settings


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWSMON_DB", raising=False)
    monkeypatch.delenv("NEWSMON_CONFIG", raising=False)
    settings = load_settings()
    assert settings.db == "data/newsmon.db"
    assert settings.batch_size == 500


def test_file_then_env_then_explicit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "newsmon.toml"
    config.write_text('db = "from-file.db"\nbatch_size = 7\nmax_file_bytes = 1000\n')
    monkeypatch.delenv("NEWSMON_CONFIG", raising=False)
    monkeypatch.setenv("NEWSMON_BATCH_SIZE", "9")
    settings = load_settings(config_file=config)
    assert (settings.db, settings.batch_size, settings.max_file_bytes) == (
        "from-file.db",
        9,
        1000,
    )
    assert load_settings(config_file=config, db=Path("x.db")).db == "x.db"


def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWSMON_CONFIG", raising=False)
    monkeypatch.setenv("NEWSMON_BATCH_SIZE", "0")
    with pytest.raises(ConfigError, match=r"^bad settings: NEWSMON_BATCH_SIZE='0': Input should"):
        load_settings()


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="config file not found"):
        load_settings(config_file=tmp_path / "nope.toml")


def test_config_from_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "newsmon.toml"
    config.write_text("batch_size = 3\n")
    monkeypatch.setenv("NEWSMON_CONFIG", str(config))
    assert load_settings().batch_size == 3


def test_unknown_key_in_config_file_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "newsmon.toml"
    config.write_text("batchsize = 3\n")
    with pytest.raises(ConfigError) as bad:
        load_settings(config_file=config)
    assert str(bad.value) == f"bad settings: batchsize in {config}: not a newsmon setting"


def test_alert_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSMON_ALERT_EMAIL_TO", "desk@example.org, analyst@example.org")
    monkeypatch.setenv("NEWSMON_ALERT_BACKOFF", "[1, 10, 60]")
    monkeypatch.setenv("NEWSMON_SMTP_SECURITY", "ssl")
    monkeypatch.setenv("NEWSMON_WEBHOOK_SECRET", "s3cret")
    monkeypatch.setenv("NEWSMON_ALERT_TIMEZONE", "Europe/Moscow")
    settings = load_settings()
    assert settings.alert_email_to == ("desk@example.org", "analyst@example.org")
    assert settings.alert_backoff == (1, 10, 60)
    assert settings.smtp_security == "ssl"
    assert "s3cret" not in repr(settings)  # secrets stay out of logs


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("NEWSMON_ALERT_TIMEZONE", "Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        ("NEWSMON_SMTP_SECURITY", "tls", "'starttls', 'ssl' or 'none'"),
        ("NEWSMON_ALERT_BACKOFF", "[]", "at least 1 item"),
    ],
)
def test_bad_alert_settings_say_why(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, reason: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=re.escape(f"{name}=") + ".*" + re.escape(reason)):
        load_settings()


@pytest.mark.parametrize("variable", ["NEWSMON_STORE_URL", "NEWSMON_DB"])
def test_a_postgresql_url_keeps_its_password_out_of_the_config_and_its_errors(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    with socket.socket() as s:  # a loopback port nothing listens on: refused at once
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv(variable, f"postgresql://newsmon:s3cret@127.0.0.1:{port}/newsmon")
    config = store_config(load_settings())
    assert (config.location, config.user) == (f"postgresql://127.0.0.1:{port}/newsmon", "newsmon")
    assert "s3cret" not in repr(config)
    with pytest.raises(StoreError) as refused:
        config.open()
    assert str(refused.value).startswith(
        f"postgresql://127.0.0.1:{port}/newsmon: cannot open store"
    )
    assert "s3cret" not in str(refused.value)


def test_a_sqlite_url_names_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NEWSMON_DB", str(tmp_path / "ignored.db"))
    monkeypatch.setenv("NEWSMON_STORE_URL", f"sqlite:///{tmp_path}/store.db")
    store = store_config(load_settings()).open()
    store.close()
    assert (tmp_path / "store.db").is_file()
    assert not (tmp_path / "ignored.db").exists()


def test_a_bad_setting_is_named_where_it_was_given(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from newsmon.cli import cli

    monkeypatch.delenv("NEWSMON_CONFIG", raising=False)
    monkeypatch.setenv("NEWSMON_BATCH_SIZE", "abc")
    with pytest.raises(ConfigError) as bad:
        load_settings()
    assert str(bad.value) == (
        "bad settings: NEWSMON_BATCH_SIZE='abc': Input should be a valid integer,"
        " unable to parse string as an integer"
    )
    result = CliRunner().invoke(cli, ["export", "--db", str(tmp_path / "s.db")])
    assert result.exit_code == 2
    assert "Error: bad settings: NEWSMON_BATCH_SIZE='abc'" in result.output
    assert "pydantic.dev" not in result.output

    monkeypatch.delenv("NEWSMON_BATCH_SIZE")
    config = tmp_path / "newsmon.toml"
    config.write_text('batch_size = 0\nwebhook_secret = 12345\nes_timeout = "soon"\n', "utf-8")
    with pytest.raises(ConfigError) as bad:
        load_settings(config_file=config)
    problems = str(bad.value).removeprefix("bad settings: ").split("; ")
    assert sorted(problems) == [
        f"batch_size = 0 in {config}: Input should be greater than 0",
        f"es_timeout = 'soon' in {config}: Input should be a valid number,"
        " unable to parse string as a number",
        f"webhook_secret = (a secret, not shown) in {config}: Input should be a valid string",
    ]
    assert "12345" not in str(bad.value)
