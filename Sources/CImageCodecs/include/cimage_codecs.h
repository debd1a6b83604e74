// cimage_codecs.h — ocrtune's C binding of Debian's image libraries.
//
// Decoding goes through the real libraries: libpng, libjpeg-turbo, libwebp, libtiff, giflib,
// and stb_image (libstb) for BMP. Every entry point returns a status code (0 = success) and
// writes through out-parameters; the message of a failure is kept per thread
// (cic_last_error). Buffers returned by the library are released with cic_free.
// All pixel work (decode, resize, grayscale, normalization, hashing) lives here, not in Swift.

#ifndef CIMAGE_CODECS_H
#define CIMAGE_CODECS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  CIC_UNKNOWN = 0,
  CIC_PNG = 1,
  CIC_JPEG = 2,
  CIC_WEBP = 3,
  CIC_BMP = 4,
  CIC_TIFF = 5,
  CIC_GIF = 6,
} cic_format;

/// Status codes.
enum {
  CIC_OK = 0,
  CIC_ERR_FORMAT = 1,   // not a known image format
  CIC_ERR_DECODE = 2,   // known format, corrupt or unsupported content
  CIC_ERR_TOO_LARGE = 3, // pixel count above the caller's limit (nothing decoded)
  CIC_ERR_ARGUMENT = 4,
  CIC_ERR_MEMORY = 5,
  CIC_ERR_ENCODE = 6,
};

/// Message of the last failure on this thread ("" when none).
const char* cic_last_error(void);

/// Format from the magic bytes only.
cic_format cic_sniff(const uint8_t* data, size_t length);

/// Reads the header only (no pixel data is decompressed): format, width and height.
int cic_probe(const uint8_t* data, size_t length, cic_format* format, int* width, int* height);

/// Decodes to 8-bit RGB (alpha composited over white; GIF: first frame on its logical screen).
/// Refuses with CIC_ERR_TOO_LARGE before decoding when width × height > max_pixels (0 = no limit).
/// `*out` is allocated by the library (free with cic_free), width × height × 3 bytes.
int cic_decode_rgb(const uint8_t* data, size_t length, uint64_t max_pixels,
                   uint8_t** out, int* width, int* height);

/// Encodes 8-bit RGB as PNG (zlib level 6, no filter heuristics beyond libpng's defaults).
int cic_encode_png(const uint8_t* rgb, int width, int height, uint8_t** out, size_t* out_length);

void cic_free(void* pointer);

/// Bilinear resize compatible with OpenCV's cv::resize(..., INTER_LINEAR) on 8-bit images:
/// half-pixel centers (sx = (dx + 0.5) · sw/dw − 0.5, clamped to the border), coefficients
/// quantized to 11 bits and OpenCV's fixed-point rounding. `channels` is 1..4, rows unpadded.
int cic_resize_bilinear(const uint8_t* src, int src_width, int src_height, int channels,
                        uint8_t* dst, int dst_width, int dst_height);

/// Pillow's resampling filters (values as PIL.Image.Resampling).
typedef enum { CIC_PILLOW_BILINEAR = 2, CIC_PILLOW_BICUBIC = 3 } cic_pillow_filter;
/// Resize identical to Pillow's Image.resize (no box, no reducing_gap) on 8-bit images: two
/// separable passes (horizontal first), support widened by the reduction factor when
/// downscaling (antialiasing), fixed-point coefficients with 22 fractional bits, round-half-up
/// and clipping. `channels` is 1..4, rows unpadded.
int cic_resize_pillow(const uint8_t* src, int src_width, int src_height, int channels, uint8_t* dst,
                      int dst_width, int dst_height, cic_pillow_filter filter);
/// The order of the two passes: Pillow ≤ 12 always resamples horizontally first; Pillow 13
/// (automatic) vertically first when that intermediate image is smaller
/// (src_width · dst_height < dst_width · src_height). Rounding after each pass makes the bytes differ.
typedef enum { CIC_PILLOW_HORIZONTAL_FIRST = 0, CIC_PILLOW_AUTOMATIC = 1 } cic_pillow_pass_order;
/// cic_resize_pillow with the pass order of a given Pillow version.
int cic_resize_pillow_ordered(const uint8_t* src, int src_width, int src_height, int channels, uint8_t* dst,
                              int dst_width, int dst_height, cic_pillow_filter filter, cic_pillow_pass_order order);
/// ITU-R BT.601 luma, OpenCV 4's COLOR_RGB2GRAY fixed point: (R·9798 + G·19235 + B·3735 + 16384) >> 15.
int cic_rgb_to_gray(const uint8_t* rgb, size_t pixel_count, uint8_t* gray);

/// Normalizes 8-bit RGB to float: out = (v / 255 − mean[c]) / std[c].
/// chw != 0 writes planar C×H×W (into a row stride of out_width ≥ width, padding untouched);
/// chw == 0 writes interleaved H×W×C.
int cic_normalize_rgb(const uint8_t* rgb, int width, int height, const float mean[3],
                      const float stddev[3], int chw, int out_width, float* out);

/// 64-bit difference hash (dHash): grayscale, resize to 9×8 (bilinear, above), bit i set
/// when pixel (x, y) is brighter than (x+1, y), i = y·8 + x.
int cic_dhash(const uint8_t* rgb, int width, int height, uint64_t* out);

/// Copies the rectangle [x, x+w) × [y, y+h) (must lie inside the source) of an interleaved image.
int cic_crop(const uint8_t* src, int src_width, int src_height, int channels, int x, int y, int w, int h,
             uint8_t* dst);

/// Replicates one gray channel into RGB.
int cic_gray_to_rgb(const uint8_t* gray, size_t pixel_count, uint8_t* rgb);

#ifdef __cplusplus
}
#endif

#endif
