/* examples/cli.h - the option parser the example programs share.

   A program lists its options in a table of cli_opt (name, kind, allowed
   range, default) and calls cli_parse: an unknown option, a missing value,
   a value that is not a number, not finite, not whole where it must be, or
   outside its range is an error that names the option and its range, and
   the program exits with status 2. No value silently becomes a default.
   Both "--name value" and "--name=value" are read. */
#ifndef EXAMPLES_CLI_H
#define EXAMPLES_CLI_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { CLI_FLAG, CLI_INT, CLI_NUM, CLI_STR } cli_kind;

typedef struct cli_opt {
    const char *name;   /* "--hidden" */
    const char *alt;    /* a second spelling ("-o"), or NULL */
    cli_kind kind;
    double lo, hi;      /* CLI_INT, CLI_NUM: the allowed range, both ends included */
    double num;         /* the value: the default until given */
    const char *str;    /* CLI_STR: the value (or its default; NULL: none) */
    int given;          /* 1 if the command line set it */
} cli_opt;

/* The option called name (which the table must hold). */
static cli_opt *cli_get(cli_opt *opts, int n, const char *name) {
    int i;
    for (i = 0; i < n; i++)
        if (!strcmp(opts[i].name, name)) return &opts[i];
    fprintf(stderr, "cli: no option %s in the table\n", name);
    exit(70);
}

/* Parses argv[first..argc): options into opts[n], the other words into
   pos[0..maxpos) (*npos gets their count). Returns 0, or 2 after printing
   what is wrong, prefixed with prog. */
static int cli_parse(const char *prog, int argc, char **argv, int first, cli_opt *opts, int n,
                     const char **pos, int maxpos, int *npos) {
    int a, i;
    *npos = 0;
    for (a = first; a < argc; a++) {
        const char *arg = argv[a], *val = NULL, *eq;
        char name[64];
        size_t nl;
        cli_opt *o = NULL;
        if (arg[0] != '-' || !arg[1]) {   /* a word (or "-") */
            if (*npos == maxpos) {
                fprintf(stderr, "%s: unexpected argument \"%s\" (see --help)\n", prog, arg);
                return 2;
            }
            pos[(*npos)++] = arg;
            continue;
        }
        eq = strchr(arg, '=');
        nl = eq ? (size_t)(eq - arg) : strlen(arg);
        if (nl >= sizeof name) nl = sizeof name - 1;
        memcpy(name, arg, nl);
        name[nl] = 0;
        for (i = 0; i < n && !o; i++)
            if (!strcmp(name, opts[i].name) || (opts[i].alt && !strcmp(name, opts[i].alt))) o = &opts[i];
        if (!o) {
            fprintf(stderr, "%s: unknown option %s (see --help)\n", prog, name);
            return 2;
        }
        if (o->given) {
            fprintf(stderr, "%s: %s is given twice\n", prog, o->name);
            return 2;
        }
        o->given = 1;
        if (o->kind == CLI_FLAG) {
            if (eq) { fprintf(stderr, "%s: %s takes no value\n", prog, o->name); return 2; }
            o->num = 1;
            continue;
        }
        if (eq) val = eq + 1;
        else if (a + 1 < argc) val = argv[++a];
        else { fprintf(stderr, "%s: %s needs a value\n", prog, o->name); return 2; }
        if (o->kind == CLI_STR) { o->str = val; continue; }
        {
            char *end;
            double v = strtod(val, &end);
            if (end == val || *end) {
                fprintf(stderr, "%s: %s wants a number, not \"%s\"\n", prog, o->name, val);
                return 2;
            }
            if (!(v == v) || v > 1e300 || v < -1e300) {
                fprintf(stderr, "%s: %s must be a finite number, not %s\n", prog, o->name, val);
                return 2;
            }
            if (o->kind == CLI_INT && v != (double)(long long)v) {
                fprintf(stderr, "%s: %s wants a whole number, not %s\n", prog, o->name, val);
                return 2;
            }
            if (v < o->lo || v > o->hi) {
                fprintf(stderr, "%s: %s %s is outside %g..%g\n", prog, o->name, val, o->lo, o->hi);
                return 2;
            }
            o->num = v;
        }
    }
    return 0;
}
#endif
