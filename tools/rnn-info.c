/* tools/rnn-info.c - what is in an rnn.h checkpoint.

   Usage: rnn-info MODEL.safetensors
   Prints the config, the vocabulary, every tensor with its shape, the
   parameter count, and the optimizer state if the file has one. A bad file
   gets the loader's status and message, and exit code 1. */
#define RNN_IMPLEMENTATION
#define STB_DS_IMPLEMENTATION
#include "../rnn.h"

#include <stdio.h>

int main(int argc, char **argv) {
    rnn_lm *m;
    rnn_optimizer *opt;
    char err[256];
    rnn_status st;
    ptrdiff_t i;
    size_t total = 0;
    static const char *cells[] = {"lstm", "tanh", "relu", "lstm", "gru", "gru_cho"};
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: %s MODEL.safetensors\n", argv[0]);
        return argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) ? 0 : 2;
    }
    st = rnn_lm_load(&m, &opt, argv[1], err, sizeof err);
    if (st != RNN_OK) {
        fprintf(stderr, "%s: %s (%s)\n", argv[1], rnn_strerror(st), err);
        return 1;
    }
    printf("%s: rnn.h language model\n", argv[1]);
    printf("  cell %s, vocab %d, embedding %d, hidden %d, layers %d, dropout %g%s\n", cells[m->cfg.cell],
           m->cfg.vocab_size, m->cfg.embed_size, m->cfg.hidden_size, m->cfg.num_layers, m->cfg.dropout,
           m->cfg.freeze_embedding ? ", embedding frozen" : "");
    if (m->vocab) {
        char text[1024];
        int ids[256], n = m->cfg.vocab_size < 256 ? m->cfg.vocab_size : 256, k;
        for (k = 0; k < n; k++) ids[k] = k;
        rnn_vocab_decode(m->vocab, ids, (size_t)n, text, sizeof text);
        for (k = 0; text[k]; k++)
            if (text[k] == '\n') text[k] = ' ';   /* keep it on one line */
        printf("  vocabulary (%d characters): %s%s\n", m->cfg.vocab_size, text, n < m->cfg.vocab_size ? "..." : "");
    } else {
        printf("  vocabulary: none (plain token ids)\n");
    }
    printf("  tensors:\n");
    for (i = 0; i < stbds_arrlen(m->params); i++) {
        const rnn_param *p = &m->params[i];
        if (p->cols) printf("    %-26s F32 [%d, %d]\n", p->name, p->rows, p->cols);
        else printf("    %-26s F32 [%d]\n", p->name, p->rows);
        total += p->count;
    }
    printf("  parameters: %zu (%.2f MB as F32)\n", total, total * 4.0 / 1e6);
    if (opt)
        printf("  optimizer: %s, step %lld, lr %g, clip_norm %g\n",
               opt->cfg.kind == RNN_SGD ? "sgd" : opt->cfg.kind == RNN_ADAMW ? "adamw" : "adam",
               (long long)opt->t, opt->cfg.lr, opt->cfg.clip_norm);
    if (m->state_batch) printf("  training state: %d streams carried\n", m->state_batch);
    rnn_optimizer_free(opt);
    rnn_lm_free(m);
    return 0;
}
