# profpipe: one non-recursive GNU Makefile.
#
#   make            build bin/profpipe-{fetcher,decoder,aggregator,exporter,tap}
#   make test       install missing packages, build, run unit + e2e tests,
#                   then every fuzz target briefly (tests/run-all)
#   make check      unit tests only
#   make asan       build and run the unit tests under ASan + UBSan
#   make fuzz       run every libFuzzer target for FUZZ_SECONDS each
#   make bench      side-by-side benchmarks (tests/bench)
#   make bench-readme  put the last make bench's tables into README.md
#   make soak       the pipeline under load for SOAK_SECONDS (1200): memory
#   make demo       start a sample Go service and the whole pipeline
#   make install    binaries, supervisor, UI, example config and systemd unit
#                   into $(DESTDIR)$(PREFIX) (PREFIX=/opt/profpipe)
#   make lint       clang-format check and cppcheck
#
# Every stage directory holds main.c (glue) and modules; modules of all
# stages plus common/ link into the unit tests, so prefixes keep names apart.

O      ?= build
BIN    ?= bin
CC     ?= cc
CFLAGS ?= -O2 -g
PKGS    = libcurl zlib libprotobuf-c yaml-0.1 libzstd libdeflate sqlite3
WARN    = -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes \
	  -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral
ifneq ($(CI),)
WARN   += -Werror
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALL_CPPFLAGS = -D_GNU_SOURCE -I. -I$(O)/gen $(PKG_CFLAGS) $(CPPFLAGS)
LIBS    = $(PKG_LIBS) -lnng -lev -lpthread -lm
GEN     = $(O)/gen/common

STAGES  = fetcher decoder aggregator exporter tap
PROTOS  = common/wire.proto common/profile.proto
GEN_C   = $(patsubst common/%.proto,$(GEN)/%.pb-c.c,$(PROTOS))
GEN_H   = $(GEN_C:.c=.h)

