"""HTTP bridge, publisher (pusher) paths: Crossbar's contract
(shared/reference/http-bridge.md), checked over real HTTP with the events
received by autobahn-python subscribers.

One router with four web transports:
  0  plain HTTP on 127.0.0.1, no trusted proxies (most paths, "ws")
  1  plain HTTP on 127.0.0.1 with trusted_proxies ["127.0.0.1"]
  2  HTTPS on 127.0.0.1 (certificate from trustme)
  3  plain HTTP on ::1 (only when IPv6 loopback works here)
"""

from __future__ import annotations

import http.client
import json
import ssl
import time
from datetime import datetime, timedelta, timezone

import pytest
import trustme
from autobahn.wamp.types import SubscribeOptions

from junction_harness import (
    MAX_NONCE,
    AnyIpRouter,
    Collector,
    Sessions,
    ahttp_request,
    anonymous_role,
    assert_http_error,
    assert_published,
    assert_wamp_error,
    bridge_path,
    bridge_signature,
    bridge_timestamp,
    check_bridge_headers,
    compact_json,
    http_connection,
    http_request,
    ipv6_loopback_available,
    make_config,
    permission,
    quiet,
    raw_http,
    realm,
    run,
    signed_query,
    start_router,
    web_transport,
    ws_path,
)

KEY, SECRET = "foobar", "secret123"
DEBUG_KEY, DEBUG_SECRET = "debugkey", "debug-secret-never-logged"
LIMIT = 100
ORIGIN = "https://app.example.com"
HAVE_IPV6 = ipv6_loopback_available()

PLAIN, PROXIED, TLS, V6 = 0, 1, 2, 3


def pub(**options):
    return bridge_path("publisher", **options)


@pytest.fixture(scope="module")
def tls_ca():
    return trustme.CA()


@pytest.fixture(scope="module")
def router(request, tls_ca, tmp_path_factory):
    certdir = tmp_path_factory.mktemp("tls")
    server_cert = tls_ca.issue_cert("127.0.0.1", "localhost")
    cert_path, key_path = certdir / "cert.pem", certdir / "key.pem"
    cert_path.write_bytes(b"".join(blob.bytes() for blob in server_cert.cert_chain_pems))
    key_path.write_bytes(server_cert.private_key_pem.bytes())

    roles = [anonymous_role(), {"name": "nopublish", "permissions": [permission(publish=False)]}]
    plain = web_transport({
        "ws": ws_path(),
        "push": pub(post_body_limit=LIMIT, require_ip=["127.0.0.1"]),
        "push-open": pub(),
        "push-cors": pub(allowed_origins=["https://*.example.com"]),
        "push-any-origin": pub(allowed_origins=["*"]),
        "push-put": bridge_path("pusher"),  # Crossbar's older type name
        "push-200": pub(success_status=200),
        "push-signed": pub(key=KEY, secret=SECRET, timestamp_delta_limit=10),
        "push-nowindow": pub(key=KEY, secret=SECRET, timestamp_delta_limit=0),
        "push-signed-debug": pub(key=DEBUG_KEY, secret=DEBUG_SECRET, debug=True),
        "push-noauth": bridge_path("publisher", role="nopublish"),
        "push-strict": bridge_path("publisher", role="nopublish", strict_status=True),
        "push-strict-open": pub(strict_status=True),
        "push-deny": pub(require_ip=["10.0.0.0/8"]),
        "push-mask-ok": pub(require_ip=["127.0.0.0/255.0.0.0"]),
        "push-mask-no": pub(require_ip=["10.0.0.0/255.0.0.0"]),
        "push-list": pub(require_ip=["192.168.1.1/255.255.255.0", "127.0.0.1"]),
        "push-tls": pub(require_tls=True),
        "push-v6only": pub(require_ip=["::1"]),
    })
    proxied = web_transport({
        "push-10": pub(require_ip=["10.0.0.0/8"]),
        "push-local": pub(require_ip=["127.0.0.1"]),
        "push-tls": pub(require_tls=True),
    }, options={"trusted_proxies": ["127.0.0.1"]})
    tls = web_transport({
        "push-tls": pub(require_tls=True),
        "push-open": pub(),
    }, tls={"certificate": str(cert_path), "key": str(key_path)})
    transports = [plain, proxied, tls]
    if HAVE_IPV6:
        transports.append(web_transport({
            "push-v6": pub(require_ip=["::1"]),
            "push-v6net": pub(require_ip=["::1/128"]),
            "push-v6-deny": pub(require_ip=["fd00::/8"]),
            "push-v4only": pub(require_ip=["127.0.0.1", "127.0.0.0/8"]),
        }, interface="::1"))
    config = make_config(realms=[realm("realm1", roles=roles)], transports=transports)
    return start_router(request, config, name="http-publisher", router_cls=AnyIpRouter)


