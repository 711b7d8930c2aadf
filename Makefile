# edgecert's developer entry points. `make help` lists them.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

include hack/tools/versions.env

BIN            := $(CURDIR)/bin
KUBE_APISERVER := $(BIN)/kube-apiserver-$(KUBERNETES_VERSION)
ETCD           := $(BIN)/etcd-$(ETCD_VERSION)
PEBBLE         := $(BIN)/pebble-$(PEBBLE_VERSION)
CONTROLLER_GEN := $(BIN)/controller-gen-$(CONTROLLER_GEN_VERSION)
GOLANGCI_LINT  := $(BIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)
ISTIOCTL       := $(BIN)/istioctl-$(ISTIOCTL_VERSION)
HELM           := $(BIN)/helm-$(HELM_VERSION)
PROMTOOL       := $(BIN)/promtool-$(PROMTOOL_VERSION)
GO_TEST_FLAGS  ?= -count=1 -timeout=40m

##@ Everyday

.PHONY: help
help: ## Show the targets.
	@awk 'BEGIN{FS=":.*##"} /^##@/{printf "\n%s\n", substr($$0,5)} /^[a-z-]+:.*##/{printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# What `edgecert version` prints, from git: the release tag (or commit), the
# commit, and the commit's date (not the build's, so one commit builds one
# binary and one image digest).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
DATE    ?= $(shell git log -1 --format=%cI 2>/dev/null || echo unknown)
VERSION_LDFLAGS := -X github.com/edgecert/edgecert/internal/version.Version=$(VERSION) \
	-X github.com/edgecert/edgecert/internal/version.Commit=$(COMMIT) \
	-X github.com/edgecert/edgecert/internal/version.Date=$(DATE)

.PHONY: build
build: ## Build bin/edgecert, its version, commit and date stamped.
	go build -trimpath -ldflags "$(VERSION_LDFLAGS)" -o $(BIN)/edgecert ./cmd/edgecert

# `make image` writes the image (an OCI image layout in a tar archive) to
# IMAGE_ARCHIVE and, given REGISTRY (and IMAGE, default edgecert) pushes it
# as $(REGISTRY)/$(IMAGE):$(VERSION). No Docker: hack/image builds it with
# go-containerregistry, every timestamp the commit's date.
IMAGE_ARCHIVE ?= $(CURDIR)/edgecert-image.tar
IMAGE         ?= edgecert
REGISTRY      ?=
IMAGE_FLAGS    = -version "$(VERSION)" -commit "$(COMMIT)" -date "$(DATE)" -name $(if $(REGISTRY),$(REGISTRY)/)$(IMAGE):$(VERSION)

.PHONY: image
image: ## Build the container image (IMAGE_ARCHIVE) without Docker; push it when REGISTRY is set.
	go run ./hack/image $(IMAGE_FLAGS) -o $(IMAGE_ARCHIVE) $(if $(REGISTRY),-push $(REGISTRY)/$(IMAGE):$(VERSION))

.PHONY: image-reproducible
image-reproducible: ## Build the image twice and fail unless both digests and archives are the same.
	go run ./hack/image $(IMAGE_FLAGS) -o $(IMAGE_ARCHIVE).1 | tee $(IMAGE_ARCHIVE).1.log
	go run ./hack/image $(IMAGE_FLAGS) -o $(IMAGE_ARCHIVE).2 | tee $(IMAGE_ARCHIVE).2.log
	@d1=$$(grep '^digest ' $(IMAGE_ARCHIVE).1.log); d2=$$(grep '^digest ' $(IMAGE_ARCHIVE).2.log); \
		rm -f $(IMAGE_ARCHIVE).1.log $(IMAGE_ARCHIVE).2.log; \
		cmp $(IMAGE_ARCHIVE).1 $(IMAGE_ARCHIVE).2 && [ "$$d1" = "$$d2" ] && echo "reproducible: $$d1" || \
		{ echo "image-reproducible: two builds of one commit differ ($$d1, $$d2)" >&2; exit 1; }
	rm -f $(IMAGE_ARCHIVE).1 $(IMAGE_ARCHIVE).2

