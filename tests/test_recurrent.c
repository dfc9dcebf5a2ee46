/* tests/test_recurrent.c - recurrent layers: PyTorch parity, gradient checks, one-step inference. */
#include "check.h"

static void test_recurrent_parity(void) {
    fixture f;
    int k;
    if (!fixture_load(&f, "tests/data/recurrent.bin")) {
        check(0, "parity: tests/data/recurrent.bin loads (run from the repository root)", 0);
        free(f.buf);
        return;
    }
    for (k = 0;; k++) {
        char name[96], what[128];
        size_t n;
        float *cfgv, *lenv, *x, *h0, *c0, *dy, *dhn, *dcn;
        rnn_recurrent_config cfg;
        rnn_recurrent *r = NULL;
        int T, B, L, D, H, i, lens[16];
        double wf = 0, wb = 0;
        float *y, *hn, *cn, *dx, *dh0, *dc0;
        sprintf(name, "%d.config", k);
        if (!(cfgv = fixture_get(&f, name, &n))) break;
        memset(&cfg, 0, sizeof cfg);
        cfg.cell = (rnn_cell)(RNN_TANH + (int)cfgv[0]);   /* the file says 0 tanh, 1 relu, 2 lstm, 3 gru */
        cfg.input_size = (int)cfgv[1]; cfg.hidden_size = H = (int)cfgv[2];
        cfg.num_layers = L = (int)cfgv[3]; cfg.bidirectional = (int)cfgv[4];
        T = (int)cfgv[5]; B = (int)cfgv[6]; D = cfg.bidirectional ? 2 : 1;
        lenv = NULL;
        if (cfgv[7] != 0.0f) {
            sprintf(name, "%d.lengths", k);
            lenv = fixture_get(&f, name, &n);
            for (i = 0; i < B; i++) lens[i] = (int)lenv[i];
        }
        if (rnn_recurrent_create(&r, &cfg, 1) != RNN_OK) { check(0, "parity: create", 0); break; }
        fixture_params(&f, k, r, 0, &wf);
#define FX(var, what) (sprintf(name, "%d." what, k), var = fixture_get(&f, name, NULL))
        FX(x, "x"); FX(h0, "h0"); FX(c0, "c0"); FX(dy, "dy"); FX(dhn, "dhn"); FX(dcn, "dcn");
        y = (float *)calloc((size_t)T * B * D * H, sizeof(float));
        hn = (float *)calloc((size_t)L * D * B * H, sizeof(float));
        cn = (float *)calloc((size_t)L * D * B * H, sizeof(float));
        dx = (float *)calloc((size_t)T * B * cfg.input_size, sizeof(float));
        dh0 = (float *)calloc((size_t)L * D * B * H, sizeof(float));
        dc0 = (float *)calloc((size_t)L * D * B * H, sizeof(float));
        if (rnn_recurrent_forward(r, x, T, B, lenv ? lens : NULL, h0, c0, y, hn, cn, 1, NULL) != RNN_OK) wf = 1e9;
        {
            size_t ns = (size_t)L * D * B * H;
            fixture_compare(&f, k, "y", y, (size_t)T * B * D * H, 0, &wf);
            fixture_compare(&f, k, "hn", hn, ns, 0, &wf);
            fixture_compare(&f, k, "cn", cn, ns, cfg.cell != RNN_LSTM, &wf);
            rnn_recurrent_zero_grad(r);
            if (rnn_recurrent_backward(r, dy, dhn, dcn, dx, dh0, dc0) != RNN_OK) wb = 1e9;
            fixture_compare(&f, k, "dx", dx, (size_t)T * B * cfg.input_size, 0, &wb);
            fixture_compare(&f, k, "dh0", dh0, ns, 0, &wb);
            fixture_compare(&f, k, "dc0", dc0, ns, cfg.cell != RNN_LSTM, &wb);
        }
        fixture_params(&f, k, r, 1, &wb);
#undef FX
        sprintf(what, "parity vs PyTorch: %s L=%d %s T=%d B=%d H=%d%s, forward", cell_name(cfg.cell), L,
                D == 2 ? "bidir" : "uni", T, B, H, lenv ? " padded" : "");
        check(wf <= 1e-5, what, wf);
        sprintf(what + strlen(what) - strlen("forward"), "all gradients");
        check(wb <= 1e-5, what, wb);
        free(cfgv); free(lenv); free(x); free(h0); free(c0); free(dy); free(dhn); free(dcn);
        free(y); free(hn); free(cn); free(dx); free(dh0); free(dc0);
        rnn_recurrent_free(r);
    }
    check(k >= 12, "parity: all 12 PyTorch cases read", 12 - k);
    free(f.buf);
}

