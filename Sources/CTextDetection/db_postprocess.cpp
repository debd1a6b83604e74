// DB post-processing (see ctextdetection.h).
//
// Reference: PaddleOCR ppocr/postprocess/db_postprocess.py and rapidocr 3.10
// ch_ppocr_det/utils.py (DBPostProcess, sorted_boxes); OpenCV imgproc contours.cpp (border
// following after Suzuki & Abe 1985, RETR_LIST: outer and hole borders), convhull.cpp (the
// hull's orientation and first vertex), rotcalipers.cpp and RotatedRect::points (minAreaRect
// and boxPoints as opencv-python-headless 5.0 computes them, float rounding included: the file
// is built with -ffp-contract=off so no fused multiply-add changes a last bit), drawing.cpp
// (fillPoly); shapely/GEOS (polygon area and length); pyclipper (float coordinates truncated to
// integers, ClipperOffset with miter limit 2 and arc tolerance 0.25).

#include "ctextdetection.h"

// libstdc++ 12's std::stable_sort still calls its own deprecated get_temporary_buffer, and clang
// reports that inside <bits/stl_tempbuf.h> wherever a stable_sort is instantiated: silenced for
// the library's header, read here first, inside the push.
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wdeprecated-declarations"
#include <algorithm>
#pragma clang diagnostic pop
#include <cfloat>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include <clipper.hpp>

namespace {

struct Pt {
    double x, y;
};

// MARK: - Border following

// Clockwise neighbour offsets in image coordinates (y down): E, SE, S, SW, W, NW, N, NE.
const int DY[8] = {0, 1, 1, 1, 0, -1, -1, -1};
const int DX[8] = {1, 1, 0, -1, -1, -1, 0, 1};

int direction(int dy, int dx) {
    for (int d = 0; d < 8; d++)
        if (DY[d] == dy && DX[d] == dx) return d;
    return 0;
}

/// Every border (outer and hole) of the 8-connected foreground of `bitmap` [h, w] (0/1), as the
/// list of its pixels (x, y), in the order a raster scan meets their starting points.
std::vector<std::vector<Pt>> borders(const std::vector<uint8_t> &bitmap, int h, int w) {
    const int H = h + 2, W = w + 2;  // a zero frame, as OpenCV pads
    std::vector<int> f((size_t)H * W, 0);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) f[(size_t)(y + 1) * W + x + 1] = bitmap[(size_t)y * w + x] ? 1 : 0;
    auto at = [&](int y, int x) -> int & { return f[(size_t)y * W + x]; };
    std::vector<std::vector<Pt>> out;
    int nbd = 1;
    for (int i = 1; i < H - 1; i++) {
        for (int j = 1; j < W - 1; j++) {
            int fij = at(i, j);
            if (fij == 0) continue;
            int from;
            if (fij == 1 && at(i, j - 1) == 0) {
                from = 4;  // outer border: start from the west neighbour
            } else if (fij >= 1 && at(i, j + 1) == 0) {
                from = 0;  // hole border: start from the east neighbour
            } else {
                continue;
            }
            nbd++;
            std::vector<Pt> contour;
            // 3.1: clockwise from `from`, the first non-zero neighbour.
            int d1 = -1;
            for (int k = 0; k < 8; k++) {
                int d = (from + k) % 8;
                if (at(i + DY[d], j + DX[d]) != 0) {
                    d1 = d;
                    break;
                }
            }
            if (d1 < 0) {
                at(i, j) = -nbd;
                contour.push_back({(double)(j - 1), (double)(i - 1)});
                out.push_back(std::move(contour));
                continue;
            }
            const int i1 = i + DY[d1], j1 = j + DX[d1];
            int i2 = i1, j2 = j1, i3 = i, j3 = j;
            while (true) {
                // 3.3: counter-clockwise from the neighbour after (i2, j2), the first non-zero one.
                const int d2 = direction(i2 - i3, j2 - j3);
                int i4 = i3, j4 = j3;
                bool eastZeroExamined = false;
                for (int k = 1; k <= 8; k++) {
                    int d = ((d2 - k) % 8 + 8) % 8;
                    int yy = i3 + DY[d], xx = j3 + DX[d];
                    if (at(yy, xx) != 0) {
                        i4 = yy;
                        j4 = xx;
                        break;
                    }
                    if (d == 0) eastZeroExamined = true;
                }
                // 3.4
                if (eastZeroExamined) {
                    at(i3, j3) = -nbd;
                } else if (at(i3, j3) == 1) {
                    at(i3, j3) = nbd;
                }
                contour.push_back({(double)(j3 - 1), (double)(i3 - 1)});
                // 3.5
                if (i4 == i && j4 == j && i3 == i1 && j3 == j1) break;
                i2 = i3;
                j2 = j3;
                i3 = i4;
                j3 = j4;
                if (contour.size() > (size_t)8 * H * W) break;  // cannot happen; guards a malformed walk
            }
            out.push_back(std::move(contour));
        }
    }
    return out;
}

