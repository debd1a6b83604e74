// Text lines and pages through Pango + Cairo; fonts and coverage through fontconfig.

#include "crender.h"

#include <fontconfig/fontconfig.h>
#include <math.h>
#include <pango/pangocairo.h>
#include <pango/pangofc-fontmap.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// MARK: Helpers

static void set_err(char *err, size_t cap, const char *fmt, const char *a) {
    if (err && cap) snprintf(err, cap, fmt, a ? a : "");
}

int crender_image_alloc(crender_image *img, int width, int height, const uint8_t *rgb) {
    img->width = width;
    img->height = height;
    size_t n = (size_t)width * (size_t)height * 3;
    img->data = malloc(n ? n : 1);
    if (!img->data) return 1;
    if (rgb) {
        for (size_t i = 0; i < n; i += 3) {
            img->data[i] = rgb[0];
            img->data[i + 1] = rgb[1];
            img->data[i + 2] = rgb[2];
        }
    }
    return 0;
}

void crender_image_free(crender_image *img) {
    if (!img) return;
    free(img->data);
    img->data = NULL;
    img->width = img->height = 0;
}

int crender_image_copy(const crender_image *src, crender_image *dst) {
    if (crender_image_alloc(dst, src->width, src->height, NULL)) return 1;
    memcpy(dst->data, src->data, (size_t)src->width * src->height * 3);
    return 0;
}

void crender_free(void *p) { free(p); }

uint64_t crender_splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/// Copies a Cairo RGB24 surface into an RGB image.
static int surface_to_image(cairo_surface_t *s, crender_image *out) {
    cairo_surface_flush(s);
    int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
    int stride = cairo_image_surface_get_stride(s);
    const unsigned char *src = cairo_image_surface_get_data(s);
    if (crender_image_alloc(out, w, h, NULL)) return 1;
    for (int y = 0; y < h; y++) {
        const uint32_t *row = (const uint32_t *)(src + (size_t)y * stride);
        uint8_t *dst = out->data + (size_t)y * w * 3;
        for (int x = 0; x < w; x++) {
            uint32_t p = row[x];
            dst[3 * x] = (p >> 16) & 0xFF;
            dst[3 * x + 1] = (p >> 8) & 0xFF;
            dst[3 * x + 2] = p & 0xFF;
        }
    }
    return 0;
}

// MARK: Fonts

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_ok = 0;
/// Held around font registration and around all Pango/Cairo text work (layout, extents, drawing,
/// and the unrefs that may free fonts). Cairo 1.16's FreeType backend is not thread-safe across
/// threads that share a font file, even with one Pango font map per thread: every font map's fonts
/// share Cairo's per-file unscaled font, whose font-face list (`_cairo_ft_font_face_create` /
/// `_destroy`) is walked and edited without a lock, whose last font face can be revived while
/// another thread frees it, and whose FT_Face is closed (`FT_Done_Face`, also when more than 10
/// faces are open) without the lock glyph loading holds. `data synth` crashed in
/// `_cairo_ft_scaled_glyph_init` on a face another thread had just closed (face->glyph == NULL);
/// tools/render_stress reproduces it.
static pthread_mutex_t font_lock = PTHREAD_MUTEX_INITIALIZER;

static void do_init(void) { init_ok = FcInit() ? 1 : 0; }

int crender_init(char *err, size_t errcap) {
    pthread_once(&init_once, do_init);
    if (!init_ok) {
        set_err(err, errcap, "fontconfig failed to initialize%s", "");
        return 1;
    }
    return 0;
}

int crender_register_font_file(const char *path, char *family, size_t family_cap, char *err, size_t errcap) {
    if (crender_init(err, errcap)) return 1;
    pthread_mutex_lock(&font_lock);
    int count = 0;
    FcBlanks *blanks = NULL;
    FcPattern *pat = FcFreeTypeQuery((const FcChar8 *)path, 0, blanks, &count);
    if (!pat) {
        pthread_mutex_unlock(&font_lock);
        set_err(err, errcap, "%s: not a font file fontconfig can read", path);
        return 1;
    }
    FcChar8 *fam = NULL;
    if (FcPatternGetString(pat, FC_FAMILY, 0, &fam) != FcResultMatch || !fam) {
        FcPatternDestroy(pat);
        pthread_mutex_unlock(&font_lock);
        set_err(err, errcap, "%s: font has no family name", path);
        return 1;
    }
    snprintf(family, family_cap, "%s", (const char *)fam);
    FcPatternDestroy(pat);
    FcBool ok = FcConfigAppFontAddFile(FcConfigGetCurrent(), (const FcChar8 *)path);
    pthread_mutex_unlock(&font_lock);
    if (!ok) {
        set_err(err, errcap, "%s: fontconfig refused the font file", path);
        return 1;
    }
    return 0;
}