/* The loss the gradient checks differentiate: Σ y·R1 + Σ hn·R2 + Σ cn·R3,
   in double; the forward is re-seeded each time so dropout masks repeat. */
typedef struct {
    rnn_recurrent *r;
    int T, B, *lens;
    float *x, *h0, *c0, *r1, *r2, *r3, *y, *hn, *cn;
} gc_case;

static double gc_loss(gc_case *g) {
    rnn_rng rng;
    int L = g->r->cfg.num_layers, D = g->r->dirs, H = g->r->cfg.hidden_size, i;
    double s = 0;
    rnn_rng_seed(&rng, 99);
    rnn_recurrent_forward(g->r, g->x, g->T, g->B, g->lens, g->h0, g->c0, g->y, g->hn, g->cn, 1, &rng);
    for (i = 0; i < g->T * g->B * D * H; i++) s += (double)g->y[i] * g->r1[i];
    for (i = 0; i < L * D * g->B * H; i++) {
        s += (double)g->hn[i] * g->r2[i];
        if (g->r->cfg.cell == RNN_LSTM) s += (double)g->cn[i] * g->r3[i];
    }
    return s;
}

static double gc_loss_fn(void *g) { return gc_loss((gc_case *)g); }

/* Central differences on every element of v against the analytic grad. */
static void gc_compare(gc_case *g, float *v, const float *grad, size_t n, float eps, int *ok, double *worst) {
    fd_compare(gc_loss_fn, g, v, grad, n, eps, 5e-4, 3e-3, ok, worst);
}

static void test_recurrent_gradcheck(void) {
    int cell, variant;
    for (cell = RNN_TANH; cell <= RNN_GRU_CHO; cell++)
        for (variant = 0; variant < 2; variant++) {
            rnn_recurrent_config cfg;
            gc_case g;
            rnn_rng rng;
            int lens[3] = {4, 2, 3}, L, D, H = 4, i, ok = 1;
            size_t nx, ns, ny;
            double worst = 0;
            float *dx, *dh0, *dc0;
            char name[128];
            memset(&cfg, 0, sizeof cfg);
            cfg.cell = (rnn_cell)cell; cfg.input_size = 3; cfg.hidden_size = H;
            cfg.num_layers = L = variant ? 2 : 1; cfg.bidirectional = variant;
            cfg.dropout = variant ? 0.3f : 0.0f;
            D = variant ? 2 : 1;
            memset(&g, 0, sizeof g);
            rnn_recurrent_create(&g.r, &cfg, 5 + cell);
            g.T = 4; g.B = 3; g.lens = variant ? lens : NULL;
            nx = (size_t)g.T * g.B * 3; ns = (size_t)L * D * g.B * H; ny = (size_t)g.T * g.B * D * H;
            g.x = (float *)malloc(nx * 4); g.h0 = (float *)malloc(ns * 4); g.c0 = (float *)malloc(ns * 4);
            g.r1 = (float *)malloc(ny * 4); g.r2 = (float *)malloc(ns * 4); g.r3 = (float *)malloc(ns * 4);
            g.y = (float *)malloc(ny * 4); g.hn = (float *)malloc(ns * 4); g.cn = (float *)malloc(ns * 4);
            dx = (float *)malloc(nx * 4); dh0 = (float *)malloc(ns * 4); dc0 = (float *)calloc(ns, 4);
            rnn_rng_seed(&rng, 11 + cell);
            for (i = 0; i < (int)nx; i++) g.x[i] = frand(&rng, -1, 1);
            for (i = 0; i < (int)ns; i++) {
                g.h0[i] = frand(&rng, -0.5f, 0.5f); g.c0[i] = frand(&rng, -0.5f, 0.5f);
                g.r2[i] = frand(&rng, -1, 1); g.r3[i] = frand(&rng, -1, 1);
            }
            for (i = 0; i < (int)ny; i++) g.r1[i] = frand(&rng, -1, 1);
            if (cell == RNN_RELU) /* keep the state small and away from kinks */
                for (i = 0; i < (int)g.r->num_params; i++) g.r->params[i] *= 0.5f;
            gc_loss(&g);
            rnn_recurrent_zero_grad(g.r);
            rnn_recurrent_backward(g.r, g.r1, g.r2, cell == RNN_LSTM ? g.r3 : NULL, dx, dh0, dc0);
            {
                float *ana = (float *)malloc(g.r->num_params * 4);
                float eps = cell == RNN_RELU ? 1e-3f : 1e-2f;
                memcpy(ana, g.r->grads, g.r->num_params * 4);
                gc_compare(&g, g.r->params, ana, g.r->num_params, eps, &ok, &worst);
                gc_compare(&g, g.x, dx, nx, eps, &ok, &worst);
                gc_compare(&g, g.h0, dh0, ns, eps, &ok, &worst);
                if (cell == RNN_LSTM) gc_compare(&g, g.c0, dc0, ns, eps, &ok, &worst);
                free(ana);
            }
            sprintf(name, "gradcheck %s %s: every parameter, x, h0%s", cell_name((rnn_cell)cell),
                    variant ? "L=2 bidir padded dropout" : "L=1", cell == RNN_LSTM ? ", c0" : "");
            check(ok, name, worst);
            free(g.x); free(g.h0); free(g.c0); free(g.r1); free(g.r2); free(g.r3);
            free(g.y); free(g.hn); free(g.cn); free(dx); free(dh0); free(dc0);
            rnn_recurrent_free(g.r);
        }
}