// MARK: - Minimum-area rectangle

double cross(const Pt &o, const Pt &a, const Pt &b) { return (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x); }

/// cv2.convexHull(points, clockwise = false): the strictly convex vertices, counter-clockwise
/// with y up (a positive shoelace sum), as indices into `p`. OpenCV then turns the sequence so
/// that the input indices run monotonically where they can: ascending from the smallest, or
/// descending from the largest (a contour's hull always can), and the calipers' ties follow
/// that start.
std::vector<size_t> convexHull(const std::vector<Pt> &p) {
    std::vector<size_t> order(p.size());
    for (size_t i = 0; i < order.size(); i++) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        if (p[a].x != p[b].x) return p[a].x < p[b].x;
        if (p[a].y != p[b].y) return p[a].y < p[b].y;
        return a < b;
    });
    if (order.size() < 3) return order;
    std::vector<size_t> h(2 * order.size());
    size_t k = 0;
    for (size_t i = 0; i < order.size(); i++) {
        while (k >= 2 && cross(p[h[k - 2]], p[h[k - 1]], p[order[i]]) <= 0) k--;
        h[k++] = order[i];
    }
    for (size_t i = order.size() - 1, t = k + 1; i > 0; i--) {
        while (k >= t && cross(p[h[k - 2]], p[h[k - 1]], p[order[i - 1]]) <= 0) k--;
        h[k++] = order[i - 1];
    }
    h.resize(k - 1);
    const size_t n = h.size();
    if (n >= 3) {
        size_t ascending = 0;
        for (size_t i = 0; i < n; i++) ascending += h[i] < h[(i + 1) % n];
        size_t first = 0;
        if (ascending == n - 1) first = (size_t)(std::min_element(h.begin(), h.end()) - h.begin());
        else if (ascending == 1) first = (size_t)(std::max_element(h.begin(), h.end()) - h.begin());
        std::rotate(h.begin(), h.begin() + (long)first, h.end());
    }
    return h;
}

struct Rect {
    Pt corners[4];
    double shortSide;
};

