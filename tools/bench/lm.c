/* tools/bench/lm.c - rnn.h's side of tools/bench/lm.sh: the char LM of
   issue 8 (embedding 64 -> 2-layer CELL of H -> dense; seq 64, batch 32,
   Adam lr 2e-3, clip 5) on CORPUS, one thread.

   Usage: bench-lm CORPUS CELL H TRAIN_STEPS [VAL_STEPS [THREADS]]
   Prints: training tok/s (median of windows after 3 warm-up steps; with
   THREADS > 1 also on rnn.h's pool of that many threads), the
   validation loss after VAL_STEPS steps (if given; the initial weights go
   to build/bench-lm-init.safetensors, so that lm.py starts from the same
   point), generation µs/token at batch 1, and the machine's limits
   measured in the same run. */
#define _POSIX_C_SOURCE 200809L
#define RNN_IMPLEMENTATION
#define RNN_THREADS
#define STB_DS_IMPLEMENTATION
#include "../../rnn.h"
#include "bench.h"
#include <pthread.h>

/* One training step of its own model on one thread: what each core does
   when N separate trainings run at once (the limit of N cores for this
   work, measured beside the pool). */
typedef struct { rnn_lm *m; rnn_optimizer *o; const int *in, *tg; } solo;
static void *solo_step(void *p) {
    solo *s = (solo *)p;
    rnn_lm_train_step(s->m, s->o, s->in, s->tg, 64, 32, NULL);
    return NULL;
}

/* One thread's share of a read of the weights' bytes (the read limit of
   several cores, measured beside generation on as many threads). */
typedef struct { const float *p; size_t n; int reps; float sum; } rd_part;
static void *rd_share(void *v) {
    rd_part *r = (rd_part *)v;
    r->sum = bench_read_sum(r->p, r->n, r->reps);
    return NULL;
}

/* A cache line there and back between two threads, in ns (the median of
   rounds of 2,000): how far apart the OS and the host put two cores. On a
   shared VM it moves: 50-80 ns on one chip's cores, 330-370 ns when the
   host put the two far apart, and then work that crosses between cores
   often (a region a step) loses what the second core gives. */
typedef struct { volatile int *line; int n; } trip;
static void *trip_back(void *v) {
    trip *p = (trip *)v;
    int i;
    for (i = 0; i <= p->n; i++) {
        while (__atomic_load_n(p->line, __ATOMIC_ACQUIRE) != 2 * i + 1) {}
        __atomic_store_n(p->line, 2 * i + 2, __ATOMIC_RELEASE);
    }
    return NULL;
}
static double round_trip_ns(void) {
    static int space[64];
    volatile int *line = (volatile int *)(((uintptr_t)space + 63) & ~(uintptr_t)63);   /* a line of its own */
    double t[5];
    int r, i, n = 2000;
    for (r = 0; r < 5; r++) {
        pthread_t th;
        trip p;
        double t0;
        *line = 0;
        p.line = line; p.n = n;
        if (pthread_create(&th, NULL, trip_back, &p) != 0) return 0;
        t0 = 0;
        for (i = 0; i <= n; i++) {   /* trip 0, untimed, waits for the thread to start */
            if (i == 1) t0 = now();
            __atomic_store_n(line, 2 * i + 1, __ATOMIC_RELEASE);
            while (__atomic_load_n(line, __ATOMIC_ACQUIRE) != 2 * i + 2) {}
        }
        t[r] = (now() - t0) / n * 1e9;
        pthread_join(th, NULL);
    }
    qsort(t, 5, sizeof(double), cmp_double);
    return t[2];
}

/* fn(item k) for k < n at once: item 0 on this thread, the others on
   threads of their own; returns when all are done. */
static void fan_out(void *(*fn)(void *), void *items, size_t size, int n) {
    pthread_t th[16];
    int k;
    for (k = 1; k < n; k++) pthread_create(&th[k], NULL, fn, (char *)items + k * size);
    fn(items);
    for (k = 1; k < n; k++) pthread_join(th[k], NULL);
}