@pytest.fixture(scope="module")
def client_tls(tls_ca):
    ctx = ssl.create_default_context()
    tls_ca.configure_trust(ctx)
    return ctx


def req(router, method, path, transport=PLAIN, **kw):
    host = "::1" if transport == V6 else "127.0.0.1"
    return http_request(host, router.ports[transport], method, path, **kw)


def event_body(topic="com.example.push", *args, **kwargs):
    body = {"topic": topic}
    if args:
        body["args"] = list(args)
    if kwargs:
        body["kwargs"] = kwargs
    return body


def body_of_size(n: int) -> bytes:
    """A valid publish body of exactly n bytes."""
    head, tail = b'{"topic":"com.example.limit","args":["', b'"]}'
    pad = n - len(head) - len(tail)
    assert pad >= 0
    body = head + b"x" * pad + tail
    assert len(body) == n
    json.loads(body)
    return body


# ---------------------------------------------------------------------------
# the signing code of these tests


def test_signature_test_vector():
    body = b'{"topic":"com.myapp.topic1","args":["Hello, world"]}'
    sig = bridge_signature("secret123", "foobar", "2011-10-14T16:59:51.123Z", 1, 12345, body)
    assert sig == "_jbcYQRw2XTEWw-fbom5uWM_SWv-tKqQ4U8_fTToO3I="
    q = signed_query("foobar", "secret123", body, seq=1, nonce=12345,
                     timestamp="2011-10-14T16:59:51.123Z")
    assert q["signature"] == sig
    assert list(q) == ["timestamp", "seq", "key", "nonce", "signature"]


def test_timestamp_format():
    t = datetime(2011, 10, 14, 18, 59, 51, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert bridge_timestamp(t) == "2011-10-14T16:59:51.123Z"


# ---------------------------------------------------------------------------
# 1. method


@pytest.mark.parametrize("method", ["GET", "DELETE", "PATCH"])
def test_other_methods_are_405(router, method):
    res = req(router, method, "push-open")
    assert_http_error(res, 405)
    allow = res.header("Allow")
    assert allow is not None and set(allow.replace(" ", "").split(",")) == {"POST", "PUT", "OPTIONS"}, res


def test_method_checked_first(router):
    # no signature, wrong content type: the method decides
    res = req(router, "GET", "push-signed", content_type="text/plain")
    assert_http_error(res, 405)


def test_options_preflight(router):
    res = req(router, "OPTIONS", "push-cors", content_type=None, headers={"Origin": ORIGIN})
    assert res.status == 200, res
    assert res.body == b"", res
    assert res.header("Allow") == "POST,PUT,OPTIONS", res
    check_bridge_headers(res, ORIGIN, json_type=False)


# Issue 12, item 9: any web page could drive a loopback- or intranet-only pusher through a
# visitor's browser, as every Origin was echoed with credentials. Only the page's own origin
# and the origins a path lists in allowed_origins may; ["*"] opts into Crossbar's behaviour.


def test_a_foreign_origin_is_refused_without_cors_headers(router):
    for method in ("OPTIONS", "POST"):
        res = req(router, method, "push-open", json_body=event_body(),
                  headers={"Origin": "https://evil.example.net"})
        assert res.status == 403, res
        assert res.header("Access-Control-Allow-Origin") is None, res
        assert "allowed_origins" in res.json()["error"], res
    res = req(router, "POST", "push-cors", json_body=event_body(),
              headers={"Origin": "https://evil.example.net"})
    assert res.status == 403, res


def test_the_pages_own_origin_and_listed_origins_are_allowed(router):
    own = f"http://127.0.0.1:{router.ports[PLAIN]}"
    res = req(router, "POST", "push-open", json_body=event_body(), headers={"Origin": own})
    assert res.status == 202, res
    check_bridge_headers(res, own)
    res = req(router, "POST", "push-any-origin", json_body=event_body(),
              headers={"Origin": "https://evil.example.net"})
    assert res.status == 202, res
    check_bridge_headers(res, "https://evil.example.net")


def test_put_publishes_like_post(router):
    assert_published(req(router, "PUT", "push-open", json_body=event_body()))
    assert_published(req(router, "POST", "push-put", json_body=event_body()))


def test_unknown_path_is_404(router):
    assert_http_error(req(router, "POST", "no-such-path", json_body=event_body()), 404)


# ---------------------------------------------------------------------------
# 2. content type and charset


@pytest.mark.parametrize("ctype", ["application/json", "application/json; charset=utf-8",
                                   "application/json;charset=UTF-8", None])
def test_accepted_content_types(router, ctype):
    assert_published(req(router, "POST", "push-open", json_body=event_body(), content_type=ctype))


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded",
                                   "application/jsonp"])