/* The one-step path against the sequence path, and GRU_CHO against a
   direct double-precision evaluation of its equation. */
static void test_recurrent_step(void) {
    int cell;
    for (cell = RNN_TANH; cell <= RNN_GRU_CHO; cell++) {
        rnn_recurrent_config cfg;
        rnn_recurrent *r;
        rnn_recurrent_state *st;
        rnn_rng rng;
        int T = 6, B = 3, NI = 5, H = 7, t, i;
        float x[6 * 3 * 5], y[6 * 3 * 7], ys[3 * 7];
        double worst = 0;
        char name[96];
        memset(&cfg, 0, sizeof cfg);
        cfg.cell = (rnn_cell)cell; cfg.input_size = NI; cfg.hidden_size = H; cfg.num_layers = 2;
        rnn_recurrent_create(&r, &cfg, 3);
        rnn_rng_seed(&rng, 4);
        for (i = 0; i < T * B * NI; i++) x[i] = frand(&rng, -1, 1);
        rnn_recurrent_forward(r, x, T, B, NULL, NULL, NULL, y, NULL, NULL, 0, NULL);
        rnn_recurrent_state_create(r, B, &st);
        for (t = 0; t < T; t++) {
            rnn_recurrent_step(r, st, x + t * B * NI, ys);
            for (i = 0; i < B * H; i++)
                if (fabs(ys[i] - y[t * B * H + i]) > worst) worst = fabs(ys[i] - y[t * B * H + i]);
        }
        sprintf(name, "one-step path = sequence path, %s L=2 (abs)", cell_name((rnn_cell)cell));
        check(worst <= 1e-6, name, worst);
        if (cell == RNN_GRU_CHO) {
            /* layer 0 by hand in double: r, z = σ(...), n = tanh(W_in x + b_in + W_hn (r⊙h) + b_hn) */
            const rnn_recurrent_weights *w = &r->w[0];
            double h[3][7] = {{0}}, err = 0;
            float y1[6 * 3 * 7];
            rnn_recurrent_config c1 = cfg;
            rnn_recurrent *r1;
            int b, j, q;
            c1.num_layers = 1;
            rnn_recurrent_create(&r1, &c1, 3);
            memcpy(r1->params, r->params, r1->num_params * sizeof(float)); /* layer 0 comes first */
            rnn_recurrent_forward(r1, x, T, B, NULL, NULL, NULL, y1, NULL, NULL, 0, NULL);
            for (t = 0; t < T; t++)
                for (b = 0; b < B; b++) {
                    double rr[7], z[7], n[7], hnew[7];
                    const float *xt = x + (t * B + b) * NI;
                    for (j = 0; j < H; j++) {
                        double ar = w->b_ih[j] + w->b_hh[j], az = w->b_ih[H + j] + w->b_hh[H + j];
                        for (q = 0; q < NI; q++) { ar += w->w_ih[j * NI + q] * xt[q]; az += w->w_ih[(H + j) * NI + q] * xt[q]; }
                        for (q = 0; q < H; q++) { ar += w->w_hh[j * H + q] * h[b][q]; az += w->w_hh[(H + j) * H + q] * h[b][q]; }
                        rr[j] = 1 / (1 + exp(-ar)); z[j] = 1 / (1 + exp(-az));
                    }
                    for (j = 0; j < H; j++) {
                        double an = w->b_ih[2 * H + j] + w->b_hh[2 * H + j];
                        for (q = 0; q < NI; q++) an += w->w_ih[(2 * H + j) * NI + q] * xt[q];
                        for (q = 0; q < H; q++) an += w->w_hh[(2 * H + j) * H + q] * rr[q] * h[b][q];
                        n[j] = tanh(an);
                        hnew[j] = (1 - z[j]) * n[j] + z[j] * h[b][j];
                    }
                    for (j = 0; j < H; j++) {
                        h[b][j] = hnew[j];
                        if (fabs(hnew[j] - y1[(t * B + b) * H + j]) > err) err = fabs(hnew[j] - y1[(t * B + b) * H + j]);
                    }
                }
            check(err <= 1e-5, "gru_cho forward = its equation in double (abs)", err);
            rnn_recurrent_free(r1);
        }
        rnn_recurrent_state_free(st);
        rnn_recurrent_free(r);
    }
}

