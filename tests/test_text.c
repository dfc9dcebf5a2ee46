/* tests/test_text.c - text: UTF-8, the char vocabulary, the batcher, pretrained vectors. */
#include "check.h"

/* Word vocabularies: cutting, case, ids by frequency, limits, unknown
   words, decoding, bad UTF-8, no allocation; Keras's padding. */
static void test_words(void) {
    static const char *texts[] = {
        "The cat sat. The cat, the dog!", "Don't stop: the DOG ran\xE2\x80\x94" "fast \xC3\x89T\xC3\x89 \xD0\x9C\xD0\x98\xD0\xA0",
    };   /* ... ran—fast ÉTÉ МИР */
    size_t lens[2], n = 0, off = 0;
    rnn_words w, w2;
    rnn_words_config cfg;
    int ids[32], ok, i;
    char out[128];
    long before;
    lens[0] = strlen(texts[0]); lens[1] = strlen(texts[1]);
    ok = rnn_words_build(&w, NULL, texts, lens, 2) == RNN_OK;
    /* "the" 4 times, ahead of cat 2, dog 2; then don't fast ran sat stop été мир once each, in byte order */
    ok &= rnn_words_size(&w) == 4 + 10 && !strcmp(w.words[RNN_PAD], "<pad>") && !strcmp(w.words[RNN_UNK], "<unk>") &&
          !strcmp(w.words[4], "the") && w.counts[4] == 4 && !strcmp(w.words[5], "cat") && !strcmp(w.words[6], "dog") &&
          !strcmp(w.words[7], "don't") && !strcmp(w.words[12], "\xC3\xA9t\xC3\xA9") && !strcmp(w.words[13], "\xD0\xBC\xD0\xB8\xD1\x80");
    check(ok, "words: punctuation dropped, apostrophe kept, lower-cased (Latin-1, Cyrillic), ids by count then bytes", 0);
    before = g_allocs;
    ok = rnn_words_encode(&w, "the Cat, a MIR\xE2\x80\x99s \xD0\x9C\xD0\x98\xD0\xA0", 25, ids, 32, &n, NULL) == RNN_OK && n == 5 &&
         ids[0] == 4 && ids[1] == 5 && ids[2] == RNN_UNK && ids[3] == RNN_UNK && ids[4] == 13 && g_allocs == before;
    check(ok, "words: encode maps unknown words to <unk>, allocates nothing", 0);
    ids[5] = RNN_PAD; ids[6] = 99;
    ok = rnn_words_decode(&w, ids, 7, out, sizeof out) == strlen("the cat <unk> <unk> \xD0\xBC\xD0\xB8\xD1\x80 <unk>") &&
         !strcmp(out, "the cat <unk> <unk> \xD0\xBC\xD0\xB8\xD1\x80 <unk>");
    ok &= rnn_words_decode(&w, ids, 2, out, 5) == 7 && !strcmp(out, "the ");
    check(ok, "words: decode joins with spaces, skips <pad>, an unknown id is <unk>, truncates with a NUL", 0);
    ok = rnn_words_encode(&w, "ok \xC3(", 5, ids, 32, &n, &off) == RNN_ERR_FORMAT && off == 3;
    {
        const char *bad[2] = {"fine", "ok \xC3("};
        size_t blen[2] = {4, 5};
        ok &= rnn_words_build(&w2, NULL, bad, blen, 2) == RNN_ERR_FORMAT && strstr(w2.error, "text 1") && strstr(w2.error, "byte 3");
    }
    check(ok, "words: invalid UTF-8 is named (text and byte)", 0);
    memset(&cfg, 0, sizeof cfg);
    cfg.max_words = 7; cfg.punct = RNN_PUNCT_SPLIT; cfg.keep_case = 1;
    ok = rnn_words_build(&w2, &cfg, texts, lens, 2) == RNN_OK && rnn_words_size(&w2) == 7 && !strcmp(w2.words[4], "The") &&
         !strcmp(w2.words[5], "cat") && !strcmp(w2.words[6], "the");   /* the three seen twice */
    ok &= rnn_words_encode(&w2, "The cat.", 8, ids, 32, &n, NULL) == RNN_OK && n == 3 && ids[0] == 4 && ids[1] == 5 &&
          ids[2] == RNN_UNK;   /* "." is a token, but not among the 3 kept */
    for (i = 4; i < 7; i++) ok &= w2.counts[i] == 2;
    rnn_words_free(&w2);
    cfg.max_words = 0; cfg.min_count = 2; cfg.punct = RNN_PUNCT_KEEP; cfg.keep_case = 0;
    ok &= rnn_words_build(&w2, &cfg, texts, lens, 2) == RNN_OK && rnn_words_size(&w2) == 4 + 1 &&
          !strcmp(w2.words[4], "the");   /* kept punctuation: "cat" and "cat," differ, only "the" is seen twice */
    rnn_words_free(&w2);
    cfg.max_words = 3;
    ok &= rnn_words_build(&w2, &cfg, texts, lens, 2) == RNN_ERR_INVALID_ARGUMENT;
    rnn_words_free(&w2);
    check(ok, "words: max_words, min_count, punctuation split and kept, case kept", 0);
    rnn_words_free(&w);
    {   /* Keras's pad_sequences: the last T tokens (or the first), from position 0 */
        static const int s0[5] = {4, 5, 6, 7, 8}, s1[2] = {9, 10}, s2[1] = {11};
        const int *seqs[3] = {s0, s1, s2};
        int lens3[3] = {5, 2, 1}, tok[3 * 3], len[3];
        static const int want_last[9] = {6, 9, 11, 7, 10, 0, 8, 0, 0}, want_first[9] = {4, 9, 11, 5, 10, 0, 6, 0, 0};
        rnn_pad_batch(seqs, lens3, 3, 3, RNN_KEEP_LAST, tok, len);
        ok = !memcmp(tok, want_last, sizeof tok) && len[0] == 3 && len[1] == 2 && len[2] == 1;
        rnn_pad_batch(seqs, lens3, 3, 3, RNN_KEEP_FIRST, tok, len);
        ok &= !memcmp(tok, want_first, sizeof tok) && len[0] == 3;
        check(ok, "pad_batch: keeps the last (or first) T tokens, pads after them, lengths", 0);
    }
}

