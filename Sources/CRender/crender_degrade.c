// Pixel-level degradations on 8-bit RGB images. Every random one takes an explicit seed.

#include "crender.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

// MARK: Random numbers (xoshiro256**)

typedef struct { uint64_t s[4]; } rng_t;

static void rng_seed(rng_t *r, uint64_t seed) {
    uint64_t st = seed;
    for (int i = 0; i < 4; i++) r->s[i] = crender_splitmix64(&st);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t rng_next(rng_t *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t; s[3] = rotl(s[3], 45);
    return result;
}

/// Uniform in [0, 1).
static inline double rng_unit(rng_t *r) { return (rng_next(r) >> 11) * 0x1.0p-53; }

static inline uint8_t clamp8(double v) { return v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)(v + 0.5); }

// MARK: Resampling

/// Filter taps of one axis: output o reads inputs lo[o] ..< lo[o] + n[o] with weights w[o * max_n ...].
typedef struct { int *lo, *n; float *w; int max_n; } taps_t;

/// Triangle filter whose support widens when shrinking (area-like), normalized per output.
static int make_taps(int n_in, int n_out, taps_t *t) {
    double scale = (double)n_in / n_out, support = scale > 1 ? scale : 1.0;
    t->max_n = (int)ceil(2 * support) + 2;
    t->lo = malloc(sizeof(int) * n_out);
    t->n = malloc(sizeof(int) * n_out);
    t->w = malloc(sizeof(float) * (size_t)n_out * t->max_n);
    if (!t->lo || !t->n || !t->w) return 1;
    for (int o = 0; o < n_out; o++) {
        double center = (o + 0.5) * scale - 0.5;
        int lo = (int)floor(center - support) + 1, hi = (int)ceil(center + support) - 1;
        if (lo < 0) lo = 0;
        if (hi > n_in - 1) hi = n_in - 1;
        if (hi - lo + 1 > t->max_n) hi = lo + t->max_n - 1;
        double sum = 0;
        float *w = t->w + (size_t)o * t->max_n;
        for (int i = lo; i <= hi; i++) {
            double d = fabs(i - center) / support;
            w[i - lo] = (float)(d < 1 ? 1 - d : 0);
            sum += w[i - lo];
        }
        if (sum <= 0 || hi < lo) {
            int i = (int)lround(center);
            lo = i < 0 ? 0 : i >= n_in ? n_in - 1 : i;
            hi = lo;
            w[0] = 1;
            sum = 1;
        }
        for (int i = 0; i <= hi - lo; i++) w[i] = (float)(w[i] / sum);
        t->lo[o] = lo;
        t->n[o] = hi - lo + 1;
    }
    return 0;
}

static void free_taps(taps_t *t) { free(t->lo); free(t->n); free(t->w); }

int crender_resize(crender_image *img, int width, int height) {
    if (width < 1) width = 1;
    if (height < 1) height = 1;
    if (width == img->width && height == img->height) return 0;
    int w = img->width, h = img->height;
    taps_t tx = {0}, ty = {0};
    float *mid = malloc((size_t)width * h * 3 * sizeof(float));
    uint8_t *out = malloc((size_t)width * height * 3);
    if (!mid || !out || make_taps(w, width, &tx) || make_taps(h, height, &ty)) {
        free(mid); free(out); free_taps(&tx); free_taps(&ty);
        return 1;
    }
    for (int y = 0; y < h; y++) {
        const uint8_t *row = img->data + (size_t)y * w * 3;
        float *m = mid + (size_t)y * width * 3;
        for (int o = 0; o < width; o++) {
            const float *wt = tx.w + (size_t)o * tx.max_n;
            const uint8_t *src = row + (size_t)tx.lo[o] * 3;
            float r = 0, g = 0, b = 0;
            for (int i = 0; i < tx.n[o]; i++) { r += wt[i] * src[3 * i]; g += wt[i] * src[3 * i + 1]; b += wt[i] * src[3 * i + 2]; }
            m[3 * o] = r; m[3 * o + 1] = g; m[3 * o + 2] = b;
        }
    }
    size_t rowlen = (size_t)width * 3;
    float *acc = malloc(rowlen * sizeof(float));
    for (int o = 0; o < height; o++) {
        const float *wt = ty.w + (size_t)o * ty.max_n;
        memset(acc, 0, rowlen * sizeof(float));
        for (int i = 0; i < ty.n[o]; i++) {
            const float *src = mid + (size_t)(ty.lo[o] + i) * rowlen;
            float wi = wt[i];
            for (size_t x = 0; x < rowlen; x++) acc[x] += wi * src[x];
        }
        uint8_t *dst = out + (size_t)o * rowlen;
        for (size_t x = 0; x < rowlen; x++) dst[x] = clamp8(acc[x]);
    }
    free(acc); free(mid); free_taps(&tx); free_taps(&ty);
    free(img->data);
    img->data = out;
    img->width = width;
    img->height = height;
    return 0;
}

