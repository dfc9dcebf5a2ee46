/* examples/topics.c - the course notes' word-level classifiers on real
   text: the topic of a fortune.

   topics [--minutes M] [--out DIR] [--seed N] [--maxlen 50] [--max-words 20000] [--vector-epochs 15]
       Reads ten of Debian's fortune files (computers, politics, science,
       art, startrek, law, education, food, love, sports: about 4,000
       fortunes), one fortune one text, its file its class; a fifth of the
       fortunes, chosen by a hash of their text, are the test set. Builds a
       word vocabulary from the training texts (the 20,000 most frequent
       words, <pad> = 0, <unk>), keeps each text's last 50 words (Keras's
       pad_sequences), and trains for M minutes each:
         - the notes' LSTM classifier: embedding 300, dropout 0.5, LSTM 128
           returning sequences, dropout, LSTM 128, dropout, dense; RMSprop;
         - the notes' self-attention classifier: embedding 300, Dense(60)
           for q and k, Keras's Attention()([q, k]), global average
           pooling, Dense(100) ReLU, dense; RMSprop;
         - a bidirectional GRU with attention pooling; Adam.
       The notes' models end in one sigmoid for two classes; here ten
       classes take a softmax. The baseline, computed here: multinomial
       naive Bayes over the same words. Prints each accuracy and confusion
       matrix, the words the attention models weighed most in a few test
       texts; writes DIR/topics-MODEL.safetensors, DIR/topics-MODEL-confusion.svg
       and DIR/topics-curves.svg.
       Then pretrained vectors the notes' way, made here since Debian
       packages none: 64-wide skip-gram vectors (negative sampling) from
       every English fortune file but the test fortunes, and the license
       texts, written to DIR/topics-vectors.txt (GloVe's text format) and
       loaded with rnn_embedding_load_pretrained; the bi-GRU trains M/2
       minutes with its embedding learned, pretrained and frozen, and
       pretrained and fine-tuned (DIR/topics-vectors-curves.svg).
   topics classify MODEL TEXT...
       The topic of each TEXT, with the model's probability.

   Build: cc -O2 $(pkg-config --cflags stb) topics.c -lm   (or: make)
   Every bad option or file gets a message and a non-zero exit status. */
#define _POSIX_C_SOURCE 200809L   /* clock_gettime */
#define RNN_IMPLEMENTATION
#define STB_DS_IMPLEMENTATION
#include "../rnn.h"
#include "cli.h"
#include "plot.h"
#include "corpus.h"
#include "clfkit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>

#define FORTUNES "/usr/share/games/fortunes/"
#define NTOPIC 10
static const char *TOPICS[NTOPIC] = {"computers", "politics", "science", "art", "startrek",
                                     "law", "education", "food", "love", "sports"};
static const char *CODES[NTOPIC] = {"comp", "pol", "sci", "art", "trek", "law", "edu", "food", "love", "spor"};

/* ---- the texts --------------------------------------------------------------- */

typedef struct { char *s; int topic, test; } text;
typedef struct { text **out; int topic; } sink;

static void add_fortune(void *user, const char *f, size_t n) {
    sink *k = (sink *)user;
    size_t len = 0;
    char *clean = corpus_fortune(f, n, &len), *u;
    text t;
    if (!clean) return;
    u = corpus_utf8(clean, len);   /* a few fortunes are Latin-1 */
    free(clean);
    if (!u || strlen(u) < 10) { free(u); return; }
    t.s = u; t.topic = k->topic; t.test = corpus_hash(u, strlen(u)) % 5 == 0;
    arrput(*k->out, t);
}

static text *load_texts(void) {
    text *all = NULL;
    int k;
    for (k = 0; k < NTOPIC; k++) {
        char path[256];
        sink s;
        s.out = &all; s.topic = k;
        snprintf(path, sizeof path, "%s%s", FORTUNES, TOPICS[k]);
        if (!corpus_fortunes("topics", path, add_fortune, &s)) {
            fprintf(stderr, "topics: make topics installs them (apt-get install fortunes)\n");
            return NULL;
        }
    }
    return all;
}

/* The texts of one side as word ids, each its last maxlen words; texts
   with no word in the vocabulary's sense are left out. */
