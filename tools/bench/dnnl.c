/* tools/bench/dnnl.c - oneDNN's RNN primitive doing what bench-recurrent
   does: a stack of LSTM or GRU layers, forward (training) + backward, timed.

   Usage: bench-dnnl CELL H [LAYERS I T B REPS]     (CELL: lstm or gru)
   Prints one line: "oneDNN CELL H=.. ms/iter=.. GFLOP/s=..", the median of
   REPS iterations, counted as bench-recurrent counts (the products only:
   2·G·H·(I_l + H) multiply-adds per position and layer, times 3).

   oneDNN at its best: each layer is one primitive (its stacked form needs
   I = H), every weight is reordered once, before the clock starts, into
   the layout each primitive asks for (format "any"), forward and backward
   separately; the workspace is the forward's. PyTorch's GRU is oneDNN's
   "linear before reset" GRU, which rnn.h's RNN_GRU also is. oneDNN always
   makes the gradient of layer 0's input, which rnn.h's bench skips: 2·G·H·I
   multiply-adds per position more for oneDNN, 1/(3·(1 + 2H/I)) or less of
   its work (bench-recurrent ... dx makes it too: recurrent.sh prints that
   ratio as "same work"). Threads: run with OMP_NUM_THREADS=1 for one core
   (tools/bench/recurrent.sh does). Needs libdnnl-dev (make deps-bench). */
#define _POSIX_C_SOURCE 200809L
#include <oneapi/dnnl/dnnl.h>
#include "bench.h"

