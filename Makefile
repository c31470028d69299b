# fl-tools: one Makefile for everything.
#   make            build libcommon (libfl.a) and every tool into $(BUILD)/bin
#   make check      unit + CLI tests, then the same suite under ASan+UBSan
#   make demo       run the main pipeline on the bundled example export
#   make bench      throughput and memory figures (see bench/README.md)
#   make fuzz       run each libFuzzer harness for FUZZ_SECONDS (clang)
#   make deps       install the Debian packages the build needs (root)
#   make install PREFIX=/usr/local   make clean

PREFIX   ?= /usr/local
BUILD    ?= build
CC       ?= cc
VERSION  := 0.1.0
PKGS     := jansson libarchive libmaxminddb
DEB_PKGS := build-essential pkg-config libjansson-dev libarchive-dev libmaxminddb-dev check \
            jq unzip zip zstd xz-utils p7zip-full graphviz time hyperfine
DEB_PKGS += libmaxmind-db-writer-perl
FUZZ_SECONDS ?= 60

WARN     := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes
# CI (CI=true) turns every warning into an error.
ifneq ($(CI),)
WARN     += -Werror
endif
OPT      ?= -O2 -g
ifeq ($(SANITIZE),1)
OPT      := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
LDSAN    := -fsanitize=address,undefined
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell pkg-config --libs check 2>/dev/null)

CPPFLAGS += -Ilibcommon -DFL_VERSION='"$(VERSION)"' -D_GNU_SOURCE
CPPFLAGS += -DFL_DATADIR='"$(PREFIX)/share/fl-tools"'
CFLAGS   += -std=c11 $(OPT) $(WARN) $(PKG_CFLAGS)
LDLIBS   += $(PKG_LIBS) -lm -lpthread
LDFLAGS  += $(LDSAN)