static void encode_set(const rnn_words *w, const text *t, int test, int maxlen, clf_set *e, int **which) {
    ptrdiff_t i;
    int *buf = (int *)malloc(sizeof(int) * 4096);
    memset(e, 0, sizeof *e);
    e->T = maxlen;
    for (i = 0; i < arrlen(t); i++) e->n += t[i].test == test;
    e->ids = (int *)malloc(sizeof(int) * (size_t)e->n * maxlen);
    e->len = (int *)malloc(sizeof(int) * (size_t)e->n);
    e->lab = (int *)malloc(sizeof(int) * (size_t)e->n);
    e->n = 0;
    for (i = 0; i < arrlen(t); i++) {
        size_t n = 0;
        const int *seq = buf;
        int len, nn;
        if (t[i].test != test) continue;
        rnn_words_encode(w, t[i].s, strlen(t[i].s), buf, 4096, &n, NULL);
        if (n > 4096) n = 4096;
        if (!n) continue;
        nn = (int)n;
        rnn_pad_batch(&seq, &nn, 1, maxlen, RNN_KEEP_LAST, e->ids + (size_t)e->n * maxlen, &len);
        e->len[e->n] = len;
        e->lab[e->n] = t[i].topic;
        if (which) arrput(*which, (int)i);
        e->n++;
    }
    free(buf);
}

/* ---- naive Bayes over words ------------------------------------------------------ */

typedef struct { double *logp, prior[NTOPIC]; int V; } bayes;

/* Multinomial naive Bayes with add-one smoothing over the set's words
   (<unk> counted as a word). */
static void bayes_train(bayes *nb, const clf_set *e, int V) {
    double *count = (double *)calloc((size_t)NTOPIC * V, sizeof(double)), total[NTOPIC] = {0}, docs[NTOPIC] = {0};
    int i, t, k;
    nb->V = V;
    nb->logp = (double *)malloc(sizeof(double) * (size_t)NTOPIC * V);
    for (i = 0; i < e->n; i++) {
        docs[e->lab[i]]++;
        for (t = 0; t < e->len[i]; t++) {
            count[(size_t)e->lab[i] * V + e->ids[(size_t)i * e->T + t]]++;
            total[e->lab[i]]++;
        }
    }
    for (k = 0; k < NTOPIC; k++) {
        nb->prior[k] = log((docs[k] + 1) / (e->n + NTOPIC));
        for (i = 0; i < V; i++) nb->logp[(size_t)k * V + i] = log((count[(size_t)k * V + i] + 1) / (total[k] + V));
    }
    free(count);
}

static double bayes_accuracy(const bayes *nb, const clf_set *e, int *conf) {
    int i, t, k, right = 0;
    memset(conf, 0, sizeof(int) * NTOPIC * NTOPIC);
    for (i = 0; i < e->n; i++) {
        double best = -INFINITY;
        int arg = 0;
        for (k = 0; k < NTOPIC; k++) {
            double s = nb->prior[k];
            for (t = 0; t < e->len[i]; t++) s += nb->logp[(size_t)k * nb->V + e->ids[(size_t)i * e->T + t]];
            if (s > best) { best = s; arg = k; }
        }
        right += arg == e->lab[i];
        conf[e->lab[i] * NTOPIC + arg]++;
    }
    return e->n ? (double)right / e->n : 0;
}

/* ---- word vectors of our own: skip-gram with negative sampling ---------------- */

/* The notes load GloVe vectors; Debian packages none, so the example makes
   its own the word2vec way (Mikolov et al. 2013, skip-gram with negative
   sampling): a word's vector v is trained so that σ(v·u) is high for the
   output vectors u of the words around it (up to VEC_WINDOW away) and low
   for VEC_NEG words drawn by count^0.75. For one pair, with label y (1 for
   the context word, 0 for a drawn one) and g = lr·(y − σ(v·u)):
       u += g·v,   v += g·u   (v's step summed over the pair's targets).
   Frequent words are thinned as word2vec does (kept with probability
   √(t/f) + t/f, t = 1e-4). The text: every English fortune file but the
   test fortunes of the ten topics, and the license texts. */
#define VEC_DIM 64
#define VEC_WINDOW 5
#define VEC_NEG 5

typedef struct { char ***texts; } text_sink;

static void add_text(void *user, const char *f, size_t n) {
    text_sink *k = (text_sink *)user;
    char *u = corpus_utf8(f, n);
    if (u) arrput(*k->texts, u);
}