/// OpenCV's rotating calipers over a convex polygon (float arithmetic as OpenCV's, so the
/// corners carry the same float rounding that later integer truncations see): out[0..1] a
/// corner, out[2..3] and out[4..5] the two side vectors. The edge the calipers turn to is the
/// one the others lie to the left of (by the sign of a dot product, OpenCV ≥ 4.5.4), not the
/// largest cosine.
void rotatingCalipers(const std::vector<Pt> &hull, float out[6]) {
    const int n = (int)hull.size();
    std::vector<float> inv(n), vx(n), vy(n);
    int left = 0, bottom = 0, right = 0, top = 0;
    float px0 = (float)hull[0].x, py0 = (float)hull[0].y;
    float left_x = px0, right_x = px0, top_y = py0, bottom_y = py0;
    for (int i = 0; i < n; i++) {
        if (px0 < left_x) { left_x = px0; left = i; }
        if (px0 > right_x) { right_x = px0; right = i; }
        if (py0 > top_y) { top_y = py0; top = i; }
        if (py0 < bottom_y) { bottom_y = py0; bottom = i; }
        float px = (float)hull[(i + 1) % n].x, py = (float)hull[(i + 1) % n].y;
        double dx = px - px0, dy = py - py0;
        vx[i] = (float)dx;
        vy[i] = (float)dy;
        inv[i] = (float)(1. / std::sqrt(dx * dx + dy * dy));
        px0 = px;
        py0 = py;
    }
    float orientation = 0;
    {
        double ax = vx[n - 1], ay = vy[n - 1];
        for (int i = 0; i < n; i++) {
            double bx = vx[i], by = vy[i];
            double convexity = ax * by - ay * bx;
            if (convexity != 0) {
                orientation = convexity > 0 ? 1.f : -1.f;
                break;
            }
            ax = bx;
            ay = by;
        }
    }
    float base_a = orientation, base_b = 0;
    int seq[4] = {bottom, right, top, left};
    float minarea = FLT_MAX;
    int b0 = 0, b5 = 0;
    float b1 = 0, b2 = 0, b3 = 0, b4 = 0;
    for (int k = 0; k < n; k++) {
        // Each caliper's next edge, turned onto the first caliper's direction.
        float rx[4] = {vx[seq[0]], vy[seq[1]], -vx[seq[2]], -vy[seq[3]]};
        float ry[4] = {vy[seq[0]], -vx[seq[1]], -vy[seq[2]], vx[seq[3]]};
        int main = 0;
        for (int i = 1; i < 4; i++)
            // rx[i] turned 90° clockwise, dotted with the current choice: negative when it lies to the right.
            if (ry[i] * rx[main] + -rx[i] * ry[main] < 0) main = i;
        int pi = seq[main];
        float lx = vx[pi] * inv[pi], ly = vy[pi] * inv[pi];
        switch (main) {
            case 0: base_a = lx; base_b = ly; break;
            case 1: base_a = ly; base_b = -lx; break;
            case 2: base_a = -lx; base_b = -ly; break;
            default: base_a = -ly; base_b = lx; break;
        }
        seq[main] = seq[main] + 1 == n ? 0 : seq[main] + 1;
        float dx = (float)hull[seq[1]].x - (float)hull[seq[3]].x, dy = (float)hull[seq[1]].y - (float)hull[seq[3]].y;
        float width = dx * base_a + dy * base_b;
        dx = (float)hull[seq[2]].x - (float)hull[seq[0]].x;
        dy = (float)hull[seq[2]].y - (float)hull[seq[0]].y;
        float height = -dx * base_b + dy * base_a;
        float area = width * height;
        if (area <= minarea) {
            minarea = area;
            b0 = seq[3]; b1 = base_a; b2 = width; b3 = base_b; b4 = height; b5 = seq[0];
        }
    }
    float A1 = b1, B1 = b3, A2 = -b3, B2 = b1;
    float C1 = A1 * (float)hull[b0].x + (float)hull[b0].y * B1;
    float C2 = A2 * (float)hull[b5].x + (float)hull[b5].y * B2;
    float idet = 1.f / (A1 * B2 - A2 * B1);
    out[0] = (C1 * B2 - C2 * B1) * idet;
    out[1] = (A1 * C2 - A2 * C1) * idet;
    out[2] = A1 * b2;
    out[3] = B1 * b2;
    out[4] = A2 * b4;
    out[5] = B2 * b4;
}

