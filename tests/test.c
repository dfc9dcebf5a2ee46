/* tests/test.c - the one test runner of rnn.h.

   Each check prints OK or NOT OK with its name and the worst error it saw;
   the last line is "N passed, N failed". `make test` builds this file with
   every compiler and mode (tests/legs.sh) and runs it in each.

   Usage: test [FILTER]   run only the groups whose name contains FILTER */
#include <stdlib.h>

/* The allocator hooks, counting, so tests can check what allocates. */
static long g_allocs;
static void *count_malloc(size_t n) { g_allocs++; return malloc(n); }
static void *count_realloc(void *p, size_t n) { g_allocs++; return realloc(p, n); }
#define RNN_MALLOC(n) count_malloc(n)
#define RNN_REALLOC(p, n) count_realloc(p, n)
#define RNN_FREE(p) free(p)

#define RNN_IMPLEMENTATION
#define STB_DS_IMPLEMENTATION
#include "../rnn.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_pass, g_fail;

/* Records one check; prints its name, the worst error and the verdict. */
static void check(int ok, const char *name, double worst) {
    if (ok) g_pass++; else g_fail++;
    printf("%-6s %-58s worst %.3g\n", ok ? "OK" : "NOT OK", name, worst);
}

static float frand(rnn_rng *r, float lo, float hi) { return lo + (hi - lo) * rnn_rng_uniform(r); }

/* ---- core ------------------------------------------------------------- */

static void test_core(void) {
    rnn_rng a, b;
    int i, same = 1, inrange = 1, distinct = 1;
    double mean = 0, var = 0;
    const char *msgs[RNN_STATUS_COUNT];
    for (i = 0; i < RNN_STATUS_COUNT; i++) {
        int j;
        msgs[i] = rnn_strerror((rnn_status)i);
        for (j = 0; j < i; j++) distinct &= strcmp(msgs[i], msgs[j]) != 0;
    }
    check(distinct && strcmp(rnn_strerror((rnn_status)99), "unknown status code") == 0,
          "rnn_strerror names each status", 0);
    rnn_rng_seed(&a, 42); rnn_rng_seed(&b, 42);
    for (i = 0; i < 1000; i++) same &= rnn_rng_u64(&a) == rnn_rng_u64(&b);
    rnn_rng_seed(&b, 43);
    check(same && rnn_rng_u64(&a) != rnn_rng_u64(&b), "rng: same seed same stream, other seed other", 0);
    rnn_rng_seed(&a, 1);
    for (i = 0; i < 100000; i++) {
        float u = rnn_rng_uniform(&a);
        inrange &= u >= 0.0f && u < 1.0f;
    }
    for (i = 0; i < 100000; i++) {
        double z = rnn_rng_normal(&a);
        mean += z; var += z * z;
    }
    mean /= 100000; var = var / 100000 - mean * mean;
    /* 100000 samples: the mean's standard error is 0.003. */
    check(inrange && fabs(mean) < 0.02 && fabs(var - 1.0) < 0.03, "rng: uniform in [0,1), normal N(0,1)",
          fabs(var - 1.0));
    check(rnn_crc32(0, "123456789", 9) == 0xCBF43926u && rnn_crc32(rnn_crc32(0, "1234", 4), "56789", 5) == 0xCBF43926u,
          "rnn_crc32: the CRC-32 check value, in one call or two", 0);
    /* splitmix64's published first output for seed 0. */
    rnn_rng_seed(&a, 0);
    check(rnn_rng_u64(&a) == 0xE220A8397B1DCDAFull, "rng: splitmix64 reference value", 0);
}

/* ---- matrix product --------------------------------------------------- */

/* Compares rnn_sgemm with a double-precision loop on one shape. The bound is
   the classic one for a float dot product of length k: (k+2)·ε·Σ|a||b|.
   Returns 1 when every element of C is within it and no padding changed. */
static int gemm_case(rnn_rng *r, int ta, int tb, int m, int n, int k, float alpha, float beta,
                     int pad, int nan_c, double *worst) {
    int lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
    int arows = ta ? k : m, brows = tb ? n : k;
    float *a = (float *)malloc(sizeof(float) * ((size_t)arows * lda + 1));
    float *b = (float *)malloc(sizeof(float) * ((size_t)brows * ldb + 1));
    float *c = (float *)malloc(sizeof(float) * ((size_t)m * ldc + 1));
    float *c0 = (float *)malloc(sizeof(float) * ((size_t)m * ldc + 1));
    int i, j, p, ok = 1;
    for (i = 0; i < arows * lda; i++) a[i] = frand(r, -1, 1);
    for (i = 0; i < brows * ldb; i++) b[i] = frand(r, -1, 1);
    for (i = 0; i < m * ldc; i++) c[i] = c0[i] = nan_c ? NAN : frand(r, -1, 1);
    rnn_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    for (i = 0; i < m; i++) {
        for (j = 0; j < ldc; j++) {
            double s = 0, sa = 0, want, err, tol;
            if (j >= n) { /* padding must be untouched */
                if (memcmp(&c[i * ldc + j], &c0[i * ldc + j], sizeof(float)) != 0) ok = 0;
                continue;
            }
            for (p = 0; p < k; p++) {
                double x = ta ? a[p * lda + i] : a[i * lda + p];
                double y = tb ? b[j * ldb + p] : b[p * ldb + j];
                s += x * y; sa += fabs(x * y);
            }
            want = alpha * s + (beta == 0.0f ? 0.0 : beta * (double)c0[i * ldc + j]);
            err = fabs(c[i * ldc + j] - want);
            tol = (k + 2) * 1.2e-7 * (fabs(alpha) * sa + (beta == 0.0f ? 0.0 : fabs(beta * c0[i * ldc + j]))) + 1e-30;
            if (!(err <= tol)) ok = 0;
            if (err / (fabs(alpha) * sa + fabs(beta) + 1e-30) > *worst)
                *worst = err / (fabs(alpha) * sa + fabs(beta) + 1e-30);
        }
    }
    free(a); free(b); free(c); free(c0);
    return ok;
}

