/* tests/test_threads.c - work split among tasks changes no value.

   The same training runs with one task, with a job hook that runs the
   tasks one after another (2, 3 and 5 tasks), and, when the tests are
   built with RNN_THREADS, on rnn.h's own pool of 2 and 3 threads: every
   loss and every weight must be bit-identical. The serial hook counts the
   regions and parts it runs, so a run that split nothing cannot pass.
   tests/test.c lowers RNN_PAR_MIN_MACS and RNN_PAR_MIN_VALUES, so that
   these small models are split as a large one is. */
#include "check.h"

static long g_regions, g_parts;

static void serial_hook(void *user, rnn_task_fn task, void *ctx, int n) {
    int i;
    (void)user;
    g_regions++;
    g_parts += n;
    for (i = n - 1; i >= 0; i--) task(ctx, i);   /* backwards: no part may lean on another's order */
}

/* A few training steps of a language model (Adam, clipping, dropout) and
   a bidirectional classifier; the losses into loss[], the weights' CRC-32
   into *crc. */
static void thread_run(rnn_cell cell, float *loss, uint32_t *crc) {
    rnn_lm_config lc;
    rnn_clf_config cc;
    rnn_optimizer_config oc;
    rnn_lm *m = NULL;
    rnn_clf *c = NULL;
    rnn_optimizer *o = NULL, *o2 = NULL;
    int in[8 * 40], tg[8 * 40], len[40], lab[40], i, s;
    ptrdiff_t j;
    rnn_rng r;
    memset(&lc, 0, sizeof lc);
    lc.vocab_size = 30; lc.embed_size = 8; lc.hidden_size = 64; lc.num_layers = 2; lc.cell = cell; lc.dropout = 0.1f;
    memset(&oc, 0, sizeof oc);
    oc.lr = 0.01f; oc.clip_norm = 1.0f;
    rnn_lm_create(&m, &lc, 11);
    rnn_optimizer_create(&o, &oc, m->params);
    rnn_rng_seed(&r, 5);
    for (s = 0; s < 3; s++) {
        /* 8 × 40 = 320 positions: the products over all of them are cut between rows */
        for (i = 0; i < 8 * 40; i++) { in[i] = (int)(rnn_rng_u64(&r) % 30); tg[i] = (int)(rnn_rng_u64(&r) % 30); }
        rnn_lm_train_step(m, o, in, tg, 8, 40, &loss[s]);
    }
    *crc = 0;
    for (j = 0; j < stbds_arrlen(m->params); j++)
        *crc = rnn_crc32(*crc, m->params[j].value, m->params[j].count * sizeof(float));
    memset(&cc, 0, sizeof cc);
    cc.vocab_size = 30; cc.num_classes = 5; cc.embed_size = 8; cc.hidden_size = 64; cc.cell = cell;
    cc.bidirectional = 1; cc.pool = RNN_POOL_ATTENTION; cc.max_len = 8;
    rnn_clf_create(&c, &cc, 12);
    rnn_optimizer_create(&o2, &oc, c->params);
    /* 40 rows of lengths 1..8: the layer's steps are cut between rows, padding in every part */
    for (i = 0; i < 40; i++) { len[i] = 1 + (i * 5 + i / 8) % 8; lab[i] = i % 5; }
    for (s = 3; s < 5; s++) rnn_clf_train_step(c, o2, in, len, 8, 40, lab, NULL, &loss[s]);
    for (j = 0; j < stbds_arrlen(c->params); j++)
        *crc = rnn_crc32(*crc, c->params[j].value, c->params[j].count * sizeof(float));
    rnn_optimizer_free(o); rnn_optimizer_free(o2);
    rnn_lm_free(m); rnn_clf_free(c);
}

/* Products with rows enough to be cut between rows (op(B) packed once, in
   two regions): every transpose, edge sizes, beta 0 and 1, alpha 1 and
   0.5, against one task, bit for bit. */
