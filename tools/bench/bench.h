/* tools/bench/bench.h - what the benchmark programs share: a monotonic
   clock, medians, and the machine's limits measured in the same run (the
   FP32 FMA peak of one core, its read bandwidth over written memory at a
   working-set size, and from L2, L3 and DRAM).
   Include after rnn.h, in a file that defines _POSIX_C_SOURCE 200809L. */
#ifndef RNN_BENCH_H
#define RNN_BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static inline int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median of v[0..n) (sorts v). */
/* The recurrent benches' arguments after CELL: H [LAYERS I T B REPS]
   (those not given keep their values); 0 if one is out of range. */
static inline int recurrent_args(int argc, char **argv, int *H, int *L, int *I, int *T, int *B, int *reps) {
    *H = atoi(argv[2]);
    if (argc > 3) *L = atoi(argv[3]);
    if (argc > 4) *I = atoi(argv[4]);
    if (argc > 5) *T = atoi(argv[5]);
    if (argc > 6) *B = atoi(argv[6]);
    if (argc > 7) *reps = atoi(argv[7]);
    return *H > 0 && *L >= 1 && *L <= 8 && *I > 0 && *T > 0 && *B > 0 && *reps >= 1 && *reps <= 64;
}

static inline double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

/* Independent FMA chains, written out so that they stay in registers;
   distinct starting values, or the compiler merges equal chains. */
#define BENCH_FMA4(V, F) V##0 = F(V##0, x, y); V##1 = F(V##1, x, y); V##2 = F(V##2, x, y); V##3 = F(V##3, x, y);
__attribute__((target("avx512f"))) static inline double bench_fma_avx512(long iters) {
    __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f), s;
#define V(i) _mm512_set1_ps((float)(i) + (float)iters * 1e-9f)
    __m512 a0 = V(1), a1 = V(2), a2 = V(3), a3 = V(4), b0 = V(5), b1 = V(6), b2 = V(7), b3 = V(8),
           c0 = V(9), c1 = V(10), c2 = V(11), c3 = V(12), d0 = V(13), d1 = V(14), d2 = V(15), d3 = V(16);
#undef V
    float tmp[16];
    double t = now();
    long i;
    for (i = 0; i < iters; i++) {
        BENCH_FMA4(a, _mm512_fmadd_ps) BENCH_FMA4(b, _mm512_fmadd_ps) BENCH_FMA4(c, _mm512_fmadd_ps) BENCH_FMA4(d, _mm512_fmadd_ps)
    }
    t = now() - t;
    s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                      _mm512_add_ps(_mm512_add_ps(b0, b1), _mm512_add_ps(b2, b3)));
    s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(c0, c1), _mm512_add_ps(c2, c3)),
                                       _mm512_add_ps(_mm512_add_ps(d0, d1), _mm512_add_ps(d2, d3))));
    _mm512_storeu_ps(tmp, s);
    if (tmp[0] == 12345.0f) printf(" ");   /* keep the chains alive */
    return 2.0 * 16 * 16 * iters / t / 1e9;
}
__attribute__((target("avx2,fma"))) static inline double bench_fma_avx2(long iters) {
    __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f), s;
#define V(i) _mm256_set1_ps((float)(i) + (float)iters * 1e-9f)
    __m256 a0 = V(1), a1 = V(2), a2 = V(3), a3 = V(4), b0 = V(5), b1 = V(6), b2 = V(7), b3 = V(8),
           c0 = V(9), c1 = V(10), c2 = V(11), c3 = V(12);
#undef V
    float tmp[8];
    double t = now();
    long i;
    for (i = 0; i < iters; i++) {
        BENCH_FMA4(a, _mm256_fmadd_ps) BENCH_FMA4(b, _mm256_fmadd_ps) BENCH_FMA4(c, _mm256_fmadd_ps)
    }
    t = now() - t;
    s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                      _mm256_add_ps(_mm256_add_ps(b0, b1), _mm256_add_ps(b2, b3)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(c0, c1), _mm256_add_ps(c2, c3)));
    _mm256_storeu_ps(tmp, s);
    if (tmp[0] == 12345.0f) printf(" ");
    return 2.0 * 8 * 12 * iters / t / 1e9;
}
#undef BENCH_FMA4

/* The FP32 FMA limit of one core, best of 7, and what measured it. */
static inline double fma_peak(const char **what) {
    double best = 0, g;
    int r;
    *what = "no FMA unit";
    if (__builtin_cpu_supports("avx512f")) {
        *what = "AVX-512 FMA, 16 chains";
        for (r = 0; r < 7; r++) if ((g = bench_fma_avx512(10000000)) > best) best = g;
    } else if (__builtin_cpu_supports("fma")) {
        *what = "AVX2 FMA, 12 chains";
        for (r = 0; r < 7; r++) if ((g = bench_fma_avx2(20000000)) > best) best = g;
    }
    return best;
}

