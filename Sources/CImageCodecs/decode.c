// decode.c — header probes and decoders over libpng, libjpeg-turbo, libwebp, libtiff, giflib
// and stb_image (BMP). Every decoder writes 8-bit RGB with alpha composited over white.

#include "codecs_internal.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gif_lib.h>
#include <jpeglib.h>
#include <jerror.h>
#include <png.h>
#include <stb/stb_image.h>
#include <tiffio.h>
#include <webp/decode.h>

// MARK: - Errors

static _Thread_local char last_error[512];

const char* cic_last_error(void) { return last_error; }

int cic_fail(int code, const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  vsnprintf(last_error, sizeof last_error, fmt, args);
  va_end(args);
  return code;
}

void cic_free(void* pointer) { free(pointer); }

// MARK: - Sniffing

cic_format cic_sniff(const uint8_t* d, size_t n) {
  if (n >= 8 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0) return CIC_PNG;
  if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) return CIC_JPEG;
  if (n >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0) return CIC_WEBP;
  if (n >= 2 && d[0] == 'B' && d[1] == 'M') return CIC_BMP;
  if (n >= 4 && (memcmp(d, "II*\0", 4) == 0 || memcmp(d, "MM\0*", 4) == 0)) return CIC_TIFF;
  if (n >= 6 && (memcmp(d, "GIF87a", 6) == 0 || memcmp(d, "GIF89a", 6) == 0)) return CIC_GIF;
  return CIC_UNKNOWN;
}

// MARK: - Alpha compositing

// The per-pixel loops hold no branch worth coverage feedback, and a fuzzer's comparison tracing
// of their loop counters was most of an image target's time (Fuzz/README.md): they are left out of
// coverage instrumentation only; AddressSanitizer still checks every access.
#if defined(__clang__)
#define CIC_NO_COVERAGE __attribute__((no_sanitize("coverage")))
#else
#define CIC_NO_COVERAGE
#endif

/// A channel value c of alpha a over white: (c·a + 255·(255 − a) + 127) / 255.
CIC_NO_COVERAGE static inline uint8_t over_white(unsigned c, unsigned a) { return (uint8_t)((c * a + 255u * (255u - a) + 127u) / 255u); }

/// RGBA → RGB over white.
CIC_NO_COVERAGE static void composite_rgba(const uint8_t* rgba, size_t pixels, uint8_t* rgb) {
  for (size_t i = 0; i < pixels; i++) {
    unsigned a = rgba[4 * i + 3];
    for (int c = 0; c < 3; c++) {
      unsigned v = rgba[4 * i + c];
      rgb[3 * i + c] = over_white(v, a);
    }
  }
}

static uint8_t* alloc_rgb(int w, int h) {
  size_t bytes = (size_t)w * (size_t)h * 3;
  return (uint8_t*)malloc(bytes ? bytes : 1);
}

// MARK: - PNG (libpng simplified API)

static int png_probe(const uint8_t* d, size_t n, int* w, int* h) {
  png_image image;
  memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&image, d, n))
    return cic_fail(CIC_ERR_DECODE, "png: %s", image.message);
  *w = (int)image.width;
  *h = (int)image.height;
  png_image_free(&image);
  return CIC_OK;
}

static int png_decode(const uint8_t* d, size_t n, uint64_t max_px, uint8_t** out, int* w, int* h) {
  png_image image;
  memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&image, d, n))
    return cic_fail(CIC_ERR_DECODE, "png: %s", image.message);
  if (max_px && (uint64_t)image.width * image.height > max_px) {
    png_image_free(&image);
    return cic_fail(CIC_ERR_TOO_LARGE, "png: %ux%u exceeds %llu pixels", image.width, image.height,
                    (unsigned long long)max_px);
  }
  // Read RGBA without libpng's linear-light compositing, then composite like the other formats.
  image.format = PNG_FORMAT_RGBA;
  size_t pixels = (size_t)image.width * image.height;
  uint8_t* rgba = (uint8_t*)malloc(pixels * 4 + 1);
  uint8_t* buffer = alloc_rgb((int)image.width, (int)image.height);
  if (!rgba || !buffer) {
    free(rgba);
    free(buffer);
    png_image_free(&image);
    return cic_fail(CIC_ERR_MEMORY, "png: out of memory");
  }
  if (!png_image_finish_read(&image, NULL, rgba, 0, NULL)) {
    free(rgba);
    free(buffer);
    int code = cic_fail(CIC_ERR_DECODE, "png: %s", image.message);
    png_image_free(&image);
    return code;
  }
  composite_rgba(rgba, pixels, buffer);
  free(rgba);
  *w = (int)image.width;
  *h = (int)image.height;
  *out = buffer;
  png_image_free(&image);
  return CIC_OK;
}

