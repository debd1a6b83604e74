// Stress check of text rendering from many threads at once: the calls `ocrtune data synth` makes
// (Sources/CRender/crender_text.c, compiled in from its source) on random 1-3 word lines in random
// families, sizes, weights, slants and letter spacings, from N threads, each line a function of
// its index only. Prints a checksum of every line's pixels (independent of the thread count, so a
// 1-thread run is the reference) and lines/s.
//
// Why: Cairo 1.16's FreeType backend shares one font-face list and one FT_Face per font file
// between threads without locking them (see tools/render_stress/README.md); crender_text.c
// serializes its Pango/Cairo text work for that reason. Built and run by
// tools/render_stress/run.sh; not a unit test because the race it guards against shows up only
// under many threads and many thousands of lines (seconds to minutes), never deterministically.

#include "crender.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// MARK: Inputs

static char **words;
static int nwords;
static char **families;
static int nfamilies;
static int nlines = 20000, nthreads = 8;
static uint64_t seed = 1;
static double italic = 0.15, bold = 0.4;

static void load_words(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "render_stress: cannot read %s\n", path);
        exit(2);
    }
    char buf[512];
    int cap = 1 << 16;
    words = malloc(sizeof *words * cap);
    while (fgets(buf, sizeof buf, f)) {
        buf[strcspn(buf, "/\t\r\n")] = 0;  // hunspell .dic lines: word/FLAGS
        if (!buf[0] || (buf[0] >= '0' && buf[0] <= '9' && nwords == 0)) continue;  // the count line
        if (nwords == cap) words = realloc(words, sizeof *words * (cap *= 2));
        words[nwords++] = strdup(buf);
    }
    fclose(f);
    if (!nwords) {
        fprintf(stderr, "render_stress: no words in %s\n", path);
        exit(2);
    }
}

static void split_families(char *list) {
    for (char *s = strtok(list, ",\n"); s; s = strtok(NULL, ",\n")) {
        families = realloc(families, sizeof *families * (nfamilies + 1));
        families[nfamilies++] = strdup(s);
    }
}

// MARK: Workers

static uint64_t fnv1a(const uint8_t *p, size_t n, uint64_t h) {
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001B3ULL;
    return h;
}

typedef struct {
    int index;
    uint64_t sum;
    int rendered, missing, failed;
} worker;

static double unit(uint64_t *s) { return (crender_splitmix64(s) >> 11) * (1.0 / 9007199254740992.0); }

static void *work(void *arg) {
    worker *w = arg;
    char text[1024], err[256];
    for (int i = w->index; i < nlines; i += nthreads) {
        uint64_t s = seed * 0x9E3779B97F4A7C15ULL + (uint64_t)i;
        int n = 1 + (int)(unit(&s) * 3);
        text[0] = 0;
        for (int k = 0; k < n; k++) {
            if (k) strcat(text, " ");
            const char *word = words[(int)(unit(&s) * nwords)];
            if (strlen(text) + strlen(word) + 2 < sizeof text) strcat(text, word);
        }
        crender_line_params p = {0};
        p.text = text;
        p.family = families[(int)(unit(&s) * nfamilies)];
        p.font_px = 10 + unit(&s) * 30;  // continuous sizes: new Pango fonts and Cairo scaled fonts all along
        p.line_height = (int)(p.font_px * 1.6) + 4;
        p.pad_before = p.pad_after = 4;
        p.weight = unit(&s) < bold ? 700 : 400;
        p.italic = unit(&s) < italic;
        p.letter_spacing = unit(&s) < 0.3 ? unit(&s) * 2 : 0;
        p.underline = unit(&s) < 0.05;
        p.fg[0] = p.fg[1] = p.fg[2] = 0;
        p.bg[0] = p.bg[1] = p.bg[2] = 255;
        crender_image img;
        crender_line_info info;
        int rc = crender_render_line(&p, &img, &info, err, sizeof err);
        if (rc == CRENDER_OK) {
            uint64_t h = fnv1a(img.data, (size_t)img.width * img.height * 3, 0xCBF29CE484222325ULL ^ (uint64_t)i);
            w->sum += h ^ ((uint64_t)img.width << 32 | (uint64_t)img.height);
            w->rendered++;
            crender_image_free(&img);
        } else if (rc == CRENDER_MISSING_GLYPH || rc == CRENDER_EMPTY) {
            w->missing++;
        } else {
            w->failed++;
        }
    }
    return NULL;
}

// MARK: Main

int main(int argc, char **argv) {
    const char *words_path = "/usr/share/hunspell/fa_IR.dic", *lang = "fa";
    char *family_list = NULL;
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--threads") && a + 1 < argc) nthreads = atoi(argv[++a]);
        else if (!strcmp(argv[a], "--lines") && a + 1 < argc) nlines = atoi(argv[++a]);
        else if (!strcmp(argv[a], "--seed") && a + 1 < argc) seed = strtoull(argv[++a], NULL, 10);
        else if (!strcmp(argv[a], "--words") && a + 1 < argc) words_path = argv[++a];
        else if (!strcmp(argv[a], "--italic") && a + 1 < argc) italic = atof(argv[++a]);
        else if (!strcmp(argv[a], "--bold") && a + 1 < argc) bold = atof(argv[++a]);
        else if (!strcmp(argv[a], "--lang") && a + 1 < argc) lang = argv[++a];
        else if (!strcmp(argv[a], "--families") && a + 1 < argc) family_list = strdup(argv[++a]);
        else {
            fprintf(stderr, "usage: render_stress [--threads N] [--lines N] [--seed N] [--words FILE] "
                            "[--bold P] [--italic P] [--lang fa | --families 'A,B,C']\n");
            return 2;
        }
    }
    if (nthreads < 1 || nlines < 1) return 2;
    char err[256];
    if (crender_init(err, sizeof err)) {
        fprintf(stderr, "render_stress: %s\n", err);
        return 2;
    }
    load_words(words_path);
    if (!family_list) {
        family_list = malloc(1 << 16);
        if (crender_families_for_language(lang, family_list, 1 << 16) <= 0) {
            fprintf(stderr, "render_stress: no families for language '%s'\n", lang);
            return 2;
        }
    }
    split_families(family_list);
    worker *ws = calloc((size_t)nthreads, sizeof *ws);
    pthread_t *ts = calloc((size_t)nthreads, sizeof *ts);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int t = 0; t < nthreads; t++) {
        ws[t].index = t;
        pthread_create(&ts[t], NULL, work, &ws[t]);
    }
    uint64_t sum = 0;
    int rendered = 0, missing = 0, failed = 0;
    for (int t = 0; t < nthreads; t++) {
        pthread_join(ts[t], NULL);
        sum += ws[t].sum;
        rendered += ws[t].rendered;
        missing += ws[t].missing;
        failed += ws[t].failed;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
    printf("render_stress: %d families, %d threads, %d lines: %d rendered, %d without glyphs/ink, %d failed; "
           "checksum %016llx; %.1f lines/s\n",
           nfamilies, nthreads, nlines, rendered, missing, failed, (unsigned long long)sum, nlines / secs);
    return failed ? 1 : 0;
}
