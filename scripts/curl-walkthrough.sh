#!/usr/bin/env bash
# The README's curl walk-through as a script: start a flow, see it pending,
# approve it through the console API (as a person's browser would, with a
# cookie jar and the CSRF token), poll the token, call /v1/me with it,
# revoke it (RFC 7009) and see it refused. Exits non-zero at the first
# answer that is not the documented one. Needs only bash, curl and sed.
#
#   GATEHOUSE_URL=http://127.0.0.1:8080 GATEHOUSE_EMAIL=admin@localhost \
#   GATEHOUSE_PASSWORD=... scripts/curl-walkthrough.sh
set -euo pipefail

B=${GATEHOUSE_URL:-http://127.0.0.1:8080}
EMAIL=${GATEHOUSE_EMAIL:?set GATEHOUSE_EMAIL to an account that may approve}
PASSWORD=${GATEHOUSE_PASSWORD:?set GATEHOUSE_PASSWORD}
CLIENT=${GATEHOUSE_CLIENT_ID:-gatehouse-cli}
GRANT=urn:ietf:params:oauth:grant-type:device_code
# Console POSTs carry Origin, as a browser's would: the public URL's scheme://host.
origin=$(printf '%s' "$B" | sed -E 's#^([a-zA-Z]+://[^/]+).*#\1#')

jar=$(mktemp)
trap 'rm -f "$jar"' EXIT

# field NAME / number NAME read one member of a one-line JSON answer.
field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
number() { sed -n "s/.*\"$1\":\([0-9][0-9]*\).*/\1/p"; }
step() { printf '\n== %s\n' "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
poll() {
  curl -sS -X POST "$B/v1/oauth/device/token" -d client_id="$CLIENT" \
    -d grant_type="$GRANT" -d device_code="$device_code"
}

step "1. The CLI starts a flow"
start=$(curl -sS -X POST "$B/v1/oauth/device/code" -d client_id="$CLIENT" -d device_label=curl-walkthrough)
echo "$start"
device_code=$(echo "$start" | field device_code)
user_code=$(echo "$start" | field user_code)
interval=$(echo "$start" | number interval)
[ -n "$device_code" ] && [ -n "$user_code" ] && [ -n "$interval" ] || fail "no device_code, user_code or interval"

step "2. It polls; nobody has approved yet"
answer=$(poll)
echo "$answer"
echo "$answer" | grep -q '"error":"authorization_pending"' || fail "want authorization_pending"

step "3. A person signs in and approves $user_code"
login=$(curl -sS -c "$jar" -H 'Content-Type: application/json' \
  -d "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" "$B/console/api/login")
csrf=$(echo "$login" | field csrf_token)
[ -n "$csrf" ] || fail "sign-in failed: $login"
answer=$(curl -sS -b "$jar" -H 'Content-Type: application/json' -H "X-CSRF-Token: $csrf" -H "Origin: $origin" \
  -d "{\"user_code\":\"$user_code\"}" "$B/console/api/oauth/device/approve")
echo "$answer"
echo "$answer" | grep -q '"status":"approved"' || fail "approval refused"

step "4. After the interval, the next poll gets the token"
sleep "$interval"
answer=$(poll)
echo "$answer"
token=$(echo "$answer" | field access_token)
[ -n "$token" ] || fail "no access_token"

step "5. Services check the token"
curl -sS -f "$B/v1/me" -H "Authorization: Bearer $token" || fail "/v1/me refused a fresh token"
echo

step "6. The holder revokes it (RFC 7009)"
curl -sS -f -X POST "$B/v1/oauth/revoke" -d token="$token" -d client_id="$CLIENT" || fail "revocation failed"
echo

step "7. It no longer works"
status=$(curl -sS -o /dev/null -w '%{http_code}' "$B/v1/me" -H "Authorization: Bearer $token")
[ "$status" = 401 ] || fail "/v1/me after revocation answered $status, want 401"
echo "401, as it should"

printf '\nwalk-through complete\n'
