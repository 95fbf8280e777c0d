"""Issue 17 finding 11: a refused SASL login is reported as refused, not as a broker that "did
not answer".

Tested on the classification of what kafka-python 3.x raises and logs, not on a live refusal:
the local Tansu broker (`--authentication`, no user) cannot refuse a login the Kafka way. For
PLAIN it drops the connection, for SCRAM kafka-python fails parsing its answer (KeyError 'v');
neither is a SaslAuthenticationFailedError (checked by hand with Tansu 0.6.0). Apache Kafka
answers SaslAuthenticate with an error, kafka-python raises SaslAuthenticationFailedError on
the bootstrap connection, logs it ("Bootstrap connection to %s failed: %s") and retries until
its timeout, then raises only KafkaTimeoutError("Unable to bootstrap ..."). Both ends of that
are reproduced here with kafka-python's own exception classes and logger.
"""

from __future__ import annotations

import logging

import kafka.errors as kerr
import pytest

from eventlab.errors import BrokerUnavailable, SourceError
from eventlab.kafka.config import KafkaConfig, kafka_errors

PASSWORD = "wrong-Pa55-not-shown"
SASL = KafkaConfig(bootstrap="127.0.0.1:9", security_protocol="SASL_PLAINTEXT",
                   sasl_mechanism="SCRAM-SHA-256", sasl_username="bob", sasl_password=PASSWORD)


def _bootstrap_fails(logged: Exception | None) -> None:
    """What kafka-python's bootstrap does (kafka/net/manager.py): log each failed attempt on
    the `kafka.net.manager` logger, then give up with a timeout."""
    if logged is not None:
        logging.getLogger("kafka.net.manager").warning(
            "Bootstrap connection to %s failed: %s (backoff %.2f secs)", "bootstrap-0", logged,
            0.05)
    raise kerr.KafkaTimeoutError("Unable to bootstrap from ['127.0.0.1:9']")


def test_a_login_refused_during_bootstrap_says_refused() -> None:
    with pytest.raises(SourceError) as err, kafka_errors(SASL, "listing topics"):
        _bootstrap_fails(kerr.SaslAuthenticationFailedError("Authentication failed"))
    assert not isinstance(err.value, BrokerUnavailable)
    message = str(err.value)
    assert message.startswith("Kafka at 127.0.0.1:9 refused the login (SASL SCRAM-SHA-256 as "
                              "bob) while listing topics")
    assert "did not answer" not in message and PASSWORD not in message


def test_a_login_refused_after_bootstrap_says_refused() -> None:
    with pytest.raises(SourceError, match="refused the login"), kafka_errors(SASL, "reading"):
        raise kerr.SaslAuthenticationFailedError("Authentication failed")


@pytest.mark.parametrize("logged", [None, kerr.KafkaConnectionError("socket disconnected")])
def test_a_broker_that_does_not_answer_still_says_so(logged: Exception | None) -> None:
    with pytest.raises(BrokerUnavailable, match="did not answer"), \
            kafka_errors(SASL, "listing topics"):
        _bootstrap_fails(logged)


def test_a_refusal_seen_by_an_earlier_call_is_not_carried_over() -> None:
    with pytest.raises(SourceError, match="refused the login"), kafka_errors(SASL, "one"):
        _bootstrap_fails(kerr.SaslAuthenticationFailedError("Authentication failed"))
    with pytest.raises(BrokerUnavailable), kafka_errors(SASL, "two"):
        _bootstrap_fails(None)
