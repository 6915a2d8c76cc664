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

.PHONY: all deps test unit integration asan tsan tsan-run lint format format-check demo bench clean

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

clean:
	rm -rf build build-asan build-tsan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