/// cv2.minAreaRect (center and size in float, the angle in degrees brought into [-90, 0) with
/// the sides swapped at each quarter turn, as OpenCV 5 reports it) + cv2.boxPoints.
bool minAreaRect(const std::vector<Pt> &points, Rect &r) {
    if (points.empty()) return false;
    std::vector<size_t> index = convexHull(points);
    std::vector<Pt> hull(index.size());
    for (size_t i = 0; i < index.size(); i++) hull[i] = points[index[i]];
    float cx, cy, w = 0, h = 0;
    double angle = 0;
    if (hull.size() > 2) {
        float out[6];
        rotatingCalipers(hull, out);
        cx = out[0] + (out[2] + out[4]) * 0.5f;
        cy = out[1] + (out[3] + out[5]) * 0.5f;
        w = (float)std::sqrt((double)out[2] * out[2] + (double)out[3] * out[3]);
        h = (float)std::sqrt((double)out[4] * out[4] + (double)out[5] * out[5]);
        angle = std::atan2((double)out[3], (double)out[2]) * 180 / M_PI;
    } else if (hull.size() == 2) {
        cx = ((float)hull[0].x + (float)hull[1].x) * 0.5f;
        cy = ((float)hull[0].y + (float)hull[1].y) * 0.5f;
        double dx = hull[1].x - hull[0].x, dy = hull[1].y - hull[0].y;
        w = (float)std::sqrt(dx * dx + dy * dy);
        angle = std::atan2(dy, dx) * 180 / M_PI;
    } else {
        cx = (float)hull[0].x;
        cy = (float)hull[0].y;
    }
    while (angle >= 0) {
        std::swap(w, h);
        angle -= 90;
    }
    // RotatedRect::points, each corner from the center in float.
    double rad = (double)(float)angle * M_PI / 180.;
    float b = (float)std::cos(rad) * 0.5f, a = (float)std::sin(rad) * 0.5f;
    r.corners[0] = {cx - a * h - b * w, cy + b * h - a * w};
    r.corners[1] = {cx + a * h - b * w, cy - b * h - a * w};
    r.corners[2] = {cx + a * h + b * w, cy - b * h + a * w};
    r.corners[3] = {cx - a * h + b * w, cy + b * h + a * w};
    r.shortSide = std::min(w, h);
    return true;
}

/// get_mini_boxes: the rectangle's corners sorted by x, then ordered tl, tr, br, bl by y.
Rect miniBox(const std::vector<Pt> &points, bool &ok) {
    Rect r{};
    ok = minAreaRect(points, r);
    if (!ok) return r;
    Pt p[4] = {r.corners[0], r.corners[1], r.corners[2], r.corners[3]};
    std::stable_sort(p, p + 4, [](const Pt &a, const Pt &b) { return a.x < b.x; });
    int i1, i2, i3, i4;
    if (p[1].y > p[0].y) { i1 = 0; i4 = 1; } else { i1 = 1; i4 = 0; }
    if (p[3].y > p[2].y) { i2 = 2; i3 = 3; } else { i2 = 3; i3 = 2; }
    Rect out;
    out.corners[0] = p[i1];
    out.corners[1] = p[i2];
    out.corners[2] = p[i3];
    out.corners[3] = p[i4];
    out.shortSide = r.shortSide;
    return out;
}

// MARK: - Box score

/// box_score_fast: mean of `prob` over the box's filled polygon (integer vertices, edges included).
double boxScore(const float *prob, int h, int w, const Rect &box) {
    double lo_x = INFINITY, hi_x = -INFINITY, lo_y = INFINITY, hi_y = -INFINITY;
    for (const Pt &p : box.corners) {
        lo_x = std::min(lo_x, p.x);
        hi_x = std::max(hi_x, p.x);
        lo_y = std::min(lo_y, p.y);
        hi_y = std::max(hi_y, p.y);
    }
    int xmin = std::clamp((int)std::floor(lo_x), 0, w - 1), xmax = std::clamp((int)std::ceil(hi_x), 0, w - 1);
    int ymin = std::clamp((int)std::floor(lo_y), 0, h - 1), ymax = std::clamp((int)std::ceil(hi_y), 0, h - 1);
    Pt q[4];
    for (int k = 0; k < 4; k++) q[k] = {(double)(int)(box.corners[k].x - xmin), (double)(int)(box.corners[k].y - ymin)};
    double sum = 0;
    long count = 0;
    for (int y = 0; y <= ymax - ymin; y++) {
        double left = INFINITY, right = -INFINITY;
        for (int k = 0; k < 4; k++) {
            const Pt &a = q[k], &b = q[(k + 1) % 4];
            if ((y < std::min(a.y, b.y)) || (y > std::max(a.y, b.y))) continue;
            if (a.y == b.y) {
                left = std::min(left, std::min(a.x, b.x));
                right = std::max(right, std::max(a.x, b.x));
            } else {
                double x = a.x + (b.x - a.x) * (y - a.y) / (b.y - a.y);
                left = std::min(left, x);
                right = std::max(right, x);
            }
        }
        if (left > right) continue;
        int x0 = std::max(0, (int)std::floor(left + 0.5)), x1 = std::min(xmax - xmin, (int)std::floor(right + 0.5));
        for (int x = x0; x <= x1; x++) {
            sum += prob[(size_t)(y + ymin) * w + x + xmin];
            count++;
        }
    }
    return count ? sum / count : 0;
}