/* The texts to learn vectors from (malloc'd strings, a stb_ds array). */
static char **vector_texts(const text *all) {
    static const char *licenses = "/usr/share/common-licenses/";
    char **texts = NULL, path[600];
    text_sink s;
    struct dirent *d;
    DIR *dir;
    ptrdiff_t i;
    int k;
    s.texts = &texts;
    for (i = 0; i < arrlen(all); i++)   /* the ten topics: training fortunes only */
        if (!all[i].test) arrput(texts, corpus_utf8(all[i].s, strlen(all[i].s)));
    if ((dir = opendir(FORTUNES))) {         /* the other English fortune files, whole */
        while ((d = readdir(dir))) {
            struct stat st;
            size_t n = strlen(d->d_name);
            snprintf(path, sizeof path, "%s%s", FORTUNES, d->d_name);
            if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode) || (n > 4 && (!strcmp(d->d_name + n - 4, ".dat") ||
                                                                            !strcmp(d->d_name + n - 3, ".u8"))))
                continue;   /* links lead to other languages' files */
            for (k = 0; k < NTOPIC && strcmp(d->d_name, TOPICS[k]); k++) {}
            if (k == NTOPIC) corpus_fortunes("topics", path, add_text, &s);
        }
        closedir(dir);
    }
    if ((dir = opendir(licenses))) {
        while ((d = readdir(dir))) {
            size_t n = 0;
            char *t;
            snprintf(path, sizeof path, "%s%s", licenses, d->d_name);
            if (d->d_name[0] == '.' || !(t = corpus_slurp("topics", path, &n))) continue;
            add_text(&s, t, n);
            free(t);
        }
        closedir(dir);
    }
    return texts;
}

/* Trains VEC_DIM-wide vectors on the texts for `epochs` passes and writes
   them to path in the GloVe text format ("word v1 ... v64" a line; the
   vocabulary cut as the topic vocabulary is, words seen 3 times or more);
   prints the nearest words of a few. 0 on success. */
