/* tests/test_classifier.c - the classifier: finite-difference gradients of
   the whole model for every encoder and pooling, learning a counting task,
   checkpoints that resume exactly, one-text inference, bad input, PyTorch
   parity through files PyTorch wrote. */
#include "check.h"

typedef struct {
    rnn_clf *c;
    const int *tok, *len, *lab;
    const float *tgt;
    int T, B;
} clf_ctx;

/* The loss without touching the gradients (no dropout in these models). */
static double clf_loss(void *p) {
    clf_ctx *x = (clf_ctx *)p;
    rnn__clf_plan pl;
    float l = 0;
    int C = x->c->cfg.num_classes;
    if (rnn__clf_forward(x->c, x->tok, x->len, x->T, x->B, 0, &pl) != RNN_OK) return NAN;
    if (x->c->cfg.multi_label) rnn_loss_bce_logits(pl.logits, x->tgt, NULL, x->B * C, pl.logits, &l);
    else rnn_loss_softmax_xent(pl.logits, x->lab, x->B, C, -1, pl.logits, &l);
    return l;
}

static void test_clf_gradcheck(void) {
    /* The Transformer cases with two layers use GELU: a ReLU kink within
       the step of the central difference makes it jump (ReLU is checked in
       the one-layer cases, and against PyTorch in tests/test_attention.c). */
    static const struct { const char *name; int transformer, cell, bidir, layers, pool, learned, norm_first, multi, sa, dense; } cases[] = {
        {"bi-LSTM x2, attention pooling", 0, RNN_LSTM, 1, 2, RNN_POOL_ATTENTION, 0, 0, 0, 0, 0},
        {"bi-GRU, last state", 0, RNN_GRU, 1, 1, RNN_POOL_LAST, 0, 0, 0, 0, 0},
        {"tanh RNN, mean", 0, RNN_TANH, 0, 1, RNN_POOL_MEAN, 0, 0, 0, 0, 0},
        {"LSTM, max, multi-label", 0, RNN_LSTM, 0, 1, RNN_POOL_MAX, 0, 0, 1, 0, 0},
        {"Transformer post-norm x2 GELU, sinusoid, attention", 1, 0, 0, 2, RNN_POOL_ATTENTION, 0, 0, 0, 0, 0},
        {"Transformer pre-norm, learned positions, mean, multi-label", 1, 0, 0, 1, RNN_POOL_MEAN, 1, 1, 1, 0, 0},
        {"Transformer post-norm, last", 1, 0, 0, 1, RNN_POOL_LAST, 0, 0, 0, 0, 0},
        {"the notes' self-attention, mean, ReLU dense", 0, 0, 0, 1, RNN_POOL_MEAN, 0, 0, 0, 1, 5},
        {"self-attention, attention pooling, multi-label", 0, 0, 0, 1, RNN_POOL_ATTENTION, 0, 0, 1, 1, 0},
        {"GRU, max, ReLU dense", 0, RNN_GRU, 0, 1, RNN_POOL_MAX, 0, 0, 0, 0, 4},
    };
    static const int tok[5 * 3] = {1, 2, 3, 4, 0, 5, 6, 9, 2, 3, 9, 1, 2, 9, 6};   /* 9: padding */
    static const int len[3] = {5, 2, 4}, lab[3] = {2, 0, 1};
    static const float tgt[3 * 3] = {1, 0, 1, 0, 0, 1, 1, 1, 0};
    int k;
    for (k = 0; k < (int)(sizeof cases / sizeof cases[0]); k++) {
        rnn_clf_config cfg;
        clf_ctx x;
        rnn_rng rng;
        ptrdiff_t i;
        float loss = 0;
        int ok = 1;
        double worst = 0;
        char name[128];
        memset(&cfg, 0, sizeof cfg);
        cfg.vocab_size = 7; cfg.num_classes = 3; cfg.embed_size = 6; cfg.hidden_size = 4; cfg.max_len = 5;
        cfg.transformer = cases[k].transformer; cfg.cell = (rnn_cell)cases[k].cell; cfg.bidirectional = cases[k].bidir;
        cfg.num_layers = cases[k].layers; cfg.pool = (rnn_pool)cases[k].pool; cfg.heads = 2; cfg.ff_size = 5;
        cfg.learned_positions = cases[k].learned; cfg.norm_first = cases[k].norm_first; cfg.multi_label = cases[k].multi;
        cfg.gelu = cfg.num_layers > 1;
        cfg.self_attention = cases[k].sa; cfg.attention_size = 5; cfg.dense_size = cases[k].dense;
        memset(&x, 0, sizeof x);
        x.tok = tok; x.len = len; x.lab = lab; x.tgt = tgt; x.T = 5; x.B = 3;
        if (rnn_clf_create(&x.c, &cfg, 11 + k) != RNN_OK) { check(0, cases[k].name, 0); continue; }
        rnn_rng_seed(&rng, 5 + k);
        for (i = 0; i < arrlen(x.c->params); i++) {   /* biases, norms and the query count too */
            size_t j;
            for (j = 0; j < x.c->params[i].count; j++) x.c->params[i].value[j] += 0.2f * rnn_rng_normal(&rng);
        }
        ok = rnn_clf_train_step(x.c, NULL, tok, len, 5, 3, lab, tgt, &loss) == RNN_OK && fabs(loss - clf_loss(&x)) < 1e-6;
        for (i = 0; i < arrlen(x.c->params); i++)
            fd_compare(clf_loss, &x, x.c->params[i].value, x.c->params[i].grad, x.c->params[i].count, 1e-2f, 2e-4, 5e-3,
                       &ok, &worst);
        snprintf(name, sizeof name, "gradcheck classifier: %s (%d tensors)", cases[k].name, (int)arrlen(x.c->params));
        check(ok, name, worst);
        rnn_clf_free(x.c);
    }
}

