# nnlab - a plain Makefile.  `make help` lists the targets.

CC      ?= cc
BUILD   ?= build
PREFIX  ?= /usr/local
V       ?= 0

PKGS     := yaml-0.1 inih
TESTPKGS := criterion zlib

# The curated warning list (Lua's habit): every build uses all of them.
WARN := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
        -Wmissing-prototypes -Wformat=2 -Wundef -Wvla -Wcast-align
OPT  ?= -O3 -g
# Neither errno nor floating-point traps are used anywhere; without them the
# compiler may vectorise math calls (libmvec).  Values keep IEEE semantics.
MATH := -fno-math-errno -fno-trapping-math

CFLAGS_ALL  = -std=c11 $(WARN) $(OPT) $(MATH) $(EXTRA_CFLAGS) -Iframework/include \
              -MMD -MP
CORE_CFLAGS = $(CFLAGS_ALL) -pthread -Iframework -fvisibility=hidden \
              $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
CORE_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -pthread -ldl -lm
TEST_LIBS   = $(shell pkg-config --libs $(TESTPKGS) 2>/dev/null)

ifeq ($(V),0)
Q = @
say = @printf '  %-6s %s\n' $(1) $(2);
else
Q =
say =
endif

CLI_SRC   := framework/runner.c framework/cmd_batch.c framework/cmd_plugin.c
CORE_SRC  := $(filter-out $(CLI_SRC),$(wildcard framework/*.c))
CORE_OBJ  := $(CORE_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ   := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
# The reference plugins are compiled into the runner too; every plugin in
# plugins/ (reference or not) is built as its own .so.
PLUGINS   := sigmoid step mse gradient_descent
BUILTIN_OBJ := $(PLUGINS:%=$(BUILD)/obj/builtin/%.o)
PLUGIN_SO := $(patsubst plugins/%.c,$(BUILD)/plugins/%.so,$(wildcard plugins/*.c))
FIXTURE_SRC := $(wildcard tests/fixtures/*.c)
FIXTURE_SO  := $(FIXTURE_SRC:tests/fixtures/%.c=$(BUILD)/fixtures/%.so)
TEST_SRC  := $(wildcard tests/test_*.c)
TEST_BIN  := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
LIB       := $(BUILD)/libnnlab.a
RUNNER    := $(BUILD)/runner

.PHONY: all deps deps-bench deps-fuzz bench test check check-asan check-valgrind clean run help \
        install uninstall

all: $(RUNNER) $(PLUGIN_SO)
ifeq ($(BUILD),build)
all: runner
endif

help:
	@echo 'make deps        install what is missing (Debian: apt-get)'
	@echo 'make             build build/runner, the plugins, ./runner link'
	@echo 'make run         make, then ./runner configs/sigmoid_mse.yaml'
	@echo 'make test        build and run the whole test suite'
	@echo 'make check-asan  the test suite under ASan + UBSan'
	@echo 'make check-valgrind  the runner under valgrind on every shipped'
	@echo '                 config and study and every kept bad input'
	@echo 'make deps-fuzz, make fuzz   each libFuzzer target for FUZZ_SECONDS'
	@echo '                 (default 60)'
	@echo 'make deps-bench, make bench   the benchmark (tests/bench/RESULTS.md)'
	@echo 'make install     runner, header, nnlab.pc, plugins, man page into'
	@echo '                 $$(DESTDIR)$$(PREFIX) (default /usr/local)'
	@echo 'make uninstall   remove what install put there'
	@echo 'make clean       remove build outputs'

# Finds each library with pkg-config (and the tools the tests drive:
# headless Chromium, GNU parallel, xmllint, valgrind); installs the Debian
# package of any that is missing (or says what to install when apt-get is
# not there).
deps:
	@missing=""; \
	command -v pkg-config >/dev/null || missing="pkg-config"; \
	for p in yaml-0.1:libyaml-dev inih:libinih-dev criterion:libcriterion-dev \
	         zlib:zlib1g-dev; do \
	  pkg-config --exists $${p%%:*} 2>/dev/null || missing="$$missing $${p#*:}"; \
	done; \
	for c in cc:gcc chromium:chromium parallel:parallel xmllint:libxml2-utils \
	         valgrind:valgrind; do \
	  command -v $${c%%:*} >/dev/null || missing="$$missing $${c#*:}"; \
	done; \
	if [ -z "$$missing" ]; then echo "deps: all present"; exit 0; fi; \
	echo "deps: installing$$missing"; \
	if ! command -v apt-get >/dev/null; then \
	  echo "deps: no apt-get here; install these packages:$$missing" >&2; exit 1; fi; \
	SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	$$SUDO apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing

# The benchmark (not part of make test): make deps-bench once, then make bench.
deps-bench:
	@missing=""; \
	python3 -c 'import numpy' 2>/dev/null || missing="python3-numpy"; \
	[ -f /usr/include/doublefann.h ] || missing="$$missing libfann-dev"; \
	dpkg -s libopenblas0-pthread >/dev/null 2>&1 || missing="$$missing libopenblas0-pthread"; \
	if [ -z "$$missing" ]; then echo "deps-bench: all present"; exit 0; fi; \
	SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	$$SUDO apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing

# The fuzzers need clang and its sanitizer runtimes: make deps-fuzz once.
deps-fuzz:
	@missing=""; \
	command -v clang >/dev/null || missing="clang"; \
	dpkg -s libclang-rt-14-dev >/dev/null 2>&1 || missing="$$missing libclang-rt-14-dev"; \
	if [ -z "$$missing" ]; then echo "deps-fuzz: all present"; exit 0; fi; \
	SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	$$SUDO apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing

BENCH_FANN = $(if $(wildcard /usr/include/doublefann.h),-DNL_HAVE_FANN,)
BENCH_LIBS = $(if $(wildcard /usr/include/doublefann.h),-ldoublefann,)

$(BUILD)/bench/bench: tests/bench/bench.c $(LIB)
	$(call say,BENCH,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CORE_CFLAGS) -fopenmp -D_GNU_SOURCE $(BENCH_FANN) -o $@ $< $(LIB) $(CORE_LIBS) -fopenmp $(BENCH_LIBS)

bench: all $(BUILD)/bench/bench
	$(BUILD)/bench/bench

runner: $(RUNNER)
	$(Q)ln -sf $(RUNNER) runner

run: all
	./runner configs/sigmoid_mse.yaml

$(LIB): $(CORE_OBJ) $(BUILTIN_OBJ)
	$(call say,AR,$@)
	$(Q)$(AR) rcs $@ $^

$(RUNNER): $(CLI_OBJ) $(LIB)
	$(call say,LINK,$@)
	$(Q)$(CC) $(OPT) $(EXTRA_LDFLAGS) -o $@ $^ $(CORE_LIBS)

$(BUILD)/obj/framework/%.o: framework/%.c
	$(call say,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CORE_CFLAGS) -c -o $@ $<

# The reference plugins, compiled into the runner...
$(BUILD)/obj/builtin/%.o: plugins/%.c
	$(call say,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS_ALL) -DNL_BUILTIN -fvisibility=hidden -c -o $@ $<

# ... and each as its own shared object.
$(BUILD)/plugins/%.so: plugins/%.c
	$(call say,SO,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS_ALL) -fPIC -shared -fvisibility=hidden $(EXTRA_LDFLAGS) -o $@ $< -lm

# Test fixtures: plugins that are wrong on purpose.
$(BUILD)/fixtures/%.so: tests/fixtures/%.c
	$(call say,SO,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS_ALL) -fPIC -shared $(EXTRA_LDFLAGS) -o $@ $< -lm

$(BUILD)/tests/%: tests/%.c $(LIB) tests/helpers.h
	$(call say,TEST,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CORE_CFLAGS) -D_GNU_SOURCE -Itests -o $@ $< $(LIB) $(EXTRA_LDFLAGS) $(CORE_LIBS) $(TEST_LIBS)

# Each test binary runs from the repo root, told where the build is.
test: all $(FIXTURE_SO) $(TEST_BIN)
	@NL_BUILD=$(BUILD) sh tests/run.sh $(TEST_BIN)

check: test

check-asan:
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	$(MAKE) test BUILD=build-asan OPT='-O1 -g -fno-omit-frame-pointer' \
	  EXTRA_CFLAGS='-fsanitize=address,undefined -fno-sanitize-recover=all' \
	  EXTRA_LDFLAGS='-fsanitize=address,undefined'

# Installed layout: the runner finds its plugins at $ORIGIN/../lib/nnlab/
# plugins, so the same binary works under any PREFIX or DESTDIR.
BINDIR     = $(DESTDIR)$(PREFIX)/bin
INCDIR     = $(DESTDIR)$(PREFIX)/include/nnlab
PLUGINDIR  = $(DESTDIR)$(PREFIX)/lib/nnlab/plugins
PCDIR      = $(DESTDIR)$(PREFIX)/lib/pkgconfig
MANDIR     = $(DESTDIR)$(PREFIX)/share/man/man1
VERSION    = $(shell sed -n 's/^#define NL_VERSION "\(.*\)"/\1/p' framework/runner.c)

install: all
	install -d $(BINDIR) $(INCDIR) $(PLUGINDIR) $(PCDIR) $(MANDIR)
	install -m 755 $(RUNNER) $(BINDIR)/runner
	install -m 644 framework/include/nnlab/plugin.h $(INCDIR)/plugin.h
	install -m 755 $(PLUGIN_SO) $(PLUGINDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' \
	  framework/nnlab.pc.in > $(PCDIR)/nnlab.pc
	install -m 644 framework/runner.1 $(MANDIR)/runner.1

uninstall:
	rm -f $(BINDIR)/runner $(INCDIR)/plugin.h $(PCDIR)/nnlab.pc \
	  $(MANDIR)/runner.1 $(PLUGIN_SO:$(BUILD)/plugins/%=$(PLUGINDIR)/%)
	-rmdir $(INCDIR) $(PLUGINDIR) $(DESTDIR)$(PREFIX)/lib/nnlab 2>/dev/null

# Valgrind on the real runner: shipped configs and studies, and every
# bad-input file the fuzzers keep.
check-valgrind: all
	@sh tests/valgrind.sh $(BUILD)

clean:
	rm -rf build build-asan runner

-include $(wildcard $(BUILD)/obj/*/*.d $(BUILD)/obj/*/*/*.d $(BUILD)/tests/*.d $(BUILD)/plugins/*.d $(BUILD)/fixtures/*.d)

# ---- Fuzzing (libFuzzer; clang with libclang-rt-14-dev) ----
# `make fuzz [FUZZ_SECONDS=N]` builds one target per parser (tests/fuzz/
# fuzz_*.c: config, study, settings, csv) into build-fuzz/ with ASan and
# UBSan, and runs each for N seconds (default 60) on a copy of its seed
# corpus (build-fuzz/corpus/<target>/, kept between runs).  A crash, a hang
# (over 1 s) or a leak stops that target and leaves the input in
# build-fuzz/artifacts/<target>/; keep it in tests/fuzz/regressions/.
# Built with FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION: a study may make at
# most 1000 runs there (100000 otherwise), as checking one is slow under
# the sanitizers.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_DIR     := build-fuzz
FUZZ_TARGETS := config study settings csv
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS  := -std=c11 -g -O1 -fno-omit-frame-pointer -D_GNU_SOURCE \
                -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION \
                -Iframework/include -Iframework -MMD -MP \
                $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
FUZZ_OBJ     := $(CORE_SRC:%.c=$(FUZZ_DIR)/obj/%.o) \
                $(PLUGINS:%=$(FUZZ_DIR)/obj/builtin/%.o)
FUZZ_BIN     := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)

.PHONY: fuzz fuzz-build fuzz-clean
.SECONDARY: $(FUZZ_OBJ)

fuzz-build: $(FUZZ_BIN)

fuzz: $(FUZZ_BIN)
	@status=0; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_DIR)/corpus/$$t $(FUZZ_DIR)/artifacts/$$t && \
	  cp tests/fuzz/corpus/$$t/* $(FUZZ_DIR)/corpus/$$t/ && \
	  echo "fuzz_$$t: $(FUZZ_SECONDS) s" && \
	  $(FUZZ_DIR)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=1 \
	    -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_DIR)/artifacts/$$t/ \
	    $(FUZZ_DIR)/corpus/$$t || status=1; \
	done; exit $$status

$(FUZZ_DIR)/obj/framework/%.o: framework/%.c
	$(call say,FUZZCC,$<)
	@mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_SAN) -c -o $@ $<

$(FUZZ_DIR)/obj/builtin/%.o: plugins/%.c
	$(call say,FUZZCC,$<)
	@mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -DNL_BUILTIN -fsanitize=fuzzer-no-link $(FUZZ_SAN) -c -o $@ $<

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/targets.h $(FUZZ_OBJ)
	$(call say,FUZZ,$@)
	@mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $< \
	  $(FUZZ_OBJ) $(shell pkg-config --libs $(PKGS) 2>/dev/null) -pthread -ldl -lm

fuzz-clean:
	rm -rf $(FUZZ_DIR)
clean: fuzz-clean

-include $(wildcard $(FUZZ_DIR)/obj/*/*.d $(FUZZ_DIR)/*.d)
