/* tools/bench/attention.c - multi-head self-attention, forward + backward,
   one thread: rnn_mha at batch 32 over (T, E, heads), timed as the median
   of rounds, with the FMA limit of this core measured in the same run.
   Work counted: 3 × (4·T·E² + 2·T²·E) multiply-adds a sequence (the four
   projections and the two attention products, forward once and backward
   twice), 2 flops each. (Until the eleventh session it counted 6 ×, twice
   the work, and printed shares of the FMA limit above 100%.) tools/bench/attention.sh runs PyTorch beside it.

   Usage: bench-attention [T E HEADS ...]   (default: the four shapes of issue 13) */
#define _POSIX_C_SOURCE 200809L   /* clock_gettime */
#define RNN_IMPLEMENTATION
#define STB_DS_IMPLEMENTATION
#include "../../rnn.h"
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>

static void run(int T, int E, int H, int B) {
    rnn_mha *m = NULL;
    rnn_rng rng;
    size_t n = (size_t)T * B * E, i;
    float *x = (float *)malloc(n * sizeof(float)), *y = (float *)malloc(n * sizeof(float));
    float *dy = (float *)malloc(n * sizeof(float)), *dx = (float *)malloc(n * sizeof(float));
    double t[15], madds = 3.0 * (4.0 * T * E * E + 2.0 * T * T * E) * B, med;
    int r;
    rnn_rng_seed(&rng, 1);
    for (i = 0; i < n; i++) { x[i] = rnn_rng_normal(&rng); dy[i] = rnn_rng_normal(&rng); }
    rnn_mha_create(&m, E, H, 1);
    rnn_mha_forward(m, x, x, x, T, T, B, NULL, 0, y);   /* set-up: the workspace */
    rnn_mha_backward(m, dy, dx, dx, dx);
    for (r = 0; r < 15; r++) {
        double t0 = now();
        rnn_params_zero_grad(m->params);
        rnn_mha_forward(m, x, x, x, T, T, B, NULL, 0, y);
        rnn_mha_backward(m, dy, dx, dx, dx);
        t[r] = now() - t0;
    }
    med = median(t, 15);
    printf("mha T=%d E=%d heads=%d B=%d ms %.3f GFLOP/s %.1f\n", T, E, H, B, 1e3 * med, 2 * madds / med / 1e9);
    rnn_mha_free(m);
    free(x); free(y); free(dy); free(dx);
}

int main(int argc, char **argv) {
    static const int shapes[][3] = {{64, 128, 4}, {64, 256, 8}, {256, 128, 4}, {256, 256, 8}};
    const char *what = "";
    double peak = fma_peak(&what);
    int i;
    printf("simd %s fma_limit %.1f GFLOP/s (%s)\n", rnn_simd_name(), peak, what);
    if (argc > 1)
        for (i = 1; i + 2 < argc; i += 3) run(atoi(argv[i]), atoi(argv[i + 1]), atoi(argv[i + 2]), 32);
    else
        for (i = 0; i < 4; i++) run(shapes[i][0], shapes[i][1], shapes[i][2], 32);
    return 0;
}