// MARK: - Unclip

std::vector<Pt> unclip(const Rect &box, double ratio) {
    // shapely's Polygon(box).area and .length as GEOS computes them (the shoelace sum with x
    // taken relative to the first corner, the closed ring's sides in order): the offset distance
    // must round as RapidOCR's does, since Clipper rounds the offset corners half away from zero.
    const Pt *c = box.corners;
    double x0 = c[0].x, sum = 0, length = 0;
    double p1x = c[1].x - x0, p1y = c[1].y, p0y = c[0].y;
    for (int i = 1; i < 4; i++) {
        const Pt &next = c[(i + 1) % 4];
        double p2x = next.x - x0, p2y = next.y;
        sum += p1x * (p0y - p2y);
        p0y = p1y;
        p1x = p2x;
        p1y = p2y;
    }
    double area = std::fabs(sum / 2.0);
    for (int k = 0; k < 4; k++) {
        const Pt &a = c[k], &b = c[(k + 1) % 4];
        double dx = b.x - a.x, dy = b.y - a.y;
        length += std::sqrt(dx * dx + dy * dy);
    }
    std::vector<Pt> out;
    if (length <= 0) return out;
    double distance = area * ratio / length;
    ClipperLib::Path path;
    for (const Pt &p : box.corners) path.push_back(ClipperLib::IntPoint((ClipperLib::cInt)p.x, (ClipperLib::cInt)p.y));
    ClipperLib::ClipperOffset offset(2.0, 0.25);
    offset.AddPath(path, ClipperLib::jtRound, ClipperLib::etClosedPolygon);
    ClipperLib::Paths solution;
    offset.Execute(solution, distance);
    for (const auto &s : solution)
        for (const auto &p : s) out.push_back({(double)p.X, (double)p.Y});
    return out;
}

struct Found {
    float pts[8];
    float score;
};

}  // namespace