static int train_vectors(const text *all, const char *path, int epochs, uint64_t seed) {
    char **texts = vector_texts(all), tmp[1200];
    size_t *lens = NULL, total = 0, nt, i, n = 0, pos, bad;
    rnn_words vw;
    rnn_words_config wc;
    int *ids, *kept, *table, V, e, j, k, d;
    float *in, *out, *keep, lr0 = 0.025f;
    long pairs = 0;
    double t0 = clf_now();
    rnn_rng rng;
    FILE *f;
    nt = (size_t)arrlen(texts);
    for (i = 0; i < nt; i++) { arrput(lens, strlen(texts[i])); total += lens[i]; }
    memset(&wc, 0, sizeof wc);
    wc.min_count = 3;
    if (rnn_words_build(&vw, &wc, (const char *const *)texts, lens, (int)nt) != RNN_OK) {
        fprintf(stderr, "topics: vectors: %s\n", vw.error);
        return 1;
    }
    V = rnn_words_size(&vw);
    ids = (int *)malloc(sizeof(int) * (total + nt));
    for (i = 0; i < nt; i++) {   /* one stream, texts apart by -1, <unk> left out */
        size_t got = 0, w0 = n;
        rnn_words_encode(&vw, texts[i], lens[i], ids + n, total + nt - n, &got, &bad);
        for (pos = w0; pos < w0 + got; pos++)
            if (ids[pos] != RNN_UNK) ids[n++] = ids[pos];
        ids[n++] = -1;
    }
    /* negatives: a table of 2^20 ids, each as often as count^0.75 */
    table = (int *)malloc(sizeof(int) << 20);
    {
        double z = 0, c = 0;
        int w = RNN_WORDS_RESERVED;
        for (k = RNN_WORDS_RESERVED; k < V; k++) z += pow((double)vw.counts[k], 0.75);
        for (k = 0; k < (1 << 20); k++) {
            while (w < V - 1 && (c + pow((double)vw.counts[w], 0.75)) / z < (k + 0.5) / (1 << 20))
                c += pow((double)vw.counts[w++], 0.75);
            table[k] = w;
        }
    }
    keep = (float *)malloc(sizeof(float) * (size_t)V);
    {
        double words = 0;
        for (k = 0; k < V; k++) words += (double)vw.counts[k];
        for (k = 0; k < V; k++) {
            double fr = vw.counts[k] / words, t = 1e-4;
            keep[k] = fr > 0 ? (float)(sqrt(t / fr) + t / fr) : 1;
        }
    }
    in = (float *)malloc(sizeof(float) * (size_t)V * VEC_DIM);
    out = (float *)calloc((size_t)V * VEC_DIM, sizeof(float));
    rnn_rng_seed(&rng, seed);
    for (k = 0; k < V * VEC_DIM; k++) in[k] = (rnn_rng_uniform(&rng) - 0.5f) / VEC_DIM;
    kept = (int *)malloc(sizeof(int) * (n + 1));
    for (e = 0; e < epochs; e++) {
        size_t m = 0;
        for (pos = 0; pos < n; pos++)   /* thinned before the windows are taken, as word2vec does */
            if (ids[pos] < 0 || rnn_rng_uniform(&rng) < keep[ids[pos]]) kept[m++] = ids[pos];
        for (pos = 0; pos < m; pos++) {
            int c = kept[pos], b = 1 + (int)(rnn_rng_u64(&rng) % VEC_WINDOW);
            float lr = lr0 * (1 - (float)(e + (double)pos / m) / epochs), *v;
            if (c < 0) continue;
            v = in + (size_t)c * VEC_DIM;
            if (lr < lr0 * 1e-4f) lr = lr0 * 1e-4f;
            for (j = -b; j <= b; j++) {
                float step[VEC_DIM] = {0};
                size_t at = pos + (size_t)(ptrdiff_t)j;
                if (!j || (j < 0 && pos < (size_t)-j) || at >= m || kept[at] < 0) continue;
                for (k = 0; k <= VEC_NEG; k++) {
                    int target = k ? table[rnn_rng_u64(&rng) >> 44] : kept[at];
                    float *u = out + (size_t)target * VEC_DIM, dot = 0, g;
                    if (k && target == kept[at]) continue;
                    for (d = 0; d < VEC_DIM; d++) dot += v[d] * u[d];
                    g = lr * ((k == 0) - 1 / (1 + expf(-dot)));
                    for (d = 0; d < VEC_DIM; d++) { step[d] += g * u[d]; u[d] += g * v[d]; }
                }
                for (d = 0; d < VEC_DIM; d++) v[d] += step[d];
                pairs++;
            }
        }
    }
    printf("topics: word vectors: %d words from %lu texts (%lu words of them), %d epochs, %ld pairs, %.0f s\n", V,
           (unsigned long)nt, (unsigned long)n, epochs, pairs, clf_now() - t0);
    {   /* the nearest words by cosine, to see that the vectors mean something */
        static const char *probe[] = {"computer", "war", "love", "food", "law"};
        for (j = 0; j < 5; j++) {
            int at = 0, best[4] = {-1, -1, -1, -1}, q;
            float cos[4] = {-2, -2, -2, -2}, *a;
            double na = 0;
            size_t m = 0;
            if (rnn_words_encode(&vw, probe[j], strlen(probe[j]), &at, 1, &m, NULL) != RNN_OK || at == RNN_UNK) continue;
            a = in + (size_t)at * VEC_DIM;
            for (d = 0; d < VEC_DIM; d++) na += a[d] * a[d];
            for (q = RNN_WORDS_RESERVED; q < V; q++) {
                float *b = in + (size_t)q * VEC_DIM, s;
                double dot = 0, nb = 0;
                if (q == at) continue;
                for (d = 0; d < VEC_DIM; d++) { dot += a[d] * b[d]; nb += b[d] * b[d]; }
                s = (float)(dot / sqrt(na * nb + 1e-30));
                for (k = 3; k >= 0 && s > cos[k]; k--)
                    if (k < 3) { cos[k + 1] = cos[k]; best[k + 1] = best[k]; }
                if (k < 3) { cos[k + 1] = s; best[k + 1] = q; }
            }
            printf("  nearest to %-9s", probe[j]);
            for (k = 0; k < 4 && best[k] >= 0; k++) printf(" %s (%.2f)", vw.words[best[k]], cos[k]);
            printf("\n");
        }
    }
    snprintf(tmp, sizeof tmp, "%s.tmp", path);   /* written beside, then renamed over */
    if ((f = fopen(tmp, "w"))) {
        for (k = RNN_WORDS_RESERVED; k < V; k++) {
            fputs(vw.words[k], f);
            for (d = 0; d < VEC_DIM; d++) fprintf(f, " %.6g", in[(size_t)k * VEC_DIM + d]);
            fputc('\n', f);
        }
    }
    e = !f || fclose(f) != 0 || rename(tmp, path) != 0;
    if (e) { fprintf(stderr, "topics: cannot write %s\n", path); remove(tmp); }
    for (i = 0; i < nt; i++) free(texts[i]);
    arrfree(texts); arrfree(lens);
    free(ids); free(kept); free(table); free(keep); free(in); free(out);
    rnn_words_free(&vw);
    return e;
}