/* The one-step path with the weights in panels (what AVX-512 CPUs get at
   batch 1; forced here) against the sequence path, and its copy refreshed
   after rnn_recurrent_weights_changed and after a backward. */
static void test_recurrent_step_panels(void) {
    int cell, ok = 1;
    double worst = 0;
    for (cell = RNN_TANH; cell <= RNN_GRU_CHO; cell++) {
        rnn_recurrent_config cfg;
        rnn_recurrent *r;
        rnn_recurrent_state *st;
        rnn_rng rng;
        int T = 5, NI = 9, H = 300, t, i, round;   /* G·H over one 256-column panel */
        float x[5 * 9], *y = (float *)malloc(sizeof(float) * T * H), ys[300];
        memset(&cfg, 0, sizeof cfg);
        cfg.cell = (rnn_cell)cell; cfg.input_size = NI; cfg.hidden_size = H; cfg.num_layers = 2;
        rnn_recurrent_create(&r, &cfg, 8 + cell);
        rnn_rng_seed(&rng, 5);
        for (i = 0; i < T * NI; i++) x[i] = frand(&rng, -1, 1);
        ok &= rnn__state_create(r, 1, 0, 1, &st) == RNN_OK && st->wt != NULL;
        for (round = 0; round < 3 && ok; round++) {
            if (round == 1) {   /* a change by hand, announced */
                for (i = 0; i < (int)r->num_params; i += 7) r->params[i] *= -0.5f;
                rnn_recurrent_weights_changed(r);
            } else if (round == 2) {   /* a training step: backward, then the update */
                rnn_recurrent_forward(r, x, T, 1, NULL, NULL, NULL, y, NULL, NULL, 1, NULL);
                rnn_recurrent_backward(r, y, NULL, NULL, NULL, NULL, NULL);
                for (i = 0; i < (int)r->num_params; i++) r->params[i] -= 0.01f * r->grads[i];
            }
            rnn_recurrent_forward(r, x, T, 1, NULL, NULL, NULL, y, NULL, NULL, 0, NULL);
            memset(st->h, 0, sizeof(float) * 2 * H);
            if (st->c) memset(st->c, 0, sizeof(float) * 2 * H);
            for (t = 0; t < T; t++) {
                rnn_recurrent_step(r, st, x + t * NI, ys);
                /* (a plain comparison: aarch64 gcc 12 crashes vectorising fmax here) */
                for (i = 0; i < H; i++)
                    if (fabs(ys[i] - y[t * H + i]) > worst) worst = fabs(ys[i] - y[t * H + i]);
            }
        }
        rnn_recurrent_state_free(st);
        rnn_recurrent_free(r);
        free(y);
    }
    check(ok && worst <= 1e-5, "one-step path in panels = sequence path, every cell, after weight changes", worst);
}