/* A counting task: which of tokens 1, 2, 3 occurs most often in a sequence
   of 4..12 tokens over 1..6 (ties broken towards the smaller). */
static int clf_task(rnn_rng *rng, int *tok, int *len, int *lab, int T, int B) {
    int b, t;
    for (b = 0; b < B; b++) {
        int cnt[7] = {0}, best = 1;
        len[b] = 4 + (int)(rnn_rng_uniform(rng) * (T - 3));
        if (len[b] > T) len[b] = T;
        for (t = 0; t < T; t++) {
            int v = 1 + (int)(rnn_rng_uniform(rng) * 6);
            tok[t * B + b] = t < len[b] ? v : 0;
            if (t < len[b]) cnt[v]++;
        }
        if (cnt[2] > cnt[best]) best = 2;
        if (cnt[3] > cnt[best]) best = 3;
        lab[b] = best - 1;
    }
    return 0;
}

static double clf_accuracy(rnn_clf *c, rnn_rng *rng) {
    int tok[12 * 200], len[200], lab[200], b, right = 0;
    float probs[200 * 3];
    clf_task(rng, tok, len, lab, 12, 200);
    if (rnn_clf_predict(c, tok, len, 12, 200, probs) != RNN_OK) return 0;
    for (b = 0; b < 200; b++) {
        const float *p = probs + b * 3;
        int arg = p[1] > p[0] ? 1 : 0;
        if (p[2] > p[arg]) arg = 2;
        right += arg == lab[b];
    }
    return right / 200.0;
}

