/* tests/test_decoding.c - decoding: sampling and beam search. */
#include "check.h"

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

typedef struct { uint32_t key; double v; } keyed;
static int cmp_key_desc(const void *a, const void *b) {
    uint32_t x = ((const keyed *)a)->key, y = ((const keyed *)b)->key;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The cut by brute force: entries sorted by key from the top, counted or
   weighed (v: 1, or the entry's weight) until want is reached. */
static uint32_t ref_cut(const uint32_t *keys, const float *w, int n, uint32_t floor, double want) {
    static keyed e[6000];
    int i, m = 0;
    double acc = 0;
    for (i = 0; i < n; i++)
        if (keys[i] >= floor) { e[m].key = keys[i]; e[m].v = w ? (double)w[i] : 1.0; m++; }
    qsort(e, (size_t)m, sizeof *e, cmp_key_desc);
    for (i = 0; i < m; i++) {
        acc += e[i].v;
        if (acc >= want) return e[i].key;
    }
    return m ? e[m - 1].key : floor;
}

/* bs[j] = the sum of w's entries ≥ cut in block j (16 entries), to a float
   rounding of the sum. */
static int block_sums_ok(const float *w, int n, const float *bs, float cut) {
    int j, i, ok = 1;
    for (j = 0; j * RNN__SBLOCK < n; j++) {
        double s = 0;
        for (i = j * RNN__SBLOCK; i < n && i < (j + 1) * RNN__SBLOCK; i++) s += w[i] >= cut ? w[i] : 0.0;
        ok &= fabs(bs[j] - s) <= 1e-6 * s + 1e-30;
    }
    return ok;
}

/* rnn_sample's cuts against the brute force: for rows up to 2048 the
   bisection and quickselect on the weights' bits (plain C and the vector
   passes; top-k exact, top-p up to a float rounding of the sums), for
   longer rows the radix select on the logits. Rows with ties, negative
   and positive logits, short and long. The weights are checked too. */
static void test_sample_cuts(void) {
    static float logits[5000], w[5000], buf[5000], bs[5000 / RNN__SBLOCK + 1];
    static double wd[5000];
    static uint32_t keys[5000];
    const rnn__arch *paths[2];
    rnn_rng rng;
    int row, i, a, ok = 1, rows = 0;
    double worst = 0;
    paths[0] = &rnn__arch_c;
    paths[1] = rnn__best_arch();
    rnn_rng_seed(&rng, 77);
    for (row = 0; row < 300; row++) {
        int n = row % 3 == 0 ? 1 + (int)(rnn_rng_u64(&rng) % 40) : row % 3 == 1 ? 1024 : 5000;
        int k = 1 + (int)(rnn_rng_u64(&rng) % (uint64_t)n);
        double p = 0.05 + 0.9 * rnn_rng_uniform(&rng), all = 0, kept = 0, c;
        float mx = -1e30f, T = 1.3f;
        uint32_t ck, cp, rk;
        for (i = 0; i < n; i++) {
            float x = 6.0f * rnn_rng_normal(&rng);
            logits[i] = row % 2 ? (float)floor(x * 4) / 4 : x;   /* odd rows: many ties */
            if (logits[i] > mx) mx = logits[i];
        }
        for (i = 0; i < n; i++) wd[i] = exp(((double)logits[i] - mx) / T);
        for (a = 0; a < 2 && n <= RNN__SAMPLE_STACK; a++) {   /* the weights, then the cuts on them */
            const rnn__arch *A = paths[a];
            float lo = A->weigh(w, logits, (size_t)n, mx, 1.0f / T, bs), cf;
            double above = 0, at = 0, mass = 0, kp;
            uint32_t klo;
            memcpy(&klo, &lo, 4);
            for (i = 0; i < n; i++) {   /* against e^x of the float x the passes see */
                float x = (logits[i] - mx) * (1.0f / T);
                double e = exp((double)x), err = x < -87.0f ? fabs(w[i]) : fabs(w[i] - e) / e;
                worst = err > worst ? err : worst;
                memcpy(keys + i, w + i, 4);
                ok &= keys[i] >= klo;
            }
            ok &= block_sums_ok(w, n, bs, 0.0f);   /* each block of 16 summed */
            ck = rnn__sample_cut(A, w, n, 0, klo, n, 0x3F800001u, (double)k, buf, &kept);
            rk = ref_cut(keys, NULL, n, 0, (double)k);
            for (i = 0, c = 0; i < n; i++) c += keys[i] >= ck;
            ok &= ck == rk && kept == c;
            memcpy(&cf, &ck, 4);
            A->tally(w, (size_t)n, cf, &all, &c);
            ok &= c == kept;
            cp = rnn__sample_cut(A, w, n, 1, ck, kept, 0x3F800001u, p * all, buf, &kp);
            for (i = 0; i < n; i++) {
                if (keys[i] > cp && keys[i] >= ck) above += w[i];
                if (keys[i] == cp) at += w[i];
                if (keys[i] >= cp && keys[i] >= ck) mass += w[i];
            }
            ok &= cp >= ck && above < p * all * (1 + 1e-5) && above + at >= p * all * (1 - 1e-5);
            memcpy(&cf, &cp, 4);
            A->cutsum(w, (size_t)n, cf, bs);   /* the blocks' sums of what the cut keeps */
            ok &= block_sums_ok(w, n, bs, cf);
            ok &= fabs(mass - kp) <= 1e-5 * mass;
        }
        if (n > RNN__SAMPLE_STACK) {   /* the radix select (double weights): the mass cut by its definition */
            double above = 0, at = 0;
            for (i = 0; i < n; i++) keys[i] = rnn__fkey(logits[i]);
            rk = ref_cut(keys, NULL, n, 0, (double)k);
            ck = rnn__radix_cut(logits, n, mx, T, 0, 0, (double)k);
            for (i = 0; i < n; i++) if (rnn__fkey(logits[i]) >= ck) all += wd[i];
            cp = rnn__radix_cut(logits, n, mx, T, 1, ck, p * all);
            for (i = 0; i < n; i++) {
                if (rnn__fkey(logits[i]) > cp && rnn__fkey(logits[i]) >= ck) above += wd[i];
                if (rnn__fkey(logits[i]) == cp) at += wd[i];
            }
            ok &= above < p * all * (1 + 1e-12) && above + at >= p * all * (1 - 1e-12) && cp >= ck && ck == rk;
        }
        rows++;
    }
    check(ok && rows == 300, "sampling cuts (bisection + quickselect, radix select) = brute force: 300 rows, ties, n to 5000", 0);
    check(worst < 4e-7, "sampling weights (plain C and vector): relative error to e^x in double", worst);
}

/* rnn_sample's five passes on this CPU's best path against plain C, row
   by row, at every tail length: the largest and the NaN/inf flag (a bad
   value at each place), the weights, their least and the blocks' sums,
   and on weights of few distinct values (ties at every threshold) the
   tally's count, the gather's entries in order, the cut blocks' sums. */
static void test_sample_passes(void) {
    static float x[1100], w[1100], wc[1100], g[1100], gc[1100], bs[80], bsc[80];
    static const int lens[] = {1, 2, 7, 15, 16, 17, 31, 32, 33, 47, 64, 100, 127, 128, 129, 255, 1024, 1031};
    const rnn__arch *A = rnn__best_arch(), *C = &rnn__arch_c;
    rnn_rng rng;
    int li, i, ok = 1, rep;
    double worst = 0;
    rnn_rng_seed(&rng, 5);
    for (li = 0; li < (int)(sizeof lens / sizeof lens[0]); li++) {
        int n = lens[li], bad, badc, p;
        float mx, mxc, lo, loc, it = 1.0f / 0.8f;
        for (i = 0; i < n; i++) x[i] = 8.0f * rnn_rng_normal(&rng);
        mx = A->maxfin(x, (size_t)n, &bad);
        mxc = C->maxfin(x, (size_t)n, &badc);
        ok &= mx == mxc && !bad && !badc;
        for (p = 0; p < n; p += n > 40 ? 13 : 1) {   /* one NaN or infinity at p */
            float keep = x[p];
            x[p] = p % 3 == 0 ? NAN : p % 3 == 1 ? INFINITY : -INFINITY;
            (void)A->maxfin(x, (size_t)n, &bad);
            ok &= bad == 1;
            x[p] = keep;
        }
        lo = A->weigh(w, x, (size_t)n, mx, it, bs);
        loc = C->weigh(wc, x, (size_t)n, mx, it, bsc);
        for (i = 0, mxc = 1.0f; i < n; i++) {
            double err = wc[i] == 0.0f ? fabs(w[i]) : fabs((double)w[i] - wc[i]) / wc[i];
            worst = err > worst ? err : worst;
            mxc = w[i] < mxc ? w[i] : mxc;
        }
        ok &= lo == mxc && (loc == 0.0f ? lo < 1e-30f : fabs(lo - loc) <= 1e-6 * loc) && block_sums_ok(w, n, bs, 0.0f);
        for (rep = 0; rep < 4; rep++) {   /* few distinct weights; thresholds on them */
            double s, c, sc, cc;
            float t, hi;
            int m, mc;
            for (i = 0; i < n; i++) w[i] = (float)(1 + rnn_rng_u64(&rng) % 5) / 8.0f;
            t = (float)(1 + rep) / 8.0f;
            hi = t + 2.0f / 8.0f;
            A->tally(w, (size_t)n, t, &s, &c);
            C->tally(w, (size_t)n, t, &sc, &cc);
            ok &= c == cc && fabs(s - sc) <= 1e-6 * sc;
            memcpy(g, w, sizeof(float) * (size_t)n);
            m = A->gather(g, (size_t)n, t, hi, g);   /* in place, as rnn__sample_cut may */
            mc = C->gather(w, (size_t)n, t, hi, gc);
            ok &= m == mc && !memcmp(g, gc, sizeof(float) * (size_t)m);
            A->cutsum(w, (size_t)n, t, bs);
            ok &= block_sums_ok(w, n, bs, t);
        }
    }
    check(ok, "sampling passes (max + bad flag, weights + least, tally, gather, cut sums) = plain C, every tail", 0);
    check(worst < 4e-7, "sampling passes: weights against plain C's (relative)", worst);
}

/* rnn_sample's frequencies on a longer row (300 tokens in shuffled order,
   p ∝ e^(−i/40)) at T 0.7 with top-k 100 and top-p 0.8: no token outside
   the kept set, each kept one within 4.5 standard errors of its exact
   probability. */
static void test_sample_long_row(void) {
    static float logits[300];
    static double q[300];
    static int counts[300], order[300];
    const int N = 200000, n = 300;
    rnn_rng rng;
    double tot = 0, acc = 0, w0 = 0;
    int i, tok, ok = 1, outside = 0;
    rnn_rng_seed(&rng, 9);
    for (i = 0; i < n; i++) order[i] = i;
    for (i = n - 1; i > 0; i--) {
        int j = (int)(rnn_rng_u64(&rng) % (uint64_t)(i + 1)), t = order[i];
        order[i] = order[j]; order[j] = t;
    }
    for (i = 0; i < n; i++) logits[order[i]] = -(float)i / 40.0f;   /* order[i]: the i-th most likely */
    for (i = 0; i < 100; i++) tot += exp(-(double)i / 40.0 / 0.7);
    memset(q, 0, sizeof q);
    for (i = 0; i < 100 && acc < 0.8 * tot; i++) { q[order[i]] = exp(-(double)i / 40.0 / 0.7); acc += q[order[i]]; }
    for (i = 0; i < n; i++) q[i] /= acc;
    memset(counts, 0, sizeof counts);
    for (i = 0; i < N; i++) {
        ok &= rnn_sample(logits, n, 0.7f, 100, 0.8f, &rng, &tok) == RNN_OK;
        counts[tok]++;
    }
    for (i = 0; i < n; i++) {
        double f = (double)counts[i] / N, se = sqrt(q[i] * (1 - q[i]) / N);
        if (q[i] == 0) { outside += counts[i]; continue; }
        if (fabs(f - q[i]) / se > w0) w0 = fabs(f - q[i]) / se;
    }
    check(ok && outside == 0 && w0 < 4.5, "sample: 300 tokens, T 0.7, top-k 100, top-p 0.8 (worst in standard errors)", w0);
}

/* mode 1: token 1 impossible (-inf), the others even; mode 0: every token
   impossible; mode 2: a NaN. */
static rnn_status masked_step(void *user, void *state, int token, float *logp) {
    int mode = *(int *)user;
    (void)state; (void)token;
    logp[0] = mode ? -0.7f : -HUGE_VALF;
    logp[1] = mode == 2 ? (float)sqrt(-1.0) : -HUGE_VALF;
    logp[2] = mode ? -0.7f : -HUGE_VALF;
    return RNN_OK;
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
    {   /* -inf is log 0: those tokens are never chosen; nothing possible is a result of 0, not an error */
        int mode = 1, i;
        bc.vocab_size = 3; bc.beam_width = 3; bc.max_length = 4; bc.num_results = 3; bc.end_token = 2;
        ok = rnn_beam_search(&bc, masked_step, &mode, &res) == RNN_OK && res.count == 3;
        for (i = 0; ok && i < res.count; i++) ok &= res.tokens[(size_t)i * bc.max_length] != 1 && res.scores[i] > -1e30f;
        rnn_beam_result_free(&res);
        mode = 0;
        ok &= rnn_beam_search(&bc, masked_step, &mode, &res) == RNN_OK && res.count == 0 && res.tokens == NULL;
        rnn_beam_result_free(&res);
        mode = 2;
        ok &= rnn_beam_search(&bc, masked_step, &mode, &res) == RNN_ERR_INVALID_ARGUMENT;
        check(ok, "beam search: -inf tokens never taken; no possible token: count 0, RNN_OK; NaN: refused", 0);
    }
    bc.vocab_size = 0;
    check(rnn_beam_search(&bc, greedy_trap, NULL, &res) == RNN_ERR_INVALID_ARGUMENT, "beam search refuses a bad config", 0);
}

static void test_decoding(void) {
    test_sampling();
    test_sample_cuts();
    test_sample_passes();
    test_sample_long_row();
    test_beam();
}
