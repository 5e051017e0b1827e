#!/bin/sh
# Import the newsmon data view and dashboard into Kibana (overwrites earlier copies).
# KIBANA_URL defaults to the compose stack's; add -u user:password for a secured Kibana.
set -eu
here=$(dirname "$0")
curl -fsS -X POST "${KIBANA_URL:-http://127.0.0.1:5601}/api/saved_objects/_import?overwrite=true" \
  -H "kbn-xsrf: true" --form file=@"$here/newsmon-dashboard.ndjson"
echo
