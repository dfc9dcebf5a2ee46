/* examples/addition.c - the course notes' sequence-to-sequence example:
   learning to add. "129+124" in, "253" out, as characters.

   addition [--minutes M] [--model keras|attention|both] [--out DIR] ...
       Trains the notes' Keras model (one-hot characters → LSTM 128, whose
       last output is repeated 4 times → LSTM 128 → dense 12 → softmax) and
       an encoder-decoder with attention and teacher forcing, M minutes
       each, on sums of numbers of up to 3 digits. Reports the exact-match
       accuracy (the whole answer right) on 1,000 held-out sums (pairs of
       numbers 0..999 drawn uniformly) whose operand pairs never occur in
       training (which draws each number's length, 1-3 digits, first), greedy and with beam search,
       the examples and seconds it took, and which input character each
       output digit looked at. Writes DIR/addition-{keras,attention}.safetensors
       and DIR/addition-curves.svg (accuracy against training time).
   addition [--load FILE] [--beam K] SUM...
       Answers each SUM ("129+124") from a saved model (default
       build/addition-attention.safetensors), with beam search of width K
       (default 4; 1: greedy).

   The recipe (each part can be switched off to measure it): the input
   reversed ("421+921", as in Keras's addition example), fresh random sums
   every batch (no fixed training set), Adam with a learning rate that falls
   linearly to 5% over the time given.

   Build: cc -O2 $(pkg-config --cflags stb) addition.c -lm   (or: make)
   Every bad option, sum or file gets a message and a non-zero exit status. */
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

#define DIGITS 3
#define SRC_LEN (2 * DIGITS + 1)   /* "999+999" */
#define TGT_LEN (DIGITS + 1)       /* "1998"    */
#define NTEST 1000
#define SYMBOLS "0123456789+ "

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* ---- the data ----------------------------------------------------------- */

typedef struct {
    rnn_vocab v;
    int reverse;
    unsigned char *held;   /* [1000 × 1000] 1: the pair (a, b) is a test sum */
    int test_a[NTEST], test_b[NTEST];
} task;

/* A number as Keras's example draws it: 1..3 digits, each uniform. */
static int draw_number(rnn_rng *rng) {
    int n = 1 + (int)(rnn_rng_u64(rng) % DIGITS), x = 0, i;
    for (i = 0; i < n; i++) x = 10 * x + (int)(rnn_rng_u64(rng) % 10);
    return x;
}

/* The source (padded to 7, reversed if asked) and the answer (padded to 4)
   of a + b as token ids. */
static void encode_sum(const task *k, int a, int b, int *src, int *tgt) {
    char q[16], ans[8];
    size_t n = 0;
    int i;
    i = snprintf(q, sizeof q, "%d+%d", a, b);
    memset(q + i, ' ', (size_t)(SRC_LEN - i));
    q[SRC_LEN] = 0;
    if (k->reverse)
        for (i = 0; i < SRC_LEN / 2; i++) { char c = q[i]; q[i] = q[SRC_LEN - 1 - i]; q[SRC_LEN - 1 - i] = c; }
    i = snprintf(ans, sizeof ans, "%d", a + b);
    memset(ans + i, ' ', (size_t)(TGT_LEN - i));
    rnn_vocab_encode(&k->v, q, SRC_LEN, src, SRC_LEN, &n, NULL);
    rnn_vocab_encode(&k->v, ans, TGT_LEN, tgt, TGT_LEN, &n, NULL);
}

/* 1000 test pairs, uniform over all pairs of numbers 0..999, never trained
   on (in either order). Not drawn as training sums are: that draw makes a
   third of the sums one- or two-digit pairs, of which there are few (100
   pairs of one digit each), so 1000 of them held out would take most of
   the short sums out of training. Uniform pairs are mostly three-digit
   sums, the hard ones (carries), and hold out 0.2% of the training pairs. */