static int g_calls;
static void counting_sgemm(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                           const float *b, int ldb, float beta, float *c, int ldc) {
    g_calls++;
    rnn_sgemm_builtin(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

static void test_sgemm(void) {
    rnn_rng r;
    int t, ok[4] = {1, 1, 1, 1}, nshapes = 0, okfix = 1, oknan = 1, okab = 1;
    double worst[4] = {0, 0, 0, 0}, w = 0;
    char name[96];
    const char *simd = rnn_simd_name();
    /* Shapes chosen to hit every path: m = 1 (one token), small m with both
       B layouts (the dot-product and in-place paths), edge tiles in both
       directions, depth and column block boundaries (KC = 256, NC = 512). */
    static const int fixed[][3] = {
        {1, 1, 1}, {1, 1024, 256}, {1, 37, 300}, {1, 513, 17}, {2, 3, 4}, {4, 4, 16},
        {5, 7, 33}, {8, 64, 512}, {13, 33, 257}, {32, 128, 128}, {31, 100, 77},
        {48, 48, 48}, {49, 31, 65}, {64, 96, 130}, {65, 70, 20}, {12, 32, 256}, {24, 64, 513},
        {100, 530, 260}, {37, 1030, 9}, {130, 40, 600}, {200, 200, 200}};
    rnn_rng_seed(&r, 7);
    check(strcmp(simd, "avx512") == 0 || strcmp(simd, "avx2") == 0 || strcmp(simd, "sse2") == 0 ||
              strcmp(simd, "neon") == 0 || strcmp(simd, "scalar") == 0,
          "rnn_simd_name is one of the five paths", 0);
    printf("       simd path: %s\n", simd);
#if !defined(RNN_NO_SIMD) && !defined(__TINYC__) && (defined(__aarch64__) || defined(__x86_64__))
    check(strcmp(simd, "scalar") != 0, "a SIMD path runs on this CPU (NEON on aarch64)", 0);
#endif
    for (t = 0; t < (int)(sizeof fixed / sizeof fixed[0]); t++) {
        int v;
        for (v = 0; v < 4; v++)
            okfix &= gemm_case(&r, v & 1, v >> 1, fixed[t][0], fixed[t][1], fixed[t][2], 1.0f, 0.0f,
                               t % 3, 0, &w);
    }
    check(okfix, "sgemm: fixed shapes over every path, 4 transposes", w);
    /* Hundreds of random shapes 1..300, skewed small so the double reference
       stays cheap under qemu and the sanitizers. */
    for (t = 0; t < 400; t++) {
        int ta = t & 1, tb = (t >> 1) & 1;
        float u1 = rnn_rng_uniform(&r), u2 = rnn_rng_uniform(&r), u3 = rnn_rng_uniform(&r);
        int m = 1 + (int)(299 * u1 * u1 * u1), n = 1 + (int)(299 * u2 * u2), k = 1 + (int)(299 * u3 * u3);
        float alphas[4] = {1.0f, 0.5f, -1.25f, 1.0f}, betas[4] = {0.0f, 1.0f, 0.0f, -0.75f};
        int pad = (int)(rnn_rng_u64(&r) % 5);
        ok[t & 3] &= gemm_case(&r, ta, tb, m, n, k, alphas[(t >> 2) & 3], betas[(t >> 4) & 3], pad, 0,
                               &worst[t & 3]);
        nshapes++;
    }
    for (t = 0; t < 4; t++) {
        sprintf(name, "sgemm: %d random shapes, trans_a=%d trans_b=%d", nshapes / 4, t & 1, t >> 1);
        check(ok[t], name, worst[t]);
    }
    w = 0;
    for (t = 0; t < 16; t++)
        oknan &= gemm_case(&r, t & 1, (t >> 1) & 1, 1 + t * 7, 3 + t * 5, 1 + t * 9, 1.0f, 0.0f, 1, 1, &w);
    check(oknan, "sgemm: beta = 0 ignores NaN in C", w);
    w = 0;
    for (t = 0; t < 8; t++) {
        okab &= gemm_case(&r, t & 1, t >> 2, 9, 11, 13, 0.0f, 0.5f, 2, 0, &w);
        okab &= gemm_case(&r, t & 1, t >> 2, 9, 11, 0, 1.0f, (t & 2) ? 0.0f : 2.0f, 2, 0, &w);
    }
    check(okab, "sgemm: alpha = 0 and k = 0 scale C by beta", w);
    {
        float a[6] = {1, 2, 3, 4, 5, 6}, c[4] = {0, 0, 0, 0};
        g_calls = 0;
        rnn_set_sgemm(counting_sgemm);
        rnn_sgemm(0, 1, 2, 2, 3, 1.0f, a, 3, a, 3, 0.0f, c, 2);
        rnn_set_sgemm(NULL);
        rnn_sgemm(0, 1, 2, 2, 3, 1.0f, a, 3, a, 3, 0.0f, c, 2);
        check(g_calls == 1 && c[0] == 14.0f && c[1] == 32.0f && c[3] == 77.0f,
              "rnn_set_sgemm routes products, NULL restores", 0);
    }
}

/* ---- element-wise ------------------------------------------------------ */

static double sig_ref(double x) { return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x)); }

/* Checks f against ref on a sweep over all finite floats (every 4099th bit
   pattern, both signs) plus hand-picked values: relative error <= rel, or
   absolute error <= absol for results near 0. */
static void elementwise_case(const char *name, void (*f)(float *, const float *, size_t),
                             double (*ref)(double), double rel, double absol, float lo, float hi) {
    static const float special[] = {0.0f, -0.0f, 1e-45f, -1e-45f, 1e-39f, -1e-39f, 1.17e-38f, 1e-30f,
                                    1e-7f, -1e-7f, 0.3f, -0.3f, 0.62499f, 0.625f, -0.625f, 0.62501f,
                                    1.0f, -1.0f, 9.0f, 9.2f, -9.2f, 20.0f, -20.0f, 87.0f, -87.0f,
                                    88.7f, -88.7f, -100.0f, -103.9f, 100.0f, -104.5f, 1e30f, -1e30f};
    size_t n = 0, cap = 2 * (0x7F800000u / 4099 + 2) + sizeof special / sizeof special[0], i;
    float *x = (float *)malloc(cap * sizeof(float)), *y = (float *)malloc(cap * sizeof(float));
    uint32_t u;
    double worst = 0;
    int ok = 1;
    char full[96];
    for (u = 0; u < 0x7F800000u; u += 4099) {
        float v;
        memcpy(&v, &u, 4);
        if (v >= lo && v <= hi) x[n++] = v;
        if (-v >= lo && -v <= hi) x[n++] = -v;
    }
    for (i = 0; i < sizeof special / sizeof special[0]; i++)
        if (special[i] >= lo && special[i] <= hi) x[n++] = special[i];
    f(y, x, n);
    for (i = 0; i < n; i++) {
        double want = ref(x[i]), err = fabs(y[i] - want);
        if (err > absol && err > rel * fabs(want)) {
            if (ok) printf("       first miss: x=%.9g got %.9g want %.9g\n", x[i], y[i], want);
            ok = 0;
        }
        if (fabs(want) > 1e-30 && err / fabs(want) > worst) worst = err / fabs(want);
    }
    /* In place, and an odd length (the vector tail). */
    memcpy(y, x, 37 * sizeof(float));
    f(y, y, 37);
    for (i = 0; i < 37; i++) {
        double want = ref(x[i]), err = fabs(y[i] - want);
        if (err > absol && err > rel * fabs(want)) ok = 0;
    }
    sprintf(full, "%s vs double libm (%zu values, rel)", name, n);
    check(ok, full, worst);
    free(x); free(y);
}

static void elementwise_specials(void) {
    float x[6] = {INFINITY, -INFINITY, NAN, 0.0f, -0.0f, 5.0f}, y[6];
    int ok;
    rnn_sigmoid(y, x, 6);
    ok = y[0] == 1.0f && y[1] == 0.0f && y[2] != y[2] && y[3] == 0.5f;
    rnn_tanh(y, x, 6);
    ok &= y[0] == 1.0f && y[1] == -1.0f && y[2] != y[2] && y[3] == 0.0f && signbit(y[4]);
    rnn_exp(y, x, 6);
    ok &= y[0] == INFINITY && y[1] == 0.0f && y[2] != y[2] && y[3] == 1.0f;
    rnn_relu(y, x, 6);
    ok &= y[0] == INFINITY && y[1] == 0.0f && y[3] == 0.0f && y[5] == 5.0f;
    check(ok, "sigmoid/tanh/exp/relu at inf, -inf, NaN, +-0", 0);
}

