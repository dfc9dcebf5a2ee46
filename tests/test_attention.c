/* tests/test_attention.c - scaled dot-product and multi-head attention,
   layer norm, positional encoding and the Transformer encoder: PyTorch
   parity through tests/data/attention.bin (tools/torch_attn_fixtures.py),
   finite-difference gradient checks, bad input, and no allocation after
   set-up. */
#include "check.h"

/* The floats of record "<prefix><what>" (NULL if absent). */
static float *fx_get(const fixture *f, const char *prefix, const char *what, size_t *n) {
    char name[128];
    snprintf(name, sizeof name, "%s%s", prefix, what);
    return fixture_get(f, name, n);
}

/* Folds into *worst the error of got[n] against "<prefix><what>"; missing
   or mis-sized counts as a failure. */
static void fx_cmp(const fixture *f, const char *prefix, const char *what, const float *got, size_t n,
                   double *worst) {
    size_t cnt = 0;
    float *want = fx_get(f, prefix, what, &cnt);
    double e = want && cnt == n ? worst_err(got, want, n) : 1e9;
    if (!want) printf("       missing record %s%s\n", prefix, what);
    if (!(e <= *worst)) *worst = e;
    free(want);
}

/* ints of a record (lengths), into a fixed array */
static const int *fx_ints(const fixture *f, const char *prefix, const char *what, int *buf, int cap) {
    size_t n = 0, i;
    float *v = fx_get(f, prefix, what, &n);
    if (!v) return NULL;
    for (i = 0; i < n && (int)i < cap; i++) buf[i] = (int)v[i];
    free(v);
    return buf;
}

/* Loads every parameter of a registry from "<prefix>NAME" (grads = 0), or
   compares its gradient with "<prefix>grad.NAME" (grads = 1). */
static void fx_params(const fixture *f, const char *prefix, rnn_param *reg, int grads, double *worst) {
    ptrdiff_t i;
    for (i = 0; i < arrlen(reg); i++) {
        char what[96];
        size_t cnt = 0;
        float *src;
        snprintf(what, sizeof what, grads ? "grad.%s" : "%s", reg[i].name);
        src = fx_get(f, prefix, what, &cnt);
        if (!src || cnt != reg[i].count) { *worst = 1e9; printf("       bad record %s%s\n", prefix, what); }
        else if (grads) { double e = worst_err(reg[i].grad, src, cnt); if (!(e <= *worst)) *worst = e; }
        else memcpy(reg[i].value, src, cnt * sizeof(float));
        free(src);
    }
}

