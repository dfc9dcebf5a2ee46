/* tools/bench/sgemm.c - rnn_sgemm against OpenBLAS, one thread each.

   For each case it prints rnn_sgemm's GFLOP/s, the best OpenBLAS's GFLOP/s,
   their ratio, and rnn_sgemm's share of this core's FP32 FMA limit, which it
   measures first. OpenBLAS picks its kernels when it loads, from
   OPENBLAS_CORETYPE or CPU detection, so the bench runs itself three times
   as a child (default detection, SKYLAKEX, HASWELL); each child times
   rnn_sgemm and cblas_sgemm in alternation (rounds interleaved, medians),
   and each case is compared with the child whose OpenBLAS was fastest.

   Build and run: make bench   (or: build/bench-sgemm [--rounds N]) */
#define _POSIX_C_SOURCE 200809L
#define RNN_IMPLEMENTATION
#define STB_DS_IMPLEMENTATION
#include "../../rnn.h"
#include "bench.h"

#include <cblas.h>

char *openblas_get_corename(void);
void openblas_set_num_threads(int n);

typedef struct { const char *name, *what; int ta, tb, m, n, k; } bench_case;

static const bench_case cases[] = {
    {"square256", "256x256 * 256x256", 0, 0, 256, 256, 256},
    {"square512", "512x512 * 512x512", 0, 0, 512, 512, 512},
    {"square1024", "1024x1024 * 1024x1024", 0, 0, 1024, 1024, 1024},
    {"step8", "x.W^T [8x512].[512x2048]^T", 0, 1, 8, 2048, 512},
    {"step32", "x.W^T [32x512].[512x1024]^T", 0, 1, 32, 1024, 512},
    {"step32s", "x.W^T [32x128].[128x512]^T", 0, 1, 32, 512, 128},
    {"step64", "x.W^T [64x256].[256x1024]^T", 0, 1, 64, 1024, 256},
    {"proj", "X.W^T [2048x256].[256x1024]^T", 0, 1, 2048, 1024, 256},
    {"wgrad", "dG^T.X M=1024 N=256 K=2048", 1, 0, 1024, 256, 2048},
    {"token256", "x.W^T [1x256].[256x1024]^T", 0, 1, 1, 1024, 256},
    {"token512", "x.W^T [1x512].[512x2048]^T", 0, 1, 1, 2048, 512},
};
#define NCASES ((int)(sizeof cases / sizeof cases[0]))

static void cpu_model(char *out, size_t cap) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256], model[160] = "unknown", fam[32] = "?", mod[32] = "?";
    if (f) {
        while (fgets(line, sizeof line, f)) {
            char *v = strchr(line, ':');
            if (!v) continue;
            v += 2;
            v[strcspn(v, "\n")] = 0;
            if (!strncmp(line, "model name", 10) && !strcmp(model, "unknown")) snprintf(model, sizeof model, "%s", v);
            else if (!strncmp(line, "cpu family", 10) && fam[0] == '?') snprintf(fam, sizeof fam, "%s", v);
            else if (!strncmp(line, "model\t", 6) && mod[0] == '?') snprintf(mod, sizeof mod, "%s", v);
        }
        fclose(f);
    }
    snprintf(out, cap, "%s (family %s, model %s)", model, fam, mod);
}

/* ---- child: time both products on every case --------------------------- */