static int task_init(task *k, int reverse, uint64_t seed) {
    rnn_rng rng;
    int i;
    memset(k, 0, sizeof *k);
    k->reverse = reverse;
    if (rnn_vocab_from_text(&k->v, SYMBOLS, strlen(SYMBOLS), NULL) != RNN_OK) return 1;
    if (!(k->held = (unsigned char *)calloc(1000 * 1000, 1))) return 1;
    rnn_rng_seed(&rng, seed ^ 0xADD);
    for (i = 0; i < NTEST;) {
        int a = (int)(rnn_rng_u64(&rng) % 1000), b = (int)(rnn_rng_u64(&rng) % 1000);
        if (k->held[a * 1000 + b]) continue;
        k->held[a * 1000 + b] = k->held[b * 1000 + a] = 1;
        k->test_a[i] = a; k->test_b[i] = b; i++;
    }
    return 0;
}

/* A training batch, time-major: src [7][B], tgt [4][B]. */
static void train_batch(const task *k, rnn_rng *rng, int B, int *src, int *tgt) {
    int b, t, s[SRC_LEN], g[TGT_LEN];
    for (b = 0; b < B; b++) {
        int x, y;
        do { x = draw_number(rng); y = draw_number(rng); } while (k->held[x * 1000 + y]);
        encode_sum(k, x, y, s, g);
        for (t = 0; t < SRC_LEN; t++) src[t * B + b] = s[t];
        for (t = 0; t < TGT_LEN; t++) tgt[t * B + b] = g[t];
    }
}

/* ---- evaluation ----------------------------------------------------------- */

typedef struct { double exact, chars; } score;

/* Exact-match and per-character accuracy on the first n test sums. */
static score evaluate(rnn_s2s *s, const task *k, int beam, int n) {
    score r = {0, 0};
    int i, t;
    for (i = 0; i < n; i++) {
        int src[SRC_LEN], tgt[TGT_LEN], out[TGT_LEN], got = 0, same = 0;
        encode_sum(k, k->test_a[i], k->test_b[i], src, tgt);
        if (rnn_s2s_decode(s, src, SRC_LEN, beam, -1, out, TGT_LEN, &got) != RNN_OK) {
            fprintf(stderr, "addition: decode: %s\n", s->error);
            break;
        }
        for (t = 0; t < got; t++) same += out[t] == tgt[t];
        r.exact += same == TGT_LEN;
        r.chars += same;
    }
    r.exact /= n;
    r.chars /= (double)n * TGT_LEN;
    return r;
}

/* Which input character each output character looked at most, for the
   attention model: "1+2=3" style lines with the weights. */
static void show_attention(rnn_s2s *s, const task *k, int i) {
    int src[SRC_LEN], tgt[TGT_LEN], out[TGT_LEN], got = 0, t, j;
    char q[SRC_LEN + 1], a[TGT_LEN + 1];
    size_t n;
    encode_sum(k, k->test_a[i], k->test_b[i], src, tgt);
    if (rnn_s2s_decode(s, src, SRC_LEN, 1, -1, out, TGT_LEN, &got) != RNN_OK || !s->decode_weights) return;
    n = rnn_vocab_decode(&k->v, src, SRC_LEN, q, sizeof q); q[n] = 0;
    n = rnn_vocab_decode(&k->v, out, (size_t)got, a, sizeof a); a[n] = 0;
    printf("  input \"%s\" (as the model reads it) -> \"%s\"; weights of each output character:\n", q, a);
    printf("          ");
    for (j = 0; j < SRC_LEN; j++) printf("   '%c'", q[j]);
    printf("\n");
    for (t = 0; t < got; t++) {
        const float *w = s->decode_weights + (size_t)t * SRC_LEN;
        int best = 0;
        for (j = 1; j < SRC_LEN; j++)
            if (w[j] > w[best]) best = j;
        printf("    '%c'   ", a[t]);
        for (j = 0; j < SRC_LEN; j++) printf(" %s%4.2f%s", j == best ? "[" : " ", w[j], j == best ? "]" : " ");
        printf("\n");
    }
}

/* ---- training --------------------------------------------------------------- */

typedef struct {
    const char *name;
    rnn_s2s *s;
    plot_point *curve;     /* stb_ds array: held-out exact match against seconds */
    double seconds, seq_per_s;
    long examples;
    score greedy, beam;
} result;

static long count_params(const rnn_s2s *s) {
    long n = 0;
    ptrdiff_t i;
    for (i = 0; i < arrlen(s->params); i++) n += (long)s->params[i].count;
    return n;
}