static void test_attention_parity(void) {
    fixture f;
    int k;
    if (!fixture_load(&f, "tests/data/attention.bin")) {
        check(0, "attention fixture tests/data/attention.bin loads", 0);
        return;
    }
    for (k = 0;; k++) {   /* the bare function */
        char p[16], name[96];
        size_t n = 0;
        float *cfg, *q, *kk, *v, *dout, *w, *out, *dq, *dk, *dv, *sc;
        int kl[8], ql[8];
        rnn_attention_desc d;
        double wf = 0, wb = 0;
        size_t nq, nk, nv, no, nw;
        int vk;
        snprintf(p, sizeof p, "sdpa%d.", k);
        if (!(cfg = fx_get(&f, p, "config", &n))) break;
        memset(&d, 0, sizeof d);
        d.Tq = (int)cfg[0]; d.Tk = (int)cfg[1]; d.B = (int)cfg[2]; d.heads = (int)cfg[3];
        d.qk_size = (int)cfg[4]; d.v_size = (int)cfg[5]; d.scale = cfg[6]; d.causal = (int)cfg[7];
        d.key_lengths = cfg[8] != 0 ? fx_ints(&f, p, "klen", kl, 8) : NULL;
        d.query_lengths = cfg[9] != 0 ? fx_ints(&f, p, "qlen", ql, 8) : NULL;
        vk = cfg[10] != 0;
        nq = (size_t)d.Tq * d.B * d.qk_size; nk = (size_t)d.Tk * d.B * d.qk_size;
        nv = (size_t)d.Tk * d.B * d.v_size; no = (size_t)d.Tq * d.B * d.v_size;
        nw = (size_t)d.B * d.heads * d.Tq * d.Tk;
        q = fx_get(&f, p, "q", NULL); kk = fx_get(&f, p, "k", NULL); v = fx_get(&f, p, "v", NULL);
        dout = fx_get(&f, p, "dout", NULL);
        w = (float *)malloc(nw * sizeof(float)); out = (float *)malloc(no * sizeof(float));
        dq = (float *)malloc(nq * sizeof(float)); dk = (float *)malloc(nk * sizeof(float));
        dv = (float *)malloc(nv * sizeof(float)); sc = (float *)malloc((size_t)d.Tq * d.Tk * sizeof(float));
        if (rnn_attention_forward(&d, q, kk, vk ? NULL : v, w, out) != RNN_OK) wf = 1e9;
        fx_cmp(&f, p, "out", out, no, &wf);
        fx_cmp(&f, p, "weights", w, nw, &wf);
        if (rnn_attention_backward(&d, q, kk, vk ? NULL : v, w, dout, dq, dk, vk ? NULL : dv, sc) != RNN_OK) wb = 1e9;
        fx_cmp(&f, p, "dq", dq, nq, &wb);
        fx_cmp(&f, p, "dk", dk, nk, &wb);
        if (!vk) fx_cmp(&f, p, "dv", dv, nv, &wb);
        snprintf(name, sizeof name, "attention vs formula #%d: out, weights (%s%s)", k, d.causal ? "causal" : "",
                 vk ? " keras v=k" : "");
        check(wf < 1e-5, name, wf);
        snprintf(name, sizeof name, "attention vs formula #%d: dq, dk, dv", k);
        check(wb < 1e-5, name, wb);
        free(cfg); free(q); free(kk); free(v); free(dout); free(w); free(out); free(dq); free(dk); free(dv); free(sc);
    }
    for (k = 0;; k++) {   /* nn.MultiheadAttention */
        char p[16], name[96];
        size_t n = 0;
        float *cfg, *qi, *ki, *vi, *dout, *out, *dq, *dk, *dv;
        int kl[8], E, H, Tq, Tk, B, self, causal;
        const int *len;
        rnn_mha *m = NULL;
        double wf = 0, wb = 0;
        snprintf(p, sizeof p, "mha%d.", k);
        if (!(cfg = fx_get(&f, p, "config", &n))) break;
        E = (int)cfg[0]; H = (int)cfg[1]; Tq = (int)cfg[2]; Tk = (int)cfg[3]; B = (int)cfg[4];
        self = cfg[5] != 0; causal = cfg[6] != 0;
        len = cfg[7] != 0 ? fx_ints(&f, p, "klen", kl, 8) : NULL;
        rnn_mha_create(&m, E, H, 1);
        fx_params(&f, p, m->params, 0, &wf);
        qi = fx_get(&f, p, "query", NULL); ki = fx_get(&f, p, "key", NULL); vi = fx_get(&f, p, "value", NULL);
        dout = fx_get(&f, p, "dout", NULL);
        out = (float *)malloc(sizeof(float) * Tq * B * E);
        dq = (float *)malloc(sizeof(float) * Tq * B * E);
        dk = (float *)malloc(sizeof(float) * Tk * B * E);
        dv = (float *)malloc(sizeof(float) * Tk * B * E);
        if (rnn_mha_forward(m, qi, self ? qi : ki, self ? qi : vi, Tq, Tk, B, len, causal, out) != RNN_OK) wf = 1e9;
        fx_cmp(&f, p, "out", out, (size_t)Tq * B * E, &wf);
        fx_cmp(&f, p, "weights", m->attn, (size_t)B * H * Tq * Tk, &wf);
        rnn_params_zero_grad(m->params);
        if (rnn_mha_backward(m, dout, dq, self ? dq : dk, self ? dq : dv) != RNN_OK) wb = 1e9;
        fx_params(&f, p, m->params, 1, &wb);
        fx_cmp(&f, p, "dquery", dq, (size_t)Tq * B * E, &wb);
        if (!self) {
            fx_cmp(&f, p, "dkey", dk, (size_t)Tk * B * E, &wb);
            fx_cmp(&f, p, "dvalue", dv, (size_t)Tk * B * E, &wb);
        }
        snprintf(name, sizeof name, "mha vs nn.MultiheadAttention #%d E %d heads %d %s%s: forward", k, E, H,
                 self ? "self" : "cross", causal ? " causal" : "");
        check(wf < 1e-5, name, wf);
        snprintf(name, sizeof name, "mha vs nn.MultiheadAttention #%d: every gradient", k);
        check(wb < 1e-5, name, wb);
        if (self) {   /* separate gradient pointers give the three parts; their sum is dquery */
            size_t i, nx = (size_t)Tq * B * E;
            float *sum = (float *)malloc(sizeof(float) * nx);
            double ws = 0;
            rnn_mha_backward(m, dout, dq, dk, dv);
            for (i = 0; i < nx; i++) sum[i] = dq[i] + dk[i] + dv[i];
            fx_cmp(&f, p, "dquery", sum, nx, &ws);
            snprintf(name, sizeof name, "mha #%d: dquery + dkey + dvalue apart = their sum", k);
            check(ws < 1e-5, name, ws);
            free(sum);
        }
        rnn_mha_free(m);
        free(cfg); free(qi); free(ki); free(vi); free(dout); free(out); free(dq); free(dk); free(dv);
    }
    for (k = 0;; k++) {   /* nn.LayerNorm */
        char p[16], name[96];
        size_t n = 0;
        float *cfg, *x, *dy, *y, *dx, *gw, *gb;
        rnn_layernorm ln;
        int N, D;
        double wf = 0, wb = 0;
        snprintf(p, sizeof p, "ln%d.", k);
        if (!(cfg = fx_get(&f, p, "config", &n))) break;
        N = (int)cfg[0]; D = (int)cfg[1];
        ln.size = D; ln.eps = 0;
        ln.weight = fx_get(&f, p, "weight", NULL); ln.bias = fx_get(&f, p, "bias", NULL);
        ln.gweight = gw = (float *)calloc((size_t)D, sizeof(float));
        ln.gbias = gb = (float *)calloc((size_t)D, sizeof(float));
        x = fx_get(&f, p, "x", NULL); dy = fx_get(&f, p, "dy", NULL);
        y = (float *)malloc(sizeof(float) * N * D); dx = (float *)malloc(sizeof(float) * N * D);
        rnn_layernorm_forward(&ln, x, N, y, NULL);
        fx_cmp(&f, p, "y", y, (size_t)N * D, &wf);
        rnn_layernorm_backward(&ln, x, NULL, N, dy, dx);
        fx_cmp(&f, p, "dx", dx, (size_t)N * D, &wb);
        fx_cmp(&f, p, "grad.weight", gw, (size_t)D, &wb);
        fx_cmp(&f, p, "grad.bias", gb, (size_t)D, &wb);
        snprintf(name, sizeof name, "layer norm vs nn.LayerNorm #%d (%d × %d): y, dx, dweight, dbias", k, N, D);
        check(wf < 1e-5 && wb < 1e-5, name, wf > wb ? wf : wb);
        free(cfg); free(ln.weight); free(ln.bias); free(gw); free(gb); free(x); free(dy); free(y); free(dx);
    }
    for (k = 0;; k++) {   /* nn.TransformerEncoder */
        char p[16], name[128];
        size_t n = 0, NE;
        float *cfg, *x, *dy, *y, *dx;
        int lens[8];
        rnn_encoder_config c;
        rnn_encoder *e = NULL;
        const int *len;
        int T, B;
        double wf = 0, wb = 0;
        snprintf(p, sizeof p, "enc%d.", k);
        if (!(cfg = fx_get(&f, p, "config", &n))) break;
        memset(&c, 0, sizeof c);
        c.d_model = (int)cfg[0]; c.heads = (int)cfg[1]; c.ff_size = (int)cfg[2]; c.num_layers = (int)cfg[3];
        c.norm_first = (int)cfg[4]; c.gelu = (int)cfg[5]; c.causal = (int)cfg[6]; c.final_norm = (int)cfg[7];
        T = (int)cfg[8]; B = (int)cfg[9];
        len = cfg[10] != 0 ? fx_ints(&f, p, "lengths", lens, 8) : NULL;
        NE = (size_t)T * B * c.d_model;
        if (rnn_encoder_create(&e, &c, 3) != RNN_OK) { check(0, "encoder create", 0); free(cfg); continue; }
        fx_params(&f, p, e->params, 0, &wf);
        x = fx_get(&f, p, "x", NULL); dy = fx_get(&f, p, "dy", NULL);
        y = (float *)malloc(sizeof(float) * NE); dx = (float *)malloc(sizeof(float) * NE);
        if (rnn_encoder_forward(e, x, T, B, len, y) != RNN_OK) wf = 1e9;
        fx_cmp(&f, p, "y", y, NE, &wf);
        rnn_params_zero_grad(e->params);
        if (rnn_encoder_backward(e, dy, dx) != RNN_OK) wb = 1e9;
        fx_cmp(&f, p, "dx", dx, NE, &wb);
        fx_params(&f, p, e->params, 1, &wb);
        snprintf(name, sizeof name, "encoder vs nn.TransformerEncoder #%d: %d layers %s %s%s%s: forward", k,
                 c.num_layers, c.norm_first ? "pre-norm" : "post-norm", c.gelu ? "gelu" : "relu",
                 c.causal ? " causal" : "", c.final_norm ? " +norm" : "");
        check(wf < 1e-5, name, wf);
        snprintf(name, sizeof name, "encoder vs nn.TransformerEncoder #%d: dx and %d parameter gradients", k,
                 (int)arrlen(e->params));
        check(wb < 1e-5, name, wb);
        rnn_encoder_free(e);
        free(cfg); free(x); free(dy); free(y); free(dx);
    }
    free(f.buf);
}

