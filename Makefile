# Knit build. `make` builds every binary; `make test` runs the unit and
# integration suites; `make demo` starts knit-devcluster. See README.md.

CC ?= cc
BUILD ?= build
WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
	-Wmissing-prototypes -Wpointer-arith -Wundef -Wno-unused-parameter
CFLAGS ?= -O2 -g
ALL_CFLAGS = $(CFLAGS) -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L $(WARN) -Ipkg -MMD -MP
LDLIBS := -lwebsockets -ljansson -lyaml -lcurl -lssl -lcrypto -lz -lpthread -lm

PKG_SRC := $(sort $(wildcard pkg/*/*.c))
PKG_OBJ := $(PKG_SRC:%.c=$(BUILD)/obj/%.o)
CMDS := $(notdir $(wildcard cmd/*))
BINS := $(CMDS:%=$(BUILD)/bin/%)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
LIB := $(BUILD)/libknit.a
# Test programs: each folder under tests/progs/ is one binary that the
# integration tests drive.
PROGS := $(notdir $(wildcard tests/progs/*))
PROG_BINS := $(PROGS:%=$(BUILD)/tests/progs/%)
# Unit tests that also run under ThreadSanitizer (`make tsan`).
TSAN_UNITS := test_workqueue test_store

.SECONDARY:

.PHONY: all deps test unit integration asan tsan tsan-run fuzz lint format format-check demo bench clean

all: $(BINS)

deps:
	@tools/deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIB): $(PKG_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/%: $(BUILD)/obj/cmd/%/main.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $< $(LIB) $(LDLIBS) -lcmocka -o $@

define PROG_RULE
$(BUILD)/tests/progs/$(1): $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tests/progs/$(1)/*.c)) $(LIB)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(ALL_CFLAGS) $$(LDFLAGS) $$(filter %.o,$$^) $(LIB) $$(LDLIBS) -o $$@
endef
$(foreach p,$(PROGS),$(eval $(call PROG_RULE,$(p))))

test: deps
	@$(MAKE) --no-print-directory unit integration tsan

unit: $(UNIT_BINS)
	@tools/run-unit.sh $(UNIT_BINS)

integration: $(BINS) $(PROG_BINS)
	@BUILD=$(BUILD) tests/integration/run.sh

# The concurrency unit tests under ThreadSanitizer: any data race fails.
tsan:
	@$(MAKE) --no-print-directory BUILD=build-tsan \
		CFLAGS="-O1 -g -fsanitize=thread -fno-omit-frame-pointer" \
		LDFLAGS="-fsanitize=thread" tsan-run

tsan-run: $(TSAN_UNITS:%=$(BUILD)/tests/%)
	@TSAN_OPTIONS="halt_on_error=1" tools/run-unit.sh $^

# The same suites under AddressSanitizer and UndefinedBehaviorSanitizer.
asan:
	@$(MAKE) --no-print-directory BUILD=build-asan \
		CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
		LDFLAGS="-fsanitize=address,undefined" unit integration

lint:
	@tools/lint.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	@tools/format-check.sh

demo: deps all
	@tools/demo.sh

bench: deps all
	@$(MAKE) --no-print-directory -C bench

# Fuzzing (`make fuzz`): builds each tests/fuzz/fuzz_*.c with clang's
# libFuzzer, AddressSanitizer and UndefinedBehaviorSanitizer into
# build-fuzz/ (the pkg sources compiled in, without pkg/devcluster) and runs
# it for FUZZ_SECONDS from the seeds in tests/fuzz/corpus/<target>/ (read
# only; new inputs go to build-fuzz/corpus-<target>/, kept between runs).
# A crash, leak or failed check stops the run with a nonzero status; the
# reproducer is left in build-fuzz/ (replay: build-fuzz/<target> <file>).
FUZZ_SECONDS ?= 20
FUZZ_CC ?= clang
FUZZ_DIR := build-fuzz
FUZZ_TARGETS := $(basename $(notdir $(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_SRC := $(sort $(wildcard pkg/kube/*.c pkg/json/*.c pkg/util/*.c pkg/rollout/*.c \
	pkg/analysis/*.c))
FUZZ_CFLAGS := -O1 -g -fno-omit-frame-pointer -fno-sanitize-recover=all \
	-std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L $(WARN) -Ipkg
FUZZ_FLAGS := -max_len=65536 -rss_limit_mb=2048

fuzz:
	@rm -rf $(FUZZ_DIR)/obj && mkdir -p $(FUZZ_DIR)/obj
	@for src in $(FUZZ_SRC); do \
		$(FUZZ_CC) $(FUZZ_CFLAGS) \
			-fsanitize=fuzzer-no-link,address,undefined -c $$src \
			-o $(FUZZ_DIR)/obj/$$(echo $$src | tr / _).o || exit 1; \
	done
	@for t in $(FUZZ_TARGETS); do \
		echo "fuzz: $$t for $(FUZZ_SECONDS)s"; \
		$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined \
			tests/fuzz/$$t.c $(FUZZ_DIR)/obj/*.o $(LDLIBS) \
			-o $(FUZZ_DIR)/$$t || exit 1; \
		mkdir -p $(FUZZ_DIR)/corpus-$$t; \
		$(FUZZ_DIR)/$$t $(FUZZ_FLAGS) -max_total_time=$(FUZZ_SECONDS) \
			-artifact_prefix=$(FUZZ_DIR)/$$t- -print_final_stats=1 \
			$(FUZZ_DIR)/corpus-$$t tests/fuzz/corpus/$$t \
			2>$(FUZZ_DIR)/$$t.log || { tail -n 60 $(FUZZ_DIR)/$$t.log; exit 1; }; \
		grep -E '^stat::(number_of_executed_units|average_exec_per_sec)' \
			$(FUZZ_DIR)/$$t.log; \
	done

clean:
	rm -rf build build-asan build-tsan build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