def test_wrong_content_type_is_400(router, ctype):
    assert_http_error(req(router, "POST", "push-open", json_body=event_body(), content_type=ctype), 400)


@pytest.mark.parametrize("charset", ["iso-8859-1", "latin-1", "utf-16"])
def test_charset_not_utf8_is_400(router, charset):
    res = req(router, "POST", "push-open", json_body=event_body(),
              content_type=f"application/json; charset={charset}")
    assert_http_error(res, 400)


def test_content_type_checked_before_size(router):
    res = req(router, "POST", "push", body=body_of_size(LIMIT + 50), content_type="text/plain")
    assert_http_error(res, 400)


# ---------------------------------------------------------------------------
# 3. Content-Length


def _two_content_lengths(router, extra):
    body = compact_json(event_body())
    data = (b"POST /push-open HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
            % (len(body), len(body) + extra)) + body
    return raw_http("127.0.0.1", router.ports[PLAIN], data)


def test_two_different_content_lengths_are_400(router):
    # Request smuggling: two different lengths are refused before anything is published.
    status, headers, rest = _two_content_lengths(router, 5)
    assert status == 400, (status, headers, rest)


def test_two_identical_content_lengths_count_as_one(router):
    # RFC 9112 section 6.3 lets a recipient treat repeated identical Content-Length values as
    # one; the HTTP layer (hyper) does so before Junction sees the request. There is no
    # ambiguity about where the body ends, so this is not a smuggling vector.
    status, headers, rest = _two_content_lengths(router, 0)
    assert status == 202, (status, headers, rest)


