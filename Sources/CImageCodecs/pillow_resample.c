// pillow_resample.c — Pillow-compatible resampling and grayscale (see cimage_pillow.h).
//
// Reference: Pillow src/libImaging/Resample.c (precompute_coeffs, normalize_coeffs_8bpc,
// ImagingResampleInner and the 8-bit horizontal / vertical passes) and Convert.c (rgb2l).

#include "codecs_internal.h"
#include "cimage_pillow.h"

#include <limits.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

// MARK: - Filters

typedef struct {
  double (*weight)(double x);
  double support;
} pil_filter;

static double box_weight(double x) { return (x > -0.5 && x <= 0.5) ? 1.0 : 0.0; }

static double bilinear_weight(double x) {
  if (x < 0.0) x = -x;
  return x < 1.0 ? 1.0 - x : 0.0;
}

static double hamming_weight(double x) {
  if (x < 0.0) x = -x;
  if (x == 0.0) return 1.0;
  if (x >= 1.0) return 0.0;
  x = x * M_PI;
  return sin(x) / x * (0.54f + 0.46f * cos(x));
}

static double bicubic_weight(double x) {
  const double a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

static double sinc(double x) {
  if (x == 0.0) return 1.0;
  x = x * M_PI;
  return sin(x) / x;
}

static double lanczos_weight(double x) { return (-3.0 <= x && x < 3.0) ? sinc(x) * sinc(x / 3) : 0.0; }

static int filter_for(cic_pil_filter f, pil_filter* out) {
  switch (f) {
    case CIC_PIL_BOX: *out = (pil_filter){box_weight, 0.5}; return 1;
    case CIC_PIL_BILINEAR: *out = (pil_filter){bilinear_weight, 1.0}; return 1;
    case CIC_PIL_HAMMING: *out = (pil_filter){hamming_weight, 1.0}; return 1;
    case CIC_PIL_BICUBIC: *out = (pil_filter){bicubic_weight, 2.0}; return 1;
    case CIC_PIL_LANCZOS: *out = (pil_filter){lanczos_weight, 3.0}; return 1;
  }
  return 0;
}

// MARK: - Coefficients

#define PRECISION_BITS (32 - 8 - 2)

/// Per output pixel: the first input index, the tap count, and `ksize` fixed-point weights.
typedef struct {
  int ksize;
  int* bounds;   // [out * 2]: xmin, count
  int32_t* kk;   // [out * ksize]
} pil_coeffs;

static void free_coeffs(pil_coeffs* c) {
  free(c->bounds);
  free(c->kk);
}

static int precompute(int in_size, double in0, double in1, int out_size, const pil_filter* f, pil_coeffs* c) {
  double scale = (in1 - in0) / out_size;
  double filterscale = scale < 1.0 ? 1.0 : scale;
  double support = f->support * filterscale;
  int ksize = (int)ceil(support) * 2 + 1;
  if (out_size > INT_MAX / (ksize * (int)sizeof(double))) return 0;
  double* pre = (double*)malloc((size_t)out_size * ksize * sizeof(double));
  c->bounds = (int*)malloc((size_t)out_size * 2 * sizeof(int));
  c->kk = (int32_t*)malloc((size_t)out_size * ksize * sizeof(int32_t));
  if (!pre || !c->bounds || !c->kk) {
    free(pre);
    free_coeffs(c);
    return 0;
  }
  double inv = 1.0 / filterscale;
  for (int xx = 0; xx < out_size; xx++) {
    double center = in0 + (xx + 0.5) * scale;
    double ww = 0.0;
    int xmin = (int)(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = (int)(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double* k = &pre[(size_t)xx * ksize];
    int x = 0;
    for (; x < xmax; x++) {
      double w = f->weight((x + xmin - center + 0.5) * inv);
      k[x] = w;
      ww += w;
    }
    if (ww != 0.0)
      for (x = 0; x < xmax; x++) k[x] /= ww;
    for (; x < ksize; x++) k[x] = 0;
    c->bounds[xx * 2] = xmin;
    c->bounds[xx * 2 + 1] = xmax;
  }
  for (size_t i = 0; i < (size_t)out_size * ksize; i++)
    c->kk[i] = pre[i] < 0 ? (int32_t)(-0.5 + pre[i] * (1 << PRECISION_BITS))
                          : (int32_t)(0.5 + pre[i] * (1 << PRECISION_BITS));
  free(pre);
  c->ksize = ksize;
  return 1;
}

static inline uint8_t clip8(int v) {
  int s = v >> PRECISION_BITS;  // arithmetic shift, as Pillow's lookup table index
  return (uint8_t)(s < 0 ? 0 : s > 255 ? 255 : s);
}

// MARK: - Passes

/// Rows [offset, offset + rows) of `src` (width sw) resampled horizontally into `dst` (width dw).
static void horizontal(const uint8_t* src, int sw, int offset, int rows, int cn, uint8_t* dst, int dw,
                       const pil_coeffs* c) {
  for (int yy = 0; yy < rows; yy++) {
    const uint8_t* line = src + (size_t)(yy + offset) * sw * cn;
    uint8_t* out = dst + (size_t)yy * dw * cn;
    for (int xx = 0; xx < dw; xx++) {
      int xmin = c->bounds[xx * 2], count = c->bounds[xx * 2 + 1];
      const int32_t* k = &c->kk[(size_t)xx * c->ksize];
      for (int ch = 0; ch < cn; ch++) {
        int ss = 1 << (PRECISION_BITS - 1);
        for (int x = 0; x < count; x++) ss += line[(x + xmin) * cn + ch] * k[x];
        out[xx * cn + ch] = clip8(ss);
      }
    }
  }
}

static void vertical(const uint8_t* src, int w, int cn, uint8_t* dst, int dh, const pil_coeffs* c) {
  for (int yy = 0; yy < dh; yy++) {
    int ymin = c->bounds[yy * 2], count = c->bounds[yy * 2 + 1];
    const int32_t* k = &c->kk[(size_t)yy * c->ksize];
    uint8_t* out = dst + (size_t)yy * w * cn;
    for (int i = 0; i < w * cn; i++) {
      int ss = 1 << (PRECISION_BITS - 1);
      for (int y = 0; y < count; y++) ss += src[(size_t)(y + ymin) * w * cn + i] * k[y];
      out[i] = clip8(ss);
    }
  }
}

// MARK: - Entry points

int cic_resize_pillow(const uint8_t* src, int sw, int sh, int cn, uint8_t* dst, int dw, int dh,
                      cic_pil_filter filter) {
  return cic_resize_pillow_ordered(src, sw, sh, cn, dst, dw, dh, filter, CIC_PIL_HORIZONTAL_FIRST);
}

/// Pillow 13's vertical-first path: all rows resampled vertically (width sw), then horizontally.
static int resize_vertical_first(const uint8_t* src, int sw, int sh, int cn, uint8_t* dst, int dw, int dh,
                                 const pil_filter* f) {
  pil_coeffs vert = {0}, horiz = {0};
  uint8_t* temp = (uint8_t*)malloc((size_t)sw * dh * cn);
  if (!temp || !precompute(sh, 0, sh, dh, f, &vert) || !precompute(sw, 0, sw, dw, f, &horiz)) {
    free(temp);
    free_coeffs(&vert);
    free_coeffs(&horiz);
    return cic_fail(CIC_ERR_MEMORY, "pillow resize: out of memory");
  }
  vertical(src, sw, cn, temp, dh, &vert);
  horizontal(temp, sw, 0, dh, cn, dst, dw, &horiz);
  free(temp);
  free_coeffs(&vert);
  free_coeffs(&horiz);
  return CIC_OK;
}

int cic_resize_pillow_ordered(const uint8_t* src, int sw, int sh, int cn, uint8_t* dst, int dw, int dh,
                              cic_pil_filter filter, cic_pil_pass_order order) {
  if (!src || !dst || sw <= 0 || sh <= 0 || dw <= 0 || dh <= 0 || cn < 1 || cn > 4)
    return cic_fail(CIC_ERR_ARGUMENT, "pillow resize: empty image, size or null argument");
  pil_filter f;
  if (!filter_for(filter, &f)) return cic_fail(CIC_ERR_ARGUMENT, "pillow resize: unknown filter %d", (int)filter);
  if (sw == dw && sh == dh) {  // Image.resize returns a copy
    memcpy(dst, src, (size_t)sw * sh * cn);
    return CIC_OK;
  }
  // Pillow 13: vertical first when the height shrinks and the width does not (ImagingResampleInner).
  if (order == CIC_PIL_AUTOMATIC_ORDER && dw != sw && dw >= sw && dh < sh)
    return resize_vertical_first(src, sw, sh, cn, dst, dw, dh, &f);
  pil_coeffs vert = {0}, horiz = {0};
  if (!precompute(sh, 0, sh, dh, &f, &vert)) return cic_fail(CIC_ERR_MEMORY, "pillow resize: out of memory");
  // The source rows the vertical pass reads.
  int first = vert.bounds[0];
  int last = vert.bounds[dh * 2 - 2] + vert.bounds[dh * 2 - 1];
  const uint8_t* rows = src;
  int rows_width = sw;
  uint8_t* temp = NULL;
  if (dw != sw) {
    if (!precompute(sw, 0, sw, dw, &f, &horiz)) {
      free_coeffs(&vert);
      return cic_fail(CIC_ERR_MEMORY, "pillow resize: out of memory");
    }
    for (int i = 0; i < dh; i++) vert.bounds[i * 2] -= first;
    temp = (uint8_t*)malloc((size_t)dw * (last - first) * cn);
    if (!temp) {
      free_coeffs(&vert);
      free_coeffs(&horiz);
      return cic_fail(CIC_ERR_MEMORY, "pillow resize: out of memory");
    }
    horizontal(src, sw, first, last - first, cn, temp, dw, &horiz);
    free_coeffs(&horiz);
    rows = temp;
    rows_width = dw;
  }
  if (dh != sh) {
    vertical(rows, rows_width, cn, dst, dh, &vert);
  } else {
    memcpy(dst, rows, (size_t)dw * dh * cn);
  }
  free(temp);
  free_coeffs(&vert);
  return CIC_OK;
}

int cic_rgb_to_luma_pillow(const uint8_t* rgb, size_t n, uint8_t* gray) {
  if (!rgb || !gray) return cic_fail(CIC_ERR_ARGUMENT, "pillow luma: null argument");
  for (size_t i = 0; i < n; i++)
    gray[i] = (uint8_t)((rgb[3 * i] * 19595 + rgb[3 * i + 1] * 38470 + rgb[3 * i + 2] * 7471 + 0x8000) >> 16);
  return CIC_OK;
}