.PHONY: test
test: tools ## Run every test against the real test bed (kube-apiserver, etcd, Pebble, BIND).
	go test $(GO_TEST_FLAGS) ./...

.PHONY: bench
bench: tools ## Run the benchmarks; each prints `BENCH <name> <value> <unit>` lines.
	go test -run='^$$' -bench=. -benchtime=1x -timeout=60m ./...

.PHONY: demo
demo: tools ## Start a local control plane, Pebble and BIND, and run edgecert against them.
	go run ./hack/demo

##@ Generated code

# RBAC: edgecert-controller is bound cluster-wide; edgecert-rollout
# (workload patches for CertMerge) only by RoleBindings in namespaces that
# opt in, so its markers live apart, in internal/rollout.
.PHONY: generate
generate: $(CONTROLLER_GEN) ## Regenerate deepcopy, CRDs (config/crd) and RBAC (config/rbac), and copy them into charts/edgecert.
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths=./api/...
	$(CONTROLLER_GEN) crd paths=./api/... output:crd:artifacts:config=config/crd/bases
	$(CONTROLLER_GEN) rbac:roleName=edgecert-controller "paths=./internal/controller/...;./internal/kube/..." output:rbac:artifacts:config=config/rbac
	$(CONTROLLER_GEN) rbac:roleName=edgecert-rollout paths=./internal/rollout/... output:rbac:artifacts:config=config/rbac/rollout
	hack/chart-sync.sh

.PHONY: verify
verify: $(GOLANGCI_LINT) ## Regenerate, gofmt, go vet, go mod tidy, lint; fail on any difference or finding.
	hack/verify.sh

.PHONY: lint
lint: $(GOLANGCI_LINT) ## Run golangci-lint (.golangci.yml).
	$(GOLANGCI_LINT) run ./...

##@ Tools (built from the Go module proxy, cached in bin/ by version)

.PHONY: tools
tools: $(KUBE_APISERVER) $(ETCD) $(PEBBLE) $(ISTIOCTL) $(HELM) $(PROMTOOL) $(CONTROLLER_GEN) $(GOLANGCI_LINT) named ## Build the test bed's tools and the linter; a second run does nothing.

# The version the API server reports (/version), as release builds stamp it.
KUBE_VERSION_PARTS   := $(subst ., ,$(patsubst v%,%,$(KUBERNETES_VERSION)))
KUBE_VERSION_LDFLAGS := -X k8s.io/component-base/version.gitVersion=$(KUBERNETES_VERSION) \
	-X k8s.io/component-base/version.gitMajor=$(word 1,$(KUBE_VERSION_PARTS)) \
	-X k8s.io/component-base/version.gitMinor=$(word 2,$(KUBE_VERSION_PARTS)) \
	-X k8s.io/component-base/version.gitTreeState=clean

# Building kube-apiserver from source takes about 13 minutes the first time.
$(KUBE_APISERVER): hack/tools/kube-apiserver/go.mod hack/tools/kube-apiserver/main.go
	@grep -q 'k8s.io/kubernetes $(KUBERNETES_VERSION)$$' hack/tools/kube-apiserver/go.mod || \
		{ echo "hack/tools/kube-apiserver/go.mod is not at $(KUBERNETES_VERSION): run hack/tools/kube-apiserver/pin.sh $(KUBERNETES_VERSION)"; exit 1; }
	cd hack/tools/kube-apiserver && go build -trimpath -ldflags "$(KUBE_VERSION_LDFLAGS)" -o $@.tmp . && mv $@.tmp $@

$(ETCD): hack/tools/etcd/go.mod hack/tools/etcd/main.go
	@grep -q 'go.etcd.io/etcd/server/v3 $(ETCD_VERSION)$$' hack/tools/etcd/go.mod || \
		{ echo "hack/tools/etcd/go.mod is not at $(ETCD_VERSION)"; exit 1; }
	cd hack/tools/etcd && go build -trimpath -o $@.tmp . && mv $@.tmp $@