/// The pattern of the family's regular face (or first face), or NULL. Caller destroys it.
static FcPattern *family_pattern(const char *family) {
    FcPattern *pat = FcPatternCreate();
    FcPatternAddString(pat, FC_FAMILY, (const FcChar8 *)family);
    FcObjectSet *os = FcObjectSetBuild(FC_FAMILY, FC_FILE, FC_CHARSET, FC_WEIGHT, FC_SLANT, FC_INDEX, NULL);
    FcFontSet *set = FcFontList(FcConfigGetCurrent(), pat, os);
    FcObjectSetDestroy(os);
    FcPatternDestroy(pat);
    if (!set) return NULL;
    FcPattern *best = NULL;
    int best_score = 1 << 30;
    for (int i = 0; i < set->nfont; i++) {
        int weight = FC_WEIGHT_REGULAR, slant = FC_SLANT_ROMAN;
        FcPatternGetInteger(set->fonts[i], FC_WEIGHT, 0, &weight);
        FcPatternGetInteger(set->fonts[i], FC_SLANT, 0, &slant);
        int score = abs(weight - FC_WEIGHT_REGULAR) + (slant != FC_SLANT_ROMAN ? 1000 : 0);
        if (score < best_score) {
            best_score = score;
            best = set->fonts[i];
        }
    }
    FcPattern *result = best ? FcPatternDuplicate(best) : NULL;
    FcFontSetDestroy(set);
    return result;
}

int crender_family_lookup(const char *family, char *file, size_t file_cap) {
    if (crender_init(NULL, 0)) return 0;
    FcPattern *p = family_pattern(family);
    if (!p) return 0;
    FcChar8 *f = NULL;
    if (FcPatternGetString(p, FC_FILE, 0, &f) == FcResultMatch && f && file) snprintf(file, file_cap, "%s", (const char *)f);
    FcPatternDestroy(p);
    return 1;
}

