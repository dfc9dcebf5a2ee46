/* tests/test_training.c - training: dense, embedding, losses, optimizers, the language model. */
#include "check.h"

typedef struct { rnn_dense d; float *x, *r, *y; int n; } dense_ctx;
static double dense_loss(void *p) {
    dense_ctx *c = (dense_ctx *)p;
    double s = 0;
    int i;
    rnn_dense_forward(&c->d, c->x, c->n, c->y);
    for (i = 0; i < c->n * c->d.out_size; i++) s += (double)c->y[i] * c->r[i];
    return s;
}

typedef struct { float *z; int *t; int n, v; float *d; int kind; float *tf; } loss_ctx;
static double loss_value(void *p) {
    loss_ctx *c = (loss_ctx *)p;
    float l = 0;
    if (c->kind == 0) rnn_loss_softmax_xent(c->z, c->t, c->n, c->v, -1, c->d, &l);
    else if (c->kind == 1) rnn_loss_bce_logits(c->z, c->tf, NULL, c->n, c->d, &l);
    else rnn_loss_mse(c->z, c->tf, c->n, c->d, &l);
    return l;
}

static void test_layers_losses(void) {
    rnn_rng rng;
    int i, ok = 1;
    double worst = 0;
    rnn_rng_seed(&rng, 21);
    { /* dense: every weight, bias and input */
        float w[4 * 5], b[4], gw[4 * 5] = {0}, gb[4] = {0}, x[3 * 5], r[3 * 4], y[3 * 4], dx[3 * 5];
        dense_ctx c;
        c.d.in_size = 5; c.d.out_size = 4; c.d.weight = w; c.d.bias = b; c.d.gweight = gw; c.d.gbias = gb;
        c.x = x; c.r = r; c.y = y; c.n = 3;
        for (i = 0; i < 20; i++) w[i] = frand(&rng, -1, 1);
        for (i = 0; i < 4; i++) b[i] = frand(&rng, -1, 1);
        for (i = 0; i < 15; i++) x[i] = frand(&rng, -1, 1);
        for (i = 0; i < 12; i++) r[i] = frand(&rng, -1, 1);
        dense_loss(&c);
        rnn_dense_backward(&c.d, x, 3, r, dx);
        fd_compare(dense_loss, &c, w, gw, 20, 1e-2f, 1e-4, 1e-3, &ok, &worst);
        fd_compare(dense_loss, &c, b, gb, 4, 1e-2f, 1e-4, 1e-3, &ok, &worst);
        fd_compare(dense_loss, &c, x, dx, 15, 1e-2f, 1e-4, 1e-3, &ok, &worst);
        check(ok, "gradcheck dense: weight, bias, input", worst);
    }
    { /* embedding: rows used get the sum of their gradients, others nothing */
        float w[6 * 3], g[6 * 3] = {0}, out[4 * 3], d[4 * 3];
        int toks[4] = {2, 5, 2, 0}, bad[2] = {1, 6};
        rnn_embedding e;
        e.vocab_size = 6; e.embed_size = 3; e.weight = w; e.grad = g; e.frozen = 0;
        for (i = 0; i < 18; i++) w[i] = (float)i;
        for (i = 0; i < 12; i++) d[i] = (float)(i + 1);
        ok = rnn_embedding_forward(&e, toks, 4, out) == RNN_OK && out[0] == 6 && out[3] == 15 && out[9] == 0;
        rnn_embedding_backward(&e, toks, 4, d);
        ok &= g[6] == 1 + 7 && g[8] == 3 + 9 && g[15] == 4 && g[0] == 10 && g[3] == 0 && g[12] == 0;
        ok &= rnn_embedding_forward(&e, bad, 2, out) == RNN_ERR_INVALID_ARGUMENT;
        e.frozen = 1;
        memset(g, 0, sizeof g);
        rnn_embedding_backward(&e, toks, 4, d);
        for (i = 0; i < 18; i++) ok &= g[i] == 0;
        check(ok, "embedding: lookup, sparse row gradients, frozen, bad token", 0);
    }
    { /* losses: value against double, gradient against differences */
        float z[4 * 7], d[4 * 7], tf[6], l = 0;
        int t[4] = {3, -1, 0, 6};
        loss_ctx c;
        double want = 0;
        for (i = 0; i < 28; i++) z[i] = frand(&rng, -3, 3);
        for (i = 0; i < 6; i++) tf[i] = rnn_rng_uniform(&rng);
        c.z = z; c.t = t; c.n = 4; c.v = 7; c.d = d; c.kind = 0; c.tf = tf;
        rnn_loss_softmax_xent(z, t, 4, 7, -1, d, &l);
        for (i = 0; i < 4; i++) {
            double s = 0;
            int j;
            if (t[i] < 0) continue;
            for (j = 0; j < 7; j++) s += exp(z[i * 7 + j]);
            want += (log(s) - z[i * 7 + t[i]]) / 3;
        }
        ok = fabs(l - want) < 1e-6 * (1 + fabs(want));
        worst = 0;
        {
            float dd[28];
            memcpy(dd, d, sizeof dd);
            fd_compare(loss_value, &c, z, dd, 28, 1e-2f, 2e-5, 1e-3, &ok, &worst);
            for (i = 7; i < 14; i++) ok &= dd[i] == 0.0f;   /* the ignored row */
        }
        check(ok, "softmax cross-entropy: value, gradient, ignore_index", worst);
        t[0] = 7;
        check(rnn_loss_softmax_xent(z, t, 4, 7, -1, d, &l) == RNN_ERR_INVALID_ARGUMENT,
              "softmax cross-entropy refuses a target outside the vocabulary", 0);
        c.n = 6; c.kind = 1; ok = 1; worst = 0;
        {
            float dd[6];
            double w2 = 0;
            rnn_loss_bce_logits(z, tf, NULL, 6, dd, &l);
            for (i = 0; i < 6; i++) w2 += (log1p(exp(-fabs(z[i]))) + (z[i] > 0 ? z[i] : 0) - z[i] * tf[i]) / 6;
            ok = fabs(l - w2) < 1e-6;
            fd_compare(loss_value, &c, z, dd, 6, 1e-2f, 2e-5, 1e-3, &ok, &worst);
            z[0] = 1000.0f; z[1] = -1000.0f;   /* stable far out */
            ok &= rnn_loss_bce_logits(z, tf, NULL, 6, dd, &l) == RNN_OK && l == l && l < 1e4;
        }
        check(ok, "BCE with logits: value, gradient, stable at +-1000", worst);
        c.kind = 2; ok = 1; worst = 0;
        {
            float dd[6];
            rnn_loss_mse(z + 2, tf, 4, dd, &l);
            c.z = z + 2; c.n = 4;
            fd_compare(loss_value, &c, z + 2, dd, 4, 1e-2f, 2e-5, 1e-3, &ok, &worst);
        }
        check(ok, "MSE: gradient", worst);
    }
}

