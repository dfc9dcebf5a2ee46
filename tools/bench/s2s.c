/* tools/bench/s2s.c - training the course notes' addition model (one-hot
   characters → LSTM 128 → repeated 4 times → LSTM 128 → dense 12), or the
   encoder-decoder with attention of examples/addition.c, one thread:
   sequences a second of a full training step (forward, backward, Adam) at
   batch 128, sources of 7 and outputs of 4 characters, median of rounds.
   tools/bench/s2s.py runs the same models in PyTorch (tools/bench/models.sh).

   Usage: bench-s2s [keras|attention] */
#define _POSIX_C_SOURCE 200809L   /* clock_gettime */
#define RNN_IMPLEMENTATION
#define STB_DS_IMPLEMENTATION
#include "../../rnn.h"
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    int attention = argc > 1 && !strcmp(argv[1], "attention"), B = 128, i, r;
    int src[7 * 128], tgt[4 * 128];
    rnn_s2s_config cfg;
    rnn_optimizer_config oc;
    rnn_s2s *s = NULL;
    rnn_optimizer *opt = NULL;
    rnn_rng rng;
    double t[9];
    memset(&cfg, 0, sizeof cfg);
    cfg.src_vocab = cfg.tgt_vocab = 12; cfg.hidden_size = 128; cfg.max_src_len = 7; cfg.max_tgt_len = 4;
    if (attention) { cfg.embed_size = 16; cfg.attention = RNN_S2S_GENERAL; }
    else { cfg.one_hot = 1; cfg.repeat = 1; }
    memset(&oc, 0, sizeof oc);
    if (rnn_s2s_create(&s, &cfg, 1) != RNN_OK || rnn_optimizer_create(&opt, &oc, s->params) != RNN_OK) return 1;
    rnn_rng_seed(&rng, 1);
    for (i = 0; i < 7 * B; i++) src[i] = (int)(rnn_rng_uniform(&rng) * 12);
    for (i = 0; i < 4 * B; i++) tgt[i] = (int)(rnn_rng_uniform(&rng) * 12);
    for (r = 0; r < 9; r++) {
        double t0 = now();
        int k;
        for (k = 0; k < 20; k++) rnn_s2s_train_step(s, opt, src, NULL, 7, tgt, NULL, 4, B, NULL);
        t[r] = (now() - t0) / 20;
    }
    printf("s2s %s seq/s %.0f\n", attention ? "attention" : "keras", B / median(t, 9));
    rnn_optimizer_free(opt);
    rnn_s2s_free(s);
    return 0;
}
