// cimage_pillow.h — Pillow-compatible pixel operations (PIL.Image.resize and convert("L")), for
// models whose preprocessing ran through Pillow. Status codes as in cimage_codecs.h.

#ifndef CIMAGE_PILLOW_H
#define CIMAGE_PILLOW_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Pillow's resampling filters (the values of PIL.Image.Resampling, NEAREST excluded).
typedef enum {
  CIC_PIL_LANCZOS = 1,
  CIC_PIL_BILINEAR = 2,
  CIC_PIL_BICUBIC = 3,
  CIC_PIL_BOX = 4,
  CIC_PIL_HAMMING = 5,
} cic_pil_filter;

/// `Image.resize((dst_width, dst_height), filter)` on an 8-bit image with `channels` (1..4)
/// interleaved channels, as Pillow ≤ 12's libImaging/Resample.c: a separable convolution (horizontal
/// pass over the rows the vertical pass needs, then vertical), the filter's support widened by
/// the scale when reducing, coefficients normalized per output pixel and quantized to 22 bits,
/// round-half-up and clipping to 0…255. Bit-identical to Pillow for modes L, RGB and RGBA
/// (RGBA without Pillow's alpha premultiplication).
int cic_resize_pillow(const uint8_t* src, int src_width, int src_height, int channels,
                      uint8_t* dst, int dst_width, int dst_height, cic_pil_filter filter);

/// The order of the two passes: Pillow ≤ 12 always resamples horizontally first; Pillow 13
/// (automatic) vertically first when the height shrinks and the width does not
/// (dst_width ≥ src_width, dst_height < src_height). Rounding after each pass makes the bytes differ.
typedef enum { CIC_PIL_HORIZONTAL_FIRST = 0, CIC_PIL_AUTOMATIC_ORDER = 1 } cic_pil_pass_order;

/// cic_resize_pillow with the pass order of a given Pillow version.
int cic_resize_pillow_ordered(const uint8_t* src, int src_width, int src_height, int channels,
                              uint8_t* dst, int dst_width, int dst_height, cic_pil_filter filter,
                              cic_pil_pass_order order);

/// `Image.convert("L")` of an RGB image: (19595·R + 38470·G + 7471·B + 2¹⁵) >> 16 (ITU-R 601-2
/// luma in Pillow's fixed point; differs from OpenCV's weights).
int cic_rgb_to_luma_pillow(const uint8_t* rgb, size_t pixel_count, uint8_t* gray);

#ifdef __cplusplus
}
#endif

#endif