/* ---- finite differences ---------------------------------------------------- */

typedef struct {
    rnn_attention_desc d;
    float *q, *k, *v, *w, *out, *r;
    int vk;
} sdpa_ctx;

static double sdpa_loss(void *p) {
    sdpa_ctx *c = (sdpa_ctx *)p;
    size_t i, n = (size_t)c->d.Tq * c->d.B * (c->d.v_size ? c->d.v_size : c->d.qk_size);
    double s = 0;
    rnn_attention_forward(&c->d, c->q, c->k, c->vk ? NULL : c->v, c->w, c->out);
    for (i = 0; i < n; i++) s += (double)c->out[i] * c->r[i];
    return s;
}

static float *rand_vec(rnn_rng *rng, size_t n, float scale) {
    float *v = (float *)malloc(sizeof(float) * (n ? n : 1));
    size_t i;
    for (i = 0; i < n; i++) v[i] = scale * rnn_rng_normal(rng);
    return v;
}

typedef struct {
    rnn_mha *m;
    float *q, *k, *v, *out, *r;
    int Tq, Tk, B, causal, self;
    const int *len;
} mha_ctx;

static double mha_loss(void *p) {
    mha_ctx *c = (mha_ctx *)p;
    size_t i, n = (size_t)c->Tq * c->B * c->m->embed_size;
    double s = 0;
    rnn_mha_forward(c->m, c->q, c->self ? c->q : c->k, c->self ? c->q : c->v, c->Tq, c->Tk, c->B, c->len,
                    c->causal, c->out);
    for (i = 0; i < n; i++) s += (double)c->out[i] * c->r[i];
    return s;
}

