/* tools/bench/split.c - each product of a char LM's training step (T 64,
   B 32, embedding 64, V 100, a 2-layer CELL of H) on rnn.h's pool of 2
   threads against 1, alternating in one process.

   The step's products, as rnn__forward and rnn__backward make them:
     X.W_ih^T      layer 1's input projection, every position at once
     dW            dG^T.X: dW_ih and dW_hh (three a step: layer 0 has no W_ih product)
     dX            dG.W_ih: the gradient of layer 1's input
     head, dW head, dH head   the dense layer over the vocabulary
     step fwd/bwd  one time step's h.W_hh^T (B rows) and dG.W_hh, 64 of each
                   a layer, with W_hh packed once (rnn__gemm_bp)
   The first six go through rnn_sgemm, cut between rows with op(B) packed
   once by all tasks (rnn__gemm_rows); the steps between columns.
   Prints for each: ms with 1 thread, with 2, and the median over 21 pairs
   of their ratio (the machine is shared: a pair runs back to back). Then,
   for the first four, the work a cut adds, which no load on the machine
   moves much: one thread runs the parts of a cut in 2 and in 8 in turn
   (through a serial job hook), against the product uncut (best of 15).
   Usage: bench-split [CELL [H]]   (lstm or gru; default lstm 256) */
#define _POSIX_C_SOURCE 200809L
#define RNN_IMPLEMENTATION
#define RNN_THREADS
#define STB_DS_IMPLEMENTATION
#include "../../rnn.h"
#include "bench.h"

#define PAIRS 21

static float *filled(size_t n) {
    float *p = (float *)malloc(n * sizeof(float));
    size_t i;
    for (i = 0; i < n; i++) p[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    return p;
}

/* One product (steps: 64 of the step kind instead), 1 and 2 threads in turn. */
static void pair(const char *what, int steps, int ta, int tb, int m, int n, int k) {
    float *a = filled((size_t)m * k), *b = filled((size_t)k * n), *c = filled((size_t)m * n);
    float *bp = steps ? (float *)malloc(rnn__bpack_floats(k, n) * sizeof(float) + 64) : NULL;
    float *pk = steps ? (float *)malloc(rnn__bp_scratch(m) * sizeof(float)) : NULL;
    double t1[PAIRS], t2[PAIRS], ratio[PAIRS], macs = (double)m * n * k * (steps ? 64 : 1);
    int r, th, s;
    if (steps) rnn__bpack(0, b, n, k, n, bp);
    for (r = 0; r < PAIRS; r++)
        for (th = 1; th <= 2; th++) {
            double t;
            rnn_set_threads(th);
            t = now();
            if (steps) for (s = 0; s < 64; s++) rnn__gemm_bp(pk, m, n, k, 1.0f, a, k, bp, 1.0f, c, n, NULL);
            else rnn_sgemm(ta, tb, m, n, k, 1.0f, a, ta ? m : k, b, tb ? k : n, 0.0f, c, n);
            t = now() - t;
            if (th == 1) t1[r] = t;
            else { t2[r] = t; ratio[r] = t1[r] / t; }
        }
    printf("%-12s %5d x %5d x %5d%s  1 thread %7.2f ms (%5.1f GFLOP/s)  2 threads %7.2f ms  -> %.2fx\n", what, m, n, k,
           steps ? " x64" : "    ", median(t1, PAIRS) * 1e3, 2 * macs / median(t1, PAIRS) / 1e9, median(t2, PAIRS) * 1e3,
           median(ratio, PAIRS));
    free(a); free(b); free(c); free(bp); free(pk);
}

static void serial(void *user, rnn_task_fn task, void *ctx, int n) {
    int i;
    (void)user;
    for (i = 0; i < n; i++) task(ctx, i);
}

/* One thread, the product cut in 1, 2 and 8 parts run in turn: the time of each cut over the uncut one. */
static void work(const char *what, int ta, int tb, int m, int n, int k) {
    static const int parts[3] = {1, 2, 8};
    float *a = filled((size_t)m * k), *b = filled((size_t)k * n), *c = filled((size_t)m * n);
    double best[3] = {1e30, 1e30, 1e30};
    int r, q;
    for (r = 0; r < 15; r++)
        for (q = 0; q < 3; q++) {
            double t;
            rnn_set_parallel(parts[q] > 1 ? serial : NULL, NULL, parts[q]);
            t = now();
            rnn_sgemm(ta, tb, m, n, k, 1.0f, a, ta ? m : k, b, tb ? k : n, 0.0f, c, n);
            t = now() - t;
            if (t < best[q]) best[q] = t;
        }
    rnn_set_parallel(NULL, NULL, 1);
    printf("%-12s cut in 2: %.2fx the work of the uncut product; in 8: %.2fx\n", what, best[1] / best[0], best[2] / best[0]);
    free(a); free(b); free(c);
}

int main(int argc, char **argv) {
    int H = argc > 2 ? atoi(argv[2]) : 256, G = argc > 1 && !strcmp(argv[1], "gru") ? 3 : 4, GH = G * H, TB = 64 * 32;
    if (H < 8 || H > 4096) { fprintf(stderr, "usage: %s [lstm|gru] [H]\n", argv[0]); return 2; }
    printf("%s H=%d, T 64 x B 32: each product on 2 threads against 1 (medians of %d pairs)\n",
           G == 3 ? "gru" : "lstm", H, PAIRS);
    pair("X.W_ih^T", 0, 0, 1, TB, GH, H);
    pair("dW", 0, 1, 0, GH, H, TB);
    pair("dX", 0, 0, 0, TB, H, GH);
    pair("head", 0, 0, 1, TB, 100, H);
    pair("dW head", 0, 1, 0, 100, H, TB);
    pair("dH head", 0, 0, 0, TB, H, 100);
    pair("step fwd", 1, 0, 0, 32, GH, H);
    pair("step bwd", 1, 0, 0, 32, H, GH);
    rnn_set_threads(1);
    printf("the work a cut adds (one thread runs the parts in turn):\n");
    work("X.W_ih^T", 0, 1, TB, GH, H);
    work("dW", 1, 0, GH, H, TB);
    work("dX", 0, 0, TB, H, GH);
    work("head", 0, 1, TB, 100, H);
    return 0;
}