// MARK: - JPEG (libjpeg-turbo)

typedef struct {
  struct jpeg_error_mgr base;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  int truncated;  // libjpeg warned that the data ended early (it then pads the image with gray)
} jpeg_error;

static void jpeg_error_exit(j_common_ptr cinfo) {
  jpeg_error* err = (jpeg_error*)cinfo->err;
  (*cinfo->err->format_message)(cinfo, err->message);
  longjmp(err->jump, 1);
}

/// libjpeg's warnings: most are harmless (extraneous bytes between markers, which many cameras
/// write and Pillow accepts), but data that ends early is decoded as gray — a truncated file looks
/// like an image. Those warnings are kept and make the decode fail, as Pillow's "image file is
/// truncated" does.
static void jpeg_warning(j_common_ptr cinfo, int level) {
  jpeg_error* err = (jpeg_error*)cinfo->err;
  if (level >= 0 || err->truncated) return;
  int code = cinfo->err->msg_code;
  if (code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER) {
    err->truncated = 1;
    (*cinfo->err->format_message)(cinfo, err->message);
  }
}

static int jpeg_run(const uint8_t* d, size_t n, int header_only, uint64_t max_px, uint8_t** out,
                    int* w, int* h) {
  struct jpeg_decompress_struct cinfo;
  jpeg_error err;
  uint8_t* volatile buffer = NULL;
  uint8_t* volatile row = NULL;
  cinfo.err = jpeg_std_error(&err.base);
  err.base.error_exit = jpeg_error_exit;
  err.base.emit_message = jpeg_warning;
  err.truncated = 0;
  if (setjmp(err.jump)) {
    free(buffer);
    free(row);
    jpeg_destroy_decompress(&cinfo);
    return cic_fail(CIC_ERR_DECODE, "jpeg: %s", err.message);
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, d, (unsigned long)n);
  jpeg_read_header(&cinfo, TRUE);
  *w = (int)cinfo.image_width;
  *h = (int)cinfo.image_height;
  if (header_only) { jpeg_destroy_decompress(&cinfo); return CIC_OK; }
  if (max_px && (uint64_t)cinfo.image_width * cinfo.image_height > max_px) {
    jpeg_destroy_decompress(&cinfo);
    return cic_fail(CIC_ERR_TOO_LARGE, "jpeg: %dx%d exceeds %llu pixels", *w, *h, (unsigned long long)max_px);
  }
  int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
  jpeg_start_decompress(&cinfo);
  int width = (int)cinfo.output_width, height = (int)cinfo.output_height;
  buffer = alloc_rgb(width, height);
  row = (uint8_t*)malloc((size_t)width * 4 + 4);
  if (!buffer || !row) longjmp(err.jump, 1);
  while (cinfo.output_scanline < cinfo.output_height) {
    int y = (int)cinfo.output_scanline;
    JSAMPROW rows[1] = {cmyk ? row : buffer + (size_t)y * width * 3};
    jpeg_read_scanlines(&cinfo, rows, 1);
    if (cmyk) {
      // Adobe writes inverted CMYK: R = C·K / 255 on the stored values.
      uint8_t* dst = buffer + (size_t)y * width * 3;
      for (int x = 0; x < width; x++) {
        unsigned k = row[4 * x + 3];
        for (int c = 0; c < 3; c++) dst[3 * x + c] = (uint8_t)((row[4 * x + c] * k + 127) / 255);
      }
    }
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  free(row);
  if (err.truncated) {
    free(buffer);
    return cic_fail(CIC_ERR_DECODE, "jpeg: truncated (%s)", err.message);
  }
  *w = width;
  *h = height;
  *out = buffer;
  return CIC_OK;
}

// MARK: - WebP (libwebp)

static int webp_decode(const uint8_t* d, size_t n, int header_only, uint64_t max_px, uint8_t** out,
                       int* w, int* h) {
  if (!WebPGetInfo(d, n, w, h)) return cic_fail(CIC_ERR_DECODE, "webp: invalid header");
  if (header_only) return CIC_OK;
  if (max_px && (uint64_t)*w * (uint64_t)*h > max_px)
    return cic_fail(CIC_ERR_TOO_LARGE, "webp: %dx%d exceeds %llu pixels", *w, *h, (unsigned long long)max_px);
  uint8_t* rgba = WebPDecodeRGBA(d, n, w, h);
  if (!rgba) return cic_fail(CIC_ERR_DECODE, "webp: corrupt bitstream");
  uint8_t* buffer = alloc_rgb(*w, *h);
  if (!buffer) { WebPFree(rgba); return cic_fail(CIC_ERR_MEMORY, "webp: out of memory"); }
  composite_rgba(rgba, (size_t)*w * *h, buffer);
  WebPFree(rgba);
  *out = buffer;
  return CIC_OK;
}

// MARK: - TIFF (libtiff, memory client)

typedef struct {
  const uint8_t* data;
  size_t length;
  size_t offset;
} memory_stream;

static tmsize_t tiff_read(thandle_t h, void* buf, tmsize_t size) {
  memory_stream* s = (memory_stream*)h;
  size_t left = s->offset < s->length ? s->length - s->offset : 0;
  size_t count = (size_t)size < left ? (size_t)size : left;
  memcpy(buf, s->data + s->offset, count);
  s->offset += count;
  return (tmsize_t)count;
}
static tmsize_t tiff_write(thandle_t h, void* buf, tmsize_t size) { (void)h; (void)buf; (void)size; return -1; }
static toff_t tiff_seek(thandle_t h, toff_t off, int whence) {
  memory_stream* s = (memory_stream*)h;
  uint64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? s->offset : s->length;
  s->offset = (size_t)(base + off);
  return s->offset;
}
static int tiff_close(thandle_t h) { (void)h; return 0; }
static toff_t tiff_size(thandle_t h) { return ((memory_stream*)h)->length; }
static int tiff_map(thandle_t h, void** base, toff_t* size) { (void)h; (void)base; (void)size; return 0; }
static void tiff_unmap(thandle_t h, void* base, toff_t size) { (void)h; (void)base; (void)size; }

static int tiff_error_handler(TIFF* tif, void* user, const char* module, const char* fmt, va_list ap) {
  (void)tif; (void)user;
  char message[400];
  vsnprintf(message, sizeof message, fmt, ap);
  snprintf(last_error, sizeof last_error, "tiff: %s: %s", module ? module : "", message);
  return 1;
}
static int tiff_warning_handler(TIFF* tif, void* user, const char* module, const char* fmt, va_list ap) {
  (void)tif; (void)user; (void)module; (void)fmt; (void)ap;
  return 1;
}

/// libtiff's packed ABGR raster → RGB over white. libtiff returns premultiplied values for
/// associated alpha; unassociated alpha is composited here.
CIC_NO_COVERAGE static void composite_abgr(const uint32_t* raster, size_t pixels, uint8_t* rgb) {
  for (size_t i = 0; i < pixels; i++) {
    uint32_t p = raster[i];
    unsigned a = TIFFGetA(p);
    unsigned v[3] = {TIFFGetR(p), TIFFGetG(p), TIFFGetB(p)};
    for (int c = 0; c < 3; c++) rgb[3 * i + c] = over_white(v[c], a);
  }
}

static int tiff_decode(const uint8_t* d, size_t n, int header_only, uint64_t max_px, uint8_t** out,
                       int* w, int* h) {
  memory_stream stream = {d, n, 0};
  last_error[0] = 0;
  TIFFOpenOptions* options = TIFFOpenOptionsAlloc();
  TIFFOpenOptionsSetErrorHandlerExtR(options, tiff_error_handler, NULL);
  TIFFOpenOptionsSetWarningHandlerExtR(options, tiff_warning_handler, NULL);
  TIFF* tif = TIFFClientOpenExt("memory", "rm", (thandle_t)&stream, tiff_read, tiff_write, tiff_seek,
                                tiff_close, tiff_size, tiff_map, tiff_unmap, options);
  TIFFOpenOptionsFree(options);
  if (!tif) {
    if (!last_error[0]) cic_fail(0, "tiff: cannot open");
    return CIC_ERR_DECODE;
  }
  uint32_t width = 0, height = 0;
  TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &width);
  TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &height);
  *w = (int)width;
  *h = (int)height;
  if (width == 0 || height == 0 || width > 0x7FFFFFFF || height > 0x7FFFFFFF) {
    TIFFClose(tif);
    return cic_fail(CIC_ERR_DECODE, "tiff: invalid dimensions");
  }
  if (header_only) { TIFFClose(tif); return CIC_OK; }
  if (max_px && (uint64_t)width * height > max_px) {
    TIFFClose(tif);
    return cic_fail(CIC_ERR_TOO_LARGE, "tiff: %ux%u exceeds %llu pixels", width, height, (unsigned long long)max_px);
  }
  uint32_t* raster = (uint32_t*)_TIFFmalloc((tmsize_t)((size_t)width * height * 4));
  uint8_t* buffer = alloc_rgb((int)width, (int)height);
  if (!raster || !buffer) {
    if (raster) _TIFFfree(raster);
    free(buffer);
    TIFFClose(tif);
    return cic_fail(CIC_ERR_MEMORY, "tiff: out of memory");
  }
  // stopOnError 1: with 0, libtiff skips a strip or tile it cannot read once it holds a buffer, so
  // a file cut short after its first strip decoded to an image with blank rows (Pillow refuses it).
  if (!TIFFReadRGBAImageOriented(tif, width, height, raster, ORIENTATION_TOPLEFT, 1)) {
    _TIFFfree(raster);
    free(buffer);
    TIFFClose(tif);
    if (!last_error[0]) cic_fail(0, "tiff: cannot decode");
    return CIC_ERR_DECODE;
  }
  composite_abgr(raster, (size_t)width * height, buffer);
  _TIFFfree(raster);
  TIFFClose(tif);
  *out = buffer;
  return CIC_OK;
}