# istioctl judges the Istio objects tests read back (testenv.IstioValidate).
# istio.io/istio publishes no module versions, only pseudo-versions of
# commits; the tools module pins one (hack/tools/istioctl/go.mod, the `tool`
# directive) and go.sum pins its dependencies. About 13 minutes the first time.
$(ISTIOCTL): hack/tools/istioctl/go.mod
	@grep -q 'istio.io/istio $(ISTIOCTL_VERSION) ' hack/tools/istioctl/go.mod || \
		{ echo "hack/tools/istioctl/go.mod is not at $(ISTIOCTL_VERSION): run (cd hack/tools/istioctl && go get istio.io/istio@$(ISTIOCTL_VERSION) && go mod tidy)"; exit 1; }
	cd hack/tools/istioctl && go build -trimpath -ldflags "-X istio.io/istio/pkg/version.buildVersion=$(ISTIOCTL_VERSION)" \
		-o $@.tmp istio.io/istio/istioctl/cmd/istioctl && mv $@.tmp $@

# helm lints and renders charts/edgecert (test/install). The tools module
# pins it (hack/tools/helm/go.mod, the `tool` directive) with its go.sum.
$(HELM): hack/tools/helm/go.mod
	@grep -q 'helm.sh/helm/v3 $(HELM_VERSION) ' hack/tools/helm/go.mod || \
		{ echo "hack/tools/helm/go.mod is not at $(HELM_VERSION): run (cd hack/tools/helm && go get helm.sh/helm/v3@$(HELM_VERSION) && go mod tidy)"; exit 1; }
	cd hack/tools/helm && go build -trimpath -ldflags "-X helm.sh/helm/v3/internal/version.version=$(HELM_VERSION)" \
		-o $@.tmp helm.sh/helm/v3/cmd/helm && mv $@.tmp $@

# promtool checks and unit-tests the alert rules (config/monitoring). The
# tools module pins github.com/prometheus/prometheus (hack/tools/promtool/go.mod,
# the `tool` directive); remove_all_sd leaves out the service discoveries
# promtool's rule checks never use. About 15 minutes the first time.
$(PROMTOOL): hack/tools/promtool/go.mod
	@grep -q 'github.com/prometheus/prometheus $(PROMTOOL_VERSION) ' hack/tools/promtool/go.mod || \
		{ echo "hack/tools/promtool/go.mod is not at $(PROMTOOL_VERSION): run (cd hack/tools/promtool && go get -tool github.com/prometheus/prometheus/cmd/promtool@$(PROMTOOL_VERSION) && go mod tidy)"; exit 1; }
	cd hack/tools/promtool && go build -trimpath -tags remove_all_sd -ldflags "-X github.com/prometheus/common/version.Version=$(PROMTOOL_VERSION)" \
		-o $@.tmp github.com/prometheus/prometheus/cmd/promtool && mv $@.tmp $@

$(PEBBLE):
	GOBIN=$(BIN)/.pebble-$(PEBBLE_VERSION) go install github.com/letsencrypt/pebble/v2/cmd/pebble@$(PEBBLE_VERSION)
	mv $(BIN)/.pebble-$(PEBBLE_VERSION)/pebble $@ && rmdir $(BIN)/.pebble-$(PEBBLE_VERSION)

$(CONTROLLER_GEN):
	GOBIN=$(BIN)/.controller-gen-$(CONTROLLER_GEN_VERSION) go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_GEN_VERSION)
	mv $(BIN)/.controller-gen-$(CONTROLLER_GEN_VERSION)/controller-gen $@ && rmdir $(BIN)/.controller-gen-$(CONTROLLER_GEN_VERSION)

$(GOLANGCI_LINT):
	GOBIN=$(BIN)/.golangci-lint-$(GOLANGCI_LINT_VERSION) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	mv $(BIN)/.golangci-lint-$(GOLANGCI_LINT_VERSION)/golangci-lint $@ && rmdir $(BIN)/.golangci-lint-$(GOLANGCI_LINT_VERSION)

# named comes from Debian's bind9 package, not the module proxy.
.PHONY: named
named:
	@hack/ensure-named.sh
