/* tools/bench/recurrent.c - one recurrent stack, forward + backward, timed.

   Usage: bench-recurrent CELL H [LAYERS I T B REPS [dx]]
          bench-recurrent fma      (this core's FMA limit, GFLOP/s)
   Prints one line: "rnn.h CELL H=.. ms/iter=.. GFLOP/s=..", the median of
   REPS training iterations (forward with cache, backward with all
   gradients; with dx, the gradient of layer 0's input too, which oneDNN
   always makes). tools/bench/recurrent.sh runs it beside PyTorch's
   nn.LSTM / nn.GRU doing the same work and prints the ratio. GFLOP/s
   counts the matrix products only: 2·G·H·(I_l + H) multiply-adds per
   position and layer, times 3 for forward + backward (with dx too). */
#define _POSIX_C_SOURCE 200809L
#define RNN_IMPLEMENTATION
#define STB_DS_IMPLEMENTATION
#include "../../rnn.h"
#include "bench.h"

int main(int argc, char **argv) {
    rnn_recurrent_config cfg;
    rnn_recurrent *r;
    rnn_rng rng;
    const char *cells[] = {"tanh", "relu", "lstm", "gru", "gru_cho"};
    int H, L = 2, I = 64, T = 64, B = 32, reps = 15, i, c = -1;
    float *x, *y, *dy, *dx = NULL;
    double times[64], flops = 0, med;
    if (argc == 2 && !strcmp(argv[1], "fma")) {
        const char *what;
        double peak = fma_peak(&what);
        printf("%.1f %s\n", peak, what);
        return 0;
    }
    if (argc < 3) { fprintf(stderr, "usage: %s CELL H [LAYERS I T B REPS] | fma\n", argv[0]); return 2; }
    for (i = 0; i < 5; i++) if (!strcmp(argv[1], cells[i])) c = RNN_TANH + i;
    if (c < 0 || !recurrent_args(argc, argv, &H, &L, &I, &T, &B, &reps)) { fprintf(stderr, "bad arguments\n"); return 2; }
    memset(&cfg, 0, sizeof cfg);
    cfg.cell = (rnn_cell)c; cfg.input_size = I; cfg.hidden_size = H; cfg.num_layers = L;
    if (rnn_recurrent_create(&r, &cfg, 1) != RNN_OK) return 1;
    x = (float *)malloc(sizeof(float) * T * B * I);
    y = (float *)malloc(sizeof(float) * T * B * H);
    dy = (float *)malloc(sizeof(float) * T * B * H);
    if (argc > 8 && !strcmp(argv[8], "dx")) dx = (float *)malloc(sizeof(float) * T * B * I);
    rnn_rng_seed(&rng, 1);
    for (i = 0; i < T * B * I; i++) x[i] = rnn_rng_uniform(&rng) - 0.5f;
    for (i = 0; i < T * B * H; i++) dy[i] = rnn_rng_uniform(&rng) - 0.5f;
    for (i = 0; i < L; i++) flops += 2.0 * r->gates * H * ((i ? H : I) + H);
    flops *= 3.0 * T * B;
    for (i = -2; i < reps; i++) {
        double t = now();
        rnn_recurrent_forward(r, x, T, B, NULL, NULL, NULL, y, NULL, NULL, 1, &rng);
        rnn_recurrent_backward(r, dy, NULL, NULL, dx, NULL, NULL);
        if (i >= 0) times[i] = now() - t;
    }
    med = median(times, reps);
    printf("rnn.h %s H=%d L=%d I=%d T=%d B=%d ms/iter=%.3f GFLOP/s=%.1f path=%s%s\n", cells[c - RNN_TANH], H, L, I, T,
           B, med * 1e3, flops / med / 1e9, rnn_simd_name(), dx ? " dx" : "");
    rnn_recurrent_free(r);
    free(x); free(y); free(dy); free(dx);
    return 0;
}
