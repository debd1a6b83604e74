// PNG (libpng) and JPEG (libjpeg-turbo) coding in memory.

#include "crender.h"

#include <stdio.h>  // before jpeglib.h, which uses FILE
#include <jpeglib.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

// MARK: PNG encode

typedef struct { uint8_t *data; size_t len, cap; int failed; } membuf;

static void membuf_write(png_structp png, png_bytep bytes, png_size_t n) {
    membuf *b = png_get_io_ptr(png);
    if (b->failed) return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n) cap *= 2;
        uint8_t *p = realloc(b->data, cap);
        if (!p) { b->failed = 1; return; }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, bytes, n);
    b->len += n;
}

static void membuf_flush(png_structp png) { (void)png; }

int crender_png_encode(const crender_image *img, int level, int allow_gray, uint8_t **out, size_t *out_len) {
    *out = NULL;
    *out_len = 0;
    int w = img->width, h = img->height;
    size_t n = (size_t)w * h;
    int gray = 0;
    if (allow_gray) {
        gray = 1;
        for (size_t i = 0; i < n && gray; i++)
            if (img->data[3 * i] != img->data[3 * i + 1] || img->data[3 * i] != img->data[3 * i + 2]) gray = 0;
    }
    uint8_t *g = NULL;
    if (gray) {
        g = malloc(n ? n : 1);
        if (!g) return 1;
        for (size_t i = 0; i < n; i++) g[i] = img->data[3 * i];
    }
    membuf buf = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(buf.data);
        free(g);
        return 1;
    }
    png_set_write_fn(png, &buf, membuf_write, membuf_flush);
    png_set_IHDR(png, info, w, h, 8, gray ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    // Level 1 uses zlib's run-length strategy: ~25% less CPU per line than level 3, ~20% larger.
    png_set_compression_level(png, level < 1 ? 1 : level > 9 ? 9 : level);
    if (level <= 1) png_set_compression_strategy(png, 3 /* Z_RLE */);
    png_set_filter(png, 0, PNG_FILTER_SUB | PNG_FILTER_UP);
    png_write_info(png, info);
    int channels = gray ? 1 : 3;
    const uint8_t *base = gray ? g : img->data;
    for (int y = 0; y < h; y++) png_write_row(png, (png_bytep)(base + (size_t)y * w * channels));
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    free(g);
    if (buf.failed) { free(buf.data); return 1; }
    *out = buf.data;
    *out_len = buf.len;
    return 0;
}

// MARK: PNG decode

typedef struct { const uint8_t *data; size_t len, pos; } memsrc;

static void memsrc_read(png_structp png, png_bytep out, png_size_t n) {
    memsrc *s = png_get_io_ptr(png);
    if (s->pos + n > s->len) png_error(png, "truncated PNG");
    memcpy(out, s->data + s->pos, n);
    s->pos += n;
}

int crender_png_decode(const uint8_t *bytes, size_t len, crender_image *out, char *err, size_t errcap) {
    memset(out, 0, sizeof *out);
    if (len < 8 || png_sig_cmp(bytes, 0, 8)) {
        if (err) snprintf(err, errcap, "not a PNG");
        return 1;
    }
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    uint8_t *rgba = NULL;
    png_bytep *rows = NULL;
    if (!png || !info || setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(rgba);
        free(rows);
        crender_image_free(out);
        if (err) snprintf(err, errcap, "corrupt PNG");
        return 1;
    }
    memsrc src = {bytes, len, 0};
    png_set_read_fn(png, &src, memsrc_read);
    png_read_info(png, info);
    png_set_expand(png);
    png_set_strip_16(png);
    png_set_gray_to_rgb(png);
    png_set_add_alpha(png, 0xFF, PNG_FILLER_AFTER);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int w = (int)png_get_image_width(png, info), h = (int)png_get_image_height(png, info);
    if (w <= 0 || h <= 0 || (size_t)w * h > (size_t)1 << 28) png_error(png, "bad size");
    rgba = malloc((size_t)w * h * 4);
    rows = malloc(sizeof(png_bytep) * h);
    if (!rgba || !rows) png_error(png, "out of memory");
    for (int y = 0; y < h; y++) rows[y] = rgba + (size_t)y * w * 4;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    if (crender_image_alloc(out, w, h, NULL)) { free(rgba); return 1; }
    // Composite over white.
    for (size_t i = 0; i < (size_t)w * h; i++) {
        unsigned a = rgba[4 * i + 3];
        for (int c = 0; c < 3; c++) out->data[3 * i + c] = (uint8_t)((rgba[4 * i + c] * a + 255 * (255 - a) + 127) / 255);
    }
    free(rgba);
    return 0;
}

// MARK: JPEG

struct jerr { struct jpeg_error_mgr mgr; jmp_buf jump; };

static void jerr_exit(j_common_ptr cinfo) { longjmp(((struct jerr *)cinfo->err)->jump, 1); }

int crender_jpeg(crender_image *img, int quality) {
    unsigned char *mem = NULL;
    unsigned long mem_len = 0;
    struct jpeg_compress_struct c;
    struct jerr je;
    c.err = jpeg_std_error(&je.mgr);
    je.mgr.error_exit = jerr_exit;
    if (setjmp(je.jump)) {
        jpeg_destroy_compress(&c);
        free(mem);
        return 1;
    }
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &mem, &mem_len);
    c.image_width = img->width;
    c.image_height = img->height;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, quality < 1 ? 1 : quality > 100 ? 100 : quality, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = img->data + (size_t)c.next_scanline * img->width * 3;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);

    struct jpeg_decompress_struct d;
    struct jerr jd;
    d.err = jpeg_std_error(&jd.mgr);
    jd.mgr.error_exit = jerr_exit;
    if (setjmp(jd.jump)) {
        jpeg_destroy_decompress(&d);
        free(mem);
        return 1;
    }
    jpeg_create_decompress(&d);
    jpeg_mem_src(&d, mem, mem_len);
    jpeg_read_header(&d, TRUE);
    d.out_color_space = JCS_RGB;
    d.dct_method = JDCT_ISLOW;
    jpeg_start_decompress(&d);
    while (d.output_scanline < d.output_height) {
        JSAMPROW row = img->data + (size_t)d.output_scanline * img->width * 3;
        jpeg_read_scanlines(&d, &row, 1);
    }
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
    free(mem);
    return 0;
}
