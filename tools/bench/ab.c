/* tools/bench/ab.c - two versions of rnn.h in one process, timed turn by
   turn (tools/bench/ab.sh builds it): the char LM's training step and
   one-token generation, old and new alternating in which goes first, so
   both halves of every ratio ran under the same load. The shared machine
   moves absolute times by ±20%; the median of the per-round ratios moves
   by about 2%. Also says whether both versions computed the same losses
   (a refactor that should not change results must give equal ones).
   Built with AB_INT8 (both sides have rnn_lm_quantize), it also times one
   token of the same model made int8, and says whether its logits agree.

   Usage: ab CELL H ROUNDS [THREADS]   (CELL: 1 tanh, 3 lstm, 4 gru, 5 gru_cho;
   THREADS: each side on its own pool, when built with RNN_THREADS)
   Prints one line: median old/new time ratio of training and generation
   (> 1: new is faster), with the quartiles; then int8 generation's. */
#define _POSIX_C_SOURCE 200809L
#define STB_DS_IMPLEMENTATION
#include <stb_ds.h>
#include <stdio.h>
#include <stdlib.h>
#include "bench.h"

void *old_make(int V, int cell, int H, unsigned long long seed);
float old_train(void *p, const int *in, const int *tg);
float old_gen(void *p, int n, int int8);
void old_threads(int n);
void *new_make(int V, int cell, int H, unsigned long long seed);
void new_threads(int n);
float new_train(void *p, const int *in, const int *tg);
float new_gen(void *p, int n, int int8);

int main(int argc, char **argv) {
    int cell, H, rounds, V = 86, i, r, same = 1, same8 = 1;
    static int in[64 * 32], tg[64 * 32];
    double rt[1000], rg[1000], rq[1000];
    void *a, *b;
    if (argc < 4 || argc > 5 || (rounds = atoi(argv[3])) < 4 || rounds > 1000) {
        fprintf(stderr, "usage: %s CELL H ROUNDS (4..1000) [THREADS]\n", argv[0]);
        return 2;
    }
    cell = atoi(argv[1]); H = atoi(argv[2]);
    if (argc == 5) { old_threads(atoi(argv[4])); new_threads(atoi(argv[4])); }
    a = old_make(V, cell, H, 7); b = new_make(V, cell, H, 7);
    if (!a || !b) { fprintf(stderr, "ab: cannot make the models\n"); return 1; }
    srand(1);
    for (i = 0; i < 64 * 32; i++) { in[i] = rand() % V; tg[i] = rand() % V; }
    for (r = 0; r < 2; r++) same &= old_train(a, in, tg) == new_train(b, in, tg);   /* warm-up */
    for (r = 0; r < rounds; r++) {
        double t0, t1, t2, to, tn, go, gn, qo = 1, qn = 1;
        float la, lb, qa = 0, qb = 0;
        if (r & 1) {
            t0 = now(); la = old_train(a, in, tg); t1 = now(); lb = new_train(b, in, tg); t2 = now();
            to = t1 - t0; tn = t2 - t1;
            t0 = now(); old_gen(a, 300, 0); t1 = now(); new_gen(b, 300, 0); t2 = now();
            go = t1 - t0; gn = t2 - t1;
#ifdef AB_INT8
            t0 = now(); qa = old_gen(a, 300, 1); t1 = now(); qb = new_gen(b, 300, 1); t2 = now();
            qo = t1 - t0; qn = t2 - t1;
#endif
        } else {
            t0 = now(); lb = new_train(b, in, tg); t1 = now(); la = old_train(a, in, tg); t2 = now();
            tn = t1 - t0; to = t2 - t1;
            t0 = now(); new_gen(b, 300, 0); t1 = now(); old_gen(a, 300, 0); t2 = now();
            gn = t1 - t0; go = t2 - t1;
#ifdef AB_INT8
            t0 = now(); qb = new_gen(b, 300, 1); t1 = now(); qa = old_gen(a, 300, 1); t2 = now();
            qn = t1 - t0; qo = t2 - t1;
#endif
        }
        same &= la == lb;
        same8 &= qa == qb;
        rt[r] = to / tn;
        rg[r] = go / gn;
        rq[r] = qo / qn;
    }
    qsort(rt, (size_t)rounds, sizeof *rt, cmp_double);
    qsort(rg, (size_t)rounds, sizeof *rg, cmp_double);
    qsort(rq, (size_t)rounds, sizeof *rq, cmp_double);
    printf("cell %d H %-4d old/new time: train %.3f (quartiles %.3f %.3f), generate %.3f (%.3f %.3f); losses %s",
           cell, H, rt[rounds / 2], rt[rounds / 4], rt[3 * rounds / 4], rg[rounds / 2], rg[rounds / 4],
           rg[3 * rounds / 4], same ? "bit-identical" : "differ");
#ifdef AB_INT8
    printf("; int8 generate %.3f (%.3f %.3f), logits %s", rq[rounds / 2], rq[rounds / 4], rq[3 * rounds / 4],
           same8 ? "bit-identical" : "differ");
#endif
    printf("\n");
    return 0;
}
