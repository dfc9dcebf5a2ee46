/* tools/roundtrip.c - the C side of tools/torch_roundtrip.sh.

   Usage: roundtrip OUT.safetensors   trains a small LSTM LM for a few steps,
   saves it, and prints the logits of a fixed text, one line per position,
   for PyTorch to compare with after rnn2torch.py. */
#define RNN_IMPLEMENTATION
#define STB_DS_IMPLEMENTATION
#include "../rnn.h"

#include <stdio.h>

int main(int argc, char **argv) {
    const char *text = "it was the best of times, it was the worst of times. ";
    rnn_vocab v;
    rnn_lm_config lc = {0};
    rnn_optimizer_config oc = {0};
    rnn_lm *m;
    rnn_optimizer *opt;
    rnn_lm_state *s;
    int ids[128], in[16 * 2], tg[16 * 2], i, j, step;
    size_t n = 0;
    if (argc != 2) { fprintf(stderr, "usage: %s OUT.safetensors\n", argv[0]); return 2; }
    rnn_vocab_from_text(&v, text, strlen(text), NULL);
    rnn_vocab_encode(&v, text, strlen(text), ids, 128, &n, NULL);
    lc.vocab_size = rnn_vocab_size(&v); lc.embed_size = 8; lc.hidden_size = 16; lc.num_layers = 2;
    if (rnn_lm_create(&m, &lc, 7) != RNN_OK || rnn_lm_set_vocab(m, &v) != RNN_OK) return 1;
    rnn_optimizer_create(&opt, &oc, m->params);
    for (step = 0; step < 20; step++) {
        for (i = 0; i < 32; i++) { in[i] = ids[(step * 3 + i) % n]; tg[i] = ids[(step * 3 + i + 1) % n]; }
        rnn_lm_train_step(m, opt, in, tg, 16, 2, NULL);
    }
    if (rnn_lm_save(m, NULL, argv[1]) != RNN_OK) return 1;
    rnn_lm_state_create(m, &s);
    for (i = 0; i < 20; i++) {
        const float *lg = rnn_lm_step(m, s, ids[i]);
        printf("%d", ids[i]);
        for (j = 0; j < lc.vocab_size; j++) printf(" %.9g", lg[j]);
        printf("\n");
    }
    rnn_lm_state_free(s);
    rnn_optimizer_free(opt);
    rnn_lm_free(m);
    rnn_vocab_free(&v);
    return 0;
}
