/* examples/textgen.c - a char-level text generator, char-rnn style.

   textgen train CORPUS -o MODEL [options]    train (or --resume) on a UTF-8 text
   textgen sample MODEL [options]             generate text from a checkpoint

   Build: cc -O2 $(pkg-config --cflags stb) textgen.c -lm   (or: make examples)
   Run `textgen --help` for the options. */
#define _POSIX_C_SOURCE 200809L   /* clock_gettime, isatty */
#define RNN_IMPLEMENTATION
#define STB_DS_IMPLEMENTATION
#include "../rnn.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#define IS_TTY(f) isatty(fileno(f))
static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}
#else
#define IS_TTY(f) 0
static double now(void) { return (double)clock() / CLOCKS_PER_SEC; }
#endif

static const char *usage =
    "usage: textgen train CORPUS -o MODEL [options]\n"
    "       textgen sample MODEL [options]\n"
    "\n"
    "train options (defaults in brackets):\n"
    "  -o, --output FILE    checkpoint to write (atomically, every --save-every steps and at the end)\n"
    "  --cell C             lstm, gru, gru_cho, tanh or relu [lstm]\n"
    "  --embed N            embedding size [64]\n"
    "  --hidden N           hidden size [256]\n"
    "  --layers N           recurrent layers [2]\n"
    "  --seq T              characters per window (truncated BPTT) [64]\n"
    "  --batch B            parallel streams [32]\n"
    "  --lr X               Adam learning rate [0.002]\n"
    "  --clip X             gradient global-norm clip [5]\n"
    "  --dropout P          between layers [0]\n"
    "  --steps N            stop after N steps [unlimited]\n"
    "  --minutes M          stop after M minutes [10]\n"
    "  --val F              share of the corpus held out for validation [0.05]\n"
    "  --save-every N       checkpoint every N steps [500]\n"
    "  --resume             continue from the checkpoint in -o (same corpus and options)\n"
    "  --seed S             [1]\n"
    "sample options:\n"
    "  --prime TEXT         text to start from [a newline]\n"
    "  --temperature T      0 is greedy [0.8]\n"
    "  --top-k K, --top-p P keep the K most likely / the smallest set with mass P\n"
    "  --beam K             beam search of width K instead of sampling\n"
    "  --length N           characters to generate [500]\n"
    "  --seed S             [1]\n"
    "Ctrl-C while training saves a checkpoint and stops.\n";

static volatile sig_atomic_t g_stop = 0;
static void on_sigint(int sig) { (void)sig; g_stop = 1; }


