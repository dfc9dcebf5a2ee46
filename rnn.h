/* rnn.h - recurrent neural networks in one C99 header.            v0.1.0

   rnn.h trains and runs recurrent networks (vanilla RNN, LSTM, GRU) on a
   plain CPU. It is one file with no dependency but stb_ds, and it is meant to
   be dropped into a game or a command-line tool: cells matching PyTorch,
   BPTT, embeddings, attention and Transformer encoder blocks, losses,
   optimizers, a char-level language model, classifiers and
   sequence-to-sequence models with safetensors checkpoints, sampling and
   beam search, on a portable SIMD
   matrix product with a BLAS hook.

   HOW TO INCLUDE
     In exactly one C or C++ file of your program write

         #define RNN_IMPLEMENTATION
         #define STB_DS_IMPLEMENTATION   (unless another file already does)
         #include "rnn.h"

     and include "rnn.h" plainly everywhere else. rnn.h includes <stb_ds.h>
     from Debian's libstb-dev (add `pkg-config --cflags stb`, which is
     -I/usr/include/stb, to your compiler flags). STB_DS_IMPLEMENTATION
     compiles stb_ds's functions; define it in one file only, as stb_ds asks.
     Link with -lm.

   COMPILE-TIME OPTIONS (define before including, in the implementation file)
     RNN_STATIC         make every function static (private to one file)
     RNN_MALLOC(n), RNN_REALLOC(p,n), RNN_FREE(p)
                        allocator hooks; define all three or none
     RNN_ASSERT(x)      the library's internal checks (default: assert)
     RNN_NO_SIMD        plain C everywhere: the specification the SIMD code
                        is tested against
     RNN_NO_AVX512, RNN_NO_AVX2
                        leave out those x86 paths (to test the lower ones)
     RNN_USE_CBLAS      the built-in matrix product calls cblas_sgemm
                        (include <cblas.h> is done for you; link a BLAS)

   SIMD
     The matrix product and the element-wise kernels have paths for AVX-512,
     AVX2+FMA, SSE2, NEON and plain C. On x86-64 with gcc or clang the
     AVX-512 and AVX2 paths are always compiled (per-function target
     attributes) and chosen at run time from cpuid, so a binary built for
     plain x86-64 uses the best the CPU has. rnn_simd_name() says which runs.
     On aarch64 NEON is used; elsewhere (tcc, other CPUs) plain C.

   QUICK START: train a char-level model on a text, then sample from it

         rnn_vocab v;  int *ids = malloc(len * sizeof *ids);  size_t n;
         rnn_vocab_from_text(&v, text, len, NULL);
         rnn_vocab_encode(&v, text, len, ids, len, &n, NULL);
         rnn_lm_config cfg = {0};               // zero fields: the defaults
         cfg.vocab_size = rnn_vocab_size(&v);   // (LSTM, 2 layers, H 256)
         rnn_lm *lm;  rnn_lm_create(&lm, &cfg, 42);  rnn_lm_set_vocab(lm, &v);
         rnn_optimizer_config oc = {0};  oc.clip_norm = 5;     // Adam 1e-3
         rnn_optimizer *opt;  rnn_optimizer_create(&opt, &oc, lm->params);
         rnn_batcher bt;  rnn_batcher_init(&bt, ids, n, 64, 32);
         int in[64 * 32], tg[64 * 32];
         for (int step = 0; step < 2000; step++) {
             if (rnn_batcher_next(&bt, in, tg, NULL)) rnn_lm_reset_state(lm);
             rnn_lm_train_step(lm, opt, in, tg, 64, 32, NULL);
         }
         rnn_lm_save(lm, opt, "model.safetensors");
         rnn_rng rng;  rnn_rng_seed(&rng, 1);
         rnn_lm_state *s;  rnn_lm_state_create(lm, &s);
         int tok = ids[0];
         for (int i = 0; i < 200; i++) {
             rnn_sample(rnn_lm_step(lm, s, tok), cfg.vocab_size, 0.8f, 0, 1.0f, &rng, &tok);
             char ch[8];  ch[rnn_vocab_decode(&v, &tok, 1, ch, 8)] = 0;  fputs(ch, stdout);
         }

     For generation only, rnn_lm_quantize(lm, NULL, 0) makes every matrix int8 (one
     scale a row): a quarter of the bytes a token reads and a quarter of the
     checkpoint; rnn_lm_step then runs int8 kernels (AVX-512 VNNI, AVX2,
     NEON, plain C), and rnn_lm_load reads such a file back.
     rnn_lm_int8_precise(lm, 1) trades half of that speed for each input in
     two int8 levels, close to the F32 model's choices at small H.

     Every function that can fail returns an rnn_status (rnn_strerror names
     it); objects keep the detail in their error field.

   CONTENTS (the implementation follows the same order)
     Core       rnn_status, rnn_strerror, rnn_rng
     Kernels    rnn_sgemm, rnn_set_sgemm, rnn_simd_name, rnn_set_parallel,
                rnn_set_threads, rnn_sigmoid,
                rnn_tanh, rnn_relu, rnn_softmax, rnn_log_softmax (plain C:
                the specification; the SIMD paths are in an appendix)
     Layers     rnn_recurrent_* : Elman, LSTM, GRU cells, stacked and
                bidirectional, with BPTT and one-step inference;
                rnn_embedding_*, rnn_dense_*
     Losses     rnn_loss_softmax_xent, rnn_loss_bce_logits, rnn_loss_mse
     Optimizers rnn_optimizer_* (SGD, Adam, AdamW, RMSprop, clipping), rnn_param
     Attention  rnn_attention_* (scaled dot-product, masks, Keras form),
                rnn_mha_* (nn.MultiheadAttention), rnn_layernorm_*,
                rnn_positional_encoding, rnn_encoder_* (Transformer encoder)
     Models     rnn_lm_* : embedding → recurrent stack → dense, and
                rnn_lm_quantize: its int8 form for inference;
                rnn_clf_* : embedding → recurrent stack or Transformer
                encoder → pooling → dense → softmax or sigmoid;
                rnn_s2s_* : encoder-decoder (teacher forcing, Luong
                attention, or the notes' repeated encoding), greedy and
                beam decoding
     Decoding   rnn_sample (temperature, top-k, top-p), rnn_beam_search
     Text       rnn_vocab_* (UTF-8 code points), rnn_words_* (words, by
                frequency, reserved <pad> <unk> <s> <e>), rnn_batcher_*
                (streams), rnn_buckets_* (padded batches of similar
                lengths), rnn_pad_batch (Keras's pad_sequences)
     I/O        rnn_st_* : any safetensors file (named tensors, metadata);
                rnn_lm_save, rnn_lm_load, rnn_clf_save, rnn_clf_load,
                rnn_s2s_save, rnn_s2s_load : each model's adapter
     Appendix   the SIMD paths: SSE2, AVX2 + FMA, AVX-512, NEON

   INSIDE
     Each layer and model sizes and carves its workspace in one function
     (rnn__rec_carve_at, rnn__state_carve, rnn__lm_carve, rnn__step_carve)
     into a struct of named pointers whose comments give the shapes
     (rnn__rec_plan, ...); forward and backward read the names. One
     one-step path (rnn__state_step) serves rnn_recurrent_step and
     rnn_lm_step. The language model calls its
     layers: embedding, recurrent stack (whose layer 0 can take tokens
     through a gate table, see rnn__table_fits) and dense head.

   THREADS
     rnn.h starts no thread unless asked. By default every function is
     reentrant: the only global state is what rnn_set_sgemm and
     rnn_set_parallel set; set it before starting threads. Objects (layers,
     models, optimizers, states) hold workspaces: give each thread its own,
     or lock. A trained model can be shared read-only by threads that each
     step their own rnn_lm_state.
     To train on several cores, hand rnn.h a job system (rnn_set_parallel)
     or define RNN_THREADS and call rnn_set_threads(n): the work of each
     step is split into tasks, and no result depends on how many (the
     same losses, bit for bit, on 1 or n). While tasks > 1, call rnn.h from
     one thread at a time (the tasks' scratch is global).
         rnn_set_threads(rnn_cpu_count());   (with RNN_THREADS defined)

   MEMORY
     Everything goes through RNN_MALLOC / RNN_REALLOC / RNN_FREE (stb_ds
     through its own STBDS_REALLOC / STBDS_FREE). After the first training
     step at a shape, training and one-token inference allocate nothing
     (the tests check it through counting hooks).

   LICENSE: MIT, at the end of this file.
*/
#ifndef RNN_H
#define RNN_H

#define RNN_VERSION_MAJOR 0
#define RNN_VERSION_MINOR 1
#define RNN_VERSION_PATCH 0
#define RNN_VERSION "0.1.0"

#include <stddef.h>
#include <stdint.h>

/* stb_ds's implementation trips g++'s -Wmissing-field-initializers; keep the
   user's -Werror builds clean. */
#if defined(__GNUC__) && defined(__cplusplus)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#endif
#include <stb_ds.h>
#if defined(__GNUC__) && defined(__cplusplus)
#pragma GCC diagnostic pop
#endif

#ifdef RNN_STATIC
#if defined(__GNUC__) || defined(__clang__)
#define RNNDEF static __attribute__((unused))   /* what a program does not call is no warning */
#else
#define RNNDEF static
#endif
#else
#define RNNDEF extern
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ============================================================================
   Core: status codes, random numbers
   ========================================================================== */

/* Every function that can fail on user input or on a file returns one. */
typedef enum rnn_status {
    RNN_OK = 0,
    RNN_ERR_INVALID_ARGUMENT,   /* a NULL pointer, a size <= 0, a NaN ...  */
    RNN_ERR_OUT_OF_MEMORY,      /* RNN_MALLOC returned NULL                 */
    RNN_ERR_IO,                 /* a file could not be opened, read, written */
    RNN_ERR_FORMAT,             /* text or values not what they claim (bad
                                   UTF-8, a bad number, NaN in a tensor)   */
    RNN_ERR_TRUNCATED,          /* a file ends before its header or data do */
    RNN_ERR_HEADER,             /* a safetensors header: length or JSON bad,
                                   or a name given twice                   */
    RNN_ERR_DTYPE,              /* a tensor's dtype is unknown, or not one
                                   that reads as floats (F32, F16, BF16)   */
    RNN_ERR_OFFSETS,            /* tensor data overlaps, leaves holes, or its
                                   size disagrees with its shape           */
    RNN_ERR_SHAPE,              /* a tensor is missing or its shape is not
                                   what the model's config needs           */
    RNN_ERR_METADATA,           /* the config in a file is missing or
                                   invalid, or it holds another model      */
    RNN_ERR_CHECKSUM            /* the file's bytes do not match its CRC-32 */
} rnn_status;
#define RNN_STATUS_COUNT 12

/* A one-line English description of a status code. */
RNNDEF const char *rnn_strerror(rnn_status status);

/* The random generator: splitmix64, one 64-bit word of state, seeded
   explicitly. Same seed, same numbers, on every platform. */
typedef struct rnn_rng { uint64_t state; } rnn_rng;

/* Seeds a generator. */
RNNDEF void     rnn_rng_seed(rnn_rng *rng, uint64_t seed);
/* The next 64 random bits. */
RNNDEF uint64_t rnn_rng_u64(rnn_rng *rng);
/* A uniform float in [0, 1), 24 random bits. */
RNNDEF float    rnn_rng_uniform(rnn_rng *rng);
/* A standard normal float (Box-Muller over two uniforms). */
RNNDEF float    rnn_rng_normal(rnn_rng *rng);

/* ============================================================================
   Kernels: matrix product, activations, softmax
   ========================================================================== */

/* The matrix product every part of rnn.h goes through, row-major with BLAS
   semantics: C = alpha·op(A)·op(B) + beta·C, op(X) = Xᵀ when trans_x != 0.
   op(A) is m×k, op(B) is k×n, C is m×n; lda, ldb, ldc are the row strides
   of the arrays as stored. beta = 0 overwrites C without reading it. */
typedef void (*rnn_sgemm_fn)(int trans_a, int trans_b, int m, int n, int k,
                             float alpha, const float *a, int lda,
                             const float *b, int ldb, float beta,
                             float *c, int ldc);

/* C = alpha·op(A)·op(B) + beta·C through the current product (see above). */
RNNDEF void rnn_sgemm(int trans_a, int trans_b, int m, int n, int k,
                      float alpha, const float *a, int lda,
                      const float *b, int ldb, float beta, float *c, int ldc);
/* The built-in product, whatever rnn_set_sgemm chose. */
RNNDEF void rnn_sgemm_builtin(int trans_a, int trans_b, int m, int n, int k,
                              float alpha, const float *a, int lda,
                              const float *b, int ldb, float beta,
                              float *c, int ldc);
/* Routes every product of the library through fn; NULL restores the
   built-in. Global: call it before starting threads. (The built-in packs
   small products on the stack, up to 68 KiB, and takes one RNN_MALLOC
   block for large ones; the layers lend it their workspace instead.) */
RNNDEF void rnn_set_sgemm(rnn_sgemm_fn fn);
/* The SIMD path in use: "avx512", "avx2", "sse2", "neon" or "scalar". */
RNNDEF const char *rnn_simd_name(void);
/* The int8 kernel this CPU runs (rnn_lm_quantize): "avx512-vnni", "avx2",
   "neon-sdot", "neon" or "scalar". */
RNNDEF const char *rnn_int8_simd_name(void);

/* Threads. rnn.h starts none by itself. Hand it a job system with
   rnn_set_parallel (as rnn_set_sgemm hands it a BLAS), or compile the
   implementation with RNN_THREADS defined and call rnn_set_threads for
   its own pool (pthreads; Win32 threads on Windows). Training and large
   products then split their work into up to `tasks` parts: a recurrent
   layer's batch rows through all its steps, the rows or columns of each
   product in whole SIMD panels, the rows of point-wise passes, the
   elements of the optimizer, fixed chunks for sums. A split never changes
   a result: losses and weights are bit-identical with 1, 2 or N tasks.
   The split work keeps per-task scratch in one global place, so call
   rnn.h from one thread at a time while tasks > 1. */
/* One task of a parallel region: the i-th of n. */
typedef void (*rnn_task_fn)(void *ctx, int i);
/* A job system: call task(ctx, i) for every i in [0, n), in any order and
   on any threads, and return when all have returned. */
typedef void (*rnn_parallel_fn)(void *user, rnn_task_fn task, void *ctx, int n);
/* Routes rnn.h's parallel work through fn, split into at most `tasks`
   parts (up to 64); fn NULL or tasks <= 1: one thread again. Global, like
   rnn_set_sgemm; it stops rnn.h's own pool if one runs. */
RNNDEF void rnn_set_parallel(rnn_parallel_fn fn, void *user, int tasks);
/* The number of parts work is split into (1: one thread). */
RNNDEF int rnn_parallel_tasks(void);
/* With RNN_THREADS: starts rnn.h's own pool of n threads in all (the
   caller's included), replacing any hook; n <= 1 stops it. Without
   RNN_THREADS, or if a thread cannot be started: RNN_ERR_INVALID_ARGUMENT
   and one thread. */
RNNDEF rnn_status rnn_set_threads(int n);
/* The number of CPUs online (1 if it cannot be told). */
RNNDEF int rnn_cpu_count(void);

/* Element-wise kernels; y may be x. Accuracy against double-precision libm
   (tests/test.c checks it): sigmoid and tanh within 4e-7 relative or
   2e-38 absolute, exp within 3e-7 relative, over all finite floats. */
/* y = 1 / (1 + e^-x) */
RNNDEF void rnn_sigmoid(float *y, const float *x, size_t n);
/* y = tanh(x) */
RNNDEF void rnn_tanh(float *y, const float *x, size_t n);
/* y = max(x, 0) */
RNNDEF void rnn_relu(float *y, const float *x, size_t n);
/* y = e^x (overflow gives +inf, underflow denormals then 0) */
RNNDEF void rnn_exp(float *y, const float *x, size_t n);
/* y = softmax(x) over one row of n values, computed as e^(x - max) / sum. */
RNNDEF void rnn_softmax(float *y, const float *x, size_t n);
/* y = log softmax(x) = (x - max) - log(sum e^(x - max)) over one row. */
RNNDEF void rnn_log_softmax(float *y, const float *x, size_t n);

/* ============================================================================
   Layers: recurrent (Elman tanh / ReLU, LSTM, GRU), stacked, bidirectional
   ========================================================================== */

/* The cells. Gate order and weight layout are PyTorch's (nn.RNN, nn.LSTM,
   nn.GRU): weight_ih [G·H × I], weight_hh [G·H × H], bias_ih, bias_hh [G·H].
     RNN_TANH, RNN_RELU  h' = act(W_ih x + b_ih + W_hh h + b_hh)          G = 1
     RNN_LSTM            gates i f g o; c' = f⊙c + i⊙g, h' = o⊙tanh(c')   G = 4
     RNN_GRU             gates r z n; n = tanh(W_in x + b_in + r⊙(W_hn h + b_hn)),
                         h' = (1−z)⊙n + z⊙h   (PyTorch / cuDNN form)       G = 3
     RNN_GRU_CHO         n = tanh(W_in x + b_in + W_hn (r⊙h) + b_hn)
                         (Cho et al. 2014, the course notes' form)          G = 3 */
typedef enum rnn_cell { RNN_CELL_DEFAULT = 0 /* RNN_LSTM */, RNN_TANH, RNN_RELU, RNN_LSTM,
                        RNN_GRU, RNN_GRU_CHO } rnn_cell;

/* Initialisations. DEFAULT is PyTorch's: every weight and bias uniform in
   ±1/√H. GLOROT: uniform ±√(6/(fan_in+fan_out)) per gate block, biases 0.
   ORTHOGONAL (recurrent weights): each H×H gate block orthogonal.
   IDENTITY (recurrent weights): each gate block the identity, recurrent
   bias 0 (Le, Jaitly, Hinton 2015, for ReLU RNNs). */
typedef enum rnn_init { RNN_INIT_DEFAULT = 0, RNN_INIT_GLOROT, RNN_INIT_ORTHOGONAL,
                        RNN_INIT_IDENTITY } rnn_init;

/* A zero field means the default given here. */
typedef struct rnn_recurrent_config {
    rnn_cell cell;          /* RNN_LSTM                                         */
    int input_size;         /* required                                         */
    int hidden_size;        /* required                                         */
    int num_layers;         /* 1                                                */
    int bidirectional;      /* 0; 1 runs a second direction backwards in time   */
    float dropout;          /* 0; between layers only, in training only          */
    rnn_init input_init;    /* DEFAULT or GLOROT for weight_ih                   */
    rnn_init recurrent_init;/* DEFAULT, GLOROT, ORTHOGONAL or IDENTITY for weight_hh */
    int forget_bias_one;    /* LSTM: forget-gate bias_ih 1 and bias_hh 0         */
} rnn_recurrent_config;

/* The parameters of one layer and direction: views into one allocation. */
typedef struct rnn_recurrent_weights {
    float *w_ih, *w_hh, *b_ih, *b_hh;       /* values    */
    float *gw_ih, *gw_hh, *gb_ih, *gb_hh;   /* gradients */
    int in_size;                            /* I for layer 0, D·H above */
} rnn_recurrent_weights;

/* A recurrent stack. Read the fields, do not write them: params and grads
   hold every parameter (in PyTorch's state_dict order), w[l·D + d] points
   into them by layer l and direction d. The workspace holds what backward
   needs; it grows to the largest T·B seen and is then reused. */
typedef struct rnn_recurrent {
    rnn_recurrent_config cfg;   /* the defaults filled in */
    int gates, dirs;            /* G (1, 3, 4) and D (1, 2) */
    size_t num_params;
    float *params, *grads;
    rnn_recurrent_weights *w;
    float *ws;                  /* workspace */
    size_t ws_cap;
    int T, B, trained;          /* shape of the last forward; 1 if it cached for backward */
    uint64_t version;           /* moves when the weights may have changed (one-step states) */
    const float *x;             /* the last forward's input (must stay valid for backward) */
    const float *emb;           /* internal: layer 0 was fed by token: the embedding */
    const int *tok;             /*   [T·B] the tokens (x is NULL then)                */
    int tab_rows;               /*   V, the gate table's rows (0: fed x)              */
    int *len;                   /* [B] lengths of the last forward, then valid[B] */
    unsigned char *valid;       /* [B] internal: rows inside their length at this step */
    char error[160];            /* detail of the last failure */
} rnn_recurrent;

/* Creates a stack with weights initialised from seed. */
RNNDEF rnn_status rnn_recurrent_create(rnn_recurrent **out, const rnn_recurrent_config *cfg,
                                       uint64_t seed);
/* Frees a stack (NULL is fine). */
RNNDEF void rnn_recurrent_free(rnn_recurrent *r);
/* Finds a parameter by its PyTorch name ("weight_ih_l0", "bias_hh_l1_reverse"):
   value, gradient and element count. */
RNNDEF rnn_status rnn_recurrent_param(rnn_recurrent *r, const char *name, float **value,
                                      float **grad, size_t *count);
/* The name of parameter i in state_dict order (4 per layer and direction). */
RNNDEF void rnn_recurrent_param_name(const rnn_recurrent *r, int i, char *buf, size_t cap);
/* Sets every gradient to zero. */
RNNDEF void rnn_recurrent_zero_grad(rnn_recurrent *r);

/* Runs the stack over x [T][B][I]. lengths [B] (NULL: all T) gives each
   sequence's length, 1..T: a step past it neither changes the state nor
   gets gradient, and its output is 0 (PyTorch's packed sequences).
   h0, c0 [L·D][B][H] are the initial states (NULL: zero; c0 for LSTM).
   Writes y [T][B][D·H] and, if not NULL, the final states hn, cn
   [L·D][B][H] (each direction's last valid step). train != 0 applies
   dropout (rng required then) and keeps what backward needs; x must stay
   valid until backward. */
RNNDEF rnn_status rnn_recurrent_forward(rnn_recurrent *r, const float *x, int T, int B,
                                        const int *lengths, const float *h0, const float *c0,
                                        float *y, float *hn, float *cn, int train, rnn_rng *rng);
/* Backpropagation through the whole window of the last training forward.
   dy [T][B][D·H], dhn, dcn [L·D][B][H] (each may be NULL: zero). Adds the
   parameter gradients into r->grads and writes dx [T][B][I], dh0, dc0
   when not NULL (dx and dh0 cost products: NULL skips them). For
   truncated BPTT, feed the final state of one window as h0 of the next
   and ignore its dh0 (the state is detached). */
RNNDEF rnn_status rnn_recurrent_backward(rnn_recurrent *r, const float *dy, const float *dhn,
                                         const float *dcn, float *dx, float *dh0, float *dc0);

/* State for one-step inference, owned by the caller: h and c for every
   layer, [L][B][H], and scratch, all allocated by rnn_recurrent_state_create.
   At batch 1, where the CPU has a fast one-row kernel (AVX-512, AVX2) and the
   weights take at most 8 MB, it also keeps its own copy of the weights,
   transposed in 256-column panels, so a step reads each weight once, in
   address order. It copies them again when the layer's version moved:
   rnn_recurrent_backward moves it (update the weights right after it), and
   so does rnn_recurrent_weights_changed (call it after any other change). */
typedef struct rnn_recurrent_state {
    int batch;
    float *h, *c;       /* [L][B][H]; c is NULL unless LSTM. Zero after create. */
    float *scratch;
    float *wt;          /* the weights in panels (NULL: read in place) */
    uint64_t version;   /* the layer's version wt was copied from */
    int by_rows;        /* internal: layer 0's gates come as rows (rnn_lm) */
} rnn_recurrent_state;

/* Allocates a zeroed state for batch B (unidirectional stacks only). */
RNNDEF rnn_status rnn_recurrent_state_create(const rnn_recurrent *r, int batch,
                                             rnn_recurrent_state **out);
/* Frees a state (NULL is fine). */
RNNDEF void rnn_recurrent_state_free(rnn_recurrent_state *s);
/* Advances every layer one position: x [B][I] in, y [B][H] out (the top
   layer's h). Allocates nothing for batch <= 16 with the built-in product. */
RNNDEF rnn_status rnn_recurrent_step(const rnn_recurrent *r, rnn_recurrent_state *s,
                                     const float *x, float *y);
/* Tells the layer its weights were changed (other than right after a
   backward), so one-step states copy them again. */
RNNDEF void rnn_recurrent_weights_changed(rnn_recurrent *r);

/* ============================================================================
   Layers: embedding, dense
   ========================================================================== */

/* A lookup table [V × E]. weight and grad point into the owner's memory. */
typedef struct rnn_embedding {
    int vocab_size, embed_size;
    float *weight, *grad;
    int frozen;                 /* 1: backward adds nothing, optimizers skip it */
} rnn_embedding;

/* out[i] = weight[tokens[i]] for n tokens; a token outside 0..V-1 is an error. */
RNNDEF rnn_status rnn_embedding_forward(const rnn_embedding *e, const int *tokens, int n, float *out);
/* grad[tokens[i]] += dout[i]: only the rows used are touched; a token outside 0..V-1 adds nothing. */
RNNDEF void rnn_embedding_backward(rnn_embedding *e, const int *tokens, int n, const float *dout);
/* Loads pretrained vectors from a text file of "token v1 v2 ... vE" lines
   (GloVe / word2vec text format; a first line "count dim" is skipped) into
   the rows of the tokens named in vocab[0..V): *loaded gets how many rows
   were found. A line with the wrong count or a bad number is an
   RNN_ERR_FORMAT naming the line in err. */
RNNDEF rnn_status rnn_embedding_load_text(rnn_embedding *e, const char *path,
                                          const char *const *vocab, int *loaded,
                                          char *err, size_t errcap);
/* The course notes' recipe for pretrained vectors: the table becomes the
   file's rows for the tokens in vocab (each scaled to unit length when
   normalize is 1), every other row 0, and frozen (e->frozen = 1; freeze
   the model's registry entry too: rnn_params_freeze). On any failure the
   table is left as it was. */
RNNDEF rnn_status rnn_embedding_load_pretrained(rnn_embedding *e, const char *path, const char *const *vocab,
                                                int normalize, int *loaded, char *err, size_t errcap);

/* y = x·Wᵀ + b, W [O × I]. Pointers into the owner's memory. */
typedef struct rnn_dense {
    int in_size, out_size;
    float *weight, *bias, *gweight, *gbias;
} rnn_dense;

/* y [n × O] = x [n × I]·Wᵀ + b. */
RNNDEF void rnn_dense_forward(const rnn_dense *d, const float *x, int n, float *y);
/* gW += dyᵀ·x, gb += Σ dy; dx [n × I] = dy·W when dx is not NULL. */
RNNDEF void rnn_dense_backward(rnn_dense *d, const float *x, int n, const float *dy, float *dx);

/* ============================================================================
   Losses: each returns the mean loss and writes its gradient
   ========================================================================== */

/* Softmax cross-entropy over rows of v logits: loss = mean over counted rows
   of log Σ e^z − z[target]; dlogits = (softmax − onehot) / count. Rows whose
   target is ignore_index count for nothing and get zero gradient. dlogits
   may be logits (in place). A target outside 0..v-1 (other than
   ignore_index) or a non-finite logit is an error. */
RNNDEF rnn_status rnn_loss_softmax_xent(const float *logits, const int *targets, int n, int v,
                                        int ignore_index, float *dlogits, float *loss);
/* Binary cross-entropy with logits: mean of max(x,0) − x·t + log(1 + e^−|x|)
   over entries with mask != 0 (mask NULL: all); d = (σ(x) − t) / count. */
RNNDEF rnn_status rnn_loss_bce_logits(const float *logits, const float *targets, const float *mask,
                                      int n, float *dlogits, float *loss);
/* Mean squared error: mean (p − t)²; d = 2(p − t) / n. */
RNNDEF rnn_status rnn_loss_mse(const float *pred, const float *target, int n, float *dpred,
                               float *loss);

/* ============================================================================
   Optimizers: SGD with momentum, Adam, AdamW, RMSprop; clipping
   ========================================================================== */

/* One entry of a parameter registry (an stb_ds array of these). */
typedef struct rnn_param {
    char name[64];          /* PyTorch state_dict name: "rnn.weight_ih_l0" */
    float *value, *grad;
    size_t count;
    int rows, cols;         /* shape; cols = 0 for a vector */
    int frozen;             /* optimizers skip it */
} rnn_param;

typedef enum rnn_optimizer_kind { RNN_ADAM = 0, RNN_SGD, RNN_ADAMW, RNN_RMSPROP } rnn_optimizer_kind;

/* A zero field means the default given here. */
typedef struct rnn_optimizer_config {
    rnn_optimizer_kind kind;    /* RNN_ADAM                                          */
    float lr;                   /* 1e-3 (Adam, AdamW), 1e-2 (SGD, RMSprop)           */
    float momentum;             /* SGD, RMSprop: 0 (PyTorch's form: buf = μ·buf + g) */
    float beta1, beta2, eps;    /* 0.9, 0.999, 1e-8                                  */
    float weight_decay;         /* 0; AdamW decays the weights, the others add wd·p  */
    float clip_norm;            /* 0: off; else the gradients' global norm is capped */
    float clip_value;           /* 0: off; else each gradient is clamped to ±value   */
    float lr_decay;             /* 0: off; else lr_t = lr / (1 + lr_decay·(t−1))     */
    float alpha;                /* RMSprop: 0.99, the square average's decay (Keras's
                                   rho, whose default is 0.9 with eps 1e-7)           */
    int centered;               /* RMSprop: 0; 1 divides by the gradient's variance  */
} rnn_optimizer_config;

/* Optimizer state: step count and the moment buffers, one slot per
   parameter element of the registry it was created for. */
typedef struct rnn_optimizer {
    rnn_optimizer_config cfg;   /* the defaults filled in */
    int64_t t;
    size_t n;
    float *m, *v;               /* Adam: moments; SGD: m the momentum; RMSprop: v the
                                   square average, m the momentum */
    float *a;                   /* RMSprop centered: the gradient's average, else NULL */
    double *sums;               /* the squared gradient of each chunk (rnn_optimizer_step) */
    size_t sums_cap;
    char error[160];            /* detail of the last failure */
} rnn_optimizer;

/* Creates an optimizer for the parameters of reg (an stb_ds array). */
RNNDEF rnn_status rnn_optimizer_create(rnn_optimizer **out, const rnn_optimizer_config *cfg,
                                       const rnn_param *reg);
/* Frees an optimizer (NULL is fine). */
RNNDEF void rnn_optimizer_free(rnn_optimizer *opt);
/* Clips, then updates every parameter that is not frozen from its grad.
   *grad_norm (if not NULL) gets the global norm before clipping. A
   non-finite gradient is refused before anything changes. */
RNNDEF rnn_status rnn_optimizer_step(rnn_optimizer *opt, rnn_param *reg, float *grad_norm);
/* Sets every gradient of the registry to zero. */
RNNDEF void rnn_params_zero_grad(rnn_param *reg);
/* Freezes (frozen 1) or thaws (0) the registry's parameter called name:
   optimizers skip a frozen one. RNN_ERR_INVALID_ARGUMENT if there is none. */
RNNDEF rnn_status rnn_params_freeze(rnn_param *reg, const char *name, int frozen);

/* ============================================================================
   Attention: scaled dot-product, multi-head, layer norm, Transformer encoder
   ========================================================================== */

/* One attention call's shapes and masks. Sequences are time-major, as the
   recurrent layer's: q [Tq][B][qk_size], k [Tk][B][qk_size],
   v [Tk][B][v_size], out [Tq][B][v_size]; each row is cut into `heads`
   equal parts, head h attending with its own part of q, k and v. The masks
   keep a prefix of the keys for each query: the first key_lengths[b] keys,
   and with causal only keys j <= i for query i (PyTorch's key_padding_mask
   and is_causal). error gets the detail of a refused call. */
typedef struct rnn_attention_desc {
    int Tq, Tk, B;              /* query positions, key positions, batch          */
    int heads;                  /* 0 or 1: one head                               */
    int qk_size, v_size;        /* row widths of q and k, and of v (0: qk_size)   */
    float scale;                /* 0: 1/√(qk_size/heads); 1: Keras Attention()    */
    int causal;                 /* 1: query i sees keys 0..i only                 */
    const int *key_lengths;     /* [B] each 1..Tk, NULL: every key counts         */
    const int *query_lengths;   /* [B] each 0..Tq, NULL: all; output rows past it
                                   are 0 (Keras's query mask)                     */
    char error[128];
} rnn_attention_desc;

/* out = softmax(scale·q·kᵀ, masked)·v for every batch row and head.
   weights [B][heads][Tq][Tk] gets the softmax (masked entries 0): read it,
   and keep it for backward. v NULL: v = k (Keras Attention()([q, k])). */
RNNDEF rnn_status rnn_attention_forward(rnn_attention_desc *a, const float *q, const float *k,
                                        const float *v, float *weights, float *out);
/* Backward of rnn_attention_forward given dout: writes dq, dk, dv (each may
   be NULL: not wanted). Outputs given the same pointer get the sum of their
   parts (self-attention: dq = dk = dv); with v NULL the value's part is
   added into dk. scratch holds Tq·Tk floats. */
RNNDEF rnn_status rnn_attention_backward(rnn_attention_desc *a, const float *q, const float *k,
                                         const float *v, const float *weights, const float *dout,
                                         float *dq, float *dk, float *dv, float *scratch);

/* Writes the sinusoidal position table pe [T][E] of "Attention is all you
   need": PE(p, 2i) = sin(p / 10000^(2i/E)), PE(p, 2i+1) = cos(p / 10000^(2i/E)). */
RNNDEF void rnn_positional_encoding(float *pe, int T, int E);

/* Layer norm over rows of `size` values (nn.LayerNorm). Pointers into the
   owner's memory; eps <= 0 means PyTorch's 1e-5. */
typedef struct rnn_layernorm {
    int size;
    float eps;
    float *weight, *bias, *gweight, *gbias;
} rnn_layernorm;

/* y [n × size] = (x − mean) / √(var + eps) ⊙ weight + bias, row by row;
   stats [n][2] (NULL: not kept) gets each row's mean and 1/√(var + eps). */
RNNDEF void rnn_layernorm_forward(const rnn_layernorm *ln, const float *x, int n, float *y, float *stats);
/* Adds the weight and bias gradients; dx [n × size] (NULL: not wanted) is
   written, from the x and stats of the forward. */
RNNDEF void rnn_layernorm_backward(rnn_layernorm *ln, const float *x, const float *stats, int n,
                                   const float *dy, float *dx);

/* Multi-head attention with nn.MultiheadAttention's weights and names:
   in_proj_weight [3E × E] (the q, k, v projections, in that order),
   in_proj_bias [3E], out_proj.weight [E × E], out_proj.bias [E]. */
typedef struct rnn_mha {
    int embed_size, heads;
    rnn_param *params;          /* the registry (stb_ds array), PyTorch's names  */
    float *in_w, *in_b, *out_w, *out_b;         /* values    */
    float *g_in_w, *g_in_b, *g_out_w, *g_out_b; /* gradients */
    float *attn;                /* [B][heads][Tq][Tk] the last forward's weights */
    int Tq, Tk, B, causal, self;/* the last forward (self: query = key = value)  */
    const float *q, *k, *v;     /* its inputs: they must stay valid for backward */
    int *len;                   /* [B] its key lengths (len[0] = 0: none)        */
    float *own, *ws;
    size_t ws_cap, len_cap;
    char error[160];
} rnn_mha;

/* Creates multi-head attention over rows of E values (heads divides E),
   initialised as PyTorch does (Glorot-uniform in_proj_weight, biases 0). */
RNNDEF rnn_status rnn_mha_create(rnn_mha **out, int embed_size, int heads, uint64_t seed);
/* Frees it (NULL is fine). */
RNNDEF void rnn_mha_free(rnn_mha *m);
/* out [Tq][B][E] = attention of query [Tq][B][E] over key, value [Tk][B][E];
   key_lengths [B] (NULL: all) masks the padding, causal the future. Pass
   the same pointer three times for self-attention (one fused projection).
   Keeps what backward needs; the inputs must stay valid until then. */
RNNDEF rnn_status rnn_mha_forward(rnn_mha *m, const float *query, const float *key, const float *value,
                                  int Tq, int Tk, int B, const int *key_lengths, int causal, float *out);
/* Adds the parameter gradients and writes dquery, dkey, dvalue (each may be
   NULL); outputs given the same pointer get the sum of their parts. */
RNNDEF rnn_status rnn_mha_backward(rnn_mha *m, const float *dout, float *dquery, float *dkey, float *dvalue);

/* A zero field means the default given here. */
typedef struct rnn_encoder_config {
    int d_model;            /* required: E                                        */
    int heads;              /* 1; divides d_model                                 */
    int ff_size;            /* 4·d_model: the feed-forward's hidden width         */
    int num_layers;         /* 1                                                  */
    int norm_first;         /* 0: post-norm, x = LN(x + f(x)) (PyTorch's default);
                               1: pre-norm, x = x + f(LN(x))                      */
    int gelu;               /* 0: ReLU in the feed-forward; 1: GELU (erf form)    */
    int causal;             /* 0; 1: each position attends to itself and before  */
    int final_norm;         /* 0; 1: a LayerNorm after the last layer ("norm.*")  */
    float eps;              /* 1e-5, the layer norms'                              */
} rnn_encoder_config;

/* A stack of Transformer encoder layers (nn.TransformerEncoder over
   nn.TransformerEncoderLayer, dropout 0): each layer is multi-head
   self-attention and a position-wise feed-forward, linear1 → activation →
   linear2, each with a residual connection and a layer norm. The registry
   names are PyTorch's: layers.0.self_attn.in_proj_weight, layers.0.linear1.
   weight, layers.0.norm1.weight, ..., norm.weight. */
typedef struct rnn_encoder {
    rnn_encoder_config cfg;     /* the defaults filled in */
    rnn_mha **attn;             /* [num_layers] */
    rnn_dense *lin1, *lin2;     /* [num_layers] */
    rnn_layernorm *norm1, *norm2, norm;
    rnn_param *params;          /* the registry (stb_ds array) */
    float *own, *ws;
    size_t ws_cap;
    int T, B;                   /* shape of the last forward */
    const float *x;             /* its input (must stay valid for backward) */
    char error[160];
} rnn_encoder;

/* Creates an encoder stack, initialised as PyTorch does. */
RNNDEF rnn_status rnn_encoder_create(rnn_encoder **out, const rnn_encoder_config *cfg, uint64_t seed);
/* Frees it (NULL is fine). */
RNNDEF void rnn_encoder_free(rnn_encoder *e);
/* y [T][B][E] from x [T][B][E]; lengths [B] (NULL: all T) masks padded
   keys (src_key_padding_mask); padded positions still get outputs, as in
   PyTorch. Keeps what backward needs; x must stay valid until then. */
RNNDEF rnn_status rnn_encoder_forward(rnn_encoder *e, const float *x, int T, int B, const int *lengths,
                                      float *y);
/* Adds the parameter gradients; dx [T][B][E] (NULL: not wanted). */
RNNDEF rnn_status rnn_encoder_backward(rnn_encoder *e, const float *dy, float *dx);

/* ============================================================================
   Models: language model
   ========================================================================== */

/* A zero field means the default given here. */
typedef struct rnn_lm_config {
    int vocab_size;         /* required                                    */
    int embed_size;         /* 64                                          */
    int hidden_size;        /* 256                                         */
    int num_layers;         /* 2                                           */
    rnn_cell cell;          /* RNN_LSTM                                    */
    float dropout;          /* 0, between recurrent layers                 */
    int freeze_embedding;   /* 0                                           */
} rnn_lm_config;

/* embedding → recurrent stack → dense over the vocabulary. The registry
   names follow a PyTorch module with attributes embedding, rnn, head. */
typedef struct rnn_lm {
    rnn_lm_config cfg;      /* the defaults filled in */
    rnn_embedding embedding;
    rnn_recurrent *rnn;
    rnn_dense head;
    rnn_param *params;      /* the registry (stb_ds array) */
    float *own;             /* embedding and head values and grads */
    float *ws;              /* training workspace */
    size_t ws_cap;
    float *h, *c;           /* state carried between training windows [L][B][H] */
    int state_batch;        /* B of the carried state; 0: none */
    rnn_rng rng;            /* dropout */
    char error[160];
    struct rnn_vocab *vocab;/* the tokens' text, saved with the model; NULL: plain ids */
    struct rnn_words *words;/* or its words (rnn_lm_set_words) */
    uint64_t version;       /* bumped when the weights change (see rnn_lm_weights_changed) */
    struct rnn_q8 *q8;      /* the int8 weights rnn_lm_step reads (rnn_lm_quantize), or NULL */
} rnn_lm;

/* Creates a language model with weights from seed. */
RNNDEF rnn_status rnn_lm_create(rnn_lm **out, const rnn_lm_config *cfg, uint64_t seed);
/* Frees a model (NULL is fine). */
RNNDEF void rnn_lm_free(rnn_lm *m);
/* One step of truncated BPTT on inputs, targets [T][B] (target -1: ignored).
   The state starts from the previous call's final state (detached), or zero
   after rnn_lm_reset_state or when B changes. opt NULL: gradients only, no
   update. *loss gets the mean cross-entropy (nats per token). */
RNNDEF rnn_status rnn_lm_train_step(rnn_lm *m, rnn_optimizer *opt, const int *inputs,
                                    const int *targets, int T, int B, float *loss);
/* Forgets the carried state: the next window starts from zero. */
RNNDEF void rnn_lm_reset_state(rnn_lm *m);
/* Mean cross-entropy of targets given inputs [T][B], from a zero state, no
   dropout, no gradient. */
RNNDEF rnn_status rnn_lm_eval(rnn_lm *m, const int *inputs, const int *targets, int T, int B,
                              float *loss);

/* One-token inference state, owned by the caller. Where the CPU has a fast
   row-times-matrix kernel (AVX-512, AVX2) and the model is at most 8 MB, the
   recurrent state keeps the stack's weights in panels (see
   rnn_recurrent_state), and this one W_headᵀ in panels and, for a small
   vocabulary, layer 0's gates of every token (the gate table); it copies
   them again by itself when rnn_lm_train_step (or rnn_lm_weights_changed)
   moved the weights. */
typedef struct rnn_lm_state {
    rnn_recurrent_state *rnn;
    float *x, *logits;      /* [E], [V] */
    float *wt;              /* gate table and head in panels (NULL: not used) */
    uint64_t version;       /* the model version wt was copied from */
    int quantized;          /* made for an int8 model (rnn_lm_quantize) */
} rnn_lm_state;

/* Allocates a zeroed one-token state. */
RNNDEF rnn_status rnn_lm_state_create(const rnn_lm *m, rnn_lm_state **out);
/* Frees a state (NULL is fine). */
RNNDEF void rnn_lm_state_free(rnn_lm_state *s);
/* Zeroes a state: the next token starts a new text. */
RNNDEF void rnn_lm_state_reset(const rnn_lm *m, rnn_lm_state *s);
/* Tells the model its weights were changed by hand (not through
   rnn_lm_train_step or rnn_lm_load), so inference states refresh. */
RNNDEF void rnn_lm_weights_changed(rnn_lm *m);
/* Feeds one token and returns the logits of the next [V] (inside s; valid
   until the next call), or NULL for a token outside 0..V-1, or for a state
   made before rnn_lm_quantize. No allocation. */
RNNDEF const float *rnn_lm_step(const rnn_lm *m, rnn_lm_state *s, int token);

/* Quantizes the model for inference: each matrix (embedding, every W_ih
   and W_hh, head) to int8 with one F32 scale a row; biases stay F32.
   rnn_lm_step then multiplies int8 weights by each token's activations
   quantized to int8 (a quarter of the bytes to read), the gate math in
   F32. The float weights become the values the int8 ones stand for (so
   rnn_lm_eval measures them, with float activations), rnn_lm_save writes
   an int8 checkpoint (I8 tensors, a quarter of the size), and training
   refuses the model. Make inference states again after it.
   tokens [n] (NULL, 0: none), text like the training text, calibrate:
   the float model reads them first; each row is then rounded so that its
   error over those inputs stays small (GPTQ, for H and E up to 1024), and
   each bias absorbs the mean error its row's rounding leaves over them,
   Σ_i (W − Ŵ)[j][i]·mean(x_i) (bias correction; not for layer 0's input
   side, which reads tokens). */
RNNDEF rnn_status rnn_lm_quantize(rnn_lm *m, const int *tokens, size_t n);
/* 1 if m's weights are int8 (rnn_lm_quantize, or read from an int8 file). */
RNNDEF int rnn_lm_is_quantized(const rnn_lm *m);
/* on = 1: each int8 product's input in two int8 levels (its rounding error
   quantized again), about as precise as 16-bit inputs and twice the kernel
   work a token; 0 (the default): one. An inference setting, not saved.
   RNN_ERR_INVALID_ARGUMENT for a model that is not int8. */
RNNDEF rnn_status rnn_lm_int8_precise(rnn_lm *m, int on);

/* ============================================================================
   Models: classifier
   ========================================================================== */

/* How a classifier turns a sequence of features into one vector. */
typedef enum rnn_pool {
    RNN_POOL_DEFAULT = 0,   /* RNN_POOL_ATTENTION */
    RNN_POOL_LAST,          /* the last valid position; a bidirectional stack's
                               backward half at position 0 (PyTorch's h_n) */
    RNN_POOL_MEAN,          /* the mean over the valid positions            */
    RNN_POOL_MAX,           /* the largest value of each feature            */
    RNN_POOL_ATTENTION      /* softmax(q·f_t / √D)-weighted sum, q learned  */
} rnn_pool;

/* A zero field means the default given here. */
typedef struct rnn_clf_config {
    int vocab_size;         /* required                                           */
    int num_classes;        /* required                                           */
    int multi_label;        /* 0: softmax over classes; 1: a sigmoid per class    */
    int embed_size;         /* 64 (the Transformer's d_model)                     */
    int transformer;        /* 0: recurrent stack; 1: Transformer encoder blocks  */
    rnn_cell cell;          /* recurrent: RNN_LSTM                                */
    int hidden_size;        /* recurrent: 128                                     */
    int bidirectional;      /* recurrent: 0                                       */
    int num_layers;         /* 1                                                  */
    int heads;              /* Transformer: 4                                     */
    int ff_size;            /* Transformer: 4·embed_size                          */
    int norm_first;         /* Transformer: 0 post-norm, 1 pre-norm               */
    int gelu;               /* Transformer: 0 ReLU, 1 GELU in the feed-forward    */
    int learned_positions;  /* Transformer: 0 sinusoidal, 1 a learned table       */
    int max_len;            /* 256: the longest sequence, in tokens               */
    rnn_pool pool;          /* RNN_POOL_ATTENTION                                 */
    float dropout;          /* 0; in training: on the embedded inputs, between
                               recurrent layers, and on the pooled vector         */
    int self_attention;     /* 1: the course notes' self-attention encoder instead
                               of a recurrent stack: q = W_q x + b_q and
                               k = W_k x + b_k (attention_size wide), features
                               softmax(q·kᵀ)·k (Keras's Attention()([q, k]), with
                               the padding masked for keys and queries)           */
    int attention_size;     /* self-attention: 60                                 */
    int dense_size;         /* 0: none; else a ReLU dense layer of this width
                               between the pooled vector and the head (the notes'
                               Dense(100))                                        */
} rnn_clf_config;

/* embedding (+ positions) → recurrent stack, Transformer encoder or the
   notes' self-attention → pooling (→ ReLU dense) → dense → softmax or
   sigmoid. Registry names follow a PyTorch module with attributes
   embedding, positions, rnn or encoder or attn (attn.query, attn.key),
   pool (its query), dense, head. */
typedef struct rnn_clf {
    rnn_clf_config cfg;         /* the defaults filled in */
    int feat;                   /* D, the features' width: dirs·H or embed_size */
    rnn_embedding embedding, positions;
    rnn_recurrent *rnn;         /* one of these two */
    rnn_encoder *enc;
    float *query, *gquery;      /* [D] attention pooling's query */
    rnn_dense q_proj, k_proj;   /* self-attention: [A × E] each */
    rnn_dense dense;            /* [dense_size × D] when dense_size */
    rnn_dense head;             /* [C × D], or [C × dense_size] */
    rnn_param *params;          /* the registry (stb_ds array) */
    float *pe;                  /* [max_len][E] the sinusoidal table */
    const float *pool_weights;  /* [B][T] attention pooling's weights in the
                                   last forward (NULL for other pools)       */
    const float *attn_weights;  /* [B][T][T] self-attention's weights in the
                                   last forward (NULL for other encoders)    */
    int T, B;                   /* shape of the last forward */
    float *own, *ws;
    size_t ws_cap;
    int *iws;                   /* tokens [T·B], lengths [B] of the last forward */
    size_t iws_cap;
    int *ids;                   /* [max_len] rnn_clf_classify's tokens */
    char **labels;              /* the classes' names (stb_ds array), or NULL */
    rnn_rng rng;                /* dropout */
    struct rnn_vocab *vocab;    /* the tokens' text, by character; NULL: plain ids */
    struct rnn_words *words;    /* or by word (rnn_clf_set_words)                */
    char error[160];
} rnn_clf;

/* Creates a classifier with weights from seed. */
RNNDEF rnn_status rnn_clf_create(rnn_clf **out, const rnn_clf_config *cfg, uint64_t seed);
/* Frees it (NULL is fine). */
RNNDEF void rnn_clf_free(rnn_clf *c);
/* One training step on a padded batch: tokens [T][B] (positions past a
   length are ignored), lengths [B] in 1..T (NULL: all T), T <= max_len;
   labels [B] class ids (softmax), or targets [B][C] in [0, 1] (multi_label).
   opt NULL: gradients only. *loss gets the mean loss. */
RNNDEF rnn_status rnn_clf_train_step(rnn_clf *c, rnn_optimizer *opt, const int *tokens, const int *lengths,
                                     int T, int B, const int *labels, const float *targets, float *loss);
/* probs [B][C] for a padded batch: no dropout, no gradient. */
RNNDEF rnn_status rnn_clf_predict(rnn_clf *c, const int *tokens, const int *lengths, int T, int B, float *probs);
/* probs [C] of one UTF-8 text through the model's vocabulary: its
   characters, or its words when the model has a word vocabulary (an
   unknown word is <unk>, and a text longer than max_len words keeps its
   last max_len, as the notes' pad_sequences does). An empty text (or one
   with no word), one longer than max_len characters, bad UTF-8 or a
   character not in the vocabulary is refused, with the reason in
   c->error. After a text as long as any before, nothing is allocated. */
RNNDEF rnn_status rnn_clf_classify(rnn_clf *c, const char *text, size_t len, float *probs);
/* Gives the model names for its classes (num_classes strings of 1..255
   bytes, copied; NULL: none), saved with it. */
RNNDEF rnn_status rnn_clf_set_labels(rnn_clf *c, const char *const *names);

/* ============================================================================
   Models: sequence to sequence
   ========================================================================== */

/* How a decoder state h scores the encoder's outputs e_j (Luong, Pham,
   Manning 2015, global attention). */
typedef enum rnn_s2s_score {
    RNN_S2S_NO_ATTENTION = 0,
    RNN_S2S_DOT,            /* score = h·e_j                                  */
    RNN_S2S_GENERAL         /* score = h·(W_a e_j), W_a [H × H] learned       */
} rnn_s2s_score;

/* A zero field means the default given here. */
typedef struct rnn_s2s_config {
    int src_vocab;          /* required: source tokens are 0..src_vocab−1          */
    int tgt_vocab;          /* required: output tokens are 0..tgt_vocab−1          */
    int one_hot;            /* 0: embeddings; 1: one-hot inputs (the notes' model)  */
    int embed_size;         /* 64, both embeddings                                  */
    rnn_cell cell;          /* RNN_LSTM, both stacks                                */
    int hidden_size;        /* 128, both stacks                                     */
    int num_layers;         /* 1, each stack                                        */
    int bidirectional;      /* 0; 1: the encoder runs both ways and its two halves
                               are summed (outputs and final states)                */
    rnn_s2s_score attention;/* RNN_S2S_NO_ATTENTION                                 */
    int repeat;             /* 0: teacher forcing, the decoder starts from the
                               encoder's final states and reads <s>, y_0, y_1, ...;
                               1: the course notes' Keras model (RepeatVector): the
                               encoder's last output is the decoder's input at every
                               step, the decoder starts from zero                   */
    int max_src_len;        /* 64: the longest source, in tokens (at most 4096)     */
    int max_tgt_len;        /* 64: the longest output, in tokens (at most 4096)     */
    float dropout;          /* 0; between stacked layers, in training only          */
} rnn_s2s_config;

/* encoder: embedding or one-hot → recurrent stack; decoder: embedding or
   one-hot (or the repeated encoder output) → recurrent stack; with
   attention, h̃_t = tanh(W_c [c_t; h_t] + b_c) where c_t = Σ_j α_tj e_j;
   head: logits = W h̃_t + b (h_t without attention). Registry names follow a
   PyTorch module: encoder.embedding.weight, encoder.rnn.*,
   decoder.embedding.weight ([tgt_vocab + 1] rows: the last is <s>),
   decoder.rnn.*, attn.score.weight (general), attn.combine.weight,
   attn.combine.bias, head.weight, head.bias. */
typedef struct rnn_s2s {
    rnn_s2s_config cfg;             /* the defaults filled in */
    rnn_embedding src_embedding;    /* [src_vocab × E] (unused with one_hot) */
    rnn_embedding tgt_embedding;    /* [(tgt_vocab + 1) × E]                 */
    rnn_recurrent *enc, *dec;
    float *wa, *gwa;                /* [H × H] the general score's W_a      */
    rnn_dense combine;              /* [H × 2H] W_c, b_c                    */
    rnn_dense head;                 /* [tgt_vocab × H]                      */
    rnn_param *params;              /* the registry (stb_ds array)          */
    const float *attn_weights;      /* [B][Tt][Ts] α of the last training step */
    float *decode_weights;          /* [n][src_len] α of the last decode's output */
    int Ts, Tt, B;                  /* shape of the last training step      */
    float *own, *ws, *dws;
    size_t ws_cap;
    int *iws;
    size_t iws_cap;
    rnn_recurrent_state *state;     /* the decoder's one-step state */
    struct rnn_vocab *src_text, *tgt_text;   /* the tokens' text, or NULL */
    rnn_rng rng;                    /* dropout */
    char error[160];
} rnn_s2s;

/* Creates a model with weights from seed. */
RNNDEF rnn_status rnn_s2s_create(rnn_s2s **out, const rnn_s2s_config *cfg, uint64_t seed);
/* Frees it (NULL is fine). */
RNNDEF void rnn_s2s_free(rnn_s2s *s);
/* One teacher-forced training step on padded batches: src [Ts][B] with
   src_lengths [B] (1..Ts; NULL: all Ts), tgt [Tt][B] the outputs to predict
   (no <s>; add an end token of your own if you want one) with tgt_lengths
   [B] (1..Tt; NULL: all Tt). The loss is the mean cross-entropy over the
   valid output positions. opt NULL: gradients only. */
RNNDEF rnn_status rnn_s2s_train_step(rnn_s2s *s, rnn_optimizer *opt, const int *src, const int *src_lengths, int Ts,
                                     const int *tgt, const int *tgt_lengths, int Tt, int B, float *loss);
/* The same loss with no dropout, no gradient, no update. */
RNNDEF rnn_status rnn_s2s_eval(rnn_s2s *s, const int *src, const int *src_lengths, int Ts, const int *tgt,
                               const int *tgt_lengths, int Tt, int B, float *loss);
/* Decodes one source src [src_len]: greedy (beam_width <= 1) or beam search
   (rnn_beam_search, scores normalised by length). Stops after end_token (-1:
   none; it is not written) or max_tgt_len tokens; writes the tokens to
   out [cap] and their count to *n, and the attention weights of each
   output token to decode_weights. Greedy decoding allocates nothing after
   the first call; beam search allocates its beams once a call. */
RNNDEF rnn_status rnn_s2s_decode(rnn_s2s *s, const int *src, int src_len, int beam_width, int end_token, int *out,
                                 int cap, int *n);
/* ============================================================================
   Decoding: sampling, beam search
   ========================================================================== */

/* Draws the next token from logits[n] into *token. temperature 0: the most
   likely (argmax); else softmax(logits / temperature), kept to the top_k
   most likely (0: all) and then to the smallest set whose probability
   reaches top_p (1: all), renormalised (tokens of equal weight at a cut are
   kept together).
   No allocation (about 17 KB of stack). Bad arguments (n <= 0, temperature < 0, top_k < 0, top_p
   outside (0, 1], NaN logits, no rng when one is needed) get
   RNN_ERR_INVALID_ARGUMENT. */
RNNDEF rnn_status rnn_sample(const float *logits, int n, float temperature, int top_k, float top_p,
                             rnn_rng *rng, int *token);

/* The step of a decoder for beam search: advance state (state_size bytes,
   the caller's own layout, updated in place) by token, and write the
   log-probabilities of the next token into logp[vocab_size]. */
typedef rnn_status (*rnn_beam_step_fn)(void *user, void *state, int token, float *logp);

/* Zero fields take the defaults given here. */
typedef struct rnn_beam_config {
    int vocab_size;           /* required                                        */
    int beam_width;           /* 4                                               */
    int max_length;           /* 64 tokens after start_token, end_token included */
    int num_results;          /* 1 (at most beam_width)                          */
    int start_token;          /* fed first (<s>)                                 */
    int end_token;            /* ends a hypothesis (<e>); -1: none               */
    float length_alpha;       /* score = Σ log p / length^alpha: 1 is the mean
                                 log-probability of the course notes, 0 the sum */
    size_t state_size;        /* bytes of one hypothesis' state                  */
    const void *initial_state;/* state before start_token                        */
} rnn_beam_config;

/* The n best hypotheses, best first. Free with rnn_beam_result_free. */
typedef struct rnn_beam_result {
    int count;
    int *tokens;              /* count × max_length, row i is hypothesis i    */
    int *lengths;             /* tokens in each row (end_token included)      */
    float *scores;            /* Σ log p / length^alpha                       */
    float *logprobs;          /* Σ log p                                      */
    int *finished;            /* 1 if the row ends with end_token             */
} rnn_beam_result;

/* Beam search: keeps the beam_width best partial hypotheses by summed
   log-probability, copies and reorders their states itself, sets aside each
   one that emits end_token, and returns the num_results best of those (and
   of the unfinished ones at max_length) by length-normalised score. A step
   may give -inf (log 0) to tokens that cannot follow; when no hypothesis
   has a probability above 0 the result has count 0 (RNN_OK). NaN or +inf
   from a step is RNN_ERR_INVALID_ARGUMENT. */
RNNDEF rnn_status rnn_beam_search(const rnn_beam_config *cfg, rnn_beam_step_fn step, void *user,
                                  rnn_beam_result *out);
/* Frees a result's arrays. */
RNNDEF void rnn_beam_result_free(rnn_beam_result *r);

/* ============================================================================
   Text: char vocabulary over UTF-8, corpus batcher
   ========================================================================== */

/* One entry of the vocabulary's hash: a character's UTF-8 and its id
   (string keys, since stb_ds's other keys need typeof, which strict C99
   gcc lacks). */
typedef struct rnn_vocab_entry { char *key; int value; } rnn_vocab_entry;

/* A vocabulary of Unicode code points, ids in code point order. */
typedef struct rnn_vocab {
    uint32_t *chars;        /* stb_ds array: id -> code point */
    rnn_vocab_entry *ids;   /* stb_ds string hash: UTF-8 -> id */
} rnn_vocab;

/* Builds the vocabulary of a UTF-8 text. Invalid UTF-8 is an RNN_ERR_FORMAT
   with its byte offset in *bad_offset. Clear it with rnn_vocab_free. */
RNNDEF rnn_status rnn_vocab_from_text(rnn_vocab *v, const char *text, size_t len, size_t *bad_offset);
/* Frees the vocabulary's arrays; the struct can be reused. */
RNNDEF void rnn_vocab_free(rnn_vocab *v);
/* The number of ids. */
RNNDEF int rnn_vocab_size(const rnn_vocab *v);
/* Encodes text into at most cap ids (*n gets the count, which may exceed
   cap: call with cap 0 to size). Invalid UTF-8: RNN_ERR_FORMAT; a character
   not in the vocabulary: RNN_ERR_INVALID_ARGUMENT; both at *bad_offset. */
RNNDEF rnn_status rnn_vocab_encode(const rnn_vocab *v, const char *text, size_t len, int *ids,
                                   size_t cap, size_t *n, size_t *bad_offset);
/* Writes the UTF-8 of ids into out (at most cap bytes, NUL-terminated when
   cap > 0) and returns the bytes the whole text needs, without the NUL. An
   id outside the vocabulary becomes U+FFFD. */
RNNDEF size_t rnn_vocab_decode(const rnn_vocab *v, const int *ids, size_t n, char *out, size_t cap);
/* Encodes one code point as UTF-8 into out[4]; returns its length (0 if it
   is not a Unicode scalar value). */
RNNDEF int rnn_utf8_encode(uint32_t cp, char *out);
/* Decodes one UTF-8 character at s (len bytes left): its length, or 0 if the
   bytes are not well-formed UTF-8 (overlong, surrogate, > U+10FFFF, cut). */
RNNDEF int rnn_utf8_decode(const char *s, size_t len, uint32_t *cp);

/* B parallel streams over a token sequence, windows of T (char-rnn style):
   stream b reads data[b·L ...] with L = (n − 1) / B, so the state of row b
   carries over from one window to the next. */
typedef struct rnn_batcher {
    const int *data;
    size_t n, stream_len, pos, offset;
    int T, B, epoch;
} rnn_batcher;

/* The validation split of n tokens: the first returned count train, the
   rest (a share val_fraction in [0, 1), rounded down) validate. */
RNNDEF size_t rnn_batcher_split(size_t n, float val_fraction);
/* Prepares a batcher; n must be at least B·(T + 1). */
RNNDEF rnn_status rnn_batcher_init(rnn_batcher *bt, const int *data, size_t n, int T, int B);
/* Fills inputs and targets [T][B] (targets = the next tokens). Returns 1
   when this window starts a new epoch (reset the carried state), else 0.
   With rng, each new epoch starts the streams at a random phase. */
RNNDEF int rnn_batcher_next(rnn_batcher *bt, int *inputs, int *targets, rnn_rng *rng);

/* Batches of sequences of similar length (bucketing), so padded batches
   waste little: each epoch shuffles the n sequences, sorts each run of 64
   batches' worth by length, cuts the runs into batches and shuffles the
   batches' order. Deterministic from the seed. */
typedef struct rnn_buckets {
    const int *lengths;     /* [n] the caller's, read at each new epoch */
    int n, batch, nbatches, next, epoch;
    int *order;             /* [n] this epoch's sequences, batch after batch */
    int *starts;            /* [nbatches + 1] where each batch starts in order */
    int *perm;              /* [nbatches] the order the batches are given in */
    uint64_t *keys;         /* [n] sort space */
    rnn_rng rng;
} rnn_buckets;

/* Prepares batches of at most `batch` of n sequences with these lengths. */
RNNDEF rnn_status rnn_buckets_init(rnn_buckets *bk, const int *lengths, int n, int batch, uint64_t seed);
/* Writes the next batch's sequence indices into idx [batch] and returns
   their count; after an epoch's last batch a new epoch begins (bk->epoch
   counts the finished ones). */
RNNDEF int rnn_buckets_next(rnn_buckets *bk, int *idx);
/* Frees the batcher's arrays. */
RNNDEF void rnn_buckets_free(rnn_buckets *bk);

/* Word vocabularies (the course notes' word-level models). Text is cut into
   words at white space; punctuation (ASCII's, and Unicode's general and
   CJK punctuation blocks) is dropped as Keras's Tokenizer filters it, split
   off as tokens of its own, or kept inside words. The apostrophe (' and
   U+2019) stays inside words ("don't"), as Keras keeps it. Lower-casing
   covers ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic. Ids go by
   frequency after four reserved ones. */
typedef enum rnn_punct {
    RNN_PUNCT_DROP = 0,     /* punctuation separates words and is dropped */
    RNN_PUNCT_SPLIT,        /* each punctuation character is a token      */
    RNN_PUNCT_KEEP          /* only white space separates                 */
} rnn_punct;

#define RNN_PAD 0           /* padding: Keras's mask_zero id              */
#define RNN_UNK 1           /* a word not in the vocabulary               */
#define RNN_BOS 2           /* <s>                                        */
#define RNN_EOS 3           /* <e>                                        */
#define RNN_WORDS_RESERVED 4

/* A zero field means the default given here. */
typedef struct rnn_words_config {
    int max_words;          /* 0: no limit; else at most this many ids, the
                               reserved four included (Keras's num_words)  */
    int min_count;          /* 1: a word seen fewer times is <unk>         */
    int keep_case;          /* 0: lower-case; 1: keep the text's case      */
    rnn_punct punct;        /* RNN_PUNCT_DROP                              */
} rnn_words_config;

/* A word vocabulary: id → word, word → id, and each word's count in the
   texts it was built from. */
typedef struct rnn_words {
    rnn_words_config cfg;   /* the defaults filled in */
    char **words;           /* stb_ds array: id -> word ("<pad>", "<unk>", "<s>", "<e>", then by frequency) */
    long *counts;           /* stb_ds array: id -> count (0 for the reserved) */
    rnn_vocab_entry *ids;   /* stb_ds string hash: word -> id */
    char error[160];
} rnn_words;

/* Builds a vocabulary from n UTF-8 texts (lens[i] bytes each): ids 4.. by
   count, most frequent first, ties in byte order. Invalid UTF-8 is an
   RNN_ERR_FORMAT naming the text and byte in w->error. Free with
   rnn_words_free. */
RNNDEF rnn_status rnn_words_build(rnn_words *w, const rnn_words_config *cfg, const char *const *texts,
                                  const size_t *lens, int n);
/* Frees the vocabulary's arrays; the struct can be reused. */
RNNDEF void rnn_words_free(rnn_words *w);
/* The number of ids, the reserved four included. */
RNNDEF int rnn_words_size(const rnn_words *w);
/* Cuts text into words and writes at most cap ids (*n gets the count,
   which may exceed cap: call with cap 0 to size); a word not in the
   vocabulary is RNN_UNK. Invalid UTF-8: RNN_ERR_FORMAT at *bad_offset.
   Allocates nothing. */
RNNDEF rnn_status rnn_words_encode(const rnn_words *w, const char *text, size_t len, int *ids, size_t cap,
                                   size_t *n, size_t *bad_offset);
/* Writes the words of ids joined by single spaces (RNN_PAD left out, an id
   outside the vocabulary as "<unk>") into out (at most cap bytes,
   NUL-terminated when cap > 0); returns the bytes the whole text needs. */
RNNDEF size_t rnn_words_decode(const rnn_words *w, const int *ids, size_t n, char *out, size_t cap);

/* Which end of a long sequence rnn_pad_batch keeps. */
typedef enum rnn_truncate {
    RNN_KEEP_LAST = 0,      /* the last T tokens (Keras pad_sequences' default, truncating="pre") */
    RNN_KEEP_FIRST          /* the first T tokens (truncating="post")                             */
} rnn_truncate;

/* A padded batch, time-major as the models take it, from B sequences
   seqs[b] of lens[b] tokens: each cut to its last (or first) T tokens,
   written from position 0 with RNN_PAD after it into tokens [T][B], its
   length into lengths [B]. With the models' lengths this is Keras's
   pad_sequences (padding="pre") with mask_zero: a padded position neither
   changes the state nor gets gradient. An empty sequence gets length 0,
   which the models refuse: leave empty texts out. */
RNNDEF void rnn_pad_batch(const int *const *seqs, const int *lens, int B, int T, rnn_truncate keep, int *tokens,
                          int *lengths);


/* Gives the model a copy of a vocabulary (vocab_size must match), so that
   checkpoints carry it. */
RNNDEF rnn_status rnn_lm_set_vocab(rnn_lm *m, const rnn_vocab *v);
/* Gives a language model a copy of a word vocabulary (rnn_words_size must
   be vocab_size), saved in its checkpoints (metadata "words"), in place of
   a char vocabulary: a word-level language model. */
RNNDEF rnn_status rnn_lm_set_words(rnn_lm *m, const rnn_words *w);
/* The same for a classifier. */
RNNDEF rnn_status rnn_clf_set_vocab(rnn_clf *c, const rnn_vocab *v);
/* The same for a sequence-to-sequence model: the source's and the output's
   vocabularies (either NULL: left as it is). */
RNNDEF rnn_status rnn_s2s_set_vocab(rnn_s2s *s, const rnn_vocab *src, const rnn_vocab *tgt);
/* Gives a classifier a copy of a word vocabulary (rnn_words_size must be
   vocab_size): rnn_clf_classify then reads words, and checkpoints carry it
   (metadata "words" and its cutting options). It replaces a char
   vocabulary. */
RNNDEF rnn_status rnn_clf_set_words(rnn_clf *c, const rnn_words *w);

/* ============================================================================
   I/O: safetensors files, then each model's checkpoint
   ========================================================================== */

/* Two floors. The first reads and writes any safetensors file (named
   tensors and string metadata) and knows nothing about models: every
   length, offset, shape and dtype is checked against the file; F32, F16
   and BF16 tensors read as floats. Its writer adds two metadata entries,
   "writer": "rnn.h" and "crc32" (the CRC-32 of the header with those 8 hex
   digits as "00000000", then of the data); the reader verifies crc32 when
   present, and refuses a file that says rnn.h wrote it but has none, so
   any flipped bit of an rnn.h file is caught, while the files PyTorch
   users save (no checksum) load. The second floor is one small adapter
   per model (rnn_lm_save / rnn_lm_load) over the first. */

/* One tensor of a file: its dtype ("F32", "F16", "BF16", "I64", ...),
   shape, and byte range [begin, end) in the data section. */
typedef struct rnn_st_tensor {
    char *name;
    char dtype[8];
    int ndim;
    uint64_t dims[8];
    uint64_t begin, end;
} rnn_st_tensor;

/* One metadata entry. raw points at the value's bytes in the header. */
typedef struct rnn_st_meta {
    char *key, *value;
    const char *raw;
    size_t rawlen;
} rnn_st_meta;

/* A safetensors file opened for reading. Zero it before the first open. */
typedef struct rnn_st_file {
    rnn_st_tensor *tensors;     /* stb_ds array, in header order */
    rnn_st_meta *meta;          /* stb_ds array, in header order */
    const unsigned char *data;  /* the data section */
    uint64_t data_size;
    int checksummed;            /* 1: the file carried a crc32, and it matched */
    unsigned char *own;         /* the file's bytes, when rnn_st_open read them */
    char error[200];            /* detail of the last failure */
} rnn_st_file;

/* Reads and checks a file. On failure f holds nothing but the error. */
RNNDEF rnn_status rnn_st_open(rnn_st_file *f, const char *path);
/* The same over bytes in memory, which must outlive f. */
RNNDEF rnn_status rnn_st_open_memory(rnn_st_file *f, const void *bytes, size_t size);
/* Frees what f holds (the struct can be reused). */
RNNDEF void rnn_st_close(rnn_st_file *f);
/* The value of a metadata key, or NULL. */
RNNDEF const char *rnn_st_meta_get(const rnn_st_file *f, const char *key);
/* The tensor of that name, or NULL. */
RNNDEF const rnn_st_tensor *rnn_st_find(const rnn_st_file *f, const char *name);
/* Reads tensor name as floats into dst, converting F16 and BF16. Its shape
   must be dims[0..ndim) (RNN_ERR_SHAPE otherwise, or when missing); another
   dtype is RNN_ERR_DTYPE; NaN or infinity is RNN_ERR_FORMAT. */
RNNDEF rnn_status rnn_st_read(rnn_st_file *f, const char *name, int ndim, const int *dims, float *dst);
/* Reads an I8 tensor into dst, its shape checked as rnn_st_read does. */
RNNDEF rnn_status rnn_st_read_i8(rnn_st_file *f, const char *name, int ndim, const int *dims, int8_t *dst);
/* The bytes of one element of a dtype (0: not a safetensors dtype). */
RNNDEF int rnn_st_dtype_size(const char *dtype);

/* A file being written: zero it, add metadata and F32 (or I8) tensors,
   save. The data pointers must stay valid until rnn_st_save. */
typedef struct rnn_st_writer {
    rnn_st_tensor *tensors;     /* stb_ds array (offsets filled in by rnn_st_save) */
    const void **data;          /* stb_ds array, one per tensor */
    rnn_st_meta *meta;          /* stb_ds array */
    rnn_status status;          /* the first failure of a put, returned by rnn_st_save */
    char error[200];
} rnn_st_writer;

/* Adds a metadata entry (copied). */
RNNDEF void rnn_st_put_meta(rnn_st_writer *w, const char *key, const char *value);
/* Adds an F32 tensor of shape dims[0..ndim) (ndim <= 8; the name is copied,
   the data is not). */
RNNDEF void rnn_st_put_tensor(rnn_st_writer *w, const char *name, const float *data, int ndim,
                              const int *dims);
/* The same for an I8 tensor (int8 weights). */
RNNDEF void rnn_st_put_tensor_i8(rnn_st_writer *w, const char *name, const int8_t *data, int ndim,
                                 const int *dims);
/* Writes the file atomically: a temporary file beside path, flushed and
   synced, then renamed over it, so a crash never leaves half a file. */
RNNDEF rnn_status rnn_st_save(rnn_st_writer *w, const char *path);
/* Frees what w holds (the struct can be reused after zeroing). */
RNNDEF void rnn_st_writer_free(rnn_st_writer *w);
/* CRC-32 (IEEE 802.3, as zlib) of n bytes, continuing from crc (start 0). */
RNNDEF uint32_t rnn_crc32(uint32_t crc, const void *data, size_t n);

/* Writes the model (and, if opt is not NULL, the optimizer's state, the
   carried training state and the dropout generator, so training resumes
   exactly). Names and layouts are PyTorch's state_dict of a module with
   attributes embedding, rnn, head; the config and the vocabulary go in
   __metadata__ ("format": "rnn.h", "model": "lm", cell, vocab_size,
   embed_size, hidden_size, num_layers, dropout, freeze_embedding, vocab). */
RNNDEF rnn_status rnn_lm_save(rnn_lm *m, const rnn_optimizer *opt, const char *path);
/* Reads a language model. *opt (if opt is not NULL) gets the optimizer
   state when the file has one, else NULL. A file without rnn.h's metadata
   (a PyTorch state_dict saved with safetensors.torch.save_file) loads too:
   the sizes come from the tensors' shapes, the cell from the gate count
   (LSTM, GRU, tanh; metadata "cell" picks gru_cho or relu). Nothing in the
   file is trusted: a bad file gets the status naming its fault and a
   message in err. */
RNNDEF rnn_status rnn_lm_load(rnn_lm **out, rnn_optimizer **opt, const char *path, char *err,
                              size_t errcap);
/* rnn_lm_load from bytes in memory. */
RNNDEF rnn_status rnn_lm_load_memory(rnn_lm **out, rnn_optimizer **opt, const void *data, size_t size,
                                     char *err, size_t errcap);
/* rnn_lm_load from a file already open. */
RNNDEF rnn_status rnn_lm_from_st(rnn_lm **out, rnn_optimizer **opt, rnn_st_file *f);

/* Writes a classifier (and the optimizer, if not NULL): PyTorch's names
   (embedding.weight, positions.weight, rnn.* or encoder.layers.*,
   pool.query, head.*), the config, vocabulary and labels in metadata
   ("model": "clf"). */
RNNDEF rnn_status rnn_clf_save(rnn_clf *c, const rnn_optimizer *opt, const char *path);
/* Reads a classifier saved by rnn_clf_save; *opt as for rnn_lm_load. */
RNNDEF rnn_status rnn_clf_load(rnn_clf **out, rnn_optimizer **opt, const char *path, char *err,
                               size_t errcap);
/* rnn_clf_load from a file already open. */
RNNDEF rnn_status rnn_clf_from_st(rnn_clf **out, rnn_optimizer **opt, rnn_st_file *f);

/* Writes a sequence-to-sequence model (and the optimizer, if not NULL):
   PyTorch's names (encoder.*, decoder.*, attn.*, head.*), the config and
   both vocabularies in metadata ("model": "s2s"). */
RNNDEF rnn_status rnn_s2s_save(rnn_s2s *s, const rnn_optimizer *opt, const char *path);
/* Reads a model saved by rnn_s2s_save; *opt as for rnn_lm_load. */
RNNDEF rnn_status rnn_s2s_load(rnn_s2s **out, rnn_optimizer **opt, const char *path, char *err,
                               size_t errcap);
/* rnn_s2s_load from a file already open. */
RNNDEF rnn_status rnn_s2s_from_st(rnn_s2s **out, rnn_optimizer **opt, rnn_st_file *f);

#ifdef __cplusplus
}
#endif
#endif /* RNN_H */

/* ############################################################################
   Implementation
   ######################################################################## */
#if defined(RNN_IMPLEMENTATION) && !defined(RNN_IMPLEMENTATION_DONE)
#define RNN_IMPLEMENTATION_DONE

#include <math.h>
#include <stdio.h>   /* files, and snprintf for error details; the library prints nothing */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>  /* fsync: a checkpoint is on disk before it is renamed into place */
#ifndef __cplusplus
/* strict C99 hides these POSIX declarations; C++ compilers show them */
int fsync(int fd);
int fileno(FILE *stream);
#endif
#elif defined(_WIN32)
#include <io.h>      /* _commit: the same flush to disk on Windows */
#endif

#if defined(RNN_MALLOC) && defined(RNN_REALLOC) && defined(RNN_FREE)
#elif !defined(RNN_MALLOC) && !defined(RNN_REALLOC) && !defined(RNN_FREE)
#include <stdlib.h>
#define RNN_MALLOC(n) malloc(n)
#define RNN_REALLOC(p, n) realloc(p, n)
#define RNN_FREE(p) free(p)
#else
#error "rnn.h: define all of RNN_MALLOC, RNN_REALLOC and RNN_FREE, or none"
#endif

#ifndef RNN_ASSERT
#include <assert.h>
#define RNN_ASSERT(x) assert(x)
#endif

#ifdef RNN_USE_CBLAS
#include <cblas.h>
#endif
#ifdef _WIN32
#include <windows.h>   /* the CPU count; RNN_THREADS: threads, locks, condition variables */
#elif defined(RNN_THREADS)
#include <pthread.h>
#endif

/* Which SIMD code is compiled. x86-64 with gcc/clang: SSE2 always, AVX2 and
   AVX-512 through target attributes, picked at run time. aarch64: NEON. */
#if !defined(RNN_NO_SIMD) && !defined(__TINYC__)
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define RNN__X86 1
#include <immintrin.h>
#if !defined(RNN_NO_AVX512)
#define RNN__HAVE_AVX512 1
#endif
#if !defined(RNN_NO_AVX2)
#define RNN__HAVE_AVX2 1
#endif
#define RNN__HAVE_SSE2 1
#elif defined(__aarch64__) && defined(__ARM_NEON)
#define RNN__HAVE_NEON 1
#include <arm_neon.h>
#endif
#endif

#define RNN__TARGET_AVX512 \
    __attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma")))
#define RNN__TARGET_AVX2 __attribute__((target("avx2,fma")))
/* inlined into each caller, so a constant argument unrolls its loops */
#if defined(__GNUC__) || defined(__clang__)
#define RNN__INLINE inline __attribute__((always_inline))
#else
#define RNN__INLINE
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* One int8 matrix W [n][k] in the int8 kernels' panels (rnn_lm_quantize;
   the layout and the arithmetic are described at rnn__q8_init). */
typedef struct rnn__q8 {
    int n, k;           /* rows, columns */
    int kg;             /* groups of 4 columns, ⌈k/4⌉ */
    int split;          /* rows of the first part (GRU_CHO's W_hh: 2H); n: one part */
    int panels;         /* panels of 32 rows in all */
    signed char *w;     /* [panels][kg][32][4] */
    int32_t *wsum;      /* [panels·32] each row's sum (the VNNI kernel's offset) */
    float *scale;       /* [n] W[j][i] ≈ scale[j]·q[j][i] */
    int levels;         /* 1, or 2: the input in two int8 levels (rnn_lm_int8_precise) */
    void *mem;          /* the one allocation */
} rnn__q8;
static void rnn__q8_gemv(const rnn__q8 *q, int row0, int rows, const float *x, float *y, const float *b0,
                         const float *b1, void *scratch);
/* An int8 language model's weights: one rnn__q8 a matrix of its registry. */
struct rnn_q8 {
    rnn__q8 *mat;       /* [registry size], in registry order; n = 0: a vector (F32) */
    int count;
    int emb, head;      /* registry indexes */
    int *layer;         /* [L][2]: the registry indexes of W_ih, W_hh */
    size_t scratch;     /* bytes the largest product's scratch needs */
};


/* ============================================================================
   Core: status codes, random numbers
   ========================================================================== */

RNNDEF const char *rnn_strerror(rnn_status status) {
    switch (status) {
    case RNN_OK: return "success";
    case RNN_ERR_INVALID_ARGUMENT: return "invalid argument";
    case RNN_ERR_OUT_OF_MEMORY: return "out of memory";
    case RNN_ERR_IO: return "file input/output error";
    case RNN_ERR_FORMAT: return "malformed text or values";
    case RNN_ERR_TRUNCATED: return "file is truncated";
    case RNN_ERR_HEADER: return "bad safetensors header";
    case RNN_ERR_DTYPE: return "tensor dtype unknown or not readable as floats";
    case RNN_ERR_OFFSETS: return "tensor data offsets overlap, leave holes or disagree with shapes";
    case RNN_ERR_SHAPE: return "tensor missing or of the wrong shape";
    case RNN_ERR_METADATA: return "model config in the file missing or invalid";
    case RNN_ERR_CHECKSUM: return "checksum mismatch: the file is corrupt";
    }
    return "unknown status code";
}

/* Writes a printf-style detail into err[cap] (if given) and returns code. */
static rnn_status rnn__err(char *err, size_t cap, rnn_status code, const char *fmt, ...) {
    va_list ap;
    if (err && cap) {
        va_start(ap, fmt);
        vsnprintf(err, cap, fmt, ap);
        va_end(ap);
    }
    return code;
}
RNNDEF void rnn_rng_seed(rnn_rng *rng, uint64_t seed) { rng->state = seed; }

RNNDEF uint64_t rnn_rng_u64(rnn_rng *rng) {
    uint64_t z = (rng->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

RNNDEF float rnn_rng_uniform(rnn_rng *rng) {
    return (float)(rnn_rng_u64(rng) >> 40) * (1.0f / 16777216.0f);
}

RNNDEF float rnn_rng_normal(rnn_rng *rng) {
    /* u1 in (0, 1] so the log is finite. */
    double u1 = ((double)(rnn_rng_u64(rng) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
    double u2 = (double)(rnn_rng_u64(rng) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

/* ============================================================================
   Kernels: matrix product, activations, softmax

   The product is blocked in the usual way (Goto, BLIS), with the roles set
   for row-major data: the micro-kernel keeps an MR×NR tile of C in
   registers, broadcasts MR values of a packed A micro-panel (k-major) and
   loads NR contiguous values of a B row panel for each k.

     for jc in N by NC:
       for pc in K by KC:        pack B[pc.., jc..] (KC×NC, stays in L2)
         for ic in M by MC:      pack A[ic.., pc..] (MC×KC: written, read back in L2)
           for ir in MC by MR:   A micro-panel (MR×KC) stays in L1
             for jr in NC by NR: micro-kernel over KC

   B is packed once; A once for each NC columns (once when N <= NC, as in
   most products here). MC was all of M (A packed once, 2–8 MB, out of
   L2, before its first use): MC = 96 made dX = dG·W at T·B = 2048, H =
   256 about 5% faster on Zen 3, left the other products within the noise
   (±3%) and training within ±1–3% (tools/bench/ab.sh, 1 and 2 threads,
   bit-identical), and cut A's packing space from up to 4 MiB to 96 KiB.

   Small problems skip the packing: with op(B) = Bᵀ and few rows (a batch
   of sequences times Wᵀ, the recurrent step of a layer) each C element is
   a dot product of two contiguous rows, computed 4×4 at a time with
   vectors along k; with op(B) = B and few rows the kernel reads B in
   place.
   ========================================================================== */

#ifndef RNN__KC
#define RNN__KC 256   /* depth of one packed block                           */
#endif
#ifndef RNN__NC
#define RNN__NC 512   /* columns of the packed B block: KC·NC·4 = 512 KiB    */
#endif
#ifndef RNN__MC
#define RNN__MC 96    /* rows of A packed at once (a multiple of every MR)    */
#endif
#ifndef RNN__DOT_M
#define RNN__DOT_M 16 /* op(B) = Bᵀ and m <= this: the dot-product path      */
#endif
#define RNN__DIRECT_M 48 /* op(B) = B and m <= this: B read in place          */
#define RNN__PANELWISE_M 128 /* op(B) = Bᵀ, m <= this: B packed a panel at a time */
#define RNN__STACK_FLOATS 17408 /* 68 KiB of stack for packing small products */

/* The micro-kernel: C[0..MR)[0..NR) = alpha·(Ap·Bp) + beta·C, where Ap holds
   kc groups of MR values and Bp kc rows of NR values, ldb apart. beta = 0
   writes C without reading it. */
typedef void (*rnn__kernel_fn)(int kc, const float *ap, const float *bp, int ldb,
                               float *c, int ldc, float alpha, float beta);
/* C[0..m)[0..n) = alpha·A·Bᵀ + beta·C, A m×k (row stride lda), B n×k. */
typedef void (*rnn__dot_fn)(int m, int n, int k, float alpha, const float *a, int lda,
                            const float *b, int ldb, float beta, float *c, int ldc);

typedef struct rnn__arch {
    const char *name;
    int mr, nr;
    rnn__kernel_fn kernel;
    rnn__dot_fn dot;          /* NULL: this path has no dot-product kernel */
    void (*sigmoid)(float *y, const float *x, size_t n);
    void (*tanh)(float *y, const float *x, size_t n);
    void (*exp)(float *y, const float *x, size_t n);
    void (*adam)(float *p, const float *g, float *m, float *v, size_t n, float scale, float lr,
                 float dwd, float l2, float b1, float b2, float eps, float ib1, float ib2);
    /* y[0..n) = alpha·x·B + beta·y, B k×n (row stride ldb): one row times a
       row-major matrix, vectors along n, no reduction; NULL: none */
    void (*gemv_n)(int n, int k, float alpha, const float *x, const float *b, int ldb, float beta, float *y);
    /* the LSTM and GRU point-wise passes of one row (rnn__lstm_fwd_c, ...) */
    void (*lstm_fwd)(int H, float *g, const float *bias, const float *ci, float *c, float *tc, float *h);
    void (*lstm_bwd)(int H, const float *gt, const float *tc, const float *cp, const float *dh,
                     const float *dy, float *dc, float *d);
    void (*gru_fwd)(int H, float *g, const float *hp, float *hn, const float *hi, float *h);
    void (*gru_bwd)(int H, const float *gt, const float *hprev, const float *hn, float *dh,
                    const float *dy, float *di, float *dq);
    /* rnn_sample's passes (rnn__maxfin_c, ... rnn__gather_c) */
    float (*maxfin)(const float *x, size_t n, int *bad);
    float (*weigh)(float *w, const float *z, size_t n, float mx, float it, float *bs);
    void (*cutsum)(const float *w, size_t n, float cut, float *bs);
    void (*tally)(const float *w, size_t n, float t, double *mass, double *count);
    int (*gather)(const float *w, size_t n, float lo, float hi, float *out);
    /* a 4×nr kernel, A in 4-row panels, for batches whose rows leave 2 or 4
       over a multiple of mr (AVX2's 6: 32 = 6·4 + 4·2); NULL: none */
    rnn__kernel_fn kernel4;
    /* rows (1..mr) × nr of C from A read in place (row stride lda) and a B
       panel: a recurrent step's product, whose few rows each task would
       otherwise pack again every step; NULL: none */
    void (*kernel_a)(int rows, int kc, const float *a, int lda, const float *bp, int ldb, float *c, int ldc,
                     float alpha, float beta);
} rnn__arch;

/* ---- plain C: the specification ---------------------------------------- */

/* e^x: x = n·ln2 + r, |r| <= ln2/2; e^r by its Taylor series to r^7
   (truncation < 1e-8 relative); 2^n applied in two halves so that results
   down to the smallest denormal come out right. */
static float rnn__exp1(float x) {
    float n, r, p;
    int32_t i, h;
    uint32_t u;
    float s1, s2;
    if (x != x) return x;
    if (x > 88.7228394f) return HUGE_VALF;
    if (x < -103.972084f) return 0.0f;
    n = floorf(x * 1.44269504f + 0.5f);
    r = x - n * 0.693145752f;          /* ln2 split in two: the high part   */
    r = r - n * 1.42860677e-6f;        /* has few bits, so n·hi is exact    */
    p = 1.0f / 5040;
    p = p * r + 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    i = (int32_t)n;
    h = i / 2;
    u = (uint32_t)(h + 127) << 23; memcpy(&s1, &u, 4);
    u = (uint32_t)(i - h + 127) << 23; memcpy(&s2, &u, 4);
    return p * s1 * s2;
}

/* sigmoid(x) = 1/(1+e^-x) for x >= 0, e^x/(1+e^x) for x < 0: no overflow,
   and tiny results keep their relative accuracy. */
static float rnn__sigmoid1(float x) {
    float e = rnn__exp1(-fabsf(x)), s = 1.0f / (1.0f + e);
    return x >= 0.0f ? s : e * s;
}

/* tanh: for |x| < 0.625 an odd polynomial x + x³·P(x²) fitted here for
   relative error (tools/fit_tanh.py); above, 1 - 2/(e^2|x| + 1). */
static float rnn__tanh1(float x) {
    float a = fabsf(x), z, p, t;
    if (x != x) return x;
    if (a < 0.625f) {
        z = a * a;
        p = -5.704993808e-03f;
        p = p * z + 2.063909407e-02f;
        p = p * z - 5.373971748e-02f;
        p = p * z + 1.333144223e-01f;
        p = p * z - 3.333328194e-01f;
        t = a + a * z * p;
    } else {
        t = a > 9.1f ? 1.0f : 1.0f - 2.0f / (rnn__exp1(2.0f * a) + 1.0f);
    }
    return copysignf(t, x);   /* tanh(-0) = -0 */
}

static void rnn__sigmoid_c(float *y, const float *x, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) y[i] = rnn__sigmoid1(x[i]);
}
static void rnn__tanh_c(float *y, const float *x, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) y[i] = rnn__tanh1(x[i]);
}
static void rnn__exp_c(float *y, const float *x, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) y[i] = rnn__exp1(x[i]);
}

/* rnn_sample's passes over a row of logits (blocks of RNN__SBLOCK). */
#define RNN__SBLOCK 16

/* The largest of x[0..n); *bad = 1 if some x is NaN or infinite (every
   exponent bit set), else 0. */
static float rnn__maxfin_c(const float *x, size_t n, int *bad) {
    size_t i;
    uint32_t b = 0;
    float mx = x[0];
    for (i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, x + i, 4);
        b |= (uint32_t)((u & 0x7F800000u) == 0x7F800000u);
        mx = x[i] > mx ? x[i] : mx;
    }
    *bad = (int)b;
    return mx;
}

/* bs[j] = the float sum of block j's w[i] ≥ cut (the others count 0). */
static void rnn__cutsum_c(const float *w, size_t n, float cut, float *bs) {
    size_t i;
    for (i = 0; i < n; i++) {
        if (i % RNN__SBLOCK == 0) bs[i / RNN__SBLOCK] = 0.0f;
        bs[i / RNN__SBLOCK] += w[i] >= cut ? w[i] : 0.0f;
    }
}

/* w[i] = e^((z[i] − mx)·it) (0 below e^−87: no denormals), and bs[j] = the
   float sum of block j of w. The vector paths use a shorter e^x for x ≤ 0
   (rnn__wexp8) and add a block in lanes. Returns the smallest w. */
static float rnn__weigh_c(float *w, const float *z, size_t n, float mx, float it, float *bs) {
    size_t i;
    float lo = 1.0f;
    for (i = 0; i < n; i++) {
        w[i] = (z[i] - mx) * it < -87.0f ? 0.0f : rnn__exp1((z[i] - mx) * it);
        lo = w[i] < lo ? w[i] : lo;
    }
    rnn__cutsum_c(w, n, 0.0f, bs);
    return lo;
}

/* The w[i] ≥ t: *mass their sum, *count how many. */
static void rnn__tally_c(const float *w, size_t n, float t, double *mass, double *count) {
    size_t i;
    double s = 0, c = 0;
    for (i = 0; i < n; i++)
        if (w[i] >= t) { s += w[i]; c += 1; }
    *mass = s;
    *count = c;
}

/* The w[i] in [lo, hi) into out[], in order; returns how many. out may be
   w (the writes never pass the reads). */
static int rnn__gather_c(const float *w, size_t n, float lo, float hi, float *out) {
    size_t i;
    int m = 0;
    for (i = 0; i < n; i++)
        if (w[i] >= lo && w[i] < hi) out[m++] = w[i];
    return m;
}

/* The Adam update of n parameters (the optimizer's formulas, below in
   Optimizers): g = scale·grad + l2·p, p −= lr·dwd·p (AdamW's decoupled
   decay), m, v updated, p −= lr·m·ib1 / (√(v·ib2) + ε), ib = 1/(1 − βᵗ).
   A kernel of its own because it is a tenth of a small model's step, and
   libm's sqrtf (errno) keeps compilers from vectorising the plain loop. */
static void rnn__adam_c(float *p, const float *gr, float *m, float *v, size_t n, float scale, float lr,
                        float dwd, float l2, float b1, float b2, float eps, float ib1, float ib2) {
    size_t j;
    for (j = 0; j < n; j++) {
        float g = gr[j] * scale + l2 * p[j], pj = p[j] - lr * dwd * p[j];
        m[j] = b1 * m[j] + (1.0f - b1) * g;
        v[j] = b2 * v[j] + (1.0f - b2) * g * g;
        p[j] = pj - lr * (m[j] * ib1) / (sqrtf(v[j] * ib2) + eps);
    }
}

#define RNN__MR_C 4
#define RNN__NR_C 8
static void rnn__kernel_c(int kc, const float *ap, const float *bp, int ldb,
                          float *c, int ldc, float alpha, float beta) {
    float acc[RNN__MR_C][RNN__NR_C];
    int i, j, p;
    memset(acc, 0, sizeof acc);
    for (p = 0; p < kc; p++, ap += RNN__MR_C, bp += ldb)
        for (i = 0; i < RNN__MR_C; i++)
            for (j = 0; j < RNN__NR_C; j++) acc[i][j] += ap[i] * bp[j];
    for (i = 0; i < RNN__MR_C; i++)
        for (j = 0; j < RNN__NR_C; j++)
            c[i * ldc + j] = alpha * acc[i][j] + (beta == 0.0f ? 0.0f : beta * c[i * ldc + j]);
}

/* LSTM forward, point-wise, one row of H units (rnn__cell_forward): g =
   [i f g o] pre-activations (plus bias [4H], if not NULL) in, activations
   out; c gets c' = f⊙ci + i⊙g (ci the state before: c itself, or apart),
   tc (if not NULL) tanh(c'), h = o⊙tanh(c'). */
static void rnn__lstm_fwd_c(int H, float *g, const float *bias, const float *ci, float *c, float *tc, float *h) {
    int j;
    for (j = 0; j < 4 * H && bias; j++) g[j] += bias[j];
    rnn_sigmoid(g, g, 2 * (size_t)H);
    rnn_tanh(g + 2 * H, g + 2 * H, H);
    rnn_sigmoid(g + 3 * H, g + 3 * H, H);
    for (j = 0; j < H; j++) c[j] = g[H + j] * ci[j] + g[j] * g[2 * H + j];
    rnn_tanh(h, c, H);
    if (tc) memcpy(tc, h, sizeof(float) * H);
    for (j = 0; j < H; j++) h[j] *= g[3 * H + j];
}

/* LSTM backward, point-wise, one row of H units (rnn__cell_backward):
   gt = [i f g o], tc = tanh(c'), cp = c; dh (+ dy, the output's
   gradient; NULL: none), dc reach h', c'. Out: d = [di df dg do] and dc
   replaced by the gradient reaching c. */
static void rnn__lstm_bwd_c(int H, const float *gt, const float *tc, const float *cp, const float *dh,
                            const float *dy, float *dc, float *d) {
    int j;
    for (j = 0; j < H; j++) {
        float i = gt[j], f = gt[H + j], gg = gt[2 * H + j], o = gt[3 * H + j], h = dy ? dh[j] + dy[j] : dh[j];
        float t = tc[j], dct = dc[j] + h * o * (1.0f - t * t);
        d[j] = dct * gg * i * (1.0f - i);
        d[H + j] = dct * cp[j] * f * (1.0f - f);
        d[2 * H + j] = dct * i * (1.0f - gg * gg);
        d[3 * H + j] = h * t * o * (1.0f - o);
        dc[j] = dct * f;
    }
}

/* GRU (PyTorch's form) forward, point-wise, one row: g = [r z n] input
   pre-activations in, activations out; hp = h·W_hhᵀ + b_hh; hn (if not
   NULL) keeps hp's n part for backward; h gets (1−z)⊙n + z⊙hi (hi the
   state before: h itself, or apart). */
static void rnn__gru_fwd_c(int H, float *g, const float *hp, float *hn, const float *hi, float *h) {
    int j;
    for (j = 0; j < 2 * H; j++) g[j] += hp[j];
    rnn_sigmoid(g, g, 2 * (size_t)H);
    if (hn) memcpy(hn, hp + 2 * H, sizeof(float) * H);
    for (j = 0; j < H; j++) g[2 * H + j] += g[j] * hp[2 * H + j];
    rnn_tanh(g + 2 * H, g + 2 * H, H);
    for (j = 0; j < H; j++) h[j] = (1.0f - g[H + j]) * g[2 * H + j] + g[H + j] * hi[j];
}

/* GRU backward, point-wise, one row (rnn__cell_backward has the
   equations): gt = [r z n], hprev = h, hn as cached; dh (+ dy, the
   output's gradient; NULL: none) reaches h', and dh becomes the direct part
   dh'⊙z; di, dq get the input- and recurrent-side pre-activation gradients
   (they differ in n: dq_n = dn⊙r). */
static void rnn__gru_bwd_c(int H, const float *gt, const float *hprev, const float *hn, float *dh,
                           const float *dy, float *di, float *dq) {
    int j;
    for (j = 0; j < H; j++) {
        float rr = gt[j], z = gt[H + j], n = gt[2 * H + j], d = dy ? dh[j] + dy[j] : dh[j];
        float dn = d * (1.0f - z) * (1.0f - n * n);
        di[H + j] = dq[H + j] = d * (hprev[j] - n) * z * (1.0f - z);
        di[2 * H + j] = dn;
        dq[2 * H + j] = dn * rr;
        di[j] = dq[j] = dn * hn[j] * rr * (1.0f - rr);
        dh[j] = d * z;
    }
}

static const rnn__arch rnn__arch_c = {
    "scalar", RNN__MR_C, RNN__NR_C, rnn__kernel_c, NULL,
    rnn__sigmoid_c, rnn__tanh_c, rnn__exp_c, rnn__adam_c, NULL, rnn__lstm_fwd_c, rnn__lstm_bwd_c,
    rnn__gru_fwd_c, rnn__gru_bwd_c, rnn__maxfin_c, rnn__weigh_c, rnn__cutsum_c,
    rnn__tally_c, rnn__gather_c, NULL, NULL};

/* The SIMD paths (SSE2, AVX2 + FMA, AVX-512, NEON) follow the same
   specification; they live together in the appendix at the end of the
   implementation, and hand over their tables through these. */
#ifdef RNN__HAVE_SSE2
static const rnn__arch *rnn__sse2_paths(void);
#endif
#ifdef RNN__HAVE_AVX2
static const rnn__arch *rnn__avx2_paths(void);
#endif
#ifdef RNN__HAVE_AVX512
static const rnn__arch *rnn__avx512_paths(void);
#ifndef RNN_USE_CBLAS
RNN__TARGET_AVX512
static void rnn__pack_rows_avx512(const float *src, int ld, int rows, int kc, int width, float *dst);
#endif
#endif
#ifdef RNN__HAVE_NEON
static const rnn__arch *rnn__neon_paths(void);
#endif

/* The best path this CPU runs. __builtin_cpu_supports reads a table libgcc
   fills at start-up (it also checks the OS saves the wide registers). */
static const rnn__arch *rnn__best_arch(void) {
#ifdef RNN__HAVE_AVX512
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl"))
        return rnn__avx512_paths();
#endif
#ifdef RNN__HAVE_AVX2
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return rnn__avx2_paths();
#endif
#ifdef RNN__HAVE_SSE2
    return rnn__sse2_paths();
#elif defined(RNN__HAVE_NEON)
    return rnn__neon_paths();
#else
    return &rnn__arch_c;
#endif
}

RNNDEF const char *rnn_simd_name(void) { return rnn__best_arch()->name; }

/* ---- threads ------------------------------------------------------------------

   Every parallel region is one call of the job hook: n tasks, then return.
   A region's split is chosen so that no value depends on it: a product is
   cut between columns (or rows) at multiples of the kernel's panel, so
   each element is summed by the same kernel in the same order as without
   a cut; point-wise passes, and a recurrent layer's steps (rnn__steps),
   are cut between rows; sums over many elements
   (the gradient norm, the loss) add fixed chunks in a fixed order, chunked
   alike with one thread. */
#define RNN__MAX_TASKS 64
/* Below these sizes work runs whole even with tasks, since a region costs
   a few microseconds of handing out: products of fewer multiply-adds,
   point-wise passes and softmax rows of fewer values. */
#ifndef RNN_PAR_MIN_MACS
#define RNN_PAR_MIN_MACS (1 << 20)
#endif
#ifndef RNN_PAR_MIN_VALUES
#define RNN_PAR_MIN_VALUES 4096
#endif
/* A product of one row reads a weight per multiply-add, from memory: it
   counts 8 times its multiply-adds against RNN_PAR_MIN_MACS (a GRU token's
   W_hh at H = 512, 0.8 M of them, is 3 MB to read). */
static int rnn__par_worth(double m, double n, double k) {
    return m * n * k * (m == 1 ? 8 : 1) >= RNN_PAR_MIN_MACS;
}
static rnn_parallel_fn rnn__par_fn = NULL;
static void *rnn__par_user = NULL;
static int rnn__par_n = 1;
/* Scratch per task index (packing space for a task's part of a product),
   grown by the calling thread before a region, never inside one. */
#ifndef RNN_USE_CBLAS
static float *rnn__scr[RNN__MAX_TASKS];
static size_t rnn__scr_cap[RNN__MAX_TASKS];
static float *rnn__shared;   /* a product's op(B), packed once for every task */
static size_t rnn__shared_cap;
#endif

#ifdef RNN_THREADS
static void rnn__pool_stop(void);
#endif

RNNDEF void rnn_set_parallel(rnn_parallel_fn fn, void *user, int tasks) {
#ifdef RNN_THREADS
    rnn__pool_stop();
#endif
    if (!fn || tasks <= 1) { fn = NULL; tasks = 1; }
    rnn__par_fn = fn;
    rnn__par_user = user;
    rnn__par_n = tasks < RNN__MAX_TASKS ? tasks : RNN__MAX_TASKS;
}

RNNDEF int rnn_parallel_tasks(void) { return rnn__par_n; }

RNNDEF int rnn_cpu_count(void) {
#if defined(_WIN32)
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    return si.dwNumberOfProcessors > 0 ? (int)si.dwNumberOfProcessors : 1;
#elif defined(__unix__) || defined(__APPLE__)
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)(n < 4096 ? n : 4096) : 1;
#else
    return 1;
#endif
}

/* Runs task(ctx, i) for i in [0, n): through the hook when n > 1. */
static void rnn__run(rnn_task_fn task, void *ctx, int n) {
    int i;
    if (n > 1 && rnn__par_fn) rnn__par_fn(rnn__par_user, task, ctx, n);
    else for (i = 0; i < n; i++) task(ctx, i);
}

#ifndef RNN_USE_CBLAS
/* Makes each of the first n tasks' scratch at least floats long; 0 if
   memory runs out (the caller then does the work itself, unsplit). */
static int rnn__scratch(int n, size_t floats) {
    int i;
    for (i = 0; i < n; i++)
        if (rnn__scr_cap[i] < floats) {
            float *p = (float *)RNN_REALLOC(rnn__scr[i], floats * sizeof(float));
            if (!p) return 0;
            rnn__scr[i] = p;
            rnn__scr_cap[i] = floats;
        }
    return 1;
}

/* Makes the shared packing space at least floats long; 0 if memory runs out. */
static int rnn__shared_space(size_t floats) {
    if (rnn__shared_cap < floats) {
        float *p = (float *)RNN_REALLOC(rnn__shared, floats * sizeof(float));
        if (!p) return 0;
        rnn__shared = p;
        rnn__shared_cap = floats;
    }
    return 1;
}
#endif

#ifdef RNN_THREADS
/* rnn.h's own pool. Each task of a region is claimed once, by whichever
   thread gets to it first: thread k (the caller is 0) tries task k first,
   then the others. So the same thread takes the same part of every step's
   product, and each core keeps its slice of the weights in its own cache;
   but when a worker is late (the OS ran something else on its core), the
   others take its part instead of waiting for it. With a busy program on
   the other core (Zen 3, 2 cores, LSTM H 128), a training step on 2
   threads took 3.8 times as long as on 1 when each worker had to do its
   own part, and takes 1.6 times as long now (a worker stopped in the
   middle of a task is still waited for).
   A region: the caller marks seq odd, writes the task, context and count,
   then makes seq even again (2 × the regions so far). A worker reads seq,
   the three, and seq again: if seq moved, it reads again (all atomically,
   as a late worker may read while the caller writes the next region).
   claim[i] holds the seq of the region that last took task i; taking it
   is a compare-and-swap to the region's seq, which fails once the region
   is over. The caller returns when its count of finished tasks is full.
   Between regions a worker spins a little (a training step has regions
   tens of microseconds apart), then sleeps on a condition variable.
   Atomics: the __atomic builtins with gcc and clang (MinGW too), Windows'
   Interlocked functions otherwise (MSVC); the test legs build the latter
   with MinGW as well, defining RNN__INTERLOCKED. */
typedef union rnn__fnptr { rnn_task_fn f; void *p; } rnn__fnptr;   /* the region's task */
#if (defined(__GNUC__) || defined(__clang__)) && !defined(RNN__INTERLOCKED)
#define RNN__LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define RNN__STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define RNN__ADD(p, v) __atomic_fetch_add((p), (v), __ATOMIC_ACQ_REL)
#define RNN__LOADP(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define RNN__STOREP(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define RNN__LOADF(u) __atomic_load_n(&(u)->f, __ATOMIC_ACQUIRE)
#define RNN__STOREF(u, v) __atomic_store_n(&(u)->f, (v), __ATOMIC_RELEASE)
static int rnn__cas(unsigned *p, unsigned from, unsigned to) {
    return __atomic_compare_exchange_n(p, &from, to, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}
#elif defined(_WIN32)
#define RNN__LOAD(p) InterlockedCompareExchange((volatile LONG *)(p), 0, 0)
#define RNN__STORE(p, v) InterlockedExchange((volatile LONG *)(p), (LONG)(v))
#define RNN__ADD(p, v) InterlockedExchangeAdd((volatile LONG *)(p), (v))
#define RNN__LOADP(p) InterlockedCompareExchangePointer((PVOID volatile *)(p), NULL, NULL)
#define RNN__STOREP(p, v) InterlockedExchangePointer((PVOID volatile *)(p), (PVOID)(v))
static int rnn__cas(unsigned *p, unsigned from, unsigned to) {
    return (unsigned)InterlockedCompareExchange((volatile LONG *)p, (LONG)to, (LONG)from) == from;
}
/* a function pointer goes through the pointer-sized Interlocked calls as
   the other member of a union (C has no cast between the two) */
static rnn_task_fn rnn__loadf(rnn__fnptr *u) {
    rnn__fnptr r;
    r.p = InterlockedCompareExchangePointer((PVOID volatile *)&u->p, NULL, NULL);
    return r.f;
}
static void rnn__storef(rnn__fnptr *u, rnn_task_fn f) {
    rnn__fnptr r;
    r.f = f;
    InterlockedExchangePointer((PVOID volatile *)&u->p, r.p);
}
#define RNN__LOADF(u) rnn__loadf(u)
#define RNN__STOREF(u, v) rnn__storef((u), (v))
#else
#error "rnn.h: RNN_THREADS needs gcc, clang or a Windows compiler (atomic operations)"
#endif
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#define RNN__PAUSE() __builtin_ia32_pause()
#elif (defined(__GNUC__) || defined(__clang__)) && defined(__aarch64__)
#define RNN__PAUSE() __asm__ __volatile__("yield")
#elif defined(_WIN32)
#define RNN__PAUSE() YieldProcessor()
#else
#define RNN__PAUSE() ((void)0)
#endif
#define RNN__SPINS 20000

typedef struct rnn__pool {
    int n;                  /* threads in all, the caller's included; 0: not running */
    unsigned seq;           /* 2 × the regions so far; odd while the caller writes the next */
    unsigned claim[RNN__MAX_TASKS];   /* the seq of the region that last took each task */
    int done, ntasks, quit, sleepers; /* done: the region's finished tasks */
    rnn__fnptr task;
    void *ctx;
#ifdef _WIN32
    HANDLE th[RNN__MAX_TASKS];
    CRITICAL_SECTION mu;
    CONDITION_VARIABLE cv;
#else
    pthread_t th[RNN__MAX_TASKS];
    pthread_mutex_t mu;
    pthread_cond_t cv;
#endif
} rnn__pool;
static rnn__pool rnn__the_pool;

#ifdef _WIN32
#define RNN__LOCK(p) EnterCriticalSection(&(p)->mu)
#define RNN__UNLOCK(p) LeaveCriticalSection(&(p)->mu)
#define RNN__WAIT(p) SleepConditionVariableCS(&(p)->cv, &(p)->mu, INFINITE)
#define RNN__WAKE(p) WakeAllConditionVariable(&(p)->cv)
#else
#define RNN__LOCK(p) pthread_mutex_lock(&(p)->mu)
#define RNN__UNLOCK(p) pthread_mutex_unlock(&(p)->mu)
#define RNN__WAIT(p) pthread_cond_wait(&(p)->cv, &(p)->mu)
#define RNN__WAKE(p) pthread_cond_broadcast(&(p)->cv)
#endif

/* Runs every task of region s this thread can still take, task k first.
   A task is taken only from a region before s (s − v in [1, 2^31): seq
   wraps): a worker that read region s and was then held up must not take
   a task of a later region, whose claim differs from s too. */
static void rnn__pool_work(rnn__pool *p, unsigned s, int k, int n, rnn_task_fn task, void *ctx) {
    int j;
    for (j = 0; j < n; j++) {
        int i = (k + j) % n;
        unsigned v = RNN__LOAD(&p->claim[i]);
        if (s - v - 1u < 0x7FFFFFFFu && rnn__cas(&p->claim[i], v, s)) {
            task(ctx, i);
            RNN__ADD(&p->done, 1);
        }
    }
}

#ifdef _WIN32
static DWORD WINAPI rnn__pool_main(LPVOID arg)
#else
static void *rnn__pool_main(void *arg)
#endif
{
    rnn__pool *p = &rnn__the_pool;
    int k = (int)(intptr_t)arg;
    unsigned seen = 0;   /* seq was 0 when the pool started: a region may come before this thread runs */
    for (;;) {
        int spins = 0, n;
        unsigned s;
        rnn_task_fn task;
        void *ctx;
        while ((s = RNN__LOAD(&p->seq)) == seen && ++spins < RNN__SPINS) RNN__PAUSE();
        if (s == seen) {   /* nothing for a while: sleep until the next region */
            RNN__LOCK(p);
            p->sleepers++;
            while ((s = RNN__LOAD(&p->seq)) == seen) RNN__WAIT(p);
            p->sleepers--;
            RNN__UNLOCK(p);
        }
        if (s & 1) { RNN__PAUSE(); continue; }   /* the caller is writing the region */
        if (RNN__LOAD(&p->quit)) break;
        n = RNN__LOAD(&p->ntasks);
        task = RNN__LOADF(&p->task);
        ctx = RNN__LOADP(&p->ctx);
        if ((unsigned)RNN__LOAD(&p->seq) != s) continue;   /* it moved while we read: read again */
        seen = s;
        rnn__pool_work(p, s, k, n, task, ctx);
    }
    return 0;
}

/* The pool as a job hook. */
static void rnn__pool_run(void *user, rnn_task_fn task, void *ctx, int n) {
    rnn__pool *p = (rnn__pool *)user;
    unsigned s = RNN__LOAD(&p->seq) + 2;   /* only the caller writes seq */
    RNN__STORE(&p->seq, s - 1);
    RNN__STORE(&p->done, 0);
    RNN__STORE(&p->ntasks, n);
    RNN__STOREF(&p->task, task);
    RNN__STOREP(&p->ctx, ctx);
    RNN__STORE(&p->seq, s);
    RNN__LOCK(p);
    if (p->sleepers) RNN__WAKE(p);
    RNN__UNLOCK(p);
    rnn__pool_work(p, s, 0, n, task, ctx);
    while (RNN__LOAD(&p->done) < n) RNN__PAUSE();   /* tasks others took and have not finished */
}

static void rnn__pool_stop(void) {
    rnn__pool *p = &rnn__the_pool;
    int i;
    if (!p->n) return;
    RNN__STORE(&p->quit, 1);
    RNN__STORE(&p->seq, RNN__LOAD(&p->seq) + 2);
    RNN__LOCK(p);
    RNN__WAKE(p);
    RNN__UNLOCK(p);
    for (i = 0; i < p->n - 1; i++) {
#ifdef _WIN32
        WaitForSingleObject(p->th[i], INFINITE);
        CloseHandle(p->th[i]);
#else
        pthread_join(p->th[i], NULL);
#endif
    }
#ifdef _WIN32
    DeleteCriticalSection(&p->mu);
#else
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
#endif
    p->n = 0;
    if (rnn__par_fn == rnn__pool_run) { rnn__par_fn = NULL; rnn__par_n = 1; }
}

RNNDEF rnn_status rnn_set_threads(int n) {
    rnn__pool *p = &rnn__the_pool;
    int i;
    rnn_set_parallel(NULL, NULL, 1);   /* stops the pool that runs */
    if (n <= 1) return RNN_OK;
    if (n > RNN__MAX_TASKS) n = RNN__MAX_TASKS;
    memset(p, 0, sizeof *p);
#ifdef _WIN32
    InitializeCriticalSection(&p->mu);
    InitializeConditionVariable(&p->cv);
#else
    if (pthread_mutex_init(&p->mu, NULL) != 0) return RNN_ERR_INVALID_ARGUMENT;
    if (pthread_cond_init(&p->cv, NULL) != 0) { pthread_mutex_destroy(&p->mu); return RNN_ERR_INVALID_ARGUMENT; }
#endif
    for (i = 0; i < n - 1; i++) {
#ifdef _WIN32
        if (!(p->th[i] = CreateThread(NULL, 0, rnn__pool_main, (LPVOID)(intptr_t)(i + 1), 0, NULL))) break;
#else
        if (pthread_create(&p->th[i], NULL, rnn__pool_main, (void *)(intptr_t)(i + 1)) != 0) break;
#endif
    }
    p->n = i + 1;
    if (i < n - 1) { rnn__pool_stop(); return RNN_ERR_INVALID_ARGUMENT; }
    rnn__par_fn = rnn__pool_run;
    rnn__par_user = p;
    rnn__par_n = n;
    return RNN_OK;
}
#else
RNNDEF rnn_status rnn_set_threads(int n) {
    rnn_set_parallel(NULL, NULL, 1);
    return n <= 1 ? RNN_OK : RNN_ERR_INVALID_ARGUMENT;
}
#endif

/* How to cut [0, total) into at most rnn__par_n parts of whole `quantum`s,
   at least `least` long each: the part length, or 0 for no cut. */
static int rnn__cut(int total, int quantum, int least) {
    int n = rnn__par_n, step;
    if (n <= 1 || total < 2 * least || total <= quantum) return 0;
    step = (total + n - 1) / n;
    if (step < least) step = least;
    step = (step + quantum - 1) / quantum * quantum;
    return step < total ? step : 0;
}

/* ---- the blocked product ------------------------------------------------ */
#ifndef RNN_USE_CBLAS

/* op(A)[i][k] and op(B)[k][j] as stored. */
#define RNN__AT(x, ld, t, r, q) ((t) ? (x)[(size_t)(q) * (ld) + (r)] : (x)[(size_t)(r) * (ld) + (q)])

/* dst[p·width + r] = src[r·ld + p] for r < rows, p < kc; rows up to width
   are zero. This is the transposing copy both packs need (A as stored, B as
   stored transposed); on x86 it moves 4×4 blocks with SSE shuffles. */
static void rnn__pack_rows(const float *src, int ld, int rows, int kc, int width, float *dst) {
    int r = 0, p;
#ifdef RNN__HAVE_SSE2
    for (; r + 4 <= rows; r += 4) {
        const float *s0 = src + (size_t)r * ld, *s1 = s0 + ld, *s2 = s1 + ld, *s3 = s2 + ld;
        for (p = 0; p + 4 <= kc; p += 4) {
            __m128 x0 = _mm_loadu_ps(s0 + p), x1 = _mm_loadu_ps(s1 + p);
            __m128 x2 = _mm_loadu_ps(s2 + p), x3 = _mm_loadu_ps(s3 + p);
            _MM_TRANSPOSE4_PS(x0, x1, x2, x3);
            _mm_storeu_ps(dst + (size_t)p * width + r, x0);
            _mm_storeu_ps(dst + (size_t)(p + 1) * width + r, x1);
            _mm_storeu_ps(dst + (size_t)(p + 2) * width + r, x2);
            _mm_storeu_ps(dst + (size_t)(p + 3) * width + r, x3);
        }
        for (; p < kc; p++) {
            float *d = dst + (size_t)p * width + r;
            d[0] = s0[p]; d[1] = s1[p]; d[2] = s2[p]; d[3] = s3[p];
        }
    }
    for (; r + 2 <= rows; r += 2) {   /* a pair left (AVX2's 6-row panels): 2×4 blocks */
        const float *s0 = src + (size_t)r * ld, *s1 = s0 + ld;
        for (p = 0; p + 4 <= kc; p += 4) {
            __m128 x0 = _mm_loadu_ps(s0 + p), x1 = _mm_loadu_ps(s1 + p);
            __m128 lo = _mm_unpacklo_ps(x0, x1), hi = _mm_unpackhi_ps(x0, x1);
            _mm_storel_pi((__m64 *)(void *)(dst + (size_t)p * width + r), lo);
            _mm_storeh_pi((__m64 *)(void *)(dst + (size_t)(p + 1) * width + r), lo);
            _mm_storel_pi((__m64 *)(void *)(dst + (size_t)(p + 2) * width + r), hi);
            _mm_storeh_pi((__m64 *)(void *)(dst + (size_t)(p + 3) * width + r), hi);
        }
        for (; p < kc; p++) {
            dst[(size_t)p * width + r] = s0[p];
            dst[(size_t)p * width + r + 1] = s1[p];
        }
    }
#endif
    for (; r < rows; r++)
        for (p = 0; p < kc; p++) dst[(size_t)p * width + r] = src[(size_t)r * ld + p];
    for (; r < width; r++)
        for (p = 0; p < kc; p++) dst[(size_t)p * width + r] = 0.0f;
}


/* Packed panels lie width·kc + RNN__PAD floats apart: without the pad they
   are often a multiple of 4 KiB apart, so a pass writing many of them at
   once would thrash one L1 set. */
#define RNN__PAD 16
static size_t rnn__pstride(int width, int kc) { return (size_t)width * kc + RNN__PAD; }

/* The straight copy: columns [0, n) of kc rows of src, into panels of
   width columns (panel q holds kc rows of width values, zero-padded; the
   panels ps floats apart), row by row, so the source is read in address
   order. */
static void rnn__pack_cols(const float *src, int ld, int n, int kc, int width, float *dst, size_t ps) {
    int p, jb, j, full = n / width * width;
    for (p = 0; p < kc; p++) {
        const float *row = src + (size_t)p * ld;
        float *d = dst + (size_t)p * width;
        for (jb = 0; jb < full; jb += width, d += ps) {   /* every panel but a partial last */
            j = 0;
#ifdef RNN__HAVE_SSE2   /* 4 at a time, then a pair (AVX2's 6-row panels) */
            for (; j + 4 <= width; j += 4) _mm_storeu_ps(d + j, _mm_loadu_ps(row + jb + j));
            if (j + 2 <= width) {
                _mm_storel_pi((__m64 *)(void *)(d + j), _mm_loadl_pi(_mm_setzero_ps(), (const __m64 *)(const void *)(row + jb + j)));
                j += 2;
            }
#endif
            for (; j < width; j++) d[j] = row[jb + j];
        }
        if (jb < n) {
            for (j = 0; j < n - jb; j++) d[j] = row[jb + j];
            for (; j < width; j++) d[j] = 0.0f;
        }
    }
}

/* Packs rows [i0, i0+m) and depth [k0, k0+kc) of op(A) into micro-panels of
   mr rows, k-major, zero-padded to a multiple of mr, rnn__pstride apart. */
static void rnn__pack_a(int ta, const float *a, int lda, int i0, int m, int k0, int kc,
                        int mr, float *dst) {
    int ib;
    if (ta) {
        rnn__pack_cols(a + (size_t)k0 * lda + i0, lda, m, kc, mr, dst, rnn__pstride(mr, kc));
        return;
    }
    for (ib = 0; ib < m; ib += mr, dst += rnn__pstride(mr, kc))
        rnn__pack_rows(a + (size_t)(i0 + ib) * lda + k0, lda, m - ib < mr ? m - ib : mr, kc, mr, dst);
}

/* Packs depth [k0, k0+kc) and columns [j0, j0+n) of op(B) into panels of nr
   columns, each kc rows of nr, zero-padded, rnn__pstride apart. */
static void rnn__pack_b(int tb, const float *b, int ldb, int k0, int kc, int j0, int n,
                        int nr, float *dst) {
    int jb;
    if (!tb) {
        rnn__pack_cols(b + (size_t)k0 * ldb + j0, ldb, n, kc, nr, dst, rnn__pstride(nr, kc));
        return;
    }
    for (jb = 0; jb < n; jb += nr, dst += rnn__pstride(nr, kc)) {
#ifdef RNN__HAVE_AVX512
        if (nr == 32) {   /* only the AVX-512 kernel has 32-wide panels */
            rnn__pack_rows_avx512(b + (size_t)(j0 + jb) * ldb + k0, ldb, n - jb < nr ? n - jb : nr, kc, nr, dst);
            continue;
        }
#endif
        rnn__pack_rows(b + (size_t)(j0 + jb) * ldb + k0, ldb, n - jb < nr ? n - jb : nr, kc, nr, dst);
    }
}

/* An edge tile's store: C[0..rows)[0..cols) = alpha·tmp + beta·C, tmp the
   kernel's full tile (rows nr apart) made with alpha 1, beta 0. */
static void rnn__store_edge(const float *tmp, int nr, float *c, int ldc, int rows, int cols, float alpha,
                            float beta) {
    int i, j;
    for (i = 0; i < rows; i++)
        for (j = 0; j < cols; j++) {
            float *cij = c + (size_t)i * ldc + j;
            *cij = alpha * tmp[i * nr + j] + (beta == 0.0f ? 0.0f : beta * *cij);
        }
}

/* One MR×NR tile; an edge tile goes through a local buffer. */
static void rnn__tile(const rnn__arch *ar, int kc, const float *ap, const float *bp, int ldb,
                      float *c, int ldc, int rows, int cols, float alpha, float beta) {
    float tmp[16 * 32];   /* >= the largest MR·NR */
    if (rows == ar->mr && cols == ar->nr) {
        ar->kernel(kc, ap, bp, ldb, c, ldc, alpha, beta);
        return;
    }
    ar->kernel(kc, ap, bp, ldb, tmp, ar->nr, 1.0f, 0.0f);
    rnn__store_edge(tmp, ar->nr, c, ldc, rows, cols, alpha, beta);
}

/* One tile of rows (1..mr) × nr from A read in place (kernel_a, rows lda
   apart) and a B panel; an edge tile goes through a local buffer. */
static void rnn__tile_a(const rnn__arch *ar, int kc, const float *a, int lda, const float *bp, float *c, int ldc,
                        int rows, int cols, float alpha, float beta) {
    float tmp[16 * 32];
    if (cols == ar->nr) {
        ar->kernel_a(rows, kc, a, lda, bp, ar->nr, c, ldc, alpha, beta);
        return;
    }
    ar->kernel_a(rows, kc, a, lda, bp, ar->nr, tmp, ar->nr, 1.0f, 0.0f);
    rnn__store_edge(tmp, ar->nr, c, ldc, rows, cols, alpha, beta);
}

/* The textbook loop, used only if the packing buffer cannot be had. */
static void rnn__sgemm_naive(int ta, int tb, int m, int n, int k, float alpha, const float *a,
                             int lda, const float *b, int ldb, float beta, float *c, int ldc) {
    int i, j, p;
    for (i = 0; i < m; i++)
        for (j = 0; j < n; j++) {
            float s = 0.0f, *cij = c + (size_t)i * ldc + j;
            for (p = 0; p < k; p++) s += RNN__AT(a, lda, ta, i, p) * RNN__AT(b, ldb, tb, p, j);
            *cij = alpha * s + (beta == 0.0f ? 0.0f : beta * *cij);
        }
}

/* Rows [i0, i0 + rows) of C, columns [j0, j0 + nc), at depth [pc, pc + kc):
   the packed panels of op(B) for those columns start at bpanels. A is
   packed RNN__MC rows at a time into ap, so that it is written and read
   back in L2; each micro-panel of A then stays in L1 against every panel
   of B, which come from L2. */
static void rnn__rows_block(const rnn__arch *ar, int ta, const float *a, int lda, int i0, int rows, int pc, int kc,
                            const float *bpanels, int j0, int nc, float alpha, float beta, float *c, int ldc,
                            float *ap) {
    int mr = ar->mr, nr = ar->nr, ic, ir, jr;
    if (!ta && ar->kernel_a && (lda * sizeof(float)) % 4096) {
        /* A's rows read in place, a tile's rows staying in L1 against the
           block's B panels: no copy (the same sums as packed). Not with
           rows a multiple of 4 KiB apart: a tile's rows would all fall in
           the same L1 sets. */
        for (ir = i0; ir < i0 + rows; ir += mr)
            for (jr = 0; jr < nc; jr += nr)
                rnn__tile_a(ar, kc, a + (size_t)ir * lda + pc, lda, bpanels + (size_t)(jr / nr) * rnn__pstride(nr, kc),
                            c + (size_t)ir * ldc + j0 + jr, ldc, i0 + rows - ir < mr ? i0 + rows - ir : mr,
                            nc - jr < nr ? nc - jr : nr, alpha, beta);
        return;
    }
    for (ic = i0; ic < i0 + rows; ic += RNN__MC) {
        int mc = i0 + rows - ic < RNN__MC ? i0 + rows - ic : RNN__MC;
        rnn__pack_a(ta, a, lda, ic, mc, pc, kc, mr, ap);
        for (ir = 0; ir < mc; ir += mr)
            for (jr = 0; jr < nc; jr += nr)
                rnn__tile(ar, kc, ap + (size_t)(ir / mr) * rnn__pstride(mr, kc),
                          bpanels + (size_t)(jr / nr) * rnn__pstride(nr, kc), nr,
                          c + (size_t)(ic + ir) * ldc + j0 + jr, ldc, mc - ir < mr ? mc - ir : mr,
                          nc - jr < nr ? nc - jr : nr, alpha, beta);
    }
}

/* The packed path of rnn__sgemm_core, apart so that its fast paths (one
   token, few rows) do not pay for this one's 68 KiB stack frame, which
   compilers guarding against stack clash (the default on Ubuntu and
   Fedora) probe page by page on every call. */
static void rnn__sgemm_packed(const rnn__arch *ar, float *pack, size_t pack_floats, int ta, int tb, int m,
                              int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
                              float beta, float *c, int ldc) {
    float stackbuf[RNN__STACK_FLOATS + 16];
    int mr = ar->mr, nr = ar->nr, direct, pc, ic, jc, ir, jr;
    size_t apsize, bpsize;
    float *buf, *ap, *bp;
    /* Few rows and B not transposed: read B in place, pack only A and the
       last partial column panel (direct = 1). Few rows and B transposed:
       pack B one panel at a time, right before the row tiles that use it,
       so it is written and read back in L1 (direct = 2). */
    direct = tb ? (m <= RNN__PANELWISE_M ? 2 : 0) : m <= RNN__DIRECT_M;
    {
        int mcap = m < RNN__MC ? m : RNN__MC, kcap = k < RNN__KC ? k : RNN__KC;
        int ncap = n < RNN__NC ? n : RNN__NC;
        apsize = (size_t)((mcap + mr - 1) / mr) * rnn__pstride(mr, kcap);
        bpsize = direct ? rnn__pstride(nr, kcap) : (size_t)((ncap + nr - 1) / nr) * rnn__pstride(nr, kcap);
    }
    /* Small products (a recurrent step with a batch up to 32) pack on the
       stack, so time loops allocate nothing; larger ones take one block. */
    buf = NULL;
    if (pack && apsize + bpsize + 16 <= pack_floats) ap = pack;
    else if (apsize + bpsize <= RNN__STACK_FLOATS) ap = stackbuf;
    else if ((buf = (float *)RNN_MALLOC((apsize + bpsize + 16) * sizeof(float))) != NULL) ap = buf;
    else {
        rnn__sgemm_naive(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    ap = (float *)(((uintptr_t)ap + 63) & ~(uintptr_t)63);
    bp = ap + apsize;
    if (!direct) {
        for (jc = 0; jc < n; jc += RNN__NC) {
            int nc = n - jc < RNN__NC ? n - jc : RNN__NC;
            for (pc = 0; pc < k; pc += RNN__KC) {
                int kc = k - pc < RNN__KC ? k - pc : RNN__KC;
                rnn__pack_b(tb, b, ldb, pc, kc, jc, nc, nr, bp);
                rnn__rows_block(ar, ta, a, lda, 0, m, pc, kc, bp, jc, nc, alpha, pc == 0 ? beta : 1.0f, c, ldc, ap);
            }
        }
        if (buf) RNN_FREE(buf);
        return;
    }
    for (ic = 0; ic < m; ic += RNN__MC) {
        int mc = m - ic < RNN__MC ? m - ic : RNN__MC;
        for (pc = 0; pc < k; pc += RNN__KC) {
            int kc = k - pc < RNN__KC ? k - pc : RNN__KC;
            float be = pc == 0 ? beta : 1.0f;
            rnn__pack_a(ta, a, lda, ic, mc, pc, kc, mr, ap);
            if (direct == 2) {
                for (jr = 0; jr < n; jr += nr) {
                    int cols = n - jr < nr ? n - jr : nr;
                    rnn__pack_b(tb, b, ldb, pc, kc, jr, cols, nr, bp);
                    for (ir = 0; ir < mc; ir += mr)
                        rnn__tile(ar, kc, ap + (size_t)(ir / mr) * rnn__pstride(mr, kc), bp, nr,
                                  c + (size_t)(ic + ir) * ldc + jr, ldc, mc - ir < mr ? mc - ir : mr, cols,
                                  alpha, be);
                }
                continue;
            }
            for (ir = 0; ir < mc; ir += mr) {   /* B read in place but for a last partial panel */
                const float *apanel = ap + (size_t)(ir / mr) * rnn__pstride(mr, kc);
                int rows = mc - ir < mr ? mc - ir : mr;
                for (jr = 0; jr < n; jr += nr) {
                    int cols = n - jr < nr ? n - jr : nr;
                    float *ct = c + (size_t)(ic + ir) * ldc + jr;
                    if (cols == nr) {
                        rnn__tile(ar, kc, apanel, b + (size_t)pc * ldb + jr, ldb, ct, ldc, rows, cols, alpha, be);
                    } else {
                        if (ir == 0) rnn__pack_b(0, b, ldb, pc, kc, jr, cols, nr, bp);
                        rnn__tile(ar, kc, apanel, bp, nr, ct, ldc, rows, cols, alpha, be);
                    }
                }
            }
        }
    }
    if (buf) RNN_FREE(buf);
}
#endif /* RNN_USE_CBLAS */

/* Floats of packing space a product of this size may use (a bound for
   every path: MR <= 16, NR <= 32, plus alignment). */
static size_t rnn__pack_floats(int m, int n, int k) {
    size_t kc = (size_t)(k < RNN__KC ? k : RNN__KC);
    size_t mc = (size_t)(m < RNN__MC ? m : RNN__MC), nc = (size_t)(n < RNN__NC ? n : RNN__NC);
    /* rows padded to a multiple of MR (< 16 more), columns of NR (< 32
       more); panels: MR >= 4, NR >= 8, each padded by 16 floats; 16 for
       the alignment */
    return ((mc + 16) + (nc + 32)) * kc + (mc / 4 + nc / 8 + 4) * 16 + 32;
}

/* The built-in product. pack (NULL: none) is packing space the caller
   owns, pack_floats long; without enough of it a small product packs on the
   stack and a large one takes one RNN_MALLOC block for the call. */
static void rnn__sgemm_core(float *pack, size_t pack_floats, int ta, int tb, int m, int n, int k,
                            float alpha, const float *a, int lda, const float *b, int ldb,
                            float beta, float *c, int ldc) {
    /* Shapes come from the caller's code, not from data: a wrong one is a
       programming error, as in BLAS, and stops here rather than reading
       out of bounds. */
    RNN_ASSERT(m <= 0 || n <= 0 || (c && ldc >= n));
    RNN_ASSERT(m <= 0 || n <= 0 || k <= 0 ||
               (a && b && lda >= (ta ? m : k) && ldb >= (tb ? k : n)));
#ifdef RNN_USE_CBLAS
    (void)pack; (void)pack_floats;
    if (m > 0 && n > 0)
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#else
    const rnn__arch *ar = rnn__best_arch();
    int i, j;
    if (m <= 0 || n <= 0) return;
    if (k <= 0 || alpha == 0.0f) {
        for (i = 0; i < m; i++)
            for (j = 0; j < n; j++) {
                float *cij = c + (size_t)i * ldc + j;
                *cij = beta == 0.0f ? 0.0f : beta * *cij;
            }
        return;
    }
    if (ar->dot && tb && !ta && m <= RNN__DOT_M) {
        ar->dot(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    if (ar->gemv_n && m == 1 && !tb) {   /* one row of A: op(A) is a vector either way */
        if (ta && lda != 1) {
            /* the row is strided: fall through to the general path */
        } else {
            ar->gemv_n(n, k, alpha, a, b, ldb, beta, c);
            return;
        }
    }
    rnn__sgemm_packed(ar, pack, pack_floats, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#endif
}



/* The one global: the product every part of the library calls. */
static rnn_sgemm_fn rnn__sgemm_hook = NULL;

RNNDEF void rnn_set_sgemm(rnn_sgemm_fn fn) { rnn__sgemm_hook = fn; }

RNNDEF void rnn_sgemm_builtin(int ta, int tb, int m, int n, int k, float alpha, const float *a,
                              int lda, const float *b, int ldb, float beta, float *c, int ldc) {
    rnn__sgemm_core(NULL, 0, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

#ifndef RNN_USE_CBLAS
/* A product cut into parts: part i is columns [i·step, +step). */
typedef struct rnn__gemm_part {
    int ta, tb, m, n, k, lda, ldb, ldc, step;
    float alpha, beta;
    const float *a, *b;
    float *c;
    size_t npk;
} rnn__gemm_part;

static void rnn__gemm_task(void *ctx, int i) {
    const rnn__gemm_part *g = (const rnn__gemm_part *)ctx;
    int lo = i * g->step, len = g->n - lo;
    if (len > g->step) len = g->step;
    if (len > 0)
        rnn__sgemm_core(rnn__scr[i], g->npk, g->ta, g->tb, g->m, len, g->k, g->alpha, g->a, g->lda,
                        g->tb ? g->b + (size_t)lo * g->ldb : g->b + lo, g->ldb, g->beta, g->c + lo, g->ldc);
}

/* ---- products with B packed once: a recurrent step's W_hh ----------------
   A window's T steps each multiply by the same W_hh. Packed once per
   forward (and once per backward) into the kernel's panels, each step reads
   it straight through memory: 78 GFLOP/s on Zen 3 (B 32, H 512) where
   reading the row-major matrix in place reached 52 (every row tile streamed
   the whole block again, with rows 8 KiB apart). */

/* Rows below this use the paths of rnn__gemm (one row: gemv). */
#define RNN__BP_MIN_M 4

/* Floats rnn__bpack fills for op(B) k×n. */
static size_t rnn__bpack_floats(int k, int n) {
    int nr = rnn__best_arch()->nr;
    return (size_t)((k + RNN__KC - 1) / RNN__KC) * (size_t)((n + nr - 1) / nr) * rnn__pstride(nr, RNN__KC);
}

/* op(B) (k×n) into dst: blocks of RNN__KC rows, each np panels of nr
   columns (rnn__pack_b's layout, the last panel zero-padded); block q
   starts at q·np·rnn__pstride(nr, RNN__KC). */
static void rnn__bpack(int tb, const float *b, int ldb, int k, int n, float *dst) {
    int nr = rnn__best_arch()->nr, np = (n + nr - 1) / nr, pc;
    for (pc = 0; pc < k; pc += RNN__KC)
        rnn__pack_b(tb, b, ldb, pc, k - pc < RNN__KC ? k - pc : RNN__KC, 0, n, nr,
                    dst + (size_t)(pc / RNN__KC) * np * rnn__pstride(nr, RNN__KC));
}

/* Floats of packing space rnn__gemm_bp needs for m rows (A's panels; the
   4-row tail's panels are no wider). */
static size_t rnn__bp_scratch(int m) {
    const rnn__arch *ar = rnn__best_arch();
    return (size_t)((m + ar->mr - 1) / ar->mr + 2) * rnn__pstride(ar->mr, RNN__KC) + 16;
}

/* The rows rnn__gemm_bp gives the 4-row kernel: the last 4 when m leaves 4
   over a multiple of mr, the last 8 when it leaves 2 (an edge tile of mr
   rows would do mr rows' work for 2 or 4). */
static int rnn__bp_tail(const rnn__arch *ar, int m) {
    int rem = m % ar->mr;
    if (!ar->kernel4 || ar->mr <= 4) return 0;
    return rem == 4 ? 4 : rem == 2 && m >= 8 ? 8 : 0;
}

/* Columns [j0, j0 + n) of C = alpha·A·B + beta·C, A m×k row-major, B the
   k×N matrix rnn__bpack made (j0 a multiple of nr): the blocks, tiles and
   kernel of rnn__sgemm_packed, so each element is made the same way
   whatever the columns asked for. ap: rnn__bp_scratch(m) floats. */
static void rnn__gemm_bp_cols(float *ap, int m, int j0, int n, int k, int N, float alpha, const float *a,
                              int lda, const float *bp, float beta, float *c, int ldc) {
    const rnn__arch *ar = rnn__best_arch();
    int mr = ar->mr, nr = ar->nr, np = (N + nr - 1) / nr, tail = rnn__bp_tail(ar, m), mm = m - tail, pc, jr, ir;
    float *at;   /* the tail's 4-row panels, after the others */
    ap = (float *)(((uintptr_t)ap + 63) & ~(uintptr_t)63);
    if (ar->kernel_a) {   /* A read in place: no task packs it again (the same tiles, the same sums) */
        for (pc = 0; pc < k; pc += RNN__KC) {
            int kc = k - pc < RNN__KC ? k - pc : RNN__KC;
            float be = pc == 0 ? beta : 1.0f;
            const float *blk = bp + (size_t)(pc / RNN__KC) * np * rnn__pstride(nr, RNN__KC);
            for (jr = j0; jr < j0 + n; jr += nr) {
                const float *bpan = blk + (size_t)(jr / nr) * rnn__pstride(nr, kc);
                int cols = j0 + n - jr < nr ? j0 + n - jr : nr;
                for (ir = 0; ir < m; ir += ir < mm ? mr : 4)
                    rnn__tile_a(ar, kc, a + (size_t)ir * lda + pc, lda, bpan, c + (size_t)ir * ldc + jr, ldc,
                                ir < mm ? (mm - ir < mr ? mm - ir : mr) : 4, cols, alpha, be);
            }
        }
        return;
    }
    for (pc = 0; pc < k; pc += RNN__KC) {
        int kc = k - pc < RNN__KC ? k - pc : RNN__KC;
        float be = pc == 0 ? beta : 1.0f;
        const float *blk = bp + (size_t)(pc / RNN__KC) * np * rnn__pstride(nr, RNN__KC);
        rnn__pack_a(0, a, lda, 0, mm, pc, kc, mr, ap);
        at = ap + (size_t)((mm + mr - 1) / mr) * rnn__pstride(mr, kc);
        if (tail) rnn__pack_a(0, a, lda, mm, tail, pc, kc, 4, at);
        for (jr = j0; jr < j0 + n; jr += nr) {   /* a panel stays in L1 while every row tile reads it */
            const float *bpan = blk + (size_t)(jr / nr) * rnn__pstride(nr, kc);
            int cols = j0 + n - jr < nr ? j0 + n - jr : nr;
            for (ir = 0; ir < mm; ir += mr)
                rnn__tile(ar, kc, ap + (size_t)(ir / mr) * rnn__pstride(mr, kc), bpan, nr, c + (size_t)ir * ldc + jr,
                          ldc, mm - ir < mr ? mm - ir : mr, cols, alpha, be);
            for (ir = 0; ir < tail; ir += 4) {
                float *ct = c + (size_t)(mm + ir) * ldc + jr, tmp[4 * 32];
                if (cols == nr) {
                    ar->kernel4(kc, at + (size_t)(ir / 4) * rnn__pstride(4, kc), bpan, nr, ct, ldc, alpha, be);
                    continue;
                }
                ar->kernel4(kc, at + (size_t)(ir / 4) * rnn__pstride(4, kc), bpan, nr, tmp, nr, 1.0f, 0.0f);
                rnn__store_edge(tmp, nr, ct, ldc, 4, cols, alpha, be);
            }
        }
    }
}

typedef struct rnn__bp_part {
    int m, n, k, lda, ldc, step;
    float alpha, beta;
    const float *a, *bp, *bias;
    float *c;
} rnn__bp_part;

/* Rows [0, m) of C, columns [j0, j0 + n), set to bias[j0..] first (bias NULL:
   nothing), then rnn__gemm_bp_cols. */
static void rnn__gemm_bp_part(float *pk, int m, int j0, int n, int k, int N, float alpha, const float *a, int lda,
                              const float *bp, float beta, float *c, int ldc, const float *bias) {
    int i;
    for (i = 0; i < m && bias; i++) memcpy(c + (size_t)i * ldc + j0, bias + j0, sizeof(float) * n);
    rnn__gemm_bp_cols(pk, m, j0, n, k, N, alpha, a, lda, bp, beta, c, ldc);
}

static void rnn__gemm_bp_task(void *ctx, int i) {
    const rnn__bp_part *g = (const rnn__bp_part *)ctx;
    int lo = i * g->step, len = g->n - lo;
    if (len > g->step) len = g->step;
    if (len > 0) rnn__gemm_bp_part(rnn__scr[i], g->m, lo, len, g->k, g->n, g->alpha, g->a, g->lda, g->bp, g->beta,
                                   g->c, g->ldc, g->bias);
}

/* C = alpha·A·B + beta·C with B from rnn__bpack (k×n), cut between
   columns at whole panels when there are tasks, as rnn__gemm cuts; with
   bias, C's rows are first set to it (by the tasks, each its columns: a
   GRU step's b_hh). pk: rnn__bp_scratch(m) floats. */
static void rnn__gemm_bp(float *pk, int m, int n, int k, float alpha, const float *a, int lda, const float *bp,
                         float beta, float *c, int ldc, const float *bias) {
    if (rnn__par_n > 1 && rnn__par_worth(m, n, k)) {
        rnn__bp_part g;
        g.step = rnn__cut(n, rnn__best_arch()->nr, 32);
        if (g.step && rnn__scratch((n + g.step - 1) / g.step, rnn__bp_scratch(m))) {
            g.m = m; g.n = n; g.k = k; g.lda = lda; g.ldc = ldc; g.alpha = alpha; g.beta = beta;
            g.a = a; g.bp = bp; g.c = c; g.bias = bias;
            rnn__run(rnn__gemm_bp_task, &g, (n + g.step - 1) / g.step);
            return;
        }
    }
    rnn__gemm_bp_part(pk, m, 0, n, k, n, alpha, a, lda, bp, beta, c, ldc, bias);
}

/* ---- a large product cut between rows, op(B) packed once -----------------
   Cut between columns, each part packs all of op(A); cut between rows, all
   of op(B). At T·B = 2048 that redundant packing made dX = dG·W cut in 8
   parts 1.7–2.1 times the work of dX uncut (bench-split, one thread
   running the parts in turn); this way it is 0.9–1.0 times. So a product
   with rows enough for every part is made in two regions: the tasks pack op(B) once together (rnn__bpack's layout,
   each a share of every block's panels), then each makes its rows of C
   from its own rows of op(A), packed as rnn__sgemm_packed packs them, and
   the shared panels, with its tiles. */
typedef struct rnn__rows_part {
    int ta, tb, m, n, k, lda, ldb, ldc, step, parts;
    float alpha, beta;
    const float *a, *b;
    float *bp, *c;
} rnn__rows_part;

static void rnn__rows_pack_task(void *ctx, int i) {
    const rnn__rows_part *g = (const rnn__rows_part *)ctx;
    int nr = rnn__best_arch()->nr, np = (g->n + nr - 1) / nr, lo = np * i / g->parts, hi = np * (i + 1) / g->parts;
    int pc, j0 = lo * nr, j1 = hi * nr < g->n ? hi * nr : g->n;
    if (lo >= hi) return;
    for (pc = 0; pc < g->k; pc += RNN__KC) {
        int kc = g->k - pc < RNN__KC ? g->k - pc : RNN__KC;
        rnn__pack_b(g->tb, g->b, g->ldb, pc, kc, j0, j1 - j0, nr,
                    g->bp + (size_t)(pc / RNN__KC) * np * rnn__pstride(nr, RNN__KC) + (size_t)lo * rnn__pstride(nr, kc));
    }
}

/* Rows [lo, lo + step) of C: sgemm_packed's loops over the shared op(B). */
static void rnn__rows_task(void *ctx, int i) {
    const rnn__rows_part *g = (const rnn__rows_part *)ctx;
    const rnn__arch *ar = rnn__best_arch();
    int nr = ar->nr, np = (g->n + nr - 1) / nr, lo = i * g->step, len = g->m - lo, pc, jc;
    float *ap = (float *)(((uintptr_t)rnn__scr[i] + 63) & ~(uintptr_t)63);
    if (len > g->step) len = g->step;
    if (len <= 0) return;
    for (pc = 0; pc < g->k; pc += RNN__KC) {
        int kc = g->k - pc < RNN__KC ? g->k - pc : RNN__KC;
        const float *blk = g->bp + (size_t)(pc / RNN__KC) * np * rnn__pstride(nr, RNN__KC);
        for (jc = 0; jc < g->n; jc += RNN__NC)   /* a block of B panels stays in L2 */
            rnn__rows_block(ar, g->ta, g->a, g->lda, lo, len, pc, kc, blk + (size_t)(jc / nr) * rnn__pstride(nr, kc),
                            jc, g->n - jc < RNN__NC ? g->n - jc : RNN__NC, g->alpha, pc == 0 ? g->beta : 1.0f,
                            g->c, g->ldc, ap);
    }
}

/* C = alpha·op(A)·op(B) + beta·C in rows cut at whole micro-panels of step
   rows (more than RNN__PANELWISE_M, so that uncut it takes the packed path
   too); 0 if the packing space cannot be had (nothing was done). */
static int rnn__gemm_rows(int step, int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                          const float *b, int ldb, float beta, float *c, int ldc) {
    const rnn__arch *ar = rnn__best_arch();
    rnn__rows_part g;
    g.parts = (m + step - 1) / step;
    if (!rnn__shared_space(rnn__bpack_floats(k, n)) ||
        !rnn__scratch(g.parts, (size_t)(((step < RNN__MC ? step : RNN__MC) + ar->mr - 1) / ar->mr) *
                                   rnn__pstride(ar->mr, RNN__KC) + 16))
        return 0;
    g.ta = ta; g.tb = tb; g.m = m; g.n = n; g.k = k; g.lda = lda; g.ldb = ldb; g.ldc = ldc; g.step = step;
    g.alpha = alpha; g.beta = beta; g.a = a; g.b = b; g.c = c; g.bp = rnn__shared;
    rnn__run(rnn__rows_pack_task, &g, g.parts);
    rnn__run(rnn__rows_task, &g, g.parts);
    return 1;
}

/* ---- dW = dGᵀ·X with dGᵀ packed as the backward makes dG ----------------
   A layer's weight gradients multiply dGᵀ [G·H][T·B] by its inputs and by
   its states. Packed at the product, dGᵀ is copied from a matrix whose rows
   are G·H floats apart, long out of L1: that copy took 6–9% of a 2-layer
   LSTM H 128 training step. The backward instead puts each row of dG, as
   it is made, into the product's A panels (rnn__apack_put), and the
   products read them (rnn__gemm_ap): the tiles, blocks and kernel of
   rnn__sgemm_packed, so every sum is the one it would make. */

/* Floats of an m×k op(A) in A panels: blocks of RNN__KC depth, each
   ceil(m/mr) panels of mr rows (k-major, zero-padded), rnn__pstride(mr, kc)
   apart; block q starts at q·ceil(m/mr)·rnn__pstride(mr, RNN__KC). */
static size_t rnn__apack_floats(int m, int k) {
    int mr = rnn__best_arch()->mr;
    return (size_t)((k + RNN__KC - 1) / RNN__KC) * (size_t)((m + mr - 1) / mr) * rnn__pstride(mr, RNN__KC);
}

/* Column kk of that op(A) (m values, v) into apk; K the depth of all.
   Each panel takes mr values: a copy of a constant size for the kernels'
   mr (a few vector moves), where rnn__pack_cols's loop for any width cost
   this put 3% of an LSTM step. */
static void rnn__apack_put(float *apk, int m, int K, int kk, const float *v) {
    int mr = rnn__best_arch()->mr, q = kk / RNN__KC, kc = K - q * RNN__KC < RNN__KC ? K - q * RNN__KC : RNN__KC, i = 0;
    size_t ps = rnn__pstride(mr, kc);
    float *d = apk + (size_t)q * ((m + mr - 1) / mr) * rnn__pstride(mr, RNN__KC) + (size_t)(kk % RNN__KC) * mr;
#define RNN__PUT(W) for (; i + W <= m; i += W, d += ps) memcpy(d, v + i, W * sizeof(float))
    switch (mr) {
    case 8: RNN__PUT(8); break;
    case 6: RNN__PUT(6); break;
    case 4: RNN__PUT(4); break;
    default: break;
    }
#undef RNN__PUT
    if (i < m) rnn__pack_cols(v + i, 0, m - i, 1, mr, d, ps);   /* any other mr, the last partial panel */
}

typedef struct rnn__ap_part {
    int m, n, k, ldb, ldc, step;
    const float *apk, *b;
    float *c, *sums;
} rnn__ap_part;

/* sums[i] += Σ_p A[i][p] for rows [lo, lo + len) of one depth block of kc
   (the bias gradient, 1ᵀ·dG, from the panels in L2 where a product over
   all positions read dG again from L3): a panel's mr rows at a time, in
   the same order whatever the rows asked for. */
static void rnn__apack_sums(const float *blk, int mr, int kc, int lo, int len, float *sums) {
    int ir, p, r;
    for (ir = lo; ir < lo + len; ir += mr) {
        const float *pa = blk + (size_t)(ir / mr) * rnn__pstride(mr, kc);
        float acc[16];   /* mr <= 16 */
        int rows = lo + len - ir < mr ? lo + len - ir : mr;
        for (r = 0; r < mr; r++) acc[r] = 0.0f;
        if (mr == 8)   /* the loop of constant length vectorises */
            for (p = 0; p < kc; p++, pa += 8)
                for (r = 0; r < 8; r++) acc[r] += pa[r];
        else
            for (p = 0; p < kc; p++, pa += mr)
                for (r = 0; r < mr; r++) acc[r] += pa[r];
        for (r = 0; r < rows; r++) sums[ir + r] += acc[r];
    }
}

/* Rows [lo, lo + len) of C += A·B (lo a multiple of mr), A from
   rnn__apack_put, B k×n row-major packed a block at a time into bp. */
static void rnn__gemm_ap_rows(const rnn__ap_part *g, int lo, int len, float *bp) {
    const rnn__arch *ar = rnn__best_arch();
    int mr = ar->mr, nr = ar->nr, np = (g->m + mr - 1) / mr, jc, pc, ir, jr;
    bp = (float *)(((uintptr_t)bp + 63) & ~(uintptr_t)63);
    for (jc = 0; jc < g->n; jc += RNN__NC) {
        int nc = g->n - jc < RNN__NC ? g->n - jc : RNN__NC;
        for (pc = 0; pc < g->k; pc += RNN__KC) {
            int kc = g->k - pc < RNN__KC ? g->k - pc : RNN__KC;
            const float *blk = g->apk + (size_t)(pc / RNN__KC) * np * rnn__pstride(mr, RNN__KC);
            rnn__pack_b(0, g->b, g->ldb, pc, kc, jc, nc, nr, bp);
            if (g->sums && jc == 0) rnn__apack_sums(blk, mr, kc, lo, len, g->sums);
            for (ir = lo; ir < lo + len; ir += mr)   /* an A panel stays in L1 against the block's B panels */
                for (jr = 0; jr < nc; jr += nr)
                    rnn__tile(ar, kc, blk + (size_t)(ir / mr) * rnn__pstride(mr, kc),
                              bp + (size_t)(jr / nr) * rnn__pstride(nr, kc), nr, g->c + (size_t)ir * g->ldc + jc + jr,
                              g->ldc, lo + len - ir < mr ? lo + len - ir : mr, nc - jr < nr ? nc - jr : nr, 1.0f, 1.0f);
        }
    }
}

static void rnn__gemm_ap_task(void *ctx, int i) {
    const rnn__ap_part *g = (const rnn__ap_part *)ctx;
    int lo = i * g->step, len = g->m - lo < g->step ? g->m - lo : g->step;
    if (len > 0) rnn__gemm_ap_rows(g, lo, len, rnn__scr[i]);
}

/* Floats of B packing rnn__gemm_ap_rows needs for n columns, depth k. */
static size_t rnn__ap_scratch(int n, int k) {
    int nr = rnn__best_arch()->nr, nc = n < RNN__NC ? n : RNN__NC;
    return (size_t)((nc + nr - 1) / nr) * rnn__pstride(nr, k < RNN__KC ? k : RNN__KC) + 16;
}

/* C (m×n, ldc) += A·B, A m×k from rnn__apack_put, B k×n (ldb), and
   sums[i] += Σ_p A[i][p] (sums NULL: not): rows cut among the tasks at
   whole panels (each packs its own B, a tenth of A's size for a layer's
   dW); pk: rnn__ap_scratch(n, k) floats for the uncut. */
static void rnn__gemm_ap(float *pk, int m, int n, int k, const float *apk, const float *b, int ldb, float *c,
                         int ldc, float *sums) {
    rnn__ap_part g;
    g.m = m; g.n = n; g.k = k; g.ldb = ldb; g.ldc = ldc; g.apk = apk; g.b = b; g.c = c; g.sums = sums;
    g.step = rnn__par_n > 1 && rnn__par_worth(m, n, k) ? rnn__cut(m, rnn__best_arch()->mr, 32) : 0;
    if (g.step && rnn__scratch((m + g.step - 1) / g.step, rnn__ap_scratch(n, k))) {
        rnn__run(rnn__gemm_ap_task, &g, (m + g.step - 1) / g.step);
        return;
    }
    rnn__gemm_ap_rows(&g, 0, m, pk);
}
#endif


/* Every product of the library comes here: the hook if one is set, else
   the built-in with the caller's packing space (layers pass their
   workspace, so training steps after the first allocate nothing), cut
   into parts when there are tasks: with more than RNN__PANELWISE_M rows a
   part, between rows at whole micro-panels (mr), op(B) packed once
   (rnn__gemm_rows); else between columns at whole panels (nr). Either way
   each element is made by the same kernel in the same order as uncut.
   Cut between columns, a part packs its columns of op(B) and all of op(A)
   again: cheap for the few rows of a recurrent step. A BLAS hook is called
   whole (it has threads of its own, and its edges could round
   differently). */
static void rnn__gemm(float *pack, size_t pack_floats, int ta, int tb, int m, int n, int k,
                      float alpha, const float *a, int lda, const float *b, int ldb, float beta,
                      float *c, int ldc) {
    if (rnn__sgemm_hook) {
        rnn__sgemm_hook(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
#ifndef RNN_USE_CBLAS
    if (rnn__par_n > 1 && m > 0 && n > 0 && k > 0 && rnn__par_worth(m, n, k)) {
        const rnn__arch *ar = rnn__best_arch();
        rnn__gemm_part g;
        /* rows enough for every part: cut them, op(B) packed once */
        int rstep = m > RNN__PANELWISE_M ? rnn__cut(m, ar->mr, RNN__PANELWISE_M + 1) : 0;
        if (rstep && rnn__gemm_rows(rstep, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)) return;
        g.step = rnn__cut(n, ar->nr, 32);
        if (g.step) {
            int parts = (n + g.step - 1) / g.step;
            g.npk = rnn__pack_floats(m, g.step, k);
            if (rnn__scratch(parts, g.npk)) {
                g.ta = ta; g.tb = tb; g.m = m; g.n = n; g.k = k; g.lda = lda; g.ldb = ldb; g.ldc = ldc;
                g.alpha = alpha; g.beta = beta; g.a = a; g.b = b; g.c = c;
                rnn__run(rnn__gemm_task, &g, parts);
                return;
            }
        }
    }
#endif
    rnn__sgemm_core(pack, pack_floats, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

RNNDEF void rnn_sgemm(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                      const float *b, int ldb, float beta, float *c, int ldc) {
    rnn__gemm(NULL, 0, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/* ---- element-wise --------------------------------------------------------- */

RNNDEF void rnn_sigmoid(float *y, const float *x, size_t n) { rnn__best_arch()->sigmoid(y, x, n); }
RNNDEF void rnn_tanh(float *y, const float *x, size_t n) { rnn__best_arch()->tanh(y, x, n); }
RNNDEF void rnn_exp(float *y, const float *x, size_t n) { rnn__best_arch()->exp(y, x, n); }

RNNDEF void rnn_relu(float *y, const float *x, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

/* max, then e^(x - max) in place, then one scale: two passes over x. */
RNNDEF void rnn_softmax(float *y, const float *x, size_t n) {
    float mx, r;
    double s = 0.0;
    size_t i;
    if (n == 0) return;
    mx = x[0];
    for (i = 1; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    for (i = 0; i < n; i++) y[i] = x[i] - mx;
    rnn_exp(y, y, n);
    for (i = 0; i < n; i++) s += y[i];   /* double: a vocabulary is long */
    r = (float)(1.0 / s);
    for (i = 0; i < n; i++) y[i] *= r;
}

RNNDEF void rnn_log_softmax(float *y, const float *x, size_t n) {
    float mx, ls;
    double s = 0.0;
    size_t i;
    if (n == 0) return;
    mx = x[0];
    for (i = 1; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    for (i = 0; i < n; i++) s += (double)rnn__exp1(x[i] - mx);
    ls = (float)log(s);   /* kept apart from mx: mx + ls would round ls away */
    for (i = 0; i < n; i++) y[i] = (x[i] - mx) - ls;
}

/* ============================================================================
   Layers: recurrent

   Per layer l and direction d, forward walks time: the input projection
   G = X·W_ihᵀ of a step (or of enough steps for 32 rows) right before it,
   the recurrent product hp = h·W_hhᵀ (W_ih, W_hh packed once per forward),
   and one fused pass for the bias, the gate nonlinearities and the state
   update (GRU sets G to b_ih and hp to b_hh first: its n gate needs them
   apart). Without the packed path, G is one GEMM over all T·B positions.
   Backward walks time in reverse with one product per step (dh =
   dG_hh·W_hh); each block of about RNN__KC positions of dG, once made, adds
   its part of dW_ih, dW_hh and the bias gradients from L2 (rnn__gemm_ap)
   and, where a block fits 1 MiB, its rows of dX (W_ih packed once), so
   dG's rows live in a ring of one block that stays in L2. Each step asks
   for the next step's cached rows ahead (rnn__ahead). Without the packed
   path (a BLAS hook, RNN_USE_CBLAS, batches under 4) the weight and bias
   gradients and dX are GEMMs over all positions at the end; a layer fed
   by token keeps every row of dG for its table's gradient.

   The workspace grows to the largest T·B seen; rnn__rec_plan names every
   buffer in it with its shape, and rnn__rec_carve_at alone lays them out.
   ========================================================================== */

static int rnn__is_gru(rnn_cell c) { return c == RNN_GRU || c == RNN_GRU_CHO; }
/* floats of padding after each row of the W_hhᵀ copy (see rnn__rec_product) */
#define RNN__ROWPAD 16

static int rnn__has_dropout(const rnn_recurrent *r, int l) {
    return r->cfg.dropout > 0.0f && l < r->cfg.num_layers - 1;
}

/* The workspace of the last forward's (T, B) as layer l, direction d sees
   it. rnn__rec_plan is the one place that knows where a buffer lies:
   per (l, d) the caches, per layer the outputs, the shared scratch, layer
   0's gate table when its input came by token, then packing space. */
typedef struct rnn__rec_plan {
    float *gates;       /* [T·B][G·H] gate activations of (l, d)                   */
    float *hprev;       /* [T·B][H]   the state each step started from             */
    float *cprev;       /* [T·B][H]   LSTM: the cell state each step started from  */
    float *cnew;        /* [T·B][H]   LSTM: tanh(c')                               */
    float *extra;       /* [T·B][H]   GRU: hn = h·W_hnᵀ + b_hn; GRU_CHO: r⊙h       */
    float *below;       /* [T·B][D·H] layer l−1's output as layer l reads it (after
                                      dropout); NULL for layer 0                    */
    float *below_mask;  /* [T·B][D·H] the dropout mask on it (NULL: no dropout)     */
    float *out;         /* [T·B][D·H] layer l's output                              */
    float *mask;        /* [T·B][D·H] dropout between l and l+1 (NULL: none)        */
    float *dropped;     /* [T·B][D·H] out⊙mask, layer l+1's input                   */
    float *hs, *cs;     /* [B][H]     the running state                             */
    float *dh, *dc;     /* [B][H]     backward: the gradient reaching h, c          */
    float *tmp;         /* [B][H]     GRU_CHO backward: d(r⊙h)                      */
    float *hp;          /* [B][G·H]   GRU's recurrent term; backward: bias sums     */
    float *whhT;        /* W_hh for the steps' products: forward W_hhᵀ [H][G·H +
                           RNN__ROWPAD], rows padded, or packed (rnn__rec_whh); the
                           backward's packed W_hh (rnn__rec_whh)                     */
    float *dgi, *dgh;   /* [T·B][G·H] pre-activation gradients of the input and the
                                      recurrent side (one array for Elman, LSTM)    */
    float *dgp, *dgpi;  /* a block of rnn__rec_kb positions of dghᵀ (and GRU's dgiᵀ)
                           in A panels, for the weight gradients (rnn__apack_put;
                           NULL with RNN_USE_CBLAS)                                  */
    float *wihp;        /* W_ih packed (rnn__bpack): forward W_ihᵀ for the input
                           projection a chunk at a time, backward W_ih for dX =
                           dG·W_ih block by block                                    */
    float *gbias;       /* [G·H]      the gate bias the forward starts from         */
    float *dcur, *dnext;/* [T·B][D·H] gradients of layer l's output and l−1's       */
    float *ones;        /* [T·B]      ones, for bias column sums                    */
    float *table;       /* [V][G·H]   layer 0's gate table, then its gradient       */
    float *pack;        /* packing space for the products (rnn__gemm)               */
    size_t npack, total;/* its floats; the floats of the whole workspace            */
} rnn__rec_plan;

/* Asks for the cache line at p ahead of its use (nothing where the
   compiler has no way to say it). */
#if defined(__GNUC__) && !defined(__TINYC__)
#define RNN__PREFETCH(p) __builtin_prefetch(p)
#else
#define RNN__PREFETCH(p) ((void)(p))
#endif

/* Asks for n floats from p on ahead of their use: the backward's cached
   rows of a step lie out in L3 (T·B rows of G·H), and asked for a step
   before, they come while the step's product runs. */
static void rnn__ahead(const float *p, size_t n) {
    const char *q = (const char *)p, *e = q + sizeof(float) * n;
    for (; q < e; q += 64) RNN__PREFETCH(q);
}

static float *rnn__at(float *ws, size_t off) { return ws ? ws + off : NULL; }

/* The positions of one block of the backward's weight gradients: whole
   steps of B rows, RNN__KC deep or just under it (B at least), so a step
   never straddles two blocks. */
static int rnn__rec_kb(int B) { return B >= RNN__KC ? B : RNN__KC / B * B; }

/* The steps' W_hh, packed (rnn__bpack) when the batch has RNN__BP_MIN_M rows
   or more and the products are the built-in ones: forward op(B) = W_hhᵀ
   (H × G·H), backward op(B) = W_hh (G·H × H). GRU_CHO's candidate rows
   multiply another input, so they are a second matrix after the first 2H
   gate rows (forward: columns). Returns 1 if packed. */
static int rnn__rec_bp(int B) {
#ifdef RNN_USE_CBLAS
    (void)B;
    return 0;
#else
    return !rnn__sgemm_hook && B >= RNN__BP_MIN_M;
#endif
}
static size_t rnn__rec_whh_floats(int H, int GH) {
    size_t plain = (size_t)H * (GH + RNN__ROWPAD);
#ifndef RNN_USE_CBLAS
    size_t f = rnn__bpack_floats(H, GH), b = rnn__bpack_floats(GH, H);
    size_t f3 = rnn__bpack_floats(H, 2 * H) + rnn__bpack_floats(H, H);
    size_t b3 = rnn__bpack_floats(2 * H, H) + rnn__bpack_floats(H, H);
    if (f > plain) plain = f;
    if (b > plain) plain = b;
    if (GH == 3 * H && f3 > plain) plain = f3;
    if (GH == 3 * H && b3 > plain) plain = b3;
#endif
    return plain;
}
#ifndef RNN_USE_CBLAS
static void rnn__rec_whh(const rnn_recurrent *r, const rnn_recurrent_weights *w, int backward, float *dst) {
    int H = r->cfg.hidden_size, GH = r->gates * H;
    if (r->cfg.cell != RNN_GRU_CHO) {
        if (backward) rnn__bpack(0, w->w_hh, H, GH, H, dst);
        else rnn__bpack(1, w->w_hh, H, H, GH, dst);
    } else if (backward) {
        rnn__bpack(0, w->w_hh, H, 2 * H, H, dst);
        rnn__bpack(0, w->w_hh + (size_t)2 * H * H, H, H, H, dst + rnn__bpack_floats(2 * H, H));
    } else {
        rnn__bpack(1, w->w_hh, H, H, 2 * H, dst);
        rnn__bpack(1, w->w_hh + (size_t)2 * H * H, H, H, H, dst + rnn__bpack_floats(H, 2 * H));
    }
}
#endif
/* Steps of a forward's input projection made at once, right before the
   steps that use them, with the packed path on one thread: one, or enough
   for 32 rows. Made for all T·B positions at once, every position's gates
   went out to L3 and came back for its step's product (LSTM H 128: 256 or
   64 KiB of them at once, 1.005 or 1.011 times as fast as all at once).
   With tasks, the projection of all positions cut between rows stays: a
   region a chunk cost 2-3% on 2 threads. */
#ifndef RNN_USE_CBLAS
static int rnn__rec_chunk(int B) { return B >= 32 ? 1 : (32 + B - 1) / B; }
#endif

/* The first 64-byte boundary at or after p: where an object's floats start
   when they share its allocation (vector loads then never split lines). */
static float *rnn__after(const void *p) { return (float *)(((uintptr_t)p + 63) & ~(uintptr_t)63); }

/* Fills p for (T, B, V table rows) and layer l, direction d, over ws
   (NULL: only the sizes). */
static void rnn__rec_carve_at(const rnn_recurrent *r, int T, int B, int V, int l, int d, float *ws,
                             rnn__rec_plan *p) {
    size_t TB = (size_t)T * B, H = (size_t)r->cfg.hidden_size, GH = (size_t)r->gates * H;
    size_t DH = (size_t)r->dirs * H, ld, off;
    int L = r->cfg.num_layers, i, mx, nx;
    int in = r->cfg.input_size > (int)DH ? r->cfg.input_size : (int)DH;   /* the widest layer input */
    int lstm = r->cfg.cell == RNN_LSTM, gru = rnn__is_gru(r->cfg.cell);
    memset(p, 0, sizeof *p);
    ld = TB * (GH + H + (lstm ? 2 * H : 0) + (gru ? H : 0));
    off = (size_t)(l * r->dirs + d) * ld;
    p->gates = rnn__at(ws, off);
    p->hprev = rnn__at(ws, off + TB * GH);
    if (lstm) { p->cprev = rnn__at(ws, off + TB * (GH + H)); p->cnew = rnn__at(ws, off + TB * (GH + 2 * H)); }
    if (gru) p->extra = rnn__at(ws, off + TB * (GH + H));
    off = (size_t)L * r->dirs * ld;
    for (i = 0; i < L; i++) {
        int drop = rnn__has_dropout(r, i);
        if (i == l - 1) { p->below = rnn__at(ws, off + (drop ? 2 : 0) * TB * DH); p->below_mask = drop ? rnn__at(ws, off + TB * DH) : NULL; }
        if (i == l) { p->out = rnn__at(ws, off); if (drop) { p->mask = rnn__at(ws, off + TB * DH); p->dropped = rnn__at(ws, off + 2 * TB * DH); } }
        off += TB * DH * (drop ? 3 : 1);
    }
    p->hs = rnn__at(ws, off); off += (size_t)B * H;
    p->cs = rnn__at(ws, off); off += (size_t)B * H;
    p->dh = rnn__at(ws, off); off += (size_t)B * H;
    p->dc = rnn__at(ws, off); off += (size_t)B * H;
    p->tmp = rnn__at(ws, off); off += (size_t)B * H;
    p->hp = rnn__at(ws, off); off += (size_t)B * GH;
    p->whhT = rnn__at(ws, off); off += rnn__rec_whh_floats((int)H, (int)GH);
    p->dgi = rnn__at(ws, off); off += TB * GH;
    p->dgh = gru ? rnn__at(ws, off) : p->dgi; off += gru ? TB * GH : 0;
#ifndef RNN_USE_CBLAS
    p->dgp = rnn__at(ws, off); off += rnn__apack_floats((int)GH, rnn__rec_kb(B));
    p->dgpi = gru ? rnn__at(ws, off) : NULL; off += gru ? rnn__apack_floats((int)GH, rnn__rec_kb(B)) : 0;
    p->wihp = rnn__at(ws, off);   /* W_ih packed either way round */
    {
        size_t fw = rnn__bpack_floats(in, (int)GH), bw = rnn__bpack_floats((int)GH, in);
        off += fw > bw ? fw : bw;
    }
#endif
    p->gbias = rnn__at(ws, off); off += GH;
    p->dcur = rnn__at(ws, off); off += TB * DH;
    p->dnext = rnn__at(ws, off); off += TB * DH;
    p->ones = rnn__at(ws, off); off += TB;
    p->table = V ? rnn__at(ws, off) : NULL; off += (size_t)V * GH;
    /* the largest product: X·W_ihᵀ, dW = dGᵀ·X, dX = dG·W_ih, the table's */
    mx = (int)TB > (int)GH ? (int)TB : (int)GH; nx = (int)GH > in ? (int)GH : in;
    p->npack = rnn__pack_floats(mx, nx, mx > in ? mx : in);
#ifndef RNN_USE_CBLAS
    if (B >= RNN__BP_MIN_M) {   /* and the packed path's products of a block or a chunk of steps (rnn__gemm_bp) */
        int rows = rnn__rec_kb(B) > rnn__rec_chunk(B) * B ? rnn__rec_kb(B) : rnn__rec_chunk(B) * B;
        if (p->npack < rnn__bp_scratch(rows)) p->npack = rnn__bp_scratch(rows);
    }
#endif
    p->pack = rnn__at(ws, off);
    p->total = off + p->npack;
}

/* The plan of the last forward. */
static void rnn__rec_carve(const rnn_recurrent *r, int l, int d, rnn__rec_plan *p) {
    rnn__rec_carve_at(r, r->T, r->B, r->tab_rows, l, d, r->ws, p);
}

/* Layer 0 fed by token: its input is row tok of an embedding matrix E
   [V][I]. When V ≤ T·B/2 (and the table stays under 4 MB) the layer makes
   the gate table T = E·W_ih0ᵀ + gate bias [V][G·H] once per window, which
   costs V·I·G·H multiply-adds instead of the T·B·I·G·H of the input
   product, and reads layer 0's gates from it. Backward: dT[v] = Σ dG0
   over the positions holding v, then dW_ih0 += dTᵀ·E and dE += dT·W_ih0
   (V rows instead of T·B). The one-token path (rnn_lm_step) uses the same
   table whenever it fits. */
static int rnn__table_fits(const rnn_recurrent *r, int V) {
    return r->dirs == 1 && (size_t)V * r->gates * r->cfg.hidden_size <= (size_t)1 << 20;
}
static int rnn__table_pays(const rnn_recurrent *r, int V, int TB) { return 2 * V <= TB && rnn__table_fits(r, V); }

static rnn_status rnn__fail(rnn_recurrent *r, rnn_status st, const char *msg) {
    return r ? rnn__err(r->error, sizeof r->error, st, "%s", msg) : st;
}

static void rnn__uniform(float *w, size_t n, float bound, rnn_rng *rng) {
    size_t i;
    for (i = 0; i < n; i++) w[i] = (2.0f * rnn_rng_uniform(rng) - 1.0f) * bound;
}

/* An n×n orthogonal matrix: Gram-Schmidt (twice, for accuracy) on the rows
   of a normal random matrix, in double. */
static rnn_status rnn__orthogonal(float *w, int n, rnn_rng *rng) {
    double *q = (double *)RNN_MALLOC(sizeof(double) * (size_t)n * n);
    int i, j, k, pass;
    if (!q) return RNN_ERR_OUT_OF_MEMORY;
    for (i = 0; i < n * n; i++) q[i] = rnn_rng_normal(rng);
    for (i = 0; i < n; i++) {
        double *qi = q + (size_t)i * n, norm = 0;
        for (pass = 0; pass < 2; pass++)
            for (j = 0; j < i; j++) {
                double *qj = q + (size_t)j * n, dot = 0;
                for (k = 0; k < n; k++) dot += qi[k] * qj[k];
                for (k = 0; k < n; k++) qi[k] -= dot * qj[k];
            }
        for (k = 0; k < n; k++) norm += qi[k] * qi[k];
        norm = sqrt(norm);
        for (k = 0; k < n; k++) qi[k] /= norm;
    }
    for (i = 0; i < n * n; i++) w[i] = (float)q[i];
    RNN_FREE(q);
    return RNN_OK;
}

RNNDEF rnn_status rnn_recurrent_create(rnn_recurrent **out, const rnn_recurrent_config *cfg,
                                       uint64_t seed) {
    rnn_recurrent *r;
    rnn_rng rng;
    int L, D, G, H, l, d, g, i;
    size_t off = 0, total = 0;
    if (!out) return RNN_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!cfg || cfg->cell < RNN_CELL_DEFAULT || cfg->cell > RNN_GRU_CHO || cfg->input_size <= 0 ||
        cfg->hidden_size <= 0 || cfg->num_layers < 0 || !(cfg->dropout >= 0.0f && cfg->dropout < 1.0f) ||
        cfg->input_init < RNN_INIT_DEFAULT || cfg->input_init > RNN_INIT_GLOROT ||
        cfg->recurrent_init < RNN_INIT_DEFAULT || cfg->recurrent_init > RNN_INIT_IDENTITY)
        return RNN_ERR_INVALID_ARGUMENT;
    r = (rnn_recurrent *)RNN_MALLOC(sizeof *r);
    if (!r) return RNN_ERR_OUT_OF_MEMORY;
    memset(r, 0, sizeof *r);
    r->cfg = *cfg;
    if (r->cfg.cell == RNN_CELL_DEFAULT) r->cfg.cell = RNN_LSTM;
    if (r->cfg.num_layers == 0) r->cfg.num_layers = 1;
    L = r->cfg.num_layers; D = r->dirs = cfg->bidirectional ? 2 : 1;
    G = r->gates = cfg->cell == RNN_LSTM ? 4 : rnn__is_gru(cfg->cell) ? 3 : 1;
    H = cfg->hidden_size;
    for (l = 0; l < L; l++) {
        size_t in = l == 0 ? (size_t)cfg->input_size : (size_t)D * H;
        total += (size_t)D * ((size_t)G * H * (in + H) + 2 * (size_t)G * H);
    }
    r->num_params = total;
    r->params = (float *)RNN_MALLOC(2 * total * sizeof(float));
    r->w = (rnn_recurrent_weights *)RNN_MALLOC((size_t)L * D * sizeof(rnn_recurrent_weights));
    if (!r->params || !r->w) { rnn_recurrent_free(r); return RNN_ERR_OUT_OF_MEMORY; }
    r->grads = r->params + total;
    memset(r->grads, 0, total * sizeof(float));
    rnn_rng_seed(&rng, seed);
    for (l = 0; l < L; l++)
        for (d = 0; d < D; d++) {
            rnn_recurrent_weights *w = &r->w[l * D + d];
            int in = l == 0 ? cfg->input_size : D * H;
            float bound = 1.0f / sqrtf((float)H);
            w->in_size = in;
            w->w_ih = r->params + off; w->gw_ih = r->grads + off; off += (size_t)G * H * in;
            w->w_hh = r->params + off; w->gw_hh = r->grads + off; off += (size_t)G * H * H;
            w->b_ih = r->params + off; w->gb_ih = r->grads + off; off += (size_t)G * H;
            w->b_hh = r->params + off; w->gb_hh = r->grads + off; off += (size_t)G * H;
            if (cfg->input_init == RNN_INIT_GLOROT)
                rnn__uniform(w->w_ih, (size_t)G * H * in, sqrtf(6.0f / (float)(in + H)), &rng);
            else
                rnn__uniform(w->w_ih, (size_t)G * H * in, bound, &rng);
            for (g = 0; g < G; g++) {
                float *blk = w->w_hh + (size_t)g * H * H;
                if (cfg->recurrent_init == RNN_INIT_ORTHOGONAL) {
                    if (rnn__orthogonal(blk, H, &rng) != RNN_OK) { rnn_recurrent_free(r); return RNN_ERR_OUT_OF_MEMORY; }
                } else if (cfg->recurrent_init == RNN_INIT_IDENTITY) {
                    memset(blk, 0, sizeof(float) * (size_t)H * H);
                    for (i = 0; i < H; i++) blk[(size_t)i * H + i] = 1.0f;
                } else {
                    rnn__uniform(blk, (size_t)H * H, cfg->recurrent_init == RNN_INIT_GLOROT
                                 ? sqrtf(3.0f / (float)H) : bound, &rng);
                }
            }
            if (cfg->input_init == RNN_INIT_DEFAULT) rnn__uniform(w->b_ih, (size_t)G * H, bound, &rng);
            else memset(w->b_ih, 0, sizeof(float) * G * H);
            if (cfg->recurrent_init == RNN_INIT_DEFAULT) rnn__uniform(w->b_hh, (size_t)G * H, bound, &rng);
            else memset(w->b_hh, 0, sizeof(float) * G * H);
            if (cfg->cell == RNN_LSTM && cfg->forget_bias_one)
                for (i = 0; i < H; i++) { w->b_ih[H + i] = 1.0f; w->b_hh[H + i] = 0.0f; }
        }
    *out = r;
    return RNN_OK;
}

RNNDEF void rnn_recurrent_free(rnn_recurrent *r) {
    if (!r) return;
    RNN_FREE(r->params);
    RNN_FREE(r->w);
    RNN_FREE(r->ws);
    RNN_FREE(r->len);
    RNN_FREE(r);
}

RNNDEF void rnn_recurrent_param_name(const rnn_recurrent *r, int i, char *buf, size_t cap) {
    static const char *kind[4] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
    int ld = i / 4;
    if (cap == 0) return;
    if (i < 0 || ld >= r->cfg.num_layers * r->dirs) { buf[0] = 0; return; }
    snprintf(buf, cap, "%s_l%d%s", kind[i % 4], ld / r->dirs, ld % r->dirs ? "_reverse" : "");
}

RNNDEF rnn_status rnn_recurrent_param(rnn_recurrent *r, const char *name, float **value,
                                      float **grad, size_t *count) {
    int i, n = r->cfg.num_layers * r->dirs * 4;
    char buf[48];
    for (i = 0; i < n; i++) {
        rnn_recurrent_weights *w = &r->w[i / 4];
        size_t GH = (size_t)r->gates * r->cfg.hidden_size;
        float *v[4], *gr[4];
        size_t cnt[4];
        rnn_recurrent_param_name(r, i, buf, sizeof buf);
        if (strcmp(buf, name) != 0) continue;
        v[0] = w->w_ih; v[1] = w->w_hh; v[2] = w->b_ih; v[3] = w->b_hh;
        gr[0] = w->gw_ih; gr[1] = w->gw_hh; gr[2] = w->gb_ih; gr[3] = w->gb_hh;
        cnt[0] = GH * w->in_size; cnt[1] = GH * r->cfg.hidden_size; cnt[2] = cnt[3] = GH;
        if (value) *value = v[i % 4];
        if (grad) *grad = gr[i % 4];
        if (count) *count = cnt[i % 4];
        return RNN_OK;
    }
    return rnn__fail(r, RNN_ERR_INVALID_ARGUMENT, "no parameter of that name");
}

RNNDEF void rnn_recurrent_zero_grad(rnn_recurrent *r) {
    memset(r->grads, 0, r->num_params * sizeof(float));
}

/* Panels: Wᵀ for W [rows][cols] stored as blocks of 256 of Wᵀ's columns,
   block q the contiguous [cols][w] piece holding columns 256q..256q+w-1.
   One row times such a matrix reads memory straight through, which streams
   about 1.6x faster than rows read in part (measured on Zen 5). */
#define RNN__PANEL 256
static void rnn__panelize(float *dst, const float *w, int rows, int cols) {
    int j0, j, p;
    for (j0 = 0; j0 < rows; j0 += RNN__PANEL) {
        int wd = rows - j0 < RNN__PANEL ? rows - j0 : RNN__PANEL;
        for (p = 0; p < cols; p++)
            for (j = 0; j < wd; j++) *dst++ = w[(size_t)(j0 + j) * cols + p];
    }
}

/* y[n] += x[k]·P for P [k][n] in panels (rnn__panelize of W [n][k]),
   then, if p2, y2[n] += x2[k2]·P2 the same way (a layer's W_ih and W_hh in
   one region: each panel of y gets its first sum, then its second, as two
   calls would give it); with tasks, whole panels are shared out (a large
   model's token reads its weights from several cores' caches at once;
   each panel is the same call either way). */
typedef struct rnn__panels_job {
    const float *x, *p, *x2, *p2;
    float *y, *y2;
    int k, k2, n, step;
} rnn__panels_job;

static void rnn__panels_task(void *ctx, int part) {
    const rnn__panels_job *g = (const rnn__panels_job *)ctx;
    int j0;
    for (j0 = part * g->step; j0 < g->n && j0 < (part + 1) * g->step; j0 += RNN__PANEL) {
        int wd = g->n - j0 < RNN__PANEL ? g->n - j0 : RNN__PANEL;
        rnn__sgemm_core(NULL, 0, 0, 0, 1, wd, g->k, 1.0f, g->x, g->k, g->p + (size_t)j0 * g->k, wd, 1.0f, g->y + j0, wd);
        if (g->p2)
            rnn__sgemm_core(NULL, 0, 0, 0, 1, wd, g->k2, 1.0f, g->x2, g->k2, g->p2 + (size_t)j0 * g->k2, wd, 1.0f,
                            g->y2 + j0, wd);
    }
}

static void rnn__gemv_panels2(const float *x, int k, const float *p, const float *x2, int k2, const float *p2, int n,
                              float *y, float *y2) {
    rnn__panels_job g;
    g.x = x; g.p = p; g.y = y; g.k = k; g.n = n;
    g.x2 = x2; g.p2 = p2; g.y2 = y2; g.k2 = p2 ? k2 : 0;
    g.step = !rnn__sgemm_hook && rnn__par_worth(1, n, k + g.k2) ? rnn__cut(n, RNN__PANEL, RNN__PANEL) : 0;
    if (!g.step) {
        int j0;
        for (j0 = 0; j0 < n; j0 += RNN__PANEL) {
            int wd = n - j0 < RNN__PANEL ? n - j0 : RNN__PANEL;
            rnn_sgemm(0, 0, 1, wd, k, 1.0f, x, k, p + (size_t)j0 * k, wd, 1.0f, y + j0, wd);
            if (p2) rnn_sgemm(0, 0, 1, wd, k2, 1.0f, x2, k2, p2 + (size_t)j0 * k2, wd, 1.0f, y2 + j0, wd);
        }
        return;
    }
    rnn__run(rnn__panels_task, &g, (n + g.step - 1) / g.step);
}

static void rnn__gemv_panels(const float *x, int k, const float *p, int n, float *y) {
    rnn__gemv_panels2(x, k, p, NULL, 0, NULL, n, y, NULL);
}

/* out[:, j0..j0+n) = b_hh + in·W_hhᵀ over those gate columns (rows of out
   G·H apart). whhT: W_hhᵀ copied [H][G·H + RNN__ROWPAD] (panels = 0; the
   padding keeps rows 4 KiB apart out of the same L1 sets: 1.4x at H = 256),
   or for one row (B = 1, panels = 1) in panels, GRU_CHO's candidate rows as
   a second panel set after the first 2H columns, or (panels = 2) packed by
   rnn__rec_whh (columns j0 = 0 or, GRU_CHO, 2H), or (panels = 3) whhT is
   really the layer's int8 W_hh (const rnn__q8 *); NULL: W_hh read in place
   (rnn_recurrent_step: dot products). bias = 0: out already holds b_hh
   (and more) and the product adds to it. */
static void rnn__rec_product(const rnn_recurrent_weights *w, int H, int GH, int B, int j0, int n,
                             const float *in, const float *whhT, int panels, int bias, float *out,
                             float *pk, size_t npk) {
    int b;
#ifndef RNN_USE_CBLAS
    if (whhT && panels == 2) {   /* the tasks copy b_hh into their own columns */
        rnn__gemm_bp(pk, B, n, H, 1.0f, in, H, whhT + (j0 ? rnn__bpack_floats(H, j0) : 0), 1.0f, out + j0, GH,
                     bias ? w->b_hh + j0 : NULL);
        return;
    }
#endif
    if (panels == 3) {   /* int8 (B = 1): b_hh goes in with the product's finish */
        rnn__q8_gemv((const rnn__q8 *)(const void *)whhT, j0, n, in, out + j0, bias ? w->b_hh + j0 : NULL, NULL, pk);
        return;
    }
    for (b = 0; b < B && bias; b++) memcpy(out + (size_t)b * GH + j0, w->b_hh + j0, sizeof(float) * n);
    if (whhT && panels == 1) rnn__gemv_panels(in, H, whhT + (size_t)j0 * H, n, out + j0);
    else if (whhT) rnn__gemm(pk, npk, 0, 0, B, n, H, 1.0f, in, H, whhT + j0, GH + RNN__ROWPAD, 1.0f, out + j0, GH);
    else rnn__gemm(pk, npk, 0, 1, B, n, H, 1.0f, in, H, w->w_hh + (size_t)j0 * H, H, 1.0f, out + j0, GH);
}

/* The bias a step starts from: b_ih + b_hh where the recurrent term is
   simply added (Elman, LSTM), b_ih for GRU (its b_hn sits inside r⊙(..)). */
static void rnn__gate_bias(const rnn_recurrent *r, const rnn_recurrent_weights *w, float *dst) {
    int j, GH = r->gates * r->cfg.hidden_size;
    if (rnn__is_gru(r->cfg.cell)) memcpy(dst, w->b_ih, sizeof(float) * GH);
    else for (j = 0; j < GH; j++) dst[j] = w->b_ih[j] + w->b_hh[j];
}

/* Fills tab [V][G·H] = E·W_ih0ᵀ + gate bias for an embedding E [V][I]
   (pk: packing space the caller lends, or NULL). */
static void rnn__fill_table(const rnn_recurrent *r, const float *E, int V, float *tab, float *pk, size_t npk) {
    const rnn_recurrent_weights *w0 = &r->w[0];
    int v, GH = r->gates * r->cfg.hidden_size, in = r->cfg.input_size;
    for (v = 0; v < V; v++) rnn__gate_bias(r, w0, tab + (size_t)v * GH);
    rnn__gemm(pk, npk, 0, 1, V, GH, in, 1.0f, E, in, w0->w_ih, in, 1.0f, tab, GH);
}

/* dst row i (n floats, rows n apart) = src row idx[i] (idx NULL: row 0)
   for i < rows, cut among the tasks: a window's layer-0 gates from the
   gate table, or every position's bias, 8 MB at T·B = 2048, G·H = 1024. */
typedef struct rnn__copy_part {
    float *dst;
    const float *src;
    const int *idx;
    size_t rows, n, step, drows;
} rnn__copy_part;

static void rnn__copy_task(void *ctx, int i) {
    const rnn__copy_part *g = (const rnn__copy_part *)ctx;
    size_t r = (size_t)i * g->step, end = r + g->step < g->rows ? r + g->step : g->rows;
    for (; r < end; r++) memcpy(g->dst + r * g->n, g->src + (g->idx ? (size_t)g->idx[r] * g->n : 0), sizeof(float) * g->n);
}

/* dst [drows][n] = 0, then dst row idx[i] += src row i for i < rows (in
   order), cut among the tasks between columns: layer 0's gate-table
   gradient, dT[v] = Σ dG0 over the positions holding token v. */
static void rnn__scatter_task(void *ctx, int t) {
    const rnn__copy_part *g = (const rnn__copy_part *)ctx;
    size_t j0 = (size_t)t * g->step, j1 = j0 + g->step < g->n ? j0 + g->step : g->n, r, j;
    for (r = 0; r < g->drows; r++) memset(g->dst + r * g->n + j0, 0, sizeof(float) * (j1 - j0));
    for (r = 0; r < g->rows; r++) {
        float *d = g->dst + (size_t)g->idx[r] * g->n;
        const float *s = g->src + r * g->n;
        for (j = j0; j < j1; j++) d[j] += s[j];
    }
}

static void rnn__scatter_rows(float *dst, size_t drows, const float *src, const int *idx, size_t rows, size_t n) {
    rnn__copy_part g;
    int step = (double)rows * n >= 16.0 * RNN_PAR_MIN_VALUES && n < 1u << 30 ? rnn__cut((int)n, 16, 64) : 0;
    g.dst = dst; g.src = src; g.idx = idx; g.rows = rows; g.n = n; g.drows = drows;
    g.step = step ? (size_t)step : n;
    if (step) rnn__run(rnn__scatter_task, &g, (int)((n + g.step - 1) / g.step));
    else rnn__scatter_task(&g, 0);
}

static void rnn__copy_rows(float *dst, const float *src, const int *idx, size_t rows, size_t n) {
    rnn__copy_part g;
    int step = (double)rows * n >= 16.0 * RNN_PAR_MIN_VALUES && rows < 1u << 30 ? rnn__cut((int)rows, 1, 1) : 0;
    g.dst = dst; g.src = src; g.idx = idx; g.rows = rows; g.n = n; g.drows = 0;
    g.step = step ? (size_t)step : rows;
    if (step) rnn__run(rnn__copy_task, &g, (int)((rows + g.step - 1) / g.step));
    else rnn__copy_task(&g, 0);
}

/* A training forward's step: the state it starts from is already in the
   caches, hin and cin [B][H] (its rows of hprev and cprev; cin NULL but for
   LSTM), so the product reads h there and the pass writes the new state to
   hs, cs (the next step's rows of the caches, or after the last step the
   final state): the state is never copied. Each row's new h also goes to
   out + b·ld (zeros where the row is padding). */
typedef struct rnn__keep {
    const float *hin, *cin;
    float *out;
    size_t ld;
} rnn__keep;

/* One step of the cell for B rows. g [B][G·H] holds the input projection
   plus rnn__gate_bias and receives the gate activations; hs, cs [B][H] are
   the state, updated where valid[b] (NULL: all), or with keep, the new
   state's place (padded rows get keep's hin, cin unchanged). hp [B][G·H]
   is scratch (GRU's recurrent term hp = h·W_hhᵀ + b_hh; Elman and LSTM add
   theirs to g in the product itself). extra [B][H] receives hn (GRU) or r⊙h (GRU_CHO);
   cnew [B][H] tanh(c') (LSTM).
     Elman: h' = act(g + hp)
     LSTM:  [i f g o] = [σ σ tanh σ](g + hp), c' = f⊙c + i⊙g, h' = o⊙tanh(c')
     GRU:   r, z = σ(g_rz + hp_rz), n = tanh(g_n + r⊙hp_n), h' = (1−z)⊙n + z⊙h
     CHO:   as GRU but hp_n = (r⊙h)·W_hnᵀ + b_hn, computed after r. */
/* A step's point-wise work on rows [b0, b1), for a region's tasks (the
   rows are independent, so any cut gives the same values). */
typedef struct rnn__cell_rows {
    const rnn_recurrent *r;
    const unsigned char *valid;
    int B, step, phase;
    float *g, *hp, *hs, *cs, *cnew, *extra;                                   /* forward  */
    const float *bias;  /* forward: the gate bias to add (NULL: g holds it), Elman and LSTM */
    const rnn__keep *keep;                                                    /* forward  */
    const float *hprev, *cprev, *dy;                                          /* backward */
    size_t ldy;                                                               /* backward */
    float *dgi, *dgh, *dh, *dc;
    float *dgp, *dgpi;  /* backward: dgh's (and dgi's) rows also into A panels (rnn__apack_put) */
    int k0, K;          /* at depth k0 + b of K                                     */
    int ahead;          /* backward: where the next step's rows are, in rows (± the batch; 0: no next step) */
} rnn__cell_rows;

/* Runs fn over the rows of c, cut among the tasks when the pass is big
   enough to pay for a region (B·H >= RNN_PAR_MIN_VALUES). */
static void rnn__rows(rnn__cell_rows *c, rnn_task_fn fn) {
    int H = c->r->cfg.hidden_size;
    c->step = (double)c->B * H >= RNN_PAR_MIN_VALUES ? rnn__cut(c->B, 1, 2) : 0;
    if (c->step) rnn__run(fn, c, (c->B + c->step - 1) / c->step);
    else { c->step = c->B; fn(c, 0); }
}

static void rnn__cell_fwd_rows(void *ctx, int part) {
    const rnn__cell_rows *c = (const rnn__cell_rows *)ctx;
    const rnn_recurrent *r = c->r;
    int H = r->cfg.hidden_size, GH = r->gates * H, b, j, b0 = part * c->step;
    int b1 = b0 + c->step < c->B ? b0 + c->step : c->B;
    rnn_cell cell = r->cfg.cell;
    const rnn__arch *ar = rnn__best_arch();
    for (b = b0; b < b1; b++) {
        float *gb = c->g + (size_t)b * GH, *hpb = c->hp + (size_t)b * GH, *h = c->hs + (size_t)b * H;
        float *cb = cell == RNN_LSTM ? c->cs + (size_t)b * H : NULL;
        const float *hi = c->keep ? c->keep->hin + (size_t)b * H : h;   /* the state before the step */
        const float *ci = c->keep && cb ? c->keep->cin + (size_t)b * H : cb;
        if (c->phase == 0) {   /* GRU_CHO before its second product: r, z and r⊙h */
            float *rh = c->extra + (size_t)b * H;
            for (j = 0; j < 2 * H; j++) gb[j] += hpb[j];
            rnn_sigmoid(gb, gb, 2 * (size_t)H);
            for (j = 0; j < H; j++) rh[j] = gb[j] * hi[j];
            continue;
        }
        if (c->valid && !c->valid[b]) {   /* the state goes on unchanged */
            if (hi != h) memcpy(h, hi, sizeof(float) * H);
            if (ci != cb) memcpy(cb, ci, sizeof(float) * H);
            if (c->keep) memset(c->keep->out + b * c->keep->ld, 0, sizeof(float) * H);
            continue;
        }
        switch (cell) {
        case RNN_CELL_DEFAULT: /* resolved to LSTM at create */
        case RNN_TANH:
        case RNN_RELU:
            for (j = 0; j < H && c->bias; j++) gb[j] += c->bias[j];
            if (cell == RNN_TANH) rnn_tanh(gb, gb, H); else rnn_relu(gb, gb, H);
            memcpy(h, gb, sizeof(float) * H);
            break;
        case RNN_LSTM:   /* cnew keeps tanh(c') */
            ar->lstm_fwd(H, gb, c->bias, ci, cb, c->cnew ? c->cnew + (size_t)b * H : NULL, h);
            break;
        case RNN_GRU:   /* extra keeps hn = h·W_hnᵀ + b_hn */
            ar->gru_fwd(H, gb, hpb, c->extra ? c->extra + (size_t)b * H : NULL, hi, h);
            break;
        case RNN_GRU_CHO:
            for (j = 0; j < H; j++) gb[2 * H + j] += hpb[2 * H + j];
            rnn_tanh(gb + 2 * H, gb + 2 * H, H);
            for (j = 0; j < H; j++) h[j] = (1.0f - gb[H + j]) * gb[2 * H + j] + gb[H + j] * hi[j];
            break;
        }
        if (c->keep) memcpy(c->keep->out + b * c->keep->ld, h, sizeof(float) * H);
    }
}

/* A step's point-wise pass over its rows, cut among the tasks: phase 1,
   the gates and the new state, after the products; phase 0, GRU_CHO's r,
   z and r⊙h, between its two products. */
static void rnn__cell_pass(const rnn_recurrent *r, int B, const unsigned char *valid, float *g, float *hp,
                           float *hs, float *cs, float *cnew, float *extra, const rnn__keep *keep, int phase,
                           const float *bias) {
    rnn__cell_rows c;
    memset(&c, 0, sizeof c);
    c.r = r; c.valid = valid; c.B = B; c.g = g; c.hp = hp; c.hs = hs; c.cs = cs; c.cnew = cnew; c.extra = extra;
    c.keep = keep; c.phase = phase; c.bias = bias;
    rnn__rows(&c, rnn__cell_fwd_rows);
}

/* A step: the products with W_hh, then the point-wise pass. zero: hs is
   all zeros (a window's first step from a zero state), so the products add
   nothing but GRU's b_hh and are skipped. */
static void rnn__cell_forward(const rnn_recurrent *r, const rnn_recurrent_weights *w, int B,
                              const unsigned char *valid, float *g, float *hp, float *hs,
                              float *cs, float *cnew, float *extra, const float *whhT, int panels,
                              float *pk, size_t npk, const rnn__keep *keep, const float *bias, int zero) {
    int H = r->cfg.hidden_size, GH = r->gates * H;
    rnn_cell cell = r->cfg.cell;
    const float *hin = keep ? keep->hin : hs;
    if (zero) {
        if (rnn__is_gru(cell)) rnn__copy_rows(hp, w->b_hh, NULL, (size_t)B, GH);
    } else if (!rnn__is_gru(cell)) {
        rnn__rec_product(w, H, GH, B, 0, GH, hin, whhT, panels, 0, g, pk, npk);
    } else {
        rnn__rec_product(w, H, GH, B, 0, cell == RNN_GRU_CHO ? 2 * H : GH, hin, whhT, panels, 1, hp, pk, npk);
    }
    if (cell == RNN_GRU_CHO) {   /* r⊙h, then its product (r⊙0 = 0: b_hn alone, copied above) */
        rnn__cell_pass(r, B, valid, g, hp, hs, cs, cnew, extra, keep, 0, NULL);
        if (!zero) rnn__rec_product(w, H, GH, B, 2 * H, H, extra, whhT, panels, 1, hp, pk, npk);
    }
    rnn__cell_pass(r, B, valid, g, hp, hs, cs, cnew, extra, keep, 1, bias);
}

/* Backward of one step, rows b where valid. In: dh, dc [B][H] (the
   gradient reaching h', c' from the step after; dy, rows ldy apart, the
   gradient from the output, is added to dh first), the cached activations
   g and states. Out:
   dgi, dgh [B][G·H], the gradients of the pre-activations on the input and
   recurrent side (equal but for GRU's n gate), and dh, dc replaced by the
   gradient reaching h, c (dh only if wanted: else the step's product
   dh += dgh·W_hh is skipped; dh is then not the gradient). Padded rows get
   zero dgi, dgh and keep dh, dc. The caches' rows of the next step (asked
   for ahead) are ahead rows on: ± the whole batch, which a task's B rows
   may be part of.
     Elman: da = dh'⊙act'(a)                    dh = da·W_hh
     LSTM:  dc' += dh'⊙o⊙(1−tanh²c'); do = dh'⊙tanh c'·o(1−o)
            di = dc'⊙g·i(1−i), df = dc'⊙c·f(1−f), dg = dc'⊙i·(1−g²)
            dc = dc'⊙f,  dh = [di df dg do]·W_hh
     GRU:   dn = dh'⊙(1−z)⊙(1−n²), dz = dh'⊙(h−n)·z(1−z),
            dr = dn⊙hn·r(1−r);  dgh_n = dn⊙r;  dh = dh'⊙z + dgh·W_hh
     CHO:   d(r⊙h) = dn·W_hn, dr = d(r⊙h)⊙h·r(1−r),
            dh = dh'⊙z + d(r⊙h)⊙r + [dr dz]·W_h{r,z} */
static void rnn__cell_bwd_rows(void *ctx, int part) {
    const rnn__cell_rows *c = (const rnn__cell_rows *)ctx;
    const rnn_recurrent *r = c->r;
    int H = r->cfg.hidden_size, GH = r->gates * H, b, j, b0 = part * c->step;
    int b1 = b0 + c->step < c->B ? b0 + c->step : c->B;
    rnn_cell cell = r->cfg.cell;
    const rnn__arch *ar = rnn__best_arch();
    for (b = b0; b < b1; b++) {
        const float *gb = c->g + (size_t)b * GH, *hp = c->hprev + (size_t)b * H, *y;
        float *di = c->dgi + (size_t)b * GH, *dq = c->dgh + (size_t)b * GH, *dhb = c->dh + (size_t)b * H;
        if (c->phase == 1) {   /* GRU_CHO after tmp = d(r⊙h) = dn·W_hn: the r gate */
            const float *t = c->extra + (size_t)b * H;
            if (!c->valid[b]) continue;
            for (j = 0; j < H; j++) {
                float rr = gb[j];
                di[j] = dq[j] = t[j] * hp[j] * rr * (1.0f - rr);
                dhb[j] += t[j] * rr;
            }
            continue;
        }
        if (c->ahead) {   /* the next step's cached rows */
            ptrdiff_t n = c->ahead;
            rnn__ahead(gb + n * GH, GH);
            if (c->dy) rnn__ahead(c->dy + (n + b) * (ptrdiff_t)c->ldy, H);
            if (cell == RNN_LSTM) {
                rnn__ahead(c->cnew + (n + b) * H, H);
                rnn__ahead(c->cprev + (n + b) * H, H);
            } else if (cell == RNN_GRU) {
                rnn__ahead(hp + n * H, H);
                rnn__ahead(c->hs + (n + b) * H, H);
            }
        }
        if (!c->valid[b]) {
            memset(di, 0, sizeof(float) * GH);
            if (dq != di) memset(dq, 0, sizeof(float) * GH);
            continue;
        }
        y = c->dy ? c->dy + b * c->ldy : NULL;   /* the gradient from the layer's output at this step */
        if (y && cell != RNN_LSTM && cell != RNN_GRU)   /* (their passes add it themselves) */
            for (j = 0; j < H; j++) dhb[j] += y[j];
        switch (cell) {
        case RNN_CELL_DEFAULT: /* resolved to LSTM at create */
        case RNN_TANH:
            for (j = 0; j < H; j++) di[j] = dhb[j] * (1.0f - gb[j] * gb[j]);
            break;
        case RNN_RELU:
            for (j = 0; j < H; j++) di[j] = gb[j] > 0.0f ? dhb[j] : 0.0f;
            break;
        case RNN_LSTM:
            ar->lstm_bwd(H, gb, c->cnew + (size_t)b * H, c->cprev + (size_t)b * H, dhb, y, c->dc + (size_t)b * H, di);
            break;
        case RNN_GRU:   /* di and dq both, whole */
            ar->gru_bwd(H, gb, hp, c->hs + (size_t)b * H, dhb, y, di, dq);
            continue;
        case RNN_GRU_CHO:
            for (j = 0; j < H; j++) {
                float z = gb[H + j], n = gb[2 * H + j];
                float dn = dhb[j] * (1.0f - z) * (1.0f - n * n);
                di[H + j] = dhb[j] * (hp[j] - n) * z * (1.0f - z);
                di[2 * H + j] = dn;
                dhb[j] *= z;        /* the direct path h -> h' */
            }
            break;
        }
        if (dq != di) memcpy(dq, di, sizeof(float) * GH);
        if (cell == RNN_TANH || cell == RNN_RELU || cell == RNN_LSTM) memset(dhb, 0, sizeof(float) * H);
    }
#ifndef RNN_USE_CBLAS
    if (c->dgp && c->phase == 0)   /* the rows just made, from L1, for the weight gradients */
        for (b = b0; b < b1; b++) {
            rnn__apack_put(c->dgp, GH, c->K, c->k0 + b, c->dgh + (size_t)b * GH);
            if (c->dgpi) rnn__apack_put(c->dgpi, GH, c->K, c->k0 + b, c->dgi + (size_t)b * GH);
        }
#endif
}

static void rnn__cell_backward(const rnn_recurrent *r, const rnn_recurrent_weights *w, int B,
                               const unsigned char *valid, const float *g, const float *hprev,
                               const float *cprev, const float *cnew, const float *extra,
                               float *dgi, float *dgh, float *dh, float *dc, float *tmp,
                               const float *whp, float *pk, size_t npk, const float *dy, size_t ldy,
                               float *dgp, float *dgpi, int k0, int K, int ahead, int wanted) {
    int H = r->cfg.hidden_size, GH = r->gates * H;
    rnn__cell_rows c;
    memset(&c, 0, sizeof c);
    /* the forward's fields carry the cached values: g the gates, hs GRU's
       hn, cnew LSTM's tanh(c'), extra GRU_CHO's d(r⊙h) */
    c.r = r; c.valid = valid; c.B = B; c.g = (float *)g; c.hprev = hprev; c.cprev = cprev; c.cnew = (float *)cnew;
    c.hs = (float *)extra; c.extra = tmp; c.dgi = dgi; c.dgh = dgh; c.dh = dh; c.dc = dc;
    c.dy = dy; c.ldy = ldy; c.dgp = dgp; c.dgpi = dgpi; c.k0 = k0; c.K = K; c.ahead = ahead;
    rnn__rows(&c, rnn__cell_bwd_rows);
#ifdef RNN_USE_CBLAS
    (void)whp;
#else
    if (whp) {   /* W_hh packed by rnn__rec_whh */
        if (r->cfg.cell == RNN_GRU_CHO) {   /* its r gate's dgh needs the first product */
            rnn__gemm_bp(pk, B, H, H, 1.0f, dgh + 2 * H, GH, whp + rnn__bpack_floats(2 * H, H), 0.0f, tmp, H, NULL);
            c.phase = 1;
            rnn__rows(&c, rnn__cell_bwd_rows);
            if (wanted) rnn__gemm_bp(pk, B, H, 2 * H, 1.0f, dgh, GH, whp, 1.0f, dh, H, NULL);
        } else if (wanted) {
            rnn__gemm_bp(pk, B, H, GH, 1.0f, dgh, GH, whp, 1.0f, dh, H, NULL);
        }
        return;
    }
#endif
    if (r->cfg.cell == RNN_GRU_CHO) {
        /* tmp = d(r⊙h) = dn·W_hn for every row (padded rows have dn = 0) */
        rnn__gemm(pk, npk, 0, 0, B, H, H, 1.0f, dgh + 2 * H, GH, w->w_hh + (size_t)2 * H * H, H, 0.0f, tmp, H);
        c.phase = 1;
        rnn__rows(&c, rnn__cell_bwd_rows);
        if (wanted) rnn__gemm(pk, npk, 0, 0, B, H, 2 * H, 1.0f, dgh, GH, w->w_hh, H, 1.0f, dh, H);
    } else if (wanted) {
        rnn__gemm(pk, npk, 0, 0, B, H, GH, 1.0f, dgh, GH, w->w_hh, H, 1.0f, dh, H);
    }
}

/* 1 if no x[i] is NaN or infinite (the check of rnn__maxfin_c, in vectors
   where the CPU has them). */
static int rnn__finite(const float *x, size_t n) {
    int bad = 0;
    if (n) rnn__best_arch()->maxfin(x, n, &bad);
    return !bad;
}

/* A layer's steps, run whole or, with tasks, cut between rows of the batch:
   each task then takes its rows through every step of the forward (or of a
   block of the backward's steps), alone. Cut between columns of each step's
   product (rnn__gemm_bp), the tasks meet twice a step, and each step's
   gates and state cross from core to core; where the two cores sit far
   apart (on a shared VM, the host moved them: 350 ns there and back
   instead of 60), 2 threads trained GRU H 128 at 1.1 times one thread
   instead of 1.75. Cut between rows they meet once a layer (the backward:
   once a block of weight gradients) and share nothing on the way. Each
   task reads all of W_hh a step instead of its columns: with 16 rows a task
   that is 8 flops a byte, 19 GB/s at 150 GFLOP/s, within what a core reads
   from L3 (27 GB/s on the Xeon), so such a cut is taken at any H (Zen 4,
   2 threads: LSTM H 512 1.89x one thread, 1.78x cut between columns);
   fewer rows only where W_hh fits RNN_PAR_ROWS_BYTES (each core's L2).
   The rows must give every task a part (else the columns keep every core
   busy). Every row is made by the same kernels in the same order either
   way, so the values are the same (rnn__gemm_bp_cols: tiles of mr rows,
   each element summed alone). */
#ifndef RNN_PAR_ROWS_BYTES
#define RNN_PAR_ROWS_BYTES (512 << 10)
#endif
typedef struct rnn__steps {
    const rnn_recurrent *r;
    const rnn_recurrent_weights *w;
    const rnn__rec_plan *p;
    const float *in, *bias;   /* forward: the layer's input, the gate bias (rnn__cell_forward) */
    float *dcur;              /* backward: the gradient of the layer's output */
    float *dgp, *dgpi;        /* backward: rnn__rec_dgp */
    int d, packed, chunk, h0; /* forward: chunk (rnn__rec_chunk; 0: projected before), h0 given */
    int back;                 /* 1: the backward's steps */
    int ring, kb, dh0;        /* backward: dgi, dgh in a ring; rnn__rec_kb; dh0 wanted */
    int s0, s1;               /* backward: the steps s0 down to s1 */
    int step;                 /* rows a task (0: not cut) */
} rnn__steps;

/* Rows a task when the steps are cut between rows (whole tiles of the
   kernel, two or more tasks), with each task's scratch grown for it; 0:
   not cut. */
static int rnn__rec_rows(const rnn_recurrent *r, int B, int packed) {
#ifndef RNN_USE_CBLAS
    int H = r->cfg.hidden_size, mr = rnn__best_arch()->mr, step;
    if (!packed || rnn__par_n <= 1) return 0;
    step = rnn__cut(B, mr, mr);
    if (!step || (B + step - 1) / step < rnn__par_n ||
        (step < 16 && (size_t)H * r->gates * H * sizeof(float) > (size_t)RNN_PAR_ROWS_BYTES))
        return 0;
    if (!rnn__scratch((B + step - 1) / step, rnn__bp_scratch(step) + (size_t)step / 4 + 1)) return 0;
    return step;
#else
    (void)r; (void)B; (void)packed;
    return 0;
#endif
}

/* Runs n tasks that must not cut their work again (inside them, no region). */
static void rnn__run_alone(rnn_task_fn task, void *ctx, int n) {
    int tasks = rnn__par_n;
    rnn__par_n = 1;
    rnn__run(task, ctx, n);
    rnn__par_n = tasks;
}

/* The forward's steps over rows [b0, b1): pk, npk the packing space,
   valid b1 − b0 bytes of scratch. The state before each step is in the
   caches (rnn__keep), so rows of one task never read another's. */
static void rnn__fwd_steps(const rnn__steps *c, int b0, int b1, float *pk, size_t npk, unsigned char *valid) {
    const rnn_recurrent *r = c->r;
    const rnn__rec_plan *p = c->p;
    int T = r->T, B = r->B, D = r->dirs, H = r->cfg.hidden_size, GH = r->gates * H, n = b1 - b0, d = c->d, s, b;
    size_t H_B = (size_t)B * H;
    for (s = 0; s < T; s++) {
        int t = d ? T - 1 - s : s;
        size_t at = (size_t)t * H_B + (size_t)b0 * H;
        size_t nx = (size_t)(d ? t - 1 : t + 1) * H_B + (size_t)b0 * H;   /* the next step's rows */
        float *hs = s < T - 1 ? p->hprev + nx : p->hs + (size_t)b0 * H;
        float *cs = s < T - 1 && p->cprev ? p->cprev + nx : rnn__at(p->cs, (size_t)b0 * H);
        rnn__keep keep;
#ifndef RNN_USE_CBLAS
        if (c->chunk && s % c->chunk == 0) {   /* the next chunk of steps' input projection (one thread: all rows) */
            const rnn_recurrent_weights *w = c->w;
            int q = T - s < c->chunk ? T - s : c->chunk, t0 = d ? T - s - q : s, gru = rnn__is_gru(r->cfg.cell);
            rnn__gemm_bp(p->pack, q * B, GH, w->in_size, 1.0f, c->in + (size_t)t0 * B * w->in_size, w->in_size,
                         p->wihp, gru ? 1.0f : 0.0f, p->gates + (size_t)t0 * B * GH, GH, gru ? p->gbias : NULL);
        }
#endif
        for (b = 0; b < n; b++) valid[b] = (unsigned char)(t < r->len[b0 + b]);
        keep.hin = p->hprev + at; keep.cin = rnn__at(p->cprev, at);
        keep.out = p->out + ((size_t)t * B + b0) * D * H + (size_t)d * H; keep.ld = (size_t)D * H;
        rnn__cell_forward(r, c->w, n, valid, p->gates + ((size_t)t * B + b0) * GH, p->hp + (size_t)b0 * GH, hs, cs,
                          rnn__at(p->cnew, at), rnn__at(p->extra, at), p->whhT, c->packed ? 2 : 0, pk, npk, &keep,
                          c->bias, s == 0 && !c->h0);
    }
}

/* The backward's steps c->s0 down to c->s1 over rows [b0, b1), as
   rnn__fwd_steps. */
static void rnn__bwd_steps(const rnn__steps *c, int b0, int b1, float *pk, size_t npk, unsigned char *valid) {
    const rnn_recurrent *r = c->r;
    const rnn__rec_plan *p = c->p;
    int T = r->T, B = r->B, D = r->dirs, H = r->cfg.hidden_size, GH = r->gates * H, n = b1 - b0, d = c->d, s, b;
    int kb = c->kb;
    size_t H_B = (size_t)B * H, TB = (size_t)T * B;
    for (s = c->s0; s >= c->s1; s--) {
        int t = d ? T - 1 - s : s;
        size_t at = (size_t)t * H_B + (size_t)b0 * H;
        size_t gr = ((c->ring ? (size_t)(t * B % kb) : (size_t)t * B) + b0) * GH;
        size_t k0 = (size_t)t * B / kb * kb;   /* the block's first position */
        for (b = 0; b < n; b++) valid[b] = (unsigned char)(t < r->len[b0 + b]);
        rnn__cell_backward(r, c->w, n, valid, p->gates + ((size_t)t * B + b0) * GH, p->hprev + at,
                           rnn__at(p->cprev, at), rnn__at(p->cnew, at), rnn__at(p->extra, at), p->dgi + gr,
                           p->dgh + gr, p->dh + (size_t)b0 * H, p->dc + (size_t)b0 * H, rnn__at(p->tmp, (size_t)b0 * H),
                           c->packed ? p->whhT : NULL, pk, npk,
                           c->dcur + ((size_t)t * B + b0) * D * H + (size_t)d * H, (size_t)D * H, c->dgp, c->dgpi,
                           t * B % kb + b0, TB - k0 < (size_t)kb ? (int)(TB - k0) : kb, s > 0 ? (d ? B : -B) : 0,
                           s > 0 || c->dh0);   /* the first step's dh only for dh0 */
    }
}

/* Task i of a layer's steps cut between rows: its rows, with its scratch
   (packing space, then its valid bytes). */
static void rnn__steps_task(void *ctx, int i) {
#ifndef RNN_USE_CBLAS
    const rnn__steps *c = (const rnn__steps *)ctx;
    int b0 = i * c->step, b1 = b0 + c->step < c->r->B ? b0 + c->step : c->r->B;
    size_t npk = rnn__bp_scratch(c->step);
    float *pk = rnn__scr[i];
    if (b0 >= b1) return;
    if (c->back) rnn__bwd_steps(c, b0, b1, pk, npk, (unsigned char *)(pk + npk));
    else rnn__fwd_steps(c, b0, b1, pk, npk, (unsigned char *)(pk + npk));
#else
    (void)ctx; (void)i;
#endif
}

/* The forward. Layer 0's input is x [T·B][I], or (x NULL) token tok[i] of
   the embedding E [V][I] by way of the gate table (rnn__table_pays). */
static rnn_status rnn__forward(rnn_recurrent *r, const float *x, const float *E, int V, const int *tok, int T,
                               int B, const int *lengths, const float *h0, const float *c0, float *y,
                               float *hn, float *cn, int train, rnn_rng *rng) {
    int L, D, H, GH, l, d, b, j, packed;
    size_t TB, H_B;
    rnn__rec_plan p;
    rnn__steps st;
    char msg[160];
    if (!r) return RNN_ERR_INVALID_ARGUMENT;
    L = r->cfg.num_layers; D = r->dirs; H = r->cfg.hidden_size; GH = r->gates * H;
    r->trained = 0;
    if ((!x && !(E && tok && rnn__table_pays(r, V, T * B))) || T <= 0 || B <= 0)
        return rnn__fail(r, RNN_ERR_INVALID_ARGUMENT, "forward: x is NULL or T, B <= 0");
    if (train && r->cfg.dropout > 0.0f && L > 1 && !rng)
        return rnn__fail(r, RNN_ERR_INVALID_ARGUMENT, "forward: dropout in training needs an rng");
    if ((x && !rnn__finite(x, (size_t)T * B * r->cfg.input_size)) ||
        (h0 && !rnn__finite(h0, (size_t)L * D * B * H)) ||
        (c0 && r->cfg.cell == RNN_LSTM && !rnn__finite(c0, (size_t)L * D * B * H)))
        return rnn__fail(r, RNN_ERR_INVALID_ARGUMENT, "forward: x, h0 or c0 holds NaN or infinity");
    if (lengths)
        for (b = 0; b < B; b++)
            if (lengths[b] < 1 || lengths[b] > T) {
                snprintf(msg, sizeof msg, "forward: lengths[%d] = %d is outside 1..T = %d", b, lengths[b], T);
                return rnn__fail(r, RNN_ERR_INVALID_ARGUMENT, msg);
            }
    if (x) V = 0;
    rnn__rec_carve_at(r, T, B, V, 0, 0, NULL, &p);
    if (p.total > r->ws_cap || B > r->B) {
        float *nws = p.total > r->ws_cap ? (float *)RNN_REALLOC(r->ws, p.total * sizeof(float)) : r->ws;
        int *nlen = (int *)RNN_REALLOC(r->len, (size_t)B * (sizeof(int) + 1));
        if (nws) { r->ws = nws; r->ws_cap = p.total > r->ws_cap ? p.total : r->ws_cap; }
        if (nlen) { r->len = nlen; r->valid = (unsigned char *)(nlen + B); }
        if (!nws || !nlen) return rnn__fail(r, RNN_ERR_OUT_OF_MEMORY, "forward: workspace");
    }
    r->T = T; r->B = B; r->x = x; r->emb = E; r->tok = tok; r->tab_rows = V;
    TB = (size_t)T * B; H_B = (size_t)B * H;
    packed = rnn__rec_bp(B);
    for (b = 0; b < B; b++) r->len[b] = lengths ? lengths[b] : T;
    memset(&st, 0, sizeof st);
    for (l = 0; l < L; l++) {
        for (d = 0; d < D; d++) {
            const rnn_recurrent_weights *w = &r->w[l * D + d];
            const float *in;
            int k, chunk = 0, gru = rnn__is_gru(r->cfg.cell);
            const float *bias = NULL;
            rnn__rec_carve(r, l, d, &p);
            in = l == 0 ? x : p.below;
            if (l == 0 && !x) {   /* looked up in the gate table */
                rnn__fill_table(r, E, V, p.table, p.pack, p.npack);
                rnn__copy_rows(p.gates, p.table, tok, TB, GH);
            } else {              /* the input projection */
                /* Elman and LSTM add the bias in the steps' point-wise pass
                   (bias), not by setting every position's gates to it first:
                   a pass over all T·B·G·H of them, 2.5% of an LSTM H 128
                   stack. GRU's gates start from it (its n gate keeps b_hh apart). */
                rnn__gate_bias(r, w, p.gbias);
                if (!gru) bias = p.gbias;
#ifndef RNN_USE_CBLAS
                if (packed && rnn__par_n == 1) {
                    chunk = rnn__rec_chunk(B);   /* made in the steps below */
                    rnn__bpack(1, w->w_ih, w->in_size, w->in_size, GH, p.wihp);
                }
#endif
                if (!chunk) {   /* every position at once */
                    if (gru) rnn__copy_rows(p.gates, p.gbias, NULL, TB, GH);
                    rnn__gemm(p.pack, p.npack, 0, 1, (int)TB, GH, w->in_size, 1.0f, in, w->in_size, w->w_ih,
                              w->in_size, bias ? 0.0f : 1.0f, p.gates, GH);
                }
            }
            if (packed) {
#ifndef RNN_USE_CBLAS
                rnn__rec_whh(r, w, 0, p.whhT);
#endif
            } else {
                for (j = 0; j < GH; j++)
                    for (k = 0; k < H; k++) p.whhT[(size_t)k * (GH + RNN__ROWPAD) + j] = w->w_hh[(size_t)j * H + k];
            }
            {   /* the initial state, into the first step's rows of the caches */
                size_t at = (size_t)(d ? T - 1 : 0) * H_B;
                if (h0) memcpy(p.hprev + at, h0 + (size_t)(l * D + d) * H_B, sizeof(float) * H_B);
                else memset(p.hprev + at, 0, sizeof(float) * H_B);
                if (r->cfg.cell == RNN_LSTM) {
                    if (c0) memcpy(p.cprev + at, c0 + (size_t)(l * D + d) * H_B, sizeof(float) * H_B);
                    else memset(p.cprev + at, 0, sizeof(float) * H_B);
                }
            }
            st.r = r; st.w = w; st.p = &p; st.in = in; st.bias = bias; st.d = d; st.packed = packed;
            st.chunk = chunk; st.h0 = h0 != NULL;
            if ((st.step = rnn__rec_rows(r, B, packed)) != 0)
                rnn__run_alone(rnn__steps_task, &st, (B + st.step - 1) / st.step);
            else
                rnn__fwd_steps(&st, 0, B, p.pack, p.npack, r->valid);
            if (hn) memcpy(hn + (size_t)(l * D + d) * H_B, p.hs, sizeof(float) * H_B);
            if (cn && r->cfg.cell == RNN_LSTM) memcpy(cn + (size_t)(l * D + d) * H_B, p.cs, sizeof(float) * H_B);
        }
        if (p.mask) {
            /* inverted dropout on the connection to the next layer only */
            size_t i, n = TB * D * H;
            float q = r->cfg.dropout, keep = 1.0f / (1.0f - q);
            for (i = 0; i < n; i++) {
                p.mask[i] = train ? (rnn_rng_uniform(rng) >= q ? keep : 0.0f) : 1.0f;
                p.dropped[i] = p.out[i] * p.mask[i];
            }
        }
    }
    if (y) memcpy(y, p.out, sizeof(float) * TB * D * H);
    r->trained = train != 0;
    return RNN_OK;
}

RNNDEF rnn_status rnn_recurrent_forward(rnn_recurrent *r, const float *x, int T, int B,
                                        const int *lengths, const float *h0, const float *c0,
                                        float *y, float *hn, float *cn, int train, rnn_rng *rng) {
    return rnn__forward(r, x, NULL, 0, NULL, T, B, lengths, h0, c0, y, hn, cn, train, rng);
}

/* Where the backward of (l, d) puts dghᵀ in A panels for the weight
   gradients (rnn__gemm_ap), or NULL: a BLAS hook or RNN_USE_CBLAS (every
   product goes there), GRU_CHO (its dW_hh is two products of parts of
   dgh), or packing space short of the product's. */
static float *rnn__rec_dgp(const rnn_recurrent *r, const rnn__rec_plan *p, int packed, int in_size) {
#ifdef RNN_USE_CBLAS
    (void)r; (void)p; (void)packed; (void)in_size;
    return NULL;
#else
    int H = r->cfg.hidden_size, n = in_size > H ? in_size : H;
    if (!packed || r->cfg.cell == RNN_GRU_CHO || p->npack < rnn__ap_scratch(n, rnn__rec_kb(r->B))) return NULL;
    return p->dgp;
#endif
}

/* The backward. After a forward by token, dx is not made: instead dE
   [V][I] (NULL: frozen) gets the embedding's gradient through the table. */
static rnn_status rnn__backward(rnn_recurrent *r, const float *dy, const float *dhn, const float *dcn,
                                float *dx, float *dh0, float *dc0, float *dE) {
    int L, D, H, GH, T, B, l, d, s, j, packed;
    size_t TB, H_B, i;
    float *dcur, *dnext, *dgp, *dgpi;
    int kb;
    rnn__rec_plan p;
    rnn__steps st;
    if (!r) return RNN_ERR_INVALID_ARGUMENT;
    if (!r->trained)
        return rnn__fail(r, RNN_ERR_INVALID_ARGUMENT, "backward: no training forward to go back through");
    L = r->cfg.num_layers; D = r->dirs; H = r->cfg.hidden_size; GH = r->gates * H;
    T = r->T; B = r->B; TB = (size_t)T * B; H_B = (size_t)B * H;
    packed = rnn__rec_bp(B);
    kb = rnn__rec_kb(B);
    memset(&st, 0, sizeof st);
    r->version++;   /* the weights are about to be updated: one-step states copy them again */
    rnn__rec_carve(r, 0, 0, &p);
    dcur = p.dcur; dnext = p.dnext;
    for (i = 0; i < TB; i++) p.ones[i] = 1.0f;
    if (dy) memcpy(dcur, dy, sizeof(float) * TB * D * H);
    else memset(dcur, 0, sizeof(float) * TB * D * H);
    for (l = L - 1; l >= 0; l--) {
        int in_size = r->w[l * D].in_size, by_token = l == 0 && !r->x;
        float *dxl = l > 0 ? dnext : by_token ? NULL : dx;
        if (dxl) memset(dxl, 0, sizeof(float) * TB * in_size);
        for (d = 0; d < D; d++) {
            const rnn_recurrent_weights *w = &r->w[l * D + d];
            const float *in;
            size_t ld = (size_t)(l * D + d) * H_B;
            int dxb;   /* dX made block by block, as the weight gradients */
            int ring;  /* every use of dgi, dgh is block by block: their rows in a ring of one block */
            rnn__rec_carve(r, l, d, &p);
            in = l == 0 ? r->x : p.below;
            dgp = rnn__rec_dgp(r, &p, packed, in_size);
            dgpi = dgp && p.dgi != p.dgh && !by_token ? p.dgpi : NULL;   /* GRU's dW_ih takes dgi */
            if (dgp) memset(p.hp, 0, sizeof(float) * 2 * GH);   /* the bias sums of dgh, dgi */
            if (dhn) memcpy(p.dh, dhn + ld, sizeof(float) * H_B); else memset(p.dh, 0, sizeof(float) * H_B);
#ifndef RNN_USE_CBLAS
            /* only where a block of dG stays in L2 (1 MiB: Zen 4 and 5); wider, the
               blocks' dX reads W_ih once a block from L3 (GRU H 256: 1.005x). One
               thread only: cut between columns, each task would read the rows
               of dG the other made, from the other core's L2 (2-3% slower on 2
               threads than dX over all positions cut between rows) */
            dxb = dgp && dxl && rnn__par_n == 1 &&
                  (size_t)kb * GH * sizeof(float) * (p.dgi == p.dgh ? 1 : 2) <= (size_t)1 << 20;
            if (packed) rnn__rec_whh(r, w, 1, p.whhT);
            if (dxb) rnn__bpack(0, w->w_ih, in_size, GH, in_size, p.wihp);
#else
            dxb = 0;
#endif
            ring = dgp && !by_token && (p.dgi == p.dgh || dgpi) && (!dxl || dxb);
            if (dcn && r->cfg.cell == RNN_LSTM) memcpy(p.dc, dcn + ld, sizeof(float) * H_B);
            else memset(p.dc, 0, sizeof(float) * H_B);
            st.r = r; st.w = w; st.p = &p; st.d = d; st.packed = packed; st.dcur = dcur; st.dgp = dgp;
            st.dgpi = dgpi; st.ring = ring; st.kb = kb; st.dh0 = dh0 != NULL; st.back = 1;
            st.step = rnn__rec_rows(r, B, packed);
            for (s = T - 1; s >= 0; s = st.s1 - 1) {
                /* the steps of one block of weight gradients: t·B / kb the same */
                int t = d ? T - 1 - s : s, q = t * B / kb;
                st.s0 = st.s1 = s;
                while (st.s1 > 0 && (d ? T - st.s1 : st.s1 - 1) * B / kb == q) st.s1--;
                if (st.step) rnn__run_alone(rnn__steps_task, &st, (B + st.step - 1) / st.step);
                else rnn__bwd_steps(&st, 0, B, p.pack, p.npack, r->valid);
#ifndef RNN_USE_CBLAS
                if (dgp) {
                    /* the block of dgh is whole: its part of dW_hh (and, where dgi is
                       dgh, dW_ih), from L2. dW = dGᵀ·X over positions [k0, k0 + kq) */
                    size_t k0 = (size_t)q * kb;
                    int kq = TB - k0 < (size_t)kb ? (int)(TB - k0) : kb;
                    if (!by_token && (p.dgi == p.dgh || dgpi))
                        rnn__gemm_ap(p.pack, GH, in_size, kq, dgpi ? dgpi : dgp, in + k0 * in_size, in_size,
                                     w->gw_ih, in_size, dgpi ? p.hp + GH : NULL);
                    rnn__gemm_ap(p.pack, GH, H, kq, dgp, p.hprev + k0 * H, H, w->gw_hh, H, p.hp);
                    /* and dX = dG·W_ih of the block, its rows of dgi still in L2
                       (from L3 over all positions: 85% of the FMA limit, 95% so) */
                    if (dxb)
                        rnn__gemm_bp(p.pack, kq, in_size, GH, 1.0f, p.dgi + (ring ? 0 : k0 * GH), GH, p.wihp, 1.0f,
                                     dxl + k0 * in_size, in_size, NULL);
                }
#endif
            }
            if (dh0) memcpy(dh0 + ld, p.dh, sizeof(float) * H_B);
            if (dc0 && r->cfg.cell == RNN_LSTM) memcpy(dc0 + ld, p.dc, sizeof(float) * H_B);
            /* the weight gradients of all positions at once (or, with dgp,
               what the blocks left) */
            if (!by_token && !(dgp && (p.dgi == p.dgh || dgpi)))
                rnn__gemm(p.pack, p.npack, 1, 0, GH, w->in_size, (int)TB, 1.0f, p.dgi, GH, in, w->in_size, 1.0f,
                          w->gw_ih, w->in_size);
            if (dgp) {
                /* dW_hh was made block by block */
            } else if (r->cfg.cell == RNN_GRU_CHO) {
                rnn__gemm(p.pack, p.npack, 1, 0, 2 * H, H, (int)TB, 1.0f, p.dgh, GH, p.hprev, H, 1.0f, w->gw_hh, H);
                rnn__gemm(p.pack, p.npack, 1, 0, H, H, (int)TB, 1.0f, p.dgh + 2 * H, GH, p.extra, H, 1.0f,
                          w->gw_hh + (size_t)2 * H * H, H);
            } else {
                rnn__gemm(p.pack, p.npack, 1, 0, GH, H, (int)TB, 1.0f, p.dgh, GH, p.hprev, H, 1.0f, w->gw_hh, H);
            }
            /* bias gradients: column sums, as 1ᵀ·dG (one row: read in place),
               or the blocks' sums: hp for dgh, hp + GH for GRU's dgi */
            if (dgp && (p.dgi == p.dgh || dgpi)) {
                const float *si = p.dgi == p.dgh ? p.hp : p.hp + GH;
                for (j = 0; j < GH; j++) { w->gb_ih[j] += si[j]; w->gb_hh[j] += p.hp[j]; }
            } else if (p.dgh != p.dgi) {
                rnn__gemm(p.pack, p.npack, 0, 0, 1, GH, (int)TB, 1.0f, p.ones, (int)TB, p.dgi, GH, 1.0f, w->gb_ih, GH);
                rnn__gemm(p.pack, p.npack, 0, 0, 1, GH, (int)TB, 1.0f, p.ones, (int)TB, p.dgh, GH, 1.0f, w->gb_hh, GH);
            } else {   /* one sum serves both biases */
                rnn__gemm(p.pack, p.npack, 0, 0, 1, GH, (int)TB, 1.0f, p.ones, (int)TB, p.dgi, GH, 0.0f, p.hp, GH);
                for (j = 0; j < GH; j++) { w->gb_ih[j] += p.hp[j]; w->gb_hh[j] += p.hp[j]; }
            }
            if (dxl && !dxb)
                rnn__gemm(p.pack, p.npack, 0, 0, (int)TB, w->in_size, GH, 1.0f, p.dgi, GH, w->w_ih, w->in_size,
                          1.0f, dxl, w->in_size);
            if (by_token) {   /* the table's gradient dT (in the table's place), then W_ih0's and E's */
                int V = r->tab_rows;
                rnn__scatter_rows(p.table, (size_t)V, p.dgi, r->tok, TB, GH);
                rnn__gemm(p.pack, p.npack, 1, 0, GH, in_size, V, 1.0f, p.table, GH, r->emb, in_size, 1.0f,
                          w->gw_ih, in_size);
                if (dE)
                    rnn__gemm(p.pack, p.npack, 0, 0, V, in_size, GH, 1.0f, p.table, GH, w->w_ih, in_size, 1.0f,
                              dE, in_size);
            }
        }
        if (l > 0) {
            /* dnext is the gradient of layer l-1's (dropped) output */
            if (p.below_mask)
                for (i = 0; i < TB * D * H; i++) dnext[i] *= p.below_mask[i];
            { float *t2 = dcur; dcur = dnext; dnext = t2; }
        }
    }
    return RNN_OK;
}

RNNDEF rnn_status rnn_recurrent_backward(rnn_recurrent *r, const float *dy, const float *dhn,
                                         const float *dcn, float *dx, float *dh0, float *dc0) {
    return rnn__backward(r, dy, dhn, dcn, dx, dh0, dc0, NULL);
}

/* A one-step state's memory, as layer l sees it: the one place that knows
   its layout. With panels (batch 1, a CPU with a fast one-row kernel) it
   keeps each layer's weights transposed in 256-column panels
   (rnn__panelize), so a step reads every weight once, straight through
   memory; layer 0's input side is left out when its gates come as rows
   (rnn_lm's gate table). */
typedef struct rnn__state_plan {
    float *h, *c;       /* [L][B][H]  the state (c: LSTM)                     */
    float *g, *hp;      /* [B][G·H]   scratch: the gates, the recurrent term  */
    float *extra;       /* [B][H]     scratch: GRU's hn, GRU_CHO's r⊙h        */
    float *bias;        /* [G·H]      panels: layer l's gate bias              */
    float *wih;         /* [I][G·H]   panels: layer l's W_ihᵀ                  */
    float *whh;         /* [H][G·H]   panels: layer l's W_hhᵀ (GRU_CHO: [r z]
                                      and n as two panel sets)                 */
    size_t npanels;     /* floats of all layers' panels                        */
    size_t total;       /* floats in all                                       */
} rnn__state_plan;

static void rnn__state_carve(const rnn_recurrent *r, int B, int by_rows, int panels, int l, float *base,
                             rnn__state_plan *p) {
    size_t H_B = (size_t)B * r->cfg.hidden_size, GH = (size_t)r->gates * r->cfg.hidden_size, off = 0, pan = 0;
    int i, L = r->cfg.num_layers;
    memset(p, 0, sizeof *p);
    p->h = rnn__at(base, off); off += (size_t)L * H_B;
    p->c = r->cfg.cell == RNN_LSTM ? rnn__at(base, off) : NULL; off += (size_t)L * H_B;
    p->g = rnn__at(base, off); off += (size_t)B * GH;
    p->hp = rnn__at(base, off); off += (size_t)B * GH;
    p->extra = rnn__at(base, off); off += H_B;
    for (i = 0; i < L && panels; i++) {
        if (!(i == 0 && by_rows)) {
            if (i == l) { p->bias = rnn__at(base, off + pan); p->wih = rnn__at(base, off + pan + GH); }
            pan += (1 + (size_t)r->w[i].in_size) * GH;
        }
        if (i == l) p->whh = rnn__at(base, off + pan);
        pan += (size_t)r->cfg.hidden_size * GH;
    }
    p->npanels = pan;
    p->total = off + pan;
}

/* Makes a state; panels: 1 keep the weights in panels, 0 read them in
   place, -1 decide (batch 1, a fast one-row kernel, at most 8 MB).
   by_rows: layer 0's gates will come as rows (no input side for it). */
static rnn_status rnn__state_create(const rnn_recurrent *r, int batch, int by_rows, int panels,
                                    rnn_recurrent_state **out) {
    rnn_recurrent_state *s;
    rnn__state_plan p;
    if (!out) return RNN_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!r || batch <= 0 || r->dirs != 1) return RNN_ERR_INVALID_ARGUMENT;
    if (panels < 0) {
        /* measured on Zen 5: the copy in panels wins while the weights stay in
           L2/L3-near sizes (H = 128: 1.8x, H = 256: 1.2x) and ties beyond (H =
           512, 13 MB), where the 8-row dot products stream as well */
        rnn__state_carve(r, batch, by_rows, 1, 0, NULL, &p);
        panels = batch == 1 && rnn__best_arch()->gemv_n && p.npanels <= (size_t)2 << 20;
    }
    rnn__state_carve(r, batch, by_rows, panels && batch == 1, 0, NULL, &p);
    s = (rnn_recurrent_state *)RNN_MALLOC(sizeof *s + 64 + p.total * sizeof(float));
    if (!s) return RNN_ERR_OUT_OF_MEMORY;
    memset(s, 0, sizeof *s + 64 + p.total * sizeof(float));
    rnn__state_carve(r, batch, by_rows, panels && batch == 1, 0, rnn__after(s + 1), &p);
    s->batch = batch;
    s->h = p.h; s->c = p.c;
    s->scratch = p.g;
    s->by_rows = by_rows;
    s->wt = p.npanels ? p.bias ? p.bias : p.whh : NULL;
    s->version = r->version - 1;   /* copy at the first step */
    *out = s;
    return RNN_OK;
}

RNNDEF rnn_status rnn_recurrent_state_create(const rnn_recurrent *r, int batch,
                                             rnn_recurrent_state **out) {
    return rnn__state_create(r, batch, 0, -1, out);
}

RNNDEF void rnn_recurrent_state_free(rnn_recurrent_state *s) { RNN_FREE(s); }

RNNDEF void rnn_recurrent_weights_changed(rnn_recurrent *r) { if (r) r->version++; }

/* Copies the layer's weights into the state's panels. */
static void rnn__state_refresh(const rnn_recurrent *r, rnn_recurrent_state *s) {
    int l, H = r->cfg.hidden_size, GH = r->gates * H;
    rnn__state_plan p;
    for (l = 0; l < r->cfg.num_layers; l++) {
        const rnn_recurrent_weights *w = &r->w[l];
        rnn__state_carve(r, 1, s->by_rows, 1, l, rnn__after(s + 1), &p);
        if (p.wih) {
            rnn__gate_bias(r, w, p.bias);
            rnn__panelize(p.wih, w->w_ih, GH, w->in_size);
        }
        if (r->cfg.cell == RNN_GRU_CHO) {   /* [r z] and n as two panel sets */
            rnn__panelize(p.whh, w->w_hh, 2 * H, H);
            rnn__panelize(p.whh + (size_t)2 * H * H, w->w_hh + (size_t)2 * H * H, H, H);
        } else {
            rnn__panelize(p.whh, w->w_hh, GH, H);
        }
    }
    s->version = r->version;
}

/* One position through every layer, the one-step path of rnn_recurrent_step
   and rnn_lm_step: layer 0 reads x [B][I], or (g0 not NULL) takes its gates
   (input projection plus gate bias) [B][G·H] as given. z: an int8 model's
   weights (B = 1; scratch: z->scratch bytes), or NULL. */
static void rnn__state_step(const rnn_recurrent *r, rnn_recurrent_state *s, const float *x, const float *g0,
                            const struct rnn_q8 *z, void *scratch) {
    int L = r->cfg.num_layers, H = r->cfg.hidden_size, GH = r->gates * H, B = s->batch, l, b;
    size_t H_B = (size_t)B * H;
    const float *in = x;
    rnn__state_plan p;
    if (s->wt && s->version != r->version) rnn__state_refresh(r, s);   /* the weights moved */
    for (l = 0; l < L; l++) {
        const rnn_recurrent_weights *w = &r->w[l];
        int made = 0;   /* the recurrent product made with W_ih's */
        rnn__state_carve(r, B, s->by_rows, s->wt != NULL, l, rnn__after(s + 1), &p);
        if (l == 0 && g0) {
            memcpy(p.g, g0, sizeof(float) * B * GH);
        } else if (z) {   /* int8 W_ih times the input quantized */
            rnn__q8_gemv(&z->mat[z->layer[2 * l]], 0, GH, in, p.g, w->b_ih, rnn__is_gru(r->cfg.cell) ? NULL : w->b_hh,
                         scratch);
        } else if (s->wt && r->cfg.cell != RNN_GRU_CHO) {
            /* one row times W_ihᵀ and h times W_hhᵀ, in panels, in one region
               (GRU: h·W_hhᵀ + b_hh into hp; Elman, LSTM: both into g) */
            float *q = r->cfg.cell == RNN_GRU ? p.hp : p.g;
            memcpy(p.g, p.bias, sizeof(float) * GH);
            if (q != p.g) memcpy(q, w->b_hh, sizeof(float) * GH);
            rnn__gemv_panels2(in, w->in_size, p.wih, p.h + (size_t)l * H_B, H, p.whh, GH, p.g, q);
            made = 1;
        } else if (s->wt) {   /* one row times W_ihᵀ in panels */
            memcpy(p.g, p.bias, sizeof(float) * GH);
            rnn__gemv_panels(in, w->in_size, p.wih, GH, p.g);
        } else {
            for (b = 0; b < B; b++) rnn__gate_bias(r, w, p.g + (size_t)b * GH);
            rnn_sgemm(0, 1, B, GH, w->in_size, 1.0f, in, w->in_size, w->w_ih, w->in_size, 1.0f, p.g, GH);
        }
        if (made)   /* the products are made: the point-wise pass only */
            rnn__cell_pass(r, B, NULL, p.g, p.hp, p.h + (size_t)l * H_B, p.c ? p.c + (size_t)l * H_B : NULL, NULL,
                           p.extra, NULL, 1, NULL);
        else if (z)
            rnn__cell_forward(r, w, B, NULL, p.g, p.hp, p.h + (size_t)l * H_B, p.c ? p.c + (size_t)l * H_B : NULL,
                              NULL, p.extra, (const float *)(const void *)&z->mat[z->layer[2 * l + 1]], 3,
                              (float *)scratch, 0, NULL, NULL, 0);
        else
            rnn__cell_forward(r, w, B, NULL, p.g, p.hp, p.h + (size_t)l * H_B, p.c ? p.c + (size_t)l * H_B : NULL,
                              NULL, p.extra, p.whh, s->wt != NULL, NULL, 0, NULL, NULL, 0);
        in = p.h + (size_t)l * H_B;
    }
}

RNNDEF rnn_status rnn_recurrent_step(const rnn_recurrent *r, rnn_recurrent_state *s,
                                     const float *x, float *y) {
    if (!r || !s || !x || r->dirs != 1 || s->by_rows) return RNN_ERR_INVALID_ARGUMENT;
    rnn__state_step(r, s, x, NULL, NULL, NULL);
    if (y) memcpy(y, s->h + (size_t)(r->cfg.num_layers - 1) * s->batch * r->cfg.hidden_size,
                  sizeof(float) * s->batch * r->cfg.hidden_size);
    return RNN_OK;
}

/* ============================================================================
   Layers: embedding, dense
   ========================================================================== */

RNNDEF rnn_status rnn_embedding_forward(const rnn_embedding *e, const int *tokens, int n, float *out) {
    int i;
    for (i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= e->vocab_size) return RNN_ERR_INVALID_ARGUMENT;
    for (i = 0; i < n; i++)
        memcpy(out + (size_t)i * e->embed_size, e->weight + (size_t)tokens[i] * e->embed_size,
               sizeof(float) * e->embed_size);
    return RNN_OK;
}

/* backward: dW[token] += dout, one row per token; a token outside the
   table (the classifier's padding, -1) adds nothing. */
RNNDEF void rnn_embedding_backward(rnn_embedding *e, const int *tokens, int n, const float *dout) {
    int i, j, E = e->embed_size;
    if (e->frozen) return;
    for (i = 0; i < n; i++) {
        float *g;
        const float *d = dout + (size_t)i * E;
        if (tokens[i] < 0 || tokens[i] >= e->vocab_size) continue;
        g = e->grad + (size_t)tokens[i] * E;
        for (j = 0; j < E; j++) g[j] += d[j];
    }
}

RNNDEF rnn_status rnn_embedding_load_text(rnn_embedding *e, const char *path,
                                          const char *const *vocab, int *loaded,
                                          char *err, size_t errcap) {
    struct rnn__tok { char *key; int value; } *index = NULL;
    FILE *f;
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    int i, found = 0;
    rnn_status st = RNN_OK;
    if (loaded) *loaded = 0;
    if (err && errcap) err[0] = 0;
    if (!e || !path || !vocab) return RNN_ERR_INVALID_ARGUMENT;
    if (!(f = fopen(path, "rb"))) {
        if (err) snprintf(err, errcap, "%s: cannot open", path);
        return RNN_ERR_IO;
    }
    stbds_sh_new_strdup(index);
    for (i = 0; i < e->vocab_size; i++)
        if (vocab[i]) stbds_shput(index, vocab[i], i);
    for (;;) {
        /* read one line of any length */
        size_t len = 0;
        int ch;
        char *p, *tok;
        while ((ch = fgetc(f)) != EOF && ch != '\n') {
            if (len + 2 > cap) {
                char *nl = (char *)RNN_REALLOC(line, cap ? cap * 2 : 256);
                if (!nl) { st = RNN_ERR_OUT_OF_MEMORY; goto done; }
                line = nl; cap = cap ? cap * 2 : 256;
            }
            line[len++] = (char)ch;
        }
        if (ch == EOF && len == 0) break;
        lineno++;
        if (!line) continue;
        line[len] = 0;
        if (len && line[len - 1] == '\r') line[--len] = 0;
        p = line;
        while (*p == ' ') p++;
        if (!*p) continue;
        tok = p;
        while (*p && *p != ' ') p++;
        if (*p) *p++ = 0;
        {
            float vec[1];   /* values are parsed twice: counted, then stored */
            int count = 0, id;
            char *q = p, *end;
            while (*q) {
                while (*q == ' ') q++;
                if (!*q) break;
                vec[0] = strtof(q, &end);
                if (end == q || (*end && *end != ' ') || vec[0] != vec[0]) {
                    if (err) snprintf(err, errcap, "%s:%ld: not a number", path, lineno);
                    st = RNN_ERR_FORMAT;
                    goto done;
                }
                count++;
                q = end;
            }
            if (lineno == 1 && count == 1) continue;   /* word2vec's "count dim" header */
            if (count != e->embed_size) {
                if (err) snprintf(err, errcap, "%s:%ld: %d values, the embedding has %d", path, lineno, count,
                                  e->embed_size);
                st = RNN_ERR_FORMAT;
                goto done;
            }
            id = stbds_shget(index, tok);
            if (id < 0 || stbds_shgeti(index, tok) < 0) continue;
            q = p;
            for (i = 0; i < count; i++) e->weight[(size_t)id * e->embed_size + i] = strtof(q, &q);
            found++;
        }
    }
done:
    fclose(f);
    RNN_FREE(line);
    stbds_shfree(index);
    if (loaded) *loaded = found;
    return st;
}

RNNDEF rnn_status rnn_embedding_load_pretrained(rnn_embedding *e, const char *path, const char *const *vocab,
                                                int normalize, int *loaded, char *err, size_t errcap) {
    rnn_embedding tmp;
    size_t n, r, j;
    rnn_status st;
    if (loaded) *loaded = 0;
    if (!e || !e->weight || e->vocab_size <= 0 || e->embed_size <= 0) return RNN_ERR_INVALID_ARGUMENT;
    /* into a zeroed copy first: a failure leaves the table as it was */
    n = (size_t)e->vocab_size * e->embed_size;
    tmp = *e;
    if (!(tmp.weight = (float *)RNN_MALLOC(n * sizeof(float)))) {
        if (err && errcap) snprintf(err, errcap, "%s: out of memory", path ? path : "(null)");
        return RNN_ERR_OUT_OF_MEMORY;
    }
    memset(tmp.weight, 0, n * sizeof(float));
    st = rnn_embedding_load_text(&tmp, path, vocab, loaded, err, errcap);
    if (st == RNN_OK) {
        for (r = 0; normalize && r < (size_t)e->vocab_size; r++) {   /* x / |x| (a zero row stays zero) */
            float *row = tmp.weight + r * e->embed_size;
            double s = 0;
            for (j = 0; j < (size_t)e->embed_size; j++) s += (double)row[j] * row[j];
            if (s > 0)
                for (j = 0; j < (size_t)e->embed_size; j++) row[j] = (float)(row[j] / sqrt(s));
        }
        memcpy(e->weight, tmp.weight, n * sizeof(float));
        e->frozen = 1;
    }
    RNN_FREE(tmp.weight);
    return st;
}

/* y = x·Wᵀ + b with the caller's packing space (NULL: none). */
static void rnn__dense_forward(const rnn_dense *d, const float *x, int n, float *y, float *pk, size_t npk) {
    int i;
    for (i = 0; i < n; i++) memcpy(y + (size_t)i * d->out_size, d->bias, sizeof(float) * d->out_size);
    rnn__gemm(pk, npk, 0, 1, n, d->out_size, d->in_size, 1.0f, x, d->in_size, d->weight, d->in_size, 1.0f, y,
              d->out_size);
}

/* backward of y = x·Wᵀ + b:  dW += dyᵀ·x,  db += Σ_rows dy,  dx = dy·W */
static void rnn__dense_backward(rnn_dense *d, const float *x, int n, const float *dy, float *dx, float *pk,
                                size_t npk) {
    int i, j;
    rnn__gemm(pk, npk, 1, 0, d->out_size, d->in_size, n, 1.0f, dy, d->out_size, x, d->in_size, 1.0f, d->gweight,
              d->in_size);
    for (i = 0; i < n; i++)
        for (j = 0; j < d->out_size; j++) d->gbias[j] += dy[(size_t)i * d->out_size + j];
    if (dx)
        rnn__gemm(pk, npk, 0, 0, n, d->in_size, d->out_size, 1.0f, dy, d->out_size, d->weight, d->in_size, 0.0f, dx,
                  d->in_size);
}

RNNDEF void rnn_dense_forward(const rnn_dense *d, const float *x, int n, float *y) {
    rnn__dense_forward(d, x, n, y, NULL, 0);
}

RNNDEF void rnn_dense_backward(rnn_dense *d, const float *x, int n, const float *dy, float *dx) {
    rnn__dense_backward(d, x, n, dy, dx, NULL, 0);
}

/* ============================================================================
   Losses
   ========================================================================== */

/* loss_i = log Σ_j e^(z_j − m) − (z_t − m), m = max z;
   dz_j = (e^(z_j − m) / Σ − [j = t]) / count */
/* The rows of a softmax cross-entropy in chunks of `rows` (a count that
   depends on n alone), each chunk's loss summed on its own and the chunks
   then in order: the same sum however the chunks are shared out. */
typedef struct rnn__xent_job {
    const float *z;
    const int *t;
    float *d;
    double *sums;
    int n, v, ignore, count, rows, nchunks, step;
} rnn__xent_job;

static void rnn__xent_task(void *ctx, int part) {
    const rnn__xent_job *x = (const rnn__xent_job *)ctx;
    int ch, i, j, v = x->v;
    for (ch = part * x->step; ch < (part + 1) * x->step && ch < x->nchunks; ch++) {
        double total = 0;
        for (i = ch * x->rows; i < (ch + 1) * x->rows && i < x->n; i++) {
            const float *z = x->z + (size_t)i * v;
            float *d = x->d + (size_t)i * v, zt, mx, scale;
            int t = x->t[i];
            double sum = 0;
            if (t == x->ignore) {
                memset(d, 0, sizeof(float) * v);
                continue;
            }
            if (!rnn__finite(z, (size_t)v)) { total = NAN; break; }
            zt = z[t];
            mx = z[0];
            for (j = 1; j < v; j++) mx = z[j] > mx ? z[j] : mx;
            for (j = 0; j < v; j++) d[j] = z[j] - mx;   /* d may be z: zt and mx are read */
            rnn_exp(d, d, (size_t)v);
            for (j = 0; j < v; j++) sum += d[j];
            total += log(sum) - ((double)zt - mx);
            scale = (float)(1.0 / (sum * x->count));
            for (j = 0; j < v; j++) d[j] *= scale;
            d[t] -= 1.0f / (float)x->count;
        }
        x->sums[ch] = total;
    }
}

RNNDEF rnn_status rnn_loss_softmax_xent(const float *logits, const int *targets, int n, int v,
                                        int ignore_index, float *dlogits, float *loss) {
    double sums[1024], total = 0;
    rnn__xent_job x;
    int i;
    if (!logits || !targets || !dlogits || !loss || n < 0 || v <= 0) return RNN_ERR_INVALID_ARGUMENT;
    memset(&x, 0, sizeof x);
    for (i = 0; i < n; i++) {
        if (targets[i] == ignore_index) continue;
        if (targets[i] < 0 || targets[i] >= v) return RNN_ERR_INVALID_ARGUMENT;
        x.count++;
    }
    x.z = logits; x.t = targets; x.d = dlogits; x.sums = sums; x.n = n; x.v = v; x.ignore = ignore_index;
    x.rows = n / 1024 + 1 > 16 ? n / 1024 + 1 : 16;
    x.nchunks = (n + x.rows - 1) / x.rows;
    x.step = (double)n * v >= 16.0 * RNN_PAR_MIN_VALUES ? rnn__cut(x.nchunks, 1, 1) : 0;
    if (!x.step) x.step = x.nchunks > 0 ? x.nchunks : 1;
    rnn__run(rnn__xent_task, &x, (x.nchunks + x.step - 1) / x.step);
    for (i = 0; i < x.nchunks; i++) total += sums[i];
    if (total != total) return RNN_ERR_INVALID_ARGUMENT;   /* a row of logits held NaN or infinity */
    *loss = x.count ? (float)(total / x.count) : 0.0f;
    return RNN_OK;
}

/* loss = max(x,0) − x·t + log(1 + e^−|x|)  (stable for any x); dx = σ(x) − t */
RNNDEF rnn_status rnn_loss_bce_logits(const float *logits, const float *targets, const float *mask,
                                      int n, float *dlogits, float *loss) {
    int i, count = 0;
    double total = 0;
    if (!logits || !targets || !dlogits || !loss || n < 0) return RNN_ERR_INVALID_ARGUMENT;
    if (!rnn__finite(logits, (size_t)n) || !rnn__finite(targets, (size_t)n)) return RNN_ERR_INVALID_ARGUMENT;
    for (i = 0; i < n; i++) count += !mask || mask[i] != 0.0f;
    for (i = 0; i < n; i++) {
        float x = logits[i], t = targets[i];
        if (mask && mask[i] == 0.0f) { dlogits[i] = 0.0f; continue; }
        total += (x > 0 ? x : 0.0) - (double)x * t + log1p(exp(-fabs((double)x)));
        dlogits[i] = (rnn__sigmoid1(x) - t) / (float)count;
    }
    *loss = count ? (float)(total / count) : 0.0f;
    return RNN_OK;
}

/* loss = mean (p − t)²; dp = 2 (p − t) / n */
RNNDEF rnn_status rnn_loss_mse(const float *pred, const float *target, int n, float *dpred, float *loss) {
    int i;
    double total = 0;
    if (!pred || !target || !dpred || !loss || n <= 0) return RNN_ERR_INVALID_ARGUMENT;
    if (!rnn__finite(pred, (size_t)n) || !rnn__finite(target, (size_t)n)) return RNN_ERR_INVALID_ARGUMENT;
    for (i = 0; i < n; i++) {
        double e = (double)pred[i] - target[i];
        total += e * e;
        dpred[i] = (float)(2.0 * e / n);
    }
    *loss = (float)(total / n);
    return RNN_OK;
}

/* ============================================================================
   Optimizers
   ========================================================================== */

/* Appends a parameter to a registry. */
static void rnn__param_add(rnn_param **reg, const char *name, float *value, float *grad, int rows,
                           int cols, int frozen) {
    rnn_param p;
    memset(&p, 0, sizeof p);
    snprintf(p.name, sizeof p.name, "%s", name);
    p.value = value; p.grad = grad; p.rows = rows; p.cols = cols; p.frozen = frozen;
    p.count = (size_t)rows * (cols ? cols : 1);
    stbds_arrput(*reg, p);
}

/* Appends, each name behind prefix, the parameters of a recurrent stack
   (in state_dict order) or of another registry. */
static void rnn__param_add_all(rnn_param **reg, const char *prefix, rnn_recurrent *r, const rnn_param *from) {
    ptrdiff_t j, n = r ? (ptrdiff_t)r->cfg.num_layers * r->dirs * 4 : stbds_arrlen(from);
    for (j = 0; j < n; j++) {
        char pn[64], name[136];
        if (r) {
            float *val = NULL, *gr = NULL;
            size_t cnt = 0;
            int GH = r->gates * r->cfg.hidden_size;
            rnn_recurrent_param_name(r, (int)j, pn, sizeof pn);
            rnn_recurrent_param(r, pn, &val, &gr, &cnt);
            snprintf(name, sizeof name, "%s%s", prefix, pn);
            rnn__param_add(reg, name, val, gr, GH, j % 4 < 2 ? (int)(cnt / (size_t)GH) : 0, 0);
        } else {
            snprintf(name, sizeof name, "%s%s", prefix, from[j].name);
            rnn__param_add(reg, name, from[j].value, from[j].grad, from[j].rows, from[j].cols, from[j].frozen);
        }
    }
}

RNNDEF rnn_status rnn_params_freeze(rnn_param *reg, const char *name, int frozen) {
    ptrdiff_t i;
    for (i = 0; name && i < stbds_arrlen(reg); i++)
        if (!strcmp(reg[i].name, name)) { reg[i].frozen = frozen != 0; return RNN_OK; }
    return RNN_ERR_INVALID_ARGUMENT;
}

RNNDEF void rnn_params_zero_grad(rnn_param *reg) {
    ptrdiff_t i;
    for (i = 0; i < stbds_arrlen(reg); i++) memset(reg[i].grad, 0, reg[i].count * sizeof(float));
}

RNNDEF rnn_status rnn_optimizer_create(rnn_optimizer **out, const rnn_optimizer_config *cfg,
                                       const rnn_param *reg) {
    rnn_optimizer *o;
    ptrdiff_t i;
    size_t n = 0, k;
    if (!out) return RNN_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!cfg || cfg->kind < RNN_ADAM || cfg->kind > RNN_RMSPROP || !(cfg->lr >= 0) || !(cfg->momentum >= 0) ||
        !(cfg->alpha >= 0 && cfg->alpha < 1) ||
        !(cfg->beta1 >= 0 && cfg->beta1 < 1) || !(cfg->beta2 >= 0 && cfg->beta2 < 1) || !(cfg->eps >= 0) ||
        !(cfg->weight_decay >= 0) || !(cfg->clip_norm >= 0) || !(cfg->clip_value >= 0) || !(cfg->lr_decay >= 0))
        return RNN_ERR_INVALID_ARGUMENT;
    for (i = 0; i < stbds_arrlen(reg); i++) n += reg[i].count;
    k = cfg->kind == RNN_RMSPROP && cfg->centered ? 3 : 2;
    o = (rnn_optimizer *)RNN_MALLOC(sizeof *o + k * n * sizeof(float));
    if (!o) return RNN_ERR_OUT_OF_MEMORY;
    memset(o, 0, sizeof *o + k * n * sizeof(float));
    o->cfg = *cfg;
    o->cfg.centered = cfg->centered != 0;
    if (o->cfg.lr == 0) o->cfg.lr = cfg->kind == RNN_SGD || cfg->kind == RNN_RMSPROP ? 1e-2f : 1e-3f;
    if (o->cfg.alpha == 0) o->cfg.alpha = 0.99f;
    if (o->cfg.beta1 == 0) o->cfg.beta1 = 0.9f;
    if (o->cfg.beta2 == 0) o->cfg.beta2 = 0.999f;
    if (o->cfg.eps == 0) o->cfg.eps = 1e-8f;
    o->n = n;
    o->m = (float *)(o + 1);
    o->v = o->m + n;
    o->a = k == 3 ? o->v + n : NULL;
    *out = o;
    return RNN_OK;
}

RNNDEF void rnn_optimizer_free(rnn_optimizer *opt) {
    if (opt) RNN_FREE(opt->sums);
    RNN_FREE(opt);
}

/* Adam:  m = β1 m + (1−β1) g,  v = β2 v + (1−β2) g²,
          p −= lr · (m / (1−β1ᵗ)) / (√(v / (1−β2ᵗ)) + ε)
   AdamW: first p −= lr · wd · p;  Adam and SGD with wd: g += wd · p.
   SGD:   b = μ b + g (b = g at the first step), p −= lr · b.
   RMSprop (torch.optim.RMSprop): g += wd · p, v = α v + (1−α) g²,
          centered: a = α a + (1−α) g, d = √(v − a²) + ε, else d = √v + ε;
          momentum: b = μ b + g / d, p −= lr · b; else p −= lr · g / d. */
/* The step works on chunks of RNN__CHUNK values of each parameter, in
   registry order: the gradient's squared sum is summed by chunk, then
   over the chunks in order, so the norm is the same whether the chunks
   are one task's or many; the update is element-wise. */
#define RNN__CHUNK 16384

typedef struct rnn__opt_job {
    rnn_optimizer *opt;
    rnn_param *reg;
    ptrdiff_t np;
    int phase, step, nchunks;
    float scale, lr, ib1, ib2;
} rnn__opt_job;

/* Phase 0: clamps (clip_value) and sums the squares of a chunk, NaN if it
   holds a non-finite value. Phase 1: the update of a chunk. */
static void rnn__opt_chunk(const rnn__opt_job *o, int ci, rnn_param *p, size_t off, size_t lo, size_t n) {
    const rnn_optimizer_config *c = &o->opt->cfg;
    rnn_optimizer *opt = o->opt;
    float scale = o->scale, lr = o->lr, cv = c->clip_value;
    size_t j;
    if (o->phase == 0) {
        float *gr = p->grad + lo;
        double sq = 0;
        if (!rnn__finite(gr, n)) { opt->sums[ci] = NAN; return; }
        for (j = 0; j < n; j++) {
            float g = gr[j];
            if (cv > 0) g = g > cv ? cv : g < -cv ? -cv : g;
            gr[j] = g;
            sq += (double)g * g;
        }
        opt->sums[ci] = sq;
        return;
    }
    off += lo;
    if (c->kind == RNN_SGD) {
        float *pv = p->value + lo, *gr = p->grad + lo, *m = opt->m + off;
        for (j = 0; j < n; j++) {
            float g = gr[j] * scale;
            if (c->weight_decay > 0) g += c->weight_decay * pv[j];
            if (c->momentum > 0) {
                m[j] = opt->t == 1 ? g : c->momentum * m[j] + g;
                g = m[j];
            }
            pv[j] -= lr * g;
        }
    } else if (c->kind == RNN_RMSPROP) {
        float *pv = p->value + lo, *gr = p->grad + lo, *m = opt->m + off, *v = opt->v + off;
        float *a = opt->a ? opt->a + off : NULL, al = c->alpha;
        for (j = 0; j < n; j++) {
            float g = gr[j] * scale, d;
            if (c->weight_decay > 0) g += c->weight_decay * pv[j];
            v[j] = al * v[j] + (1.0f - al) * g * g;
            if (a) {
                a[j] = al * a[j] + (1.0f - al) * g;
                d = sqrtf(v[j] - a[j] * a[j]) + c->eps;
            } else
                d = sqrtf(v[j]) + c->eps;
            if (c->momentum > 0) {
                m[j] = c->momentum * m[j] + g / d;
                pv[j] -= lr * m[j];
            } else
                pv[j] -= lr * g / d;
        }
    } else {
        rnn__best_arch()->adam(p->value + lo, p->grad + lo, opt->m + off, opt->v + off, n, scale, lr,
                               c->kind == RNN_ADAMW ? c->weight_decay : 0.0f, c->kind == RNN_ADAM ? c->weight_decay : 0.0f,
                               c->beta1, c->beta2, c->eps, o->ib1, o->ib2);   /* rnn__adam: see Kernels */
    }
}

/* The chunks [part·step, +step) of the registry's unfrozen parameters. */
static void rnn__opt_task(void *ctx, int part) {
    const rnn__opt_job *o = (const rnn__opt_job *)ctx;
    int c0 = part * o->step, c1 = c0 + o->step, ci = 0;
    ptrdiff_t i;
    size_t off = 0, lo;
    for (i = 0; i < o->np && ci < c1; off += o->reg[i].count, i++) {
        if (o->reg[i].frozen) continue;
        for (lo = 0; lo < o->reg[i].count && ci < c1; lo += RNN__CHUNK, ci++) {
            size_t n = o->reg[i].count - lo < RNN__CHUNK ? o->reg[i].count - lo : RNN__CHUNK;
            if (ci >= c0) rnn__opt_chunk(o, ci, &o->reg[i], off, lo, n);
        }
    }
}

RNNDEF rnn_status rnn_optimizer_step(rnn_optimizer *opt, rnn_param *reg, float *grad_norm) {
    ptrdiff_t i, np = stbds_arrlen(reg);
    size_t off = 0;
    double sq = 0, norm, bc1, bc2;
    const rnn_optimizer_config *c;
    rnn__opt_job o;
    int parts, k;
    if (!opt || !reg) return RNN_ERR_INVALID_ARGUMENT;
    c = &opt->cfg;
    memset(&o, 0, sizeof o);
    for (i = 0; i < np; i++) {
        off += reg[i].count;
        if (!reg[i].frozen) o.nchunks += (int)((reg[i].count + RNN__CHUNK - 1) / RNN__CHUNK);
    }
    if (off != opt->n)
        return rnn__err(opt->error, sizeof opt->error, RNN_ERR_INVALID_ARGUMENT,
                        "step: the registry holds %lu values, the optimizer was made for %lu",
                        (unsigned long)off, (unsigned long)opt->n);
    if ((size_t)o.nchunks > opt->sums_cap) {
        double *s = (double *)RNN_REALLOC(opt->sums, (size_t)o.nchunks * sizeof(double));
        if (!s) return rnn__err(opt->error, sizeof opt->error, RNN_ERR_OUT_OF_MEMORY, "step: out of memory");
        opt->sums = s;
        opt->sums_cap = (size_t)o.nchunks;
    }
    o.opt = opt; o.reg = reg; o.np = np;
    o.step = rnn__cut(o.nchunks, 1, 1);
    if (!o.step) o.step = o.nchunks > 0 ? o.nchunks : 1;
    parts = (o.nchunks + o.step - 1) / o.step;
    rnn__run(rnn__opt_task, &o, parts);
    for (k = 0; k < o.nchunks; k++) sq += opt->sums[k];
    if (sq != sq) {   /* a chunk held NaN or infinity: name the first such parameter */
        for (i = 0; i < np; i++)
            if (!reg[i].frozen && !rnn__finite(reg[i].grad, reg[i].count)) break;
        return rnn__err(opt->error, sizeof opt->error, RNN_ERR_INVALID_ARGUMENT,
                        "step: the gradient of %.64s holds NaN or infinity (nothing was changed)",
                        i < np ? reg[i].name : "a parameter");
    }
    norm = sqrt(sq);
    if (grad_norm) *grad_norm = (float)norm;
    o.scale = c->clip_norm > 0 && norm > c->clip_norm ? (float)(c->clip_norm / (norm + 1e-6)) : 1.0f;
    opt->t++;
    o.lr = c->lr_decay > 0 ? c->lr / (1.0f + c->lr_decay * (float)(opt->t - 1)) : c->lr;
    bc1 = 1.0 - pow(c->beta1, (double)opt->t);
    bc2 = 1.0 - pow(c->beta2, (double)opt->t);
    o.ib1 = (float)(1.0 / bc1);
    o.ib2 = (float)(1.0 / bc2);
    o.phase = 1;
    rnn__run(rnn__opt_task, &o, parts);
    return RNN_OK;
}

/* ============================================================================
   Attention: scaled dot-product, multi-head, layer norm, Transformer encoder
   ========================================================================== */

/* One call's shapes, checked, with one head's widths and the scale. */
typedef struct rnn__attn {
    int Tq, Tk, B, heads, dk, dv;   /* dk, dv: one head's widths */
    float scale;
    int causal;
    const int *klen, *qlen;         /* [B] or NULL */
} rnn__attn;

static rnn_status rnn__attn_from(rnn_attention_desc *a, rnn__attn *o) {
    int b, heads, vs;
    char *err = a->error;
    size_t cap = sizeof a->error;
    err[0] = 0;
    heads = a->heads > 0 ? a->heads : 1;
    vs = a->v_size > 0 ? a->v_size : a->qk_size;
    if (a->Tq <= 0 || a->Tk <= 0 || a->B <= 0 || a->qk_size <= 0 || a->heads < 0 || a->v_size < 0)
        return rnn__err(err, cap, RNN_ERR_INVALID_ARGUMENT, "Tq %d, Tk %d, B %d and qk_size %d must be positive",
                        a->Tq, a->Tk, a->B, a->qk_size);
    if (a->qk_size % heads || vs % heads)
        return rnn__err(err, cap, RNN_ERR_INVALID_ARGUMENT, "qk_size %d and v_size %d must be multiples of heads %d",
                        a->qk_size, vs, heads);
    if (a->scale - a->scale != 0.0f)
        return rnn__err(err, cap, RNN_ERR_INVALID_ARGUMENT, "scale must be finite");
    for (b = 0; b < a->B; b++) {
        if (a->key_lengths && (a->key_lengths[b] < 1 || a->key_lengths[b] > a->Tk))
            return rnn__err(err, cap, RNN_ERR_INVALID_ARGUMENT, "key_lengths[%d] = %d is outside 1..%d", b,
                            a->key_lengths[b], a->Tk);
        if (a->query_lengths && (a->query_lengths[b] < 0 || a->query_lengths[b] > a->Tq))
            return rnn__err(err, cap, RNN_ERR_INVALID_ARGUMENT, "query_lengths[%d] = %d is outside 0..%d", b,
                            a->query_lengths[b], a->Tq);
    }
    o->Tq = a->Tq; o->Tk = a->Tk; o->B = a->B; o->heads = heads;
    o->dk = a->qk_size / heads; o->dv = vs / heads;
    o->scale = a->scale != 0.0f ? a->scale : 1.0f / sqrtf((float)o->dk);
    o->causal = a->causal;
    o->klen = a->key_lengths; o->qlen = a->query_lengths;
    return RNN_OK;
}

/* The keys query i of batch row b sees are a prefix: this many. */
static int rnn__attn_keys(const rnn__attn *a, int b, int i) {
    int n = a->klen ? a->klen[b] : a->Tk;
    if (a->qlen && i >= a->qlen[b]) return 0;
    if (a->causal && i + 1 < n) n = i + 1;
    return n;
}

/* softmax of a row in place. Attention's rows are short: float sums in
   eight lanes, which vectorise (rnn_softmax sums a vocabulary in double). */
static void rnn__softmax_row(float *x, int n) {
    float mx[8], s[8], m, r;
    int i, j;
    if (n <= 0) return;
    for (j = 0; j < 8; j++) mx[j] = x[0];
    for (i = 0; i + 8 <= n; i += 8)
        for (j = 0; j < 8; j++) mx[j] = x[i + j] > mx[j] ? x[i + j] : mx[j];
    for (m = mx[0], j = 1; j < 8; j++) m = mx[j] > m ? mx[j] : m;
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    for (i = 0; i < n; i++) x[i] -= m;
    rnn_exp(x, x, (size_t)n);
    for (j = 0; j < 8; j++) s[j] = 0.0f;
    for (i = 0; i + 8 <= n; i += 8)
        for (j = 0; j < 8; j++) s[j] += x[i + j];
    for (; i < n; i++) s[0] += x[i];
    r = 1.0f / (((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])));
    for (i = 0; i < n; i++) x[i] *= r;
}

/* Σ a[i]·b[i] in eight float lanes. */
static float rnn__dot_lanes(const float *a, const float *b, int n) {
    float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int i, j;
    for (i = 0; i + 8 <= n; i += 8)
        for (j = 0; j < 8; j++) s[j] += a[i + j] * b[i + j];
    for (; i < n; i++) s[0] += a[i] * b[i];
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

/* Where an operand of attention keeps head h of batch row b: its rows (one
   a position) are st apart from p + b·sb + h·sh. Time-major rows
   [T][B][heads·d] (the public calls) and head-major blocks [B][heads][T][d]
   (multi-head attention copies its projections into these, so that each
   product reads and writes contiguous rows). */
typedef struct rnn__hv { float *p; size_t sb, sh; int st; } rnn__hv;
static rnn__hv rnn__rows_view(const float *p, int B, int ld, int d) {
    rnn__hv v;
    v.p = (float *)p; v.sb = (size_t)ld; v.sh = (size_t)d; v.st = B * ld;
    return v;
}
static rnn__hv rnn__blocks_view(const float *p, int H, int T, int d) {
    rnn__hv v;
    v.p = (float *)p; v.sb = (size_t)H * T * d; v.sh = (size_t)T * d; v.st = d;
    return v;
}
#define RNN__HB(v, b, h) ((v).p + (size_t)(b) * (v).sb + (size_t)(h) * (v).sh)

/* Per (b, h):  S = scale·Q·Kᵀ,  P = softmax of each row over its keys,
   O = P·V. Only the first len keys of b are multiplied: the rest are
   masked for every query. */
static void rnn__attend(const rnn__attn *a, rnn__hv Q, rnn__hv K, rnn__hv V, float *P, rnn__hv O, float *pk,
                        size_t npk) {
    int b, h, i, Tq = a->Tq, Tk = a->Tk;
    for (b = 0; b < a->B; b++) {
        int len = a->klen ? a->klen[b] : Tk;
        for (h = 0; h < a->heads; h++) {
            float *p = P + ((size_t)b * a->heads + h) * Tq * Tk;
            rnn__gemm(pk, npk, 0, 1, Tq, len, a->dk, a->scale, RNN__HB(Q, b, h), Q.st, RNN__HB(K, b, h), K.st, 0.0f, p, Tk);
            for (i = 0; i < Tq; i++) {
                float *row = p + (size_t)i * Tk;
                int n = rnn__attn_keys(a, b, i);
                rnn__softmax_row(row, n);
                memset(row + n, 0, sizeof(float) * (size_t)(Tk - n));
            }
            rnn__gemm(pk, npk, 0, 0, Tq, a->dv, len, 1.0f, p, Tk, RNN__HB(V, b, h), V.st, 0.0f, RNN__HB(O, b, h), O.st);
        }
    }
}

/* Zeroes rows from..to−1 (of width w, stride ld) of a strided block. */
static void rnn__zero_rows(float *x, int from, int to, int w, size_t ld) {
    int t;
    for (t = from; t < to; t++) memset(x + (size_t)t * ld, 0, sizeof(float) * (size_t)w);
}

/* backward of rnn__attend, per (b, h), with dP in scratch [Tq][Tk]:
     dP = dO·Vᵀ,  dV = Pᵀ·dO
     dS = P ⊙ (dP − rowsum(P ⊙ dP))       (softmax; masked entries have P = 0)
     dQ = scale·dS·K,  dK = scale·dSᵀ·Q
   dQ, dK, dV with p NULL are not wanted; bk, bv = 1 add dK, dV into what
   is there (their pointer is dQ's or dK's), 0 overwrite. Keys past len get
   dK = dV = 0. */
static void rnn__attend_back(const rnn__attn *a, rnn__hv Q, rnn__hv K, rnn__hv V, const float *P, rnn__hv dO,
                             rnn__hv dQ, rnn__hv dK, float bk, rnn__hv dV, float bv, float *ds, float *pk, size_t npk) {
    int b, h, i, j, Tq = a->Tq, Tk = a->Tk;
    for (b = 0; b < a->B; b++) {
        int len = a->klen ? a->klen[b] : Tk;
        for (h = 0; h < a->heads; h++) {
            const float *p = P + ((size_t)b * a->heads + h) * Tq * Tk;
            rnn__gemm(pk, npk, 0, 1, Tq, len, a->dv, 1.0f, RNN__HB(dO, b, h), dO.st, RNN__HB(V, b, h), V.st, 0.0f, ds, Tk);
            for (i = 0; i < Tq; i++) {
                const float *pr = p + (size_t)i * Tk;
                float *dr = ds + (size_t)i * Tk;
                int n = rnn__attn_keys(a, b, i);
                float s = rnn__dot_lanes(pr, dr, n);
                for (j = 0; j < n; j++) dr[j] = pr[j] * (dr[j] - s);
                for (j = n; j < len; j++) dr[j] = 0.0f;
            }
            if (dQ.p)
                rnn__gemm(pk, npk, 0, 0, Tq, a->dk, len, a->scale, ds, Tk, RNN__HB(K, b, h), K.st, 0.0f,
                          RNN__HB(dQ, b, h), dQ.st);
            if (dK.p) {
                float *dkb = RNN__HB(dK, b, h);
                rnn__gemm(pk, npk, 1, 0, len, a->dk, Tq, a->scale, ds, Tk, RNN__HB(Q, b, h), Q.st, bk, dkb, dK.st);
                if (bk == 0.0f) rnn__zero_rows(dkb, len, Tk, a->dk, (size_t)dK.st);
            }
            if (dV.p) {
                float *dvb = RNN__HB(dV, b, h);
                rnn__gemm(pk, npk, 1, 0, len, a->dv, Tq, 1.0f, p, Tk, RNN__HB(dO, b, h), dO.st, bv, dvb, dV.st);
                if (bv == 0.0f) rnn__zero_rows(dvb, len, Tk, a->dv, (size_t)dV.st);
            }
        }
    }
}

RNNDEF rnn_status rnn_attention_forward(rnn_attention_desc *d, const float *q, const float *k, const float *v,
                                        float *weights, float *out) {
    rnn__attn a;
    rnn_status st;
    if (!d) return RNN_ERR_INVALID_ARGUMENT;
    if ((st = rnn__attn_from(d, &a)) != RNN_OK) return st;
    if (!q || !k || !weights || !out)
        return rnn__err(d->error, sizeof d->error, RNN_ERR_INVALID_ARGUMENT, "q, k, weights and out are required");
    if (!v) {
        if (a.dv != a.dk)
            return rnn__err(d->error, sizeof d->error, RNN_ERR_INVALID_ARGUMENT, "without v, v_size must be qk_size");
        v = k;
    }
    rnn__attend(&a, rnn__rows_view(q, a.B, a.heads * a.dk, a.dk), rnn__rows_view(k, a.B, a.heads * a.dk, a.dk),
                rnn__rows_view(v, a.B, a.heads * a.dv, a.dv), weights, rnn__rows_view(out, a.B, a.heads * a.dv, a.dv),
                NULL, 0);
    return RNN_OK;
}

RNNDEF rnn_status rnn_attention_backward(rnn_attention_desc *d, const float *q, const float *k, const float *v,
                                         const float *weights, const float *dout, float *dq, float *dk, float *dv,
                                         float *scratch) {
    rnn__attn a;
    rnn_status st;
    int wq, wv;
    if (!d) return RNN_ERR_INVALID_ARGUMENT;
    if ((st = rnn__attn_from(d, &a)) != RNN_OK) return st;
    if (!q || !k || !weights || !dout || !scratch)
        return rnn__err(d->error, sizeof d->error, RNN_ERR_INVALID_ARGUMENT,
                        "q, k, weights, dout and scratch are required");
    wq = a.heads * a.dk; wv = a.heads * a.dv;
    if (!v) {
        if (a.dv != a.dk)
            return rnn__err(d->error, sizeof d->error, RNN_ERR_INVALID_ARGUMENT, "without v, v_size must be qk_size");
        v = k; dv = dk;
    }
    /* a pointer given twice sums: only where the blocks have one shape */
    if ((dq && (dq == dk || dq == dv) && a.Tq != a.Tk) || (dv && (dv == dq || dv == dk) && wv != wq))
        return rnn__err(d->error, sizeof d->error, RNN_ERR_INVALID_ARGUMENT,
                        "dq, dk, dv share a pointer but not a shape");
    rnn__attend_back(&a, rnn__rows_view(q, a.B, wq, a.dk), rnn__rows_view(k, a.B, wq, a.dk),
                     rnn__rows_view(v, a.B, wv, a.dv), weights, rnn__rows_view(dout, a.B, wv, a.dv),
                     rnn__rows_view(dq, a.B, wq, a.dk), rnn__rows_view(dk, a.B, wq, a.dk), dk && dk == dq ? 1.0f : 0.0f,
                     rnn__rows_view(dv, a.B, wv, a.dv), dv && (dv == dq || dv == dk) ? 1.0f : 0.0f, scratch, NULL, 0);
    return RNN_OK;
}

RNNDEF void rnn_positional_encoding(float *pe, int T, int E) {
    int p, i;
    for (p = 0; p < T; p++)
        for (i = 0; i < E; i++) {
            double angle = p * pow(10000.0, -(double)(i - i % 2) / E);
            pe[(size_t)p * E + i] = (float)(i % 2 ? cos(angle) : sin(angle));
        }
}

/* ---- layer norm ----------------------------------------------------------- */

/* One row's mean and 1/√(var + eps), the variance biased (PyTorch's). */
static void rnn__ln_stats(const float *x, int n, float eps, float *mean, float *rstd) {
    double s = 0.0, v = 0.0, mu;
    int j;
    for (j = 0; j < n; j++) s += x[j];
    mu = s / n;
    for (j = 0; j < n; j++) v += (x[j] - mu) * (x[j] - mu);
    *mean = (float)mu;
    *rstd = (float)(1.0 / sqrt(v / n + eps));
}

RNNDEF void rnn_layernorm_forward(const rnn_layernorm *ln, const float *x, int n, float *y, float *stats) {
    int r, j, D = ln->size;
    float eps = ln->eps > 0 ? ln->eps : 1e-5f;
    for (r = 0; r < n; r++) {
        const float *xr = x + (size_t)r * D;
        float *yr = y + (size_t)r * D, mu, rs;
        rnn__ln_stats(xr, D, eps, &mu, &rs);
        for (j = 0; j < D; j++) yr[j] = (xr[j] - mu) * rs * ln->weight[j] + ln->bias[j];
        if (stats) { stats[2 * r] = mu; stats[2 * r + 1] = rs; }
    }
}

/* backward, per row, with x̂ = (x − μ)·r and g = dy ⊙ w:
     dw += dy ⊙ x̂,  db += dy,  dx = r·(g − mean(g) − x̂·mean(g ⊙ x̂)) */
RNNDEF void rnn_layernorm_backward(rnn_layernorm *ln, const float *x, const float *stats, int n, const float *dy,
                                   float *dx) {
    int r, j, D = ln->size;
    float eps = ln->eps > 0 ? ln->eps : 1e-5f;
    for (r = 0; r < n; r++) {
        const float *xr = x + (size_t)r * D, *dyr = dy + (size_t)r * D;
        float mu, rs, mg, mgx;
        double sg = 0.0, sgx = 0.0;
        if (stats) { mu = stats[2 * r]; rs = stats[2 * r + 1]; }
        else rnn__ln_stats(xr, D, eps, &mu, &rs);
        for (j = 0; j < D; j++) {
            float xh = (xr[j] - mu) * rs, g = dyr[j] * ln->weight[j];
            ln->gweight[j] += dyr[j] * xh;
            ln->gbias[j] += dyr[j];
            sg += g; sgx += (double)g * xh;
        }
        if (!dx) continue;
        mg = (float)(sg / D); mgx = (float)(sgx / D);
        for (j = 0; j < D; j++) {
            float xh = (xr[j] - mu) * rs;
            dx[(size_t)r * D + j] = rs * (dyr[j] * ln->weight[j] - mg - xh * mgx);
        }
    }
}

/* ---- multi-head attention ------------------------------------------------- */

/* The workspace of one forward (Tq, Tk, B) and its backward. */
typedef struct rnn__mha_plan {
    float *qkv;     /* self: [Tq·B][3E] the three projections side by side;
                       else q [Tq·B][E], then k, v [Tk·B][E]                  */
    float *ctx;     /* [Tq·B][E] the heads' outputs side by side              */
    float *attn;    /* [B][heads][Tq][Tk] the attention weights               */
    float *dqkv;    /* laid out as qkv: the gradient reaching the projections */
    float *dctx;    /* [Tq·B][E]                                              */
    float *hqkv;    /* q, k, v again, head-major: [B][heads][T][E/heads] each  */
    float *hctx;    /* the heads' outputs, head-major; in backward their gradient */
    float *dhqkv;   /* the gradients of hqkv                                  */
    float *ds;      /* [Tq][Tk] one head's dP, then dS                        */
    float *pack;    /* packing space for every product                       */
    size_t npack, total;
} rnn__mha_plan;

static void rnn__mha_carve(const rnn_mha *m, int Tq, int Tk, int B, float *ws, rnn__mha_plan *p) {
    size_t E = (size_t)m->embed_size, nq = (size_t)Tq * B * E, nk = (size_t)Tk * B * E, off = 0;
    int rows = (Tq > Tk ? Tq : Tk) * B, E3 = 3 * m->embed_size, T = Tq > Tk ? Tq : Tk;
    int mm = rows > E3 ? rows : E3;
    p->qkv = rnn__at(ws, off); off += nq + 2 * nk;
    p->ctx = rnn__at(ws, off); off += nq;
    p->attn = rnn__at(ws, off); off += (size_t)B * m->heads * Tq * Tk;
    p->dqkv = rnn__at(ws, off); off += nq + 2 * nk;
    p->dctx = rnn__at(ws, off); off += nq;
    p->hqkv = rnn__at(ws, off); off += nq + 2 * nk;
    p->hctx = rnn__at(ws, off); off += nq;
    p->dhqkv = rnn__at(ws, off); off += nq + 2 * nk;
    p->ds = rnn__at(ws, off); off += (size_t)Tq * Tk;
    p->npack = rnn__pack_floats(mm > T ? mm : T, E3 > T ? E3 : T, mm > T ? mm : T);
    p->pack = rnn__at(ws, off);
    p->total = off + p->npack;
}

RNNDEF void rnn_mha_free(rnn_mha *m) {
    if (!m) return;
    stbds_arrfree(m->params);
    RNN_FREE(m->own);
    RNN_FREE(m->ws);
    RNN_FREE(m->len);
    RNN_FREE(m);
}

RNNDEF rnn_status rnn_mha_create(rnn_mha **out, int E, int heads, uint64_t seed) {
    rnn_mha *m;
    size_t n, e2 = (size_t)E * E;
    rnn_rng rng;
    if (!out) return RNN_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (E <= 0 || heads <= 0 || E % heads) return RNN_ERR_INVALID_ARGUMENT;
    if (!(m = (rnn_mha *)RNN_MALLOC(sizeof *m))) return RNN_ERR_OUT_OF_MEMORY;
    memset(m, 0, sizeof *m);
    m->embed_size = E; m->heads = heads;
    n = 4 * e2 + 4 * (size_t)E;
    if (!(m->own = (float *)RNN_MALLOC(2 * n * sizeof(float)))) { rnn_mha_free(m); return RNN_ERR_OUT_OF_MEMORY; }
    memset(m->own, 0, 2 * n * sizeof(float));
    m->in_w = m->own; m->in_b = m->in_w + 3 * e2; m->out_w = m->in_b + 3 * E; m->out_b = m->out_w + e2;
    m->g_in_w = m->in_w + n; m->g_in_b = m->in_b + n; m->g_out_w = m->out_w + n; m->g_out_b = m->out_b + n;
    /* PyTorch's: in_proj_weight Glorot-uniform over [3E × E], out_proj.weight
       uniform ±1/√E, both biases 0 */
    rnn_rng_seed(&rng, seed);
    rnn__uniform(m->in_w, 3 * e2, sqrtf(6.0f / (4.0f * E)), &rng);
    rnn__uniform(m->out_w, e2, 1.0f / sqrtf((float)E), &rng);
    rnn__param_add(&m->params, "in_proj_weight", m->in_w, m->g_in_w, 3 * E, E, 0);
    rnn__param_add(&m->params, "in_proj_bias", m->in_b, m->g_in_b, 3 * E, 0, 0);
    rnn__param_add(&m->params, "out_proj.weight", m->out_w, m->g_out_w, E, E, 0);
    rnn__param_add(&m->params, "out_proj.bias", m->out_b, m->g_out_b, E, 0, 0);
    *out = m;
    return RNN_OK;
}

/* The view of part j (0 q, 1 k, 2 v; 3: all three) of the in-projection. */
static rnn_dense rnn__mha_in(rnn_mha *m, int j) {
    rnn_dense d;
    size_t E = (size_t)m->embed_size, o = j == 3 ? 0 : (size_t)j * E;
    d.in_size = (int)E; d.out_size = j == 3 ? 3 * (int)E : (int)E;
    d.weight = m->in_w + o * E; d.gweight = m->g_in_w + o * E;
    d.bias = m->in_b + o; d.gbias = m->g_in_b + o;
    return d;
}

static rnn_dense rnn__mha_out(rnn_mha *m) {
    rnn_dense d;
    d.in_size = d.out_size = m->embed_size;
    d.weight = m->out_w; d.gweight = m->g_out_w; d.bias = m->out_b; d.gbias = m->g_out_b;
    return d;
}

/* Where q, k, v (or their gradients) lie in a plan's qkv, and their stride. */
static void rnn__mha_parts(const rnn_mha *m, float *base, float **part, int *ld) {
    size_t E = (size_t)m->embed_size;
    *ld = m->self ? 3 * (int)E : (int)E;
    part[0] = base;
    part[1] = m->self ? base + E : base + (size_t)m->Tq * m->B * E;
    part[2] = m->self ? base + 2 * E : part[1] + (size_t)m->Tk * m->B * E;
}

/* Copies T·B rows (row t·B + b, head h at columns h·d.., stride ld) into
   head-major blocks [B][H][T][d] (to_blocks), or back. */
static void rnn__heads_copy(float *rows, int ld, float *blocks, int T, int B, int H, int d, int to_blocks) {
    int t, b, h, j;
    for (b = 0; b < B; b++)
        for (h = 0; h < H; h++)
            for (t = 0; t < T; t++) {   /* heads are short: a loop, not a call */
                float *r = rows + ((size_t)t * B + b) * ld + (size_t)h * d;
                float *k = blocks + (((size_t)b * H + h) * T + t) * d;
                if (to_blocks) for (j = 0; j < d; j++) k[j] = r[j];
                else for (j = 0; j < d; j++) r[j] = k[j];
            }
}

/* The head-major blocks of q, k, v inside hqkv (or their gradients). */
static void rnn__mha_blocks(const rnn_mha *m, float *base, rnn__hv *v) {
    int d = m->embed_size / m->heads;
    size_t nq = (size_t)m->Tq * m->B * m->embed_size, nk = (size_t)m->Tk * m->B * m->embed_size;
    v[0] = rnn__blocks_view(base, m->heads, m->Tq, d);
    v[1] = rnn__blocks_view(base + nq, m->heads, m->Tk, d);
    v[2] = rnn__blocks_view(base + nq + nk, m->heads, m->Tk, d);
}

static void rnn__mha_attn(const rnn_mha *m, rnn__attn *a) {
    a->Tq = m->Tq; a->Tk = m->Tk; a->B = m->B; a->heads = m->heads;
    a->dk = a->dv = m->embed_size / m->heads;
    a->scale = 1.0f / sqrtf((float)a->dk);
    a->causal = m->causal;
    a->klen = m->len && m->len[0] > 0 ? m->len : NULL;
    a->qlen = NULL;
}

RNNDEF rnn_status rnn_mha_forward(rnn_mha *m, const float *query, const float *key, const float *value, int Tq,
                                  int Tk, int B, const int *key_lengths, int causal, float *out) {
    rnn__mha_plan p;
    rnn__attn a;
    float *part[3];
    const float *in[3];
    rnn__hv hv[3];
    rnn_dense od;
    int b, j, ld;
    if (!m) return RNN_ERR_INVALID_ARGUMENT;
    if (!query || !key || !value || !out)
        return rnn__err(m->error, sizeof m->error, RNN_ERR_INVALID_ARGUMENT, "query, key, value and out are required");
    if (Tq <= 0 || Tk <= 0 || B <= 0)
        return rnn__err(m->error, sizeof m->error, RNN_ERR_INVALID_ARGUMENT, "Tq %d, Tk %d, B %d must be positive", Tq,
                        Tk, B);
    for (b = 0; key_lengths && b < B; b++)
        if (key_lengths[b] < 1 || key_lengths[b] > Tk)
            return rnn__err(m->error, sizeof m->error, RNN_ERR_INVALID_ARGUMENT, "key_lengths[%d] = %d is outside 1..%d",
                            b, key_lengths[b], Tk);
    rnn__mha_carve(m, Tq, Tk, B, NULL, &p);
    if (p.total > m->ws_cap) {
        float *nw = (float *)RNN_REALLOC(m->ws, p.total * sizeof(float));
        if (!nw) return rnn__err(m->error, sizeof m->error, RNN_ERR_OUT_OF_MEMORY, "no memory for the workspace");
        m->ws = nw; m->ws_cap = p.total;
    }
    if ((size_t)B + 1 > m->len_cap) {
        int *nl = (int *)RNN_REALLOC(m->len, ((size_t)B + 1) * sizeof(int));
        if (!nl) return rnn__err(m->error, sizeof m->error, RNN_ERR_OUT_OF_MEMORY, "no memory for the lengths");
        m->len = nl; m->len_cap = (size_t)B + 1;
    }
    m->len[0] = 0;
    if (key_lengths) memcpy(m->len, key_lengths, sizeof(int) * (size_t)B);
    rnn__mha_carve(m, Tq, Tk, B, m->ws, &p);
    m->Tq = Tq; m->Tk = Tk; m->B = B; m->causal = causal != 0;
    m->self = query == key && key == value && Tq == Tk;
    m->q = query; m->k = key; m->v = value; m->attn = p.attn;
    /* q, k, v = the inputs through their parts of in_proj */
    in[0] = query; in[1] = key; in[2] = value;
    rnn__mha_parts(m, p.qkv, part, &ld);
    if (m->self) {
        rnn_dense d = rnn__mha_in(m, 3);
        rnn__dense_forward(&d, query, Tq * B, p.qkv, p.pack, p.npack);
    } else
        for (j = 0; j < 3; j++) {
            rnn_dense d = rnn__mha_in(m, j);
            rnn__dense_forward(&d, in[j], (j ? Tk : Tq) * B, part[j], p.pack, p.npack);
        }
    rnn__mha_attn(m, &a);
    rnn__mha_blocks(m, p.hqkv, hv);
    for (j = 0; j < 3; j++) rnn__heads_copy(part[j], ld, hv[j].p, j ? Tk : Tq, B, m->heads, a.dk, 1);
    rnn__attend(&a, hv[0], hv[1], hv[2], p.attn, rnn__blocks_view(p.hctx, m->heads, Tq, a.dv), p.pack, p.npack);
    rnn__heads_copy(p.ctx, m->embed_size, p.hctx, Tq, B, m->heads, a.dv, 0);
    od = rnn__mha_out(m);
    rnn__dense_forward(&od, p.ctx, Tq * B, out, p.pack, p.npack);
    return RNN_OK;
}

/* backward:
     out = ctx·W_oᵀ + b_o            dW_o += doutᵀ·ctx, db_o += Σ dout, dctx = dout·W_o
     ctx = attention(q, k, v)        rnn__attend_back
     q = query·W_qᵀ + b_q (k, v)     dW_q += dqᵀ·query, db_q += Σ dq, dquery = dq·W_q
   Self-attention with one gradient pointer folds the three in one product. */
RNNDEF rnn_status rnn_mha_backward(rnn_mha *m, const float *dout, float *dquery, float *dkey, float *dvalue) {
    rnn__mha_plan p;
    rnn__attn a;
    rnn_dense od;
    float *part[3], *dpart[3], *dx[3];
    const float *in[3];
    rnn__hv hv[3], dhv[3];
    int j, ld, E = m ? m->embed_size : 0;
    if (!m) return RNN_ERR_INVALID_ARGUMENT;
    if (!m->Tq) return rnn__err(m->error, sizeof m->error, RNN_ERR_INVALID_ARGUMENT, "backward before any forward");
    if (!dout) return rnn__err(m->error, sizeof m->error, RNN_ERR_INVALID_ARGUMENT, "dout is required");
    if (m->Tq != m->Tk && dquery && (dquery == dkey || dquery == dvalue))
        return rnn__err(m->error, sizeof m->error, RNN_ERR_INVALID_ARGUMENT,
                        "dquery shares a pointer with dkey or dvalue but Tq %d != Tk %d", m->Tq, m->Tk);
    rnn__mha_carve(m, m->Tq, m->Tk, m->B, m->ws, &p);
    od = rnn__mha_out(m);
    rnn__dense_backward(&od, p.ctx, m->Tq * m->B, dout, p.dctx, p.pack, p.npack);
    rnn__mha_parts(m, p.qkv, part, &ld);
    rnn__mha_parts(m, p.dqkv, dpart, &ld);
    rnn__mha_attn(m, &a);
    rnn__mha_blocks(m, p.hqkv, hv);
    rnn__mha_blocks(m, p.dhqkv, dhv);
    rnn__heads_copy(p.dctx, E, p.hctx, m->Tq, m->B, m->heads, a.dv, 1);
    rnn__attend_back(&a, hv[0], hv[1], hv[2], p.attn, rnn__blocks_view(p.hctx, m->heads, m->Tq, a.dv), dhv[0], dhv[1], 0.0f,
                     dhv[2], 0.0f, p.ds, p.pack, p.npack);
    for (j = 0; j < 3; j++) rnn__heads_copy(dpart[j], ld, dhv[j].p, j ? m->Tk : m->Tq, m->B, m->heads, a.dk, 0);
    if (m->self && dquery && dquery == dkey && dkey == dvalue) {
        rnn_dense d = rnn__mha_in(m, 3);
        rnn__dense_backward(&d, m->q, m->Tq * m->B, p.dqkv, dquery, p.pack, p.npack);
        return RNN_OK;
    }
    in[0] = m->q; in[1] = m->k; in[2] = m->v;
    dx[0] = dquery; dx[1] = dkey; dx[2] = dvalue;
    for (j = 0; j < 3; j++) {
        rnn_dense d = rnn__mha_in(m, j);
        int rows = (j ? m->Tk : m->Tq) * m->B, r, c;
        float beta = (j >= 1 && dx[j] && dx[j] == dx[0]) || (j == 2 && dx[2] && dx[2] == dx[1]) ? 1.0f : 0.0f;
        rnn__gemm(p.pack, p.npack, 1, 0, E, E, rows, 1.0f, dpart[j], ld, in[j], E, 1.0f, d.gweight, E);
        for (r = 0; r < rows; r++)
            for (c = 0; c < E; c++) d.gbias[c] += dpart[j][(size_t)r * ld + c];
        if (dx[j])
            rnn__gemm(p.pack, p.npack, 0, 0, rows, E, E, 1.0f, dpart[j], ld, d.weight, E, beta, dx[j], E);
    }
    return RNN_OK;
}

/* ---- Transformer encoder -------------------------------------------------- */

/* What layer l keeps for backward (N = T·B rows, F = ff_size). Post-norm:
     r1 = x + mha(x), a = LN1(r1), f = linear1(a), g = act(f),
     r2 = a + linear2(g), out = LN2(r2)
   pre-norm:
     a = LN1(x), r1 = x + mha(a), b = LN2(r1), f = linear1(b), g = act(f),
     out = r2 = r1 + linear2(g) */
typedef struct rnn__enc_layer {
    float *a, *r1, *b, *r2, *out;   /* [N][E]; b (pre-norm) and out (post-norm)
                                       share a slot; pre-norm: out = r2       */
    float *f, *g;                   /* [N][F]                              */
    float *s1, *s2;                 /* [N][2] the layer norms' statistics  */
} rnn__enc_layer;

/* The workspace of a forward (T, B) and its backward. */
typedef struct rnn__enc_plan {
    float *layers;      /* num_layers blocks of `per_layer` floats (rnn__enc_layer) */
    float *sf;          /* [N][2] the final norm's statistics                      */
    float *d0, *d1, *d2, *d3;  /* [N][E] gradients in flight                      */
    float *df;          /* [N][F]                                                  */
    float *pack;
    size_t per_layer, npack, total;
} rnn__enc_plan;

static void rnn__enc_carve(const rnn_encoder *e, int T, int B, float *ws, rnn__enc_plan *p) {
    size_t N = (size_t)T * B, E = (size_t)e->cfg.d_model, F = (size_t)e->cfg.ff_size, off = 0;
    int n = (int)N, mx = n > e->cfg.ff_size ? n : e->cfg.ff_size;
    p->per_layer = 4 * N * E + 2 * N * F + 4 * N;
    p->layers = rnn__at(ws, off); off += p->per_layer * e->cfg.num_layers;
    p->sf = rnn__at(ws, off); off += 2 * N;
    p->d0 = rnn__at(ws, off); off += N * E;
    p->d1 = rnn__at(ws, off); off += N * E;
    p->d2 = rnn__at(ws, off); off += N * E;
    p->d3 = rnn__at(ws, off); off += N * E;
    p->df = rnn__at(ws, off); off += N * F;
    p->npack = rnn__pack_floats(mx, mx, mx);
    p->pack = rnn__at(ws, off);
    p->total = off + p->npack;
}

static rnn__enc_layer rnn__enc_layer_at(const rnn_encoder *e, const rnn__enc_plan *p, int l) {
    rnn__enc_layer L;
    size_t N = (size_t)e->T * e->B, E = (size_t)e->cfg.d_model, F = (size_t)e->cfg.ff_size;
    float *w = p->layers + p->per_layer * l;
    L.a = w; L.r1 = L.a + N * E; L.r2 = L.r1 + N * E; L.b = L.out = L.r2 + N * E;
    L.f = L.b + N * E; L.g = L.f + N * F; L.s1 = L.g + N * F; L.s2 = L.s1 + 2 * N;
    if (e->cfg.norm_first) L.out = L.r2;
    return L;
}

RNNDEF void rnn_encoder_free(rnn_encoder *e) {
    int l;
    if (!e) return;
    for (l = 0; e->attn && l < e->cfg.num_layers; l++) rnn_mha_free(e->attn[l]);
    RNN_FREE(e->attn);
    RNN_FREE(e->lin1);
    RNN_FREE(e->norm1);
    stbds_arrfree(e->params);
    RNN_FREE(e->own);
    RNN_FREE(e->ws);
    RNN_FREE(e);
}

RNNDEF rnn_status rnn_encoder_create(rnn_encoder **out, const rnn_encoder_config *cfg, uint64_t seed) {
    rnn_encoder *e;
    rnn_encoder_config c;
    size_t E, F, per, n, i;
    int l;
    rnn_rng rng;
    rnn_status st;
    if (!out) return RNN_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!cfg) return RNN_ERR_INVALID_ARGUMENT;
    c = *cfg;
    if (!c.heads) c.heads = 1;
    if (!c.ff_size) c.ff_size = 4 * c.d_model;
    if (!c.num_layers) c.num_layers = 1;
    if (!(c.eps > 0)) c.eps = 1e-5f;
    if (c.d_model <= 0 || c.heads < 0 || c.ff_size < 0 || c.num_layers < 0 || c.d_model % c.heads)
        return RNN_ERR_INVALID_ARGUMENT;
    if (!(e = (rnn_encoder *)RNN_MALLOC(sizeof *e))) return RNN_ERR_OUT_OF_MEMORY;
    memset(e, 0, sizeof *e);
    e->cfg = c;
    E = (size_t)c.d_model; F = (size_t)c.ff_size;
    per = 2 * F * E + F + E + 4 * E;
    n = per * c.num_layers + 2 * E;
    e->attn = (rnn_mha **)RNN_MALLOC(sizeof(rnn_mha *) * c.num_layers);
    if (e->attn) memset(e->attn, 0, sizeof(rnn_mha *) * c.num_layers);
    e->lin1 = (rnn_dense *)RNN_MALLOC(2 * sizeof(rnn_dense) * c.num_layers);
    e->norm1 = (rnn_layernorm *)RNN_MALLOC(2 * sizeof(rnn_layernorm) * c.num_layers);
    e->own = (float *)RNN_MALLOC(2 * n * sizeof(float));
    if (!e->attn || !e->lin1 || !e->norm1 || !e->own) {
        rnn_encoder_free(e);
        return RNN_ERR_OUT_OF_MEMORY;
    }
    memset(e->own, 0, 2 * n * sizeof(float));
    e->lin2 = e->lin1 + c.num_layers;
    e->norm2 = e->norm1 + c.num_layers;
    rnn_rng_seed(&rng, seed);
    for (l = 0; l < c.num_layers; l++) {
        float *w = e->own + per * l;
        rnn_dense *d1 = &e->lin1[l], *d2 = &e->lin2[l];
        rnn_layernorm *n1 = &e->norm1[l], *n2 = &e->norm2[l];
        if ((st = rnn_mha_create(&e->attn[l], c.d_model, c.heads, seed + 1 + (uint64_t)l)) != RNN_OK) {
            rnn_encoder_free(e);
            return st;
        }
        d1->in_size = (int)E; d1->out_size = (int)F; d1->weight = w; d1->bias = w + F * E;
        d2->in_size = (int)F; d2->out_size = (int)E; d2->weight = d1->bias + F; d2->bias = d2->weight + E * F;
        n1->size = n2->size = (int)E; n1->eps = n2->eps = c.eps;
        n1->weight = d2->bias + E; n1->bias = n1->weight + E; n2->weight = n1->bias + E; n2->bias = n2->weight + E;
        d1->gweight = d1->weight + n; d1->gbias = d1->bias + n; d2->gweight = d2->weight + n; d2->gbias = d2->bias + n;
        n1->gweight = n1->weight + n; n1->gbias = n1->bias + n; n2->gweight = n2->weight + n; n2->gbias = n2->bias + n;
        /* PyTorch's: linear layers uniform ±1/√in, layer norms weight 1, bias 0 */
        rnn__uniform(d1->weight, F * E + F, 1.0f / sqrtf((float)E), &rng);
        rnn__uniform(d2->weight, E * F + E, 1.0f / sqrtf((float)F), &rng);
        for (i = 0; i < E; i++) n1->weight[i] = n2->weight[i] = 1.0f;
    }
    e->norm.size = (int)E; e->norm.eps = c.eps;
    e->norm.weight = e->own + per * c.num_layers; e->norm.bias = e->norm.weight + E;
    e->norm.gweight = e->norm.weight + n; e->norm.gbias = e->norm.bias + n;
    for (i = 0; i < E; i++) e->norm.weight[i] = 1.0f;
    for (l = 0; l < c.num_layers; l++) {
        char name[128];   /* rnn_param keeps 63 characters: ours are shorter */
        snprintf(name, sizeof name, "layers.%d.self_attn.", l);
        rnn__param_add_all(&e->params, name, NULL, e->attn[l]->params);
#define RNN__ENC_PARAM(what, val, grad, r, cl) \
        (snprintf(name, sizeof name, "layers.%d." what, l), rnn__param_add(&e->params, name, val, grad, r, cl, 0))
        RNN__ENC_PARAM("linear1.weight", e->lin1[l].weight, e->lin1[l].gweight, (int)F, (int)E);
        RNN__ENC_PARAM("linear1.bias", e->lin1[l].bias, e->lin1[l].gbias, (int)F, 0);
        RNN__ENC_PARAM("linear2.weight", e->lin2[l].weight, e->lin2[l].gweight, (int)E, (int)F);
        RNN__ENC_PARAM("linear2.bias", e->lin2[l].bias, e->lin2[l].gbias, (int)E, 0);
        RNN__ENC_PARAM("norm1.weight", e->norm1[l].weight, e->norm1[l].gweight, (int)E, 0);
        RNN__ENC_PARAM("norm1.bias", e->norm1[l].bias, e->norm1[l].gbias, (int)E, 0);
        RNN__ENC_PARAM("norm2.weight", e->norm2[l].weight, e->norm2[l].gweight, (int)E, 0);
        RNN__ENC_PARAM("norm2.bias", e->norm2[l].bias, e->norm2[l].gbias, (int)E, 0);
#undef RNN__ENC_PARAM
    }
    if (c.final_norm) {
        rnn__param_add(&e->params, "norm.weight", e->norm.weight, e->norm.gweight, (int)E, 0, 0);
        rnn__param_add(&e->params, "norm.bias", e->norm.bias, e->norm.gbias, (int)E, 0, 0);
    }
    *out = e;
    return RNN_OK;
}

static void rnn__add(float *y, const float *x, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) y[i] += x[i];
}

/* g = act(f): ReLU, or GELU f·Φ(f) with Φ the normal distribution. */
static void rnn__ff_act(int gelu, float *g, const float *f, size_t n) {
    size_t i;
    if (!gelu) { rnn_relu(g, f, n); return; }
    for (i = 0; i < n; i++) g[i] = 0.5f * f[i] * (1.0f + erff(f[i] * 0.70710678f));
}

/* df ⊙= act'(f): ReLU 1 where f > 0; GELU Φ(f) + f·φ(f). */
static void rnn__ff_act_back(int gelu, float *df, const float *f, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        df[i] *= gelu ? 0.5f * (1.0f + erff(f[i] * 0.70710678f)) + f[i] * 0.39894228f * expf(-0.5f * f[i] * f[i])
                      : (f[i] > 0.0f ? 1.0f : 0.0f);
}

RNNDEF rnn_status rnn_encoder_forward(rnn_encoder *e, const float *x, int T, int B, const int *lengths, float *y) {
    rnn__enc_plan p;
    int l, b, N = T * B, E;
    rnn_status st;
    if (!e) return RNN_ERR_INVALID_ARGUMENT;
    E = e->cfg.d_model;
    if (!x || !y || T <= 0 || B <= 0)
        return rnn__err(e->error, sizeof e->error, RNN_ERR_INVALID_ARGUMENT, "x, y required and T %d, B %d positive",
                        T, B);
    for (b = 0; lengths && b < B; b++)
        if (lengths[b] < 1 || lengths[b] > T)
            return rnn__err(e->error, sizeof e->error, RNN_ERR_INVALID_ARGUMENT, "lengths[%d] = %d is outside 1..%d", b,
                            lengths[b], T);
    rnn__enc_carve(e, T, B, NULL, &p);
    if (p.total > e->ws_cap) {
        float *nw = (float *)RNN_REALLOC(e->ws, p.total * sizeof(float));
        if (!nw) return rnn__err(e->error, sizeof e->error, RNN_ERR_OUT_OF_MEMORY, "no memory for the workspace");
        e->ws = nw; e->ws_cap = p.total;
    }
    e->T = T; e->B = B; e->x = x;
    rnn__enc_carve(e, T, B, e->ws, &p);
    for (l = 0; l < e->cfg.num_layers; l++) {
        rnn__enc_layer L = rnn__enc_layer_at(e, &p, l);
        const float *in = l ? rnn__enc_layer_at(e, &p, l - 1).out : x;
        const float *sa = e->cfg.norm_first ? L.a : in;   /* what attention reads */
        if (e->cfg.norm_first) rnn_layernorm_forward(&e->norm1[l], in, N, L.a, L.s1);
        st = rnn_mha_forward(e->attn[l], sa, sa, sa, T, T, B, lengths, e->cfg.causal, L.r1);
        if (st != RNN_OK) return rnn__err(e->error, sizeof e->error, st, "layer %d: %s", l, e->attn[l]->error);
        rnn__add(L.r1, in, (size_t)N * E);
        if (e->cfg.norm_first) rnn_layernorm_forward(&e->norm2[l], L.r1, N, L.b, L.s2);
        else rnn_layernorm_forward(&e->norm1[l], L.r1, N, L.a, L.s1);
        rnn__dense_forward(&e->lin1[l], e->cfg.norm_first ? L.b : L.a, N, L.f, p.pack, p.npack);
        rnn__ff_act(e->cfg.gelu, L.g, L.f, (size_t)N * e->cfg.ff_size);
        rnn__dense_forward(&e->lin2[l], L.g, N, L.r2, p.pack, p.npack);
        rnn__add(L.r2, e->cfg.norm_first ? L.r1 : L.a, (size_t)N * E);
        if (!e->cfg.norm_first) rnn_layernorm_forward(&e->norm2[l], L.r2, N, L.out, L.s2);
    }
    {
        const float *top = rnn__enc_layer_at(e, &p, e->cfg.num_layers - 1).out;
        if (e->cfg.final_norm) rnn_layernorm_forward(&e->norm, top, N, y, p.sf);
        else memcpy(y, top, sizeof(float) * (size_t)N * E);
    }
    return RNN_OK;
}

/* backward, layer by layer from the top, d0 holding the gradient of the
   layer's output. Post-norm:
     dr2 = LN2'(d0); dg = dr2·W2; df = dg ⊙ act'(f); da = dr2 + df·W1;
     dr1 = LN1'(da); dx = dr1 + mha'(dr1)
   pre-norm:
     dg = d0·W2; df = dg ⊙ act'(f); dr1 = d0 + LN2'(df·W1);
     dx = dr1 + LN1'(mha'(dr1))
   (W' the weight-gradient products of each linear: dW += doutᵀ·in.) */
RNNDEF rnn_status rnn_encoder_backward(rnn_encoder *e, const float *dy, float *dx) {
    rnn__enc_plan p;
    int l, N, E;
    size_t NE;
    rnn_status st;
    if (!e) return RNN_ERR_INVALID_ARGUMENT;
    if (!e->T) return rnn__err(e->error, sizeof e->error, RNN_ERR_INVALID_ARGUMENT, "backward before any forward");
    if (!dy) return rnn__err(e->error, sizeof e->error, RNN_ERR_INVALID_ARGUMENT, "dy is required");
    N = e->T * e->B; E = e->cfg.d_model; NE = (size_t)N * E;
    rnn__enc_carve(e, e->T, e->B, e->ws, &p);
    if (e->cfg.final_norm)
        rnn_layernorm_backward(&e->norm, rnn__enc_layer_at(e, &p, e->cfg.num_layers - 1).out, p.sf, N, dy, p.d0);
    else
        memcpy(p.d0, dy, sizeof(float) * NE);
    for (l = e->cfg.num_layers - 1; l >= 0; l--) {
        rnn__enc_layer L = rnn__enc_layer_at(e, &p, l);
        const float *in = l ? rnn__enc_layer_at(e, &p, l - 1).out : e->x;
        size_t NF = (size_t)N * e->cfg.ff_size;
        if (e->cfg.norm_first) {
            rnn__dense_backward(&e->lin2[l], L.g, N, p.d0, p.df, p.pack, p.npack);
            rnn__ff_act_back(e->cfg.gelu, p.df, L.f, NF);
            rnn__dense_backward(&e->lin1[l], L.b, N, p.df, p.d1, p.pack, p.npack);
            rnn_layernorm_backward(&e->norm2[l], L.r1, L.s2, N, p.d1, p.d2);
            rnn__add(p.d2, p.d0, NE);                                   /* d2 = dr1 */
            if ((st = rnn_mha_backward(e->attn[l], p.d2, p.d1, p.d1, p.d1)) != RNN_OK)
                return rnn__err(e->error, sizeof e->error, st, "layer %d: %s", l, e->attn[l]->error);
            rnn_layernorm_backward(&e->norm1[l], in, L.s1, N, p.d1, p.d0);
            rnn__add(p.d0, p.d2, NE);                                   /* d0 = dx */
        } else {
            rnn_layernorm_backward(&e->norm2[l], L.r2, L.s2, N, p.d0, p.d1);   /* d1 = dr2 */
            rnn__dense_backward(&e->lin2[l], L.g, N, p.d1, p.df, p.pack, p.npack);
            rnn__ff_act_back(e->cfg.gelu, p.df, L.f, NF);
            rnn__dense_backward(&e->lin1[l], L.a, N, p.df, p.d2, p.pack, p.npack);
            rnn__add(p.d2, p.d1, NE);                                   /* d2 = da */
            rnn_layernorm_backward(&e->norm1[l], L.r1, L.s1, N, p.d2, p.d1);   /* d1 = dr1 */
            if ((st = rnn_mha_backward(e->attn[l], p.d1, p.d0, p.d0, p.d0)) != RNN_OK)
                return rnn__err(e->error, sizeof e->error, st, "layer %d: %s", l, e->attn[l]->error);
            rnn__add(p.d0, p.d1, NE);                                   /* d0 = dx */
        }
    }
    if (dx) memcpy(dx, p.d0, sizeof(float) * NE);
    return RNN_OK;
}

/* ============================================================================
   Models: language model
   ========================================================================== */

static void rnn__lm_q8_free(struct rnn_q8 *z);

RNNDEF void rnn_lm_free(rnn_lm *m) {
    if (!m) return;
    rnn__lm_q8_free(m->q8);
    rnn_recurrent_free(m->rnn);
    stbds_arrfree(m->params);
    if (m->vocab) { rnn_vocab_free(m->vocab); RNN_FREE(m->vocab); }
    if (m->words) { rnn_words_free(m->words); RNN_FREE(m->words); }
    RNN_FREE(m->own);
    RNN_FREE(m->ws);
    RNN_FREE(m->h);
    RNN_FREE(m);
}

RNNDEF rnn_status rnn_lm_create(rnn_lm **out, const rnn_lm_config *cfg, uint64_t seed) {
    rnn_lm *m;
    rnn_recurrent_config rc;
    rnn_status st;
    int V, E, H;
    size_t nown;
    if (!out) return RNN_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!cfg || cfg->vocab_size <= 0 || cfg->embed_size < 0 || cfg->hidden_size < 0 || cfg->num_layers < 0)
        return RNN_ERR_INVALID_ARGUMENT;
    m = (rnn_lm *)RNN_MALLOC(sizeof *m);
    if (!m) return RNN_ERR_OUT_OF_MEMORY;
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    if (!m->cfg.embed_size) m->cfg.embed_size = 64;
    if (!m->cfg.hidden_size) m->cfg.hidden_size = 256;
    if (!m->cfg.num_layers) m->cfg.num_layers = 2;
    if (m->cfg.cell == RNN_CELL_DEFAULT) m->cfg.cell = RNN_LSTM;
    V = m->cfg.vocab_size; E = m->cfg.embed_size; H = m->cfg.hidden_size;
    memset(&rc, 0, sizeof rc);
    rc.cell = m->cfg.cell; rc.input_size = E; rc.hidden_size = H; rc.num_layers = m->cfg.num_layers;
    rc.dropout = m->cfg.dropout;
    if ((st = rnn_recurrent_create(&m->rnn, &rc, seed)) != RNN_OK) { rnn_lm_free(m); return st; }
    nown = (size_t)V * E + (size_t)V * H + V;
    m->own = (float *)RNN_MALLOC(2 * nown * sizeof(float));
    if (!m->own) { rnn_lm_free(m); return RNN_ERR_OUT_OF_MEMORY; }
    memset(m->own, 0, 2 * nown * sizeof(float));
    m->embedding.vocab_size = V; m->embedding.embed_size = E;
    m->embedding.weight = m->own; m->embedding.grad = m->own + nown;
    m->embedding.frozen = m->cfg.freeze_embedding;
    m->head.in_size = H; m->head.out_size = V;
    m->head.weight = m->own + (size_t)V * E; m->head.gweight = m->head.weight + nown;
    m->head.bias = m->head.weight + (size_t)V * H; m->head.gbias = m->head.bias + nown;
    rnn_rng_seed(&m->rng, seed ^ 0x5DEECE66Dull);
    {
        /* PyTorch's defaults: embedding N(0, 1), linear uniform ±1/√in */
        rnn_rng init;
        size_t i;
        float bound = 1.0f / sqrtf((float)H);
        rnn_rng_seed(&init, seed + 1);
        for (i = 0; i < (size_t)V * E; i++) m->embedding.weight[i] = rnn_rng_normal(&init);
        rnn__uniform(m->head.weight, (size_t)V * H, bound, &init);
        rnn__uniform(m->head.bias, (size_t)V, bound, &init);
    }
    rnn__param_add(&m->params, "embedding.weight", m->embedding.weight, m->embedding.grad, V, E,
                   m->cfg.freeze_embedding);
    rnn__param_add_all(&m->params, "rnn.", m->rnn, NULL);
    rnn__param_add(&m->params, "head.weight", m->head.weight, m->head.gweight, V, H, 0);
    rnn__param_add(&m->params, "head.bias", m->head.bias, m->head.gbias, V, 0, 0);
    *out = m;
    return RNN_OK;
}

RNNDEF void rnn_lm_reset_state(rnn_lm *m) { if (m) m->state_batch = 0; }

/* The training workspace of a window (T, B): the one place that knows its
   layout. Layer 0's gate table, when used, lives in the recurrent layer's
   own workspace. */
typedef struct rnn__lm_plan {
    float *x;           /* [T·B][E] the embedded inputs (no gate table)        */
    float *y;           /* [T·B][H] the top layer's outputs                     */
    float *logits;      /* [T·B][V] the logits, then their gradient             */
    float *dy;          /* [T·B][H] the gradient reaching y                     */
    float *dx;          /* [T·B][E] the gradient reaching x                     */
    float *pack;        /* packing space for the head's products                */
    size_t npack, total;
} rnn__lm_plan;

static void rnn__lm_carve(const rnn_lm *m, int T, int B, float *ws, rnn__lm_plan *p) {
    size_t TB = (size_t)T * B, off = 0;
    int V = m->cfg.vocab_size, H = m->cfg.hidden_size, E = m->cfg.embed_size;
    int mx = (int)TB > V ? (int)TB : V;
    p->x = rnn__at(ws, off); off += TB * E;
    p->y = rnn__at(ws, off); off += TB * H;
    p->logits = rnn__at(ws, off); off += TB * V;
    p->dy = rnn__at(ws, off); off += TB * H;
    p->dx = rnn__at(ws, off); off += TB * E;
    p->npack = rnn__pack_floats(mx, V > H ? V : H, mx);
    p->pack = rnn__at(ws, off);
    p->total = off + p->npack;
}

/* Forward of a window through embedding (or layer 0's gate table),
   recurrent stack and head; the mean loss, with dlogits in p->logits. */
static rnn_status rnn__lm_forward(rnn_lm *m, const int *inputs, const int *targets, int T, int B,
                                  int train, float *loss, rnn__lm_plan *p) {
    int V = m->cfg.vocab_size, H = m->cfg.hidden_size, L = m->rnn->cfg.num_layers;
    int TB = T * B, i;
    size_t LBH = (size_t)L * B * H;
    float *h0 = train ? m->h : NULL, *c0 = train ? m->c : NULL;
    rnn_status st;
    if (T <= 0 || B <= 0 || !inputs || !targets)
        return rnn__err(m->error, sizeof m->error, RNN_ERR_INVALID_ARGUMENT, "T, B must be positive and inputs, targets given");
    for (i = 0; i < 2 * TB; i++) {
        int tok = i < TB ? inputs[i] : targets[i - TB];
        if (tok < (i < TB ? 0 : -1) || tok >= V)
            return rnn__err(m->error, sizeof m->error, RNN_ERR_INVALID_ARGUMENT,
                            "%s %d at position %d is outside the vocabulary 0..%d", i < TB ? "input" : "target", tok,
                            i % TB, V - 1);
    }
    rnn__lm_carve(m, T, B, NULL, p);
    if (p->total > m->ws_cap) {
        float *nw = (float *)RNN_REALLOC(m->ws, p->total * sizeof(float));
        if (!nw) return rnn__err(m->error, sizeof m->error, RNN_ERR_OUT_OF_MEMORY, "out of memory for the workspace");
        m->ws = nw; m->ws_cap = p->total;
    }
    if (train && m->state_batch != B) {
        float *nh = (float *)RNN_REALLOC(m->h, 2 * LBH * sizeof(float));
        if (!nh) return rnn__err(m->error, sizeof m->error, RNN_ERR_OUT_OF_MEMORY, "out of memory for the state");
        m->h = h0 = nh; m->c = c0 = nh + LBH;
        memset(m->h, 0, 2 * LBH * sizeof(float));
        m->state_batch = B;
    }
    rnn__lm_carve(m, T, B, m->ws, p);
    if (rnn__table_pays(m->rnn, V, TB)) {
        st = rnn__forward(m->rnn, NULL, m->embedding.weight, V, inputs, T, B, NULL, h0, c0, p->y, h0, c0, train, &m->rng);
    } else {
        rnn_embedding_forward(&m->embedding, inputs, TB, p->x);
        st = rnn__forward(m->rnn, p->x, NULL, 0, NULL, T, B, NULL, h0, c0, p->y, h0, c0, train, &m->rng);
    }
    if (st != RNN_OK) return rnn__err(m->error, sizeof m->error, st, "rnn: %.150s", m->rnn->error);
    rnn__dense_forward(&m->head, p->y, TB, p->logits, p->pack, p->npack);
    st = rnn_loss_softmax_xent(p->logits, targets, TB, V, -1, p->logits, loss);
    if (st != RNN_OK) rnn__err(m->error, sizeof m->error, st, "loss: non-finite logits (diverged?)");
    return st;
}

/* backward: dlogits → head (dW, db, dy) → recurrent stack (dx, or dE
   through the gate table) → embedding rows. */
RNNDEF rnn_status rnn_lm_train_step(rnn_lm *m, rnn_optimizer *opt, const int *inputs,
                                    const int *targets, int T, int B, float *loss) {
    rnn__lm_plan p;
    float lossv = 0;
    int frozen, by_token;
    rnn_status st;
    if (!m) return RNN_ERR_INVALID_ARGUMENT;
    if (m->q8)
        return rnn__err(m->error, sizeof m->error, RNN_ERR_INVALID_ARGUMENT,
                        "the model is int8 (quantized): it runs (rnn_lm_step, rnn_lm_eval) but does not train");
    if ((st = rnn__lm_forward(m, inputs, targets, T, B, 1, &lossv, &p)) != RNN_OK) return st;
    frozen = m->embedding.frozen;
    by_token = m->rnn->x == NULL;
    rnn_params_zero_grad(m->params);
    rnn__dense_backward(&m->head, p.y, T * B, p.logits, p.dy, p.pack, p.npack);
    st = rnn__backward(m->rnn, p.dy, NULL, NULL, frozen || by_token ? NULL : p.dx, NULL, NULL,
                       frozen ? NULL : m->embedding.grad);
    if (st != RNN_OK) return rnn__err(m->error, sizeof m->error, st, "rnn: %.150s", m->rnn->error);
    if (!by_token) rnn_embedding_backward(&m->embedding, inputs, T * B, p.dx);
    if (loss) *loss = lossv;
    if (opt && (st = rnn_optimizer_step(opt, m->params, NULL)) != RNN_OK)
        rnn__err(m->error, sizeof m->error, st, "optimizer: %.140s", opt->error);
    if (opt) m->version++;
    return st;
}

RNNDEF rnn_status rnn_lm_eval(rnn_lm *m, const int *inputs, const int *targets, int T, int B,
                              float *loss) {
    rnn__lm_plan p;
    float l = 0;
    rnn_status st;
    if (!m) return RNN_ERR_INVALID_ARGUMENT;
    st = rnn__lm_forward(m, inputs, targets, T, B, 0, &l, &p);
    if (st == RNN_OK && loss) *loss = l;
    return st;
}

/* What a one-token LM state keeps besides the recurrent state: the one
   place that knows its layout. */
typedef struct rnn__step_plan {
    float *x;           /* [E]      the token's embedding                      */
    float *logits;      /* [V]      the next token's logits                    */
    float *table;       /* [V][G·H] panels: layer 0's gate table (NULL: does not fit) */
    float *head;        /* [H][V]   panels: W_headᵀ                            */
    void *scratch;      /* int8 model: a product's scratch (64-aligned)        */
    size_t total;       /* floats in all                                       */
} rnn__step_plan;

/* panels: the float path's panels; an int8 model (m->q8) has none, but
   keeps the gate table in F32 (one row of it a token) and its scratch. */
static void rnn__step_carve(const rnn_lm *m, int panels, float *base, rnn__step_plan *p) {
    size_t V = (size_t)m->cfg.vocab_size, off = 0, ntab = 0;
    if ((panels || m->q8) && rnn__table_fits(m->rnn, m->cfg.vocab_size)) ntab = V * m->rnn->gates * m->cfg.hidden_size;
    p->x = rnn__at(base, off); off += (size_t)m->cfg.embed_size;
    p->logits = rnn__at(base, off); off += V;
    p->table = ntab ? rnn__at(base, off) : NULL; off += ntab;
    p->head = panels ? rnn__at(base, off) : NULL; off += panels ? (size_t)m->cfg.hidden_size * V : 0;
    off = (off + 15) / 16 * 16;
    p->scratch = m->q8 ? rnn__at(base, off) : NULL; off += m->q8 ? (m->q8->scratch + 3) / 4 : 0;
    p->total = off;
}

/* rnn_lm_state_create; panels as rnn__state_create's. */
static rnn_status rnn__lm_state_create(const rnn_lm *m, int panels, rnn_lm_state **out) {
    rnn_lm_state *s;
    rnn__step_plan p;
    rnn_status st;
    int table;
    if (!out) return RNN_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!m) return RNN_ERR_INVALID_ARGUMENT;
    table = rnn__table_fits(m->rnn, m->cfg.vocab_size);
    if (m->q8) panels = 0;   /* int8: its own layout, in the model */
    if (panels < 0) {   /* the whole model in panels at most 8 MB (see rnn__state_create) */
        rnn__state_plan sp;
        rnn__state_carve(m->rnn, 1, table, 1, 0, NULL, &sp);
        rnn__step_carve(m, 1, NULL, &p);
        panels = rnn__best_arch()->gemv_n && sp.npanels + p.total <= (size_t)2 << 20;
    }
    rnn__step_carve(m, panels, NULL, &p);
    s = (rnn_lm_state *)RNN_MALLOC(sizeof *s + 64 + sizeof(float) * p.total);
    if (!s) return RNN_ERR_OUT_OF_MEMORY;
    rnn__step_carve(m, panels, rnn__after(s + 1), &p);
    s->x = p.x;
    s->logits = p.logits;
    s->wt = panels ? p.table ? p.table : p.head : NULL;
    s->version = m->version - 1;   /* copy at the first step */
    s->quantized = m->q8 != NULL;
    if ((st = rnn__state_create(m->rnn, 1, p.table != NULL, panels, &s->rnn)) != RNN_OK) { RNN_FREE(s); return st; }
    *out = s;
    return RNN_OK;
}

RNNDEF rnn_status rnn_lm_state_create(const rnn_lm *m, rnn_lm_state **out) {
    return rnn__lm_state_create(m, -1, out);
}

RNNDEF void rnn_lm_state_free(rnn_lm_state *s) {
    if (!s) return;
    rnn_recurrent_state_free(s->rnn);
    RNN_FREE(s);
}

RNNDEF void rnn_lm_weights_changed(rnn_lm *m) { if (m) { m->version++; m->rnn->version++; } }

RNNDEF void rnn_lm_state_reset(const rnn_lm *m, rnn_lm_state *s) {
    size_t lbh;
    if (!m || !s) return;
    lbh = (size_t)m->cfg.num_layers * m->cfg.hidden_size;
    memset(s->rnn->h, 0, lbh * sizeof(float));
    if (s->rnn->c) memset(s->rnn->c, 0, lbh * sizeof(float));
}

RNNDEF const float *rnn_lm_step(const rnn_lm *m, rnn_lm_state *s, int token) {
    int V, H, E;
    const float *h;
    rnn__step_plan p;
    if (!m || !s || token < 0 || token >= m->cfg.vocab_size || s->quantized != (m->q8 != NULL)) return NULL;
    V = m->cfg.vocab_size; H = m->cfg.hidden_size; E = m->cfg.embed_size;
    h = s->rnn->h + (size_t)(m->cfg.num_layers - 1) * H;
    memcpy(s->logits, m->head.bias, sizeof(float) * V);
    if (m->q8) {
        /* int8: layer 0's gates a row of the F32 gate table (if it fits),
           each product int8 weights times the input quantized per token */
        const struct rnn_q8 *z = m->q8;
        rnn__step_carve(m, 0, rnn__after(s + 1), &p);
        if (s->version != m->version) {
            if (p.table) rnn__fill_table(m->rnn, m->embedding.weight, V, p.table, NULL, 0);
            s->version = m->version;
        }
        if (!p.table) memcpy(s->x, m->embedding.weight + (size_t)token * E, sizeof(float) * E);
        rnn__state_step(m->rnn, s->rnn, s->x, p.table ? p.table + (size_t)token * m->rnn->gates * H : NULL, z, p.scratch);
        rnn__q8_gemv(&z->mat[z->head], 0, V, h, s->logits, NULL, NULL, p.scratch);
        return s->logits;
    }
    if (s->wt) {
        /* weights in panels: layer 0's gates are a row of the gate table (if
           it fits), the stack steps on its own panels, logits = h·W_headᵀ + b */
        rnn__step_carve(m, 1, rnn__after(s + 1), &p);
        if (s->version != m->version) {   /* the weights moved: copy them again */
            if (p.table) rnn__fill_table(m->rnn, m->embedding.weight, V, p.table, NULL, 0);
            rnn__panelize(p.head, m->head.weight, V, H);
            s->version = m->version;
        }
        if (!p.table) memcpy(s->x, m->embedding.weight + (size_t)token * E, sizeof(float) * E);
        rnn__state_step(m->rnn, s->rnn, s->x, p.table ? p.table + (size_t)token * m->rnn->gates * H : NULL, NULL, NULL);
        rnn__gemv_panels(h, H, p.head, V, s->logits);
        return s->logits;
    }
    memcpy(s->x, m->embedding.weight + (size_t)token * E, sizeof(float) * E);
    rnn__state_step(m->rnn, s->rnn, s->x, NULL, NULL, NULL);
    rnn_sgemm(0, 1, 1, V, H, 1.0f, h, H, m->head.weight, H, 1.0f, s->logits, V);
    return s->logits;
}

/* ============================================================================
   Models: int8 inference (rnn_lm_quantize)

   Each matrix a token reads (the embedding, every W_ih and W_hh, the head)
   is kept as int8 q with one F32 scale a row, W[j][i] ≈ scale[j]·q[j][i],
   scale[j] = max_i |W[j][i]| / 127 and q in -127..127 (never -128, so the
   AVX2 kernel's sign trick cannot overflow). A token's input vector is
   quantized the same way as a whole, x ≈ sx·qx, and then
       y[j] += (sx·scale[j]) · Σ_i qx[i]·q[j][i]
   where the sum is exact in int32 (|Σ| ≤ k·127² < 2^31 for k < 133,000):
   every kernel and every thread count gives the same integers, so the
   same floats. Biases and the point-wise gate math stay F32. Why one scale
   a row rather than one per group of 32 or 64 inputs: README, "int8".

   Layout: rows in panels of 32, each panel kg = ⌈k/4⌉ groups of 4 inputs,
   a group the 32 rows' 4 bytes side by side ([panel][group][32][4]): one
   group is 128 bytes that one broadcast of 4 input bytes multiplies, with
   32 sums in registers and no reduction across lanes at the end.
   ========================================================================== */

#define RNN__Q8_ROWS 32
#define RNN__Q8_LIMIT 133000   /* longest row whose int32 sums cannot overflow */

/* The panel of row j: GRU_CHO's W_hh starts its candidate rows (row split
   on) in a panel of their own, so each part is a product on its own. */
static int rnn__q8_panel(const rnn__q8 *q, int j) {
    return j < q->split ? j / RNN__Q8_ROWS
                        : (q->split + RNN__Q8_ROWS - 1) / RNN__Q8_ROWS + (j - q->split) / RNN__Q8_ROWS;
}
/* Where q[j][i] sits in the panels. */
static size_t rnn__q8_at(const rnn__q8 *q, int j, int i) {
    int lane = (j < q->split ? j : j - q->split) % RNN__Q8_ROWS;
    return (((size_t)rnn__q8_panel(q, j) * q->kg + i / 4) * RNN__Q8_ROWS + lane) * 4 + i % 4;
}

/* v clamped to -127..127 (NaN: -127) and rounded to the nearest integer,
   ties to even (adding and taking away 1.5·2^23 leaves v rounded as the
   FPU rounds: what the SIMD conversions do). */
static signed char rnn__q8_round(float v) {
    if (!(v >= -127.0f)) v = -127.0f;
    if (v > 127.0f) v = 127.0f;
    v = (v + 12582912.0f) - 12582912.0f;
    return (signed char)(int)v;
}

/* Quantizes W [n][k] a row at a time into q [n][k] and scale [n]. */
static void rnn__q8_quantize_rows(const float *W, int n, int k, signed char *q, float *scale) {
    int j, i;
    for (j = 0; j < n; j++) {
        const float *w = W + (size_t)j * k;
        float amax = 0.0f, inv;
        for (i = 0; i < k; i++) amax = fabsf(w[i]) > amax ? fabsf(w[i]) : amax;
        inv = amax > 0.0f ? 127.0f / amax : 0.0f;
        for (i = 0; i < k; i++) q[(size_t)j * k + i] = rnn__q8_round(w[i] * inv);
        scale[j] = amax / 127.0f;
    }
}

static void rnn__q8_free(rnn__q8 *q) { if (q) { RNN_FREE(q->mem); memset(q, 0, sizeof *q); } }

/* Fills q from int8 rows [n][k] (-127..127) and their scales; split: the
   rows of the first part (n: one part). */
static rnn_status rnn__q8_init(rnn__q8 *q, const signed char *rows, const float *scale, int n, int k, int split) {
    size_t wbytes;
    int j, i;
    memset(q, 0, sizeof *q);
    if (n <= 0 || k <= 0 || k > RNN__Q8_LIMIT || split <= 0 || split > n) return RNN_ERR_INVALID_ARGUMENT;
    q->n = n; q->k = k; q->kg = (k + 3) / 4; q->split = split; q->levels = 1;
    q->panels = rnn__q8_panel(q, n - 1) + 1;
    wbytes = (size_t)q->panels * q->kg * 4 * RNN__Q8_ROWS;
    q->mem = RNN_MALLOC(64 + wbytes + (size_t)q->panels * RNN__Q8_ROWS * sizeof(int32_t) + (size_t)n * sizeof(float));
    if (!q->mem) return RNN_ERR_OUT_OF_MEMORY;
    q->w = (signed char *)rnn__after(q->mem);
    q->wsum = (int32_t *)(void *)(q->w + wbytes);
    q->scale = (float *)(void *)(q->wsum + (size_t)q->panels * RNN__Q8_ROWS);
    memset(q->w, 0, wbytes + (size_t)q->panels * RNN__Q8_ROWS * sizeof(int32_t));
    for (j = 0; j < n; j++) {
        size_t lane = rnn__q8_at(q, j, 0) / 4 % RNN__Q8_ROWS + (size_t)rnn__q8_panel(q, j) * RNN__Q8_ROWS;
        for (i = 0; i < k; i++) {
            q->w[rnn__q8_at(q, j, i)] = rows[(size_t)j * k + i];
            q->wsum[lane] += rows[(size_t)j * k + i];
        }
    }
    memcpy(q->scale, scale, sizeof(float) * n);
    return RNN_OK;
}

/* The rows back as [n][k] int8 (for a checkpoint). */
static void rnn__q8_unpack(const rnn__q8 *q, signed char *rows) {
    int j, i;
    for (j = 0; j < q->n; j++)
        for (i = 0; i < q->k; i++) rows[(size_t)j * q->k + i] = q->w[rnn__q8_at(q, j, i)];
}

/* W [n][k] = scale·q: the float weights the int8 ones stand for. */
static void rnn__q8_dequantize(const rnn__q8 *q, float *W) {
    int j, i;
    for (j = 0; j < q->n; j++)
        for (i = 0; i < q->k; i++) W[(size_t)j * q->k + i] = q->scale[j] * (float)q->w[rnn__q8_at(q, j, i)];
}

/* Bytes of scratch a product by q needs (rnn__q8_gemv): the quantized
   input, the sums, the input's rounding error (two levels). */
static size_t rnn__q8_scratch(const rnn__q8 *q) {
    return ((size_t)q->kg * 4 + 63) / 64 * 64 + (size_t)q->panels * RNN__Q8_ROWS * sizeof(int32_t) +
           (size_t)q->kg * 4 * sizeof(float);
}

/* qx [4·kg] = x [k] quantized as a whole (zeros past k); returns sx. */
static float rnn__q8_vector_c(const float *x, int k, int kg, signed char *qx) {
    float amax = 0.0f, inv;
    int i;
    for (i = 0; i < k; i++) amax = fabsf(x[i]) > amax ? fabsf(x[i]) : amax;
    inv = amax > 0.0f ? 127.0f / amax : 0.0f;
    for (i = 0; i < k; i++) qx[i] = rnn__q8_round(x[i] * inv);
    for (; i < 4 * kg; i++) qx[i] = 0;
    return amax / 127.0f;
}

/* y[j] = base[j] + acc[j]·(sx·scale[j]) for j < n, base y itself (b0
   NULL), b0, or b0 + b1 rounded first (as rnn__gate_bias sums them): a
   multiply, then an add (a compiler may fuse the two where the target has
   FMA: GNU C++ modes and clang do, on the vector paths). */
static float rnn__q8_base(const float *y, const float *b0, const float *b1, int j) {
    return !b0 ? y[j] : b1 ? b0[j] + b1[j] : b0[j];
}
static void rnn__q8_finish_c(int n, const int32_t *acc, float sx, const float *scale, float *y, const float *b0,
                             const float *b1) {
    int j;
    for (j = 0; j < n; j++) y[j] = rnn__q8_base(y, b0, b1, j) + (float)acc[j] * (sx * scale[j]);
}

/* The kernel: acc[32·p + lane] = Σ_i qx[i]·q[row][i] for np panels from w
   (wsum: the panels' row sums, for kernels that offset qx to unsigned).
   This plain C is the specification the SIMD kernels match exactly. */
typedef void (*rnn__q8_fn)(int np, int kg, const signed char *w, const int32_t *wsum, const signed char *qx,
                           int32_t *acc);
/* A path's three parts: the kernel, the vector's quantization, the finish. */
typedef struct rnn__q8_ops {
    const char *name;
    rnn__q8_fn dot;
    float (*vector)(const float *x, int k, int kg, signed char *qx);
    void (*finish)(int n, const int32_t *acc, float sx, const float *scale, float *y, const float *b0, const float *b1);
} rnn__q8_ops;
static void rnn__q8_dot_c(int np, int kg, const signed char *w, const int32_t *wsum, const signed char *qx,
                          int32_t *acc) {
    int p, g, j;
    (void)wsum;
    for (p = 0; p < np; p++, acc += RNN__Q8_ROWS) {
        for (j = 0; j < RNN__Q8_ROWS; j++) acc[j] = 0;
        for (g = 0; g < kg; g++, w += 4 * RNN__Q8_ROWS)
            for (j = 0; j < RNN__Q8_ROWS; j++)
                acc[j] += w[4 * j] * qx[4 * g] + w[4 * j + 1] * qx[4 * g + 1] + w[4 * j + 2] * qx[4 * g + 2] +
                          w[4 * j + 3] * qx[4 * g + 3];
    }
}

#ifdef RNN__HAVE_AVX512
static int rnn__q8_has_vnni(void);
static void rnn__q8_dot_vnni(int np, int kg, const signed char *w, const int32_t *wsum, const signed char *qx,
                             int32_t *acc);
#endif
#ifdef RNN__HAVE_AVX2
static void rnn__q8_dot_avx2(int np, int kg, const signed char *w, const int32_t *wsum, const signed char *qx,
                             int32_t *acc);
static float rnn__q8_vector_avx2(const float *x, int k, int kg, signed char *qx);
static void rnn__q8_finish_avx2(int n, const int32_t *acc, float sx, const float *scale, float *y, const float *b0,
                                const float *b1);
#endif
#ifdef RNN__HAVE_NEON
static void rnn__q8_dot_neon(int np, int kg, const signed char *w, const int32_t *wsum, const signed char *qx,
                             int32_t *acc);
static float rnn__q8_vector_neon(const float *x, int k, int kg, signed char *qx);
static void rnn__q8_finish_neon(int n, const int32_t *acc, float sx, const float *scale, float *y, const float *b0,
                                const float *b1);
#endif

/* The best int8 path this CPU runs: AVX-512 VNNI, AVX2, NEON (sdot when
   compiled for a CPU that has it), else plain C. */
static const rnn__q8_ops *rnn__q8_best(void) {
#ifdef RNN__HAVE_AVX512
    static const rnn__q8_ops vnni = {"avx512-vnni", rnn__q8_dot_vnni, rnn__q8_vector_avx2, rnn__q8_finish_avx2};
#endif
#ifdef RNN__HAVE_AVX2
    static const rnn__q8_ops avx2 = {"avx2", rnn__q8_dot_avx2, rnn__q8_vector_avx2, rnn__q8_finish_avx2};
#endif
#ifdef RNN__HAVE_NEON
#ifdef __ARM_FEATURE_DOTPROD
    static const rnn__q8_ops neon = {"neon-sdot", rnn__q8_dot_neon, rnn__q8_vector_neon, rnn__q8_finish_neon};
#else
    static const rnn__q8_ops neon = {"neon", rnn__q8_dot_neon, rnn__q8_vector_neon, rnn__q8_finish_neon};
#endif
#endif
    static const rnn__q8_ops plain = {"scalar", rnn__q8_dot_c, rnn__q8_vector_c, rnn__q8_finish_c};
#ifdef RNN__HAVE_AVX512
    if (rnn__q8_has_vnni()) return &vnni;
#endif
#ifdef RNN__HAVE_AVX2
    if (__builtin_cpu_supports("avx2")) return &avx2;
#endif
#ifdef RNN__HAVE_NEON
    return &neon;
#endif
    return &plain;
}

typedef struct rnn__q8_job {
    const rnn__q8 *q;
    const signed char *qx;
    int32_t *acc;
    rnn__q8_fn fn;
    int p0, np, step;
} rnn__q8_job;

static void rnn__q8_task(void *ctx, int part) {
    const rnn__q8_job *g = (const rnn__q8_job *)ctx;
    int p = part * g->step, n = g->np - p < g->step ? g->np - p : g->step;
    size_t at = (size_t)(g->p0 + p) * RNN__Q8_ROWS;
    g->fn(n, g->q->kg, g->q->w + at * 4 * g->q->kg, g->q->wsum + at, g->qx, g->acc + (size_t)p * RNN__Q8_ROWS);
}

/* y[0..rows) += W[row0..row0+rows)·x for one part of q (row0 0, or q->split
   with rows the rest), or with b0 given y = b0 (+ b1) + W·x, the gate bias
   summed on the way instead of copied first (the same values);
   scratch: rnn__q8_scratch(q) bytes, 64-aligned. With
   tasks, whole panels are shared out; the sums are exact either way.
   Two levels: x = sx·qx + r, then r ≈ sr·qr, and y gets both products:
   the error left is r's rounding, |x − sx·qx − sr·qr| ≤ sr/2 ≤ sx/508. */
static void rnn__q8_gemv(const rnn__q8 *q, int row0, int rows, const float *x, float *y, const float *b0,
                         const float *b1, void *scratch) {
    signed char *qx = (signed char *)scratch;
    int32_t *acc = (int32_t *)(void *)(qx + ((size_t)q->kg * 4 + 63) / 64 * 64);
    float *r = (float *)(void *)(acc + (size_t)q->panels * RNN__Q8_ROWS);
    const rnn__q8_ops *ops = rnn__q8_best();
    float sx = ops->vector(x, q->k, q->kg, qx);
    int i, level;
    rnn__q8_job g;
    g.q = q; g.qx = qx; g.acc = acc; g.fn = ops->dot;
    g.p0 = rnn__q8_panel(q, row0);
    g.np = rnn__q8_panel(q, row0 + rows - 1) + 1 - g.p0;
    /* an int8 multiply-add counts as a float one: a quarter of the bytes,
       but the kernel is no faster than L2 (splitting LSTM H 256's, 0.26 M,
       made a token on 2 threads 1.27x as fast; counting k/4 kept it whole) */
    g.step = rnn__par_worth(1, rows, q->k) ? rnn__cut(g.np, 1, 1) : 0;
    if (!g.step) g.step = g.np;
    for (level = 0; level < q->levels; level++) {
        if (level) {
            for (i = 0; i < q->k; i++) r[i] = x[i] - sx * (float)qx[i];
            sx = ops->vector(r, q->k, q->kg, qx);
        }
        rnn__run(rnn__q8_task, &g, (g.np + g.step - 1) / g.step);
        ops->finish(rows, acc, sx, q->scale + row0, y, level ? NULL : b0, b1);
    }
}

/* ---- the model's int8 weights ------------------------------------------ */

static void rnn__lm_q8_free(struct rnn_q8 *z) {
    int i;
    if (!z) return;
    for (i = 0; i < z->count; i++) rnn__q8_free(&z->mat[i]);
    RNN_FREE(z->mat);
    RNN_FREE(z->layer);
    RNN_FREE(z);
}

/* The int8 form of every matrix of m, from int8 rows got(i) hands over
   (quantized floats, or a file's tensors): i the registry index. */
typedef rnn_status (*rnn__q8_rows_fn)(void *ctx, int i, signed char *rows, float *scale);

/* What a matrix reads, for calibration: the layer whose h is its input
   (W_ih of layer l ≥ 1: l−1; W_hh of l: l; the head: the top layer), L for
   W_ih0 (embedding rows), -1 for the embedding itself. *bias: the bias its
   rounding error goes into (NULL for W_ih0); *rows: the rows whose input
   that is (GRU_CHO's candidate rows of W_hh read r⊙h instead: left out). */
static int rnn__q8_input(const rnn_lm *m, const rnn_param *p, float **bias, int *rows) {
    int l, L = m->cfg.num_layers;
    *bias = NULL;
    *rows = p->rows;
    if (p->value == m->head.weight) { *bias = m->head.bias; return L - 1; }
    for (l = 0; l < L; l++) {
        if (p->value == m->rnn->w[l].w_ih) { *bias = l ? m->rnn->w[l].b_ih : NULL; return l ? l - 1 : L; }
        if (p->value == m->rnn->w[l].w_hh) {
            if (m->cfg.cell == RNN_GRU_CHO) *rows = 2 * m->cfg.hidden_size;
            *bias = m->rnn->w[l].b_hh;
            return l;
        }
    }
    return -1;
}

static rnn_status rnn__lm_q8_build(rnn_lm *m, rnn__q8_rows_fn got, void *ctx, const double *mean) {
    struct rnn_q8 *z;
    ptrdiff_t np = stbds_arrlen(m->params), i;
    rnn_status st = RNN_OK;
    int l, L = m->cfg.num_layers;
    z = (struct rnn_q8 *)RNN_MALLOC(sizeof *z);
    if (!z) return RNN_ERR_OUT_OF_MEMORY;
    memset(z, 0, sizeof *z);
    z->mat = (rnn__q8 *)RNN_MALLOC(sizeof(rnn__q8) * (size_t)np);
    z->layer = (int *)RNN_MALLOC(sizeof(int) * 2 * (size_t)L);
    if (!z->mat || !z->layer) { rnn__lm_q8_free(z); return RNN_ERR_OUT_OF_MEMORY; }
    memset(z->mat, 0, sizeof(rnn__q8) * (size_t)np);
    z->count = (int)np;
    for (i = 0; i < np && st == RNN_OK; i++) {
        const rnn_param *p = &m->params[i];
        size_t n = (size_t)p->rows * p->cols;
        signed char *rows;
        float *scale;
        int split = p->rows;
        if (!p->cols) continue;
        if (p->cols > RNN__Q8_LIMIT) { st = RNN_ERR_INVALID_ARGUMENT; break; }
        for (l = 0; l < L; l++) {
            if (p->value == m->rnn->w[l].w_ih) z->layer[2 * l] = (int)i;
            if (p->value == m->rnn->w[l].w_hh) {
                z->layer[2 * l + 1] = (int)i;
                if (m->cfg.cell == RNN_GRU_CHO) split = 2 * m->cfg.hidden_size;
            }
        }
        if (p->value == m->embedding.weight) z->emb = (int)i;
        if (p->value == m->head.weight) z->head = (int)i;
        rows = (signed char *)RNN_MALLOC((n + 3) / 4 * 4 + sizeof(float) * p->rows);
        if (!rows) { st = RNN_ERR_OUT_OF_MEMORY; break; }
        scale = (float *)(void *)(rows + (n + 3) / 4 * 4);
        if ((st = got(ctx, (int)i, rows, scale)) == RNN_OK &&
            (st = rnn__q8_init(&z->mat[i], rows, scale, p->rows, p->cols, split)) == RNN_OK) {
            size_t need = rnn__q8_scratch(&z->mat[i]);
            if (need > z->scratch) z->scratch = need;
        }
        RNN_FREE(rows);
    }
    if (st != RNN_OK) { rnn__lm_q8_free(z); return st; }
    /* all made: only now the model's floats change (a failure above left them as they were) */
    for (i = 0; i < np; i++) {
        const rnn_param *p = &m->params[i];
        const rnn__q8 *q = &z->mat[i];
        float *bias = NULL;
        int j, k, n = 0, in = p->cols && mean ? rnn__q8_input(m, p, &bias, &n) : -1;
        const double *x = in >= 0 && in < m->cfg.num_layers ? mean + (size_t)in * q->k : NULL;
        /* bias correction: b[j] += Σ_k (W − scale·q)[j][k]·mean(x_k) */
        for (j = 0; bias && x && j < n; j++) {
            double c = 0;
            for (k = 0; k < q->k; k++)
                c += ((double)p->value[(size_t)j * q->k + k] - (double)q->scale[j] * q->w[rnn__q8_at(q, j, k)]) * x[k];
            bias[j] += (float)c;
        }
        if (p->cols) rnn__q8_dequantize(q, p->value);   /* the floats are what the int8 says */
    }
    rnn__lm_q8_free(m->q8);
    m->q8 = z;
    rnn_lm_weights_changed(m);   /* inference states copy the tables again */
    return RNN_OK;
}

/* Cholesky factor of the symmetric positive definite A [k][k], in place
   (lower triangle; A = L·Lᵀ). 0 if A is not positive definite. */
static int rnn__cholesky(double *A, int k) {
    int i, j, c;
    for (j = 0; j < k; j++) {
        double d = A[(size_t)j * k + j];
        for (c = 0; c < j; c++) d -= A[(size_t)j * k + c] * A[(size_t)j * k + c];
        if (!(d > 0)) return 0;
        A[(size_t)j * k + j] = d = sqrt(d);
        for (i = j + 1; i < k; i++) {
            double s = A[(size_t)i * k + j];
            for (c = 0; c < j; c++) s -= A[(size_t)i * k + c] * A[(size_t)j * k + c];
            A[(size_t)i * k + j] = s / d;
        }
    }
    return 1;
}

/* Rounds rows [0, rows) of W [rows][k] (their scales given) a column at a
   time, spreading each rounding error over the columns not yet rounded, so
   that the error of the row times inputs whose second moments are A [k][k]
   stays small (GPTQ, Frantar et al. 2022). With U the upper Cholesky factor
   of (A + 1% of its mean diagonal)⁻¹, after column i:
       w[c] -= (w[i] − s·q[i]) / U[i][i] · U[i][c]    for c > i.
   Inputs that never vary leave plain rounding. scratch: 2k² + k doubles.
   0 (q untouched) if A has no positive diagonal. */
static int rnn__q8_gptq(const float *W, int rows, int k, const double *A, const float *scale, signed char *q,
                        double *scratch) {
    double *M = scratch, *U = scratch + (size_t)k * k, *w = U + (size_t)k * k, damp = 0;
    int i, j, c;
    for (i = 0; i < k; i++) damp += A[(size_t)i * k + i];
    if (!(damp > 0)) return 0;
    damp = 0.01 * damp / k;
    memcpy(M, A, sizeof(double) * k * k);
    for (i = 0; i < k; i++) M[(size_t)i * k + i] += damp;
    if (!rnn__cholesky(M, k)) return 0;
    /* U ← (A + damp)⁻¹ by two triangular solves a column at a time (kept as rows: it is symmetric) */
    for (j = 0; j < k; j++) {
        double *x = U + (size_t)j * k;
        for (i = 0; i < k; i++) {
            double s = i == j;
            for (c = 0; c < i; c++) s -= M[(size_t)i * k + c] * x[c];
            x[i] = s / M[(size_t)i * k + i];
        }
        for (i = k - 1; i >= 0; i--) {
            double s = x[i];
            for (c = i + 1; c < k; c++) s -= M[(size_t)c * k + i] * x[c];
            x[i] = s / M[(size_t)i * k + i];
        }
    }
    if (!rnn__cholesky(U, k)) return 0;   /* U's lower triangle L: (A + damp)⁻¹ = L·Lᵀ, and Lᵀ is the U above */
    for (j = 0; j < rows; j++) {
        float s = scale[j];
        if (!(s > 0)) continue;
        for (i = 0; i < k; i++) w[i] = W[(size_t)j * k + i];
        for (i = 0; i < k; i++) {
            signed char qi = rnn__q8_round((float)(w[i] / s));
            double err = (w[i] - (double)s * qi) / U[(size_t)i * k + i];
            q[(size_t)j * k + i] = qi;
            for (c = i + 1; c < k; c++) w[c] -= err * U[(size_t)c * k + i];
        }
    }
    return 1;
}

/* Calibration: from the float model reading tokens, each layer's mean h
   [L][H] (bias correction), and where H ≤ RNN__GPTQ_MAX the second moments
   E[h·hᵀ] [L][H][H] and, where E is, the embedding rows' E[e·eᵀ] [E][E]
   (GPTQ). Moments NULL: none. */
#define RNN__GPTQ_MAX 1024
typedef struct rnn__q8_calib {
    const rnn_lm *m;
    double *mean, *mom, *emom;
    double *scratch;    /* 2k² + k doubles for rnn__q8_gptq */
} rnn__q8_calib;

static rnn_status rnn__q8_rows_of(void *ctx, int i, signed char *rows, float *scale) {
    const rnn__q8_calib *c = (const rnn__q8_calib *)ctx;
    const rnn_lm *m = c->m;
    const rnn_param *p = &m->params[i];
    float *bias;
    int n, L = m->cfg.num_layers, H = m->cfg.hidden_size, in;
    rnn__q8_quantize_rows(p->value, p->rows, p->cols, rows, scale);
    if (c->mom && (in = rnn__q8_input(m, p, &bias, &n)) >= 0)   /* its input's second moments */
        rnn__q8_gptq(p->value, n, p->cols, in < L ? c->mom + (size_t)in * H * H : c->emom, scale, rows, c->scratch);
    return RNN_OK;
}

/* Fills c from the float model reading tokens [n] from a zero state. */
static rnn_status rnn__lm_q8_calibrate(const rnn_lm *m, const int *tokens, size_t n, rnn__q8_calib *c) {
    rnn_lm_state *s;
    rnn_status st;
    int L = m->cfg.num_layers, H = m->cfg.hidden_size, E = m->cfg.embed_size, l, i, j;
    int big = H > E ? H : E;
    size_t t, LH = (size_t)L * H;
    if (!(c->mean = (double *)RNN_MALLOC(sizeof(double) * LH))) return RNN_ERR_OUT_OF_MEMORY;
    memset(c->mean, 0, sizeof(double) * LH);
    if (H <= RNN__GPTQ_MAX && E <= RNN__GPTQ_MAX) {
        c->mom = (double *)RNN_MALLOC(sizeof(double) * (LH * H + (size_t)E * E + 2 * (size_t)big * big + big));
        if (c->mom) {
            c->emom = c->mom + LH * H;
            c->scratch = c->emom + (size_t)E * E;
            memset(c->mom, 0, sizeof(double) * (LH * H + (size_t)E * E));
        }
    }
    if ((st = rnn_lm_state_create(m, &s)) != RNN_OK) return st;
    for (t = 0; t < n; t++) {
        const float *e = m->embedding.weight + (size_t)tokens[t] * E;
        rnn_lm_step(m, s, tokens[t]);
        for (l = 0; l < L; l++) {
            const float *h = s->rnn->h + (size_t)l * H;
            for (i = 0; i < H; i++) {
                c->mean[(size_t)l * H + i] += h[i];
                for (j = 0; c->mom && j <= i; j++) c->mom[((size_t)l * H + i) * H + j] += (double)h[i] * h[j];
            }
        }
        for (i = 0; c->mom && i < E; i++)
            for (j = 0; j <= i; j++) c->emom[(size_t)i * E + j] += (double)e[i] * e[j];
    }
    rnn_lm_state_free(s);
    for (i = 0; i < (int)LH; i++) c->mean[i] /= (double)n;
    if (c->mom) {   /* the upper triangles mirror the lower ones */
        for (l = 0; l <= L; l++) {
            double *A = l < L ? c->mom + (size_t)l * H * H : c->emom;
            int k = l < L ? H : E;
            for (i = 0; i < k; i++)
                for (j = 0; j <= i; j++) A[(size_t)j * k + i] = A[(size_t)i * k + j] /= (double)n;
        }
    }
    return RNN_OK;
}

RNNDEF rnn_status rnn_lm_quantize(rnn_lm *m, const int *tokens, size_t n) {
    rnn_status st = RNN_OK;
    rnn__q8_calib c;
    size_t t;
    if (!m || (n && !tokens)) return RNN_ERR_INVALID_ARGUMENT;
    if (m->q8) return rnn__err(m->error, sizeof m->error, RNN_ERR_INVALID_ARGUMENT, "quantize: the model is int8 already");
    for (t = 0; t < n; t++)
        if (tokens[t] < 0 || tokens[t] >= m->cfg.vocab_size)
            return rnn__err(m->error, sizeof m->error, RNN_ERR_INVALID_ARGUMENT,
                            "quantize: calibration token %lu is %d, outside 0..%d", (unsigned long)t, tokens[t],
                            m->cfg.vocab_size - 1);
    memset(&c, 0, sizeof c);
    c.m = m;
    if (n) st = rnn__lm_q8_calibrate(m, tokens, n, &c);
    if (st == RNN_OK) st = rnn__lm_q8_build(m, rnn__q8_rows_of, &c, c.mean);
    RNN_FREE(c.mean);
    RNN_FREE(c.mom);
    if (st != RNN_OK) return rnn__err(m->error, sizeof m->error, st, "quantize: %s", rnn_strerror(st));
    return RNN_OK;
}

RNNDEF int rnn_lm_is_quantized(const rnn_lm *m) { return m && m->q8; }

RNNDEF rnn_status rnn_lm_int8_precise(rnn_lm *m, int on) {
    int i;
    if (!m) return RNN_ERR_INVALID_ARGUMENT;
    if (!m->q8) return rnn__err(m->error, sizeof m->error, RNN_ERR_INVALID_ARGUMENT, "int8_precise: not an int8 model (rnn_lm_quantize it first)");
    for (i = 0; i < m->q8->count; i++) m->q8->mat[i].levels = on ? 2 : 1;
    return RNN_OK;
}

RNNDEF const char *rnn_int8_simd_name(void) { return rnn__q8_best()->name; }

/* ============================================================================
   Models: classifier
   ========================================================================== */

/* Frees an stb_ds array of RNN_MALLOC'd strings. */
static void rnn__free_strings(char **s) {
    ptrdiff_t i;
    for (i = 0; i < stbds_arrlen(s); i++) RNN_FREE(s[i]);
    stbds_arrfree(s);
}

RNNDEF void rnn_clf_free(rnn_clf *c) {
    if (!c) return;
    rnn_recurrent_free(c->rnn);
    rnn_encoder_free(c->enc);
    stbds_arrfree(c->params);
    if (c->vocab) { rnn_vocab_free(c->vocab); RNN_FREE(c->vocab); }
    if (c->words) { rnn_words_free(c->words); RNN_FREE(c->words); }
    RNN_FREE(c->own);
    RNN_FREE(c->ws);
    RNN_FREE(c->iws);
    RNN_FREE(c->ids);
    rnn__free_strings(c->labels);
    RNN_FREE(c);
}

/* Points a dense layer [out × in] (+ bias) at *w and its gradient n floats
   further, and moves *w past it. */
static void rnn__dense_at(rnn_dense *d, int in, int out, float **w, size_t n) {
    d->in_size = in; d->out_size = out;
    d->weight = *w; d->gweight = *w + n;
    d->bias = *w + (size_t)in * out; d->gbias = d->bias + n;
    *w += (size_t)in * out + out;
}

/* Registers a dense layer's weight and bias as PREFIXweight, PREFIXbias. */
static void rnn__dense_params(rnn_param **reg, const char *prefix, rnn_dense *d) {
    char name[64];
    snprintf(name, sizeof name, "%sweight", prefix);
    rnn__param_add(reg, name, d->weight, d->gweight, d->out_size, d->in_size, 0);
    snprintf(name, sizeof name, "%sbias", prefix);
    rnn__param_add(reg, name, d->bias, d->gbias, d->out_size, 0, 0);
}

RNNDEF rnn_status rnn_clf_create(rnn_clf **out, const rnn_clf_config *cfg, uint64_t seed) {
    rnn_clf *c;
    rnn_clf_config k;
    rnn_status st;
    rnn_rng init;
    size_t V, E, D, C, P, A, Hd, Hin, n, i;
    float *w;
    if (!out) return RNN_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!cfg) return RNN_ERR_INVALID_ARGUMENT;
    k = *cfg;
    if (!k.embed_size) k.embed_size = 64;
    if (k.cell == RNN_CELL_DEFAULT) k.cell = RNN_LSTM;
    if (!k.hidden_size) k.hidden_size = 128;
    if (!k.num_layers) k.num_layers = 1;
    if (!k.heads) k.heads = 4;
    if (!k.ff_size) k.ff_size = 4 * k.embed_size;
    if (!k.max_len) k.max_len = 256;
    if (k.pool == RNN_POOL_DEFAULT) k.pool = RNN_POOL_ATTENTION;
    if (k.vocab_size <= 0 || k.num_classes <= 0 || k.embed_size <= 0 || k.hidden_size <= 0 || k.num_layers <= 0 ||
        k.heads <= 0 || k.ff_size <= 0 || k.max_len <= 0 || k.pool > RNN_POOL_ATTENTION || k.cell > RNN_GRU_CHO ||
        !(k.dropout >= 0 && k.dropout < 1) || (k.transformer && k.embed_size % k.heads) || k.attention_size < 0 ||
        k.dense_size < 0 || (unsigned)k.self_attention > 1 || (k.self_attention && k.transformer))
        return RNN_ERR_INVALID_ARGUMENT;
    if (!k.attention_size) k.attention_size = 60;
    if (!(c = (rnn_clf *)RNN_MALLOC(sizeof *c))) return RNN_ERR_OUT_OF_MEMORY;
    memset(c, 0, sizeof *c);
    c->cfg = k;
    st = RNN_OK;
    if (k.self_attention) {
        c->feat = k.attention_size;
    } else if (k.transformer) {
        rnn_encoder_config ec;
        memset(&ec, 0, sizeof ec);
        ec.d_model = k.embed_size; ec.heads = k.heads; ec.ff_size = k.ff_size; ec.num_layers = k.num_layers;
        ec.norm_first = k.norm_first; ec.final_norm = k.norm_first; ec.gelu = k.gelu;   /* pre-norm stacks end on a norm */
        st = rnn_encoder_create(&c->enc, &ec, seed + 2);
        c->feat = k.embed_size;
    } else {
        rnn_recurrent_config rc;
        memset(&rc, 0, sizeof rc);
        rc.cell = k.cell; rc.input_size = k.embed_size; rc.hidden_size = k.hidden_size;
        rc.num_layers = k.num_layers; rc.bidirectional = k.bidirectional; rc.dropout = k.dropout;
        st = rnn_recurrent_create(&c->rnn, &rc, seed + 2);
        c->feat = (k.bidirectional ? 2 : 1) * k.hidden_size;
    }
    if (st != RNN_OK) { rnn_clf_free(c); return st; }
    V = (size_t)k.vocab_size; E = (size_t)k.embed_size; D = (size_t)c->feat; C = (size_t)k.num_classes;
    P = k.transformer && k.learned_positions ? (size_t)k.max_len * E : 0;
    A = k.self_attention ? (size_t)k.attention_size : 0; Hd = (size_t)k.dense_size; Hin = Hd ? Hd : D;
    n = V * E + P + D + 2 * (A * E + A) + Hd * (D + 1) + C * Hin + C;   /* values; as many gradients; the sinusoids */
    c->own = (float *)RNN_MALLOC((2 * n + (k.transformer ? (size_t)k.max_len * E : 0)) * sizeof(float));
    c->ids = (int *)RNN_MALLOC((size_t)k.max_len * sizeof(int));
    if (!c->own || !c->ids) { rnn_clf_free(c); return RNN_ERR_OUT_OF_MEMORY; }
    memset(c->own, 0, 2 * n * sizeof(float));
    c->embedding.vocab_size = k.vocab_size; c->embedding.embed_size = k.embed_size;
    c->embedding.weight = c->own; c->embedding.grad = c->own + n;
    c->positions.vocab_size = P ? k.max_len : 0; c->positions.embed_size = k.embed_size;
    c->positions.weight = c->embedding.weight + V * E; c->positions.grad = c->positions.weight + n;
    c->query = c->positions.weight + P; c->gquery = c->query + n;
    w = c->query + D;
    rnn__dense_at(&c->q_proj, (int)E, (int)A, &w, n);
    rnn__dense_at(&c->k_proj, (int)E, (int)A, &w, n);
    rnn__dense_at(&c->dense, (int)D, (int)Hd, &w, n);
    rnn__dense_at(&c->head, (int)Hin, (int)C, &w, n);
    if (k.transformer) {
        c->pe = c->own + 2 * n;
        rnn_positional_encoding(c->pe, k.max_len, k.embed_size);
    }
    /* PyTorch's defaults: embeddings N(0, 1), linear uniform ±1/√in; the
       pooling query uniform ±1/√D */
    rnn_rng_seed(&init, seed + 1);
    for (i = 0; i < V * E + P; i++) c->embedding.weight[i] = rnn_rng_normal(&init);
    rnn__uniform(c->query, D, 1.0f / sqrtf((float)D), &init);
    rnn__uniform(c->q_proj.weight, 2 * (A * E + A), 1.0f / sqrtf((float)E), &init);
    rnn__uniform(c->dense.weight, Hd * (D + 1), 1.0f / sqrtf((float)D), &init);
    rnn__uniform(c->head.weight, C * Hin + C, 1.0f / sqrtf((float)Hin), &init);
    rnn_rng_seed(&c->rng, seed ^ 0x5DEECE66Dull);
    rnn__param_add(&c->params, "embedding.weight", c->embedding.weight, c->embedding.grad, (int)V, (int)E, 0);
    if (P) rnn__param_add(&c->params, "positions.weight", c->positions.weight, c->positions.grad, k.max_len, (int)E, 0);
    if (c->enc) rnn__param_add_all(&c->params, "encoder.", NULL, c->enc->params);
    else if (c->rnn) rnn__param_add_all(&c->params, "rnn.", c->rnn, NULL);
    else {
        rnn__dense_params(&c->params, "attn.query.", &c->q_proj);
        rnn__dense_params(&c->params, "attn.key.", &c->k_proj);
    }
    if (k.pool == RNN_POOL_ATTENTION) rnn__param_add(&c->params, "pool.query", c->query, c->gquery, (int)D, 0, 0);
    if (Hd) rnn__dense_params(&c->params, "dense.", &c->dense);
    rnn__dense_params(&c->params, "head.", &c->head);
    *out = c;
    return RNN_OK;
}

/* The workspace of a batch (T, B): N = T·B positions, features of width D. */
typedef struct rnn__clf_plan {
    float *x;       /* [N][E] embedded inputs (+ positions), dropout applied */
    float *xm;      /* [N][E] input dropout's factors, 0 or 1/(1 − p)         */
    float *f;       /* [N][D] the features                                   */
    float *df;      /* [N][D] their gradient                                 */
    float *dx;      /* [N][E] the gradient reaching x                        */
    float *q;       /* [B][D] attention pooling's query, once per row        */
    float *dq;      /* [B][D] its gradient                                   */
    float *alpha;   /* [B][T] attention pooling's weights                    */
    float *ds;      /* [T] attention backward's scratch                      */
    float *pool;    /* [B][D] the pooled vectors, dropout applied            */
    float *pm;      /* [B][D] their dropout factors                          */
    float *dpool;   /* [B][D]                                                */
    float *logits;  /* [B][C] the logits, then their gradient                */
    float *qa, *ka; /* [N][A] self-attention's queries and keys              */
    float *dqa, *dka; /* [N][A] their gradients                              */
    float *aw;      /* [B][T][T] self-attention's weights                    */
    float *as;      /* [T·T] its backward's scratch                          */
    float *hid;     /* [B][dense_size] the ReLU layer's output               */
    float *dhid;    /* [B][dense_size] its gradient                          */
    float *pack;    /* packing space for the products                        */
    size_t npack, total;
} rnn__clf_plan;

static void rnn__clf_carve(const rnn_clf *c, int T, int B, float *ws, rnn__clf_plan *p) {
    size_t N = (size_t)T * B, E = (size_t)c->cfg.embed_size, D = (size_t)c->feat, off = 0;
    size_t A = c->cfg.self_attention ? (size_t)c->cfg.attention_size : 0, Hd = (size_t)c->cfg.dense_size;
    int mx = B > c->feat ? B : c->feat;
    p->x = rnn__at(ws, off); off += N * E;
    p->xm = rnn__at(ws, off); off += N * E;
    p->f = rnn__at(ws, off); off += N * D;
    p->df = rnn__at(ws, off); off += N * D;
    p->dx = rnn__at(ws, off); off += N * E;
    p->q = rnn__at(ws, off); off += (size_t)B * D;
    p->dq = rnn__at(ws, off); off += (size_t)B * D;
    p->alpha = rnn__at(ws, off); off += N;
    p->ds = rnn__at(ws, off); off += (size_t)T;
    p->pool = rnn__at(ws, off); off += (size_t)B * D;
    p->pm = rnn__at(ws, off); off += (size_t)B * D;
    p->dpool = rnn__at(ws, off); off += (size_t)B * D;
    p->logits = rnn__at(ws, off); off += (size_t)B * c->cfg.num_classes;
    p->qa = rnn__at(ws, off); off += N * A;
    p->ka = rnn__at(ws, off); off += N * A;
    p->dqa = rnn__at(ws, off); off += N * A;
    p->dka = rnn__at(ws, off); off += N * A;
    p->aw = rnn__at(ws, off); off += A ? (size_t)B * T * T : 0;
    p->as = rnn__at(ws, off); off += A ? (size_t)T * T : 0;
    p->hid = rnn__at(ws, off); off += (size_t)B * Hd;
    p->dhid = rnn__at(ws, off); off += (size_t)B * Hd;
    if (A && (int)N > mx) mx = (int)N;
    if ((int)E > mx) mx = (int)E;
    if ((int)Hd > mx) mx = (int)Hd;
    p->npack = rnn__pack_floats(mx, mx > c->cfg.num_classes ? mx : c->cfg.num_classes, mx);
    p->pack = rnn__at(ws, off);
    p->total = off + p->npack;
}

/* Inverted dropout: m = 0 with probability p, else 1/(1 − p); x ⊙= m. */
static void rnn__dropout(float *x, float *m, size_t n, float p, rnn_rng *rng) {
    size_t i;
    float keep = 1.0f / (1.0f - p);
    for (i = 0; i < n; i++) {
        m[i] = rnn_rng_uniform(rng) < p ? 0.0f : keep;
        x[i] *= m[i];
    }
}

/* The attention pooling call: one query per row over its valid positions. */
static rnn_attention_desc rnn__clf_pool_desc(const rnn_clf *c, int T, int B, const int *len) {
    rnn_attention_desc d;
    memset(&d, 0, sizeof d);
    d.Tq = 1; d.Tk = T; d.B = B; d.heads = 1; d.qk_size = c->feat; d.key_lengths = len;
    return d;
}

/* The notes' self-attention: every position over the valid ones, scale 1
   (Keras's dot score), outputs past a length 0. */
static rnn_attention_desc rnn__clf_self_desc(const rnn_clf *c, int T, int B, const int *len) {
    rnn_attention_desc d;
    memset(&d, 0, sizeof d);
    d.Tq = T; d.Tk = T; d.B = B; d.heads = 1; d.qk_size = c->cfg.attention_size; d.scale = 1.0f;
    d.key_lengths = len; d.query_lengths = len;
    return d;
}

/* Forward of a padded batch to the logits (p->logits). Checks the input. */
static rnn_status rnn__clf_forward(rnn_clf *c, const int *tokens, const int *lengths, int T, int B, int train,
                                   rnn__clf_plan *p) {
    int t, b, j, *tok, *len, E = c->cfg.embed_size, D = c->feat, V = c->cfg.vocab_size;
    size_t N = (size_t)T * B;
    rnn_status st;
    if (!tokens || T <= 0 || B <= 0)
        return rnn__err(c->error, sizeof c->error, RNN_ERR_INVALID_ARGUMENT, "tokens required and T %d, B %d positive",
                        T, B);
    if (T > c->cfg.max_len)
        return rnn__err(c->error, sizeof c->error, RNN_ERR_INVALID_ARGUMENT,
                        "sequences of %d tokens are longer than max_len %d", T, c->cfg.max_len);
    for (b = 0; lengths && b < B; b++)
        if (lengths[b] < 1 || lengths[b] > T)
            return rnn__err(c->error, sizeof c->error, RNN_ERR_INVALID_ARGUMENT, "lengths[%d] = %d is outside 1..%d", b,
                            lengths[b], T);
    for (t = 0; t < T; t++)
        for (b = 0; b < B; b++) {
            int v = tokens[t * B + b];
            if ((!lengths || t < lengths[b]) && (v < 0 || v >= V))
                return rnn__err(c->error, sizeof c->error, RNN_ERR_INVALID_ARGUMENT,
                                "token %d at position %d of sequence %d is outside the vocabulary 0..%d", v, t, b, V - 1);
        }
    rnn__clf_carve(c, T, B, NULL, p);
    if (p->total > c->ws_cap) {
        float *nw = (float *)RNN_REALLOC(c->ws, p->total * sizeof(float));
        if (!nw) return rnn__err(c->error, sizeof c->error, RNN_ERR_OUT_OF_MEMORY, "no memory for the workspace");
        c->ws = nw; c->ws_cap = p->total;
    }
    if (N + B > c->iws_cap) {
        int *ni = (int *)RNN_REALLOC(c->iws, (N + B) * sizeof(int));
        if (!ni) return rnn__err(c->error, sizeof c->error, RNN_ERR_OUT_OF_MEMORY, "no memory for the workspace");
        c->iws = ni; c->iws_cap = N + B;
    }
    rnn__clf_carve(c, T, B, c->ws, p);
    c->T = T; c->B = B;
    tok = c->iws; len = c->iws + N;
    for (b = 0; b < B; b++) len[b] = lengths ? lengths[b] : T;
    /* x = embedding (0 at padding: it reaches nothing) + position */
    for (t = 0; t < T; t++)
        for (b = 0; b < B; b++) {
            size_t r = (size_t)t * B + b;
            float *xr = p->x + r * E;
            tok[r] = t < len[b] ? tokens[r] : -1;
            if (tok[r] < 0) { memset(xr, 0, sizeof(float) * E); continue; }
            memcpy(xr, c->embedding.weight + (size_t)tok[r] * E, sizeof(float) * E);
            if (c->pe) {
                const float *pos = c->positions.vocab_size ? c->positions.weight + (size_t)t * E : c->pe + (size_t)t * E;
                for (j = 0; j < E; j++) xr[j] += pos[j];
            }
        }
    if (train && c->cfg.dropout > 0) rnn__dropout(p->x, p->xm, N * E, c->cfg.dropout, &c->rng);
    c->attn_weights = NULL;
    if (c->cfg.self_attention) {   /* Keras's Attention()([q, k]): scores q·kᵀ, values k, both masks */
        rnn_attention_desc d = rnn__clf_self_desc(c, T, B, len);
        rnn__dense_forward(&c->q_proj, p->x, (int)N, p->qa, p->pack, p->npack);
        rnn__dense_forward(&c->k_proj, p->x, (int)N, p->ka, p->pack, p->npack);
        if ((st = rnn_attention_forward(&d, p->qa, p->ka, NULL, p->aw, p->f)) != RNN_OK)
            return rnn__err(c->error, sizeof c->error, st, "self-attention: %s", d.error);
        c->attn_weights = p->aw;
    } else if (c->enc) st = rnn_encoder_forward(c->enc, p->x, T, B, len, p->f);
    else st = rnn_recurrent_forward(c->rnn, p->x, T, B, len, NULL, NULL, p->f, NULL, NULL, train, &c->rng);
    if (st != RNN_OK)
        return rnn__err(c->error, sizeof c->error, st, "%s", c->enc ? c->enc->error : c->rnn->error);
    /* pooling: [N][D] → [B][D] */
    c->pool_weights = NULL;
    if (c->cfg.pool == RNN_POOL_ATTENTION) {
        rnn_attention_desc d = rnn__clf_pool_desc(c, T, B, len);
        for (b = 0; b < B; b++) memcpy(p->q + (size_t)b * D, c->query, sizeof(float) * D);
        if ((st = rnn_attention_forward(&d, p->q, p->f, p->f, p->alpha, p->pool)) != RNN_OK)
            return rnn__err(c->error, sizeof c->error, st, "pooling: %s", d.error);
        c->pool_weights = p->alpha;
    } else
        for (b = 0; b < B; b++) {
            float *o = p->pool + (size_t)b * D;
            int n = len[b], half = c->rnn && c->rnn->dirs == 2 ? D / 2 : D;
            if (c->cfg.pool == RNN_POOL_LAST) {
                memcpy(o, p->f + ((size_t)(n - 1) * B + b) * D, sizeof(float) * half);
                if (half < D) memcpy(o + half, p->f + (size_t)b * D + half, sizeof(float) * (D - half));
                continue;
            }
            memcpy(o, p->f + (size_t)b * D, sizeof(float) * D);
            for (t = 1; t < n; t++) {
                const float *fr = p->f + ((size_t)t * B + b) * D;
                for (j = 0; j < D; j++)
                    o[j] = c->cfg.pool == RNN_POOL_MEAN ? o[j] + fr[j] : (fr[j] > o[j] ? fr[j] : o[j]);
            }
            if (c->cfg.pool == RNN_POOL_MEAN)
                for (j = 0; j < D; j++) o[j] /= (float)n;
        }
    if (train && c->cfg.dropout > 0) rnn__dropout(p->pool, p->pm, (size_t)B * D, c->cfg.dropout, &c->rng);
    if (c->cfg.dense_size) {
        rnn__dense_forward(&c->dense, p->pool, B, p->hid, p->pack, p->npack);
        rnn_relu(p->hid, p->hid, (size_t)B * c->cfg.dense_size);
    }
    rnn__dense_forward(&c->head, c->cfg.dense_size ? p->hid : p->pool, B, p->logits, p->pack, p->npack);
    return RNN_OK;
}

/* backward from dlogits (in p->logits):
     pool:   dpool = dlogits·W_head (and dropout's factors)
     last:   df[len−1] (backward half: df[0]) += dpool
     mean:   df[t] += dpool / len for t < len
     max:    df[t*] += dpool at the first position t* of each feature's max
     attention: rnn_attention_backward, dquery = Σ_rows dq
   then the recurrent stack or encoder, input dropout, positions, embedding. */
static rnn_status rnn__clf_backward(rnn_clf *c, rnn__clf_plan *p) {
    int T = c->T, B = c->B, t, b, j, D = c->feat, E = c->cfg.embed_size;
    const int *tok = c->iws, *len = c->iws + (size_t)T * B;
    size_t N = (size_t)T * B, i;
    rnn_status st;
    if (c->cfg.dense_size) {   /* dz = dh ⊙ [h > 0], then through the dense layer */
        rnn__dense_backward(&c->head, p->hid, B, p->logits, p->dhid, p->pack, p->npack);
        for (i = 0; i < (size_t)B * c->cfg.dense_size; i++)
            if (!(p->hid[i] > 0)) p->dhid[i] = 0;
        rnn__dense_backward(&c->dense, p->pool, B, p->dhid, p->dpool, p->pack, p->npack);
    } else
        rnn__dense_backward(&c->head, p->pool, B, p->logits, p->dpool, p->pack, p->npack);
    if (c->cfg.dropout > 0)
        for (i = 0; i < (size_t)B * D; i++) p->dpool[i] *= p->pm[i];
    if (c->cfg.pool == RNN_POOL_ATTENTION) {
        rnn_attention_desc d = rnn__clf_pool_desc(c, T, B, len);
        if ((st = rnn_attention_backward(&d, p->q, p->f, p->f, p->alpha, p->dpool, p->dq, p->df, p->df, p->ds)) != RNN_OK)
            return rnn__err(c->error, sizeof c->error, st, "pooling: %s", d.error);
        for (b = 0; b < B; b++)
            for (j = 0; j < D; j++) c->gquery[j] += p->dq[(size_t)b * D + j];
    } else {
        memset(p->df, 0, sizeof(float) * N * D);
        for (b = 0; b < B; b++) {
            const float *g = p->dpool + (size_t)b * D;
            int n = len[b], half = c->rnn && c->rnn->dirs == 2 ? D / 2 : D;
            if (c->cfg.pool == RNN_POOL_LAST) {
                float *d0 = p->df + ((size_t)(n - 1) * B + b) * D, *d1 = p->df + (size_t)b * D;
                for (j = 0; j < half; j++) d0[j] += g[j];
                for (j = half; j < D; j++) d1[j] += g[j];
            } else if (c->cfg.pool == RNN_POOL_MEAN) {
                for (t = 0; t < n; t++)
                    for (j = 0; j < D; j++) p->df[((size_t)t * B + b) * D + j] += g[j] / (float)n;
            } else
                for (j = 0; j < D; j++) {
                    int best = 0;
                    for (t = 1; t < n; t++)
                        if (p->f[((size_t)t * B + b) * D + j] > p->f[((size_t)best * B + b) * D + j]) best = t;
                    p->df[((size_t)best * B + b) * D + j] += g[j];
                }
        }
    }
    st = RNN_OK;
    if (c->cfg.self_attention) {
        /* the values are the keys: dk gets both parts; dx = dq·W_q + dk·W_k */
        rnn_attention_desc d = rnn__clf_self_desc(c, T, B, len);
        if ((st = rnn_attention_backward(&d, p->qa, p->ka, NULL, p->aw, p->df, p->dqa, p->dka, NULL, p->as)) != RNN_OK)
            return rnn__err(c->error, sizeof c->error, st, "self-attention: %s", d.error);
        rnn__dense_backward(&c->q_proj, p->x, (int)N, p->dqa, p->dx, p->pack, p->npack);
        rnn__dense_backward(&c->k_proj, p->x, (int)N, p->dka, NULL, p->pack, p->npack);
        rnn__gemm(p->pack, p->npack, 0, 0, (int)N, E, c->cfg.attention_size, 1.0f, p->dka, c->cfg.attention_size,
                  c->k_proj.weight, E, 1.0f, p->dx, E);
    } else if (c->enc) st = rnn_encoder_backward(c->enc, p->df, p->dx);
    else st = rnn_recurrent_backward(c->rnn, p->df, NULL, NULL, p->dx, NULL, NULL);
    if (st != RNN_OK) return rnn__err(c->error, sizeof c->error, st, "%s", c->enc ? c->enc->error : c->rnn->error);
    if (c->cfg.dropout > 0)
        for (i = 0; i < N * E; i++) p->dx[i] *= p->xm[i];
    if (c->positions.vocab_size)
        for (t = 0; t < T; t++)
            for (b = 0; b < B; b++)
                if (tok[(size_t)t * B + b] >= 0)
                    for (j = 0; j < E; j++) c->positions.grad[(size_t)t * E + j] += p->dx[((size_t)t * B + b) * E + j];
    rnn_embedding_backward(&c->embedding, tok, (int)N, p->dx);   /* padding (-1) is skipped */
    return RNN_OK;
}

RNNDEF rnn_status rnn_clf_train_step(rnn_clf *c, rnn_optimizer *opt, const int *tokens, const int *lengths, int T,
                                     int B, const int *labels, const float *targets, float *loss) {
    rnn__clf_plan p;
    rnn_status st;
    float l = 0;
    int b, C;
    if (!c) return RNN_ERR_INVALID_ARGUMENT;
    C = c->cfg.num_classes;
    if (c->cfg.multi_label ? !targets : !labels)
        return rnn__err(c->error, sizeof c->error, RNN_ERR_INVALID_ARGUMENT, "%s",
                        c->cfg.multi_label ? "a multi-label model trains on targets [B][C]" : "labels [B] required");
    for (b = 0; !c->cfg.multi_label && b < B; b++)
        if (labels[b] < 0 || labels[b] >= C)
            return rnn__err(c->error, sizeof c->error, RNN_ERR_INVALID_ARGUMENT, "label %d of sequence %d is outside 0..%d",
                            labels[b], b, C - 1);
    for (b = 0; c->cfg.multi_label && b < B * C; b++)
        if (!(targets[b] >= 0 && targets[b] <= 1))
            return rnn__err(c->error, sizeof c->error, RNN_ERR_INVALID_ARGUMENT,
                            "target %d of sequence %d is %g, not in [0, 1]", b % C, b / C, targets[b]);
    if ((st = rnn__clf_forward(c, tokens, lengths, T, B, 1, &p)) != RNN_OK) return st;
    st = c->cfg.multi_label ? rnn_loss_bce_logits(p.logits, targets, NULL, B * C, p.logits, &l)
                            : rnn_loss_softmax_xent(p.logits, labels, B, C, -1, p.logits, &l);
    if (st != RNN_OK) return rnn__err(c->error, sizeof c->error, st, "the logits are not finite (training diverged?)");
    if (loss) *loss = l;
    rnn_params_zero_grad(c->params);
    if ((st = rnn__clf_backward(c, &p)) != RNN_OK) return st;
    if (opt) {
        st = rnn_optimizer_step(opt, c->params, NULL);
        if (st != RNN_OK) return rnn__err(c->error, sizeof c->error, st, "optimizer: %s", opt->error);
        if (c->rnn) rnn_recurrent_weights_changed(c->rnn);
    }
    return RNN_OK;
}

RNNDEF rnn_status rnn_clf_predict(rnn_clf *c, const int *tokens, const int *lengths, int T, int B, float *probs) {
    rnn__clf_plan p;
    rnn_status st;
    int b, C;
    if (!c) return RNN_ERR_INVALID_ARGUMENT;
    if (!probs) return rnn__err(c->error, sizeof c->error, RNN_ERR_INVALID_ARGUMENT, "probs required");
    if ((st = rnn__clf_forward(c, tokens, lengths, T, B, 0, &p)) != RNN_OK) return st;
    C = c->cfg.num_classes;
    if (c->cfg.multi_label) rnn_sigmoid(probs, p.logits, (size_t)B * C);
    else
        for (b = 0; b < B; b++) rnn_softmax(probs + (size_t)b * C, p.logits + (size_t)b * C, (size_t)C);
    return RNN_OK;
}

static rnn_status rnn__words_encode(const rnn_words *w, const char *text, size_t len, size_t skip, int *ids, size_t cap,
                                    size_t *n, size_t *bad_offset);   /* in Text */

RNNDEF rnn_status rnn_clf_classify(rnn_clf *c, const char *text, size_t len, float *probs) {
    size_t n = 0, bad = 0;
    rnn_status st;
    int one;
    if (!c) return RNN_ERR_INVALID_ARGUMENT;
    if (!c->vocab && !c->words)
        return rnn__err(c->error, sizeof c->error, RNN_ERR_INVALID_ARGUMENT,
                        "the model has no vocabulary (rnn_clf_set_vocab, rnn_clf_set_words)");
    if (!text || !probs) return rnn__err(c->error, sizeof c->error, RNN_ERR_INVALID_ARGUMENT, "text and probs required");
    if (!len) return rnn__err(c->error, sizeof c->error, RNN_ERR_INVALID_ARGUMENT, "the text is empty");
    if (c->words) {   /* words: count them, then read the last max_len */
        size_t max = (size_t)c->cfg.max_len, got = 0;
        st = rnn__words_encode(c->words, text, len, 0, NULL, 0, &n, &bad);
        if (st == RNN_OK && n)
            st = rnn__words_encode(c->words, text, len, n > max ? n - max : 0, c->ids, max, &got, &bad);
        if (st == RNN_ERR_FORMAT)
            return rnn__err(c->error, sizeof c->error, st, "the text is not valid UTF-8 at byte %lu", (unsigned long)bad);
        if (!n) return rnn__err(c->error, sizeof c->error, RNN_ERR_INVALID_ARGUMENT, "the text has no words");
        one = n < (size_t)c->cfg.max_len ? (int)n : c->cfg.max_len;
        return rnn_clf_predict(c, c->ids, &one, one, 1, probs);
    }
    st = rnn_vocab_encode(c->vocab, text, len, c->ids, (size_t)c->cfg.max_len, &n, &bad);
    if (st == RNN_ERR_FORMAT)
        return rnn__err(c->error, sizeof c->error, st, "the text is not valid UTF-8 at byte %lu", (unsigned long)bad);
    if (st != RNN_OK) {
        uint32_t cp = 0;
        int w = rnn_utf8_decode(text + bad, len - bad, &cp);
        return rnn__err(c->error, sizeof c->error, st, "the character \"%.*s\" (U+%04lX) at byte %lu is not in the vocabulary",
                        w, text + bad, (unsigned long)cp, (unsigned long)bad);
    }
    if (n > (size_t)c->cfg.max_len)
        return rnn__err(c->error, sizeof c->error, RNN_ERR_INVALID_ARGUMENT,
                        "the text has %lu characters, more than max_len %d", (unsigned long)n, c->cfg.max_len);
    one = (int)n;
    return rnn_clf_predict(c, c->ids, &one, one, 1, probs);
}

RNNDEF rnn_status rnn_clf_set_labels(rnn_clf *c, const char *const *names) {
    int i;
    char **nl = NULL;
    if (!c) return RNN_ERR_INVALID_ARGUMENT;
    for (i = 0; names && i < c->cfg.num_classes; i++) {
        size_t n = names[i] ? strlen(names[i]) : 0;
        char *s = n && n < 256 ? (char *)RNN_MALLOC(n + 1) : NULL;
        if (!s) {
            rnn__free_strings(nl);
            return rnn__err(c->error, sizeof c->error, n && n < 256 ? RNN_ERR_OUT_OF_MEMORY : RNN_ERR_INVALID_ARGUMENT,
                            "label %d: %s", i, n && n < 256 ? "out of memory" : "empty, or longer than 255 bytes");
        }
        memcpy(s, names[i], n + 1);
        stbds_arrput(nl, s);
    }
    rnn__free_strings(c->labels);
    c->labels = nl;
    return RNN_OK;
}

/* ============================================================================
   Models: sequence to sequence
   ========================================================================== */

RNNDEF void rnn_s2s_free(rnn_s2s *s) {
    if (!s) return;
    rnn_recurrent_free(s->enc);
    rnn_recurrent_free(s->dec);
    rnn_recurrent_state_free(s->state);
    stbds_arrfree(s->params);
    if (s->src_text) { rnn_vocab_free(s->src_text); RNN_FREE(s->src_text); }
    if (s->tgt_text) { rnn_vocab_free(s->tgt_text); RNN_FREE(s->tgt_text); }
    RNN_FREE(s->own);
    RNN_FREE(s->ws);
    RNN_FREE(s->dws);
    RNN_FREE(s->iws);
    RNN_FREE(s);
}

/* Widths: the encoder's and decoder's inputs, the encoder's outputs (D·H). */
static int rnn__s2s_src_in(const rnn_s2s_config *k) { return k->one_hot ? k->src_vocab : k->embed_size; }
static int rnn__s2s_tgt_in(const rnn_s2s_config *k) {
    return k->repeat ? (k->bidirectional ? 2 : 1) * k->hidden_size : k->one_hot ? k->tgt_vocab + 1 : k->embed_size;
}

/* The decoding workspace (one source): encoder input, outputs, the summed
   outputs e, final states; one step's input, output, query, [c; h], h̃,
   logits; the attention weights of each output; a beam's initial state. */
typedef struct rnn__s2s_dplan {
    float *xs, *ys, *e, *hn, *cn, *x, *y, *q, *cat, *a, *logits, *alpha, *state0;
    size_t total;
} rnn__s2s_dplan;

static size_t rnn__s2s_state_floats(const rnn_s2s *s) {
    return (size_t)s->cfg.num_layers * s->cfg.hidden_size * (s->cfg.cell == RNN_LSTM ? 2 : 1);
}

static void rnn__s2s_dcarve(const rnn_s2s *s, float *ws, rnn__s2s_dplan *p) {
    size_t Ts = (size_t)s->cfg.max_src_len, H = (size_t)s->cfg.hidden_size, D = (size_t)s->enc->dirs, off = 0;
    size_t LD = (size_t)s->cfg.num_layers * D;
    p->xs = rnn__at(ws, off); off += Ts * rnn__s2s_src_in(&s->cfg);
    p->ys = rnn__at(ws, off); off += Ts * D * H;
    p->e = rnn__at(ws, off); off += Ts * H;
    p->hn = rnn__at(ws, off); off += LD * H;
    p->cn = rnn__at(ws, off); off += LD * H;
    p->x = rnn__at(ws, off); off += (size_t)rnn__s2s_tgt_in(&s->cfg);
    p->y = rnn__at(ws, off); off += H;
    p->q = rnn__at(ws, off); off += H;
    p->cat = rnn__at(ws, off); off += 2 * H;
    p->a = rnn__at(ws, off); off += H;
    p->logits = rnn__at(ws, off); off += (size_t)s->cfg.tgt_vocab;
    p->alpha = rnn__at(ws, off); off += (size_t)s->cfg.max_tgt_len * Ts;
    p->state0 = rnn__at(ws, off); off += 4 + rnn__s2s_state_floats(s);
    p->total = off;
}

RNNDEF rnn_status rnn_s2s_create(rnn_s2s **out, const rnn_s2s_config *cfg, uint64_t seed) {
    rnn_s2s *s;
    rnn_s2s_config k;
    rnn_recurrent_config rc;
    rnn_status st;
    rnn_rng init;
    size_t Vs, Vt, E, H, n, i;
    if (!out) return RNN_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!cfg) return RNN_ERR_INVALID_ARGUMENT;
    k = *cfg;
    if (!k.embed_size) k.embed_size = 64;
    if (k.cell == RNN_CELL_DEFAULT) k.cell = RNN_LSTM;
    if (!k.hidden_size) k.hidden_size = 128;
    if (!k.num_layers) k.num_layers = 1;
    if (!k.max_src_len) k.max_src_len = 64;
    if (!k.max_tgt_len) k.max_tgt_len = 64;
    if (k.src_vocab <= 0 || k.tgt_vocab <= 0 || k.embed_size <= 0 || k.hidden_size <= 0 || k.num_layers <= 0 ||
        k.max_src_len <= 0 || k.max_tgt_len <= 0 || k.max_src_len > 4096 || k.max_tgt_len > 4096 || k.cell > RNN_GRU_CHO || (unsigned)k.attention > RNN_S2S_GENERAL ||
        (unsigned)k.one_hot > 1 || (unsigned)k.bidirectional > 1 || (unsigned)k.repeat > 1 ||
        !(k.dropout >= 0 && k.dropout < 1))
        return RNN_ERR_INVALID_ARGUMENT;
    if (!(s = (rnn_s2s *)RNN_MALLOC(sizeof *s))) return RNN_ERR_OUT_OF_MEMORY;
    memset(s, 0, sizeof *s);
    s->cfg = k;
    memset(&rc, 0, sizeof rc);
    rc.cell = k.cell; rc.hidden_size = k.hidden_size; rc.num_layers = k.num_layers; rc.dropout = k.dropout;
    rc.input_size = rnn__s2s_src_in(&k); rc.bidirectional = k.bidirectional;
    if ((st = rnn_recurrent_create(&s->enc, &rc, seed + 2)) != RNN_OK) { rnn_s2s_free(s); return st; }
    rc.input_size = rnn__s2s_tgt_in(&k); rc.bidirectional = 0;
    if ((st = rnn_recurrent_create(&s->dec, &rc, seed + 3)) != RNN_OK) { rnn_s2s_free(s); return st; }
    Vs = k.one_hot ? 0 : (size_t)k.src_vocab; Vt = k.one_hot || k.repeat ? 0 : (size_t)k.tgt_vocab + 1;
    E = (size_t)k.embed_size; H = (size_t)k.hidden_size;
    n = Vs * E + Vt * E + (k.attention == RNN_S2S_GENERAL ? H * H : 0) + (k.attention ? 2 * H * H + H : 0) +
        (size_t)k.tgt_vocab * (H + 1);   /* values; then as many gradients */
    s->own = (float *)RNN_MALLOC(2 * n * sizeof(float));
    if (!s->own) { rnn_s2s_free(s); return RNN_ERR_OUT_OF_MEMORY; }
    memset(s->own, 0, 2 * n * sizeof(float));
    s->src_embedding.vocab_size = (int)Vs; s->src_embedding.embed_size = (int)E;
    s->src_embedding.weight = s->own; s->src_embedding.grad = s->own + n;
    s->tgt_embedding.vocab_size = (int)Vt; s->tgt_embedding.embed_size = (int)E;
    s->tgt_embedding.weight = s->src_embedding.weight + Vs * E; s->tgt_embedding.grad = s->tgt_embedding.weight + n;
    s->wa = s->tgt_embedding.weight + Vt * E; s->gwa = s->wa + n;
    s->combine.in_size = 2 * (int)H; s->combine.out_size = (int)H;
    s->combine.weight = s->wa + (k.attention == RNN_S2S_GENERAL ? H * H : 0); s->combine.gweight = s->combine.weight + n;
    s->combine.bias = s->combine.weight + 2 * H * H; s->combine.gbias = s->combine.bias + n;
    s->head.in_size = (int)H; s->head.out_size = k.tgt_vocab;
    s->head.weight = s->combine.weight + (k.attention ? 2 * H * H + H : 0); s->head.gweight = s->head.weight + n;
    s->head.bias = s->head.weight + (size_t)k.tgt_vocab * H; s->head.gbias = s->head.bias + n;
    /* PyTorch's defaults: embeddings N(0, 1), linear layers uniform ±1/√in */
    rnn_rng_seed(&init, seed + 1);
    for (i = 0; i < (Vs + Vt) * E; i++) s->own[i] = rnn_rng_normal(&init);
    if (k.attention == RNN_S2S_GENERAL) rnn__uniform(s->wa, H * H, 1.0f / sqrtf((float)H), &init);
    if (k.attention) rnn__uniform(s->combine.weight, 2 * H * H + H, 1.0f / sqrtf(2.0f * (float)H), &init);
    rnn__uniform(s->head.weight, (size_t)k.tgt_vocab * (H + 1), 1.0f / sqrtf((float)H), &init);
    rnn_rng_seed(&s->rng, seed ^ 0x5DEECE66Dull);
    if (Vs) rnn__param_add(&s->params, "encoder.embedding.weight", s->src_embedding.weight, s->src_embedding.grad,
                           (int)Vs, (int)E, 0);
    rnn__param_add_all(&s->params, "encoder.rnn.", s->enc, NULL);
    if (Vt) rnn__param_add(&s->params, "decoder.embedding.weight", s->tgt_embedding.weight, s->tgt_embedding.grad,
                           (int)Vt, (int)E, 0);
    rnn__param_add_all(&s->params, "decoder.rnn.", s->dec, NULL);
    if (k.attention == RNN_S2S_GENERAL) rnn__param_add(&s->params, "attn.score.weight", s->wa, s->gwa, (int)H, (int)H, 0);
    if (k.attention) {
        rnn__param_add(&s->params, "attn.combine.weight", s->combine.weight, s->combine.gweight, (int)H, 2 * (int)H, 0);
        rnn__param_add(&s->params, "attn.combine.bias", s->combine.bias, s->combine.gbias, (int)H, 0, 0);
    }
    rnn__param_add(&s->params, "head.weight", s->head.weight, s->head.gweight, k.tgt_vocab, (int)H, 0);
    rnn__param_add(&s->params, "head.bias", s->head.bias, s->head.gbias, k.tgt_vocab, 0, 0);
    *out = s;
    return RNN_OK;
}

/* The workspace of a training step: Ns = Ts·B source and Nt = Tt·B output
   positions, D directions, L layers, H hidden. */
typedef struct rnn__s2s_plan {
    float *xs;      /* [Ns][Is] the encoder's input (embedded or one-hot)      */
    float *ys;      /* [Ns][D·H] its outputs                                   */
    float *e;       /* [Ns][H] the outputs, directions summed: attention's keys */
    float *hn, *cn; /* [L·D][B][H] the encoder's final states                  */
    float *h0, *c0; /* [L][B][H] the decoder's initial states                  */
    float *xd;      /* [Nt][Id] the decoder's input                            */
    float *yd;      /* [Nt][H] its outputs                                     */
    float *q;       /* [Nt][H] the queries: yd, or yd·W_a                       */
    float *ctx;     /* [Nt][H] the contexts c_t, then their gradient            */
    float *alpha;   /* [B][Tt][Ts] the attention weights                        */
    float *cat;     /* [Nt][2H] [c_t; h_t], then its gradient                   */
    float *a;       /* [Nt][H] h̃_t                                              */
    float *logits;  /* [Nt][V] the logits, then their gradient                  */
    float *dfeat;   /* [Nt][H] the gradient reaching h̃_t (or h_t)              */
    float *dq;      /* [Nt][H]                                                  */
    float *dyd;     /* [Nt][H]                                                  */
    float *de;      /* [Ns][H]                                                  */
    float *dys;     /* [Ns][D·H]                                                */
    float *dxd;     /* [Nt][Id]                                                 */
    float *dxs;     /* [Ns][Is]                                                 */
    float *dh0, *dc0, *dhn, *dcn;   /* as h0, c0, hn, cn                        */
    float *ds;      /* [Tt·Ts] attention backward's scratch                     */
    float *pack;    /* packing space for the products                          */
    size_t npack, total;
} rnn__s2s_plan;

static void rnn__s2s_carve(const rnn_s2s *s, int Ts, int Tt, int B, float *ws, rnn__s2s_plan *p) {
    size_t Ns = (size_t)Ts * B, Nt = (size_t)Tt * B, H = (size_t)s->cfg.hidden_size, D = (size_t)s->enc->dirs;
    size_t Is = (size_t)rnn__s2s_src_in(&s->cfg), Id = (size_t)rnn__s2s_tgt_in(&s->cfg), off = 0;
    size_t LDB = (size_t)s->cfg.num_layers * D * B * H, LB = (size_t)s->cfg.num_layers * B * H;
    int V = s->cfg.tgt_vocab, mx = (int)(2 * H);
    p->xs = rnn__at(ws, off); off += Ns * Is;
    p->ys = rnn__at(ws, off); off += Ns * D * H;
    p->e = rnn__at(ws, off); off += Ns * H;
    p->hn = rnn__at(ws, off); off += LDB;
    p->cn = rnn__at(ws, off); off += LDB;
    p->h0 = rnn__at(ws, off); off += LB;
    p->c0 = rnn__at(ws, off); off += LB;
    p->xd = rnn__at(ws, off); off += Nt * Id;
    p->yd = rnn__at(ws, off); off += Nt * H;
    p->q = rnn__at(ws, off); off += Nt * H;
    p->ctx = rnn__at(ws, off); off += Nt * H;
    p->alpha = rnn__at(ws, off); off += Nt * Ts;
    p->cat = rnn__at(ws, off); off += Nt * 2 * H;
    p->a = rnn__at(ws, off); off += Nt * H;
    p->logits = rnn__at(ws, off); off += Nt * V;
    p->dfeat = rnn__at(ws, off); off += Nt * H;
    p->dq = rnn__at(ws, off); off += Nt * H;
    p->dyd = rnn__at(ws, off); off += Nt * H;
    p->de = rnn__at(ws, off); off += Ns * H;
    p->dys = rnn__at(ws, off); off += Ns * D * H;
    p->dxd = rnn__at(ws, off); off += Nt * Id;
    p->dxs = rnn__at(ws, off); off += Ns * Is;
    p->dh0 = rnn__at(ws, off); off += LB;
    p->dc0 = rnn__at(ws, off); off += LB;
    p->dhn = rnn__at(ws, off); off += LDB;
    p->dcn = rnn__at(ws, off); off += LDB;
    p->ds = rnn__at(ws, off); off += (size_t)Tt * Ts;
    if (V > mx) mx = V;
    if ((int)Nt > mx) mx = (int)Nt;
    p->npack = rnn__pack_floats(mx, mx, mx);
    p->pack = rnn__at(ws, off);
    p->total = off + p->npack;
}

/* Checks a padded batch of tokens [T][B] in 0..V−1 within lengths. */
static rnn_status rnn__s2s_check(rnn_s2s *s, const char *what, const int *tok, const int *len, int T, int maxT,
                                 int B, int V) {
    int t, b;
    if (!tok || T <= 0 || B <= 0)
        return rnn__err(s->error, sizeof s->error, RNN_ERR_INVALID_ARGUMENT, "%s: tokens required and T %d, B %d positive",
                        what, T, B);
    if (T > maxT)
        return rnn__err(s->error, sizeof s->error, RNN_ERR_INVALID_ARGUMENT, "%s: %d tokens are more than the model's %d",
                        what, T, maxT);
    for (b = 0; len && b < B; b++)
        if (len[b] < 1 || len[b] > T)
            return rnn__err(s->error, sizeof s->error, RNN_ERR_INVALID_ARGUMENT, "%s: lengths[%d] = %d is outside 1..%d",
                            what, b, len[b], T);
    for (t = 0; t < T; t++)
        for (b = 0; b < B; b++) {
            int v = tok[t * B + b];
            if ((!len || t < len[b]) && (v < 0 || v >= V))
                return rnn__err(s->error, sizeof s->error, RNN_ERR_INVALID_ARGUMENT,
                                "%s: token %d at position %d of sequence %d is outside 0..%d", what, v, t, b, V - 1);
        }
    return RNN_OK;
}

/* Rows of a layer's input for tokens (−1: padding, a zero row): embedding
   rows, or one-hot rows of width `width`. */
static void rnn__s2s_rows(const rnn_embedding *emb, int one_hot, int width, const int *tok, size_t n, float *x) {
    size_t r;
    for (r = 0; r < n; r++) {
        float *xr = x + r * (size_t)width;
        memset(xr, 0, sizeof(float) * width);
        if (tok[r] < 0) continue;
        if (one_hot) xr[tok[r]] = 1.0f;
        else memcpy(xr, emb->weight + (size_t)tok[r] * width, sizeof(float) * width);
    }
}

/* e = the encoder's outputs with their directions summed, [N][H] from [N][D·H]. */
static void rnn__s2s_sum_dirs(const float *y, size_t N, int H, int D, float *e) {
    size_t r;
    int j;
    for (r = 0; r < N; r++)
        for (j = 0; j < H; j++) e[r * H + j] = y[r * D * H + j] + (D == 2 ? y[r * D * H + H + j] : 0.0f);
}

/* The attention of the decoder's outputs over the encoder's (Luong's dot
   score needs no scaling: scale 1). */
static rnn_attention_desc rnn__s2s_desc(const rnn_s2s *s, int Ts, int Tt, int B, const int *src_len) {
    rnn_attention_desc d;
    memset(&d, 0, sizeof d);
    d.Tq = Tt; d.Tk = Ts; d.B = B; d.heads = 1; d.qk_size = s->cfg.hidden_size; d.scale = 1.0f;
    d.key_lengths = src_len;
    return d;
}

/* Forward of a padded batch to the logits (p->logits); the int workspace
   keeps src tokens, decoder input tokens, targets (−1 past a length) and
   both lengths. */
static rnn_status rnn__s2s_forward(rnn_s2s *s, const int *src, const int *src_lengths, int Ts, const int *tgt,
                                   const int *tgt_lengths, int Tt, int B, int train, rnn__s2s_plan *p) {
    const rnn_s2s_config *k = &s->cfg;
    int t, b, l, d, H = k->hidden_size, D, L = k->num_layers, Is = rnn__s2s_src_in(k), Id = rnn__s2s_tgt_in(k);
    int *stok, *dtok, *tg, *slen, *tlen, lstm = k->cell == RNN_LSTM;
    size_t Ns = (size_t)Ts * B, Nt = (size_t)Tt * B, need, i;
    rnn_status st;
    if ((st = rnn__s2s_check(s, "source", src, src_lengths, Ts, k->max_src_len, B, k->src_vocab)) != RNN_OK ||
        (st = rnn__s2s_check(s, "target", tgt, tgt_lengths, Tt, k->max_tgt_len, B, k->tgt_vocab)) != RNN_OK)
        return st;
    D = s->enc->dirs;
    rnn__s2s_carve(s, Ts, Tt, B, NULL, p);
    if (p->total > s->ws_cap) {
        float *nw = (float *)RNN_REALLOC(s->ws, p->total * sizeof(float));
        if (!nw) return rnn__err(s->error, sizeof s->error, RNN_ERR_OUT_OF_MEMORY, "no memory for the workspace");
        s->ws = nw; s->ws_cap = p->total;
    }
    need = Ns + 2 * Nt + 2 * (size_t)B;
    if (need > s->iws_cap) {
        int *ni = (int *)RNN_REALLOC(s->iws, need * sizeof(int));
        if (!ni) return rnn__err(s->error, sizeof s->error, RNN_ERR_OUT_OF_MEMORY, "no memory for the workspace");
        s->iws = ni; s->iws_cap = need;
    }
    rnn__s2s_carve(s, Ts, Tt, B, s->ws, p);
    s->Ts = Ts; s->Tt = Tt; s->B = B;
    stok = s->iws; dtok = stok + Ns; tg = dtok + Nt; slen = tg + Nt; tlen = slen + B;
    for (b = 0; b < B; b++) {
        slen[b] = src_lengths ? src_lengths[b] : Ts;
        tlen[b] = tgt_lengths ? tgt_lengths[b] : Tt;
    }
    for (t = 0; t < Ts; t++)
        for (b = 0; b < B; b++) stok[t * B + b] = t < slen[b] ? src[t * B + b] : -1;
    for (t = 0; t < Tt; t++)
        for (b = 0; b < B; b++) {
            int in = t < tlen[b];
            tg[t * B + b] = in ? tgt[t * B + b] : -1;
            dtok[t * B + b] = !in ? -1 : t == 0 ? k->tgt_vocab : tgt[(t - 1) * B + b];   /* <s> is row tgt_vocab */
        }
    /* encoder */
    rnn__s2s_rows(&s->src_embedding, k->one_hot, Is, stok, Ns, p->xs);
    st = rnn_recurrent_forward(s->enc, p->xs, Ts, B, slen, NULL, NULL, p->ys, p->hn, lstm ? p->cn : NULL, train, &s->rng);
    if (st != RNN_OK) return rnn__err(s->error, sizeof s->error, st, "encoder: %s", s->enc->error);
    rnn__s2s_sum_dirs(p->ys, Ns, H, D, p->e);
    /* decoder: from the encoder's final states reading <s>, y_0, ...; or
       (repeat) from zero reading the top layer's last output at every step */
    if (k->repeat) {
        for (t = 0; t < Tt; t++)
            for (b = 0; b < B; b++)
                for (d = 0; d < D; d++)
                    memcpy(p->xd + ((size_t)t * B + b) * Id + (size_t)d * H,
                           p->hn + (((size_t)(L - 1) * D + d) * B + b) * H, sizeof(float) * H);
    } else {
        rnn__s2s_rows(&s->tgt_embedding, k->one_hot, Id, dtok, Nt, p->xd);
        for (l = 0; l < L; l++)
            for (i = 0; i < (size_t)B * H; i++) {
                size_t o = (size_t)l * B * H + i, f = (size_t)l * D * B * H + i, r = f + (size_t)B * H;
                p->h0[o] = p->hn[f] + (D == 2 ? p->hn[r] : 0.0f);
                if (lstm) p->c0[o] = p->cn[f] + (D == 2 ? p->cn[r] : 0.0f);
            }
    }
    st = rnn_recurrent_forward(s->dec, p->xd, Tt, B, tlen, k->repeat ? NULL : p->h0, k->repeat || !lstm ? NULL : p->c0,
                               p->yd, NULL, NULL, train, &s->rng);
    if (st != RNN_OK) return rnn__err(s->error, sizeof s->error, st, "decoder: %s", s->dec->error);
    s->attn_weights = NULL;
    if (k->attention) {
        rnn_attention_desc ad = rnn__s2s_desc(s, Ts, Tt, B, slen);
        if (k->attention == RNN_S2S_GENERAL)   /* q = h·W_a, so q·e = h·(W_a e) */
            rnn__gemm(p->pack, p->npack, 0, 0, (int)Nt, H, H, 1.0f, p->yd, H, s->wa, H, 0.0f, p->q, H);
        else memcpy(p->q, p->yd, sizeof(float) * Nt * H);
        if ((st = rnn_attention_forward(&ad, p->q, p->e, NULL, p->alpha, p->ctx)) != RNN_OK)
            return rnn__err(s->error, sizeof s->error, st, "attention: %s", ad.error);
        s->attn_weights = p->alpha;
        for (i = 0; i < Nt; i++) {
            memcpy(p->cat + i * 2 * H, p->ctx + i * H, sizeof(float) * H);
            memcpy(p->cat + i * 2 * H + H, p->yd + i * H, sizeof(float) * H);
        }
        rnn__dense_forward(&s->combine, p->cat, (int)Nt, p->a, p->pack, p->npack);
        rnn_tanh(p->a, p->a, Nt * H);
    }
    rnn__dense_forward(&s->head, k->attention ? p->a : p->yd, (int)Nt, p->logits, p->pack, p->npack);
    return RNN_OK;
}

/* backward from dlogits (in p->logits):
     head:      dfeat = dlogits·W
     attention: dz = dfeat ⊙ (1 − h̃²); d[c; h] = dz·W_c; dctx, and dh += its half;
                rnn_attention_backward gives dq and de (keys = values = e);
                general: dW_a += hᵀ·dq, dh += dq·W_aᵀ; dot: dh += dq
     decoder:   BPTT from dh → dxd, dh0, dc0
     repeat:    the repeated vector's gradient Σ_t dxd[t] reaches the top
                layer's final states; else dh0, dc0 reach every direction's
                final state (their sum was h0)
     encoder:   BPTT from de (each direction gets all of it) and dhn, dcn
     embeddings: rows of the tokens used */
static rnn_status rnn__s2s_backward(rnn_s2s *s, rnn__s2s_plan *p) {
    const rnn_s2s_config *k = &s->cfg;
    int Ts = s->Ts, Tt = s->Tt, B = s->B, H = k->hidden_size, D = s->enc->dirs, L = k->num_layers, t, b, d, j;
    int Id = rnn__s2s_tgt_in(k), lstm = k->cell == RNN_LSTM;
    size_t Ns = (size_t)Ts * B, Nt = (size_t)Tt * B, LB = (size_t)L * B * H, i;
    const int *stok = s->iws, *dtok = stok + Ns, *slen = dtok + 2 * Nt;
    rnn_status st;
    if (k->attention) {
        rnn_attention_desc ad = rnn__s2s_desc(s, Ts, Tt, B, slen);
        rnn__dense_backward(&s->head, p->a, (int)Nt, p->logits, p->dfeat, p->pack, p->npack);
        for (i = 0; i < Nt * H; i++) p->dfeat[i] *= 1.0f - p->a[i] * p->a[i];
        /* dx may be x here: dW reads cat before dx overwrites it */
        rnn__dense_backward(&s->combine, p->cat, (int)Nt, p->dfeat, p->cat, p->pack, p->npack);
        for (i = 0; i < Nt; i++) {
            memcpy(p->ctx + i * H, p->cat + i * 2 * H, sizeof(float) * H);
            memcpy(p->dyd + i * H, p->cat + i * 2 * H + H, sizeof(float) * H);
        }
        if ((st = rnn_attention_backward(&ad, p->q, p->e, NULL, p->alpha, p->ctx, p->dq, p->de, NULL, p->ds)) != RNN_OK)
            return rnn__err(s->error, sizeof s->error, st, "attention: %s", ad.error);
        if (k->attention == RNN_S2S_GENERAL) {
            rnn__gemm(p->pack, p->npack, 1, 0, H, H, (int)Nt, 1.0f, p->yd, H, p->dq, H, 1.0f, s->gwa, H);
            rnn__gemm(p->pack, p->npack, 0, 1, (int)Nt, H, H, 1.0f, p->dq, H, s->wa, H, 1.0f, p->dyd, H);
        } else
            for (i = 0; i < Nt * H; i++) p->dyd[i] += p->dq[i];
    } else {
        rnn__dense_backward(&s->head, p->yd, (int)Nt, p->logits, p->dyd, p->pack, p->npack);
        memset(p->de, 0, sizeof(float) * Ns * H);
    }
    st = rnn_recurrent_backward(s->dec, p->dyd, NULL, NULL, k->repeat || !k->one_hot ? p->dxd : NULL,
                                k->repeat ? NULL : p->dh0, k->repeat || !lstm ? NULL : p->dc0);
    if (st != RNN_OK) return rnn__err(s->error, sizeof s->error, st, "decoder: %s", s->dec->error);
    memset(p->dhn, 0, sizeof(float) * LB * D);
    memset(p->dcn, 0, sizeof(float) * LB * D);
    if (k->repeat) {
        for (t = 0; t < Tt; t++)
            for (b = 0; b < B; b++)
                for (d = 0; d < D; d++) {
                    float *g = p->dhn + (((size_t)(L - 1) * D + d) * B + b) * H;
                    const float *x = p->dxd + ((size_t)t * B + b) * Id + (size_t)d * H;
                    for (j = 0; j < H; j++) g[j] += x[j];
                }
    } else {
        int l;
        for (l = 0; l < L; l++)
            for (d = 0; d < D; d++) {
                memcpy(p->dhn + ((size_t)l * D + d) * B * H, p->dh0 + (size_t)l * B * H, sizeof(float) * B * H);
                if (lstm) memcpy(p->dcn + ((size_t)l * D + d) * B * H, p->dc0 + (size_t)l * B * H, sizeof(float) * B * H);
            }
        if (!k->one_hot) rnn_embedding_backward(&s->tgt_embedding, dtok, (int)Nt, p->dxd);
    }
    for (i = 0; i < Ns; i++)
        for (d = 0; d < D; d++) memcpy(p->dys + (i * D + d) * H, p->de + i * H, sizeof(float) * H);
    st = rnn_recurrent_backward(s->enc, p->dys, p->dhn, lstm ? p->dcn : NULL, k->one_hot ? NULL : p->dxs, NULL, NULL);
    if (st != RNN_OK) return rnn__err(s->error, sizeof s->error, st, "encoder: %s", s->enc->error);
    if (!k->one_hot) rnn_embedding_backward(&s->src_embedding, stok, (int)Ns, p->dxs);
    return RNN_OK;
}

RNNDEF rnn_status rnn_s2s_train_step(rnn_s2s *s, rnn_optimizer *opt, const int *src, const int *src_lengths, int Ts,
                                     const int *tgt, const int *tgt_lengths, int Tt, int B, float *loss) {
    rnn__s2s_plan p;
    rnn_status st;
    float l = 0;
    if (!s) return RNN_ERR_INVALID_ARGUMENT;
    if ((st = rnn__s2s_forward(s, src, src_lengths, Ts, tgt, tgt_lengths, Tt, B, 1, &p)) != RNN_OK) return st;
    st = rnn_loss_softmax_xent(p.logits, s->iws + (size_t)Ts * B + (size_t)Tt * B, Tt * B, s->cfg.tgt_vocab, -1,
                               p.logits, &l);
    if (st != RNN_OK) return rnn__err(s->error, sizeof s->error, st, "the logits are not finite (training diverged?)");
    if (loss) *loss = l;
    rnn_params_zero_grad(s->params);
    if ((st = rnn__s2s_backward(s, &p)) != RNN_OK) return st;
    if (opt) {
        st = rnn_optimizer_step(opt, s->params, NULL);
        if (st != RNN_OK) return rnn__err(s->error, sizeof s->error, st, "optimizer: %s", opt->error);
        rnn_recurrent_weights_changed(s->dec);
    }
    return RNN_OK;
}

RNNDEF rnn_status rnn_s2s_eval(rnn_s2s *s, const int *src, const int *src_lengths, int Ts, const int *tgt,
                               const int *tgt_lengths, int Tt, int B, float *loss) {
    rnn__s2s_plan p;
    rnn_status st;
    float l = 0;
    if (!s) return RNN_ERR_INVALID_ARGUMENT;
    if ((st = rnn__s2s_forward(s, src, src_lengths, Ts, tgt, tgt_lengths, Tt, B, 0, &p)) != RNN_OK) return st;
    st = rnn_loss_softmax_xent(p.logits, s->iws + (size_t)Ts * B + (size_t)Tt * B, Tt * B, s->cfg.tgt_vocab, -1,
                               p.logits, &l);
    if (st != RNN_OK) return rnn__err(s->error, sizeof s->error, st, "the logits are not finite");
    if (loss) *loss = l;
    return RNN_OK;
}

/* Decoding: one source, one output token at a time. */
typedef struct rnn__s2s_dec {
    rnn_s2s *s;
    rnn__s2s_dplan p;
    int Ts;           /* the source's length */
    int pos;          /* output tokens so far */
} rnn__s2s_dec;

/* One decoder step: input token (ignored at position 0, which reads <s>,
   and with repeat), log-probabilities of the next token into logp [V]; the
   attention weights go to row `row` of p.alpha. */
static rnn_status rnn__s2s_dstep(rnn__s2s_dec *g, int token, int row, float *logp) {
    rnn_s2s *s = g->s;
    const rnn_s2s_config *k = &s->cfg;
    rnn__s2s_dplan *p = &g->p;
    int H = k->hidden_size, Id = rnn__s2s_tgt_in(k), j, t;
    rnn_status st;
    if (!k->repeat) {
        int in = row == 0 ? k->tgt_vocab : token;
        rnn__s2s_rows(&s->tgt_embedding, k->one_hot, Id, &in, 1, p->x);
    }
    if ((st = rnn_recurrent_step(s->dec, s->state, p->x, p->y)) != RNN_OK)
        return rnn__err(s->error, sizeof s->error, st, "decoder: %s", s->dec->error);
    if (k->attention) {
        /* one query: the attention section's dot product and softmax row */
        float *al = p->alpha + (size_t)row * g->Ts;
        if (k->attention == RNN_S2S_GENERAL)
            rnn__gemm(NULL, 0, 0, 0, 1, H, H, 1.0f, p->y, H, s->wa, H, 0.0f, p->q, H);
        else memcpy(p->q, p->y, sizeof(float) * H);
        for (t = 0; t < g->Ts; t++) al[t] = rnn__dot_lanes(p->q, p->e + (size_t)t * H, H);
        rnn__softmax_row(al, g->Ts);
        memset(p->cat, 0, sizeof(float) * H);
        for (t = 0; t < g->Ts; t++)
            for (j = 0; j < H; j++) p->cat[j] += al[t] * p->e[(size_t)t * H + j];
        memcpy(p->cat + H, p->y, sizeof(float) * H);
        rnn__dense_forward(&s->combine, p->cat, 1, p->a, NULL, 0);
        rnn_tanh(p->a, p->a, (size_t)H);
    }
    rnn__dense_forward(&s->head, k->attention ? p->a : p->y, 1, p->logits, NULL, 0);
    if (!rnn__finite(p->logits, (size_t)k->tgt_vocab))
        return rnn__err(s->error, sizeof s->error, RNN_ERR_INVALID_ARGUMENT, "the logits are not finite");
    rnn_log_softmax(logp, p->logits, (size_t)k->tgt_vocab);
    return RNN_OK;
}

/* Beam search's step: the state is the output position (one int, in 4
   floats' room) and the decoder's h (and c) of every layer. */
static rnn_status rnn__s2s_beam_step(void *user, void *state, int token, float *logp) {
    rnn__s2s_dec *g = (rnn__s2s_dec *)user;
    rnn_s2s *s = g->s;
    size_t LH = (size_t)s->cfg.num_layers * s->cfg.hidden_size;
    float *f = (float *)state + 4;
    int pos;
    rnn_status st;
    memcpy(&pos, state, sizeof pos);
    memcpy(s->state->h, f, sizeof(float) * LH);
    if (s->state->c) memcpy(s->state->c, f + LH, sizeof(float) * LH);
    if ((st = rnn__s2s_dstep(g, token, pos < s->cfg.max_tgt_len ? pos : 0, logp)) != RNN_OK) return st;
    pos++;
    memcpy(state, &pos, sizeof pos);
    memcpy(f, s->state->h, sizeof(float) * LH);
    if (s->state->c) memcpy(f + LH, s->state->c, sizeof(float) * LH);
    return RNN_OK;
}

RNNDEF rnn_status rnn_s2s_decode(rnn_s2s *s, const int *src, int src_len, int beam_width, int end_token, int *out,
                                 int cap, int *n) {
    const rnn_s2s_config *k;
    rnn__s2s_dec g;
    rnn_status st;
    int H, L, D, Is, l, d, t, count = 0;
    size_t LH;
    if (n) *n = 0;
    if (!s) return RNN_ERR_INVALID_ARGUMENT;
    k = &s->cfg;
    if (!out || !n || cap < 0 || end_token < -1 || end_token >= k->tgt_vocab)
        return rnn__err(s->error, sizeof s->error, RNN_ERR_INVALID_ARGUMENT,
                        "decode: out and n required, cap >= 0, end_token in -1..%d", k->tgt_vocab - 1);
    if ((st = rnn__s2s_check(s, "source", src, &src_len, src_len, k->max_src_len, 1, k->src_vocab)) != RNN_OK)
        return st;
    if (!s->state && (st = rnn_recurrent_state_create(s->dec, 1, &s->state)) != RNN_OK)
        return rnn__err(s->error, sizeof s->error, st, "decode: no memory for the decoder's state");
    if (!s->dws) {   /* the decoding workspace, for the longest source and output */
        rnn__s2s_dcarve(s, NULL, &g.p);
        if (!(s->dws = (float *)RNN_MALLOC(g.p.total * sizeof(float))))
            return rnn__err(s->error, sizeof s->error, RNN_ERR_OUT_OF_MEMORY, "decode: no memory for the workspace");
    }
    H = k->hidden_size; L = k->num_layers; D = s->enc->dirs; Is = rnn__s2s_src_in(k); LH = (size_t)L * H;
    memset(&g, 0, sizeof g);
    g.s = s; g.Ts = src_len;
    rnn__s2s_dcarve(s, s->dws, &g.p);
    rnn__s2s_rows(&s->src_embedding, k->one_hot, Is, src, (size_t)src_len, g.p.xs);
    st = rnn_recurrent_forward(s->enc, g.p.xs, src_len, 1, NULL, NULL, NULL, g.p.ys, g.p.hn,
                               k->cell == RNN_LSTM ? g.p.cn : NULL, 0, NULL);
    if (st != RNN_OK) return rnn__err(s->error, sizeof s->error, st, "encoder: %s", s->enc->error);
    rnn__s2s_sum_dirs(g.p.ys, (size_t)src_len, H, D, g.p.e);
    for (l = 0; l < L; l++) {
        float *h = s->state->h + (size_t)l * H, *c = s->state->c ? s->state->c + (size_t)l * H : NULL;
        memset(h, 0, sizeof(float) * H);
        if (c) memset(c, 0, sizeof(float) * H);
        for (d = 0; !k->repeat && d < D; d++) {
            int j;
            for (j = 0; j < H; j++) {
                h[j] += g.p.hn[((size_t)l * D + d) * H + j];
                if (c) c[j] += g.p.cn[((size_t)l * D + d) * H + j];
            }
        }
    }
    if (k->repeat)
        for (d = 0; d < D; d++) memcpy(g.p.x + (size_t)d * H, g.p.hn + ((size_t)(L - 1) * D + d) * H, sizeof(float) * H);
    if (beam_width <= 1) {   /* greedy: the logits' argmax */
        int tok = 0, i;
        for (t = 0; t < k->max_tgt_len; t++) {
            if ((st = rnn__s2s_dstep(&g, tok, t, g.p.logits)) != RNN_OK) return st;
            for (tok = 0, i = 1; i < k->tgt_vocab; i++)
                if (g.p.logits[i] > g.p.logits[tok]) tok = i;
            if (tok == end_token) break;
            if (count < cap) out[count] = tok;
            count++;
        }
    } else {
        rnn_beam_config bc;
        rnn_beam_result r;
        int pos = 0;
        memcpy(g.p.state0, &pos, sizeof pos);
        memcpy(g.p.state0 + 4, s->state->h, sizeof(float) * LH);
        if (s->state->c) memcpy(g.p.state0 + 4 + LH, s->state->c, sizeof(float) * LH);
        memset(&bc, 0, sizeof bc);
        bc.vocab_size = k->tgt_vocab; bc.beam_width = beam_width; bc.max_length = k->max_tgt_len;
        bc.start_token = 0; bc.end_token = end_token; bc.length_alpha = 1.0f;
        bc.state_size = sizeof(float) * (4 + rnn__s2s_state_floats(s)); bc.initial_state = g.p.state0;
        st = rnn_beam_search(&bc, rnn__s2s_beam_step, &g, &r);
        if (st != RNN_OK) {
            rnn_beam_result_free(&r);
            return st == RNN_ERR_OUT_OF_MEMORY ? rnn__err(s->error, sizeof s->error, st, "beam search: out of memory") : st;
        }
        if (r.count > 0) {
            int len = r.lengths[0] - (r.finished[0] ? 1 : 0);
            /* the attention weights of the best: run it again, greedily fed */
            memcpy(s->state->h, g.p.state0 + 4, sizeof(float) * LH);
            if (s->state->c) memcpy(s->state->c, g.p.state0 + 4 + LH, sizeof(float) * LH);
            for (t = 0; t < len; t++) {
                if (count < cap) out[count] = r.tokens[t];
                count++;
                if (k->attention && (st = rnn__s2s_dstep(&g, t ? r.tokens[t - 1] : 0, t, g.p.logits)) != RNN_OK) {
                    rnn_beam_result_free(&r);
                    return st;
                }
            }
        }
        rnn_beam_result_free(&r);
    }
    s->decode_weights = k->attention ? g.p.alpha : NULL;
    *n = count < cap ? count : cap;
    if (count > cap)
        return rnn__err(s->error, sizeof s->error, RNN_ERR_INVALID_ARGUMENT, "decode: %d tokens, out holds %d", count, cap);
    return RNN_OK;
}

/* ============================================================================
   Decoding: sampling, beam search
   ========================================================================== */

/* A float's bits as an unsigned key with the same order (finite floats). */
static uint32_t rnn__fkey(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

/* rnn_sample's cuts. The keys are the bits of weights w ≥ 0 (which order
   as the weights do). A cut is a key c that keeps the entries with key ≥ c
   (equal weights at the cut kept together); we want the largest c whose kept
   entries sum to at least want, summing 1 per entry (weigh 0: top-k) or its
   weight (weigh 1: top-p). */

#define RNN__SAMPLE_STACK 2048
#define RNN__CUT_LEFT 16   /* the bisection stops with this many candidates or fewer */

/* The last candidates (weights w ≥ 0, compared as floats, which order as
   their bits do): quickselect in place, expected 2-3 passes. */
static float rnn__quick_cut(float *k, int n, int weigh, float floor, double want, double *kept) {
    int lo = 0, hi = n;
    double below = 0;   /* the mass kept above the candidates [lo, hi) */
    while (lo < hi) {
        float a = k[lo], b = k[lo + (hi - lo) / 2], c = k[hi - 1], p;
        int lt = lo, i = lo, gt = hi;   /* [lo, lt) > p, [lt, i) == p, [gt, hi) < p */
        double mhi = 0, meq = 0;
        p = a < b ? (b < c ? b : a < c ? c : a) : (a < c ? a : b < c ? c : b);   /* median of three */
        while (i < gt) {
            float x = k[i];
            if (x > p) {
                k[i] = k[lt]; k[lt] = x;
                mhi += weigh ? (double)x : 1.0; lt++; i++;
            } else if (x < p) {
                gt--;
                k[i] = k[gt]; k[gt] = x;
            } else {
                meq += weigh ? (double)x : 1.0; i++;
            }
        }
        if (mhi >= want) hi = lt;                       /* the cut lies above the pivot */
        else if (mhi + meq >= want) { *kept = below + mhi + meq; return p; }   /* the pivot's group reaches it */
        else { want -= mhi + meq; below += mhi + meq; lo = gt; }            /* below: keep it all, go on */
    }
    *kept = below;
    return floor;   /* (rounding left want above the whole mass: keep everything) */
}

/* Rows of at most RNN__SAMPLE_STACK: the cut over the weights w[0..n). A
   bisection on the key between lo and hi, one vector pass (tally) each,
   while more than RNN__CUT_LEFT entries lie between; once a quarter of the
   row or fewer do, they are first copied to buf (gather) and the passes read
   only them. Then the quickselect over the last candidates, copied to buf.
   lo: a key whose entries and above reach want (the floor), c_lo: how many
   they are; hi: a key above every entry. The vector passes add in float
   lanes, so the cut is exact up to a float rounding of the sums. *kept gets
   the mass the cut keeps. */
static uint32_t rnn__sample_cut(const rnn__arch *A, const float *w, int n, int weigh, uint32_t lo, double c_lo,
                                uint32_t hi, double want, float *buf, double *kept) {
    const float *v = w;
    size_t nv = (size_t)n;
    double s_hi = 0, c_hi = 0, s_top = 0, c_top = 0, rest, s, c;   /* top: what lies above buf's entries */
    float t, th, cut;
    while (c_lo - c_hi > RNN__CUT_LEFT && hi - lo > 1) {   /* (interpolating on the sums measured no better) */
        uint32_t mid = lo + (hi - lo) / 2;
        if (v == w && 4 * (c_lo - c_hi) <= n) {
            memcpy(&t, &lo, 4);
            memcpy(&th, &hi, 4);
            nv = (size_t)A->gather(w, (size_t)n, t, th, buf);
            v = buf;
            s_top = s_hi;
            c_top = c_hi;
        }
        memcpy(&t, &mid, 4);
        A->tally(v, nv, t, &s, &c);
        s += s_top;
        c += c_top;
        if (!weigh) s = c;
        if (s >= want) { lo = mid; c_lo = c; }
        else { hi = mid; s_hi = s; c_hi = c; }
    }
    memcpy(&t, &lo, 4);
    memcpy(&th, &hi, 4);
    cut = rnn__quick_cut(buf, A->gather(v, nv, t, th, buf), weigh, t, want - s_hi, &rest);
    *kept = s_hi + rest;
    memcpy(&lo, &cut, 4);
    return lo;
}

/* Longer rows: a radix select over the logits themselves, one pass per
   byte of the key (most significant first), weights recomputed per pass
   (weigh 0: count). */
static uint32_t rnn__radix_cut(const float *logits, int n, float mx, float temperature, int weigh, uint32_t floor,
                               double want) {
    uint32_t prefix = 0;
    int byte, i, d;
    for (byte = 3; byte >= 0; byte--) {
        double mass[256], acc = 0;
        uint32_t high = byte == 3 ? 0 : 0xFFFFFFFFu << (8 * (byte + 1));
        for (d = 0; d < 256; d++) mass[d] = 0;
        for (i = 0; i < n; i++) {
            uint32_t k = rnn__fkey(logits[i]);
            if (k >= floor && (k & high) == prefix)
                mass[(k >> (8 * byte)) & 255] += weigh ? exp(((double)logits[i] - mx) / temperature) : 1.0;
        }
        for (d = 255; d > 0; d--) {   /* the digit where the running sum from the top reaches want */
            if (acc + mass[d] >= want) break;
            acc += mass[d];
        }
        want -= acc;
        prefix |= (uint32_t)d << (8 * byte);
    }
    return prefix < floor ? floor : prefix;
}

/* Rows longer than RNN__SAMPLE_STACK: keys of the logits, weights in double
   recomputed per pass of rnn__radix_cut. */
static int rnn__sample_long(const float *logits, int n, float mx, float temperature, int top_k, float top_p,
                            rnn_rng *rng) {
    uint32_t cut = 0;
    double total = 0, u, acc = 0;
    int i, best = 0;
    if (top_k > 0 && top_k < n) cut = rnn__radix_cut(logits, n, mx, temperature, 0, 0, (double)top_k);
    for (i = 0; i < n; i++)
        if (rnn__fkey(logits[i]) >= cut) total += exp(((double)logits[i] - mx) / temperature);
    if (top_p < 1.0f) {
        cut = rnn__radix_cut(logits, n, mx, temperature, 1, cut, (double)top_p * total);
        for (i = 0, total = 0; i < n; i++)
            if (rnn__fkey(logits[i]) >= cut) total += exp(((double)logits[i] - mx) / temperature);
    }
    u = ((double)(rnn_rng_u64(rng) >> 11) * (1.0 / 9007199254740992.0)) * total;
    for (i = 0; i < n; i++) {
        if (rnn__fkey(logits[i]) < cut) continue;
        acc += exp(((double)logits[i] - mx) / temperature);
        best = i;
        if (u < acc) break;
    }
    return best;
}

/* Sampling without heap memory. The weights w = e^((z − max)/T) come from
   one vector pass with the sums of their blocks of 16. Top-k and top-p are
   cuts on the weights' bits (non-negative floats order as their bits do),
   found by rnn__sample_cut's bisection. The draw walks the block sums, then one
   block. Rows longer than 2048: rnn__sample_long. */
RNNDEF rnn_status rnn_sample(const float *logits, int n, float temperature, int top_k, float top_p,
                             rnn_rng *rng, int *token) {
    float w[RNN__SAMPLE_STACK], buf[RNN__SAMPLE_STACK], bs[RNN__SAMPLE_STACK / RNN__SBLOCK], mx, it, wlo, cw = 0.0f;
    uint32_t cut, top;
    const rnn__arch *A = rnn__best_arch();
    int i, j, nb, best = 0, bad = 0;
    double total = 0, u, acc = 0, kept = 0;
    if (!logits || !token || n <= 0 || !(temperature >= 0.0f) || temperature > 3.0e38f || top_k < 0 ||
        !(top_p > 0.0f && top_p <= 1.0f))
        return RNN_ERR_INVALID_ARGUMENT;
    mx = A->maxfin(logits, (size_t)n, &bad);
    if (bad) return RNN_ERR_INVALID_ARGUMENT;
    it = temperature > 0.0f ? 1.0f / temperature : 0.0f;
    if (temperature == 0.0f || n == 1 || it > 3.0e38f) {   /* the first of the largest (T 0, or so small 1/T overflows) */
        while (logits[best] != mx) best++;
        *token = best;
        return RNN_OK;
    }
    if (!rng) return RNN_ERR_INVALID_ARGUMENT;
    if (n > RNN__SAMPLE_STACK) {
        *token = rnn__sample_long(logits, n, mx, temperature, top_k, top_p, rng);
        return RNN_OK;
    }
    nb = (n + RNN__SBLOCK - 1) / RNN__SBLOCK;
    wlo = A->weigh(w, logits, (size_t)n, mx, it, bs);   /* every w in [wlo, 1]; the largest is 1 */
    memcpy(&cut, &wlo, 4);
    kept = n;
    top = 0x3F800001u;   /* the key above 1 */
    if (top_k > 0 && top_k < n) cut = rnn__sample_cut(A, w, n, 0, cut, kept, top, (double)top_k, buf, &kept);
    if (top_p < 1.0f) {   /* the largest cut whose mass reaches top_p of what top-k kept */
        if (top_k > 0 && top_k < n) {   /* (what it keeps: kept entries, total weight) */
            double c;
            memcpy(&cw, &cut, 4);
            A->tally(w, (size_t)n, cw, &total, &c);
        } else {
            for (j = 0; j < nb; j++) total += bs[j];
        }
        cut = rnn__sample_cut(A, w, n, 1, cut, kept, top, (double)top_p * total, buf, &kept);
    }
    memcpy(&cw, &cut, 4);
    if (cw > wlo) A->cutsum(w, (size_t)n, cw, bs);
    for (j = 0, total = 0; j < nb; j++) total += bs[j];
    u = ((double)(rnn_rng_u64(rng) >> 11) * (1.0 / 9007199254740992.0)) * total;
    for (j = 0; j < nb - 1 && u >= acc + bs[j]; j++) acc += bs[j];   /* the block, then the entry */
    for (i = j * RNN__SBLOCK; i < n && i < (j + 1) * RNN__SBLOCK; i++) {
        if (w[i] < cw || !(w[i] > 0.0f)) continue;
        acc += w[i];
        best = i;   /* (if rounding leaves u above the block's sum: its last entry) */
        if (u < acc) break;
    }
    *token = best;
    return RNN_OK;
}

RNNDEF void rnn_beam_result_free(rnn_beam_result *r) {
    if (!r) return;
    RNN_FREE(r->tokens);
    memset(r, 0, sizeof *r);
}

typedef struct { float sum; int from, token; } rnn__cand;

static float rnn__beam_score(float sum, int len, float alpha) {
    return alpha == 0.0f ? sum : sum / powf((float)(len > 0 ? len : 1), alpha);
}

/* Beam search's memory for (V, K, L, S): the one place that knows its
   layout. Live beams: states, tokens and sums twice (this step, the next);
   set aside: at most K per step (one end_token each) and 2K at the last
   step, so K·(L + 2) of them. */
typedef struct rnn__beam_plan {
    rnn__cand *cand;            /* [2K]         candidates, best first          */
    float *logp;                /* [K][V]       next-token log p of each beam   */
    float *sums, *sums2;        /* [K]          summed log p, now and next      */
    float *fin_sum, *fin_score; /* [K·(L+2)]    set aside: Σ log p, score       */
    int *toks, *toks2;          /* [K][L]       the beams' tokens, now and next */
    int *fin_len, *fin_done;    /* [K·(L+2)]    set aside: length, ended        */
    int *fin_toks;              /* [K·(L+2)][L] set aside: tokens               */
    unsigned char *st, *st2;    /* [K][S]       the beams' states, now and next */
    size_t bytes;
} rnn__beam_plan;

static void *rnn__at_byte(char *mem, size_t off) { return mem ? mem + off : NULL; }

static void rnn__beam_carve(int V, int K, int L, size_t S, char *mem, rnn__beam_plan *p) {
    size_t nf = (size_t)K * (L + 2), off = 0;
    p->cand = (rnn__cand *)rnn__at_byte(mem, off); off += sizeof(rnn__cand) * 2 * (size_t)K;
    p->logp = (float *)rnn__at_byte(mem, off); off += sizeof(float) * (size_t)K * V;
    p->sums = (float *)rnn__at_byte(mem, off); off += sizeof(float) * K;
    p->sums2 = (float *)rnn__at_byte(mem, off); off += sizeof(float) * K;
    p->fin_sum = (float *)rnn__at_byte(mem, off); off += sizeof(float) * nf;
    p->fin_score = (float *)rnn__at_byte(mem, off); off += sizeof(float) * nf;
    p->toks = (int *)rnn__at_byte(mem, off); off += sizeof(int) * (size_t)K * L;
    p->toks2 = (int *)rnn__at_byte(mem, off); off += sizeof(int) * (size_t)K * L;
    p->fin_len = (int *)rnn__at_byte(mem, off); off += sizeof(int) * nf;
    p->fin_done = (int *)rnn__at_byte(mem, off); off += sizeof(int) * nf;
    p->fin_toks = (int *)rnn__at_byte(mem, off); off += sizeof(int) * nf * L;
    p->st = (unsigned char *)rnn__at_byte(mem, off); off += (size_t)K * S;
    p->st2 = (unsigned char *)rnn__at_byte(mem, off); off += (size_t)K * S;
    p->bytes = off + 16;
}

/* A result of n rows of L tokens in one block (mem NULL: only the size):
   tokens, lengths, finished, the selection order, scores, log-probabilities. */
static size_t rnn__beam_result_carve(int n, int L, char *mem, rnn_beam_result *r, int **order) {
    size_t off = 0;
    r->tokens = (int *)rnn__at_byte(mem, off); off += sizeof(int) * (size_t)n * L;
    r->lengths = (int *)rnn__at_byte(mem, off); off += sizeof(int) * n;
    r->finished = (int *)rnn__at_byte(mem, off); off += sizeof(int) * n;
    *order = (int *)rnn__at_byte(mem, off); off += sizeof(int) * n;
    r->scores = (float *)rnn__at_byte(mem, off); off += sizeof(float) * n;
    r->logprobs = (float *)rnn__at_byte(mem, off); off += sizeof(float) * n;
    return off;
}

RNNDEF rnn_status rnn_beam_search(const rnn_beam_config *cfg, rnn_beam_step_fn step, void *user,
                                  rnn_beam_result *out) {
    int V, K, L, R, t, i, j, live = 1, nfin = 0;
    size_t S;
    rnn__beam_plan bp;
    unsigned char *st = NULL, *st2;
    float *logp, *sums, *fin_sum, *fin_score;
    int *toks, *toks2, *fin_toks, *fin_len, *fin_done;
    rnn__cand *cand = NULL;
    float *sums2;
    rnn_status status = RNN_OK;
    char *mem = NULL;
    if (!out) return RNN_ERR_INVALID_ARGUMENT;
    memset(out, 0, sizeof *out);
    if (!cfg || !step || cfg->vocab_size <= 0 || cfg->beam_width < 0 || cfg->max_length < 0 || cfg->num_results < 0 ||
        cfg->start_token < 0 || cfg->start_token >= cfg->vocab_size || cfg->end_token < -1 ||
        cfg->end_token >= cfg->vocab_size || !(cfg->length_alpha >= 0.0f) || (cfg->state_size && !cfg->initial_state))
        return RNN_ERR_INVALID_ARGUMENT;
    V = cfg->vocab_size;
    K = cfg->beam_width ? cfg->beam_width : 4;
    L = cfg->max_length ? cfg->max_length : 64;
    R = cfg->num_results ? cfg->num_results : 1;
    if (R > K) R = K;
    S = cfg->state_size;
    rnn__beam_carve(V, K, L, S, NULL, &bp);
    if (!(mem = (char *)RNN_MALLOC(bp.bytes))) return RNN_ERR_OUT_OF_MEMORY;
    rnn__beam_carve(V, K, L, S, mem, &bp);
    cand = bp.cand; logp = bp.logp; sums = bp.sums; sums2 = bp.sums2; fin_sum = bp.fin_sum;
    fin_score = bp.fin_score; toks = bp.toks; toks2 = bp.toks2; fin_len = bp.fin_len; fin_done = bp.fin_done;
    fin_toks = bp.fin_toks; st = bp.st; st2 = bp.st2;
    if (S) memcpy(st, cfg->initial_state, S);
    sums[0] = 0.0f;
    if ((status = step(user, st, cfg->start_token, logp)) != RNN_OK) goto done;
    for (t = 0; t < L && live > 0; t++) {
        int nc = 0, keep = 0;
        /* every extension of every live hypothesis, best K by summed log p */
        for (i = 0; i < live; i++) {
            for (j = 0; j < V; j++) {   /* log 0 = -inf marks an impossible token; NaN and +inf are errors */
                float x = logp[(size_t)i * V + j];
                if (x != x || x > 3.4e38f) { status = RNN_ERR_INVALID_ARGUMENT; goto done; }
            }
            for (j = 0; j < V; j++) {
                rnn__cand c;
                int k2;
                c.sum = sums[i] + logp[(size_t)i * V + j]; c.from = i; c.token = j;
                if (c.sum < -3.4e38f) continue;   /* probability 0 */
                /* insertion into a sorted list of at most K·V candidates, cut to what can still be kept */
                if (nc == K + K && c.sum <= cand[nc - 1].sum) continue;
                k2 = nc < K + K ? nc++ : nc - 1;
                while (k2 > 0 && cand[k2 - 1].sum < c.sum) { cand[k2] = cand[k2 - 1]; k2--; }
                cand[k2] = c;
            }
        }
        for (i = 0; i < nc && keep < K; i++) {
            rnn__cand c = cand[i];
            int len = t + 1;
            if (c.token == cfg->end_token || t == L - 1) {   /* set aside: ended, or out of length */
                int f = nfin++;
                memcpy(fin_toks + (size_t)f * L, toks + (size_t)c.from * L, sizeof(int) * (size_t)t);
                fin_toks[(size_t)f * L + t] = c.token;
                fin_len[f] = len;
                fin_sum[f] = c.sum;
                fin_done[f] = c.token == cfg->end_token;
                fin_score[f] = rnn__beam_score(c.sum, len, cfg->length_alpha);
                if (c.token == cfg->end_token) continue;
                if (t == L - 1) continue;
            }
            memcpy(toks2 + (size_t)keep * L, toks + (size_t)c.from * L, sizeof(int) * (size_t)t);
            toks2[(size_t)keep * L + t] = c.token;
            sums2[keep] = c.sum;
            if (S) memcpy(st2 + (size_t)keep * S, st + (size_t)c.from * S, S);
            keep++;
        }
        /* the survivors become the beam: advance each by its new token */
        { unsigned char *tp = st; st = st2; st2 = tp; }
        { int *tp = toks; toks = toks2; toks2 = tp; }
        { float *tp = sums; sums = sums2; sums2 = tp; }
        live = keep;
        for (i = 0; i < live; i++)
            if ((status = step(user, st + (size_t)i * S, toks[(size_t)i * L + t], logp + (size_t)i * V)) != RNN_OK)
                goto done;
    }
    /* the R best set-aside hypotheses by normalised score */
    if (nfin > 0) {   /* (none: every continuation had probability 0; count stays 0) */
        int take = nfin < R ? nfin : R, *order, k;
        char *res = (char *)RNN_MALLOC(rnn__beam_result_carve(take, L, NULL, out, &order));
        if (!res) { status = RNN_ERR_OUT_OF_MEMORY; goto done; }
        rnn__beam_result_carve(take, L, res, out, &order);
        for (k = 0; k < take; k++) {   /* selection: take is small */
            int bi = -1;
            for (i = 0; i < nfin; i++) {
                int used = 0, q;
                for (q = 0; q < k; q++) used |= order[q] == i;
                if (!used && (bi < 0 || fin_score[i] > fin_score[bi])) bi = i;
            }
            order[k] = bi;
            memcpy(out->tokens + (size_t)k * L, fin_toks + (size_t)bi * L, sizeof(int) * (size_t)L);
            out->lengths[k] = fin_len[bi];
            out->finished[k] = fin_done[bi];
            out->scores[k] = fin_score[bi];
            out->logprobs[k] = fin_sum[bi];
        }
        out->count = take;
    }
done:
    RNN_FREE(mem);
    return status;
}

/* ============================================================================
   Text: UTF-8, char vocabulary, batcher
   ========================================================================== */

RNNDEF int rnn_utf8_encode(uint32_t cp, char *out) {
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) { out[0] = (char)(0xC0 | cp >> 6); out[1] = (char)(0x80 | (cp & 63)); return 2; }
    if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12); out[1] = (char)(0x80 | (cp >> 6 & 63)); out[2] = (char)(0x80 | (cp & 63));
        return 3;
    }
    if (cp <= 0x10FFFF) {
        out[0] = (char)(0xF0 | cp >> 18); out[1] = (char)(0x80 | (cp >> 12 & 63));
        out[2] = (char)(0x80 | (cp >> 6 & 63)); out[3] = (char)(0x80 | (cp & 63));
        return 4;
    }
    return 0;
}

RNNDEF int rnn_utf8_decode(const char *s, size_t len, uint32_t *cp) {
    const unsigned char *u = (const unsigned char *)s;
    uint32_t c;
    int n, i;
    if (len == 0) return 0;
    if (u[0] < 0x80) { *cp = u[0]; return 1; }
    if (u[0] >= 0xC2 && u[0] <= 0xDF) { n = 2; c = u[0] & 0x1F; }
    else if (u[0] >= 0xE0 && u[0] <= 0xEF) { n = 3; c = u[0] & 0x0F; }
    else if (u[0] >= 0xF0 && u[0] <= 0xF4) { n = 4; c = u[0] & 0x07; }
    else return 0;
    if (len < (size_t)n) return 0;
    for (i = 1; i < n; i++) {
        if ((u[i] & 0xC0) != 0x80) return 0;
        c = c << 6 | (u[i] & 0x3F);
    }
    if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10FFFF)) || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return n;
}

static int rnn__cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The vocabulary's hash: UTF-8 keys, copied by stb_ds. */
static void rnn__vocab_init(rnn_vocab *v) {
    memset(v, 0, sizeof *v);
    stbds_sh_new_strdup(v->ids);
}

/* Gives every character its index as id (after the order of chars changed). */
static void rnn__vocab_reindex(rnn_vocab *v) {
    ptrdiff_t i;
    for (i = 0; i < stbds_arrlen(v->chars); i++) {
        char key[5] = {0};
        rnn_utf8_encode(v->chars[i], key);
        stbds_shput(v->ids, key, (int)i);
    }
}

/* Appends code point cp with the next id; 0 if it is already there. */
static int rnn__vocab_push(rnn_vocab *v, uint32_t cp) {
    char key[5] = {0};
    if (!rnn_utf8_encode(cp, key) || stbds_shgeti(v->ids, key) >= 0) return 0;
    stbds_shput(v->ids, key, (int)stbds_arrlen(v->chars));
    stbds_arrput(v->chars, cp);
    return 1;
}

RNNDEF rnn_status rnn_vocab_from_text(rnn_vocab *v, const char *text, size_t len, size_t *bad_offset) {
    size_t p = 0;
    if (!v || (!text && len)) return RNN_ERR_INVALID_ARGUMENT;
    rnn__vocab_init(v);
    while (p < len) {
        uint32_t cp;
        int n = rnn_utf8_decode(text + p, len - p, &cp);
        if (!n) {
            if (bad_offset) *bad_offset = p;
            rnn_vocab_free(v);
            return RNN_ERR_FORMAT;
        }
        rnn__vocab_push(v, cp);
        p += (size_t)n;
    }
    /* ids in code point order: the same text gives the same ids however it is ordered */
    if (v->chars) qsort(v->chars, (size_t)stbds_arrlen(v->chars), sizeof(uint32_t), rnn__cmp_u32);
    rnn__vocab_reindex(v);
    return RNN_OK;
}

RNNDEF void rnn_vocab_free(rnn_vocab *v) {
    if (!v) return;
    stbds_arrfree(v->chars);
    stbds_shfree(v->ids);
    v->chars = NULL;
    v->ids = NULL;
}

RNNDEF int rnn_vocab_size(const rnn_vocab *v) { return v ? (int)stbds_arrlen(v->chars) : 0; }

RNNDEF rnn_status rnn_vocab_encode(const rnn_vocab *v, const char *text, size_t len, int *ids,
                                   size_t cap, size_t *n, size_t *bad_offset) {
    size_t p = 0, k = 0;
    if (!v || (!text && len) || (!ids && cap)) return RNN_ERR_INVALID_ARGUMENT;
    while (p < len) {
        uint32_t cp;
        ptrdiff_t at;
        char key[5] = {0};
        rnn_vocab_entry *map = v->ids;   /* stb_ds lookups write their argument */
        int w = rnn_utf8_decode(text + p, len - p, &cp);
        if (!w) {
            if (bad_offset) *bad_offset = p;
            return RNN_ERR_FORMAT;
        }
        memcpy(key, text + p, (size_t)w);
        at = map ? stbds_shgeti(map, key) : -1;
        if (at < 0) {
            if (bad_offset) *bad_offset = p;
            return RNN_ERR_INVALID_ARGUMENT;
        }
        if (k < cap) ids[k] = v->ids[at].value;
        k++;
        p += (size_t)w;
    }
    if (n) *n = k;
    return RNN_OK;
}

RNNDEF size_t rnn_vocab_decode(const rnn_vocab *v, const int *ids, size_t n, char *out, size_t cap) {
    size_t i, k = 0;
    int size = rnn_vocab_size(v);
    for (i = 0; i < n; i++) {
        char buf[4];
        int w = rnn_utf8_encode(ids[i] >= 0 && ids[i] < size ? v->chars[ids[i]] : 0xFFFD, buf), j;
        for (j = 0; j < w; j++, k++)
            if (k + 1 < cap) out[k] = buf[j];
    }
    if (cap) out[k < cap ? k : cap - 1] = 0;
    return k;
}

RNNDEF size_t rnn_batcher_split(size_t n, float val_fraction) {
    if (!(val_fraction > 0.0f)) return n;
    if (val_fraction >= 1.0f) return 0;
    return n - (size_t)((double)n * val_fraction);
}

RNNDEF rnn_status rnn_batcher_init(rnn_batcher *bt, const int *data, size_t n, int T, int B) {
    if (!bt || !data || T <= 0 || B <= 0 || n < (size_t)B * (T + 1)) return RNN_ERR_INVALID_ARGUMENT;
    memset(bt, 0, sizeof *bt);
    bt->data = data; bt->n = n; bt->T = T; bt->B = B;
    bt->stream_len = (n - 1) / B;
    return RNN_OK;
}

RNNDEF int rnn_batcher_next(rnn_batcher *bt, int *inputs, int *targets, rnn_rng *rng) {
    int t, b, fresh = bt->pos == 0;
    if (bt->offset + bt->pos + bt->T > bt->stream_len) {   /* this epoch is used up */
        bt->epoch++;
        bt->pos = 0;
        bt->offset = rng && bt->stream_len > (size_t)bt->T + 1
                     ? (size_t)(rnn_rng_u64(rng) % (bt->stream_len - bt->T)) % (size_t)bt->T : 0;
        fresh = 1;
    }
    for (t = 0; t < bt->T; t++)
        for (b = 0; b < bt->B; b++) {
            size_t at = (size_t)b * bt->stream_len + bt->offset + bt->pos + t;
            inputs[t * bt->B + b] = bt->data[at];
            targets[t * bt->B + b] = bt->data[at + 1];
        }
    bt->pos += bt->T;
    return fresh;
}

/* ---- bucketing ------------------------------------------------------------ */

static int rnn__cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* A new epoch: shuffle, sort each run by length (key length << 32 | index),
   cut into batches, shuffle the batches. */
static void rnn__buckets_epoch(rnn_buckets *bk) {
    int i, run = 64 * bk->batch, nb = 0;
    for (i = bk->n - 1; i > 0; i--) {
        int j = (int)(rnn_rng_u64(&bk->rng) % (uint64_t)(i + 1)), t = bk->order[i];
        bk->order[i] = bk->order[j]; bk->order[j] = t;
    }
    for (i = 0; i < bk->n; i += run) {
        int m = bk->n - i < run ? bk->n - i : run, k;
        for (k = 0; k < m; k++) bk->keys[k] = (uint64_t)(uint32_t)bk->lengths[bk->order[i + k]] << 32 | (uint32_t)bk->order[i + k];
        qsort(bk->keys, (size_t)m, sizeof *bk->keys, rnn__cmp_u64);
        for (k = 0; k < m; k++) bk->order[i + k] = (int)(bk->keys[k] & 0xffffffffu);
        for (k = 0; k < m; k += bk->batch) bk->starts[nb++] = i + k;
    }
    bk->starts[nb] = bk->n;
    bk->nbatches = nb;
    for (i = 0; i < nb; i++) bk->perm[i] = i;
    for (i = nb - 1; i > 0; i--) {
        int j = (int)(rnn_rng_u64(&bk->rng) % (uint64_t)(i + 1)), t = bk->perm[i];
        bk->perm[i] = bk->perm[j]; bk->perm[j] = t;
    }
    bk->next = 0;
}

RNNDEF void rnn_buckets_free(rnn_buckets *bk) {
    if (!bk) return;
    RNN_FREE(bk->order); RNN_FREE(bk->starts); RNN_FREE(bk->perm); RNN_FREE(bk->keys);
    memset(bk, 0, sizeof *bk);
}

RNNDEF rnn_status rnn_buckets_init(rnn_buckets *bk, const int *lengths, int n, int batch, uint64_t seed) {
    int i, maxb;
    if (!bk) return RNN_ERR_INVALID_ARGUMENT;
    memset(bk, 0, sizeof *bk);
    if (!lengths || n <= 0 || batch <= 0) return RNN_ERR_INVALID_ARGUMENT;
    maxb = n / batch + n / (64 * batch) + 2;
    bk->order = (int *)RNN_MALLOC(sizeof(int) * (size_t)n);
    bk->keys = (uint64_t *)RNN_MALLOC(sizeof(uint64_t) * (size_t)n);
    bk->starts = (int *)RNN_MALLOC(sizeof(int) * (size_t)(maxb + 1));
    bk->perm = (int *)RNN_MALLOC(sizeof(int) * (size_t)maxb);
    if (!bk->order || !bk->keys || !bk->starts || !bk->perm) { rnn_buckets_free(bk); return RNN_ERR_OUT_OF_MEMORY; }
    bk->lengths = lengths; bk->n = n; bk->batch = batch;
    for (i = 0; i < n; i++) bk->order[i] = i;
    rnn_rng_seed(&bk->rng, seed);
    rnn__buckets_epoch(bk);
    return RNN_OK;
}

RNNDEF int rnn_buckets_next(rnn_buckets *bk, int *idx) {
    int b, k, cnt;
    if (!bk || !bk->order || !idx) return 0;
    b = bk->perm[bk->next++];
    cnt = bk->starts[b + 1] - bk->starts[b];
    for (k = 0; k < cnt; k++) idx[k] = bk->order[bk->starts[b] + k];
    if (bk->next == bk->nbatches) { bk->epoch++; rnn__buckets_epoch(bk); }
    return cnt;
}

/* ---- word vocabularies ------------------------------------------------------ */

#define RNN__WORD_MAX 128   /* a word's bytes, NUL included; longer words are cut at a character */

/* White space: ASCII's, NEL, NBSP, the U+2000 spaces, line and paragraph
   separators, the narrow and ideographic spaces, the BOM. */
static int rnn__is_space(uint32_t c) {
    return c == ' ' || (c >= 9 && c <= 13) || c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
           c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000 || c == 0xFEFF;
}

/* Punctuation: ASCII's but the apostrophe, Latin-1's (¡ § « ¶ · » ¿),
   General Punctuation but U+2019, CJK's and the full-width ASCII ones. */
static int rnn__is_punct(uint32_t c) {
    if (c < 128) return c != '\'' && ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126));
    return c == 0xA1 || c == 0xA7 || c == 0xAB || c == 0xB6 || c == 0xB7 || c == 0xBB || c == 0xBF ||
           (c >= 0x2010 && c <= 0x2027 && c != 0x2019) || (c >= 0x2030 && c <= 0x205E) || (c >= 0x3001 && c <= 0x3003) ||
           (c >= 0x3008 && c <= 0x3011) || (c >= 0xFF01 && c <= 0xFF0F);
}

/* Simple lower-casing: ASCII, Latin-1, Latin Extended-A, Greek, Cyrillic. */
static uint32_t rnn__lower(uint32_t c) {
    if (c >= 'A' && c <= 'Z') return c + 32;
    if (c < 0xC0) return c;
    if (c <= 0xDE) return c == 0xD7 ? c : c + 32;
    if (c == 0x130) return 'i';
    if ((c >= 0x100 && c <= 0x137 && c != 0x131) || (c >= 0x14A && c <= 0x177)) return c | 1;   /* upper even */
    if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) return c & 1 ? c + 1 : c;     /* upper odd  */
    if (c == 0x178) return 0xFF;
    if ((c >= 0x391 && c <= 0x3AB && c != 0x3A2) || (c >= 0x410 && c <= 0x42F)) return c + 32;
    if (c >= 0x400 && c <= 0x40F) return c + 80;
    return c;
}

/* The next token of text at *pos into buf [RNN__WORD_MAX] (NUL-ended,
   lower-cased unless keep_case): 1, or 0 at the end, or −1 for invalid
   UTF-8 at *pos. A word longer than the buffer is cut at a character. */
static int rnn__next_word(const rnn_words_config *k, const char *t, size_t len, size_t *pos, char *buf) {
    size_t p = *pos, b = 0;
    for (;;) {
        uint32_t c;
        int n = p < len ? rnn_utf8_decode(t + p, len - p, &c) : 0, punct;
        if (p < len && !n) { *pos = p; return -1; }
        punct = n && k->punct != RNN_PUNCT_KEEP && rnn__is_punct(c);
        if (!n || rnn__is_space(c) || punct) {
            if (b) { buf[b] = 0; *pos = p; return 1; }    /* a word ends before c */
            if (!n) { *pos = p; return 0; }
            p += (size_t)n;
            if (punct && k->punct == RNN_PUNCT_SPLIT) {   /* the mark is a token */
                b = (size_t)rnn_utf8_encode(c, buf);
                buf[b] = 0; *pos = p;
                return 1;
            }
            continue;
        }
        if (!k->keep_case) c = rnn__lower(c);
        if (b + 4 < RNN__WORD_MAX) b += (size_t)rnn_utf8_encode(c, buf + b);
        p += (size_t)n;
    }
}

typedef struct { char *key; long value; } rnn__count;

/* Most frequent first, ties in byte order: the same texts, the same ids. */
static int rnn__cmp_count(const void *a, const void *b) {
    const rnn__count *x = (const rnn__count *)a, *y = (const rnn__count *)b;
    if (x->value != y->value) return x->value > y->value ? -1 : 1;
    return strcmp(x->key, y->key);
}

RNNDEF void rnn_words_free(rnn_words *w) {
    ptrdiff_t i;
    if (!w) return;
    for (i = 0; i < stbds_arrlen(w->words); i++) RNN_FREE(w->words[i]);
    stbds_arrfree(w->words);
    stbds_arrfree(w->counts);
    stbds_shfree(w->ids);
}

RNNDEF int rnn_words_size(const rnn_words *w) { return w ? (int)stbds_arrlen(w->words) : 0; }

/* Appends a word with the next id (a copy). */
static int rnn__words_push(rnn_words *w, const char *word, long count) {
    size_t n = strlen(word);
    char *s = (char *)RNN_MALLOC(n + 1);
    if (!s) return 0;
    memcpy(s, word, n + 1);
    stbds_shput(w->ids, s, (int)stbds_arrlen(w->words));
    stbds_arrput(w->words, s);
    stbds_arrput(w->counts, count);
    return 1;
}

/* An empty vocabulary with the reserved four and the defaults filled in. */
static rnn_status rnn__words_init(rnn_words *w, const rnn_words_config *cfg) {
    static const char *reserved[RNN_WORDS_RESERVED] = {"<pad>", "<unk>", "<s>", "<e>"};
    int i;
    memset(w, 0, sizeof *w);
    if (cfg) w->cfg = *cfg;
    if (!w->cfg.min_count) w->cfg.min_count = 1;
    if (w->cfg.max_words < 0 || (w->cfg.max_words && w->cfg.max_words <= RNN_WORDS_RESERVED) || w->cfg.min_count < 0 ||
        (unsigned)w->cfg.punct > RNN_PUNCT_KEEP || (unsigned)w->cfg.keep_case > 1)
        return rnn__err(w->error, sizeof w->error, RNN_ERR_INVALID_ARGUMENT,
                        "words: max_words 0 or over %d, min_count >= 0, punct and keep_case known", RNN_WORDS_RESERVED);
    stbds_sh_new_strdup(w->ids);
    for (i = 0; i < RNN_WORDS_RESERVED; i++)
        if (!rnn__words_push(w, reserved[i], 0)) return RNN_ERR_OUT_OF_MEMORY;
    return RNN_OK;
}

RNNDEF rnn_status rnn_words_build(rnn_words *w, const rnn_words_config *cfg, const char *const *texts,
                                  const size_t *lens, int n) {
    rnn__count *counts = NULL, *sorted = NULL;
    rnn_status st;
    char word[RNN__WORD_MAX];
    ptrdiff_t i;
    int t;
    if (!w) return RNN_ERR_INVALID_ARGUMENT;
    if ((st = rnn__words_init(w, cfg)) != RNN_OK) { rnn_words_free(w); return st; }
    if (n < 0 || (n && (!texts || !lens))) {
        rnn_words_free(w);
        return rnn__err(w->error, sizeof w->error, RNN_ERR_INVALID_ARGUMENT, "words: n >= 0 texts and their lengths required");
    }
    stbds_sh_new_strdup(counts);
    for (t = 0; t < n; t++) {
        size_t p = 0;
        int r;
        while ((r = rnn__next_word(&w->cfg, texts[t], texts[t] ? lens[t] : 0, &p, word)) == 1) {
            ptrdiff_t at = stbds_shgeti(counts, word);
            if (at >= 0) counts[at].value++;
            else stbds_shput(counts, word, 1);
        }
        if (r < 0) {
            stbds_shfree(counts);
            rnn_words_free(w);
            return rnn__err(w->error, sizeof w->error, RNN_ERR_FORMAT, "words: text %d is not valid UTF-8 at byte %lu", t,
                            (unsigned long)p);
        }
    }
    for (i = 0; i < stbds_shlen(counts); i++)   /* a plain copy to sort: the hash keeps its own order */
        if (counts[i].value >= w->cfg.min_count && stbds_shgeti(w->ids, counts[i].key) < 0) stbds_arrput(sorted, counts[i]);
    if (sorted) qsort(sorted, (size_t)stbds_arrlen(sorted), sizeof *sorted, rnn__cmp_count);
    for (i = 0; i < stbds_arrlen(sorted) && (!w->cfg.max_words || rnn_words_size(w) < w->cfg.max_words); i++)
        if (!rnn__words_push(w, sorted[i].key, sorted[i].value)) { st = RNN_ERR_OUT_OF_MEMORY; break; }
    stbds_arrfree(sorted);
    stbds_shfree(counts);
    if (st != RNN_OK) { rnn_words_free(w); return rnn__err(w->error, sizeof w->error, st, "words: out of memory"); }
    return RNN_OK;
}

/* rnn_words_encode past the first `skip` words: *n counts the words after
   them, and the first cap of those are written. */
static rnn_status rnn__words_encode(const rnn_words *w, const char *text, size_t len, size_t skip, int *ids, size_t cap,
                                    size_t *n, size_t *bad_offset) {
    char word[RNN__WORD_MAX];
    size_t p = 0, k = 0;
    int r;
    rnn_vocab_entry *hash;   /* stb_ds's lookup writes its temporary through the pointer */
    if (n) *n = 0;
    if (!w || !w->words || (!text && len) || (!ids && cap)) return RNN_ERR_INVALID_ARGUMENT;
    hash = w->ids;
    while ((r = rnn__next_word(&w->cfg, text, len, &p, word)) == 1) {
        if (skip) { skip--; continue; }
        if (k < cap) {
            ptrdiff_t at = stbds_shgeti(hash, word);
            ids[k] = at >= 0 ? hash[at].value : RNN_UNK;
        }
        k++;
    }
    if (n) *n = k;
    if (r < 0) {
        if (bad_offset) *bad_offset = p;
        return RNN_ERR_FORMAT;
    }
    return RNN_OK;
}

RNNDEF rnn_status rnn_words_encode(const rnn_words *w, const char *text, size_t len, int *ids, size_t cap,
                                   size_t *n, size_t *bad_offset) {
    return rnn__words_encode(w, text, len, 0, ids, cap, n, bad_offset);
}

RNNDEF size_t rnn_words_decode(const rnn_words *w, const int *ids, size_t n, char *out, size_t cap) {
    size_t i, k = 0;
    int size = rnn_words_size(w);
    for (i = 0; i < n; i++) {
        const char *s;
        if (ids[i] == RNN_PAD) continue;
        s = ids[i] >= 0 && ids[i] < size ? w->words[ids[i]] : "<unk>";
        if (k && k + 1 < cap) out[k] = ' ';
        if (k) k++;
        for (; *s; s++, k++)
            if (k + 1 < cap) out[k] = *s;
    }
    if (cap) out[k < cap ? k : cap - 1] = 0;
    return k;
}

RNNDEF void rnn_pad_batch(const int *const *seqs, const int *lens, int B, int T, rnn_truncate keep, int *tokens,
                          int *lengths) {
    int b, t;
    for (b = 0; b < B; b++) {
        int n = lens[b] < T ? lens[b] : T, skip = keep == RNN_KEEP_LAST ? lens[b] - n : 0;
        if (n < 0) n = 0;
        for (t = 0; t < T; t++) tokens[t * B + b] = t < n ? seqs[b][skip + t] : RNN_PAD;
        lengths[b] = n;
    }
}


/* Replaces *slot by a copy of v, which must have size ids. */
static rnn_status rnn__set_vocab(rnn_vocab **slot, const rnn_vocab *v, int size, char *err, size_t cap) {
    rnn_vocab *nv;
    ptrdiff_t i;
    if (!v || rnn_vocab_size(v) != size)
        return rnn__err(err, cap, RNN_ERR_INVALID_ARGUMENT, "set_vocab: %d characters, vocab_size is %d",
                        rnn_vocab_size(v), size);
    if (!(nv = (rnn_vocab *)RNN_MALLOC(sizeof *nv)))
        return rnn__err(err, cap, RNN_ERR_OUT_OF_MEMORY, "set_vocab: out of memory");
    rnn__vocab_init(nv);
    for (i = 0; i < stbds_arrlen(v->chars); i++) stbds_arrput(nv->chars, v->chars[i]);
    rnn__vocab_reindex(nv);
    if (*slot) { rnn_vocab_free(*slot); RNN_FREE(*slot); }
    *slot = nv;
    return RNN_OK;
}

/* A model reads characters or words: setting one drops the other. */
static void rnn__drop_words(rnn_words **w) {
    if (*w) { rnn_words_free(*w); RNN_FREE(*w); *w = NULL; }
}

RNNDEF rnn_status rnn_lm_set_vocab(rnn_lm *m, const rnn_vocab *v) {
    rnn_status st;
    if (!m) return RNN_ERR_INVALID_ARGUMENT;
    if ((st = rnn__set_vocab(&m->vocab, v, m->cfg.vocab_size, m->error, sizeof m->error)) == RNN_OK) rnn__drop_words(&m->words);
    return st;
}

RNNDEF rnn_status rnn_clf_set_vocab(rnn_clf *c, const rnn_vocab *v) {
    rnn_status st;
    if (!c) return RNN_ERR_INVALID_ARGUMENT;
    if ((st = rnn__set_vocab(&c->vocab, v, c->cfg.vocab_size, c->error, sizeof c->error)) == RNN_OK) rnn__drop_words(&c->words);
    return st;
}

/* Replaces *slot by a copy of w (its words, counts and options). */
static rnn_status rnn__copy_words(rnn_words **slot, const rnn_words *w) {
    rnn_words *nw = (rnn_words *)RNN_MALLOC(sizeof *nw);
    ptrdiff_t i;
    if (!nw || rnn__words_init(nw, &w->cfg) != RNN_OK) { RNN_FREE(nw); return RNN_ERR_OUT_OF_MEMORY; }
    for (i = RNN_WORDS_RESERVED; i < stbds_arrlen(w->words); i++)
        if (!rnn__words_push(nw, w->words[i], w->counts[i])) { rnn_words_free(nw); RNN_FREE(nw); return RNN_ERR_OUT_OF_MEMORY; }
    if (*slot) { rnn_words_free(*slot); RNN_FREE(*slot); }
    *slot = nw;
    return RNN_OK;
}

/* Replaces *slot by a copy of w, which must have size ids, and drops the
   char vocabulary *chars: a model reads words or characters. */
static rnn_status rnn__set_words(rnn_words **slot, rnn_vocab **chars, const rnn_words *w, int size, char *err,
                                 size_t cap) {
    if (!w || rnn_words_size(w) != size)
        return rnn__err(err, cap, RNN_ERR_INVALID_ARGUMENT, "set_words: %d words, vocab_size is %d", rnn_words_size(w), size);
    if (rnn__copy_words(slot, w) != RNN_OK) return rnn__err(err, cap, RNN_ERR_OUT_OF_MEMORY, "set_words: out of memory");
    if (*chars) { rnn_vocab_free(*chars); RNN_FREE(*chars); *chars = NULL; }
    return RNN_OK;
}

RNNDEF rnn_status rnn_clf_set_words(rnn_clf *c, const rnn_words *w) {
    if (!c) return RNN_ERR_INVALID_ARGUMENT;
    return rnn__set_words(&c->words, &c->vocab, w, c->cfg.vocab_size, c->error, sizeof c->error);
}

RNNDEF rnn_status rnn_lm_set_words(rnn_lm *m, const rnn_words *w) {
    if (!m) return RNN_ERR_INVALID_ARGUMENT;
    return rnn__set_words(&m->words, &m->vocab, w, m->cfg.vocab_size, m->error, sizeof m->error);
}

RNNDEF rnn_status rnn_s2s_set_vocab(rnn_s2s *s, const rnn_vocab *src, const rnn_vocab *tgt) {
    rnn_status st = RNN_OK;
    if (!s) return RNN_ERR_INVALID_ARGUMENT;
    if (src) st = rnn__set_vocab(&s->src_text, src, s->cfg.src_vocab, s->error, sizeof s->error);
    if (st == RNN_OK && tgt) st = rnn__set_vocab(&s->tgt_text, tgt, s->cfg.tgt_vocab, s->error, sizeof s->error);
    return st;
}

/* ============================================================================
   I/O: safetensors files

   File: u64 little-endian N, then N bytes of JSON header, then the data.
   Header: {"__metadata__": {"key": "string", ...},
            "name": {"dtype": "F32", "shape": [d0, d1], "data_offsets": [b, e]}, ...}
   offsets relative to the data, which they must cover exactly, in any order.
   rnn.h's writer adds metadata "writer": "rnn.h" and "crc32": the CRC-32 of
   the header (with these 8 hex digits as "00000000") and the data. The
   reader verifies crc32 when present and requires it when writer says
   rnn.h: one flipped bit either changes the bytes the CRC covers (crc32
   intact) or the key "crc32" itself (then writer is intact and asks for it).
   ========================================================================== */

RNNDEF uint32_t rnn_crc32(uint32_t crc, const void *data, size_t n) {
    const unsigned char *p = (const unsigned char *)data;
    size_t i;
    int k;
    crc = ~crc;
    for (i = 0; i < n; i++) {
        crc ^= p[i];
        for (k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

/* A growing byte buffer. */
typedef struct { char *p; size_t n, cap; int oom; } rnn__buf;

static void rnn__put(rnn__buf *b, const void *s, size_t n) {
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        char *np;
        while (cap < b->n + n + 1) cap *= 2;
        np = (char *)RNN_REALLOC(b->p, cap);
        if (!np) { b->oom = 1; return; }
        b->p = np; b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}
static void rnn__puts(rnn__buf *b, const char *s) { rnn__put(b, s, strlen(s)); }

/* A JSON string literal: quotes, backslashes and control characters escaped. */
static void rnn__put_json_string(rnn__buf *b, const char *s, size_t n) {
    size_t i;
    rnn__put(b, "\"", 1);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"' || c == '\\') { esc[0] = '\\'; esc[1] = (char)c; rnn__put(b, esc, 2); }
        else if (c < 0x20) { snprintf(esc, sizeof esc, "\\u%04x", c); rnn__put(b, esc, 6); }
        else rnn__put(b, s + i, 1);
    }
    rnn__put(b, "\"", 1);
}

static char *rnn__strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = (char *)RNN_MALLOC(n);
    if (d) memcpy(d, s, n);
    return d;
}

#define RNN__FAIL(code, ...) do { st = rnn__err(err, errcap, code, __VA_ARGS__); goto fail; } while (0)

RNNDEF int rnn_st_dtype_size(const char *dtype) {
    static const char *const names[] = {"F64", "I64", "U64", "F32", "I32", "U32", "F16", "BF16",
                                        "I16", "U16", "I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2"};
    static const int sizes[] = {8, 8, 8, 4, 4, 4, 2, 2, 2, 2, 1, 1, 1, 1, 1};
    size_t i;
    for (i = 0; dtype && i < sizeof sizes / sizeof sizes[0]; i++)
        if (!strcmp(dtype, names[i])) return sizes[i];
    return 0;
}

static void rnn__st_free_entries(rnn_st_tensor *ts, rnn_st_meta *md) {
    ptrdiff_t i;
    for (i = 0; i < stbds_arrlen(ts); i++) RNN_FREE(ts[i].name);
    for (i = 0; i < stbds_arrlen(md); i++) { RNN_FREE(md[i].key); RNN_FREE(md[i].value); }
    stbds_arrfree(ts);
    stbds_arrfree(md);
}

/* ---- the writer ----------------------------------------------------------- */

static void rnn__st_refuse(rnn_st_writer *w, rnn_status code, const char *what, const char *name) {
    if (w->status != RNN_OK) return;
    w->status = rnn__err(w->error, sizeof w->error, code, "%s \"%.120s\"", what, name ? name : "(null)");
}

RNNDEF void rnn_st_put_meta(rnn_st_writer *w, const char *key, const char *value) {
    rnn_st_meta e;
    ptrdiff_t i;
    if (!key || !value || !strcmp(key, "writer") || !strcmp(key, "crc32"))
        { rnn__st_refuse(w, RNN_ERR_INVALID_ARGUMENT, "metadata key NULL or reserved:", key); return; }
    for (i = 0; i < stbds_arrlen(w->meta); i++)
        if (!strcmp(w->meta[i].key, key)) { rnn__st_refuse(w, RNN_ERR_INVALID_ARGUMENT, "metadata key given twice:", key); return; }
    memset(&e, 0, sizeof e);
    e.key = rnn__strdup(key);
    e.value = rnn__strdup(value);
    if (!e.key || !e.value) {
        RNN_FREE(e.key); RNN_FREE(e.value);
        rnn__st_refuse(w, RNN_ERR_OUT_OF_MEMORY, "out of memory at metadata", key);
        return;
    }
    stbds_arrput(w->meta, e);
}

/* rnn_st_put_tensor for a dtype of es bytes an element. */
static void rnn__st_put(rnn_st_writer *w, const char *name, const void *data, int ndim, const int *dims,
                        const char *dtype, int es) {
    rnn_st_tensor t;
    uint64_t count = 1;
    ptrdiff_t i;
    int d;
    if (!name || !strcmp(name, "__metadata__") || ndim < 0 || ndim > 8 || (ndim && !dims))
        { rnn__st_refuse(w, RNN_ERR_INVALID_ARGUMENT, "tensor name reserved or shape invalid:", name); return; }
    for (i = 0; i < stbds_arrlen(w->tensors); i++)
        if (!strcmp(w->tensors[i].name, name)) { rnn__st_refuse(w, RNN_ERR_INVALID_ARGUMENT, "tensor given twice:", name); return; }
    memset(&t, 0, sizeof t);
    for (d = 0; d < ndim; d++) {
        if (dims[d] < 0) { rnn__st_refuse(w, RNN_ERR_INVALID_ARGUMENT, "negative size in the shape of", name); return; }
        t.dims[d] = (uint64_t)dims[d];
        count *= t.dims[d];
    }
    if (count && !data) { rnn__st_refuse(w, RNN_ERR_INVALID_ARGUMENT, "no data for tensor", name); return; }
    if (!(t.name = rnn__strdup(name))) { rnn__st_refuse(w, RNN_ERR_OUT_OF_MEMORY, "out of memory at tensor", name); return; }
    snprintf(t.dtype, sizeof t.dtype, "%s", dtype);
    t.ndim = ndim;
    t.end = (uint64_t)es * count;   /* the size until rnn_st_save lays the data out */
    stbds_arrput(w->tensors, t);
    stbds_arrput(w->data, data);
}

RNNDEF void rnn_st_put_tensor(rnn_st_writer *w, const char *name, const float *data, int ndim,
                              const int *dims) {
    rnn__st_put(w, name, data, ndim, dims, "F32", 4);
}

RNNDEF void rnn_st_put_tensor_i8(rnn_st_writer *w, const char *name, const int8_t *data, int ndim,
                                 const int *dims) {
    rnn__st_put(w, name, data, ndim, dims, "I8", 1);
}

/* The tensors' data as little-endian bytes, 4 KiB at a time, into the CRC
   (f NULL) or into f (I8: as they are). 0 on a write error. */
static int rnn__st_emit(const rnn_st_writer *w, FILE *f, uint32_t *crc) {
    unsigned char buf[4096];
    ptrdiff_t i;
    for (i = 0; i < stbds_arrlen(w->tensors); i++) {
        const float *src = (const float *)w->data[i];
        size_t n = (size_t)(w->tensors[i].end - w->tensors[i].begin) / 4, j, k, q;
        if (!strcmp(w->tensors[i].dtype, "I8")) {
            n = (size_t)(w->tensors[i].end - w->tensors[i].begin);
            if (!f) *crc = rnn_crc32(*crc, w->data[i], n);
            else if (fwrite(w->data[i], 1, n, f) != n) return 0;
            continue;
        }
        for (j = 0; j < n; j += k) {
            k = n - j < sizeof buf / 4 ? n - j : sizeof buf / 4;
            for (q = 0; q < k; q++) {
                uint32_t u;
                memcpy(&u, src + j + q, 4);
                buf[4 * q] = (unsigned char)u; buf[4 * q + 1] = (unsigned char)(u >> 8);
                buf[4 * q + 2] = (unsigned char)(u >> 16); buf[4 * q + 3] = (unsigned char)(u >> 24);
            }
            if (!f) *crc = rnn_crc32(*crc, buf, 4 * k);
            else if (fwrite(buf, 1, 4 * k, f) != 4 * k) return 0;
        }
    }
    return 1;
}

RNNDEF rnn_status rnn_st_save(rnn_st_writer *w, const char *path) {
    rnn__buf hdr = {0, 0, 0, 0};
    uint64_t off = 0;
    size_t crcpos, hlen, plen;
    char num[96], *tmp = NULL, *err;
    unsigned char lenb[8];
    uint32_t crc;
    ptrdiff_t i;
    int d;
    FILE *f = NULL;
    rnn_status st = RNN_OK;
    size_t errcap;
    if (!w) return RNN_ERR_INVALID_ARGUMENT;
    err = w->error; errcap = sizeof w->error;
    if (w->status != RNN_OK) return w->status;
    if (!path) return rnn__err(err, errcap, RNN_ERR_INVALID_ARGUMENT, "no path");
    rnn__puts(&hdr, "{\"__metadata__\":{");
    for (i = 0; i < stbds_arrlen(w->meta); i++) {
        rnn__put_json_string(&hdr, w->meta[i].key, strlen(w->meta[i].key));
        rnn__puts(&hdr, ":");
        rnn__put_json_string(&hdr, w->meta[i].value, strlen(w->meta[i].value));
        rnn__puts(&hdr, ",");
    }
    rnn__puts(&hdr, "\"writer\":\"rnn.h\",\"crc32\":\"");
    crcpos = hdr.n;
    rnn__puts(&hdr, "00000000\"}");
    for (i = 0; i < stbds_arrlen(w->tensors); i++) {
        rnn_st_tensor *t = &w->tensors[i];
        uint64_t bytes = t->end - t->begin;
        rnn__puts(&hdr, ",");
        rnn__put_json_string(&hdr, t->name, strlen(t->name));
        rnn__puts(&hdr, ":{\"dtype\":\"");
        rnn__puts(&hdr, t->dtype);
        rnn__puts(&hdr, "\",\"shape\":[");
        for (d = 0; d < t->ndim; d++) {
            snprintf(num, sizeof num, d ? ",%llu" : "%llu", (unsigned long long)t->dims[d]);
            rnn__puts(&hdr, num);
        }
        t->begin = off; t->end = off + bytes;
        snprintf(num, sizeof num, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)t->begin,
                 (unsigned long long)t->end);
        rnn__puts(&hdr, num);
        off = t->end;
    }
    rnn__puts(&hdr, "}");
    while (hdr.n % 8) rnn__puts(&hdr, " ");   /* the data starts 8-aligned */
    if (hdr.oom) RNN__FAIL(RNN_ERR_OUT_OF_MEMORY, "out of memory for the header");
    hlen = hdr.n;
    for (d = 0; d < 8; d++) lenb[d] = (unsigned char)((uint64_t)hlen >> (8 * d));
    crc = rnn_crc32(0, hdr.p, hlen);
    rnn__st_emit(w, NULL, &crc);
    snprintf(num, sizeof num, "%08x", (unsigned)crc);
    memcpy(hdr.p + crcpos, num, 8);
    /* write beside the target, then rename over it */
    plen = strlen(path);
    if (!(tmp = (char *)RNN_MALLOC(plen + 8))) RNN__FAIL(RNN_ERR_OUT_OF_MEMORY, "out of memory");
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    if (!(f = fopen(tmp, "wb"))) RNN__FAIL(RNN_ERR_IO, "%.150s: cannot create", tmp);
    if (fwrite(lenb, 1, 8, f) != 8 || fwrite(hdr.p, 1, hlen, f) != hlen || !rnn__st_emit(w, f, NULL) ||
        fflush(f) != 0)
        st = RNN_ERR_IO;
#if defined(__unix__) || defined(__APPLE__)
    if (st == RNN_OK && fsync(fileno(f)) != 0) st = RNN_ERR_IO;
#elif defined(_WIN32)
    if (st == RNN_OK && _commit(_fileno(f)) != 0) st = RNN_ERR_IO;
#endif
    if (fclose(f) != 0) st = RNN_ERR_IO;
    f = NULL;
    if (st != RNN_OK) { remove(tmp); RNN__FAIL(RNN_ERR_IO, "%.150s: write failed (disk full?)", tmp); }
#ifdef _WIN32   /* rename() will not replace a file on Windows; this replaces it in one step */
    if (!MoveFileExA(tmp, path, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
#else
    if (rename(tmp, path) != 0)
#endif
    { remove(tmp); RNN__FAIL(RNN_ERR_IO, "%.150s: cannot rename over it", path); }
fail:
    RNN_FREE(tmp);
    RNN_FREE(hdr.p);
    return st;
}

RNNDEF void rnn_st_writer_free(rnn_st_writer *w) {
    if (!w) return;
    rnn__st_free_entries(w->tensors, w->meta);
    stbds_arrfree(w->data);
    w->tensors = NULL; w->meta = NULL; w->data = NULL;
}

/* ---- the reader: a JSON subset, bounded, trusting nothing --------------- */

typedef struct { const char *p, *end, *start; } rnn__js;

static void rnn__js_ws(rnn__js *j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}
static int rnn__js_eat(rnn__js *j, char c) {
    rnn__js_ws(j);
    if (j->p < j->end && *j->p == c) { j->p++; return 1; }
    return 0;
}
/* Four hex digits of a \u escape into *v; 0 if they are not. */
static int rnn__js_hex4(rnn__js *j, uint32_t *v) {
    int k;
    *v = 0;
    if (j->end - j->p < 4) return 0;
    for (k = 0; k < 4; k++) {
        char h = *j->p++;
        int x = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
        if (x < 0) return 0;
        *v = *v * 16 + (uint32_t)x;
    }
    return 1;
}

/* A string: *out gets it decoded (malloc'd, NUL-terminated), *raw and
   *rawlen its bytes between the quotes. 0 on malformed input. */
static int rnn__js_str(rnn__js *j, char **out, size_t *outlen, const char **raw, size_t *rawlen) {
    rnn__buf b = {0, 0, 0, 0};
    const char *s;
    rnn__js_ws(j);
    if (j->p >= j->end || *j->p != '"') return 0;
    s = ++j->p;
    while (j->p < j->end && *j->p != '"') {
        unsigned char c = (unsigned char)*j->p;
        if (c < 0x20) goto bad;
        if (c != '\\') { rnn__put(&b, j->p++, 1); continue; }
        if (++j->p >= j->end) goto bad;
        switch (*j->p++) {
        case '"': rnn__put(&b, "\"", 1); break;
        case '\\': rnn__put(&b, "\\", 1); break;
        case '/': rnn__put(&b, "/", 1); break;
        case 'b': rnn__put(&b, "\b", 1); break;
        case 'f': rnn__put(&b, "\f", 1); break;
        case 'n': rnn__put(&b, "\n", 1); break;
        case 'r': rnn__put(&b, "\r", 1); break;
        case 't': rnn__put(&b, "\t", 1); break;
        case 'u': {
            uint32_t cp, lo;
            int w;
            char u8[4];
            if (!rnn__js_hex4(j, &cp)) goto bad;
            if (cp >= 0xD800 && cp <= 0xDBFF) {   /* a surrogate pair */
                if (j->end - j->p < 2 || j->p[0] != '\\' || j->p[1] != 'u') goto bad;
                j->p += 2;
                if (!rnn__js_hex4(j, &lo) || lo < 0xDC00 || lo > 0xDFFF) goto bad;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) goto bad;
            if (cp == 0 || !(w = rnn_utf8_encode(cp, u8))) goto bad;
            rnn__put(&b, u8, (size_t)w);
            break;
        }
        default: goto bad;
        }
    }
    if (j->p >= j->end || b.oom) goto bad;
    if (raw) { *raw = s; *rawlen = (size_t)(j->p - s); }
    j->p++;
    if (!b.p) rnn__put(&b, "", 0);
    if (b.oom) goto bad;
    *out = b.p;
    if (outlen) *outlen = b.n;
    return 1;
bad:
    RNN_FREE(b.p);
    return 0;
}

/* A non-negative integer below 2^53. */
static int rnn__js_uint(rnn__js *j, uint64_t *v) {
    uint64_t x = 0;
    int digits = 0;
    rnn__js_ws(j);
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
        x = x * 10 + (uint64_t)(*j->p++ - '0');
        if (++digits > 15) return 0;
    }
    *v = x;
    return digits > 0;
}

/* Parses the header into f->tensors and f->meta (names and keys unique). */
static rnn_status rnn__st_parse_header(rnn_st_file *f, const char *h, size_t n) {
    rnn__js j;
    rnn_status st = RNN_OK;
    char *key = NULL, *err = f->error;
    size_t errcap = sizeof f->error;
    int first = 1;
    j.p = j.start = h; j.end = h + n;
    if (!rnn__js_eat(&j, '{')) RNN__FAIL(RNN_ERR_HEADER, "header: not a JSON object");
    while (!rnn__js_eat(&j, '}')) {
        if (!first && !rnn__js_eat(&j, ',')) RNN__FAIL(RNN_ERR_HEADER, "header: expected ',' at byte %ld", (long)(j.p - h));
        first = 0;
        if (!rnn__js_str(&j, &key, NULL, NULL, NULL) || !rnn__js_eat(&j, ':') || !rnn__js_eat(&j, '{'))
            RNN__FAIL(RNN_ERR_HEADER, "header: expected \"name\": { at byte %ld", (long)(j.p - h));
        if (!strcmp(key, "__metadata__")) {
            int f2 = 1;
            if (stbds_arrlen(f->meta)) RNN__FAIL(RNN_ERR_HEADER, "header: __metadata__ twice");
            while (!rnn__js_eat(&j, '}')) {
                rnn_st_meta m2;
                if (!f2 && !rnn__js_eat(&j, ',')) RNN__FAIL(RNN_ERR_HEADER, "header: metadata: expected ',' at byte %ld", (long)(j.p - h));
                f2 = 0;
                memset(&m2, 0, sizeof m2);
                if (!rnn__js_str(&j, &m2.key, NULL, NULL, NULL)) RNN__FAIL(RNN_ERR_HEADER, "header: metadata key at byte %ld", (long)(j.p - h));
                if (!rnn__js_eat(&j, ':') || !rnn__js_str(&j, &m2.value, NULL, &m2.raw, &m2.rawlen)) {
                    RNN_FREE(m2.key); RNN_FREE(m2.value);
                    RNN__FAIL(RNN_ERR_HEADER, "header: metadata values must be strings (byte %ld)", (long)(j.p - h));
                }
                stbds_arrput(f->meta, m2);
                if (rnn_st_meta_get(f, m2.key) != m2.value)
                    RNN__FAIL(RNN_ERR_HEADER, "header: metadata key \"%.60s\" twice", m2.key);
            }
            RNN_FREE(key); key = NULL;
        } else {
            rnn_st_tensor t, *tp;
            int seen = 0, f3 = 1;
            memset(&t, 0, sizeof t);
            if (rnn_st_find(f, key)) RNN__FAIL(RNN_ERR_HEADER, "header: tensor %.60s twice", key);
            t.name = key; key = NULL;
            stbds_arrput(f->tensors, t);
            tp = &f->tensors[stbds_arrlen(f->tensors) - 1];
            while (!rnn__js_eat(&j, '}')) {
                char *fld = NULL;
                if (!f3 && !rnn__js_eat(&j, ',')) RNN__FAIL(RNN_ERR_HEADER, "header: %.60s: expected ',' at byte %ld", tp->name, (long)(j.p - h));
                f3 = 0;
                if (!rnn__js_str(&j, &fld, NULL, NULL, NULL) || !rnn__js_eat(&j, ':')) {
                    RNN_FREE(fld);
                    RNN__FAIL(RNN_ERR_HEADER, "header: %.60s: expected a field at byte %ld", tp->name, (long)(j.p - h));
                }
                if (!strcmp(fld, "dtype") && !(seen & 1)) {
                    char *dt = NULL;
                    seen |= 1;
                    RNN_FREE(fld);
                    if (!rnn__js_str(&j, &dt, NULL, NULL, NULL)) RNN__FAIL(RNN_ERR_HEADER, "header: %.60s: dtype", tp->name);
                    snprintf(tp->dtype, sizeof tp->dtype, "%s", dt);
                    if (strlen(dt) >= sizeof tp->dtype) tp->dtype[0] = '?';
                    RNN_FREE(dt);
                } else if (!strcmp(fld, "shape") && !(seen & 2)) {
                    seen |= 2;
                    RNN_FREE(fld);
                    if (!rnn__js_eat(&j, '[')) RNN__FAIL(RNN_ERR_HEADER, "header: %.60s: shape", tp->name);
                    while (!rnn__js_eat(&j, ']')) {
                        if (tp->ndim && !rnn__js_eat(&j, ',')) RNN__FAIL(RNN_ERR_HEADER, "header: %.60s: shape", tp->name);
                        if (tp->ndim == 8 || !rnn__js_uint(&j, &tp->dims[tp->ndim]))
                            RNN__FAIL(RNN_ERR_HEADER, "header: %.60s: shape must be up to 8 sizes", tp->name);
                        tp->ndim++;
                    }
                } else if (!strcmp(fld, "data_offsets") && !(seen & 4)) {
                    seen |= 4;
                    RNN_FREE(fld);
                    if (!rnn__js_eat(&j, '[') || !rnn__js_uint(&j, &tp->begin) || !rnn__js_eat(&j, ',') ||
                        !rnn__js_uint(&j, &tp->end) || !rnn__js_eat(&j, ']'))
                        RNN__FAIL(RNN_ERR_HEADER, "header: %.60s: data_offsets must be [begin, end]", tp->name);
                } else {
                    RNN__FAIL(RNN_ERR_HEADER, "header: %.60s: unknown or repeated field \"%.40s\"", tp->name, (RNN_FREE(fld), "?"));
                }
            }
            if (seen != 7) RNN__FAIL(RNN_ERR_HEADER, "header: %.60s: needs dtype, shape and data_offsets", tp->name);
        }
    }
    rnn__js_ws(&j);
    if (j.p != j.end) RNN__FAIL(RNN_ERR_HEADER, "header: bytes after the JSON object");
    return RNN_OK;
fail:
    RNN_FREE(key);
    return st;
}

static int rnn__cmp_begin(const void *a, const void *b) {
    const rnn_st_tensor *x = *(const rnn_st_tensor *const *)a, *y = *(const rnn_st_tensor *const *)b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

/* Checks everything of a file image b[size] that does not need a model. */
static rnn_status rnn__st_check(rnn_st_file *f, const unsigned char *b, size_t size) {
    rnn_st_tensor **order = NULL;
    uint64_t hlen = 0, covered = 0;
    ptrdiff_t i, nt;
    rnn_status st = RNN_OK;
    char *err = f->error;
    size_t errcap = sizeof f->error;
    const char *s;
    int k;
    if (!b && size) RNN__FAIL(RNN_ERR_INVALID_ARGUMENT, "no bytes");
    if (size < 8) RNN__FAIL(RNN_ERR_TRUNCATED, "not a safetensors file: %lu bytes, too short for a header length",
                            (unsigned long)size);
    for (k = 7; k >= 0; k--) hlen = hlen << 8 | b[k];
    /* a safetensors header is a JSON object: it starts with '{' */
    if (hlen > 100000000u || (size > 8 && b[8] != '{'))
        RNN__FAIL(RNN_ERR_HEADER, "not a safetensors file: its first 8 bytes give a header length of %llu%s",
                  (unsigned long long)hlen, size > 8 && b[8] != '{' ? " and no '{' follows" : " (over the 100 MB limit)");
    if (hlen > size - 8) RNN__FAIL(RNN_ERR_TRUNCATED, "header of %llu bytes, the file has %lu after the length (truncated?)",
                                   (unsigned long long)hlen, (unsigned long)(size - 8));
    if ((st = rnn__st_parse_header(f, (const char *)b + 8, (size_t)hlen)) != RNN_OK) goto fail;
    f->data = b + 8 + hlen;
    f->data_size = size - 8 - hlen;
    /* every dtype known, every tensor's bytes matching its shape, inside the data */
    nt = stbds_arrlen(f->tensors);
    for (i = 0; i < nt; i++) {
        rnn_st_tensor *t = &f->tensors[i];
        uint64_t count = 1;
        int d, es = rnn_st_dtype_size(t->dtype);
        if (!es) RNN__FAIL(RNN_ERR_DTYPE, "tensor %.60s: unknown dtype \"%s\"", t->name, t->dtype);
        for (d = 0; d < t->ndim; d++) {
            if (t->dims[d] > ((uint64_t)1 << 32)) RNN__FAIL(RNN_ERR_OFFSETS, "tensor %.60s: dimension too large", t->name);
            count *= t->dims[d];
            if (count > ((uint64_t)1 << 40)) RNN__FAIL(RNN_ERR_OFFSETS, "tensor %.60s: too large", t->name);
        }
        if (t->end < t->begin || t->end - t->begin != (uint64_t)es * count)
            RNN__FAIL(RNN_ERR_OFFSETS, "tensor %.60s: offsets [%llu, %llu] do not hold its %llu %s values", t->name,
                      (unsigned long long)t->begin, (unsigned long long)t->end, (unsigned long long)count, t->dtype);
        if (t->end > f->data_size)
            RNN__FAIL(RNN_ERR_TRUNCATED, "tensor %.60s ends at data byte %llu, the file has %llu", t->name,
                      (unsigned long long)t->end, (unsigned long long)f->data_size);
        stbds_arrput(order, t);
    }
    /* the data covered exactly once */
    if (nt) qsort(order, (size_t)nt, sizeof *order, rnn__cmp_begin);
    for (i = 0; i < nt; i++) {
        if (order[i]->begin != covered)
            RNN__FAIL(RNN_ERR_OFFSETS, "tensor %.60s starts at data byte %llu: %s", order[i]->name,
                      (unsigned long long)order[i]->begin, order[i]->begin < covered ? "it overlaps another" : "a hole before it");
        covered = order[i]->end;
    }
    if (covered != f->data_size)
        RNN__FAIL(RNN_ERR_OFFSETS, "%llu bytes after the last tensor", (unsigned long long)(f->data_size - covered));
    /* the checksum: verified when present, required when rnn.h wrote the file */
    for (i = 0; i < stbds_arrlen(f->meta); i++) {
        const rnn_st_meta *md = &f->meta[i];
        char *copy;
        uint32_t want = 0, got;
        size_t pos = (size_t)(md->raw - (const char *)b - 8);
        if (strcmp(md->key, "crc32") != 0) continue;
        if (md->rawlen != 8) RNN__FAIL(RNN_ERR_CHECKSUM, "crc32 is not 8 hex digits");
        for (k = 0; k < 8; k++) {
            char h = md->raw[k];
            if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f'))) RNN__FAIL(RNN_ERR_CHECKSUM, "crc32 is not 8 hex digits");
            want = want << 4 | (uint32_t)(h <= '9' ? h - '0' : h - 'a' + 10);
        }
        if (!(copy = (char *)RNN_MALLOC((size_t)hlen))) RNN__FAIL(RNN_ERR_OUT_OF_MEMORY, "out of memory");
        memcpy(copy, b + 8, (size_t)hlen);
        memcpy(copy + pos, "00000000", 8);
        got = rnn_crc32(rnn_crc32(0, copy, (size_t)hlen), f->data, (size_t)f->data_size);
        RNN_FREE(copy);
        if (got != want) RNN__FAIL(RNN_ERR_CHECKSUM, "CRC-32 is %08x, the file says %08x", (unsigned)got, (unsigned)want);
        f->checksummed = 1;
    }
    if (!f->checksummed && (s = rnn_st_meta_get(f, "writer")) && !strncmp(s, "rnn.h", 5))
        RNN__FAIL(RNN_ERR_CHECKSUM, "rnn.h wrote this file, but its crc32 is missing");
fail:
    stbds_arrfree(order);
    return st;
}

RNNDEF rnn_status rnn_st_open_memory(rnn_st_file *f, const void *bytes, size_t size) {
    rnn_status st;
    if (!f) return RNN_ERR_INVALID_ARGUMENT;
    memset(f, 0, sizeof *f);
    st = rnn__st_check(f, (const unsigned char *)bytes, size);
    if (st != RNN_OK) {   /* keep only the message */
        char msg[sizeof f->error];
        memcpy(msg, f->error, sizeof msg);
        rnn_st_close(f);
        memcpy(f->error, msg, sizeof msg);
    }
    return st;
}

RNNDEF rnn_status rnn_st_open(rnn_st_file *f, const char *path) {
    FILE *fp;
    long n = -1;
    unsigned char *buf;
    rnn_status st;
    int c;
    if (!f) return RNN_ERR_INVALID_ARGUMENT;
    memset(f, 0, sizeof *f);
    if (!path) return rnn__err(f->error, sizeof f->error, RNN_ERR_INVALID_ARGUMENT, "no path");
    errno = 0;
    if (!(fp = fopen(path, "rb"))) {
        const char *why = strerror(errno);
#ifdef _WIN32   /* Windows refuses to open a directory ("Permission denied"); say what it is */
        DWORD a = GetFileAttributesA(path);
        if (a != INVALID_FILE_ATTRIBUTES && (a & FILE_ATTRIBUTE_DIRECTORY)) why = "Is a directory";
#endif
        return rnn__err(f->error, sizeof f->error, RNN_ERR_IO, "%.150s: %s", path, why);
    }
    /* one byte first: a directory opens, but does not read */
    errno = 0;
    if ((c = fgetc(fp)) == EOF && ferror(fp)) {
        int e = errno;
        fclose(fp);
        return rnn__err(f->error, sizeof f->error, RNN_ERR_IO, "%.150s: %s", path, e ? strerror(e) : "cannot read");
    }
    if (fseek(fp, 0, SEEK_END) != 0 || (n = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) != 0) {
        fclose(fp);
        return rnn__err(f->error, sizeof f->error, RNN_ERR_IO, "%.150s: cannot size (not a regular file?)", path);
    }
    if (!(buf = (unsigned char *)RNN_MALLOC((size_t)n + 1))) {
        fclose(fp);
        return rnn__err(f->error, sizeof f->error, RNN_ERR_OUT_OF_MEMORY, "%.150s: no memory for its %ld bytes", path, n);
    }
    if (fread(buf, 1, (size_t)n, fp) != (size_t)n) {
        int e = errno;
        fclose(fp);
        RNN_FREE(buf);
        return rnn__err(f->error, sizeof f->error, RNN_ERR_IO, "%.150s: %s", path, e ? strerror(e) : "read error");
    }
    fclose(fp);
    st = rnn_st_open_memory(f, buf, (size_t)n);
    if (st == RNN_OK) f->own = buf;
    else RNN_FREE(buf);
    return st;
}

RNNDEF void rnn_st_close(rnn_st_file *f) {
    if (!f) return;
    rnn__st_free_entries(f->tensors, f->meta);
    RNN_FREE(f->own);
    memset(f, 0, sizeof *f);
}

RNNDEF const char *rnn_st_meta_get(const rnn_st_file *f, const char *key) {
    ptrdiff_t i;
    for (i = 0; f && key && i < stbds_arrlen(f->meta); i++)
        if (!strcmp(f->meta[i].key, key)) return f->meta[i].value;
    return NULL;
}

RNNDEF const rnn_st_tensor *rnn_st_find(const rnn_st_file *f, const char *name) {
    ptrdiff_t i;
    for (i = 0; f && name && i < stbds_arrlen(f->tensors); i++)
        if (!strcmp(f->tensors[i].name, name)) return &f->tensors[i];
    return NULL;
}

/* IEEE half to float: exact (every half is a float), subnormals included. */
static float rnn__half_to_float(unsigned h) {
    uint32_t s = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 31, mant = h & 1023, u;
    float x;
    if (e == 0) { x = ldexpf((float)mant, -24); return s ? -x : x; }
    u = s | (e == 31 ? 0x7F800000u : (e + 112) << 23) | mant << 13;
    memcpy(&x, &u, 4);
    return x;
}

/* The tensor name, checked to have shape dims[0..ndim); *count its elements. */
static rnn_status rnn__st_shaped(rnn_st_file *f, const char *name, int ndim, const int *dims,
                                 const rnn_st_tensor **out, size_t *count) {
    const rnn_st_tensor *t;
    rnn_status st = RNN_OK;
    char *err = f->error;
    size_t errcap = sizeof f->error;
    int d;
    *count = 1;
    if (!(t = rnn_st_find(f, name))) RNN__FAIL(RNN_ERR_SHAPE, "tensor %.60s is missing", name);
    if (t->ndim != ndim) RNN__FAIL(RNN_ERR_SHAPE, "tensor %.60s has %d dimensions, the model needs %d", name, t->ndim, ndim);
    for (d = 0; d < ndim; d++) {
        if (t->dims[d] != (uint64_t)dims[d])
            RNN__FAIL(RNN_ERR_SHAPE, "tensor %.60s: dimension %d is %llu, the model needs %d", name, d,
                      (unsigned long long)t->dims[d], dims[d]);
        *count *= (size_t)dims[d];
    }
    *out = t;
fail:
    return st;
}

RNNDEF rnn_status rnn_st_read_i8(rnn_st_file *f, const char *name, int ndim, const int *dims, int8_t *dst) {
    const rnn_st_tensor *t = NULL;
    rnn_status st;
    size_t count;
    if (!f || !name || (ndim && !dims) || !dst) return RNN_ERR_INVALID_ARGUMENT;
    if ((st = rnn__st_shaped(f, name, ndim, dims, &t, &count)) != RNN_OK) return st;
    if (strcmp(t->dtype, "I8") != 0)
        return rnn__err(f->error, sizeof f->error, RNN_ERR_DTYPE, "tensor %.60s is %s, not I8", name, t->dtype);
    memcpy(dst, f->data + t->begin, count);
    return RNN_OK;
}

RNNDEF rnn_status rnn_st_read(rnn_st_file *f, const char *name, int ndim, const int *dims, float *dst) {
    const rnn_st_tensor *t = NULL;
    const unsigned char *q;
    rnn_status st = RNN_OK;
    char *err;
    size_t i, count, errcap;
    int es;
    if (!f || !name || (ndim && !dims) || !dst) return RNN_ERR_INVALID_ARGUMENT;
    err = f->error; errcap = sizeof f->error;
    if ((st = rnn__st_shaped(f, name, ndim, dims, &t, &count)) != RNN_OK) return st;
    es = rnn_st_dtype_size(t->dtype);
    q = f->data + t->begin;
    if (!strcmp(t->dtype, "F32")) {
        for (i = 0; i < count; i++, q += 4) {
            uint32_t u = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
            memcpy(dst + i, &u, 4);
        }
    } else if (!strcmp(t->dtype, "F16")) {
        for (i = 0; i < count; i++, q += 2) dst[i] = rnn__half_to_float((unsigned)q[0] | (unsigned)q[1] << 8);
    } else if (!strcmp(t->dtype, "BF16")) {
        for (i = 0; i < count; i++, q += 2) {
            uint32_t u = ((uint32_t)q[0] | (uint32_t)q[1] << 8) << 16;
            memcpy(dst + i, &u, 4);
        }
    } else {
        RNN__FAIL(RNN_ERR_DTYPE, "tensor %.60s is %s (%d bytes each); rnn.h reads F32, F16 and BF16 as floats%s", name,
                  t->dtype, es, strcmp(t->dtype, "I8") ? "" : " (I8: int8 weights, with NAME.scale beside)");
    }
    if (!rnn__finite(dst, count)) RNN__FAIL(RNN_ERR_FORMAT, "tensor %.60s holds NaN or infinity", name);
fail:
    return st;
}

/* ============================================================================
   I/O: the language model's checkpoint
   ========================================================================== */

static const char *rnn__cell_names[] = {"lstm", "tanh", "relu", "lstm", "gru", "gru_cho"};
static const char *rnn__opt_names[] = {"adam", "sgd", "adamw", "rmsprop"};

static void rnn__meta_num(rnn_st_writer *w, const char *key, double v, int integer) {
    char num[48];
    if (integer) snprintf(num, sizeof num, "%lld", (long long)v);
    else snprintf(num, sizeof num, "%.9g", v);
    rnn_st_put_meta(w, key, num);
}

/* A parameter's tensor: [rows, cols], or [rows] for a vector. */
static void rnn__put_param(rnn_st_writer *w, const char *name, const rnn_param *p, const float *data) {
    int dims[2];
    dims[0] = p->rows; dims[1] = p->cols;
    rnn_st_put_tensor(w, name, data, p->cols ? 2 : 1, dims);
}

/* Metadata key (the models' "vocab"): a JSON array of one-character strings (v NULL: none).
   vj holds the text until the file is written. */
static void rnn__put_vocab(rnn_st_writer *w, const char *key, const rnn_vocab *v, rnn__buf *vj) {
    ptrdiff_t i;
    if (!v) return;
    rnn__puts(vj, "[");
    for (i = 0; i < stbds_arrlen(v->chars); i++) {
        char ch[4];
        int n = rnn_utf8_encode(v->chars[i], ch);
        if (i) rnn__puts(vj, ",");
        rnn__put_json_string(vj, ch, (size_t)n);
    }
    rnn__puts(vj, "]");
    if (vj->oom) rnn__st_refuse(w, RNN_ERR_OUT_OF_MEMORY, "out of memory at", key);
    else rnn_st_put_meta(w, key, vj->p);
}

static const char *rnn__punct_names[] = {"drop", "split", "keep"};

/* Metadata "words": a JSON array of the words in id order (w NULL: none),
   and the options that cut text into them: words_punct, words_keep_case,
   words_max, words_min_count. wj holds the text until the file is written. */
static void rnn__put_words(rnn_st_writer *w, const rnn_words *v, rnn__buf *wj) {
    ptrdiff_t i;
    if (!v) return;
    rnn__puts(wj, "[");
    for (i = 0; i < stbds_arrlen(v->words); i++) {
        if (i) rnn__puts(wj, ",");
        rnn__put_json_string(wj, v->words[i], strlen(v->words[i]));
    }
    rnn__puts(wj, "]");
    if (wj->oom) rnn__st_refuse(w, RNN_ERR_OUT_OF_MEMORY, "out of memory at", "words");
    else rnn_st_put_meta(w, "words", wj->p);
    rnn_st_put_meta(w, "words_punct", rnn__punct_names[v->cfg.punct]);
    rnn__meta_num(w, "words_keep_case", v->cfg.keep_case, 1);
    rnn__meta_num(w, "words_max", v->cfg.max_words, 1);
    rnn__meta_num(w, "words_min_count", v->cfg.min_count, 1);
}

/* The optimizer's settings and step as metadata, its moments as tensors
   "optim.m.NAME", "optim.v.NAME" for the registry it was made for, and the
   model's dropout generator. */
static void rnn__put_optimizer(rnn_st_writer *w, const rnn_optimizer *opt, const rnn_param *params,
                               const rnn_rng *rng) {
    const rnn_optimizer_config *c = &opt->cfg;
    ptrdiff_t i;
    size_t o;
    int which;
    char num[32];
    rnn_st_put_meta(w, "optim_kind", rnn__opt_names[c->kind]);
    rnn__meta_num(w, "optim_lr", c->lr, 0);
    rnn__meta_num(w, "optim_momentum", c->momentum, 0);
    rnn__meta_num(w, "optim_beta1", c->beta1, 0);
    rnn__meta_num(w, "optim_beta2", c->beta2, 0);
    rnn__meta_num(w, "optim_eps", c->eps, 0);
    rnn__meta_num(w, "optim_weight_decay", c->weight_decay, 0);
    rnn__meta_num(w, "optim_clip_norm", c->clip_norm, 0);
    rnn__meta_num(w, "optim_clip_value", c->clip_value, 0);
    rnn__meta_num(w, "optim_lr_decay", c->lr_decay, 0);
    rnn__meta_num(w, "optim_alpha", c->alpha, 0);
    rnn__meta_num(w, "optim_centered", c->centered, 1);
    rnn__meta_num(w, "optim_step", (double)opt->t, 1);
    snprintf(num, sizeof num, "%llu", (unsigned long long)rng->state);
    rnn_st_put_meta(w, "rng", num);
    for (which = 0; which < (opt->a ? 3 : 2); which++)   /* m, v (and RMSprop's a) */
        for (i = 0, o = 0; i < stbds_arrlen(params); o += params[i].count, i++) {
            char nm[96];
            snprintf(nm, sizeof nm, "optim.%c.%s", "mva"[which], params[i].name);
            rnn__put_param(w, nm, &params[i], (which == 2 ? opt->a : which ? opt->v : opt->m) + o);
        }
}

/* Refuses to save NaN weights, or an optimizer made for another model. */
static rnn_status rnn__save_check(const rnn_param *params, const rnn_optimizer *opt, char *err, size_t cap) {
    ptrdiff_t i, np = stbds_arrlen(params);
    size_t total = 0;
    for (i = 0; i < np; i++) total += params[i].count;
    if (opt && opt->n != 0 && opt->n != total)
        return rnn__err(err, cap, RNN_ERR_INVALID_ARGUMENT, "save: the optimizer holds %lu values, the model %lu",
                        (unsigned long)opt->n, (unsigned long)total);
    for (i = 0; i < np; i++)   /* diverged weights are never written over a good file */
        if (!rnn__finite(params[i].value, params[i].count))
            return rnn__err(err, cap, RNN_ERR_INVALID_ARGUMENT,
                            "save: %s holds NaN or infinity (training diverged?); nothing written", params[i].name);
    return RNN_OK;
}

RNNDEF rnn_status rnn_lm_save(rnn_lm *m, const rnn_optimizer *opt, const char *path) {
    rnn_st_writer w;
    rnn__buf vj = {0, 0, 0, 0}, wj = {0, 0, 0, 0};
    ptrdiff_t i, np;
    rnn_status st;
    signed char *q8 = NULL;
    size_t nq = 0;
    if (!m || !path) return RNN_ERR_INVALID_ARGUMENT;
    np = stbds_arrlen(m->params);
    if (m->q8 && opt)
        return rnn__err(m->error, sizeof m->error, RNN_ERR_INVALID_ARGUMENT,
                        "save: an int8 model has no training state; save it with opt NULL");
    if ((st = rnn__save_check(m->params, opt, m->error, sizeof m->error)) != RNN_OK) return st;
    for (i = 0; m->q8 && i < np; i++) nq += m->params[i].cols ? m->params[i].count : 0;
    if (nq && !(q8 = (signed char *)RNN_MALLOC(nq)))
        return rnn__err(m->error, sizeof m->error, RNN_ERR_OUT_OF_MEMORY, "save: out of memory");
    memset(&w, 0, sizeof w);
    rnn_st_put_meta(&w, "format", "rnn.h");
    rnn_st_put_meta(&w, "model", "lm");
    if (m->q8) rnn_st_put_meta(&w, "quantized", "int8");
    rnn_st_put_meta(&w, "cell", rnn__cell_names[m->cfg.cell]);
    rnn__meta_num(&w, "vocab_size", m->cfg.vocab_size, 1);
    rnn__meta_num(&w, "embed_size", m->cfg.embed_size, 1);
    rnn__meta_num(&w, "hidden_size", m->cfg.hidden_size, 1);
    rnn__meta_num(&w, "num_layers", m->cfg.num_layers, 1);
    rnn__meta_num(&w, "dropout", m->cfg.dropout, 0);
    rnn__meta_num(&w, "freeze_embedding", m->cfg.freeze_embedding, 1);
    rnn__put_vocab(&w, "vocab", m->vocab, &vj);
    rnn__put_words(&w, m->words, &wj);
    for (i = 0, nq = 0; i < np; i++) {
        const rnn_param *p = &m->params[i];
        if (m->q8 && p->cols) {   /* int8: NAME as I8, NAME.scale as F32 [rows] */
            char nm[96];
            int dims[2];
            dims[0] = p->rows; dims[1] = p->cols;
            rnn__q8_unpack(&m->q8->mat[i], q8 + nq);
            rnn_st_put_tensor_i8(&w, p->name, (const int8_t *)(q8 + nq), 2, dims);
            snprintf(nm, sizeof nm, "%s.scale", p->name);
            rnn_st_put_tensor(&w, nm, m->q8->mat[i].scale, 1, dims);
            nq += p->count;
        } else {
            rnn__put_param(&w, p->name, p, p->value);
        }
    }
    if (opt) {
        rnn__put_optimizer(&w, opt, m->params, &m->rng);
        if (m->state_batch > 0) {
            int dims[3];
            dims[0] = m->rnn->cfg.num_layers; dims[1] = m->state_batch; dims[2] = m->cfg.hidden_size;
            rnn_st_put_tensor(&w, "state.h", m->h, 3, dims);
            if (m->cfg.cell == RNN_LSTM) rnn_st_put_tensor(&w, "state.c", m->c, 3, dims);
        }
    }
    st = rnn_st_save(&w, path);
    if (st != RNN_OK) snprintf(m->error, sizeof m->error, "save: %.150s", w.error);
    rnn_st_writer_free(&w);
    RNN_FREE(vj.p);
    RNN_FREE(wj.p);
    RNN_FREE(q8);
    return st;
}

/* A decimal integer in [lo, hi] from metadata; 0 if absent or bad. */
static int rnn__meta_int(const rnn_st_file *f, const char *key, long lo, long hi, long *v) {
    const char *s = rnn_st_meta_get(f, key);
    char *end;
    long x;
    if (!s || !*s) return 0;
    x = strtol(s, &end, 10);
    if (*end || x < lo || x > hi) return 0;
    *v = x;
    return 1;
}
static int rnn__meta_float(const rnn_st_file *f, const char *key, float *v) {
    const char *s = rnn_st_meta_get(f, key);
    char *end;
    double x;
    if (!s || !*s) return 0;
    x = strtod(s, &end);
    if (*end || !(x == x) || x > 3.0e38 || x < -3.0e38) return 0;
    *v = (float)x;
    return 1;
}

/* One size of the config: from metadata key if there, else dimension dim
   of tensor name (a file saved from a PyTorch module). */
static rnn_status rnn__lm_size(rnn_st_file *f, const char *key, const char *name, int dim, long hi, int *out) {
    const rnn_st_tensor *t;
    long v;
    if (rnn_st_meta_get(f, key)) {
        if (!rnn__meta_int(f, key, 1, hi, &v))
            return rnn__err(f->error, sizeof f->error, RNN_ERR_METADATA, "metadata: %s is not a number in 1..%ld", key, hi);
    } else {
        if (!(t = rnn_st_find(f, name)) || t->ndim != 2)
            return rnn__err(f->error, sizeof f->error, RNN_ERR_SHAPE,
                            "no %s in the metadata, and no 2-D tensor %s to read it from", key, name);
        if (t->dims[dim] < 1 || t->dims[dim] > (uint64_t)hi)
            return rnn__err(f->error, sizeof f->error, RNN_ERR_SHAPE, "tensor %s: size %llu is outside 1..%ld", name,
                            (unsigned long long)t->dims[dim], hi);
        v = (long)t->dims[dim];
    }
    *out = (int)v;
    return RNN_OK;
}

/* The config from metadata where given, else from the tensors' shapes. */
static rnn_status rnn__lm_config(rnn_st_file *f, rnn_lm_config *lc) {
    const char *s;
    char *err = f->error;
    size_t errcap = sizeof f->error;
    rnn_status st = RNN_OK;
    char nm[40];
    int k, gh = 0;
    memset(lc, 0, sizeof *lc);
    if ((s = rnn_st_meta_get(f, "format")) && strcmp(s, "rnn.h") != 0)
        RNN__FAIL(RNN_ERR_METADATA, "metadata: format is \"%.40s\", not \"rnn.h\"", s);
    if ((s = rnn_st_meta_get(f, "model")) && strcmp(s, "lm") != 0)
        RNN__FAIL(RNN_ERR_METADATA, "metadata: the file holds model \"%.40s\", not a language model (\"lm\")", s);
    if ((st = rnn__lm_size(f, "vocab_size", "embedding.weight", 0, 16777216, &lc->vocab_size)) != RNN_OK ||
        (st = rnn__lm_size(f, "embed_size", "embedding.weight", 1, 65536, &lc->embed_size)) != RNN_OK ||
        (st = rnn__lm_size(f, "hidden_size", "rnn.weight_hh_l0", 1, 65536, &lc->hidden_size)) != RNN_OK)
        goto fail;
    if (rnn_st_meta_get(f, "num_layers")) {
        long v;
        if (!rnn__meta_int(f, "num_layers", 1, 64, &v)) RNN__FAIL(RNN_ERR_METADATA, "metadata: num_layers is not a number in 1..64");
        lc->num_layers = (int)v;
    } else {
        for (k = 0; k < 64; k++) {
            snprintf(nm, sizeof nm, "rnn.weight_ih_l%d", k);
            if (!rnn_st_find(f, nm)) break;
        }
        if (!(lc->num_layers = k)) RNN__FAIL(RNN_ERR_SHAPE, "tensor rnn.weight_ih_l0 is missing");
    }
    if (rnn_st_find(f, "rnn.weight_ih_l0_reverse"))
        RNN__FAIL(RNN_ERR_SHAPE, "rnn.weight_ih_l0_reverse: a language model is unidirectional");
    if ((s = rnn_st_meta_get(f, "cell"))) {
        for (k = RNN_TANH; k <= RNN_GRU_CHO; k++)
            if (!strcmp(s, rnn__cell_names[k])) lc->cell = (rnn_cell)k;
        if (lc->cell == RNN_CELL_DEFAULT) RNN__FAIL(RNN_ERR_METADATA, "metadata: unknown cell \"%.20s\"", s);
    } else {   /* PyTorch's cells by gate count */
        const rnn_st_tensor *t = rnn_st_find(f, "rnn.weight_hh_l0");
        if (t && t->ndim == 2) gh = (int)(t->dims[0] <= 1u << 20 ? t->dims[0] : 0);
        lc->cell = gh == 4 * lc->hidden_size ? RNN_LSTM : gh == 3 * lc->hidden_size ? RNN_GRU
                 : gh == lc->hidden_size ? RNN_TANH : RNN_CELL_DEFAULT;
        if (lc->cell == RNN_CELL_DEFAULT)
            RNN__FAIL(RNN_ERR_SHAPE, "rnn.weight_hh_l0 has %d rows: not 1, 3 or 4 times hidden_size %d", gh, lc->hidden_size);
    }
    if (rnn_st_meta_get(f, "dropout") && (!rnn__meta_float(f, "dropout", &lc->dropout) || !(lc->dropout >= 0 && lc->dropout < 1)))
        RNN__FAIL(RNN_ERR_METADATA, "metadata: dropout must be in [0, 1)");
    if (rnn_st_meta_get(f, "freeze_embedding")) {
        long v;
        if (!rnn__meta_int(f, "freeze_embedding", 0, 1, &v)) RNN__FAIL(RNN_ERR_METADATA, "metadata: freeze_embedding must be 0 or 1");
        lc->freeze_embedding = (int)v;
    }
fail:
    return st;
}

/* The vocabulary: metadata "vocab", a JSON array of `size` distinct
   one-character strings, into a new *out (the caller frees it, also after
   a failure). */
static rnn_status rnn__st_vocab(rnn_st_file *f, const char *s, int size, rnn_vocab **out) {
    rnn__js j;
    rnn_vocab *voc;
    char *err = f->error;
    size_t errcap = sizeof f->error;
    rnn_status st = RNN_OK;
    int first = 1;
    if (!(voc = (rnn_vocab *)RNN_MALLOC(sizeof *voc))) RNN__FAIL(RNN_ERR_OUT_OF_MEMORY, "out of memory");
    rnn__vocab_init(voc);
    *out = voc;
    j.p = j.start = s; j.end = s + strlen(s);
    if (!rnn__js_eat(&j, '[')) RNN__FAIL(RNN_ERR_METADATA, "metadata: vocab is not a JSON array");
    while (!rnn__js_eat(&j, ']')) {
        char *tok = NULL;
        size_t tl = 0;
        uint32_t cp;
        int fresh;
        if (!first && !rnn__js_eat(&j, ',')) RNN__FAIL(RNN_ERR_METADATA, "metadata: vocab: expected ','");
        first = 0;
        if (!rnn__js_str(&j, &tok, &tl, NULL, NULL)) RNN__FAIL(RNN_ERR_METADATA, "metadata: vocab: bad string");
        fresh = tl > 0 && rnn_utf8_decode(tok, tl, &cp) == (int)tl && rnn_vocab_size(voc) < size &&
                rnn__vocab_push(voc, cp);
        RNN_FREE(tok);
        if (!fresh) RNN__FAIL(RNN_ERR_METADATA, "metadata: vocab entry %d is not one new character", rnn_vocab_size(voc));
    }
    rnn__js_ws(&j);
    if (j.p != j.end || rnn_vocab_size(voc) != size)
        RNN__FAIL(RNN_ERR_METADATA, "metadata: vocab has %d entries, vocab_size is %d", rnn_vocab_size(voc), size);
fail:
    return st;
}

/* The word vocabulary: metadata "words", a JSON array of `size` distinct
   words beginning with the reserved four, and its options, into a new
   *out (the caller frees it, also after a failure). */
static rnn_status rnn__st_words(rnn_st_file *f, const char *s, int size, rnn_words **out) {
    rnn__js j;
    rnn_words_config wc;
    rnn_words *w;
    char *err = f->error;
    size_t errcap = sizeof f->error;
    rnn_status st = RNN_OK;
    const char *p = rnn_st_meta_get(f, "words_punct");
    long v;
    int first = 1, k;
    memset(&wc, 0, sizeof wc);
    for (k = 0; p && k <= RNN_PUNCT_KEEP && strcmp(p, rnn__punct_names[k]); k++) {}
    if (!p || k > RNN_PUNCT_KEEP) RNN__FAIL(RNN_ERR_METADATA, "metadata: words_punct is missing or not drop, split, keep");
    wc.punct = (rnn_punct)k;
    if (!rnn__meta_int(f, "words_keep_case", 0, 1, &v)) RNN__FAIL(RNN_ERR_METADATA, "metadata: words_keep_case is not 0 or 1");
    wc.keep_case = (int)v;
    if (!rnn__meta_int(f, "words_max", 0, 16777216, &v) || (v && v <= RNN_WORDS_RESERVED))
        RNN__FAIL(RNN_ERR_METADATA, "metadata: words_max is not 0 or a number above %d", RNN_WORDS_RESERVED);
    wc.max_words = (int)v;
    if (!rnn__meta_int(f, "words_min_count", 0, 1L << 30, &v)) RNN__FAIL(RNN_ERR_METADATA, "metadata: words_min_count is bad");
    wc.min_count = (int)v;
    if (!(w = (rnn_words *)RNN_MALLOC(sizeof *w))) RNN__FAIL(RNN_ERR_OUT_OF_MEMORY, "out of memory");
    *out = w;
    if (rnn__words_init(w, &wc) != RNN_OK) RNN__FAIL(RNN_ERR_OUT_OF_MEMORY, "out of memory");
    j.p = j.start = s; j.end = s + strlen(s);
    if (!rnn__js_eat(&j, '[')) RNN__FAIL(RNN_ERR_METADATA, "metadata: words is not a JSON array");
    for (k = 0; !rnn__js_eat(&j, ']'); k++) {
        char *word = NULL;
        size_t wl = 0;
        int fresh;
        if (!first && !rnn__js_eat(&j, ',')) RNN__FAIL(RNN_ERR_METADATA, "metadata: words: expected ','");
        first = 0;
        if (!rnn__js_str(&j, &word, &wl, NULL, NULL)) RNN__FAIL(RNN_ERR_METADATA, "metadata: words: bad string");
        if (k < RNN_WORDS_RESERVED) fresh = !strcmp(word, w->words[k]);   /* the reserved four, in place */
        else fresh = wl > 0 && wl < RNN__WORD_MAX && strlen(word) == wl && rnn_words_size(w) < size &&
                     stbds_shgeti(w->ids, word) < 0 && rnn__words_push(w, word, 0);
        RNN_FREE(word);
        if (!fresh) RNN__FAIL(RNN_ERR_METADATA, "metadata: words entry %d is not a new word (or a reserved one out of place)", k);
    }
    rnn__js_ws(&j);
    if (j.p != j.end || rnn_words_size(w) != size)
        RNN__FAIL(RNN_ERR_METADATA, "metadata: words has %d entries, vocab_size is %d", rnn_words_size(w), size);
fail:
    return st;
}

/* The optimizer's settings, step and moments for the registry params, and
   the model's dropout generator rng. */
static rnn_status rnn__st_optimizer(rnn_st_file *f, rnn_param *params, rnn_rng *rng, rnn_optimizer **optp) {
    rnn_optimizer_config oc;
    rnn_optimizer *opt = NULL;
    char *err = f->error, *end;
    size_t errcap = sizeof f->error, o = 0;
    rnn_status st = RNN_OK;
    const char *s = rnn_st_meta_get(f, "optim_kind");
    long long step;
    long centered = 0;
    ptrdiff_t i;
    int k, which;
    memset(&oc, 0, sizeof oc);
    for (k = 0; k < 4; k++) if (!strcmp(s, rnn__opt_names[k])) oc.kind = (rnn_optimizer_kind)k;
    if (strcmp(s, rnn__opt_names[oc.kind]) != 0) RNN__FAIL(RNN_ERR_METADATA, "metadata: unknown optimizer \"%.20s\"", s);
    if (!rnn__meta_float(f, "optim_lr", &oc.lr) || !rnn__meta_float(f, "optim_momentum", &oc.momentum) ||
        !rnn__meta_float(f, "optim_beta1", &oc.beta1) || !rnn__meta_float(f, "optim_beta2", &oc.beta2) ||
        !rnn__meta_float(f, "optim_eps", &oc.eps) || !rnn__meta_float(f, "optim_weight_decay", &oc.weight_decay) ||
        !rnn__meta_float(f, "optim_clip_norm", &oc.clip_norm) || !rnn__meta_float(f, "optim_clip_value", &oc.clip_value) ||
        !rnn__meta_float(f, "optim_lr_decay", &oc.lr_decay) || !(s = rnn_st_meta_get(f, "optim_step")))
        RNN__FAIL(RNN_ERR_METADATA, "metadata: optimizer settings missing or bad");
    if ((rnn_st_meta_get(f, "optim_alpha") && !rnn__meta_float(f, "optim_alpha", &oc.alpha)) ||
        (rnn_st_meta_get(f, "optim_centered") && !rnn__meta_int(f, "optim_centered", 0, 1, &centered)))
        RNN__FAIL(RNN_ERR_METADATA, "metadata: optim_alpha or optim_centered is bad");   /* older files: absent */
    oc.centered = (int)centered;
    step = strtoll(s, &end, 10);
    if (*end || step < 0) RNN__FAIL(RNN_ERR_METADATA, "metadata: optim_step is not a count");
    if (rnn_optimizer_create(&opt, &oc, params) != RNN_OK) RNN__FAIL(RNN_ERR_METADATA, "metadata: optimizer settings out of range");
    opt->t = step;
    for (which = 0; which < (opt->a ? 3 : 2); which++)
        for (i = 0, o = 0; i < stbds_arrlen(params); o += params[i].count, i++) {
            const rnn_param *p = &params[i];
            char nm[96];
            int dims[2];
            dims[0] = p->rows; dims[1] = p->cols;
            snprintf(nm, sizeof nm, "optim.%c.%s", "mva"[which], p->name);
            if ((st = rnn_st_read(f, nm, p->cols ? 2 : 1, dims, (which == 2 ? opt->a : which ? opt->v : opt->m) + o)) != RNN_OK)
                goto fail;
        }
    if ((s = rnn_st_meta_get(f, "rng"))) rng->state = (uint64_t)strtoull(s, &end, 10);
    *optp = opt;
    return RNN_OK;
fail:
    rnn_optimizer_free(opt);
    return st;
}

/* The LM's optimizer and the training state it carries between windows. */
static rnn_status rnn__lm_optimizer(rnn_st_file *f, rnn_lm *m, rnn_optimizer **optp) {
    const rnn_st_tensor *th;
    char *err = f->error;
    size_t errcap = sizeof f->error;
    rnn_status st;
    rnn_optimizer *opt = NULL;
    if ((st = rnn__st_optimizer(f, m->params, &m->rng, &opt)) != RNN_OK) return st;
    th = rnn_st_find(f, "state.h");
    if (th && th->ndim == 3 && th->dims[0] == (uint64_t)m->cfg.num_layers && th->dims[2] == (uint64_t)m->cfg.hidden_size &&
        th->dims[1] >= 1 && th->dims[1] <= 65536) {
        int dims[3];
        size_t LBH = (size_t)m->cfg.num_layers * th->dims[1] * m->cfg.hidden_size;
        float *nh = (float *)RNN_MALLOC(2 * LBH * sizeof(float));
        if (!nh) RNN__FAIL(RNN_ERR_OUT_OF_MEMORY, "out of memory");
        memset(nh, 0, 2 * LBH * sizeof(float));
        m->h = nh; m->c = nh + LBH; m->state_batch = (int)th->dims[1];
        dims[0] = m->cfg.num_layers; dims[1] = m->state_batch; dims[2] = m->cfg.hidden_size;
        if ((st = rnn_st_read(f, "state.h", 3, dims, m->h)) != RNN_OK) goto fail;
        if (m->cfg.cell == RNN_LSTM && (st = rnn_st_read(f, "state.c", 3, dims, m->c)) != RNN_OK) goto fail;
    }
    *optp = opt;
    return RNN_OK;
fail:
    rnn_optimizer_free(opt);
    return st;
}

/* Reads every parameter of a registry from the tensor of its name (int8:
   only the vectors, the matrices being I8), and freezes the ones metadata
   "frozen" names (a JSON array of names). */
static rnn_status rnn__st_params(rnn_st_file *f, rnn_param *params, int int8) {
    ptrdiff_t i;
    rnn_status st;
    const char *s;
    for (i = 0; i < stbds_arrlen(params); i++) {
        const rnn_param *p = &params[i];
        int dims[2];
        if (int8 && p->cols) continue;
        dims[0] = p->rows; dims[1] = p->cols;
        if ((st = rnn_st_read(f, p->name, p->cols ? 2 : 1, dims, p->value)) != RNN_OK) return st;
    }
    if ((s = rnn_st_meta_get(f, "frozen"))) {
        rnn__js j;
        int first = 1;
        j.p = j.start = s; j.end = s + strlen(s);
        if (!rnn__js_eat(&j, '['))
            return rnn__err(f->error, sizeof f->error, RNN_ERR_METADATA, "metadata: frozen is not a JSON array");
        while (!rnn__js_eat(&j, ']')) {
            char *name = NULL;
            size_t nl = 0;
            int ok = (first || rnn__js_eat(&j, ',')) && rnn__js_str(&j, &name, &nl, NULL, NULL) && name &&
                     rnn_params_freeze(params, name, 1) == RNN_OK;
            first = 0;
            RNN_FREE(name);
            if (!ok) return rnn__err(f->error, sizeof f->error, RNN_ERR_METADATA, "metadata: frozen names a parameter the model lacks");
        }
    }
    return RNN_OK;
}

/* An int8 checkpoint's matrix i: its I8 rows and F32 NAME.scale, checked
   (-128 and negative or huge scales are not what rnn.h writes). */
typedef struct rnn__q8_file { rnn_st_file *f; const rnn_lm *m; } rnn__q8_file;
static rnn_status rnn__q8_rows_file(void *ctx, int i, signed char *rows, float *scale) {
    const rnn__q8_file *c = (const rnn__q8_file *)ctx;
    const rnn_param *p = &c->m->params[i];
    rnn_st_file *f = c->f;
    rnn_status st;
    char nm[96];
    int dims[2];
    size_t j, n = (size_t)p->rows * p->cols;
    dims[0] = p->rows; dims[1] = p->cols;
    if ((st = rnn_st_read_i8(f, p->name, 2, dims, (int8_t *)rows)) != RNN_OK) return st;
    snprintf(nm, sizeof nm, "%s.scale", p->name);
    if ((st = rnn_st_read(f, nm, 1, dims, scale)) != RNN_OK) return st;
    for (j = 0; j < n; j++)
        if (rows[j] == -128)
            return rnn__err(f->error, sizeof f->error, RNN_ERR_FORMAT, "tensor %.60s holds -128; int8 weights are -127..127", p->name);
    for (j = 0; j < (size_t)p->rows; j++)
        if (!(scale[j] >= 0.0f && scale[j] <= 2.0e36f))
            return rnn__err(f->error, sizeof f->error, RNN_ERR_FORMAT, "tensor %.60s: scale %g is outside 0..2e36", nm, scale[j]);
    return RNN_OK;
}

/* 1 if the file holds an int8 model: metadata "quantized" (which must say
   int8), else an I8 embedding. -1: a "quantized" rnn.h cannot read. */
static int rnn__st_int8(rnn_st_file *f) {
    const char *s = rnn_st_meta_get(f, "quantized");
    const rnn_st_tensor *t = rnn_st_find(f, "embedding.weight");
    if (s) return strcmp(s, "int8") ? -1 : 1;
    return t && !strcmp(t->dtype, "I8");
}

RNNDEF rnn_status rnn_lm_from_st(rnn_lm **out, rnn_optimizer **optp, rnn_st_file *f) {
    rnn_lm *m = NULL;
    rnn_optimizer *opt = NULL;
    rnn_lm_config lc;
    rnn_status st;
    const char *s;
    int int8;
    if (out) *out = NULL;
    if (optp) *optp = NULL;
    if (!out || !f) return RNN_ERR_INVALID_ARGUMENT;
    if ((st = rnn__lm_config(f, &lc)) != RNN_OK) return st;
    if ((int8 = rnn__st_int8(f)) < 0)
        return rnn__err(f->error, sizeof f->error, RNN_ERR_METADATA, "metadata: quantized is \"%.20s\"; rnn.h reads \"int8\"",
                        rnn_st_meta_get(f, "quantized"));
    if ((st = rnn_lm_create(&m, &lc, 0)) != RNN_OK)
        return rnn__err(f->error, sizeof f->error, st, "cannot create the model: %s", rnn_strerror(st));
    if ((st = rnn__st_params(f, m->params, int8)) != RNN_OK) goto fail;
    if (int8) {
        rnn__q8_file c;
        c.f = f; c.m = m;
        f->error[0] = 0;
        if ((st = rnn__lm_q8_build(m, rnn__q8_rows_file, &c, NULL)) != RNN_OK) {
            if (!f->error[0]) rnn__err(f->error, sizeof f->error, st, "int8 weights: %s", rnn_strerror(st));
            goto fail;
        }
    }
    if ((s = rnn_st_meta_get(f, "vocab")) && (st = rnn__st_vocab(f, s, lc.vocab_size, &m->vocab)) != RNN_OK) goto fail;
    if ((s = rnn_st_meta_get(f, "words")) && (st = rnn__st_words(f, s, lc.vocab_size, &m->words)) != RNN_OK) goto fail;
    if (optp && !int8 && rnn_st_meta_get(f, "optim_kind") && (st = rnn__lm_optimizer(f, m, &opt)) != RNN_OK) goto fail;
    *out = m;
    if (optp) *optp = opt;
    return RNN_OK;
fail:
    rnn_lm_free(m);
    return st;
}

/* Runs the adapter on an opened file and hands its message on. */
/* Every model's load: open the file (path, or bytes in memory), read the
   model with its rnn_*_from_st (through an adapter taking the model's
   slot as void *), copy the file's message to err on failure, close. */
typedef rnn_status (*rnn__from_st_fn)(void *out, rnn_optimizer **opt, rnn_st_file *f);
static rnn_status rnn__load(rnn__from_st_fn from, void *out, rnn_optimizer **opt, const char *path, const void *bytes,
                            size_t size, char *err, size_t errcap) {
    rnn_st_file f;
    rnn_status st;
    if (opt) *opt = NULL;
    if (err && errcap) err[0] = 0;
    st = path ? rnn_st_open(&f, path) : rnn_st_open_memory(&f, bytes, size);
    if (st == RNN_OK) st = from(out, opt, &f);
    if (st != RNN_OK && err && errcap) snprintf(err, errcap, "%s", f.error);
    rnn_st_close(&f);
    return st;
}

static rnn_status rnn__lm_from(void *out, rnn_optimizer **opt, rnn_st_file *f) {
    return rnn_lm_from_st((rnn_lm **)out, opt, f);
}

RNNDEF rnn_status rnn_lm_load_memory(rnn_lm **out, rnn_optimizer **opt, const void *bytes, size_t size,
                                     char *err, size_t errcap) {
    if (out) *out = NULL;
    if (!out || !bytes) return RNN_ERR_INVALID_ARGUMENT;
    return rnn__load(rnn__lm_from, out, opt, NULL, bytes, size, err, errcap);
}

RNNDEF rnn_status rnn_lm_load(rnn_lm **out, rnn_optimizer **opt, const char *path, char *err, size_t errcap) {
    if (out) *out = NULL;
    if (!out || !path) return RNN_ERR_INVALID_ARGUMENT;
    return rnn__load(rnn__lm_from, out, opt, path, NULL, 0, err, errcap);
}
/* ============================================================================
   I/O: the classifier's checkpoint
   ========================================================================== */

static const char *rnn__pool_names[] = {"attention", "last", "mean", "max", "attention"};

/* A config's integer field: its metadata key (the field's name), offset,
   range, and whether a file may leave it out (then 0: the default; for
   fields newer than some files). */
typedef struct rnn__int_field { const char *key; size_t off; long lo, hi; int optional; } rnn__int_field;

/* Writes a config's integer fields as metadata. */
static void rnn__put_ints(rnn_st_writer *w, const rnn__int_field *t, int n, const void *cfg) {
    int k;
    for (k = 0; k < n; k++) rnn__meta_num(w, t[k].key, *(const int *)((const char *)cfg + t[k].off), 1);
}

/* Reads a config's integer fields from metadata, each within its range. */
static rnn_status rnn__read_ints(rnn_st_file *f, const rnn__int_field *t, int n, void *cfg) {
    int k;
    for (k = 0; k < n; k++) {
        long v = 0;
        if (t[k].optional && !rnn_st_meta_get(f, t[k].key)) {
            *(int *)((char *)cfg + t[k].off) = 0;
            continue;
        }
        if (!rnn__meta_int(f, t[k].key, t[k].lo, t[k].hi, &v))
            return rnn__err(f->error, sizeof f->error, RNN_ERR_METADATA, "metadata: %s is missing or not a number in %ld..%ld",
                            t[k].key, t[k].lo, t[k].hi);
        *(int *)((char *)cfg + t[k].off) = (int)v;
    }
    return RNN_OK;
}

/* The start of a model's save, after the checks: a fresh writer, the
   format, "model", the integer fields, the cell and the dropout. */
static void rnn__save_head(rnn_st_writer *w, const char *model, const rnn__int_field *t, int n, const void *cfg, rnn_cell cell,
                           float dropout) {
    memset(w, 0, sizeof *w);
    rnn_st_put_meta(w, "format", "rnn.h");
    rnn_st_put_meta(w, "model", model);
    rnn__put_ints(w, t, n, cfg);
    rnn_st_put_meta(w, "cell", rnn__cell_names[cell]);
    rnn__meta_num(w, "dropout", dropout, 0);
}

/* The end of a model's save: its parameters (the frozen ones named in
   metadata "frozen", a JSON array), the optimizer's state (if opt), the
   file written atomically, the writer's message in err on failure, the
   writer freed. */
static rnn_status rnn__save_end(rnn_st_writer *w, const rnn_param *params, const rnn_optimizer *opt, const rnn_rng *rng,
                                const char *path, char *err, size_t cap) {
    rnn__buf fj = {0, 0, 0, 0};
    ptrdiff_t i;
    rnn_status st;
    int any = 0;
    for (i = 0; i < stbds_arrlen(params); i++) {
        rnn__put_param(w, params[i].name, &params[i], params[i].value);
        if (!params[i].frozen) continue;
        rnn__puts(&fj, any++ ? "," : "[");
        rnn__put_json_string(&fj, params[i].name, strlen(params[i].name));
    }
    if (any) {
        rnn__puts(&fj, "]");
        if (fj.oom) rnn__st_refuse(w, RNN_ERR_OUT_OF_MEMORY, "out of memory at", "frozen");
        else rnn_st_put_meta(w, "frozen", fj.p);
    }
    if (opt) rnn__put_optimizer(w, opt, params, rng);
    st = rnn_st_save(w, path);
    if (st != RNN_OK) snprintf(err, cap, "save: %.150s", w->error);
    rnn_st_writer_free(w);
    RNN_FREE(fj.p);
    return st;
}

/* The start of a model's config from metadata: "model" is `model` (`what`
   says it in words), then the integer fields, the cell and the dropout. */
static rnn_status rnn__config_head(rnn_st_file *f, const char *model, const char *what, const rnn__int_field *t, int n,
                                   void *cfg, rnn_cell *cell, float *dropout) {
    const char *s = rnn_st_meta_get(f, "model");
    rnn_status st;
    int k;
    if (!s || strcmp(s, model) != 0)
        return rnn__err(f->error, sizeof f->error, RNN_ERR_METADATA, "metadata: the file holds model \"%.40s\", not %s (\"%s\")",
                        s ? s : "(none)", what, model);
    if ((st = rnn__read_ints(f, t, n, cfg)) != RNN_OK) return st;
    s = rnn_st_meta_get(f, "cell");
    for (*cell = RNN_CELL_DEFAULT, k = RNN_TANH; s && k <= RNN_GRU_CHO; k++)
        if (!strcmp(s, rnn__cell_names[k])) *cell = (rnn_cell)k;
    if (*cell == RNN_CELL_DEFAULT) return rnn__err(f->error, sizeof f->error, RNN_ERR_METADATA, "metadata: cell is missing or unknown");
    if (!rnn__meta_float(f, "dropout", dropout) || !(*dropout >= 0 && *dropout < 1))
        return rnn__err(f->error, sizeof f->error, RNN_ERR_METADATA, "metadata: dropout is missing or not in [0, 1)");
    return RNN_OK;
}

/* The classifier config's integer fields. */
#define RNN__CLF_INT(f, lo, hi) {#f, offsetof(rnn_clf_config, f), lo, hi, 0}
#define RNN__CLF_OPT(f, lo, hi) {#f, offsetof(rnn_clf_config, f), lo, hi, 1}
static const rnn__int_field rnn__clf_ints[] = {
    RNN__CLF_INT(vocab_size, 1, 16777216), RNN__CLF_INT(num_classes, 1, 1 << 20), RNN__CLF_INT(multi_label, 0, 1),
    RNN__CLF_INT(embed_size, 1, 65536),    RNN__CLF_INT(transformer, 0, 1),       RNN__CLF_INT(hidden_size, 1, 65536),
    RNN__CLF_INT(bidirectional, 0, 1),     RNN__CLF_INT(num_layers, 1, 64),        RNN__CLF_INT(heads, 1, 4096),
    RNN__CLF_INT(ff_size, 1, 1 << 20),     RNN__CLF_INT(norm_first, 0, 1),         RNN__CLF_INT(learned_positions, 0, 1),
    RNN__CLF_INT(max_len, 1, 1 << 20),     RNN__CLF_INT(gelu, 0, 1),              RNN__CLF_OPT(self_attention, 0, 1),
    RNN__CLF_OPT(attention_size, 0, 65536), RNN__CLF_OPT(dense_size, 0, 65536),
};
#undef RNN__CLF_INT
#undef RNN__CLF_OPT
#define RNN__CLF_NINTS (int)(sizeof rnn__clf_ints / sizeof rnn__clf_ints[0])

RNNDEF rnn_status rnn_clf_save(rnn_clf *c, const rnn_optimizer *opt, const char *path) {
    rnn_st_writer w;
    rnn__buf vj = {0, 0, 0, 0}, lj = {0, 0, 0, 0}, wj = {0, 0, 0, 0};
    ptrdiff_t i;
    rnn_status st;
    if (!c || !path) return RNN_ERR_INVALID_ARGUMENT;
    if ((st = rnn__save_check(c->params, opt, c->error, sizeof c->error)) != RNN_OK) return st;
    rnn__save_head(&w, "clf", rnn__clf_ints, RNN__CLF_NINTS, &c->cfg, c->cfg.cell, c->cfg.dropout);
    rnn_st_put_meta(&w, "pool", rnn__pool_names[c->cfg.pool]);
    rnn__put_vocab(&w, "vocab", c->vocab, &vj);
    rnn__put_words(&w, c->words, &wj);
    if (c->labels) {
        rnn__puts(&lj, "[");
        for (i = 0; i < stbds_arrlen(c->labels); i++) {
            if (i) rnn__puts(&lj, ",");
            rnn__put_json_string(&lj, c->labels[i], strlen(c->labels[i]));
        }
        rnn__puts(&lj, "]");
        if (lj.oom) rnn__st_refuse(&w, RNN_ERR_OUT_OF_MEMORY, "out of memory at", "labels");
        else rnn_st_put_meta(&w, "labels", lj.p);
    }
    st = rnn__save_end(&w, c->params, opt, &c->rng, path, c->error, sizeof c->error);
    RNN_FREE(vj.p);
    RNN_FREE(lj.p);
    RNN_FREE(wj.p);
    return st;
}

/* The config, all from metadata: a classifier's file says what it holds. */
static rnn_status rnn__clf_config(rnn_st_file *f, rnn_clf_config *cc) {
    const char *s;
    char *err = f->error;
    size_t errcap = sizeof f->error;
    rnn_status st = RNN_OK;
    int k;
    memset(cc, 0, sizeof *cc);
    if ((st = rnn__config_head(f, "clf", "a classifier", rnn__clf_ints, RNN__CLF_NINTS, cc, &cc->cell, &cc->dropout)) != RNN_OK)
        return st;
    s = rnn_st_meta_get(f, "pool");
    for (k = RNN_POOL_LAST; s && k <= RNN_POOL_ATTENTION; k++)
        if (!strcmp(s, rnn__pool_names[k])) cc->pool = (rnn_pool)k;
    if (cc->pool == RNN_POOL_DEFAULT) RNN__FAIL(RNN_ERR_METADATA, "metadata: pool is missing or unknown");
    if (cc->transformer && cc->embed_size % cc->heads)
        RNN__FAIL(RNN_ERR_METADATA, "metadata: heads %d does not divide embed_size %d", cc->heads, cc->embed_size);
    {   /* a lower bound of the weights the config needs, against the bytes the
           file holds (2 a weight at least): no allocation on a config's word */
        double E = cc->embed_size, H = cc->hidden_size, L = cc->num_layers, F = cc->ff_size;
        double D = cc->transformer ? E : H * (cc->bidirectional ? 2 : 1);
        double need = (double)cc->vocab_size * E + (double)cc->num_classes * D +
                      (cc->transformer ? L * (4 * E * E + 2 * E * F) + cc->learned_positions * (double)cc->max_len * E
                                       : L * H * H);
        if (need * 2 > (double)f->data_size)
            RNN__FAIL(RNN_ERR_SHAPE, "the config needs %.0f weights, more than the file's %llu bytes hold", need,
                      (unsigned long long)f->data_size);
    }
fail:
    return st;
}

/* Metadata "labels": a JSON array of num_classes strings. */
static rnn_status rnn__clf_labels(rnn_st_file *f, rnn_clf *c, const char *s) {
    rnn__js j;
    char *err = f->error, **names = NULL;
    size_t errcap = sizeof f->error;
    rnn_status st = RNN_OK;
    int first = 1;
    j.p = j.start = s; j.end = s + strlen(s);
    if (!rnn__js_eat(&j, '[')) RNN__FAIL(RNN_ERR_METADATA, "metadata: labels is not a JSON array");
    while (!rnn__js_eat(&j, ']')) {
        char *name = NULL;
        size_t nl = 0;
        if (!first && !rnn__js_eat(&j, ',')) RNN__FAIL(RNN_ERR_METADATA, "metadata: labels: expected ','");
        first = 0;
        if (!rnn__js_str(&j, &name, &nl, NULL, NULL)) RNN__FAIL(RNN_ERR_METADATA, "metadata: labels: bad string");
        stbds_arrput(names, name);
        if (!nl || nl > 255 || strlen(name) != nl || stbds_arrlen(names) > c->cfg.num_classes)
            RNN__FAIL(RNN_ERR_METADATA, "metadata: label %d is empty, too long or one too many", (int)stbds_arrlen(names) - 1);
    }
    rnn__js_ws(&j);
    if (j.p != j.end || stbds_arrlen(names) != c->cfg.num_classes)
        RNN__FAIL(RNN_ERR_METADATA, "metadata: %d labels for %d classes", (int)stbds_arrlen(names), c->cfg.num_classes);
    c->labels = names;
    return RNN_OK;
fail:
    rnn__free_strings(names);
    return st;
}

RNNDEF rnn_status rnn_clf_from_st(rnn_clf **out, rnn_optimizer **optp, rnn_st_file *f) {
    rnn_clf *c = NULL;
    rnn_optimizer *opt = NULL;
    rnn_clf_config cc;
    rnn_status st;
    const char *s;
    if (out) *out = NULL;
    if (optp) *optp = NULL;
    if (!out || !f) return RNN_ERR_INVALID_ARGUMENT;
    if ((s = rnn_st_meta_get(f, "format")) && strcmp(s, "rnn.h") != 0)
        return rnn__err(f->error, sizeof f->error, RNN_ERR_METADATA, "metadata: format is \"%.40s\", not \"rnn.h\"", s);
    if ((st = rnn__clf_config(f, &cc)) != RNN_OK) return st;
    if ((st = rnn_clf_create(&c, &cc, 0)) != RNN_OK)
        return rnn__err(f->error, sizeof f->error, st, "cannot create the model: %s", rnn_strerror(st));
    if ((st = rnn__st_params(f, c->params, 0)) != RNN_OK) goto fail;
    c->embedding.frozen = c->params[0].frozen;   /* embedding.weight: a frozen table gets no gradient either */
    if (c->rnn) rnn_recurrent_weights_changed(c->rnn);
    if ((s = rnn_st_meta_get(f, "vocab")) && (st = rnn__st_vocab(f, s, cc.vocab_size, &c->vocab)) != RNN_OK) goto fail;
    if ((s = rnn_st_meta_get(f, "words")) && (st = rnn__st_words(f, s, cc.vocab_size, &c->words)) != RNN_OK) goto fail;
    if ((s = rnn_st_meta_get(f, "labels")) && (st = rnn__clf_labels(f, c, s)) != RNN_OK) goto fail;
    if (optp && rnn_st_meta_get(f, "optim_kind") && (st = rnn__st_optimizer(f, c->params, &c->rng, &opt)) != RNN_OK)
        goto fail;
    *out = c;
    if (optp) *optp = opt;
    return RNN_OK;
fail:
    rnn_clf_free(c);
    return st;
}

static rnn_status rnn__clf_from(void *out, rnn_optimizer **opt, rnn_st_file *f) {
    return rnn_clf_from_st((rnn_clf **)out, opt, f);
}

RNNDEF rnn_status rnn_clf_load(rnn_clf **out, rnn_optimizer **opt, const char *path, char *err, size_t errcap) {
    if (out) *out = NULL;
    if (!out || !path) return RNN_ERR_INVALID_ARGUMENT;
    return rnn__load(rnn__clf_from, out, opt, path, NULL, 0, err, errcap);
}

/* ============================================================================
   I/O: the sequence-to-sequence model's checkpoint
   ========================================================================== */

static const char *rnn__score_names[] = {"none", "dot", "general"};

#define RNN__S2S_INT(f, lo, hi) {#f, offsetof(rnn_s2s_config, f), lo, hi, 0}
static const rnn__int_field rnn__s2s_ints[] = {
    RNN__S2S_INT(src_vocab, 1, 16777216),  RNN__S2S_INT(tgt_vocab, 1, 16777216),   RNN__S2S_INT(one_hot, 0, 1),
    RNN__S2S_INT(embed_size, 1, 65536),    RNN__S2S_INT(hidden_size, 1, 65536),    RNN__S2S_INT(num_layers, 1, 64),
    RNN__S2S_INT(bidirectional, 0, 1),     RNN__S2S_INT(repeat, 0, 1),             RNN__S2S_INT(max_src_len, 1, 4096),
    RNN__S2S_INT(max_tgt_len, 1, 4096),
};
#undef RNN__S2S_INT
#define RNN__S2S_NINTS (int)(sizeof rnn__s2s_ints / sizeof rnn__s2s_ints[0])

RNNDEF rnn_status rnn_s2s_save(rnn_s2s *s, const rnn_optimizer *opt, const char *path) {
    rnn_st_writer w;
    rnn__buf vs = {0, 0, 0, 0}, vt = {0, 0, 0, 0};
    rnn_status st;
    if (!s || !path) return RNN_ERR_INVALID_ARGUMENT;
    if ((st = rnn__save_check(s->params, opt, s->error, sizeof s->error)) != RNN_OK) return st;
    rnn__save_head(&w, "s2s", rnn__s2s_ints, RNN__S2S_NINTS, &s->cfg, s->cfg.cell, s->cfg.dropout);
    rnn_st_put_meta(&w, "attention", rnn__score_names[s->cfg.attention]);
    rnn__put_vocab(&w, "src_chars", s->src_text, &vs);
    rnn__put_vocab(&w, "tgt_chars", s->tgt_text, &vt);
    st = rnn__save_end(&w, s->params, opt, &s->rng, path, s->error, sizeof s->error);
    RNN_FREE(vs.p);
    RNN_FREE(vt.p);
    return st;
}

/* The config, all from metadata. */
static rnn_status rnn__s2s_config(rnn_st_file *f, rnn_s2s_config *sc) {
    const char *s;
    char *err = f->error;
    size_t errcap = sizeof f->error;
    rnn_status st = RNN_OK;
    int k;
    memset(sc, 0, sizeof *sc);
    if ((st = rnn__config_head(f, "s2s", "a sequence-to-sequence model", rnn__s2s_ints, RNN__S2S_NINTS, sc, &sc->cell,
                               &sc->dropout)) != RNN_OK)
        return st;
    s = rnn_st_meta_get(f, "attention");
    for (k = 0; s && k <= RNN_S2S_GENERAL && strcmp(s, rnn__score_names[k]); k++) {}
    if (!s || k > RNN_S2S_GENERAL) RNN__FAIL(RNN_ERR_METADATA, "metadata: attention is missing or not none, dot, general");
    sc->attention = (rnn_s2s_score)k;
    {   /* a lower bound of the weights the config needs, against the bytes the
           file holds (2 a weight at least): no allocation on a config's word */
        double E = sc->embed_size, H = sc->hidden_size, L = sc->num_layers;
        double need = (sc->one_hot ? 0 : (double)sc->src_vocab * E) + (double)sc->tgt_vocab * H +
                      L * H * H * (sc->bidirectional ? 3 : 2);
        if (need * 2 > (double)f->data_size)
            RNN__FAIL(RNN_ERR_SHAPE, "the config needs %.0f weights, more than the file's %llu bytes hold", need,
                      (unsigned long long)f->data_size);
    }
fail:
    return st;
}

RNNDEF rnn_status rnn_s2s_from_st(rnn_s2s **out, rnn_optimizer **optp, rnn_st_file *f) {
    rnn_s2s *s = NULL;
    rnn_optimizer *opt = NULL;
    rnn_s2s_config sc;
    rnn_status st;
    const char *m;
    if (out) *out = NULL;
    if (optp) *optp = NULL;
    if (!out || !f) return RNN_ERR_INVALID_ARGUMENT;
    if ((m = rnn_st_meta_get(f, "format")) && strcmp(m, "rnn.h") != 0)
        return rnn__err(f->error, sizeof f->error, RNN_ERR_METADATA, "metadata: format is \"%.40s\", not \"rnn.h\"", m);
    if ((st = rnn__s2s_config(f, &sc)) != RNN_OK) return st;
    if ((st = rnn_s2s_create(&s, &sc, 0)) != RNN_OK)
        return rnn__err(f->error, sizeof f->error, st, "cannot create the model: %s", rnn_strerror(st));
    if ((st = rnn__st_params(f, s->params, 0)) != RNN_OK) goto fail;
    rnn_recurrent_weights_changed(s->dec);
    if ((m = rnn_st_meta_get(f, "src_chars")) && (st = rnn__st_vocab(f, m, sc.src_vocab, &s->src_text)) != RNN_OK)
        goto fail;
    if ((m = rnn_st_meta_get(f, "tgt_chars")) && (st = rnn__st_vocab(f, m, sc.tgt_vocab, &s->tgt_text)) != RNN_OK)
        goto fail;
    if (optp && rnn_st_meta_get(f, "optim_kind") && (st = rnn__st_optimizer(f, s->params, &s->rng, &opt)) != RNN_OK)
        goto fail;
    *out = s;
    if (optp) *optp = opt;
    return RNN_OK;
fail:
    rnn_s2s_free(s);
    return st;
}

static rnn_status rnn__s2s_from(void *out, rnn_optimizer **opt, rnn_st_file *f) {
    return rnn_s2s_from_st((rnn_s2s **)out, opt, f);
}

RNNDEF rnn_status rnn_s2s_load(rnn_s2s **out, rnn_optimizer **opt, const char *path, char *err, size_t errcap) {
    if (out) *out = NULL;
    if (!out || !path) return RNN_ERR_INVALID_ARGUMENT;
    return rnn__load(rnn__s2s_from, out, opt, path, NULL, 0, err, errcap);
}
#undef RNN__FAIL

/* ============================================================================
   Appendix: SIMD paths

   The plain-C kernels in Kernels are the specification; each path below
   does the same with one instruction set, and the tests compare them. The
   AVX2 and AVX-512 functions carry target attributes, so they compile in
   any x86-64 build and run only where cpuid finds the instructions
   (rnn__best_arch). The point-wise kernels are named from the cell that
   uses them (rnn__lstm_fwd_avx512 is the LSTM's forward pass).
   ========================================================================== */

/* ---- the cells' point-wise passes, written once for every path ----------
   rnn__lstm_fwd_c ... rnn__gru_bwd_c on vectors: the body for the block of
   units at j, in names each path defines before it writes its four passes
   out: RNN__V (its vector type), RNN__VADD, RNN__VSUB, RNN__VMUL,
   RNN__VSIG and RNN__VTANH (its inlined sigmoid and tanh), RNN__LDV (p)
   and RNN__STV (p, v) for the block at p (masked or padded at the end),
   and a variable one, 1 in every lane. The same operations in the same
   order on every path (a multiply then an add, as the scalar passes). */
#define RNN__VMUL3(a, b, c) RNN__VMUL(RNN__VMUL(a, b), c)
#define RNN__LSTM_PRE(q) (bias ? RNN__VADD(RNN__LDV(g + (q)), RNN__LDV(bias + (q))) : RNN__LDV(g + (q)))
#define RNN__LSTM_FWD_BODY                                                                          \
    RNN__V i = RNN__VSIG(RNN__LSTM_PRE(j));                                                         \
    RNN__V f = RNN__VSIG(RNN__LSTM_PRE(H + j));                                                     \
    RNN__V gg = RNN__VTANH(RNN__LSTM_PRE(2 * H + j));                                               \
    RNN__V o = RNN__VSIG(RNN__LSTM_PRE(3 * H + j));                                                 \
    RNN__V cn = RNN__VADD(RNN__VMUL(f, RNN__LDV(ci + j)), RNN__VMUL(i, gg));                        \
    RNN__V t = RNN__VTANH(cn);                                                                      \
    RNN__STV(g + j, i);                                                                             \
    RNN__STV(g + H + j, f);                                                                         \
    RNN__STV(g + 2 * H + j, gg);                                                                    \
    RNN__STV(g + 3 * H + j, o);                                                                     \
    RNN__STV(c + j, cn);                                                                            \
    if (tc) RNN__STV(tc + j, t);                                                                    \
    RNN__STV(h + j, RNN__VMUL(t, o));
#define RNN__LSTM_BWD_BODY                                                                          \
    RNN__V i = RNN__LDV(gt + j), f = RNN__LDV(gt + H + j);                                          \
    RNN__V gg = RNN__LDV(gt + 2 * H + j), o = RNN__LDV(gt + 3 * H + j);                             \
    RNN__V t = RNN__LDV(tc + j), h = dy ? RNN__VADD(RNN__LDV(dh + j), RNN__LDV(dy + j)) : RNN__LDV(dh + j); \
    RNN__V dct = RNN__VADD(RNN__LDV(dc + j), RNN__VMUL(RNN__VMUL(h, o), RNN__VSUB(one, RNN__VMUL(t, t)))); \
    RNN__V c = RNN__LDV(cp + j);                                                                    \
    RNN__STV(d + j, RNN__VMUL(RNN__VMUL3(dct, gg, i), RNN__VSUB(one, i)));                          \
    RNN__STV(d + H + j, RNN__VMUL(RNN__VMUL3(dct, c, f), RNN__VSUB(one, f)));                       \
    RNN__STV(d + 2 * H + j, RNN__VMUL(RNN__VMUL(dct, i), RNN__VSUB(one, RNN__VMUL(gg, gg))));       \
    RNN__STV(d + 3 * H + j, RNN__VMUL(RNN__VMUL3(h, t, o), RNN__VSUB(one, o)));                     \
    RNN__STV(dc + j, RNN__VMUL(dct, f));
#define RNN__GRU_FWD_BODY                                                                           \
    RNN__V r = RNN__VSIG(RNN__VADD(RNN__LDV(g + j), RNN__LDV(hp + j)));                             \
    RNN__V z = RNN__VSIG(RNN__VADD(RNN__LDV(g + H + j), RNN__LDV(hp + H + j)));                     \
    RNN__V q = RNN__LDV(hp + 2 * H + j);                                                            \
    RNN__V n = RNN__VTANH(RNN__VADD(RNN__LDV(g + 2 * H + j), RNN__VMUL(r, q)));                     \
    RNN__V hv = RNN__LDV(hi + j);                                                                   \
    RNN__STV(g + j, r);                                                                             \
    RNN__STV(g + H + j, z);                                                                         \
    RNN__STV(g + 2 * H + j, n);                                                                     \
    if (hn) RNN__STV(hn + j, q);                                                                    \
    RNN__STV(h + j, RNN__VADD(RNN__VMUL(RNN__VSUB(one, z), n), RNN__VMUL(z, hv)));
#define RNN__GRU_BWD_BODY                                                                           \
    RNN__V r = RNN__LDV(gt + j), z = RNN__LDV(gt + H + j);                                          \
    RNN__V n = RNN__LDV(gt + 2 * H + j);                                                            \
    RNN__V d = dy ? RNN__VADD(RNN__LDV(dh + j), RNN__LDV(dy + j)) : RNN__LDV(dh + j);               \
    RNN__V dn = RNN__VMUL(RNN__VMUL(d, RNN__VSUB(one, z)), RNN__VSUB(one, RNN__VMUL(n, n)));        \
    RNN__V dz = RNN__VMUL(RNN__VMUL3(d, RNN__VSUB(RNN__LDV(hprev + j), n), z), RNN__VSUB(one, z));  \
    RNN__V dr = RNN__VMUL(RNN__VMUL3(dn, RNN__LDV(hn + j), r), RNN__VSUB(one, r));                  \
    RNN__STV(di + j, dr);                                                                           \
    RNN__STV(dq + j, dr);                                                                           \
    RNN__STV(di + H + j, dz);                                                                       \
    RNN__STV(dq + H + j, dz);                                                                       \
    RNN__STV(di + 2 * H + j, dn);                                                                   \
    RNN__STV(dq + 2 * H + j, RNN__VMUL(dn, r));                                                     \
    RNN__STV(dh + j, RNN__VMUL(d, z));
/* The four passes of a path (ATTR its target attribute, SUF its name, UNITS
   its loop over blocks: UNITS(H, body)). */
#define RNN__CELL_PASSES(ATTR, SUF, UNITS)                                                          \
    ATTR static void rnn__lstm_fwd_##SUF(int H, float *g, const float *bias, const float *ci,        \
                                         float *c, float *tc, float *h) {                           \
        UNITS(H, RNN__LSTM_FWD_BODY);                                                               \
    }                                                                                               \
    ATTR static void rnn__lstm_bwd_##SUF(int H, const float *gt, const float *tc, const float *cp,  \
                                         const float *dh, const float *dy, float *dc, float *d) {   \
        RNN__V one = RNN__VONE;                                                                     \
        UNITS(H, RNN__LSTM_BWD_BODY);                                                               \
    }                                                                                               \
    ATTR static void rnn__gru_fwd_##SUF(int H, float *g, const float *hp, float *hn, const float *hi, \
                                        float *h) {                                                 \
        RNN__V one = RNN__VONE;                                                                     \
        UNITS(H, RNN__GRU_FWD_BODY);                                                                \
    }                                                                                               \
    ATTR static void rnn__gru_bwd_##SUF(int H, const float *gt, const float *hprev, const float *hn, \
                                        float *dh, const float *dy, float *di, float *dq) {         \
        RNN__V one = RNN__VONE;                                                                     \
        UNITS(H, RNN__GRU_BWD_BODY);                                                                \
    }

/* rnn__adam_c on a path's lanes, written once like the cell passes: W
   lanes, and besides the names above RNN__VSET1 (a value in every lane),
   RNN__VLDU and RNN__VSTU (whole vectors), RNN__VFMA (a·b + c, fused),
   RNN__VDIV and RNN__VSQRT; the last n % W in C. */
#define RNN__ADAM_PASS(ATTR, SUF, W)                                                                \
    ATTR static void rnn__adam_##SUF(float *p, const float *gr, float *m, float *v, size_t n,        \
                                     float scale, float lr, float dwd, float l2, float b1, float b2, \
                                     float eps, float ib1, float ib2) {                             \
        size_t j = 0;                                                                               \
        RNN__V vs = RNN__VSET1(scale), vl2 = RNN__VSET1(l2), vdk = RNN__VSET1(1.0f - lr * dwd);      \
        RNN__V vb1 = RNN__VSET1(b1), vc1 = RNN__VSET1(1.0f - b1), vb2 = RNN__VSET1(b2);             \
        RNN__V vc2 = RNN__VSET1(1.0f - b2), vlr = RNN__VSET1(lr * ib1), vi2 = RNN__VSET1(ib2);      \
        RNN__V veps = RNN__VSET1(eps);                                                              \
        for (; j + (W) <= n; j += (W)) {                                                            \
            RNN__V pj = RNN__VLDU(p + j);                                                           \
            RNN__V g = RNN__VFMA(vl2, pj, RNN__VMUL(vs, RNN__VLDU(gr + j)));                        \
            RNN__V mj = RNN__VFMA(vb1, RNN__VLDU(m + j), RNN__VMUL(vc1, g));                        \
            RNN__V vj = RNN__VFMA(vb2, RNN__VLDU(v + j), RNN__VMUL(vc2, RNN__VMUL(g, g)));          \
            RNN__V den = RNN__VADD(RNN__VSQRT(RNN__VMUL(vj, vi2)), veps);                           \
            RNN__VSTU(m + j, mj);                                                                   \
            RNN__VSTU(v + j, vj);                                                                   \
            RNN__VSTU(p + j, RNN__VSUB(RNN__VMUL(pj, vdk), RNN__VDIV(RNN__VMUL(vlr, mj), den)));    \
        }                                                                                           \
        rnn__adam_c(p + j, gr + j, m + j, v + j, n - j, scale, lr, dwd, l2, b1, b2, eps, ib1, ib2); \
    }

/* ---- SSE2 (x86-64 baseline): 4×8 tile, multiply then add -------------- */
#ifdef RNN__HAVE_SSE2
static void rnn__kernel_sse2(int kc, const float *ap, const float *bp, int ldb,
                             float *c, int ldc, float alpha, float beta) {
    __m128 c00 = _mm_setzero_ps(), c01 = c00, c10 = c00, c11 = c00,
           c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    __m128 va = _mm_set1_ps(alpha), vb = _mm_set1_ps(beta);
    int p;
    for (p = 0; p < kc; p++, ap += 4, bp += ldb) {
        __m128 b0 = _mm_loadu_ps(bp), b1 = _mm_loadu_ps(bp + 4), a;
        a = _mm_set1_ps(ap[0]);
        c00 = _mm_add_ps(c00, _mm_mul_ps(a, b0)); c01 = _mm_add_ps(c01, _mm_mul_ps(a, b1));
        a = _mm_set1_ps(ap[1]);
        c10 = _mm_add_ps(c10, _mm_mul_ps(a, b0)); c11 = _mm_add_ps(c11, _mm_mul_ps(a, b1));
        a = _mm_set1_ps(ap[2]);
        c20 = _mm_add_ps(c20, _mm_mul_ps(a, b0)); c21 = _mm_add_ps(c21, _mm_mul_ps(a, b1));
        a = _mm_set1_ps(ap[3]);
        c30 = _mm_add_ps(c30, _mm_mul_ps(a, b0)); c31 = _mm_add_ps(c31, _mm_mul_ps(a, b1));
    }
#define RNN__STORE_SSE2(row, x0, x1)                                                    \
    do {                                                                                \
        float *cr = c + (row) * ldc;                                                    \
        __m128 r0 = _mm_mul_ps(va, x0), r1 = _mm_mul_ps(va, x1);                        \
        if (beta != 0.0f) {                                                             \
            r0 = _mm_add_ps(r0, _mm_mul_ps(vb, _mm_loadu_ps(cr)));                      \
            r1 = _mm_add_ps(r1, _mm_mul_ps(vb, _mm_loadu_ps(cr + 4)));                  \
        }                                                                               \
        _mm_storeu_ps(cr, r0); _mm_storeu_ps(cr + 4, r1);                               \
    } while (0)
    RNN__STORE_SSE2(0, c00, c01); RNN__STORE_SSE2(1, c10, c11);
    RNN__STORE_SSE2(2, c20, c21); RNN__STORE_SSE2(3, c30, c31);
#undef RNN__STORE_SSE2
}

static const rnn__arch rnn__arch_sse2 = {
    "sse2", 4, 8, rnn__kernel_sse2, NULL,
    rnn__sigmoid_c, rnn__tanh_c, rnn__exp_c, rnn__adam_c, NULL, rnn__lstm_fwd_c, rnn__lstm_bwd_c,
    rnn__gru_fwd_c, rnn__gru_bwd_c, rnn__maxfin_c, rnn__weigh_c, rnn__cutsum_c,
    rnn__tally_c, rnn__gather_c, NULL, NULL};
static const rnn__arch *rnn__sse2_paths(void) { return &rnn__arch_sse2; }
#endif

/* y = F(x) for n floats, W lanes at a time (LOAD, STORE their vector load
   and store, ATTR the target attribute or nothing): the AVX2 and NEON maps
   of exp, sigmoid, tanh. The tail goes through a zero-padded block, so
   every element gets the same arithmetic wherever it sits. */
#define RNN__MAPV(NAME, F, W, LOAD, STORE, ATTR)                               \
    ATTR static void NAME(float *y, const float *x, size_t n) {               \
        size_t i = 0;                                                          \
        for (; i + (W) <= n; i += (W)) STORE(y + i, F(LOAD(x + i)));           \
        if (i < n) {                                                           \
            float t[W] = {0};                                                  \
            memcpy(t, x + i, (n - i) * sizeof(float));                         \
            STORE(t, F(LOAD(t)));                                              \
            memcpy(y + i, t, (n - i) * sizeof(float));                         \
        }                                                                      \
    }

/* The steps of e^x every vector path shares, in the path's own operations
   (SET1 a broadcast, FMA(a, b, c) = a·b + c, FNMA(a, b, c) = c − a·b):
   n = round(x·log2 e) by the 1.5·2^23 trick (t keeps n in its low bits)
   and r = x − n·ln 2 in two parts; then e^r's Taylor polynomial on
   |r| ≤ ln2/2, to r^7 (POLY7, the exp of rnn__exp1) or to r^6 (POLY6, the
   sampling weights: relative error 2e-7). */
#define RNN__EXP_REDUCE(t, n, r, x, SET1, FMA, FNMA, SUB)                 \
    t = FMA(x, SET1(1.44269504f), SET1(12582912.0f));                     \
    n = SUB(t, SET1(12582912.0f));                                        \
    r = FNMA(n, SET1(0.693145752f), x);                                   \
    r = FNMA(n, SET1(1.42860677e-6f), r)
#define RNN__EXP_POLY_REST(p, r, SET1, FMA)                               \
    p = FMA(p, r, SET1(1.0f / 120)); p = FMA(p, r, SET1(1.0f / 24));      \
    p = FMA(p, r, SET1(1.0f / 6)); p = FMA(p, r, SET1(0.5f));             \
    p = FMA(p, r, SET1(1.0f)); p = FMA(p, r, SET1(1.0f))
#define RNN__EXP_POLY6(p, r, SET1, FMA) p = SET1(1.0f / 720); RNN__EXP_POLY_REST(p, r, SET1, FMA)
#define RNN__EXP_POLY7(p, r, SET1, FMA) \
    p = SET1(1.0f / 5040); p = FMA(p, r, SET1(1.0f / 720)); RNN__EXP_POLY_REST(p, r, SET1, FMA)

/* A kernel's row of C from its two accumulators x0, x1 (W lanes each),
   in a path's names: V its vector type, then multiply, add, fused
   multiply-add, load and store. c = alpha·x + beta·c; with alpha 1 and
   beta 1 (the layers' products mostly) only adds, which run beside the FMA
   units, in place of multiplies and FMAs on them: 1.5% faster tiles at
   depth 64 (AVX-512), the same values (1·x is x; fma(1, c, x) rounds as
   c + x). The kernel's names: R, c, ldc, alpha, beta, va, vb. */
#define RNN__STORE_ROW(row, x0, x1, W, V, MUL, ADD, FMA, LD, ST)                                 \
    if (R > row) {                                                                              \
        float *cr = c + (row) * ldc;                                                            \
        V r0 = x0, r1 = x1;                                                                     \
        if (alpha != 1.0f) { r0 = MUL(va, x0); r1 = MUL(va, x1); }                              \
        if (beta == 1.0f) {                                                                     \
            r0 = ADD(LD(cr), r0); r1 = ADD(LD(cr + (W)), r1);                                   \
        } else if (beta != 0.0f) {                                                              \
            r0 = FMA(vb, LD(cr), r0); r1 = FMA(vb, LD(cr + (W)), r1);                           \
        }                                                                                       \
        ST(cr, r0); ST(cr + (W), r1);                                                           \
    }

/* One case of a kernel_a's switch on its rows: FN, a rows kernel, for R
   rows of A read in place (R a constant, so each case is its own code). */
#define RNN__ROWS_CASE(FN, R) \
    case R: FN(R, kc, a, lda, 1, bp, ldb, c, ldc, alpha, beta); break;

/* ---- AVX2 + FMA: 6×16 tile -------------------------------------------- */
#ifdef RNN__HAVE_AVX2
RNN__TARGET_AVX2
/* A's row r at step p is ap[r·sr + p·sp]: packed panels (sr 1, sp R), or
   A in place (sr lda, sp 1); C's rows stored by RNN__STORE_ROW. */
static RNN__INLINE void rnn__kernel_rows_avx2(const int R, int kc, const float *ap, const int sr, const int sp,
                                              const float *bp, int ldb, float *c, int ldc, float alpha, float beta) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
           c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    int p;
    for (p = 0; p < kc; p++, ap += sp, bp += ldb) {
        __m256 b0 = _mm256_loadu_ps(bp), b1 = _mm256_loadu_ps(bp + 8), a;
#define RNN__ROW(r, x0, x1)                                                             \
        if (R > r) {                                                                    \
            a = _mm256_broadcast_ss(ap + r * sr);                                       \
            x0 = _mm256_fmadd_ps(a, b0, x0); x1 = _mm256_fmadd_ps(a, b1, x1);           \
        }
        RNN__ROW(0, c00, c01) RNN__ROW(1, c10, c11) RNN__ROW(2, c20, c21)
        RNN__ROW(3, c30, c31) RNN__ROW(4, c40, c41) RNN__ROW(5, c50, c51)
#undef RNN__ROW
    }
#define RNN__STORE_AVX2(row, x0, x1) \
    RNN__STORE_ROW(row, x0, x1, 8, __m256, _mm256_mul_ps, _mm256_add_ps, _mm256_fmadd_ps, _mm256_loadu_ps, \
                   _mm256_storeu_ps)
    RNN__STORE_AVX2(0, c00, c01) RNN__STORE_AVX2(1, c10, c11) RNN__STORE_AVX2(2, c20, c21)
    RNN__STORE_AVX2(3, c30, c31) RNN__STORE_AVX2(4, c40, c41) RNN__STORE_AVX2(5, c50, c51)
#undef RNN__STORE_AVX2
}
RNN__TARGET_AVX2
static void rnn__kernel_avx2(int kc, const float *ap, const float *bp, int ldb,
                             float *c, int ldc, float alpha, float beta) {
    rnn__kernel_rows_avx2(6, kc, ap, 1, 6, bp, ldb, c, ldc, alpha, beta);
}

/* rnn__kernel_avx2 on 4 rows (A panels 4 wide): 8 accumulators, as many
   independent FMA chains as two pipes of latency 4 keep busy. */
RNN__TARGET_AVX2
static void rnn__kernel4_avx2(int kc, const float *ap, const float *bp, int ldb,
                              float *c, int ldc, float alpha, float beta) {
    rnn__kernel_rows_avx2(4, kc, ap, 1, 4, bp, ldb, c, ldc, alpha, beta);
}

/* The kernel with A read in place: each product element sums the same
   terms in the same order as from packed panels, so the same value. */
RNN__TARGET_AVX2
static void rnn__kernel_a_avx2(int rows, int kc, const float *a, int lda, const float *bp, int ldb, float *c,
                               int ldc, float alpha, float beta) {
    switch (rows) {
        RNN__ROWS_CASE(rnn__kernel_rows_avx2, 6) RNN__ROWS_CASE(rnn__kernel_rows_avx2, 5)
        RNN__ROWS_CASE(rnn__kernel_rows_avx2, 4) RNN__ROWS_CASE(rnn__kernel_rows_avx2, 3)
        RNN__ROWS_CASE(rnn__kernel_rows_avx2, 2)
    default: rnn__kernel_rows_avx2(1, kc, a, lda, 1, bp, ldb, c, ldc, alpha, beta); break;
    }
}

RNN__TARGET_AVX2
static float rnn__hsum8(__m256 s) {   /* lanes 0+4, 1+5, ..., then pairwise */
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    return _mm_cvtss_f32(_mm_add_ss(q, _mm_shuffle_ps(q, q, 1)));
}

/* Sum of each of four vectors: {Σa0, Σa1, Σa2, Σa3}. */
RNN__TARGET_AVX2
static __m128 rnn__hsum4_avx2(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
    __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

/* C = alpha·A·Bᵀ + beta·C, four rows of A against four rows of B at a time;
   edge tiles repeat the last row and store only what is valid. One row of A
   (a token's product where no panels are kept): B row by row, straight
   through memory, 4 accumulators, prefetching 4 KiB ahead (2.2-3x the
   four-row tiles, which did 4 rows' work for 1: 25-30 GB/s from L3 on
   Zen 3 where those read 12-14). */
RNN__TARGET_AVX2
static void rnn__dot_avx2(int m, int n, int k, float alpha, const float *a, int lda,
                          const float *b, int ldb, float beta, float *c, int ldc) {
    int i, j, p, r, s;
    __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i tail = _mm256_cmpgt_epi32(_mm256_set1_epi32(k % 8), lanes);
    int k8 = k - k % 8;
    if (m == 1) {
        for (j = 0; j < n; j++) {
            const float *bj = b + (size_t)j * ldb;
            __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
            float sum;
            for (p = 0; p + 32 <= k; p += 32) {
                _mm_prefetch((const char *)(bj + p + 1024), _MM_HINT_T0);
                _mm_prefetch((const char *)(bj + p + 1040), _MM_HINT_T0);
                s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + p), _mm256_loadu_ps(bj + p), s0);
                s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + p + 8), _mm256_loadu_ps(bj + p + 8), s1);
                s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + p + 16), _mm256_loadu_ps(bj + p + 16), s2);
                s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + p + 24), _mm256_loadu_ps(bj + p + 24), s3);
            }
            for (; p < k8; p += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + p), _mm256_loadu_ps(bj + p), s0);
            if (p < k)
                s1 = _mm256_fmadd_ps(_mm256_maskload_ps(a + p, tail), _mm256_maskload_ps(bj + p, tail), s1);
            sum = rnn__hsum8(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
            c[j] = alpha * sum + (beta == 0.0f ? 0.0f : beta * c[j]);
        }
        return;
    }
    for (j = 0; j < n; j += 4) {
        const float *b0 = b + (size_t)j * ldb, *b1 = b + (size_t)(j + 1 < n ? j + 1 : j) * ldb;
        const float *b2 = b + (size_t)(j + 2 < n ? j + 2 : j) * ldb,
                    *b3 = b + (size_t)(j + 3 < n ? j + 3 : j) * ldb;
        int nw = n - j < 4 ? n - j : 4;
        for (i = 0; i < m; i += 4) {
            const float *a0 = a + (size_t)i * lda, *a1 = a + (size_t)(i + 1 < m ? i + 1 : i) * lda;
            const float *a2 = a + (size_t)(i + 2 < m ? i + 2 : i) * lda,
                        *a3 = a + (size_t)(i + 3 < m ? i + 3 : i) * lda;
            __m256 acc[4][4];
            __m128 sum[4];
            int mh = m - i < 4 ? m - i : 4;
            for (r = 0; r < 4; r++)
                for (s = 0; s < 4; s++) acc[r][s] = _mm256_setzero_ps();
#define RNN__DOT8(LOAD)                                                                \
    do {                                                                               \
        __m256 x0 = LOAD(a0 + p), x1 = LOAD(a1 + p), x2 = LOAD(a2 + p), x3 = LOAD(a3 + p); \
        __m256 w0 = LOAD(b0 + p), w1 = LOAD(b1 + p), w2 = LOAD(b2 + p), w3 = LOAD(b3 + p); \
        acc[0][0] = _mm256_fmadd_ps(x0, w0, acc[0][0]); acc[0][1] = _mm256_fmadd_ps(x0, w1, acc[0][1]); \
        acc[0][2] = _mm256_fmadd_ps(x0, w2, acc[0][2]); acc[0][3] = _mm256_fmadd_ps(x0, w3, acc[0][3]); \
        acc[1][0] = _mm256_fmadd_ps(x1, w0, acc[1][0]); acc[1][1] = _mm256_fmadd_ps(x1, w1, acc[1][1]); \
        acc[1][2] = _mm256_fmadd_ps(x1, w2, acc[1][2]); acc[1][3] = _mm256_fmadd_ps(x1, w3, acc[1][3]); \
        acc[2][0] = _mm256_fmadd_ps(x2, w0, acc[2][0]); acc[2][1] = _mm256_fmadd_ps(x2, w1, acc[2][1]); \
        acc[2][2] = _mm256_fmadd_ps(x2, w2, acc[2][2]); acc[2][3] = _mm256_fmadd_ps(x2, w3, acc[2][3]); \
        acc[3][0] = _mm256_fmadd_ps(x3, w0, acc[3][0]); acc[3][1] = _mm256_fmadd_ps(x3, w1, acc[3][1]); \
        acc[3][2] = _mm256_fmadd_ps(x3, w2, acc[3][2]); acc[3][3] = _mm256_fmadd_ps(x3, w3, acc[3][3]); \
    } while (0)
#define RNN__LOADU8(q) _mm256_loadu_ps(q)
#define RNN__LOADT8(q) _mm256_maskload_ps(q, tail)
            for (p = 0; p < k8; p += 8) RNN__DOT8(RNN__LOADU8);
            if (p < k) RNN__DOT8(RNN__LOADT8);
#undef RNN__LOADU8
#undef RNN__LOADT8
#undef RNN__DOT8
            for (r = 0; r < 4; r++) sum[r] = rnn__hsum4_avx2(acc[r][0], acc[r][1], acc[r][2], acc[r][3]);
            for (r = 0; r < mh; r++) {
                float out[4], *cr = c + (size_t)(i + r) * ldc + j;
                _mm_storeu_ps(out, _mm_mul_ps(_mm_set1_ps(alpha), sum[r]));
                for (s = 0; s < nw; s++) cr[s] = out[s] + (beta == 0.0f ? 0.0f : beta * cr[s]);
            }
        }
    }
}

/* e^x on 8 lanes, the steps of rnn__exp1 with no compare and no blend:
   x clamped to [-103.97, 89] (NaN passes both clamps and the arithmetic;
   above 88.72 the scaling overflows to inf by itself), n rounded by the
   1.5·2^23 trick, 2^n in two steps so that results down to the denormals
   come out. */
#define RNN__EXP8_POLY(p, r) RNN__EXP_POLY7(p, r, _mm256_set1_ps, _mm256_fmadd_ps)
#define RNN__EXP8_REDUCE(t, n, r, xc) \
    RNN__EXP_REDUCE(t, n, r, xc, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_fnmadd_ps, _mm256_sub_ps)
RNN__TARGET_AVX2
static RNN__INLINE __m256 rnn__exp8(__m256 x) {
    __m256 xc = _mm256_max_ps(_mm256_set1_ps(-103.972084f), _mm256_min_ps(_mm256_set1_ps(89.0f), x)), t, n, r, p;
    __m256i i, h;
    RNN__EXP8_REDUCE(t, n, r, xc);
    RNN__EXP8_POLY(p, r);
    i = _mm256_sub_epi32(_mm256_castps_si256(t), _mm256_set1_epi32(0x4B400000));   /* n */
    h = _mm256_srai_epi32(i, 1);
    p = _mm256_mul_ps(p, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(h, _mm256_set1_epi32(127)), 23)));
    return _mm256_mul_ps(p, _mm256_castsi256_ps(_mm256_slli_epi32(
        _mm256_add_epi32(_mm256_sub_epi32(i, h), _mm256_set1_epi32(127)), 23)));
}

/* e^x for x ≤ 88 (what sigmoid and tanh ask), as rnn__exp8 but 2^n in one
   step: below -87.7 (n = -127, an exponent field of 0) the result is 0,
   where the true one is under 2^-126. */
RNN__TARGET_AVX2
static RNN__INLINE __m256 rnn__exp8s(__m256 x) {
    __m256 xc = _mm256_max_ps(_mm256_set1_ps(-88.0f), x), t, n, r, p;
    RNN__EXP8_REDUCE(t, n, r, xc);
    RNN__EXP8_POLY(p, r);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(_mm256_slli_epi32(
        _mm256_add_epi32(_mm256_castps_si256(t), _mm256_set1_epi32(127 - 0x4B400000)), 23)));
}
#undef RNN__EXP8_POLY
#undef RNN__EXP8_REDUCE

RNN__TARGET_AVX2
static RNN__INLINE __m256 rnn__sigmoid8(__m256 x) {
    __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 e = rnn__exp8s(_mm256_or_ps(x, sign));              /* e^-|x| */
    __m256 s = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_add_ps(_mm256_set1_ps(1.0f), e));
    return _mm256_blendv_ps(s, _mm256_mul_ps(e, s), x);      /* sign bit of x picks e·s */
}

RNN__TARGET_AVX2
static RNN__INLINE __m256 rnn__tanh8(__m256 x) {
    __m256 sign = _mm256_set1_ps(-0.0f), one = _mm256_set1_ps(1.0f);
    __m256 a = _mm256_andnot_ps(sign, x), z = _mm256_mul_ps(a, a), p, e, t;
    p = _mm256_set1_ps(-5.704993808e-03f);
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(2.063909407e-02f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-5.373971748e-02f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(1.333144223e-01f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-3.333328194e-01f));
    p = _mm256_fmadd_ps(_mm256_mul_ps(a, z), p, a);
    e = rnn__exp8s(_mm256_mul_ps(_mm256_set1_ps(2.0f), _mm256_min_ps(a, _mm256_set1_ps(9.1f))));
    t = _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, one)));
    t = _mm256_blendv_ps(t, p, _mm256_cmp_ps(a, _mm256_set1_ps(0.625f), _CMP_LT_OQ));
    t = _mm256_or_ps(t, _mm256_and_ps(x, sign));              /* tanh(-0) = -0 */
    return _mm256_blendv_ps(t, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

RNN__MAPV(rnn__sigmoid_avx2, rnn__sigmoid8, 8, _mm256_loadu_ps, _mm256_storeu_ps, RNN__TARGET_AVX2)
RNN__MAPV(rnn__tanh_avx2, rnn__tanh8, 8, _mm256_loadu_ps, _mm256_storeu_ps, RNN__TARGET_AVX2)
RNN__MAPV(rnn__exp_avx2, rnn__exp8, 8, _mm256_loadu_ps, _mm256_storeu_ps, RNN__TARGET_AVX2)

/* rnn_sample's passes (rnn__maxfin_c, rnn__weigh_c, rnn__cutsum_c) on 8 lanes. */
RNN__TARGET_AVX2
static float rnn__maxfin_avx2(const float *x, size_t n, int *bad) {
    __m256 m = _mm256_set1_ps(x[0]);
    __m256i b = _mm256_setzero_si256(), ex = _mm256_set1_epi32(0x7F800000);
    float t[8], mx;
    size_t i = 0;
    int j, tb;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        b = _mm256_or_si256(b, _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_castps_si256(v), ex), ex));
        m = _mm256_max_ps(m, v);
    }
    _mm256_storeu_ps(t, m);
    mx = rnn__maxfin_c(i < n ? x + i : x, i < n ? n - i : 1, &tb);   /* the tail (or x[0] again) */
    for (j = 0; j < 8; j++) mx = t[j] > mx ? t[j] : mx;
    *bad = tb | !_mm256_testz_si256(b, b);
    return mx;
}
/* e^x for x ≤ 0, as rnn__exp8 with a polynomial one degree shorter
   (relative error 2e-7), n rounded by the 1.5·2^23 trick, 2^n in one step,
   and 0 below −87 (no denormals). */
RNN__TARGET_AVX2
static __m256 rnn__wexp8(__m256 x) {
    __m256 keep = _mm256_cmp_ps(x, _mm256_set1_ps(-87.0f), _CMP_GE_OQ), t, n, r, p;
    RNN__EXP_REDUCE(t, n, r, x, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_fnmadd_ps, _mm256_sub_ps);
    RNN__EXP_POLY6(p, r, _mm256_set1_ps, _mm256_fmadd_ps);
    p = _mm256_mul_ps(p, _mm256_castsi256_ps(_mm256_slli_epi32(
        _mm256_add_epi32(_mm256_castps_si256(t), _mm256_set1_epi32(127 - 0x4B400000)), 23)));
    return _mm256_and_ps(p, keep);
}
RNN__TARGET_AVX2
static float rnn__weigh_avx2(float *w, const float *z, size_t n, float mx, float it, float *bs) {
    __m256 vm = _mm256_set1_ps(mx), vi = _mm256_set1_ps(it), lo = _mm256_set1_ps(1.0f);
    float l[8], low = 1.0f;
    size_t i = 0;
    int j;
    for (; i + 128 <= n; i += 128) {   /* 8 blocks, their sums made together (one sum a block cost half the pass) */
        __m256 s[8];
        for (j = 0; j < 8; j++) {
            __m256 a = rnn__wexp8(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(z + i + 16 * j), vm), vi));
            __m256 b = rnn__wexp8(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(z + i + 16 * j + 8), vm), vi));
            _mm256_storeu_ps(w + i + 16 * j, a);
            _mm256_storeu_ps(w + i + 16 * j + 8, b);
            lo = _mm256_min_ps(lo, _mm256_min_ps(a, b));
            s[j] = _mm256_add_ps(a, b);
        }
        _mm_storeu_ps(bs + i / 16, rnn__hsum4_avx2(s[0], s[1], s[2], s[3]));
        _mm_storeu_ps(bs + i / 16 + 4, rnn__hsum4_avx2(s[4], s[5], s[6], s[7]));
    }
    for (; i < n; i += 16) {
        float t[16];
        const float *src = z + i;
        float *dst = w + i;
        __m256 a, b;
        size_t m = n - i < 16 ? n - i : 16;
        if (m < 16) {   /* the tail: padded with mx, whose weights are then zeroed */
            for (j = 0; j < 16; j++) t[j] = (size_t)j < m ? z[i + j] : mx;
            src = dst = t;
        }
        a = rnn__wexp8(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(src), vm), vi));
        b = rnn__wexp8(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(src + 8), vm), vi));
        _mm256_storeu_ps(dst, a);
        _mm256_storeu_ps(dst + 8, b);
        if (m < 16) {
            for (j = (int)m; j < 16; j++) t[j] = 1.0f;   /* (1: no lower than the row's largest) */
            a = _mm256_loadu_ps(t);
            b = _mm256_loadu_ps(t + 8);
            lo = _mm256_min_ps(lo, _mm256_min_ps(a, b));
            for (j = (int)m; j < 16; j++) t[j] = 0.0f;
            memcpy(w + i, t, m * sizeof(float));
            a = _mm256_loadu_ps(t);
            b = _mm256_loadu_ps(t + 8);
        } else {
            lo = _mm256_min_ps(lo, _mm256_min_ps(a, b));
        }
        bs[i / 16] = rnn__hsum8(_mm256_add_ps(a, b));
    }
    _mm256_storeu_ps(l, lo);
    for (j = 0; j < 8; j++) low = l[j] < low ? l[j] : low;
    return low;
}
RNN__TARGET_AVX2
static void rnn__tally_avx2(const float *w, size_t n, float t, double *mass, double *count) {
    __m256 vt = _mm256_set1_ps(t), one = _mm256_set1_ps(1.0f), s0, s1, c0, c1;
    size_t i = 0;
    double s, c;
    s0 = s1 = c0 = c1 = _mm256_setzero_ps();
    for (; i + 16 <= n; i += 16) {   /* counts in float: exact to 2^24 */
        __m256 a = _mm256_loadu_ps(w + i), b = _mm256_loadu_ps(w + i + 8);
        __m256 ma = _mm256_cmp_ps(a, vt, _CMP_GE_OQ), mb = _mm256_cmp_ps(b, vt, _CMP_GE_OQ);
        s0 = _mm256_add_ps(s0, _mm256_and_ps(a, ma));
        s1 = _mm256_add_ps(s1, _mm256_and_ps(b, mb));
        c0 = _mm256_add_ps(c0, _mm256_and_ps(one, ma));
        c1 = _mm256_add_ps(c1, _mm256_and_ps(one, mb));
    }
    rnn__tally_c(w + i, n - i, t, &s, &c);
    *mass = s + rnn__hsum8(_mm256_add_ps(s0, s1));
    *count = c + rnn__hsum8(_mm256_add_ps(c0, c1));
}
RNN__TARGET_AVX2
static int rnn__gather_avx2(const float *w, size_t n, float lo, float hi, float *out) {
    /* for each 4-lane mask: the set lanes' indices, a nibble each, and their count << 16 */
    static const uint32_t lanes4[16] = {0x00000, 0x10000, 0x10001, 0x20010, 0x10002, 0x20020, 0x20021, 0x30210,
                                        0x10003, 0x20030, 0x20031, 0x30310, 0x20032, 0x30320, 0x30321, 0x43210};
    const __m256i nib = _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28);
    __m256 vl = _mm256_set1_ps(lo), vh = _mm256_set1_ps(hi);
    size_t i = 0;
    int m = 0;
    for (; i + 8 <= n; i += 8) {   /* the kept lanes moved to the front, all 8 stored (out has room: m <= i) */
        __m256 a = _mm256_loadu_ps(w + i);
        unsigned bits = (unsigned)_mm256_movemask_ps(
            _mm256_and_ps(_mm256_cmp_ps(a, vl, _CMP_GE_OQ), _mm256_cmp_ps(a, vh, _CMP_LT_OQ)));
        uint32_t l, h, at;
        if (!bits) continue;   /* (most blocks, when few are kept) */
        l = lanes4[bits & 15]; h = lanes4[bits >> 4];
        at = (l & 0xFFFFu) | (((h & 0xFFFFu) + 0x4444u) << (4 * (l >> 16)));   /* lanes 4..7 after 0..3 */
        _mm256_storeu_ps(out + m, _mm256_permutevar8x32_ps(a, _mm256_srlv_epi32(_mm256_set1_epi32((int)at), nib)));
        m += (int)(l >> 16) + (int)(h >> 16);
    }
    return m + rnn__gather_c(w + i, n - i, lo, hi, out + m);
}
RNN__TARGET_AVX2
static void rnn__cutsum_avx2(const float *w, size_t n, float cut, float *bs) {
    __m256 c = _mm256_set1_ps(cut);
    size_t i = 0;
    int j;
    for (; i + 128 <= n; i += 128) {   /* 8 blocks at a time, as rnn__weigh_avx2 */
        __m256 s[8];
        for (j = 0; j < 8; j++) {
            __m256 a = _mm256_loadu_ps(w + i + 16 * j), b = _mm256_loadu_ps(w + i + 16 * j + 8);
            s[j] = _mm256_add_ps(_mm256_and_ps(a, _mm256_cmp_ps(a, c, _CMP_GE_OQ)),
                                 _mm256_and_ps(b, _mm256_cmp_ps(b, c, _CMP_GE_OQ)));
        }
        _mm_storeu_ps(bs + i / 16, rnn__hsum4_avx2(s[0], s[1], s[2], s[3]));
        _mm_storeu_ps(bs + i / 16 + 4, rnn__hsum4_avx2(s[4], s[5], s[6], s[7]));
    }
    for (; i < n; i += 16) {
        float t[16] = {0};
        const float *src = w + i;
        __m256 a, b;
        if (n - i < 16) { memcpy(t, w + i, (n - i) * sizeof(float)); src = t; }
        a = _mm256_loadu_ps(src);
        b = _mm256_loadu_ps(src + 8);
        a = _mm256_and_ps(a, _mm256_cmp_ps(a, c, _CMP_GE_OQ));
        b = _mm256_and_ps(b, _mm256_cmp_ps(b, c, _CMP_GE_OQ));
        bs[i / 16] = rnn__hsum8(_mm256_add_ps(a, b));
    }
}

/* rnn__gemv_n_avx512 on 8 lanes: y = alpha·x·B + beta·y for one row x [k].
   AVX2 has 16 registers, so a block of up to 96 columns keeps 12
   accumulators in registers over all k rows; wider rows go block by block
   (a 256-column panel in three, each reading 384 of every row's 1,024
   bytes, which streams nearly as well as reading it whole). */
RNN__TARGET_AVX2
static RNN__INLINE void rnn__gemv_regs_avx2(const int NA, int k, float alpha, const float *x, const float *b,
                                            int ldb, float beta, float *y, __m256i last) {
    __m256 z = _mm256_setzero_ps(), a0 = z, a1 = z, a2 = z, a3 = z, a4 = z, a5 = z, a6 = z, a7 = z, a8 = z,
           a9 = z, a10 = z, a11 = z;
    int p;
    for (p = 0; p < k; p++) {
        const float *row = b + (size_t)p * ldb;
        __m256 xv = _mm256_broadcast_ss(x + p);
#define RNN__F(q, a) if (NA > q) a = _mm256_fmadd_ps(xv, NA - 1 == q ? _mm256_maskload_ps(row + 8 * q, last) \
                                                                   : _mm256_loadu_ps(row + 8 * q), a);
        RNN__F(0, a0) RNN__F(1, a1) RNN__F(2, a2) RNN__F(3, a3) RNN__F(4, a4) RNN__F(5, a5) RNN__F(6, a6)
        RNN__F(7, a7) RNN__F(8, a8) RNN__F(9, a9) RNN__F(10, a10) RNN__F(11, a11)
#undef RNN__F
    }
#define RNN__S(q, a) if (NA > q) { \
        __m256i mk = NA - 1 == q ? last : _mm256_set1_epi32(-1); \
        __m256 r = _mm256_mul_ps(_mm256_set1_ps(alpha), a); \
        if (beta != 0.0f) r = _mm256_fmadd_ps(_mm256_set1_ps(beta), _mm256_maskload_ps(y + 8 * q, mk), r); \
        _mm256_maskstore_ps(y + 8 * q, mk, r); }
    RNN__S(0, a0) RNN__S(1, a1) RNN__S(2, a2) RNN__S(3, a3) RNN__S(4, a4) RNN__S(5, a5) RNN__S(6, a6)
    RNN__S(7, a7) RNN__S(8, a8) RNN__S(9, a9) RNN__S(10, a10) RNN__S(11, a11)
#undef RNN__S
}

RNN__TARGET_AVX2
static void rnn__gemv_n_avx2(int n, int k, float alpha, const float *x, const float *b, int ldb, float beta,
                             float *y) {
    int j0;
    for (j0 = 0; j0 < n; j0 += 96) {
        int w = n - j0 < 96 ? n - j0 : 96, nv = (w + 7) / 8, tail = w - 8 * (nv - 1);
        __m256i last = _mm256_cmpgt_epi32(_mm256_set1_epi32(tail), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        const float *bj = b + j0;
        float *yj = y + j0;
        switch (nv) {
#define RNN__C(NA) case NA: rnn__gemv_regs_avx2(NA, k, alpha, x, bj, ldb, beta, yj, last); break;
        RNN__C(1) RNN__C(2) RNN__C(3) RNN__C(4) RNN__C(5) RNN__C(6) RNN__C(7) RNN__C(8) RNN__C(9) RNN__C(10)
        RNN__C(11) RNN__C(12)
#undef RNN__C
        default: break;
        }
    }
}

RNN__TARGET_AVX2
static __m256i rnn__mask8(int n) {   /* lanes [0, min(n, 8)) */
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* The point-wise passes of AVX-512 (rnn__lstm_fwd_avx512, ...) on 8 lanes,
   masked loads and stores only at the tail (AMD's vmaskmovps store is
   microcoded). */
#define RNN__LD8(p) (full ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, mk))
#define RNN__ST8(p, v)                                              \
    do {                                                            \
        if (full) _mm256_storeu_ps(p, v);                           \
        else _mm256_maskstore_ps(p, mk, v);                         \
    } while (0)
/* The pass's body (the arguments after H) for j = 0, 8, ... below H: a
   loop over whole blocks of 8 with full = 1, then a masked last block.
   The body is written out twice, so full is a constant in each copy and
   the tests of RNN__LD8 and RNN__ST8 go away (10% of the LSTM pass). */
#define RNN__UNITS8(H, ...)                                                              \
    do {                                                                                 \
        int j = 0;                                                                       \
        {                                                                                \
            const int full = 1;                                                          \
            const __m256i mk = _mm256_set1_epi32(-1);                                    \
            for (; j + 8 <= (H); j += 8) { __VA_ARGS__ }                                 \
        }                                                                                \
        if (j < (H)) {                                                                   \
            const int full = 0;                                                          \
            const __m256i mk = rnn__mask8((H) - j);                                      \
            __VA_ARGS__                                                                  \
        }                                                                                \
    } while (0)

/* The four cell passes on 8 lanes (RNN__CELL_PASSES). */
#define RNN__V __m256
#define RNN__VONE _mm256_set1_ps(1.0f)
#define RNN__VADD _mm256_add_ps
#define RNN__VSUB _mm256_sub_ps
#define RNN__VMUL _mm256_mul_ps
#define RNN__VSIG rnn__sigmoid8
#define RNN__VTANH rnn__tanh8
#define RNN__LDV RNN__LD8
#define RNN__STV RNN__ST8
RNN__CELL_PASSES(RNN__TARGET_AVX2, avx2, RNN__UNITS8)
#define RNN__VSET1 _mm256_set1_ps
#define RNN__VLDU _mm256_loadu_ps
#define RNN__VSTU _mm256_storeu_ps
#define RNN__VFMA _mm256_fmadd_ps
#define RNN__VDIV _mm256_div_ps
#define RNN__VSQRT _mm256_sqrt_ps
RNN__ADAM_PASS(RNN__TARGET_AVX2, avx2, 8)
#undef RNN__VSET1
#undef RNN__VLDU
#undef RNN__VSTU
#undef RNN__VFMA
#undef RNN__VDIV
#undef RNN__VSQRT
#undef RNN__V
#undef RNN__VONE
#undef RNN__VADD
#undef RNN__VSUB
#undef RNN__VMUL
#undef RNN__VSIG
#undef RNN__VTANH
#undef RNN__LDV
#undef RNN__STV
#undef RNN__LD8
#undef RNN__ST8
#undef RNN__UNITS8

/* The int8 kernel (rnn__q8_dot_c's contract). vpmaddubsw multiplies
   unsigned by signed bytes, so a product x·w is taken as |x|·(w ^ m) with
   m = -1 where x < 0 (else 0): there w ^ m = -w - 1, so |x|·(w ^ m) =
   x·w - |x|, and c = Σ_{x<0} |x| (the same for every row) puts it back.
   |w ^ m| ≤ 128, so a pair stays in int16 (2·127·128 < 2^15), and
   vpmaddwd by ones adds the pairs into int32. vpxor runs on any vector
   port, where vpsignb (the obvious way) takes a multiplier's: on Zen 3
   that was 3 multiplier ops a 32 bytes, now 2. Two panels a pass share
   each broadcast of 4 input bytes (4 registers of 8 rows × 4 bytes each). */
#define RNN__Q8_STEP(a, s, o)                                                                                \
    a = _mm256_add_epi32(a, _mm256_madd_epi16(_mm256_maddubs_epi16(ax, _mm256_xor_si256(_mm256_loadu_si256(  \
                                 (const __m256i *)(const void *)((s) + (o))), m)), one))
#define RNN__Q8_STORE4(acc, a0, a1, a2, a3)                                                                  \
    do {                                                                                                     \
        _mm256_storeu_si256((__m256i *)(void *)(acc), a0);                                                   \
        _mm256_storeu_si256((__m256i *)(void *)((acc) + 8), a1);                                             \
        _mm256_storeu_si256((__m256i *)(void *)((acc) + 16), a2);                                            \
        _mm256_storeu_si256((__m256i *)(void *)((acc) + 24), a3);                                            \
    } while (0)
RNN__TARGET_AVX2
static void rnn__q8_dot_avx2(int np, int kg, const signed char *w, const int32_t *wsum, const signed char *qx,
                             int32_t *acc) {
    const __m256i one = _mm256_set1_epi16(1), zero = _mm256_setzero_si256();
    const size_t pw = (size_t)kg * 4 * RNN__Q8_ROWS;   /* bytes a panel */
    __m256i ax, m, c8 = zero;
    int32_t c, x4;
    int i, p, g;
    (void)wsum;
    for (i = 0; i + 32 <= 4 * kg; i += 32)   /* c: vpsadbw adds the bytes max(-x, 0) */
        c8 = _mm256_add_epi64(c8, _mm256_sad_epu8(_mm256_max_epi8(_mm256_sub_epi8(zero, _mm256_loadu_si256(
                                                        (const __m256i *)(const void *)(qx + i))), zero), zero));
    c = _mm256_extract_epi32(c8, 0) + _mm256_extract_epi32(c8, 2) + _mm256_extract_epi32(c8, 4) +
        _mm256_extract_epi32(c8, 6);
    for (; i < 4 * kg; i++) c += qx[i] < 0 ? -qx[i] : 0;
#define RNN__Q8_GROUP(g)                                                                                     \
    memcpy(&x4, qx + 4 * (g), 4);                                                                            \
    ax = _mm256_set1_epi32(x4);                                                                              \
    m = _mm256_cmpgt_epi8(zero, ax);                                                                         \
    ax = _mm256_abs_epi8(ax)
    for (p = 0; p + 2 <= np; p += 2, w += 2 * pw, acc += 2 * RNN__Q8_ROWS) {
        __m256i a0 = _mm256_set1_epi32(c), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        const signed char *u = w, *v = w + pw;
        for (g = 0; g < kg; g++, u += 128, v += 128) {
            RNN__Q8_GROUP(g);
            RNN__Q8_STEP(a0, u, 0); RNN__Q8_STEP(a1, u, 32); RNN__Q8_STEP(a2, u, 64); RNN__Q8_STEP(a3, u, 96);
            RNN__Q8_STEP(b0, v, 0); RNN__Q8_STEP(b1, v, 32); RNN__Q8_STEP(b2, v, 64); RNN__Q8_STEP(b3, v, 96);
        }
        RNN__Q8_STORE4(acc, a0, a1, a2, a3);
        RNN__Q8_STORE4(acc + RNN__Q8_ROWS, b0, b1, b2, b3);
    }
    if (p < np) {   /* an odd last panel */
        __m256i a0 = _mm256_set1_epi32(c), a1 = a0, a2 = a0, a3 = a0;
        for (g = 0; g < kg; g++, w += 128) {
            RNN__Q8_GROUP(g);
            RNN__Q8_STEP(a0, w, 0); RNN__Q8_STEP(a1, w, 32); RNN__Q8_STEP(a2, w, 64); RNN__Q8_STEP(a3, w, 96);
        }
        RNN__Q8_STORE4(acc, a0, a1, a2, a3);
    }
#undef RNN__Q8_GROUP
}
#undef RNN__Q8_STEP
#undef RNN__Q8_STORE4

/* rnn__q8_vector_c on 8 lanes: the same largest |x| (max(|x|, m) keeps m
   where x is NaN, as the C comparison does), the same clamp (NaN to -127)
   and round to nearest even (vcvtps2dq), packed to bytes. */
RNN__TARGET_AVX2
static float rnn__q8_vector_avx2(const float *x, int k, int kg, signed char *qx) {
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 m = _mm256_setzero_ps(), inv, lo = _mm256_set1_ps(-127.0f), hi = _mm256_set1_ps(127.0f);
    __m128 h;
    float amax, fi;
    int i;
    for (i = 0; i + 8 <= k; i += 8) m = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + i), absmask), m);
    h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_shuffle_ps(h, h, 1));
    amax = _mm_cvtss_f32(h);
    for (; i < k; i++) amax = fabsf(x[i]) > amax ? fabsf(x[i]) : amax;
    fi = amax > 0.0f ? 127.0f / amax : 0.0f;
    inv = _mm256_set1_ps(fi);
    for (i = 0; i + 8 <= k; i += 8) {
        __m256 v = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), inv), lo), hi);
        __m256i n = _mm256_cvtps_epi32(v);
        __m128i s = _mm_packs_epi32(_mm256_castsi256_si128(n), _mm256_extracti128_si256(n, 1));
        _mm_storel_epi64((__m128i *)(void *)(qx + i), _mm_packs_epi16(s, s));
    }
    for (; i < k; i++) qx[i] = rnn__q8_round(x[i] * fi);
    for (; i < 4 * kg; i++) qx[i] = 0;
    return amax / 127.0f;
}

RNN__TARGET_AVX2
static void rnn__q8_finish_avx2(int n, const int32_t *acc, float sx, const float *scale, float *y, const float *b0,
                                const float *b1) {
    __m256 s = _mm256_set1_ps(sx);
    int j;
    for (j = 0; j + 8 <= n; j += 8) {
        __m256 a = _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)(const void *)(acc + j)));
        __m256 base = !b0 ? _mm256_loadu_ps(y + j)
                    : b1  ? _mm256_add_ps(_mm256_loadu_ps(b0 + j), _mm256_loadu_ps(b1 + j))
                          : _mm256_loadu_ps(b0 + j);
        _mm256_storeu_ps(y + j, _mm256_add_ps(base, _mm256_mul_ps(a, _mm256_mul_ps(s, _mm256_loadu_ps(scale + j)))));
    }
    for (; j < n; j++) y[j] = rnn__q8_base(y, b0, b1, j) + (float)acc[j] * (sx * scale[j]);
}

static const rnn__arch rnn__arch_avx2 = {
    "avx2", 6, 16, rnn__kernel_avx2, rnn__dot_avx2,
    rnn__sigmoid_avx2, rnn__tanh_avx2, rnn__exp_avx2, rnn__adam_avx2, rnn__gemv_n_avx2, rnn__lstm_fwd_avx2,
    rnn__lstm_bwd_avx2, rnn__gru_fwd_avx2, rnn__gru_bwd_avx2, rnn__maxfin_avx2, rnn__weigh_avx2, rnn__cutsum_avx2,
    rnn__tally_avx2, rnn__gather_avx2, rnn__kernel4_avx2, rnn__kernel_a_avx2};
static const rnn__arch *rnn__avx2_paths(void) { return &rnn__arch_avx2; }
#endif

/* ---- AVX-512: 8×32 tile (16 accumulators; 8 rows divide the batch sizes
   recurrent nets use, and measured as fast as 12×32 on squares) ---------- */
#ifdef RNN__HAVE_AVX512
#if defined(__GNUC__) && !defined(__clang__)
/* g++ 12 warns about _mm512_undefined_ps inside its own avx512fintrin.h. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
/* A's row r at step p is ap[r·sr + p·sp]: packed panels (sr 1, sp 8), or
   A in place (sr lda, sp 1); C's rows stored by RNN__STORE_ROW. */
RNN__TARGET_AVX512
static RNN__INLINE void rnn__kernel_rows_avx512(const int R, int kc, const float *ap, const int sr, const int sp,
                                                const float *bp, int ldb, float *c, int ldc, float alpha,
                                                float beta) {
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
           c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00,
           c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    int p;
    /* C rows are often 4 KiB apart and fight for L1 sets: ask for them early */
    for (p = 0; p < R; p++) {
        _mm_prefetch((const char *)(c + p * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + p * ldc + 16), _MM_HINT_T0);
    }
    for (p = 0; p < kc; p++, ap += sp, bp += ldb) {
        __m512 b0 = _mm512_loadu_ps(bp), b1 = _mm512_loadu_ps(bp + 16), a;
#define RNN__ROW512(r, x0, x1)                                                     \
        if (R > r) {                                                               \
            a = _mm512_set1_ps(ap[r * sr]);                                        \
            x0 = _mm512_fmadd_ps(a, b0, x0); x1 = _mm512_fmadd_ps(a, b1, x1);      \
        }
        RNN__ROW512(0, c00, c01) RNN__ROW512(1, c10, c11) RNN__ROW512(2, c20, c21)
        RNN__ROW512(3, c30, c31) RNN__ROW512(4, c40, c41) RNN__ROW512(5, c50, c51)
        RNN__ROW512(6, c60, c61) RNN__ROW512(7, c70, c71)
#undef RNN__ROW512
    }
#define RNN__STORE512(row, x0, x1) \
    RNN__STORE_ROW(row, x0, x1, 16, __m512, _mm512_mul_ps, _mm512_add_ps, _mm512_fmadd_ps, _mm512_loadu_ps, \
                   _mm512_storeu_ps)
    RNN__STORE512(0, c00, c01) RNN__STORE512(1, c10, c11) RNN__STORE512(2, c20, c21)
    RNN__STORE512(3, c30, c31) RNN__STORE512(4, c40, c41) RNN__STORE512(5, c50, c51)
    RNN__STORE512(6, c60, c61) RNN__STORE512(7, c70, c71)
#undef RNN__STORE512
}
RNN__TARGET_AVX512
static void rnn__kernel_avx512(int kc, const float *ap, const float *bp, int ldb,
                               float *c, int ldc, float alpha, float beta) {
    rnn__kernel_rows_avx512(8, kc, ap, 1, 8, bp, ldb, c, ldc, alpha, beta);
}

/* The kernel with A read in place (rnn__kernel_a_avx2): the same sums in
   the same order as from packed panels. */
RNN__TARGET_AVX512
static void rnn__kernel_a_avx512(int rows, int kc, const float *a, int lda, const float *bp, int ldb, float *c,
                                 int ldc, float alpha, float beta) {
    switch (rows) {
        RNN__ROWS_CASE(rnn__kernel_rows_avx512, 8) RNN__ROWS_CASE(rnn__kernel_rows_avx512, 7)
        RNN__ROWS_CASE(rnn__kernel_rows_avx512, 6) RNN__ROWS_CASE(rnn__kernel_rows_avx512, 5)
        RNN__ROWS_CASE(rnn__kernel_rows_avx512, 4) RNN__ROWS_CASE(rnn__kernel_rows_avx512, 3)
        RNN__ROWS_CASE(rnn__kernel_rows_avx512, 2)
    default: rnn__kernel_rows_avx512(1, kc, a, lda, 1, bp, ldb, c, ldc, alpha, beta); break;
    }
}

/* {Σa0, Σa1, Σa2, Σa3}: fold 512 to 256 bits, then the AVX2 reduction. */
RNN__TARGET_AVX512
static __m128 rnn__hsum4_512(__m512 a0, __m512 a1, __m512 a2, __m512 a3) {
#define RNN__FOLD(v) _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1))
    __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(RNN__FOLD(a0), RNN__FOLD(a1)),
                              _mm256_hadd_ps(RNN__FOLD(a2), RNN__FOLD(a3)));
#undef RNN__FOLD
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

/* Stores up to 4 sums of one C row: c[s] = alpha·sum[s] + beta·c[s]. */
static void rnn__dot_store(float *c, const float *sum, int nw, float alpha, float beta) {
    int s;
    for (s = 0; s < nw; s++) c[s] = alpha * sum[s] + (beta == 0.0f ? 0.0f : beta * c[s]);
}

/* C = alpha·A·Bᵀ + beta·C with vectors along k (16 lanes, the tail under a
   mask). Rows of A go four at a time against four rows of B (16
   accumulators, 8 loads per 16 FMAs); leftover rows of A go one at a time
   against eight rows of B, which is the one-token case. Edge tiles repeat
   the last row of B and store only what is valid. */
RNN__TARGET_AVX512
static void rnn__dot_avx512(int m, int n, int k, float alpha, const float *a, int lda,
                            const float *b, int ldb, float beta, float *c, int ldc) {
    __mmask16 tail = (__mmask16)((1u << (k % 16)) - 1u);
    int k16 = k - k % 16, i, j, p, r;
    float sum[16];
#define RNN__BROW(q) (b + (size_t)(j + (q) < n ? j + (q) : n - 1) * ldb)
#define RNN__FMA4(x, r)                                                                 \
    r##0 = _mm512_fmadd_ps(x, w0, r##0); r##1 = _mm512_fmadd_ps(x, w1, r##1);          \
    r##2 = _mm512_fmadd_ps(x, w2, r##2); r##3 = _mm512_fmadd_ps(x, w3, r##3);
#define RNN__STEP44(LOAD)                                                               \
    {   __m512 w0 = LOAD(b0 + p), w1 = LOAD(b1 + p), w2 = LOAD(b2 + p), w3 = LOAD(b3 + p); \
        __m512 x0 = LOAD(a0 + p), x1 = LOAD(a1 + p), x2 = LOAD(a2 + p), x3 = LOAD(a3 + p); \
        RNN__FMA4(x0, s0) RNN__FMA4(x1, s1) RNN__FMA4(x2, s2) RNN__FMA4(x3, s3) }
#define RNN__STEP18(LOAD)                                                               \
    {   __m512 x = LOAD(a0 + p);                                                        \
        s00 = _mm512_fmadd_ps(x, LOAD(b0 + p), s00); s01 = _mm512_fmadd_ps(x, LOAD(b1 + p), s01); \
        s02 = _mm512_fmadd_ps(x, LOAD(b2 + p), s02); s03 = _mm512_fmadd_ps(x, LOAD(b3 + p), s03); \
        s04 = _mm512_fmadd_ps(x, LOAD(b4 + p), s04); s05 = _mm512_fmadd_ps(x, LOAD(b5 + p), s05); \
        s06 = _mm512_fmadd_ps(x, LOAD(b6 + p), s06); s07 = _mm512_fmadd_ps(x, LOAD(b7 + p), s07); }
#define RNN__LD(q) _mm512_loadu_ps(q)
#define RNN__LDT(q) _mm512_maskz_loadu_ps(tail, q)
    for (j = 0; j < n; j += 4) {
        const float *b0 = RNN__BROW(0), *b1 = RNN__BROW(1), *b2 = RNN__BROW(2), *b3 = RNN__BROW(3);
        int nw = n - j < 4 ? n - j : 4;
        for (i = 0; i + 4 <= m; i += 4) {
            const float *a0 = a + (size_t)i * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
            __m512 s00 = _mm512_setzero_ps(), s01 = s00, s02 = s00, s03 = s00, s10 = s00, s11 = s00,
                   s12 = s00, s13 = s00, s20 = s00, s21 = s00, s22 = s00, s23 = s00, s30 = s00,
                   s31 = s00, s32 = s00, s33 = s00;
            for (p = 0; p < k16; p += 16) RNN__STEP44(RNN__LD)
            if (p < k) RNN__STEP44(RNN__LDT)
            _mm_storeu_ps(sum, rnn__hsum4_512(s00, s01, s02, s03));
            _mm_storeu_ps(sum + 4, rnn__hsum4_512(s10, s11, s12, s13));
            _mm_storeu_ps(sum + 8, rnn__hsum4_512(s20, s21, s22, s23));
            _mm_storeu_ps(sum + 12, rnn__hsum4_512(s30, s31, s32, s33));
            for (r = 0; r < 4; r++) rnn__dot_store(c + (size_t)(i + r) * ldc + j, sum + 4 * r, nw, alpha, beta);
        }
    }
    for (i = m - m % 4; i < m; i++) {
        const float *a0 = a + (size_t)i * lda;
        for (j = 0; j < n; j += 8) {
            const float *b0 = RNN__BROW(0), *b1 = RNN__BROW(1), *b2 = RNN__BROW(2), *b3 = RNN__BROW(3);
            const float *b4 = RNN__BROW(4), *b5 = RNN__BROW(5), *b6 = RNN__BROW(6), *b7 = RNN__BROW(7);
            __m512 s00 = _mm512_setzero_ps(), s01 = s00, s02 = s00, s03 = s00, s04 = s00, s05 = s00,
                   s06 = s00, s07 = s00;
            float *ci = c + (size_t)i * ldc + j;
            for (p = 0; p < k16; p += 16) RNN__STEP18(RNN__LD)
            if (p < k) RNN__STEP18(RNN__LDT)
            _mm_storeu_ps(sum, rnn__hsum4_512(s00, s01, s02, s03));
            _mm_storeu_ps(sum + 4, rnn__hsum4_512(s04, s05, s06, s07));
            rnn__dot_store(ci, sum, n - j < 4 ? n - j : 4, alpha, beta);
            if (n - j > 4) rnn__dot_store(ci + 4, sum + 4, n - j - 4 < 4 ? n - j - 4 : 4, alpha, beta);
        }
    }
#undef RNN__BROW
#undef RNN__FMA4
#undef RNN__STEP44
#undef RNN__STEP18
#undef RNN__LD
#undef RNN__LDT
}

/* e^x on 16 lanes, the same steps as rnn__exp1. It and sigmoid, tanh are
   inlined into their callers, as on AVX2 (there 1.7x as fast a call). */
RNN__TARGET_AVX512
static RNN__INLINE __m512 rnn__exp16(__m512 x) {
    __m512 hi = _mm512_set1_ps(88.7228394f), lo = _mm512_set1_ps(-103.972084f);
    __mmask16 big = _mm512_cmp_ps_mask(x, hi, _CMP_GT_OQ), nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
    __m512 xc = _mm512_max_ps(_mm512_min_ps(x, hi), lo);
    __m512 n = _mm512_roundscale_ps(_mm512_fmadd_ps(xc, _mm512_set1_ps(1.44269504f), _mm512_set1_ps(0.5f)),
                                    _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145752f), xc), p;
    __m512i i, h;
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.42860677e-6f), r);
    RNN__EXP_POLY7(p, r, _mm512_set1_ps, _mm512_fmadd_ps);
    i = _mm512_cvtps_epi32(n);
    h = _mm512_srai_epi32(i, 1);
    p = _mm512_mul_ps(p, _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(h, _mm512_set1_epi32(127)), 23)));
    p = _mm512_mul_ps(p, _mm512_castsi512_ps(_mm512_slli_epi32(
        _mm512_add_epi32(_mm512_sub_epi32(i, h), _mm512_set1_epi32(127)), 23)));
    p = _mm512_mask_mov_ps(p, big, _mm512_set1_ps(HUGE_VALF));
    return _mm512_mask_mov_ps(p, nan, x);
}

/* e^x for x ≤ 88 (what sigmoid and tanh ask), as rnn__exp8s: no compare,
   n rounded by the 1.5·2^23 trick, 2^n in one step (0 below -87.7). */
RNN__TARGET_AVX512
static RNN__INLINE __m512 rnn__exp16s(__m512 x) {
    __m512 xc = _mm512_max_ps(_mm512_set1_ps(-88.0f), x), t, n, r, p;
    RNN__EXP_REDUCE(t, n, r, xc, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_fnmadd_ps, _mm512_sub_ps);
    RNN__EXP_POLY7(p, r, _mm512_set1_ps, _mm512_fmadd_ps);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(_mm512_slli_epi32(
        _mm512_add_epi32(_mm512_castps_si512(t), _mm512_set1_epi32(127 - 0x4B400000)), 23)));
}

RNN__TARGET_AVX512
static RNN__INLINE __m512 rnn__sigmoid16(__m512 x) {
    __m512 e = rnn__exp16s(_mm512_or_ps(x, _mm512_set1_ps(-0.0f)));   /* e^-|x| */
    __m512 s = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_add_ps(_mm512_set1_ps(1.0f), e));
    __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
    return _mm512_mask_mul_ps(s, neg, e, s);
}

RNN__TARGET_AVX512
static RNN__INLINE __m512 rnn__tanh16(__m512 x) {
    __m512 sign = _mm512_set1_ps(-0.0f), one = _mm512_set1_ps(1.0f);
    __m512 a = _mm512_andnot_ps(sign, x), z = _mm512_mul_ps(a, a), p, e, t;
    p = _mm512_set1_ps(-5.704993808e-03f);
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(2.063909407e-02f));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(-5.373971748e-02f));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(1.333144223e-01f));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(-3.333328194e-01f));
    p = _mm512_fmadd_ps(_mm512_mul_ps(a, z), p, a);
    e = rnn__exp16s(_mm512_mul_ps(_mm512_set1_ps(2.0f), _mm512_min_ps(a, _mm512_set1_ps(9.1f))));
    t = _mm512_sub_ps(one, _mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(e, one)));
    t = _mm512_mask_mov_ps(t, _mm512_cmp_ps_mask(a, _mm512_set1_ps(0.625f), _CMP_LT_OQ), p);
    t = _mm512_or_ps(t, _mm512_and_ps(x, sign));              /* tanh(-0) = -0 */
    return _mm512_mask_mov_ps(t, _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), x);
}

#define RNN__MAP16(NAME, F)                                                    \
    RNN__TARGET_AVX512 static void NAME(float *y, const float *x, size_t n) { \
        size_t i = 0;                                                          \
        for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, F(_mm512_loadu_ps(x + i))); \
        if (i < n) {                                                           \
            __mmask16 m = (__mmask16)((1u << (n - i)) - 1u);                   \
            _mm512_mask_storeu_ps(y + i, m, F(_mm512_maskz_loadu_ps(m, x + i))); \
        }                                                                      \
    }
RNN__MAP16(rnn__sigmoid_avx512, rnn__sigmoid16)
RNN__MAP16(rnn__tanh_avx512, rnn__tanh16)
RNN__MAP16(rnn__exp_avx512, rnn__exp16)

#undef RNN__MAP16

/* y = alpha·x·B + beta·y for one row x [k] and n ≤ 256 columns, NA = ⌈n/16⌉
   accumulators held in registers (named, not an array, so that the
   compiler keeps them there; NA is a constant in each expansion below).
   Each row of B is read once, in address order: when B is contiguous
   ([k][n], ldb = n) the product streams at the cache's read bandwidth. */
RNN__TARGET_AVX512
static RNN__INLINE void rnn__gemv_regs_avx512(const int NA, int k, float alpha, const float *x, const float *b,
                                              int ldb, float beta, float *y, __mmask16 last) {
    __m512 z = _mm512_setzero_ps(), a0 = z, a1 = z, a2 = z, a3 = z, a4 = z, a5 = z, a6 = z, a7 = z, a8 = z,
           a9 = z, a10 = z, a11 = z, a12 = z, a13 = z, a14 = z, a15 = z;
    __m512 al = _mm512_set1_ps(alpha), be = _mm512_set1_ps(beta);
    int p;
    for (p = 0; p < k; p++) {
        const float *row = b + (size_t)p * ldb;
        __m512 xv = _mm512_set1_ps(x[p]);
#define RNN__F(q, a) if (NA > q) a = _mm512_fmadd_ps(xv, NA - 1 == q ? _mm512_maskz_loadu_ps(last, row + 16 * q) \
                                                                   : _mm512_loadu_ps(row + 16 * q), a);
        RNN__F(0, a0) RNN__F(1, a1) RNN__F(2, a2) RNN__F(3, a3) RNN__F(4, a4) RNN__F(5, a5) RNN__F(6, a6)
        RNN__F(7, a7) RNN__F(8, a8) RNN__F(9, a9) RNN__F(10, a10) RNN__F(11, a11) RNN__F(12, a12)
        RNN__F(13, a13) RNN__F(14, a14) RNN__F(15, a15)
#undef RNN__F
    }
#define RNN__S(q, a) if (NA > q) { \
        __mmask16 mk = NA - 1 == q ? last : (__mmask16)0xFFFFu; \
        __m512 r = _mm512_mul_ps(al, a); \
        if (beta != 0.0f) r = _mm512_fmadd_ps(be, _mm512_maskz_loadu_ps(mk, y + 16 * q), r); \
        _mm512_mask_storeu_ps(y + 16 * q, mk, r); }
    RNN__S(0, a0) RNN__S(1, a1) RNN__S(2, a2) RNN__S(3, a3) RNN__S(4, a4) RNN__S(5, a5) RNN__S(6, a6)
    RNN__S(7, a7) RNN__S(8, a8) RNN__S(9, a9) RNN__S(10, a10) RNN__S(11, a11) RNN__S(12, a12)
    RNN__S(13, a13) RNN__S(14, a14) RNN__S(15, a15)
#undef RNN__S
}

/* y = alpha·x·B + beta·y for one row x [k]. Up to 256 columns: registers,
   as above. Wider: y stays in L1 and four rows of B stream at a time (rows
   of B read in part stream about 40% slower than B read straight through:
   the LM state keeps its weights in 256-column panels for that reason). */
RNN__TARGET_AVX512
static void rnn__gemv_n_avx512(int n, int k, float alpha, const float *x, const float *b, int ldb, float beta,
                               float *y) {
    __mmask16 last = (__mmask16)(n % 16 ? (1u << (n % 16)) - 1u : 0xFFFFu);
    int nv = (n + 15) / 16, nf = n / 16, p, q;
    switch (n <= 256 ? nv : 0) {
#define RNN__C(NA) case NA: rnn__gemv_regs_avx512(NA, k, alpha, x, b, ldb, beta, y, last); return;
    RNN__C(1) RNN__C(2) RNN__C(3) RNN__C(4) RNN__C(5) RNN__C(6) RNN__C(7) RNN__C(8)
    RNN__C(9) RNN__C(10) RNN__C(11) RNN__C(12) RNN__C(13) RNN__C(14) RNN__C(15) RNN__C(16)
#undef RNN__C
    default: break;
    }
    for (q = 0; q < nv; q++) {
        __mmask16 mk = q == nf ? last : (__mmask16)0xFFFFu;
        __m512 r = beta == 0.0f ? _mm512_setzero_ps()
                                : _mm512_mul_ps(_mm512_set1_ps(beta), _mm512_maskz_loadu_ps(mk, y + 16 * q));
        _mm512_mask_storeu_ps(y + 16 * q, mk, r);
    }
    for (p = 0; p + 4 <= k; p += 4) {
        /* y += x_p·B_p + x_p+1·B_p+1 + x_p+2·B_p+2 + x_p+3·B_p+3 */
        const float *r0 = b + (size_t)p * ldb, *r1 = r0 + ldb, *r2 = r1 + ldb, *r3 = r2 + ldb;
        __m512 x0 = _mm512_set1_ps(alpha * x[p]), x1 = _mm512_set1_ps(alpha * x[p + 1]),
               x2 = _mm512_set1_ps(alpha * x[p + 2]), x3 = _mm512_set1_ps(alpha * x[p + 3]);
        for (q = 0; q < nv; q++) {
            __mmask16 mk = q == nf ? last : (__mmask16)0xFFFFu;
            __m512 s = _mm512_fmadd_ps(x1, _mm512_maskz_loadu_ps(mk, r1 + 16 * q),
                                       _mm512_mul_ps(x0, _mm512_maskz_loadu_ps(mk, r0 + 16 * q)));
            __m512 t = _mm512_fmadd_ps(x3, _mm512_maskz_loadu_ps(mk, r3 + 16 * q),
                                       _mm512_mul_ps(x2, _mm512_maskz_loadu_ps(mk, r2 + 16 * q)));
            __m512 yv = _mm512_maskz_loadu_ps(mk, y + 16 * q);
            _mm512_mask_storeu_ps(y + 16 * q, mk, _mm512_add_ps(yv, _mm512_add_ps(s, t)));
        }
    }
    for (; p < k; p++) {
        const float *r0 = b + (size_t)p * ldb;
        __m512 x0 = _mm512_set1_ps(alpha * x[p]);
        for (q = 0; q < nv; q++) {
            __mmask16 mk = q == nf ? last : (__mmask16)0xFFFFu;
            _mm512_mask_storeu_ps(y + 16 * q, mk, _mm512_fmadd_ps(x0, _mm512_maskz_loadu_ps(mk, r0 + 16 * q),
                                                                   _mm512_maskz_loadu_ps(mk, y + 16 * q)));
        }
    }
}

/* The lanes of a 16-lane step with n values left (all if n >= 16). */
static __mmask16 rnn__mask16(int n) { return (__mmask16)(n >= 16 ? 0xFFFFu : (1u << n) - 1u); }

/* The four cell passes on 16 lanes (RNN__CELL_PASSES), masked at the end. */
#define RNN__UNITS16(H, ...)                                                                 \
    do {                                                                                     \
        int j;                                                                               \
        for (j = 0; j < (H); j += 16) {                                                      \
            __mmask16 mk = rnn__mask16((H) - j);                                             \
            __VA_ARGS__                                                                      \
        }                                                                                    \
    } while (0)
#define RNN__LD16(p) _mm512_maskz_loadu_ps(mk, p)
#define RNN__ST16(p, v) _mm512_mask_storeu_ps(p, mk, v)
#define RNN__V __m512
#define RNN__VONE _mm512_set1_ps(1.0f)
#define RNN__VADD _mm512_add_ps
#define RNN__VSUB _mm512_sub_ps
#define RNN__VMUL _mm512_mul_ps
#define RNN__VSIG rnn__sigmoid16
#define RNN__VTANH rnn__tanh16
#define RNN__LDV RNN__LD16
#define RNN__STV RNN__ST16
RNN__CELL_PASSES(RNN__TARGET_AVX512, avx512, RNN__UNITS16)
#define RNN__VSET1 _mm512_set1_ps
#define RNN__VLDU _mm512_loadu_ps
#define RNN__VSTU _mm512_storeu_ps
#define RNN__VFMA _mm512_fmadd_ps
#define RNN__VDIV _mm512_div_ps
#define RNN__VSQRT _mm512_sqrt_ps
RNN__ADAM_PASS(RNN__TARGET_AVX512, avx512, 16)
#undef RNN__VSET1
#undef RNN__VLDU
#undef RNN__VSTU
#undef RNN__VFMA
#undef RNN__VDIV
#undef RNN__VSQRT
#undef RNN__V
#undef RNN__VONE
#undef RNN__VADD
#undef RNN__VSUB
#undef RNN__VMUL
#undef RNN__VSIG
#undef RNN__VTANH
#undef RNN__LDV
#undef RNN__STV
#undef RNN__UNITS16
#undef RNN__LD16
#undef RNN__ST16

/* rnn_sample's passes (rnn__maxfin_c, ... rnn__gather_c) on 16 lanes: a
   vector is a block of RNN__SBLOCK, a row's tail is loaded under a mask,
   and the gather moves the kept lanes with vcompressps. */

/* The lanes of a block with left entries still to go: min(left, 16). */
static __mmask16 rnn__lanes16(size_t left) {
    return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
}
/* bs[0..8) = the sums of s[0..8), the blocks of 128 entries. */
RNN__TARGET_AVX512
static void rnn__bsums8_512(float *bs, const __m512 *s) {
    _mm_storeu_ps(bs, rnn__hsum4_512(s[0], s[1], s[2], s[3]));
    _mm_storeu_ps(bs + 4, rnn__hsum4_512(s[4], s[5], s[6], s[7]));
}
RNN__TARGET_AVX512
static float rnn__maxfin_avx512(const float *x, size_t n, int *bad) {
    __m512 first = _mm512_set1_ps(x[0]), m = first, v;
    __m512i ex = _mm512_set1_epi32(0x7F800000);
    __mmask16 b = 0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        v = _mm512_loadu_ps(x + i);
        b |= _mm512_cmpeq_epi32_mask(_mm512_and_si512(_mm512_castps_si512(v), ex), ex);
        m = _mm512_max_ps(m, v);
    }
    if (i < n) {   /* the tail, the other lanes x[0] */
        v = _mm512_mask_loadu_ps(first, rnn__lanes16(n - i), x + i);
        b |= _mm512_cmpeq_epi32_mask(_mm512_and_si512(_mm512_castps_si512(v), ex), ex);
        m = _mm512_max_ps(m, v);
    }
    *bad = b != 0;
    return _mm512_reduce_max_ps(m);
}
/* rnn__wexp8 on 16 lanes (e^x for x ≤ 0, 0 below −87). */
RNN__TARGET_AVX512
static RNN__INLINE __m512 rnn__wexp16(__m512 x) {
    __mmask16 keep = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.0f), _CMP_GE_OQ);
    __m512 t, n, r, p;
    RNN__EXP_REDUCE(t, n, r, x, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_fnmadd_ps, _mm512_sub_ps);
    RNN__EXP_POLY6(p, r, _mm512_set1_ps, _mm512_fmadd_ps);
    return _mm512_maskz_mul_ps(keep, p, _mm512_castsi512_ps(_mm512_slli_epi32(
        _mm512_add_epi32(_mm512_castps_si512(t), _mm512_set1_epi32(127 - 0x4B400000)), 23)));
}
RNN__TARGET_AVX512
static float rnn__weigh_avx512(float *w, const float *z, size_t n, float mx, float it, float *bs) {
    __m512 vm = _mm512_set1_ps(mx), vi = _mm512_set1_ps(it), lo = _mm512_set1_ps(1.0f);
    size_t i = 0;
    int j;
    for (; i + 128 <= n; i += 128) {   /* 8 blocks, their sums made together */
        __m512 s[8];
        for (j = 0; j < 8; j++) {
            s[j] = rnn__wexp16(_mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(z + i + 16 * j), vm), vi));
            _mm512_storeu_ps(w + i + 16 * j, s[j]);
            lo = _mm512_min_ps(lo, s[j]);
        }
        rnn__bsums8_512(bs + i / 16, s);
    }
    for (; i < n; i += 16) {   /* one block; the tail's other lanes weigh 0 and leave lo as it is */
        __mmask16 m = rnn__lanes16(n - i);
        __m512 a = _mm512_maskz_mov_ps(m, rnn__wexp16(_mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, z + i), vm), vi)));
        _mm512_mask_storeu_ps(w + i, m, a);
        lo = _mm512_mask_min_ps(lo, m, lo, a);
        bs[i / 16] = _mm512_reduce_add_ps(a);
    }
    return _mm512_reduce_min_ps(lo);
}
RNN__TARGET_AVX512
static void rnn__cutsum_avx512(const float *w, size_t n, float cut, float *bs) {
    __m512 c = _mm512_set1_ps(cut);
    size_t i = 0;
    int j;
    for (; i + 128 <= n; i += 128) {   /* 8 blocks at a time, as rnn__weigh_avx512 */
        __m512 s[8];
        for (j = 0; j < 8; j++) {
            __m512 a = _mm512_loadu_ps(w + i + 16 * j);
            s[j] = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(a, c, _CMP_GE_OQ), a);
        }
        rnn__bsums8_512(bs + i / 16, s);
    }
    for (; i < n; i += 16) {
        __mmask16 m = rnn__lanes16(n - i);
        __m512 a = _mm512_maskz_loadu_ps(m, w + i);
        bs[i / 16] = _mm512_reduce_add_ps(_mm512_maskz_mov_ps(_mm512_mask_cmp_ps_mask(m, a, c, _CMP_GE_OQ), a));
    }
}
RNN__TARGET_AVX512
static void rnn__tally_avx512(const float *w, size_t n, float t, double *mass, double *count) {
    __m512 vt = _mm512_set1_ps(t), one = _mm512_set1_ps(1.0f), s0, s1, c0, c1;
    size_t i = 0;
    s0 = s1 = c0 = c1 = _mm512_setzero_ps();
    for (; i + 32 <= n; i += 32) {   /* counts in float: exact to 2^24 */
        __m512 a = _mm512_loadu_ps(w + i), b = _mm512_loadu_ps(w + i + 16);
        __mmask16 ma = _mm512_cmp_ps_mask(a, vt, _CMP_GE_OQ), mb = _mm512_cmp_ps_mask(b, vt, _CMP_GE_OQ);
        s0 = _mm512_mask_add_ps(s0, ma, s0, a);
        s1 = _mm512_mask_add_ps(s1, mb, s1, b);
        c0 = _mm512_mask_add_ps(c0, ma, c0, one);
        c1 = _mm512_mask_add_ps(c1, mb, c1, one);
    }
    for (; i < n; i += 16) {
        __mmask16 m = rnn__lanes16(n - i);
        __m512 a = _mm512_maskz_loadu_ps(m, w + i);
        __mmask16 ma = _mm512_mask_cmp_ps_mask(m, a, vt, _CMP_GE_OQ);
        s0 = _mm512_mask_add_ps(s0, ma, s0, a);
        c0 = _mm512_mask_add_ps(c0, ma, c0, one);
    }
    *mass = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
    *count = _mm512_reduce_add_ps(_mm512_add_ps(c0, c1));
}
__attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma,popcnt")))
static int rnn__gather_avx512(const float *w, size_t n, float lo, float hi, float *out) {
    __m512 vl = _mm512_set1_ps(lo), vh = _mm512_set1_ps(hi);
    size_t i = 0;
    int m = 0;
    for (; i + 16 <= n; i += 16) {   /* the kept lanes moved to the front, all 16 stored (out has room: m <= i) */
        __m512 a = _mm512_loadu_ps(w + i);
        __mmask16 k = _mm512_mask_cmp_ps_mask(_mm512_cmp_ps_mask(a, vl, _CMP_GE_OQ), a, vh, _CMP_LT_OQ);
        if (!k) continue;   /* (most blocks, when few are kept) */
        _mm512_storeu_ps(out + m, _mm512_maskz_compress_ps(k, a));
        m += _mm_popcnt_u32(k);
    }
    return m + rnn__gather_c(w + i, n - i, lo, hi, out + m);
}
#define RNN__SAMPLE_PASSES_512 \
    rnn__maxfin_avx512, rnn__weigh_avx512, rnn__cutsum_avx512, rnn__tally_avx512, rnn__gather_avx512
static const rnn__arch rnn__arch_avx512 = {
    "avx512", 8, 32, rnn__kernel_avx512, rnn__dot_avx512,
    rnn__sigmoid_avx512, rnn__tanh_avx512, rnn__exp_avx512, rnn__adam_avx512, rnn__gemv_n_avx512,
    rnn__lstm_fwd_avx512, rnn__lstm_bwd_avx512, rnn__gru_fwd_avx512, rnn__gru_bwd_avx512,
    RNN__SAMPLE_PASSES_512, NULL, rnn__kernel_a_avx512};
#undef RNN__SAMPLE_PASSES_512
static const rnn__arch *rnn__avx512_paths(void) { return &rnn__arch_avx512; }

/* The int8 kernel with AVX-512 VNNI (rnn__q8_dot_c's contract): vpdpbusd
   adds 4 products of unsigned by signed bytes into each int32 lane, so the
   input goes in offset to unsigned, qx + 128 (qx XOR 0x80), and each row's
   sum loses 128·Σ_i q[j][i] (wsum) at the end. Two groups of 4 inputs in
   flight (4 chains) hide the instruction's latency. */
#define RNN__TARGET_VNNI __attribute__((target("avx512f,avx512bw,avx512vnni")))
static int rnn__q8_has_vnni(void) {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vnni");
}
RNN__TARGET_VNNI
static __m512i rnn__q8_bcast_u8(const signed char *qx) {
    uint32_t x4;
    memcpy(&x4, qx, 4);
    return _mm512_set1_epi32((int)(x4 ^ 0x80808080u));
}
RNN__TARGET_VNNI
static void rnn__q8_dot_vnni(int np, int kg, const signed char *w, const int32_t *wsum, const signed char *qx,
                             int32_t *acc) {
    int p, g;
    for (p = 0; p < np; p++, acc += RNN__Q8_ROWS, wsum += RNN__Q8_ROWS) {
        __m512i a0 = _mm512_setzero_si512(), a1 = a0, b0 = a0, b1 = a0, x0, x1;
        for (g = 0; g + 1 < kg; g += 2, w += 8 * RNN__Q8_ROWS) {
            x0 = rnn__q8_bcast_u8(qx + 4 * g);
            x1 = rnn__q8_bcast_u8(qx + 4 * g + 4);
            a0 = _mm512_dpbusd_epi32(a0, x0, _mm512_loadu_si512((const void *)w));
            a1 = _mm512_dpbusd_epi32(a1, x0, _mm512_loadu_si512((const void *)(w + 64)));
            b0 = _mm512_dpbusd_epi32(b0, x1, _mm512_loadu_si512((const void *)(w + 128)));
            b1 = _mm512_dpbusd_epi32(b1, x1, _mm512_loadu_si512((const void *)(w + 192)));
        }
        if (g < kg) {
            x0 = rnn__q8_bcast_u8(qx + 4 * g);
            a0 = _mm512_dpbusd_epi32(a0, x0, _mm512_loadu_si512((const void *)w));
            a1 = _mm512_dpbusd_epi32(a1, x0, _mm512_loadu_si512((const void *)(w + 64)));
            w += 4 * RNN__Q8_ROWS;
        }
        a0 = _mm512_sub_epi32(_mm512_add_epi32(a0, b0), _mm512_slli_epi32(_mm512_loadu_si512((const void *)wsum), 7));
        a1 = _mm512_sub_epi32(_mm512_add_epi32(a1, b1),
                              _mm512_slli_epi32(_mm512_loadu_si512((const void *)(wsum + 16)), 7));
        _mm512_storeu_si512((void *)acc, a0);
        _mm512_storeu_si512((void *)(acc + 16), a1);
    }
}
#undef RNN__TARGET_VNNI
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif

/* ---- NEON (aarch64): 8×8 tile ----------------------------------------- */
#ifdef RNN__HAVE_NEON
static void rnn__kernel_neon(int kc, const float *ap, const float *bp, int ldb,
                             float *c, int ldc, float alpha, float beta) {
    float32x4_t acc[8][2];
    int p, r;
    for (r = 0; r < 8; r++) acc[r][0] = acc[r][1] = vdupq_n_f32(0.0f);
    for (p = 0; p < kc; p++, ap += 8, bp += ldb) {
        float32x4_t b0 = vld1q_f32(bp), b1 = vld1q_f32(bp + 4);
        float32x4_t a0 = vld1q_f32(ap), a1 = vld1q_f32(ap + 4);
        acc[0][0] = vfmaq_laneq_f32(acc[0][0], b0, a0, 0); acc[0][1] = vfmaq_laneq_f32(acc[0][1], b1, a0, 0);
        acc[1][0] = vfmaq_laneq_f32(acc[1][0], b0, a0, 1); acc[1][1] = vfmaq_laneq_f32(acc[1][1], b1, a0, 1);
        acc[2][0] = vfmaq_laneq_f32(acc[2][0], b0, a0, 2); acc[2][1] = vfmaq_laneq_f32(acc[2][1], b1, a0, 2);
        acc[3][0] = vfmaq_laneq_f32(acc[3][0], b0, a0, 3); acc[3][1] = vfmaq_laneq_f32(acc[3][1], b1, a0, 3);
        acc[4][0] = vfmaq_laneq_f32(acc[4][0], b0, a1, 0); acc[4][1] = vfmaq_laneq_f32(acc[4][1], b1, a1, 0);
        acc[5][0] = vfmaq_laneq_f32(acc[5][0], b0, a1, 1); acc[5][1] = vfmaq_laneq_f32(acc[5][1], b1, a1, 1);
        acc[6][0] = vfmaq_laneq_f32(acc[6][0], b0, a1, 2); acc[6][1] = vfmaq_laneq_f32(acc[6][1], b1, a1, 2);
        acc[7][0] = vfmaq_laneq_f32(acc[7][0], b0, a1, 3); acc[7][1] = vfmaq_laneq_f32(acc[7][1], b1, a1, 3);
    }
    for (r = 0; r < 8; r++) {
        float *cr = c + r * ldc;
        float32x4_t r0 = vmulq_n_f32(acc[r][0], alpha), r1 = vmulq_n_f32(acc[r][1], alpha);
        if (beta != 0.0f) {
            r0 = vfmaq_n_f32(r0, vld1q_f32(cr), beta);
            r1 = vfmaq_n_f32(r1, vld1q_f32(cr + 4), beta);
        }
        vst1q_f32(cr, r0); vst1q_f32(cr + 4, r1);
    }
}

/* R (1..8) rows of rnn__kernel_neon's tile with A read in place (row r at
   a + r·lda): a recurrent step's product, whose few rows no task then packs
   again. A fused multiply-add by a broadcast value gives what the
   lane-indexed one gives, so each element is the packed kernel's value. */
static RNN__INLINE void rnn__kernel_rows_neon(const int R, int kc, const float *a, int lda, const float *bp, int ldb,
                                              float *c, int ldc, float alpha, float beta) {
    float32x4_t x00 = vdupq_n_f32(0.0f), x01 = x00, x10 = x00, x11 = x00, x20 = x00, x21 = x00, x30 = x00,
                x31 = x00, x40 = x00, x41 = x00, x50 = x00, x51 = x00, x60 = x00, x61 = x00, x70 = x00, x71 = x00;
    int p;
    for (p = 0; p < kc; p++, a++, bp += ldb) {
        float32x4_t b0 = vld1q_f32(bp), b1 = vld1q_f32(bp + 4);
#define RNN__ROWN(r, x0, x1)                                                            \
        if (R > r) {                                                                    \
            float s = a[(size_t)(r) * lda];                                             \
            x0 = vfmaq_n_f32(x0, b0, s); x1 = vfmaq_n_f32(x1, b1, s);                    \
        }
        RNN__ROWN(0, x00, x01) RNN__ROWN(1, x10, x11) RNN__ROWN(2, x20, x21) RNN__ROWN(3, x30, x31)
        RNN__ROWN(4, x40, x41) RNN__ROWN(5, x50, x51) RNN__ROWN(6, x60, x61) RNN__ROWN(7, x70, x71)
#undef RNN__ROWN
    }
#define RNN__STOREN(r, x0, x1)                                                          \
    if (R > r) {                                                                        \
        float *cr = c + (r) * ldc;                                                      \
        float32x4_t r0 = vmulq_n_f32(x0, alpha), r1 = vmulq_n_f32(x1, alpha);           \
        if (beta != 0.0f) {                                                             \
            r0 = vfmaq_n_f32(r0, vld1q_f32(cr), beta);                                  \
            r1 = vfmaq_n_f32(r1, vld1q_f32(cr + 4), beta);                              \
        }                                                                               \
        vst1q_f32(cr, r0); vst1q_f32(cr + 4, r1);                                       \
    }
    RNN__STOREN(0, x00, x01) RNN__STOREN(1, x10, x11) RNN__STOREN(2, x20, x21) RNN__STOREN(3, x30, x31)
    RNN__STOREN(4, x40, x41) RNN__STOREN(5, x50, x51) RNN__STOREN(6, x60, x61) RNN__STOREN(7, x70, x71)
#undef RNN__STOREN
}

static void rnn__kernel_a_neon(int rows, int kc, const float *a, int lda, const float *bp, int ldb, float *c,
                               int ldc, float alpha, float beta) {
    switch (rows) {
    case 8: rnn__kernel_rows_neon(8, kc, a, lda, bp, ldb, c, ldc, alpha, beta); break;
    case 7: rnn__kernel_rows_neon(7, kc, a, lda, bp, ldb, c, ldc, alpha, beta); break;
    case 6: rnn__kernel_rows_neon(6, kc, a, lda, bp, ldb, c, ldc, alpha, beta); break;
    case 5: rnn__kernel_rows_neon(5, kc, a, lda, bp, ldb, c, ldc, alpha, beta); break;
    case 4: rnn__kernel_rows_neon(4, kc, a, lda, bp, ldb, c, ldc, alpha, beta); break;
    case 3: rnn__kernel_rows_neon(3, kc, a, lda, bp, ldb, c, ldc, alpha, beta); break;
    case 2: rnn__kernel_rows_neon(2, kc, a, lda, bp, ldb, c, ldc, alpha, beta); break;
    default: rnn__kernel_rows_neon(1, kc, a, lda, bp, ldb, c, ldc, alpha, beta); break;
    }
}

/* C = alpha·A·Bᵀ + beta·C for few rows of A (a token's product where no
   panels are kept): each row of B once from memory, straight through, dotted
   with every row of A while it sits in L1; 4 accumulators. */
static void rnn__dot_neon(int m, int n, int k, float alpha, const float *a, int lda,
                          const float *b, int ldb, float beta, float *c, int ldc) {
    int i, j, p;
    for (j = 0; j < n; j++) {
        const float *bj = b + (size_t)j * ldb;
        for (i = 0; i < m; i++) {
            const float *ai = a + (size_t)i * lda;
            float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0, s2 = s0, s3 = s0;
            float s, *cij = c + (size_t)i * ldc + j;
            for (p = 0; p + 16 <= k; p += 16) {
                s0 = vfmaq_f32(s0, vld1q_f32(ai + p), vld1q_f32(bj + p));
                s1 = vfmaq_f32(s1, vld1q_f32(ai + p + 4), vld1q_f32(bj + p + 4));
                s2 = vfmaq_f32(s2, vld1q_f32(ai + p + 8), vld1q_f32(bj + p + 8));
                s3 = vfmaq_f32(s3, vld1q_f32(ai + p + 12), vld1q_f32(bj + p + 12));
            }
            for (; p + 4 <= k; p += 4) s0 = vfmaq_f32(s0, vld1q_f32(ai + p), vld1q_f32(bj + p));
            s = vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3)));
            for (; p < k; p++) s += ai[p] * bj[p];
            *cij = alpha * s + (beta == 0.0f ? 0.0f : beta * *cij);
        }
    }
}

/* y[0..n) = alpha·x·B + beta·y (B k×n, row stride ldb): 32 columns at a
   time in 8 accumulators over the k rows, the rest 4 and then 1 at a time. */
static void rnn__gemv_n_neon(int n, int k, float alpha, const float *x, const float *b, int ldb, float beta,
                             float *y) {
    float32x4_t va = vdupq_n_f32(alpha), vb = vdupq_n_f32(beta);
    int j = 0, p, q;
    for (; j + 32 <= n; j += 32) {
        float32x4_t acc[8];
        for (q = 0; q < 8; q++) acc[q] = vdupq_n_f32(0.0f);
        for (p = 0; p < k; p++) {
            const float *bp = b + (size_t)p * ldb + j;
            float32x4_t xv = vdupq_n_f32(x[p]);
            acc[0] = vfmaq_f32(acc[0], vld1q_f32(bp), xv);
            acc[1] = vfmaq_f32(acc[1], vld1q_f32(bp + 4), xv);
            acc[2] = vfmaq_f32(acc[2], vld1q_f32(bp + 8), xv);
            acc[3] = vfmaq_f32(acc[3], vld1q_f32(bp + 12), xv);
            acc[4] = vfmaq_f32(acc[4], vld1q_f32(bp + 16), xv);
            acc[5] = vfmaq_f32(acc[5], vld1q_f32(bp + 20), xv);
            acc[6] = vfmaq_f32(acc[6], vld1q_f32(bp + 24), xv);
            acc[7] = vfmaq_f32(acc[7], vld1q_f32(bp + 28), xv);
        }
        for (q = 0; q < 8; q++) {
            float32x4_t r = vmulq_f32(va, acc[q]);
            if (beta != 0.0f) r = vfmaq_f32(r, vb, vld1q_f32(y + j + 4 * q));
            vst1q_f32(y + j + 4 * q, r);
        }
    }
    for (; j + 4 <= n; j += 4) {
        float32x4_t acc = vdupq_n_f32(0.0f), r;
        for (p = 0; p < k; p++) acc = vfmaq_f32(acc, vld1q_f32(b + (size_t)p * ldb + j), vdupq_n_f32(x[p]));
        r = vmulq_f32(va, acc);
        if (beta != 0.0f) r = vfmaq_f32(r, vb, vld1q_f32(y + j));
        vst1q_f32(y + j, r);
    }
    for (; j < n; j++) {
        float s = 0.0f;
        for (p = 0; p < k; p++) s += x[p] * b[(size_t)p * ldb + j];
        y[j] = alpha * s + (beta == 0.0f ? 0.0f : beta * y[j]);
    }
}

/* e^x on 4 lanes: rnn__exp8's steps (n rounded to nearest by vrndnq).
   FMIN and FMAX return NaN for a NaN, so it passes the clamps and the
   arithmetic; past 88.72 the scaling overflows to inf by itself. */
#define RNN__EXP4_FMA(a, b, c) vfmaq_f32(c, a, b)
#define RNN__EXP4_POLY(p, r) RNN__EXP_POLY7(p, r, vdupq_n_f32, RNN__EXP4_FMA)
#define RNN__EXP4_REDUCE(n, r, xc)                                \
    n = vrndnq_f32(vmulq_f32(xc, vdupq_n_f32(1.44269504f)));     \
    r = vfmsq_f32(xc, n, vdupq_n_f32(0.693145752f));              \
    r = vfmsq_f32(r, n, vdupq_n_f32(1.42860677e-6f))
static RNN__INLINE float32x4_t rnn__exp4(float32x4_t x) {
    float32x4_t xc = vmaxq_f32(vminq_f32(x, vdupq_n_f32(89.0f)), vdupq_n_f32(-103.972084f)), n, r, p;
    int32x4_t i, h;
    RNN__EXP4_REDUCE(n, r, xc);
    RNN__EXP4_POLY(p, r);
    i = vcvtq_s32_f32(n);
    h = vshrq_n_s32(i, 1);   /* 2^n in two steps: results down to the denormals */
    p = vmulq_f32(p, vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(h, vdupq_n_s32(127)), 23)));
    return vmulq_f32(p, vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(vsubq_s32(i, h), vdupq_n_s32(127)), 23)));
}
/* e^x for x ≤ 88 with 2^n in one step, as rnn__exp8s: below -87.7 it is 0. */
static RNN__INLINE float32x4_t rnn__exp4s(float32x4_t x) {
    float32x4_t xc = vmaxq_f32(x, vdupq_n_f32(-88.0f)), n, r, p;
    RNN__EXP4_REDUCE(n, r, xc);
    RNN__EXP4_POLY(p, r);
    return vmulq_f32(p, vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23)));
}
#undef RNN__EXP4_POLY
#undef RNN__EXP4_FMA
#undef RNN__EXP4_REDUCE
/* rnn__sigmoid1 on 4 lanes: 1/(1+e^-|x|), times e^-|x| where x < 0. */
static RNN__INLINE float32x4_t rnn__sigmoid4(float32x4_t x) {
    float32x4_t e = rnn__exp4s(vnegq_f32(vabsq_f32(x)));
    float32x4_t s = vdivq_f32(vdupq_n_f32(1.0f), vaddq_f32(vdupq_n_f32(1.0f), e));
    return vbslq_f32(vcltq_f32(x, vdupq_n_f32(0.0f)), vmulq_f32(e, s), s);
}
/* rnn__tanh1 on 4 lanes (a NaN goes through FMIN and the arithmetic). */
static RNN__INLINE float32x4_t rnn__tanh4(float32x4_t x) {
    float32x4_t a = vabsq_f32(x), z = vmulq_f32(a, a), p, e, t;
    p = vdupq_n_f32(-5.704993808e-03f);
    p = vfmaq_f32(vdupq_n_f32(2.063909407e-02f), p, z);
    p = vfmaq_f32(vdupq_n_f32(-5.373971748e-02f), p, z);
    p = vfmaq_f32(vdupq_n_f32(1.333144223e-01f), p, z);
    p = vfmaq_f32(vdupq_n_f32(-3.333328194e-01f), p, z);
    p = vfmaq_f32(a, vmulq_f32(a, z), p);
    e = rnn__exp4s(vmulq_f32(vdupq_n_f32(2.0f), vminq_f32(a, vdupq_n_f32(9.1f))));
    t = vsubq_f32(vdupq_n_f32(1.0f), vdivq_f32(vdupq_n_f32(2.0f), vaddq_f32(e, vdupq_n_f32(1.0f))));
    t = vbslq_f32(vcltq_f32(a, vdupq_n_f32(0.625f)), p, t);
    return vbslq_f32(vdupq_n_u32(0x80000000u), x, t);   /* the sign of x, so tanh(-0) = -0 */
}
RNN__MAPV(rnn__sigmoid_neon, rnn__sigmoid4, 4, vld1q_f32, vst1q_f32, )
RNN__MAPV(rnn__tanh_neon, rnn__tanh4, 4, vld1q_f32, vst1q_f32, )
RNN__MAPV(rnn__exp_neon, rnn__exp4, 4, vld1q_f32, vst1q_f32, )

/* The point-wise passes of the cells (rnn__lstm_fwd_c ... rnn__gru_bwd_c)
   in one pass, 4 units a step, the same operations in the same order as
   the AVX2 ones; the last H % 4 units go through a block padded in a
   buffer (NEON has no masked loads). */
static float32x4_t rnn__ld4n(const float *p, int n) {
    float t[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    memcpy(t, p, sizeof(float) * (size_t)n);
    return vld1q_f32(t);
}
static void rnn__st4n(float *p, float32x4_t v, int n) {
    float t[4];
    vst1q_f32(t, v);
    memcpy(p, t, sizeof(float) * (size_t)n);
}
#define RNN__UNITS4(H, ...)                                                                  \
    do {                                                                                     \
        int j = 0;                                                                           \
        {                                                                                    \
            const int full = 1;                                                              \
            for (; j + 4 <= (H); j += 4) { __VA_ARGS__ }                                     \
        }                                                                                    \
        if (j < (H)) {                                                                       \
            const int full = 0;                                                              \
            __VA_ARGS__                                                                      \
        }                                                                                    \
    } while (0)
#define RNN__LD4(p) (full ? vld1q_f32(p) : rnn__ld4n(p, H - j))
#define RNN__ST4(p, v) do { if (full) vst1q_f32(p, v); else rnn__st4n(p, v, H - j); } while (0)
#define RNN__V float32x4_t
#define RNN__VONE vdupq_n_f32(1.0f)
#define RNN__VADD vaddq_f32
#define RNN__VSUB vsubq_f32
#define RNN__VMUL vmulq_f32
#define RNN__VSIG rnn__sigmoid4
#define RNN__VTANH rnn__tanh4
#define RNN__LDV RNN__LD4
#define RNN__STV RNN__ST4
RNN__CELL_PASSES(, neon, RNN__UNITS4)
#define RNN__VFMA_NEON(a, b, c) vfmaq_f32(c, a, b)
#define RNN__VSET1 vdupq_n_f32
#define RNN__VLDU vld1q_f32
#define RNN__VSTU vst1q_f32
#define RNN__VFMA RNN__VFMA_NEON
#define RNN__VDIV vdivq_f32
#define RNN__VSQRT vsqrtq_f32
RNN__ADAM_PASS(, neon, 4)
#undef RNN__VSET1
#undef RNN__VLDU
#undef RNN__VSTU
#undef RNN__VFMA
#undef RNN__VDIV
#undef RNN__VSQRT
#undef RNN__VFMA_NEON
#undef RNN__V
#undef RNN__VONE
#undef RNN__VADD
#undef RNN__VSUB
#undef RNN__VMUL
#undef RNN__VSIG
#undef RNN__VTANH
#undef RNN__LDV
#undef RNN__STV
#undef RNN__UNITS4
#undef RNN__LD4
#undef RNN__ST4

/* rnn_sample's other passes (rnn__maxfin_c, rnn__cutsum_c, rnn__tally_c,
   rnn__gather_c) on 4 lanes, as the AVX2 ones on 8. */
static float rnn__maxfin_neon(const float *x, size_t n, int *bad) {
    float32x4_t m = vdupq_n_f32(x[0]);
    uint32x4_t b = vdupq_n_u32(0), ex = vdupq_n_u32(0x7F800000u);
    size_t i = 0;
    float mx, mv;
    int tb;
    for (; i + 4 <= n; i += 4) {   /* (vmaxq passes a NaN on; it is reported then) */
        float32x4_t v = vld1q_f32(x + i);
        b = vorrq_u32(b, vceqq_u32(vandq_u32(vreinterpretq_u32_f32(v), ex), ex));
        m = vmaxq_f32(m, v);
    }
    mx = rnn__maxfin_c(i < n ? x + i : x, i < n ? n - i : 1, &tb);   /* the tail (or x[0] again) */
    mv = vmaxvq_f32(m);
    *bad = tb | (vmaxvq_u32(b) != 0);
    return mv > mx ? mv : mx;
}
static void rnn__cutsum_neon(const float *w, size_t n, float cut, float *bs) {
    float32x4_t c = vdupq_n_f32(cut);
    size_t i = 0;
    int j;
    for (; i + RNN__SBLOCK <= n; i += RNN__SBLOCK) {
        float32x4_t s[4];
        for (j = 0; j < 4; j++) {
            float32x4_t a = vld1q_f32(w + i + 4 * j);
            s[j] = vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(a), vcgeq_f32(a, c)));
        }
        bs[i / RNN__SBLOCK] = vaddvq_f32(vaddq_f32(vaddq_f32(s[0], s[1]), vaddq_f32(s[2], s[3])));
    }
    if (i < n) rnn__cutsum_c(w + i, n - i, cut, bs + i / RNN__SBLOCK);
}
static void rnn__tally_neon(const float *w, size_t n, float t, double *mass, double *count) {
    float32x4_t vt = vdupq_n_f32(t), s0 = vdupq_n_f32(0.0f), s1 = s0;
    uint32x4_t c0 = vdupq_n_u32(0), c1 = c0;
    size_t i = 0;
    double s, c;
    for (; i + 8 <= n; i += 8) {   /* a kept lane's mask is all ones, so subtracting it counts 1 */
        float32x4_t a = vld1q_f32(w + i), b = vld1q_f32(w + i + 4);
        uint32x4_t ma = vcgeq_f32(a, vt), mb = vcgeq_f32(b, vt);
        s0 = vaddq_f32(s0, vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(a), ma)));
        s1 = vaddq_f32(s1, vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(b), mb)));
        c0 = vsubq_u32(c0, ma);
        c1 = vsubq_u32(c1, mb);
    }
    rnn__tally_c(w + i, n - i, t, &s, &c);
    *mass = s + vaddvq_f32(vaddq_f32(s0, s1));
    *count = c + vaddvq_u32(vaddq_u32(c0, c1));
}
static int rnn__gather_neon(const float *w, size_t n, float lo, float hi, float *out) {
    /* for each 4-lane mask: the bytes of its set lanes first (vqtbl1q_u8 gives 0 for 16 and up) */
#define RNN__G4(a, b, c, d)                                                                                  \
    {4 * (a), 4 * (a) + 1, 4 * (a) + 2, 4 * (a) + 3, 4 * (b), 4 * (b) + 1, 4 * (b) + 2, 4 * (b) + 3,         \
     4 * (c), 4 * (c) + 1, 4 * (c) + 2, 4 * (c) + 3, 4 * (d), 4 * (d) + 1, 4 * (d) + 2, 4 * (d) + 3}
    static const uint8_t lanes[16][16] = {
        RNN__G4(4, 4, 4, 4), RNN__G4(0, 4, 4, 4), RNN__G4(1, 4, 4, 4), RNN__G4(0, 1, 4, 4),
        RNN__G4(2, 4, 4, 4), RNN__G4(0, 2, 4, 4), RNN__G4(1, 2, 4, 4), RNN__G4(0, 1, 2, 4),
        RNN__G4(3, 4, 4, 4), RNN__G4(0, 3, 4, 4), RNN__G4(1, 3, 4, 4), RNN__G4(0, 1, 3, 4),
        RNN__G4(2, 3, 4, 4), RNN__G4(0, 2, 3, 4), RNN__G4(1, 2, 3, 4), RNN__G4(0, 1, 2, 3)};
#undef RNN__G4
    static const uint32_t bit[4] = {1, 2, 4, 8};
    float32x4_t vl = vdupq_n_f32(lo), vh = vdupq_n_f32(hi);
    uint32x4_t vb = vld1q_u32(bit);
    size_t i = 0;
    int m = 0;
    for (; i + 4 <= n; i += 4) {   /* the kept lanes moved to the front, all 4 stored (out has room: m <= i) */
        float32x4_t a = vld1q_f32(w + i);
        uint32x4_t k = vandq_u32(vcgeq_f32(a, vl), vcltq_f32(a, vh));
        unsigned bits = vaddvq_u32(vandq_u32(k, vb));
        if (!bits) continue;   /* (most blocks, when few are kept) */
        vst1q_f32(out + m, vreinterpretq_f32_u8(vqtbl1q_u8(vreinterpretq_u8_f32(a), vld1q_u8(lanes[bits]))));
        m += (int)(0u - vaddvq_u32(k));   /* (each set lane is 2^32 - 1) */
    }
    return m + rnn__gather_c(w + i, n - i, lo, hi, out + m);
}

/* rnn__weigh_c with 4 lanes of rnn__exp4s (x ≤ 0 here), 0 below e^-87 as
   there; the block sums as rnn__cutsum_neon makes them. */
static float rnn__weigh_neon(float *w, const float *z, size_t n, float mx, float it, float *bs) {
    float32x4_t vm = vdupq_n_f32(mx), vi = vdupq_n_f32(it), lim = vdupq_n_f32(-87.0f), lo = vdupq_n_f32(1.0f);
    float low;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        float32x4_t x = vmulq_f32(vsubq_f32(vld1q_f32(z + i), vm), vi);
        float32x4_t e = vreinterpretq_f32_u32(vandq_u32(vcgeq_f32(x, lim), vreinterpretq_u32_f32(rnn__exp4s(x))));
        vst1q_f32(w + i, e);
        lo = vminq_f32(lo, e);
    }
    low = vminvq_f32(lo);
    for (; i < n; i++) {
        float x = (z[i] - mx) * it;
        w[i] = x < -87.0f ? 0.0f : rnn__exp1(x);
        low = w[i] < low ? w[i] : low;
    }
    rnn__cutsum_neon(w, n, 0.0f, bs);
    return low;
}

static const rnn__arch rnn__arch_neon = {
    "neon", 8, 8, rnn__kernel_neon, rnn__dot_neon,
    rnn__sigmoid_neon, rnn__tanh_neon, rnn__exp_neon, rnn__adam_neon, rnn__gemv_n_neon, rnn__lstm_fwd_neon,
    rnn__lstm_bwd_neon, rnn__gru_fwd_neon, rnn__gru_bwd_neon, rnn__maxfin_neon, rnn__weigh_neon, rnn__cutsum_neon,
    rnn__tally_neon, rnn__gather_neon, NULL, rnn__kernel_a_neon};
static const rnn__arch *rnn__neon_paths(void) { return &rnn__arch_neon; }

/* The int8 kernel (rnn__q8_dot_c's contract). One group of 4 inputs is 8
   registers of 4 rows × 4 bytes. With the dot-product extension (sdot,
   ARMv8.2, compiled in when the target has it) each adds its rows' 4
   products at once; without, vmull_s8 multiplies 2 rows' bytes into int16
   (127² fits) and vpadalq_s16 adds them in pairs into int32, two lanes a
   row, summed by vpaddq_s32 at the end. */
static void rnn__q8_dot_neon(int np, int kg, const signed char *w, const int32_t *wsum, const signed char *qx,
                             int32_t *acc) {
    int p, g, j;
    (void)wsum;
    for (p = 0; p < np; p++, acc += RNN__Q8_ROWS) {
#ifdef __ARM_FEATURE_DOTPROD
        int32x4_t a[8];
        for (j = 0; j < 8; j++) a[j] = vdupq_n_s32(0);
        for (g = 0; g < kg; g++, w += 4 * RNN__Q8_ROWS) {
            int32_t x4;
            int8x16_t xb;
            memcpy(&x4, qx + 4 * g, 4);
            xb = vreinterpretq_s8_s32(vdupq_n_s32(x4));
            for (j = 0; j < 8; j++) a[j] = vdotq_s32(a[j], vld1q_s8(w + 16 * j), xb);
        }
        for (j = 0; j < 8; j++) vst1q_s32(acc + 4 * j, a[j]);
#else
        int32x4_t lo[8], hi[8];
        for (j = 0; j < 8; j++) lo[j] = hi[j] = vdupq_n_s32(0);
        for (g = 0; g < kg; g++, w += 4 * RNN__Q8_ROWS) {
            int32_t x4;
            int8x8_t xb;
            memcpy(&x4, qx + 4 * g, 4);
            xb = vreinterpret_s8_s32(vdup_n_s32(x4));
            for (j = 0; j < 8; j++) {
                int8x16_t wv = vld1q_s8(w + 16 * j);
                lo[j] = vpadalq_s16(lo[j], vmull_s8(vget_low_s8(wv), xb));
                hi[j] = vpadalq_s16(hi[j], vmull_s8(vget_high_s8(wv), xb));
            }
        }
        for (j = 0; j < 8; j++) vst1q_s32(acc + 4 * j, vpaddq_s32(lo[j], hi[j]));
#endif
    }
}

/* rnn__q8_vector_c on 4 lanes: the same largest |x| (vmaxnm keeps m where
   x is NaN, as the C comparison does), the same clamp (NaN to -127) and
   round to nearest even (vcvtnq), narrowed to bytes 8 at a time. */
static float rnn__q8_vector_neon(const float *x, int k, int kg, signed char *qx) {
    float32x4_t m = vdupq_n_f32(0.0f), inv, lo = vdupq_n_f32(-127.0f), hi = vdupq_n_f32(127.0f);
    float amax, fi;
    int i;
    for (i = 0; i + 4 <= k; i += 4) m = vmaxnmq_f32(m, vabsq_f32(vld1q_f32(x + i)));
    amax = vmaxnmvq_f32(m);
    for (; i < k; i++) amax = fabsf(x[i]) > amax ? fabsf(x[i]) : amax;
    fi = amax > 0.0f ? 127.0f / amax : 0.0f;
    inv = vdupq_n_f32(fi);
    for (i = 0; i + 8 <= k; i += 8) {
        float32x4_t a = vmulq_f32(vld1q_f32(x + i), inv), b = vmulq_f32(vld1q_f32(x + i + 4), inv);
        a = vminq_f32(vbslq_f32(vcgeq_f32(a, lo), a, lo), hi);
        b = vminq_f32(vbslq_f32(vcgeq_f32(b, lo), b, lo), hi);
        vst1_s8(qx + i, vqmovn_s16(vcombine_s16(vqmovn_s32(vcvtnq_s32_f32(a)), vqmovn_s32(vcvtnq_s32_f32(b)))));
    }
    for (; i < k; i++) qx[i] = rnn__q8_round(x[i] * fi);
    for (; i < 4 * kg; i++) qx[i] = 0;
    return amax / 127.0f;
}

/* rnn__q8_finish_c on 4 lanes, the same operations (no fused form). */
static void rnn__q8_finish_neon(int n, const int32_t *acc, float sx, const float *scale, float *y, const float *b0,
                                const float *b1) {
    float32x4_t s = vdupq_n_f32(sx);
    int j;
    for (j = 0; j + 4 <= n; j += 4) {
        float32x4_t a = vcvtq_f32_s32(vld1q_s32(acc + j));
        float32x4_t base = !b0 ? vld1q_f32(y + j)
                         : b1  ? vaddq_f32(vld1q_f32(b0 + j), vld1q_f32(b1 + j))
                               : vld1q_f32(b0 + j);
        vst1q_f32(y + j, vaddq_f32(base, vmulq_f32(a, vmulq_f32(s, vld1q_f32(scale + j)))));
    }
    for (; j < n; j++) y[j] = rnn__q8_base(y, b0, b1, j) + (float)acc[j] * (sx * scale[j]);
}
#endif

#if defined(RNN__HAVE_AVX512) && !defined(RNN_USE_CBLAS)
/* rnn__pack_rows for the AVX-512 kernel's panels (width 32): 16×16 blocks
   transposed in registers, four shuffle stages (pairs of rows, quads, then
   128-bit lanes twice), a quarter of the 4×4 path's shuffles per float. */
/* (zero-masked forms: the plain ones pass an undefined operand through,
   which g++ warns about) */
#define RNN__ALL ((__mmask16)0xFFFFu)
#define RNN__SHPS(a, b, i) _mm512_maskz_shuffle_ps(RNN__ALL, a, b, i)
#define RNN__SHLN(a, b, i) _mm512_maskz_shuffle_f32x4(RNN__ALL, a, b, i)
RNN__TARGET_AVX512
static void rnn__pack_rows_avx512(const float *src, int ld, int rows, int kc, int width, float *dst) {
    int r = 0, p, q;
    for (; r + 16 <= rows; r += 16) {
        const float *s = src + (size_t)r * ld;
        for (p = 0; p + 16 <= kc; p += 16) {
            /* named registers, not an array: compilers keep arrays of
               vectors in memory */
            __m512 x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15;
#define RNN__LD(v, q) v = _mm512_loadu_ps(s + (size_t)(q) * ld + p);
            RNN__LD(x0, 0) RNN__LD(x1, 1) RNN__LD(x2, 2) RNN__LD(x3, 3) RNN__LD(x4, 4) RNN__LD(x5, 5)
            RNN__LD(x6, 6) RNN__LD(x7, 7) RNN__LD(x8, 8) RNN__LD(x9, 9) RNN__LD(x10, 10) RNN__LD(x11, 11)
            RNN__LD(x12, 12) RNN__LD(x13, 13) RNN__LD(x14, 14) RNN__LD(x15, 15)
#undef RNN__LD
            /* rows a, b -> their values interleaved in pairs of k */
#define RNN__UNP(a, b) { \
            __m512 lo = _mm512_maskz_unpacklo_ps(RNN__ALL, a, b), hi = _mm512_maskz_unpackhi_ps(RNN__ALL, a, b); \
            a = lo; b = hi; }
            RNN__UNP(x0, x1) RNN__UNP(x2, x3) RNN__UNP(x4, x5) RNN__UNP(x6, x7)
            RNN__UNP(x8, x9) RNN__UNP(x10, x11) RNN__UNP(x12, x13) RNN__UNP(x14, x15)
#undef RNN__UNP
            /* four rows -> a, b, c, d: the four at k = 0, 1, 2, 3 (+4 per 128-bit lane) */
#define RNN__SHQ(a, b, c, d) { \
            __m512 u0 = RNN__SHPS(a, c, 0x44), u1 = RNN__SHPS(a, c, 0xEE); \
            __m512 u2 = RNN__SHPS(b, d, 0x44), u3 = RNN__SHPS(b, d, 0xEE); \
            a = u0; b = u1; c = u2; d = u3; }
            RNN__SHQ(x0, x1, x2, x3) RNN__SHQ(x4, x5, x6, x7)
            RNN__SHQ(x8, x9, x10, x11) RNN__SHQ(x12, x13, x14, x15)
#undef RNN__SHQ
            /* 128-bit lanes, twice: k = q, q+4, q+8, q+12 of all 16 rows */
#define RNN__OUT(a, b, c, d, q) { \
            __m512 v0 = RNN__SHLN(a, b, 0x88), v1 = RNN__SHLN(a, b, 0xDD); \
            __m512 v2 = RNN__SHLN(c, d, 0x88), v3 = RNN__SHLN(c, d, 0xDD); \
            _mm512_storeu_ps(dst + (size_t)(p + (q)) * width + r, RNN__SHLN(v0, v2, 0x88)); \
            _mm512_storeu_ps(dst + (size_t)(p + (q) + 8) * width + r, RNN__SHLN(v0, v2, 0xDD)); \
            _mm512_storeu_ps(dst + (size_t)(p + (q) + 4) * width + r, RNN__SHLN(v1, v3, 0x88)); \
            _mm512_storeu_ps(dst + (size_t)(p + (q) + 12) * width + r, RNN__SHLN(v1, v3, 0xDD)); }
            RNN__OUT(x0, x4, x8, x12, 0) RNN__OUT(x1, x5, x9, x13, 1)
            RNN__OUT(x2, x6, x10, x14, 2) RNN__OUT(x3, x7, x11, x15, 3)
#undef RNN__OUT
        }
        for (; p < kc; p++)
            for (q = 0; q < 16; q++) dst[(size_t)p * width + r + q] = s[(size_t)q * ld + p];
    }
    for (; r < rows; r++)
        for (p = 0; p < kc; p++) dst[(size_t)p * width + r] = src[(size_t)r * ld + p];
    for (; r < width; r++)
        for (p = 0; p < kc; p++) dst[(size_t)p * width + r] = 0.0f;
}
#undef RNN__SHPS
#undef RNN__SHLN
#endif

#ifdef __cplusplus
}
#endif
#endif /* RNN_IMPLEMENTATION */

/*
------------------------------------------------------------------------------
MIT License

Copyright (c) 2026 the rnn.h authors

Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies
of the Software, and to permit persons to whom the Software is furnished to do
so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
------------------------------------------------------------------------------
*/
