/* tools/bench/ab_side.c - one side of tools/bench/ab.sh: an rnn.h (AB_HEADER)
   compiled static, with entry points named AB_PREFIX*, so two versions of
   the library live in one process and are timed turn by turn. */
#define RNN_STATIC
#define RNN_IMPLEMENTATION
#include AB_HEADER
#include <stdlib.h>
#include <string.h>

#define AB_CAT2(a, b) a##b
#define AB_CAT(a, b) AB_CAT2(a, b)
#define AB_FN(name) AB_CAT(AB_PREFIX, name)

/* the model, its optimizer and state; q, qs: the same model made int8
   (rnn_lm_quantize) and its state, when both sides have int8 (AB_INT8) */
typedef struct { rnn_lm *m, *q; rnn_optimizer *o; rnn_lm_state *s, *qs; } ab_ctx;

/* The char LM of tools/bench/lm.c: embedding 64, 2 layers of cell, Adam 2e-3, clip 5. */
void *AB_FN(make)(int V, int cell, int H, unsigned long long seed);
void *AB_FN(make)(int V, int cell, int H, unsigned long long seed) {
    ab_ctx *c = (ab_ctx *)calloc(1, sizeof *c);
    rnn_lm_config lc;
    rnn_optimizer_config oc;
    memset(&lc, 0, sizeof lc);
    memset(&oc, 0, sizeof oc);
    lc.vocab_size = V; lc.hidden_size = H; lc.cell = (rnn_cell)cell; lc.embed_size = 64; lc.num_layers = 2;
    oc.lr = 2e-3f; oc.clip_norm = 5;
    if (!c || rnn_lm_create(&c->m, &lc, seed) != RNN_OK || rnn_optimizer_create(&c->o, &oc, c->m->params) != RNN_OK ||
        rnn_lm_state_create(c->m, &c->s) != RNN_OK)
        return NULL;
#ifdef AB_INT8
    if (rnn_lm_create(&c->q, &lc, seed) != RNN_OK || rnn_lm_quantize(c->q, NULL, 0) != RNN_OK ||
        rnn_lm_state_create(c->q, &c->qs) != RNN_OK)
        return NULL;
#endif
    return c;
}

/* Sets the side's thread count (its own pool; built with RNN_THREADS). */
void AB_FN(threads)(int n);
void AB_FN(threads)(int n) {
#ifdef RNN_THREADS
    rnn_set_threads(n);
#else
    (void)n;
#endif
}

/* One training step on a window [64][32]; returns the loss. */
float AB_FN(train)(void *p, const int *in, const int *tg);
float AB_FN(train)(void *p, const int *in, const int *tg) {
    ab_ctx *c = (ab_ctx *)p;
    float loss = -1;
    rnn_lm_train_step(c->m, c->o, in, tg, 64, 32, &loss);
    return loss;
}

/* n one-token steps of the float model (int8 0) or the int8 one (1);
   returns a sum of logits (so nothing is optimised away, and two sides
   that compute alike return the same sum). */
float AB_FN(gen)(void *p, int n, int int8);
float AB_FN(gen)(void *p, int n, int int8) {
    ab_ctx *c = (ab_ctx *)p;
    rnn_lm *m = int8 ? c->q : c->m;
    rnn_lm_state *s = int8 ? c->qs : c->s;
    float acc = 0;
    int k;
    for (k = 0; k < n; k++) acc += rnn_lm_step(m, s, (k * 7) % m->cfg.vocab_size)[0];
    return acc;
}
