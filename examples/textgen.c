/* examples/textgen.c - a char-level (or word-level) text generator, char-rnn style.

   textgen train CORPUS -o MODEL [options]    train (or --resume) on a UTF-8 text
   textgen sample MODEL [options]             generate text from a checkpoint

   Build: cc -O2 $(pkg-config --cflags stb) textgen.c -lm   (or: make)
   Run `textgen --help` for the options. Every bad option, file or value
   gets a message that names it and a non-zero exit status (2: the command
   line, 1: a file or the run); no command writes over its own input, and a
   diverged training never replaces a good checkpoint. */
#define _POSIX_C_SOURCE 200809L   /* clock_gettime, isatty, stat */
#define RNN_IMPLEMENTATION
#define RNN_THREADS               /* rnn.h's own pool, for --threads */
#define STB_DS_IMPLEMENTATION
#include "../rnn.h"
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__unix__) || defined(__APPLE__)
#include <sys/stat.h>
#include <unistd.h>
#define IS_TTY(f) isatty(fileno(f))
static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}
/* 1 if a and b name the same existing file */
static int same_file(const char *a, const char *b) {
    struct stat x, y;
    return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}
static int is_dir(const char *p) {
    struct stat x;
    return stat(p, &x) == 0 && S_ISDIR(x.st_mode);
}
#else
#define IS_TTY(f) 0
static double now(void) { return (double)clock() / CLOCKS_PER_SEC; }
static int same_file(const char *a, const char *b) { return !strcmp(a, b); }
static int is_dir(const char *p) { (void)p; return 0; }
#endif

static const char *usage =
    "usage: textgen train CORPUS -o MODEL [options]\n"
    "       textgen sample MODEL [options]\n"
    "       textgen quantize MODEL -o INT8_MODEL [--calibrate CORPUS] [--check CORPUS [--val F] [--tokens N]]\n"
    "\n"
    "train options (defaults in brackets):\n"
    "  -o, --output FILE    checkpoint to write (atomically, every --save-every steps and at the end)\n"
    "  --cell C             lstm, gru, gru_cho, tanh or relu [lstm]\n"
    "  --embed N            embedding size, 1..65536 [64]\n"
    "  --hidden N           hidden size, 1..65536 [256]\n"
    "  --layers N           recurrent layers, 1..64 [2]\n"
    "  --seq T              tokens (characters or words) per window (truncated BPTT) [64]\n"
    "  --batch B            parallel streams [32]\n"
    "  --lr X               Adam learning rate, (0, 10] [0.002]\n"
    "  --clip X             gradient global-norm clip, 0 = off [5]\n"
    "  --dropout P          between layers, [0, 0.95] [0]\n"
    "  --steps N            train N steps (with --resume: N more) [until --minutes]\n"
    "  --minutes M          train M minutes (with --resume: M more) [10]\n"
    "  --val F              share of the corpus held out for validation, [0, 0.5] [0.05]\n"
    "  --save-every N       checkpoint every N steps [500]\n"
    "  --resume             continue from the checkpoint in -o (same characters; the\n"
    "                       checkpoint's architecture wins, --lr and --clip may change)\n"
    "  --keep-best          also keep the checkpoint of the lowest validation loss, in\n"
    "                       MODEL with .best before its extension\n"
    "  --plot FILE.svg      draw the train and validation loss curves (updated at each validation)\n"
    "  --retry N            on divergence, go back to the last checkpoint with half the\n"
    "                       learning rate, up to N times [0: stop]\n"
    "  --seed S             [1]\n"
    "  --words              a word-level model: each line's words, then <e>; punctuation marks\n"
    "                       are words; rare words are <unk> (see --min-count, --max-words)\n"
    "  --min-count N        a word seen fewer than N times is <unk> [2]\n"
    "  --max-words N        at most N words in the vocabulary, the reserved four included [20000]\n"
    "  --lower              lower-case the words\n"
    "  --threads N          threads, 1..64 [the CPUs: %d]; the same results on any number\n"
    "sample options:\n"
    "  --prime TEXT         text to start from [a newline]\n"
    "  --skip-unknown       drop prime characters the model does not know (else an error;\n"
    "                       a word model reads an unknown word as <unk>)\n"
    "  --temperature T      0 is greedy, [0, 100] [0.8]\n"
    "  --top-k K, --top-p P keep the K most likely / the smallest set with mass P, (0, 1]\n"
    "  --beam K             beam search of width K (1..256) instead of sampling\n"
    "  --length N           characters (or words) to generate, 1..1000000 [500]\n"
    "  --seed S             [1]\n"
    "  --threads N          threads for each token's product, 1..64 [1]; the same text on any number\n"
    "  --precise            an int8 model: each product's input in two int8 levels (closer to\n"
    "                       F32, twice the multiply work a token)\n"
    "quantize options:\n"
    "  -o, --output FILE    the int8 model to write (every matrix int8 with a scale a row:\n"
    "                       about a quarter of the size; textgen sample reads it)\n"
    "  --check CORPUS       compare the two models on CORPUS's validation part (the last\n"
    "                       --val of it, as train splits it): loss, and how often their\n"
    "                       most likely next token agrees\n"
    "  --val F              [0.05]    --tokens N   at most N tokens of it [20000]\n"
    "  --calibrate CORPUS   round each row for small error over what the model sees on the\n"
    "                       first 20000 tokens of CORPUS (a training text), and correct each\n"
    "                       bias for its row's mean rounding error there\n"
    "Ctrl-C while training saves a checkpoint and stops.\n";

static volatile sig_atomic_t g_stop = 0;
static void on_sigint(int sig) { (void)sig; g_stop = 1; }

/* Starts rnn.h's pool of n threads (1: none); 1 with a message if it cannot. */
static int start_threads(int n) {
    if (rnn_set_threads(n) == RNN_OK) return 0;
    fprintf(stderr, "textgen: cannot start %d threads\n", n);
    return 1;
}