int main(int argc, char **argv) {
    FILE *f;
    char *text;
    long len;
    size_t n = 0, ntrain;
    int *ids, in[64 * 32], tg[64 * 32], H, steps, valsteps, i, V;
    rnn_vocab v;
    rnn_lm_config lc;
    rnn_optimizer_config oc;
    rnn_lm *m;
    rnn_optimizer *o;
    rnn_batcher bt;
    double t, times[256], flops_tok;
    float loss = 0;
    if (argc < 5) { fprintf(stderr, "usage: %s CORPUS CELL H TRAIN_STEPS [VAL_STEPS]\n", argv[0]); return 2; }
    if (!(f = fopen(argv[1], "rb"))) return 1;
    fseek(f, 0, SEEK_END); len = ftell(f); fseek(f, 0, SEEK_SET);
    text = (char *)malloc((size_t)len);
    if (fread(text, 1, (size_t)len, f) != (size_t)len) return 1;
    fclose(f);
    H = atoi(argv[3]); steps = atoi(argv[4]); valsteps = argc > 5 ? atoi(argv[5]) : 0;
    if (steps > 256) steps = 256;
    if (rnn_vocab_from_text(&v, text, (size_t)len, NULL) != RNN_OK) return 1;
    ids = (int *)malloc(sizeof(int) * (size_t)len);
    rnn_vocab_encode(&v, text, (size_t)len, ids, (size_t)len, &n, NULL);
    ntrain = n * 95 / 100;
    memset(&lc, 0, sizeof lc);
    lc.vocab_size = V = rnn_vocab_size(&v); lc.embed_size = 64; lc.hidden_size = H; lc.num_layers = 2;
    lc.cell = !strcmp(argv[2], "gru") ? RNN_GRU : RNN_LSTM;
    memset(&oc, 0, sizeof oc);
    oc.lr = 2e-3f; oc.clip_norm = 5;
    rnn_lm_create(&m, &lc, 1);
    rnn_optimizer_create(&o, &oc, m->params);
    rnn_batcher_init(&bt, ids, ntrain, 64, 32);
    for (i = 0; i < steps + 3; i++) {
        if (rnn_batcher_next(&bt, in, tg, NULL)) rnn_lm_reset_state(m);
        t = now();
        rnn_lm_train_step(m, o, in, tg, 64, 32, &loss);
        if (i >= 3) times[i - 3] = now() - t;
    }
    {
        const char *what = "";
        double peak = fma_peak(&what);
        printf("fma_limit %.1f (%s)\n", peak, what);
        bench_print_levels();
    }
    qsort(times, (size_t)steps, sizeof(double), cmp_double);
    {   /* multiply-adds of one token's forward: embedding lookup is free */
        int G = m->rnn->gates;
        flops_tok = 2.0 * ((double)G * H * (64 + H) + (double)G * H * (H + H) + (double)H * V);
    }
    printf("train tok/s %.0f GFLOP/s %.1f\n", 64 * 32 / times[steps / 2], 3 * flops_tok * 64 * 32 / times[steps / 2] / 1e9);
    if (argc > 6 && atoi(argv[6]) > 1 && rnn_set_threads(atoi(argv[6])) == RNN_OK) {
        /* the same steps on the pool, alternating with one thread and with
           N separate one-thread trainings at once (each its own model), so
           that all three see the same load: the median of each. The third
           is what these N cores give work that needs no sharing at all. */
        double t1[256], tn[256], ts[256], trips[256];
        int k, N = atoi(argv[6]) < 16 ? atoi(argv[6]) : 16;
        solo so[16];
        for (k = 0; k < N; k++) {
            so[k].in = in; so[k].tg = tg;
            if (k == 0) { so[k].m = m; so[k].o = o; continue; }
            rnn_lm_create(&so[k].m, &lc, 1 + k);
            rnn_optimizer_create(&so[k].o, &oc, so[k].m->params);
        }
        for (i = 0; i < steps + 2; i++) {
            for (k = 0; k < 3; k++) {
                if (rnn_batcher_next(&bt, in, tg, NULL)) rnn_lm_reset_state(m);
                rnn_set_threads(k == 1 ? N : 1);
                t = now();
                if (k < 2) rnn_lm_train_step(m, o, in, tg, 64, 32, &loss);
                else fan_out(solo_step, so, sizeof so[0], N);
                if (i >= 2) (k == 0 ? t1 : k == 1 ? tn : ts)[i - 2] = now() - t;
            }
            if (i >= 2) trips[i - 2] = round_trip_ns();
        }
        rnn_set_threads(1);
        for (k = 1; k < N; k++) { rnn_optimizer_free(so[k].o); rnn_lm_free(so[k].m); }
        qsort(t1, (size_t)steps, sizeof(double), cmp_double);
        qsort(tn, (size_t)steps, sizeof(double), cmp_double);
        qsort(ts, (size_t)steps, sizeof(double), cmp_double);
        qsort(trips, (size_t)steps, sizeof(double), cmp_double);
        printf("threads %d train tok/s %.0f one %.0f separate %.0f\n", N, 64 * 32 / tn[steps / 2],
               64 * 32 / t1[steps / 2], N * 64 * 32 / ts[steps / 2]);
        printf("round trip ns %.0f (%.0f-%.0f)\n", trips[steps / 2], trips[0], trips[steps - 1]);
    }
    if (valsteps > 0) {
        rnn_lm *m2;
        rnn_optimizer *o2;
        rnn_batcher vb;
        double sum = 0;
        int w;
        float l;
        rnn_lm_create(&m2, &lc, 1);
        rnn_optimizer_create(&o2, &oc, m2->params);
        /* PyTorch starts from these same weights (lm.py reads the file) */
        rnn_lm_save(m2, NULL, "build/bench-lm-init.safetensors");
        rnn_batcher_init(&bt, ids, ntrain, 64, 32);
        for (i = 0; i < valsteps; i++) {
            if (rnn_batcher_next(&bt, in, tg, NULL)) rnn_lm_reset_state(m2);
            rnn_lm_train_step(m2, o2, in, tg, 64, 32, NULL);
        }
        rnn_batcher_init(&vb, ids + ntrain, n - ntrain, 64, 32);
        for (w = 0; w < 4; w++) {
            rnn_batcher_next(&vb, in, tg, NULL);
            rnn_lm_eval(m2, in, tg, 64, 32, &l);
            sum += l;
        }
        printf("val loss %.4f after %d steps\n", sum / 4, valsteps);
        rnn_optimizer_free(o2);
        rnn_lm_free(m2);
    }
    {   /* one token at a time, batch 1; each round also streams the same
           bytes through bench_read_sum, so that the share of the read
           bandwidth compares runs made under the same load (the median of
           the rounds' ratios; the machine is shared) */
        rnn_lm_state *s;
        double best = 1e9, bw_best = 0, ratio[9], bytes;
        int r, k, q;
        float *buf;
        size_t nf;
        rnn_lm_state_create(m, &s);
        {
            /* the bytes one token reads: every weight once, except that with
               layer 0's gate table (small vocabularies) one row of it
               replaces W_ih0 */
            double G = m->rnn->gates, Hh = m->cfg.hidden_size;
            bytes = flops_tok / 2 * 4;
            if (s->wt && rnn__table_fits(m->rnn, m->cfg.vocab_size)) bytes -= 4 * G * Hh * (64 - 1);
        }
        nf = (size_t)bytes / 4 / 64 * 64 + 64;
        buf = bench_written(nf);   /* written: calloc'd memory would read the zero page */
        for (r = 0; r < 9; r++) {
            double tg = now(), tb, g;
            for (k = 0; k < 2000; k++) rnn_lm_step(m, s, ids[k % 1000]);
            tg = (now() - tg) / 2000;
            tb = now();
            if (bench_read_sum(buf, nf, 2000) == 1234.0f) printf(" ");
            g = (double)nf * 4 * 2000 / (now() - tb) / 1e9;
            if (tg < best) best = tg;
            if (g > bw_best) bw_best = g;
            ratio[r] = bytes / tg / 1e9 / g;
        }
        for (r = 1; r < 9; r++)   /* insertion sort for the median */
            for (q = r; q > 0 && ratio[q] < ratio[q - 1]; q--) { double t = ratio[q]; ratio[q] = ratio[q - 1]; ratio[q - 1] = t; }
        printf("generate us/token %.2f weights_bytes %.0f read_bw %.1f bw_share %.2f\n", best * 1e6, bytes, bw_best,
               ratio[4]);
        if (argc > 6 && atoi(argv[6]) > 1) {
            /* one token on the pool against one thread, alternating with a
               read of the same bytes by one thread and by N threads each
               reading 1/N of them: what N cores can read, in the same rounds */
            double g1[9], gn[9], b1[9], bn[9];
            int N = atoi(argv[6]) < 16 ? atoi(argv[6]) : 16;
            rd_part parts[16], whole;
            for (k = 0; k < N; k++) {
                size_t lo = nf / 64 * k / N * 64, hi = nf / 64 * (k + 1) / N * 64;
                parts[k].p = buf + lo; parts[k].n = hi - lo; parts[k].reps = 300;
            }
            whole.p = buf; whole.n = nf; whole.reps = 300;
            for (r = 0; r < 9; r++)
                for (q = 0; q < 4; q++) {
                    double t0;
                    rnn_set_threads(q == 1 ? N : 1);
                    t0 = now();
                    if (q < 2) for (k = 0; k < 1000; k++) rnn_lm_step(m, s, ids[k % 1000]);
                    else if (q == 2) rd_share(&whole);
                    else fan_out(rd_share, parts, sizeof parts[0], N);
                    (q == 0 ? g1 : q == 1 ? gn : q == 2 ? b1 : bn)[r] = (now() - t0) / (q < 2 ? 1000 : 300);
                }
            rnn_set_threads(1);
            qsort(g1, 9, sizeof(double), cmp_double);
            qsort(gn, 9, sizeof(double), cmp_double);
            qsort(b1, 9, sizeof(double), cmp_double);
            qsort(bn, 9, sizeof(double), cmp_double);
            printf("threads %d generate us/token %.2f one %.2f read_gain %.2f\n", N, gn[4] * 1e6, g1[4] * 1e6,
                   b1[4] / bn[4]);
        }
        free(buf);
        rnn_lm_state_free(s);
    }
    rnn_optimizer_free(o);
    rnn_lm_free(m);
    return 0;
}