static void test_softmax(void) {
    static const int lens[] = {1, 2, 7, 16, 37, 1000};
    rnn_rng r;
    int t, ok = 1;
    double worst = 0;
    rnn_rng_seed(&r, 3);
    for (t = 0; t < 6 * 3; t++) {
        int n = lens[t % 6], i;
        float scale = t / 6 == 0 ? 1.0f : t / 6 == 1 ? 30.0f : 1000.0f;
        float *x = (float *)malloc(n * sizeof(float)), *p = (float *)malloc(n * sizeof(float)),
              *lp = (float *)malloc(n * sizeof(float));
        double mx = -1e300, s = 0;
        for (i = 0; i < n; i++) { x[i] = frand(&r, -scale, scale); mx = x[i] > mx ? x[i] : mx; }
        for (i = 0; i < n; i++) s += exp(x[i] - mx);
        rnn_softmax(p, x, n);
        rnn_log_softmax(lp, x, n);
        for (i = 0; i < n; i++) {
            double wp = exp(x[i] - mx) / s, wl = x[i] - mx - log(s);
            double ep = fabs(p[i] - wp), el = fabs(lp[i] - wl);
            /* x - max is rounded to float, as in any float softmax: that
               alone costs |x - max|·ε relative. */
            double rel = 1e-6 + 1.2e-7 * fabs(x[i] - mx);
            if (ep > rel * wp + 1e-37 || el > 2e-6 * (fabs(wl) + 1)) { if (ok) printf("n=%d x=%g p=%g wp=%g lp=%g wl=%g\n", n, x[i], p[i], wp, lp[i], wl); ok = 0; }
            if (ep / (wp + 1e-30) / rel > worst) worst = ep / (wp + 1e-30) / rel;
        }
        free(x); free(p); free(lp);
    }
    check(ok, "softmax and log-softmax vs double, logits up to +-1000 (err/tol)", worst);
}

static void test_elementwise(void) {
    elementwise_case("exp", rnn_exp, exp, 3e-7, 2e-38, -FLT_MAX, 88.5f);
    elementwise_case("sigmoid", rnn_sigmoid, sig_ref, 4e-7, 2e-38, -FLT_MAX, FLT_MAX);
    elementwise_case("tanh", rnn_tanh, tanh, 4e-7, 2e-38, -FLT_MAX, FLT_MAX);
    elementwise_specials();
    test_softmax();
    if (rnn__best_arch()->lstm_bwd != rnn__lstm_bwd_c) {
        /* the vector LSTM passes = the scalar ones (to rounding: a compiler
           may fuse a multiply and an add); paths without them use the
           scalar ones */
        enum { H = 37 };
        float gt[4 * H], tc[H], cp[H], dh[H], dc1[H], dc2[H], d1[4 * H], d2[4 * H];
        rnn_rng rg;
        char name[96];
        int j;
        double worst = 0;
        rnn_rng_seed(&rg, 5);
        for (j = 0; j < 4 * H; j++) gt[j] = rnn_rng_uniform(&rg);
        for (j = 0; j < H; j++) {
            tc[j] = 2 * rnn_rng_uniform(&rg) - 1; cp[j] = rnn_rng_normal(&rg); dh[j] = rnn_rng_normal(&rg);
            dc1[j] = dc2[j] = rnn_rng_normal(&rg);
        }
        rnn__lstm_bwd_c(H, gt, tc, cp, dh, dc1, d1);
        rnn__best_arch()->lstm_bwd(H, gt, tc, cp, dh, dc2, d2);
        for (j = 0; j < 5 * H; j++) {   /* (an fmax reduction here crashes aarch64 gcc 12's vectoriser) */
            double e = j < 4 * H ? fabs(d1[j] - d2[j]) / (1 + fabs(d1[j]))
                                 : fabs(dc1[j - 4 * H] - dc2[j - 4 * H]) / (1 + fabs(dc1[j - 4 * H]));
            if (e > worst) worst = e;
        }
        sprintf(name, "LSTM backward point-wise (%s) = the scalar pass", rnn_simd_name());
        check(worst < 1e-6, name, worst);
        {   /* and the forward: pre-activations over ±6, c normal */
            float g1[4 * H], g2[4 * H], c1[H], c2[H], t1[H], t2[H], h1[H], h2[H];
            worst = 0;
            for (j = 0; j < 4 * H; j++) g1[j] = g2[j] = 12 * rnn_rng_uniform(&rg) - 6;
            for (j = 0; j < H; j++) c1[j] = c2[j] = rnn_rng_normal(&rg);
            rnn__lstm_fwd_c(H, g1, c1, t1, h1);
            rnn__best_arch()->lstm_fwd(H, g2, c2, t2, h2);
            for (j = 0; j < 4 * H; j++) {
                double e = fabs(g1[j] - g2[j]) / (1 + fabs(g1[j]));
                if (j < H) {
                    double e2 = fabs(c1[j] - c2[j]) + fabs(t1[j] - t2[j]) + fabs(h1[j] - h2[j]);
                    if (e2 > e) e = e2;
                }
                if (e > worst) worst = e;
            }
            sprintf(name, "LSTM forward point-wise (%s) = the scalar pass", rnn_simd_name());
            check(worst < 1e-6, name, worst);
        }
        {   /* GRU, forward then backward on its output */
            float ga[3 * H], gb2[3 * H], hp[3 * H], ha[H], hb[H], na[H], nb[H], hprev[H];
            float dha[H], dhb[H], dia[3 * H], dib[3 * H], dqa[3 * H], dqb[3 * H];
            worst = 0;
            for (j = 0; j < 3 * H; j++) { ga[j] = gb2[j] = 8 * rnn_rng_uniform(&rg) - 4; hp[j] = rnn_rng_normal(&rg); }
            for (j = 0; j < H; j++) { ha[j] = hb[j] = hprev[j] = rnn_rng_normal(&rg); dha[j] = dhb[j] = rnn_rng_normal(&rg); }
            rnn__gru_fwd_c(H, ga, hp, na, ha);
            rnn__best_arch()->gru_fwd(H, gb2, hp, nb, hb);
            rnn__gru_bwd_c(H, ga, hprev, na, dha, dia, dqa);
            rnn__best_arch()->gru_bwd(H, ga, hprev, na, dhb, dib, dqb);
            for (j = 0; j < 3 * H; j++) {
                double e = fabs(ga[j] - gb2[j]) + fabs(dia[j] - dib[j]) + fabs(dqa[j] - dqb[j]);
                if (j < H) e += fabs(ha[j] - hb[j]) + fabs(na[j] - nb[j]) + fabs(dha[j] - dhb[j]);
                if (e > worst) worst = e;
            }
            sprintf(name, "GRU forward and backward point-wise (%s) = the scalar passes", rnn_simd_name());
            check(worst < 1e-6, name, worst);
        }
    }
}

/* ---- recurrent layers --------------------------------------------------- */