static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0, got;
    if (!f) return NULL;
    do {
        if (n + 65536 > cap) {
            char *nb = (char *)realloc(buf, cap = (cap + 65536) * 2);
            if (!nb) { free(buf); fclose(f); return NULL; }
            buf = nb;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    fclose(f);
    *len = n;
    return buf;
}

static int find_arg(int argc, char **argv, const char *name, const char *alt) {
    int i;
    for (i = 2; i < argc; i++)
        if (!strcmp(argv[i], name) || (alt && !strcmp(argv[i], alt))) return i;
    return 0;
}
static const char *opt_str(int argc, char **argv, const char *name, const char *alt, const char *def) {
    int i = find_arg(argc, argv, name, alt);
    return i && i + 1 < argc ? argv[i + 1] : def;
}
static double opt_num(int argc, char **argv, const char *name, double def) {
    const char *s = opt_str(argc, argv, name, NULL, NULL);
    char *end;
    double v;
    if (!s) return def;
    v = strtod(s, &end);
    if (*end || end == s) { fprintf(stderr, "textgen: %s wants a number, not \"%s\"\n", name, s); exit(2); }
    return v;
}

/* Prints n characters generated from the model after prime text. */
static int generate(const rnn_lm *m, const char *prime, int n, float temperature, int top_k, float top_p,
                    rnn_rng *rng, FILE *out) {
    rnn_lm_state *s;
    const float *logits = NULL;
    int ids[4096], tok = 0, i;
    size_t np = 0, bad = 0;
    char ch[8];
    if (rnn_lm_state_create(m, &s) != RNN_OK) return 1;
    if (rnn_vocab_encode(m->vocab, prime, strlen(prime), ids, 4096, &np, &bad) != RNN_OK || np == 0) {
        /* a prime with unknown characters: start from the first character of the vocabulary */
        if (*prime) fprintf(stderr, "textgen: the prime's character at byte %lu is not in the vocabulary\n", (unsigned long)bad);
        ids[0] = 0;
        np = 1;
    }
    for (i = 0; i < (int)(np < 4096 ? np : 4096); i++) logits = rnn_lm_step(m, s, ids[i]);
    fputs(prime, out);
    for (i = 0; i < n && logits; i++) {
        if (rnn_sample(logits, m->cfg.vocab_size, temperature, top_k, top_p, rng, &tok) != RNN_OK) break;
        ch[rnn_vocab_decode(m->vocab, &tok, 1, ch, sizeof ch)] = 0;
        fputs(ch, out);
        logits = rnn_lm_step(m, s, tok);
    }
    fputc('\n', out);
    rnn_lm_state_free(s);
    return 0;
}

/* Beam search over the LM: a hypothesis' state is the h and c of every
   layer; the step copies it in and out of one inference state. */
typedef struct { const rnn_lm *m; rnn_lm_state *s; size_t floats; } beam_ctx;
static rnn_status beam_step(void *user, void *state, int token, float *logp) {
    beam_ctx *b = (beam_ctx *)user;
    size_t lbh = b->floats / (b->m->cfg.cell == RNN_LSTM ? 2 : 1);
    const float *lg;
    memcpy(b->s->rnn->h, state, lbh * sizeof(float));
    if (b->s->rnn->c) memcpy(b->s->rnn->c, (float *)state + lbh, lbh * sizeof(float));
    if (!(lg = rnn_lm_step(b->m, b->s, token))) return RNN_ERR_INVALID_ARGUMENT;
    memcpy(state, b->s->rnn->h, lbh * sizeof(float));
    if (b->s->rnn->c) memcpy((float *)state + lbh, b->s->rnn->c, lbh * sizeof(float));
    rnn_log_softmax(logp, lg, (size_t)b->m->cfg.vocab_size);
    return RNN_OK;
}

static int cmd_sample(int argc, char **argv) {
    rnn_lm *m;
    char err[256];
    rnn_rng rng;
    const char *prime = opt_str(argc, argv, "--prime", NULL, "\n");
    int beam = (int)opt_num(argc, argv, "--beam", 0), length = (int)opt_num(argc, argv, "--length", 500);
    rnn_status st;
    if (argc < 3 || argv[2][0] == '-') { fputs(usage, stderr); return 2; }
    if ((st = rnn_lm_load(&m, NULL, argv[2], err, sizeof err)) != RNN_OK) {
        fprintf(stderr, "textgen: %s: %s (%s)\n", argv[2], rnn_strerror(st), err);
        return 1;
    }
    if (!m->vocab) { fprintf(stderr, "textgen: %s has no vocabulary\n", argv[2]); rnn_lm_free(m); return 1; }
    rnn_rng_seed(&rng, (uint64_t)opt_num(argc, argv, "--seed", 1));
    if (beam > 0) {
        rnn_beam_config bc;
        rnn_beam_result res;
        beam_ctx b;
        float *init;
        int ids[4096], i, nl;
        size_t np = 0;
        memset(&bc, 0, sizeof bc);
        b.m = m;
        rnn_lm_state_create(m, &b.s);
        b.floats = (size_t)m->cfg.num_layers * m->cfg.hidden_size * (m->cfg.cell == RNN_LSTM ? 2 : 1);
        init = (float *)calloc(b.floats, sizeof(float));
        rnn_vocab_encode(m->vocab, prime, strlen(prime), ids, 4096, &np, NULL);
        if (np == 0) { ids[0] = 0; np = 1; }
        /* run the prime but its last character, whose step the search makes */
        for (i = 0; i + 1 < (int)np; i++) rnn_lm_step(m, b.s, ids[i]);
        memcpy(init, b.s->rnn->h, b.floats / (m->cfg.cell == RNN_LSTM ? 2 : 1) * sizeof(float));
        if (b.s->rnn->c) memcpy(init + b.floats / 2, b.s->rnn->c, b.floats / 2 * sizeof(float));
        nl = -1;
        { size_t k = 0; int id; if (rnn_vocab_encode(m->vocab, "\n", 1, &id, 1, &k, NULL) == RNN_OK) nl = id; }
        bc.vocab_size = m->cfg.vocab_size; bc.beam_width = beam; bc.max_length = length;
        bc.start_token = ids[np - 1]; bc.end_token = nl; bc.length_alpha = 1.0f;
        bc.state_size = b.floats * sizeof(float); bc.initial_state = init;
        if ((st = rnn_beam_search(&bc, beam_step, &b, &res)) == RNN_OK && res.count == 0) {
            fprintf(stderr, "textgen: beam search: no continuation has a probability above 0\n");
            st = RNN_ERR_INVALID_ARGUMENT;
        } else if (st == RNN_OK) {
            char *text = (char *)malloc((size_t)res.lengths[0] * 4 + 1);
            rnn_vocab_decode(m->vocab, res.tokens, (size_t)res.lengths[0], text, (size_t)res.lengths[0] * 4 + 1);
            printf("%s%s\n(beam %d: mean log-probability %.3f per character)\n", prime, text, beam, res.scores[0]);
            free(text);
            rnn_beam_result_free(&res);
        } else {
            fprintf(stderr, "textgen: beam search: %s\n", rnn_strerror(st));
        }
        free(init);
        rnn_lm_state_free(b.s);
    } else {
        float temperature = (float)opt_num(argc, argv, "--temperature", 0.8);
        int top_k = (int)opt_num(argc, argv, "--top-k", 0);
        float top_p = (float)opt_num(argc, argv, "--top-p", 1.0);
        if (temperature < 0 || top_k < 0 || !(top_p > 0 && top_p <= 1)) {
            fprintf(stderr, "textgen: need --temperature >= 0, --top-k >= 0, 0 < --top-p <= 1\n");
            rnn_lm_free(m);
            return 2;
        }
        generate(m, prime, length, temperature, top_k, top_p, &rng, stdout);
    }
    rnn_lm_free(m);
    return 0;
}

/* Mean loss over up to 20 windows of the validation stream. */
static float validate(rnn_lm *m, const int *ids, size_t n, int T, int B, int *in, int *tg) {
    rnn_batcher bt;
    double sum = 0;
    int w, count = 0;
    float l;
    if (rnn_batcher_init(&bt, ids, n, T, B) != RNN_OK) return NAN;
    for (w = 0; w < 20; w++) {
        if (rnn_batcher_next(&bt, in, tg, NULL) && w > 0) break;
        if (rnn_lm_eval(m, in, tg, T, B, &l) != RNN_OK) return NAN;
        sum += l; count++;
    }
    return count ? (float)(sum / count) : NAN;
}

static int cmd_train(int argc, char **argv) {
    const char *corpus = argv[2], *out = opt_str(argc, argv, "-o", "--output", NULL);
    const char *cell = opt_str(argc, argv, "--cell", NULL, "lstm");
    static const char *cells[] = {"", "tanh", "relu", "lstm", "gru", "gru_cho"};
    int T = (int)opt_num(argc, argv, "--seq", 64), B = (int)opt_num(argc, argv, "--batch", 32), k;
    long steps = (long)opt_num(argc, argv, "--steps", 0), save_every = (long)opt_num(argc, argv, "--save-every", 500), step, start;
    double minutes = opt_num(argc, argv, "--minutes", 10), valshare = opt_num(argc, argv, "--val", 0.05);
    int resume = find_arg(argc, argv, "--resume", NULL) != 0, tty = IS_TTY(stdout);
    uint64_t seed = (uint64_t)opt_num(argc, argv, "--seed", 1);
    size_t len = 0, n = 0, ntrain, bad = 0;
    char *text, err[256];
    int *ids, *in, *tg;
    rnn_vocab vocab;
    rnn_lm *m = NULL;
    rnn_optimizer *opt = NULL;
    rnn_batcher bt;
    rnn_rng rng;
    rnn_status st;
    double t0, cpu = 0, last_print = -1;
    float loss = 0, val = NAN, smooth = 0;
    if (argc < 3 || corpus[0] == '-' || !out) { fputs(usage, stderr); return 2; }
    if (save_every <= 0) save_every = 500;
    if (T <= 0 || B <= 0 || !(valshare >= 0 && valshare < 0.5)) { fprintf(stderr, "textgen: bad --seq, --batch or --val\n"); return 2; }
    if (!(text = read_all(corpus, &len)) || len == 0) { fprintf(stderr, "textgen: cannot read %s\n", corpus); return 1; }
    if ((st = rnn_vocab_from_text(&vocab, text, len, &bad)) != RNN_OK) {
        fprintf(stderr, "textgen: %s: %s at byte %lu\n", corpus, rnn_strerror(st), (unsigned long)bad);
        return 1;
    }
    ids = (int *)malloc(len * sizeof(int));
    rnn_vocab_encode(&vocab, text, len, ids, len, &n, NULL);
    ntrain = rnn_batcher_split(n, (float)valshare);
    if (ntrain < (size_t)B * (T + 1) || (valshare > 0 && n - ntrain < (size_t)B * (T + 1))) {
        fprintf(stderr, "textgen: %s is too short for --seq %d --batch %d (%lu characters)\n", corpus, T, B, (unsigned long)n);
        return 1;
    }
    if (resume) {
        if ((st = rnn_lm_load(&m, &opt, out, err, sizeof err)) != RNN_OK) {
            fprintf(stderr, "textgen: --resume: %s: %s (%s)\n", out, rnn_strerror(st), err);
            return 1;
        }
        if (!opt || m->cfg.vocab_size != rnn_vocab_size(&vocab)) {
            fprintf(stderr, "textgen: --resume: %s has no optimizer state or another vocabulary\n", out);
            return 1;
        }
    } else {
        rnn_lm_config lc;
        rnn_optimizer_config oc;
        memset(&lc, 0, sizeof lc);
        lc.vocab_size = rnn_vocab_size(&vocab);
        lc.embed_size = (int)opt_num(argc, argv, "--embed", 64);
        lc.hidden_size = (int)opt_num(argc, argv, "--hidden", 256);
        lc.num_layers = (int)opt_num(argc, argv, "--layers", 2);
        lc.dropout = (float)opt_num(argc, argv, "--dropout", 0);
        for (k = 1; k <= 5; k++) if (!strcmp(cell, cells[k])) lc.cell = (rnn_cell)k;
        if (lc.cell == RNN_CELL_DEFAULT) { fprintf(stderr, "textgen: unknown --cell %s\n", cell); return 2; }
        if ((st = rnn_lm_create(&m, &lc, seed)) != RNN_OK) { fprintf(stderr, "textgen: model: %s\n", rnn_strerror(st)); return 2; }
        rnn_lm_set_vocab(m, &vocab);
        memset(&oc, 0, sizeof oc);
        oc.lr = (float)opt_num(argc, argv, "--lr", 2e-3);
        oc.clip_norm = (float)opt_num(argc, argv, "--clip", 5);
        if ((st = rnn_optimizer_create(&opt, &oc, m->params)) != RNN_OK) { fprintf(stderr, "textgen: optimizer: %s\n", rnn_strerror(st)); return 2; }
    }
    in = (int *)malloc(sizeof(int) * (size_t)T * B);
    tg = (int *)malloc(sizeof(int) * (size_t)T * B);
    rnn_batcher_init(&bt, ids, ntrain, T, B);
    rnn_rng_seed(&rng, seed);
    for (step = 0; step < opt->t; step++) rnn_batcher_next(&bt, in, tg, &rng);   /* --resume: the same windows */
    printf("textgen: %s, %lu characters (%d distinct), %lu for validation\n", corpus, (unsigned long)n,
           rnn_vocab_size(&vocab), (unsigned long)(n - ntrain));
    printf("textgen: %s x %d layers, hidden %d, embedding %d, %lu parameters, seq %d, batch %d%s\n",
           cells[m->cfg.cell], m->cfg.num_layers, m->cfg.hidden_size, m->cfg.embed_size,
           (unsigned long)opt->n, T, B, resume ? ", resumed" : "");
    signal(SIGINT, on_sigint);
    t0 = now();
    start = (long)opt->t;
    for (step = start; !g_stop; step++) {
        double el = now() - t0;
        if (steps && step >= steps) break;
        if (!steps && el >= minutes * 60) break;
        if (rnn_batcher_next(&bt, in, tg, &rng)) rnn_lm_reset_state(m);
        if ((st = rnn_lm_train_step(m, opt, in, tg, T, B, &loss)) != RNN_OK) {
            fprintf(stderr, "\ntextgen: step %ld: %s (%s)\n", step, rnn_strerror(st), m->error);
            break;
        }
        smooth = step == start ? loss : 0.98f * smooth + 0.02f * loss;
        el = now() - t0;
        cpu = el;
        if ((step + 1) % 100 == 0 && valshare > 0) val = validate(m, ids + ntrain, n - ntrain, T, B, in, tg);
        if (el - last_print >= (tty ? 0.25 : 5.0) || (step + 1) % 100 == 0) {
            double tps = el > 0 ? (double)T * B * (double)(step + 1 - start) / el : 0;
            double left = steps ? el / (double)(step + 1 - start) * (double)(steps - step - 1) : minutes * 60 - el;
            printf("%sstep %6ld  loss %.3f  val %.3f  %6.0f tok/s  %.0f s left%s", tty ? "\r" : "", step + 1,
                   smooth, val, tps, left > 0 ? left : 0, tty ? "   " : "\n");
            fflush(stdout);
            last_print = el;
        }
        if ((step + 1) % save_every == 0 && rnn_lm_save(m, opt, out) != RNN_OK) fprintf(stderr, "\ntextgen: cannot write %s\n", out);
        if ((step + 1) % 1000 == 0) {
            printf("%s--- sample at step %ld ---\n", tty ? "\n" : "", step + 1);
            generate(m, "\n", 160, 0.8f, 0, 1.0f, &rng, stdout);
        }
    }
    if ((st = rnn_lm_save(m, opt, out)) != RNN_OK) fprintf(stderr, "textgen: cannot write %s: %s\n", out, rnn_strerror(st));
    if (valshare > 0) val = validate(m, ids + ntrain, n - ntrain, T, B, in, tg);
    printf("%stextgen: %s%ld steps, train loss %.3f, val loss %.3f nats/char, %.0f tok/s, %.0f s; saved %s\n",
           tty ? "\n" : "", g_stop ? "stopped by Ctrl-C after " : "", step, smooth, val,
           cpu > 0 ? (double)T * B * (double)(step - start) / cpu : 0, cpu, out);
    rnn_optimizer_free(opt);
    rnn_lm_free(m);
    rnn_vocab_free(&vocab);
    free(ids); free(in); free(tg); free(text);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "train")) return cmd_train(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "sample")) return cmd_sample(argc, argv);
    fputs(usage, argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) ? stdout : stderr);
    return argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) ? 0 : 2;
}
