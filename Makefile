# refmta - non-recursive GNU make.
#
#   make            build bin/refmta bin/fakedns bin/fakeocsp bin/runtest bin/mkpki,
#                   and mint the test PKI once per build directory
#   make run        the conformance run, both TLS backends, with a summary
#   make check      layering check + unit tests + end-to-end tests + scenario
#                   suite; last line "N passed, N failed, N skipped"
#   make bench      refmta beside Postfix, Exim, OpenSMTPD and smtp-sink (bench/run)
#   make torture    kill -9 durability trials, 1,000 kills (docs/reliability.md)
#   make fuzz       libFuzzer targets for a bounded time (fuzz/run, docs/fuzz.md)
#   make SAN=1 ...  the same with -fsanitize=address,undefined (own build dir)
#   make format     clang-format every C file
#   make clean
#
# Missing Debian packages are installed through ci/deps before the first
# compile (see README.md).

SHELL := /bin/bash
.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
.SECONDARY:

SAN ?=
CC ?= cc

ifeq ($(SAN),1)
BUILD := build-san
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD := build
SAN_FLAGS :=
endif

# --- dependencies -----------------------------------------------------------
# Install what is missing (ci/deps is idempotent and quiet when all is there).
PKGS := openssl gnutls gnutls-dane libunbound ldns cmocka hiredis lmdb libpcre2-8
DEPS_MISSING := $(shell pkg-config --exists $(PKGS) 2>/dev/null && \
	test -f /usr/include/spf2/spf.h && test -f /usr/include/opendmarc/dmarc.h && test -f /usr/include/opendkim/dkim.h || echo yes)
ifneq ($(filter clean format,$(MAKECMDGOALS)),$(MAKECMDGOALS))
ifeq ($(DEPS_MISSING),yes)
$(info make: some libraries are missing; running ci/deps)
DEPS_STATUS := $(shell ci/deps >&2; echo $$?)
ifneq ($(DEPS_STATUS),0)
$(error ci/deps failed (exit $(DEPS_STATUS)); see its messages above)
endif
endif
endif

TLS_CFLAGS := $(shell pkg-config --cflags openssl gnutls 2>/dev/null)
# What librefmta.a needs at link time: both TLS libraries and libunbound.
LIBREFMTA_DEPS   := $(shell pkg-config --libs openssl gnutls gnutls-dane 2>/dev/null)
LIBREFMTA_DEPS   += $(shell pkg-config --libs libunbound 2>/dev/null)
# libm: exp() in the ratelimit condition's smoothing (server/acl_ratelimit.c).
LIBREFMTA_DEPS   += -lm
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)
# What libserver.a needs: PCRE2 (expand_regex.c), hiredis and liblmdb (lookups),
# libspf2 (server/spf.c; it ships no pkg-config file, ../shared/LIBRARIES.md),
# libopendkim (server/dkim.c) and libopendmarc (server/dmarc.c; no pkg-config
# file on Debian 12 either), so plain -l for those three.
SPF_LIBS := -lspf2
SERVER_LDLIBS := $(shell pkg-config --libs libpcre2-8 hiredis lmdb 2>/dev/null) $(SPF_LIBS) \
                 -lopendkim -lopendmarc

# -Wno-format-truncation: truncating snprintf into bounded buffers is deliberate.
WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
	-Wmissing-prototypes -Wpointer-arith -Wvla \
	-Wno-format-truncation
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=c17 -D_GNU_SOURCE $(CFLAGS) $(WARN) $(SAN_FLAGS) -Ilib -Iserver -Ifakedns \
	-Ifakeocsp $(TLS_CFLAGS) -MMD -MP
ALL_LDFLAGS := $(LDFLAGS) $(SAN_FLAGS)

# Rebuild the programs when SAN changes: bin/ is shared by both variants.
$(shell mkdir -p bin; printf '%s\n' "$(SAN)" | cmp -s - bin/.variant || printf '%s\n' "$(SAN)" > bin/.variant)