typedef struct {
    rnn_encoder *e;
    float *x, *y, *r;
    int T, B;
    const int *len;
} enc_ctx;

static double enc_loss(void *p) {
    enc_ctx *c = (enc_ctx *)p;
    size_t i, n = (size_t)c->T * c->B * c->e->cfg.d_model;
    double s = 0;
    rnn_encoder_forward(c->e, c->x, c->T, c->B, c->len, c->y);
    for (i = 0; i < n; i++) s += (double)c->y[i] * c->r[i];
    return s;
}

typedef struct { rnn_layernorm ln; float *x, *y, *r; int n; } ln_ctx;
static double ln_loss(void *p) {
    ln_ctx *c = (ln_ctx *)p;
    size_t i;
    double s = 0;
    rnn_layernorm_forward(&c->ln, c->x, c->n, c->y, NULL);
    for (i = 0; i < (size_t)c->n * c->ln.size; i++) s += (double)c->y[i] * c->r[i];
    return s;
}

static void test_attention_gradcheck(void) {
    rnn_rng rng;
    rnn_rng_seed(&rng, 77);
    { /* the bare function, masks and Keras form included */
        static const int shapes[][11] = {
            /* Tq Tk B heads qk v causal klen? qlen? v=k scale*10 */
            {4, 5, 2, 2, 6, 4, 0, 1, 0, 0, 0},
            {5, 5, 2, 1, 3, 3, 1, 1, 1, 0, 0},
            {3, 4, 2, 1, 4, 4, 0, 1, 1, 1, 10},
        };
        static const int kl[2] = {3, 4}, ql[2] = {2, 3};
        int s;
        for (s = 0; s < 3; s++) {
            sdpa_ctx c;
            const int *sh = shapes[s];
            size_t nq, nk, nv, no;
            float *dq, *dk, *dv, *sc;
            int ok = 1;
            double worst = 0;
            char name[96];
            memset(&c, 0, sizeof c);
            c.d.Tq = sh[0]; c.d.Tk = sh[1]; c.d.B = sh[2]; c.d.heads = sh[3]; c.d.qk_size = sh[4];
            c.d.v_size = sh[5]; c.d.causal = sh[6];
            c.d.key_lengths = sh[7] ? kl : NULL; c.d.query_lengths = sh[8] ? ql : NULL;
            c.vk = sh[9]; c.d.scale = sh[10] / 10.0f;
            nq = (size_t)c.d.Tq * c.d.B * c.d.qk_size; nk = (size_t)c.d.Tk * c.d.B * c.d.qk_size;
            nv = (size_t)c.d.Tk * c.d.B * c.d.v_size; no = (size_t)c.d.Tq * c.d.B * c.d.v_size;
            c.q = rand_vec(&rng, nq, 1); c.k = rand_vec(&rng, nk, 1); c.v = rand_vec(&rng, nv, 1);
            c.r = rand_vec(&rng, no, 1); c.out = rand_vec(&rng, no, 0);
            c.w = rand_vec(&rng, (size_t)c.d.B * c.d.heads * c.d.Tq * c.d.Tk, 0);
            dq = rand_vec(&rng, nq, 0); dk = rand_vec(&rng, nk, 0); dv = rand_vec(&rng, nv, 0);
            sc = rand_vec(&rng, (size_t)c.d.Tq * c.d.Tk, 0);
            sdpa_loss(&c);
            ok = rnn_attention_forward(&c.d, c.q, c.k, c.vk ? NULL : c.v, c.w, c.out) == RNN_OK &&
                 rnn_attention_backward(&c.d, c.q, c.k, c.vk ? NULL : c.v, c.w, c.r, dq, dk, dv, sc) == RNN_OK;
            fd_compare(sdpa_loss, &c, c.q, dq, nq, 1e-2f, 3e-4, 3e-3, &ok, &worst);
            fd_compare(sdpa_loss, &c, c.k, dk, nk, 1e-2f, 3e-4, 3e-3, &ok, &worst);
            if (!c.vk) fd_compare(sdpa_loss, &c, c.v, dv, nv, 1e-2f, 3e-4, 3e-3, &ok, &worst);
            snprintf(name, sizeof name, "gradcheck attention #%d: q, k, v%s%s%s", s, c.d.causal ? " causal" : "",
                     c.d.query_lengths ? " query mask" : "", c.vk ? " keras v=k" : "");
            check(ok, name, worst);
            free(c.q); free(c.k); free(c.v); free(c.r); free(c.out); free(c.w); free(dq); free(dk); free(dv); free(sc);
        }
    }
    { /* layer norm */
        ln_ctx c;
        float gw[7] = {0}, gb[7] = {0}, dx[3 * 7];
        int ok = 1;
        double worst = 0;
        c.n = 3; c.ln.size = 7; c.ln.eps = 1e-5f;
        c.ln.weight = rand_vec(&rng, 7, 1); c.ln.bias = rand_vec(&rng, 7, 1);
        c.ln.gweight = gw; c.ln.gbias = gb;
        c.x = rand_vec(&rng, 21, 2); c.r = rand_vec(&rng, 21, 1); c.y = rand_vec(&rng, 21, 0);
        ln_loss(&c);
        rnn_layernorm_backward(&c.ln, c.x, NULL, 3, c.r, dx);
        fd_compare(ln_loss, &c, c.x, dx, 21, 1e-2f, 3e-4, 3e-3, &ok, &worst);
        fd_compare(ln_loss, &c, c.ln.weight, gw, 7, 1e-2f, 3e-4, 3e-3, &ok, &worst);
        fd_compare(ln_loss, &c, c.ln.bias, gb, 7, 1e-2f, 3e-4, 3e-3, &ok, &worst);
        check(ok, "gradcheck layer norm: x, weight, bias", worst);
        free(c.ln.weight); free(c.ln.bias); free(c.x); free(c.r); free(c.y);
    }
    { /* multi-head attention: self with padding and causal, cross */
        static const int kl[3] = {5, 2, 4};
        int s;
        for (s = 0; s < 2; s++) {
            mha_ctx c;
            size_t nq, nk;
            float *dq, *dk, *dv;
            ptrdiff_t i;
            int ok = 1, E = 6;
            double worst = 0;
            char name[96];
            memset(&c, 0, sizeof c);
            c.self = s == 0; c.B = 3; c.Tq = c.self ? 5 : 3; c.Tk = 5; c.causal = c.self; c.len = kl;
            rnn_mha_create(&c.m, E, 2, 9 + s);
            for (i = 0; i < arrlen(c.m->params); i++) {   /* biases count too */
                size_t j;
                for (j = 0; j < c.m->params[i].count; j++) c.m->params[i].value[j] += 0.3f * rnn_rng_normal(&rng);
            }
            nq = (size_t)c.Tq * c.B * E; nk = (size_t)c.Tk * c.B * E;
            c.q = rand_vec(&rng, nq, 1); c.k = rand_vec(&rng, nk, 1); c.v = rand_vec(&rng, nk, 1);
            c.r = rand_vec(&rng, nq, 1); c.out = rand_vec(&rng, nq, 0);
            dq = rand_vec(&rng, nq, 0); dk = rand_vec(&rng, nk, 0); dv = rand_vec(&rng, nk, 0);
            rnn_params_zero_grad(c.m->params);
            mha_loss(&c);
            ok = rnn_mha_backward(c.m, c.r, dq, c.self ? dq : dk, c.self ? dq : dv) == RNN_OK;
            fd_compare(mha_loss, &c, c.q, dq, nq, 1e-2f, 3e-4, 3e-3, &ok, &worst);
            if (!c.self) {
                fd_compare(mha_loss, &c, c.k, dk, nk, 1e-2f, 3e-4, 3e-3, &ok, &worst);
                fd_compare(mha_loss, &c, c.v, dv, nk, 1e-2f, 3e-4, 3e-3, &ok, &worst);
            }
            for (i = 0; i < arrlen(c.m->params); i++)
                fd_compare(mha_loss, &c, c.m->params[i].value, c.m->params[i].grad, c.m->params[i].count, 1e-2f,
                           3e-4, 3e-3, &ok, &worst);
            snprintf(name, sizeof name, "gradcheck multi-head attention %s: inputs and every parameter",
                     c.self ? "self causal padded" : "cross padded");
            check(ok, name, worst);
            rnn_mha_free(c.m);
            free(c.q); free(c.k); free(c.v); free(c.r); free(c.out); free(dq); free(dk); free(dv);
        }
    }
    { /* encoder stacks: post-norm ReLU, pre-norm GELU with final norm */
        static const int lens[2] = {4, 2};
        int s;
        for (s = 0; s < 2; s++) {
            enc_ctx c;
            rnn_encoder_config cfg;
            size_t nx;
            float *dx;
            ptrdiff_t i;
            int ok = 1;
            double worst = 0;
            char name[96];
            memset(&cfg, 0, sizeof cfg);
            cfg.d_model = 6; cfg.heads = 2; cfg.ff_size = 5; cfg.num_layers = 2;
            cfg.norm_first = s; cfg.gelu = s; cfg.final_norm = s; cfg.causal = !s;
            memset(&c, 0, sizeof c);
            c.T = 4; c.B = 2; c.len = lens;
            rnn_encoder_create(&c.e, &cfg, 5 + s);
            for (i = 0; i < arrlen(c.e->params); i++) {
                size_t j;
                for (j = 0; j < c.e->params[i].count; j++) c.e->params[i].value[j] += 0.2f * rnn_rng_normal(&rng);
            }
            nx = (size_t)c.T * c.B * cfg.d_model;
            c.x = rand_vec(&rng, nx, 1); c.r = rand_vec(&rng, nx, 1); c.y = rand_vec(&rng, nx, 0);
            dx = rand_vec(&rng, nx, 0);
            rnn_params_zero_grad(c.e->params);
            enc_loss(&c);
            ok = rnn_encoder_backward(c.e, c.r, dx) == RNN_OK;
            fd_compare(enc_loss, &c, c.x, dx, nx, 1e-2f, 5e-4, 5e-3, &ok, &worst);
            for (i = 0; i < arrlen(c.e->params); i++)
                fd_compare(enc_loss, &c, c.e->params[i].value, c.e->params[i].grad, c.e->params[i].count, 1e-2f,
                           5e-4, 5e-3, &ok, &worst);
            snprintf(name, sizeof name, "gradcheck encoder %s: x and every parameter",
                     s ? "pre-norm gelu +norm" : "post-norm relu causal");
            check(ok, name, worst);
            rnn_encoder_free(c.e);
            free(c.x); free(c.r); free(c.y); free(dx);
        }
    }
}