static float *randbuf(size_t n) {
    float *p = (float *)aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
    size_t i;
    for (i = 0; i < n; i++) p[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    return p;
}

static void run_one(int blas, const bench_case *bc, const float *a, const float *b, float *c, int reps) {
    int lda = bc->ta ? bc->m : bc->k, ldb = bc->tb ? bc->k : bc->n, i;
    for (i = 0; i < reps; i++) {
        if (blas)
            cblas_sgemm(CblasRowMajor, bc->ta ? CblasTrans : CblasNoTrans, bc->tb ? CblasTrans : CblasNoTrans,
                        bc->m, bc->n, bc->k, 1.0f, a, lda, b, ldb, 0.0f, c, bc->n);
        else
            rnn_sgemm(bc->ta, bc->tb, bc->m, bc->n, bc->k, 1.0f, a, lda, b, ldb, 0.0f, c, bc->n);
    }
}

static int child(int rounds) {
    int ci, r;
    openblas_set_num_threads(1);
    printf("core %s\n", openblas_get_corename());
    for (ci = 0; ci < NCASES; ci++) {
        const bench_case *bc = &cases[ci];
        float *a = randbuf((size_t)bc->m * bc->k), *b = randbuf((size_t)bc->k * bc->n);
        float *c = randbuf((size_t)bc->m * bc->n);
        double flops = 2.0 * bc->m * bc->n * bc->k, t, tr[64], tb[64], ratio[64];
        int reps;
        /* size a repetition batch to ~25 ms */
        run_one(0, bc, a, b, c, 1); run_one(1, bc, a, b, c, 1);
        t = now(); run_one(0, bc, a, b, c, 3); t = (now() - t) / 3;
        reps = (int)(0.025 / t) + 1;
        for (r = 0; r < rounds; r++) {
            t = now(); run_one(0, bc, a, b, c, reps); tr[r] = (now() - t) / reps;
            t = now(); run_one(1, bc, a, b, c, reps); tb[r] = (now() - t) / reps;
            ratio[r] = tb[r] / tr[r];
        }
        printf("case %s %.3f %.3f %.4f\n", bc->name, flops / median(tr, rounds) / 1e9,
               flops / median(tb, rounds) / 1e9, median(ratio, rounds));
        free(a); free(b); free(c);
    }
    return 0;
}

/* ---- parent: three children, the table ---------------------------------- */

typedef struct { char core[64]; double rnn[NCASES], blas[NCASES], ratio[NCASES]; } child_result;

static int run_child(const char *self, const char *coretype, int rounds, child_result *out) {
    char cmd[1024], line[256];
    FILE *p;
    memset(out, 0, sizeof *out);
    snprintf(cmd, sizeof cmd, "%s OPENBLAS_NUM_THREADS=1 %s%s '%s' --child --rounds %d",
             coretype ? "env" : "env -u OPENBLAS_CORETYPE", coretype ? "OPENBLAS_CORETYPE=" : "",
             coretype ? coretype : "", self, rounds);
    if (!(p = popen(cmd, "r"))) return 0;
    while (fgets(line, sizeof line, p)) {
        char name[64];
        double x, y, z;
        int ci;
        if (sscanf(line, "core %63s", out->core) == 1) continue;
        if (sscanf(line, "case %63s %lf %lf %lf", name, &x, &y, &z) == 4)
            for (ci = 0; ci < NCASES; ci++)
                if (!strcmp(cases[ci].name, name)) { out->rnn[ci] = x; out->blas[ci] = y; out->ratio[ci] = z; }
    }
    return pclose(p) == 0;
}

int main(int argc, char **argv) {
    int rounds = 11, i, ci;
    const char *types[3] = {NULL, "SKYLAKEX", "HASWELL"}, *peakwhat = "none";
    child_result res[3];
    int ok[3] = {0, 0, 0};
    char cpu[256];
    double peak;
    for (i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = atoi(argv[++i]);
    if (rounds < 1) rounds = 1;
    if (rounds > 64) rounds = 64;
    for (i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--child")) return child(rounds);
    cpu_model(cpu, sizeof cpu);
    peak = fma_peak(&peakwhat);
    printf("rnn_sgemm vs OpenBLAS, one thread each\n");
    printf("cpu:        %s\n", cpu);
    printf("rnn.h path: %s\n", rnn_simd_name());
    printf("FMA limit:  %.1f GFLOP/s (%s, measured now)\n", peak, peakwhat);
    for (i = 0; i < 3; i++) {
        ok[i] = run_child(argv[0], types[i], rounds, &res[i]);
        if (ok[i]) printf("OpenBLAS %-9s -> core %s\n", types[i] ? types[i] : "default", res[i].core);
        else if (i == 0) { fprintf(stderr, "bench: the child with OpenBLAS's own choice failed\n"); return 1; }
        else   /* SKYLAKEX on a CPU without AVX-512 dies of an illegal instruction: not a peer here */
            printf("OpenBLAS %-9s -> cannot run on this CPU (skipped)\n", types[i]);
    }
    printf("\n%-11s %-31s %9s %9s %-10s %7s %7s\n", "case", "shape", "rnn.h", "OpenBLAS", "(core)", "ratio",
           "of FMA");
    printf("%-11s %-31s %9s %9s %-10s %7s %7s\n", "", "", "GFLOP/s", "GFLOP/s", "", "", "limit");
    for (ci = 0; ci < NCASES; ci++) {
        int best = 0;
        for (i = 1; i < 3; i++) if (ok[i] && res[i].blas[ci] > res[best].blas[ci]) best = i;
        printf("%-11s %-31s %9.1f %9.1f %-10s %6.2fx %6.0f%%", cases[ci].name, cases[ci].what,
               res[best].rnn[ci], res[best].blas[ci], res[best].core, res[best].ratio[ci],
               peak > 0 ? 100.0 * res[best].rnn[ci] / peak : 0.0);
        if (cases[ci].m == 1) { /* one token: the weights stream, so bandwidth is what counts */
            double wbytes = 4.0 * cases[ci].n * cases[ci].k, bw = read_bandwidth((size_t)wbytes);
            printf("  weights %.0f GB/s = %.0f%% of read bw %.0f GB/s at %.0f KiB", res[best].rnn[ci] * 2.0,
                   bw > 0 ? 100.0 * res[best].rnn[ci] * 2.0 / bw : 0.0, bw, wbytes / 1024);
        }
        printf("\n");
    }
    printf("\nratio = OpenBLAS time / rnn.h time, median of %d interleaved rounds,\n"
           "against the fastest of the three OpenBLAS kernel choices for each case.\n", rounds);
    return 0;
}