static void thread_products(void) {
    static const int ms[2] = {258, 517}, ns[3] = {7, 64, 300}, ks[2] = {5, 300};
    float *a = (float *)malloc(sizeof(float) * 517 * 300), *b = (float *)malloc(sizeof(float) * 300 * 300);
    float *init = (float *)malloc(sizeof(float) * 517 * 300), *want = (float *)malloc(sizeof(float) * 517 * 300);
    float *got = (float *)malloc(sizeof(float) * 517 * 300);
    int im, in, ik, t, tr, bi, same = 1, products = 0;
    size_t i;
    rnn_rng r;
    rnn_rng_seed(&r, 17);
    for (i = 0; i < 517 * 300; i++) a[i] = rnn_rng_uniform(&r) - 0.5f;
    for (i = 0; i < 300 * 300; i++) b[i] = rnn_rng_uniform(&r) - 0.5f;
    for (i = 0; i < 517 * 300; i++) init[i] = rnn_rng_uniform(&r);
    g_regions = 0;
    for (im = 0; im < 2; im++)
        for (in = 0; in < 3; in++)
            for (ik = 0; ik < 2; ik++)
                for (tr = 0; tr < 4; tr++)
                    for (bi = 0; bi < 2; bi++) {
                        int m = ms[im], n = ns[in], k = ks[ik], ta = tr & 1, tb = tr >> 1;
                        float alpha = bi ? 0.5f : 1.0f, beta = (float)bi;
                        size_t bytes = sizeof(float) * (size_t)m * n;
                        memcpy(want, init, bytes);   /* beta = 1 adds to what is there */
                        rnn_set_parallel(NULL, NULL, 1);
                        rnn_sgemm(ta, tb, m, n, k, alpha, a, ta ? m : k, b, tb ? k : n, beta, want, n);
                        for (t = 2; t <= 5; t += t == 3 ? 2 : 1) {
                            memcpy(got, init, bytes);
                            rnn_set_parallel(serial_hook, NULL, t);
                            rnn_sgemm(ta, tb, m, n, k, alpha, a, ta ? m : k, b, tb ? k : n, beta, got, n);
                            same &= !memcmp(want, got, bytes);
                        }
                        products++;
                    }
    rnn_set_parallel(NULL, NULL, 1);
#ifdef RNN_USE_CBLAS
    same &= g_regions == 0;   /* the BLAS gets each product whole */
#else
    same &= g_regions >= products;
#endif
    check(same, "products cut between rows (op(B) packed once): 2, 3, 5 tasks = 1, bit for bit, every transpose", 0);
    free(a); free(b); free(init); free(want); free(got);
}

/* A 2-layer bidirectional stack through rnn_recurrent_forward and
   _backward with everything asked for (h0, c0, lengths, dhn, dcn; y, hn,
   cn, dx, dh0, dc0, every gradient), B = 33: its steps are cut between
   rows in parts of 16, 24 or 8 rows and a last part of 1 to 9, each with
   padded rows, and its blocks of weight gradients (7 steps at B 33) end
   mid-window. Against one task, bit for bit, for 2, 3 and 5 tasks. */
