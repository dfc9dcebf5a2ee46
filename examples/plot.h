/* examples/plot.h - the SVG pictures the example programs draw: an axis
   frame with lines over it (learning curves) and a dashed baseline. A
   picture is written to PATH.tmp and renamed over PATH when complete, so a
   picture is whole or absent. Every failure is said on stderr, prefixed
   with the program's name; no picture is worth stopping a program for. */
#ifndef EXAMPLES_PLOT_H
#define EXAMPLES_PLOT_H
#include <errno.h>
#include <stdio.h>
#include <string.h>

typedef struct { double x, y; } plot_point;   /* x: seconds of training */

typedef struct {
    FILE *f;
    char tmp[1200];
    const char *path, *prog;
    double x0, y0, w, h;    /* the frame, in pixels */
    double xmax, ylo, yhi;  /* the data range */
    int lines;
    int legend_top;         /* 1: the legend in the upper middle (falling curves); 0: bottom right */
} plot;

/* Opens PATH.tmp for an SVG of w × h pixels; 0 if it cannot (said). */
static inline int plot_open(plot *p, const char *prog, const char *path, int w, int h) {
    memset(p, 0, sizeof *p);
    p->path = path; p->prog = prog;
    snprintf(p->tmp, sizeof p->tmp, "%s.tmp", path);
    if (!(p->f = fopen(p->tmp, "w"))) {
        fprintf(stderr, "%s: cannot write %s: %s\n", prog, p->tmp, strerror(errno));
        return 0;
    }
    fprintf(p->f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" "
                  "font-size=\"12\">\n<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", w, h, w, h);
    return 1;
}

/* Ends the SVG and renames it into place. */
static inline void plot_close(plot *p) {
    if (!p->f) return;
    fprintf(p->f, "</svg>\n");
    if (fclose(p->f) != 0 || rename(p->tmp, p->path) != 0) {
        fprintf(stderr, "%s: cannot write %s\n", p->prog, p->path);
        remove(p->tmp);
    }
    p->f = NULL;
}

/* A learning-curve picture (660 × 370): title, axes, five y labels printed
   with yfmt from ylo + (yhi − ylo)·k/4 times yscale, x from 0 to xmax s. */
static inline int plot_curves(plot *p, const char *prog, const char *path, const char *title, double xmax, double ylo,
                       double yhi, const char *yfmt, double yscale) {
    int k;
    if (!plot_open(p, prog, path, 660, 370)) return 0;
    p->x0 = 60; p->y0 = 30; p->w = 560; p->h = 300;
    p->xmax = xmax > 0 ? xmax : 1; p->ylo = ylo; p->yhi = yhi > ylo ? yhi : ylo + 1;
    fprintf(p->f, "<text x=\"%g\" y=\"18\" font-size=\"14\">%s</text>\n", p->x0, title);
    fprintf(p->f, "<path d=\"M%g %g V%g H%g\" stroke=\"black\" fill=\"none\"/>\n", p->x0, p->y0, p->y0 + p->h,
            p->x0 + p->w);
    for (k = 0; k <= 4; k++) {
        char num[32];
        snprintf(num, sizeof num, yfmt, yscale * (ylo + (p->yhi - ylo) * k / 4));
        fprintf(p->f, "<text x=\"%g\" y=\"%g\" text-anchor=\"end\">%s</text>\n", p->x0 - 4, p->y0 + p->h - p->h * k / 4 + 4,
                num);
    }
    fprintf(p->f, "<text x=\"%g\" y=\"%g\">0 s</text><text x=\"%g\" y=\"%g\" text-anchor=\"end\">%.0f s of training</text>\n",
            p->x0, p->y0 + p->h + 16, p->x0 + p->w, p->y0 + p->h + 16, p->xmax);
    return 1;
}

/* The pixel row of a value, clamped to the frame. */
static inline double plot_y(const plot *p, double v) {
    if (!(v == v) || v > p->yhi) v = p->yhi;
    if (v < p->ylo) v = p->ylo;
    return p->y0 + p->h - p->h * (v - p->ylo) / (p->yhi - p->ylo);
}

