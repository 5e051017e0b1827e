#!/bin/sh
# Import newsmon's data views, Lens visualisations, saved searches and dashboard into Kibana
# (objects with the same ids are overwritten). Waits for Kibana to be available first.
#
#   KIBANA_URL       Kibana's address (default http://127.0.0.1:5601, the compose stack's)
#   KIBANA_SPACE     the space to import into (default: the default space)
#   KIBANA_API_KEY   an API key (the base64 "id:key" Kibana shows), or else
#   KIBANA_USERNAME and KIBANA_PASSWORD for basic authentication
#   KIBANA_CA_CERT   a CA certificate file, for https with a private CA
#   KIBANA_WAIT      seconds to wait for Kibana to answer as available (default 180)
#
# Credentials reach curl on its standard input, never on its command line (ps shows that).
# Exit status: 0 every object imported; 1 Kibana refused some (its answer is printed);
# 2 Kibana did not become available, or the request failed.
set -eu

here=$(dirname "$0")
objects="$here/newsmon-dashboard.ndjson"
url=${KIBANA_URL:-http://127.0.0.1:5601}
url=${url%/}
space=${KIBANA_SPACE:-}
wait_for=${KIBANA_WAIT:-180}
answer=$(mktemp)
trap 'rm -f "$answer"' EXIT

case $wait_for in '' | *[!0-9]*)
  echo "import.sh: KIBANA_WAIT must be a whole number of seconds, not '$wait_for'" >&2
  exit 2
esac
case $space in *[!a-z0-9_-]*)
  echo "import.sh: KIBANA_SPACE '$space' is not a space id (lower-case letters, digits, _ and -)" >&2
  exit 2
esac

# curl with the credentials as a config on standard input; arguments pass through.
kibana() {
  {
    if [ -n "${KIBANA_API_KEY:-}" ]; then
      printf 'header = "Authorization: ApiKey %s"\n' "$KIBANA_API_KEY"
    elif [ -n "${KIBANA_USERNAME:-}" ]; then
      printf 'user = "%s:%s"\n' "$KIBANA_USERNAME" "${KIBANA_PASSWORD:-}"
    fi
    if [ -n "${KIBANA_CA_CERT:-}" ]; then
      printf 'cacert = "%s"\n' "$KIBANA_CA_CERT"
    fi
  } | curl --config - --silent --show-error --output "$answer" --write-out '%{http_code}' "$@"
}

# Kibana answers 503 while it starts and migrates its saved objects; 401 means the
# credentials are wrong, which waiting will not mend.
waited=0
while :; do
  status=$(kibana --max-time 10 "$url/api/status" 2>/dev/null) || status=000
  case $status in
    200) break ;;
    401 | 403)
      echo "import.sh: $url refused the credentials (HTTP $status): $(cat "$answer")" >&2
      exit 2
      ;;
  esac
  if [ "$waited" -ge "$wait_for" ]; then
    echo "import.sh: $url was not available after ${wait_for}s (last answer: HTTP $status)" >&2
    exit 2
  fi
  sleep 2
  waited=$((waited + 2))
done

target=$url
[ -n "$space" ] && target="$url/s/$space"
status=$(kibana --max-time 120 -X POST "$target/api/saved_objects/_import?overwrite=true" \
  -H "kbn-xsrf: newsmon" --form "file=@$objects") || {
  echo "import.sh: the import request to $target failed" >&2
  exit 2
}
if [ "$status" != 200 ]; then
  echo "import.sh: $target refused the import (HTTP $status): $(cat "$answer")" >&2
  exit 2
fi
if grep -q '"success": *true' "$answer"; then
  count=$(sed -n 's/.*"successCount": *\([0-9]*\).*/\1/p' "$answer")
  echo "import.sh: imported ${count:-all} objects into ${space:-the default space} at $url"
  exit 0
fi
echo "import.sh: Kibana did not import every object; its answer:" >&2
cat "$answer" >&2
echo >&2
exit 1
