/* examples/langid.c - which language is a text in? Classification of real
   text from Debian's packages, with rnn.h's classifier.

   langid [--data sentences|words|both] [--minutes M] [--out DIR]
       Builds each data set, trains a char-level bidirectional GRU with
       attention pooling and a Transformer encoder of about the same size for
       M minutes each, and compares them with a character-trigram naive
       Bayes classifier computed here. Prints accuracy, a confusion matrix and
       heat lines (which characters the attention pooling weighed most);
       writes DIR/langid-DATA-{gru,transformer}.safetensors, the confusion
       matrices and learning curves as SVG pictures.
   langid classify MODEL TEXT...
       The language of each TEXT, with the model's probabilities.

   Data (make langid installs the packages):
     sentences  fortunes in 8 languages (fortunes, fortunes-de, -es, -it,
                -br, -pl, -cs, -ru), cut into snippets of at most 200
                characters; a fortune's snippets are all train or all test.
     words      single words of 9 word lists (wamerican, wngerman, wfrench,
                wspanish, witalian, wportuguese, wdutch, wpolish, wswedish),
                lower-cased; a word found in two lists is left out.

   Build: cc -O2 $(pkg-config --cflags stb) langid.c -lm   (or: make)
   Every bad option or file gets a message and a non-zero exit status. */
#define _POSIX_C_SOURCE 200809L   /* clock_gettime, lstat, opendir */
#define RNN_IMPLEMENTATION
#define STB_DS_IMPLEMENTATION
#include "../rnn.h"
#include "cli.h"
#include "plot.h"
#include "corpus.h"
#include "clfkit.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


/* ---- texts ---------------------------------------------------------------- */

typedef struct { char *s; int lang, test; } text;   /* s: UTF-8, NUL-ended */

typedef struct {
    const char *code, *name;
    const char *path;       /* a directory of fortune files, a fortune file, or a word list */
} source;