/* One curve of n points, in the next color, named in the legend. */
static inline void plot_line(plot *p, const plot_point *pts, int n, const char *name) {
    static const char *colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd"};
    const char *color = colors[p->lines % 4];
    int i;
    if (!p->f) return;
    fprintf(p->f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", color);
    for (i = 0; i < n; i++)
        fprintf(p->f, "%s%.1f,%.1f", i ? " " : "", p->x0 + p->w * pts[i].x / p->xmax, plot_y(p, pts[i].y));
    fprintf(p->f, "\"/>\n<text x=\"%g\" y=\"%g\" fill=\"%s\">%s</text>\n", p->x0 + p->w - 260,
            p->legend_top ? p->y0 + 0.4 * p->h + 16 * p->lines : p->y0 + p->h - 72 + 16 * p->lines, color, name);
    p->lines++;
}

/* A dashed gray line at value y, labelled under its right end. */
static inline void plot_baseline(plot *p, double y, const char *label) {
    if (!p->f) return;
    fprintf(p->f, "<line x1=\"%g\" x2=\"%g\" y1=\"%g\" y2=\"%g\" stroke=\"gray\" stroke-dasharray=\"6 4\"/>\n", p->x0,
            p->x0 + p->w, plot_y(p, y), plot_y(p, y));
    fprintf(p->f, "<text x=\"%g\" y=\"%g\" fill=\"gray\" text-anchor=\"end\">%s</text>\n", p->x0 + p->w - 4,
            plot_y(p, y) + 16, label);
}

/* A confusion matrix as a picture: conf[r·stride + c] counts the texts of
   true class r answered c; rows named by names, columns by codes; each cell
   shaded by its share of the row. */
static inline void plot_confusion(const char *prog, const char *path, const char *title, const char *what,
                                  const char *const *names, const char *const *codes, int n, const int *conf, int stride) {
    int r, c, cell = 44, x0 = 110, y0 = 60;
    plot p;
    FILE *f;
    if (!plot_open(&p, prog, path, x0 + cell * n + 20, y0 + cell * n + 40)) return;
    f = p.f;
    fprintf(f, "<text x=\"10\" y=\"20\" font-size=\"14\">%s</text>\n", title);
    fprintf(f, "<text x=\"10\" y=\"40\">rows: the true %s; columns: the answer</text>\n", what);
    for (r = 0; r < n; r++) {
        int total = 0;
        for (c = 0; c < n; c++) total += conf[r * stride + c];
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n", x0 - 6, y0 + cell * r + cell / 2 + 4, names[r]);
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", x0 + cell * r + cell / 2, y0 + cell * n + 16,
                codes[r]);
        for (c = 0; c < n; c++) {
            double share = total ? (double)conf[r * stride + c] / total : 0;
            int shade = (int)(255 - 200 * share);
            fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"rgb(%d,%d,255)\" stroke=\"#ccc\"/>\n",
                    x0 + cell * c, y0 + cell * r, cell, cell, shade, shade);
            fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"%s\">%d</text>\n", x0 + cell * c + cell / 2,
                    y0 + cell * r + cell / 2 + 4, share > 0.6 ? "white" : "black", conf[r * stride + c]);
        }
    }
    plot_close(&p);
}

/* The same matrix as text on stdout, indented. */
static inline void print_confusion(const char *const *names, const char *const *codes, int n, const int *conf, int stride) {
    int r, c;
    printf("    true\\answer");
    for (c = 0; c < n; c++) printf(" %5s", codes[c]);
    printf("\n");
    for (r = 0; r < n; r++) {
        printf("    %-11s", names[r]);
        for (c = 0; c < n; c++) printf(" %5d", conf[r * stride + c]);
        printf("\n");
    }
}

/* The largest x of n points, or start if larger: a picture's xmax. */
static inline double plot_xmax(const plot_point *pts, int n, double start) {
    int i;
    for (i = 0; i < n; i++)
        if (pts[i].x > start) start = pts[i].x;
    return start;
}
#endif