static void test_recurrent_init_and_errors(void) {
    rnn_recurrent_config cfg;
    rnn_recurrent *r = NULL, *r2 = NULL;
    rnn_recurrent_state *st = NULL;
    float x[2 * 2 * 3] = {0}, y[2 * 2 * 8], nanx[2 * 2 * 3] = {0};
    int lens[2] = {2, 3}, i, j, g, ok;
    double worst = 0;
    memset(&cfg, 0, sizeof cfg);
    check(rnn_recurrent_create(&r, &cfg, 1) == RNN_ERR_INVALID_ARGUMENT && r == NULL,
          "create rejects a config without sizes", 0);
    cfg.input_size = 3; cfg.hidden_size = 4; cfg.dropout = 1.0f;
    check(rnn_recurrent_create(&r, &cfg, 1) == RNN_ERR_INVALID_ARGUMENT, "create rejects dropout 1", 0);
    cfg.dropout = 0; cfg.cell = (rnn_cell)9;
    check(rnn_recurrent_create(&r, &cfg, 1) == RNN_ERR_INVALID_ARGUMENT, "create rejects an unknown cell", 0);
    /* identity and orthogonal recurrent weights, forget bias, determinism */
    cfg.cell = RNN_RELU; cfg.recurrent_init = RNN_INIT_IDENTITY;
    rnn_recurrent_create(&r, &cfg, 1);
    ok = 1;
    for (i = 0; i < 4; i++)
        for (j = 0; j < 4; j++) ok &= r->w[0].w_hh[i * 4 + j] == (i == j ? 1.0f : 0.0f);
    for (i = 0; i < 4; i++) ok &= r->w[0].b_hh[i] == 0.0f;
    check(ok, "identity init: W_hh = I, b_hh = 0 (Le, Jaitly, Hinton)", 0);
    rnn_recurrent_free(r);
    cfg.cell = RNN_LSTM; cfg.hidden_size = 8; cfg.recurrent_init = RNN_INIT_ORTHOGONAL;
    cfg.forget_bias_one = 1; cfg.input_init = RNN_INIT_GLOROT;
    rnn_recurrent_create(&r, &cfg, 7);
    for (g = 0; g < 4; g++)
        for (i = 0; i < 8; i++)
            for (j = 0; j < 8; j++) {
                double s = 0;
                int q;
                const float *blk = r->w[0].w_hh + g * 64;
                for (q = 0; q < 8; q++) s += (double)blk[i * 8 + q] * blk[j * 8 + q];
                if (fabs(s - (i == j)) > worst) worst = fabs(s - (i == j));
            }
    check(worst < 1e-5, "orthogonal init: each gate block W Wᵀ = I", worst);
    ok = 1;
    for (i = 0; i < 8; i++) ok &= r->w[0].b_ih[8 + i] == 1.0f && r->w[0].b_hh[8 + i] == 0.0f;
    for (i = 0; i < 4 * 8 * 3; i++) ok &= fabsf(r->w[0].w_ih[i]) <= sqrtf(6.0f / 11.0f);
    check(ok, "forget-gate bias 1, Glorot bound on W_ih", 0);
    rnn_recurrent_create(&r2, &cfg, 7);
    check(memcmp(r->params, r2->params, r->num_params * 4) == 0, "same seed, same weights", 0);
    rnn_recurrent_free(r2);
    /* bad input gets a status and a message, never a crash */
    check(rnn_recurrent_backward(r, NULL, NULL, NULL, NULL, NULL, NULL) == RNN_ERR_INVALID_ARGUMENT,
          "backward before a training forward is refused", 0);
    check(rnn_recurrent_forward(r, x, 2, 2, lens, NULL, NULL, y, NULL, NULL, 0, NULL) == RNN_ERR_INVALID_ARGUMENT &&
              strstr(r->error, "lengths[1] = 3") != NULL,
          "a length past T is refused, with its index", 0);
    nanx[4] = NAN;
    check(rnn_recurrent_forward(r, nanx, 2, 2, NULL, NULL, NULL, y, NULL, NULL, 0, NULL) == RNN_ERR_INVALID_ARGUMENT,
          "NaN in x is refused", 0);
    check(rnn_recurrent_forward(r, x, 0, 2, NULL, NULL, NULL, y, NULL, NULL, 0, NULL) == RNN_ERR_INVALID_ARGUMENT,
          "T = 0 is refused", 0);
    check(rnn_recurrent_param(r, "weight_hh_l7", NULL, NULL, NULL) == RNN_ERR_INVALID_ARGUMENT,
          "an unknown parameter name is refused", 0);
    rnn_recurrent_free(r);
    cfg.bidirectional = 1;
    rnn_recurrent_create(&r, &cfg, 1);
    check(rnn_recurrent_state_create(r, 1, &st) == RNN_ERR_INVALID_ARGUMENT && st == NULL,
          "one-step state refused for a bidirectional stack", 0);
    rnn_recurrent_free(r);
}

