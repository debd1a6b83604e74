// Pixel work of the DB text detector's post-processing and of cutting text lines out of pages,
// as PaddleOCR / RapidOCR do it with OpenCV, pyclipper and shapely:
//   binarize (p > thresh) → 2×2 dilation → border following (Suzuki–Abe, every outer and hole
//   border: OpenCV's RETR_LIST) → minimum-area rectangle → box score (mean probability inside
//   the rectangle) → unclip (Clipper's polygon offset, round joins, by area · ratio / perimeter)
//   → minimum-area rectangle again → scaled to the page, ordered clockwise, clipped, filtered;
//   and a perspective crop of a quadrilateral (bicubic, replicated border).
// Plain C interface; C++ inside (Clipper from Debian's libpolyclipping).

#ifndef CTEXTDETECTION_H
#define CTEXTDETECTION_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    float thresh;          // binarization threshold (0.3)
    float box_thresh;      // minimum mean probability inside a box (0.5)
    int max_candidates;    // borders considered (1000)
    double unclip_ratio;   // polygon offset = area · ratio / perimeter (1.6, a double as in RapidOCR's Python)
    int use_dilation;      // 2×2 dilation of the bitmap (1)
    int min_size;          // smallest side of a candidate rectangle (3)
} ctd_db_options;

typedef struct {
    float points[8];       // x0 y0 … x3 y3: top-left, top-right, bottom-right, bottom-left (page pixels)
    float score;           // mean probability inside the detected rectangle
} ctd_box;

/// Boxes of a probability map [height, width] for a page of dest_width × dest_height. On success
/// returns 0 and a malloc'ed array in *boxes (free with ctd_free); -1 when out of memory.
int ctd_db_boxes(const float *prob, int height, int width, const ctd_db_options *options, int dest_width,
                 int dest_height, ctd_box **boxes, int *count);

/// The quadrilateral `quad` (x0 y0 … x3 y3: tl tr br bl) of an interleaved 8-bit image
/// (channels 1–4) warped to out_width × out_height: OpenCV's getPerspectiveTransform +
/// warpPerspective(INTER_CUBIC, BORDER_REPLICATE). Returns 0, or -1 on a degenerate quad.
int ctd_warp_quad(const uint8_t *src, int width, int height, int channels, const float quad[8], int out_width,
                  int out_height, uint8_t *out);

/// Draws the outline of `quad` (x0 y0 … x3 y3) on an interleaved RGB image, `thickness` pixels wide.
void ctd_draw_quad(uint8_t *rgb, int width, int height, const float quad[8], const uint8_t color[3], int thickness);

void ctd_free(void *p);

#ifdef __cplusplus
}
#endif

#endif
