"""Credentials in URLs: split off for the client, never shown."""

from __future__ import annotations

from newsmon.secret_urls import origin_only, redact, split_credentials


def test_urls_in_messages_lose_their_credentials() -> None:
    assert redact("https://elastic:secret@es.example.com:9243/base?token=x") == (
        "https://es.example.com:9243/base"
    )
    assert redact("http://127.0.0.1:9200") == "http://127.0.0.1:9200"
    assert redact("http://u:p@[::1]:9200/") == "http://[::1]:9200/"


def test_credentials_are_split_from_the_url_decoded() -> None:
    assert split_credentials("https://elastic:p%40ss%3Aword@es.example.com:9243/") == (
        "https://es.example.com:9243/",
        "elastic",
        "p@ss:word",
    )
    assert split_credentials("http://es:9200") == ("http://es:9200", None, None)


def test_a_webhook_shows_only_its_origin() -> None:
    assert origin_only("https://hooks.slack.com/services/T0/B0/XXXX") == "https://hooks.slack.com/…"
    assert origin_only("https://user:pw@hooks.example.org") == "https://hooks.example.org"