void crender_rescale(crender_image *img, double factor) {
    if (factor <= 0 || factor >= 1) return;
    int w = img->width, h = img->height;
    int sw = (int)lround(w * factor), sh = (int)lround(h * factor);
    crender_resize(img, sw < 1 ? 1 : sw, sh < 1 ? 1 : sh);
    crender_resize(img, w, h);
}

// MARK: Blur

void crender_gaussian_blur(crender_image *img, double sigma) {
    if (sigma <= 0.05) return;
    int r = (int)ceil(3 * sigma);
    if (r > 64) r = 64;
    float k[129];
    double sum = 0;
    for (int i = -r; i <= r; i++) { k[i + r] = (float)exp(-(i * i) / (2 * sigma * sigma)); sum += k[i + r]; }
    for (int i = 0; i <= 2 * r; i++) k[i] /= (float)sum;
    int w = img->width, h = img->height;
    size_t rowlen = (size_t)w * 3;
    float *tmp = malloc(rowlen * h * sizeof(float));
    float *pad = malloc(((size_t)w + 2 * r) * 3 * sizeof(float));
    float *acc = malloc(rowlen * sizeof(float));
    if (!tmp || !pad || !acc) { free(tmp); free(pad); free(acc); return; }
    // Horizontal pass through a row padded by edge replication.
    for (int y = 0; y < h; y++) {
        const uint8_t *row = img->data + (size_t)y * rowlen;
        for (int x = -r; x < w + r; x++) {
            int xx = x < 0 ? 0 : x >= w ? w - 1 : x;
            for (int c = 0; c < 3; c++) pad[(size_t)(x + r) * 3 + c] = row[xx * 3 + c];
        }
        float *t = tmp + (size_t)y * rowlen;
        for (size_t x = 0; x < rowlen; x++) {
            float a = 0;
            const float *p = pad + x;
            for (int i = 0; i <= 2 * r; i++) a += k[i] * p[(size_t)i * 3];
            t[x] = a;
        }
    }
    // Vertical pass, a whole row at a time.
    for (int y = 0; y < h; y++) {
        memset(acc, 0, rowlen * sizeof(float));
        for (int i = -r; i <= r; i++) {
            int yy = y + i; yy = yy < 0 ? 0 : yy >= h ? h - 1 : yy;
            const float *src = tmp + (size_t)yy * rowlen;
            float ki = k[i + r];
            for (size_t x = 0; x < rowlen; x++) acc[x] += ki * src[x];
        }
        uint8_t *dst = img->data + (size_t)y * rowlen;
        for (size_t x = 0; x < rowlen; x++) dst[x] = clamp8(acc[x]);
    }
    free(tmp); free(pad); free(acc);
}