static int compare_names(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int crender_families_for_language(const char *lang, char *out, size_t out_cap) {
    if (crender_init(NULL, 0) || !lang || !*lang) return -1;
    FcPattern *pat = FcPatternCreate();
    FcLangSet *ls = FcLangSetCreate();
    FcLangSetAdd(ls, (const FcChar8 *)lang);
    FcPatternAddLangSet(pat, FC_LANG, ls);
    FcLangSetDestroy(ls);
    FcObjectSet *os = FcObjectSetBuild(FC_FAMILY, NULL);
    FcFontSet *set = FcFontList(FcConfigGetCurrent(), pat, os);
    FcObjectSetDestroy(os);
    FcPatternDestroy(pat);
    if (!set) return -1;
    const char **names = calloc(set->nfont > 0 ? (size_t)set->nfont : 1, sizeof *names);
    int n = 0;
    for (int i = 0; i < set->nfont; i++) {
        FcChar8 *fam = NULL;  // a face's first family name (e.g. "DejaVu Sans" for Condensed)
        if (FcPatternGetString(set->fonts[i], FC_FAMILY, 0, &fam) == FcResultMatch && fam) names[n++] = (const char *)fam;
    }
    qsort(names, (size_t)n, sizeof *names, compare_names);
    size_t used = 0;
    int count = 0, fits = 1;
    for (int i = 0; i < n; i++) {
        if (i > 0 && strcmp(names[i], names[i - 1]) == 0) continue;
        size_t len = strlen(names[i]);
        if (used + len + 1 >= out_cap) fits = 0;
        else {
            memcpy(out + used, names[i], len);
            used += len;
            out[used++] = '\n';
        }
        count++;
    }
    if (out && out_cap > 0) out[used < out_cap ? used : out_cap - 1] = 0;
    free(names);
    FcFontSetDestroy(set);
    return fits ? count : -2;
}

struct crender_charset { FcCharSet *set; };

crender_charset *crender_charset_open(const char *family) {
    if (crender_init(NULL, 0)) return NULL;
    FcPattern *p = family_pattern(family);
    if (!p) return NULL;
    FcCharSet *cs = NULL;
    crender_charset *out = NULL;
    if (FcPatternGetCharSet(p, FC_CHARSET, 0, &cs) == FcResultMatch && cs) {
        out = malloc(sizeof *out);
        out->set = FcCharSetCopy(cs);
    }
    FcPatternDestroy(p);
    return out;
}

void crender_charset_close(crender_charset *cs) {
    if (!cs) return;
    FcCharSetDestroy(cs->set);
    free(cs);
}

/// Whitespace, controls and format characters need no glyph of their own.
static int needs_no_glyph(gunichar c) {
    if (g_unichar_isspace(c)) return 1;
    switch (g_unichar_type(c)) {
    case G_UNICODE_CONTROL: case G_UNICODE_FORMAT: case G_UNICODE_SPACE_SEPARATOR:
    case G_UNICODE_LINE_SEPARATOR: case G_UNICODE_PARAGRAPH_SEPARATOR:
        return 1;
    default:
        return 0;
    }
}

int crender_charset_covers(const crender_charset *cs, const char *utf8, uint32_t *missing) {
    for (const char *p = utf8; *p; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        if (needs_no_glyph(c)) continue;
        if (!FcCharSetHasChar(cs->set, c)) {
            if (missing) *missing = c;
            return 0;
        }
    }
    return 1;
}

// MARK: Per-thread Pango contexts

static _Thread_local PangoContext *tls_context = NULL;

/// This thread's context: fixed font options (grayscale antialiasing, no hinting) so output does
/// not depend on the user's fontconfig settings.
static PangoContext *thread_context(void) {
    if (tls_context) return tls_context;
    PangoFontMap *map = pango_cairo_font_map_new_for_font_type(CAIRO_FONT_TYPE_FT);
    if (!map) map = pango_cairo_font_map_new();
    PangoContext *ctx = pango_font_map_create_context(map);
    g_object_unref(map);  // the context keeps it alive
    cairo_font_options_t *fo = cairo_font_options_create();
    cairo_font_options_set_antialias(fo, CAIRO_ANTIALIAS_GRAY);
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
    pango_cairo_context_set_font_options(ctx, fo);
    cairo_font_options_destroy(fo);
    pango_cairo_context_set_resolution(ctx, 72.0);
    pango_context_set_round_glyph_positions(ctx, FALSE);
    tls_context = ctx;
    return ctx;
}

/// A layout of `text` in `family` at `px`, with font fallback disabled.
static PangoLayout *make_layout(PangoContext *ctx, const char *text, const char *family, double px,
                                int weight, int italic, double letter_spacing) {
    PangoLayout *layout = pango_layout_new(ctx);
    PangoFontDescription *d = pango_font_description_new();
    pango_font_description_set_family(d, family);
    pango_font_description_set_absolute_size(d, px * PANGO_SCALE);
    pango_font_description_set_weight(d, (PangoWeight)weight);
    pango_font_description_set_style(d, italic ? PANGO_STYLE_ITALIC : PANGO_STYLE_NORMAL);
    pango_layout_set_font_description(layout, d);
    pango_font_description_free(d);
    PangoAttrList *attrs = pango_attr_list_new();
    pango_attr_list_insert(attrs, pango_attr_fallback_new(FALSE));
    if (letter_spacing != 0) pango_attr_list_insert(attrs, pango_attr_letter_spacing_new((int)lround(letter_spacing * PANGO_SCALE)));
    pango_layout_set_attributes(layout, attrs);
    pango_attr_list_unref(attrs);
    pango_layout_set_text(layout, text, -1);
    return layout;
}

// MARK: Text lines

/// Draws the line onto a new surface (`*surface_out`); called with `font_lock` held.
static int draw_line(const crender_line_params *p, cairo_surface_t **surface_out, crender_line_info *info,
                     char *err, size_t errcap) {
    PangoContext *ctx = thread_context();
    int vertical = p->vertical != 0;
    pango_context_set_base_gravity(ctx, vertical ? PANGO_GRAVITY_EAST : PANGO_GRAVITY_SOUTH);
    pango_context_set_gravity_hint(ctx, vertical ? PANGO_GRAVITY_HINT_STRONG : PANGO_GRAVITY_HINT_NATURAL);
    pango_context_set_matrix(ctx, NULL);
    double px = p->font_px;
    int H = p->line_height;
    PangoLayout *layout = NULL;
    PangoRectangle ink, logical;
    for (int attempt = 0; attempt < 4; attempt++) {
        if (layout) g_object_unref(layout);
        layout = make_layout(ctx, p->text, p->family, px, p->weight ? p->weight : 400, p->italic, p->letter_spacing);
        if (pango_layout_get_unknown_glyphs_count(layout) > 0) {
            g_object_unref(layout);
            set_err(err, errcap, "font '%s' lacks a glyph of the text", p->family);
            return CRENDER_MISSING_GLYPH;
        }
        pango_layout_get_pixel_extents(layout, &ink, &logical);
        if (ink.width <= 0 || ink.height <= 0) {
            g_object_unref(layout);
            set_err(err, errcap, "text has no ink in font '%s'", p->family);
            return CRENDER_EMPTY;
        }
        int across = ink.height;  // ink extent across the line in unrotated layout space
        if (across <= H - 2 || attempt == 3) break;
        px = floor(px * (double)(H - 2) / (double)across * 0.98 * 2) / 2;  // half-pixel steps keep Pango's font cache warm
    }
    // Layout space: x along the text, y across it. Vertical lines rotate this by 90°.
    int along_start = ink.x < logical.x ? ink.x : logical.x;
    int along_end_logical = logical.x + logical.width, along_end_ink = ink.x + ink.width;
    int along_end = along_end_logical > along_end_ink ? along_end_logical : along_end_ink;
    int along = along_end - along_start;
    int len = p->pad_before + along + p->pad_after;
    if (len < 1) len = 1;
    // Center the logical box across the line, then keep the ink inside.
    double y0 = (H - logical.height) / 2.0 - logical.y + p->offset;
    if (y0 + ink.y < 1) y0 = 1 - ink.y;
    if (y0 + ink.y + ink.height > H - 1) y0 = H - 1 - ink.y - ink.height;
    y0 = floor(y0 + 0.5);
    double x0 = p->pad_before - along_start;

    int W = vertical ? H : len, Hh = vertical ? len : H;
    cairo_surface_t *surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, Hh);
    cairo_t *cr = cairo_create(surface);
    cairo_set_source_rgb(cr, p->bg[0] / 255.0, p->bg[1] / 255.0, p->bg[2] / 255.0);
    cairo_paint(cr);
    if (vertical) {
        // Layout x (along) runs down the page; layout y (across) runs right-to-left.
        cairo_translate(cr, H, 0);
        cairo_rotate(cr, M_PI / 2);
    }
    cairo_set_source_rgb(cr, p->fg[0] / 255.0, p->fg[1] / 255.0, p->fg[2] / 255.0);
    cairo_move_to(cr, x0, y0);
    pango_cairo_update_layout(cr, layout);
    pango_cairo_show_layout(cr, layout);
    double baseline = y0 + pango_layout_get_baseline(layout) / (double)PANGO_SCALE;
    double rule = p->rule_width > 0 ? p->rule_width : fmax(1.0, px * 0.06);
    if (p->underline) {
        double uy = fmin(y0 + ink.y + ink.height + rule, H - rule / 2 - 0.5);
        cairo_rectangle(cr, x0 + ink.x, uy - rule / 2, ink.width, rule);
        cairo_fill(cr);
    }
    if (p->strike) {
        double sy = y0 + ink.y + ink.height * 0.5;
        cairo_rectangle(cr, x0 + ink.x, sy - rule / 2, ink.width, rule);
        cairo_fill(cr);
    }
    cairo_destroy(cr);
    PangoDirection dir = pango_layout_get_direction(layout, 0);
    g_object_unref(layout);
    *surface_out = surface;
    if (info) {
        info->font_px = px;
        info->rtl = dir == PANGO_DIRECTION_RTL;
        info->baseline = (int)floor(baseline + 0.5);
        if (vertical) {
            info->ink_x = (int)(H - (y0 + ink.y + ink.height));
            info->ink_y = (int)(x0 + ink.x);
            info->ink_width = ink.height;
            info->ink_height = ink.width;
        } else {
            info->ink_x = (int)(x0 + ink.x);
            info->ink_y = (int)(y0 + ink.y);
            info->ink_width = ink.width;
            info->ink_height = ink.height;
        }
    }
    return CRENDER_OK;
}

