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