static rnn_param *one_param(float *p, float *g, size_t n) {
    rnn_param *reg = NULL;
    rnn_param q;
    memset(&q, 0, sizeof q);
    strcpy(q.name, "p");
    q.value = p; q.grad = g; q.count = n; q.rows = (int)n;
    stbds_arrput(reg, q);
    return reg;
}

static void test_optimizers(void) {
    rnn_optimizer_config oc;
    rnn_optimizer *o;
    float p[2], g[2], norm = 0;
    rnn_param *reg = one_param(p, g, 1);
    int ok;
    /* Adam, two steps, worked by hand: m1 = .05, v1 = .00025 -> p = 0.9;
       m2 = .02, v2 = .00031225, m̂ = .02/.19, v̂ = .00031225/.001999 -> p = 0.8733663 */
    memset(&oc, 0, sizeof oc);
    oc.lr = 0.1f;
    rnn_optimizer_create(&o, &oc, reg);
    p[0] = 1.0f; g[0] = 0.5f;
    rnn_optimizer_step(o, reg, NULL);
    ok = fabs(p[0] - 0.9) < 1e-6;
    g[0] = -0.25f;
    rnn_optimizer_step(o, reg, NULL);
    check(ok && fabs(p[0] - 0.8733663) < 1e-6, "Adam: two steps worked by hand", fabs(p[0] - 0.8733663));
    rnn_optimizer_free(o);
    {   /* the vector path: 37 elements (two 16-lane blocks and a tail) against double,
           Adam with L2 (w = 1: the decay in the gradient), then AdamW (w = 0: decoupled) */
        float pv[37], gv[37];
        double pd[37], md[37], vd[37], worst[2] = {0, 0};
        rnn_param *rv = one_param(pv, gv, 37);
        int s2, q, w;
        for (w = 0; w < 2; w++) {
            double l2 = w == 0 ? 0.01 : 0, dwd = w == 0 ? 0 : 0.01;
            oc.kind = w == 0 ? RNN_ADAM : RNN_ADAMW;
            oc.weight_decay = 0.01f;
            rnn_optimizer_create(&o, &oc, rv);
            for (q = 0; q < 37; q++) { pv[q] = (float)(pd[q] = 0.1 * q - 1.5); md[q] = vd[q] = 0; }
            for (s2 = 1; s2 <= 3; s2++) {
                for (q = 0; q < 37; q++) {
                    double g;
                    gv[q] = (float)(0.3 * sin(q + 2.0 * s2));
                    g = gv[q] + l2 * (double)pv[q];
                    md[q] = 0.9 * md[q] + 0.1 * g; vd[q] = 0.999 * vd[q] + 0.001 * g * g;
                    pd[q] = pv[q] * (1 - 0.1 * dwd) -
                            0.1 * (md[q] / (1 - pow(0.9, s2))) / (sqrt(vd[q] / (1 - pow(0.999, s2))) + 1e-8);
                }
                rnn_optimizer_step(o, rv, NULL);
                for (q = 0; q < 37; q++) if (fabs(pv[q] - pd[q]) > worst[w]) worst[w] = fabs(pv[q] - pd[q]);
            }
            rnn_optimizer_free(o);
        }
        check(worst[0] < 2e-6, "Adam with L2 over 37 elements (the SIMD path) against double", worst[0]);
        check(worst[1] < 2e-6, "AdamW over 37 elements (the SIMD path) against double", worst[1]);
        stbds_arrfree(rv);
        oc.kind = RNN_ADAM;
        oc.weight_decay = 0;
    }
    /* SGD with momentum 0.9, g = 1 twice: buf 1 then 1.9 */
    oc.kind = RNN_SGD; oc.momentum = 0.9f;
    rnn_optimizer_create(&o, &oc, reg);
    p[0] = 1.0f; g[0] = 1.0f;
    rnn_optimizer_step(o, reg, NULL);
    rnn_optimizer_step(o, reg, NULL);
    check(fabs(p[0] - 0.71) < 1e-6, "SGD momentum: p = 1 - 0.1 - 0.19", fabs(p[0] - 0.71));
    rnn_optimizer_free(o);
    /* AdamW with a zero gradient only decays: p = 1 - 0.1·0.1 */
    oc.kind = RNN_ADAMW; oc.momentum = 0; oc.weight_decay = 0.1f;
    rnn_optimizer_create(&o, &oc, reg);
    p[0] = 1.0f; g[0] = 0.0f;
    rnn_optimizer_step(o, reg, NULL);
    check(fabs(p[0] - 0.99) < 1e-7, "AdamW: decoupled weight decay", fabs(p[0] - 0.99));
    rnn_optimizer_free(o);
    stbds_arrfree(reg);
    /* clipping: global norm 5 capped to 1; then clip by value */
    reg = one_param(p, g, 2);
    memset(&oc, 0, sizeof oc);
    oc.kind = RNN_SGD; oc.lr = 1.0f; oc.clip_norm = 1.0f;
    rnn_optimizer_create(&o, &oc, reg);
    p[0] = p[1] = 0.0f; g[0] = 3.0f; g[1] = 4.0f;
    rnn_optimizer_step(o, reg, &norm);
    ok = fabs(norm - 5.0f) < 1e-6 && fabs(p[0] + 0.6) < 1e-5 && fabs(p[1] + 0.8) < 1e-5;
    rnn_optimizer_free(o);
    oc.clip_norm = 0; oc.clip_value = 0.5f;
    rnn_optimizer_create(&o, &oc, reg);
    p[0] = p[1] = 0.0f; g[0] = 3.0f; g[1] = -0.25f;
    rnn_optimizer_step(o, reg, NULL);
    ok &= p[0] == -0.5f && p[1] == 0.25f;
    reg[0].frozen = 1;
    rnn_optimizer_step(o, reg, NULL);
    ok &= p[0] == -0.5f;
    reg[0].frozen = 0;
    g[0] = NAN;
    ok &= rnn_optimizer_step(o, reg, NULL) == RNN_ERR_INVALID_ARGUMENT && p[0] == -0.5f && strstr(o->error, "NaN") != NULL;
    check(ok, "clip by global norm, clip by value, frozen skipped, NaN refused", 0);
    rnn_optimizer_free(o);
    stbds_arrfree(reg);
}

