/* examples/adding_problem.c - the adding problem of Le, Jaitly and Hinton
   (2015, "A simple way to initialize recurrent networks of rectified linear
   units"), a test of long-range memory.

   adding_problem [--seconds S] [--lengths 50,150] [--out DIR] [--seed N] ...
       Each input is T pairs (value, marker): the values uniform in [0, 1],
       the markers 0 except at two positions, one in each half. The target
       is the sum of the two marked values. Four recurrent networks of 100
       units (tanh RNN, IRNN: ReLU with identity recurrent weights, LSTM,
       GRU) read the sequence; a dense layer maps the last output to the
       prediction; the loss is the squared error. Each trains at most S
       seconds at each length T, and stops once its test MSE over 1,024
       sequences is 0.001 or less (solved). The MSE is printed against the
       0.16 of always answering 1 (the paper's figure draws 0.1767), and
       the learning curves go to DIR/adding-T.svg.

   The paper trains with SGD for up to 10^6 steps; to fit minutes this uses
   Adam with gradient clipping at 1: rate 0.02 for the LSTM and GRU (--lr),
   0.001 for the tanh RNN and the IRNN (--rnn-lr; their single gate-less
   recurrence, ReLU with identity weights most of all, amplifies a large
   step), found by a few trial runs. Batches of 16 sequences, as in the
   paper.

   Build: cc -O2 $(pkg-config --cflags stb) adding_problem.c -lm   (or: make)
   Every bad option gets a message and a non-zero exit status. */
#define _POSIX_C_SOURCE 200809L   /* clock_gettime */
#define RNN_IMPLEMENTATION
#define STB_DS_IMPLEMENTATION
#include "../rnn.h"
#include "cli.h"
#include "plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HIDDEN 100
#define MAXB 256
static int BATCH = 16;   /* --batch */
#define NTEST 1024   /* 64 batches */
#define MAXT 1000
#define SOLVED 0.001   /* the test MSE that counts as solved (always 1: 0.167) */

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* A batch of B sequences, time-major x [T][B][2], targets y [B]. */
static void make_batch(rnn_rng *rng, int T, int B, float *x, float *y) {
    int b, t;
    for (b = 0; b < B; b++) {
        int i = (int)(rnn_rng_u64(rng) % (uint64_t)(T / 2)), j = T / 2 + (int)(rnn_rng_u64(rng) % (uint64_t)(T - T / 2));
        y[b] = 0;
        for (t = 0; t < T; t++) {
            float *p = x + ((size_t)t * B + b) * 2;
            p[0] = rnn_rng_uniform(rng);
            p[1] = t == i || t == j;
            if (p[1] != 0) y[b] += p[0];
        }
    }
}

typedef struct {
    const char *name;
    rnn_cell cell;
    int identity;
    float lr;
    plot_point *curve;     /* test MSE against seconds */
    double final_mse, seconds;
    long steps;
} model;

/* The network: a recurrent layer, then dense (H → 1) on the last output. */
typedef struct {
    rnn_recurrent *r;
    float w[HIDDEN], b, gw[HIDDEN], gb;
    rnn_dense head;
    rnn_param *params;
} net;