/* After the first training step at a shape, forward and backward allocate
   nothing (the workspace holds the packing space too); one-step inference
   never allocates. */
static void test_recurrent_no_alloc(void) {
    rnn_recurrent_config cfg;
    rnn_recurrent *r;
    rnn_recurrent_state *st;
    rnn_rng rng;
    int T = 16, B = 32, H = 48, i;
    float *x = (float *)calloc((size_t)T * B * 20, sizeof(float)), *y = (float *)malloc(sizeof(float) * T * B * 2 * H);
    float *dy = (float *)calloc((size_t)T * B * 2 * H, sizeof(float)), *dx = (float *)malloc(sizeof(float) * T * B * 20);
    float out[48];
    long before;
    memset(&cfg, 0, sizeof cfg);
    cfg.cell = RNN_LSTM; cfg.input_size = 20; cfg.hidden_size = H; cfg.num_layers = 2; cfg.bidirectional = 1;
    cfg.dropout = 0.2f;
    rnn_recurrent_create(&r, &cfg, 1);
    rnn_rng_seed(&rng, 1);
    rnn_recurrent_forward(r, x, T, B, NULL, NULL, NULL, y, NULL, NULL, 1, &rng);
    rnn_recurrent_backward(r, dy, NULL, NULL, dx, NULL, NULL);
    before = g_allocs;
    for (i = 0; i < 2; i++) {
        rnn_recurrent_forward(r, x, T, B, NULL, NULL, NULL, y, NULL, NULL, 1, &rng);
        rnn_recurrent_backward(r, dy, NULL, NULL, dx, NULL, NULL);
    }
    check(g_allocs == before, "training steps after the first allocate nothing (LSTM L=2 bidir B=32)",
          (double)(g_allocs - before));
    rnn_recurrent_free(r);
    cfg.bidirectional = 0;
    rnn_recurrent_create(&r, &cfg, 1);
    rnn_recurrent_state_create(r, 1, &st);
    before = g_allocs;
    for (i = 0; i < 10; i++) rnn_recurrent_step(r, st, x, out);
    check(g_allocs == before, "one-step inference allocates nothing", (double)(g_allocs - before));
    rnn_recurrent_state_free(st);
    rnn_recurrent_free(r);
    free(x); free(y); free(dy); free(dx);
}

/* A BLAS hook with sums in double: with a hook set, rnn.h's products take
   W_hh as stored (no packing), so it is the reference for the packed path. */
static void ref_sgemm(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                      int ldb, float beta, float *c, int ldc) {
    int i, j, p;
    for (i = 0; i < m; i++)
        for (j = 0; j < n; j++) {
            double s = 0;
            float *cij = c + (size_t)i * ldc + j;
            for (p = 0; p < k; p++)
                s += (double)(ta ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p]) *
                     (tb ? b[(size_t)j * ldb + p] : b[(size_t)p * ldb + j]);
            *cij = (float)(alpha * s + (beta == 0.0f ? 0.0 : (double)beta * *cij));
        }
}

