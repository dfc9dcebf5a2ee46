/* tests/test_int8.c - int8 inference: the kernels against plain C, the
   quantized language model against the float one, its checkpoints. */
#include "check.h"

/* The tested kernel's sums against a row-major loop over the same int8
   values, on shapes that cover partial panels, partial groups and the
   GRU_CHO split; extreme values probe overflow (the AVX2 kernel's int16
   pairs): ±127 weights against inputs all -127, then of mixed signs. */
static void test_int8_kernels(void) {
    static const int shapes[][3] = {{1, 1, 1},    {31, 3, 31},   {32, 4, 32},    {33, 5, 20},
                                    {100, 63, 64}, {96, 300, 64}, {70, 257, 40}, {64, 1000, 64}};
    const char *kname = rnn_int8_simd_name();
    rnn__q8_fn fn = rnn__q8_best()->dot;
    rnn_rng r;
    int s, ok = 1, okc = 1, okq = 1, extreme;
    double worstq = 0;
    char name[96];
    rnn_rng_seed(&r, 81);
    for (extreme = 0; extreme < 3; extreme++)
        for (s = 0; s < (int)(sizeof shapes / sizeof shapes[0]); s++) {
            int n = shapes[s][0], k = shapes[s][1], split = shapes[s][2], j, i;
            signed char *rows = (signed char *)malloc((size_t)n * k), *qx = (signed char *)malloc((size_t)k + 8);
            float *scale = (float *)malloc(sizeof(float) * n);
            rnn__q8 q;
            int32_t *acc, *acc_c;
            for (j = 0; j < n * k; j++) rows[j] = (signed char)(extreme ? (j % 3 ? 127 : -127) : (int)(rnn_rng_u64(&r) % 255) - 127);
            for (i = 0; i < k; i++)
                qx[i] = (signed char)(extreme == 1 ? -127 : extreme ? (i % 4 < 2 ? 127 : -127) * (i % 5 ? 1 : -1)
                                                          : (int)(rnn_rng_u64(&r) % 255) - 127);
            for (; i < 4 * ((k + 3) / 4); i++) qx[i] = 0;
            for (j = 0; j < n; j++) scale[j] = 1.0f;
            if (rnn__q8_init(&q, rows, scale, n, k, split) != RNN_OK) { ok = 0; continue; }
            acc = (int32_t *)malloc(sizeof(int32_t) * q.panels * 32);
            acc_c = (int32_t *)malloc(sizeof(int32_t) * q.panels * 32);
            fn(q.panels, q.kg, q.w, q.wsum, qx, acc);
            rnn__q8_dot_c(q.panels, q.kg, q.w, q.wsum, qx, acc_c);
            for (j = 0; j < n; j++) {
                int at = rnn__q8_panel(&q, j) * 32 + (j < split ? j : j - split) % 32;
                int64_t want = 0;
                for (i = 0; i < k; i++) want += (int64_t)rows[(size_t)j * k + i] * qx[i];
                if (acc[at] != want) ok = 0;
                if (acc_c[at] != want) okc = 0;
            }
            {   /* the round trip of the layout */
                signed char *back = (signed char *)malloc((size_t)n * k);
                rnn__q8_unpack(&q, back);
                if (memcmp(back, rows, (size_t)n * k)) okc = 0;
                free(back);
            }
            rnn__q8_free(&q);
            free(rows); free(qx); free(scale); free(acc); free(acc_c);
        }
    check(okc && kname == rnn__q8_best()->name, "int8: plain C sums = a row-major loop (8 shapes, layout round trip)", 0);
    snprintf(name, sizeof name, "int8: %s kernel sums = the exact sums (incl. ±127 everywhere)", kname);
    check(ok, name, 0);
    {   /* quantizing rows: in -127..127, each row's largest at ±127, error <= scale/2 */
        float w[5 * 37], sc[5];
        signed char qq[5 * 37];
        int j, i;
        for (i = 0; i < 5 * 37; i++) w[i] = frand(&r, -3, 3) * (float)(1 + i / 37);
        for (i = 0; i < 37; i++) w[4 * 37 + i] = 0.0f;   /* a zero row: scale 0 */
        rnn__q8_quantize_rows(w, 5, 37, qq, sc);
        for (j = 0; j < 5; j++) {
            int top = 0;
            for (i = 0; i < 37; i++) {
                double e = fabs(sc[j] * qq[j * 37 + i] - w[j * 37 + i]);
                if (qq[j * 37 + i] < -127 || (j < 4 && e > 0.5001 * sc[j])) okq = 0;
                if (abs(qq[j * 37 + i]) == 127) top = 1;
                if (j < 4 && e / sc[j] > worstq) worstq = e / sc[j];
            }
            if (j < 4 && !top) okq = 0;
            if (j == 4 && sc[j] != 0.0f) okq = 0;
        }
        check(okq, "int8: rows quantize to -127..127, error <= scale/2 (in scales)", worstq);
    }
}