static void test_attention_misc(void) {
    { /* positional encoding: the formula, in double */
        float pe[9 * 7];
        double worst = 0;
        int p, i;
        rnn_positional_encoding(pe, 9, 7);
        for (p = 0; p < 9; p++)
            for (i = 0; i < 7; i++) {
                double a = p / pow(10000.0, 2.0 * (i / 2) / 7.0), want = i % 2 ? cos(a) : sin(a);
                double e = fabs(pe[p * 7 + i] - want);
                if (e > worst) worst = e;
            }
        check(worst < 1e-6 && pe[0] == 0.0f && pe[1] == 1.0f, "positional encoding: sin / cos of p / 10000^(2i/E)",
              worst);
    }
    { /* bad input: a status and a message naming it */
        rnn_attention_desc d;
        rnn_mha *m = NULL;
        rnn_encoder *e = NULL;
        rnn_encoder_config c;
        float q[2 * 4] = {0}, w[16], o[8], y[2 * 4];
        int bad[1] = {3}, ok = 1;
        memset(&d, 0, sizeof d);
        d.Tq = 2; d.Tk = 2; d.B = 1; d.qk_size = 4; d.heads = 3;
        ok &= rnn_attention_forward(&d, q, q, q, w, o) == RNN_ERR_INVALID_ARGUMENT && strstr(d.error, "heads 3");
        d.heads = 2; d.key_lengths = bad;
        ok &= rnn_attention_forward(&d, q, q, q, w, o) == RNN_ERR_INVALID_ARGUMENT && strstr(d.error, "key_lengths[0] = 3");
        d.key_lengths = NULL; d.scale = (float)NAN;
        ok &= rnn_attention_forward(&d, q, q, q, w, o) == RNN_ERR_INVALID_ARGUMENT && strstr(d.error, "scale");
        ok &= rnn_mha_create(&m, 6, 4, 1) == RNN_ERR_INVALID_ARGUMENT && m == NULL;
        rnn_mha_create(&m, 4, 2, 1);
        ok &= rnn_mha_backward(m, o, NULL, NULL, NULL) == RNN_ERR_INVALID_ARGUMENT && strstr(m->error, "before");
        ok &= rnn_mha_forward(m, q, q, q, 2, 2, 1, bad, 0, y) == RNN_ERR_INVALID_ARGUMENT && strstr(m->error, "key_lengths");
        ok &= rnn_mha_forward(m, q, q, q, 2, 2, 1, NULL, 0, y) == RNN_OK;
        ok &= rnn_mha_forward(m, q, q, q, 2, 1, 1, NULL, 0, y) == RNN_OK;   /* cross, Tk 1 */
        ok &= rnn_mha_backward(m, y, y, y, NULL) == RNN_ERR_INVALID_ARGUMENT && strstr(m->error, "Tq 2 != Tk 1");
        memset(&c, 0, sizeof c);
        c.d_model = 4; c.heads = 3;
        ok &= rnn_encoder_create(&e, &c, 1) == RNN_ERR_INVALID_ARGUMENT;
        c.heads = 2;
        ok &= rnn_encoder_create(&e, &c, 1) == RNN_OK;
        ok &= rnn_encoder_forward(e, q, 2, 1, bad, y) == RNN_ERR_INVALID_ARGUMENT && strstr(e->error, "lengths[0] = 3");
        ok &= rnn_encoder_backward(e, y, NULL) == RNN_ERR_INVALID_ARGUMENT && strstr(e->error, "before");
        check(ok, "attention, mha, encoder: bad shapes, lengths, scale are refused with a message", 0);
        rnn_mha_free(m);
        rnn_encoder_free(e);
    }
    { /* after set-up nothing allocates: a forward and backward at a shape seen before */
        rnn_encoder_config c;
        rnn_encoder *e = NULL;
        rnn_rng rng;
        float *x, *y, *dx;
        int lens[4] = {30, 17, 1, 24};
        long before;
        memset(&c, 0, sizeof c);
        c.d_model = 64; c.heads = 4; c.num_layers = 2;
        rnn_rng_seed(&rng, 3);
        rnn_encoder_create(&e, &c, 1);
        x = rand_vec(&rng, 30 * 4 * 64, 1); y = rand_vec(&rng, 30 * 4 * 64, 0); dx = rand_vec(&rng, 30 * 4 * 64, 0);
        rnn_encoder_forward(e, x, 30, 4, lens, y);
        rnn_encoder_backward(e, y, dx);
        before = g_allocs;
        rnn_encoder_forward(e, x, 30, 4, lens, y);
        rnn_encoder_backward(e, y, dx);
        rnn_encoder_forward(e, x, 12, 4, NULL, y);   /* smaller fits too */
        check(g_allocs == before, "encoder: forward + backward allocate nothing after the first at a shape",
              (double)(g_allocs - before));
        rnn_encoder_free(e);
        free(x); free(y); free(dx);
    }
}

static void test_attention(void) {
    test_attention_parity();
    test_attention_gradcheck();
    test_attention_misc();
}
