#!/usr/bin/env python3
"""Publish WAMP events through Junction's HTTP publisher path, the way
crossbarconnect (Crossbar's Python push client) does it.

Standard library only. One ``Client`` keeps one HTTP/1.1 connection open and
sends every publish on it. Each request carries the query arguments
``timestamp`` (UTC, 3 fractional digits, ``Z``) and ``seq`` (a counter from
1); with a key and secret also ``key``, ``nonce`` (random in [0, 2^53]) and
``signature`` = base64url(HMAC-SHA256(secret, key + timestamp + seq + nonce +
body)), ``=`` padding kept. Only 202 counts as success; the publication id
from the JSON answer is returned.

    from crossbarconnect_publish import Client

    client = Client("http://127.0.0.1:8080/push")
    client.publish("com.myapp.topic1", "Hello, world!", 23)

    signed = Client("http://127.0.0.1:8080/push-signed", key="example-key", secret="change-me")
    signed.publish("com.myapp.topic1", "Hello", options={"exclude_authrole": ["bot"]}, n=1)

Command line:

    python3 crossbarconnect_publish.py --url http://127.0.0.1:8080/push com.myapp.topic1 '"Hello"' 23
    python3 crossbarconnect_publish.py --url http://127.0.0.1:8080/push-signed \\
        --key example-key --secret change-me --kwargs '{"n": 1}' com.myapp.topic1 hello

Each positional value is parsed as JSON when it is valid JSON (23, true,
[1,2], "text") and taken as a string otherwise (hello).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import random
import sys
from datetime import datetime, timezone
from urllib import parse

USER_AGENT = "crossbarconnect-python"
MAX_NONCE = 2**53


def utcnow() -> str:
    """The current time as the bridge wants it: ``2011-10-14T16:59:51.123Z``."""
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def sign(secret: str, key: str, timestamp: str, seq, nonce, body: bytes) -> str:
    """base64url(HMAC-SHA256(secret, key | timestamp | seq | nonce | body))."""
    hm = hmac.new(secret.encode("utf8"), None, hashlib.sha256)
    hm.update(key.encode("utf8"))
    hm.update(timestamp.encode("utf8"))
    hm.update(str(seq).encode("utf8"))
    hm.update(str(nonce).encode("utf8"))
    hm.update(body)
    return base64.urlsafe_b64encode(hm.digest()).decode("ascii")


class PublishError(Exception):
    """The bridge did not answer 202 with a publication id."""

    def __init__(self, status: int, body: bytes):
        super().__init__(f"HTTP request failed with status code {status} - {body!r}")
        self.status = status
        self.body = body


class Client:
    """A push client for one publisher URL (http or https)."""

    def __init__(self, url: str, key: str | None = None, secret: str | None = None,
                 timeout: float = 5, context=None):
        if (key is None) != (secret is None):
            raise ValueError("key and secret go together")
        parsed = parse.urlparse(url)
        if parsed.scheme not in ("http", "https"):
            raise ValueError(f"not an http(s) URL: {url}")
        self._path = parsed.path or "/"
        self._key = key
        self._secret = secret
        self._seq = 1
        self._headers = {"Content-type": "application/json", "User-agent": USER_AGENT}
        if parsed.scheme == "https":
            self._connection = http.client.HTTPSConnection(
                parsed.hostname, parsed.port or 443, timeout=timeout, context=context)
        else:
            self._connection = http.client.HTTPConnection(
                parsed.hostname, parsed.port or 80, timeout=timeout)

    def publish(self, topic: str, *args, **kwargs) -> int:
        """Publishes one event; ``options`` (a dict of WAMP publish options)
        is taken from the keyword arguments, the others are the event's
        kwargs. Returns the publication id."""
        if not isinstance(topic, str):
            raise TypeError("topic must be a string")
        event = {"topic": topic}
        if "options" in kwargs:
            options = kwargs.pop("options")
            if not isinstance(options, dict):
                raise TypeError("options must be a dict")
            event["options"] = options
        if args:
            event["args"] = list(args)
        if kwargs:
            event["kwargs"] = kwargs
        body = json.dumps(event, separators=(",", ":")).encode("utf8")

        params = {"timestamp": utcnow(), "seq": self._seq}
        if self._key:
            params["key"] = self._key
            params["nonce"] = random.randint(0, MAX_NONCE)
            params["signature"] = sign(self._secret, self._key, params["timestamp"],
                                       params["seq"], params["nonce"], body)
        self._seq += 1

        path = f"{parse.quote(self._path)}?{parse.urlencode(params)}"
        self._connection.request("POST", path, body, self._headers)
        response = self._connection.getresponse()
        response_body = response.read()
        if response.status != 202:
            raise PublishError(response.status, response_body)
        try:
            res = json.loads(response_body)
        except ValueError as e:
            raise PublishError(response.status, response_body) from e
        return res["id"]

    def close(self):
        self._connection.close()


def _value(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Publish one event through an HTTP publisher path.")
    ap.add_argument("--url", required=True, help="publisher URL, e.g. http://127.0.0.1:8080/push")
    ap.add_argument("--key", help="signing key (with --secret)")
    ap.add_argument("--secret", help="signing secret (with --key)")
    ap.add_argument("--kwargs", type=json.loads, default=None,
                    help='event kwargs as a JSON object, e.g. \'{"n": 1}\'')
    ap.add_argument("--options", type=json.loads, default=None,
                    help='publish options as a JSON object, e.g. \'{"exclude_authrole": ["bot"]}\'')
    ap.add_argument("topic")
    ap.add_argument("args", nargs="*", help="event args (JSON values, else strings)")
    ns = ap.parse_args(argv)
    if (ns.key is None) != (ns.secret is None):
        ap.error("--key and --secret go together")
    kwargs = dict(ns.kwargs or {})
    if ns.options is not None:
        kwargs["options"] = ns.options
    client = Client(ns.url, key=ns.key, secret=ns.secret)
    try:
        publication = client.publish(ns.topic, *[_value(a) for a in ns.args], **kwargs)
    except PublishError as e:
        print(e, file=sys.stderr)
        return 1
    finally:
        client.close()
    print(publication)
    return 0


if __name__ == "__main__":
    sys.exit(main())
