/* tools/bench/clf.c - training the classifiers of examples/langid.c, one
   thread: sequences a second of a full training step (forward, backward,
   Adam) at batch 32, sequences of 64..128 tokens, median of rounds.
   tools/bench/clf.py runs the same models in PyTorch (tools/bench/models.sh).

   Usage: bench-clf [gru|transformer] */
#define _POSIX_C_SOURCE 200809L   /* clock_gettime */
#define RNN_IMPLEMENTATION
#define STB_DS_IMPLEMENTATION
#include "../../rnn.h"
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    int transformer = argc > 1 && !strcmp(argv[1], "transformer"), T = 128, B = 32, i, r;
    int tok[128 * 32], len[32], lab[32];
    rnn_clf_config cfg;
    rnn_optimizer_config oc;
    rnn_clf *c = NULL;
    rnn_optimizer *opt = NULL;
    rnn_rng rng;
    double t[9];
    memset(&cfg, 0, sizeof cfg);
    cfg.vocab_size = 100; cfg.num_classes = 8; cfg.max_len = T; cfg.pool = RNN_POOL_ATTENTION;
    if (transformer) {   /* langid's: 2 post-norm layers, d_model 48, 4 heads, ff 96 */
        cfg.transformer = 1; cfg.embed_size = 48; cfg.heads = 4; cfg.ff_size = 96; cfg.num_layers = 2;
    } else {             /* langid's: a bidirectional GRU, E 32, H 64 */
        cfg.cell = RNN_GRU; cfg.embed_size = 32; cfg.hidden_size = 64; cfg.bidirectional = 1;
    }
    memset(&oc, 0, sizeof oc);
    rnn_clf_create(&c, &cfg, 1);
    rnn_optimizer_create(&opt, &oc, c->params);
    rnn_rng_seed(&rng, 1);
    for (i = 0; i < T * B; i++) tok[i] = (int)(rnn_rng_uniform(&rng) * 100);
    for (i = 0; i < B; i++) { len[i] = T - 2 * i; lab[i] = i % 8; }   /* 128 down to 66 */
    for (r = 0; r < 9; r++) {
        double t0 = now();
        int s;
        for (s = 0; s < 5; s++) rnn_clf_train_step(c, opt, tok, len, T, B, lab, NULL, NULL);
        t[r] = (now() - t0) / 5;
    }
    printf("clf %s seq/s %.0f\n", transformer ? "transformer" : "gru", B / median(t, 9));
    rnn_optimizer_free(opt);
    rnn_clf_free(c);
    return 0;
}