/// Bilinear sample of all three channels at (x, y) into out; outside → fill.
static inline void sample3(const crender_image *img, double x, double y, const uint8_t *fill, uint8_t *out) {
    int w = img->width, h = img->height;
    if (x < -0.5 || y < -0.5 || x > w - 0.5 || y > h - 0.5) {
        out[0] = fill[0]; out[1] = fill[1]; out[2] = fill[2];
        return;
    }
    if (x < 0) x = 0;
    if (y < 0) y = 0;
    if (x > w - 1) x = w - 1;
    if (y > h - 1) y = h - 1;
    int x0 = (int)x, y0 = (int)y;
    int x1 = x0 + 1 < w ? x0 + 1 : x0, y1 = y0 + 1 < h ? y0 + 1 : y0;
    float fx = (float)(x - x0), fy = (float)(y - y0);
    float wa = (1 - fx) * (1 - fy), wb = fx * (1 - fy), we = (1 - fx) * fy, wf = fx * fy;
    const uint8_t *a = img->data + ((size_t)y0 * w + x0) * 3, *b = img->data + ((size_t)y0 * w + x1) * 3;
    const uint8_t *e = img->data + ((size_t)y1 * w + x0) * 3, *f = img->data + ((size_t)y1 * w + x1) * 3;
    for (int c = 0; c < 3; c++) out[c] = clamp8(wa * a[c] + wb * b[c] + we * e[c] + wf * f[c]);
}

void crender_motion_blur(crender_image *img, double length, double angle_deg) {
    if (length < 1) return;
    int n = (int)ceil(length) + 1;
    double dx = cos(angle_deg * M_PI / 180), dy = sin(angle_deg * M_PI / 180);
    int w = img->width, h = img->height;
    uint8_t *out = malloc((size_t)w * h * 3);
    if (!out) return;
    uint8_t edge[3];
    crender_border_color(img, edge);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int acc[3] = {0, 0, 0};
            uint8_t px[3];
            for (int i = 0; i < n; i++) {
                double t = (i / (double)(n - 1) - 0.5) * length;
                sample3(img, x + t * dx, y + t * dy, edge, px);
                acc[0] += px[0]; acc[1] += px[1]; acc[2] += px[2];
            }
            for (int c = 0; c < 3; c++) out[((size_t)y * w + x) * 3 + c] = clamp8((double)acc[c] / n);
        }
    free(img->data);
    img->data = out;
}

// MARK: Noise and tone

void crender_gaussian_noise(crender_image *img, double sigma, uint64_t seed) {
    rng_t r;
    rng_seed(&r, seed);
    size_t n = (size_t)img->width * img->height;
    for (size_t i = 0; i < n; i += 2) {
        // Marsaglia's polar method: two normals per accepted pair, no sin/cos.
        double u, v, q;
        do {
            u = 2 * rng_unit(&r) - 1;
            v = 2 * rng_unit(&r) - 1;
            q = u * u + v * v;
        } while (q >= 1 || q == 0);
        double m = sqrt(-2.0 * log(q) / q) * sigma;
        double z[2] = {u * m, v * m};
        for (size_t j = 0; j < 2 && i + j < n; j++)
            for (int c = 0; c < 3; c++) img->data[(i + j) * 3 + c] = clamp8(img->data[(i + j) * 3 + c] + z[j]);
    }
}

void crender_salt_pepper(crender_image *img, double amount, uint64_t seed) {
    rng_t r;
    rng_seed(&r, seed);
    size_t n = (size_t)img->width * img->height;
    for (size_t i = 0; i < n; i++) {
        if (rng_unit(&r) < amount) {
            uint8_t v = (rng_next(&r) & 1) ? 255 : 0;
            img->data[i * 3] = img->data[i * 3 + 1] = img->data[i * 3 + 2] = v;
        }
    }
}

void crender_contrast_brightness(crender_image *img, double contrast, double brightness) {
    uint8_t lut[256];
    for (int v = 0; v < 256; v++) lut[v] = clamp8((v - 128.0) * contrast + 128.0 + brightness);
    size_t n = (size_t)img->width * img->height * 3;
    for (size_t i = 0; i < n; i++) img->data[i] = lut[img->data[i]];
}

