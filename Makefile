# rnn.h - build, test, benchmark.  `make demo` runs the main job, `make test`
# runs every test leg; both install what they need first (tools/deps.sh).
CC      ?= cc
STB     := $(shell pkg-config --cflags-only-I stb 2>/dev/null | sed 's/-I/-isystem /g' || true)
ifeq ($(strip $(STB)),)
STB     := -isystem /usr/include/stb
endif
CFLAGS  ?= -O2
WARN    := -std=c99 -pedantic -Wall -Wextra -Werror

.PHONY: all demo names test bench deps deps-test deps-demo deps-bench examples tools fuzz torch-roundtrip clean

all: examples

deps: deps-test
deps-test:  ; @sh tools/deps.sh test
deps-demo:  ; @sh tools/deps.sh demo
deps-bench: ; @sh tools/deps.sh bench

test: deps-test
	@sh tests/legs.sh

demo: deps-demo build/textgen
	@sh tools/demo.sh

# new names for a game: trained a minute on the proper nouns of wamerican
names: build/textgen build/names
	@sh tools/deps.sh names
	@if [ ! -f build/names.safetensors ]; then \
	  grep -E '^[A-Z][a-z]+$$' /usr/share/dict/american-english | \
	    awk 'BEGIN { srand(1) } { print rand() "\t" $$0 }' | sort -n | cut -f2 > build/names.txt; \
	  build/textgen train build/names.txt -o build/names.safetensors --hidden 128 --seq 32 \
	    --dropout 0.2 --minutes 1; fi
	build/names build/names.safetensors 20

build/names: examples/names.c rnn.h
	@mkdir -p build
	$(CC) -O2 $(WARN) $(STB) $< -o $@ -lm

build/textgen: examples/textgen.c rnn.h
	@mkdir -p build
	$(CC) -O2 $(WARN) $(STB) $< -o $@ -lm

build/bench-sgemm: tools/bench/sgemm.c tools/bench/bench.h rnn.h
	@mkdir -p build
	$(CC) -O2 $(WARN) -D_ISOC11_SOURCE $(STB) $< -o $@ -lopenblas -lm

build/bench-recurrent: tools/bench/recurrent.c tools/bench/bench.h rnn.h
	@mkdir -p build
	$(CC) -O2 $(WARN) $(STB) $< -o $@ -lm

build/bench-lm: tools/bench/lm.c tools/bench/bench.h rnn.h
	@mkdir -p build
	$(CC) -O2 $(WARN) $(STB) $< -o $@ -lm

bench: deps-bench build/bench-sgemm build/bench-recurrent build/bench-lm
	build/bench-sgemm
	sh tools/bench/recurrent.sh
	sh tools/bench/lm.sh

tools: build/rnn-info

build/rnn-info: tools/rnn-info.c rnn.h
	@mkdir -p build
	$(CC) -O2 $(WARN) $(STB) $< -o $@ -lm

# libFuzzer on the checkpoint loader and the UTF-8 vocabulary, seeded with the
# checkpoints in tests/data; FUZZ_SECONDS each (CI runs a short pass).
FUZZ_SECONDS ?= 60
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $(STB)
fuzz: deps-test
	@mkdir -p build/fuzz-load build/fuzz-vocab
	clang $(FUZZ_FLAGS) tools/fuzz/load.c -o build/fuzz-load.bin -lm
	clang $(FUZZ_FLAGS) tools/fuzz/vocab.c -o build/fuzz-vocab.bin -lm
	cp tests/data/*.safetensors build/fuzz-load/
	printf 'h\303\251llo w\303\266rld \342\234\223' > build/fuzz-vocab/seed
	build/fuzz-load.bin -max_total_time=$(FUZZ_SECONDS) -max_len=16384 build/fuzz-load 2>&1 | tail -3
	build/fuzz-vocab.bin -max_total_time=$(FUZZ_SECONDS) build/fuzz-vocab 2>&1 | tail -3
	@echo "fuzz: no crash in $(FUZZ_SECONDS) s per target"

# both directions through PyTorch (needs python3-torch: make deps-bench)
torch-roundtrip: deps-bench
	sh tools/torch_roundtrip.sh

examples: deps-demo
	@mkdir -p build
	@for f in examples/*.c; do echo "cc examples/$$(basename $$f)"; \
	  $(CC) -O2 $(WARN) $(STB) $$f -o build/$$(basename $$f .c) -lm || exit 1; done

clean:
	rm -rf build