static int train(result *r, const task *k, int attention, double minutes, int B, float lr, int constant_lr, int hidden,
                 uint64_t seed) {
    rnn_s2s_config cfg;
    rnn_optimizer_config oc;
    rnn_optimizer *opt = NULL;
    rnn_rng rng;
    int *src = (int *)malloc(sizeof(int) * SRC_LEN * B), *tgt = (int *)malloc(sizeof(int) * TGT_LEN * B);
    double t0, next_eval = 0, budget = minutes * 60, train_time = 0;
    long step = 0;
    float loss = 0;
    memset(&cfg, 0, sizeof cfg);
    cfg.src_vocab = cfg.tgt_vocab = rnn_vocab_size(&k->v);
    cfg.cell = RNN_LSTM; cfg.hidden_size = hidden; cfg.max_src_len = SRC_LEN; cfg.max_tgt_len = TGT_LEN;
    if (attention) { cfg.embed_size = 16; cfg.attention = RNN_S2S_GENERAL; }
    else { cfg.one_hot = 1; cfg.repeat = 1; }
    memset(&oc, 0, sizeof oc);
    oc.lr = lr; oc.clip_norm = 5;
    if (!src || !tgt || rnn_s2s_create(&r->s, &cfg, seed) != RNN_OK ||
        rnn_optimizer_create(&opt, &oc, r->s->params) != RNN_OK || rnn_s2s_set_vocab(r->s, &k->v, &k->v) != RNN_OK) {
        fprintf(stderr, "addition: cannot create the %s model\n", r->name);
        free(src); free(tgt);
        return 1;
    }
    printf("\n%s: %ld parameters, batch %d, Adam %g%s, %.1f minutes\n", r->name, count_params(r->s), B, lr,
           constant_lr ? " (constant)" : " falling to 5%", minutes);
    rnn_rng_seed(&rng, seed + 1);
    t0 = now();
    while (train_time < budget) {
        double ts = now();
        if (!constant_lr) opt->cfg.lr = lr * (float)(1.0 - 0.95 * train_time / budget);
        train_batch(k, &rng, B, src, tgt);
        if (rnn_s2s_train_step(r->s, opt, src, NULL, SRC_LEN, tgt, NULL, TGT_LEN, B, &loss) != RNN_OK) {
            fprintf(stderr, "addition: %s\n", r->s->error);
            break;
        }
        step++;
        train_time += now() - ts;
        if (train_time >= next_eval || train_time >= budget) {   /* evaluation time is not training time */
            score e = evaluate(r->s, k, 1, 300);
            plot_point p;
            p.x = train_time; p.y = e.exact;
            arrput(r->curve, p);
            printf("  %6.1f s  %8ld examples  loss %.4f  held-out exact match %.1f%% (first 300)\n", train_time,
                   step * B, loss, 100 * e.exact);
            fflush(stdout);
            next_eval += budget / 12;
        }
    }
    r->seconds = train_time;
    r->examples = step * B;
    r->seq_per_s = r->examples / (train_time > 0 ? train_time : 1);
    r->greedy = evaluate(r->s, k, 1, NTEST);
    r->beam = evaluate(r->s, k, 4, NTEST);
    printf("  %s: %ld examples in %.0f s (%.0f a second, %.0f s with evaluation); held-out exact match %.1f%% greedy, "
           "%.1f%% beam 4 (per character %.2f%%)\n",
           r->name, r->examples, r->seconds, r->seq_per_s, now() - t0, 100 * r->greedy.exact, 100 * r->beam.exact,
           100 * r->greedy.chars);
    rnn_optimizer_free(opt);
    free(src);
    free(tgt);
    return 0;
}

/* Held-out exact match against training seconds, one line per model. */
static void write_curves(const char *path, result *const *rs, int n) {
    plot p;
    double xmax = 1;
    int k;
    for (k = 0; k < n; k++) xmax = plot_xmax(rs[k]->curve, (int)arrlen(rs[k]->curve), xmax);
    if (!plot_curves(&p, "addition", path, "Learning to add: exact match on held-out sums", xmax, 0, 1, "%.0f%%", 100))
        return;
    for (k = 0; k < n; k++) plot_line(&p, rs[k]->curve, (int)arrlen(rs[k]->curve), rs[k]->name);
    plot_close(&p);
}

/* ---- answering ---------------------------------------------------------------- */

