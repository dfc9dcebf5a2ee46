/* tools/bench/int8q.c - how much int8 weights cost in quality, on each
   MODEL's next-token predictions over the validation part of CORPUS (its
   last 5%, as textgen train holds it out), up to 20,000 tokens:

     int8 per row   rnn.h's int8 path (rnn_lm_quantize: weights and each
                    token's activations in int8, one scale a weight row)
     int8 calib.    the same calibrated on the first 20,000 tokens of
                    CORPUS (training text; textgen quantize --calibrate):
                    rows rounded by GPTQ, biases corrected
     int8 calib. 2L the same run with two int8 levels an input
                    (rnn_lm_int8_precise; textgen sample --precise)
     weights/row    only the weights rounded, one scale a row (the float
                    path with the weights int8 stands for)
     weights/64     only the weights rounded, one scale a group of 64
                    inputs of a row (the finer choice the issue asked to
                    weigh against one a row)

   Prints each one's loss (nats a token, and its change against FP32) and
   how often its most likely next token is FP32's.
   Usage: bench-int8q CORPUS MODEL...   (tools/bench/int8q.sh trains the six) */
#define _POSIX_C_SOURCE 200809L
#define RNN_IMPLEMENTATION
#define STB_DS_IMPLEMENTATION
#include "../../rnn.h"
#include "bench.h"

/* Rounds each group of g weights of every row of p to int8 with its own scale. */
static void round_groups(rnn_param *p, int g) {
    int j, i0, i;
    for (j = 0; j < p->rows; j++)
        for (i0 = 0; i0 < p->cols; i0 += g) {
            float *w = p->value + (size_t)j * p->cols + i0, amax = 0, s;
            int n = p->cols - i0 < g ? p->cols - i0 : g;
            for (i = 0; i < n; i++) amax = fabsf(w[i]) > amax ? fabsf(w[i]) : amax;
            s = amax / 127.0f;
            for (i = 0; i < n; i++) w[i] = s > 0 ? s * (float)rnn__q8_round(w[i] / s) : 0.0f;
        }
}

/* Loss and FP32 agreement of model m over ids[0..n); top receives (ref NULL) or is compared to (ref) the argmax. */
static double run(const rnn_lm *m, const int *ids, size_t n, int *top, const int *ref, double *agree) {
    rnn_lm_state *s;
    double loss = 0;
    size_t t, same = 0;
    int v, V = m->cfg.vocab_size;
    rnn_lm_state_create(m, &s);
    for (t = 0; t + 1 < n; t++) {
        const float *l = rnn_lm_step(m, s, ids[t]);
        double mx, z = 0;
        int b = 0;
        for (v = 1; v < V; v++) if (l[v] > l[b]) b = v;
        mx = l[b];
        for (v = 0; v < V; v++) z += exp(l[v] - mx);
        loss += mx + log(z) - l[ids[t + 1]];
        if (ref) same += ref[t] == b; else top[t] = b;
    }
    rnn_lm_state_free(s);
    *agree = (double)same / (double)(n - 1);
    return loss / (double)(n - 1);
}

int main(int argc, char **argv) {
    FILE *f;
    char *text, err[256];
    long len;
    int a;
    if (argc < 3) { fprintf(stderr, "usage: %s CORPUS MODEL...\n", argv[0]); return 2; }
    if (!(f = fopen(argv[1], "rb"))) { perror(argv[1]); return 1; }
    fseek(f, 0, SEEK_END); len = ftell(f); fseek(f, 0, SEEK_SET);
    text = (char *)malloc((size_t)len + 1);
    if (fread(text, 1, (size_t)len, f) != (size_t)len) return 1;
    fclose(f);
    printf("int8 kernel: %s; up to 20,000 tokens of the validation part\n", rnn_int8_simd_name());
    printf("%-28s %-14s %9s %8s %9s\n", "model", "weights", "loss", "vs FP32", "top-1 =");
    for (a = 2; a < argc; a++) {
        rnn_lm *m[5];
        size_t n = 0, from;
        int *ids, *top, k;
        double base = 0, agree;
        static const char *names[5] = {"FP32", "int8 per row", "int8 calib.", "weights/row", "weights/64"};
        for (k = 0; k < 5; k++)
            if (rnn_lm_load(&m[k], NULL, argv[a], err, sizeof err) != RNN_OK) { fprintf(stderr, "%s: %s\n", argv[a], err); return 1; }
        ids = (int *)malloc(sizeof(int) * ((size_t)len + 1));
        if (!m[0]->vocab || rnn_vocab_encode(m[0]->vocab, text, (size_t)len, ids, (size_t)len + 1, &n, NULL) != RNN_OK) {
            fprintf(stderr, "%s: a char model of this corpus, please\n", argv[a]);
            return 1;
        }
        from = rnn_batcher_split(n, 0.05f);
        if (n - from > 20000) n = from + 20000;
        top = (int *)malloc(sizeof(int) * n);
        rnn_lm_quantize(m[1], NULL, 0);
        rnn_lm_quantize(m[2], ids, from < 20000 ? from : 20000);
        {   /* weights/row: the floats rnn_lm_quantize left, in a float model */
            ptrdiff_t i;
            for (i = 0; i < stbds_arrlen(m[3]->params); i++)
                memcpy(m[3]->params[i].value, m[1]->params[i].value, sizeof(float) * m[1]->params[i].count);
            for (i = 0; i < stbds_arrlen(m[4]->params); i++)
                if (m[4]->params[i].cols) round_groups(&m[4]->params[i], 64);
            rnn_lm_weights_changed(m[3]);
            rnn_lm_weights_changed(m[4]);
        }
        for (k = 0; k < 5; k++) {
            double l = run(m[k], ids + from, n - from, top, k ? top : NULL, &agree);
            if (!k) base = l;
            printf("%-28s %-14s %9.4f %+7.2f%% %8.2f%%\n", k ? "" : strrchr(argv[a], '/') ? strrchr(argv[a], '/') + 1 : argv[a],
                   names[k], l, 100 * (l - base) / base, k ? 100 * agree : 100.0);
            if (k == 2 && rnn_lm_int8_precise(m[2], 1) == RNN_OK) {   /* and run with two levels an input */
                l = run(m[2], ids + from, n - from, top, top, &agree);
                printf("%-28s %-14s %9.4f %+7.2f%% %8.2f%%\n", "", "int8 calib. 2L", l, 100 * (l - base) / base, 100 * agree);
            }
        }
        for (k = 0; k < 5; k++) rnn_lm_free(m[k]);
        free(ids); free(top);
    }
    free(text);
    return 0;
}
