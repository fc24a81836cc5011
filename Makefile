# graphtrain: run 'make help' for the targets.
GO      ?= go
BIN     := bin/graphtrain
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
FUZZTIME ?= 10s

.PHONY: help build run test lint fuzz bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

build: ## build the CPU-only binary into bin/graphtrain
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/graphtrain

run: build ## the main job: train the XOR net, then ask it all four inputs
	$(BIN) train xor --out checkpoints/xor
	@for a in 0 1; do for b in 0 1; do $(BIN) predict xor --weights checkpoints/xor $$a $$b; done; done

test: lint ## vet, all tests, and a short run of every fuzz target
	$(GO) test ./...
	$(MAKE) fuzz

fuzz: ## run each fuzz target for FUZZTIME (default 10s)
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f for $(FUZZTIME)"; \
	    $(GO) test $$pkg -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) >/dev/null || { $(GO) test $$pkg -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME); exit 1; }; \
	  done; \
	done

lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

bench: ## benchmarks of one training step of each model
	$(GO) test -run '^$$' -bench . -benchtime 2s ./graph

clean: ## remove built binaries and the default checkpoints
	rm -rf bin checkpoints .gpu
