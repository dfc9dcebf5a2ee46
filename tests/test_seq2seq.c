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

/* The one-token decoder against the teacher-forced forward fed its own
   output: the same argmax at every step, the same attention weights. */
static void test_s2s_decode_matches(void) {
    static const int src[6] = {3, 1, 4, 1, 5, 2};
    int k;
    for (k = 0; k < S2S_NCASES; k++) {
        rnn_s2s *s = NULL;
        rnn__s2s_plan p;
        int out[8], n = 0, t, v, ok;
        long before;
        double worst = 0;
        char name[128];
        if (s2s_make(&s, &s2s_cases[k], 8, 8, 40 + k) != RNN_OK) { check(0, s2s_cases[k].name, 0); continue; }
        ok = rnn_s2s_decode(s, src, 6, 1, -1, out, 8, &n) == RNN_OK && n == 5;
        before = g_allocs;
        ok = ok && rnn_s2s_decode(s, src, 6, 1, -1, out, 8, &n) == RNN_OK && g_allocs == before;
        ok = ok && rnn__s2s_forward(s, src, NULL, 6, out, NULL, 5, 1, 0, &p) == RNN_OK;
        for (t = 0; ok && t < 5; t++) {
            int best = 0;
            for (v = 1; v < s->cfg.tgt_vocab; v++)
                if (p.logits[t * s->cfg.tgt_vocab + v] > p.logits[t * s->cfg.tgt_vocab + best]) best = v;
            ok = best == out[t];
        }
        if (ok && s->cfg.attention) {
            worst = worst_err(s->decode_weights, s->attn_weights, 5 * 6);
            ok = worst < 1e-5;
        }
        snprintf(name, sizeof name, "seq2seq one-token decoder = forward, no alloc: %s", s2s_cases[k].name);
        check(ok, name, worst);
        rnn_s2s_free(s);
    }
}

/* The reversal task: tokens 0..7, 2..6 of them; the output is the source
   reversed, then the end token 8. */
static void s2s_reverse_batch(rnn_rng *rng, int *src, int *slen, int *tgt, int *tlen, int B) {
    int b, t;
    for (b = 0; b < B; b++) {
        slen[b] = 2 + (int)(rnn_rng_u64(rng) % 5);
        tlen[b] = slen[b] + 1;
        for (t = 0; t < 6; t++) src[t * B + b] = t < slen[b] ? (int)(rnn_rng_u64(rng) % 8) : 0;
        for (t = 0; t < 7; t++) tgt[t * B + b] = t < slen[b] ? src[(slen[b] - 1 - t) * B + b] : t == slen[b] ? 8 : 0;
    }
}

/* Exact matches out of n new sources, decoded with the given beam. */
static int s2s_reverse_score(rnn_s2s *s, int beam, int n) {
    rnn_rng rng;
    int i, right = 0;
    rnn_rng_seed(&rng, 999);
    for (i = 0; i < n; i++) {
        int src[6], slen, tgt[7], tlen, out[8], got = 0, t, same;
        s2s_reverse_batch(&rng, src, &slen, tgt, &tlen, 1);
        if (rnn_s2s_decode(s, src, slen, beam, 8, out, 8, &got) != RNN_OK) return -1;
        for (same = got == slen, t = 0; same && t < got; t++) same = out[t] == tgt[t];
        right += same;
    }
    return right;
}

static void test_s2s_learns(void) {
    rnn_s2s_config cfg;
    rnn_optimizer_config oc;
    rnn_optimizer *opt = NULL;
    rnn_s2s *s = NULL;
    rnn_rng rng;
    int src[6 * 32], slen[32], tgt[7 * 32], tlen[32], step, greedy, beam;
    float loss = 0, first = 0;
    long before;
    char name[128];
    memset(&cfg, 0, sizeof cfg);
    cfg.src_vocab = 8; cfg.tgt_vocab = 9; cfg.embed_size = 16; cfg.hidden_size = 32; cfg.cell = RNN_GRU;
    cfg.attention = RNN_S2S_GENERAL; cfg.max_src_len = 6; cfg.max_tgt_len = 7;
    memset(&oc, 0, sizeof oc);
    oc.lr = 0.01f; oc.clip_norm = 5;
    if (rnn_s2s_create(&s, &cfg, 3) != RNN_OK || rnn_optimizer_create(&opt, &oc, s->params) != RNN_OK) {
        check(0, "seq2seq learns to reverse", 0);
        return;
    }
    rnn_rng_seed(&rng, 17);
    for (step = 0; step < 500; step++) {
        s2s_reverse_batch(&rng, src, slen, tgt, tlen, 32);
        opt->cfg.lr = 0.01f * (1.0f - 0.9f * (float)step / 500);   /* falling: every SIMD path gets there */
        if (step == 1) before = g_allocs;
        if (rnn_s2s_train_step(s, opt, src, slen, 6, tgt, tlen, 7, 32, &loss) != RNN_OK) break;
        if (step == 1) check(g_allocs == before, "seq2seq: a training step allocates nothing after the first", 0);
        if (step == 0) first = loss;
    }
    greedy = s2s_reverse_score(s, 1, 200);
    beam = s2s_reverse_score(s, 4, 200);
    snprintf(name, sizeof name, "seq2seq learns to reverse: loss %.2f -> %.3f, exact %d/200 greedy, %d beam 4", first, loss,
             greedy, beam);
    check(step == 500 && greedy >= 190 && beam >= 190, name, 0);
    rnn_optimizer_free(opt);
    rnn_s2s_free(s);
}

