// DataBench: the Swift side of bench/data.py.
//
//   DataBench gen COUNT DIR        write COUNT small distinct PNG text-line images + DIR/listing.txt
//   DataBench build LISTING OUT    run `data build` in-process; print JSON (images/s, peak RSS)
//   DataBench load DATASET         loader throughput over train (48-px lines, preprocessed); JSON

import Foundation
import OCRData
import OCRImaging

func peakRSSMegabytes() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024  // Linux: kilobytes
}

func emit(_ object: [String: Any]) {
    let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}

let args = CommandLine.arguments
guard args.count >= 3 else {
    FileHandle.standardError.write(Data("usage: DataBench gen COUNT DIR | build LISTING OUT | load DATASET\n".utf8))
    exit(2)
}

switch args[1] {
case "gen":
    let count = Int(args[2])!
    let dir = URL(fileURLWithPath: args[3])
    let images = dir.appendingPathComponent("images")
    try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
    var listing = ""
    listing.reserveCapacity(count * 40)
    for i in 0..<count {
        // 96×32 line: bars whose widths spell the index in base 4 (every image distinct).
        var image = RGBImage(width: 96, height: 32)
        var n = i
        var x = 2
        while x < 92 {
            let w = 1 + n % 4
            n /= 4
            for y in 8..<24 { for dx in 0..<w where x + dx < 96 { let p = (y * 96 + x + dx) * 3; image.pixels[p] = 0; image.pixels[p + 1] = 0; image.pixels[p + 2] = 0 } }
            x += w + 2
        }
        let sub = String(format: "%03d", i / 1000)
        let folder = images.appendingPathComponent(sub)
        if i % 1000 == 0 { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
        try ImageCodec.encodePNG(image).write(to: folder.appendingPathComponent("\(i).png"))
        listing += "images/\(sub)/\(i).png line \(i)\n"
    }
    try listing.write(to: dir.appendingPathComponent("listing.txt"), atomically: true, encoding: .utf8)
    emit(["generated": count])

case "build":
    var options = BuildOptions()
    options.overwrite = true
    let start = Date()
    let summary = try DatasetBuilder(inputs: [URL(fileURLWithPath: args[2])], output: URL(fileURLWithPath: args[3]), options: options).run()
    let seconds = Date().timeIntervalSince(start)
    let total = summary.manifest.counts.values.reduce(0, +) + summary.manifest.rejected
    emit(["records": total, "seconds": seconds, "images_per_s": Double(total) / seconds, "peak_rss_mb": peakRSSMegabytes(),
          "rejected": summary.manifest.rejected])

case "load":
    // The path training and evaluation take: a split's samples read into memory, each image decoded.
    let start = Date()
    let reader = try DatasetReader(folder: URL(fileURLWithPath: args[2]))
    var samples = 0
    for sample in try reader.samples(in: .train) {
        _ = try ImageCodec.decode(sample.imageBytes)
        samples += 1
    }
    let seconds = Date().timeIntervalSince(start)
    emit(["samples": samples, "seconds": seconds, "samples_per_s": Double(samples) / seconds, "peak_rss_mb": peakRSSMegabytes()])

default:
    FileHandle.standardError.write(Data("unknown mode \(args[1])\n".utf8))
    exit(2)
}