/* The tested path's quantize of an input and finish of a product against
   plain C, bit for bit: ties that round to even, NaN (to -127, not the
   scale), inf, all zeros, tails of every length; the finish with y, b0,
   or b0 + b1 as its base, where a compiler may also fuse the multiply and
   the add (GNU C++ modes and clang do): each value is C's or that one. */
static void test_int8_vector_finish(void) {
    static const int ks[] = {1, 3, 7, 8, 9, 16, 37, 64, 257};
    const rnn__q8_ops *ops = rnn__q8_best();
    float x[260], y0[260], y1[260], y2[260], b0[260], b1[260], scale[260];
    signed char q1[264], q2[264];
    int32_t acc[260];
    rnn_rng r;
    int c, s, i, mode, okv = 1, okf = 1;
    char name[96];
    rnn_rng_seed(&r, 83);
    for (c = 0; c < 5; c++)
        for (s = 0; s < (int)(sizeof ks / sizeof ks[0]); s++) {
            int k = ks[s], kg = (k + 3) / 4;
            float s1, s2;
            for (i = 0; i < k; i++)
                x[i] = c == 0 ? 3 * rnn_rng_normal(&r)
                     : c == 1 ? (float)((int)(rnn_rng_u64(&r) % 255) - 127) / 2 + (i == 0 ? 63.5f : 0.0f)  /* ties */
                     : c == 2 ? (i == k / 2 ? NAN : rnn_rng_normal(&r))
                     : c == 3 ? (i == k - 1 ? INFINITY : rnn_rng_normal(&r)) : 0.0f;
            if (c == 1) x[0] = 127.0f;   /* the scale 1: every half a tie */
            memset(q1, 55, sizeof q1); memset(q2, 55, sizeof q2);
            s1 = rnn__q8_vector_c(x, k, kg, q1);
            s2 = ops->vector(x, k, kg, q2);
            okv &= memcmp(q1, q2, (size_t)4 * kg) == 0 && memcmp(&s1, &s2, sizeof s1) == 0;
        }
    for (s = 0; s < (int)(sizeof ks / sizeof ks[0]); s++)
        for (mode = 0; mode < 3; mode++) {
            int n = ks[s];
            float sx = 0.01f + (float)rnn_rng_uniform(&r);
            for (i = 0; i < n; i++) {
                acc[i] = (int32_t)(rnn_rng_u64(&r) % 2000001) - 1000000;
                scale[i] = (float)rnn_rng_uniform(&r) / 127;
                y0[i] = y1[i] = y2[i] = rnn_rng_normal(&r);
                b0[i] = rnn_rng_normal(&r); b1[i] = rnn_rng_normal(&r);
            }
            rnn__q8_finish_c(n, acc, sx, scale, y1, mode ? b0 : NULL, mode == 2 ? b1 : NULL);
            ops->finish(n, acc, sx, scale, y2, mode ? b0 : NULL, mode == 2 ? b1 : NULL);
            for (i = 0; i < n; i++) {
                float base = !mode ? y0[i] : mode == 2 ? b0[i] + b1[i] : b0[i];
                okf &= memcmp(y1 + i, y2 + i, sizeof(float)) == 0 || y2[i] == fmaf((float)acc[i], sx * scale[i], base);
            }
        }
    snprintf(name, sizeof name, "int8: %s input quantize = plain C bit for bit (ties, NaN, inf, 0, tails)", ops->name);
    check(okv, name, 0);
    snprintf(name, sizeof name, "int8: %s finish (y, b0, b0 + b1) = plain C bit for bit (or fused)", ops->name);
    check(okf, name, 0);
}

