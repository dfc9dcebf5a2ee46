/* examples/clfkit.h - what the classification examples share: a set of
   encoded texts, padded batches from it, accuracy (and a confusion matrix)
   through rnn_clf_predict, and a training loop over batches of like
   lengths that records the test accuracy against the training time (the
   time spent evaluating left out). Needs rnn.h and plot.h, and
   _POSIX_C_SOURCE 200809L for clock_gettime. */
#ifndef EXAMPLES_CLFKIT_H
#define EXAMPLES_CLFKIT_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Seconds on the monotonic clock. */
static inline double clf_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

typedef struct {
    int *ids, *len, *lab, n, T;   /* the texts as ids [n][T], their lengths and classes */
} clf_set;

static inline void clf_set_free(clf_set *e) { free(e->ids); free(e->len); free(e->lab); memset(e, 0, sizeof *e); }

/* Fills a padded batch [T][B] from the texts idx[0..B); returns T. */
static inline int clf_fill(const clf_set *e, const int *idx, int B, int *tok, int *len, int *lab) {
    int b, t, T = 1;
    for (b = 0; b < B; b++) if (e->len[idx[b]] > T) T = e->len[idx[b]];
    for (b = 0; b < B; b++) {
        len[b] = e->len[idx[b]];
        lab[b] = e->lab[idx[b]];
        for (t = 0; t < T; t++) tok[t * B + b] = t < len[b] ? e->ids[(size_t)idx[b] * e->T + t] : 0;
    }
    return T;
}

/* Accuracy over the first `limit` texts of a set, and its confusion matrix
   into conf [C][stride] if not NULL (shuffled sets: a prefix is a sample). */
static inline double clf_accuracy(const char *prog, rnn_clf *c, const clf_set *e, int limit, int *conf, int stride) {
    int i, right = 0, B = 64, *tok = (int *)malloc(sizeof(int) * (size_t)B * e->T), len[64], lab[64], idx[64];
    int total = limit < e->n ? limit : e->n, C = c->cfg.num_classes;
    float *probs = (float *)malloc(sizeof(float) * (size_t)B * C);
    if (conf) memset(conf, 0, sizeof(int) * (size_t)C * stride);
    for (i = 0; tok && probs && i < total; i += B) {
        int n = total - i < B ? total - i : B, b, T, k;
        for (b = 0; b < n; b++) idx[b] = i + b;
        T = clf_fill(e, idx, n, tok, len, lab);
        if (rnn_clf_predict(c, tok, len, T, n, probs) != RNN_OK) { fprintf(stderr, "%s: %s\n", prog, c->error); break; }
        for (b = 0; b < n; b++) {
            const float *p = probs + (size_t)b * C;
            int best = 0;
            for (k = 1; k < C; k++) if (p[k] > p[best]) best = k;
            right += best == lab[b];
            if (conf) conf[lab[b] * stride + best]++;
        }
    }
    free(tok); free(probs);
    return total ? (double)right / total : 0;
}

static inline long clf_params(const rnn_clf *c) {
    long n = 0;
    ptrdiff_t i;
    for (i = 0; i < arrlen(c->params); i++) n += (long)c->params[i].count;
    return n;
}

/* Trains c with opt on tr for `minutes` in batches of B of like lengths,
   the accuracy on (up to 1000 of) te recorded into *curve 12 times; *steps
   and *secs get the steps and the training seconds. 0, or 1 on a failure
   (said). */
static inline int clf_train_loop(const char *prog, const char *kind, rnn_clf *c, rnn_optimizer *opt, const clf_set *tr,
                          const clf_set *te, int B, double minutes, uint64_t seed, plot_point **curve, long *steps,
                          double *secs) {
    rnn_buckets bk;
    int *tok = (int *)malloc(sizeof(int) * (size_t)B * tr->T), *len = (int *)malloc(sizeof(int) * (size_t)B * 3);
    int *lab = len + B, *idx = len + 2 * B, rc = 0, tty = isatty(fileno(stdout));
    double t0 = clf_now(), next_eval = 0, smooth = 0, spent = 0;
    long step = 0;
    if (!tok || !len || rnn_buckets_init(&bk, tr->len, tr->n, B, seed) != RNN_OK) {
        fprintf(stderr, "%s: out of memory\n", prog);
        free(tok); free(len);
        return 1;
    }
    for (;;) {
        double el = clf_now() - t0 - spent;   /* training time: evaluations left out */
        float loss = 0;
        int n, T;
        if (el >= next_eval || el >= minutes * 60) {
            double e0 = clf_now();
            plot_point p;
            p.x = el; p.y = clf_accuracy(prog, c, te, 1000, NULL, 0);
            arrput(*curve, p);
            printf("%s  %-12s %5.0f s  step %6ld  loss %.3f  test accuracy %.1f%%%s", tty ? "\r" : "", kind, el, step,
                   smooth, 100 * p.y, tty ? "   " : "\n");
            fflush(stdout);
            next_eval = el + minutes * 60 / 12;
            spent += clf_now() - e0;
            if (el >= minutes * 60) break;
        }
        n = rnn_buckets_next(&bk, idx);
        T = clf_fill(tr, idx, n, tok, len, lab);
        if (rnn_clf_train_step(c, opt, tok, len, T, n, lab, NULL, &loss) != RNN_OK) {
            fprintf(stderr, "\n%s: %s\n", prog, c->error);
            rc = 1;
            break;
        }
        smooth = step ? 0.98 * smooth + 0.02 * loss : loss;
        step++;
    }
    if (tty) printf("\n");
    *steps = step;
    *secs = clf_now() - t0 - spent;
    free(tok); free(len);
    rnn_buckets_free(&bk);
    return rc;
}
#endif
