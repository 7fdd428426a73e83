# The two commands of the README: `make demo` and `make test`.
# bash, for pipefail in the test recipe.
SHELL         := bash
GO            ?= go
STATICCHECK   ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
# A count, not a duration: Go 1.26's fuzz coordinator can report its own
# -fuzztime deadline as a failure ("context deadline exceeded", no crasher)
# on a loaded machine (golang/go#75804, fixed in Go 1.27); a count has no
# deadline to race. 2000 runs take one to five seconds a target here.
FUZZTIME      ?= 2000x
BENCHTIME     ?= 1s

.PHONY: demo test fmt-check tidy-check vet staticcheck unit fuzz bench

## demo: run every example against its embedded fake server; the payout
## batch job (examples/payouts) pays its demo file with a fresh ledger
demo:
	@for d in examples/*/; do \
		echo "== $$d"; \
		if [ -f "$$d/testdata/demo.csv" ]; then \
			tmp=$$(mktemp -d); \
			PAYMENTS_STORE="$$tmp/payouts.db" $(GO) run ./$$d "$$d/testdata/demo.csv"; st=$$?; \
			rm -rf "$$tmp"; [ $$st -eq 0 ] || exit $$st; \
		else \
			$(GO) run ./$$d || exit 1; \
		fi; \
	done

## test: everything CI checks, ending with one line that says what passed.
## The count of packages is the "ok" lines of go test (those with tests),
## the count of fuzz targets the "fuzz" lines of the fuzz loop.
test: fmt-check tidy-check vet staticcheck
	@set -o pipefail; log=$$(mktemp); trap 'rm -f "$$log"' EXIT; \
	$(MAKE) --no-print-directory unit fuzz | tee "$$log" || exit $$?; \
	pkgs=$$(grep -c '^ok ' "$$log"); fuzz=$$(grep -c '^fuzz ' "$$log"); \
	echo "make test: gofmt, go mod tidy, vet, staticcheck, $$pkgs packages (go test -race), $$fuzz fuzz targets: all passed"

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

## tidy-check: go.mod and go.sum say exactly what the code imports
tidy-check:
	@$(GO) mod tidy -diff >/dev/null 2>&1 || { echo "go.mod is not tidy (go mod tidy -diff):"; $(GO) mod tidy -diff; exit 1; }

vet:
	$(GO) vet ./...

staticcheck:
	$(GO) run $(STATICCHECK) ./...

unit:
	@$(GO) run ./internal/servicecheck
	$(GO) test -race -count=1 ./...

## fuzz: a short pass of every fuzz target, FUZZTIME each
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "fuzz $$pkg $$f"; \
			log=$$(mktemp); \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg >$$log 2>&1 || \
				{ tail -n 40 $$log; rm -f $$log; exit 1; }; \
			rm -f $$log; \
		done; \
	done

## bench: the benchmarks, with allocations
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./...
