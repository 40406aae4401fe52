# The two commands of the README:
#   make run    build (Release) and start the service on 127.0.0.1:$(PORT) with the embedded database
#   make test   build and run every test: Release ctest (gcc), ASan+UBSan ctest (clang: its
#               UBSan catches more, and the tree is -Werror clean with both), fuzz smoke runs,
#               npm interop, the diagnosis differential check against an independent
#               reference, API docs check, the same suites and a two-node fleet on a real
#               PostgreSQL (test-pg), the browser test and the Debian package's install
#   make install  install under PREFIX (default /usr/local; DESTDIR honoured): the program, its
#               manual page, bash completion, tokendoctor.service, /etc/default example, docs
#   make deb    the Debian package (CPack) in build/deb/
# Everything is built by CMake under build/; this file only sequences it.

PORT ?= 8080
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
RELEASE := build/release
ASAN := build/asan
FUZZ := build/fuzz
DEB := build/deb
PREFIX ?= /usr/local

.PHONY: all build run test deps deps-test test-release test-asan test-fuzz test-interop \
        test-diffcheck test-api test-pg test-web test-format bench format clean vectors fuzz-long

.PHONY: install deb test-install

all: build

deps:
	@scripts/deps.sh build

deps-test:
	@scripts/deps.sh test

build: deps
	@cmake -S . -B $(RELEASE) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(RELEASE) -j $(JOBS)

run: build
	$(RELEASE)/cli/tokendoctor serve --listen 127.0.0.1:$(PORT)

test: deps-test
	@if [ -d ../shared/vectors ]; then \
	  echo "vectors: tests/vectors, and ../shared/vectors where a file differs (run as <test>_shared)"; \
	else \
	  echo "vectors: tests/vectors only (no ../shared/vectors beside the repository)"; \
	fi
	@$(MAKE) --no-print-directory test-format test-release test-asan test-fuzz test-interop test-diffcheck test-api test-pg test-web test-install

test-release: build
	cd $(RELEASE) && ctest --output-on-failure -j $(JOBS)

test-asan:
	@CC=clang cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DTD_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN) -j $(JOBS)
	cd $(ASAN) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		ctest --output-on-failure -j $(JOBS)

test-fuzz:
	@CC=clang cmake -S . -B $(FUZZ) -DCMAKE_BUILD_TYPE=Debug -DTD_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ) -j $(JOBS)
	tests/fuzz/run.sh $(FUZZ)

# Not part of `make test`: every fuzz target for FUZZ_RUNS executions (default 10 million) from
# the corpus kept in tests/fuzz/corpus/ (tests/fuzz/long.sh says more; docs/reliability.md has
# the last results).
fuzz-long:
	@CC=clang cmake -S . -B $(FUZZ) -DCMAKE_BUILD_TYPE=Debug -DTD_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ) -j $(JOBS)
	tests/fuzz/long.sh $(FUZZ)

test-interop: build
	tests/interop/run.sh $(RELEASE)

test-diffcheck: build
	tests/diffcheck/run.sh $(RELEASE)

test-api: build
	tests/api/run.sh $(RELEASE)

# The db suite's PostgreSQL variant, the API check and the fleet test (tests/fleet/fleet.py)
# against a PostgreSQL server that tests/pg/pg.sh starts (installs, when absent) and stops.
test-pg: build
	JOBS=$(JOBS) tests/pg/run.sh $(RELEASE)

test-web: build
	tests/web/run.sh $(RELEASE)

# The unit and the maintainer scripts name the prefix's paths: it is set when configuring.
install: deps
	@cmake -S . -B $(RELEASE) -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	@cmake --build $(RELEASE) -j $(JOBS)
	DESTDIR="$(DESTDIR)" cmake --install $(RELEASE)

deb:
	@scripts/deps.sh deb
	@cmake -S . -B $(DEB) -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
	@cmake --build $(DEB) -j $(JOBS)
	@rm -f $(DEB)/tokendoctor_*.deb
	cd $(DEB) && cpack -G DEB >/dev/null && ls $$PWD/tokendoctor_*.deb

test-install: deb
	tests/install/run.sh $(DEB)

bench: build
	tests/bench/run.sh $(RELEASE)

# The generated test vectors (tests/vectors/generated/), made again from the pinned npm libraries
# and the JavaScript reference (no C code involved); commit what changes. test-diffcheck fails
# while the committed files differ from what this makes.
vectors:
	tests/vectors/generate.sh

# Every tracked C file is clang-format clean (.clang-format); `make format` fixes them.
# The C sources both targets see: tracked ones and new ones not yet added (not ignored ones), or
# every .c/.h outside build/ when this is not a git checkout.
C_SOURCES = $$(git ls-files --cached --others --exclude-standard '*.c' '*.h' 2>/dev/null || \
	find . -path ./build -prune -o -name '*.[ch]' -print)

test-format:
	@files=$(C_SOURCES); \
	clang-format --dry-run -Werror $$files && echo "format: $$(echo $$files | wc -w) files clean"

format:
	clang-format -i $(C_SOURCES)

clean:
	rm -rf build
