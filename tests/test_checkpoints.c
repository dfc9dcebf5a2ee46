/* tests/test_checkpoints.c - checkpoints: safetensors reading and writing, the LM adapter. */
#include "check.h"

static unsigned char *read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    unsigned char *b;
    long len;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END); len = ftell(f); fseek(f, 0, SEEK_SET);
    b = (unsigned char *)malloc((size_t)len + 1);
    *n = fread(b, 1, (size_t)len, f);
    fclose(f);
    return b;
}

/* Rewrites the crc32 digits of a file image after a test edits it. */
static void fix_crc(unsigned char *b, size_t n) {
    uint64_t h = 0;
    int k;
    char *at, num[16];
    for (k = 7; k >= 0; k--) h = h << 8 | b[k];
    at = strstr((char *)b + 8, "\"crc32\":\"");
    if (!at) return;
    at += 9;
    memcpy(at, "00000000", 8);
    sprintf(num, "%08x", (unsigned)rnn_crc32(rnn_crc32(0, b + 8, (size_t)h), b + 8 + h, n - 8 - (size_t)h));
    memcpy(at, num, 8);
}

/* A safetensors image from a header text and data bytes. */
static size_t make_st(unsigned char *out, const char *header, size_t datalen) {
    size_t h = strlen(header), i;
    for (i = 0; i < 8; i++) out[i] = (unsigned char)((uint64_t)h >> (8 * i));
    memcpy(out + 8, header, h);
    memset(out + 8 + h, 0, datalen);
    return 8 + h + datalen;
}

static rnn_status load_bytes(const unsigned char *b, size_t n, char *err) {
    rnn_lm *m = NULL;
    rnn_optimizer *o = NULL;
    rnn_status st = rnn_lm_load_memory(&m, &o, b, n, err, 200);
    rnn_lm_free(m);
    rnn_optimizer_free(o);
    return st;
}

/* A word-level language model: its words go into the checkpoint and come
   back; a char vocabulary replaces them (and the other way round). */
static void test_lm_words(void) {
    static const char *texts[] = {"the cat sat on the mat .\nthe dog ran ."};
    const char *path = "build/test-lm-words.safetensors";
    size_t len = strlen(texts[0]);
    rnn_words w;
    rnn_words_config wc;
    rnn_vocab v;
    rnn_lm_config lc;
    rnn_lm *m = NULL, *m2 = NULL;
    rnn_lm_state *s1 = NULL, *s2 = NULL;
    char err[200];
    int ok, i;
    memset(&wc, 0, sizeof wc);
    wc.punct = RNN_PUNCT_SPLIT; wc.keep_case = 1; wc.min_count = 2;
    ok = rnn_words_build(&w, &wc, texts, &len, 1) == RNN_OK;
    memset(&lc, 0, sizeof lc);
    lc.vocab_size = rnn_words_size(&w); lc.embed_size = 4; lc.hidden_size = 6; lc.cell = RNN_GRU;
    ok &= rnn_lm_create(&m, &lc, 5) == RNN_OK && rnn_lm_set_words(m, &w) == RNN_OK && m->words && !m->vocab;
    ok &= rnn_lm_save(m, NULL, path) == RNN_OK && rnn_lm_load(&m2, NULL, path, err, sizeof err) == RNN_OK && m2->words &&
          !m2->vocab && rnn_words_size(m2->words) == rnn_words_size(&w) && m2->words->cfg.keep_case == 1 &&
          m2->words->cfg.min_count == 2 && m2->words->cfg.punct == RNN_PUNCT_SPLIT;
    for (i = 0; ok && i < rnn_words_size(&w); i++) ok &= !strcmp(m2->words->words[i], w.words[i]);
    ok &= m2 && rnn_lm_state_create(m, &s1) == RNN_OK && rnn_lm_state_create(m2, &s2) == RNN_OK &&
          !memcmp(rnn_lm_step(m, s1, RNN_EOS), rnn_lm_step(m2, s2, RNN_EOS), sizeof(float) * (size_t)lc.vocab_size);
    check(ok, "a word-level LM: its words and their cutting options saved and loaded, the same logits", 0);
    ok = rnn_lm_set_words(m, NULL) == RNN_ERR_INVALID_ARGUMENT && said(m->error, "vocab_size");
    rnn_vocab_from_text(&v, "abcdef", 6, NULL);   /* as many characters as there are words */
    ok &= rnn_vocab_size(&v) == lc.vocab_size && rnn_lm_set_vocab(m, &v) == RNN_OK && m->vocab && !m->words;
    ok &= rnn_lm_set_words(m, &w) == RNN_OK && m->words && !m->vocab;
    check(ok, "an LM reads characters or words: setting one drops the other; a wrong size is named", 0);
    rnn_lm_state_free(s1); rnn_lm_state_free(s2);
    rnn_lm_free(m); rnn_lm_free(m2);
    rnn_words_free(&w); rnn_vocab_free(&v);
    remove(path);
}