/* Central differences of f over every element of v against grad. */
typedef double (*loss_fn)(void *ctx);
static void fd_compare(loss_fn f, void *ctx, float *v, const float *grad, size_t n, float eps,
                       double abs_tol, double rel_tol, int *ok, double *worst) {
    size_t i;
    for (i = 0; i < n; i++) {
        float keep = v[i];
        double lp, lm, num, err;
        v[i] = keep + eps; lp = f(ctx);
        v[i] = keep - eps; lm = f(ctx);
        v[i] = keep;
        num = (lp - lm) / (2.0 * eps);
        err = fabs(num - grad[i]);
        if (err > abs_tol + rel_tol * fabs(num)) {
            if (*ok) printf("       first miss: element %zu numeric %.6g analytic %.6g\n", i, num, grad[i]);
            *ok = 0;
        }
        if (err / (fabs(num) + 1e-2) > *worst) *worst = err / (fabs(num) + 1e-2);
    }
}


static const char *cell_name(rnn_cell c) {
    static const char *n[] = {"default", "tanh", "relu", "lstm", "gru", "gru_cho"};
    return n[c];
}

/* Fixture file of tools/torch_fixtures.py: records name -> floats. */
typedef struct { char *buf; size_t size; } fixture;

static int fixture_load(fixture *f, const char *path) {
    FILE *fp = fopen(path, "rb");
    long n;
    f->buf = NULL; f->size = 0;
    if (!fp) return 0;
    fseek(fp, 0, SEEK_END); n = ftell(fp); fseek(fp, 0, SEEK_SET);
    f->buf = (char *)malloc((size_t)n);
    f->size = fread(f->buf, 1, (size_t)n, fp);
    fclose(fp);
    return f->size == (size_t)n && n > 8 && memcmp(f->buf, "RNNFIX1\n", 8) == 0;
}

/* The floats of record `name` (NULL if absent); *count gets their number.
   Copied out, since the file's floats are not aligned. */
static float *fixture_get(const fixture *f, const char *name, size_t *count) {
    size_t p = 8;
    while (p + 4 <= f->size) {
        uint32_t nl, cnt;
        memcpy(&nl, f->buf + p, 4);
        if (nl == 0 || p + 4 + nl + 4 > f->size) break;
        memcpy(&cnt, f->buf + p + 4 + nl, 4);
        if (strlen(name) == nl && memcmp(f->buf + p + 4, name, nl) == 0) {
            float *out = (float *)malloc(sizeof(float) * (cnt ? cnt : 1));
            memcpy(out, f->buf + p + 8 + nl, sizeof(float) * cnt);
            if (count) *count = cnt;
            return out;
        }
        p += 8 + nl + (size_t)cnt * 4;
    }
    return NULL;
}

/* Worst of |a - b| / max(1, |b|): relative, or absolute near 0. */
static double worst_err(const float *a, const float *b, size_t n) {
    double w = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]) / (fabs(b[i]) > 1 ? fabs(b[i]) : 1.0);
        if (!(e <= w)) w = e;   /* NaN counts as the worst */
    }
    return w;
}

/* Folds into *worst the error of got[n] against record "k.what"; a missing
   record counts as a failure unless optional. */
static void fixture_compare(const fixture *f, int k, const char *what, const float *got, size_t n,
                            int optional, double *worst) {
    char name[64];
    size_t cnt = 0;
    float *want;
    double e;
    sprintf(name, "%d.%s", k, what);
    want = fixture_get(f, name, &cnt);
    if (!want) { if (!optional) *worst = 1e9; return; }
    e = cnt == n ? worst_err(got, want, n) : 1e9;
    if (!(e <= *worst)) *worst = e;
    free(want);
}

/* For every parameter of r and record "k.NAME" (grads: "k.grad.NAME"):
   grads = 0 loads the record into the parameter, grads = 1 folds the error
   of the parameter's gradient against it into *worst; a missing or
   mis-sized record counts as a failure. */
static void fixture_params(const fixture *f, int k, rnn_recurrent *r, int grads, double *worst) {
    int i, np = r->cfg.num_layers * r->dirs * 4;
    for (i = 0; i < np; i++) {
        char pn[64], name[96];
        float *val, *g, *src;
        size_t cnt = 0, fcnt = 0;
        double e = 0;
        rnn_recurrent_param_name(r, i, pn, sizeof pn);
        sprintf(name, grads ? "%d.grad.%s" : "%d.%s", k, pn);
        src = fixture_get(f, name, &fcnt);
        if (rnn_recurrent_param(r, pn, &val, &g, &cnt) != RNN_OK || !src || cnt != fcnt) e = 1e9;
        else if (grads) e = worst_err(g, src, cnt);
        else memcpy(val, src, cnt * sizeof(float));
        if (!(e <= *worst)) *worst = e;
        free(src);
    }
}

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

static void test_recurrent(void) {
    test_recurrent_no_alloc();
    test_recurrent_parity();
    test_recurrent_gradcheck();
    test_recurrent_step();
    test_recurrent_init_and_errors();
}

