// Perspective crop of a quadrilateral (see ctextdetection.h).
//
// Reference: OpenCV imgproc imgwarp.cpp (getPerspectiveTransform; warpPerspective computes each
// destination pixel's source point with the inverted matrix in double, quantized to 1/32 pixel,
// INTER_CUBIC with A = −0.75 and 2-D fixed-point weights summing to 32768, BORDER_REPLICATE).

#include "ctextdetection.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace {

/// Solves A x = b (n × n, partial pivoting); false when singular.
bool solve(double *a, double *b, int n) {
    for (int c = 0; c < n; c++) {
        int p = c;
        for (int r = c + 1; r < n; r++)
            if (std::fabs(a[r * n + c]) > std::fabs(a[p * n + c])) p = r;
        if (std::fabs(a[p * n + c]) < 1e-12) return false;
        if (p != c) {
            for (int k = 0; k < n; k++) std::swap(a[c * n + k], a[p * n + k]);
            std::swap(b[c], b[p]);
        }
        for (int r = c + 1; r < n; r++) {
            double f = a[r * n + c] / a[c * n + c];
            for (int k = c; k < n; k++) a[r * n + k] -= f * a[c * n + k];
            b[r] -= f * b[c];
        }
    }
    for (int c = n - 1; c >= 0; c--) {
        for (int k = c + 1; k < n; k++) b[c] -= a[c * n + k] * b[k];
        b[c] /= a[c * n + c];
    }
    return true;
}

/// The 3×3 matrix taking the four `src` points to the four `dst` points.
bool perspective(const double src[8], const double dst[8], double m[9]) {
    double a[64] = {0}, b[8];
    for (int i = 0; i < 4; i++) {
        double x = src[2 * i], y = src[2 * i + 1], u = dst[2 * i], v = dst[2 * i + 1];
        double *r0 = a + i * 8, *r1 = a + (i + 4) * 8;
        r0[0] = x; r0[1] = y; r0[2] = 1; r0[6] = -x * u; r0[7] = -y * u;
        r1[3] = x; r1[4] = y; r1[5] = 1; r1[6] = -x * v; r1[7] = -y * v;
        b[i] = u;
        b[i + 4] = v;
    }
    if (!solve(a, b, 8)) return false;
    for (int i = 0; i < 8; i++) m[i] = b[i];
    m[8] = 1;
    return true;
}

bool invert3(const double m[9], double r[9]) {
    double det = m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);
    if (std::fabs(det) < 1e-15) return false;
    double d = 1 / det;
    r[0] = (m[4] * m[8] - m[5] * m[7]) * d;
    r[1] = (m[2] * m[7] - m[1] * m[8]) * d;
    r[2] = (m[1] * m[5] - m[2] * m[4]) * d;
    r[3] = (m[5] * m[6] - m[3] * m[8]) * d;
    r[4] = (m[0] * m[8] - m[2] * m[6]) * d;
    r[5] = (m[2] * m[3] - m[0] * m[5]) * d;
    r[6] = (m[3] * m[7] - m[4] * m[6]) * d;
    r[7] = (m[1] * m[6] - m[0] * m[7]) * d;
    r[8] = (m[0] * m[4] - m[1] * m[3]) * d;
    return true;
}

const int TAB = 32;  // INTER_TAB_SIZE
const int SCALE = 1 << 15;  // INTER_REMAP_COEF_SCALE

void cubicCoefficients(float x, float c[4]) {
    const float A = -0.75f;
    c[0] = ((A * (x + 1) - 5 * A) * (x + 1) + 8 * A) * (x + 1) - 4 * A;
    c[1] = ((A + 2) * x - (A + 3)) * x * x + 1;
    c[2] = ((A + 2) * (1 - x) - (A + 3)) * (1 - x) * (1 - x) + 1;
    c[3] = 1.f - c[0] - c[1] - c[2];
}