static void test_clf_learns(void) {
    int k;
    for (k = 0; k < 2; k++) {
        rnn_clf_config cfg;
        rnn_optimizer_config oc;
        rnn_optimizer *opt = NULL;
        rnn_clf *c = NULL;
        rnn_rng rng;
        int tok[12 * 32], len[32], lab[32], step;
        double acc;
        char name[96];
        memset(&cfg, 0, sizeof cfg);
        cfg.vocab_size = 7; cfg.num_classes = 3; cfg.embed_size = 16; cfg.hidden_size = 24; cfg.max_len = 12;
        cfg.transformer = k; cfg.cell = RNN_GRU; cfg.bidirectional = 1; cfg.heads = 2; cfg.pool = RNN_POOL_ATTENTION;
        memset(&oc, 0, sizeof oc);
        oc.lr = 1e-2f; oc.clip_norm = 1;
        rnn_clf_create(&c, &cfg, 3);
        rnn_optimizer_create(&opt, &oc, c->params);
        rnn_rng_seed(&rng, 99);
        for (step = 0; step < 400; step++) {
            clf_task(&rng, tok, len, lab, 12, 32);
            rnn_clf_train_step(c, opt, tok, len, 12, 32, lab, NULL, NULL);
        }
        acc = clf_accuracy(c, &rng);
        snprintf(name, sizeof name, "classifier learns to count (%s): held-out accuracy %.2f > 0.9",
                 k ? "Transformer" : "bi-GRU", acc);
        check(acc > 0.9, name, 1 - acc);
        rnn_optimizer_free(opt);
        rnn_clf_free(c);
    }
}

