/* tests/check.h - what every test section shares: the check counter, a
   random helper, the finite-difference checker and the PyTorch fixture
   reader. tests/test.c includes rnn.h's implementation first, then every
   section (tests/test_<section>.c), each of which includes this header. */
#ifndef RNN_TEST_CHECK_H
#define RNN_TEST_CHECK_H
#include "../rnn.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_pass, g_fail;

/* Records one check; prints its name, the worst error and the verdict. */
static void check(int ok, const char *name, double worst) {
    if (ok) g_pass++; else g_fail++;
    printf("%-6s %-58s worst %.3g\n", ok ? "OK" : "NOT OK", name, worst);
}

/* 1 if an object's error message holds `part`. Not inlined: gcc 12 -O3
   traced a model's buffer through inlined failures and warned of a read
   from a region of size 0 (-Wstringop-overread), wrongly. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static int said(const char *error, const char *part) { return strstr(error, part) != NULL; }

static float frand(rnn_rng *r, float lo, float hi) { return lo + (hi - lo) * rnn_rng_uniform(r); }

/* Central differences of f over every element of v against grad. */
typedef double (*loss_fn)(void *ctx);
static void fd_compare(loss_fn f, void *ctx, float *v, const float *grad, size_t n, float eps,
                       double abs_tol, double rel_tol, int *ok, double *worst) {
    size_t i;
    for (i = 0; i < n; i++) {
        float keep = v[i];
        double lp, lm, num, err;
        v[i] = keep + eps; lp = f(ctx);
        v[i] = keep - eps; lm = f(ctx);
        v[i] = keep;
        num = (lp - lm) / (2.0 * eps);
        err = fabs(num - grad[i]);
        if (err > abs_tol + rel_tol * fabs(num)) {
            if (*ok) printf("       first miss: element %zu numeric %.6g analytic %.6g\n", i, num, grad[i]);
            *ok = 0;
        }
        if (err / (fabs(num) + 1e-2) > *worst) *worst = err / (fabs(num) + 1e-2);
    }
}


static const char *cell_name(rnn_cell c) {
    static const char *n[] = {"default", "tanh", "relu", "lstm", "gru", "gru_cho"};
    return n[c];
}

/* Fixture file of tools/torch_fixtures.py: records name -> floats. */
typedef struct { char *buf; size_t size; } fixture;

static int fixture_load(fixture *f, const char *path) {
    FILE *fp = fopen(path, "rb");
    long n;
    f->buf = NULL; f->size = 0;
    if (!fp) return 0;
    fseek(fp, 0, SEEK_END); n = ftell(fp); fseek(fp, 0, SEEK_SET);
    f->buf = (char *)malloc((size_t)n);
    f->size = fread(f->buf, 1, (size_t)n, fp);
    fclose(fp);
    return f->size == (size_t)n && n > 8 && memcmp(f->buf, "RNNFIX1\n", 8) == 0;
}

/* The floats of record `name` (NULL if absent); *count gets their number.
   Copied out, since the file's floats are not aligned. */
static float *fixture_get(const fixture *f, const char *name, size_t *count) {
    size_t p = 8;
    while (p + 4 <= f->size) {
        uint32_t nl, cnt;
        memcpy(&nl, f->buf + p, 4);
        if (nl == 0 || p + 4 + nl + 4 > f->size) break;
        memcpy(&cnt, f->buf + p + 4 + nl, 4);
        if (strlen(name) == nl && memcmp(f->buf + p + 4, name, nl) == 0) {
            float *out = (float *)malloc(sizeof(float) * (cnt ? cnt : 1));
            memcpy(out, f->buf + p + 8 + nl, sizeof(float) * cnt);
            if (count) *count = cnt;
            return out;
        }
        p += 8 + nl + (size_t)cnt * 4;
    }
    return NULL;
}

/* Worst of |a - b| / max(1, |b|): relative, or absolute near 0. */
static double worst_err(const float *a, const float *b, size_t n) {
    double w = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]) / (fabs(b[i]) > 1 ? fabs(b[i]) : 1.0);
        if (!(e <= w)) w = e;   /* NaN counts as the worst */
    }
    return w;
}

/* The worst difference between each parameter's gradient and the file's
   tensor "test.grad.NAME" (1e9 for a missing or misshapen one, named). */
static double fixture_grads(rnn_st_file *f, const rnn_param *params) {
    double worst = 0;
    ptrdiff_t j;
    for (j = 0; j < stbds_arrlen(params); j++) {
        const rnn_param *p = &params[j];
        float *g = (float *)malloc(p->count * sizeof(float));
        char gn[96];
        int dims[2];
        double e;
        dims[0] = p->rows; dims[1] = p->cols;
        snprintf(gn, sizeof gn, "test.grad.%s", p->name);
        e = g && rnn_st_read(f, gn, p->cols ? 2 : 1, dims, g) == RNN_OK ? worst_err(p->grad, g, p->count) : 1e9;
        if (e > 1e9 - 1) printf("       %s: %s\n", gn, f->error);
        if (!(e <= worst)) worst = e;
        free(g);
    }
    return worst;
}

/* Folds into *worst the error of got[n] against record "k.what"; a missing
   record counts as a failure unless optional. */
static void fixture_compare(const fixture *f, int k, const char *what, const float *got, size_t n,
                            int optional, double *worst) {
    char name[64];
    size_t cnt = 0;
    float *want;
    double e;
    snprintf(name, sizeof name, "%d.%s", k, what);
    want = fixture_get(f, name, &cnt);
    if (!want) { if (!optional) *worst = 1e9; return; }
    e = cnt == n ? worst_err(got, want, n) : 1e9;
    if (!(e <= *worst)) *worst = e;
    free(want);
}

/* For every parameter of r and record "k.NAME" (grads: "k.grad.NAME"):
   grads = 0 loads the record into the parameter, grads = 1 folds the error
   of the parameter's gradient against it into *worst; a missing or
   mis-sized record counts as a failure. */
static void fixture_params(const fixture *f, int k, rnn_recurrent *r, int grads, double *worst) {
    int i, np = r->cfg.num_layers * r->dirs * 4;
    for (i = 0; i < np; i++) {
        char pn[64], name[96];
        float *val, *g, *src;
        size_t cnt = 0, fcnt = 0;
        double e = 0;
        rnn_recurrent_param_name(r, i, pn, sizeof pn);
        sprintf(name, grads ? "%d.grad.%s" : "%d.%s", k, pn);
        src = fixture_get(f, name, &fcnt);
        if (rnn_recurrent_param(r, pn, &val, &g, &cnt) != RNN_OK || !src || cnt != fcnt) e = 1e9;
        else if (grads) e = worst_err(g, src, cnt);
        else memcpy(val, src, cnt * sizeof(float));
        if (!(e <= *worst)) *worst = e;
        free(src);
    }
}

#endif
