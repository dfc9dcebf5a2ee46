/* libFuzzer target: the UTF-8 char vocabulary (build, encode, decode) on
   arbitrary bytes. A text that builds must encode and decode back to itself. */
#define RNN_IMPLEMENTATION
#define STB_DS_IMPLEMENTATION
#include "../../rnn.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    rnn_vocab v;
    size_t bad = 0, n = 0;
    const char *text = (const char *)data;
    if (rnn_vocab_from_text(&v, text, size, &bad) != RNN_OK) {
        if (bad >= size) abort();   /* the offset must point into the text */
        return 0;
    }
    {
        int *ids = (int *)malloc(sizeof(int) * (size + 1));
        char *back = (char *)malloc(size + 1);
        if (rnn_vocab_encode(&v, text, size, ids, size + 1, &n, &bad) != RNN_OK) abort();
        if (rnn_vocab_decode(&v, ids, n, back, size + 1) != size || memcmp(back, text, size) != 0) abort();
        free(ids);
        free(back);
    }
    rnn_vocab_free(&v);
    return 0;
}
