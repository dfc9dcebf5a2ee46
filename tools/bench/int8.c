/* tools/bench/int8.c - one token of a char LM (embedding 64, 2 layers of
   CELL, V 96) with FP32 weights against the same model quantized to int8
   (rnn_lm_quantize), one thread, at H = 128, 256, 512.

   Prints, per model: µs a token for both (medians of 9 rounds that
   alternate FP32, int8 and a plain read of each one's bytes, 2,000 tokens
   a round), their ratio, the bytes each token reads, and the time those
   bytes take at the read bandwidth measured over written memory of the
   same size in the same rounds (so from the cache level they come from):
   "of bw" is that time over the token's, 100% being the memory limit.
   The int8 kernel can also be the limit (AVX2 multiplies bytes on few
   ports): its speed on weights that sit in L1 is measured first, and the
   last figure is the token's time over the larger of its bytes' time and
   its multiply-adds' time at that speed. Also timed in the same rounds:
   int8 with two levels an input (rnn_lm_int8_precise).
   Usage: bench-int8 [CELL [H ...]]   (lstm or gru; default: both, H 128 256 512) */
#define _POSIX_C_SOURCE 200809L
#define RNN_IMPLEMENTATION
#define STB_DS_IMPLEMENTATION
#include "../../rnn.h"
#include "bench.h"

/* The bytes a token reads: every matrix once (a row of the gate table in
   place of W_ih0 when it is used), biases, and for int8 the scales. */
static double token_bytes(const rnn_lm *m, const rnn_lm_state *s) {
    double b = 0, GH = (double)m->rnn->gates * m->cfg.hidden_size;
    ptrdiff_t i;
    int table = s->quantized ? rnn__table_fits(m->rnn, m->cfg.vocab_size) : s->wt && rnn__table_fits(m->rnn, m->cfg.vocab_size);
    for (i = 0; i < stbds_arrlen(m->params); i++) {
        const rnn_param *p = &m->params[i];
        if (p->value == m->embedding.weight) { b += 4.0 * p->cols; continue; }   /* one row */
        if (table && p->value == m->rnn->w[0].w_ih) { b += 4.0 * GH; continue; }   /* one row of the table */
        if (m->q8 && p->cols) {
            const rnn__q8 *q = &m->q8->mat[i];
            b += (double)q->panels * q->kg * 128 + 4.0 * q->n;
        } else {
            b += 4.0 * p->count;
        }
    }
    return b;
}

static double median9(double *v) { qsort(v, 9, sizeof(double), cmp_double); return v[4]; }

/* The int8 kernel's speed, GB/s of weights (one multiply-add a byte), on
   a 256 × 64 matrix (16 KiB, in L1): best of 7 × 20,000 products. */
static double kernel_limit(void) {
    static signed char rows[256 * 64], qx[64];
    static int32_t acc[256];
    float scale[256];
    rnn__q8 q;
    double best = 1e9;
    int i, r;
    for (i = 0; i < 256 * 64; i++) rows[i] = (signed char)(i % 251 - 125);
    for (i = 0; i < 64; i++) qx[i] = (signed char)(i * 3 - 90);
    for (i = 0; i < 256; i++) scale[i] = 1;
    rnn__q8_init(&q, rows, scale, 256, 64, 256);
    for (r = 0; r < 7; r++) {
        double t = now();
        for (i = 0; i < 20000; i++) rnn__q8_best()->dot(q.panels, q.kg, q.w, q.wsum, qx, acc);
        t = now() - t;
        if (t < best) best = t;
    }
    rnn__q8_free(&q);
    return 256.0 * 64 * 20000 / best / 1e9 + (acc[0] == 12345 ? 1e-9 : 0);
}

#ifdef RNN__HAVE_AVX2
/* What holds the AVX2 kernel back: its inner loop over the same 16 KiB of
   panels as kernel_limit, as rnn.h runs it and in two forms that would be
   wrong for rnn.h's operands, timed to see which ops cost. Per 32 bytes:
   (0) vpxor (the sign flip), vpmaddubsw, vpmaddwd, vpaddd, as in rnn.h;
   (1) the same without the vpxor (wrong for x < 0);
   (2) two vpmaddubsw added in int16 before one vpmaddwd (exact only if
   weights or inputs had 7 bits: 8-bit ones can overflow int16).
   GB/s of weights, best of 7 × 20,000 passes. */
#define Q8V_KG 16
#define Q8V_STEP0(a, s, o) a = _mm256_add_epi32(a, _mm256_madd_epi16(_mm256_maddubs_epi16(ax, _mm256_xor_si256( \
                               _mm256_loadu_si256((const __m256i *)(const void *)((s) + (o))), m)), one))
