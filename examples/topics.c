/* examples/topics.c - the course notes' word-level classifiers on real
   text: the topic of a fortune.

   topics [--minutes M] [--out DIR] [--seed N] [--maxlen 50] [--max-words 20000]
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
#include <sys/stat.h>

#define DIR "/usr/share/games/fortunes/"
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
        snprintf(path, sizeof path, "%s%s", DIR, TOPICS[k]);
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

static int run(double minutes, const char *outdir, uint64_t seed, int maxlen, int max_words) {
    text *all = load_texts();
    rnn_words w;
    rnn_words_config wc;
    clf_set tr, te;
    bayes nb;
    int conf[NTOPIC * NTOPIC], k, ntrain = 0, *test_text = NULL;
    double nb_acc, acc[NMODEL];
    plot_point *curves[NMODEL] = {NULL, NULL, NULL};
    const char **texts = NULL;
    size_t *lens = NULL;
    ptrdiff_t i;
    char path[1100], title[200];
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
    printf("\ntest accuracy: naive Bayes %.1f%%", 100 * nb_acc);
    for (k = 0; k < NMODEL; k++) printf(", %s %.1f%%", KINDS[k], 100 * acc[k]);
    printf("\npictures: %s/topics-*-confusion.svg, %s\n", outdir, path);
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
        printf("usage: topics [--minutes M] [--out DIR] [--seed N] [--maxlen 50] [--max-words 20000]\n"
               "       topics classify MODEL TEXT...\n"
               "  --minutes M     training time of each of the three models (default 2)\n"
               "  --maxlen N      the last N words of each text (default 50)\n"
               "  --max-words N   the vocabulary's size, <pad> and <unk> included (default 20000)\n");
        return 0;
    }
    if (npos) { fprintf(stderr, "topics: unexpected argument \"%s\" (see --help)\n", pos[0]); return 2; }
    if (stat(cli_get(opts, nopt, "--out")->str, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "topics: --out %s is not a directory\n", cli_get(opts, nopt, "--out")->str);
        return 2;
    }
    return run(cli_get(opts, nopt, "--minutes")->num, cli_get(opts, nopt, "--out")->str,
               (uint64_t)cli_get(opts, nopt, "--seed")->num, (int)cli_get(opts, nopt, "--maxlen")->num,
               (int)cli_get(opts, nopt, "--max-words")->num);
}
