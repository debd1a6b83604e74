// pixels.c — PNG encoding (libpng) and the pixel loops: OpenCV-compatible bilinear resize,
// grayscale, float normalization, difference hash.

#include "codecs_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

// MARK: - PNG encoding

int cic_encode_png(const uint8_t* rgb, int width, int height, uint8_t** out, size_t* out_length) {
  if (!rgb || !out || !out_length || width <= 0 || height <= 0)
    return cic_fail(CIC_ERR_ARGUMENT, "png encode: empty image or null argument");
  png_image image;
  memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  image.width = (png_uint_32)width;
  image.height = (png_uint_32)height;
  image.format = PNG_FORMAT_RGB;
  png_alloc_size_t size = 0;
  if (!png_image_write_to_memory(&image, NULL, &size, 0, rgb, 0, NULL))
    return cic_fail(CIC_ERR_ENCODE, "png encode: %s", image.message);
  uint8_t* buffer = (uint8_t*)malloc(size);
  if (!buffer) return cic_fail(CIC_ERR_MEMORY, "png encode: out of memory");
  if (!png_image_write_to_memory(&image, buffer, &size, 0, rgb, 0, NULL)) {
    free(buffer);
    return cic_fail(CIC_ERR_ENCODE, "png encode: %s", image.message);
  }
  *out = buffer;
  *out_length = size;
  return CIC_OK;
}

// MARK: - Bilinear resize (OpenCV INTER_LINEAR, 8-bit)

enum { COEF_BITS = 11, COEF_SCALE = 1 << COEF_BITS };

static short round_coef(float value) { return (short)lrintf(value * COEF_SCALE); }

/// Exact 2× downscale: OpenCV switches INTER_LINEAR to its fast INTER_AREA path here, a rounded
/// 2×2 mean.
static void halve(const uint8_t* src, int sw, int cn, uint8_t* dst, int dw, int dh) {
  for (int y = 0; y < dh; y++) {
    const uint8_t* r0 = src + (size_t)(2 * y) * sw * cn;
    const uint8_t* r1 = r0 + (size_t)sw * cn;
    uint8_t* d = dst + (size_t)y * dw * cn;
    for (int x = 0; x < dw; x++)
      for (int c = 0; c < cn; c++) {
        int i = 2 * x * cn + c;
        d[x * cn + c] = (uint8_t)((r0[i] + r0[i + cn] + r1[i] + r1[i + cn] + 2) >> 2);
      }
  }
}