/* A checkpoint resumes exactly: two steps after load equal two steps
   straight on; vocabularies travel; another model's file is refused. */
static void test_s2s_checkpoint(void) {
    const char *path = "build/test_s2s.safetensors", *cpath = "build/test_s2s_clf.safetensors";
    rnn_s2s_config cfg;
    rnn_optimizer_config oc;
    rnn_optimizer *opt = NULL, *opt2 = NULL;
    rnn_s2s *s = NULL, *s2 = NULL;
    rnn_vocab vs, vt;
    rnn_rng rng;
    rnn_clf_config cc;
    rnn_clf *c = NULL;
    char err[256];
    int src[6 * 4], slen[4], tgt[7 * 4], tlen[4], step, same = 1;
    ptrdiff_t i;
    rnn_status st;
    memset(&cfg, 0, sizeof cfg);
    cfg.src_vocab = 8; cfg.tgt_vocab = 9; cfg.embed_size = 6; cfg.hidden_size = 7; cfg.bidirectional = 1;
    cfg.attention = RNN_S2S_DOT; cfg.max_src_len = 6; cfg.max_tgt_len = 7; cfg.dropout = 0.3f; cfg.num_layers = 2;
    memset(&oc, 0, sizeof oc);
    oc.lr = 0.01f;
    rnn_vocab_from_text(&vs, "abcdefgh", 8, NULL);
    rnn_vocab_from_text(&vt, "ABCDEFGH.", 9, NULL);
    if (rnn_s2s_create(&s, &cfg, 8) != RNN_OK || rnn_optimizer_create(&opt, &oc, s->params) != RNN_OK ||
        rnn_s2s_set_vocab(s, &vs, &vt) != RNN_OK) {
        check(0, "seq2seq checkpoint", 0);
        return;
    }
    rnn_rng_seed(&rng, 5);
    for (step = 0; step < 3; step++) {
        s2s_reverse_batch(&rng, src, slen, tgt, tlen, 4);
        rnn_s2s_train_step(s, opt, src, slen, 6, tgt, tlen, 7, 4, NULL);
    }
    st = rnn_s2s_save(s, opt, path);
    if (st == RNN_OK) st = rnn_s2s_load(&s2, &opt2, path, err, sizeof err);
    if (st != RNN_OK) printf("       %s %s\n", s->error, err);
    for (step = 0; st == RNN_OK && step < 2; step++) {
        s2s_reverse_batch(&rng, src, slen, tgt, tlen, 4);
        rnn_s2s_train_step(s, opt, src, slen, 6, tgt, tlen, 7, 4, NULL);
        rnn_s2s_train_step(s2, opt2, src, slen, 6, tgt, tlen, 7, 4, NULL);
    }
    for (i = 0; st == RNN_OK && i < arrlen(s->params); i++)
        same &= !memcmp(s->params[i].value, s2->params[i].value, s->params[i].count * sizeof(float));
    check(st == RNN_OK && same && s2->src_text && s2->tgt_text && rnn_vocab_size(s2->tgt_text) == 9,
          "seq2seq checkpoint resumes bit for bit (dropout, Adam, vocabularies)", 0);
    memset(&cc, 0, sizeof cc);
    cc.vocab_size = 5; cc.num_classes = 2; cc.embed_size = 4; cc.hidden_size = 4;
    rnn_clf_create(&c, &cc, 1);
    rnn_clf_save(c, NULL, cpath);
    rnn_s2s_free(s2);
    s2 = NULL;
    st = rnn_s2s_load(&s2, NULL, cpath, err, sizeof err);
    check(st == RNN_ERR_METADATA && strstr(err, "not a sequence-to-sequence") && !s2, "seq2seq refuses a classifier's file", 0);
    rnn_clf_free(c);
    rnn_vocab_free(&vs);
    rnn_vocab_free(&vt);
    rnn_optimizer_free(opt);
    rnn_optimizer_free(opt2);
    rnn_s2s_free(s);
    rnn_s2s_free(s2);
    remove(path);
    remove(cpath);
}