// MARK: - GIF (giflib, first frame)

static int gif_read(GifFileType* gif, GifByteType* buf, int size) {
  memory_stream* s = (memory_stream*)gif->UserData;
  size_t left = s->offset < s->length ? s->length - s->offset : 0;
  size_t count = (size_t)size < left ? (size_t)size : left;
  memcpy(buf, s->data + s->offset, count);
  s->offset += count;
  return (int)count;
}

static int gif_decode(const uint8_t* d, size_t n, int header_only, uint64_t max_px, uint8_t** out,
                      int* w, int* h) {
  memory_stream stream = {d, n, 0};
  int error = 0;
  GifFileType* gif = DGifOpen(&stream, gif_read, &error);
  if (!gif) return cic_fail(CIC_ERR_DECODE, "gif: %s", GifErrorString(error));
  int width = gif->SWidth, height = gif->SHeight;
  *w = width;
  *h = height;
  if (width <= 0 || height <= 0) { DGifCloseFile(gif, &error); return cic_fail(CIC_ERR_DECODE, "gif: invalid screen size"); }
  if (header_only) { DGifCloseFile(gif, &error); return CIC_OK; }
  if (max_px && (uint64_t)width * height > max_px) {
    DGifCloseFile(gif, &error);
    return cic_fail(CIC_ERR_TOO_LARGE, "gif: %dx%d exceeds %llu pixels", width, height, (unsigned long long)max_px);
  }
  int transparent = -1;
  GifRecordType type;
  uint8_t* buffer = NULL;
  GifByteType* line = NULL;
  for (;;) {
    if (DGifGetRecordType(gif, &type) == GIF_ERROR) goto fail;
    if (type == TERMINATE_RECORD_TYPE) { cic_fail(CIC_ERR_DECODE, "gif: no image"); goto fail_msg; }
    if (type == EXTENSION_RECORD_TYPE) {
      int code;
      GifByteType* ext;
      if (DGifGetExtension(gif, &code, &ext) == GIF_ERROR) goto fail;
      if (code == GRAPHICS_EXT_FUNC_CODE && ext && ext[0] >= 4) {
        GraphicsControlBlock gcb;
        if (DGifExtensionToGCB(ext[0], ext + 1, &gcb) == GIF_OK) transparent = gcb.TransparentColor;
      }
      while (ext) if (DGifGetExtensionNext(gif, &ext) == GIF_ERROR) goto fail;
      continue;
    }
    if (type != IMAGE_DESC_RECORD_TYPE) continue;
    if (DGifGetImageDesc(gif) == GIF_ERROR) goto fail;
    GifImageDesc* desc = &gif->Image;
    ColorMapObject* map = desc->ColorMap ? desc->ColorMap : gif->SColorMap;
    if (!map) { cic_fail(CIC_ERR_DECODE, "gif: no color map"); goto fail_msg; }
    if (desc->Width <= 0 || desc->Height <= 0 || desc->Width > 65535) { cic_fail(CIC_ERR_DECODE, "gif: bad frame"); goto fail_msg; }
    buffer = alloc_rgb(width, height);
    line = (GifByteType*)malloc((size_t)desc->Width);
    if (!buffer || !line) { cic_fail(CIC_ERR_MEMORY, "gif: out of memory"); goto fail_msg; }
    memset(buffer, 255, (size_t)width * height * 3);
    static const int offsets[4] = {0, 4, 2, 1}, steps[4] = {8, 8, 4, 2};
    int passes = desc->Interlace ? 4 : 1;
    for (int pass = 0; pass < passes; pass++) {
      int start = desc->Interlace ? offsets[pass] : 0, step = desc->Interlace ? steps[pass] : 1;
      for (int row = start; row < desc->Height; row += step) {
        if (DGifGetLine(gif, line, desc->Width) == GIF_ERROR) goto fail;
        int y = desc->Top + row;
        if (y < 0 || y >= height) continue;
        for (int x = 0; x < desc->Width; x++) {
          int sx = desc->Left + x;
          if (sx < 0 || sx >= width || line[x] == transparent || line[x] >= map->ColorCount) continue;
          GifColorType c = map->Colors[line[x]];
          uint8_t* p = buffer + ((size_t)y * width + sx) * 3;
          p[0] = c.Red; p[1] = c.Green; p[2] = c.Blue;
        }
      }
    }
    break;
  }
  free(line);
  DGifCloseFile(gif, &error);
  *out = buffer;
  return CIC_OK;
fail:
  cic_fail(CIC_ERR_DECODE, "gif: %s", GifErrorString(gif->Error));
fail_msg:
  free(buffer);
  free(line);
  DGifCloseFile(gif, &error);
  return CIC_ERR_DECODE;
}

