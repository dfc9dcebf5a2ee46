# rnn.h - build, test, benchmark.  `make demo` runs the main job, `make test`
# runs every test leg; both install what they need first (tools/deps.sh).
CC      ?= cc
STB     := $(shell pkg-config --cflags-only-I stb 2>/dev/null | sed 's/-I/-isystem /g' || true)
ifeq ($(strip $(STB)),)
STB     := -isystem /usr/include/stb
endif
CFLAGS  ?= -O2
WARN    := -std=c99 -pedantic -Wall -Wextra -Werror

.PHONY: all demo test bench deps deps-test deps-demo deps-bench examples clean

all: examples

deps: deps-test
deps-test:  ; @sh tools/deps.sh test
deps-demo:  ; @sh tools/deps.sh demo
deps-bench: ; @sh tools/deps.sh bench

test: deps-test
	@sh tests/legs.sh

demo: deps-demo
	@echo "make demo: the char-level text generator (examples/textgen.c) is not built yet;"
	@echo "it arrives with the training stack. Until then: make test, make bench."

build/bench-sgemm: tools/bench/sgemm.c rnn.h
	@mkdir -p build
	$(CC) -O2 $(WARN) -D_POSIX_C_SOURCE=200809L -D_ISOC11_SOURCE $(STB) $< -o $@ -lopenblas -lm

build/bench-recurrent: tools/bench/recurrent.c rnn.h
	@mkdir -p build
	$(CC) -O2 $(WARN) -D_POSIX_C_SOURCE=200809L $(STB) $< -o $@ -lm

bench: deps-bench build/bench-sgemm build/bench-recurrent
	build/bench-sgemm
	sh tools/bench/recurrent.sh

examples: deps-demo
	@mkdir -p build
	@for f in examples/*.c; do echo "cc examples/$$(basename $$f)"; \
	  $(CC) -O2 $(WARN) $(STB) $$f -o build/$$(basename $$f .c) -lm || exit 1; done

clean:
	rm -rf build