LIB_SRCS   := $(sort $(wildcard libcommon/*.c))
LIB_OBJS   := $(LIB_SRCS:libcommon/%.c=$(BUILD)/obj/lib/%.o)
LIB        := $(BUILD)/libfl.a
TOOL_SRCS  := $(sort $(wildcard tools/*.c))
TOOLS      := $(TOOL_SRCS:tools/%.c=$(BUILD)/bin/%)
UNIT_SRCS  := $(sort $(wildcard tests/unit/test_*.c))
UNITS      := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
UNIT_SUPPORT := $(filter-out $(UNIT_SRCS),$(wildcard tests/unit/*.c))
FUZZERS    := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))

.PHONY: all check check-run unit cli demo bench fuzz deps need-deps install uninstall clean
.DELETE_ON_ERROR:

GEN        := $(BUILD)/fl-gen
# Parts timed alone by make bench: the aggregation core, the JSON scanner.
MICRO      := $(BUILD)/agg-speed $(BUILD)/scan-speed

all: need-deps $(TOOLS) $(GEN) $(MICRO)

# The export generator (tests, demo, bench) and the micro-benchmarks;
# built with everything else so they keep up with the library, not installed.
$(GEN) $(MICRO): $(BUILD)/%: bench/%.c $(LIB) $(wildcard libcommon/*.h) | $(BUILD)/bin
	$(CC) $(CPPFLAGS) $(CFLAGS) $< $(LIB) -o $@ $(LDFLAGS) $(LDLIBS)

$(BUILD)/obj/lib/%.o: libcommon/%.c $(wildcard libcommon/*.h) | $(BUILD)/obj/lib
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/bin/%: tools/%.c $(LIB) $(wildcard libcommon/*.h) | $(BUILD)/bin
	$(CC) $(CPPFLAGS) $(CFLAGS) $< $(LIB) -o $@ $(LDFLAGS) $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(UNIT_SUPPORT) $(LIB) $(wildcard libcommon/*.h tests/unit/*.h) | $(BUILD)/tests
	$(CC) $(CPPFLAGS) $(CFLAGS) $(CHECK_CFLAGS) -Itests/unit $< $(UNIT_SUPPORT) $(LIB) -o $@ \
	    $(LDFLAGS) $(CHECK_LIBS) $(LDLIBS)

$(BUILD)/obj/lib $(BUILD)/bin $(BUILD)/tests:
	mkdir -p $@

# Unit tests (Check) and CLI tests; SAMPLES points at the public samples read in place.
SAMPLES ?= $(abspath ../shared/samples/public)
SHARED_DATA ?= $(abspath ../shared/data)
export SAMPLES SHARED_DATA

unit: need-deps $(UNITS)
	@set -e; for t in $(UNITS); do echo "== $$t"; CK_FORK=yes $$t; done

cli: need-deps $(TOOLS) $(GEN)
	@FL_BIN=$(abspath $(BUILD)/bin) sh tests/cli/run.sh

check-run: unit cli $(MICRO)

# The whole suite twice: a normal build, then ASan+UBSan in its own build tree.
check: need-deps
	@$(MAKE) --no-print-directory check-run
	@echo "== the same suite under AddressSanitizer + UndefinedBehaviorSanitizer"
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    $(MAKE) --no-print-directory BUILD=$(BUILD)/asan SANITIZE=1 check-run

demo: all
	@sh examples/demo.sh $(abspath $(BUILD)/bin) $(abspath $(BUILD))

bench: all
	@sh bench/run.sh $(abspath $(BUILD)/bin)

# libFuzzer comes with clang (Debian 12: clang and libclang-rt-14-dev).
FUZZ_PKGS := clang libclang-rt-14-dev
fuzz: need-deps $(LIB_SRCS)
	@if ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; return (int)n * 0; }' | \
	    clang -x c -fsanitize=fuzzer - -o /dev/null 2>/dev/null; then \
	    if [ "$$(id -u)" = 0 ] && [ -f /etc/debian_version ]; then \
	        apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $(FUZZ_PKGS); \
	    else \
	        echo "fl-tools: make fuzz needs clang with libFuzzer; run as root:" >&2; \
	        echo "  apt-get install -y $(FUZZ_PKGS)" >&2; exit 1; \
	    fi; \
	fi
	@set -e; mkdir -p $(BUILD)/fuzz; for f in $(FUZZERS); do \
	    echo "== $$f ($(FUZZ_SECONDS) s)"; \
	    clang $(CPPFLAGS) -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined $(PKG_CFLAGS) \
	        tests/fuzz/$$f.c $(LIB_SRCS) -o $(BUILD)/fuzz/$$f $(PKG_LIBS) -lm -lpthread; \
	    mkdir -p $(BUILD)/fuzz/corpus-$$f; \
	    $(BUILD)/fuzz/$$f -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	        $(BUILD)/fuzz/corpus-$$f tests/fuzz/seeds-$${f#fuzz_} \
	        $$(test -d "$(SAMPLES)" && echo "$(SAMPLES)"); \
	done

# Dependencies: installed by apt-get when we are root on Debian, otherwise the exact command is printed.
deps:
	apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $(DEB_PKGS)

need-deps:
	@if ! pkg-config --exists $(PKGS) check 2>/dev/null || ! command -v jq >/dev/null || \
	    ! command -v dot >/dev/null || ! command -v 7z >/dev/null || \
	    ! perl -MMaxMind::DB::Writer::Tree -e1 2>/dev/null; then \
	    if [ "$$(id -u)" = 0 ] && [ -f /etc/debian_version ]; then \
	        echo "fl-tools: installing missing build dependencies"; $(MAKE) --no-print-directory deps; \
	    else \
	        echo "fl-tools: missing build dependencies; run as root:" >&2; \
	        echo "  apt-get install -y $(DEB_PKGS)" >&2; exit 1; \
	    fi; \
	fi

# A CC-BY 4.0 country database (ip-location-db geo-whois-asn-country, IPv4
# and IPv6 in one file) for fl-geo, fetched with npm on a connected machine;
# copy GEO_DIR to the air-gapped one.  See man/fl-geo.1.
GEO_DIR ?= $(PREFIX)/share/fl-tools/geo
GEO_NPM := @ip-location-db/geo-whois-asn-country-mmdb
GEO_MMDB := geo-whois-asn-country.mmdb
.PHONY: geo-db
geo-db:
	@command -v npm >/dev/null || { echo "geo-db: npm is needed (apt-get install npm)" >&2; exit 1; }
	@set -e; t=$$(mktemp -d); trap 'rm -rf "$$t"' EXIT; \
	    (cd "$$t" && npm pack --silent $(GEO_NPM) > name) && \
	    tar -xzf "$$t/$$(cat "$$t/name")" -C "$$t" package/$(GEO_MMDB) package/package.json package/NRO_LICENSE && \
	    install -d $(DESTDIR)$(GEO_DIR) && \
	    install -m 644 "$$t/package/$(GEO_MMDB)" $(DESTDIR)$(GEO_DIR)/$(GEO_MMDB) && \
	    install -m 644 "$$t/package/NRO_LICENSE" $(DESTDIR)$(GEO_DIR)/$(GEO_MMDB:.mmdb=.NRO_LICENSE) && \
	    echo "geo-db: $(DESTDIR)$(GEO_DIR)/$(GEO_MMDB) ($(GEO_NPM) $$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$$t/package/package.json"), CC BY 4.0)"

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 \
	    $(DESTDIR)$(PREFIX)/share/man/man7 $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 755 $(TOOLS) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(wildcard man/*.1) $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 $(wildcard man/*.5) $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 644 $(wildcard man/*.7) $(DESTDIR)$(PREFIX)/share/man/man7/
	for c in completions/fl-*; do install -m 644 $$c $(DESTDIR)$(PREFIX)/share/bash-completion/completions/; done

uninstall:
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/bin/,$(notdir $(TOOLS))) \
	    $(addprefix $(DESTDIR)$(PREFIX)/share/man/man1/,$(notdir $(wildcard man/*.1))) \
	    $(addprefix $(DESTDIR)$(PREFIX)/share/man/man5/,$(notdir $(wildcard man/*.5))) \
	    $(addprefix $(DESTDIR)$(PREFIX)/share/man/man7/,$(notdir $(wildcard man/*.7))) \
	    $(addprefix $(DESTDIR)$(PREFIX)/share/bash-completion/completions/,$(notdir $(wildcard completions/fl-*)))

clean:
	rm -rf $(BUILD)