/* The whole file, or NULL with the reason in why (errno's text, or one of ours). */
static char *read_all(const char *path, size_t *len, const char **why) {
    FILE *f;
    char *buf = NULL;
    size_t cap = 0, n = 0, got;
    errno = 0;
    if (is_dir(path)) { *why = "is a directory"; return NULL; }
    if (!(f = fopen(path, "rb"))) { *why = strerror(errno); return NULL; }
    do {
        if (n + 65536 > cap) {
            char *nb = (char *)realloc(buf, cap = (cap + 65536) * 2);
            if (!nb) { free(buf); fclose(f); *why = "out of memory"; return NULL; }
            buf = nb;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    if (ferror(f)) { free(buf); fclose(f); *why = strerror(errno ? errno : EIO); return NULL; }
    fclose(f);
    *len = n;
    return buf;
}

/* 0 if path can be created or replaced (tried through its temporary name,
   which the checkpoint writer uses too); else prints why and returns 1. */
static int check_writable(const char *what, const char *path) {
    char tmp[4096];
    FILE *f;
    if (is_dir(path)) { fprintf(stderr, "textgen: %s %s is a directory\n", what, path); return 1; }
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    errno = 0;
    if (!(f = fopen(tmp, "wb"))) {
        fprintf(stderr, "textgen: cannot write %s %s: %s\n", what, path, strerror(errno));
        return 1;
    }
    fclose(f);
    remove(tmp);
    return 0;
}

/* Text as word ids the way PyTorch's word_language_model reads a corpus:
   each line's words, then <e> (RNN_EOS); a last line without a newline
   gets <e> only if eos_last. skip_unknown leaves <unk> out. malloc'd
   (*n gets the count: at most len + 1, as a token takes a byte); NULL
   for invalid UTF-8, at byte *bad. */
static int *encode_lines(const rnn_words *w, const char *text, size_t len, int eos_last, int skip_unknown,
                         size_t *n, size_t *bad) {
    int *ids = (int *)malloc(sizeof(int) * (len + 1));
    size_t p = 0, k = 0;
    while (ids && p < len) {
        const char *nl = (const char *)memchr(text + p, '\n', len - p);
        size_t end = nl ? (size_t)(nl - text) : len, got = 0, b = 0, i, kept = k;
        if (rnn_words_encode(w, text + p, end - p, ids + k, len + 1 - k, &got, &b) != RNN_OK) {
            *bad = p + b;
            free(ids);
            return NULL;
        }
        for (i = k; i < k + got; i++)
            if (!skip_unknown || ids[i] != RNN_UNK) ids[kept++] = ids[i];
        k = kept;
        if (nl || eos_last) ids[k++] = RNN_EOS;
        p = end + 1;
    }
    *n = k;
    return ids;
}

/* Writes token tok as text: a character, or a word with the space before
   it (none at a line's start, before closing punctuation, or after an
   opening one; <e> is a newline). *at_start and *quotes carry the line's
   state between calls. */
static void put_token(const rnn_lm *m, int tok, int *at_start, int *quotes, FILE *out) {
    char ch[8];
    const char *w;
    int close, open;
    if (!m->words) {
        ch[rnn_vocab_decode(m->vocab, &tok, 1, ch, sizeof ch)] = 0;
        fputs(ch, out);
        return;
    }
    if (tok == RNN_EOS) { fputc('\n', out); *at_start = 1; *quotes = 0; return; }
    w = tok >= 0 && tok < rnn_words_size(m->words) ? m->words->words[tok] : "<unk>";
    close = w[0] && !w[1] && strchr(".,;:!?)]}", w[0]);
    if (!strcmp(w, "\"")) close = (*quotes)++ % 2;   /* the second quote of a pair closes */
    if (!*at_start && !close) fputc(' ', out);
    fputs(w, out);
    open = (w[0] && !w[1] && strchr("([{$", w[0])) || (!strcmp(w, "\"") && *quotes % 2);
    *at_start = open;
}

/* The prime as ids (malloc'd; *n gets the count). Invalid UTF-8 or a
   character the model does not know is an error naming it, unless skip:
   then unknown characters are dropped with a warning. A word model reads
   unknown words as <unk> (dropped with skip). NULL on error. */
static int *encode_prime(const rnn_lm *m, const char *prime, int skip, size_t *n) {
    size_t len = strlen(prime), p = 0, k = 0, dropped = 0;
    int *ids;
    if (m->words) {
        size_t bad = 0;
        if (!(ids = encode_lines(m->words, prime, len, 0, skip, n, &bad)))
            fprintf(stderr, "textgen: --prime is not valid UTF-8 at byte %lu\n", (unsigned long)bad);
        return ids;
    }
    ids = (int *)malloc(sizeof(int) * (len + 1));
    while (ids && p < len) {
        uint32_t cp;
        size_t one = 0, bad = 0;
        int w = rnn_utf8_decode(prime + p, len - p, &cp);
        if (!w) {
            fprintf(stderr, "textgen: --prime is not valid UTF-8 at byte %lu\n", (unsigned long)p);
            free(ids);
            return NULL;
        }
        if (rnn_vocab_encode(m->vocab, prime + p, (size_t)w, ids + k, 1, &one, &bad) != RNN_OK) {
            if (!skip) {
                fprintf(stderr, "textgen: --prime: \"%.*s\" (byte %lu) is not in the model's vocabulary "
                        "(--skip-unknown drops such characters)\n", w, prime + p, (unsigned long)p);
                free(ids);
                return NULL;
            }
            dropped++;
        } else {
            k++;
        }
        p += (size_t)w;
    }
    if (dropped) fprintf(stderr, "textgen: --skip-unknown: dropped %lu prime characters\n", (unsigned long)dropped);
    *n = k;
    return ids;
}

/* The id of a newline (a word model's <e>), or -1. */
static int newline_id(const rnn_lm *m) {
    size_t k = 0;
    int id;
    if (m->words) return RNN_EOS;
    return rnn_vocab_encode(m->vocab, "\n", 1, &id, 1, &k, NULL) == RNN_OK ? id : -1;
}

/* Prints n tokens sampled after ids[np] (the prime, already printed). */
static int generate(const rnn_lm *m, const int *ids, size_t np, int n, float temperature, int top_k,
                    float top_p, rnn_rng *rng, FILE *out) {
    rnn_lm_state *s;
    const float *logits = NULL;
    int tok = 0, i, rc = 0, at_start = np == 0 || ids[np - 1] == newline_id(m), quotes = 0;
    if (rnn_lm_state_create(m, &s) != RNN_OK) return 1;
    for (i = 0; i < (int)np; i++) logits = rnn_lm_step(m, s, ids[i]);
    for (i = 0; i < n && logits; i++) {
        if (rnn_sample(logits, m->cfg.vocab_size, temperature, top_k, top_p, rng, &tok) != RNN_OK) { rc = 1; break; }
        put_token(m, tok, &at_start, &quotes, out);
        logits = rnn_lm_step(m, s, tok);
    }
    if (!logits) rc = 1;
    fputc('\n', out);
    rnn_lm_state_free(s);
    return rc;
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

/* Beam search of width beam for up to length characters after ids[np]. */
static int beam_generate(const rnn_lm *m, const int *ids, size_t np, int beam, int length) {
    rnn_beam_config bc;
    rnn_beam_result res;
    beam_ctx b;
    float *init;
    size_t i, lbh;
    rnn_status st;
    int rc = 1;
    memset(&bc, 0, sizeof bc);
    b.m = m;
    if (rnn_lm_state_create(m, &b.s) != RNN_OK) return 1;
    lbh = (size_t)m->cfg.num_layers * m->cfg.hidden_size;
    b.floats = lbh * (m->cfg.cell == RNN_LSTM ? 2 : 1);
    init = (float *)calloc(b.floats, sizeof(float));
    /* run the prime but its last character, whose step the search makes */
    for (i = 0; i + 1 < np; i++) rnn_lm_step(m, b.s, ids[i]);
    memcpy(init, b.s->rnn->h, lbh * sizeof(float));
    if (b.s->rnn->c) memcpy(init + lbh, b.s->rnn->c, lbh * sizeof(float));
    bc.vocab_size = m->cfg.vocab_size; bc.beam_width = beam; bc.max_length = length;
    bc.start_token = ids[np - 1]; bc.end_token = newline_id(m); bc.length_alpha = 1.0f;
    bc.state_size = b.floats * sizeof(float); bc.initial_state = init;
    if ((st = rnn_beam_search(&bc, beam_step, &b, &res)) != RNN_OK) {
        fprintf(stderr, "textgen: beam search: %s\n", rnn_strerror(st));
    } else if (res.count == 0) {
        fprintf(stderr, "textgen: beam search: no continuation has a probability above 0\n");
    } else {
        int k, at_start = ids[np - 1] == newline_id(m), quotes = 0;
        for (k = 0; k < res.lengths[0]; k++) put_token(m, res.tokens[k], &at_start, &quotes, stdout);
        printf("\n(beam %d: mean log-probability %.3f per %s)\n", beam, res.scores[0], m->words ? "word" : "character");
        rc = 0;
    }
    rnn_beam_result_free(&res);
    free(init);
    rnn_lm_state_free(b.s);
    return rc;
}

static int cmd_sample(int argc, char **argv) {
    cli_opt o[] = {
        {"--prime", NULL, CLI_STR, 0, 0, 0, "\n", 0},
        {"--skip-unknown", NULL, CLI_FLAG, 0, 1, 0, NULL, 0},
        {"--temperature", NULL, CLI_NUM, 0, 100, 0.8, NULL, 0},
        {"--top-k", NULL, CLI_INT, 0, 1e9, 0, NULL, 0},
        {"--top-p", NULL, CLI_NUM, 1e-6, 1, 1, NULL, 0},
        {"--beam", NULL, CLI_INT, 1, 256, 0, NULL, 0},
        {"--length", NULL, CLI_INT, 1, 1000000, 500, NULL, 0},
        {"--seed", NULL, CLI_INT, 0, 9007199254740992.0, 1, NULL, 0},
        {"--threads", NULL, CLI_INT, 1, 64, 1, NULL, 0},
        {"--precise", NULL, CLI_FLAG, 0, 1, 0, NULL, 0},
    };
    int no = (int)(sizeof o / sizeof o[0]), npos, rc;
    const char *pos[1], *prime;
    rnn_lm *m;
    char err[256];
    rnn_rng rng;
    rnn_status st;
    int *ids;
    size_t np = 0;
    if (cli_parse("textgen sample", argc, argv, 2, o, no, pos, 1, &npos)) return 2;
    if (start_threads((int)cli_get(o, no, "--threads")->num)) return 1;
    if (npos != 1) { fprintf(stderr, "textgen sample: which model? (textgen sample MODEL [options])\n"); return 2; }
    if ((st = rnn_lm_load(&m, NULL, pos[0], err, sizeof err)) != RNN_OK) {
        fprintf(stderr, "textgen: %s\n", err[0] ? err : rnn_strerror(st));
        return 1;
    }
    if (!m->vocab && !m->words) { fprintf(stderr, "textgen: %s has no vocabulary (a model over plain ids)\n", pos[0]); rnn_lm_free(m); return 1; }
    if (cli_get(o, no, "--precise")->given && rnn_lm_int8_precise(m, 1) != RNN_OK) {
        fprintf(stderr, "textgen sample: --precise is for int8 models (textgen quantize); %s is F32\n", pos[0]);
        rnn_lm_free(m);
        return 2;
    }
    prime = cli_get(o, no, "--prime")->str;
    if (!(ids = encode_prime(m, prime, cli_get(o, no, "--skip-unknown")->given, &np))) { rnn_lm_free(m); return 2; }
    if (np == 0) {   /* an empty prime: start after a newline (or the first character) */
        int nl = newline_id(m);
        ids[0] = nl >= 0 ? nl : 0;
        np = 1;
        prime = "";
    }
    rnn_rng_seed(&rng, (uint64_t)cli_get(o, no, "--seed")->num);
    fputs(prime, stdout);
    if (cli_get(o, no, "--beam")->given) {
        rc = beam_generate(m, ids, np, (int)cli_get(o, no, "--beam")->num, (int)cli_get(o, no, "--length")->num);
    } else {
        rc = generate(m, ids, np, (int)cli_get(o, no, "--length")->num, (float)cli_get(o, no, "--temperature")->num,
                      (int)cli_get(o, no, "--top-k")->num, (float)cli_get(o, no, "--top-p")->num, &rng, stdout);
        if (rc) fprintf(stderr, "textgen: sampling failed (non-finite logits: a damaged model?)\n");
    }
    free(ids);
    rnn_lm_free(m);
    return rc;
}

static long file_size(const char *path) {
    FILE *f = fopen(path, "rb");
    long n = -1;
    if (f && fseek(f, 0, SEEK_END) == 0) n = ftell(f);
    if (f) fclose(f);
    return n;
}

/* The next-token loss of both models over ids[0..n) from a zero state, and
   how often their most likely next token is the same. */
static int compare_models(const rnn_lm *a, const rnn_lm *b, const int *ids, size_t n, double loss[2], double *agree) {
    rnn_lm_state *s[2] = {NULL, NULL};
    const rnn_lm *m[2];
    size_t t, same = 0;
    int k, v, V = a->cfg.vocab_size, rc = 0;
    m[0] = a; m[1] = b;
    loss[0] = loss[1] = 0;
    if (rnn_lm_state_create(a, &s[0]) != RNN_OK || rnn_lm_state_create(b, &s[1]) != RNN_OK) rc = 1;
    for (t = 0; !rc && t + 1 < n; t++) {
        int best[2] = {0, 0};
        for (k = 0; k < 2; k++) {
            const float *l = rnn_lm_step(m[k], s[k], ids[t]);
            double mx, z = 0;
            if (!l) { rc = 1; break; }
            for (v = 1; v < V; v++) if (l[v] > l[best[k]]) best[k] = v;
            mx = l[best[k]];
            for (v = 0; v < V; v++) z += exp(l[v] - mx);
            loss[k] += mx + log(z) - l[ids[t + 1]];
        }
        same += best[0] == best[1];
    }
    if (n > 1) { loss[0] /= (double)(n - 1); loss[1] /= (double)(n - 1); }
    *agree = n > 1 ? (double)same / (double)(n - 1) : 1;
    rnn_lm_state_free(s[0]);
    rnn_lm_state_free(s[1]);
    return rc;
}

/* The text of path as the model's tokens (malloc'd; *n the count), or
   NULL with a message. */
static int *encode_corpus(const rnn_lm *m, const char *path, size_t *n) {
    size_t len = 0, bad = 0;
    const char *why;
    char *text = read_all(path, &len, &why);
    int *ids = NULL;
    *n = 0;
    if (!text) { fprintf(stderr, "textgen: cannot read the corpus %s: %s\n", path, why); return NULL; }
    if (m->words) {
        ids = encode_lines(m->words, text, len, 1, 0, n, &bad);
    } else if (m->vocab) {
        ids = (int *)malloc(sizeof(int) * (len + 1));
        if (ids && rnn_vocab_encode(m->vocab, text, len, ids, len + 1, n, &bad) != RNN_OK) { free(ids); ids = NULL; }
    } else {
        fprintf(stderr, "textgen: the model has no vocabulary to read %s with\n", path);
        free(text);
        return NULL;
    }
    free(text);
    if (!ids) fprintf(stderr, "textgen: %s at byte %lu: not UTF-8, or a character the model does not know\n", path, (unsigned long)bad);
    return ids;
}

static int cmd_quantize(int argc, char **argv) {
    cli_opt o[] = {
        {"--output", "-o", CLI_STR, 0, 0, 0, NULL, 0},
        {"--check", NULL, CLI_STR, 0, 0, 0, NULL, 0},
        {"--val", NULL, CLI_NUM, 1e-6, 0.5, 0.05, NULL, 0},
        {"--tokens", NULL, CLI_INT, 2, 1e9, 20000, NULL, 0},
        {"--calibrate", NULL, CLI_STR, 0, 0, 0, NULL, 0},
    };
    int no = (int)(sizeof o / sizeof o[0]), npos, rc = 1;
    const char *pos[1], *out, *corpus, *cal;
    rnn_lm *m = NULL, *q = NULL;
    char err[256];
    rnn_status st;
    int *cids = NULL, *ids = NULL;
    size_t nc = 0, n = 0;
    if (cli_parse("textgen quantize", argc, argv, 2, o, no, pos, 1, &npos)) return 2;
    if (npos != 1) { fprintf(stderr, "textgen quantize: which model? (textgen quantize MODEL -o INT8_MODEL)\n"); return 2; }
    if (!(out = cli_get(o, no, "--output")->str)) { fprintf(stderr, "textgen quantize: -o INT8_MODEL is required\n"); return 2; }
    if (same_file(out, pos[0]) || !strcmp(out, pos[0])) {
        fprintf(stderr, "textgen quantize: -o %s is the model itself: write the int8 model beside it\n", out);
        return 2;
    }
    if ((st = rnn_lm_load(&m, NULL, pos[0], err, sizeof err)) != RNN_OK ||
        (st = rnn_lm_load(&q, NULL, pos[0], err, sizeof err)) != RNN_OK) {
        fprintf(stderr, "textgen: %s\n", err[0] ? err : rnn_strerror(st));
        goto done;
    }
    if (rnn_lm_is_quantized(m)) { fprintf(stderr, "textgen quantize: %s is already int8\n", pos[0]); goto done; }
    if (check_writable("model", out)) goto done;
    /* both texts read before anything is written: a bad one leaves -o as it was */
    cal = cli_get(o, no, "--calibrate")->str;
    corpus = cli_get(o, no, "--check")->str;
    if ((cal && !(cids = encode_corpus(m, cal, &nc))) || (corpus && !(ids = encode_corpus(m, corpus, &n)))) goto done;
    {   /* calibration: the first 20,000 tokens of a training text */
        if (nc > 20000) nc = 20000;
        st = rnn_lm_quantize(q, cids, nc);
        if (st != RNN_OK || (st = rnn_lm_save(q, NULL, out)) != RNN_OK) {
            fprintf(stderr, "textgen: %s\n", q->error[0] ? q->error : rnn_strerror(st));
            goto done;
        }
        if (cal) printf("textgen: calibrated on %lu tokens of %s (rows rounded for them, biases corrected)\n", (unsigned long)nc, cal);
    }
    {   /* against the F32 weights alone (a checkpoint of train also holds Adam's two moments) */
        double f32 = 0;
        ptrdiff_t i;
        for (i = 0; i < stbds_arrlen(m->params); i++) f32 += 4.0 * (double)m->params[i].count;
        printf("textgen: %s: int8 weights (%s kernel), %.2f MB = %.0f%% of the F32 weights (%.2f MB; %s is %.2f MB)\n", out,
               rnn_int8_simd_name(), file_size(out) / 1e6, 100.0 * (double)file_size(out) / f32, f32 / 1e6, pos[0],
               file_size(pos[0]) / 1e6);
    }
    if (corpus) {
        size_t from = rnn_batcher_split(n, (float)cli_get(o, no, "--val")->num);
        double loss[2], agree;
        if (n - from > (size_t)cli_get(o, no, "--tokens")->num) n = from + (size_t)cli_get(o, no, "--tokens")->num;
        if (n - from < 2) { fprintf(stderr, "textgen: %s: too short to check on\n", corpus); goto done; }
        if (compare_models(m, q, ids + from, n - from, loss, &agree)) { fprintf(stderr, "textgen: the check failed\n"); goto done; }
        printf("textgen: on %lu tokens of %s's validation part: loss FP32 %.4f, int8 %.4f (%+.2f%%); "
               "the most likely next token agrees %.2f%% of the time\n",
               (unsigned long)(n - from), corpus, loss[0], loss[1], 100 * (loss[1] - loss[0]) / loss[0], 100 * agree);
        if (rnn_lm_int8_precise(q, 1) != RNN_OK || compare_models(m, q, ids + from, n - from, loss, &agree)) {
            fprintf(stderr, "textgen: the check failed\n");
            goto done;
        }
        printf("textgen: sampled with --precise (two int8 levels an input): int8 %.4f (%+.2f%%), agrees %.2f%%\n",
               loss[1], 100 * (loss[1] - loss[0]) / loss[0], 100 * agree);
    }
    rc = 0;
done:
    free(cids);
    free(ids);
    rnn_lm_free(m);
    rnn_lm_free(q);
    return rc;
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

/* The loss curves as an SVG picture: train (smoothed) and validation loss
   against the step, written beside path and renamed over it. */
typedef struct { long step; float train, val; } plot_point;
static int write_plot(const char *path, const plot_point *p, int n, const char *title) {
    char tmp[4096];
    FILE *f;
    double lo = 1e30, hi = -1e30, x0 = 60, y0 = 20, w = 560, h = 300;
    long s0 = n ? p[0].step : 0, s1 = n ? p[n - 1].step : 1;
    int i, k;
    for (i = 0; i < n; i++) {
        if (p[i].train < lo) lo = p[i].train;
        if (p[i].train > hi) hi = p[i].train;
        if (p[i].val == p[i].val && p[i].val < lo) lo = p[i].val;
        if (p[i].val == p[i].val && p[i].val > hi) hi = p[i].val;
    }
    if (!(hi > lo)) { lo -= 0.5; hi += 0.5; }
    if (s1 <= s0) s1 = s0 + 1;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (!(f = fopen(tmp, "w"))) return 1;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"360\" font-family=\"sans-serif\" "
               "font-size=\"12\">\n<rect width=\"640\" height=\"360\" fill=\"white\"/>\n");
    fprintf(f, "<text x=\"%g\" y=\"14\">", x0);
    for (; *title; title++)   /* the corpus' name, escaped for XML */
        if (*title == '&') fputs("&amp;", f);
        else if (*title == '<') fputs("&lt;", f);
        else if (*title == '>') fputs("&gt;", f);
        else fputc(*title, f);
    fputs("</text>\n", f);
    fprintf(f, "<path d=\"M%g %g V%g H%g\" stroke=\"black\" fill=\"none\"/>\n", x0, y0, y0 + h, x0 + w);
    for (k = 0; k <= 4; k++) {   /* five loss ticks */
        double v = lo + (hi - lo) * k / 4, y = y0 + h - h * k / 4;
        fprintf(f, "<text x=\"%g\" y=\"%g\" text-anchor=\"end\">%.2f</text>\n", x0 - 4, y + 4, v);
    }
    fprintf(f, "<text x=\"%g\" y=\"%g\">step %ld</text><text x=\"%g\" y=\"%g\" text-anchor=\"end\">step %ld</text>\n",
            x0, y0 + h + 16, s0, x0 + w, y0 + h + 16, s1);
    for (k = 0; k < 2; k++) {
        int first = 1;
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", k ? "#d62728" : "#1f77b4");
        for (i = 0; i < n; i++) {
            float v = k ? p[i].val : p[i].train;
            if (!(v == v)) continue;
            fprintf(f, "%s%.1f,%.1f", first ? "" : " ", x0 + w * (double)(p[i].step - s0) / (double)(s1 - s0),
                    y0 + h - h * (v - lo) / (hi - lo));
            first = 0;
        }
        fprintf(f, "\"/>\n<text x=\"%g\" y=\"%g\" fill=\"%s\">%s</text>\n", x0 + w - 150, y0 + 16 + 16 * k,
                k ? "#d62728" : "#1f77b4", k ? "validation loss" : "train loss (smoothed)");
    }
    fprintf(f, "</svg>\n");
    if (fclose(f) != 0 || rename(tmp, path) != 0) { remove(tmp); return 1; }
    return 0;
}

/* 1 for the loss of a model that has not diverged: finite, and below four
   times the ln V of a uniform guess (training starts near ln V and only
   goes down; a loss far above it means the weights blew up). */
static int healthy(float loss, int V) { return loss == loss && loss < 4.0 * log((double)V) + 1.0; }

/* 1 if the model is healthy on a window (checked before a save: weights
   that diverged are never written over a good checkpoint). From a zero
   state, without dropout: the training state is not touched. */
static int healthy_on(rnn_lm *m, const int *in, const int *tg, int T, int B) {
    float l;
    return rnn_lm_eval(m, in, tg, T, B, &l) == RNN_OK && healthy(l, m->cfg.vocab_size);
}

/* Says the run diverged, and which checkpoint -o keeps. */
static void report_divergence(int tty, long step, const char *why, const char *out, long saved_step) {
    fprintf(stderr, "%stextgen: training diverged at step %ld (%s); try a lower --lr or --retry. ", tty ? "\n" : "", step, why);
    if (saved_step >= 0) fprintf(stderr, "%s keeps the checkpoint of step %ld.\n", out, saved_step);
    else fprintf(stderr, "This run saved nothing.\n");
}

/* --retry: the model, optimizer and data stream back to the checkpoint in
   out, with learning rate lr. 0 on success. */
static int rewind_to(const char *out, rnn_lm **m, rnn_optimizer **opt, rnn_batcher *bt, const int *ids, size_t ntrain,
                     int T, int B, uint64_t seed, rnn_rng *rng, int *in, int *tg, float lr) {
    rnn_lm *nm;
    rnn_optimizer *no;
    char err[256];
    int64_t s;
    if (rnn_lm_load(&nm, &no, out, err, sizeof err) != RNN_OK || !no) {
        rnn_lm_free(nm);
        return 1;
    }
    rnn_lm_free(*m);
    rnn_optimizer_free(*opt);
    *m = nm; *opt = no;
    no->cfg.lr = lr;
    rnn_batcher_init(bt, ids, ntrain, T, B);
    rnn_rng_seed(rng, seed);
    for (s = 0; s < no->t; s++) rnn_batcher_next(bt, in, tg, rng);
    return 0;
}

/* The characters of a that b lacks, as text (at most 8 of them). */
static void missing_chars(const rnn_vocab *a, const rnn_vocab *b, char *out, size_t cap) {
    int i, shown = 0;
    size_t at = 0;
    out[0] = 0;
    for (i = 0; i < rnn_vocab_size(a) && shown < 8; i++) {
        char ch[5] = {0};
        size_t k = 0;
        int id;
        rnn_utf8_encode(a->chars[i], ch);
        if (rnn_vocab_encode(b, ch, strlen(ch), &id, 1, &k, NULL) == RNN_OK) continue;
        at += (size_t)snprintf(out + at, cap - at, "%s\"%s\"", shown ? " " : "",
                               !strcmp(ch, "\n") ? "\\n" : !strcmp(ch, "\t") ? "\\t" : ch);
        if (at >= cap) break;
        shown++;
    }
}

static int cmd_train(int argc, char **argv) {
    static const char *cells[] = {"", "tanh", "relu", "lstm", "gru", "gru_cho"};
    cli_opt o[] = {
        {"--output", "-o", CLI_STR, 0, 0, 0, NULL, 0},
        {"--cell", NULL, CLI_STR, 0, 0, 0, "lstm", 0},
        {"--embed", NULL, CLI_INT, 1, 65536, 64, NULL, 0},
        {"--hidden", NULL, CLI_INT, 1, 65536, 256, NULL, 0},
        {"--layers", NULL, CLI_INT, 1, 64, 2, NULL, 0},
        {"--seq", NULL, CLI_INT, 1, 100000, 64, NULL, 0},
        {"--batch", NULL, CLI_INT, 1, 65536, 32, NULL, 0},
        {"--lr", NULL, CLI_NUM, 1e-12, 10, 2e-3, NULL, 0},
        {"--clip", NULL, CLI_NUM, 0, 1e9, 5, NULL, 0},
        {"--dropout", NULL, CLI_NUM, 0, 0.95, 0, NULL, 0},
        {"--steps", NULL, CLI_INT, 1, 1e15, 0, NULL, 0},
        {"--minutes", NULL, CLI_NUM, 1e-6, 1e7, 10, NULL, 0},
        {"--val", NULL, CLI_NUM, 0, 0.5, 0.05, NULL, 0},
        {"--save-every", NULL, CLI_INT, 1, 1e15, 500, NULL, 0},
        {"--resume", NULL, CLI_FLAG, 0, 1, 0, NULL, 0},
        {"--keep-best", NULL, CLI_FLAG, 0, 1, 0, NULL, 0},
        {"--plot", NULL, CLI_STR, 0, 0, 0, NULL, 0},
        {"--seed", NULL, CLI_INT, 0, 9007199254740992.0, 1, NULL, 0},
        {"--retry", NULL, CLI_INT, 0, 100, 0, NULL, 0},
        {"--words", NULL, CLI_FLAG, 0, 1, 0, NULL, 0},
        {"--min-count", NULL, CLI_INT, 1, 1e9, 2, NULL, 0},
        {"--max-words", NULL, CLI_INT, 5, 1e8, 20000, NULL, 0},
        {"--lower", NULL, CLI_FLAG, 0, 1, 0, NULL, 0},
        {"--threads", NULL, CLI_INT, 1, 64, 0, NULL, 0},
    };
    static const char *arch[] = {"--cell", "--embed", "--hidden", "--layers", "--dropout"};
    int no = (int)(sizeof o / sizeof o[0]), npos, T, B, k, tty = IS_TTY(stdout), resume, rc = 0, diverged = 0, retries;
    int threads;
    const char *pos[1], *corpus, *out, *plot, *why = "";
    long steps, save_every, step, start, end_step, best_step = -1, saved_step = -1;
    double minutes, valshare, t0, el = 0, last_print = -1;
    size_t len = 0, n = 0, ntrain, bad = 0, need;
    char *text, err[256], best_path[4096] = "";
    int *ids = NULL, *in = NULL, *tg = NULL;
    rnn_vocab vocab;
    rnn_words words, *wv = NULL;   /* a word model's vocabulary: built here, or the checkpoint's */
    const char *unit = "character";
    rnn_lm *m = NULL;
    rnn_optimizer *opt = NULL;
    rnn_batcher bt;
    rnn_rng rng;
    rnn_status st;
    float loss = 0, val = NAN, smooth = 0, best = INFINITY;
    plot_point *pts = NULL;
    int npts = 0;
    uint64_t seed;
    if (cli_parse("textgen train", argc, argv, 2, o, no, pos, 1, &npos)) return 2;
    threads = cli_get(o, no, "--threads")->given ? (int)cli_get(o, no, "--threads")->num : rnn_cpu_count();
    if (start_threads(threads)) return 1;
    if (npos != 1) { fprintf(stderr, "textgen train: which corpus? (textgen train CORPUS -o MODEL [options])\n"); return 2; }
    corpus = pos[0];
    if (!(out = cli_get(o, no, "--output")->str)) { fprintf(stderr, "textgen train: -o MODEL is required\n"); return 2; }
    T = (int)cli_get(o, no, "--seq")->num; B = (int)cli_get(o, no, "--batch")->num;
    steps = (long)cli_get(o, no, "--steps")->num; save_every = (long)cli_get(o, no, "--save-every")->num;
    minutes = cli_get(o, no, "--minutes")->num; valshare = cli_get(o, no, "--val")->num;
    resume = cli_get(o, no, "--resume")->given;
    plot = cli_get(o, no, "--plot")->str;
    seed = (uint64_t)cli_get(o, no, "--seed")->num;
    retries = (int)cli_get(o, no, "--retry")->num;
    for (k = 1; k <= 5 && strcmp(cli_get(o, no, "--cell")->str, cells[k]); k++) {}
    if (k > 5) { fprintf(stderr, "textgen train: --cell %s is not lstm, gru, gru_cho, tanh or relu\n", cli_get(o, no, "--cell")->str); return 2; }
    /* the files: nothing is written over the corpus, a directory, or a file that is not a checkpoint */
    if (cli_get(o, no, "--keep-best")->given) {
        const char *dot = strrchr(out, '.'), *slash = strrchr(out, '/');
        if (dot && (!slash || dot > slash)) snprintf(best_path, sizeof best_path, "%.*s.best%s", (int)(dot - out), out, dot);
        else snprintf(best_path, sizeof best_path, "%s.best", out);
    }
    if (same_file(out, corpus) || !strcmp(out, corpus)) { fprintf(stderr, "textgen: -o %s is the corpus: it would be overwritten\n", out); return 2; }
    if (best_path[0] && same_file(best_path, corpus)) { fprintf(stderr, "textgen: --keep-best would write over the corpus %s\n", corpus); return 2; }
    if (plot && (same_file(plot, corpus) || same_file(plot, out) || !strcmp(plot, out))) {
        fprintf(stderr, "textgen: --plot %s is the corpus or the model\n", plot);
        return 2;
    }
    if (!(text = read_all(corpus, &len, &why))) { fprintf(stderr, "textgen: cannot read the corpus %s: %s\n", corpus, why); return 1; }
    if (len == 0) { fprintf(stderr, "textgen: the corpus %s is empty\n", corpus); free(text); return 1; }
    memset(&vocab, 0, sizeof vocab);
    memset(&words, 0, sizeof words);
    if ((st = rnn_vocab_from_text(&vocab, text, len, &bad)) != RNN_OK) {
        fprintf(stderr, "textgen: the corpus %s is not valid UTF-8 at byte %lu\n", corpus, (unsigned long)bad);
        free(text);
        return 1;
    }
    if (resume) {   /* the checkpoint says whether the model reads characters or words */
        if ((st = rnn_lm_load(&m, &opt, out, err, sizeof err)) != RNN_OK) {
            fprintf(stderr, "textgen: --resume: %s\n", err[0] ? err : rnn_strerror(st));
            rc = 1; goto done;
        }
        if (!opt) { fprintf(stderr, "textgen: --resume: %s has no optimizer state (not saved by textgen train)\n", out); rc = 1; goto done; }
        if (!m->vocab && !m->words) { fprintf(stderr, "textgen: --resume: %s has no vocabulary\n", out); rc = 1; goto done; }
        if (cli_get(o, no, "--words")->given && !m->words) {
            fprintf(stderr, "textgen: --resume: %s is a character model; leave out --words\n", out);
            rc = 2; goto done;
        }
        wv = m->words;
    } else if (cli_get(o, no, "--words")->given) {
        rnn_words_config wc;
        memset(&wc, 0, sizeof wc);
        wc.max_words = (int)cli_get(o, no, "--max-words")->num;
        wc.min_count = (int)cli_get(o, no, "--min-count")->num;
        wc.keep_case = !cli_get(o, no, "--lower")->given;
        wc.punct = RNN_PUNCT_SPLIT;
        if ((st = rnn_words_build(&words, &wc, (const char *const *)&text, &len, 1)) != RNN_OK) {
            fprintf(stderr, "textgen: %s\n", words.error);
            rc = 1; goto done;
        }
        wv = &words;
    }
    if (wv) {
        size_t unk = 0, i;
        unit = "word";
        if (!(ids = encode_lines(wv, text, len, 1, 0, &n, &bad))) { rc = 1; goto done; }   /* valid: checked above */
        for (i = 0; i < n; i++) unk += ids[i] == RNN_UNK;
        printf("textgen: %lu words and line ends, %d in the vocabulary, %.1f%% of them <unk>\n", (unsigned long)n,
               rnn_words_size(wv), n ? 100.0 * (double)unk / (double)n : 0.0);
    } else {
        ids = (int *)malloc(len * sizeof(int));
        rnn_vocab_encode(&vocab, text, len, ids, len, &n, NULL);
    }
    ntrain = rnn_batcher_split(n, (float)valshare);
    need = (size_t)B * (T + 1);
    if (ntrain < need || (valshare > 0 && n - ntrain < need)) {
        size_t least = valshare > 0 ? (size_t)ceil((double)need / valshare) + 1 : need;
        fprintf(stderr, "textgen: the corpus %s has %lu %ss; --seq %d --batch %d%s need at least %lu\n", corpus,
                (unsigned long)n, unit, T, B, valshare > 0 ? " with --val" : "", (unsigned long)least);
        rc = 1; goto done;
    }
    if (!resume && !is_dir(out)) {   /* an existing file at -o must be a checkpoint to be replaced */
        rnn_st_file sf;
        FILE *probe = fopen(out, "rb");
        if (probe) {
            fclose(probe);
            if (rnn_st_open(&sf, out) != RNN_OK) {
                fprintf(stderr, "textgen: -o %s exists and is not a checkpoint (%s); not overwriting it\n", out, sf.error);
                rc = 2; goto done;
            }
            rnn_st_close(&sf);
        }
    }
    if (check_writable("-o", out) || (best_path[0] && check_writable("--keep-best", best_path)) ||
        (plot && check_writable("--plot", plot))) { rc = 1; goto done; }
    if (resume) {
        char miss[128];
        if (m->vocab) missing_chars(&vocab, m->vocab, miss, sizeof miss);
        if (m->vocab && miss[0]) { fprintf(stderr, "textgen: --resume: the corpus has characters %s does not know: %s\n", out, miss); rc = 1; goto done; }
        if (m->vocab) missing_chars(m->vocab, &vocab, miss, sizeof miss);
        if (m->vocab && miss[0]) { fprintf(stderr, "textgen: --resume: %s was trained on characters this corpus lacks: %s (another corpus?)\n", out, miss); rc = 1; goto done; }
        for (k = 0; k < 5; k++) {   /* the architecture is the checkpoint's: say so where the flags differ */
            cli_opt *a = cli_get(o, no, arch[k]);
            double have = k == 1 ? m->cfg.embed_size : k == 2 ? m->cfg.hidden_size : k == 3 ? m->cfg.num_layers
                        : m->cfg.dropout;
            if (a->given && (k == 0 ? strcmp(a->str, cells[m->cfg.cell]) != 0 : fabs(a->num - have) > 1e-6))
                fprintf(stderr, "textgen: --resume: the checkpoint's architecture wins (%s, %d layers, hidden %d, "
                        "embedding %d, dropout %g); ignoring %s\n", cells[m->cfg.cell], m->cfg.num_layers,
                        m->cfg.hidden_size, m->cfg.embed_size, m->cfg.dropout, arch[k]);
        }
        if (cli_get(o, no, "--lr")->given) opt->cfg.lr = (float)cli_get(o, no, "--lr")->num;
        if (cli_get(o, no, "--clip")->given) opt->cfg.clip_norm = (float)cli_get(o, no, "--clip")->num;
        saved_step = (long)opt->t;
    } else {
        rnn_lm_config lc;
        rnn_optimizer_config oc;
        memset(&lc, 0, sizeof lc);
        lc.vocab_size = wv ? rnn_words_size(wv) : rnn_vocab_size(&vocab);
        lc.cell = (rnn_cell)k;
        lc.embed_size = (int)cli_get(o, no, "--embed")->num;
        lc.hidden_size = (int)cli_get(o, no, "--hidden")->num;
        lc.num_layers = (int)cli_get(o, no, "--layers")->num;
        lc.dropout = (float)cli_get(o, no, "--dropout")->num;
        if ((st = rnn_lm_create(&m, &lc, seed)) != RNN_OK ||
            (st = wv ? rnn_lm_set_words(m, wv) : rnn_lm_set_vocab(m, &vocab)) != RNN_OK) {
            fprintf(stderr, "textgen: cannot make the model: %s\n", rnn_strerror(st));
            rc = 1; goto done;
        }
        memset(&oc, 0, sizeof oc);
        oc.lr = (float)cli_get(o, no, "--lr")->num;
        oc.clip_norm = (float)cli_get(o, no, "--clip")->num;
        if ((st = rnn_optimizer_create(&opt, &oc, m->params)) != RNN_OK) {
            fprintf(stderr, "textgen: cannot make the optimizer: %s\n", rnn_strerror(st));
            rc = 1; goto done;
        }
    }
    in = (int *)malloc(sizeof(int) * (size_t)T * B);
    tg = (int *)malloc(sizeof(int) * (size_t)T * B);
    pts = (plot_point *)malloc(sizeof *pts * 4096);
    rnn_batcher_init(&bt, ids, ntrain, T, B);
    rnn_rng_seed(&rng, seed);
    for (step = 0; step < opt->t; step++) rnn_batcher_next(&bt, in, tg, &rng);   /* --resume: the same windows */
    start = (long)opt->t;
    end_step = steps ? start + steps : -1;
    printf("textgen: %s, %lu %ss (%d distinct), %lu for validation\n", corpus, (unsigned long)n, unit,
           m->cfg.vocab_size, (unsigned long)(n - ntrain));
    printf("textgen: %s x %d layers, hidden %d, embedding %d, %lu parameters, seq %d, batch %d, %d thread%s%s\n",
           cells[m->cfg.cell], m->cfg.num_layers, m->cfg.hidden_size, m->cfg.embed_size,
           (unsigned long)opt->n, T, B, rnn_parallel_tasks(), rnn_parallel_tasks() > 1 ? "s" : "", resume ? "; resumed" : "");
    if (resume && steps) printf("textgen: resuming at step %ld for %ld more steps\n", start, steps);
    else if (resume) printf("textgen: resuming at step %ld for %g more minutes\n", start, minutes);
    signal(SIGINT, on_sigint);
    t0 = now();
    for (step = start; !g_stop; step++) {
        const char *why = NULL;   /* set when the run diverged */
        el = now() - t0;
        if (end_step >= 0 ? step >= end_step : el >= minutes * 60) break;
        if (rnn_batcher_next(&bt, in, tg, &rng)) rnn_lm_reset_state(m);
        if ((st = rnn_lm_train_step(m, opt, in, tg, T, B, &loss)) != RNN_OK || !healthy(loss, m->cfg.vocab_size))
            why = st != RNN_OK ? m->error : loss == loss ? "the loss exploded" : "non-finite loss";
        else
            smooth = step == start ? loss : 0.98f * smooth + 0.02f * loss;
        el = now() - t0;
        if (!why && (step + 1) % 100 == 0 && valshare > 0) {
            val = validate(m, ids + ntrain, n - ntrain, T, B, in, tg);
            if (best_path[0] && val < best) {
                if ((st = rnn_lm_save(m, opt, best_path)) == RNN_OK) { best = val; best_step = step + 1; }
                else fprintf(stderr, "\ntextgen: cannot write %s: %s\n", best_path, m->error);
            }
        }
        if (!why && (step + 1) % 100 == 0 && npts < 4096) {
            pts[npts].step = step + 1; pts[npts].train = smooth; pts[npts].val = valshare > 0 ? val : NAN;
            npts++;
            if (plot && write_plot(plot, pts, npts, corpus)) fprintf(stderr, "\ntextgen: cannot write %s\n", plot);
        }
        if (!why && (el - last_print >= (tty ? 0.25 : 5.0) || (step + 1) % 100 == 0)) {
            double tps = el > 0 ? (double)T * B * (double)(step + 1 - start) / el : 0;
            double left = end_step >= 0 ? el / (double)(step + 1 - start) * (double)(end_step - step - 1) : minutes * 60 - el;
            char vs[16] = "-";
            if (val == val) snprintf(vs, sizeof vs, "%.3f", val);
            printf("%sstep %6ld  loss %.3f  val %s  %6.0f tok/s  %.0f s left%s", tty ? "\r" : "", step + 1,
                   smooth, vs, tps, left > 0 ? left : 0, tty ? "   " : "\n");
            fflush(stdout);
            last_print = el;
        }
        if (!why && (step + 1) % save_every == 0) {
            if (!healthy_on(m, in, tg, T, B)) why = "the loss exploded";   /* such weights are not saved */
            else if (rnn_lm_save(m, opt, out) == RNN_OK) saved_step = step + 1;
            else fprintf(stderr, "\ntextgen: cannot write %s: %s\n", out, m->error);
        }
        if (why) {
            if (retries > 0 && saved_step >= 0 &&
                rewind_to(out, &m, &opt, &bt, ids, ntrain, T, B, seed, &rng, in, tg, opt->cfg.lr / 2) == 0) {
                retries--;
                fprintf(stderr, "%stextgen: diverged at step %ld (%s); --retry: back to step %ld with --lr %g\n",
                        tty ? "\n" : "", step + 1, why, saved_step, opt->cfg.lr);
                step = saved_step - 1;
                continue;
            }
            report_divergence(tty, step + 1, why, out, saved_step);
            diverged = 1;
            break;
        }
        if ((step + 1) % 1000 == 0) {
            int nl = newline_id(m);
            printf("%s--- sample at step %ld ---\n", tty ? "\n" : "", step + 1);
            if (nl >= 0) generate(m, &nl, 1, m->words ? 40 : 160, 0.8f, 0, 1.0f, &rng, stdout);
        }
    }
    if (!diverged && !healthy_on(m, in, tg, T, B)) {
        report_divergence(tty, step, "the loss exploded", out, saved_step);
        diverged = 1;
    }
    if (diverged) { rc = 1; goto done; }
    if (valshare > 0) {
        val = validate(m, ids + ntrain, n - ntrain, T, B, in, tg);
        if (best_path[0] && val < best && rnn_lm_save(m, opt, best_path) == RNN_OK) { best = val; best_step = step; }
    }
    if (plot && npts < 4096 && (npts == 0 || pts[npts - 1].step != step)) {
        pts[npts].step = step; pts[npts].train = smooth; pts[npts].val = valshare > 0 ? val : NAN;
        npts++;
    }
    if (plot && write_plot(plot, pts, npts, corpus)) { fprintf(stderr, "textgen: cannot write %s\n", plot); rc = 1; }
    if ((st = rnn_lm_save(m, opt, out)) != RNN_OK) {
        fprintf(stderr, "%stextgen: the final save failed: %s\n", tty ? "\n" : "", m->error);
        rc = 1;
    }
    {
        char vs[48] = "";
        if (valshare > 0) snprintf(vs, sizeof vs, ", val loss %.3f nats/%s", val, m->words ? "word" : "char");
        printf("%stextgen: %s%ssteps %ld -> %ld, train loss %.3f%s, %.0f tok/s, %.0f s%s%s\n", tty ? "\n" : "",
               g_stop ? "stopped by Ctrl-C; " : "", resume ? "resumed, " : "", start, step, smooth, vs,
               el > 0 ? (double)T * B * (double)(step - start) / el : 0, el, rc == 0 ? "; saved " : "", rc == 0 ? out : "");
    }
    if (best_path[0] && best_step >= 0)
        printf("textgen: the lowest validation loss, %.3f at step %ld, is in %s\n", best, best_step, best_path);
    if (plot && rc == 0) printf("textgen: the loss curves are in %s\n", plot);
done:
    rnn_optimizer_free(opt);
    rnn_lm_free(m);
    rnn_vocab_free(&vocab);
    rnn_words_free(&words);
    free(ids); free(in); free(tg); free(text); free(pts);
    return rc;
}

int main(int argc, char **argv) {
    int help = argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));
    if (argc >= 2 && !strcmp(argv[1], "train")) return cmd_train(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "sample")) return cmd_sample(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "quantize")) return cmd_quantize(argc, argv);
    if (argc >= 2 && !help) fprintf(stderr, "textgen: unknown command \"%s\" (train, sample or quantize)\n", argv[1]);
    fprintf(help ? stdout : stderr, usage, rnn_cpu_count());
    return help ? 0 : 2;
}
