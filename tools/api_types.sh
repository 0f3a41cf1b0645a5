#!/usr/bin/env bash
# The web UI's wire types, generated from their Python sources of truth: the api app's OpenAPI, and the UI's
# config.json model (components/web_config.py). tools/wire_schemas.py writes each document without starting a
# server; openapi-typescript (pinned in web/package.json) turns it into TypeScript.
#   tools/api_types.sh           rewrites the generated files   (make api-types)
#   tools/api_types.sh --check   fails when a checked-in file differs from a fresh generation   (make test)
# PY names the Python of the project's environment (the Makefile passes it).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
py=${PY:-python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0

generate() {  # <document> <target, relative to the repository>
  local document=$1 target=$2 out="$tmp/$1.d.ts"
  (cd "$repo" && PYTHONPATH="$repo" "$py" tools/wire_schemas.py "$document") > "$tmp/$document.json"
  # Defaults do not make a field required: requests may leave them out; the documents' `required` lists say the rest.
  (cd "$repo/web" && node_modules/.bin/openapi-typescript "$tmp/$document.json" --default-non-nullable false \
    --output "$out" > "$tmp/log" 2>&1) || { cat "$tmp/log" >&2; exit 1; }
  if [ "$check" = 1 ]; then
    if ! cmp -s "$out" "$repo/$target"; then
      echo "$target is not what its source gives: run \`make api-types\` and commit it." >&2
      diff -u "$repo/$target" "$out" 2>&1 | head -40 >&2 || true
      status=1
    fi
  else
    cp "$out" "$repo/$target"
  fi
}

check=0
[ "${1:-}" = "--check" ] && check=1
generate api web/src/api/schema.d.ts
generate web-config web/src/config/schema.d.ts
exit $status