typedef struct { rnn_lm *m; int *in, *tg, T, B; } lm_ctx;
static double lm_loss(void *p) {
    lm_ctx *c = (lm_ctx *)p;
    float l = 0;
    rnn_lm_reset_state(c->m);
    rnn_lm_train_step(c->m, NULL, c->in, c->tg, c->T, c->B, &l);
    return l;
}

/* Mean cross-entropy of seq[1..n] when rnn_lm_step is fed seq[0..n-1]. */
static double step_loss(rnn_lm *m, rnn_lm_state *st, const int *seq, int n) {
    double sum = 0;
    int i, j, V = m->cfg.vocab_size;
    for (i = 0; i < n; i++) {
        const float *lg = rnn_lm_step(m, st, seq[i]);
        double mx = lg[0], s = 0;
        for (j = 1; j < V; j++) mx = lg[j] > mx ? lg[j] : mx;
        for (j = 0; j < V; j++) s += exp(lg[j] - mx);
        sum += log(s) + mx - lg[seq[i + 1]];
    }
    return sum / n;
}

static void test_lm(void) {
    int cell, tab;
    /* every smooth cell (ReLU's kinks defeat differences this wide; the
       recurrent tests check it); a 4x3 window computes layer 0's input
       product, an 8x3 one looks it up in the gate table (V = 7 <= T·B/2) */
    for (cell = RNN_TANH; cell <= RNN_GRU_CHO; cell += cell == RNN_TANH ? 2 : 1)
    for (tab = 0; tab < 2; tab++) {
        rnn_lm_config lc;
        lm_ctx c;
        int in[8 * 3], tg[8 * 3], i, ok = 1;
        ptrdiff_t k;
        double worst = 0;
        char name[96];
        memset(&lc, 0, sizeof lc);
        lc.vocab_size = 7; lc.embed_size = 5; lc.hidden_size = 6; lc.num_layers = 2; lc.cell = (rnn_cell)cell;
        rnn_lm_create(&c.m, &lc, 3);
        for (i = 0; i < 24; i++) { in[i] = (i * 5 + 1) % 7; tg[i] = (i * 3 + 2) % 7; }
        tg[4] = -1;
        c.in = in; c.tg = tg; c.T = tab ? 8 : 4; c.B = 3;
        ok = (rnn__table_pays(c.m->rnn, c.m->cfg.vocab_size, c.T * c.B)) == tab;
        lm_loss(&c);
        for (k = 0; k < stbds_arrlen(c.m->params); k++) {
            rnn_param *p = &c.m->params[k];
            float *ana = (float *)malloc(p->count * sizeof(float));
            memcpy(ana, p->grad, p->count * sizeof(float));
            fd_compare(lm_loss, &c, p->value, ana, p->count, 1e-2f, 3e-5, 1e-2, &ok, &worst);
            lm_loss(&c);   /* grads back to the unperturbed point */
            free(ana);
        }
        sprintf(name, "gradcheck LM (%s, 2 layers%s): every parameter of the registry", cell_name((rnn_cell)cell),
                tab ? ", gate table" : "");
        check(ok, name, worst);
        rnn_lm_free(c.m);
    }
    { /* registry names, one-token path, errors */
        rnn_lm_config lc;
        rnn_lm *m;
        rnn_lm_state *st;
        int seq[9] = {1, 4, 2, 2, 0, 3, 1, 4, 2}, ok;
        double sum = 0;
        float ev = 0;
        long before;
        memset(&lc, 0, sizeof lc);
        lc.vocab_size = 5; lc.embed_size = 4; lc.hidden_size = 8;
        rnn_lm_create(&m, &lc, 9);
        ok = stbds_arrlen(m->params) == 11 && !strcmp(m->params[0].name, "embedding.weight") &&
             !strcmp(m->params[1].name, "rnn.weight_ih_l0") && !strcmp(m->params[8].name, "rnn.bias_hh_l1") &&
             !strcmp(m->params[9].name, "head.weight") && m->params[9].rows == 5 && m->params[9].cols == 8;
        check(ok, "LM registry: PyTorch names and shapes (embedding, rnn, head)", 0);
        rnn_lm_state_create(m, &st);
        before = g_allocs;
        sum = step_loss(m, st, seq, 8);
        ok = g_allocs == before;
        rnn_lm_eval(m, seq, seq + 1, 8, 1, &ev);
        check(ok && fabs(sum - ev) < 1e-5, "rnn_lm_step: same loss as rnn_lm_eval, no allocation",
              fabs(sum - ev));
        {   /* after a training step the state notices the new weights */
            rnn_optimizer_config oc;
            rnn_optimizer *o;
            memset(&oc, 0, sizeof oc);
            oc.lr = 0.1f;
            rnn_optimizer_create(&o, &oc, m->params);
            rnn_lm_train_step(m, o, seq, seq + 1, 8, 1, NULL);
            rnn_lm_state_reset(m, st);
            sum = step_loss(m, st, seq, 8);
            rnn_lm_eval(m, seq, seq + 1, 8, 1, &ev);
            check(fabs(sum - ev) < 1e-5, "rnn_lm_step after training: the state follows the new weights",
                  fabs(sum - ev));
            rnn_optimizer_free(o);
        }
        {   /* weights changed by hand: rnn_lm_weights_changed tells the states
               (row 2 of the head zeroed, its bias 7: logit 2 must be 7) */
            const float *lg;
            rnn_lm_state_reset(m, st);
            rnn_lm_step(m, st, 1);
            memset(m->head.weight + 2 * 8, 0, 8 * sizeof(float));
            m->head.bias[2] = 7.0f;
            rnn_lm_weights_changed(m);
            rnn_lm_state_reset(m, st);
            lg = rnn_lm_step(m, st, 1);
            check(lg[2] == 7.0f, "rnn_lm_weights_changed: states see a hand edit", fabs(lg[2] - 7.0));
        }
        seq[3] = 5;
        check(rnn_lm_step(m, st, 5) == NULL && rnn_lm_eval(m, seq, seq + 1, 8, 1, &ev) == RNN_ERR_INVALID_ARGUMENT &&
                  strstr(m->error, "input 5 at position 3") != NULL,
              "a token outside the vocabulary is refused, with its position", 0);
        rnn_lm_state_free(st);
        rnn_lm_free(m);
    }
    { /* learns a repeating string; same seed, bit-identical losses */
        const char *text = "the cat sat on the mat. ";
        rnn_vocab v;
        int ids[24], in[16 * 4], tg[16 * 4], step, i;
        size_t n = 0;
        float losses[2][50], l = 1e9f;
        rnn_batcher bt;
        rnn_lm_config lc;
        rnn_optimizer_config oc;
        int run;
        rnn_vocab_from_text(&v, text, strlen(text), NULL);
        rnn_vocab_encode(&v, text, strlen(text), ids, 24, &n, NULL);
        memset(&lc, 0, sizeof lc);
        lc.vocab_size = rnn_vocab_size(&v); lc.embed_size = 8; lc.hidden_size = 32; lc.num_layers = 1;
        memset(&oc, 0, sizeof oc);
        oc.lr = 0.02f; oc.clip_norm = 5.0f;
        for (run = 0; run < 2; run++) {
            rnn_lm *m;
            rnn_optimizer *o;
            int stream[24 * 8];
            for (i = 0; i < 24 * 8; i++) stream[i] = ids[i % 24];
            rnn_lm_create(&m, &lc, 5);
            rnn_optimizer_create(&o, &oc, m->params);
            rnn_batcher_init(&bt, stream, 24 * 8, 16, 4);
            for (step = 0; step < (run ? 50 : 300); step++) {
                if (rnn_batcher_next(&bt, in, tg, NULL)) rnn_lm_reset_state(m);
                rnn_lm_train_step(m, o, in, tg, 16, 4, &l);
                if (step < 50) losses[run][step] = l;
            }
            if (run == 0) check(l < 0.05f, "a tiny LM learns a repeating string (loss after 300 steps)", l);
            rnn_optimizer_free(o);
            rnn_lm_free(m);
        }
        check(memcmp(losses[0], losses[1], sizeof losses[0]) == 0, "same seed: bit-identical losses over 50 steps", 0);
        rnn_vocab_free(&v);
    }
}