static void q8_serial(void *user, rnn_task_fn task, void *ctx, int n) {
    int i;
    (void)user;
    for (i = n - 1; i >= 0; i--) task(ctx, i);
}

/* Feeds the same 40 tokens to both models; the worst logit difference. */
static double q8_run(const rnn_lm *a, const rnn_lm *b, double *scale, int *bad) {
    rnn_lm_state *sa, *sb;
    double worst = 0, mx = 0;
    int t, v;
    *bad = 0;
    if (rnn_lm_state_create(a, &sa) != RNN_OK || rnn_lm_state_create(b, &sb) != RNN_OK) { *bad = 1; return 0; }
    for (t = 0; t < 40; t++) {
        int tok = (t * 7 + 3) % a->cfg.vocab_size;
        const float *la = rnn_lm_step(a, sa, tok), *lb = rnn_lm_step(b, sb, tok);
        if (!la || !lb) { *bad = 1; break; }
        for (v = 0; v < a->cfg.vocab_size; v++) {
            if (fabs(la[v] - lb[v]) > worst || la[v] != la[v]) worst = la[v] == la[v] ? fabs(la[v] - lb[v]) : 1e9;
            if (fabs(lb[v]) > mx) mx = fabs(lb[v]);
        }
    }
    rnn_lm_state_free(sa);
    rnn_lm_state_free(sb);
    *scale = mx;
    return worst;
}

/* Copies every tensor and metadata entry of f into a new file at path,
   with one change: an I8 byte set to -128 (what 1), a scale made negative
   (2), a scale tensor left out (3), metadata quantized = "int4" (4). */
static int q8_mutate(rnn_st_file *f, const char *path, int what) {
    rnn_st_writer w;
    void **bufs = NULL;
    ptrdiff_t i;
    int d, ok;
    memset(&w, 0, sizeof w);
    for (i = 0; i < stbds_arrlen(f->meta); i++)
        if (strcmp(f->meta[i].key, "writer") && strcmp(f->meta[i].key, "crc32"))
            rnn_st_put_meta(&w, f->meta[i].key, what == 4 && !strcmp(f->meta[i].key, "quantized") ? "int4" : f->meta[i].value);
    for (i = 0; i < stbds_arrlen(f->tensors); i++) {
        const rnn_st_tensor *t = &f->tensors[i];
        int dims[8];
        size_t count = 1;
        void *b;
        for (d = 0; d < t->ndim; d++) { dims[d] = (int)t->dims[d]; count *= t->dims[d]; }
        if (what == 3 && !strcmp(t->name, "head.weight.scale")) continue;
        b = malloc(count * 4 + 1);
        stbds_arrput(bufs, b);
        if (!strcmp(t->dtype, "I8")) {
            rnn_st_read_i8(f, t->name, t->ndim, dims, (int8_t *)b);
            if (what == 1 && !strcmp(t->name, "rnn.weight_hh_l0")) ((int8_t *)b)[5] = -128;
            rnn_st_put_tensor_i8(&w, t->name, (const int8_t *)b, t->ndim, dims);
        } else {
            rnn_st_read(f, t->name, t->ndim, dims, (float *)b);
            if (what == 2 && !strcmp(t->name, "rnn.weight_ih_l0.scale")) ((float *)b)[1] = -0.5f;
            rnn_st_put_tensor(&w, t->name, (const float *)b, t->ndim, dims);
        }
    }
    ok = rnn_st_save(&w, path) == RNN_OK;
    rnn_st_writer_free(&w);
    for (i = 0; i < stbds_arrlen(bufs); i++) free(bufs[i]);
    stbds_arrfree(bufs);
    return ok;
}