/* ---- the models ------------------------------------------------------------------ */

enum { LSTM_NOTES, SELF_ATTENTION, BIGRU, NMODEL };
static const char *KINDS[NMODEL] = {"lstm", "self-attention", "bi-gru"};
static const char *NAMES[NMODEL] = {"the notes' LSTM (RMSprop)", "the notes' self-attention (RMSprop)",
                                    "bi-GRU + attention pooling (Adam)"};

static rnn_clf *make_model(int kind, const rnn_words *w, int maxlen, uint64_t seed, rnn_optimizer **opt) {
    rnn_clf_config cfg;
    rnn_optimizer_config oc;
    rnn_clf *c = NULL;
    memset(&cfg, 0, sizeof cfg);
    memset(&oc, 0, sizeof oc);
    cfg.vocab_size = rnn_words_size(w); cfg.num_classes = NTOPIC; cfg.max_len = maxlen;
    oc.clip_norm = 5;
    if (kind == LSTM_NOTES) {
        cfg.embed_size = 300; cfg.cell = RNN_LSTM; cfg.hidden_size = 128; cfg.num_layers = 2; cfg.pool = RNN_POOL_LAST;
        cfg.dropout = 0.5f;
        oc.kind = RNN_RMSPROP; oc.lr = 1e-3f;
    } else if (kind == SELF_ATTENTION) {
        cfg.embed_size = 300; cfg.self_attention = 1; cfg.attention_size = 60; cfg.pool = RNN_POOL_MEAN;
        cfg.dense_size = 100; cfg.dropout = 0.5f;
        oc.kind = RNN_RMSPROP; oc.lr = 1e-3f;
    } else {
        cfg.embed_size = 64; cfg.cell = RNN_GRU; cfg.hidden_size = 64; cfg.bidirectional = 1;
        cfg.pool = RNN_POOL_ATTENTION; cfg.dropout = 0.3f;
        oc.lr = 3e-3f;
    }
    if (rnn_clf_create(&c, &cfg, seed) != RNN_OK || rnn_clf_set_words(c, w) != RNN_OK ||
        rnn_clf_set_labels(c, TOPICS) != RNN_OK || rnn_optimizer_create(opt, &oc, c->params) != RNN_OK) {
        fprintf(stderr, "topics: cannot set up the %s model\n", KINDS[kind]);
        rnn_clf_free(c);
        return NULL;
    }
    return c;
}

/* The three words of a test text the model weighed most: attention
   pooling's weights, or the attention each word received from all the
   self-attention's queries. */
static void weighed_words(rnn_clf *c, const rnn_words *w, const clf_set *e, int i, const char *text) {
    float probs[NTOPIC], weight[512];
    int T = e->len[i], t, j, k, best = 0, top[3] = {-1, -1, -1};
    const int *ids = e->ids + (size_t)i * e->T;
    if (T > 512 || rnn_clf_predict(c, ids, &T, T, 1, probs) != RNN_OK) return;
    for (t = 0; t < T; t++) {
        weight[t] = 0;
        if (c->pool_weights) weight[t] = c->pool_weights[t];
        else if (c->attn_weights)
            for (j = 0; j < T; j++) weight[t] += c->attn_weights[(size_t)j * T + t] / T;
    }
    for (k = 0; k < 3 && k < T; k++) {
        int arg = -1;
        for (t = 0; t < T; t++)
            if ((arg < 0 || weight[t] > weight[arg]) && t != top[0] && t != top[1]) arg = t;
        top[k] = arg;
    }
    for (k = 1; k < NTOPIC; k++) if (probs[k] > probs[best]) best = k;
    printf("    \"%.70s%s\"\n      -> %s %.0f%% (true: %s); weighed most:", text, strlen(text) > 70 ? "..." : "",
           TOPICS[best], 100 * probs[best], TOPICS[e->lab[i]]);
    for (k = 0; k < 3 && top[k] >= 0; k++) printf(" %s (%.2f)", w->words[ids[top[k]]], weight[top[k]]);
    printf("\n");
}