COMMON_SRC = $(wildcard common/*.c)
MOD_SRC    = $(foreach s,$(STAGES),$(filter-out $(s)/main.c,$(wildcard $(s)/*.c)))
MOD_OBJ    = $(patsubst %.c,$(O)/%.o,$(COMMON_SRC) $(MOD_SRC)) \
	     $(GEN_C:.c=.o)
BINS       = $(addprefix $(BIN)/profpipe-,$(STAGES))

UNIT_SRC   = $(wildcard tests/unit/test_*.c)
UNIT_BIN   = $(patsubst tests/unit/%.c,$(O)/tests/%,$(UNIT_SRC))
FUZZ_SRC   = $(wildcard tests/fuzz/fuzz_*.c)
# pipebench's requests: in tests/bench, unit-tested with the rest
PIPEBENCH_RAW = tests/bench/pipebench_raw.c tests/bench/pipebench_raw.h

.PHONY: all deps test check e2e asan fuzz fuzz-build bench bench-readme soak demo demo-stop lint clean install
.SECONDARY:

all: $(BINS)

deps:
	@scripts/deps

# The layout the supervisor and the exporter expect of a checkout, under
# PREFIX: bin/ beside scripts/profpipe, exporter/ui beside bin/.
PREFIX ?= /opt/profpipe
install: $(BINS)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/scripts \
		$(DESTDIR)$(PREFIX)/exporter/ui
	install -m 755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 755 scripts/profpipe $(DESTDIR)$(PREFIX)/scripts/
	install -m 644 scripts/profpipe.yaml scripts/profpipe.service \
		$(DESTDIR)$(PREFIX)/scripts/
	install -m 644 exporter/ui/* $(DESTDIR)$(PREFIX)/exporter/ui/

$(GEN)/%.pb-c.c $(GEN)/%.pb-c.h: common/%.proto
	@mkdir -p $(GEN)
	protoc-c --proto_path=common --c_out=$(GEN) $<

$(O)/%.pb-c.o: $(O)/%.pb-c.c
	$(CC) $(ALL_CPPFLAGS) $(CFLAGS) -std=c11 -c -o $@ $<

$(O)/%.o: %.c $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(WARN) $(CFLAGS) -MMD -MP -c -o $@ $<

$(O)/libprofpipe.a: $(MOD_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BIN)/profpipe-%: $(O)/%/main.o $(O)/libprofpipe.a
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(O)/tests/test_%: tests/unit/test_%.c $(O)/libprofpipe.a $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(WARN) -Wno-missing-prototypes $(CFLAGS) \
		-MMD -MP $(LDFLAGS) -o $@ $< $(O)/libprofpipe.a $(LIBS) -lcmocka

# pipebench's requests (tests/bench) are checked with the unit tests.
$(O)/tests/test_pipebench_raw: tests/unit/test_pipebench_raw.c \
		$(PIPEBENCH_RAW) $(O)/libprofpipe.a $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(WARN) -Wno-missing-prototypes $(CFLAGS) \
		-MMD -MP $(LDFLAGS) -o $@ $< tests/bench/pipebench_raw.c \
		$(O)/libprofpipe.a $(LIBS) -lcmocka

# Unit tests run from the repository root so they find ../shared/corpus.
check: $(UNIT_BIN) $(BINS)
	@tests/run-unit $(UNIT_BIN)

e2e: all
	@tests/run-e2e

test: deps
	@$(MAKE) --no-print-directory all
	@tests/run-all

asan:
	@$(MAKE) --no-print-directory O=build/asan BIN=build/asan/bin \
		CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
		LDFLAGS="-fsanitize=address,undefined" check

FUZZ_SECONDS ?= 60
fuzz-build:
	@$(MAKE) --no-print-directory O=build/fuzz BIN=build/fuzz/bin CC=clang \
		CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined" \
		build/fuzz/libprofpipe.a
	@tests/fuzz/build build/fuzz $(FUZZ_SRC)

fuzz: fuzz-build
	@tests/fuzz/run build/fuzz $(FUZZ_SECONDS)

# Benchmarks: the programs tests/bench/run puts side by side. It runs from
# the repository root and finds them in $(O)/bench.
BENCH_BIN = $(O)/bench/bench_decode $(O)/bench/pipebench $(O)/bench/goparse \
	$(O)/bench/bench_aggregate
bench: all $(BENCH_BIN)
	@BENCH_DIR=$(O)/bench BIN_DIR=$(BIN) tests/bench/run
	@tests/bench/store-query

# Memory under load: pipebench -n 2 -a for SOAK_SECONDS, each stage's
# RSS summed up per 10 minutes (build/soak.md).
SOAK_SECONDS ?= 1200
soak: all $(O)/bench/pipebench
	@BENCH_DIR=$(O)/bench BIN_DIR=$(BIN) SOAK_SECONDS=$(SOAK_SECONDS) \
		tests/bench/soak

# The README shows the latest run: its tables, from build/bench.md.
bench-readme:
	@tests/bench/readme $(O)/bench.md README.md

$(O)/bench/bench_decode: tests/bench/bench_decode.c \
		tests/bench/bench_profpipe.c tests/bench/bench_profpipe.h \
		$(O)/libprofpipe.a $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(WARN) $(CFLAGS) $(LDFLAGS) -o $@ \
		tests/bench/bench_decode.c tests/bench/bench_profpipe.c \
		$(O)/libprofpipe.a $(LIBS)

$(O)/bench/bench_aggregate: tests/bench/bench_aggregate.c $(PIPEBENCH_RAW) \
		$(O)/libprofpipe.a $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(WARN) $(CFLAGS) $(LDFLAGS) -o $@ \
		tests/bench/bench_aggregate.c tests/bench/pipebench_raw.c \
		$(O)/libprofpipe.a $(LIBS)

$(O)/bench/pipebench: tests/bench/pipebench.c tests/bench/pipebench_proc.c \
		tests/bench/pipebench_proc.h $(PIPEBENCH_RAW) \
		$(O)/libprofpipe.a $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(WARN) $(CFLAGS) $(LDFLAGS) -o $@ \
		tests/bench/pipebench.c tests/bench/pipebench_proc.c \
		tests/bench/pipebench_raw.c $(O)/libprofpipe.a $(LIBS)

# Go's own parser, the baseline: GOPATH mode like $(O)/goapp below.
$(O)/bench/goparse: tests/bench/goparse.go
	@mkdir -p $(dir $@)
	cd tests/bench && $(GOENV) go build -o $(CURDIR)/$@ goparse.go

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo

lint:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
		--suppress=missingIncludeSystem -I. -I$(O)/gen \
		$(COMMON_SRC) $(foreach s,$(STAGES),$(wildcard $(s)/*.c))

clean:
	rm -rf build bin

-include $(shell find $(O) -name '*.d' 2>/dev/null)

# The sample Go service (tests and demo). GOPATH mode: Debian's packaged
# pprof lives in /usr/share/gocode, and nothing is fetched.
GOENV = GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE=$(CURDIR)/$(O)/gocache GOFLAGS=
$(O)/goapp: tests/goapp/main.go
	@mkdir -p $(O)
	cd tests/goapp && $(GOENV) go build -o $(CURDIR)/$@ main.go

# The oracle for the decoder: Go's pprof parser printing folded stacks.
# `make oracle` diffs the decoder against it on every corpus profile.
.PHONY: oracle
$(O)/pprof-folded: tests/oracle/pprof-folded.go
	@mkdir -p $(O)
	cd tests/oracle && $(GOENV) go build -o $(CURDIR)/$@ pprof-folded.go

oracle: $(BIN)/profpipe-decoder $(O)/pprof-folded
	@tests/oracle/compare-folded $(BIN)/profpipe-decoder $(O)/pprof-folded

demo-stop:
	@scripts/demo stop

# The store's window feeder and query timer: tests/e2e/test_store*.py send
# windows with it, tests/bench/store-query times queries with it.
$(O)/bench/store-feed: tests/bench/store_feed.c $(O)/libprofpipe.a $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(WARN) $(CFLAGS) $(LDFLAGS) -o $@ $< \
		$(O)/libprofpipe.a $(LIBS)