int crender_render_line(const crender_line_params *p, crender_image *out, crender_line_info *info,
                        char *err, size_t errcap) {
    memset(out, 0, sizeof *out);
    if (crender_init(err, errcap)) return CRENDER_FAILED;
    cairo_surface_t *surface = NULL;
    pthread_mutex_lock(&font_lock);
    int rc = draw_line(p, &surface, info, err, errcap);
    pthread_mutex_unlock(&font_lock);
    if (rc != CRENDER_OK) return rc;
    rc = surface_to_image(surface, out);
    cairo_surface_destroy(surface);
    if (rc) {
        set_err(err, errcap, "out of memory%s", "");
        return CRENDER_FAILED;
    }
    return CRENDER_OK;
}

// MARK: Pages

struct crender_page {
    cairo_surface_t *surface;
    cairo_t *cr;
};

crender_page *crender_page_new(int width, int height, const uint8_t *bg) {
    if (crender_init(NULL, 0)) return NULL;
    crender_page *pg = malloc(sizeof *pg);
    pg->surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
    pg->cr = cairo_create(pg->surface);
    cairo_set_source_rgb(pg->cr, bg[0] / 255.0, bg[1] / 255.0, bg[2] / 255.0);
    cairo_paint(pg->cr);
    return pg;
}