static void test_clf_checkpoint(void) {
    rnn_clf_config cfg;
    rnn_optimizer_config oc;
    rnn_optimizer *opt = NULL, *opt2 = NULL;
    rnn_clf *c = NULL, *d = NULL;
    rnn_vocab v;
    rnn_rng rng;
    const char *text = "abcdefgh ij", *names[3] = {"one", "two", "three \"q\""};
    const char *path = "build/test-clf.safetensors";
    int tok[12 * 8], len[8], lab[8], step, ok = 1, k;
    float p1[8 * 3], p2[8 * 3], l1 = 0, l2 = 0;
    char err[256];
    memset(&cfg, 0, sizeof cfg);
    rnn_vocab_from_text(&v, text, strlen(text), NULL);
    cfg.vocab_size = rnn_vocab_size(&v); cfg.num_classes = 3; cfg.embed_size = 8; cfg.hidden_size = 8;
    cfg.max_len = 12; cfg.transformer = 1; cfg.learned_positions = 1; cfg.norm_first = 1; cfg.dropout = 0.1f;
    memset(&oc, 0, sizeof oc);
    rnn_clf_create(&c, &cfg, 8);
    rnn_clf_set_vocab(c, &v);
    rnn_clf_set_labels(c, names);
    rnn_optimizer_create(&opt, &oc, c->params);
    rnn_rng_seed(&rng, 4);
    for (step = 0; step < 5; step++) {
        clf_task(&rng, tok, len, lab, 12, 8);
        rnn_clf_train_step(c, opt, tok, len, 12, 8, lab, NULL, NULL);
    }
    ok &= rnn_clf_save(c, opt, path) == RNN_OK;
    ok &= rnn_clf_load(&d, &opt2, path, err, sizeof err) == RNN_OK && opt2 != NULL;
    if (!ok) { printf("       %s\n", err); check(0, "classifier checkpoint loads", 0); return; }
    rnn_clf_predict(c, tok, len, 12, 8, p1);
    rnn_clf_predict(d, tok, len, 12, 8, p2);
    ok &= memcmp(p1, p2, sizeof p1) == 0;
    ok &= d->labels && !strcmp(d->labels[2], names[2]) && d->vocab && rnn_vocab_size(d->vocab) == cfg.vocab_size;
    clf_task(&rng, tok, len, lab, 12, 8);   /* the next step, dropout included, is the same step */
    rnn_clf_train_step(c, opt, tok, len, 12, 8, lab, NULL, &l1);
    rnn_clf_train_step(d, opt2, tok, len, 12, 8, lab, NULL, &l2);
    ok &= l1 == l2;
    for (k = 0; k < (int)arrlen(c->params); k++)
        ok &= memcmp(c->params[k].value, d->params[k].value, c->params[k].count * sizeof(float)) == 0;
    check(ok, "classifier checkpoint: same predictions, labels, vocabulary; training resumes bit for bit", 0);
    rnn_clf_free(d); rnn_optimizer_free(opt2);
    { /* a language model's file is not a classifier */
        rnn_lm_config lc;
        rnn_lm *m = NULL;
        memset(&lc, 0, sizeof lc);
        lc.vocab_size = 5; lc.hidden_size = 4; lc.embed_size = 3; lc.num_layers = 1;
        rnn_lm_create(&m, &lc, 1);
        rnn_lm_save(m, NULL, path);
        ok = rnn_clf_load(&d, NULL, path, err, sizeof err) == RNN_ERR_METADATA && d == NULL && strstr(err, "not a classifier");
        check(ok, "classifier load refuses a language model's file, naming why", 0);
        rnn_lm_free(m);
    }
    { /* one text: answers, errors with messages, no allocation */
        float probs[3];
        long before;
        char big[40];
        memset(big, 'a', sizeof big);
        ok = rnn_clf_classify(c, "abc def ghi", 11, probs) == RNN_OK && fabs(probs[0] + probs[1] + probs[2] - 1) < 1e-5;
        ok &= rnn_clf_classify(c, "", 0, probs) == RNN_ERR_INVALID_ARGUMENT && said(c->error, "empty");
        ok &= rnn_clf_classify(c, big, 13, probs) == RNN_ERR_INVALID_ARGUMENT && said(c->error, "13 characters");
        ok &= rnn_clf_classify(c, "abz", 3, probs) == RNN_ERR_INVALID_ARGUMENT && strstr(c->error, "\"z\"") &&
              said(c->error, "byte 2");
        ok &= rnn_clf_classify(c, "ab\xff", 3, probs) == RNN_ERR_FORMAT && said(c->error, "UTF-8 at byte 2");
        rnn_clf_classify(c, big, 12, probs);
        before = g_allocs;
        ok &= rnn_clf_classify(c, "hij", 3, probs) == RNN_OK && rnn_clf_classify(c, big, 12, probs) == RNN_OK;
        check(ok && g_allocs == before,
              "classify one text: probabilities; empty, too long, unknown character, bad UTF-8 named; no allocation",
              (double)(g_allocs - before));
    }
    { /* bad batches */
        int t2[2 * 2] = {1, 2, 3, 40}, l2b[2] = {2, 1}, l3[2] = {2, 3}, lb[2] = {0, 3};
        ok = rnn_clf_train_step(c, NULL, t2, l2b, 2, 2, lab, NULL, NULL) == RNN_OK;   /* 40 is padding */
        ok &= rnn_clf_train_step(c, NULL, t2, NULL, 2, 2, lab, NULL, NULL) == RNN_ERR_INVALID_ARGUMENT &&
              said(c->error, "token 40 at position 1 of sequence 1");
        ok &= rnn_clf_train_step(c, NULL, t2, l3, 2, 2, lab, NULL, NULL) == RNN_ERR_INVALID_ARGUMENT &&
              said(c->error, "lengths[1] = 3");
        ok &= rnn_clf_train_step(c, NULL, t2, l2b, 2, 2, lb, NULL, NULL) == RNN_ERR_INVALID_ARGUMENT &&
              said(c->error, "label 3 of sequence 1");
        ok &= rnn_clf_predict(c, tok, NULL, 13, 1, p1) == RNN_ERR_INVALID_ARGUMENT && said(c->error, "max_len 12");
        cfg.heads = 3;
        ok &= rnn_clf_create(&d, &cfg, 1) == RNN_ERR_INVALID_ARGUMENT && d == NULL;
        check(ok, "classifier refuses bad tokens, lengths, labels, sizes with a message; padding may hold anything", 0);
    }
    rnn_optimizer_free(opt);
    rnn_clf_free(c);
    rnn_vocab_free(&v);
    remove(path);
}