static void thread_stack(rnn_cell cell) {
    enum { NT = 9, NB = 33, NI = 5, NH = 24, NL = 2, ND = 2 };   /* (not I: a macro in MinGW's complex.h) */
    static float x[NT * NB * NI], h0[NL * ND * NB * NH], c0[NL * ND * NB * NH], dy[NT * NB * ND * NH];
    static float dhn[NL * ND * NB * NH];
    static float out[2][NT * NB * ND * NH + 2 * NL * ND * NB * NH + NT * NB * NI + 2 * NL * ND * NB * NH];
    rnn_recurrent_config rc;
    rnn_recurrent *r = NULL;
    float *g1 = NULL;
    int len[NB], t, same = 1, lstm = cell == RNN_LSTM;
    size_t i, n = sizeof out[0] / sizeof(float);
    rnn_rng g;
    char name[128];
    memset(&rc, 0, sizeof rc);
    rc.cell = cell; rc.input_size = NI; rc.hidden_size = NH; rc.num_layers = NL; rc.bidirectional = 1;
    if (rnn_recurrent_create(&r, &rc, 21) != RNN_OK) { check(0, "thread_stack: create", 0); return; }
    rnn_rng_seed(&g, 22);
    for (i = 0; i < sizeof x / sizeof x[0]; i++) x[i] = rnn_rng_uniform(&g) - 0.5f;
    for (i = 0; i < sizeof h0 / sizeof h0[0]; i++) {
        h0[i] = rnn_rng_uniform(&g) - 0.5f; c0[i] = rnn_rng_uniform(&g) - 0.5f; dhn[i] = rnn_rng_uniform(&g) - 0.5f;
    }
    for (i = 0; i < sizeof dy / sizeof dy[0]; i++) dy[i] = rnn_rng_uniform(&g) - 0.5f;
    for (i = 0; i < NB; i++) len[i] = 1 + (int)(rnn_rng_u64(&g) % NT);
    g1 = (float *)malloc(sizeof(float) * r->num_params);
    for (t = 1; t <= 5 && g1; t += t == 3 ? 2 : 1) {
        float *o = out[t > 1], *y = o, *hn = y + NT * NB * ND * NH, *cn = hn + NL * ND * NB * NH;
        float *dx = cn + NL * ND * NB * NH, *dh0 = dx + NT * NB * NI, *dc0 = dh0 + NL * ND * NB * NH;
        memset(o, 0, sizeof out[0]);
        rnn_set_parallel(t > 1 ? serial_hook : NULL, NULL, t);
        rnn_recurrent_zero_grad(r);
        same &= rnn_recurrent_forward(r, x, NT, NB, len, h0, lstm ? c0 : NULL, y, hn, lstm ? cn : NULL, 1, NULL) == RNN_OK;
        same &= rnn_recurrent_backward(r, dy, dhn, lstm ? dhn : NULL, dx, dh0, lstm ? dc0 : NULL) == RNN_OK;
        if (t == 1) memcpy(g1, r->grads, sizeof(float) * r->num_params);
        else same &= !memcmp(out[0], o, sizeof(float) * n) && !memcmp(g1, r->grads, sizeof(float) * r->num_params);
    }
    rnn_set_parallel(NULL, NULL, 1);
    snprintf(name, sizeof name, "%s stack, 2 layers both ways, B 33, lengths: 2, 3, 5 tasks = 1, y to dh0 and every gradient",
             cell_name(cell));
    check(same && g1, name, 0);
    free(g1);
    rnn_recurrent_free(r);
}

#ifdef RNN_THREADS
/* The pool under many short regions, more threads than cores: each task of
   a region runs once, with that region's context, whichever thread takes
   it, and none after the region is over (a worker held up between reading
   a region and taking its tasks once took a task of a later region). */
typedef struct { int region, hits[6]; } pool_probe;
static int g_pool_bad;
static void probe_task(void *ctx, int i) {
    pool_probe *p = (pool_probe *)ctx;
    __atomic_fetch_add(&p->hits[i], 1, __ATOMIC_RELAXED);
    if (__atomic_load_n(&p->region, __ATOMIC_RELAXED) < 0) __atomic_fetch_add(&g_pool_bad, 1, __ATOMIC_RELAXED);
}
static void thread_pool_regions(void) {
    int r, i, t, ok = 1;
    for (t = 2; t <= 4; t++) {
        ok &= rnn_set_threads(t) == RNN_OK;
        for (r = 0; ok && r < 30000; r++) {
            pool_probe pr;
            int n = 2 + r % 5;
            memset(&pr, 0, sizeof pr);
            pr.region = r;
            rnn__run(probe_task, &pr, n);
            for (i = 0; i < 6; i++) ok &= __atomic_load_n(&pr.hits[i], __ATOMIC_RELAXED) == (i < n);
            __atomic_store_n(&pr.region, -1, __ATOMIC_RELAXED);   /* over: a late task would see -1 */
        }
    }
    rnn_set_threads(1);
    check(ok && g_pool_bad == 0, "the pool: 2, 3, 4 threads, 30,000 regions each: every task once, none late", 0);
}
#endif