extern "C" int ctd_db_boxes(const float *prob, int height, int width, const ctd_db_options *o, int dest_width,
                            int dest_height, ctd_box **boxes, int *count) {
    try {
        *boxes = nullptr;
        *count = 0;
        const size_t n = (size_t)height * width;
        std::vector<uint8_t> bitmap(n);
        for (size_t i = 0; i < n; i++) bitmap[i] = prob[i] > o->thresh;
        if (o->use_dilation) {
            // cv2.dilate with a 2×2 kernel (anchor at 1, 1): the maximum of the pixel and its
            // up / left / up-left neighbours.
            std::vector<uint8_t> d(n);
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++) {
                    uint8_t v = bitmap[(size_t)y * width + x];
                    if (x > 0) v |= bitmap[(size_t)y * width + x - 1];
                    if (y > 0) v |= bitmap[(size_t)(y - 1) * width + x];
                    if (x > 0 && y > 0) v |= bitmap[(size_t)(y - 1) * width + x - 1];
                    d[(size_t)y * width + x] = v;
                }
            bitmap.swap(d);
        }
        std::vector<std::vector<Pt>> contours = borders(bitmap, height, width);
        std::vector<Found> found;
        size_t limit = std::min(contours.size(), (size_t)std::max(0, o->max_candidates));
        for (size_t c = 0; c < limit; c++) {
            bool ok;
            Rect box = miniBox(contours[c], ok);
            if (!ok || box.shortSide < o->min_size) continue;
            double score = boxScore(prob, height, width, box);
            if (o->box_thresh > score) continue;
            Rect grown = miniBox(unclip(box, o->unclip_ratio), ok);
            if (!ok || grown.shortSide < o->min_size + 2) continue;
            // Scaled to the page as numpy does it in float32, rounded half to even, then int32.
            int pts[8];
            for (int k = 0; k < 4; k++) {
                float x = std::nearbyint((float)grown.corners[k].x / (float)width * (float)dest_width);
                float y = std::nearbyint((float)grown.corners[k].y / (float)height * (float)dest_height);
                pts[2 * k] = (int)std::clamp(x, 0.f, (float)dest_width);
                pts[2 * k + 1] = (int)std::clamp(y, 0.f, (float)dest_height);
            }
            // order_points_clockwise: by x, then the left pair and the right pair by y.
            int idx[4] = {0, 1, 2, 3};
            std::stable_sort(idx, idx + 4, [&](int a, int b) { return pts[2 * a] < pts[2 * b]; });
            int l0 = idx[0], l1 = idx[1], r0 = idx[2], r1 = idx[3];
            if (pts[2 * l1 + 1] < pts[2 * l0 + 1]) std::swap(l0, l1);
            if (pts[2 * r1 + 1] < pts[2 * r0 + 1]) std::swap(r0, r1);
            int order[4] = {l0, r0, r1, l1};  // tl, tr, br, bl
            Found f;
            for (int k = 0; k < 4; k++) {
                // clip_det_res: int(min(max(v, 0), size − 1))
                f.pts[2 * k] = (float)std::min(std::max(pts[2 * order[k]], 0), dest_width - 1);
                f.pts[2 * k + 1] = (float)std::min(std::max(pts[2 * order[k] + 1], 0), dest_height - 1);
            }
            double rw = std::hypot(f.pts[0] - f.pts[2], f.pts[1] - f.pts[3]);
            double rh = std::hypot(f.pts[0] - f.pts[6], f.pts[1] - f.pts[7]);
            if ((int)rw <= 3 || (int)rh <= 3) continue;
            f.score = (float)score;
            found.push_back(f);
        }
        // sorted_boxes: stable by the top-left y, lines where consecutive y differ by ≥ 10, then by x within a line.
        std::vector<size_t> order(found.size());
        for (size_t i = 0; i < order.size(); i++) order[i] = i;
        std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return found[a].pts[1] < found[b].pts[1]; });
        std::vector<int> line(order.size(), 0);
        for (size_t i = 1; i < order.size(); i++)
            line[i] = line[i - 1] + (found[order[i]].pts[1] - found[order[i - 1]].pts[1] >= 10 ? 1 : 0);
        std::vector<size_t> pos(order.size());
        for (size_t i = 0; i < pos.size(); i++) pos[i] = i;
        std::stable_sort(pos.begin(), pos.end(), [&](size_t a, size_t b) {
            if (line[a] != line[b]) return line[a] < line[b];
            return found[order[a]].pts[0] < found[order[b]].pts[0];
        });
        if (!found.empty()) {
            *boxes = (ctd_box *)std::malloc(found.size() * sizeof(ctd_box));
            if (!*boxes) return -1;
            for (size_t i = 0; i < pos.size(); i++) {
                const Found &f = found[order[pos[i]]];
                std::memcpy((*boxes)[i].points, f.pts, sizeof f.pts);
                (*boxes)[i].score = f.score;
            }
        }
        *count = (int)found.size();
        return 0;
    } catch (const std::bad_alloc &) {
        return -1;
    }
}

extern "C" void ctd_free(void *p) { std::free(p); }
