// Shared helpers of the OCRSynth tests: fixtures, pixel statistics, Tesseract as a subprocess.

import Foundation
import OCRImaging
import XCTest

@testable import OCRSynth

enum Fixture {
    static func path(_ name: String) -> String {
        Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil)!.path
    }
}

// MARK: Pixels

extension RGBImage {
    /// Luma of pixel (x, y).
    func luma(_ x: Int, _ y: Int) -> Int {
        let i = (y * width + x) * 3
        return (299 * Int(pixels[i]) + 587 * Int(pixels[i + 1]) + 114 * Int(pixels[i + 2])) / 1000
    }

    /// Number of dark pixels per column (luma < threshold).
    func columnInk(threshold: Int = 128) -> [Int] {
        (0..<width).map { x in (0..<height).reduce(0) { $0 + (luma(x, $1) < threshold ? 1 : 0) } }
    }

    /// Number of pixels with luma < threshold.
    func inkCount(threshold: Int = 128) -> Int {
        var n = 0
        for y in 0..<height { for x in 0..<width where luma(x, y) < threshold { n += 1 } }
        return n
    }

    /// Sum of absolute horizontal neighbor differences (a sharpness measure).
    var gradient: Int {
        var g = 0
        for y in 0..<height {
            for x in 1..<width { g += abs(luma(x, y) - luma(x - 1, y)) }
        }
        return g
    }
}

/// Runs of consecutive non-zero entries.
func runs(_ profile: [Int]) -> Int {
    var n = 0, inRun = false
    for v in profile {
        if v > 0 && !inRun { n += 1 }
        inRun = v > 0
    }
    return n
}

/// The profile with leading and trailing zero columns removed.
func trimmed(_ profile: [Int]) -> [Int] {
    guard let a = profile.firstIndex(where: { $0 > 0 }), let b = profile.lastIndex(where: { $0 > 0 }) else { return [] }
    return Array(profile[a...b])
}

// MARK: Tesseract

enum Tesseract {
    /// The tesseract binary on PATH, or nil.
    static var binary: String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/tesseract"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Reads one line of text from PNG bytes (page segmentation mode 7: a single line).
    static func read(png: Data, language: String) throws -> String {
        guard let bin = binary else {
            XCTFail("tesseract is not installed: run tools/setup.sh (apt packages tesseract-ocr, tesseract-ocr-eng, tesseract-ocr-chi-sim)")
            throw CocoaError(.fileNoSuchFile)
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ocrsynth-tess-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("line.png")
        try png.write(to: file)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: bin)
        process.arguments = [file.path, "stdout", "--psm", "7", "-l", language]
        var env = ProcessInfo.processInfo.environment
        env["OMP_THREAD_LIMIT"] = "1"
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let message = String(decoding: errData, as: UTF8.self)
            XCTFail("tesseract -l \(language) failed (\(process.terminationStatus)): \(message) — is tesseract-ocr-\(language == "chi_sim" ? "chi-sim" : language) installed?")
            throw CocoaError(.fileReadUnknown)
        }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