static int net_create(net *n, const model *m, uint64_t seed) {
    rnn_recurrent_config rc;
    rnn_rng rng;
    int i;
    memset(n, 0, sizeof *n);
    memset(&rc, 0, sizeof rc);
    rc.cell = m->cell; rc.input_size = 2; rc.hidden_size = HIDDEN; rc.forget_bias_one = m->cell == RNN_LSTM;
    if (m->identity) rc.recurrent_init = RNN_INIT_IDENTITY;
    if (rnn_recurrent_create(&n->r, &rc, seed) != RNN_OK) return 1;
    rnn_rng_seed(&rng, seed + 1);
    for (i = 0; i < HIDDEN; i++) n->w[i] = (2 * rnn_rng_uniform(&rng) - 1) / sqrtf(HIDDEN);
    if (m->identity)   /* the paper: input weights N(0, 0.001²) */
        for (i = 0; i < 2 * HIDDEN; i++) n->r->w[0].w_ih[i] = 0.001f * rnn_rng_normal(&rng);
    n->head.in_size = HIDDEN; n->head.out_size = 1;
    n->head.weight = n->w; n->head.bias = &n->b; n->head.gweight = n->gw; n->head.gbias = &n->gb;
    for (i = 0; i < 4; i++) {   /* the registry: the layer's four tensors, then the head */
        rnn_param p;
        memset(&p, 0, sizeof p);
        rnn_recurrent_param_name(n->r, i, p.name, sizeof p.name);
        rnn_recurrent_param(n->r, p.name, &p.value, &p.grad, &p.count);
        arrput(n->params, p);
    }
    {
        rnn_param p;
        memset(&p, 0, sizeof p);
        snprintf(p.name, sizeof p.name, "head.weight");
        p.value = n->w; p.grad = n->gw; p.count = HIDDEN;
        arrput(n->params, p);
        snprintf(p.name, sizeof p.name, "head.bias");
        p.value = &n->b; p.grad = &n->gb; p.count = 1;
        arrput(n->params, p);
    }
    return 0;
}

/* Predictions [B] for x [T][B][2]; ys [T][B][H] the layer's outputs. */
static int net_forward(net *n, const float *x, int T, int B, float *ys, float *pred, int train) {
    if (rnn_recurrent_forward(n->r, x, T, B, NULL, NULL, NULL, ys, NULL, NULL, train, NULL) != RNN_OK) return 1;
    rnn_dense_forward(&n->head, ys + (size_t)(T - 1) * B * HIDDEN, B, pred);
    return 0;
}

static double test_mse(net *n, const float *x, const float *y, int T, float *ys, float *pred) {
    double s = 0;
    int i, b;
    for (i = 0; i < NTEST; i += BATCH) {
        if (net_forward(n, x + (size_t)i * T * 2, T, BATCH, ys, pred, 0)) return NAN;
        for (b = 0; b < BATCH; b++) s += (pred[b] - y[i + b]) * (pred[b] - y[i + b]);
    }
    return s / (NTEST);
}

/* Trains one model for `seconds` at length T; the test set is x [NTEST/16]
   batches of [T][16][2]. */
static int run(model *m, int T, double seconds, const float *tx, const float *ty, uint64_t seed) {
    net n;
    rnn_optimizer_config oc;
    rnn_optimizer *opt = NULL;
    rnn_rng rng;
    float *x = (float *)malloc(sizeof(float) * T * BATCH * 2), *ys = (float *)malloc(sizeof(float) * T * BATCH * HIDDEN);
    float *dys = (float *)calloc((size_t)T * BATCH * HIDDEN, sizeof(float)), y[MAXB], pred[MAXB], dpred[MAXB], loss;
    double train_time = 0, next = 0;
    int rc = 0;
    memset(&oc, 0, sizeof oc);
    oc.lr = m->lr; oc.clip_norm = 1;
    if (!x || !ys || !dys || net_create(&n, m, seed) || rnn_optimizer_create(&opt, &oc, n.params) != RNN_OK) {
        fprintf(stderr, "adding_problem: out of memory\n");
        free(x); free(ys); free(dys);
        return 1;
    }
    rnn_rng_seed(&rng, seed + 7);
    m->steps = 0;
    while (train_time < seconds) {
        double t0 = now();
        make_batch(&rng, T, BATCH, x, y);
        if (net_forward(&n, x, T, BATCH, ys, pred, 1) ||
            rnn_loss_mse(pred, y, BATCH, dpred, &loss) != RNN_OK) {
            fprintf(stderr, "adding_problem: %s diverged at step %ld\n", m->name, m->steps);
            rc = 1;
            break;
        }
        /* d(last output) = dpred·W_head; no gradient reaches the other steps' outputs */
        rnn_params_zero_grad(n.params);
        rnn_dense_backward(&n.head, ys + (size_t)(T - 1) * BATCH * HIDDEN, BATCH, dpred,
                           dys + (size_t)(T - 1) * BATCH * HIDDEN);
        if (rnn_recurrent_backward(n.r, dys, NULL, NULL, NULL, NULL, NULL) != RNN_OK ||
            rnn_optimizer_step(opt, n.params, NULL) != RNN_OK) {
            fprintf(stderr, "adding_problem: %s: %s\n", m->name, n.r->error);
            rc = 1;
            break;
        }
        m->steps++;
        train_time += now() - t0;
        if (train_time >= next || train_time >= seconds) {
            plot_point p;
            p.x = train_time;
            p.y = test_mse(&n, tx, ty, T, ys, pred);
            arrput(m->curve, p);
            next += seconds / 40;
            if (p.y <= SOLVED) break;   /* solved: the time goes to the next model */
        }
    }
    m->final_mse = arrlen(m->curve) ? m->curve[arrlen(m->curve) - 1].y : NAN;
    m->seconds = train_time;
    rnn_optimizer_free(opt);
    rnn_recurrent_free(n.r);
    arrfree(n.params);
    free(x); free(ys); free(dys);
    return rc;
}