/* RMSprop against torch.optim.RMSprop (tests/data/optim.bin, from
   tools/torch_optim_fixtures.py), and a checkpoint that resumes it. */
static void test_rmsprop(void) {
    fixture f;
    int k;
    if (!fixture_load(&f, "tests/data/optim.bin")) {
        check(0, "optimizer fixture tests/data/optim.bin loads", 0);
        return;
    }
    for (k = 0;; k++) {
        char name[160];
        float *cfg, *p0, w[7], g[7];
        rnn_param *reg = NULL;
        rnn_optimizer_config oc;
        rnn_optimizer *opt = NULL;
        double worst = 0;
        int s;
        sprintf(name, "%d.config", k);
        if (!(cfg = fixture_get(&f, name, NULL))) break;
        sprintf(name, "%d.p0", k);
        p0 = fixture_get(&f, name, NULL);
        memcpy(w, p0, sizeof w);
        rnn__param_add(&reg, "w", w, g, 7, 0, 0);
        memset(&oc, 0, sizeof oc);
        oc.kind = RNN_RMSPROP; oc.lr = cfg[0]; oc.alpha = cfg[1]; oc.eps = cfg[2]; oc.weight_decay = cfg[3];
        oc.momentum = cfg[4]; oc.centered = cfg[5] != 0;
        if (rnn_optimizer_create(&opt, &oc, reg) != RNN_OK) worst = 1e9;
        for (s = 1; s <= 5 && opt; s++) {
            float *gs;
            sprintf(name, "%d.g%d", k, s);
            gs = fixture_get(&f, name, NULL);
            memcpy(g, gs, sizeof g);
            free(gs);
            rnn_optimizer_step(opt, reg, NULL);
            {
                char what[16];
                snprintf(what, sizeof what, "p%d", s);
                fixture_compare(&f, k, what, w, 7, 0, &worst);
            }
        }
        snprintf(name, sizeof name, "RMSprop = torch.optim.RMSprop #%d (alpha %g%s%s%s), 5 steps", k, cfg[1],
                cfg[4] > 0 ? ", momentum" : "", cfg[5] != 0 ? ", centered" : "", cfg[3] > 0 ? ", weight decay" : "");
        check(worst < 2e-6, name, worst);
        rnn_optimizer_free(opt);
        arrfree(reg);
        free(cfg); free(p0);
    }
    free(f.buf);
    { /* an LM trained with centered RMSprop and momentum resumes from its file bit for bit */
        rnn_lm_config lc;
        rnn_optimizer_config oc;
        rnn_lm *m = NULL, *m2 = NULL;
        rnn_optimizer *opt = NULL, *opt2 = NULL;
        int in[8 * 4], tg[8 * 4], i, ok = 1;
        float l1 = 0, l2 = 0;
        char err[200];
        memset(&lc, 0, sizeof lc);
        lc.vocab_size = 11; lc.embed_size = 5; lc.hidden_size = 6; lc.num_layers = 1;
        memset(&oc, 0, sizeof oc);
        oc.kind = RNN_RMSPROP; oc.centered = 1; oc.momentum = 0.5f; oc.lr = 1e-3f;
        for (i = 0; i < 32; i++) { in[i] = (i * 7) % 11; tg[i] = (i * 3 + 1) % 11; }
        rnn_lm_create(&m, &lc, 2);
        rnn_optimizer_create(&opt, &oc, m->params);
        for (i = 0; i < 3; i++) rnn_lm_train_step(m, opt, in, tg, 8, 4, NULL);
        ok &= rnn_lm_save(m, opt, "build/test-rmsprop.safetensors") == RNN_OK;
        ok &= rnn_lm_load(&m2, &opt2, "build/test-rmsprop.safetensors", err, sizeof err) == RNN_OK && opt2 &&
              opt2->cfg.kind == RNN_RMSPROP && opt2->cfg.centered == 1 && opt2->a != NULL;
        if (ok) {
            rnn_lm_train_step(m, opt, in, tg, 8, 4, &l1);
            rnn_lm_train_step(m2, opt2, in, tg, 8, 4, &l2);
            rnn_lm_train_step(m, opt, in, tg, 8, 4, &l1);
            rnn_lm_train_step(m2, opt2, in, tg, 8, 4, &l2);
            ok &= l1 == l2 && memcmp(m->params[1].value, m2->params[1].value, m->params[1].count * sizeof(float)) == 0;
        }
        check(ok, "RMSprop (centered, momentum) resumes from a checkpoint bit for bit", 0);
        rnn_lm_free(m); rnn_lm_free(m2); rnn_optimizer_free(opt); rnn_optimizer_free(opt2);
        remove("build/test-rmsprop.safetensors");
    }
}

static void test_training(void) {
    test_layers_losses();
    test_optimizers();
    test_lm();
    test_rmsprop();
}
