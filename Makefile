# sakimori - top-level build.
#
#   make            build sakimori and sakimori-ctl (in ./build)
#   make deps       install the Debian packages needed to build and test
#   make run        install deps, build, run sakimori in the foreground on
#                   its embedded defaults
#   make check      install deps, run the whole test suite, then again under
#                   AddressSanitizer and UndefinedBehaviorSanitizer
#   make bench      print performance figures
#   make fuzz       fuzz every parser for FUZZ_SECONDS each (libFuzzer)
#   make install    install into $(DESTDIR)$(PREFIX)
#   make SANITIZER=address|undefined|thread   sanitizer build in build-NAME/

PREFIX	?= /usr/local
SBINDIR	?= $(PREFIX)/sbin
BINDIR	?= $(PREFIX)/bin
SYSCONFDIR ?= /etc
DESTDIR	?=
SANITIZER ?=
VERSION	= 0.1.0

ifeq ($(SANITIZER),)
BUILD	?= build
OPT	?= -O2 -D_FORTIFY_SOURCE=2
else
BUILD	?= build-$(SANITIZER)
OPT	?= -O1 -fsanitize=$(SANITIZER) -fno-omit-frame-pointer \
	   -fno-sanitize-recover=all
SANLD	= -fsanitize=$(SANITIZER)
endif

# Debian packages: to build, to test.
DEB_BUILD = build-essential pkg-config libmilter-dev libspf2-dev \
	libldns-dev libconfuse-dev libopendkim-dev libpsl-dev libssl-dev \
	publicsuffix libpcre2-dev liblmdb-dev libhiredis-dev libsodium-dev \
	libcurl4-openssl-dev
DEB_TEST = libcmocka-dev knot knot-dnsutils python3 postfix swaks \
	clang-format procps iproute2 python3-dkim python3-nacl rbldnsd \
	clang libclang-rt-14-dev redis-server lmdb-utils

PKGS	= ldns libconfuse milter opendkim libpsl libcrypto libpcre2-8 lmdb \
	  hiredis libsodium libcurl
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN	= -std=gnu11 -Wall -Wextra -Werror -Wformat=2 -Wshadow \
	  -Wstrict-prototypes -Wmissing-prototypes
CFLAGS	?= -g
ALL_CFLAGS = $(WARN) $(OPT) $(CFLAGS) -fstack-protector-strong -pthread \
	  -I. -D_GNU_SOURCE -DSAKIMORI_VERSION='"$(VERSION)"' $(PKG_CFLAGS)
ALL_LDFLAGS = $(LDFLAGS) $(SANLD) -pthread
LIBS	= $(PKG_LIBS) -lspf2 -lpthread

MAINS	= milter/main.c milter/sakimori_ctl.c
LIB_SRCS = $(sort $(wildcard lists/*.c policy/*.c) \
	  $(filter-out $(MAINS),$(wildcard milter/*.c)))
LIB_OBJS = $(LIB_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS = $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS = $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_SRCS = $(sort $(wildcard tests/tools/*.c))
TOOL_BINS = $(TOOL_SRCS:tests/tools/%.c=$(BUILD)/tests/%)

.PHONY: all deps run check check-build unit integration e2e sanitizers \
	format-check format bench fuzz install clean sample-config

all: $(BUILD)/sakimori $(BUILD)/sakimori-ctl

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/libsakimori.a: $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/sakimori: $(BUILD)/milter/main.o $(BUILD)/libsakimori.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/sakimori-ctl: $(BUILD)/milter/sakimori_ctl.o $(BUILD)/libsakimori.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libsakimori.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/libsakimori.a \
	    $(LIBS) -lcmocka

$(BUILD)/tests/%: tests/tools/%.c $(BUILD)/libsakimori.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/libsakimori.a \
	    $(LIBS)

# deps - install what is missing; quick when everything is there.
deps:
	@DEB="$(DEB_BUILD) $(DEB_TEST)" sh tests/deps.sh

run: deps
	@$(MAKE) --no-print-directory all
	exec $(BUILD)/sakimori -f

check: deps
	@$(MAKE) --no-print-directory check-build
	@sh tests/check.sh

check-build: all $(UNIT_BINS) $(TOOL_BINS)

unit: check-build
	@sh tests/run-unit.sh $(BUILD)

# sample-config - contrib/sakimori.conf: its header, then the dump of the
# defaults (tests/unit/test_config.c checks it against the schema).
sample-config: $(BUILD)/sakimori
	{ sed -n '1,/^$$/p' contrib/sakimori.conf; \
	  $(BUILD)/sakimori -D -o authserv_id= | tail -n +3; } > $(BUILD)/conf.new
	mv $(BUILD)/conf.new contrib/sakimori.conf

format-check:
	@clang-format --dry-run -Werror $(sort $(wildcard */*.c */*.h tests/*/*.c))

format:
	clang-format -i $(sort $(wildcard */*.c */*.h tests/*/*.c))

# fuzz - each libFuzzer target for FUZZ_SECONDS (make check runs them over
# their corpora only)
FUZZ_SECONDS ?= 60
fuzz: deps
	@sh tests/fuzz/run.sh $(FUZZ_SECONDS)

bench: deps
	@$(MAKE) --no-print-directory check-build
	@sh tests/bench/run.sh $(BUILD)

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
	    $(DESTDIR)$(SYSCONFDIR)/sakimori
	install -m 755 $(BUILD)/sakimori $(DESTDIR)$(SBINDIR)/sakimori
	install -m 755 $(BUILD)/sakimori-ctl $(DESTDIR)$(BINDIR)/sakimori-ctl
	install -m 644 contrib/sakimori.conf \
	    $(DESTDIR)$(SYSCONFDIR)/sakimori/sakimori.conf.example

clean:
	rm -rf build build-address build-undefined build-thread build-fuzz \
	    tests/tmp

-include $(LIB_OBJS:.o=.d) $(BUILD)/milter/main.d $(BUILD)/milter/sakimori_ctl.d