static int run(double minutes, const char *outdir, uint64_t seed, int maxlen, int max_words, int vector_epochs) {
    text *all = load_texts();
    rnn_words w;
    rnn_words_config wc;
    clf_set tr, te;
    bayes nb;
    int conf[NTOPIC * NTOPIC], k, ntrain = 0, *test_text = NULL;
    double nb_acc, acc[NMODEL], vec_acc[3];
    plot_point *curves[NMODEL] = {NULL, NULL, NULL}, *vcurves[3] = {NULL, NULL, NULL};
    const char **texts = NULL;
    size_t *lens = NULL;
    ptrdiff_t i;
    char path[1100], title[200], vpath[1100];
    plot p;
    if (!all) return 1;
    for (i = 0; i < arrlen(all); i++)
        if (!all[i].test) { arrput(texts, all[i].s); arrput(lens, strlen(all[i].s)); ntrain++; }
    memset(&wc, 0, sizeof wc);
    wc.max_words = max_words;
    if (rnn_words_build(&w, &wc, texts, lens, ntrain) != RNN_OK) { fprintf(stderr, "topics: %s\n", w.error); return 1; }
    arrfree(texts); arrfree(lens);
    encode_set(&w, all, 0, maxlen, &tr, NULL);
    encode_set(&w, all, 1, maxlen, &te, &test_text);
    printf("topics: %d fortunes in %d topics, %d train and %d test (whole fortunes), %d words (ids, <pad> and <unk> "
           "included), the last %d words of each\n", (int)arrlen(all), NTOPIC, tr.n, te.n, rnn_words_size(&w), maxlen);
    bayes_train(&nb, &tr, rnn_words_size(&w));
    nb_acc = bayes_accuracy(&nb, &te, conf);
    printf("  %-15s test accuracy %.1f%%\n", "naive Bayes", 100 * nb_acc);
    print_confusion(TOPICS, CODES, NTOPIC, conf, NTOPIC);
    snprintf(path, sizeof path, "%s/topics-bayes-confusion.svg", outdir);
    snprintf(title, sizeof title, "topics, naive Bayes over words: %.1f%% right", 100 * nb_acc);
    plot_confusion("topics", path, title, "topic", TOPICS, CODES, NTOPIC, conf, NTOPIC);
    for (k = 0; k < NMODEL; k++) {
        rnn_optimizer *opt = NULL;
        rnn_clf *c = make_model(k, &w, maxlen, seed + (uint64_t)k, &opt);
        long steps = 0;
        double secs = 0;
        if (!c) return 1;
        printf("  %-15s %ld parameters: %s\n", KINDS[k], clf_params(c), NAMES[k]);
        fflush(stdout);
        if (clf_train_loop("topics", KINDS[k], c, opt, &tr, &te, 32, minutes, seed, &curves[k], &steps, &secs)) return 1;
        acc[k] = clf_accuracy("topics", c, &te, te.n, conf, NTOPIC);
        printf("  %-15s test accuracy %.1f%% after %ld steps, %.0f s (%.0f texts/s)\n", KINDS[k], 100 * acc[k], steps, secs,
               secs > 0 ? steps * 32 / secs : 0);
        print_confusion(TOPICS, CODES, NTOPIC, conf, NTOPIC);
        snprintf(path, sizeof path, "%s/topics-%s-confusion.svg", outdir, KINDS[k]);
        snprintf(title, sizeof title, "topics, %s: %.1f%% right", NAMES[k], 100 * acc[k]);
        plot_confusion("topics", path, title, "topic", TOPICS, CODES, NTOPIC, conf, NTOPIC);
        if (k != LSTM_NOTES) {
            int shown = 0;
            printf("  the words %s weighed most, in test texts:\n", KINDS[k]);
            for (i = 0; i < te.n && shown < 3; i++)
                if (te.len[i] >= 8 && te.len[i] <= 30) { weighed_words(c, &w, &te, (int)i, all[test_text[i]].s); shown++; }
        }
        snprintf(path, sizeof path, "%s/topics-%s.safetensors", outdir, KINDS[k]);
        if (rnn_clf_save(c, NULL, path) != RNN_OK) fprintf(stderr, "topics: %s\n", c->error);
        rnn_optimizer_free(opt);
        rnn_clf_free(c);
    }
    snprintf(path, sizeof path, "%s/topics-curves.svg", outdir);
    {
        double xmax = 1, lo = 0;
        for (k = 0; k < NMODEL; k++) xmax = plot_xmax(curves[k], (int)arrlen(curves[k]), xmax);
        if (plot_curves(&p, "topics", path, "the topic of a fortune: test accuracy while training", xmax, lo, 1, "%.0f%%", 100)) {
            snprintf(title, sizeof title, "naive Bayes %.1f%%", 100 * nb_acc);
            plot_baseline(&p, nb_acc, title);
            for (k = 0; k < NMODEL; k++) plot_line(&p, curves[k], (int)arrlen(curves[k]), NAMES[k]);
            plot_close(&p);
        }
    }
    /* pretrained vectors, the notes' recipe, on the bi-GRU (its embedding is
       VEC_DIM wide): learned from the start, pretrained and frozen,
       pretrained and fine-tuned; half the minutes each */
    snprintf(vpath, sizeof vpath, "%s/topics-vectors.txt", outdir);
    if (train_vectors(all, vpath, vector_epochs, seed)) return 1;
    for (k = 0; k < 3; k++) {
        static const char *how[3] = {"learned", "frozen", "fine-tuned"};
        rnn_optimizer *opt = NULL;
        rnn_clf *c = make_model(BIGRU, &w, maxlen, seed + BIGRU, &opt);
        long steps = 0;
        double secs = 0;
        int loaded = 0;
        char err[300];
        if (!c) return 1;
        if (k > 0 && rnn_embedding_load_pretrained(&c->embedding, vpath, (const char *const *)w.words, 1, &loaded, err,
                                                   sizeof err) != RNN_OK) {
            fprintf(stderr, "topics: %s\n", err);
            return 1;
        }
        rnn_params_freeze(c->params, "embedding.weight", k == 1);
        c->embedding.frozen = k == 1;
        if (k == 1) printf("  pretrained vectors for %d of the %d words (the others 0)\n", loaded, rnn_words_size(&w));
        if (clf_train_loop("topics", how[k], c, opt, &tr, &te, 32, minutes / 2, seed, &vcurves[k], &steps, &secs)) return 1;
        vec_acc[k] = clf_accuracy("topics", c, &te, te.n, NULL, 0);
        printf("  bi-gru, %-10s embedding: test accuracy %.1f%% after %ld steps\n", how[k], 100 * vec_acc[k], steps);
        rnn_optimizer_free(opt);
        rnn_clf_free(c);
    }
    snprintf(path, sizeof path, "%s/topics-vectors-curves.svg", outdir);
    {
        static const char *label[3] = {"embedding learned", "pretrained vectors, frozen", "pretrained vectors, fine-tuned"};
        double xmax = 1;
        for (k = 0; k < 3; k++) xmax = plot_xmax(vcurves[k], (int)arrlen(vcurves[k]), xmax);
        if (plot_curves(&p, "topics", path, "bi-GRU: our own skip-gram vectors, test accuracy while training", xmax, 0, 1,
                        "%.0f%%", 100)) {
            snprintf(title, sizeof title, "naive Bayes %.1f%%", 100 * nb_acc);
            plot_baseline(&p, nb_acc, title);
            for (k = 0; k < 3; k++) plot_line(&p, vcurves[k], (int)arrlen(vcurves[k]), label[k]);
            plot_close(&p);
        }
        for (k = 0; k < 3; k++) arrfree(vcurves[k]);
    }
    snprintf(path, sizeof path, "%s/topics-curves.svg", outdir);

    printf("\ntest accuracy: naive Bayes %.1f%%", 100 * nb_acc);
    for (k = 0; k < NMODEL; k++) printf(", %s %.1f%%", KINDS[k], 100 * acc[k]);
    printf("\nbi-gru for %g minutes with its embedding learned %.1f%%, pretrained and frozen %.1f%%, fine-tuned %.1f%%",
           minutes / 2, 100 * vec_acc[0], 100 * vec_acc[1], 100 * vec_acc[2]);
    printf("\npictures: %s/topics-*-confusion.svg, %s, %s/topics-vectors-curves.svg; vectors: %s\n", outdir, path, outdir,
           vpath);
    for (k = 0; k < NMODEL; k++) arrfree(curves[k]);
    for (i = 0; i < arrlen(all); i++) free(all[i].s);
    arrfree(all);
    arrfree(test_text);
    free(nb.logp);
    clf_set_free(&tr); clf_set_free(&te);
    rnn_words_free(&w);
    return 0;
}

