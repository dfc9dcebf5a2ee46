/* tests/test_core.c - core: status codes, random numbers, CRC-32. */
#include "check.h"

static void test_core(void) {
    rnn_rng a, b;
    int i, same = 1, inrange = 1, distinct = 1;
    double mean = 0, var = 0;
    const char *msgs[RNN_STATUS_COUNT];
    for (i = 0; i < RNN_STATUS_COUNT; i++) {
        int j;
        msgs[i] = rnn_strerror((rnn_status)i);
        for (j = 0; j < i; j++) distinct &= strcmp(msgs[i], msgs[j]) != 0;
    }
    check(distinct && strcmp(rnn_strerror((rnn_status)99), "unknown status code") == 0,
          "rnn_strerror names each status", 0);
    rnn_rng_seed(&a, 42); rnn_rng_seed(&b, 42);
    for (i = 0; i < 1000; i++) same &= rnn_rng_u64(&a) == rnn_rng_u64(&b);
    rnn_rng_seed(&b, 43);
    check(same && rnn_rng_u64(&a) != rnn_rng_u64(&b), "rng: same seed same stream, other seed other", 0);
    rnn_rng_seed(&a, 1);
    for (i = 0; i < 100000; i++) {
        float u = rnn_rng_uniform(&a);
        inrange &= u >= 0.0f && u < 1.0f;
    }
    for (i = 0; i < 100000; i++) {
        double z = rnn_rng_normal(&a);
        mean += z; var += z * z;
    }
    mean /= 100000; var = var / 100000 - mean * mean;
    /* 100000 samples: the mean's standard error is 0.003. */
    check(inrange && fabs(mean) < 0.02 && fabs(var - 1.0) < 0.03, "rng: uniform in [0,1), normal N(0,1)",
          fabs(var - 1.0));
    check(rnn_crc32(0, "123456789", 9) == 0xCBF43926u && rnn_crc32(rnn_crc32(0, "1234", 4), "56789", 5) == 0xCBF43926u,
          "rnn_crc32: the CRC-32 check value, in one call or two", 0);
    /* splitmix64's published first output for seed 0. */
    rnn_rng_seed(&a, 0);
    check(rnn_rng_u64(&a) == 0xE220A8397B1DCDAFull, "rng: splitmix64 reference value", 0);
}
