/* tests/test.c - the one test runner of rnn.h.

   Each check prints OK or NOT OK with its name and the worst error it saw;
   the last line is "N passed, N failed". `make test` builds this file with
   every compiler and mode (tests/legs.sh) and runs it in each. The checks
   live in one file per section, tests/test_<section>.c, compiled here as
   one unit (they test rnn.h's internal kernels too).

   Usage: test [SECTION ...]   (default: every section; --list names them) */
#include <stdlib.h>

/* The allocator hooks, counting, so tests can check what allocates. */
static long g_allocs;
static void *count_malloc(size_t n) { g_allocs++; return malloc(n); }
static void *count_realloc(void *p, size_t n) { g_allocs++; return realloc(p, n); }
#define RNN_MALLOC(n) count_malloc(n)
#define RNN_REALLOC(p, n) count_realloc(p, n)
#define RNN_FREE(p) free(p)

/* Split work even at the small sizes the tests train (tests/test_threads.c);
   with one task, the default, these change nothing. */
#define RNN_PAR_MIN_MACS 1024
#define RNN_PAR_MIN_VALUES 64

#define RNN_IMPLEMENTATION
#define STB_DS_IMPLEMENTATION
#include "../rnn.h"

#include "test_core.c"
#include "test_kernels.c"
#include "test_recurrent.c"
#include "test_training.c"
#include "test_text.c"
#include "test_checkpoints.c"
#include "test_decoding.c"
#include "test_attention.c"
#include "test_classifier.c"
#include "test_seq2seq.c"
#include "test_threads.c"
#include "test_int8.c"

static const struct { const char *name; void (*run)(void); } sections[] = {
    {"core", test_core},           {"kernels", test_kernels},         {"recurrent", test_recurrent},
    {"training", test_training},   {"text", test_text},               {"checkpoints", test_checkpoints},
    {"decoding", test_decoding},     {"attention", test_attention},
    {"classifier", test_classifier}, {"seq2seq", test_seq2seq},   {"threads", test_threads},
    {"int8", test_int8},
};
#define NSECTIONS (int)(sizeof sections / sizeof sections[0])

int main(int argc, char **argv) {
    int i, a;
    for (a = 1; a < argc; a++) {
        for (i = 0; i < NSECTIONS && strcmp(argv[a], sections[i].name) != 0; i++) {}
        if (i == NSECTIONS) {
            int list = !strcmp(argv[a], "--list");
            fprintf(list ? stdout : stderr, "%s%s", list ? "" : "unknown section; the sections are:", list ? "" : "\n");
            for (i = 0; i < NSECTIONS; i++) fprintf(list ? stdout : stderr, "%s\n", sections[i].name);
            return list ? 0 : 2;
        }
    }
    for (i = 0; i < NSECTIONS; i++) {
        int want = argc == 1;
        for (a = 1; a < argc; a++) want |= !strcmp(argv[a], sections[i].name);
        if (want) sections[i].run();
    }
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail != 0;
}