/* topics classify MODEL TEXT... */
static int classify(const char *model, int n, const char **texts) {
    rnn_clf *c = NULL;
    char err[256];
    float probs[256];
    int i, k, rc = 0;
    if (rnn_clf_load(&c, NULL, model, err, sizeof err) != RNN_OK) { fprintf(stderr, "topics: %s\n", err); return 1; }
    if (!c->words || !c->labels || c->cfg.num_classes > 256) {
        fprintf(stderr, "topics: %s is not a word-level classifier of this example\n", model);
        rnn_clf_free(c);
        return 1;
    }
    for (i = 0; i < n; i++) {
        int best = 0;
        if (rnn_clf_classify(c, texts[i], strlen(texts[i]), probs) != RNN_OK) {
            fprintf(stderr, "topics: \"%s\": %s\n", texts[i], c->error);
            rc = 1;
            continue;
        }
        for (k = 1; k < c->cfg.num_classes; k++) if (probs[k] > probs[best]) best = k;
        printf("%s\t%s (%.1f%%)\n", texts[i], c->labels[best], 100 * probs[best]);
    }
    rnn_clf_free(c);
    return rc;
}

int main(int argc, char **argv) {
    cli_opt opts[] = {
        {"--minutes", NULL, CLI_NUM, 0.01, 600, 2, NULL, 0},
        {"--out", "-o", CLI_STR, 0, 0, 0, "build", 0},
        {"--seed", NULL, CLI_INT, 0, 1e9, 1, NULL, 0},
        {"--maxlen", NULL, CLI_INT, 1, 4096, 50, NULL, 0},
        {"--max-words", NULL, CLI_INT, 5, 1e7, 20000, NULL, 0},
        {"--vector-epochs", NULL, CLI_INT, 1, 1000, 15, NULL, 0},
        {"--help", "-h", CLI_FLAG, 0, 0, 0, NULL, 0},
    };
    int nopt = (int)(sizeof opts / sizeof opts[0]), npos = 0;
    const char *pos[8];
    struct stat st;
    if (argc >= 2 && !strcmp(argv[1], "classify")) {
        if (argc < 4) { fprintf(stderr, "usage: topics classify MODEL TEXT...\n"); return 2; }
        return classify(argv[2], argc - 3, (const char **)argv + 3);
    }
    if (cli_parse("topics", argc, argv, 1, opts, nopt, pos, 8, &npos)) return 2;
    if (cli_get(opts, nopt, "--help")->given) {
        printf("usage: topics [--minutes M] [--out DIR] [--seed N] [--maxlen 50] [--max-words 20000] [--vector-epochs 15]\n"
               "       topics classify MODEL TEXT...\n"
               "  --minutes M         training time of each of the three models (default 2; M/2 for each\n"
               "                      of the three runs with pretrained vectors)\n"
               "  --maxlen N          the last N words of each text (default 50)\n"
               "  --max-words N       the vocabulary's size, <pad> and <unk> included (default 20000)\n"
               "  --vector-epochs N   passes of skip-gram over the texts for the vectors (default 15)\n");
        return 0;
    }
    if (npos) { fprintf(stderr, "topics: unexpected argument \"%s\" (see --help)\n", pos[0]); return 2; }
    if (stat(cli_get(opts, nopt, "--out")->str, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "topics: --out %s is not a directory\n", cli_get(opts, nopt, "--out")->str);
        return 2;
    }
    return run(cli_get(opts, nopt, "--minutes")->num, cli_get(opts, nopt, "--out")->str,
               (uint64_t)cli_get(opts, nopt, "--seed")->num, (int)cli_get(opts, nopt, "--maxlen")->num,
               (int)cli_get(opts, nopt, "--max-words")->num, (int)cli_get(opts, nopt, "--vector-epochs")->num);
}