/// `crender_page_text` with `font_lock` held.
static int draw_page_text(crender_page *pg, const char *text, const char *family, double font_px,
                          int weight, double x, double y, double max_width, int align, const uint8_t *fg,
                          int box[4], int extent[2]) {
    PangoContext *ctx = thread_context();
    pango_context_set_base_gravity(ctx, PANGO_GRAVITY_SOUTH);
    pango_context_set_gravity_hint(ctx, PANGO_GRAVITY_HINT_NATURAL);
    pango_context_set_matrix(ctx, NULL);
    PangoLayout *layout = make_layout(ctx, text, family, font_px, weight ? weight : 400, 0, 0);
    if (pango_layout_get_unknown_glyphs_count(layout) > 0) {
        g_object_unref(layout);
        return CRENDER_MISSING_GLYPH;
    }
    if (max_width > 0) {
        pango_layout_set_width(layout, (int)(max_width * PANGO_SCALE));
        pango_layout_set_wrap(layout, PANGO_WRAP_WORD_CHAR);
        pango_layout_set_alignment(layout, align == 2 ? PANGO_ALIGN_RIGHT : align == 1 ? PANGO_ALIGN_CENTER : PANGO_ALIGN_LEFT);
    }
    PangoRectangle ink, logical;
    pango_layout_get_pixel_extents(layout, &ink, &logical);
    cairo_set_source_rgb(pg->cr, fg[0] / 255.0, fg[1] / 255.0, fg[2] / 255.0);
    cairo_move_to(pg->cr, x, y);
    pango_cairo_update_layout(pg->cr, layout);
    pango_cairo_show_layout(pg->cr, layout);
    if (box) {
        box[0] = (int)floor(x + ink.x);
        box[1] = (int)floor(y + ink.y);
        box[2] = ink.width;
        box[3] = ink.height;
    }
    if (extent) {
        extent[0] = logical.width;
        extent[1] = logical.height;
    }
    g_object_unref(layout);
    return CRENDER_OK;
}

int crender_page_text(crender_page *pg, const char *text, const char *family, double font_px,
                      int weight, double x, double y, double max_width, int align, const uint8_t *fg,
                      int box[4], int extent[2]) {
    pthread_mutex_lock(&font_lock);
    int rc = draw_page_text(pg, text, family, font_px, weight, x, y, max_width, align, fg, box, extent);
    pthread_mutex_unlock(&font_lock);
    return rc;
}

void crender_page_rect(crender_page *pg, double x, double y, double w, double h, const uint8_t *rgb) {
    cairo_set_source_rgb(pg->cr, rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0);
    cairo_rectangle(pg->cr, x, y, w, h);
    cairo_fill(pg->cr);
}

void crender_page_frame(crender_page *pg, double x, double y, double w, double h, double line_width, const uint8_t *rgb) {
    cairo_set_source_rgb(pg->cr, rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0);
    cairo_set_line_width(pg->cr, line_width);
    cairo_rectangle(pg->cr, x, y, w, h);
    cairo_stroke(pg->cr);
}

int crender_page_finish(crender_page *pg, crender_image *out) {
    pthread_mutex_lock(&font_lock);  // the context holds the last scaled font it drew with
    cairo_destroy(pg->cr);
    pthread_mutex_unlock(&font_lock);
    int rc = surface_to_image(pg->surface, out);
    cairo_surface_destroy(pg->surface);
    free(pg);
    return rc;
}
