// Outlines of quadrilaterals on an RGB image (annotated pages): lines of a given thickness drawn
// by stamping a square brush along each edge (see ctextdetection.h).

#include "ctextdetection.h"

#include <algorithm>
#include <cmath>

extern "C" void ctd_draw_quad(uint8_t *rgb, int width, int height, const float quad[8], const uint8_t color[3], int thickness) {
    int r = std::max(0, thickness / 2);
    for (int k = 0; k < 4; k++) {
        float x0 = quad[2 * k], y0 = quad[2 * k + 1], x1 = quad[(2 * k + 2) % 8], y1 = quad[(2 * k + 3) % 8];
        int steps = (int)std::ceil(std::max(std::fabs(x1 - x0), std::fabs(y1 - y0))) + 1;
        for (int s = 0; s <= steps; s++) {
            float t = steps ? (float)s / steps : 0;
            int cx = (int)std::lround(x0 + (x1 - x0) * t), cy = (int)std::lround(y0 + (y1 - y0) * t);
            for (int dy = -r; dy <= r; dy++)
                for (int dx = -r; dx <= r; dx++) {
                    int x = cx + dx, y = cy + dy;
                    if (x < 0 || y < 0 || x >= width || y >= height) continue;
                    uint8_t *p = rgb + ((size_t)y * width + x) * 3;
                    p[0] = color[0];
                    p[1] = color[1];
                    p[2] = color[2];
                }
        }
    }
}
