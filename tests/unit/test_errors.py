import pytest

from connectors.alert_channel import DeliveryError
from connectors.elasticsearch import SinkUnavailable
from connectors.fetch import FetchError
from flows.pipeline import DeliveryIncomplete
from newsmon.errors import (
    ConfigError,
    ExternalError,
    NewsmonError,
    RejectedInput,
    StoreError,
)
from newsmon.yaml_model import ConfigFileError


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (RejectedInput("empty file"), RejectedInput),
        (ConfigFileError("alerts.yml: bad"), ConfigError),
        (StoreError("newer schema"), StoreError),
        (FetchError("timeout"), ExternalError),
        (DeliveryError("451 try later"), ExternalError),
        (SinkUnavailable("connection refused"), ExternalError),
        (DeliveryIncomplete("2 pending"), ExternalError),
    ],
)
def test_every_error_is_a_newsmon_error_of_its_kind(error: Exception, kind: type) -> None:
    assert isinstance(error, NewsmonError) and isinstance(error, kind)


def test_config_errors_are_still_value_errors() -> None:
    # Settings validators and callers that catch ValueError keep working.
    assert isinstance(ConfigFileError("x"), ValueError)


def test_external_errors_say_whether_retrying_helps() -> None:
    refused = FetchError("404", permanent=True, status=404)
    slow = DeliveryError("429", retry_after=30.0)
    assert refused.permanent and refused.status == 404 and refused.retry_after is None
    assert not slow.permanent and slow.retry_after == 30.0
    assert not SinkUnavailable("down").permanent