// MARK: - BMP (stb_image)

static uint32_t le32(const uint8_t* p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

/// Whether a BMP that stb_image would decode as uncompressed pixel rows holds all the rows its
/// header announces (stb_image decodes a short file without complaint, the missing rows as zeros):
/// checked before anything is allocated, so that a few hundred bytes announcing a large image are a
/// truncated file, not a large allocation of zeros. stb_image reads the compression field as a
/// signed int and refuses RLE (1, 2) and embedded JPEG/PNG (4 and up) itself; every other value,
/// negative ones included, it decodes as uncompressed rows (found by Fuzz/image_bmp). The OS/2
/// core header (12 bytes) has 16-bit dimensions and no compression field.
static int bmp_is_complete(const uint8_t* d, size_t n) {
  if (n < 30) return 0;
  uint32_t offset = le32(d + 10), header = le32(d + 14);
  uint64_t width, rows;
  uint16_t bits;
  if (header == 12) {
    width = (uint64_t)(d[18] | d[19] << 8);
    rows = (uint64_t)(d[20] | d[21] << 8);
    bits = (uint16_t)(d[24] | d[25] << 8);
  } else {
    if (header < 40) return 1;  // a header size stb_image refuses
    if (n < 34) return 0;
    int32_t compression = (int32_t)le32(d + 30);
    if (compression == 1 || compression == 2 || compression >= 4) return 1;  // stb_image refuses these
    int32_t w = (int32_t)le32(d + 18), h = (int32_t)le32(d + 22);
    width = (uint64_t)(w < 0 ? -(int64_t)w : w);
    rows = (uint64_t)(h < 0 ? -(int64_t)h : h);
    bits = (uint16_t)(d[28] | d[29] << 8);
  }
  uint64_t row = (((uint64_t)bits * width + 31) / 32) * 4;
  if (rows && row > (UINT64_MAX - offset) / rows) return 0;
  return (uint64_t)n >= (uint64_t)offset + row * rows;
}

static int bmp_decode(const uint8_t* d, size_t n, int header_only, uint64_t max_px, uint8_t** out,
                      int* w, int* h) {
  int comp = 0;
  if (n > 0x7FFFFFFF || !stbi_info_from_memory(d, (int)n, w, h, &comp))
    return cic_fail(CIC_ERR_DECODE, "bmp: %s", stbi_failure_reason());
  if (header_only) return CIC_OK;
  if (max_px && (uint64_t)*w * (uint64_t)*h > max_px)
    return cic_fail(CIC_ERR_TOO_LARGE, "bmp: %dx%d exceeds %llu pixels", *w, *h, (unsigned long long)max_px);
  if (!bmp_is_complete(d, n)) return cic_fail(CIC_ERR_DECODE, "bmp: truncated (the pixel rows end early)");
  uint8_t* rgba = stbi_load_from_memory(d, (int)n, w, h, &comp, 4);
  if (!rgba) return cic_fail(CIC_ERR_DECODE, "bmp: %s", stbi_failure_reason());
  uint8_t* buffer = alloc_rgb(*w, *h);
  if (!buffer) { stbi_image_free(rgba); return cic_fail(CIC_ERR_MEMORY, "bmp: out of memory"); }
  composite_rgba(rgba, (size_t)*w * *h, buffer);
  stbi_image_free(rgba);
  *out = buffer;
  return CIC_OK;
}

// MARK: - Entry points

static int dispatch(const uint8_t* d, size_t n, int header_only, uint64_t max_px, cic_format* format,
                    uint8_t** out, int* w, int* h) {
  if (!d || !w || !h) return cic_fail(CIC_ERR_ARGUMENT, "null argument");
  cic_format f = cic_sniff(d, n);
  if (format) *format = f;
  *w = 0;
  *h = 0;
  int status;
  const char* name;
  switch (f) {
    case CIC_PNG: name = "png"; status = header_only ? png_probe(d, n, w, h) : png_decode(d, n, max_px, out, w, h); break;
    case CIC_JPEG: name = "jpeg"; status = jpeg_run(d, n, header_only, max_px, out, w, h); break;
    case CIC_WEBP: name = "webp"; status = webp_decode(d, n, header_only, max_px, out, w, h); break;
    case CIC_BMP: name = "bmp"; status = bmp_decode(d, n, header_only, max_px, out, w, h); break;
    case CIC_TIFF: name = "tiff"; status = tiff_decode(d, n, header_only, max_px, out, w, h); break;
    case CIC_GIF: name = "gif"; status = gif_decode(d, n, header_only, max_px, out, w, h); break;
    default: return cic_fail(CIC_ERR_FORMAT, "not a PNG, JPEG, WebP, BMP, TIFF or GIF image");
  }
  // An image without pixels is refused by every format alike: stb_image, for one, decodes a BMP
  // whose header says height 0 and hands back an empty buffer (found by Fuzz/image_bmp).
  if (status == CIC_OK && (*w <= 0 || *h <= 0)) {
    if (out && *out) { free(*out); *out = NULL; }
    return cic_fail(CIC_ERR_DECODE, "%s: invalid dimensions %dx%d", name, *w, *h);
  }
  return status;
}

int cic_probe(const uint8_t* data, size_t length, cic_format* format, int* width, int* height) {
  return dispatch(data, length, 1, 0, format, NULL, width, height);
}

int cic_decode_rgb(const uint8_t* data, size_t length, uint64_t max_pixels, uint8_t** out, int* width,
                   int* height) {
  if (!out) return cic_fail(CIC_ERR_ARGUMENT, "null output");
  *out = NULL;
  return dispatch(data, length, 0, max_pixels, NULL, out, width, height);
}