static const source SENTENCES[] = {
    {"en", "English", "/usr/share/games/fortunes"},    {"de", "German", "/usr/share/games/fortunes/de"},
    {"es", "Spanish", "/usr/share/games/fortunes/es"}, {"it", "Italian", "/usr/share/games/fortunes/it"},
    {"pt", "Portuguese", "/usr/share/games/fortunes/brasil"}, {"pl", "Polish", "/usr/share/games/fortunes/pl"},
    {"cs", "Czech", "/usr/share/games/fortunes/cs"},   {"ru", "Russian", "/usr/share/games/fortunes/ru"},
};
static const source WORDS[] = {
    {"en", "English", "/usr/share/dict/american-english"}, {"de", "German", "/usr/share/dict/ngerman"},
    {"fr", "French", "/usr/share/dict/french"},            {"es", "Spanish", "/usr/share/dict/spanish"},
    {"it", "Italian", "/usr/share/dict/italian"},          {"pt", "Portuguese", "/usr/share/dict/portuguese"},
    {"nl", "Dutch", "/usr/share/dict/dutch"},              {"pl", "Polish", "/usr/share/dict/polish"},
    {"sv", "Swedish", "/usr/share/dict/swedish"},
};
#define NSENT (int)(sizeof SENTENCES / sizeof SENTENCES[0])
#define NWORD (int)(sizeof WORDS / sizeof WORDS[0])
#define MAXC 9

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The fortune files of a source: the file itself, or the regular files of
   the directory (not links, .dat indexes, .u8 twins, ASCII art; at the top
   level not brasil, which is Portuguese, nor Czech's Slovak file), sorted. */
static char **fortune_files(const char *path) {
    struct stat st;
    char **files = NULL;
    DIR *d;
    struct dirent *e;
    if (stat(path, &st) != 0) return NULL;
    if (!S_ISDIR(st.st_mode)) { arrput(files, strdup(path)); return files; }
    if (!(d = opendir(path))) return NULL;
    while ((e = readdir(d))) {
        char full[1024];
        size_t nl = strlen(e->d_name);
        if (e->d_name[0] == '.' || (nl > 4 && (!strcmp(e->d_name + nl - 4, ".dat") || !strcmp(e->d_name + nl - 3, ".u8"))) ||
            strstr(e->d_name, "ascii") || strstr(e->d_name, "banner") || !strcmp(e->d_name, "brasil") ||
            !strcmp(e->d_name, "klasik-sk"))
            continue;
        snprintf(full, sizeof full, "%s/%s", path, e->d_name);
        if (lstat(full, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) arrput(files, strdup(full));
    }
    closedir(d);
    if (files) qsort(files, (size_t)arrlen(files), sizeof *files, cmp_str);
    return files;
}

/* Cuts one fortune (lines, attribution lines "-- name" left out, white
   space folded) into snippets of at most 200 characters at word
   boundaries, appended to *out with the fortune's side. */
typedef struct { text **out; int lang; } fortune_sink;

static void add_fortune(void *user, const char *f, size_t n) {
    fortune_sink *sink = (fortune_sink *)user;
    text **out = sink->out;
    int lang = sink->lang;
    size_t i, k = 0;
    char *clean = corpus_fortune(f, n, &k);
    int test;
    if (!clean) return;
    test = corpus_hash(clean, k) % 10 == 0;
    for (i = 0; i < k;) {   /* snippets of <= 200 code points */
        size_t j = i, cut = 0;
        int chars = 0;
        uint32_t cp;
        while (j < k && chars < 200) {
            int w = rnn_utf8_decode(clean + j, k - j, &cp);
            if (w <= 0) { free(clean); return; }   /* not UTF-8: the fortune is left out */
            if (clean[j] == ' ') cut = j;
            j += (size_t)w;
            chars++;
        }
        if (j < k && cut > i) j = cut;
        if (chars >= 20 || (i == 0 && j == k && chars >= 10)) {
            text t;
            t.s = (char *)malloc(j - i + 1);
            memcpy(t.s, clean + i, j - i);
            t.s[j - i] = 0;
            t.lang = lang; t.test = test;
            arrput(*out, t);
        }
        i = j;
        while (i < k && clean[i] == ' ') i++;
    }
    free(clean);
}

/* Lower-cases a code point of the Latin scripts the word lists use. */
static uint32_t lower(uint32_t c) {
    if ((c >= 'A' && c <= 'Z') || (c >= 0xC0 && c <= 0xDE && c != 0xD7)) return c + 32;
    if ((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177)) return c | 1;
    if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) return c + (c & 1);
    return c;
}

/* A word list's entries, lower-cased, letters only, 3..30 characters. */
static int add_words(text **out, const char *buf, size_t n, int lang) {
    size_t i = 0;
    int added = 0;
    while (i < n) {
        size_t e = i, j;
        char w[128];
        int k = 0, chars = 0, ok = 1;
        while (e < n && buf[e] != '\n') e++;
        for (j = i; j < e && ok;) {
            uint32_t cp;
            int len = rnn_utf8_decode(buf + j, e - j, &cp);
            ok = len > 0 && k + 4 < (int)sizeof w && ((cp | 32) - 'a' < 26 || cp >= 0xC0) && cp != 0xD7 && cp != 0xF7;
            if (ok) { k += rnn_utf8_encode(lower(cp), w + k); chars++; j += (size_t)len; }
        }
        if (ok && chars >= 3 && chars <= 30) {
            text t;
            t.s = (char *)malloc((size_t)k + 1);
            memcpy(t.s, w, (size_t)k);
            t.s[k] = 0;
            t.lang = lang; t.test = 0;
            arrput(*out, t);
            added++;
        }
        i = e + 1;
    }
    return added;
}

/* Shuffles a[0..n) with the generator. */
static void shuffle(text *a, int n, rnn_rng *rng) {
    int i;
    for (i = n - 1; i > 0; i--) {
        int j = (int)(rnn_rng_u64(rng) % (uint64_t)(i + 1));
        text t = a[i];
        a[i] = a[j]; a[j] = t;
    }
}

/* Keeps at most cap train and cap/8 test texts of each language. */
static text *balance(text *all, int nlang, int cap, rnn_rng *rng) {
    int have[2][MAXC] = {{0}};
    text *kept = NULL;
    ptrdiff_t i;
    shuffle(all, (int)arrlen(all), rng);
    for (i = 0; i < arrlen(all); i++) {
        int side = all[i].test, lim = side ? cap / 8 : cap;
        if (have[side][all[i].lang] < lim && all[i].lang < nlang) {
            have[side][all[i].lang]++;
            arrput(kept, all[i]);
        } else
            free(all[i].s);
    }
    arrfree(all);
    /* again: the caps fill at different times, so the kept order leans to
       the smaller sources at its end; a prefix must be a fair sample */
    shuffle(kept, (int)arrlen(kept), rng);
    return kept;
}

static text *load_sentences(int cap, rnn_rng *rng) {
    text *all = NULL;
    int l;
    for (l = 0; l < NSENT; l++) {
        char **files = fortune_files(SENTENCES[l].path);
        ptrdiff_t i, before = arrlen(all);
        if (!files) {
            fprintf(stderr, "langid: no fortunes at %s (make langid installs them: apt-get install %s)\n",
                    SENTENCES[l].path, "fortunes fortunes-de fortunes-es fortunes-it fortunes-br fortunes-pl fortunes-cs fortunes-ru");
            return NULL;
        }
        for (i = 0; i < arrlen(files); i++) {
            fortune_sink sink;
            sink.out = &all; sink.lang = l;
            corpus_fortunes("langid", files[i], add_fortune, &sink);
            free(files[i]);
        }
        arrfree(files);
        if (arrlen(all) == before) { fprintf(stderr, "langid: %s holds no fortune\n", SENTENCES[l].path); return NULL; }
    }
    return balance(all, NSENT, cap, rng);
}

/* Words found in two lists are left out: the task is then well posed. */
static text *load_words(int cap, rnn_rng *rng) {
    text *all = NULL, *kept = NULL;
    struct { char *key; int value; } *seen = NULL;
    ptrdiff_t i;
    int l;
    sh_new_strdup(seen);
    for (l = 0; l < NWORD; l++) {
        size_t n = 0;
        char *raw = corpus_slurp("langid", WORDS[l].path, &n), *buf;
        text *mine = NULL;
        if (!raw) {
            fprintf(stderr, "langid: make langid installs the word lists (apt-get install wamerican wngerman wfrench "
                            "wspanish witalian wportuguese wdutch wpolish wswedish)\n");
            return NULL;
        }
        buf = corpus_utf8(raw, n);
        free(raw);
        add_words(&mine, buf, strlen(buf), l);
        free(buf);
        for (i = 0; i < arrlen(mine); i++) {   /* each list once per word */
            ptrdiff_t at = shgeti(seen, mine[i].s);
            int mask = at < 0 ? 0 : seen[at].value;
            if (mask & (1 << l)) { free(mine[i].s); continue; }
            shput(seen, mine[i].s, mask | (1 << l));
            arrput(all, mine[i]);
        }
        arrfree(mine);
    }
    for (i = 0; i < arrlen(all); i++) {
        int mask = shget(seen, all[i].s);
        if (mask & (mask - 1)) { free(all[i].s); continue; }   /* in two lists or more */
        all[i].test = corpus_hash(all[i].s, strlen(all[i].s)) % 10 == 0;
        arrput(kept, all[i]);
    }
    arrfree(all);
    shfree(seen);
    return balance(kept, NWORD, cap, rng);
}

/* ---- ids ------------------------------------------------------------------ */

/* The vocabulary of the training texts: characters seen at least twice,
   and U+FFFD, which stands for every other character. */
static int make_vocab(rnn_vocab *v, const text *t) {
    struct { char *key; int value; } *cnt = NULL;
    char *all = NULL;
    ptrdiff_t i;
    size_t n = 0;
    int st;
    sh_new_strdup(cnt);
    for (i = 0; i < arrlen(t); i++) {
        const char *p = t[i].s;
        if (t[i].test) continue;
        while (*p) {
            char ch[5] = {0};
            uint32_t cp;
            int w = rnn_utf8_decode(p, strlen(p), &cp);
            ptrdiff_t at;
            memcpy(ch, p, (size_t)w);
            at = shgeti(cnt, ch);   /* (shget of a missing key gives stb_ds's default slot, not 0) */
            if (at < 0) shput(cnt, ch, 1);
            else cnt[at].value++;
            p += w;
        }
    }
    for (i = 0; i < shlen(cnt); i++)
        if (cnt[i].value >= 2) { size_t k = strlen(cnt[i].key); all = (char *)realloc(all, n + k + 1); memcpy(all + n, cnt[i].key, k); n += k; }
    all = (char *)realloc(all, n + 4);
    memcpy(all + n, "\xEF\xBF\xBD", 3);
    n += 3;
    st = rnn_vocab_from_text(v, all, n, NULL) != RNN_OK;
    free(all);
    shfree(cnt);
    return st;
}

/* ids of a text (unknown characters: U+FFFD's id), at most cap; the count. */
static int encode(const rnn_vocab *v, const char *s, int *ids, int cap) {
    size_t p = 0, len = strlen(s), one;
    int n = 0, unk = 0;
    rnn_vocab_encode(v, "\xEF\xBF\xBD", 3, &unk, 1, &one, NULL);
    while (p < len && n < cap) {
        uint32_t cp;
        int w = rnn_utf8_decode(s + p, len - p, &cp);
        if (rnn_vocab_encode(v, s + p, (size_t)w, ids + n, 1, &one, NULL) != RNN_OK) ids[n] = unk;
        n++;
        p += (size_t)w;
    }
    return n;
}

/* ---- naive Bayes over character trigrams ---------------------------------- */

#define NB_BITS 18
typedef struct { float *count; double total[MAXC], prior[MAXC]; int nlang; } bayes;

/* The trigram features of " text ": hashed code-point triples. */
static int trigrams(const rnn_vocab *v, const char *s, uint32_t *out, int cap) {
    int ids[512], n = encode(v, s, ids + 1, 510), i, k = 0;
    ids[0] = ids[n + 1] = -1;
    for (i = 0; i + 2 < n + 2 && k < cap; i++) {
        uint64_t h = ((uint64_t)(ids[i] + 2) * 1000003u + (uint64_t)(ids[i + 1] + 2)) * 1000003u + (uint64_t)(ids[i + 2] + 2);
        out[k++] = (uint32_t)((h * 0x9E3779B97F4A7C15ull) >> (64 - NB_BITS));
    }
    return k;
}

static void bayes_train(bayes *nb, const rnn_vocab *v, const text *t, int nlang) {
    ptrdiff_t i;
    int docs[MAXC] = {0}, ndocs = 0, c;
    nb->nlang = nlang;
    nb->count = (float *)calloc((size_t)nlang << NB_BITS, sizeof(float));
    memset(nb->total, 0, sizeof nb->total);
    for (i = 0; i < arrlen(t); i++) {
        uint32_t f[512];
        int n, k;
        if (t[i].test) continue;
        n = trigrams(v, t[i].s, f, 512);
        for (k = 0; k < n; k++) nb->count[((size_t)t[i].lang << NB_BITS) + f[k]] += 1;
        nb->total[t[i].lang] += n;
        docs[t[i].lang]++; ndocs++;
    }
    for (c = 0; c < nlang; c++) nb->prior[c] = log((docs[c] + 1.0) / (ndocs + nlang));
}

static int bayes_predict(const bayes *nb, const rnn_vocab *v, const char *s) {
    uint32_t f[512];
    int n = trigrams(v, s, f, 512), c, k, best = 0;
    double score[MAXC];
    for (c = 0; c < nb->nlang; c++) {
        score[c] = nb->prior[c];
        for (k = 0; k < n; k++)   /* add-one smoothing over the hashed feature space */
            score[c] += log((nb->count[((size_t)c << NB_BITS) + f[k]] + 1.0) / (nb->total[c] + (1 << NB_BITS)));
        if (score[c] > score[best]) best = c;
    }
    return best;
}

/* ---- pictures --------------------------------------------------------------- */

/* Writes a file through a temporary name, so a failed run leaves no half file. */
/* Test accuracy against training time, one line per model, the baseline dashed. */
static void write_curves(const char *path, const char *title, plot_point *const *curves, const char *const *names, int n,
                         double baseline) {
    plot p;
    double xmax = 1, lo = baseline < 0.5 ? baseline : 0.5;
    char label[64];
    int k;
    ptrdiff_t i;
    for (k = 0; k < n; k++) {
        xmax = plot_xmax(curves[k], (int)arrlen(curves[k]), xmax);
        for (i = 0; i < arrlen(curves[k]); i++)
            if (curves[k][i].y < lo) lo = curves[k][i].y;
    }
    lo = floor(lo * 10) / 10;
    if (!plot_curves(&p, "langid", path, title, xmax, lo, 1, "%.0f%%", 100)) return;
    snprintf(label, sizeof label, "naive Bayes %.1f%%", 100 * baseline);
    plot_baseline(&p, baseline, label);
    for (k = 0; k < n; k++) plot_line(&p, curves[k], (int)arrlen(curves[k]), names[k]);
    plot_close(&p);
}

/* ---- the neural models ------------------------------------------------------ */

static void encode_all(const rnn_vocab *v, const text *t, int test, int maxlen, clf_set *e) {
    ptrdiff_t i;
    memset(e, 0, sizeof *e);
    e->T = maxlen;
    for (i = 0; i < arrlen(t); i++) e->n += t[i].test == test;
    e->ids = (int *)malloc(sizeof(int) * (size_t)e->n * maxlen);
    e->len = (int *)malloc(sizeof(int) * (size_t)e->n);
    e->lab = (int *)malloc(sizeof(int) * (size_t)e->n);
    e->n = 0;
    for (i = 0; i < arrlen(t); i++)
        if (t[i].test == test) {
            e->len[e->n] = encode(v, t[i].s, e->ids + (size_t)e->n * maxlen, maxlen);
            e->lab[e->n] = t[i].lang;
            e->n++;
        }
}

/* Trains one model for `minutes`, its test accuracy recorded along the way. */
static rnn_clf *train(const char *kind, int transformer, const rnn_vocab *v, const source *src, int nl, const clf_set *tr,
                      const clf_set *te, double minutes, uint64_t seed, plot_point **curve, long *steps, double *secs) {
    rnn_clf_config cfg;
    rnn_optimizer_config oc;
    rnn_optimizer *opt = NULL;
    rnn_clf *c = NULL;
    const char *labels[MAXC];
    int k;
    memset(&cfg, 0, sizeof cfg);
    cfg.vocab_size = rnn_vocab_size(v); cfg.num_classes = nl; cfg.max_len = tr->T; cfg.pool = RNN_POOL_ATTENTION;
    cfg.dropout = 0.1f;
    if (transformer) {   /* about the GRU's size: 2 post-norm layers, d_model 48, 4 heads */
        cfg.transformer = 1; cfg.embed_size = 48; cfg.heads = 4; cfg.ff_size = 96; cfg.num_layers = 2;
    } else {
        cfg.cell = RNN_GRU; cfg.embed_size = 32; cfg.hidden_size = 64; cfg.bidirectional = 1;
    }
    memset(&oc, 0, sizeof oc);
    oc.lr = transformer ? 1e-3f : 3e-3f; oc.clip_norm = 1;
    for (k = 0; k < nl; k++) labels[k] = src[k].name;
    if (rnn_clf_create(&c, &cfg, seed) != RNN_OK || rnn_clf_set_vocab(c, v) != RNN_OK || rnn_clf_set_labels(c, labels) != RNN_OK ||
        rnn_optimizer_create(&opt, &oc, c->params) != RNN_OK) {
        fprintf(stderr, "langid: cannot set up the %s model\n", kind);
        exit(1);
    }
    printf("  %-12s %ld parameters\n", kind, clf_params(c));
    fflush(stdout);
    if (clf_train_loop("langid", kind, c, opt, tr, te, 32, minutes, seed, curve, steps, secs)) exit(1);
    rnn_optimizer_free(opt);
    return c;
}

/* A heat line: under each character of a text, a shade for the weight
   attention pooling gave it (the darkest: the largest weight). */
static void heat_line(rnn_clf *c, const rnn_vocab *v, const char *s) {
    static const char *shade[] = {" ", "\xE2\x96\x81", "\xE2\x96\x82", "\xE2\x96\x83", "\xE2\x96\x84",
                                  "\xE2\x96\x85", "\xE2\x96\x86", "\xE2\x96\x87", "\xE2\x96\x88"};
    int ids[256], n = encode(v, s, ids, 200), t, k, best = 0;
    float probs[MAXC], mx = 0;
    if (rnn_clf_predict(c, ids, &n, n, 1, probs) != RNN_OK || !c->pool_weights) return;
    for (k = 1; k < c->cfg.num_classes; k++) if (probs[k] > probs[best]) best = k;
    for (t = 0; t < n; t++) if (c->pool_weights[t] > mx) mx = c->pool_weights[t];
    printf("    %s  -> %s %.0f%%\n    ", s, c->labels[best], 100 * probs[best]);
    for (t = 0; t < n; t++) fputs(shade[mx > 0 ? (int)(8 * c->pool_weights[t] / mx + 0.5) : 0], stdout);
    printf("\n");
}

/* One data set: baseline, both models, the report and the pictures. */
static int run(const char *data, double minutes, const char *outdir, uint64_t seed, int cap) {
    int words = !strcmp(data, "words"), nl = words ? NWORD : NSENT, k, conf[MAXC][MAXC], best_model = 0;
    const source *src = words ? WORDS : SENTENCES;
    rnn_rng rng;
    text *t;
    rnn_vocab v;
    bayes nb;
    clf_set tr, te;
    ptrdiff_t i;
    int right = 0, ntest = 0, maxlen = words ? 32 : 200;
    double nb_acc, acc[2];
    plot_point *curves[2] = {NULL, NULL};
    const char *names[2] = {"bi-GRU + attention", "Transformer"}, *kinds[2] = {"gru", "transformer"};
    const char *names_of[MAXC], *codes_of[MAXC];
    rnn_clf *models[2];
    char path[1024], title[256];
    for (k = 0; k < nl; k++) { names_of[k] = src[k].name; codes_of[k] = src[k].code; }
    rnn_rng_seed(&rng, seed);
    printf("== %s ==\n", data);
    fflush(stdout);
    t = words ? load_words(cap, &rng) : load_sentences(cap, &rng);
    if (!t) return 1;
    if (make_vocab(&v, t)) { fprintf(stderr, "langid: cannot build the vocabulary\n"); return 1; }
    encode_all(&v, t, 0, maxlen, &tr);
    encode_all(&v, t, 1, maxlen, &te);
    printf("  %d languages, %d train and %d test texts (%s), %d characters\n", nl, tr.n, te.n,
           words ? "distinct words" : "the test fortunes unseen", rnn_vocab_size(&v));
    bayes_train(&nb, &v, t, nl);
    memset(conf, 0, sizeof conf);
    for (i = 0; i < arrlen(t); i++)
        if (t[i].test) {
            int p = bayes_predict(&nb, &v, t[i].s);
            right += p == t[i].lang; ntest++;
            conf[t[i].lang][p]++;
        }
    nb_acc = ntest ? (double)right / ntest : 0;
    printf("  %-12s trigram naive Bayes, test accuracy %.1f%%\n", "baseline", 100 * nb_acc);
    for (k = 0; k < 2; k++) {
        long steps = 0;
        double secs = 0;
        models[k] = train(kinds[k], k, &v, src, nl, &tr, &te, minutes, seed + (uint64_t)k, &curves[k], &steps, &secs);
        acc[k] = clf_accuracy("langid", models[k], &te, te.n, &conf[0][0], MAXC);
        printf("  %-12s test accuracy %.1f%% after %ld steps, %.0f s (%.0f sequences/s)\n", kinds[k], 100 * acc[k], steps,
               secs, secs > 0 ? steps * 32 / secs : 0);
        print_confusion(names_of, codes_of, nl, &conf[0][0], MAXC);
        snprintf(path, sizeof path, "%s/langid-%s-%s-confusion.svg", outdir, data, kinds[k]);
        snprintf(title, sizeof title, "%s, %s: %.1f%% right", data, names[k], 100 * acc[k]);
        plot_confusion("langid", path, title, "language", names_of, codes_of, nl, &conf[0][0], MAXC);
        snprintf(path, sizeof path, "%s/langid-%s-%s.safetensors", outdir, data, kinds[k]);
        if (rnn_clf_save(models[k], NULL, path) != RNN_OK) fprintf(stderr, "langid: %s\n", models[k]->error);
        if (acc[k] > acc[best_model]) best_model = k;
    }
    printf("  heat lines (%s, attention pooling):\n", kinds[best_model]);
    for (i = 0, k = 0; i < arrlen(t) && k < 4; i++)   /* four short test texts */
        if (t[i].test && strlen(t[i].s) <= 72 && (words || strlen(t[i].s) >= 30)) {
            heat_line(models[best_model], &v, t[i].s);
            k++;
        }
    snprintf(path, sizeof path, "%s/langid-%s-curves.svg", outdir, data);
    snprintf(title, sizeof title, "language of %s: test accuracy while training", data);
    write_curves(path, title, curves, names, 2, nb_acc);
    printf("  pictures: %s/langid-%s-{gru,transformer}-confusion.svg, %s\n", outdir, data, path);
    for (k = 0; k < 2; k++) { rnn_clf_free(models[k]); arrfree(curves[k]); }
    for (i = 0; i < arrlen(t); i++) free(t[i].s);
    arrfree(t);
    free(nb.count);
    clf_set_free(&tr); clf_set_free(&te);
    rnn_vocab_free(&v);
    return 0;
}

/* langid classify MODEL TEXT...: characters the model does not know are
   read as U+FFFD, as in training, and said so. */
static int classify(const char *model, int n, const char **texts) {
    rnn_clf *c = NULL;
    char err[256];
    int i, k;
    if (rnn_clf_load(&c, NULL, model, err, sizeof err) != RNN_OK) {
        fprintf(stderr, "langid: %s: %s\n", model, err);
        return 1;
    }
    if (!c->vocab || !c->labels) {
        fprintf(stderr, "langid: %s: a classifier without vocabulary or labels\n", model);
        rnn_clf_free(c);
        return 1;
    }
    for (i = 0; i < n; i++) {
        size_t len = strlen(texts[i]), p = 0, q = 0, one;
        char *s = (char *)malloc(3 * len + 1);
        float probs[MAXC * 8];
        int unknown = 0, best = 0, id;
        while (p < len) {   /* unknown characters become U+FFFD */
            uint32_t cp;
            int w = rnn_utf8_decode(texts[i] + p, len - p, &cp);
            if (w <= 0) { fprintf(stderr, "langid: text %d is not valid UTF-8 at byte %lu\n", i + 1, (unsigned long)p); free(s); rnn_clf_free(c); return 1; }
            if (rnn_vocab_encode(c->vocab, texts[i] + p, (size_t)w, &id, 1, &one, NULL) == RNN_OK) { memcpy(s + q, texts[i] + p, (size_t)w); q += (size_t)w; }
            else { memcpy(s + q, "\xEF\xBF\xBD", 3); q += 3; unknown++; }
            p += (size_t)w;
        }
        if (c->cfg.num_classes > MAXC * 8 || rnn_clf_classify(c, s, q, probs) != RNN_OK) {
            fprintf(stderr, "langid: text %d: %s\n", i + 1, c->error);
            free(s);
            rnn_clf_free(c);
            return 1;
        }
        for (k = 1; k < c->cfg.num_classes; k++) if (probs[k] > probs[best]) best = k;
        printf("%s\t%s (%.1f%%)", texts[i], c->labels[best], 100 * probs[best]);
        if (unknown) printf("\t[%d character%s unknown to the model]", unknown, unknown > 1 ? "s" : "");
        printf("\n");
        free(s);
    }
    rnn_clf_free(c);
    return 0;
}

int main(int argc, char **argv) {
    cli_opt opts[] = {
        {"--data", NULL, CLI_STR, 0, 0, 0, "both", 0},
        {"--minutes", NULL, CLI_NUM, 0.01, 600, 2, NULL, 0},
        {"--out", "-o", CLI_STR, 0, 0, 0, "build", 0},
        {"--seed", NULL, CLI_INT, 0, 1e9, 1, NULL, 0},
        {"--per-language", NULL, CLI_INT, 50, 1e6, 6000, NULL, 0},
        {"--help", "-h", CLI_FLAG, 0, 0, 0, NULL, 0},
    };
    int nopt = (int)(sizeof opts / sizeof opts[0]), npos = 0, rc = 0;
    const char *pos[64], *data;
    struct stat st;
    if (argc >= 2 && !strcmp(argv[1], "classify")) {
        if (argc < 4) { fprintf(stderr, "usage: langid classify MODEL TEXT...\n"); return 2; }
        return classify(argv[2], argc - 3, (const char **)argv + 3);
    }
    if (cli_parse("langid", argc, argv, 1, opts, nopt, pos, 64, &npos)) return 2;
    if (cli_get(opts, nopt, "--help")->given) {
        printf("usage: langid [--data sentences|words|both] [--minutes M] [--out DIR] [--seed N] [--per-language N]\n"
               "       langid classify MODEL TEXT...\n"
               "  --minutes M        training time of each model (default 2)\n"
               "  --per-language N   at most N training texts of each language (default 6000), N/8 test texts\n");
        return 0;
    }
    if (npos) { fprintf(stderr, "langid: unexpected argument \"%s\" (see --help)\n", pos[0]); return 2; }
    data = cli_get(opts, nopt, "--data")->str;
    if (strcmp(data, "sentences") && strcmp(data, "words") && strcmp(data, "both")) {
        fprintf(stderr, "langid: --data must be sentences, words or both, not \"%s\"\n", data);
        return 2;
    }
    if (stat(cli_get(opts, nopt, "--out")->str, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "langid: --out %s is not a directory\n", cli_get(opts, nopt, "--out")->str);
        return 2;
    }
    if (strcmp(data, "words"))
        rc |= run("sentences", cli_get(opts, nopt, "--minutes")->num, cli_get(opts, nopt, "--out")->str,
                  (uint64_t)cli_get(opts, nopt, "--seed")->num, (int)cli_get(opts, nopt, "--per-language")->num);
    if (strcmp(data, "sentences"))
        rc |= run("words", cli_get(opts, nopt, "--minutes")->num, cli_get(opts, nopt, "--out")->str,
                  (uint64_t)cli_get(opts, nopt, "--seed")->num + 7, (int)cli_get(opts, nopt, "--per-language")->num);
    return rc;
}
