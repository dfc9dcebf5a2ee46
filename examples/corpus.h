/* examples/corpus.h - reading the texts the examples learn from: whole
   files, UTF-8 (or Latin-1 read as such), and Debian's fortune files (one
   fortune per "%" line, attributions left out, white space folded). A file
   that cannot be read is said on stderr, prefixed with the program's name.
   Needs rnn.h (the UTF-8 functions) included first. */
#ifndef EXAMPLES_CORPUS_H
#define EXAMPLES_CORPUS_H
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A whole file, NUL-ended; NULL with a message if it cannot be read. */
static inline char *corpus_slurp(const char *prog, const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0, got;
    if (!f) { fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno)); return NULL; }
    do {
        if (n + 65536 + 1 > cap) {
            char *nb = (char *)realloc(buf, cap = 2 * cap + 65536 + 1);
            if (!nb) { free(buf); fclose(f); fprintf(stderr, "%s: out of memory\n", prog); return NULL; }
            buf = nb;
        }
        got = fread(buf + n, 1, 65536, f);
        n += got;
    } while (got > 0);
    if (ferror(f)) { fprintf(stderr, "%s: %s: read error\n", prog, path); free(buf); fclose(f); return NULL; }
    fclose(f);
    buf[n] = 0;
    *len = n;
    return buf;
}

/* s[0..n) as UTF-8: copied if valid, else read as Latin-1 (swedish is). */
static inline char *corpus_utf8(const char *s, size_t n) {
    size_t i = 0, k = 0;
    uint32_t cp;
    char *out;
    int w, valid = 1;
    while (i < n && valid) {
        w = rnn_utf8_decode(s + i, n - i, &cp);
        valid = w > 0;
        i += (size_t)w;
    }
    out = (char *)malloc(valid ? n + 1 : 2 * n + 1);
    if (!out) return NULL;
    if (valid) { memcpy(out, s, n); out[n] = 0; return out; }
    for (i = 0; i < n; i++) k += (size_t)rnn_utf8_encode((unsigned char)s[i], out + k);
    out[k] = 0;
    return out;
}

/* FNV-1a of bytes: a text's fixed side of a train/test split. */
static inline uint64_t corpus_hash(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

/* One fortune's text: its lines joined, attribution lines ("-- name")
   left out, white space folded to single spaces. A new NUL-ended string
   (its length in *len), or NULL when out of memory. */
static inline char *corpus_fortune(const char *f, size_t n, size_t *len) {
    char *clean = (char *)malloc(n + 1);
    size_t i = 0, k = 0;
    if (!clean) return NULL;
    while (i < n) {   /* one line */
        size_t e = i, b = i;
        while (e < n && f[e] != '\n') e++;
        while (b < e && (f[b] == ' ' || f[b] == '\t')) b++;
        if (!(e - b >= 2 && f[b] == '-' && f[b + 1] == '-')) {
            for (; b < e; b++) {
                char ch = f[b] == '\t' || f[b] == '\r' ? ' ' : f[b];
                if (ch == ' ' && (k == 0 || clean[k - 1] == ' ')) continue;
                clean[k++] = ch;
            }
            if (k && clean[k - 1] != ' ') clean[k++] = ' ';
        }
        i = e + 1;
    }
    while (k && clean[k - 1] == ' ') k--;
    clean[k] = 0;
    *len = k;
    return clean;
}

/* Calls fn(user, fortune, bytes) for each fortune of a fortune file (they
   end at a line "%"); 0 if the file cannot be read (said). */
static inline int corpus_fortunes(const char *prog, const char *path, void (*fn)(void *user, const char *f, size_t n),
                           void *user) {
    size_t n = 0, p = 0;
    char *buf = corpus_slurp(prog, path, &n);
    if (!buf) return 0;
    while (p < n) {
        size_t e = p;
        while (e < n && !(buf[e] == '%' && (e == 0 || buf[e - 1] == '\n') && (e + 1 == n || buf[e + 1] == '\n'))) e++;
        fn(user, buf + p, e - p);
        p = e + 2;
    }
    free(buf);
    return 1;
}
#endif
