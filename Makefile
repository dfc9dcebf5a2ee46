# rnn.h - build, test, benchmark.
#   make            builds the examples and tools into build/ (installs nothing)
#   make demo       the main job; installs what it needs first (tools/deps.sh)
#   make langid     language identification: a bi-GRU and a Transformer classifier
#   make addition   the notes' seq2seq example: learning to add, two models
#   make adding     the adding problem (Le, Jaitly, Hinton 2015): tanh, IRNN, LSTM, GRU
#   make topics     word-level classifiers of the notes on the topics of fortunes
#   make test       every test leg; installs the compilers and emulators it needs
#   make bench      speed against OpenBLAS and PyTorch; installs them
#   make int8-quality  what int8 weights cost in loss and agreement (trains six models)
# The install steps run apt-get (as root or through sudo) and say what they add.
CC      ?= cc
STB     := $(shell pkg-config --cflags-only-I stb 2>/dev/null | sed 's/-I/-isystem /g' || true)
ifeq ($(strip $(STB)),)
STB     := -isystem /usr/include/stb
endif
CFLAGS  ?= -O2
WARN    := -std=c99 -pedantic -Wall -Wextra -Werror

EXAMPLES := $(patsubst examples/%.c,build/%,$(wildcard examples/*.c))
BENCHES  := build/bench-sgemm build/bench-recurrent build/bench-dnnl build/bench-lm build/bench-sample build/bench-attention build/bench-clf build/bench-s2s build/bench-int8 build/bench-int8q build/bench-split

.PHONY: int8-quality ab all stb-check demo names langid addition adding topics test bench deps deps-test deps-demo deps-bench examples tools fuzz torch-roundtrip clean

all: stb-check examples tools

stb-check:
	@echo '#include <stb_ds.h>' | $(CC) $(STB) -E -x c - >/dev/null 2>&1 || \
	  { echo "make: stb_ds.h not found: apt-get install libstb-dev (or: make deps-demo)"; exit 1; }

examples: $(EXAMPLES)
tools: build/rnn-info

# one rule for every program: an example, a tool or a benchmark is one .c file
build/%: examples/%.c examples/cli.h examples/plot.h examples/corpus.h examples/clfkit.h rnn.h
	@mkdir -p build
	$(CC) $(CFLAGS) $(WARN) $(STB) $< -o $@ $(LIBS) -lm
build/rnn-%: tools/rnn-%.c rnn.h
	@mkdir -p build
	$(CC) $(CFLAGS) $(WARN) $(STB) $< -o $@ $(LIBS) -lm
build/bench-%: tools/bench/%.c tools/bench/bench.h rnn.h
	@mkdir -p build
	$(CC) $(CFLAGS) $(WARN) $(STB) $< -o $@ $(LIBS) -lm
build/bench-sgemm: LIBS = -lopenblas
build/textgen: LIBS = -pthread
build/bench-lm: LIBS = -pthread
build/bench-split: LIBS = -pthread
build/bench-dnnl: LIBS = -ldnnl
build/bench-sgemm: CFLAGS += -D_ISOC11_SOURCE

deps: deps-test
deps-test:  ; @sh tools/deps.sh test
deps-demo:  ; @sh tools/deps.sh demo
deps-bench: ; @sh tools/deps.sh bench

test: deps-test
	@sh tests/legs.sh

demo: deps-demo
	@$(MAKE) --no-print-directory build/textgen
	@sh tools/demo.sh

# new names for a game: trained a minute on the proper nouns of wamerican
names:
	@sh tools/deps.sh names
	@$(MAKE) --no-print-directory build/textgen build/names
	@if [ ! -f build/names.best.safetensors ]; then \
	  grep -E '^[A-Z][a-z]+$$' /usr/share/dict/american-english | \
	    awk 'BEGIN { srand(1) } { print rand() "\t" $$0 }' | sort -n | cut -f2 > build/names.txt; \
	  build/textgen train build/names.txt -o build/names.safetensors --hidden 128 --seq 32 \
	    --dropout 0.2 --minutes 1 --keep-best --plot build/names-loss.svg; fi
	build/names build/names.best.safetensors 20

# which language is a text in: fortunes in 8 languages, words of 9 word lists;
# a bi-GRU and a Transformer, LANGID_MINUTES each, against naive Bayes
LANGID_MINUTES ?= 2
langid:
	@sh tools/deps.sh langid
	@$(MAKE) --no-print-directory build/langid
	build/langid --minutes $(LANGID_MINUTES) --out build
	build/langid classify build/langid-sentences-gru.safetensors "Der Hund schläft im Garten." \
	  "El perro duerme en el jardín." "Pies śpi w ogrodzie." "The dog sleeps in the garden."

# learning to add, "129+124" -> "253": the notes' Keras model and an
# encoder-decoder with attention, ADDITION_MINUTES each; then answers from the saved model
ADDITION_MINUTES ?= 2
addition: deps-demo
	@$(MAKE) --no-print-directory build/addition
	build/addition --minutes $(ADDITION_MINUTES) --out build
	build/addition --load build/addition-attention.safetensors 129+124 5+7 999+999 480+520

# the adding problem at T = 50 and 150: four recurrent nets, each until solved
# or for at most 40 s at T = 50 and 120 s at T = 150
adding: deps-demo
	@$(MAKE) --no-print-directory build/adding_problem
	build/adding_problem --lengths 50 --seconds 40 --out build
	build/adding_problem --lengths 150 --seconds 120 --out build

# the topic of a fortune (10 of Debian's fortune files) by words: the notes'
# LSTM and self-attention classifiers and a bi-GRU, TOPICS_MINUTES each, against naive Bayes
TOPICS_MINUTES ?= 2
topics:
	@sh tools/deps.sh topics
	@$(MAKE) --no-print-directory build/topics
	build/topics --minutes $(TOPICS_MINUTES) --out build
	build/topics classify build/topics-bi-gru.safetensors "The compiler crashed again." "The senator voted against the bill." \
	  "Bake the bread for an hour." "The quarterback threw a touchdown."

bench: deps-bench
	@$(MAKE) --no-print-directory $(BENCHES)
	build/bench-sgemm
	sh tools/bench/recurrent.sh
	sh tools/bench/lm.sh
	build/bench-sample
	build/bench-int8
	build/bench-split lstm 256
	sh tools/bench/attention.sh
	sh tools/bench/models.sh clf 'classifier %-11s training, B=32, T=66..128' gru transformer
	sh tools/bench/models.sh s2s 'seq2seq %-9s training, B=128, 7 -> 4' keras attention

# what int8 weights cost in quality: six char LMs trained (about 50 minutes
# the first time), FP32 against int8 on the validation text
int8-quality: deps-demo
	sh tools/bench/int8q.sh

# this tree's rnn.h against REV's (default HEAD) in one process, turn by turn
# (AB_THREADS=2: each side on its own pool of 2 threads)
REV ?= HEAD
AB_ROUNDS ?= 40
AB_THREADS ?= 1
ab: deps-demo
	sh tools/bench/ab.sh $(REV) $(AB_ROUNDS) $(AB_THREADS)

# libFuzzer on the safetensors reader / LM loader and the UTF-8 vocabulary,
# seeded with the files in tests/data; FUZZ_SECONDS each (CI runs a short pass).
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
	@sh tools/deps.sh langid
	sh tools/torch_roundtrip.sh

clean:
	rm -rf build