/* Files PyTorch wrote (tools/torch_clf_fixtures.py): rnn_clf_load reads
   them by name, and gives PyTorch's probabilities, loss and every gradient. */
static void test_clf_torch(void) {
    /* the first four were written before the self-attention fields existed:
       their files lack those keys, which load as 0 */
    static const char *tags[] = {"gru_attention", "lstm_max_multi", "tf_last", "tf_prenorm_mean", "selfattn_mean_dense"};
    int k;
    for (k = 0; k < 5; k++) {
        char path[96], err[256], name[128];
        rnn_clf *c = NULL;
        rnn_st_file f;
        float tokf[21], lenf[3], labf[3], tg[12], probs[12], want[12], wloss[1], loss = 0;
        int tok[21], len[3], lab[3], i, dims[2], C;
        double wf = 0, wb = 0;
        snprintf(path, sizeof path, "tests/data/pt_clf_%s.safetensors", tags[k]);
        if (rnn_clf_load(&c, NULL, path, err, sizeof err) != RNN_OK || rnn_st_open(&f, path) != RNN_OK) {
            printf("       %s: %s\n", path, err);
            check(0, "PyTorch classifier file loads", 0);
            rnn_clf_free(c);
            continue;
        }
        C = c->cfg.num_classes;
        dims[0] = 7; dims[1] = 3;
        rnn_st_read(&f, "test.tokens", 2, dims, tokf);
        dims[0] = 3;
        rnn_st_read(&f, "test.lengths", 1, dims, lenf);
        dims[0] = 3; dims[1] = C;
        rnn_st_read(&f, "test.probs", 2, dims, want);
        if (c->cfg.multi_label) rnn_st_read(&f, "test.targets", 2, dims, tg);
        else { dims[0] = 3; rnn_st_read(&f, "test.labels", 1, dims, labf); }
        dims[0] = 1;
        rnn_st_read(&f, "test.loss", 1, dims, wloss);
        for (i = 0; i < 21; i++) tok[i] = (int)tokf[i];
        for (i = 0; i < 3; i++) { len[i] = (int)lenf[i]; lab[i] = (int)labf[i]; }
        if (rnn_clf_predict(c, tok, len, 7, 3, probs) != RNN_OK) wf = 1e9;
        else wf = worst_err(probs, want, (size_t)3 * C);
        if (rnn_clf_train_step(c, NULL, tok, len, 7, 3, lab, tg, &loss) != RNN_OK) wb = 1e9;
        else wb = fabs(loss - wloss[0]);
        {
            double eg = fixture_grads(&f, c->params);
            if (!(eg <= wb)) wb = eg;
        }
        snprintf(name, sizeof name, "classifier = PyTorch (%s): probabilities", tags[k]);
        check(wf < 1e-5, name, wf);
        snprintf(name, sizeof name, "classifier = PyTorch (%s): loss and %d gradients", tags[k], (int)arrlen(c->params));
        check(wb < 1e-5, name, wb);
        rnn_st_close(&f);
        rnn_clf_free(c);
    }
}

/* A classifier reading words: classify cuts the text as the vocabulary
   does, keeps the last max_len words, allocates nothing; the words travel
   in the checkpoint. */