/* ---- training stack: dense, embedding, losses, optimizers, LM, text ------ */

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
    {   /* the vector path: 37 elements (two 16-lane blocks and a tail) against double */
        float pv[37], gv[37];
        double pd[37], md[37] = {0}, vd[37] = {0}, worst = 0;
        rnn_param *rv = one_param(pv, gv, 37);
        int s2, q;
        oc.weight_decay = 0.01f;
        rnn_optimizer_create(&o, &oc, rv);
        for (q = 0; q < 37; q++) { pv[q] = (float)(pd[q] = 0.1 * q - 1.5); }
        for (s2 = 1; s2 <= 3; s2++) {
            for (q = 0; q < 37; q++) {
                double g;
                gv[q] = (float)(0.3 * sin(q + 2.0 * s2));
                g = gv[q] + 0.01 * (double)pv[q];
                md[q] = 0.9 * md[q] + 0.1 * g; vd[q] = 0.999 * vd[q] + 0.001 * g * g;
                pd[q] = pv[q] - 0.1 * (md[q] / (1 - pow(0.9, s2))) / (sqrt(vd[q] / (1 - pow(0.999, s2))) + 1e-8);
            }
            rnn_optimizer_step(o, rv, NULL);
            for (q = 0; q < 37; q++) if (fabs(pv[q] - pd[q]) > worst) worst = fabs(pv[q] - pd[q]);
        }
        check(worst < 2e-6, "Adam with L2 over 37 elements (the SIMD path) against double", worst);
        rnn_optimizer_free(o);
        stbds_arrfree(rv);
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
    ok &= rnn_optimizer_step(o, reg, NULL) == RNN_ERR_INVALID_ARGUMENT && p[0] == -0.5f;
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
        ok = (rnn__lm_tab_floats(c.m, c.T * c.B) > 0) == tab;
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

static void test_text(void) {
    const char *text = "h\xC3\xA9llo w\xC3\xB6rld \xE2\x9C\x93\xF0\x9F\x98\x80!";   /* héllo wörld ✓😀! */
    rnn_vocab v;
    int ids[32], ok, i;
    size_t n = 0, off = 0, need;
    char out[64];
    ok = rnn_vocab_from_text(&v, text, strlen(text), NULL) == RNN_OK && rnn_vocab_size(&v) == 12;
    ok &= rnn_vocab_encode(&v, text, strlen(text), ids, 32, &n, NULL) == RNN_OK && n == 15;
    need = rnn_vocab_decode(&v, ids, n, out, sizeof out);
    ok &= need == strlen(text) && strcmp(out, text) == 0;
    for (i = 1; i < rnn_vocab_size(&v); i++) ok &= v.chars[i - 1] < v.chars[i];
    check(ok, "char vocabulary: UTF-8 round trip, ids in code point order", 0);
    need = rnn_vocab_decode(&v, ids, n, out, 5);
    ids[0] = 99;
    ok = need == strlen(text) && strlen(out) == 4 && rnn_vocab_decode(&v, ids, 1, out, 8) == 3 &&
         !strcmp(out, "\xEF\xBF\xBD");
    check(ok, "decode: truncates with a NUL, unknown id becomes U+FFFD", 0);
    ok = rnn_vocab_encode(&v, "hlo?", 4, ids, 32, &n, &off) == RNN_ERR_INVALID_ARGUMENT && off == 3;
    check(ok, "encode: a character not in the vocabulary names its offset", (double)off);
    rnn_vocab_free(&v);
    {
        static const char *bad[] = {"ab\xC3(", "x\xC0\xAFy", "\xED\xA0\x80", "ok\xF4\x90\x80\x80", "\xE2\x82"};
        static const size_t at[] = {2, 1, 0, 2, 0};
        ok = 1;
        for (i = 0; i < 5; i++) {
            off = 99;
            ok &= rnn_vocab_from_text(&v, bad[i], strlen(bad[i]), &off) == RNN_ERR_FORMAT && off == at[i];
        }
        check(ok, "invalid UTF-8 (cut, overlong, surrogate, > U+10FFFF) is refused at its offset", 0);
    }
    {
        int data[100], in[5 * 3], tg[5 * 3], w, fresh[8];
        rnn_batcher bt;
        for (i = 0; i < 100; i++) data[i] = i;
        ok = rnn_batcher_init(&bt, data, 100, 5, 3) == RNN_OK && bt.stream_len == 33;
        for (w = 0; w < 8; w++) {
            fresh[w] = rnn_batcher_next(&bt, in, tg, NULL);
            if (w == 1) ok &= in[0] == 5 && in[1] == 38 && in[2 * 3 + 2] == 66 + 5 + 2 && tg[2] == 72;
            if (w == 0) ok &= in[0] == 0 && in[1] == 33 && tg[0] == 1 && in[4 * 3 + 1] == 37;
        }
        ok &= fresh[0] == 1 && fresh[1] == 0 && fresh[5] == 0 && fresh[6] == 1 && bt.epoch == 1;
        ok &= rnn_batcher_init(&bt, data, 10, 5, 3) == RNN_ERR_INVALID_ARGUMENT;
        ok &= rnn_batcher_split(1000, 0.05f) == 950 && rnn_batcher_split(1000, 0) == 1000 &&
              rnn_batcher_split(7, 0.5f) == 4 && rnn_batcher_split(10, NAN) == 10;
        check(ok, "batcher: B streams, windows of T, targets shifted, epochs, validation split", 0);
    }
    {
        FILE *f = fopen("build/test-vectors.txt", "w");
        float w[3 * 3] = {0}, g[9];
        rnn_embedding e;
        const char *vocab[3] = {"a", "b", "c"};
        int loaded = 0;
        char err[128];
        e.vocab_size = 3; e.embed_size = 3; e.weight = w; e.grad = g; e.frozen = 0;
        if (f) { fputs("2 3\na 0.5 -1 2\nzz 1 1 1\nc 3 4 5\n", f); fclose(f); }
        ok = rnn_embedding_load_text(&e, "build/test-vectors.txt", vocab, &loaded, err, sizeof err) == RNN_OK &&
             loaded == 2 && w[0] == 0.5f && w[2] == 2 && w[3] == 0 && w[8] == 5;
        f = fopen("build/test-vectors.txt", "w");
        if (f) { fputs("a 1 2 3\nb 1 2\n", f); fclose(f); }
        ok &= rnn_embedding_load_text(&e, "build/test-vectors.txt", vocab, &loaded, err, sizeof err) == RNN_ERR_FORMAT &&
              strstr(err, ":2:") != NULL;
        f = fopen("build/test-vectors.txt", "w");
        if (f) { fputs("a 1 x 3\n", f); fclose(f); }
        ok &= rnn_embedding_load_text(&e, "build/test-vectors.txt", vocab, &loaded, err, sizeof err) == RNN_ERR_FORMAT;
        ok &= rnn_embedding_load_text(&e, "build/no-such-file", vocab, &loaded, err, sizeof err) == RNN_ERR_IO;
        check(ok, "pretrained vectors: loads known tokens, names a bad line, missing file", 0);
    }
}

/* ---- checkpoints ---------------------------------------------------------- */

static unsigned char *read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    unsigned char *b;
    long len;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END); len = ftell(f); fseek(f, 0, SEEK_SET);
    b = (unsigned char *)malloc((size_t)len + 1);
    *n = fread(b, 1, (size_t)len, f);
    fclose(f);
    return b;
}

/* Rewrites the crc32 digits of a file image after a test edits it. */
static void fix_crc(unsigned char *b, size_t n) {
    uint64_t h = 0;
    int k;
    char *at, num[16];
    for (k = 7; k >= 0; k--) h = h << 8 | b[k];
    at = strstr((char *)b + 8, "\"crc32\":\"");
    if (!at) return;
    at += 9;
    memcpy(at, "00000000", 8);
    sprintf(num, "%08x", (unsigned)rnn_crc32(rnn_crc32(0, b + 8, (size_t)h), b + 8 + h, n - 8 - (size_t)h));
    memcpy(at, num, 8);
}

/* A safetensors image from a header text and data bytes. */
static size_t make_st(unsigned char *out, const char *header, size_t datalen) {
    size_t h = strlen(header), i;
    for (i = 0; i < 8; i++) out[i] = (unsigned char)((uint64_t)h >> (8 * i));
    memcpy(out + 8, header, h);
    memset(out + 8 + h, 0, datalen);
    return 8 + h + datalen;
}

static rnn_status load_bytes(const unsigned char *b, size_t n, char *err) {
    rnn_lm *m = NULL;
    rnn_optimizer *o = NULL;
    rnn_status st = rnn_lm_load_memory(&m, &o, b, n, err, 200);
    rnn_lm_free(m);
    rnn_optimizer_free(o);
    return st;
}

