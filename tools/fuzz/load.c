/* libFuzzer target: the safetensors reader, the LM, classifier and seq2seq loaders on arbitrary bytes.
   Build and run: make fuzz   (clang -fsanitize=fuzzer,address,undefined) */
#define RNN_IMPLEMENTATION
#define STB_DS_IMPLEMENTATION
#include "../../rnn.h"

#include <stdlib.h>

/* Half of the inputs get their crc32 recomputed, so the fuzzer also reaches
   the config, vocabulary and optimizer parsing behind the checksum. */
static void fix_crc(uint8_t *b, size_t n) {
    uint64_t h = 0;
    int k;
    char *at, num[16];
    for (k = 7; k >= 0; k--) h = h << 8 | b[k];
    if (h > n - 8) return;
    for (at = (char *)b + 8; at + 17 <= (char *)b + 8 + h; at++)
        if (!memcmp(at, "\"crc32\":\"", 9)) {
            at += 9;
            memcpy(at, "00000000", 8);
            snprintf(num, sizeof num, "%08x", (unsigned)rnn_crc32(rnn_crc32(0, b + 8, (size_t)h), b + 8 + h, n - 8 - (size_t)h));
            memcpy(at, num, 8);
            return;
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    rnn_lm *m = NULL;
    rnn_optimizer *opt = NULL;
    char err[200];
    uint8_t *copy = (uint8_t *)malloc(size + 1);
    int ok;
    memcpy(copy, data, size);
    if (size > 8 && (size & 1)) fix_crc(copy, size);
    ok = rnn_lm_load_memory(&m, &opt, copy, size, err, sizeof err) == RNN_OK;
    {   /* the generic floor: every tensor it accepts reads (or refuses) cleanly */
        rnn_st_file f;
        if (rnn_st_open_memory(&f, copy, size) == RNN_OK) {
            ptrdiff_t i;
            for (i = 0; i < stbds_arrlen(f.tensors); i++) {
                const rnn_st_tensor *t = &f.tensors[i];
                int dims[8], d;
                uint64_t count = 1;
                for (d = 0; d < t->ndim; d++) { dims[d] = (int)t->dims[d]; count *= t->dims[d]; }
                if (count <= 1u << 20) {
                    float *dst = (float *)malloc(sizeof(float) * (size_t)(count ? count : 1));
                    rnn_st_read(&f, t->name, t->ndim, dims, dst);
                    free(dst);
                }
            }
            {   /* the classifier's adapter on the same file: a loaded model must run */
                rnn_clf *c = NULL;
                rnn_optimizer *copt = NULL;
                if (rnn_clf_from_st(&c, &copt, &f) == RNN_OK) {
                    int tok[2] = {0, 0}, len[1] = {2};
                    float probs[4096];
                    if (c->cfg.num_classes <= 4096 && c->cfg.max_len >= 2) rnn_clf_predict(c, tok, len, 2, 1, probs);
                    if (c->vocab && c->cfg.num_classes <= 4096) rnn_clf_classify(c, "ab", 2, probs);
                    rnn_clf_free(c);
                    rnn_optimizer_free(copt);
                }
            }
            {   /* and the seq2seq adapter: a loaded model must train a step and decode */
                rnn_s2s *s = NULL;
                rnn_optimizer *sopt = NULL;
                if (rnn_s2s_from_st(&s, &sopt, &f) == RNN_OK) {
                    int src[1] = {0}, out[4], n = 0;
                    rnn_s2s_train_step(s, sopt, src, NULL, 1, src, NULL, 1, 1, NULL);
                    rnn_s2s_decode(s, src, 1, 2, -1, out, 4, &n);
                    rnn_s2s_free(s);
                    rnn_optimizer_free(sopt);
                }
            }
            rnn_st_close(&f);
        }
    }
    free(copy);
    if (ok) {
        rnn_lm_state *s;
        if (rnn_lm_state_create(m, &s) == RNN_OK) {   /* a loaded model must run */
            rnn_lm_step(m, s, 0);
            rnn_lm_state_free(s);
        }
    }
    rnn_optimizer_free(opt);
    rnn_lm_free(m);
    return 0;
}
