#!/usr/bin/env bash
# Rewrites this tools module's go.mod for a Kubernetes release: it requires
# k8s.io/kubernetes at that release and replaces every staging module that
# release lists with the matching k8s.io/<name> v0.<minor>.<patch> release.
# Usage: hack/tools/kube-apiserver/pin.sh v1.37.2 (then update versions.env).
set -euo pipefail
version=${1:?usage: pin.sh vX.Y.Z}
staging="v0.${version#v1.}"
cd "$(dirname "$0")"
proxy=${GOPROXY%%,*}
modules=$(curl -fsS "${proxy:-https://proxy.golang.org}/k8s.io/kubernetes/@v/${version}.mod" |
	sed -n '/^replace (/,/^)/p' | awk '/=>/{print $1}')
{
	printf 'module github.com/edgecert/edgecert/hack/tools/kube-apiserver\n\ngo 1.26.0\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$version"
	for m in $modules; do
		# The sample modules are not published; kube-apiserver does not use them.
		case $m in k8s.io/sample-*) continue ;; esac
		printf '\t%s => %s %s\n' "$m" "$m" "$staging"
	done
	printf ')\n'
} >go.mod
go mod tidy
