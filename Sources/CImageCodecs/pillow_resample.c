// Resampling identical to Pillow's Image.resize (its ImagingResample: two separable passes,
// horizontal then vertical, filter support scaled by the reduction factor — the antialiasing
// when downscaling — and, for 8-bit images, coefficients in fixed point with PRECISION_BITS
// fractional bits, rounding by adding one half and clipping to 0…255).
// Written from the algorithm's description; the same arithmetic, so the same bytes.

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cimage_codecs.h"
#include "codecs_internal.h"

// MARK: - Filters

#define PRECISION_BITS (32 - 8 - 2)

static double filter_bilinear(double x) {
  if (x < 0.0) x = -x;
  if (x < 1.0) return 1.0 - x;
  return 0.0;
}

static double filter_bicubic(double x) {
  // Keys' cubic with a = -0.5, as Pillow.
  const double a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

// MARK: - Coefficients

/// Per output position: the first input index, the number of inputs, and `ksize` weights
/// (normalized to sum 1, then converted to fixed point). Returns ksize, or 0 on failure.
static int precompute_coeffs(int in_size, double in0, double in1, int out_size, double (*filter)(double),
                             double filter_support, int** bounds_out, int32_t** kk_out) {
  double scale = (in1 - in0) / out_size;
  double filterscale = scale < 1.0 ? 1.0 : scale;
  double support = filter_support * filterscale;
  int ksize = (int)ceil(support) * 2 + 1;
  double* kk = malloc((size_t)out_size * ksize * sizeof(double));
  int* bounds = malloc((size_t)out_size * 2 * sizeof(int));
  int32_t* fixed = malloc((size_t)out_size * ksize * sizeof(int32_t));
  if (!kk || !bounds || !fixed) {
    free(kk);
    free(bounds);
    free(fixed);
    return 0;
  }
  for (int xx = 0; xx < out_size; xx++) {
    double center = in0 + (xx + 0.5) * scale;
    double ww = 0.0;
    double ss = 1.0 / filterscale;
    int xmin = (int)(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = (int)(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double* k = &kk[(size_t)xx * ksize];
    int x = 0;
    for (; x < xmax; x++) {
      double w = filter((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (x = 0; x < xmax; x++)
      if (ww != 0.0) k[x] /= ww;
    for (; x < ksize; x++) k[x] = 0;
    bounds[xx * 2 + 0] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  for (size_t i = 0; i < (size_t)out_size * ksize; i++) {
    double v = kk[i] * (1 << PRECISION_BITS);
    fixed[i] = (int32_t)(kk[i] < 0 ? -0.5 + v : 0.5 + v);
  }
  free(kk);
  *bounds_out = bounds;
  *kk_out = fixed;
  return ksize;
}

static inline uint8_t clip8(int64_t in) {
  if (in >= ((int64_t)1 << PRECISION_BITS << 8)) return 255;
  if (in <= 0) return 0;
  return (uint8_t)(in >> PRECISION_BITS);
}

// MARK: - Passes

/// Rows [row0, row0 + out_h) of `src` resampled horizontally into `dst` (out_w × out_h).
static void resample_horizontal(const uint8_t* src, int src_w, int row0, int channels, uint8_t* dst, int out_w,
                                int out_h, int ksize, const int* bounds, const int32_t* kk) {
  for (int yy = 0; yy < out_h; yy++) {
    const uint8_t* row = src + (size_t)(yy + row0) * src_w * channels;
    uint8_t* out = dst + (size_t)yy * out_w * channels;
    for (int xx = 0; xx < out_w; xx++) {
      int xmin = bounds[xx * 2], xmax = bounds[xx * 2 + 1];
      const int32_t* k = &kk[(size_t)xx * ksize];
      for (int c = 0; c < channels; c++) {
        int64_t ss = 1 << (PRECISION_BITS - 1);
        for (int x = 0; x < xmax; x++) ss += (int64_t)row[(size_t)(x + xmin) * channels + c] * k[x];
        out[(size_t)xx * channels + c] = clip8(ss);
      }
    }
  }
}

static void resample_vertical(const uint8_t* src, int width, int channels, uint8_t* dst, int out_h, int ksize,
                              const int* bounds, const int32_t* kk) {
  size_t stride = (size_t)width * channels;
  for (int yy = 0; yy < out_h; yy++) {
    int ymin = bounds[yy * 2], ymax = bounds[yy * 2 + 1];
    const int32_t* k = &kk[(size_t)yy * ksize];
    uint8_t* out = dst + (size_t)yy * stride;
    for (size_t i = 0; i < stride; i++) {
      int64_t ss = 1 << (PRECISION_BITS - 1);
      for (int y = 0; y < ymax; y++) ss += (int64_t)src[(size_t)(y + ymin) * stride + i] * k[y];
      out[i] = clip8(ss);
    }
  }
}

// MARK: - Entry point

int cic_resize_pillow(const uint8_t* src, int src_width, int src_height, int channels, uint8_t* dst, int dst_width,
                      int dst_height, cic_pillow_filter filter) {
  return cic_resize_pillow_ordered(src, src_width, src_height, channels, dst, dst_width, dst_height, filter,
                                   CIC_PILLOW_HORIZONTAL_FIRST);
}

int cic_resize_pillow_ordered(const uint8_t* src, int src_width, int src_height, int channels, uint8_t* dst,
                              int dst_width, int dst_height, cic_pillow_filter filter, cic_pillow_pass_order order) {
  if (!src || !dst || channels < 1 || channels > 4 || src_width <= 0 || src_height <= 0 || dst_width <= 0 ||
      dst_height <= 0)
    return cic_fail(CIC_ERR_ARGUMENT, "pillow resize: invalid argument");
  double (*fn)(double);
  double support;
  switch (filter) {
    case CIC_PILLOW_BILINEAR: fn = filter_bilinear; support = 1.0; break;
    case CIC_PILLOW_BICUBIC: fn = filter_bicubic; support = 2.0; break;
    default: return cic_fail(CIC_ERR_ARGUMENT, "pillow resize: unknown filter");
  }
  size_t src_size = (size_t)src_width * src_height * channels;
  if (src_width == dst_width && src_height == dst_height) {
    memcpy(dst, src, src_size);
    return CIC_OK;
  }
  int *bounds_h = NULL, *bounds_v = NULL;
  int32_t *kk_h = NULL, *kk_v = NULL;
  int ksize_h = precompute_coeffs(src_width, 0, src_width, dst_width, fn, support, &bounds_h, &kk_h);
  int ksize_v = precompute_coeffs(src_height, 0, src_height, dst_height, fn, support, &bounds_v, &kk_v);
  if (!ksize_h || !ksize_v) {
    free(bounds_h), free(kk_h), free(bounds_v), free(kk_v);
    return cic_fail(CIC_ERR_MEMORY, "pillow resize: out of memory");
  }
  int need_h = dst_width != src_width;
  int need_v = dst_height != src_height;
  uint8_t* temp = NULL;
  int status = CIC_OK;
  // Pillow 13 resamples vertically first when that intermediate image is the smaller one.
  if (need_h && need_v && order == CIC_PILLOW_AUTOMATIC &&
      (int64_t)src_width * dst_height < (int64_t)dst_width * src_height) {
    temp = malloc((size_t)src_width * dst_height * channels);
    if (!temp) {
      status = cic_fail(CIC_ERR_MEMORY, "pillow resize: out of memory");
      goto done;
    }
    resample_vertical(src, src_width, channels, temp, dst_height, ksize_v, bounds_v, kk_v);
    resample_horizontal(temp, src_width, 0, channels, dst, dst_width, dst_height, ksize_h, bounds_h, kk_h);
    goto done;
  }
  const uint8_t* current = src;
  int cur_w = src_width;
  if (need_h) {
    // Only the rows the vertical pass reads are resampled horizontally.
    int first = bounds_v[0];
    int last = bounds_v[dst_height * 2 - 2] + bounds_v[dst_height * 2 - 1];
    if (!need_v) first = 0, last = src_height;
    else
      for (int i = 0; i < dst_height; i++) bounds_v[i * 2] -= first;
    if (need_v) temp = malloc((size_t)dst_width * (last - first) * channels);
    if (need_v && !temp) {
      status = cic_fail(CIC_ERR_MEMORY, "pillow resize: out of memory");
      goto done;
    }
    resample_horizontal(src, src_width, first, channels, need_v ? temp : dst, dst_width, last - first, ksize_h,
                        bounds_h, kk_h);
    if (!need_v) goto done;
    current = temp;
    cur_w = dst_width;
  }
  if (need_v) resample_vertical(current, cur_w, channels, dst, dst_height, ksize_v, bounds_v, kk_v);
done:
  free(temp);
  free(bounds_h), free(kk_h), free(bounds_v), free(kk_v);
  return status;
}