static void test_text(void) {
    test_words();
    const char *text = "h\xC3\xA9llo w\xC3\xB6rld \xE2\x9C\x93\xF0\x9F\x98\x80!";   /* héllo wörld ✓😀! */
    rnn_vocab v;
    int ids[32], ok, i;
    size_t n = 0, off = 0, need;
    char out[64];
    ok = rnn_vocab_from_text(&v, text, strlen(text), NULL) == RNN_OK && rnn_vocab_size(&v) == 12;
    ok &= rnn_vocab_encode(&v, text, strlen(text), ids, 32, &n, NULL) == RNN_OK && n == 15;
    need = rnn_vocab_decode(&v, ids, n, out, sizeof out);
    ok &= need == strlen(text) && strcmp(out, text) == 0;
    for (i = 1; i < rnn_vocab_size(&v); i++) ok &= v.chars[i - 1] < v.chars[i];
    check(ok, "char vocabulary: UTF-8 round trip, ids in code point order", 0);
    need = rnn_vocab_decode(&v, ids, n, out, 5);
    ids[0] = 99;
    ok = need == strlen(text) && strlen(out) == 4 && rnn_vocab_decode(&v, ids, 1, out, 8) == 3 &&
         !strcmp(out, "\xEF\xBF\xBD");
    check(ok, "decode: truncates with a NUL, unknown id becomes U+FFFD", 0);
    ok = rnn_vocab_encode(&v, "hlo?", 4, ids, 32, &n, &off) == RNN_ERR_INVALID_ARGUMENT && off == 3;
    check(ok, "encode: a character not in the vocabulary names its offset", (double)off);
    rnn_vocab_free(&v);
    {
        static const char *bad[] = {"ab\xC3(", "x\xC0\xAFy", "\xED\xA0\x80", "ok\xF4\x90\x80\x80", "\xE2\x82"};
        static const size_t at[] = {2, 1, 0, 2, 0};
        ok = 1;
        for (i = 0; i < 5; i++) {
            off = 99;
            ok &= rnn_vocab_from_text(&v, bad[i], strlen(bad[i]), &off) == RNN_ERR_FORMAT && off == at[i];
        }
        check(ok, "invalid UTF-8 (cut, overlong, surrogate, > U+10FFFF) is refused at its offset", 0);
    }
    {
        int data[100], in[5 * 3], tg[5 * 3], w, fresh[8];
        rnn_batcher bt;
        for (i = 0; i < 100; i++) data[i] = i;
        ok = rnn_batcher_init(&bt, data, 100, 5, 3) == RNN_OK && bt.stream_len == 33;
        for (w = 0; w < 8; w++) {
            fresh[w] = rnn_batcher_next(&bt, in, tg, NULL);
            if (w == 1) ok &= in[0] == 5 && in[1] == 38 && in[2 * 3 + 2] == 66 + 5 + 2 && tg[2] == 72;
            if (w == 0) ok &= in[0] == 0 && in[1] == 33 && tg[0] == 1 && in[4 * 3 + 1] == 37;
        }
        ok &= fresh[0] == 1 && fresh[1] == 0 && fresh[5] == 0 && fresh[6] == 1 && bt.epoch == 1;
        ok &= rnn_batcher_init(&bt, data, 10, 5, 3) == RNN_ERR_INVALID_ARGUMENT;
        ok &= rnn_batcher_split(1000, 0.05f) == 950 && rnn_batcher_split(1000, 0) == 1000 &&
              rnn_batcher_split(7, 0.5f) == 4 && rnn_batcher_split(10, NAN) == 10;
        check(ok, "batcher: B streams, windows of T, targets shifted, epochs, validation split", 0);
    }
    {
        FILE *f = fopen("build/test-vectors.txt", "w");
        float w[3 * 3] = {0}, g[9];
        rnn_embedding e;
        const char *vocab[3] = {"a", "b", "c"};
        int loaded = 0;
        char err[128];
        e.vocab_size = 3; e.embed_size = 3; e.weight = w; e.grad = g; e.frozen = 0;
        if (f) { fputs("2 3\na 0.5 -1 2\nzz 1 1 1\nc 3 4 5\n", f); fclose(f); }
        ok = rnn_embedding_load_text(&e, "build/test-vectors.txt", vocab, &loaded, err, sizeof err) == RNN_OK &&
             loaded == 2 && w[0] == 0.5f && w[2] == 2 && w[3] == 0 && w[8] == 5;
        f = fopen("build/test-vectors.txt", "w");
        if (f) { fputs("a 1 2 3\nb 1 2\n", f); fclose(f); }
        ok &= rnn_embedding_load_text(&e, "build/test-vectors.txt", vocab, &loaded, err, sizeof err) == RNN_ERR_FORMAT &&
              strstr(err, ":2:") != NULL;
        f = fopen("build/test-vectors.txt", "w");
        if (f) { fputs("a 1 x 3\n", f); fclose(f); }
        ok &= rnn_embedding_load_text(&e, "build/test-vectors.txt", vocab, &loaded, err, sizeof err) == RNN_ERR_FORMAT;
        ok &= rnn_embedding_load_text(&e, "build/no-such-file", vocab, &loaded, err, sizeof err) == RNN_ERR_IO;
        check(ok, "pretrained vectors: loads known tokens, names a bad line, missing file", 0);
        /* the notes' recipe: unit rows, unknown rows 0, frozen; a failure changes nothing */
        f = fopen("build/test-vectors.txt", "w");
        if (f) { fputs("a 3 0 4\nzz 1 1 1\nc 0 0 0\n", f); fclose(f); }
        for (i = 0; i < 9; i++) w[i] = 7;
        ok = rnn_embedding_load_pretrained(&e, "build/test-vectors.txt", vocab, 1, &loaded, err, sizeof err) == RNN_OK &&
             loaded == 2 && fabsf(w[0] - 0.6f) < 1e-6f && w[1] == 0 && fabsf(w[2] - 0.8f) < 1e-6f && w[3] == 0 && w[4] == 0 &&
             w[5] == 0 && w[6] == 0 && w[8] == 0 && e.frozen == 1;
        f = fopen("build/test-vectors.txt", "w");
        if (f) { fputs("a 1 2 3\nb 1 2\n", f); fclose(f); }
        w[0] = 42;
        ok &= rnn_embedding_load_pretrained(&e, "build/test-vectors.txt", vocab, 1, &loaded, err, sizeof err) == RNN_ERR_FORMAT &&
              w[0] == 42 && w[2] == 0.8f;
        remove("build/test-vectors.txt");
        check(ok, "pretrained vectors, the notes' way: unit rows, unknown rows 0, frozen; a bad file changes nothing", 0);
    }
    {   /* a frozen registry entry: the optimizer leaves it */
        float v[2] = {1, 2}, g[2] = {0.5f, 0.5f}, u[1] = {3}, gu[1] = {1};
        rnn_param *reg = NULL, p;
        rnn_optimizer_config oc;
        rnn_optimizer *opt = NULL;
        memset(&p, 0, sizeof p);
        snprintf(p.name, sizeof p.name, "embedding.weight"); p.value = v; p.grad = g; p.count = 2; p.rows = 2;
        arrput(reg, p);
        snprintf(p.name, sizeof p.name, "head.bias"); p.value = u; p.grad = gu; p.count = 1; p.rows = 1;
        arrput(reg, p);
        memset(&oc, 0, sizeof oc);
        oc.kind = RNN_SGD; oc.lr = 0.1f;
        ok = rnn_params_freeze(reg, "embedding.weight", 1) == RNN_OK && rnn_params_freeze(reg, "nope", 1) == RNN_ERR_INVALID_ARGUMENT &&
             rnn_optimizer_create(&opt, &oc, reg) == RNN_OK && rnn_optimizer_step(opt, reg, NULL) == RNN_OK && v[0] == 1 &&
             v[1] == 2 && u[0] < 3;
        ok &= rnn_params_freeze(reg, "embedding.weight", 0) == RNN_OK && rnn_optimizer_step(opt, reg, NULL) == RNN_OK && v[0] < 1;
        check(ok, "params_freeze: the optimizer skips a frozen parameter, and updates it thawed", 0);
        rnn_optimizer_free(opt);
        arrfree(reg);
    }
    { /* bucketing: each sequence once an epoch, batches of like lengths, seeded */
        enum { N = 1000, BS = 16 };
        static int len[N], seen[N], idx[BS], twin[BS];
        rnn_buckets bk, bk2;
        rnn_rng rng;
        int i, ok = 1, got = 0, batches = 0;
        double spread = 0;
        rnn_rng_seed(&rng, 12);
        for (i = 0; i < N; i++) len[i] = 1 + (int)(rnn_rng_uniform(&rng) * 200);
        ok &= rnn_buckets_init(&bk, len, N, BS, 7) == RNN_OK && rnn_buckets_init(&bk2, len, N, BS, 7) == RNN_OK;
        while (bk.epoch == 0) {
            int n = rnn_buckets_next(&bk, idx), lo = 1 << 30, hi = 0, k;
            ok &= n >= 1 && n <= BS && n == rnn_buckets_next(&bk2, twin) && memcmp(idx, twin, n * sizeof(int)) == 0;
            for (k = 0; k < n; k++) {
                seen[idx[k]]++;
                lo = len[idx[k]] < lo ? len[idx[k]] : lo;
                hi = len[idx[k]] > hi ? len[idx[k]] : hi;
            }
            got += n; batches++;
            spread += hi - lo;
        }
        for (i = 0; i < N; i++) ok &= seen[i] == 1;
        ok &= got == N && spread / batches < 10;
        rnn_buckets_free(&bk2);
        ok &= rnn_buckets_init(&bk2, len, N, 0, 7) == RNN_ERR_INVALID_ARGUMENT;
        check(ok, "buckets: every sequence once an epoch, batches of like lengths (mean spread < 10 of 200), seeded",
              spread / batches);
        rnn_buckets_free(&bk);
        rnn_buckets_free(&bk2);
    }
}