static long q8_file_size(const char *path) {
    FILE *f = fopen(path, "rb");
    long n;
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fclose(f);
    return n;
}

static void test_int8_lm(void) {
    /* every cell; a vocabulary with the gate table and one without;
       H = 20 puts GRU_CHO's candidate rows (from 40) in a panel of their own */
    static const struct { rnn_cell cell; int V, E, H, L; } cases[] = {
        {RNN_LSTM, 40, 16, 64, 2}, {RNN_GRU, 40, 16, 48, 2},  {RNN_GRU_CHO, 30, 12, 20, 2},
        {RNN_TANH, 25, 8, 33, 1},  {RNN_RELU, 25, 8, 40, 2},  {RNN_LSTM, 9000, 24, 40, 2},
        {RNN_GRU_CHO, 9000, 10, 36, 1}};
    const char *path = "build/test-int8.safetensors", *fpath = "build/test-int8-f32.safetensors";
    const char *bad = "build/test-int8-bad.safetensors";
    int c;
    for (c = 0; c < (int)(sizeof cases / sizeof cases[0]); c++) {
        rnn_lm_config cfg;
        rnn_lm *a = NULL, *b = NULL, *ld = NULL;
        rnn_lm_state *early = NULL;
        double worst, mx, worst_t;
        int badrun, okl, oks, okf = 1, okt, lv;
        char name[128], err[200];
        long before;
        memset(&cfg, 0, sizeof cfg);
        cfg.vocab_size = cases[c].V; cfg.embed_size = cases[c].E; cfg.hidden_size = cases[c].H;
        cfg.num_layers = cases[c].L; cfg.cell = cases[c].cell;
        if (rnn_lm_create(&a, &cfg, 5 + c) != RNN_OK || rnn_lm_create(&b, &cfg, 5 + c) != RNN_OK) {
            check(0, "int8: models", 0); rnn_lm_free(a); rnn_lm_free(b); continue;
        }
        rnn_lm_save(a, NULL, fpath);
        rnn_lm_state_create(a, &early);
        if (rnn_lm_quantize(a, NULL, 0) != RNN_OK || !rnn_lm_is_quantized(a) || rnn_lm_is_quantized(b)) okf = 0;
        if (rnn_lm_quantize(a, NULL, 0) != RNN_ERR_INVALID_ARGUMENT || !said(a->error, "int8 already")) okf = 0;
        if (rnn_lm_step(a, early, 1) != NULL) okf = 0;   /* a state of the float model */
        rnn_lm_state_free(early);
        /* b: the float model with the very weights the int8 ones stand for */
        {
            ptrdiff_t i;
            for (i = 0; i < stbds_arrlen(a->params); i++)
                memcpy(b->params[i].value, a->params[i].value, sizeof(float) * a->params[i].count);
            rnn_lm_weights_changed(b);
        }
        /* what differs is only each token's activations rounded to int8 */
        worst = q8_run(a, b, &mx, &badrun);
        snprintf(name, sizeof name, "int8 %s V%d H%d L%d: logits = float ones (same weights) within 1%%",
                 cell_name(cases[c].cell), cases[c].V, cases[c].H, cases[c].L);
        check(!badrun && worst <= 0.01 * (1 + mx), name, worst / (1 + mx));
        {   /* two levels: the input's rounding error quantized again, so far closer */
            double mx2, worst2;
            int bad2, okp = rnn_lm_int8_precise(a, 1) == RNN_OK && rnn_lm_int8_precise(b, 1) == RNN_ERR_INVALID_ARGUMENT &&
                            said(b->error, "not an int8 model");
            worst2 = q8_run(a, b, &mx2, &bad2);
            snprintf(name, sizeof name, "int8 %s V%d: two levels (rnn_lm_int8_precise) 100x closer to the float logits",
                     cell_name(cases[c].cell), cases[c].V);
            check(okp && !bad2 && worst2 * 100 <= worst, name, worst2 / (worst + 1e-30));
        }
        /* tasks: whole panels shared out, the same sums (two levels, then one) */
        for (lv = 2; lv >= 1; lv--) {
        rnn_lm_int8_precise(a, lv == 2);
        rnn_set_parallel(q8_serial, NULL, 3);
        worst_t = q8_run(a, a, &mx, &badrun);
        {
            rnn_lm_state *s1 = NULL, *s3 = NULL;
            int t, v;
            okt = !badrun && rnn_lm_state_create(a, &s1) == RNN_OK && rnn_lm_state_create(a, &s3) == RNN_OK;
            for (t = 0; okt && t < 20; t++) {
                const float *l3, *l1;
                float keep[9000];
                rnn_set_parallel(q8_serial, NULL, 3);
                l3 = rnn_lm_step(a, s3, t % cases[c].V);
                memcpy(keep, l3, sizeof(float) * cases[c].V);
                rnn_set_parallel(NULL, NULL, 1);
                l1 = rnn_lm_step(a, s1, t % cases[c].V);
                for (v = 0; v < cases[c].V; v++) okt &= l1[v] == keep[v];
            }
            if (okt) {   /* and no allocation a token */
                before = g_allocs;
                for (t = 0; t < 10; t++) rnn_lm_step(a, s1, t % cases[c].V);
                okt = g_allocs == before;
            }
            rnn_lm_state_free(s1); rnn_lm_state_free(s3);
            rnn_set_parallel(NULL, NULL, 1);
        }
        snprintf(name, sizeof name, "int8 %s V%d, %d level%s: 3 tasks = 1 bit for bit, no allocation a token",
                 cell_name(cases[c].cell), cases[c].V, lv, lv > 1 ? "s" : "");
        check(okt && worst_t == 0, name, worst_t);
        }
        /* the checkpoint: I8 + scales, about a quarter, read back exactly */
        oks = rnn_lm_save(a, NULL, path) == RNN_OK;
        okl = oks && rnn_lm_load(&ld, NULL, path, err, sizeof err) == RNN_OK && rnn_lm_is_quantized(ld);
        worst = okl ? q8_run(a, ld, &mx, &badrun) : 1;
        snprintf(name, sizeof name, "int8 %s V%d: saved and loaded, the same logits bit for bit (%.0f%% of F32)",
                 cell_name(cases[c].cell), cases[c].V, 100.0 * q8_file_size(path) / q8_file_size(fpath));
        {   /* the data: n·(k + 4) bytes a matrix (I8 and the scales), 4 a vector value; then the header */
            ptrdiff_t i;
            long data = 0, got = q8_file_size(path);
            for (i = 0; i < stbds_arrlen(a->params); i++)
                data += a->params[i].cols ? (long)a->params[i].rows * (a->params[i].cols + 4) : 4L * (long)a->params[i].count;
            check(okl && !badrun && worst == 0 && got > data && got < data + 8192, name, worst);
        }
        {   /* training refuses; the optimizer state is not saved with it */
            int in[4] = {1, 2, 3, 4}, tg[4] = {2, 3, 4, 5};
            float loss;
            rnn_optimizer *opt = NULL;
            rnn_optimizer_config oc;
            memset(&oc, 0, sizeof oc);
            okf &= rnn_lm_train_step(a, NULL, in, tg, 2, 2, &loss) == RNN_ERR_INVALID_ARGUMENT && said(a->error, "int8");
            okf &= ld && rnn_lm_train_step(ld, NULL, in, tg, 2, 2, &loss) == RNN_ERR_INVALID_ARGUMENT;
            okf &= rnn_lm_eval(a, in, tg, 2, 2, &loss) == RNN_OK && loss == loss;
            rnn_optimizer_create(&opt, &oc, a->params);
            okf &= rnn_lm_save(a, opt, bad) == RNN_ERR_INVALID_ARGUMENT && said(a->error, "int8");
            rnn_optimizer_free(opt);
        }
        snprintf(name, sizeof name, "int8 %s: training and saving an optimizer refused, eval runs", cell_name(cases[c].cell));
        check(okf, name, 0);
        if (c == 0) {   /* bad int8 files: each fault named */
            static const struct { int what; rnn_status st; const char *part; } faults[] = {
                {1, RNN_ERR_FORMAT, "-128"}, {2, RNN_ERR_FORMAT, "scale"}, {3, RNN_ERR_SHAPE, "head.weight.scale"},
                {4, RNN_ERR_METADATA, "int4"}};
            rnn_st_file f;
            int k, okb = 1;
            memset(&f, 0, sizeof f);
            okb = rnn_st_open(&f, path) == RNN_OK;
            for (k = 0; okb && k < 4; k++) {
                rnn_lm *x = NULL;
                rnn_status st;
                okb &= q8_mutate(&f, bad, faults[k].what);
                st = rnn_lm_load(&x, NULL, bad, err, sizeof err);
                if (st != faults[k].st || !said(err, faults[k].part) || x) { okb = 0; printf("       %d: %s\n", k, err); }
                rnn_lm_free(x);
            }
            {   /* the generic floor: I8 read as I8 only, and not as floats */
                int8_t b8[4];
                float fl[4];
                int d[2];
                d[0] = cases[c].V; d[1] = cases[c].E;
                okb &= rnn_st_read_i8(&f, "head.bias", 1, d, b8) == RNN_ERR_DTYPE;
                okb &= rnn_st_read(&f, "embedding.weight", 2, d, fl) == RNN_ERR_DTYPE && said(f.error, "I8");
            }
            rnn_st_close(&f);
            check(okb, "int8: bad files (-128, negative scale, no scale, int4) refused by name; I8 read as I8 only", 0);
        }
        rnn_lm_free(a); rnn_lm_free(b); rnn_lm_free(ld);
    }
    remove(path); remove(fpath); remove(bad);
}

