/* examples/names.c - new names for a game, from a model trained on a list.

   names MODEL [COUNT]   prints COUNT names (default 10), one per frame of a
                         pretend game loop. Train the model on a list of
                         names, one per line, with textgen; `make names` does
                         it all with the proper nouns of Debian's wamerican.

   The part a game copies is name_generator_*: load once, then one call per
   name, no allocation, the same name for the same seed. */
#define RNN_IMPLEMENTATION
#define STB_DS_IMPLEMENTATION
#include "../rnn.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct { rnn_lm *lm; rnn_lm_state *state; int newline; } name_generator;

static int name_generator_load(name_generator *g, const char *path) {
    char err[200];
    size_t n = 0;
    if (rnn_lm_load(&g->lm, NULL, path, err, sizeof err) != RNN_OK || !g->lm->vocab) {
        fprintf(stderr, "names: %s: %s\n", path, err[0] ? err : "no vocabulary");
        return 0;
    }
    if (rnn_vocab_encode(g->lm->vocab, "\n", 1, &g->newline, 1, &n, NULL) != RNN_OK) return 0;
    return rnn_lm_state_create(g->lm, &g->state) == RNN_OK;
}

/* One name into out[cap] (UTF-8): at most cap/4 characters, from seed. */
static void name_generator_next(name_generator *g, uint64_t seed, char *out, size_t cap) {
    rnn_rng rng;
    const float *logits;
    int tok, len = 0;
    size_t at = 0;
    rnn_rng_seed(&rng, seed);
    rnn_lm_state_reset(g->lm, g->state);
    logits = rnn_lm_step(g->lm, g->state, g->newline);     /* a name starts after a newline */
    while (logits && len++ < (int)(cap / 4) - 1 &&
           rnn_sample(logits, g->lm->cfg.vocab_size, 0.8f, 0, 0.95f, &rng, &tok) == RNN_OK && tok != g->newline) {
        at += rnn_vocab_decode(g->lm->vocab, &tok, 1, out + at, cap - at);
        logits = rnn_lm_step(g->lm, g->state, tok);
    }
    out[at] = 0;
}

int main(int argc, char **argv) {
    name_generator g;
    int frame, count = argc > 2 ? atoi(argv[2]) : 10;
    char name[64];
    if (argc < 2 || argv[1][0] == '-') {
        fprintf(argc == 2 ? stdout : stderr, "usage: names MODEL [COUNT]\n");
        return argc == 2 ? 0 : 2;
    }
    if (!name_generator_load(&g, argv[1])) return 1;
    for (frame = 0; frame < count; frame++) {              /* the game loop */
        name_generator_next(&g, 1000 + (uint64_t)frame, name, sizeof name);
        printf("frame %2d: %s\n", frame, name);
    }
    rnn_lm_state_free(g.state);
    rnn_lm_free(g.lm);
    return 0;
}