/* Checks a sum "A+B" (1..3 digits each); a message names what is wrong. */
static int parse_sum(const char *s, int *a, int *b, char *why, size_t cap) {
    const char *plus = strchr(s, '+'), *p;
    size_t la, lb;
    if (!*s) { snprintf(why, cap, "the sum is empty"); return 0; }
    for (p = s; *p; p++)
        if (!(*p >= '0' && *p <= '9') && *p != '+') {
            snprintf(why, cap, "\"%c\" is not a digit or '+': a sum is two numbers of 1 to 3 digits, like 129+124", *p);
            return 0;
        }
    if (!plus || strchr(plus + 1, '+')) { snprintf(why, cap, "a sum has exactly one '+', like 129+124"); return 0; }
    la = (size_t)(plus - s); lb = strlen(plus + 1);
    if (!la || !lb) { snprintf(why, cap, "the %s number is missing", la ? "second" : "first"); return 0; }
    if (la > DIGITS || lb > DIGITS) {
        snprintf(why, cap, "the model adds numbers of at most %d digits; %s has %lu", DIGITS, la > DIGITS ? "the first" : "the second",
                 (unsigned long)(la > DIGITS ? la : lb));
        return 0;
    }
    *a = atoi(s); *b = atoi(plus + 1);
    return 1;
}

static int answer(const char *path, int beam, int n, const char **sums) {
    rnn_s2s *s = NULL;
    task k;
    char err[256];
    int i, rc = 0;
    rnn_status st = rnn_s2s_load(&s, NULL, path, err, sizeof err);
    if (st != RNN_OK) {
        fprintf(stderr, "addition: %s%s\n", err, st == RNN_ERR_IO ? " (train one first: make addition)" : "");
        return 1;
    }
    if (!s->src_text || rnn_vocab_size(s->src_text) != 12 || s->cfg.max_src_len != SRC_LEN) {
        fprintf(stderr, "addition: %s is not a model of this example\n", path);
        rnn_s2s_free(s);
        return 1;
    }
    memset(&k, 0, sizeof k);
    k.reverse = 1;
    k.v = *s->src_text;
    for (i = 0; i < n; i++) {
        int a, b, src[SRC_LEN], tgt[TGT_LEN], out[TGT_LEN], got = 0;
        char why[160], ans[TGT_LEN + 1];
        size_t m;
        if (!parse_sum(sums[i], &a, &b, why, sizeof why)) {
            fprintf(stderr, "addition: \"%s\": %s\n", sums[i], why);
            rc = 1;
            continue;
        }
        encode_sum(&k, a, b, src, tgt);
        if (rnn_s2s_decode(s, src, SRC_LEN, beam, -1, out, TGT_LEN, &got) != RNN_OK) {
            fprintf(stderr, "addition: %s\n", s->error);
            rc = 1;
            continue;
        }
        m = rnn_vocab_decode(&k.v, out, (size_t)got, ans, sizeof ans);
        if (m > TGT_LEN) m = TGT_LEN;
        while (m && ans[m - 1] == ' ') m--;
        ans[m] = 0;
        printf("%s = %s%s\n", sums[i], ans, atoi(ans) == a + b && m ? "" : "   (wrong)");
    }
    rnn_s2s_free(s);
    return rc;
}

