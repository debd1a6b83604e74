// CRender: text rendering through Pango + Cairo (HarfBuzz shaping, FriBiDi, fontconfig), pixel
// degradations, and PNG/JPEG coding, for ocrtune's synthetic data (OCRSynth).
//
// Conventions: images are 8-bit RGB, row-major, no padding (`crender_image`, data from malloc,
// released with crender_image_free). Functions that can fail return 0 on success and a non-zero
// code otherwise, with a message written to `err` (may be NULL). Every random operation takes an
// explicit 64-bit seed, so results depend only on their arguments (never on the thread).
// Rendering functions are thread-safe: each thread keeps its own Pango context.

#ifndef CRENDER_H
#define CRENDER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// MARK: Images

typedef struct {
    int width;
    int height;
    uint8_t *data;   // width * height * 3 bytes, RGB
} crender_image;

/// Allocates a width×height image filled with `rgb` (3 bytes). Returns 0 on success.
int crender_image_alloc(crender_image *img, int width, int height, const uint8_t *rgb);
/// Frees `img->data` and zeroes the struct.
void crender_image_free(crender_image *img);
/// Copies `src` into a freshly allocated `dst`.
int crender_image_copy(const crender_image *src, crender_image *dst);
/// Frees a buffer returned by this library (PNG bytes).
void crender_free(void *p);

// MARK: Fonts

/// Initializes fontconfig once (idempotent, thread-safe). Returns 0 on success.
int crender_init(char *err, size_t errcap);
/// Adds a font file to the application font set (call before rendering starts). Writes the
/// file's first family name into `family` (NUL-terminated). Returns 0 on success.
int crender_register_font_file(const char *path, char *family, size_t family_cap, char *err, size_t errcap);
/// Looks up an installed family by its exact name (case-insensitive). Writes the file of its
/// regular face into `file`. Returns 1 when found, 0 otherwise.
int crender_family_lookup(const char *family, char *file, size_t file_cap);

/// The installed families whose fontconfig language set includes `lang` (an RFC 3066 code: fa,
/// zh-cn, ...), each once (a face's first family name), sorted, written to `out` one a line
/// (NUL-terminated). Returns their count; -1 when fontconfig fails, -2 when `out` is too small.
int crender_families_for_language(const char *lang, char *out, size_t out_cap);

/// Opaque coverage set of one family (fontconfig charset of its regular face).
typedef struct crender_charset crender_charset;
/// Returns NULL when the family is not installed.
crender_charset *crender_charset_open(const char *family);
void crender_charset_close(crender_charset *cs);
/// 1 when every character of `utf8` (whitespace and format characters aside) is in the set;
/// otherwise 0, with the first missing code point in `*missing` (may be NULL).
int crender_charset_covers(const crender_charset *cs, const char *utf8, uint32_t *missing);

// MARK: Text lines

typedef struct {
    const char *text;        // UTF-8, one line
    const char *family;      // exact family name (must cover the text; fallback is disabled)
    double font_px;          // font size in pixels (em)
    int line_height;         // canvas height (horizontal) or width (vertical), pixels
    int pad_before;          // padding before the text along the line, pixels
    int pad_after;           // padding after the text along the line, pixels
    double offset;           // shift across the line (pixels, + = down / right) from centered
    double letter_spacing;   // extra spacing between characters, pixels
    int weight;              // CSS-like weight, 400 regular, 700 bold
    int italic;              // 1 = italic/oblique
    int vertical;            // 1 = vertical (top to bottom) CJK column
    int underline;           // 1 = draw an underline under the ink
    int strike;              // 1 = draw a strike-through across the ink
    double rule_width;       // thickness of underline/strike, pixels
    uint8_t fg[3];           // ink color
    uint8_t bg[3];           // background color
} crender_line_params;

typedef struct {
    int ink_x, ink_y, ink_width, ink_height;  // ink box on the canvas
    int baseline;                             // baseline row (horizontal lines)
    double font_px;                           // size actually used (shrunk if ink overflowed)
    int rtl;                                  // 1 when the paragraph resolved right-to-left
} crender_line_info;

enum {
    CRENDER_OK = 0,
    CRENDER_MISSING_GLYPH = 1,   // the font lacks a glyph of the text (nothing rendered)
    CRENDER_FAILED = 2,
    CRENDER_EMPTY = 3            // the text has no ink
};

/// Renders one line. Returns CRENDER_OK, CRENDER_MISSING_GLYPH, CRENDER_EMPTY or CRENDER_FAILED.
int crender_render_line(const crender_line_params *p, crender_image *out, crender_line_info *info,
                        char *err, size_t errcap);

