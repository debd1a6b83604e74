// image_fuzz.c — libFuzzer target for ocrtune's codec shim (Sources/CImageCodecs): the header
// probe and the decoder, as OCRImaging.ImageCodec calls them. Built once per format with
// -DFUZZ_FORMAT=CIC_PNG (…): inputs whose magic bytes name another format are skipped, so each
// binary spends its runs on one library.

#include <stdint.h>
#include <stdlib.h>

#include "cimage_codecs.h"

// Pixel cap for decoding: below the product's default (89,478,485) so that the fuzzer's runs stay
// fast; the refusal path above the cap is the same code for any value.
#define FUZZ_MAX_PIXELS (1u << 22)

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
#ifdef FUZZ_FORMAT
  if (cic_sniff(data, size) != FUZZ_FORMAT) return -1;  // not this target's format: not kept
#endif
  cic_format format = CIC_UNKNOWN;
  int width = 0, height = 0;
  int probed = cic_probe(data, size, &format, &width, &height);
  uint8_t* pixels = NULL;
  int w = 0, h = 0;
  int status = cic_decode_rgb(data, size, FUZZ_MAX_PIXELS, &pixels, &w, &h);
  if (status == CIC_OK) {
    // The shim's contract: a decoded image has a positive size within the cap and w·h·3 bytes.
    if (w <= 0 || h <= 0 || (uint64_t)w * (uint64_t)h > FUZZ_MAX_PIXELS || !pixels) abort();
    if (probed != CIC_OK) abort();  // decodable but the probe refused it
    volatile uint8_t sink = pixels[(size_t)w * (size_t)h * 3 - 1];
    (void)sink;
    cic_free(pixels);
  } else if (pixels) {
    abort();  // a failure must not hand back a buffer
  }
  return 0;
}