/// OpenCV's 2-D fixed-point cubic weights for each of the 32×32 sub-pixel positions.
struct CubicTable {
    short w[TAB * TAB][16];
    CubicTable() {
        float t[TAB][4];
        for (int i = 0; i < TAB; i++) cubicCoefficients(i / (float)TAB, t[i]);
        for (int iy = 0; iy < TAB; iy++)
            for (int ix = 0; ix < TAB; ix++) {
                short *itab = w[iy * TAB + ix];
                int isum = 0;
                for (int k1 = 0; k1 < 4; k1++)
                    for (int k2 = 0; k2 < 4; k2++) {
                        float v = t[iy][k1] * t[ix][k2];
                        int q = (int)std::lrint(v * SCALE);
                        itab[k1 * 4 + k2] = (short)std::clamp(q, -32768, 32767);
                        isum += itab[k1 * 4 + k2];
                    }
                if (isum != SCALE) {
                    int diff = isum - SCALE;
                    int mk1 = 2, mk2 = 2, Mk1 = 2, Mk2 = 2;
                    for (int k1 = 2; k1 < 4; k1++)
                        for (int k2 = 2; k2 < 4; k2++) {
                            if (itab[k1 * 4 + k2] < itab[mk1 * 4 + mk2]) { mk1 = k1; mk2 = k2; }
                            else if (itab[k1 * 4 + k2] > itab[Mk1 * 4 + Mk2]) { Mk1 = k1; Mk2 = k2; }
                        }
                    if (diff < 0) itab[Mk1 * 4 + Mk2] = (short)(itab[Mk1 * 4 + Mk2] - diff);
                    else itab[mk1 * 4 + mk2] = (short)(itab[mk1 * 4 + mk2] - diff);
                }
            }
    }
};

const CubicTable &cubicTable() {
    static const CubicTable table;
    return table;
}

}  // namespace

extern "C" int ctd_warp_quad(const uint8_t *src, int width, int height, int channels, const float quad[8], int out_width,
                             int out_height, uint8_t *out) {
    if (width <= 0 || height <= 0 || out_width <= 0 || out_height <= 0 || channels < 1 || channels > 4) return -1;
    double s[8], d[8] = {0, 0, (double)out_width, 0, (double)out_width, (double)out_height, 0, (double)out_height};
    for (int i = 0; i < 8; i++) s[i] = quad[i];
    double m[9], inv[9];
    if (!perspective(s, d, m) || !invert3(m, inv)) return -1;
    const CubicTable &table = cubicTable();
    for (int y = 0; y < out_height; y++) {
        for (int x = 0; x < out_width; x++) {
            double w = inv[6] * x + inv[7] * y + inv[8];
            w = w ? 1. / w : 0;
            double fx = std::max(std::min((inv[0] * x + inv[1] * y + inv[2]) * w, (double)INT32_MAX / TAB), (double)INT32_MIN / TAB);
            double fy = std::max(std::min((inv[3] * x + inv[4] * y + inv[5]) * w, (double)INT32_MAX / TAB), (double)INT32_MIN / TAB);
            int X = (int)std::lrint(fx * TAB), Y = (int)std::lrint(fy * TAB);
            int ix = X >> 5, iy = Y >> 5;
            const short *wt = table.w[(Y & (TAB - 1)) * TAB + (X & (TAB - 1))];
            uint8_t *o = out + ((size_t)y * out_width + x) * channels;
            for (int c = 0; c < channels; c++) {
                int sum = 0;
                for (int k1 = 0; k1 < 4; k1++) {
                    int sy = std::clamp(iy - 1 + k1, 0, height - 1);
                    for (int k2 = 0; k2 < 4; k2++) {
                        int sx = std::clamp(ix - 1 + k2, 0, width - 1);
                        sum += src[((size_t)sy * width + sx) * channels + c] * wt[k1 * 4 + k2];
                    }
                }
                o[c] = (uint8_t)std::clamp((sum + (1 << 14)) >> 15, 0, 255);
            }
        }
    }
    return 0;
}
