// Fuzz/common — the scratch file through which the tokenizer, dataset and parquet targets hand an
// input to a reader that takes a path (the product's own entry point). Written with open/write,
// not Data.write(to:): swift-corelibs-foundation's write fsyncs every file, and one or two fsyncs
// per input on a shared disk cost more than the parse under test. On /dev/shm where it exists.

import Foundation

/// A per-process folder for scratch inputs (tmpfs when there is one).
func fuzzScratchFolder(_ name: String) -> URL? {
    let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    let folder = URL(fileURLWithPath: base).appendingPathComponent("ocrtune-fuzz-\(name)-\(getpid())")
    return (try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)) != nil ? folder : nil
}

/// Replaces `url`'s content with the input's bytes; false if the file cannot be written.
func writeFuzzInput(_ bytes: UnsafePointer<UInt8>?, _ size: Int, to url: URL) -> Bool {
    let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var done = 0
    while done < size, let bytes {
        let n = write(fd, bytes + done, size - done)
        guard n > 0 else { return false }
        done += n
    }
    return true
}
