/* tools/bench/sample.c - what a draw costs beside the step that made its
   logits: a small game-sized LM (embedding 16, 2 LSTM layers of 64) at
   vocabularies of 31, 96, 256 and 1,024, one thread.

   Prints, per V: µs per rnn_lm_step, µs per rnn_sample (temperature 0.8;
   plain, top-k 40, top-p 0.9, both), and each draw's share of a step.
   Medians of 9 rounds of 2,000 calls. The untrained model's logits are
   nearly flat (within ±0.3: top-p 0.9 keeps 90% of the tokens, the hardest
   case for the cut); a second line draws from the same logits times 20,
   a spread more like a trained model's, and prints its entropy. */
#define _POSIX_C_SOURCE 200809L
#define RNN_IMPLEMENTATION
#define STB_DS_IMPLEMENTATION
#include "../../rnn.h"
#include "bench.h"

int main(void) {
    static const int vs[4] = {31, 96, 256, 1024};
    static const struct { const char *name; int k; float p; } modes[4] = {
        {"plain", 0, 1.0f}, {"top-k 40", 40, 1.0f}, {"top-p 0.9", 0, 0.9f}, {"k 40 + p 0.9", 40, 0.9f}};
    static float z[1024];
    int vi, mi, r, k, sc, tok = 0;
    printf("one draw against one step (LSTM 2 x 64, embedding 16), us; share = draw / step\n");
    for (vi = 0; vi < 4; vi++) {
        rnn_lm_config lc;
        rnn_lm *m;
        rnn_lm_state *s;
        rnn_rng rng;
        double step[9], draw[9], tstep;
        const float *lg = NULL;
        memset(&lc, 0, sizeof lc);
        lc.vocab_size = vs[vi]; lc.embed_size = 16; lc.hidden_size = 64; lc.num_layers = 2;
        if (rnn_lm_create(&m, &lc, 3) != RNN_OK || rnn_lm_state_create(m, &s) != RNN_OK) return 1;
        rnn_rng_seed(&rng, 5);
        for (r = 0; r < 9; r++) {
            double t = now();
            for (k = 0; k < 2000; k++) lg = rnn_lm_step(m, s, k % vs[vi]);
            step[r] = (now() - t) / 2000 * 1e6;
        }
        tstep = median(step, 9);
        for (sc = 1; sc <= 20; sc += 19) {
            double mx = -1e30, sum = 0, ent = 0;
            for (k = 0; k < vs[vi]; k++) { z[k] = lg[k] * (float)sc; mx = z[k] > mx ? z[k] : mx; }
            for (k = 0; k < vs[vi]; k++) sum += exp((z[k] - mx) / 0.8);
            for (k = 0; k < vs[vi]; k++) {
                double q = exp((z[k] - mx) / 0.8) / sum;
                ent -= q > 0 ? q * log(q) : 0;
            }
            if (sc == 1) printf("V %5d  step %6.2f us, logits as made   (entropy %4.2f nats)", vs[vi], tstep, ent);
            else printf("V %5d                  logits x 20       (entropy %4.2f nats)", vs[vi], ent);
            for (mi = 0; mi < 4; mi++) {
                for (r = 0; r < 9; r++) {
                    double t = now();
                    for (k = 0; k < 2000; k++) rnn_sample(z, vs[vi], 0.8f, modes[mi].k, modes[mi].p, &rng, &tok);
                    draw[r] = (now() - t) / 2000 * 1e6;
                }
                printf(" | %s %5.2f us %3.0f%%", modes[mi].name, median(draw, 9), 100 * median(draw, 9) / tstep);
            }
            printf("\n");
        }
        rnn_lm_state_free(s);
        rnn_lm_free(m);
    }
    return tok < 0;
}
