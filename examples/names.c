/* examples/names.c - new names for a game, from a model trained on a list.

   names MODEL [COUNT] [--seed S]   prints COUNT names (default 10, at most
                         100000), one per frame of a pretend game loop.
                         Train the model on a list of names, one per line,
                         with textgen; `make names` does it all with the
                         proper nouns of Debian's wamerican.

   The part a game copies is name_generator_*: load once, then one call per
   name, no allocation, the same name for the same seed. */
#define RNN_IMPLEMENTATION
#define STB_DS_IMPLEMENTATION
#include "../rnn.h"
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct { rnn_lm *lm; rnn_lm_state *state; int newline; } name_generator;

/* Loads a model trained on names, one per line; 0 after saying why not. */
static int name_generator_load(name_generator *g, const char *path) {
    char err[256];
    size_t n = 0;
    rnn_status st;
    memset(g, 0, sizeof *g);
    if ((st = rnn_lm_load(&g->lm, NULL, path, err, sizeof err)) != RNN_OK) {
        fprintf(stderr, "names: %s\n", err[0] ? err : rnn_strerror(st));
        return 0;
    }
    if (!g->lm->vocab) {
        fprintf(stderr, "names: %s has no vocabulary (a model over plain ids)\n", path);
        return 0;
    }
    if (rnn_vocab_encode(g->lm->vocab, "\n", 1, &g->newline, 1, &n, NULL) != RNN_OK) {
        fprintf(stderr, "names: %s knows no newline: train it on a list of names, one per line\n", path);
        return 0;
    }
    if (rnn_lm_state_create(g->lm, &g->state) != RNN_OK) {
        fprintf(stderr, "names: out of memory\n");
        return 0;
    }
    return 1;
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

static void name_generator_free(name_generator *g) {
    rnn_lm_state_free(g->state);
    rnn_lm_free(g->lm);
}

int main(int argc, char **argv) {
    cli_opt o[] = {{"--seed", NULL, CLI_INT, 0, 1e15, 1000, NULL, 0}};
    name_generator g;
    const char *pos[2];
    int npos, frame, count = 10;
    char name[64];
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: names MODEL [COUNT] [--seed S]   (COUNT 1..100000, default 10)\n");
        return 0;
    }
    if (cli_parse("names", argc, argv, 1, o, 1, pos, 2, &npos)) return 2;
    if (npos < 1) { fprintf(stderr, "usage: names MODEL [COUNT] [--seed S]\n"); return 2; }
    if (npos == 2) {
        char *end;
        long c = strtol(pos[1], &end, 10);
        if (end == pos[1] || *end || c < 1 || c > 100000) {
            fprintf(stderr, "names: COUNT \"%s\" is not a number in 1..100000\n", pos[1]);
            return 2;
        }
        count = (int)c;
    }
    if (!name_generator_load(&g, pos[0])) { name_generator_free(&g); return 1; }
    for (frame = 0; frame < count; frame++) {              /* the game loop */
        name_generator_next(&g, (uint64_t)cli_get(o, 1, "--seed")->num + (uint64_t)frame, name, sizeof name);
        printf("frame %2d: %s\n", frame, name);
    }
    name_generator_free(&g);
    return 0;
}