/// Smooth value noise in [0, 1]: random values on a grid of `cell` pixels, smoothstep-interpolated.
static float *value_noise(int w, int h, double cell, rng_t *r) {
    if (cell < 1) cell = 1;
    int gw = (int)ceil(w / cell) + 2, gh = (int)ceil(h / cell) + 2;
    float *grid = malloc((size_t)gw * gh * sizeof(float));
    float *out = malloc((size_t)w * h * sizeof(float));
    if (!grid || !out) { free(grid); free(out); return NULL; }
    for (int i = 0; i < gw * gh; i++) grid[i] = (float)rng_unit(r);
    for (int y = 0; y < h; y++) {
        double gy = y / cell;
        int y0 = (int)gy;
        double fy = gy - y0;
        fy = fy * fy * (3 - 2 * fy);
        for (int x = 0; x < w; x++) {
            double gx = x / cell;
            int x0 = (int)gx;
            double fx = gx - x0;
            fx = fx * fx * (3 - 2 * fx);
            double a = grid[y0 * gw + x0], b = grid[y0 * gw + x0 + 1];
            double c = grid[(y0 + 1) * gw + x0], d = grid[(y0 + 1) * gw + x0 + 1];
            out[(size_t)y * w + x] = (float)((a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy);
        }
    }
    free(grid);
    return out;
}

void crender_paper(crender_image *img, const uint8_t *tint, double texture, double scale, uint64_t seed) {
    rng_t r;
    rng_seed(&r, seed);
    int w = img->width, h = img->height;
    float *coarse = texture > 0 ? value_noise(w, h, scale, &r) : NULL;
    float *fine = texture > 0 ? value_noise(w, h, scale / 6 < 1 ? 1 : scale / 6, &r) : NULL;
    for (size_t i = 0; i < (size_t)w * h; i++) {
        double t = 1.0;
        if (coarse && fine) t = 1.0 - texture * (0.7 * coarse[i] + 0.3 * fine[i]);
        for (int c = 0; c < 3; c++) img->data[i * 3 + c] = clamp8(img->data[i * 3 + c] * (tint[c] / 255.0) * t);
    }
    free(coarse);
    free(fine);
}

// MARK: Geometry

/// Applies the projective map `m` (source → destination, row-major 3×3) onto a canvas that holds
/// the whole transformed image, sampling by the inverse map.
static int warp(crender_image *img, const double *m, const uint8_t *fill) {
    int w = img->width, h = img->height;
    double cx[4] = {0, (double)w, (double)w, 0}, cy[4] = {0, 0, (double)h, (double)h};
    double minx = 1e18, miny = 1e18, maxx = -1e18, maxy = -1e18;
    for (int i = 0; i < 4; i++) {
        double z = m[6] * cx[i] + m[7] * cy[i] + m[8];
        double x = (m[0] * cx[i] + m[1] * cy[i] + m[2]) / z, y = (m[3] * cx[i] + m[4] * cy[i] + m[5]) / z;
        minx = fmin(minx, x); maxx = fmax(maxx, x); miny = fmin(miny, y); maxy = fmax(maxy, y);
    }
    int ow = (int)ceil(maxx - minx - 1e-6), oh = (int)ceil(maxy - miny - 1e-6);
    if (ow < 1 || oh < 1 || ow > 20000 || oh > 20000) return 1;
    // Inverse of m (adjugate / determinant).
    double inv[9] = {
        m[4] * m[8] - m[5] * m[7], m[2] * m[7] - m[1] * m[8], m[1] * m[5] - m[2] * m[4],
        m[5] * m[6] - m[3] * m[8], m[0] * m[8] - m[2] * m[6], m[2] * m[3] - m[0] * m[5],
        m[3] * m[7] - m[4] * m[6], m[1] * m[6] - m[0] * m[7], m[0] * m[4] - m[1] * m[3]};
    uint8_t *out = malloc((size_t)ow * oh * 3);
    if (!out) return 1;
    int affine = inv[6] == 0 && inv[7] == 0;
    for (int y = 0; y < oh; y++) {
        double dy = y + 0.5 + miny;
        if (affine) {
            // Source coordinates advance by a constant step along a row: no division.
            double dx0 = 0.5 + minx;
            double sx = (inv[0] * dx0 + inv[1] * dy + inv[2]) / inv[8] - 0.5;
            double sy = (inv[3] * dx0 + inv[4] * dy + inv[5]) / inv[8] - 0.5;
            double ax = inv[0] / inv[8], ay = inv[3] / inv[8];
            uint8_t *o = out + (size_t)y * ow * 3;
            for (int x = 0; x < ow; x++, sx += ax, sy += ay) sample3(img, sx, sy, fill, o + (size_t)x * 3);
            continue;
        }
        for (int x = 0; x < ow; x++) {
            double dx = x + 0.5 + minx;
            double z = inv[6] * dx + inv[7] * dy + inv[8];
            double sx = (inv[0] * dx + inv[1] * dy + inv[2]) / z - 0.5;
            double sy = (inv[3] * dx + inv[4] * dy + inv[5]) / z - 0.5;
            sample3(img, sx, sy, fill, out + ((size_t)y * ow + x) * 3);
        }
    }
    free(img->data);
    img->data = out;
    img->width = ow;
    img->height = oh;
    return 0;
}

int crender_rotate_skew(crender_image *img, double angle_deg, double shear, const uint8_t *fill) {
    double a = angle_deg * M_PI / 180, c = cos(a), s = sin(a);
    // Rotation · shear (x += shear · y); translation does not matter (the canvas is fitted).
    double m[9] = {c, c * shear - s, 0, s, s * shear + c, 0, 0, 0, 1};
    return warp(img, m, fill);
}

/// Solves the 8×8 system of a homography taking src[i] → dst[i] (4 points).
static int homography(const double *src, const double *dst, double *m) {
    double A[8][9];
    for (int i = 0; i < 4; i++) {
        double x = src[2 * i], y = src[2 * i + 1], u = dst[2 * i], v = dst[2 * i + 1];
        double r1[9] = {x, y, 1, 0, 0, 0, -u * x, -u * y, u};
        double r2[9] = {0, 0, 0, x, y, 1, -v * x, -v * y, v};
        memcpy(A[2 * i], r1, sizeof r1);
        memcpy(A[2 * i + 1], r2, sizeof r2);
    }
    for (int col = 0; col < 8; col++) {
        int piv = col;
        for (int r = col + 1; r < 8; r++) if (fabs(A[r][col]) > fabs(A[piv][col])) piv = r;
        if (fabs(A[piv][col]) < 1e-12) return 1;
        for (int k = 0; k < 9; k++) { double t = A[col][k]; A[col][k] = A[piv][k]; A[piv][k] = t; }
        for (int r = 0; r < 8; r++) {
            if (r == col) continue;
            double f = A[r][col] / A[col][col];
            for (int k = col; k < 9; k++) A[r][k] -= f * A[col][k];
        }
    }
    for (int i = 0; i < 8; i++) m[i] = A[i][8] / A[i][i];
    m[8] = 1;
    return 0;
}

int crender_perspective(crender_image *img, double strength, uint64_t seed, const uint8_t *fill) {
    rng_t r;
    rng_seed(&r, seed);
    double w = img->width, h = img->height, d = strength * h;
    double src[8] = {0, 0, w, 0, w, h, 0, h}, dst[8];
    for (int i = 0; i < 8; i++) dst[i] = src[i] + (rng_unit(&r) * 2 - 1) * d;
    double m[9];
    if (homography(src, dst, m)) return 1;
    return warp(img, m, fill);
}

int crender_elastic(crender_image *img, double alpha, double scale, uint64_t seed, const uint8_t *fill) {
    rng_t r;
    rng_seed(&r, seed);
    int w = img->width, h = img->height;
    float *nx = value_noise(w, h, scale, &r), *ny = value_noise(w, h, scale, &r);
    uint8_t *out = malloc((size_t)w * h * 3);
    if (!nx || !ny || !out) { free(nx); free(ny); free(out); return 1; }
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            double sx = x + (nx[i] * 2 - 1) * alpha, sy = y + (ny[i] * 2 - 1) * alpha;
            sample3(img, sx, sy, fill, out + i * 3);
        }
    free(nx); free(ny);
    free(img->data);
    img->data = out;
    return 0;
}

