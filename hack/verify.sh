#!/usr/bin/env bash
# Fails when generated files, formatting or go.mod differ from what the
# sources produce. It compares the tree before and after regenerating, so it
# works on a clean checkout and on a tree with uncommitted edits alike.
set -euo pipefail
cd "$(dirname "$0")/.."

generated=(config/crd config/rbac api go.mod go.sum charts/edgecert/crds charts/edgecert/templates/generated)
before=$(mktemp -d)
trap 'rm -rf "$before"' EXIT
cp -a --parents "${generated[@]}" "$before"/

make --no-print-directory generate
go mod tidy

status=0
for path in "${generated[@]}"; do
	if ! diff -ru "$before/$path" "$path"; then
		status=1
	fi
done
if [ $status -ne 0 ]; then
	echo "verify: generated files or go.mod/go.sum were out of date (now regenerated above); review and commit them" >&2
fi

unformatted=$(gofmt -l $(git ls-files --cached --others --exclude-standard '*.go'))
if [ -n "$unformatted" ]; then
	echo "verify: not gofmt'ed:" $unformatted >&2
	status=1
fi

go vet ./...

# The linters (.golangci.yml); make verify builds the pinned version first.
if ! make --no-print-directory lint; then
	echo "verify: golangci-lint found problems (see above)" >&2
	status=1
fi
exit $status