#define Q8V_STEP1(a, s, o) a = _mm256_add_epi32(a, _mm256_madd_epi16(_mm256_maddubs_epi16(ax, \
                               _mm256_loadu_si256((const __m256i *)(const void *)((s) + (o)))), one))
#define Q8V_STEP2(a, s, o) if ((o) % 64 == 0) \
    a = _mm256_add_epi32(a, _mm256_madd_epi16(_mm256_add_epi16( \
        _mm256_maddubs_epi16(ax, _mm256_loadu_si256((const __m256i *)(const void *)((s) + (o)))), \
        _mm256_maddubs_epi16(ax, _mm256_loadu_si256((const __m256i *)(const void *)((s) + (o) + 32)))), one))
#define Q8V_KERNEL(NAME, STEP) \
RNN__TARGET_AVX2 static void NAME(int np, const signed char *w, const signed char *qx, int32_t *acc) { \
    const __m256i one = _mm256_set1_epi16(1), zero = _mm256_setzero_si256(); \
    __m256i ax, m; int32_t x4; int p, g; \
    for (p = 0; p + 2 <= np; p += 2, w += 2 * Q8V_KG * 128, acc += 64) { \
        __m256i a0 = zero, a1 = zero, a2 = zero, a3 = zero, b0 = zero, b1 = zero, b2 = zero, b3 = zero; \
        const signed char *u = w, *v = w + Q8V_KG * 128; \
        for (g = 0; g < Q8V_KG; g++, u += 128, v += 128) { \
            memcpy(&x4, qx + 4 * g, 4); ax = _mm256_set1_epi32(x4); \
            m = _mm256_cmpgt_epi8(zero, ax); ax = _mm256_abs_epi8(ax); \
            STEP(a0, u, 0); STEP(a1, u, 32); STEP(a2, u, 64); STEP(a3, u, 96); \
            STEP(b0, v, 0); STEP(b1, v, 32); STEP(b2, v, 64); STEP(b3, v, 96); \
        } \
        (void)m; \
        _mm256_storeu_si256((__m256i *)(void *)acc, _mm256_add_epi32(_mm256_add_epi32(a0, a1), _mm256_add_epi32(a2, a3))); \
        _mm256_storeu_si256((__m256i *)(void *)(acc + 32), _mm256_add_epi32(_mm256_add_epi32(b0, b1), _mm256_add_epi32(b2, b3))); \
    } \
}
Q8V_KERNEL(q8v_flip, Q8V_STEP0)
Q8V_KERNEL(q8v_noflip, Q8V_STEP1)
Q8V_KERNEL(q8v_int16, Q8V_STEP2)
static void kernel_variants(void) {
    static signed char w[256 * 64], qx[64];
    static int32_t acc[256];
    void (*fn[3])(int, const signed char *, const signed char *, int32_t *) = {q8v_flip, q8v_noflip, q8v_int16};
    double gbs[3];
    int i, r, v;
    for (i = 0; i < 256 * 64; i++) w[i] = (signed char)(i % 251 - 125);
    for (i = 0; i < 64; i++) qx[i] = (signed char)(i * 3 - 90);
    for (v = 0; v < 3; v++) {
        double best = 1e9;
        for (r = 0; r < 7; r++) {
            double t = now();
            for (i = 0; i < 20000; i++) fn[v](8, w, qx, acc);   /* 8 panels of 32 rows × 64 */
            t = now() - t;
            if (t < best) best = t;
        }
        gbs[v] = 256.0 * 64 * 20000 / best / 1e9 + (acc[0] == 12345 ? 1e-9 : 0);
    }
    printf("AVX2 kernel's loop alone: %.1f GB/s as rnn.h runs it; without the sign flip %.1f (%.2fx); "
           "int16 sums before vpmaddwd %.1f (%.2fx, exact only with 7-bit operands)\n",
           gbs[0], gbs[1], gbs[1] / gbs[0], gbs[2], gbs[2] / gbs[0]);
}
#endif

/* Multiply-adds of a token's int8 products (the bytes of its matrices). */
static double token_macs(const rnn_lm *m) {
    double n = 0;
    int l;
    for (l = 0; l < 2 * m->cfg.num_layers; l++) {
        const rnn__q8 *q = &m->q8->mat[m->q8->layer[l]];
        if (l > 0 || !rnn__table_fits(m->rnn, m->cfg.vocab_size)) n += (double)q->panels * q->kg * 128;
    }
    return n + (double)m->q8->mat[m->q8->head].panels * m->q8->mat[m->q8->head].kg * 128;
}