/* Test MSE against training seconds, one line per model, the baseline dashed. */
static void write_curves(const char *path, int T, model *ms, int n, double baseline) {
    plot p;
    char title[80], label[80];
    double xmax = 1;
    int k;
    for (k = 0; k < n; k++) xmax = plot_xmax(ms[k].curve, (int)arrlen(ms[k].curve), xmax);
    snprintf(title, sizeof title, "The adding problem, T = %d: test MSE", T);
    if (!plot_curves(&p, "adding_problem", path, title, xmax, 0, 0.2, "%.2f", 1)) return;
    p.legend_top = 1;
    snprintf(label, sizeof label, "always 1: %.3f", baseline);
    plot_baseline(&p, baseline, label);
    for (k = 0; k < n; k++) {
        snprintf(label, sizeof label, "%s: %.4f", ms[k].name, ms[k].final_mse);
        plot_line(&p, ms[k].curve, (int)arrlen(ms[k].curve), label);
    }
    plot_close(&p);
}

int main(int argc, char **argv) {
    cli_opt opts[] = {
        {"--seconds", NULL, CLI_NUM, 0.1, 36000, 30, NULL, 0},
        {"--lengths", NULL, CLI_STR, 0, 0, 0, "50,150", 0},
        {"--out", "-o", CLI_STR, 0, 0, 0, "build", 0},
        {"--seed", NULL, CLI_INT, 0, 1e9, 1, NULL, 0},
        {"--batch", NULL, CLI_INT, 1, 64, 16, NULL, 0},
        {"--models", NULL, CLI_STR, 0, 0, 0, "tanh,irnn,lstm,gru", 0},
        {"--rnn-lr", NULL, CLI_NUM, 1e-7, 1, 1e-3, NULL, 0},
        {"--lr", NULL, CLI_NUM, 1e-7, 1, 2e-2, NULL, 0},
        {"--help", "-h", CLI_FLAG, 0, 0, 0, NULL, 0},
    };
    int nopt = (int)(sizeof opts / sizeof opts[0]), npos = 0, rc = 0, lengths[8], nl = 0, li, k;
    const char *pos[8], *p;
    if (cli_parse("adding_problem", argc, argv, 1, opts, nopt, pos, 8, &npos)) return 2;
    if (cli_get(opts, nopt, "--help")->given) {
        printf("usage: adding_problem [--seconds S] [--lengths T1,T2,...] [--out DIR] [--seed N]\n"
               "                      [--batch B] [--models tanh,irnn,lstm,gru] [--lr X] [--rnn-lr X]\n"
               "  --seconds S   the most training time of each model at each length (default 30);\n"
               "                a model stops once its test MSE is %g\n"
               "  --lengths     sequence lengths, 2..%d (default 50,150)\n"
               "  --lr X        Adam's rate for the LSTM and GRU (default 0.02); --rnn-lr: tanh, IRNN (0.001)\n",
               SOLVED, MAXT);
        return 0;
    }
    if (npos) { fprintf(stderr, "adding_problem: unexpected argument \"%s\" (see --help)\n", pos[0]); return 2; }
    for (p = cli_get(opts, nopt, "--lengths")->str; *p;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 2 || v > MAXT || nl == 8 || (*end && *end != ',')) {
            fprintf(stderr, "adding_problem: --lengths wants up to 8 numbers in 2..%d separated by commas, not \"%s\"\n",
                    MAXT, cli_get(opts, nopt, "--lengths")->str);
            return 2;
        }
        lengths[nl++] = (int)v;
        p = *end ? end + 1 : end;
    }
    BATCH = (int)cli_get(opts, nopt, "--batch")->num;
    if (NTEST % BATCH) {
        fprintf(stderr, "adding_problem: --batch must divide the %d test sequences (1, 2, 4, ..., 64), not %d\n", NTEST, BATCH);
        return 2;
    }
    for (li = 0; li < nl; li++) {
        model ms[4] = {{"tanh RNN", RNN_TANH, 0, 0, NULL, 0, 0, 0}, {"IRNN", RNN_RELU, 1, 0, NULL, 0, 0, 0},
                       {"LSTM", RNN_LSTM, 0, 0, NULL, 0, 0, 0}, {"GRU", RNN_GRU, 0, 0, NULL, 0, 0, 0}};
        int T = lengths[li], i;
        float *tx = (float *)malloc(sizeof(float) * NTEST * T * 2), ty[NTEST];
        double base = 0;
        rnn_rng rng;
        char path[1100];
        if (!tx) { fprintf(stderr, "adding_problem: out of memory\n"); return 1; }
        rnn_rng_seed(&rng, (uint64_t)cli_get(opts, nopt, "--seed")->num * 1000 + (uint64_t)T);
        for (i = 0; i < NTEST; i += BATCH) make_batch(&rng, T, BATCH, tx + (size_t)i * T * 2, ty + i);
        for (i = 0; i < NTEST; i++) base += (ty[i] - 1) * (ty[i] - 1);
        base /= NTEST;
        printf("T = %d: test MSE of always answering 1: %.4f (the paper's figure: 0.1767)\n", T, base);
        fflush(stdout);
        for (k = 0; k < 4; k++) {
            static const char *keys[] = {"tanh", "irnn", "lstm", "gru"};
            if (!strstr(cli_get(opts, nopt, "--models")->str, keys[k])) continue;
            ms[k].lr = (float)cli_get(opts, nopt, k < 2 ? "--rnn-lr" : "--lr")->num;
            rc |= run(&ms[k], T, cli_get(opts, nopt, "--seconds")->num, tx, ty,
                      (uint64_t)cli_get(opts, nopt, "--seed")->num + 100 * (uint64_t)k);
            printf("  %-9s test MSE %.4f after %ld steps (%ld sequences) in %.0f s%s\n", ms[k].name, ms[k].final_mse,
                   ms[k].steps, ms[k].steps * BATCH, ms[k].seconds, ms[k].final_mse <= SOLVED ? ": solved" : "");
            fflush(stdout);
        }
        snprintf(path, sizeof path, "%s/adding-%d.svg", cli_get(opts, nopt, "--out")->str, T);
        write_curves(path, T, ms, 4, base);
        printf("  wrote %s\n", path);
        for (k = 0; k < 4; k++) arrfree(ms[k].curve);
        free(tx);
    }
    return rc;
}