// MARK: Strokes and ink

void crender_hrule(crender_image *img, int x0, int x1, double y, double width, const uint8_t *rgb) {
    int w = img->width, h = img->height;
    if (x0 < 0) x0 = 0;
    if (x1 > w) x1 = w;
    double top = y - width / 2, bottom = y + width / 2;
    for (int row = (int)floor(top); row < (int)ceil(bottom); row++) {
        if (row < 0 || row >= h) continue;
        double cover = fmin(bottom, row + 1.0) - fmax(top, (double)row);
        if (cover <= 0) continue;
        for (int x = x0; x < x1; x++)
            for (int c = 0; c < 3; c++) {
                uint8_t *p = img->data + ((size_t)row * w + x) * 3 + c;
                *p = clamp8(*p * (1 - cover) + rgb[c] * cover);
            }
    }
}

static inline int luma(const uint8_t *p) { return (299 * p[0] + 587 * p[1] + 114 * p[2]) / 1000; }

int crender_binarize(crender_image *img, int threshold) {
    size_t n = (size_t)img->width * img->height;
    if (threshold < 0) {
        double hist[256] = {0};
        for (size_t i = 0; i < n; i++) hist[luma(img->data + i * 3)] += 1;
        double total = 0, sum_b = 0, w_b = 0, best = -1;
        for (int t = 0; t < 256; t++) total += t * hist[t];
        threshold = 128;
        for (int t = 0; t < 256; t++) {
            w_b += hist[t];
            if (w_b == 0) continue;
            double w_f = n - w_b;
            if (w_f == 0) break;
            sum_b += t * hist[t];
            double m_b = sum_b / w_b, m_f = (total - sum_b) / w_f;
            double between = w_b * w_f * (m_b - m_f) * (m_b - m_f);
            if (between > best) { best = between; threshold = t; }
        }
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t v = luma(img->data + i * 3) > threshold ? 255 : 0;
        img->data[i * 3] = img->data[i * 3 + 1] = img->data[i * 3 + 2] = v;
    }
    return threshold;
}