static void test_checkpoints(void) {
    const char *text = "to be or not to be, that is the question. ";
    rnn_vocab v;
    rnn_lm_config lc;
    rnn_optimizer_config oc;
    rnn_lm *m, *m2 = NULL;
    rnn_optimizer *o, *o2 = NULL;
    int ids[64], in[8 * 2], tg[8 * 2], i, ok, step;
    size_t n = 0;
    float la[5], lb[5];
    char err[200];
    rnn_rng r;
    rnn_vocab_from_text(&v, text, strlen(text), NULL);
    rnn_vocab_encode(&v, text, strlen(text), ids, 64, &n, NULL);
    memset(&lc, 0, sizeof lc);
    lc.vocab_size = rnn_vocab_size(&v); lc.embed_size = 5; lc.hidden_size = 7; lc.num_layers = 2;
    lc.dropout = 0.25f;
    memset(&oc, 0, sizeof oc);
    oc.lr = 0.01f; oc.clip_norm = 5;
    rnn_lm_create(&m, &lc, 1);
    rnn_lm_set_vocab(m, &v);
    rnn_optimizer_create(&o, &oc, m->params);
    rnn_rng_seed(&r, 2);
    for (i = 0; i < 16; i++) { in[i] = ids[i % 40]; tg[i] = ids[(i + 1) % 40]; }
    for (step = 0; step < 10; step++) rnn_lm_train_step(m, o, in, tg, 8, 2, NULL);
    ok = rnn_lm_save(m, o, "build/test-ckpt.safetensors") == RNN_OK;
    for (step = 0; step < 5; step++) rnn_lm_train_step(m, o, in, tg, 8, 2, &la[step]);
    ok &= rnn_lm_load(&m2, &o2, "build/test-ckpt.safetensors", err, sizeof err) == RNN_OK && o2 != NULL;
    if (!ok) printf("       %s\n", err);
    if (ok) {
        ok &= m2->vocab && rnn_vocab_size(m2->vocab) == rnn_vocab_size(&v) &&
              memcmp(m2->vocab->chars, v.chars, sizeof(uint32_t) * (size_t)rnn_vocab_size(&v)) == 0;
        ok &= o2->t == 10 && m2->state_batch == 2 && m2->cfg.dropout == 0.25f;
        for (step = 0; step < 5; step++) rnn_lm_train_step(m2, o2, in, tg, 8, 2, &lb[step]);
        ok &= memcmp(la, lb, sizeof la) == 0;
    }
    check(ok, "save with optimizer, load, train on: bit-identical losses (exact resume)", 0);
    {
        rnn_lm_state *s1, *s2;
        int same = 1;
        rnn_lm_free(m2); rnn_optimizer_free(o2);
        rnn_lm_save(m, NULL, "build/test-ckpt.safetensors");
        ok = rnn_lm_load(&m2, NULL, "build/test-ckpt.safetensors", err, sizeof err) == RNN_OK;
        rnn_lm_state_create(m, &s1);
        rnn_lm_state_create(m2, &s2);
        for (i = 0; ok && i < 20; i++)
            same &= memcmp(rnn_lm_step(m, s1, ids[i]), rnn_lm_step(m2, s2, ids[i]), sizeof(float) * lc.vocab_size) == 0;
        check(ok && same, "save, load: bit-identical logits", 0);
        rnn_lm_state_free(s1); rnn_lm_state_free(s2);
        rnn_lm_free(m2);
    }
    {   /* the one-token path with weights in 256-column panels and layer 0's
           gate table (AVX-512 builds) against the plain step: every cell,
           gate widths and heads that end inside a panel, table on and off */
        static const int cells[5] = {RNN_TANH, RNN_RELU, RNN_LSTM, RNN_GRU, RNN_GRU_CHO};
        int c, vs, used = 0;
        double worst = 0;
        for (c = 0; c < 5; c++)
            for (vs = 0; vs < 2; vs++) {
                rnn_lm_config pc;
                rnn_lm *pm;
                rnn_lm_state *s1, *s2;
                int k, j;
                memset(&pc, 0, sizeof pc);
                pc.cell = (rnn_cell)cells[c]; pc.vocab_size = vs ? 3300 : 300; pc.embed_size = 20;
                pc.hidden_size = 80; pc.num_layers = 2;
                rnn_lm_create(&pm, &pc, 31 + c);
                rnn_lm_state_create(pm, &s1);
                rnn_lm_state_create(pm, &s2);
                s2->wt = NULL;   /* the plain path: rnn_recurrent_step, head read in place */
                used += s1->wt != NULL;
                for (k = 0; k < 12 && s1->wt; k++) {
                    const float *a = rnn_lm_step(pm, s1, (k * 37) % pc.vocab_size);
                    const float *b = rnn_lm_step(pm, s2, (k * 37) % pc.vocab_size);
                    for (j = 0; j < pc.vocab_size; j++) worst = fmax(worst, fabs(a[j] - b[j]));
                }
                rnn_lm_state_free(s1); rnn_lm_state_free(s2);
                rnn_lm_free(pm);
            }
        if (used) check(used == 10 && worst < 1e-5, "rnn_lm_step in panels with the gate table = the plain step", worst);
    }
    {   /* PyTorch's own LMs, converted by tools/torch2rnn.py */
        static const char *tags[2] = {"lm", "lmgru"};
        int t;
        fixture f;
        fixture_load(&f, "tests/data/recurrent.bin");
        for (t = 0; t < 2; t++) {
            char path[64], name[64];
            float *toks, *want;
            size_t nt = 0;
            double worst = 0;
            rnn_lm_state *s;
            sprintf(path, "tests/data/%s_torch.safetensors", tags[t]);
            ok = rnn_lm_load(&m2, NULL, path, err, sizeof err) == RNN_OK;
            sprintf(name, "%s.tokens", tags[t]); toks = fixture_get(&f, name, &nt);
            sprintf(name, "%s.logits", tags[t]); want = fixture_get(&f, name, NULL);
            if (ok && toks && want) {
                rnn_lm_state_create(m2, &s);
                for (i = 0; i < (int)nt; i++) {
                    const float *lg = rnn_lm_step(m2, s, (int)toks[i]);
                    double e = lg ? worst_err(lg, want + (size_t)i * m2->cfg.vocab_size, (size_t)m2->cfg.vocab_size) : 1;
                    if (e > worst) worst = e;
                }
                ok &= m2->vocab != NULL && rnn_vocab_size(m2->vocab) == m2->cfg.vocab_size;
                rnn_lm_state_free(s);
            } else ok = 0;
            sprintf(name, "a PyTorch %s LM (torch2rnn.py) loads and gives its logits", t ? "GRU" : "LSTM");
            check(ok && worst <= 1e-5, name, worst);
            rnn_lm_free(m2); m2 = NULL;
            free(toks); free(want);
        }
        free(f.buf);
    }
    {   /* the loader refuses every fault with its own status */
        unsigned char *b, *c, img[512];
        size_t nb = 0, bit, accepted = 0;
        rnn_lm *tiny;
        rnn_lm_config tc;
        memset(&tc, 0, sizeof tc);
        tc.vocab_size = 3; tc.embed_size = 2; tc.hidden_size = 2; tc.num_layers = 1;
        rnn_lm_create(&tiny, &tc, 3);
        rnn_lm_save(tiny, NULL, "build/test-tiny.safetensors");
        rnn_lm_free(tiny);
        b = read_file("build/test-tiny.safetensors", &nb);
        c = (unsigned char *)malloc(nb);
        ok = load_bytes(b, nb, err) == RNN_OK;
        check(ok, "a tiny checkpoint loads", 0);
        check(load_bytes(b, nb - 10, err) == RNN_ERR_TRUNCATED && load_bytes(b, 5, err) == RNN_ERR_TRUNCATED,
              "truncated file: RNN_ERR_TRUNCATED", 0);
        for (bit = 0; bit < nb * 8; bit++) {
            memcpy(c, b, nb);
            c[bit / 8] ^= (unsigned char)(1u << (bit % 8));
            if (load_bytes(c, nb, err) == RNN_OK) accepted++;
        }
        check(accepted == 0, "every single flipped bit of a checkpoint is refused", (double)accepted);
        memcpy(c, b, nb);
        c[5] = 1;   /* header length 2^40 */
        check(load_bytes(c, nb, err) == RNN_ERR_HEADER, "oversized header length: RNN_ERR_HEADER", 0);
        memcpy(c, b, nb);
        { char *hs = strstr((char *)c + 8, "\"hidden_size\":\"2\""); if (hs) hs[15] = '3'; }
        fix_crc(c, nb);
        ok = load_bytes(c, nb, err) == RNN_ERR_SHAPE && strstr(err, "rnn.weight_ih_l0") != NULL;
        check(ok, "config and tensor shapes disagree: RNN_ERR_SHAPE, naming the tensor", 0);
        memcpy(c, b, nb);
        { uint64_t h = 0; int k; for (k = 7; k >= 0; k--) h = h << 8 | c[k];
          c[8 + h + 4] = 0xFF; c[8 + h + 5] = 0xFF; c[8 + h + 6] = 0xC0; c[8 + h + 7] = 0x7F; }
        fix_crc(c, nb);
        check(load_bytes(c, nb, err) == RNN_ERR_FORMAT, "NaN in a tensor: RNN_ERR_FORMAT", 0);
        check(load_bytes(img, make_st(img, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                                           "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12), err) == RNN_ERR_OFFSETS &&
              load_bytes(img, make_st(img, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                                           "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}", 20), err) == RNN_ERR_OFFSETS &&
              load_bytes(img, make_st(img, "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8), err) == RNN_ERR_OFFSETS,
              "overlapping offsets, a hole, size against shape: RNN_ERR_OFFSETS", 0);
        check(load_bytes(img, make_st(img, "{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4), err) == RNN_ERR_DTYPE,
              "an F16 tensor: RNN_ERR_DTYPE", 0);
        {
            size_t len;
            ok = load_bytes(img, make_st(img, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8), err) == RNN_ERR_METADATA;
            len = make_st(img, "{\"__metadata__\":{\"format\":\"rnn.h\",\"model\":\"lm\",\"cell\":\"lstm\","
                               "\"vocab_size\":\"0\",\"crc32\":\"00000000\"}}", 0);
            fix_crc(img, len);
            ok &= load_bytes(img, len, err) == RNN_ERR_METADATA && strstr(err, "vocab_size") != NULL;
            ok &= load_bytes(img, make_st(img, "{\"__metadata__\":{\"format\":\"rnn.h\",\"model\":\"lm\"}}", 0), err) == RNN_ERR_CHECKSUM;
            check(ok, "not an rnn.h LM, or a bad size: RNN_ERR_METADATA; no crc32: RNN_ERR_CHECKSUM", 0);
        }
        check(load_bytes(img, make_st(img, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],", 8), err) == RNN_ERR_HEADER &&
              load_bytes(img, make_st(img, "[1,2]", 0), err) == RNN_ERR_HEADER &&
              load_bytes(img, make_st(img, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":1}}", 8), err) == RNN_ERR_HEADER,
              "malformed header JSON: RNN_ERR_HEADER", 0);
        check(rnn_lm_load(&m2, NULL, "build/no-such-checkpoint", err, sizeof err) == RNN_ERR_IO && m2 == NULL,
              "a missing file: RNN_ERR_IO", 0);
        free(b); free(c);
    }
    {   /* atomic: a failed save leaves nothing behind, a good one no temporary */
        FILE *f;
        ok = rnn_lm_save(m, NULL, "build/no-such-dir/x.safetensors") == RNN_ERR_IO;
        ok &= (f = fopen("build/no-such-dir/x.safetensors", "rb")) == NULL;
        if (f) fclose(f);
        ok &= rnn_lm_save(m, NULL, "build/test-ckpt.safetensors") == RNN_OK;
        ok &= (f = fopen("build/test-ckpt.safetensors.tmp", "rb")) == NULL;
        if (f) fclose(f);
        check(ok, "saves are atomic: temporary file, then rename", 0);
    }
    rnn_optimizer_free(o);
    rnn_lm_free(m);
    rnn_vocab_free(&v);
}

static void test_training(void) {
    test_layers_losses();
    test_optimizers();
    test_lm();
    test_text();
    test_checkpoints();
}

/* ---- decoding ------------------------------------------------------------- */

static void test_sampling(void) {
    float logits[4], p[4] = {0.4f, 0.3f, 0.2f, 0.1f};
    int counts[4] = {0, 0, 0, 0}, i, tok = -1, ok;
    rnn_rng rng;
    double worst = 0;
    const int N = 200000;
    for (i = 0; i < 4; i++) logits[i] = logf(p[i]) + 3.0f;
    rnn_rng_seed(&rng, 1);
    check(rnn_sample(logits, 4, 0.0f, 0, 1.0f, NULL, &tok) == RNN_OK && tok == 0, "sample at temperature 0 is argmax", 0);
    /* frequencies against the distribution: 4 standard errors */
#define FREQ_CHECK(T, K, P, want, name)                                                   \
    do {                                                                                   \
        double w0 = 0;                                                                     \
        int q;                                                                             \
        memset(counts, 0, sizeof counts);                                                  \
        for (i = 0; i < N; i++) { rnn_sample(logits, 4, T, K, P, &rng, &tok); counts[tok]++; } \
        ok = 1;                                                                            \
        for (q = 0; q < 4; q++) {                                                          \
            double f = (double)counts[q] / N, se = sqrt(want[q] * (1 - want[q]) / N) + 1e-9; \
            if (fabs(f - want[q]) > 4 * se + (want[q] == 0 ? 0 : 0)) ok = 0;               \
            if (fabs(f - want[q]) / se > w0) w0 = fabs(f - want[q]) / se;                  \
        }                                                                                  \
        check(ok, name, w0);                                                               \
    } while (0)
    {
        double w1[4] = {0.4, 0.3, 0.2, 0.1};
        double w2[4] = {16.0 / 30, 9.0 / 30, 4.0 / 30, 1.0 / 30};   /* T = 0.5: p² renormalised */
        double w3[4] = {4.0 / 7, 3.0 / 7, 0, 0};                     /* top-k 2 */
        double w4[4] = {4.0 / 9, 3.0 / 9, 2.0 / 9, 0};               /* top-p 0.8: 0.4 + 0.3 + 0.2 */
        double w5[4] = {4.0 / 7, 3.0 / 7, 0, 0};                     /* top-p 0.6: 0.4 + 0.3 */
        FREQ_CHECK(1.0f, 0, 1.0f, w1, "sample: frequencies follow softmax (in standard errors)");
        FREQ_CHECK(0.5f, 0, 1.0f, w2, "sample: temperature 0.5 squares the probabilities");
        FREQ_CHECK(1.0f, 2, 1.0f, w3, "sample: top-k 2 keeps the two most likely, renormalised");
        FREQ_CHECK(1.0f, 0, 0.8f, w4, "sample: top-p 0.8 keeps the smallest set reaching 0.8");
        FREQ_CHECK(1.0f, 0, 0.6f, w5, "sample: top-p 0.6");
    }
#undef FREQ_CHECK
    logits[2] = NAN;
    ok = rnn_sample(logits, 4, 1.0f, 0, 1.0f, &rng, &tok) == RNN_ERR_INVALID_ARGUMENT;
    logits[2] = 0;
    ok &= rnn_sample(logits, 4, -1.0f, 0, 1.0f, &rng, &tok) == RNN_ERR_INVALID_ARGUMENT;
    ok &= rnn_sample(logits, 4, 1.0f, 0, 0.0f, &rng, &tok) == RNN_ERR_INVALID_ARGUMENT;
    ok &= rnn_sample(logits, 4, 1.0f, 0, 1.5f, &rng, &tok) == RNN_ERR_INVALID_ARGUMENT;
    ok &= rnn_sample(logits, 0, 1.0f, 0, 1.0f, &rng, &tok) == RNN_ERR_INVALID_ARGUMENT;
    ok &= rnn_sample(logits, 4, 1.0f, -1, 1.0f, &rng, &tok) == RNN_ERR_INVALID_ARGUMENT;
    ok &= rnn_sample(logits, 4, 1.0f, 0, 1.0f, NULL, &tok) == RNN_ERR_INVALID_ARGUMENT;
    check(ok, "sample refuses NaN, negative temperature, top_p outside (0,1], n <= 0, no rng", worst);
}

/* A toy decoder over V = 3 tokens (0 = <s>, 1, 2 = <e>): state is the last
   token and the position; log p depends on both. */
typedef struct { int last, pos; } toy_state;
static rnn_status toy_step(void *user, void *state, int token, float *logp) {
    toy_state *s = (toy_state *)state;
    static const float table[4][3][3] = {
        {{-9, -0.4f, -1.2f}, {-9, -1.1f, -0.4f}, {-9, -0.7f, -0.7f}},
        {{-9, -0.9f, -0.5f}, {-9, -0.2f, -1.7f}, {-9, -1.6f, -0.2f}},
        {{-9, -0.3f, -1.3f}, {-9, -0.8f, -0.6f}, {-9, -0.5f, -0.9f}},
        {{-9, -1.0f, -0.45f}, {-9, -0.6f, -0.8f}, {-9, -0.35f, -1.2f}}};
    int j;
    (void)user;
    s->last = token; s->pos++;
    for (j = 0; j < 3; j++) logp[j] = table[s->pos > 3 ? 3 : s->pos][token][j];
    return RNN_OK;
}

/* 0 = <s>, 1 = A, 2 = B, 3 = <e>: first A .6 / B .4; after A: A .35, B .35,
   <e> .3; after B: A .9, B .05, <e> .05; then <e>. */
static rnn_status greedy_trap(void *user, void *state, int token, float *logp) {
    toy_state *s = (toy_state *)state;
    int j;
    (void)user;
    for (j = 0; j < 4; j++) logp[j] = -30.0f;
    if (s->pos == 0) { logp[1] = logf(0.6f); logp[2] = logf(0.4f); }
    else if (s->pos == 1 && token == 1) { logp[1] = logf(0.35f); logp[2] = logf(0.35f); logp[3] = logf(0.3f); }
    else if (s->pos == 1) { logp[1] = logf(0.9f); logp[2] = logf(0.05f); logp[3] = logf(0.05f); }
    else logp[3] = 0.0f;
    s->last = token; s->pos++;
    return RNN_OK;
}

/* Every sequence of up to L tokens (ending at <e> or at L), by score. */
static void toy_best(int L, float alpha, float *best_score, int *best_tokens, int *best_len) {
    int len, code, i;
    *best_score = -1e30f;
    for (len = 1; len <= L; len++) {
        int total = 1;
        for (i = 0; i < len; i++) total *= 3;
        for (code = 0; code < total; code++) {
            int seq[8], c = code, ok = 1;
            float logp[3], sum = 0, sc;
            toy_state s = {0, 0};
            for (i = 0; i < len; i++) { seq[i] = c % 3; c /= 3; }
            for (i = 0; i < len - 1; i++) ok &= seq[i] != 2;      /* <e> only last */
            if (!ok || (len < L && seq[len - 1] != 2)) continue;   /* short ones must end */
            toy_step(NULL, &s, 0, logp);
            for (i = 0; i < len; i++) { sum += logp[seq[i]]; toy_step(NULL, &s, seq[i], logp); }
            sc = alpha == 0 ? sum : sum / powf((float)len, alpha);
            if (sc > *best_score) { *best_score = sc; memcpy(best_tokens, seq, sizeof(int) * len); *best_len = len; }
        }
    }
}

static void test_beam(void) {
    rnn_beam_config bc;
    rnn_beam_result res;
    toy_state init = {0, 0};
    float want;
    int wt[8], wl = 0, a, ok = 1;
    for (a = 0; a < 2; a++) {
        memset(&bc, 0, sizeof bc);
        bc.vocab_size = 3; bc.beam_width = 27; bc.max_length = 3; bc.start_token = 0; bc.end_token = 2;
        bc.length_alpha = (float)a; bc.state_size = sizeof init; bc.initial_state = &init; bc.num_results = 3;
        toy_best(3, (float)a, &want, wt, &wl);
        ok &= rnn_beam_search(&bc, toy_step, NULL, &res) == RNN_OK && res.count == 3 &&
              fabsf(res.scores[0] - want) < 1e-6f && res.lengths[0] == wl &&
              memcmp(res.tokens, wt, sizeof(int) * (size_t)wl) == 0 && res.scores[1] <= res.scores[0];
        rnn_beam_result_free(&res);
    }
    check(ok, "beam search with k >= V^L = exhaustive search (alpha 0 and 1)", 0);
    {   /* greedy takes A (p .6) then at best .35; beam 2 finds B (.4) then A (.9) */
        memset(&bc, 0, sizeof bc);
        bc.vocab_size = 4; bc.max_length = 4; bc.start_token = 0; bc.end_token = 3;
        bc.state_size = sizeof init; bc.initial_state = &init;
        bc.beam_width = 1;
        ok = rnn_beam_search(&bc, greedy_trap, NULL, &res) == RNN_OK && res.tokens[0] == 1 &&
             fabsf(res.logprobs[0] - logf(0.6f * 0.35f)) < 1e-5f;
        rnn_beam_result_free(&res);
        bc.beam_width = 2;
        ok &= rnn_beam_search(&bc, greedy_trap, NULL, &res) == RNN_OK && res.tokens[0] == 2 && res.tokens[1] == 1 &&
              res.tokens[2] == 3 && res.lengths[0] == 3 && res.finished[0] == 1 &&
              fabsf(res.logprobs[0] - logf(0.4f * 0.9f)) < 1e-5f;
        rnn_beam_result_free(&res);
        check(ok, "beam search finds what greedy misses (B A <e>: .36 against A A: .21)", 0);
    }
    bc.vocab_size = 0;
    check(rnn_beam_search(&bc, greedy_trap, NULL, &res) == RNN_ERR_INVALID_ARGUMENT, "beam search refuses a bad config", 0);
}

int main(int argc, char **argv) {
    const char *filter = argc > 1 ? argv[1] : "";
    if (strstr("core", filter)) test_core();
    if (strstr("sgemm", filter)) test_sgemm();
    if (strstr("elementwise", filter)) test_elementwise();
    if (strstr("recurrent", filter)) test_recurrent();
    if (strstr("training", filter)) test_training();
    if (strstr("decoding", filter)) { test_sampling(); test_beam(); }
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail != 0;
}