def test_body_shorter_than_content_length_is_400(router):
    body = compact_json(event_body())
    data = (b"POST /push-open HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % (len(body) + 20)) + body
    status, headers, rest = raw_http("127.0.0.1", router.ports[PLAIN], data, shutdown_write=True)
    assert status == 400, (status, headers, rest)


# ---------------------------------------------------------------------------
# 4. post_body_limit


def test_body_at_limit_is_accepted(router):
    assert_published(req(router, "POST", "push", body=body_of_size(LIMIT)))


def test_body_over_limit_is_413(router):
    assert_http_error(req(router, "POST", "push", body=body_of_size(LIMIT + 1)), 413)
    assert_http_error(req(router, "POST", "push", body=body_of_size(10 * LIMIT)), 413)


def test_chunked_body_limit(router):
    def chunks(body):
        yield body[:30]
        yield body[30:]

    conn = http_connection("127.0.0.1", router.ports[PLAIN])
    try:
        conn.request("POST", "/push", body=chunks(body_of_size(LIMIT)), encode_chunked=True,
                     headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
        res = conn.getresponse()
        data = res.read()
        assert res.status == 202, (res.status, data)
    finally:
        conn.close()
    conn = http_connection("127.0.0.1", router.ports[PLAIN])
    try:
        conn.request("POST", "/push", body=chunks(body_of_size(LIMIT + 1)), encode_chunked=True,
                     headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
        res = conn.getresponse()
        data = res.read()
        assert res.status == 413, (res.status, data)
        assert json.loads(data)["error"]
    finally:
        conn.close()


def test_default_limit_accepts_large_bodies(router):
    # no post_body_limit: Crossbar's 1 MiB ceiling; 200 KB must pass
    big = "y" * 200_000
    assert_published(req(router, "POST", "push-open", json_body=event_body("com.example.big", big)))


# ---------------------------------------------------------------------------
# 5. signed requests


def signed(router, body: bytes, query: dict, path="push-signed", **kw):
    return req(router, "POST", path, body=body, query=query, **kw)


def test_signed_request_accepted(router):
    body = compact_json(event_body("com.example.signed", 1))
    assert_published(signed(router, body, signed_query(KEY, SECRET, body)))


@pytest.mark.parametrize("field", ["key", "timestamp", "seq", "nonce", "signature"])
def test_signed_missing_field_is_400(router, field):
    body = compact_json(event_body("com.example.signed", 1))
    q = signed_query(KEY, SECRET, body)
    del q[field]
    assert_http_error(signed(router, body, q), 400)


def test_unsigned_request_on_signed_path_is_400(router):
    assert_http_error(req(router, "POST", "push-signed", json_body=event_body()), 400)


def _now_variants():
    now = datetime.now(timezone.utc)
    plus1 = now.astimezone(timezone(timedelta(hours=1)))
    return {
        "no fractional seconds": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "no Z": bridge_timestamp(now)[:-1],
        "+01:00 offset": plus1.strftime("%Y-%m-%dT%H:%M:%S.") + f"{plus1.microsecond // 1000:03d}+01:00",
        "+00:00 offset": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+00:00",
        "date only": now.strftime("%Y-%m-%d"),
        "unix seconds": str(int(now.timestamp())),
        "garbage": "yesterday",
    }


@pytest.mark.parametrize("variant", list(_now_variants()))
def test_signed_malformed_timestamp_is_400(router, variant):
    # each value names (roughly) the current time, so only its form is wrong;
    # the signature is computed over the value as sent
    ts = _now_variants()[variant]
    body = compact_json(event_body("com.example.signed", 1))
    assert_http_error(signed(router, body, signed_query(KEY, SECRET, body, timestamp=ts)), 400)


@pytest.mark.parametrize("offset", [-60, 60, -3600, 86400])
def test_signed_timestamp_outside_window_is_400(router, offset):
    ts = bridge_timestamp(datetime.now(timezone.utc) + timedelta(seconds=offset))
    body = compact_json(event_body("com.example.signed", 1))
    assert_http_error(signed(router, body, signed_query(KEY, SECRET, body, timestamp=ts)), 400)


@pytest.mark.parametrize("offset", [-5, 5])
def test_signed_timestamp_inside_window_is_accepted(router, offset):
    ts = bridge_timestamp(datetime.now(timezone.utc) + timedelta(seconds=offset))
    body = compact_json(event_body("com.example.signed", 1))
    assert_published(signed(router, body, signed_query(KEY, SECRET, body, timestamp=ts)))


@pytest.mark.parametrize("seq", ["abc", "1.5", "", "0x10", "1e3"])
def test_signed_non_integer_seq_is_400(router, seq):
    body = compact_json(event_body("com.example.signed", 1))
    assert_http_error(signed(router, body, signed_query(KEY, SECRET, body, seq=seq)), 400)


@pytest.mark.parametrize("nonce", ["abc", "1.5", "-1", "", str(MAX_NONCE + 1)])
def test_signed_bad_nonce_is_400(router, nonce):
    body = compact_json(event_body("com.example.signed", 1))
    assert_http_error(signed(router, body, signed_query(KEY, SECRET, body, nonce=nonce)), 400)


@pytest.mark.parametrize("nonce", [0, MAX_NONCE])
def test_signed_nonce_range_bounds_accepted(router, nonce):
    body = compact_json(event_body("com.example.signed", nonce))
    assert_published(signed(router, body, signed_query(KEY, SECRET, body, nonce=nonce)))


def test_signed_unknown_key_is_401(router):
    body = compact_json(event_body("com.example.signed", 1))
    assert_http_error(signed(router, body, signed_query("otherkey", SECRET, body)), 401)


def test_signed_wrong_secret_is_401(router):
    body = compact_json(event_body("com.example.signed", 1))
    assert_http_error(signed(router, body, signed_query(KEY, "wrong-secret", body)), 401)


def test_signed_garbage_signature_is_401(router):
    body = compact_json(event_body("com.example.signed", 1))
    q = signed_query(KEY, SECRET, body)
    q["signature"] = "not a signature"
    assert_http_error(signed(router, body, q), 401)


def test_signed_tampered_body_is_401(router):
    body = compact_json(event_body("com.example.signed", "pay", 10))
    q = signed_query(KEY, SECRET, body)
    tampered = compact_json(event_body("com.example.signed", "pay", 1000))
    assert_http_error(signed(router, tampered, q), 401)


def test_signed_tampered_query_is_401(router):
    body = compact_json(event_body("com.example.signed", 1))
    q = signed_query(KEY, SECRET, body, seq=7)
    q["seq"] = "8"
    assert_http_error(signed(router, body, q), 401)


def test_signed_replay_is_401(router):
    body = compact_json(event_body("com.example.signed", "once"))
    q = signed_query(KEY, SECRET, body)
    assert_published(signed(router, body, q))
    assert_http_error(signed(router, body, q), 401)
    # the same (key, nonce) with a new, valid signature over another body
    body2 = compact_json(event_body("com.example.signed", "twice"))
    q2 = signed_query(KEY, SECRET, body2, seq=2, nonce=int(q["nonce"]))
    assert_http_error(signed(router, body2, q2), 401)
    # another nonce is fine
    q3 = signed_query(KEY, SECRET, body2, seq=3)
    assert_published(signed(router, body2, q3))


def test_signature_checked_before_body(router):
    bad = b"{not json"
    # wrong signature over a broken body: the signature decides (401)
    assert_http_error(signed(router, bad, signed_query(KEY, "wrong", bad)), 401)
    # right signature: then the body is checked (400)
    assert_http_error(signed(router, bad, signed_query(KEY, SECRET, bad)), 400)


def test_unsigned_path_checks_timestamp_when_given(router):
    # Crossbar applies timestamp_delta_limit (default 300 s) whenever a
    # timestamp is present, also on unsigned paths
    old = bridge_timestamp(datetime.now(timezone.utc) - timedelta(hours=1))
    res = req(router, "POST", "push-open", json_body=event_body(), query={"timestamp": old, "seq": 1})
    assert_http_error(res, 400)
    fresh = {"timestamp": bridge_timestamp(), "seq": 1}
    assert_published(req(router, "POST", "push-open", json_body=event_body(), query=fresh))


def test_timestamp_delta_limit_0_means_no_window(router):
    """Crossbar accepts timestamp_delta_limit 0..86400 and reads 0 as "no window" (issue 12):
    a day-old signed request passes, a malformed timestamp still does not, and a nonce is still
    refused the second time."""
    body = compact_json(event_body("com.example.nowindow", 1))
    day_old = bridge_timestamp(datetime.now(timezone.utc) - timedelta(days=1))
    q = signed_query(KEY, SECRET, body, timestamp=day_old)
    assert_published(signed(router, body, q, path="push-nowindow"))
    assert_http_error(signed(router, body, q, path="push-nowindow"), 401)
    malformed = signed_query(KEY, SECRET, body, timestamp="2020-01-01T00:00:00Z")
    assert_http_error(signed(router, body, malformed, path="push-nowindow"), 400)
    # the 10-second window of push-signed refuses the same age
    assert_http_error(signed(router, body, signed_query(KEY, SECRET, body, timestamp=day_old),
                             path="push-signed"), 400)


def test_debug_logs_requests_but_no_secrets(router):
    before = router.log().count("push-signed-debug")
    body = compact_json(event_body("com.example.debug", 1))
    q = signed_query(DEBUG_KEY, DEBUG_SECRET, body)
    assert_published(signed(router, body, q, path="push-signed-debug"))
    bad = signed_query(DEBUG_KEY, "wrong", body)
    assert_http_error(signed(router, body, bad, path="push-signed-debug"), 401)
    end = time.monotonic() + 2
    while router.log().count("push-signed-debug") < before + 2 and time.monotonic() < end:
        time.sleep(0.05)
    log = router.log()
    assert log.count("push-signed-debug") >= before + 2, \
        "debug: true must log each request (accepted and refused) with its path"
    assert DEBUG_SECRET not in log, "the secret must never be logged"
    assert q["signature"] not in log and bad["signature"] not in log, "signatures must not be logged"


# ---------------------------------------------------------------------------
# 6. require_ip (IPv4, netmask form, IPv6, proxies) and require_tls


def test_require_ip_allowed(router):
    assert_published(req(router, "POST", "push", json_body=event_body()))
    assert_published(req(router, "POST", "push-list", json_body=event_body()))


def test_require_ip_denied(router):
    assert_http_error(req(router, "POST", "push-deny", json_body=event_body()), 400)


def test_require_ip_netmask_form(router):
    assert_published(req(router, "POST", "push-mask-ok", json_body=event_body()))
    assert_http_error(req(router, "POST", "push-mask-no", json_body=event_body()), 400)


def test_require_ipv6_denies_ipv4_client(router):
    assert_http_error(req(router, "POST", "push-v6only", json_body=event_body()), 400)


@pytest.mark.skipif(not HAVE_IPV6, reason="IPv6 loopback (::1) is not available here")
def test_require_ip_ipv6(router):
    assert_published(req(router, "POST", "push-v6", V6, json_body=event_body()))
    assert_published(req(router, "POST", "push-v6net", V6, json_body=event_body()))
    assert_http_error(req(router, "POST", "push-v6-deny", V6, json_body=event_body()), 400)
    assert_http_error(req(router, "POST", "push-v4only", V6, json_body=event_body()), 400)


def test_forwarded_for_ignored_without_trusted_proxies(router):
    res = req(router, "POST", "push-deny", json_body=event_body(),
              headers={"X-Forwarded-For": "10.1.2.3"})
    assert_http_error(res, 400)
    # and it does not make the real address fail either
    assert_published(req(router, "POST", "push", json_body=event_body(),
                         headers={"X-Forwarded-For": "10.1.2.3"}))


def test_forwarded_for_from_trusted_proxy(router):
    xff = {"X-Forwarded-For": "10.1.2.3"}
    assert_published(req(router, "POST", "push-10", PROXIED, json_body=event_body(), headers=xff))
    # the client is 10.1.2.3 now, not the proxy's 127.0.0.1
    assert_http_error(req(router, "POST", "push-local", PROXIED, json_body=event_body(), headers=xff), 400)
    # a chain: client, then the (trusted) proxy itself
    chain = {"X-Forwarded-For": "10.9.8.7, 127.0.0.1"}
    assert_published(req(router, "POST", "push-10", PROXIED, json_body=event_body(), headers=chain))
    # a proxy on a trusted address without the header: the socket address counts
    assert_http_error(req(router, "POST", "push-10", PROXIED, json_body=event_body()), 400)
    assert_published(req(router, "POST", "push-local", PROXIED, json_body=event_body()))


def test_require_tls_over_plain_http_is_400(router):
    assert_http_error(req(router, "POST", "push-tls", json_body=event_body()), 400)


def test_require_tls_over_https(router, client_tls):
    res = http_request("127.0.0.1", router.ports[TLS], "POST", "/push-tls",
                       json_body=event_body(), tls_context=client_tls)
    assert_published(res)


def test_forwarded_proto_from_trusted_proxy_satisfies_require_tls(router):
    res = req(router, "POST", "push-tls", PROXIED, json_body=event_body(),
              headers={"X-Forwarded-Proto": "https"})
    assert_published(res)
    res = req(router, "POST", "push-tls", PROXIED, json_body=event_body(),
              headers={"X-Forwarded-Proto": "http"})
    assert_http_error(res, 400)
    assert_http_error(req(router, "POST", "push-tls", PROXIED, json_body=event_body()), 400)


def test_forwarded_headers_are_read_from_the_proxys_end(router):
    """Issue 12, item 6: what a client writes on the left of a forwarded header, before the
    trusted proxy appends its own entry, is not believed; an entry that does not parse fails
    closed."""
    body = event_body()
    # The client wrote https, the proxy appended http.
    assert_http_error(req(router, "POST", "push-tls", PROXIED, json_body=body,
                          headers={"X-Forwarded-Proto": "https, http"}), 400)
    # The same in two header lines.
    payload = compact_json(body)
    data = (f"POST /push-tls HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"X-Forwarded-Proto: https\r\nX-Forwarded-Proto: http\r\n"
            f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n").encode() + payload
    status, _, _ = raw_http("127.0.0.1", router.ports[PROXIED], data)
    assert status == 400, status
    # The client wrote 10.1.2.3; what the proxy appended does not parse.
    for forwarded in ["10.1.2.3, 192.0.2.9:5555", "10.1.2.3, unknown"]:
        assert_http_error(req(router, "POST", "push-10", PROXIED, json_body=body,
                              headers={"X-Forwarded-For": forwarded}), 400)
    # The client wrote 10.1.2.3, the proxy appended the real address.
    assert_http_error(req(router, "POST", "push-10", PROXIED, json_body=body,
                          headers={"X-Forwarded-For": "10.1.2.3, 192.0.2.9"}), 400)


def test_forwarded_proto_ignored_without_trusted_proxies(router):
    res = req(router, "POST", "push-tls", json_body=event_body(),
              headers={"X-Forwarded-Proto": "https"})
    assert_http_error(res, 400)


def test_https_keep_alive(router, client_tls):
    conn = http_connection("127.0.0.1", router.ports[TLS], tls_context=client_tls)
    try:
        ports = set()
        for i in range(4):
            res = http_request(None, None, "POST", "/push-open", json_body=event_body("com.example.tls", i),
                               conn=conn)
            assert_published(res)
            ports.add(conn.sock.getsockname()[1])
        assert len(ports) == 1, f"requests went over {len(ports)} TLS connections"
    finally:
        conn.close()


# ---------------------------------------------------------------------------
# 7. body


@pytest.mark.parametrize("body", [b"{not json", b"", b'{"topic": "a"', b"\xff\xfe{}"],
                         ids=["garbage", "empty", "truncated", "not-utf8"])
def test_body_not_json_is_400(router, body):
    assert_http_error(req(router, "POST", "push-open", body=body), 400)


@pytest.mark.parametrize("value", [[1, 2], "com.example.topic", 42, None, True])
def test_body_not_object_is_400(router, value):
    assert_http_error(req(router, "POST", "push-open", body=json.dumps(value)), 400)


@pytest.mark.parametrize("body", [{}, {"args": [1]}, {"Topic": "com.example.x"}])
def test_missing_topic_is_400(router, body):
    assert_http_error(req(router, "POST", "push-open", json_body=body), 400)


# ---------------------------------------------------------------------------
# 8. publish outcome


def test_success_body_and_headers(router):
    res = req(router, "POST", "push-cors", json_body=event_body(), headers={"Origin": ORIGIN})
    assert res.status == 202, res
    check_bridge_headers(res, ORIGIN)
    assert_published(req(router, "POST", "push-open", json_body=event_body()))


def test_error_echoes_origin(router):
    assert_http_error(req(router, "POST", "push-cors", body=b"[1]", headers={"Origin": ORIGIN}),
                      400, origin=ORIGIN)


def test_success_status_200(router):
    assert_published(req(router, "POST", "push-200", json_body=event_body()), status=200)


def test_not_authorized_is_200_with_wamp_error(router):
    assert_wamp_error(req(router, "POST", "push-noauth", json_body=event_body()),
                      "wamp.error.not_authorized", status=200)


def test_not_authorized_strict_status_is_403(router):
    assert_wamp_error(req(router, "POST", "push-strict", json_body=event_body()),
                      "wamp.error.not_authorized", status=403)


def test_invalid_topic_uri(router):
    body = event_body("com.example.has space")
    assert_wamp_error(req(router, "POST", "push-open", json_body=body), "wamp.error.invalid_uri", 200)
    assert_wamp_error(req(router, "POST", "push-strict-open", json_body=body),
                      "wamp.error.invalid_uri", 400)


def test_keep_alive_several_publishes_one_connection(router):
    conn = http_connection("127.0.0.1", router.ports[PLAIN])
    try:
        socks = set()
        for i in range(5):
            method = "POST" if i % 2 == 0 else "PUT"
            res = http_request(None, None, method, "/push-open",
                               json_body=event_body("com.example.keepalive", i), conn=conn)
            assert_published(res)
            assert (res.header("Connection") or "").lower() != "close", res
            socks.add(conn.sock.getsockname()[1])
        # signed ones too
        for seq in range(1, 4):
            body = compact_json(event_body("com.example.keepalive", "signed", seq))
            res = http_request(None, None, "POST", "/push-signed", body=body, conn=conn,
                               query=signed_query(KEY, SECRET, body, seq=seq))
            assert_published(res)
            socks.add(conn.sock.getsockname()[1])
        assert len(socks) == 1, f"the requests used {len(socks)} TCP connections"
    finally:
        conn.close()


def _chunks(body: bytes, size: int = 8192):
    for i in range(0, len(body), size):
        yield body[i:i + size]


@pytest.mark.parametrize("big", [False, True], ids=["small-bodies", "100kB-bodies"])
def test_keep_alive_survives_refused_requests(router, big):
    """After a refused request the connection stays usable, or the server
    says ``Connection: close`` (closing silently breaks crossbarconnect: its
    next publish fails). Refusals before the body is read are the hard case:
    a 100 kB body refused for its size (by Content-Length and chunked), its
    Content-Type or its method."""
    size = 100_000 if big else LIMIT + 1
    over = body_of_size(size)
    ok = lambda i: compact_json(event_body("com.example.ka", i))  # noqa: E731
    J = "application/json"
    sequence = [
        # (method, path, body, content type, chunked, expected status)
        ("POST", "push-open", ok(1), J, False, 202),
        ("POST", "push-open", b"{broken", J, False, 400),
        ("POST", "push-open", ok(2), J, False, 202),
        ("POST", "push", over, J, False, 413),
        ("POST", "push-open", ok(3), J, False, 202),
        ("POST", "push", over, J, True, 413),
        ("POST", "push-open", ok(4), J, False, 202),
        ("POST", "push-open", over, "text/plain", False, 400),
        ("POST", "push-open", ok(5), J, False, 202),
        ("DELETE", "push-open", over, J, False, 405),
        ("POST", "push-open", ok(6), J, False, 202),
        ("POST", "push-deny", ok(7), J, False, 400),
        ("POST", "push-open", ok(8), J, False, 202),
    ]
    conn = http_connection("127.0.0.1", router.ports[PLAIN])
    try:
        previous = None
        for method, path, body, ctype, chunked, status in sequence:
            step = f"{method} /{path} ({len(body)} bytes{', chunked' if chunked else ''}, {ctype})"
            try:
                if chunked:
                    conn.request(method, "/" + path, body=_chunks(body), encode_chunked=True,
                                 headers={"Content-Type": ctype})
                    r = conn.getresponse()
                    r.read()
                    got = r.status
                else:
                    got = http_request(None, None, method, "/" + path, body=body, conn=conn,
                                       content_type=ctype).status
            except (http.client.RemoteDisconnected, ConnectionError) as e:
                raise AssertionError(
                    f"{step} failed on the kept-alive connection: {e!r}; the server closed it "
                    f"after the previous response ({previous}) without Connection: close")
            assert got == status, (step, got)
            previous = f"{step} -> {got}"
    finally:
        conn.close()


# ---------------------------------------------------------------------------
# end to end with autobahn subscribers


ARGS = ["Hello, world", 23, 2**40, -1.5, None, True, {"nested": [1, {"ü": "€"}]}, []]
KWARGS = {"a": 1, "b": "zwei", "c": [True, None], "d": {"e": {"f": 0.25}}, "unicode": "日本語"}


def test_signed_push_reaches_subscriber(router):
    topic = "com.example.e2e.signed"

    async def main():
        async with Sessions(router.url(PLAIN, "ws")) as s:
            sub = await s.connect("json")
            sub2 = await s.connect("msgpack")
            events, events2 = Collector(), Collector()
            await sub.subscribe(events, topic, options=SubscribeOptions(details=True))
            await sub2.subscribe(events2, topic)
            body = compact_json({"topic": topic, "args": ARGS, "kwargs": KWARGS})
            res = await ahttp_request("127.0.0.1", router.ports[PLAIN], "POST", "/push-signed",
                                      body=body, query=signed_query(KEY, SECRET, body))
            pid = assert_published(res)
            (args, kwargs, details), = await events.wait(1)
            assert args == ARGS
            assert kwargs == KWARGS
            assert details.publication == pid
            (args2, kwargs2, _), = await events2.wait(1)
            assert args2 == ARGS and kwargs2 == KWARGS
            # args only, kwargs only, neither
            for body in ({"topic": topic, "args": ["only"]}, {"topic": topic, "kwargs": {"k": "v"}},
                         {"topic": topic}):
                raw = compact_json(body)
                assert_published(await ahttp_request(
                    "127.0.0.1", router.ports[PLAIN], "POST", "/push-signed", body=raw,
                    query=signed_query(KEY, SECRET, raw)))
            items = await events.wait(4)
            assert [(a, k) for a, k, _ in items[1:]] == [(["only"], {}), ([], {"k": "v"}), ([], {})]
            # refused requests publish nothing
            raw = compact_json({"topic": topic, "args": ["refused"]})
            assert_http_error(await ahttp_request(
                "127.0.0.1", router.ports[PLAIN], "POST", "/push-signed", body=raw,
                query=signed_query(KEY, "wrong", raw)), 401)
            await quiet()
            assert len(events.items) == 4, events.items

    run(main())


def test_publish_options_are_applied(router):
    topic = "com.example.e2e.options"

    async def main():
        async with Sessions(router.url(PLAIN, "ws")) as s:
            a = await s.connect("json")
            b = await s.connect("json")
            ea, eb = Collector(), Collector()
            await a.subscribe(ea, topic)
            await b.subscribe(eb, topic)
            port = router.ports[PLAIN]

            async def push(tag, options):
                res = await ahttp_request("127.0.0.1", port, "POST", "/push-open",
                                          json_body={"topic": topic, "options": options,
                                                     "args": [tag]})
                assert_published(res)

            await push("exclude-a", {"exclude": [a.session_id]})
            await push("eligible-a", {"eligible": [a.session_id]})
            await push("exclude-role", {"exclude_authrole": ["anonymous"]})
            await push("all", {})
            await ea.wait(2)
            await eb.wait(2)
            await quiet()
            assert [i[0][0] for i in ea.items] == ["eligible-a", "all"]
            assert [i[0][0] for i in eb.items] == ["exclude-a", "all"]

    run(main())


def test_refused_and_unauthorized_publish_nothing(router):
    topic = "com.example.e2e.nothing"

    async def main():
        async with Sessions(router.url(PLAIN, "ws")) as s:
            sub = await s.connect("json")
            events = Collector()
            await sub.subscribe(events, topic)
            port = router.ports[PLAIN]
            assert_wamp_error(await ahttp_request("127.0.0.1", port, "POST", "/push-noauth",
                                                  json_body=event_body(topic, 1)),
                              "wamp.error.not_authorized")
            assert_http_error(await ahttp_request("127.0.0.1", port, "POST", "/push-deny",
                                                  json_body=event_body(topic, 2)), 400)
            assert_http_error(await ahttp_request("127.0.0.1", port, "POST", "/push",
                                                  body=compact_json(event_body(topic, "x" * 200))), 413)
            assert_published(await ahttp_request("127.0.0.1", port, "POST", "/push-open",
                                                 json_body=event_body(topic, "ok")))
            (args, _, _), = await events.wait(1)
            await quiet()
            assert [i[0] for i in events.items] == [["ok"]]

    run(main())
