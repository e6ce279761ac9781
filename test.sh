#!/usr/bin/env bash
# Junction's tests, in two tiers:
#
#   ./test.sh quick   Rust only: cargo fmt --check, then the unit and integration tests (the
#                     router runs in the test process or as the real binary), the fuzzers'
#                     saved corpora replayed, the layering check. Nothing is installed.
#   ./test.sh         everything, what CI runs: the above plus cargo clippy, the load
#                     generator's tests in bench/, autobahn-python interop (venv in .venv),
#                     autobahn.js and wampy.js interop (npm packages in
#                     tests/interop/js/node_modules), the HTTP bridge and examples tests, a
#                     browser app in headless Chromium (Debian packages curl, openssl, php-cli,
#                     php-curl, chromium via apt-get when missing).
#
# A fresh machine works: the full tier installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")"

tier=${1:-all}
case "$tier" in
    quick | all) ;;
    *)
        echo "usage: ./test.sh [quick]" >&2
        exit 2
        ;;
esac

step() { printf '\n==> %s\n' "$*"; }

if [ "$tier" = quick ]; then
    step "cargo fmt --check"
    cargo fmt --check
    step "cargo test (unit and integration tests of junction)"
    cargo test -p junction --quiet
    step "quick tests passed (./test.sh runs everything)"
    exit 0
fi

step "system packages the tests use (curl, openssl, php-cli with curl for examples/push.php, chromium)"
need=()
command -v curl >/dev/null || need+=(curl)
command -v openssl >/dev/null || need+=(openssl)
{ command -v php >/dev/null && php -r 'exit(function_exists("curl_init") ? 0 : 1);'; } || need+=(php-cli php-curl)
# browser*.test.mjs drive Debian's Chromium through playwright-core (which downloads no browser).
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

step "cargo fmt --check"
cargo fmt --check

step "cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "cargo test (unit and integration tests; the load generator's unit tests and smoke run of every scenario)"
cargo build --workspace --quiet
cargo test --workspace --quiet

step "autobahn-python interop (venv .venv)"
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r tests/interop/python/requirements.txt
JUNCTION_BIN="$PWD/target/debug/junction" .venv/bin/python -m pytest tests/interop/python -q -p no:cacheprovider

step "autobahn.js and wampy.js interop (npm packages in tests/interop/js)"
(
    cd tests/interop/js
    # `npm install`, not `npm ci`: npm 11's ci refuses this lock because wampy's msgpackr and
    # cbor-x list native builds for other platforms as optional dependencies without versions.
    # install follows package-lock.json all the same.
    npm install --no-audit --no-fund --loglevel=error
    # A test run leaves the tree as it found it: the committed lock already lists every
    # platform package npm records, so install has nothing to add (issue 12).
    if git rev-parse --is-inside-work-tree >/dev/null 2>&1 \
        && ! git diff --quiet -- package-lock.json; then
        echo "npm install changed tests/interop/js/package-lock.json; commit the lock it wrote" >&2
        exit 1
    fi
    JUNCTION_BIN="$PWD/../../../target/debug/junction" NODE_OPTIONS=--experimental-websocket node --test
)

step "all tests passed"