void crender_ink_bleed(crender_image *img, int radius, double strength) {
    if (radius < 1 || strength <= 0) return;
    int w = img->width, h = img->height;
    size_t n = (size_t)w * h * 3;
    uint8_t *tmp = malloc(n), *mn = malloc(n);
    if (!tmp || !mn) { free(tmp); free(mn); return; }
    // Separable min filter (a square structuring element).
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                uint8_t m = 255;
                for (int i = -radius; i <= radius; i++) {
                    int xx = x + i;
                    if (xx < 0 || xx >= w) continue;
                    uint8_t v = img->data[((size_t)y * w + xx) * 3 + c];
                    if (v < m) m = v;
                }
                tmp[((size_t)y * w + x) * 3 + c] = m;
            }
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w * 3; x++) {
            uint8_t m = 255;
            for (int i = -radius; i <= radius; i++) {
                int yy = y + i;
                if (yy < 0 || yy >= h) continue;
                uint8_t v = tmp[(size_t)yy * w * 3 + x];
                if (v < m) m = v;
            }
            mn[(size_t)y * w * 3 + x] = m;
        }
    for (size_t i = 0; i < n; i++) img->data[i] = clamp8(img->data[i] * (1 - strength) + mn[i] * strength);
    free(tmp);
    free(mn);
}

void crender_border_color(const crender_image *img, uint8_t *rgb) {
    int w = img->width, h = img->height;
    double acc[3] = {0, 0, 0};
    long count = 0;
    for (int x = 0; x < w; x++)
        for (int k = 0; k < 2; k++) {
            int y = k ? h - 1 : 0;
            for (int c = 0; c < 3; c++) acc[c] += img->data[((size_t)y * w + x) * 3 + c];
            count++;
        }
    for (int y = 0; y < h; y++)
        for (int k = 0; k < 2; k++) {
            int x = k ? w - 1 : 0;
            for (int c = 0; c < 3; c++) acc[c] += img->data[((size_t)y * w + x) * 3 + c];
            count++;
        }
    for (int c = 0; c < 3; c++) rgb[c] = count ? clamp8(acc[c] / count) : 255;
}

int crender_pad(crender_image *img, int left, int top, int right, int bottom, const uint8_t *rgb) {
    int w = img->width + left + right, h = img->height + top + bottom;
    crender_image out;
    if (crender_image_alloc(&out, w, h, rgb)) return 1;
    for (int y = 0; y < img->height; y++)
        memcpy(out.data + ((size_t)(y + top) * w + left) * 3, img->data + (size_t)y * img->width * 3, (size_t)img->width * 3);
    free(img->data);
    *img = out;
    return 0;
}