#define CK(x)                                                                      \
    do {                                                                           \
        dnnl_status_t s_ = (x);                                                    \
        if (s_ != dnnl_success) {                                                  \
            fprintf(stderr, "bench-dnnl: %s failed (status %d)\n", #x, (int)s_);   \
            exit(1);                                                               \
        }                                                                          \
    } while (0)

static dnnl_engine_t eng;
static dnnl_stream_t stm;

/* A memory object for md with fresh memory filled with small values (so no
   page of it is the shared zero page). */
static dnnl_memory_t mem_for(const dnnl_memory_desc_t *md, unsigned seed) {
    dnnl_memory_t m;
    size_t n = dnnl_memory_desc_get_size(md), i;
    float *p = (float *)malloc(n + 64);
    if (!p) { fprintf(stderr, "bench-dnnl: out of memory\n"); exit(1); }
    for (i = 0; i < n / sizeof(float); i++) p[i] = (float)((i * 2654435761u + seed) % 1000) / 1000.0f - 0.5f;
    CK(dnnl_memory_create(&m, md, eng, p));
    return m;
}

static void md_tag(dnnl_memory_desc_t *md, int nd, const dnnl_dims_t d, dnnl_format_tag_t tag) {
    CK(dnnl_memory_desc_init_by_tag(md, nd, d, dnnl_f32, tag));
}

/* Reorders src into a new memory of layout md. */
static dnnl_memory_t reorder_to(dnnl_memory_t src, const dnnl_memory_desc_t *md) {
    const dnnl_memory_desc_t *smd;
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t p;
    dnnl_exec_arg_t a[2];
    dnnl_memory_t dst = mem_for(md, 7);
    CK(dnnl_memory_get_memory_desc(src, &smd));
    CK(dnnl_reorder_primitive_desc_create(&pd, smd, eng, md, eng, NULL));
    CK(dnnl_primitive_create(&p, pd));
    a[0].arg = DNNL_ARG_FROM; a[0].memory = src;
    a[1].arg = DNNL_ARG_TO; a[1].memory = dst;
    CK(dnnl_primitive_execute(p, stm, 2, a));
    CK(dnnl_stream_wait(stm));
    dnnl_primitive_destroy(p);
    dnnl_primitive_desc_destroy(pd);
    return dst;
}

typedef struct {
    dnnl_primitive_t fwd, bwd;
    dnnl_exec_arg_t fa[8], ba[16];
    int nfa, nba;
} layer;

static void arg(dnnl_exec_arg_t *a, int *n, int which, dnnl_memory_t m) {
    a[*n].arg = which;
    a[*n].memory = m;
    (*n)++;
}

/* One layer: input Il, output H, x [T][B][Il] -> y [T][B][H]; dy -> dx. */
static void make_layer(layer *ly, int lstm, int Il, int H, int T, int B, dnnl_memory_t x, dnnl_memory_t y,
                       dnnl_memory_t dy, dnnl_memory_t dx) {
    int G = lstm ? 4 : 3;
    dnnl_dims_t dx_d = {T, B, Il}, dy_d = {T, B, H}, wl_d = {1, 1, Il, G, H}, wi_d = {1, 1, H, G, H};
    dnnl_dims_t b_d = {1, 1, 4, H};   /* LSTM: 4 gate biases; LBR GRU: 3, and b_hn apart */
    dnnl_memory_desc_t src, dst, wl_any, wi_any, bias, wl_plain, wi_plain, dwl_any, dwi_any;
    dnnl_rnn_desc_t fd, bd;
    dnnl_primitive_desc_t fpd, bpd;
    dnnl_memory_t wl, wi, bs, ws, fwl, fwi, bwl, bwi, dwl, dwi, dbs;
    const dnnl_memory_desc_t *q;
    md_tag(&src, 3, dx_d, dnnl_tnc);
    md_tag(&dst, 3, dy_d, dnnl_tnc);
    md_tag(&wl_any, 5, wl_d, dnnl_format_tag_any);
    md_tag(&wi_any, 5, wi_d, dnnl_format_tag_any);
    md_tag(&dwl_any, 5, wl_d, dnnl_format_tag_any);
    md_tag(&dwi_any, 5, wi_d, dnnl_format_tag_any);
    md_tag(&wl_plain, 5, wl_d, dnnl_ldigo);
    md_tag(&wi_plain, 5, wi_d, dnnl_ldigo);
    md_tag(&bias, 4, b_d, dnnl_ldgo);
    if (lstm) {
        CK(dnnl_lstm_forward_desc_init(&fd, dnnl_forward_training, dnnl_unidirectional_left2right, &src, NULL, NULL,
                                       &wl_any, &wi_any, &bias, &dst, NULL, NULL, 0));
        CK(dnnl_lstm_backward_desc_init(&bd, dnnl_backward, dnnl_unidirectional_left2right, &src, NULL, NULL, &wl_any,
                                        &wi_any, &bias, &dst, NULL, NULL, &src, NULL, NULL, &dwl_any, &dwi_any, &bias,
                                        &dst, NULL, NULL, 0));
    } else {
        CK(dnnl_lbr_gru_forward_desc_init(&fd, dnnl_forward_training, dnnl_unidirectional_left2right, &src, NULL,
                                          &wl_any, &wi_any, &bias, &dst, NULL, 0));
        CK(dnnl_lbr_gru_backward_desc_init(&bd, dnnl_backward, dnnl_unidirectional_left2right, &src, NULL, &wl_any,
                                           &wi_any, &bias, &dst, NULL, &src, NULL, &dwl_any, &dwi_any, &bias, &dst,
                                           NULL, 0));
    }
    CK(dnnl_primitive_desc_create(&fpd, &fd, NULL, eng, NULL));
    CK(dnnl_primitive_desc_create(&bpd, &bd, NULL, eng, fpd));
    CK(dnnl_primitive_create(&ly->fwd, fpd));
    CK(dnnl_primitive_create(&ly->bwd, bpd));
    /* the weights in plain order, then in each primitive's own layout */
    wl = mem_for(&wl_plain, 1);
    wi = mem_for(&wi_plain, 2);
    bs = mem_for(&bias, 3);
    fwl = reorder_to(wl, dnnl_primitive_desc_query_md(fpd, dnnl_query_weights_md, 0));
    fwi = reorder_to(wi, dnnl_primitive_desc_query_md(fpd, dnnl_query_weights_md, 1));
    bwl = reorder_to(wl, dnnl_primitive_desc_query_md(bpd, dnnl_query_weights_md, 0));
    bwi = reorder_to(wi, dnnl_primitive_desc_query_md(bpd, dnnl_query_weights_md, 1));
    q = dnnl_primitive_desc_query_md(fpd, dnnl_query_workspace_md, 0);
    ws = mem_for(q, 4);
    dwl = mem_for(dnnl_primitive_desc_query_md(bpd, dnnl_query_diff_weights_md, 0), 5);
    dwi = mem_for(dnnl_primitive_desc_query_md(bpd, dnnl_query_diff_weights_md, 1), 6);
    dbs = mem_for(&bias, 8);
    ly->nfa = ly->nba = 0;
    arg(ly->fa, &ly->nfa, DNNL_ARG_SRC_LAYER, x);
    arg(ly->fa, &ly->nfa, DNNL_ARG_WEIGHTS_LAYER, fwl);
    arg(ly->fa, &ly->nfa, DNNL_ARG_WEIGHTS_ITER, fwi);
    arg(ly->fa, &ly->nfa, DNNL_ARG_BIAS, bs);
    arg(ly->fa, &ly->nfa, DNNL_ARG_DST_LAYER, y);
    arg(ly->fa, &ly->nfa, DNNL_ARG_WORKSPACE, ws);
    arg(ly->ba, &ly->nba, DNNL_ARG_SRC_LAYER, x);
    arg(ly->ba, &ly->nba, DNNL_ARG_WEIGHTS_LAYER, bwl);
    arg(ly->ba, &ly->nba, DNNL_ARG_WEIGHTS_ITER, bwi);
    arg(ly->ba, &ly->nba, DNNL_ARG_BIAS, bs);
    arg(ly->ba, &ly->nba, DNNL_ARG_DST_LAYER, y);
    arg(ly->ba, &ly->nba, DNNL_ARG_WORKSPACE, ws);
    arg(ly->ba, &ly->nba, DNNL_ARG_DIFF_DST_LAYER, dy);
    arg(ly->ba, &ly->nba, DNNL_ARG_DIFF_SRC_LAYER, dx);
    arg(ly->ba, &ly->nba, DNNL_ARG_DIFF_WEIGHTS_LAYER, dwl);
    arg(ly->ba, &ly->nba, DNNL_ARG_DIFF_WEIGHTS_ITER, dwi);
    arg(ly->ba, &ly->nba, DNNL_ARG_DIFF_BIAS, dbs);
}

int main(int argc, char **argv) {
    int lstm, H, L = 2, I = 64, T = 64, B = 32, reps = 15, i, l, G;
    layer ly[8];
    dnnl_memory_t act[9], dact[9];
    double times[64], flops = 0, med;
    if (argc < 3 || (strcmp(argv[1], "lstm") && strcmp(argv[1], "gru"))) {
        fprintf(stderr, "usage: %s lstm|gru H [LAYERS I T B REPS]\n", argv[0]);
        return 2;
    }
    lstm = !strcmp(argv[1], "lstm");
    G = lstm ? 4 : 3;
    if (!recurrent_args(argc, argv, &H, &L, &I, &T, &B, &reps)) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    CK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    CK(dnnl_stream_create(&stm, eng, dnnl_stream_default_flags));
    for (l = 0; l <= L; l++) {   /* act[l]: layer l's input, act[L]: the output; dact: their gradients */
        dnnl_memory_desc_t md;
        dnnl_dims_t d = {T, B, l ? H : I};
        md_tag(&md, 3, d, dnnl_tnc);
        act[l] = mem_for(&md, 10 + (unsigned)l);
        dact[l] = mem_for(&md, 20 + (unsigned)l);
    }
    for (l = 0; l < L; l++) {
        make_layer(&ly[l], lstm, l ? H : I, H, T, B, act[l], act[l + 1], dact[l + 1], dact[l]);
        flops += 2.0 * G * H * ((l ? H : I) + H);
    }
    flops *= 3.0 * T * B;
    for (i = -2; i < reps; i++) {
        double t = now();
        for (l = 0; l < L; l++) CK(dnnl_primitive_execute(ly[l].fwd, stm, ly[l].nfa, ly[l].fa));
        for (l = L - 1; l >= 0; l--) CK(dnnl_primitive_execute(ly[l].bwd, stm, ly[l].nba, ly[l].ba));
        CK(dnnl_stream_wait(stm));
        if (i >= 0) times[i] = now() - t;
    }
    med = median(times, reps);
    printf("oneDNN %s H=%d L=%d I=%d T=%d B=%d ms/iter=%.3f GFLOP/s=%.1f\n", argv[1], H, L, I, T, B, med * 1e3,
           flops / med / 1e9);
    return 0;
}