/* One token at a time: a model whose products are split gives the same
   logits with tasks as without, and allocates nothing per token. */
static void thread_generate(void) {
    static float want[12][50];
    rnn_lm_config lc;
    rnn_lm *m = NULL;
    rnn_lm_state *s1 = NULL, *s2 = NULL;
    int i, same = 1;
    long before;
    memset(&lc, 0, sizeof lc);
    lc.vocab_size = 50; lc.embed_size = 16; lc.hidden_size = 64; lc.num_layers = 2;
    rnn_set_parallel(NULL, NULL, 1);
    rnn_lm_create(&m, &lc, 3);
    rnn_lm_state_create(m, &s1);
    rnn_lm_state_create(m, &s2);
    for (i = 0; i < 12; i++) memcpy(want[i], rnn_lm_step(m, s1, (i * 7) % 50), sizeof want[i]);
    rnn_set_parallel(serial_hook, NULL, 3);
    g_regions = 0;
    same &= !memcmp(want[0], rnn_lm_step(m, s2, 0), sizeof want[0]);   /* the first grows the tasks' scratch */
    before = g_allocs;
    for (i = 1; i < 12; i++) same &= !memcmp(want[i], rnn_lm_step(m, s2, (i * 7) % 50), sizeof want[i]);
#ifdef RNN_USE_CBLAS
    same &= g_regions == 0;   /* the BLAS gets each product whole */
#else
    same &= g_regions >= 12;
#endif
    check(same && g_allocs == before, "one token on 3 tasks = on one, bit for bit; nothing allocated per token", 0);
    rnn_set_parallel(NULL, NULL, 1);
    rnn_lm_state_free(s1); rnn_lm_state_free(s2);
    rnn_lm_free(m);
}

static void test_threads(void) {
    static const rnn_cell cells[5] = {RNN_LSTM, RNN_GRU, RNN_GRU_CHO, RNN_TANH, RNN_RELU};
    int k, t;
    for (k = 0; k < 5; k++) {
        float want[5], got[5];
        uint32_t wcrc, gcrc;
        char name[128];
        int same = 1;
        rnn_set_parallel(NULL, NULL, 1);
        thread_run(cells[k], want, &wcrc);
        g_regions = g_parts = 0;
        for (t = 2; t <= 5; t += t == 3 ? 2 : 1) {
            rnn_set_parallel(serial_hook, NULL, t);
            thread_run(cells[k], got, &gcrc);
            same &= !memcmp(want, got, sizeof want) && gcrc == wcrc && want[0] == want[0];
        }
        rnn_set_parallel(NULL, NULL, 1);
        snprintf(name, sizeof name, "%s: 2, 3, 5 tasks by a serial hook = 1 task, bit for bit (%ld regions)",
                 cell_name(cells[k]), g_regions);
        check(same && g_regions > 100 && g_parts >= 2 * g_regions, name, 0);
#ifdef RNN_THREADS
        same = 1;
        for (t = 2; t <= 3; t++) {
            same &= rnn_set_threads(t) == RNN_OK && rnn_parallel_tasks() == t;
            thread_run(cells[k], got, &gcrc);
            same &= !memcmp(want, got, sizeof want) && gcrc == wcrc;
        }
        rnn_set_threads(1);
        snprintf(name, sizeof name, "%s: rnn.h's pool of 2 and 3 threads = 1 thread, bit for bit", cell_name(cells[k]));
        check(same && rnn_parallel_tasks() == 1, name, 0);
#endif
    }
#ifndef RNN_THREADS
    check(rnn_set_threads(2) == RNN_ERR_INVALID_ARGUMENT && rnn_parallel_tasks() == 1 && rnn_set_threads(1) == RNN_OK,
          "without RNN_THREADS, rnn_set_threads(2) says no and stays on one thread", 0);
#endif
    thread_products();
    for (k = 0; k < 5; k++) thread_stack(cells[k]);
#ifdef RNN_THREADS
    thread_pool_regions();
#endif
    thread_generate();
    check(rnn_cpu_count() >= 1, "rnn_cpu_count is at least 1", 0);
}
