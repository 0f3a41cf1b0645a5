#!/usr/bin/env bash
# The web UI's wire types come from the api app's OpenAPI (the source of truth): tools/api_openapi.py writes the
# document without starting a server, openapi-typescript (pinned in web/package.json) turns it into TypeScript.
#   tools/api_types.sh           rewrites web/src/api/schema.d.ts   (make api-types)
#   tools/api_types.sh --check   fails when the checked-in file differs from a fresh generation   (make test)
# PY names the Python of the project's environment (the Makefile passes it).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
py=${PY:-python3}
target="$repo/web/src/api/schema.d.ts"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(cd "$repo" && PYTHONPATH="$repo" "$py" tools/api_openapi.py) > "$tmp/openapi.json"
# Defaults do not make a field required: requests may leave them out; FastAPI marks what responses always carry.
(cd "$repo/web" && node_modules/.bin/openapi-typescript "$tmp/openapi.json" --default-non-nullable false \
  --output "$tmp/schema.d.ts" > "$tmp/log" 2>&1) || { cat "$tmp/log" >&2; exit 1; }

if [ "${1:-}" = "--check" ]; then
  if ! cmp -s "$tmp/schema.d.ts" "$target"; then
    echo "web/src/api/schema.d.ts is not what the api's OpenAPI gives: run \`make api-types\` and commit it." >&2
    diff -u "$target" "$tmp/schema.d.ts" 2>&1 | head -40 >&2 || true
    exit 1
  fi
else
  cp "$tmp/schema.d.ts" "$target"
fi