int cic_resize_bilinear(const uint8_t* src, int sw, int sh, int cn, uint8_t* dst, int dw, int dh) {
  if (!src || !dst || sw <= 0 || sh <= 0 || dw <= 0 || dh <= 0 || cn < 1 || cn > 4)
    return cic_fail(CIC_ERR_ARGUMENT, "resize: invalid size or channel count");
  if (sw == dw && sh == dh) {
    memcpy(dst, src, (size_t)sw * sh * cn);
    return CIC_OK;
  }
  if (sw == 2 * dw && sh == 2 * dh) {
    halve(src, sw, cn, dst, dw, dh);
    return CIC_OK;
  }
  double scale_x = 1.0 / ((double)dw / sw), scale_y = 1.0 / ((double)dh / sh);
  int* xofs = (int*)malloc(sizeof(int) * (size_t)dw);
  short* alpha = (short*)malloc(sizeof(short) * 2 * (size_t)dw);
  int* rows = (int*)malloc(sizeof(int) * 2 * (size_t)dw * cn);
  if (!xofs || !alpha || !rows) {
    free(xofs); free(alpha); free(rows);
    return cic_fail(CIC_ERR_MEMORY, "resize: out of memory");
  }
  for (int dx = 0; dx < dw; dx++) {
    float fx = (float)((dx + 0.5) * scale_x - 0.5);
    int sx = (int)floorf(fx);
    fx -= (float)sx;
    if (sx < 0) { fx = 0; sx = 0; }
    if (sx >= sw - 1) { fx = 0; sx = sw - 1; }
    xofs[dx] = sx;
    alpha[2 * dx] = round_coef(1.f - fx);
    alpha[2 * dx + 1] = round_coef(fx);
  }
  int* h0 = rows;
  int* h1 = rows + (size_t)dw * cn;
  int cached0 = -1, cached1 = -1;
  for (int dy = 0; dy < dh; dy++) {
    float fy = (float)((dy + 0.5) * scale_y - 0.5);
    int sy = (int)floorf(fy);
    fy -= (float)sy;
    short b0 = round_coef(1.f - fy), b1 = round_coef(fy);
    int y0 = sy < 0 ? 0 : sy >= sh ? sh - 1 : sy;
    int y1 = sy + 1 < 0 ? 0 : sy + 1 >= sh ? sh - 1 : sy + 1;
    int want[2] = {y0, y1};
    int* buf[2] = {h0, h1};
    int cached[2] = {cached0, cached1};
    for (int k = 0; k < 2; k++) {
      if (cached[k] == want[k]) continue;
      if (k == 1 && cached[0] == want[1]) { memcpy(buf[1], buf[0], sizeof(int) * (size_t)dw * cn); cached[1] = want[1]; continue; }
      if (k == 0 && cached[1] == want[0]) { memcpy(buf[0], buf[1], sizeof(int) * (size_t)dw * cn); cached[0] = want[0]; continue; }
      const uint8_t* s = src + (size_t)want[k] * sw * cn;
      int* d = buf[k];
      for (int dx = 0; dx < dw; dx++) {
        int sx = xofs[dx];
        int a0 = alpha[2 * dx], a1 = alpha[2 * dx + 1];
        int sx1 = sx + 1 < sw ? sx + 1 : sx;
        for (int c = 0; c < cn; c++)
          d[dx * cn + c] = sx + 1 < sw ? s[sx * cn + c] * a0 + s[sx1 * cn + c] * a1 : s[sx * cn + c] * COEF_SCALE;
      }
      cached[k] = want[k];
    }
    cached0 = cached[0];
    cached1 = cached[1];
    uint8_t* out = dst + (size_t)dy * dw * cn;
    for (int i = 0; i < dw * cn; i++) {
      int v = (((b0 * (h0[i] >> 4)) >> 16) + ((b1 * (h1[i] >> 4)) >> 16) + 2) >> 2;
      out[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
  }
  free(xofs);
  free(alpha);
  free(rows);
  return CIC_OK;
}

// MARK: - Grayscale

int cic_rgb_to_gray(const uint8_t* rgb, size_t n, uint8_t* gray) {
  if (!rgb || !gray) return cic_fail(CIC_ERR_ARGUMENT, "gray: null argument");
  for (size_t i = 0; i < n; i++)
    gray[i] = (uint8_t)((rgb[3 * i] * 9798 + rgb[3 * i + 1] * 19235 + rgb[3 * i + 2] * 3735 + 16384) >> 15);
  return CIC_OK;
}

// MARK: - Normalization

int cic_normalize_rgb(const uint8_t* rgb, int w, int h, const float mean[3], const float stddev[3], int chw,
                      int out_width, float* out) {
  if (!rgb || !out || !mean || !stddev || w < 0 || h < 0 || out_width < w)
    return cic_fail(CIC_ERR_ARGUMENT, "normalize: invalid argument");
  float scale[3], shift[3];
  for (int c = 0; c < 3; c++) {
    scale[c] = 1.f / (255.f * stddev[c]);
    shift[c] = mean[c] / stddev[c];
  }
  if (chw) {
    size_t plane = (size_t)out_width * h;
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++) {
        const uint8_t* p = rgb + ((size_t)y * w + x) * 3;
        for (int c = 0; c < 3; c++) out[c * plane + (size_t)y * out_width + x] = p[c] * scale[c] - shift[c];
      }
  } else {
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++) {
        const uint8_t* p = rgb + ((size_t)y * w + x) * 3;
        float* o = out + ((size_t)y * out_width + x) * 3;
        for (int c = 0; c < 3; c++) o[c] = p[c] * scale[c] - shift[c];
      }
  }
  return CIC_OK;
}

// MARK: - Difference hash

int cic_dhash(const uint8_t* rgb, int w, int h, uint64_t* out) {
  if (!rgb || !out || w <= 0 || h <= 0) return cic_fail(CIC_ERR_ARGUMENT, "dhash: empty image");
  uint8_t* gray = (uint8_t*)malloc((size_t)w * h);
  if (!gray) return cic_fail(CIC_ERR_MEMORY, "dhash: out of memory");
  cic_rgb_to_gray(rgb, (size_t)w * h, gray);
  uint8_t small[9 * 8];
  int status = cic_resize_bilinear(gray, w, h, 1, small, 9, 8);
  free(gray);
  if (status) return status;
  uint64_t hash = 0;
  for (int y = 0; y < 8; y++)
    for (int x = 0; x < 8; x++)
      if (small[y * 9 + x] > small[y * 9 + x + 1]) hash |= (uint64_t)1 << (y * 8 + x);
  *out = hash;
  return CIC_OK;
}

// MARK: - Crop and channel copies

int cic_crop(const uint8_t* src, int sw, int sh, int cn, int x, int y, int w, int h, uint8_t* dst) {
  if (!src || !dst || cn < 1 || x < 0 || y < 0 || w < 0 || h < 0 || x + w > sw || y + h > sh)
    return cic_fail(CIC_ERR_ARGUMENT, "crop: rectangle outside the image");
  for (int r = 0; r < h; r++)
    memcpy(dst + (size_t)r * w * cn, src + ((size_t)(y + r) * sw + x) * cn, (size_t)w * cn);
  return CIC_OK;
}

int cic_gray_to_rgb(const uint8_t* gray, size_t n, uint8_t* rgb) {
  if (!gray || !rgb) return cic_fail(CIC_ERR_ARGUMENT, "gray to rgb: null argument");
  for (size_t i = 0; i < n; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = gray[i];
  return CIC_OK;
}