__attribute__((target("avx512f"))) static inline float bench_read_sum512(const float *p, size_t n, int reps) {
    __m512 a = _mm512_setzero_ps(), b = a, c = a, d = a;
    float t[16];
    size_t i;
    int r;
    for (r = 0; r < reps; r++)
        for (i = 0; i < n; i += 64) {
            a = _mm512_add_ps(a, _mm512_loadu_ps(p + i)); b = _mm512_add_ps(b, _mm512_loadu_ps(p + i + 16));
            c = _mm512_add_ps(c, _mm512_loadu_ps(p + i + 32)); d = _mm512_add_ps(d, _mm512_loadu_ps(p + i + 48));
        }
    _mm512_storeu_ps(t, _mm512_add_ps(_mm512_add_ps(a, b), _mm512_add_ps(c, d)));
    return t[0];
}
__attribute__((target("avx2"))) static inline float bench_read_sum256(const float *p, size_t n, int reps) {
    __m256 a = _mm256_setzero_ps(), b = a, c = a, d = a, e = a, f = a, g = a, h = a;
    float t[8];
    size_t i;
    int r;
    for (r = 0; r < reps; r++)
        for (i = 0; i < n; i += 64) {
            a = _mm256_add_ps(a, _mm256_loadu_ps(p + i)); b = _mm256_add_ps(b, _mm256_loadu_ps(p + i + 8));
            c = _mm256_add_ps(c, _mm256_loadu_ps(p + i + 16)); d = _mm256_add_ps(d, _mm256_loadu_ps(p + i + 24));
            e = _mm256_add_ps(e, _mm256_loadu_ps(p + i + 32)); f = _mm256_add_ps(f, _mm256_loadu_ps(p + i + 40));
            g = _mm256_add_ps(g, _mm256_loadu_ps(p + i + 48)); h = _mm256_add_ps(h, _mm256_loadu_ps(p + i + 56));
        }
    a = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a, b), _mm256_add_ps(c, d)),
                      _mm256_add_ps(_mm256_add_ps(e, f), _mm256_add_ps(g, h)));
    _mm256_storeu_ps(t, a);
    return t[0];
}

/* Sums n floats (a multiple of 64) reps times with the widest loads the
   core has: the read stream the bandwidth figures time. */
static inline float bench_read_sum(const float *p, size_t n, int reps) {
    if (__builtin_cpu_supports("avx512f")) return bench_read_sum512(p, n, reps);
    if (__builtin_cpu_supports("avx2")) return bench_read_sum256(p, n, reps);
    return 0;
}

/* A buffer of n floats (a multiple of 64) that has been written: memory
   from calloc (or malloc) that nobody wrote maps the kernel's one zero
   page, which reads at L1 speed whatever the size, so a bandwidth measured
   over it is not the machine's. */
static inline float *bench_written(size_t n) {
    float *p = (float *)malloc(n * sizeof(float));
    size_t i;
    for (i = 0; p && i < n; i++) p[i] = (float)(i & 1023) * 1e-3f;
    return p;
}

/* Read bandwidth of one core over `bytes` of written memory, streamed
   repeatedly (so L2, L3 or DRAM as the size decides): best of 5, GB/s. */
static inline double read_bandwidth(size_t bytes) {
    size_t n = bytes / 4 / 64 * 64 + 64;
    float *p = bench_written(n);
    int reps = (int)(1e9 / (double)(n * 4)) + 1, k;
    double best = 0;
    if (!p || (!__builtin_cpu_supports("avx512f") && !__builtin_cpu_supports("avx2"))) { free(p); return 0; }
    bench_read_sum(p, n, 1);
    for (k = 0; k < 5; k++) {
        double t = now(), g;
        if (bench_read_sum(p, n, reps) == 1234.0f) printf(" ");
        g = (double)n * 4 * reps / (now() - t) / 1e9;
        if (g > best) best = g;
    }
    free(p);
    return best;
}

/* The size in bytes of this core's cache at level (2 or 3), from sysfs;
   fallback if it cannot be read. */
static inline size_t bench_cache_bytes(int level, size_t fallback) {
    char path[96], buf[32];
    FILE *f;
    size_t v = 0;
    int i;
    for (i = 0; i < 8; i++) {   /* index0.. : find the (unified or data) cache of this level */
        int lv = 0;
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/level", i);
        if (!(f = fopen(path, "r"))) break;
        if (fscanf(f, "%d", &lv) != 1) lv = 0;
        fclose(f);
        if (lv != level) continue;
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
        if (!(f = fopen(path, "r"))) break;
        if (fgets(buf, sizeof buf, f)) {
            char *end;
            v = (size_t)strtoul(buf, &end, 10);
            if (*end == 'K') v <<= 10; else if (*end == 'M') v <<= 20;
        }
        fclose(f);
        break;
    }
    return v ? v : fallback;
}

/* One core's read bandwidth from L2, L3 and DRAM (written memory at half
   of L2, half of L3, and four times L3), printed on one line. */
static inline void bench_print_levels(void) {
    size_t l2 = bench_cache_bytes(2, (size_t)1 << 20), l3 = bench_cache_bytes(3, (size_t)32 << 20);
    printf("read_bw_levels L2 %.1f GB/s (at %zu KiB)  L3 %.1f GB/s (at %zu KiB)  DRAM %.1f GB/s (at %zu MiB)\n",
           read_bandwidth(l2 / 2), l2 / 2048, read_bandwidth(l3 / 2), l3 / 2048, read_bandwidth(4 * l3), 4 * l3 >> 20);
}
#else
static inline double fma_peak(const char **what) { *what = "unknown"; return 0; }
static inline double read_bandwidth(size_t bytes) { (void)bytes; return 0; }
static inline float bench_read_sum(const float *p, size_t n, int reps) { (void)p; (void)n; (void)reps; return 0; }
static inline float *bench_written(size_t n) { return (float *)calloc(n, sizeof(float)); }
static inline void bench_print_levels(void) { printf("read_bw_levels unknown\n"); }
#endif

#endif
