"""The one Settings object: NEWSMON_* environment variables over an optional TOML file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AliasChoices,
    Field,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from newsmon.allow_list import parse_allow_list
from newsmon.errors import ConfigError
from newsmon.runner_spec import parse_runner_spec
from newsmon.yaml_model import parse_duration

CONFIG_FILE_ENV = "NEWSMON_CONFIG"


class Settings(BaseSettings):
    """Everything configurable about newsmon; built once by the CLI and passed down."""

    model_config = SettingsConfigDict(
        env_prefix="NEWSMON_",
        extra="forbid",
        frozen=True,
        toml_file=None,
        populate_by_name=True,
    )

    # A string, not a Path: Path("postgresql://h/db") would fold the URL into "postgresql:/h/db".
    db: str = Field(
        default="data/newsmon.db",
        description="Store: an SQLite file, created with its folder on first use "
        "(or a store URL, as NEWSMON_STORE_URL).",
    )
    store_url: SecretStr | None = Field(
        default=None,
        description="Store URL, over NEWSMON_DB when set: sqlite:///path/to/file.db or "
        "postgresql://user:password@host:5432/database.",
    )
    batch_size: PositiveInt = Field(
        default=500, description="Documents per batch of files; each stage runs once per batch."
    )
    feed_batch_size: PositiveInt = Field(
        default=20,
        description="Story pages per batch of a feed poll: small, so a new story alerts soon.",
    )
    task_runner: str = Field(
        default="processes",
        description="Where batches are prepared side by side: threads[:N], processes[:N] "
        "(default: one process per core), dask (a local cluster) or dask://host:port.",
    )
    max_file_bytes: PositiveInt = Field(
        default=20 * 1024 * 1024,
        description="Larger input files are rejected unread (no news story is this big).",
    )
    max_text_chars: PositiveInt = Field(
        default=1_000_000,
        description="Story text past this many characters is cut (at a paragraph break) and"
        " the cut is listed with the run's rejections.",
    )
    follow_symlinks: bool = Field(
        default=False,
        description="Read symlinks in input folders that point outside them (refused by default).",
    )
    boilerplate_rules: Path | None = Field(
        default=None,
        description="YAML file of boilerplate patterns; default is the packaged enrich/data file.",
    )
    dedup_shingle: Literal["word", "char"] = Field(
        default="word", description="Shingle unit for near-duplicate detection."
    )
    dedup_shingle_size: PositiveInt = Field(
        default=3, description="Words (or characters) per shingle."
    )
    dedup_num_perm: PositiveInt = Field(
        default=128, description="MinHash permutations; more is more exact and slower."
    )
    dedup_lsh_threshold: float = Field(
        default=0.3,
        gt=0,
        lt=1,
        description="Estimated Jaccard at which LSH proposes a candidate (recall side).",
    )
    dedup_min_containment: float = Field(
        default=0.7,
        gt=0,
        le=1,
        description="Share of the smaller document's shingles found in the other to link them.",
    )
    dedup_min_shingles: PositiveInt = Field(
        default=12,
        description="Documents with fewer shingles (a headline only) are never linked.",
    )
    event_window: PositiveFloat = Field(
        default=48 * 3600,
        description=(
            "A story joins an event seen within this long of it (seconds, or 90m, 48h, 2d);"
            " story times are publication times, else ingestion times."
        ),
    )
    event_tail: NonNegativeFloat = Field(
        default=48 * 3600,
        description=(
            "Past the window a story still joins an event on stronger evidence: the score it"
            " needs doubles over this long (seconds, or 24h, 2d); 0 closes events at the window."
        ),
    )
    event_min_score: float = Field(
        default=0.10,
        gt=0,
        le=1,
        description="Similarity (0-1) of a story's evidence to an event's that makes it join.",
    )
    gazetteer: Path | None = Field(
        default=None,
        description="Gazetteer folder of *.yml (or one file); default is enrich/data/gazetteer.",
    )
    ner_model: Path | None = Field(
        default=None,
        description="Local CAMeL/BERT token-classification model folder; unset: gazetteer only.",
    )
    ner_batch_size: PositiveInt = Field(
        default=32, description="Sentences per forward pass of the NER model."
    )
    elasticsearch_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "elasticsearch_url", "NEWSMON_ELASTICSEARCH_URL", "ELASTICSEARCH_URL"
        ),
        description="Elasticsearch 8 URL (also read from ELASTICSEARCH_URL); unset: store only.",
    )
    es_api_key: SecretStr | None = Field(default=None, description="Elasticsearch API key.")
    es_username: str | None = Field(default=None, description="Basic-auth user.")
    es_password: SecretStr | None = Field(default=None, description="Basic-auth password.")
    es_ca_certs: Path | None = Field(default=None, description="CA bundle for TLS.")
    es_verify_certs: bool = Field(default=True, description="Verify the server's certificate.")
    es_alias: str = Field(
        default="newsmon-stories",
        pattern=r"^[a-z0-9][a-z0-9_-]*$",
        description="Write alias; indices are <alias>-000001, -000002, ...",
    )
    es_template: Path | None = Field(
        default=None,
        description="Index template JSON; default deploy/elasticsearch/stories-template.json.",
    )
    es_replicas: int = Field(
        default=1, ge=0, description="Replica shards per index (0 for a single-node cluster)."
    )
    es_lifecycle: Path | None = Field(
        default=None,
        description="Lifecycle policy JSON; default deploy/elasticsearch/stories-lifecycle.json.",
    )
    es_retention: str | None = Field(
        default=None,
        pattern=r"^[1-9][0-9]*[dhms]$",
        description="Delete an index this long after it rolled over (30d, 12h); unset: keep.",
    )
    es_batch_size: PositiveInt = Field(default=500, description="Documents per bulk request.")
    es_concurrency: PositiveInt = Field(default=2, description="Bulk requests in flight.")
    es_timeout: PositiveFloat = Field(default=30.0, description="Seconds per request.")
    es_max_retries: int = Field(
        default=3, ge=0, description="Retries for 429, 5xx and connection errors, with backoff."
    )
    alert_rules: Path | None = Field(
        default=None, description="Alert rules YAML; default deploy/alerts.yml."
    )
    alert_timezone: str = Field(
        default="UTC", description="Time zone whose calendar days the daily digests cover."
    )
    alert_backoff: tuple[PositiveFloat, ...] = Field(
        default=(5, 30, 120, 600, 1800, 3600),
        min_length=1,
        description="Seconds before retry 1, 2, ... of a failed delivery; the last one repeats.",
    )
    alert_max_attempts: PositiveInt = Field(
        default=12, description="Attempts before a delivery is given up (with its last error)."
    )
    alert_run_retries: int = Field(
        default=2, ge=0, description="Delivery retries within one run (Prefect task retries)."
    )
    story_events: Literal["all", "alerted", "off"] = Field(
        default="all",
        description=(
            "Prefect `newsmon.story.new` events: for every new story, only for stories that"
            " fired an alert, or none. Each event is work for the Prefect server; a backfill"
            " of many thousands of files runs faster with `alerted`."
        ),
    )
    alert_lease_seconds: PositiveFloat = Field(
        default=300,
        description="How long a claimed delivery is reserved for its sender (crash recovery).",
    )
    smtp_host: str | None = Field(default=None, description="SMTP server; unset: no email.")
    smtp_port: int | None = Field(
        default=None, gt=0, lt=65536, description="Default 587 (starttls), 465 (ssl), 25 (none)."
    )
    smtp_security: Literal["starttls", "ssl", "none"] = Field(
        default="starttls", description="STARTTLS upgrade, TLS from the start, or plain."
    )
    smtp_username: str | None = Field(default=None, description="SMTP AUTH user.")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP AUTH password.")
    smtp_ca_certs: Path | None = Field(default=None, description="CA bundle for the SMTP TLS.")
    smtp_timeout: PositiveFloat = Field(default=30.0, description="Seconds per SMTP operation.")
    alert_email_from: str = Field(
        default="newsmon@localhost", description="From address of alert emails."
    )
    alert_email_to: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="Recipients (comma-separated) for rules that name none of their own.",
    )
    webhook_url: SecretStr | None = Field(
        default=None,
        description="Alert webhook URL, kept secret (a token is often in its path); unset: none.",
    )
    webhook_secret: SecretStr | None = Field(
        default=None, description="Shared secret for the X-Signature HMAC-SHA256 header."
    )
    webhook_timeout: PositiveFloat = Field(default=10.0, description="Seconds per request.")
    slack_webhook_url: SecretStr | None = Field(
        default=None, description="Slack incoming-webhook URL for alerts, kept secret; unset: none."
    )
    teams_webhook_url: SecretStr | None = Field(
        default=None,
        description="Microsoft Teams incoming-webhook (Workflows) URL, kept secret; unset: none.",
    )
    telegram_bot_token: SecretStr | None = Field(
        default=None, description="Telegram bot token for alerts (with NEWSMON_TELEGRAM_CHAT_ID)."
    )
    telegram_chat_id: str | None = Field(
        default=None, description="Telegram chat the bot posts alerts to (an id or @channel)."
    )
    telegram_api_url: str = Field(
        default="https://api.telegram.org", description="Telegram Bot API address."
    )
    chat_timeout: PositiveFloat = Field(
        default=10.0, description="Seconds per request to Slack, Teams or Telegram."
    )
    feeds: Path | None = Field(
        default=None, description="Feed list YAML; default deploy/feeds.yml."
    )
    fetch_concurrency: PositiveInt = Field(
        default=4, description="Hosts fetched at once (never two requests to one host)."
    )
    fetch_retry_delay: PositiveFloat = Field(
        default=300.0, description="Seconds before a page that failed to fetch is tried again."
    )
    fetch_timeout: PositiveFloat = Field(default=20.0, description="Seconds per HTTP request.")
    fetch_max_bytes: PositiveInt = Field(
        default=5 * 1024 * 1024, description="Largest feed or page, after decompression."
    )
    fetch_max_redirects: int = Field(default=5, ge=0, description="Redirects followed.")
    fetch_host_delay: float = Field(
        default=2.0, ge=0, description="Seconds between two requests to one host."
    )
    fetch_respect_robots: bool = Field(default=True, description="Obey robots.txt.")
    fetch_user_agent: str = Field(
        default="newsmon/0.1 (news monitoring; +https://github.com/newsmon/newsmon)",
        description="User-Agent of every request; put a contact address in yours.",
    )
    fetch_allow: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="Non-public networks or address:port that may be fetched (comma-separated).",
    )
    show_prefect_logs: bool = Field(
        default=False, description="Print Prefect's own flow/task logs on the console."
    )

    @field_validator("event_window", "event_tail", mode="before")
    @classmethod
    def _window(cls, value: object) -> object:
        return parse_duration(value)

    @field_validator("task_runner")
    @classmethod
    def _known_task_runner(cls, value: str) -> str:
        parse_runner_spec(value)
        return value

    @field_validator("db", mode="before")
    @classmethod
    def _path_as_text(cls, value: Any) -> Any:
        return os.fspath(value) if isinstance(value, os.PathLike) else value

    @field_validator("alert_email_to", "fetch_allow", mode="before")
    @classmethod
    def _split_addresses(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("fetch_allow")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        parse_allow_list(value)  # a bad entry fails here, with its text
        return value

    @field_validator("alert_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as UTC)") from exc
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Explicit values win, then the environment, then the optional TOML file."""
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls)


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build Settings from overrides, NEWSMON_* variables and a TOML file (or NEWSMON_CONFIG).

    ConfigError names each bad setting where it was given (the variable, the file's key or
    the option), the value (unless it is a secret) and what is wrong with it.
    """
    if config_file is None and os.environ.get(CONFIG_FILE_ENV):
        config_file = Path(os.environ[CONFIG_FILE_ENV])
    clean = {key: value for key, value in overrides.items() if value is not None}
    if config_file is not None and not config_file.is_file():
        raise FileNotFoundError(f"{config_file}: config file not found")
    settings_class = Settings
    if config_file is not None:

        class FileSettings(Settings):
            model_config = SettingsConfigDict(toml_file=config_file)

        settings_class = FileSettings
    try:
        return settings_class(**clean)
    except ValidationError as exc:
        problems = [_problem(error, clean, config_file) for error in exc.errors()]
        raise ConfigError("bad settings: " + "; ".join(problems)) from exc


def _variables(field: str) -> list[str]:
    """The environment variables a field is read from, its own first."""
    names = [f"NEWSMON_{field.upper()}"]
    alias = Settings.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices):
        names += [c for c in alias.choices if isinstance(c, str) and c.isupper()]
    return list(dict.fromkeys(names))


def _field_of(name: str) -> str | None:
    if name in Settings.model_fields:
        return name
    for field in Settings.model_fields:
        if name in _variables(field) or name.upper() in _variables(field):
            return field
    return None


def _problem(error: ErrorDetails, overrides: dict[str, Any], config_file: Path | None) -> str:
    """One bad setting: where it was given, its value, what is wrong."""
    name = str(error["loc"][0]) if error["loc"] else ""
    reason = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        where = f" in {config_file}" if config_file is not None else ""
        return f"{name}{where}: not a newsmon setting"
    field = _field_of(name)
    if field is None:
        return f"{name or 'settings'}: {reason}"
    variables = _variables(field)
    given = next((v for v in variables if v in os.environ), None)
    secret = "SecretStr" in str(Settings.model_fields[field].annotation)
    value = "(a secret, not shown)" if secret else repr(error.get("input"))
    if field in overrides:
        where = f"option {field}={value}"
    elif given:
        where = f"{given}={value}"
    elif config_file is not None:
        where = f"{field} = {value} in {config_file}"
    else:
        where = f"{variables[0]}={value}"
    return f"{where}: {reason}"