/* tests/data/lm_int8.safetensors: lm_torch.safetensors through `textgen
   quantize`, committed. Reading it must give the model that quantizing
   lm_torch in memory gives, bit for bit: the format and the rounding stay
   as they were written. */
static void test_int8_fixture(void) {
    rnn_lm *a = NULL, *b = NULL;
    char err[200];
    double worst = 1, mx;
    int bad = 1, ok = rnn_lm_load(&a, NULL, "tests/data/lm_int8.safetensors", err, sizeof err) == RNN_OK &&
                      rnn_lm_load(&b, NULL, "tests/data/lm_torch.safetensors", err, sizeof err) == RNN_OK &&
                      rnn_lm_is_quantized(a) && rnn_lm_quantize(b, NULL, 0) == RNN_OK;
    if (ok) worst = q8_run(a, b, &mx, &bad);
    check(ok && !bad && worst == 0, "int8: the committed int8 file = lm_torch quantized now, bit for bit", worst);
    rnn_lm_free(a);
    rnn_lm_free(b);
}

/* Calibration (GPTQ rounding, then bias correction): over the tokens it
   read, the int8 model's logits sit closer to the float model's (summed
   squares), for every cell; a bad token is refused by position and
   nothing changes. */
static void test_int8_calibration(void) {
    static const rnn_cell cells[] = {RNN_LSTM, RNN_GRU, RNN_GRU_CHO, RNN_TANH};
    int c, ok = 1, tok[400], i;
    double worst = 0;
    for (i = 0; i < 400; i++) tok[i] = (i * 7 + i / 13) % 20;
    for (c = 0; c < 4; c++) {
        rnn_lm_config cfg;
        rnn_lm *f = NULL, *plain = NULL, *cal = NULL;
        double e[2] = {0, 0};
        int k, t, v;
        memset(&cfg, 0, sizeof cfg);
        cfg.vocab_size = 20; cfg.embed_size = 8; cfg.hidden_size = 24; cfg.num_layers = 2; cfg.cell = cells[c];
        rnn_lm_create(&f, &cfg, 9); rnn_lm_create(&plain, &cfg, 9); rnn_lm_create(&cal, &cfg, 9);
        {   /* push the states off zero: larger biases, as training leaves them */
            ptrdiff_t p;
            for (p = 0; p < stbds_arrlen(f->params); p++)
                if (!f->params[p].cols) {
                    size_t j;
                    for (j = 0; j < f->params[p].count; j++)
                        f->params[p].value[j] = plain->params[p].value[j] = cal->params[p].value[j] = 0.4f + 0.02f * (float)(j % 7);
                }
        }
        if (c == 0) {
            int badtok[3] = {1, 20, 2};
            ok &= rnn_lm_quantize(cal, badtok, 3) == RNN_ERR_INVALID_ARGUMENT && said(cal->error, "token 1 is 20") &&
                  !rnn_lm_is_quantized(cal);
        }
        ok &= rnn_lm_quantize(plain, NULL, 0) == RNN_OK && rnn_lm_quantize(cal, tok, 400) == RNN_OK;
        for (k = 0; k < 2; k++) {
            rnn_lm_state *sf, *sq;
            rnn_lm_state_create(f, &sf);
            rnn_lm_state_create(k ? cal : plain, &sq);
            for (t = 0; t < 400; t++) {
                const float *lf = rnn_lm_step(f, sf, tok[t]), *lq = rnn_lm_step(k ? cal : plain, sq, tok[t]);
                for (v = 0; v < 20; v++) e[k] += (double)(lf[v] - lq[v]) * (lf[v] - lq[v]);
            }
            rnn_lm_state_free(sf); rnn_lm_state_free(sq);
        }
        if (!(e[1] < e[0])) { ok = 0; printf("       %s: calibrated %g, plain %g\n", cell_name(cells[c]), e[1], e[0]); }
        if (e[1] / e[0] > worst) worst = e[1] / e[0];
        rnn_lm_free(f); rnn_lm_free(plain); rnn_lm_free(cal);
    }
    check(ok, "int8: calibration brings the logits closer (4 cells), bad token refused", worst);
}

