# leernet - plain make, no autotools.
#
#   make            build/leernet
#   make check      install what is missing, build with ASan+UBSan, run every
#                   test (the unit tests under valgrind as well)
#   make demo       install what is missing, run the story on a throwaway mail stack
#   make bench      the benchmarks (bench/)
#   make fuzz       libFuzzer targets (clang), a short run each
#   make valgrind   the unit tests under valgrind (no sanitizers)
#   make install    PREFIX=/usr/local DESTDIR=
#   make SAN=1      build into build-asan/ with AddressSanitizer + UBSan

PREFIX	?= /usr/local
SYSCONFDIR ?= /etc
DESTDIR	?=
CC	?= cc

ifeq ($(SAN),1)
B	:= build-asan
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT	:= -O1 -g
else
B	:= build
SANFLAGS :=
OPT	:= -O2 -g
endif

WARN	:= -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	   -Wpointer-arith -Wcast-qual -Wformat=2 -Wno-format-nonliteral -Werror
PKGS	:= libxml-2.0 libical inih libsystemd gnutls sqlite3
CPPFLAGS += -D_GNU_SOURCE -DLEERNET_DATADIR='"$(PREFIX)/share/leernet"' \
	   $(shell pkg-config --cflags $(PKGS))
# -pthread: smtp.c runs each SMTP session on a thread of its own.
CFLAGS	+= -std=c11 -pthread $(OPT) $(WARN) $(SANFLAGS)
LDFLAGS	+= -pthread $(SANFLAGS)
# Plain -letpan: pkg-config's libetpan flags drag in a dpkg-dev specs file.
LDLIBS	+= -letpan -lcurl $(shell pkg-config --libs $(PKGS))

SRCS	:= $(wildcard src/*.c)
OBJS	:= $(patsubst src/%.c,$(B)/obj/%.o,$(SRCS))
LIBOBJS	:= $(filter-out $(B)/obj/main.o,$(OBJS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNITS	:= $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRCS))

.PHONY: all asan check unit units valgrind tools integration demo bench fuzz install clean deps lint

all: $(B)/leernet

$(B)/obj/%.o: src/%.c $(wildcard src/*.h) | $(B)/obj
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -c -o $@ $<

$(B)/obj $(B)/tests $(B)/tools:
	mkdir -p $@

# The template directory is compiled in (config.c): a stamp holding it is
# rewritten only when PREFIX changes, so `make install PREFIX=/usr` after a
# plain `make` rebuilds what uses it instead of installing a binary that
# looks in /usr/local.
$(B)/datadir.stamp: FORCE | $(B)/obj
	@echo '$(PREFIX)/share/leernet' | cmp -s - $@ || \
	    echo '$(PREFIX)/share/leernet' >$@

$(B)/obj/config.o $(B)/obj/template.o: $(B)/datadir.stamp

.PHONY: FORCE
FORCE:

# Small drivers the integration tests call (next to $LEERNET_BIN in tools/).
TOOLS	:= $(patsubst tests/tools/%.c,$(B)/tools/%,$(wildcard tests/tools/*.c))

$(B)/tools/%: tests/tools/%.c $(B)/libleernet.a | $(B)/tools
	$(CC) $(CPPFLAGS) -Isrc $(CFLAGS) -o $@ $< $(B)/libleernet.a $(LDFLAGS) $(LDLIBS)

tools: $(TOOLS)

$(B)/libleernet.a: $(LIBOBJS)
	rm -f $@; ar rcs $@ $^

$(B)/leernet: $(B)/obj/main.o $(B)/libleernet.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/%: tests/unit/%.c $(B)/libleernet.a $(wildcard tests/unit/*.h) | $(B)/tests
	$(CC) $(CPPFLAGS) -Isrc -Itests/unit $(CFLAGS) -Wno-missing-prototypes \
	    -o $@ $< $(B)/libleernet.a $(LDFLAGS) $(LDLIBS) -lcmocka

asan:
	$(MAKE) SAN=1 all units

units: $(UNITS)

deps:
	scripts/install-deps

# Banned functions: unbounded string writes.
lint:
	@! grep -nE '\b(sprintf|vsprintf|strcpy|strcat|strtok|gets)\s*\(' src/*.c \
	    || { echo "banned function used (see STYLE: bounded strings)"; exit 1; }

unit: units
	@set -e; for t in $(UNITS); do echo "== $$t"; \
	    LEERNET_TEST_DATA=$(CURDIR)/tests/fixtures $$t; done

# The unit tests under valgrind (a build without sanitizers): errors and
# definite or indirect leaks fail, forked children included.
VALGRIND = valgrind -q --error-exitcode=99 --leak-check=full \
	--errors-for-leak-kinds=definite,indirect --track-fds=no \
	--suppressions=$(CURDIR)/tests/valgrind.supp
valgrind: units
	@set -e; for t in $(UNITS); do echo "== valgrind $$t"; \
	    LEERNET_TEST_DATA=$(CURDIR)/tests/fixtures $(VALGRIND) $$t \
	    >/dev/null; done

integration: all tools
	LEERNET_BIN=$(CURDIR)/$(B)/leernet LEERNET_SRC=$(CURDIR) \
	    /usr/bin/python3 -m pytest -q tests/integration $(PYTEST_ARGS)

check: deps lint
	$(MAKE) SAN=1 all units tools
	$(MAKE) SAN=1 unit
	$(MAKE) valgrind
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    $(MAKE) SAN=1 integration

# Only what the demo needs (no test tools, no nginx or chromium).
demo:
	scripts/install-deps --demo
	$(MAKE) all
	scripts/demo

# install-deps --bench first (mlmmj, the reference, is not needed by check);
# then the build, which needs what install-deps installs.
bench:
	scripts/install-deps --bench
	$(MAKE) all
	bench/run $(BENCH_ARGS)

fuzz:
	$(MAKE) -C fuzz

install: $(B)/leernet
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/leernet/templates \
	    $(DESTDIR)/lib/systemd/system $(DESTDIR)/usr/lib/sysusers.d \
	    $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(PREFIX)/share/man/man5
	# install -d would reset the 0750 an admin gave the secrets' directory.
	test -d $(DESTDIR)$(SYSCONFDIR)/leernet || install -d $(DESTDIR)$(SYSCONFDIR)/leernet
	install -m 755 $(B)/leernet $(DESTDIR)$(PREFIX)/bin/leernet
	cp -R templates/. $(DESTDIR)$(PREFIX)/share/leernet/templates/
	install -m 644 config/leernet.conf.example $(DESTDIR)$(SYSCONFDIR)/leernet/leernet.conf.example
	sed -e 's|/usr/local/bin/|$(PREFIX)/bin/|g' -e 's|/etc/leernet/|$(SYSCONFDIR)/leernet/|g' \
	    systemd/leernet.service >$(DESTDIR)/lib/systemd/system/leernet.service
	chmod 644 $(DESTDIR)/lib/systemd/system/leernet.service
	install -m 644 systemd/leernet.sysusers $(DESTDIR)/usr/lib/sysusers.d/leernet.conf
	install -m 644 man/leernet.8 $(DESTDIR)$(PREFIX)/share/man/man8/leernet.8
	install -m 644 man/leernet.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/leernet.conf.5

clean:
	rm -rf build build-asan

-include $(OBJS:.o=.d)