int main(int argc, char **argv) {
    int hs[16] = {128, 256, 512}, nh = 3;
    const char *kname = rnn__q8_best()->name;
    int c, hi;
    if (argc > 2)
        for (nh = 0; nh + 2 < argc && nh < 16; nh++) hs[nh] = atoi(argv[nh + 2]);
    double klim;
    printf("int8 kernel: %s; FP32 path: %s\n", kname, rnn_simd_name());
    bench_print_levels();
    klim = kernel_limit();
    printf("int8 kernel on weights in L1: %.1f GB/s (= G multiply-adds/s)\n", klim);
#ifdef RNN__HAVE_AVX2
    if (!strcmp(kname, "avx2")) kernel_variants();
#endif
    for (c = 1; c < (argc > 1 ? 2 : 3); c++) {
        const char *cell = argc > 1 ? argv[c] : c == 1 ? "lstm" : "gru";
        for (hi = 0; hi < nh; hi++) {
            rnn_lm_config lc;
            rnn_lm *m[2];
            rnn_lm_state *s[2];
            double tok[2][9], bw[2][9], bytes[2], t[2], share[2][9], tokp[9];
            float *buf[2];
            size_t nf[2];
            int q, r, k;
            memset(&lc, 0, sizeof lc);
            lc.vocab_size = 96; lc.embed_size = 64; lc.hidden_size = hs[hi]; lc.num_layers = 2;
            lc.cell = !strcmp(cell, "gru") ? RNN_GRU : RNN_LSTM;
            for (q = 0; q < 2; q++) {
                rnn_lm_create(&m[q], &lc, 1);
                if (q) rnn_lm_quantize(m[q], NULL, 0);
                rnn_lm_state_create(m[q], &s[q]);
                bytes[q] = token_bytes(m[q], s[q]);
                nf[q] = (size_t)bytes[q] / 4 / 64 * 64 + 64;
                buf[q] = bench_written(nf[q]);   /* written: calloc'd memory would read the zero page */
                for (k = 0; k < 200; k++) rnn_lm_step(m[q], s[q], k % 96);
            }
            for (r = 0; r < 9; r++)
                for (q = 0; q < 2; q++) {
                    double t0 = now();
                    for (k = 0; k < 2000; k++) rnn_lm_step(m[q], s[q], (k * 7) % 96);
                    tok[q][r] = (now() - t0) / 2000;
                    t0 = now();
                    if (bench_read_sum(buf[q], nf[q], 2000) == 1234.0f) printf(" ");
                    bw[q][r] = (double)nf[q] * 4 * 2000 / (now() - t0) / 1e9;
                    share[q][r] = bytes[q] / bw[q][r] / 1e9 / tok[q][r];
                    if (q) {   /* and with two int8 levels an input (rnn_lm_int8_precise) */
                        rnn_lm_int8_precise(m[1], 1);
                        t0 = now();
                        for (k = 0; k < 2000; k++) rnn_lm_step(m[1], s[1], (k * 7) % 96);
                        tokp[r] = (now() - t0) / 2000;
                        rnn_lm_int8_precise(m[1], 0);
                    }
                }
            for (q = 0; q < 2; q++) t[q] = median9(tok[q]);
            printf("%-4s H=%-3d FP32 %7.2f us/token, int8 %7.2f us -> %5.2fx | bytes a token: FP32 %.2f MB, int8 %.2f MB (%.0f%%)\n",
                   cell, hs[hi], t[0] * 1e6, t[1] * 1e6, t[0] / t[1], bytes[0] / 1e6, bytes[1] / 1e6,
                   100 * bytes[1] / bytes[0]);
            printf("           int8 with two levels an input (rnn_lm_int8_precise): %7.2f us -> %5.2fx FP32\n",
                   median9(tokp) * 1e6, t[0] / median9(tokp));
            {
                double tb = bytes[1] / (median9(bw[1]) * 1e9), tm = token_macs(m[1]) / (klim * 1e9);
                printf("           read bw at those sizes: FP32 %.1f GB/s, int8 %.1f GB/s; of bw: FP32 %.0f%%, int8 %.0f%% "
                       "(int8 time / its bytes' time %.2fx; / max(bytes, kernel) time %.2fx)\n",
                       median9(bw[0]), median9(bw[1]), 100 * median9(share[0]), 100 * median9(share[1]),
                       1 / median9(share[1]), t[1] / (tb > tm ? tb : tm));
            }
            for (q = 0; q < 2; q++) { rnn_lm_state_free(s[q]); rnn_lm_free(m[q]); free(buf[q]); }
        }
    }
    return 0;
}
