// LD_PRELOAD shim for tools/render_stress: widens the windows of Cairo 1.16's FreeType races by
// sleeping inside the FreeType calls Cairo makes (through its PLT, so they can be interposed):
// after FT_Load_Glyph (Cairo then reads face->glyph, which another thread's FT_Done_Face clears)
// and before FT_Done_Face and FT_New_Face (the face list and open-face count change under them).
// Nothing else changes: the real functions run with the same arguments. RACE_US sets the sleep
// (microseconds, default 300). Used only to make a timing-dependent crash show up in seconds.

#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>

typedef int FT_Error;
typedef void *FT_Face;
typedef void *FT_Library;

static useconds_t delay(void) {
    static int us = -1;
    if (us < 0) {
        const char *e = getenv("RACE_US");
        us = e ? atoi(e) : 300;
    }
    return (useconds_t)us;
}

FT_Error FT_Load_Glyph(FT_Face face, unsigned int glyph_index, int load_flags) {
    static FT_Error (*real)(FT_Face, unsigned int, int);
    if (!real) *(void **)&real = dlsym(RTLD_NEXT, "FT_Load_Glyph");
    FT_Error e = real(face, glyph_index, load_flags);
    usleep(delay());
    return e;
}

FT_Error FT_Done_Face(FT_Face face) {
    static FT_Error (*real)(FT_Face);
    if (!real) *(void **)&real = dlsym(RTLD_NEXT, "FT_Done_Face");
    usleep(delay());
    return real(face);
}

FT_Error FT_New_Face(FT_Library library, const char *path, long index, FT_Face *face) {
    static FT_Error (*real)(FT_Library, const char *, long, FT_Face *);
    if (!real) *(void **)&real = dlsym(RTLD_NEXT, "FT_New_Face");
    usleep(delay());
    return real(library, path, index, face);
}
