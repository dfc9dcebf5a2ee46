/* tools/rnn-info.c - what is in a safetensors file.

   Usage: rnn-info FILE.safetensors
   Prints every tensor (dtype, shape) and the metadata of any safetensors
   file, whether its CRC-32 was checked, and, when the file loads as an
   rnn.h language model (rnn.h's own, or a PyTorch state_dict with the
   attributes embedding, rnn, head), the model's config, vocabulary,
   parameter count and optimizer state. A bad file gets the reader's status
   and message, and exit code 1. */
#define RNN_IMPLEMENTATION
#define STB_DS_IMPLEMENTATION
#include "../rnn.h"

#include <stdio.h>

static void print_lm(const rnn_lm *m, const rnn_optimizer *opt) {
    static const char *cells[] = {"lstm", "tanh", "relu", "lstm", "gru", "gru_cho"};
    ptrdiff_t i;
    size_t total = 0;
    printf("  rnn.h language model: cell %s, vocab %d, embedding %d, hidden %d, layers %d, dropout %g%s\n",
           cells[m->cfg.cell], m->cfg.vocab_size, m->cfg.embed_size, m->cfg.hidden_size, m->cfg.num_layers,
           m->cfg.dropout, m->cfg.freeze_embedding ? ", embedding frozen" : "");
    if (m->vocab) {
        char text[1024];
        int ids[256], n = m->cfg.vocab_size < 256 ? m->cfg.vocab_size : 256, k;
        for (k = 0; k < n; k++) ids[k] = k;
        rnn_vocab_decode(m->vocab, ids, (size_t)n, text, sizeof text);
        for (k = 0; text[k]; k++)
            if (text[k] == '\n') text[k] = ' ';   /* keep it on one line */
        printf("  vocabulary (%d characters): %s%s\n", m->cfg.vocab_size, text, n < m->cfg.vocab_size ? "..." : "");
    } else if (m->words) {
        static const char *cut[] = {"punctuation dropped", "punctuation split off", "split at spaces only"};
        char text[1024];
        int ids[24], n = m->cfg.vocab_size < 24 ? m->cfg.vocab_size : 24, k;
        for (k = 0; k < n; k++) ids[k] = k;
        rnn_words_decode(m->words, ids, (size_t)n, text, sizeof text);
        printf("  vocabulary (%d words; %s, %s): %s%s\n", m->cfg.vocab_size, cut[m->words->cfg.punct],
               m->words->cfg.keep_case ? "case kept" : "lower-cased", text, n < m->cfg.vocab_size ? " ..." : "");
    } else {
        printf("  vocabulary: none (plain token ids)\n");
    }
    for (i = 0; i < stbds_arrlen(m->params); i++) total += m->params[i].count;
    printf("  parameters: %zu (%.2f MB as F32)\n", total, total * 4.0 / 1e6);
    if (rnn_lm_is_quantized(m))
        printf("  int8: every matrix int8 with one F32 scale a row (inference only; this CPU's kernel: %s)\n",
               rnn_int8_simd_name());
    if (opt)
        printf("  optimizer: %s, step %lld, lr %g, clip_norm %g\n",
               opt->cfg.kind == RNN_SGD ? "sgd" : opt->cfg.kind == RNN_ADAMW ? "adamw" : "adam",
               (long long)opt->t, opt->cfg.lr, opt->cfg.clip_norm);
    if (m->state_batch) printf("  training state: %d streams carried\n", m->state_batch);
}

int main(int argc, char **argv) {
    rnn_st_file f;
    rnn_lm *m = NULL;
    rnn_optimizer *opt = NULL;
    rnn_status st;
    ptrdiff_t i;
    uint64_t bytes = 0;
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: %s FILE.safetensors\n", argv[0]);
        return argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) ? 0 : 2;
    }
    if ((st = rnn_st_open(&f, argv[1])) != RNN_OK) {
        fprintf(stderr, "%s: %s (%s)\n", argv[1], rnn_strerror(st), f.error);
        return 1;
    }
    printf("%s: safetensors, %d tensors, %s\n", argv[1], (int)stbds_arrlen(f.tensors),
           f.checksummed ? "CRC-32 checked" : "no checksum");
    for (i = 0; i < stbds_arrlen(f.tensors); i++) {
        const rnn_st_tensor *t = &f.tensors[i];
        int d;
        printf("    %-34s %-4s [", t->name, t->dtype);
        for (d = 0; d < t->ndim; d++) printf(d ? ", %llu" : "%llu", (unsigned long long)t->dims[d]);
        printf("]\n");
        bytes += t->end - t->begin;
    }
    printf("  data: %llu bytes\n", (unsigned long long)bytes);
    for (i = 0; i < stbds_arrlen(f.meta); i++) {
        const char *v = f.meta[i].value;
        printf("  metadata %s: %.*s%s\n", f.meta[i].key, (int)(strlen(v) < 60 ? strlen(v) : 60), v,
               strlen(v) > 60 ? "..." : "");
    }
    if ((st = rnn_lm_from_st(&m, &opt, &f)) == RNN_OK) print_lm(m, opt);
    else printf("  not an rnn.h language model: %s (%s)\n", rnn_strerror(st), f.error);
    rnn_optimizer_free(opt);
    rnn_lm_free(m);
    rnn_st_close(&f);
    return 0;
}
