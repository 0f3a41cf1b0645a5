#!/usr/bin/env bash
# Builds the Pulumi CLI from the pinned Go modules in this folder and writes the dynamic-provider host
# beside it. Skips everything when the cached binary already reports the pinned version.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=$(awk '$1=="github.com/pulumi/pulumi/pkg/v3" {print $2; exit}' "$here/go.mod")
root=${LISA_PULUMI_ROOT:-${LISA_CACHE:-$HOME/.cache/lisa}/pulumi/$version}
bin=$root/bin

if [ "$("$bin/pulumi" version 2>/dev/null || true)" != "$version" ]; then
  echo "building the Pulumi CLI $version (first run only, several minutes)…" >&2
  mkdir -p "$bin"
  (cd "$here" && GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -tags osusergo,grpcnotrace \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version" \
    -o "$bin/pulumi.tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
  mv "$bin/pulumi.tmp" "$bin/pulumi"
fi

# The CLI runs Python dynamic providers through this exact name; it is not in the SDK wheel.
host=$bin/pulumi-resource-pulumi-python
cat > "$host.tmp" <<'HOST'
#!/bin/sh
exec "${PULUMI_PYTHON_CMD:-python3}" -u -m pulumi.dynamic "$@"
HOST
chmod 755 "$host.tmp" && mv "$host.tmp" "$host"
echo "$root"