/* PyTorch's word_language_model (tied LSTM; ReLU RNN) and char-rnn.pytorch
   (GRU over string.printable), saved whole and converted by torch2rnn.py's
   command line (tools/torch_lm_fixtures.py): rnn.h steps to PyTorch's
   logits, with the words moved to rnn.h's reserved ids. */
static void test_lm_torch_projects(void) {
    static const char *tags[3] = {"words_lstm", "words_relu", "chars_gru"};
    int k;
    for (k = 0; k < 3; k++) {
        char path[96], err[256], name[160];
        rnn_lm *m = NULL;
        rnn_lm_state *s = NULL;
        rnn_st_file f;
        const rnn_st_tensor *tt;
        float toks[16], *want = NULL;
        int nt = 0, dims[2], i, ok;
        double worst = 0;
        snprintf(path, sizeof path, "tests/data/pt_wlm_%s.safetensors", tags[k]);
        memset(&f, 0, sizeof f);
        ok = rnn_lm_load(&m, NULL, path, err, sizeof err) == RNN_OK && rnn_st_open(&f, path) == RNN_OK;
        if (!ok) printf("       %s: %s\n", path, err);
        if (ok && (tt = rnn_st_find(&f, "test.tokens")) && tt->ndim == 1 && tt->dims[0] <= 16) {
            nt = (int)tt->dims[0];
            dims[0] = nt; dims[1] = m->cfg.vocab_size;
            want = (float *)malloc(sizeof(float) * (size_t)nt * (size_t)m->cfg.vocab_size);
            ok &= rnn_st_read(&f, "test.tokens", 1, dims, toks) == RNN_OK && rnn_st_read(&f, "test.logits", 2, dims, want) == RNN_OK &&
                  rnn_lm_state_create(m, &s) == RNN_OK;
            for (i = 0; ok && i < nt; i++) {
                const float *lg = rnn_lm_step(m, s, (int)toks[i]);
                double e = lg ? worst_err(lg, want + (size_t)i * m->cfg.vocab_size, (size_t)m->cfg.vocab_size) : 1;
                if (e > worst) worst = e;
            }
        } else ok = 0;
        if (ok && k < 2)   /* data.py's <unk> and <eos> took ids 1 and 3 */
            ok &= m->words && !m->vocab && !strcmp(m->words->words[RNN_UNK], "<unk>") && m->words->cfg.keep_case &&
                  m->words->cfg.punct == RNN_PUNCT_KEEP && m->cfg.cell == (k ? RNN_RELU : RNN_LSTM);
        if (ok && k == 2) ok &= m->vocab && rnn_vocab_size(m->vocab) == 100 && m->cfg.cell == RNN_GRU;
        snprintf(name, sizeof name, "torch2rnn.py: PyTorch's %s (saved whole) steps to its logits",
                 k == 0 ? "word_language_model, tied LSTM" : k == 1 ? "word_language_model, ReLU RNN" : "char-rnn.pytorch GRU");
        check(ok && worst <= 1e-5, name, worst);
        free(want);
        rnn_lm_state_free(s);
        rnn_lm_free(m);
        rnn_st_close(&f);
    }
}