/* GPTQ rounding: over the inputs whose moments it was given, a row's
   error is smaller than nearest rounding's; with moments of independent
   unit inputs (A = I) it is nearest rounding. */
static void test_int8_gptq(void) {
    enum { R = 6, K = 24, N = 300 };
    static float W[R * K], X[N * K], sc[R];
    static double A[K * K], eye[K * K], scratch[2 * K * K + K];
    static signed char nearest[R * K], g[R * K], gi[R * K];
    rnn_rng r;
    double e[2] = {0, 0};
    int i, j, t, k, same;
    rnn_rng_seed(&r, 17);
    for (i = 0; i < R * K; i++) W[i] = frand(&r, -1, 1);
    for (t = 0; t < N; t++) {   /* correlated inputs: a shared part and a private one */
        float common = frand(&r, -1, 1);
        for (i = 0; i < K; i++) X[t * K + i] = 0.8f * common + 0.3f * frand(&r, -1, 1) + (i % 3 == 0 ? 0.5f : 0.0f);
    }
    for (i = 0; i < K; i++)
        for (j = 0; j < K; j++) {
            for (t = 0; t < N; t++) A[i * K + j] += (double)X[t * K + i] * X[t * K + j] / N;
            eye[i * K + j] = i == j;
        }
    rnn__q8_quantize_rows(W, R, K, nearest, sc);
    memcpy(g, nearest, sizeof g);
    memcpy(gi, nearest, sizeof gi);
    rnn__q8_gptq(W, R, K, A, sc, g, scratch);
    rnn__q8_gptq(W, R, K, eye, sc, gi, scratch);
    for (k = 0; k < 2; k++)
        for (j = 0; j < R; j++)
            for (t = 0; t < N; t++) {
                double d = 0;
                for (i = 0; i < K; i++) d += ((double)W[j * K + i] - sc[j] * (k ? g : nearest)[j * K + i]) * X[t * K + i];
                e[k] += d * d;
            }
    same = !memcmp(gi, nearest, sizeof nearest);
    check(e[1] < 0.8 * e[0] && same, "int8: GPTQ rounding beats nearest on its inputs; = nearest for A = I", e[1] / e[0]);
}

static void test_int8(void) {
    test_int8_kernels();
    test_int8_vector_finish();
    test_int8_gptq();
    test_int8_calibration();
    test_int8_lm();
    test_int8_fixture();
}