// MARK: Pages (documents with fields)

typedef struct crender_page crender_page;
crender_page *crender_page_new(int width, int height, const uint8_t *bg);
/// Draws `text` (may contain newlines) with its top-left at (x, y); `max_width` > 0 wraps.
/// `align`: 0 left, 1 center, 2 right (of max_width). Writes the ink box. Returns 0 on success,
/// CRENDER_MISSING_GLYPH when the family lacks a glyph (nothing drawn).
int crender_page_text(crender_page *pg, const char *text, const char *family, double font_px,
                      int weight, double x, double y, double max_width, int align, const uint8_t *fg,
                      int box[4], int extent[2]);
/// Draws a filled rectangle (rules, boxes).
void crender_page_rect(crender_page *pg, double x, double y, double w, double h, const uint8_t *rgb);
/// Draws a rectangle outline.
void crender_page_frame(crender_page *pg, double x, double y, double w, double h, double line_width, const uint8_t *rgb);
/// Finishes the page into `out` and frees `pg`.
int crender_page_finish(crender_page *pg, crender_image *out);

// MARK: Degradations (in place; geometric ones may change the size)

void crender_gaussian_blur(crender_image *img, double sigma);
void crender_motion_blur(crender_image *img, double length, double angle_deg);
/// Down-scales by `factor` (0 < factor < 1) with area averaging, then back up (bilinear).
void crender_rescale(crender_image *img, double factor);
/// Re-compresses as baseline JPEG of `quality` (1...100). Returns 0 on success.
int crender_jpeg(crender_image *img, int quality);
void crender_gaussian_noise(crender_image *img, double sigma, uint64_t seed);
void crender_salt_pepper(crender_image *img, double amount, uint64_t seed);
/// out = (in - 128) * contrast + 128 + brightness, per channel, clamped.
void crender_contrast_brightness(crender_image *img, double contrast, double brightness);
/// Multiplies by a paper color with low-frequency texture (strength 0...1, scale in pixels).
void crender_paper(crender_image *img, const uint8_t *tint, double texture, double scale, uint64_t seed);
/// Rotation (degrees) and horizontal skew (shear factor) about the center; the canvas grows to
/// keep every pixel, new area filled with `fill`.
int crender_rotate_skew(crender_image *img, double angle_deg, double shear, const uint8_t *fill);
/// Moves each corner by up to `strength` × height, as a projective warp; canvas grows.
int crender_perspective(crender_image *img, double strength, uint64_t seed, const uint8_t *fill);
/// Smooth random displacement (max `alpha` pixels, correlation length `scale` pixels).
int crender_elastic(crender_image *img, double alpha, double scale, uint64_t seed, const uint8_t *fill);
/// Draws a horizontal rule between columns [x0, x1) at row y (used for underline/strike after
/// rendering). 
void crender_hrule(crender_image *img, int x0, int x1, double y, double width, const uint8_t *rgb);
/// Black/white on luminance; threshold < 0 picks Otsu's threshold. Returns the threshold used.
int crender_binarize(crender_image *img, int threshold);
/// Spreads dark ink by `radius` pixels (min filter) blended with strength 0...1.
void crender_ink_bleed(crender_image *img, int radius, double strength);
/// Resizes to width×height (area averaging when shrinking, bilinear when growing).
int crender_resize(crender_image *img, int width, int height);
/// Adds margins filled with `rgb`.
int crender_pad(crender_image *img, int left, int top, int right, int bottom, const uint8_t *rgb);
/// Mean color of the 1-pixel border (estimate of the background).
void crender_border_color(const crender_image *img, uint8_t *rgb);

// MARK: Codecs

/// Encodes as PNG (8-bit; grayscale when every pixel is gray and `allow_gray`). `level` 1 is the
/// fast run-length mode; 2...9 are zlib levels. `*out` is from
/// malloc (crender_free). Returns 0 on success.
int crender_png_encode(const crender_image *img, int level, int allow_gray, uint8_t **out, size_t *out_len);
/// Decodes a PNG (any bit depth/color type) into RGB. Returns 0 on success.
int crender_png_decode(const uint8_t *bytes, size_t len, crender_image *out, char *err, size_t errcap);

// MARK: Random numbers

/// splitmix64 step (used to derive seeds).
uint64_t crender_splitmix64(uint64_t *state);

#ifdef __cplusplus
}
#endif
#endif