# --- the library linked into every program ------------------------------------
LIB_SRCS := $(wildcard lib/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIBREFMTA := $(BUILD)/librefmta.a

# --- fakedns and fakeocsp modules, libraries so unit tests can link them ------
FAKEDNS_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(filter-out fakedns/fakedns_main.c,$(wildcard fakedns/*.c)))
LIBFAKEDNS := $(BUILD)/libfakedns.a
FAKEOCSP_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(filter-out fakeocsp/fakeocsp_main.c,$(wildcard fakeocsp/*.c)))
LIBFAKEOCSP := $(BUILD)/libfakeocsp.a
LDNS_LIBS := $(shell pkg-config --libs ldns 2>/dev/null)

# --- refmta's own modules (server/), a library so unit tests can link them ----
SERVER_SRCS := $(filter-out server/refmta_main.c,$(wildcard server/*.c))
SERVER_OBJS := $(SERVER_SRCS:%.c=$(BUILD)/%.o)
LIBSERVER := $(BUILD)/libserver.a

# --- programs -----------------------------------------------------------------
PROGRAMS := refmta fakedns fakeocsp runtest mkpki
refmta_SRCS   := server/refmta_main.c
refmta_LIBS   := $(LIBSERVER)
refmta_LDLIBS := $(SERVER_LDLIBS)
fakedns_SRCS  := fakedns/fakedns_main.c
fakedns_LIBS  := $(LIBFAKEDNS)
fakedns_LDLIBS := $(LDNS_LIBS)
fakeocsp_SRCS := fakeocsp/fakeocsp_main.c
fakeocsp_LIBS := $(LIBFAKEOCSP)
runtest_SRCS  := runtest/runtest_main.c runtest/scenario.c runtest/run.c runtest/transcript.c \
                 runtest/report.c runtest/peer.c runtest/run_client.c runtest/run_dns.c \
                 runtest/run_steps.c runtest/run_ocsp.c runtest/steps.c runtest/select.c \
                 runtest/run_tlsa.c runtest/run_services.c runtest/run_dkim.c \
                 runtest/html.c runtest/html_chart.c runtest/html_chart_lanes.c \
                 runtest/html_diff.c runtest/html_cert.c runtest/html_capture.c
runtest_LIBS  := $(LIBSERVER)
runtest_LDLIBS := $(SERVER_LDLIBS)
mkpki_SRCS    := runtest/mkpki_main.c

BINS := $(PROGRAMS:%=bin/%)

# --- unit tests: tests/<module>_test.c -> $(BUILD)/tests/<module>_test -----------
TEST_SRCS := $(wildcard tests/*_test.c)
TEST_BINS := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)

# --- end-to-end test tools (tests/e2e/*.c -> $(BUILD)/tests/<name>) -------------
E2E_TOOLS := $(BUILD)/tests/smtp_probe $(BUILD)/tests/torture_tool $(BUILD)/tests/smtp_load \
	$(BUILD)/tests/spf_query $(BUILD)/tests/dmarc_query

$(BUILD)/tests/dmarc_query: $(BUILD)/tests/e2e/dmarc_query.o $(LIBSERVER) $(LIBREFMTA) bin/.variant
	$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o %.a,$^) $(LIBREFMTA_DEPS) $(SERVER_LDLIBS)

$(BUILD)/tests/spf_query: $(BUILD)/tests/e2e/spf_query.o $(LIBSERVER) $(LIBREFMTA) bin/.variant
	$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o %.a,$^) $(LIBREFMTA_DEPS) $(SERVER_LDLIBS)

$(BUILD)/tests/smtp_probe: $(BUILD)/tests/e2e/smtp_probe.o $(LIBREFMTA) bin/.variant
	$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o %.a,$^) $(LIBREFMTA_DEPS)

$(BUILD)/tests/torture_tool: $(BUILD)/tests/e2e/torture_tool.o bin/.variant
	$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o,$^)

$(BUILD)/tests/smtp_load: $(BUILD)/tests/e2e/smtp_load.o bin/.variant
	$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o,$^)

# --- bench tools (bench/*.c -> $(BUILD)/tests/<name>): STARTTLS load and sink ------
BENCH_TOOLS := $(BUILD)/tests/smtp_tls_load $(BUILD)/tests/smtp_tls_sink $(BUILD)/tests/nofsync.so

# the fsync part's LD_PRELOAD shim (bench/nofsync.c): position-independent
$(BUILD)/tests/nofsync.so: bench/nofsync.c bin/.variant
	@mkdir -p $(@D)
	$(CC) -std=c17 $(CFLAGS) $(WARN) -fPIC -shared -o $@ $<

$(BUILD)/tests/smtp_tls_load: $(BUILD)/bench/smtp_tls_load.o $(LIBREFMTA) bin/.variant
	$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o %.a,$^) $(LIBREFMTA_DEPS)

$(BUILD)/tests/smtp_tls_sink: $(BUILD)/bench/smtp_tls_sink.o $(LIBREFMTA) bin/.variant
	$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o %.a,$^) $(LIBREFMTA_DEPS)

# --- test PKI, minted once per build directory ------------------------------------
PKI_DIR := $(BUILD)/pki
PKI_STAMP := $(PKI_DIR)/.minted
# examples/refmta.conf reads its certificates from ../build/pki whichever
# build ran: `make SAN=1` alone mints there too, so the example works as is
# after either build, in either order, from a fresh clone.
EXAMPLE_PKI_STAMP := build/pki/.minted
# Re-mint when older than a week, so a long-lived build directory never
# carries a PKI close to expiry (leaves are valid for 90 days).
$(shell find $(PKI_STAMP) $(EXAMPLE_PKI_STAMP) -mtime +7 -delete 2>/dev/null)

.PHONY: all run check unit bench fuzz format clean pki
all: $(BINS) $(TEST_BINS) $(E2E_TOOLS) $(BENCH_TOOLS) $(PKI_STAMP) $(EXAMPLE_PKI_STAMP)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBREFMTA): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(LIBSERVER): $(SERVER_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(LIBFAKEDNS): $(FAKEDNS_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(LIBFAKEOCSP): $(FAKEOCSP_OBJS)
	@rm -f $@
	ar rcs $@ $^

define program_rule
bin/$(1): $$($(1)_SRCS:%.c=$$(BUILD)/%.o) $$($(1)_LIBS) $$(LIBREFMTA) bin/.variant
	$$(CC) $$(ALL_LDFLAGS) -o $$@ $$(filter %.o %.a,$$^) $$(LIBREFMTA_DEPS) $$($(1)_LDLIBS)
endef
$(foreach p,$(PROGRAMS),$(eval $(call program_rule,$(p))))

$(BUILD)/tests/%_test: $(BUILD)/tests/%_test.o $(LIBFAKEDNS) $(LIBFAKEOCSP) $(LIBSERVER) \
		$(LIBREFMTA) bin/.variant
	$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o %.a,$^) $(LIBREFMTA_DEPS) $(LDNS_LIBS) $(CMOCKA_LIBS) \
		$(SERVER_LDLIBS)

# The teaching view's unit test links runtest's report modules.
$(BUILD)/tests/html_test: $(BUILD)/tests/html_test.o $(BUILD)/runtest/html.o \
		$(BUILD)/runtest/html_chart.o $(BUILD)/runtest/html_chart_lanes.o \
		$(BUILD)/runtest/html_diff.o $(BUILD)/runtest/html_cert.o $(LIBREFMTA) bin/.variant
	$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o %.a,$^) $(LIBREFMTA_DEPS) $(CMOCKA_LIBS)

# Re-mint when what is minted changes (not on every relink of mkpki).
define pki_rule
$(1)/.minted: $(wildcard lib/pki*.c lib/pki*.h) | bin/mkpki
	@rm -rf $(1)
	bin/mkpki --out $(1)
	@touch $$@
endef
$(foreach d,$(sort $(PKI_DIR) build/pki),$(eval $(call pki_rule,$(d))))

pki: $(PKI_STAMP) $(EXAMPLE_PKI_STAMP)

# --- the two README commands ---------------------------------------------------
run: all
	@ci/deps
	@ci/conformance --build $(BUILD)

check: all
	@ci/deps
	@ci/check --build $(BUILD)

unit: all
	@ci/check --build $(BUILD) --unit-only

# The teaching view (docs/teaching.md): every scenario on both backends,
# written as a static site in $(BUILD)/report/ (index.html); a report, not a
# test.  REPORT_ARGS=--keylog adds the key logs and captures for Wireshark.
.PHONY: report
report: all
	@bin/runtest --html $(BUILD)/report $(REPORT_ARGS)

# refmta beside Postfix, Exim, OpenSMTPD and smtp-sink in one run (docs/bench.md);
# REFMTA_BENCH_QUICK=1 for a short run.  A report, not a test.
bench: all
	@bench/run

# kill -9 during receipt and queue runs, 1,000 kills or TORTURE_SECONDS
# (default 600), whichever comes first; prints the figures
# (tests/e2e/durability_test.sh, docs/reliability.md).  A report, not part of
# `make check` (which runs one 30-kill round of the same test).
TORTURE_SECONDS ?= 600
.PHONY: torture
torture: all
	@tests/e2e/durability_test.sh --build $(BUILD) --kills 1000 --seconds $(TORTURE_SECONDS)

# refmta against real Postfix, Exim and OpenSMTPD from Debian 12, both
# directions, both TLS backends (interop/run, docs/interop.md).  Needs root
# and the Debian package archive; not part of `make check`.
#   make interop [INTEROP_ARGS="--junit FILE --table FILE"]
.PHONY: interop
interop: all
	@interop/run $(INTEROP_ARGS)

# --- fuzzing (docs/fuzz.md) ---------------------------------------------------
# libFuzzer targets fuzz/<target>_fuzz.c, built with clang (never the gcc
# objects) into build-fuzz/, each run for FUZZ_SECONDS by fuzz/run:
#   make fuzz [FUZZ_SECONDS=600] [FUZZ_TARGETS="smtp_args config"]
# A crash leaves its reproducer in fuzz/crashes/ and fails the target.
FUZZ_SECONDS ?= 30
FUZZ_ALL_TARGETS := $(patsubst fuzz/%_fuzz.c,%,$(wildcard fuzz/*_fuzz.c))
FUZZ_TARGETS ?= $(FUZZ_ALL_TARGETS)
FUZZ_BUILD := build-fuzz
FUZZ_CC ?= clang
FUZZ_SAN := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
FUZZ_CFLAGS := -std=c17 -D_GNU_SOURCE -g -O1 $(FUZZ_SAN) $(filter-out -Werror,$(WARN)) \
	-Wno-unknown-warning-option -Ilib -Iserver -Ifakedns -Ifakeocsp -Iruntest \
	$(shell pkg-config --cflags openssl gnutls ldns libunbound 2>/dev/null) -MMD -MP
FUZZ_LDLIBS := $(LIBREFMTA_DEPS) $(LDNS_LIBS) $(SERVER_LDLIBS)
# Every module but the mains (runtest's too), in one archive: a target links
# what it uses.
FUZZ_SRCS := $(LIB_SRCS) $(SERVER_SRCS) \
	$(filter-out fakedns/fakedns_main.c,$(wildcard fakedns/*.c)) \
	$(filter-out fakeocsp/fakeocsp_main.c,$(wildcard fakeocsp/*.c)) \
	$(filter-out runtest/runtest_main.c,$(runtest_SRCS))
FUZZ_LIB := $(FUZZ_BUILD)/librefmta-fuzz.a

fuzz:
	@ci/deps --fuzz
	@$(MAKE) --no-print-directory fuzz-bins
	@fuzz/run --build $(FUZZ_BUILD) --seconds $(FUZZ_SECONDS) $(FUZZ_TARGETS)

.PHONY: fuzz-bins fuzz-clean
fuzz-bins: $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/%_fuzz)

# build-fuzz/ ignores itself (the working corpora and logs live there too).
$(FUZZ_BUILD)/.gitignore:
	@mkdir -p $(@D)
	@echo '*' >$@

$(FUZZ_BUILD)/%.o: %.c | $(FUZZ_BUILD)/.gitignore
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

# The Makefile too: with .SECONDARY, a module newly added to FUZZ_SRCS (an
# object that does not exist yet) would not make an archive newer than its
# source rebuild.
$(FUZZ_LIB): $(FUZZ_SRCS:%.c=$(FUZZ_BUILD)/%.o) Makefile
	@rm -f $@
	ar rcs $@ $(filter %.o,$^)

$(FUZZ_BUILD)/%_fuzz: $(FUZZ_BUILD)/fuzz/%_fuzz.o $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_SAN) -o $@ $^ $(FUZZ_LDLIBS)

fuzz-clean:
	rm -rf $(FUZZ_BUILD)

-include $(shell find $(FUZZ_BUILD) -name '*.d' -type f 2>/dev/null)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-san build-fuzz bin

-include $(shell find $(BUILD) -name '*.d' -type f 2>/dev/null)