static void test_clf_words(void) {
    static const char *texts[] = {"the cat sat on the mat", "a dog ran in the park", "the cat and the dog"};
    const char *path = "build/test_clf_words.safetensors";
    size_t lens[3];
    rnn_words w;
    rnn_words_config wc;
    rnn_clf_config cfg;
    rnn_clf *c = NULL, *c2 = NULL;
    float p1[2], p2[2], p3[2];
    int ids[4], four = 4, ok, i;
    size_t n = 0;
    long before;
    char err[200];
    for (i = 0; i < 3; i++) lens[i] = strlen(texts[i]);
    memset(&wc, 0, sizeof wc);
    wc.punct = RNN_PUNCT_SPLIT;
    ok = rnn_words_build(&w, &wc, texts, lens, 3) == RNN_OK;
    memset(&cfg, 0, sizeof cfg);
    cfg.vocab_size = rnn_words_size(&w); cfg.num_classes = 2; cfg.embed_size = 8; cfg.hidden_size = 8; cfg.max_len = 4;
    ok &= rnn_clf_create(&c, &cfg, 3) == RNN_OK && rnn_clf_set_words(c, &w) == RNN_OK;
    ok &= rnn_clf_classify(c, "The CAT, sat on a zebra", 23, p1) == RNN_OK;   /* 6 words: the last 4 count */
    ok &= rnn_words_encode(&w, "sat on a zebra", 14, ids, 4, &n, NULL) == RNN_OK && n == 4 && ids[3] == RNN_UNK;
    ok &= rnn_clf_predict(c, ids, &four, 4, 1, p2) == RNN_OK && p1[0] == p2[0] && p1[1] == p2[1];
    before = g_allocs;
    ok &= rnn_clf_classify(c, "the dog", 7, p3) == RNN_OK && rnn_clf_classify(c, "The CAT, sat on a zebra", 23, p3) == RNN_OK &&
          g_allocs == before && p3[0] == p1[0];
    ok &= rnn_clf_classify(c, " \t ", 3, p3) == RNN_ERR_INVALID_ARGUMENT && said(c->error, "no words");
    ok &= rnn_params_freeze(c->params, "embedding.weight", 1) == RNN_OK;   /* as pretrained vectors would be */
    ok &= rnn_clf_save(c, NULL, path) == RNN_OK && rnn_clf_load(&c2, NULL, path, err, sizeof err) == RNN_OK && c2->words &&
          !c2->vocab && rnn_words_size(c2->words) == rnn_words_size(&w) && c2->words->cfg.punct == RNN_PUNCT_SPLIT &&
          c2->params[0].frozen && c2->embedding.frozen && !c2->params[1].frozen;
    for (i = 0; ok && i < rnn_words_size(&w); i++) ok &= !strcmp(c2->words->words[i], w.words[i]);
    ok &= c2 && rnn_clf_classify(c2, "The CAT, sat on a zebra", 23, p3) == RNN_OK && p3[0] == p1[0] && p3[1] == p1[1];
    ok &= rnn_clf_set_words(c, NULL) == RNN_ERR_INVALID_ARGUMENT && said(c->error, "vocab_size");
    if (ok) {   /* the frozen table stays as it is through a training step after the load */
        rnn_optimizer_config oc;
        rnn_optimizer *opt = NULL;
        float *keep = (float *)malloc(c2->params[0].count * sizeof(float));
        int tok[2] = {4, 5}, len1 = 2, lab1 = 1;
        memset(&oc, 0, sizeof oc);
        memcpy(keep, c2->params[0].value, c2->params[0].count * sizeof(float));
        ok &= rnn_optimizer_create(&opt, &oc, c2->params) == RNN_OK &&
              rnn_clf_train_step(c2, opt, tok, &len1, 2, 1, &lab1, NULL, NULL) == RNN_OK &&
              !memcmp(keep, c2->params[0].value, c2->params[0].count * sizeof(float));
        rnn_optimizer_free(opt);
        free(keep);
    }
    check(ok, "classifier by words: last max_len words, <unk>, no allocation, words and frozen tables saved and loaded", 0);
    rnn_clf_free(c);
    rnn_clf_free(c2);
    rnn_words_free(&w);
    remove(path);
}

static void test_classifier(void) {
    test_clf_words();
    test_clf_torch();
    test_clf_gradcheck();
    test_clf_learns();
    test_clf_checkpoint();
}