/* The steps' products with W_hh packed once (batches of 4 rows or more)
   against the same training through a plain hook: every cell; B 7 and 9
   (edge tiles of 6 or 8 rows), 10 and 8 (AVX2's 4-row kernel for the last 4
   or 8); H across panel edges (37: GRU_CHO's 2H = 74 splits a panel), H 300
   over two depth blocks (and 1,200 over five backward); bidirectional and
   padded. The weight gradients go block by block (rnn__rec_kb positions):
   B 20 makes blocks of 240 (3 of 600 positions, the last partial; both
   directions, padded), B 260 one block of 260 a step, two depth blocks
   deep. The input projection goes a chunk of steps at a time
   (rnn__rec_chunk): B 7, T 7 makes chunks of 5 and 2 steps, both
   directions, padded. Outputs and every gradient. */
static void test_recurrent_packed(void) {
    static const int shapes[7][6] = {{1, 0, 10, 37, 5, 0}, {2, 1, 9, 21, 4, 1}, {1, 0, 8, 300, 2, 0},
                                     {1, 0, 7, 40, 3, 0}, {2, 1, 20, 9, 30, 1}, {1, 0, 260, 5, 2, 0},
                                     {2, 1, 7, 13, 7, 1}};
    int cell, sh, ok = 1, cases = 0;
    double worst = 0;
    for (cell = RNN_TANH; cell <= RNN_GRU_CHO; cell++)
        for (sh = 0; sh < 7; sh++) {
            rnn_recurrent_config cfg;
            rnn_recurrent *r;
            rnn_rng rng;
            int L = shapes[sh][0], D = shapes[sh][1] ? 2 : 1, B = shapes[sh][2], H = shapes[sh][3], T = shapes[sh][4];
            static const int lens0[10] = {4, 1, 3, 4, 2, 4, 3, 1, 4, 2};
            int NI = 6, lens[260], pass, i;
            size_t nx = (size_t)T * B * NI, ny = (size_t)T * B * D * H, ns = (size_t)L * D * B * H;
            float *x = (float *)malloc(nx * 4), *dy = (float *)malloc(ny * 4), *out[2];
            memset(&cfg, 0, sizeof cfg);
            cfg.cell = (rnn_cell)cell; cfg.input_size = NI; cfg.hidden_size = H; cfg.num_layers = L;
            cfg.bidirectional = D == 2;
            if (rnn_recurrent_create(&r, &cfg, 3) != RNN_OK) { ok = 0; free(x); free(dy); continue; }
            rnn_rng_seed(&rng, 4);
            for (i = 0; i < B; i++) lens[i] = i < 10 ? lens0[i] : 1 + i * 7 % T;
            for (i = 0; i < (int)nx; i++) x[i] = frand(&rng, -1, 1);
            for (i = 0; i < (int)ny; i++) dy[i] = frand(&rng, -1, 1);
            for (pass = 0; pass < 2; pass++) {   /* 0: packed, 1: through the hook */
                size_t nout = ny + 2 * ns + nx + r->num_params;
                float *o = out[pass] = (float *)calloc(nout, 4);
                if (pass) rnn_set_sgemm(ref_sgemm);
                rnn_recurrent_zero_grad(r);
                ok &= rnn_recurrent_forward(r, x, T, B, shapes[sh][5] ? lens : NULL, NULL, NULL, o, o + ny,
                                            cell == RNN_LSTM ? o + ny + ns : NULL, 1, &rng) == RNN_OK;
                ok &= rnn_recurrent_backward(r, dy, NULL, NULL, o + ny + 2 * ns, NULL, NULL) == RNN_OK;
                memcpy(o + ny + 2 * ns + nx, r->grads, r->num_params * 4);
                rnn_set_sgemm(NULL);
                if (pass) {
                    for (i = 0; i < (int)nout; i++) {
                        double d = fabs((double)out[0][i] - out[1][i]) / (1.0 + fabs((double)out[1][i]));
                        worst = d > worst ? d : worst;
                    }
                    cases++;
                }
            }
            free(out[0]); free(out[1]); free(x); free(dy);
            rnn_recurrent_free(r);
        }
    check(ok && cases == 35 && worst < 1e-5,
          "packed W_hh (B >= 4) = the same training through a plain hook: 5 cells x 7 shapes, y, hn, cn, dx, grads",
          worst);
}

static void test_recurrent(void) {
    test_recurrent_no_alloc();
    test_recurrent_packed();
    test_recurrent_parity();
    test_recurrent_gradcheck();
    test_recurrent_step();
    test_recurrent_step_panels();
    test_recurrent_init_and_errors();
}
