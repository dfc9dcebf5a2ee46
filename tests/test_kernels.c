/* tests/test_kernels.c - kernels: the matrix product, element-wise functions, softmax. */
#include "check.h"

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
       directions, depth, row and column block boundaries (KC = 256, MC = 96,
       NC = 512). */
    static const int fixed[][3] = {
        {1, 1, 1}, {1, 1024, 256}, {1, 37, 300}, {1, 513, 17}, {2, 3, 4}, {4, 4, 16},
        {5, 7, 33}, {8, 64, 512}, {13, 33, 257}, {32, 128, 128}, {31, 100, 77},
        {48, 48, 48}, {49, 31, 65}, {64, 96, 130}, {65, 70, 20}, {12, 32, 256}, {24, 64, 513},
        {100, 530, 260}, {37, 1030, 9}, {130, 40, 600}, {200, 200, 200}, {291, 520, 300}};
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
        float gt[4 * H], tc[H], cp[H], dh[H], dy[H], dhy[H], dc0[H], dc1[H], dc2[H], d1[4 * H], d2[4 * H];
        rnn_rng rg;
        char name[96];
        int j, wy;
        double worst = 0;
        rnn_rng_seed(&rg, 5);
        for (j = 0; j < 4 * H; j++) gt[j] = rnn_rng_uniform(&rg);
        for (j = 0; j < H; j++) {
            tc[j] = 2 * rnn_rng_uniform(&rg) - 1; cp[j] = rnn_rng_normal(&rg); dh[j] = rnn_rng_normal(&rg);
            dc0[j] = rnn_rng_normal(&rg); dy[j] = rnn_rng_normal(&rg); dhy[j] = dh[j] + dy[j];
        }
        for (wy = 0; wy < 2; wy++) {   /* without, then with the output's gradient dy */
            worst = 0;
            memcpy(dc1, dc0, sizeof dc0); memcpy(dc2, dc0, sizeof dc0);
            rnn__lstm_bwd_c(H, gt, tc, cp, dh, wy ? dy : NULL, dc1, d1);
            rnn__best_arch()->lstm_bwd(H, gt, tc, cp, dh, wy ? dy : NULL, dc2, d2);
            for (j = 0; j < 5 * H; j++) {   /* (an fmax reduction here crashes aarch64 gcc 12's vectoriser) */
                double e = j < 4 * H ? fabs(d1[j] - d2[j]) / (1 + fabs(d1[j]))
                                     : fabs(dc1[j - 4 * H] - dc2[j - 4 * H]) / (1 + fabs(dc1[j - 4 * H]));
                if (e > worst) worst = e;
            }
            if (wy) {   /* the scalar pass given dy = the scalar pass given dh + dy, exactly */
                memcpy(dc2, dc0, sizeof dc0);
                rnn__lstm_bwd_c(H, gt, tc, cp, dhy, NULL, dc2, d2);
                for (j = 0; j < H; j++) if (dc1[j] != dc2[j] || d1[3 * H + j] != d2[3 * H + j]) worst = 1;
            }
            sprintf(name, "LSTM backward point-wise (%s) = the scalar pass, %s", rnn_simd_name(),
                    wy ? "dy added in the pass" : "no dy");
            check(worst < 1e-6, name, worst);
        }
        {   /* and the forward: pre-activations over ±6, c normal; without a
               bias (c in place), then with one (the state before read
               apart: c's old values are not read), against the scalar pass
               given g + bias */
            float g0[4 * H], g1[4 * H], g2[4 * H], bias[4 * H], c1[H], c2[H], t1[H], t2[H], h1[H], h2[H];
            int wb;
            for (j = 0; j < 4 * H; j++) { g0[j] = 12 * rnn_rng_uniform(&rg) - 6; bias[j] = 2 * rnn_rng_uniform(&rg) - 1; }
            for (wb = 0; wb < 2; wb++) {
                float cs[H];
                worst = 0;
                for (j = 0; j < H; j++) cs[j] = rnn_rng_normal(&rg);
                for (j = 0; j < 4 * H; j++) { g1[j] = g0[j] + (wb ? bias[j] : 0.0f); g2[j] = g0[j]; }
                memcpy(c1, cs, sizeof cs);
                for (j = 0; j < H; j++) c2[j] = wb ? 1e30f : cs[j];
                rnn__lstm_fwd_c(H, g1, NULL, c1, c1, t1, h1);
                rnn__best_arch()->lstm_fwd(H, g2, wb ? bias : NULL, wb ? cs : c2, c2, t2, h2);
                for (j = 0; j < 4 * H; j++) {
                    double e = fabs(g1[j] - g2[j]) / (1 + fabs(g1[j]));
                    if (j < H) {
                        double e2 = fabs(c1[j] - c2[j]) + fabs(t1[j] - t2[j]) + fabs(h1[j] - h2[j]);
                        if (e2 > e) e = e2;
                    }
                    if (e > worst) worst = e;
                }
                if (wb) {   /* the scalar pass adds it too */
                    for (j = 0; j < 4 * H; j++) g2[j] = g0[j];
                    for (j = 0; j < H; j++) c2[j] = 1e30f;
                    rnn__lstm_fwd_c(H, g2, bias, cs, c2, t2, h2);
                    for (j = 0; j < H; j++) if (h1[j] != h2[j] || c1[j] != c2[j]) worst = 1;
                }
                sprintf(name, "LSTM forward point-wise (%s) = the scalar pass, %s", rnn_simd_name(),
                        wb ? "bias added in the pass" : "no bias");
                check(worst < 1e-6, name, worst);
            }
        }
        {   /* GRU, forward then backward on its output */
            float ga[3 * H], gb2[3 * H], hp[3 * H], ha[H], hb[H], na[H], nb[H], hprev[H];
            float dha[H], dhb[H], dhc[H], dia[3 * H], dib[3 * H], dqa[3 * H], dqb[3 * H], dic[3 * H], dqc[3 * H];
            worst = 0;
            for (j = 0; j < 3 * H; j++) { ga[j] = gb2[j] = 8 * rnn_rng_uniform(&rg) - 4; hp[j] = rnn_rng_normal(&rg); }
            for (j = 0; j < H; j++) {
                ha[j] = hb[j] = hprev[j] = rnn_rng_normal(&rg); dha[j] = dhb[j] = rnn_rng_normal(&rg);
                dy[j] = rnn_rng_normal(&rg); dhc[j] = dha[j] + dy[j];
            }
            for (j = 0; j < H; j++) hb[j] = 1e30f;   /* the vector pass reads hprev apart */
            rnn__gru_fwd_c(H, ga, hp, na, ha, ha);
            rnn__best_arch()->gru_fwd(H, gb2, hp, nb, hprev, hb);
            rnn__gru_bwd_c(H, ga, hprev, na, dha, dy, dia, dqa);   /* with the output's gradient dy */
            rnn__best_arch()->gru_bwd(H, ga, hprev, na, dhb, dy, dib, dqb);
            rnn__gru_bwd_c(H, ga, hprev, na, dhc, NULL, dic, dqc);   /* = given dh + dy, exactly */
            for (j = 0; j < 3 * H; j++) {
                double e = fabs(ga[j] - gb2[j]) + fabs(dia[j] - dib[j]) + fabs(dqa[j] - dqb[j]);
                if (j < H) e += fabs(ha[j] - hb[j]) + fabs(na[j] - nb[j]) + fabs(dha[j] - dhb[j]);
                if (dia[j] != dic[j] || dqa[j] != dqc[j] || (j < H && dha[j] != dhc[j])) e = 1;
                if (e > worst) worst = e;
            }
            sprintf(name, "GRU forward and backward point-wise (%s) = the scalar passes, dy added in the pass",
                    rnn_simd_name());
            check(worst < 1e-6, name, worst);
        }
    }
}

static void test_kernels(void) {
    test_sgemm();
    test_elementwise();
}
