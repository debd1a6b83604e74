// Deterministic images for the tests that need pixels but no particular content.

import OCRImaging

public enum TestImages {
    /// Stripes whose phase and colour depend on `seed`.
    public static func stripes(width: Int, height: Int, seed: Int) -> RGBImage {
        var pixels = [UInt8](repeating: 255, count: width * height * 3)
        for y in 0 ..< height {
            for x in 0 ..< width where (x * (3 + seed % 5) + y * (1 + seed % 3) + seed) % 11 < 4 {
                for c in 0 ..< 3 { pixels[(y * width + x) * 3 + c] = UInt8((seed * 37 + c * 60) % 200) }
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }
}