/* Bad input gets a status and a message naming it. */
static void test_s2s_errors(void) {
    rnn_s2s_config cfg;
    rnn_s2s *s = NULL;
    int src[4] = {1, 2, 9, 3}, tgt[2] = {1, 2}, len0 = 0, out[2], n = 0, ok = 1;
    memset(&cfg, 0, sizeof cfg);
    cfg.src_vocab = 8; cfg.tgt_vocab = 5; cfg.hidden_size = 4; cfg.max_src_len = 4; cfg.max_tgt_len = 3;
    ok &= rnn_s2s_create(&s, &cfg, 1) == RNN_OK;
    ok &= rnn_s2s_train_step(s, NULL, src, NULL, 4, tgt, NULL, 2, 1, NULL) == RNN_ERR_INVALID_ARGUMENT &&
          strstr(s->error, "token 9 at position 2") != NULL;
    ok &= rnn_s2s_train_step(s, NULL, src, &len0, 2, tgt, NULL, 2, 1, NULL) == RNN_ERR_INVALID_ARGUMENT &&
          strstr(s->error, "lengths[0] = 0") != NULL;
    ok &= rnn_s2s_eval(s, src, NULL, 2, tgt, NULL, 2, 1, NULL) == RNN_OK;
    src[2] = 3;
    ok &= rnn_s2s_decode(s, src, 5, 1, -1, out, 2, &n) == RNN_ERR_INVALID_ARGUMENT && strstr(s->error, "more than") != NULL;
    ok &= rnn_s2s_decode(s, src, 4, 1, 5, out, 2, &n) == RNN_ERR_INVALID_ARGUMENT && strstr(s->error, "end_token") != NULL;
    ok &= rnn_s2s_decode(s, src, 4, 1, -1, out, 2, &n) == RNN_ERR_INVALID_ARGUMENT && n == 2 &&
          strstr(s->error, "3 tokens, out holds 2") != NULL;
    ok &= rnn_s2s_decode(s, src, 4, 3, -1, out, 2, &n) == RNN_ERR_INVALID_ARGUMENT && n == 2;
    cfg.tgt_vocab = 0;
    ok &= rnn_s2s_create(NULL, &cfg, 1) == RNN_ERR_INVALID_ARGUMENT;
    cfg.tgt_vocab = 5; cfg.attention = (rnn_s2s_score)7;
    {
        rnn_s2s *bad = NULL;
        ok &= rnn_s2s_create(&bad, &cfg, 1) == RNN_ERR_INVALID_ARGUMENT && !bad;
    }
    check(ok, "seq2seq: bad tokens, lengths, sizes and arguments get named errors", 0);
    rnn_s2s_free(s);
}

/* Reads test tensor `name` of n values as ints. */
static int s2s_ints(rnn_st_file *f, const char *name, int *out, int n) {
    const rnn_st_tensor *t = rnn_st_find(f, name);
    float v[64];
    int dims[2], i;
    if (!t || t->ndim < 1 || t->ndim > 2 || n > 64) return 0;
    dims[0] = (int)t->dims[0]; dims[1] = t->ndim == 2 ? (int)t->dims[1] : 1;
    if (dims[0] * dims[1] != n || rnn_st_read(f, name, t->ndim, dims, v) != RNN_OK) return 0;
    for (i = 0; i < n; i++) out[i] = (int)v[i];
    return 1;
}

static void test_s2s_torch(void) {
    static const char *tags[] = {"bilstm2_general", "gru_dot", "tanh_onehot", "repeat_onehot", "repeat_bigru_dot"};
    int k;
    for (k = 0; k < 5; k++) {
        char path[96], err[256], name[128];
        rnn_s2s *s = NULL;
        rnn_st_file f;
        int src[21], slen[3], tgt[15], tlen[3], dims[2];
        float wloss[1], loss = 0;
        double w = 0;
        snprintf(path, sizeof path, "tests/data/pt_s2s_%s.safetensors", tags[k]);
        if (rnn_s2s_load(&s, NULL, path, err, sizeof err) != RNN_OK || rnn_st_open(&f, path) != RNN_OK) {
            printf("       %s: %s\n", path, err);
            check(0, "PyTorch seq2seq file loads", 0);
            rnn_s2s_free(s);
            continue;
        }
        dims[0] = 1;
        if (!s2s_ints(&f, "test.src", src, 21) || !s2s_ints(&f, "test.src_lengths", slen, 3) ||
            !s2s_ints(&f, "test.tgt", tgt, 15) || !s2s_ints(&f, "test.tgt_lengths", tlen, 3) ||
            rnn_st_read(&f, "test.loss", 1, dims, wloss) != RNN_OK)
            w = 1e9;
        else if (rnn_s2s_train_step(s, NULL, src, slen, 7, tgt, tlen, 5, 3, &loss) != RNN_OK) {
            printf("       %s\n", s->error);
            w = 1e9;
        } else
            w = fabs(loss - wloss[0]);
        if (w < 1) {
            double eg = fixture_grads(&f, s->params);
            if (!(eg <= w)) w = eg;
        }
        snprintf(name, sizeof name, "seq2seq = PyTorch (%s): loss and %d gradients", tags[k], (int)arrlen(s->params));
        check(w < 1e-5, name, w);
        rnn_st_close(&f);
        rnn_s2s_free(s);
    }
}

static void test_seq2seq(void) {
    test_s2s_torch();
    test_s2s_gradcheck();
    test_s2s_decode_matches();
    test_s2s_learns();
    test_s2s_checkpoint();
    test_s2s_errors();
}