int main(int argc, char **argv) {
    cli_opt opts[] = {
        {"--minutes", NULL, CLI_NUM, 0.01, 600, 2, NULL, 0},
        {"--model", NULL, CLI_STR, 0, 0, 0, "both", 0},
        {"--out", "-o", CLI_STR, 0, 0, 0, "build", 0},
        {"--load", NULL, CLI_STR, 0, 0, 0, "build/addition-attention.safetensors", 0},
        {"--beam", NULL, CLI_INT, 1, 64, 4, NULL, 0},
        {"--seed", NULL, CLI_INT, 0, 1e9, 1, NULL, 0},
        {"--batch", NULL, CLI_INT, 1, 4096, 128, NULL, 0},
        {"--lr", NULL, CLI_NUM, 1e-6, 1, 0.01, NULL, 0},
        {"--hidden", NULL, CLI_INT, 1, 4096, 128, NULL, 0},
        {"--no-reverse", NULL, CLI_FLAG, 0, 0, 0, NULL, 0},
        {"--constant-lr", NULL, CLI_FLAG, 0, 0, 0, NULL, 0},
        {"--help", "-h", CLI_FLAG, 0, 0, 0, NULL, 0},
    };
    int nopt = (int)(sizeof opts / sizeof opts[0]), npos = 0, rc = 0, n = 0, i, recipe;
    const char *pos[64], *which, *out;
    result rs[2], *done[2];
    task k;
    char path[1100];
    if (cli_parse("addition", argc, argv, 1, opts, nopt, pos, 64, &npos)) return 2;
    if (cli_get(opts, nopt, "--help")->given) {
        printf("usage: addition [--minutes M] [--model keras|attention|both] [--out DIR] [--seed N]\n"
               "                [--batch N] [--lr X] [--hidden H] [--no-reverse] [--constant-lr]\n"
               "       addition [--load FILE] [--beam K] SUM...   e.g. addition 129+124 (beam 4; 1: greedy)\n"
               "  --minutes M     training time of each model (default 2)\n"
               "  --no-reverse    feed the sum as written (the recipe reverses it)\n"
               "  --constant-lr   keep the learning rate (the recipe lowers it to 5%%)\n"
               "  Only models trained with the recipe's input order are saved.\n");
        return 0;
    }
    if (npos) return answer(cli_get(opts, nopt, "--load")->str, (int)cli_get(opts, nopt, "--beam")->num, npos, pos);
    which = cli_get(opts, nopt, "--model")->str;
    out = cli_get(opts, nopt, "--out")->str;
    if (strcmp(which, "keras") && strcmp(which, "attention") && strcmp(which, "both")) {
        fprintf(stderr, "addition: --model must be keras, attention or both, not \"%s\"\n", which);
        return 2;
    }
    recipe = !cli_get(opts, nopt, "--no-reverse")->given;
    if (task_init(&k, recipe, (uint64_t)cli_get(opts, nopt, "--seed")->num)) {
        fprintf(stderr, "addition: out of memory\n");
        return 1;
    }
    printf("addition: sums of two numbers of 1-%d digits, input %s%s; %d held-out sums never trained on\n", DIGITS,
           recipe ? "reversed" : "as written", "", NTEST);
    memset(rs, 0, sizeof rs);
    rs[0].name = "the notes' Keras model (LSTM, repeat, LSTM)";
    rs[1].name = "encoder-decoder with attention";
    for (i = 0; i < 2; i++) {
        if ((i == 0 && !strcmp(which, "attention")) || (i == 1 && !strcmp(which, "keras"))) continue;
        if (train(&rs[i], &k, i, cli_get(opts, nopt, "--minutes")->num, (int)cli_get(opts, nopt, "--batch")->num,
                  (float)cli_get(opts, nopt, "--lr")->num, (int)cli_get(opts, nopt, "--constant-lr")->num,
                  (int)cli_get(opts, nopt, "--hidden")->num, (uint64_t)cli_get(opts, nopt, "--seed")->num + 10 * i)) {
            rc = 1;
            continue;
        }
        if (i == 1) {
            printf("  what each output character looked at (the largest weight in brackets):\n");
            show_attention(rs[i].s, &k, 0);
            show_attention(rs[i].s, &k, 1);
        }
        if (recipe) {
            snprintf(path, sizeof path, "%s/addition-%s.safetensors", out, i ? "attention" : "keras");
            if (rnn_s2s_save(rs[i].s, NULL, path) != RNN_OK) { fprintf(stderr, "addition: %s\n", rs[i].s->error); rc = 1; }
            else printf("  saved %s\n", path);
        }
        done[n++] = &rs[i];
    }
    if (n) {
        snprintf(path, sizeof path, "%s/addition-curves.svg", out);
        write_curves(path, done, n);
        printf("\nheld-out exact match (%d sums): ", NTEST);
        for (i = 0; i < n; i++)
            printf("%s%s %.1f%% greedy, %.1f%% beam 4 after %ld examples, %.0f s", i ? "; " : "", done[i]->name,
                   100 * done[i]->greedy.exact, 100 * done[i]->beam.exact, done[i]->examples, done[i]->seconds);
        printf("\nwrote %s\n", path);
    }
    for (i = 0; i < 2; i++) { rnn_s2s_free(rs[i].s); arrfree(rs[i].curve); }
    rnn_vocab_free(&k.v);
    free(k.held);
    return rc;
}
