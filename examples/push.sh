#!/usr/bin/env bash
# Publish WAMP events through Junction's HTTP publisher paths with curl:
# one unsigned request and one signed request (signature computed with openssl).
#
#   ./push.sh      (the bundled config.json, started as the README says)
#   URL=http://127.0.0.1:8080/push SIGNED_URL=http://127.0.0.1:8080/push-signed \
#   KEY=example-key SECRET=change-me ./push.sh
#
# Needs bash, curl (7.76+ for --fail-with-body), openssl and GNU date (for %3N).
set -euo pipefail

URL=${URL:-http://127.0.0.1:8080/push}
SIGNED_URL=${SIGNED_URL:-http://127.0.0.1:8080/push-signed}
# The bundled config's signed path: key example-key, secret $JUNCTION_PUSH_SECRET (the README
# starts the router with change-me).
KEY=${KEY:-example-key}
SECRET=${SECRET:-${JUNCTION_PUSH_SECRET:-change-me}}
TOPIC=${TOPIC:-com.myapp.topic1}

# 1. Unsigned: a JSON object with the topic and the event's args/kwargs.
curl -sS --fail-with-body -w '\n' \
    -H 'Content-Type: application/json' \
    --data-binary "{\"topic\":\"$TOPIC\",\"args\":[\"Hello, world\"]}" \
    "$URL"

# 2. Signed: query arguments key, timestamp, seq, nonce and
#    signature = base64url(HMAC-SHA256(SECRET, KEY + TIMESTAMP + SEQ + NONCE + BODY)),
#    '=' padding kept. The body is signed byte for byte as it is sent.
BODY="{\"topic\":\"$TOPIC\",\"args\":[\"Hello, signed world\"],\"kwargs\":{\"from\":\"push.sh\"}}"
TIMESTAMP=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)         # UTC, milliseconds, Z
SEQ=1                                                 # count up per request
NONCE=$(( (RANDOM << 30) | (RANDOM << 15) | RANDOM ))  # random, in [0, 2^53]
SIGNATURE=$(printf '%s' "$KEY$TIMESTAMP$SEQ$NONCE$BODY" \
    | openssl dgst -sha256 -hmac "$SECRET" -binary \
    | openssl base64 -A | tr '+/' '-_')

# ':' in the timestamp and '=' in the signature are percent-encoded.
QUERY="key=$KEY&timestamp=${TIMESTAMP//:/%3A}&seq=$SEQ&nonce=$NONCE&signature=${SIGNATURE//=/%3D}"

curl -sS --fail-with-body -w '\n' \
    -H 'Content-Type: application/json' \
    --data-binary "$BODY" \
    "$SIGNED_URL?$QUERY"