static void test_checkpoints(void) {
    const char *text = "to be or not to be, that is the question. ";
    rnn_vocab v;
    rnn_lm_config lc;
    rnn_optimizer_config oc;
    rnn_lm *m, *m2 = NULL;
    rnn_optimizer *o, *o2 = NULL;
    int ids[64], in[8 * 2], tg[8 * 2], i, ok, step;
    size_t n = 0;
    float la[5], lb[5];
    char err[200];
    rnn_rng r;
    test_lm_words();
    test_lm_torch_projects();
    rnn_vocab_from_text(&v, text, strlen(text), NULL);
    rnn_vocab_encode(&v, text, strlen(text), ids, 64, &n, NULL);
    memset(&lc, 0, sizeof lc);
    lc.vocab_size = rnn_vocab_size(&v); lc.embed_size = 5; lc.hidden_size = 7; lc.num_layers = 2;
    lc.dropout = 0.25f;
    memset(&oc, 0, sizeof oc);
    oc.lr = 0.01f; oc.clip_norm = 5;
    rnn_lm_create(&m, &lc, 1);
    rnn_lm_set_vocab(m, &v);
    rnn_optimizer_create(&o, &oc, m->params);
    rnn_rng_seed(&r, 2);
    for (i = 0; i < 16; i++) { in[i] = ids[i % 40]; tg[i] = ids[(i + 1) % 40]; }
    for (step = 0; step < 10; step++) rnn_lm_train_step(m, o, in, tg, 8, 2, NULL);
    ok = rnn_lm_save(m, o, "build/test-ckpt.safetensors") == RNN_OK;
    for (step = 0; step < 5; step++) rnn_lm_train_step(m, o, in, tg, 8, 2, &la[step]);
    ok &= rnn_lm_load(&m2, &o2, "build/test-ckpt.safetensors", err, sizeof err) == RNN_OK && o2 != NULL;
    if (!ok) printf("       %s\n", err);
    if (ok) {
        ok &= m2->vocab && rnn_vocab_size(m2->vocab) == rnn_vocab_size(&v) &&
              memcmp(m2->vocab->chars, v.chars, sizeof(uint32_t) * (size_t)rnn_vocab_size(&v)) == 0;
        ok &= o2->t == 10 && m2->state_batch == 2 && m2->cfg.dropout == 0.25f;
        for (step = 0; step < 5; step++) rnn_lm_train_step(m2, o2, in, tg, 8, 2, &lb[step]);
        ok &= memcmp(la, lb, sizeof la) == 0;
    }
    check(ok, "save with optimizer, load, train on: bit-identical losses (exact resume)", 0);
    {
        rnn_lm_state *s1, *s2;
        int same = 1;
        rnn_lm_free(m2); rnn_optimizer_free(o2);
        rnn_lm_save(m, NULL, "build/test-ckpt.safetensors");
        ok = rnn_lm_load(&m2, NULL, "build/test-ckpt.safetensors", err, sizeof err) == RNN_OK;
        rnn_lm_state_create(m, &s1);
        rnn_lm_state_create(m2, &s2);
        for (i = 0; ok && i < 20; i++)
            same &= memcmp(rnn_lm_step(m, s1, ids[i]), rnn_lm_step(m2, s2, ids[i]), sizeof(float) * lc.vocab_size) == 0;
        check(ok && same, "save, load: bit-identical logits", 0);
        rnn_lm_state_free(s1); rnn_lm_state_free(s2);
        rnn_lm_free(m2);
    }
    {   /* the one-token path with weights in 256-column panels and layer 0's
           gate table (chosen on AVX-512, forced here) against the plain step: every cell,
           gate widths and heads that end inside a panel, table on and off */
        static const int cells[5] = {RNN_TANH, RNN_RELU, RNN_LSTM, RNN_GRU, RNN_GRU_CHO};
        int c, vs, used = 0;
        double worst = 0;
        for (c = 0; c < 5; c++)
            for (vs = 0; vs < 2; vs++) {
                rnn_lm_config pc;
                rnn_lm *pm;
                rnn_lm_state *s1, *s2;
                int k, j;
                memset(&pc, 0, sizeof pc);
                pc.cell = (rnn_cell)cells[c]; pc.vocab_size = vs ? 3300 : 300; pc.embed_size = 20;
                pc.hidden_size = 80; pc.num_layers = 2;
                rnn_lm_create(&pm, &pc, 31 + c);
                rnn__lm_state_create(pm, 1, &s1);   /* panels, whatever the CPU */
                rnn__lm_state_create(pm, 0, &s2);   /* the plain path: weights read in place */
                used += s1->wt != NULL;
                for (k = 0; k < 12 && s1->wt; k++) {
                    const float *a = rnn_lm_step(pm, s1, (k * 37) % pc.vocab_size);
                    const float *b = rnn_lm_step(pm, s2, (k * 37) % pc.vocab_size);
                    for (j = 0; j < pc.vocab_size; j++) worst = fmax(worst, fabs(a[j] - b[j]));
                }
                rnn_lm_state_free(s1); rnn_lm_state_free(s2);
                rnn_lm_free(pm);
            }
        if (used) check(used == 10 && worst < 1e-5, "rnn_lm_step in panels with the gate table = the plain step", worst);
    }
    {   /* PyTorch's own LMs, converted by tools/torch2rnn.py */
        static const char *tags[2] = {"lm", "lmgru"};
        int t;
        fixture f;
        fixture_load(&f, "tests/data/recurrent.bin");
        for (t = 0; t < 2; t++) {
            char path[64], name[64];
            float *toks, *want;
            size_t nt = 0;
            double worst = 0;
            rnn_lm_state *s;
            sprintf(path, "tests/data/%s_torch.safetensors", tags[t]);
            ok = rnn_lm_load(&m2, NULL, path, err, sizeof err) == RNN_OK;
            sprintf(name, "%s.tokens", tags[t]); toks = fixture_get(&f, name, &nt);
            sprintf(name, "%s.logits", tags[t]); want = fixture_get(&f, name, NULL);
            if (ok && toks && want) {
                rnn_lm_state_create(m2, &s);
                for (i = 0; i < (int)nt; i++) {
                    const float *lg = rnn_lm_step(m2, s, (int)toks[i]);
                    double e = lg ? worst_err(lg, want + (size_t)i * m2->cfg.vocab_size, (size_t)m2->cfg.vocab_size) : 1;
                    if (e > worst) worst = e;
                }
                ok &= m2->vocab != NULL && rnn_vocab_size(m2->vocab) == m2->cfg.vocab_size;
                rnn_lm_state_free(s);
            } else ok = 0;
            sprintf(name, "a PyTorch %s LM (torch2rnn.py) loads and gives its logits", t ? "GRU" : "LSTM");
            check(ok && worst <= 1e-5, name, worst);
            rnn_lm_free(m2); m2 = NULL;
            free(toks); free(want);
        }
        free(f.buf);
    }
    {   /* LMs saved from PyTorch the way safetensors.torch.save_file saves them
           (tools/torch_st_fixtures.py): no crc32; F32, F16, BF16; one with no
           metadata at all. Their logits are PyTorch's with the same weights. */
        static const char *files[4] = {"pt_lm_f32", "pt_lm_f16", "pt_lm_bf16", "pt_gru_bare"};
        int t;
        fixture f;
        float *toks;
        size_t nt = 0;
        fixture_load(&f, "tests/data/pt_lm.bin");
        toks = fixture_get(&f, "tokens", &nt);
        for (t = 0; t < 4; t++) {
            char path[64], name[96];
            float *want;
            double worst = 0;
            rnn_lm_state *s;
            sprintf(path, "tests/data/%s.safetensors", files[t]);
            ok = rnn_lm_load(&m2, NULL, path, err, sizeof err) == RNN_OK;
            if (!ok) printf("       %s: %s\n", path, err);
            sprintf(name, "%s.logits", files[t]); want = fixture_get(&f, name, NULL);
            if (ok && toks && want && nt > 0) {
                rnn_lm_state_create(m2, &s);
                for (i = 0; i < (int)nt; i++) {
                    const float *lg = rnn_lm_step(m2, s, (int)toks[i]);
                    double e = lg ? worst_err(lg, want + (size_t)i * m2->cfg.vocab_size, (size_t)m2->cfg.vocab_size) : 1;
                    if (e > worst) worst = e;
                }
                ok &= (t < 3) == (m2->vocab != NULL) && m2->cfg.cell == (t < 3 ? RNN_LSTM : RNN_GRU) &&
                      m2->cfg.num_layers == 2 && m2->cfg.hidden_size == 11 && m2->cfg.embed_size == 7;
                rnn_lm_state_free(s);
            } else ok = 0;
            sprintf(name, "%s (PyTorch's safetensors layout, no crc32) loads and gives PyTorch's logits", files[t]);
            check(ok && worst <= 1e-5, name, worst);
            rnn_lm_free(m2); m2 = NULL;
            free(want);
        }
        free(toks);
        free(f.buf);
    }
    {   /* a directory, a text file, a missing file: each says what it is; NaN weights are never saved */
        rnn_st_file sf;
        rnn_lm_config tc;
        rnn_lm *tiny;
        unsigned char *before, *after;
        size_t nb = 0, na = 0;
        ok = rnn_st_open(&sf, "tests") == RNN_ERR_IO && strstr(sf.error, "directory") != NULL;
        ok &= rnn_st_open(&sf, "README.md") == RNN_ERR_HEADER && strstr(sf.error, "not a safetensors file") != NULL;
        ok &= rnn_st_open(&sf, "build/no-such-file") == RNN_ERR_IO && strstr(sf.error, "No such file") != NULL;
        memset(&tc, 0, sizeof tc);
        tc.vocab_size = 3; tc.embed_size = 2; tc.hidden_size = 2; tc.num_layers = 1;
        rnn_lm_create(&tiny, &tc, 3);
        ok &= rnn_lm_save(tiny, NULL, "build/test-nan.safetensors") == RNN_OK;
        before = read_file("build/test-nan.safetensors", &nb);
        tiny->head.bias[1] = (float)sqrt(-1.0);
        ok &= rnn_lm_save(tiny, NULL, "build/test-nan.safetensors") == RNN_ERR_INVALID_ARGUMENT &&
              strstr(tiny->error, "head.bias") != NULL;
        after = read_file("build/test-nan.safetensors", &na);
        ok &= before && after && na == nb && !memcmp(before, after, nb);
        free(before); free(after);
        rnn_lm_free(tiny);
        check(ok, "a directory, a text file, a missing file named as such; NaN weights never overwrite a checkpoint", 0);
    }
    {   /* the generic floor: any tensors and metadata, F16 / BF16 conversion */
        rnn_st_writer w;
        rnn_st_file sf;
        float a[6] = {1, -2, 3.5f, 0, 1e-8f, 65504}, back[8];
        int dims[2] = {2, 3}, k;
        double worst = 0;
        memset(&w, 0, sizeof w);
        rnn_st_put_meta(&w, "author", "rnn.h \"tests\"\n");
        rnn_st_put_tensor(&w, "x.y", a, 2, dims);
        rnn_st_put_tensor(&w, "scalar", a + 2, 0, NULL);
        ok = rnn_st_save(&w, "build/test-generic.safetensors") == RNN_OK;
        rnn_st_writer_free(&w);
        ok &= rnn_st_open(&sf, "build/test-generic.safetensors") == RNN_OK && sf.checksummed &&
              rnn_st_meta_get(&sf, "author") && !strcmp(rnn_st_meta_get(&sf, "author"), "rnn.h \"tests\"\n") &&
              rnn_st_read(&sf, "x.y", 2, dims, back) == RNN_OK && !memcmp(a, back, sizeof a) &&
              rnn_st_read(&sf, "scalar", 0, NULL, back) == RNN_OK && back[0] == 3.5f &&
              rnn_st_read(&sf, "x.y", 1, dims, back) == RNN_ERR_SHAPE && strstr(sf.error, "x.y") &&
              rnn_st_read(&sf, "nope", 1, dims, back) == RNN_ERR_SHAPE;
        rnn_st_close(&sf);
        check(ok, "rnn_st writer and reader: tensors of any shape, metadata escaped, checksummed", 0);
        memset(&w, 0, sizeof w);
        rnn_st_put_meta(&w, "crc32", "0");
        ok = rnn_st_save(&w, "build/test-generic.safetensors") == RNN_ERR_INVALID_ARGUMENT && strstr(w.error, "crc32");
        rnn_st_writer_free(&w);
        memset(&w, 0, sizeof w);
        rnn_st_put_tensor(&w, "t", a, 1, dims);
        rnn_st_put_tensor(&w, "t", a, 1, dims);
        ok &= rnn_st_save(&w, "build/test-generic.safetensors") == RNN_ERR_INVALID_ARGUMENT && strstr(w.error, "twice");
        rnn_st_writer_free(&w);
        check(ok, "rnn_st writer refuses a reserved key and a tensor given twice", 0);
        {   /* F16: 1, -2, 2^-24 (subnormal), 65504, -0; BF16: 1, -3, 0 */
            static const unsigned char h[10] = {0x00, 0x3C, 0x00, 0xC0, 0x01, 0x00, 0xFF, 0x7B, 0x00, 0x80};
            static const unsigned char bf[6] = {0x80, 0x3F, 0x40, 0xC0, 0x00, 0x00};
            const float hw[5] = {1, -2, 5.9604644775390625e-8f, 65504, 0}, bw[3] = {1, -3, 0};
            unsigned char img2[256];
            int d5[1] = {5}, d3[1] = {3};
            size_t len = make_st(img2, "{\"h\":{\"dtype\":\"F16\",\"shape\":[5],\"data_offsets\":[0,10]},"
                                       "\"b\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[10,16]}}", 16);
            size_t at = len - 16;
            memcpy(img2 + at, h, 10);
            memcpy(img2 + at + 10, bf, 6);
            ok = rnn_st_open_memory(&sf, img2, len) == RNN_OK && !sf.checksummed &&
                 rnn_st_read(&sf, "h", 1, d5, back) == RNN_OK && rnn_st_read(&sf, "b", 1, d3, back + 5) == RNN_OK;
            for (k = 0; k < 5; k++) worst = fmax(worst, fabs(back[k] - hw[k]));
            for (k = 0; k < 3; k++) worst = fmax(worst, fabs(back[5 + k] - bw[k]));
            ok &= signbit(back[4]) != 0;
            img2[at + 7] = 0x7C; img2[at + 6] = 0x00;   /* 65504 -> infinity */
            ok &= rnn_st_read(&sf, "h", 1, d5, back) == RNN_ERR_FORMAT;
            rnn_st_close(&sf);
            check(ok && worst == 0, "F16 (subnormals, -0) and BF16 read exactly; an F16 infinity: RNN_ERR_FORMAT", worst);
        }
    }
    {   /* the loader refuses every fault with its own status */
        unsigned char *b, *c, img[512];
        size_t nb = 0, bit, accepted = 0;
        rnn_lm *tiny;
        rnn_lm_config tc;
        memset(&tc, 0, sizeof tc);
        tc.vocab_size = 3; tc.embed_size = 2; tc.hidden_size = 2; tc.num_layers = 1;
        rnn_lm_create(&tiny, &tc, 3);
        rnn_lm_save(tiny, NULL, "build/test-tiny.safetensors");
        rnn_lm_free(tiny);
        b = read_file("build/test-tiny.safetensors", &nb);
        c = (unsigned char *)malloc(nb);
        ok = load_bytes(b, nb, err) == RNN_OK;
        check(ok, "a tiny checkpoint loads", 0);
        check(load_bytes(b, nb - 10, err) == RNN_ERR_TRUNCATED && load_bytes(b, 5, err) == RNN_ERR_TRUNCATED,
              "truncated file: RNN_ERR_TRUNCATED", 0);
        for (bit = 0; bit < nb * 8; bit++) {
            memcpy(c, b, nb);
            c[bit / 8] ^= (unsigned char)(1u << (bit % 8));
            if (load_bytes(c, nb, err) == RNN_OK) accepted++;
        }
        check(accepted == 0, "every single flipped bit of a checkpoint is refused", (double)accepted);
        memcpy(c, b, nb);
        c[5] = 1;   /* header length 2^40 */
        check(load_bytes(c, nb, err) == RNN_ERR_HEADER, "oversized header length: RNN_ERR_HEADER", 0);
        memcpy(c, b, nb);
        { char *hs = strstr((char *)c + 8, "\"hidden_size\":\"2\""); if (hs) hs[15] = '3'; }
        fix_crc(c, nb);
        ok = load_bytes(c, nb, err) == RNN_ERR_SHAPE && strstr(err, "rnn.weight_ih_l0") != NULL;
        check(ok, "config and tensor shapes disagree: RNN_ERR_SHAPE, naming the tensor", 0);
        memcpy(c, b, nb);
        { uint64_t h = 0; int k; for (k = 7; k >= 0; k--) h = h << 8 | c[k];
          c[8 + h + 4] = 0xFF; c[8 + h + 5] = 0xFF; c[8 + h + 6] = 0xC0; c[8 + h + 7] = 0x7F; }
        fix_crc(c, nb);
        check(load_bytes(c, nb, err) == RNN_ERR_FORMAT, "NaN in a tensor: RNN_ERR_FORMAT", 0);
        check(load_bytes(img, make_st(img, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                                           "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12), err) == RNN_ERR_OFFSETS &&
              load_bytes(img, make_st(img, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                                           "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}", 20), err) == RNN_ERR_OFFSETS &&
              load_bytes(img, make_st(img, "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8), err) == RNN_ERR_OFFSETS,
              "overlapping offsets, a hole, size against shape: RNN_ERR_OFFSETS", 0);
        {
            rnn_st_file sf;
            float two[2];
            int dims[1] = {2};
            size_t len = make_st(img, "{\"a\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]}}", 16);
            ok = rnn_st_open_memory(&sf, img, len) == RNN_OK && rnn_st_read(&sf, "a", 1, dims, two) == RNN_ERR_DTYPE &&
                 strstr(sf.error, "I64") != NULL;
            rnn_st_close(&sf);
            ok &= load_bytes(img, make_st(img, "{\"a\":{\"dtype\":\"F17\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4), err) == RNN_ERR_DTYPE;
            check(ok, "an I64 tensor read as floats, an unknown dtype: RNN_ERR_DTYPE", 0);
        }
        {
            size_t len;
            ok = load_bytes(img, make_st(img, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8), err) == RNN_ERR_SHAPE &&
                 strstr(err, "embedding.weight") != NULL;
            ok &= load_bytes(img, make_st(img, "{\"__metadata__\":{\"format\":\"keras\"}}", 0), err) == RNN_ERR_METADATA;
            ok &= load_bytes(img, make_st(img, "{\"__metadata__\":{\"format\":\"rnn.h\",\"model\":\"s2s\"}}", 0), err) == RNN_ERR_METADATA &&
                  strstr(err, "s2s") != NULL;
            len = make_st(img, "{\"__metadata__\":{\"format\":\"rnn.h\",\"model\":\"lm\",\"cell\":\"lstm\","
                               "\"vocab_size\":\"0\",\"crc32\":\"00000000\"}}", 0);
            fix_crc(img, len);
            ok &= load_bytes(img, len, err) == RNN_ERR_METADATA && strstr(err, "vocab_size") != NULL;
            ok &= load_bytes(img, make_st(img, "{\"__metadata__\":{\"format\":\"rnn.h\",\"writer\":\"rnn.h\"}}", 0), err) == RNN_ERR_CHECKSUM;
            ok &= load_bytes(img, make_st(img, "{\"__metadata__\":{\"a\":\"1\",\"a\":\"2\"}}", 0), err) == RNN_ERR_HEADER &&
                  load_bytes(img, make_st(img, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                                               "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8), err) == RNN_ERR_HEADER;
            check(ok, "no sizes: RNN_ERR_SHAPE; not rnn.h, not an LM, a bad size: RNN_ERR_METADATA; "
                      "rnn.h's file without crc32: RNN_ERR_CHECKSUM; a name twice: RNN_ERR_HEADER", 0);
        }
        check(load_bytes(img, make_st(img, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],", 8), err) == RNN_ERR_HEADER &&
              load_bytes(img, make_st(img, "[1,2]", 0), err) == RNN_ERR_HEADER &&
              load_bytes(img, make_st(img, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":1}}", 8), err) == RNN_ERR_HEADER,
              "malformed header JSON: RNN_ERR_HEADER", 0);
        check(rnn_lm_load(&m2, NULL, "build/no-such-checkpoint", err, sizeof err) == RNN_ERR_IO && m2 == NULL,
              "a missing file: RNN_ERR_IO", 0);
        free(b); free(c);
    }
    {   /* atomic: a failed save leaves nothing behind, a good one no temporary */
        FILE *f;
        ok = rnn_lm_save(m, NULL, "build/no-such-dir/x.safetensors") == RNN_ERR_IO;
        ok &= (f = fopen("build/no-such-dir/x.safetensors", "rb")) == NULL;
        if (f) fclose(f);
        ok &= rnn_lm_save(m, NULL, "build/test-ckpt.safetensors") == RNN_OK;
        ok &= (f = fopen("build/test-ckpt.safetensors.tmp", "rb")) == NULL;
        if (f) fclose(f);
        check(ok, "saves are atomic: temporary file, then rename", 0);
    }
    rnn_optimizer_free(o);
    rnn_lm_free(m);
    rnn_vocab_free(&v);
}
