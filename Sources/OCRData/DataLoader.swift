// The loader for evaluation and training: streams a split's shards through a seeded shuffle
// buffer, decodes and preprocesses on background threads into a bounded queue, buckets by width
// or text length, and resumes at an exact sample index. It yields Swift values; models convert.

import Foundation
import OCRSupport
import OCRImaging

// MARK: - Options

/// Line preprocessing (PP-OCR recognizer style): resize to `height` keeping the aspect ratio
/// (`RGBImage.resized(width:height:)`, OpenCV INTER_LINEAR convention), width clamped to
/// `[minWidth, maxWidth]`, then `(v/255 − mean)/std` into a zero-padded batch tensor.
public struct LinePreprocessing: Codable, Sendable, Equatable {
    public var height: Int = 48
    public var minWidth: Int = 8
    public var maxWidth: Int = 320
    public var mean: [Float] = [0.5, 0.5, 0.5]
    public var std: [Float] = [0.5, 0.5, 0.5]
    public var layout: ChannelLayout = .chw

    public init(height: Int = 48, minWidth: Int = 8, maxWidth: Int = 320) {
        self.height = height
        self.minWidth = minWidth
        self.maxWidth = maxWidth
    }

    enum CodingKeys: String, CodingKey { case height, minWidth = "min_width", maxWidth = "max_width", mean, std, layout }

    /// Width after resizing an image of the given size: round(height · w / h) clamped.
    public func targetWidth(width: Int, height h: Int) -> Int {
        let w = Int((Double(height) * Double(width) / Double(max(1, h))).rounded())
        return min(maxWidth, max(minWidth, w))
    }
}

/// How samples are grouped into batches to cut padding.
public enum Bucketing: String, Codable, Sendable {
    case none, width, length
}

/// Loader settings. JSON keys are snake_case.
public struct LoaderOptions: Codable, Sendable, Equatable {
    public var batchSize = 32
    /// Shuffle buffer size in samples (0 = file order).
    public var shuffleBuffer = 1024
    public var seed: UInt64 = 0
    /// Batches decoded ahead of the consumer (the bounded queue's capacity).
    public var prefetchBatches = 4
    public var bucketing: Bucketing = .width
    /// Bucketing sorts windows of `bucketWindowBatches × batchSize` samples.
    public var bucketWindowBatches = 8
    /// Stream position (samples already consumed) to start from.
    public var startIndex = 0
    /// nil: yield decoded `RGBImage`s only.
    public var preprocessing: LinePreprocessing? = LinePreprocessing()

    public init() {}

    enum CodingKeys: String, CodingKey {
        case batchSize = "batch_size", shuffleBuffer = "shuffle_buffer", seed, prefetchBatches = "prefetch_batches"
        case bucketing, bucketWindowBatches = "bucket_window_batches", startIndex = "start_index", preprocessing
    }
}

// MARK: - Batches

/// One loaded sample.
public struct LoadedSample: Sendable {
    /// Position in the stream order (the shuffled order before bucketing).
    public var streamIndex: Int
    public var text: String
    /// Decoded image (resized to the preprocessing height when preprocessing is on).
    public var image: RGBImage
}

/// A batch: samples plus, with preprocessing, one padded float tensor.
public struct LoadedBatch: Sendable {
    public var samples: [LoadedSample]
    /// `[batch, 3, height, paddedWidth]` (chw) or `[batch, height, paddedWidth, 3]` (hwc).
    public var pixels: [Float]
    public var shape: [Int]
    /// Unpadded width of each sample.
    public var widths: [Int]
    /// Pass as `startIndex` to resume right after this batch.
    public var nextIndex: Int
}

// MARK: - Bounded queue

/// A blocking FIFO with a capacity (producer waits when full, consumer when empty).
final class BoundedQueue<T> {
    private var items: [T] = []
    private let capacity: Int
    private let condition = NSCondition()
    private var closed = false

    init(capacity: Int) { self.capacity = max(1, capacity) }

    func push(_ item: T) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while items.count >= capacity && !closed { condition.wait() }
        if closed { return false }
        items.append(item)
        condition.broadcast()
        return true
    }

    /// nil once closed and drained.
    func pop() -> T? {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty && !closed { condition.wait() }
        if items.isEmpty { return nil }
        let item = items.removeFirst()
        condition.broadcast()
        return item
    }

    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}

// MARK: - Stream order

/// The stream order of a split as (shard, row) pairs: shards in a seeded order, rows in file
/// order through a shuffle buffer of `buffer` slots (SplitMix64(seed)): each incoming row
/// replaces a random slot once the buffer is full, and the evicted row is emitted; the buffer
/// drains in random order at the end. Depends only on row counts, so resuming needs no decoding.
public func streamOrder(rowCounts: [Int], buffer: Int, seed: UInt64) -> [(shard: Int, row: Int)] {
    var rng = SplitMix64(seed: seed)
    var shardOrder = Array(rowCounts.indices)
    if buffer > 0 { rng.shuffle(&shardOrder) }
    var out: [(Int, Int)] = []
    out.reserveCapacity(rowCounts.reduce(0, +))
    var slots: [(Int, Int)] = []
    for s in shardOrder {
        for r in 0..<rowCounts[s] {
            if buffer <= 0 { out.append((s, r)); continue }
            if slots.count < buffer { slots.append((s, r)); continue }
            let j = Int(rng.next() % UInt64(slots.count))
            out.append(slots[j])
            slots[j] = (s, r)
        }
    }
    rng.shuffle(&slots)
    out.append(contentsOf: slots)
    return out.map { (shard: $0.0, row: $0.1) }
}

// MARK: - Loader

/// Iterates batches of one split. Decoding and preprocessing run on background threads; at most
/// `prefetchBatches` batches wait in memory. Errors (a corrupt shard) surface from `next()`.
public final class DataLoader: Sequence, IteratorProtocol {
    public let options: LoaderOptions
    public let count: Int
    private let queue: BoundedQueue<Result<LoadedBatch, Error>>
    private var thread: Thread?

    public init(dataset: DatasetReader, split: Split, options: LoaderOptions = LoaderOptions()) throws {
        self.options = options
        let shardURLs = dataset.shards(split)
        let rowCounts = dataset.manifest.shards.filter { $0.split == split }.map(\.rows)
        let order = streamOrder(rowCounts: rowCounts, buffer: options.shuffleBuffer, seed: options.seed)
        count = order.count
        guard options.startIndex >= 0, options.startIndex <= order.count else {
            throw DataError("loader: start index \(options.startIndex) is outside 0…\(order.count)")
        }
        let queue = BoundedQueue<Result<LoadedBatch, Error>>(capacity: options.prefetchBatches)
        self.queue = queue
        let producer = Producer(shards: shardURLs, order: order, options: options, queue: queue)
        let thread = Thread { producer.run() }
        thread.name = "ocrtune.loader"
        thread.start()
        self.thread = thread
    }

    deinit { queue.close() }

    public func next() -> LoadedBatch? {
        guard let result = queue.pop() else { return nil }
        switch result {
        case .success(let batch): return batch
        case .failure: queue.close(); return nil
        }
    }

    /// Like `next()` but rethrows a producer error.
    public func nextBatch() throws -> LoadedBatch? {
        guard let result = queue.pop() else { return nil }
        return try result.get()
    }
}

/// The background side of the loader.
private final class Producer {
    let shards: [URL]
    let order: [(shard: Int, row: Int)]
    let options: LoaderOptions
    let queue: BoundedQueue<Result<LoadedBatch, Error>>
    private var readers: [Int: ParquetFileReader] = [:]
    private var cache: [String: ParquetBatch] = [:]
    private var cacheOrder: [String] = []
    private var groupStarts: [Int: [Int]] = [:]

    init(shards: [URL], order: [(shard: Int, row: Int)], options: LoaderOptions, queue: BoundedQueue<Result<LoadedBatch, Error>>) {
        self.shards = shards
        self.order = order
        self.options = options
        self.queue = queue
    }

    func run() {
        do {
            let window = max(1, options.batchSize * (options.bucketing == .none ? 1 : options.bucketWindowBatches))
            var chunkStart = (options.startIndex / window) * window
            while chunkStart < order.count {
                let chunkEnd = min(order.count, chunkStart + window)
                let batches = try loadChunk(chunkStart..<chunkEnd, skip: max(0, options.startIndex - chunkStart))
                for b in batches { if !queue.push(.success(b)) { return } }
                chunkStart = chunkEnd
            }
        } catch {
            _ = queue.push(.failure(error))
        }
        queue.close()
    }

    /// (bytes, text) of one stream position; row groups are cached (shuffle windows touch few).
    private func fetch(_ position: Int) throws -> (Data, String) {
        let (s, row) = order[position]
        let reader = try readers[s] ?? ParquetFileReader(url: shards[s])
        readers[s] = reader
        if groupStarts[s] == nil {
            var starts: [Int] = []
            var total = 0
            for n in reader.rowGroupRowCounts() {
                starts.append(total)
                total += n
            }
            groupStarts[s] = starts
        }
        let starts = groupStarts[s]!
        let g = (starts.lastIndex { $0 <= row }) ?? 0
        let b = try batch(s, g, reader)
        let r = row - starts[g]
        let bytes = try b.bytes(column: reader.columnIndex("image") ?? 0, row: r) ?? Data()
        let text = try b.text(column: reader.columnIndex("text") ?? 1, row: r) ?? ""
        return (bytes, text)
    }

    private func batch(_ s: Int, _ g: Int, _ reader: ParquetFileReader) throws -> ParquetBatch {
        let key = "\(s):\(g)"
        if let b = cache[key] { return b }
        let b = try reader.readRowGroup(g)
        cache[key] = b
        cacheOrder.append(key)
        let limit = max(4, options.shuffleBuffer / 64 + 4)
        while cacheOrder.count > limit { cache[cacheOrder.removeFirst()] = nil }
        return b
    }

    private func loadChunk(_ range: Range<Int>, skip: Int) throws -> [LoadedBatch] {
        let raw = try range.map { try fetch($0) }
        let pre = options.preprocessing
        var images = [RGBImage?](repeating: nil, count: raw.count)
        var failure: Error?
        let lock = NSLock()
        images.withUnsafeMutableBufferPointer { out in
            let out = out
            DispatchQueue.concurrentPerform(iterations: raw.count) { i in
                do {
                    var image = try ImageCodec.decode(raw[i].0, source: "stream sample \(range.lowerBound + i)")
                    if let pre { image = image.resized(width: pre.targetWidth(width: image.width, height: image.height), height: pre.height) }
                    out[i] = image
                } catch {
                    lock.lock(); failure = failure ?? error; lock.unlock()
                }
            }
        }
        if let failure { throw failure }
        var samples = (0..<raw.count).map { LoadedSample(streamIndex: range.lowerBound + $0, text: raw[$0].1, image: images[$0]!) }
        switch options.bucketing {
        case .none: break
        case .width: samples.sort { ($0.image.width, $0.streamIndex) < ($1.image.width, $1.streamIndex) }
        case .length: samples.sort { ($0.text.count, $0.streamIndex) < ($1.text.count, $1.streamIndex) }
        }
        var batches: [[LoadedSample]] = stride(from: 0, to: samples.count, by: options.batchSize).map {
            Array(samples[$0..<min(samples.count, $0 + options.batchSize)])
        }
        if options.bucketing != .none {
            var rng = SplitMix64(seed: options.seed &+ UInt64(range.lowerBound))
            rng.shuffle(&batches)
        }
        // Resume: drop the first `skip` samples of this chunk's emission order.
        var remaining = skip
        var result: [LoadedBatch] = []
        var emitted = range.lowerBound
        for var b in batches {
            if remaining >= b.count { remaining -= b.count; emitted += b.count; continue }
            if remaining > 0 { b.removeFirst(remaining); emitted += remaining; remaining = 0 }
            emitted += b.count
            result.append(collate(b, nextIndex: emitted))
        }
        return result
    }

    private func collate(_ samples: [LoadedSample], nextIndex: Int) -> LoadedBatch {
        guard let pre = options.preprocessing else {
            return LoadedBatch(samples: samples, pixels: [], shape: [], widths: samples.map(\.image.width), nextIndex: nextIndex)
        }
        let maxWidth = samples.map(\.image.width).max() ?? 0
        let per = 3 * pre.height * maxWidth
        var pixels = [Float](repeating: 0, count: per * samples.count)
        pixels.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            DispatchQueue.concurrentPerform(iterations: samples.count) { i in
                samples[i].image.normalize(into: base + i * per, mean: pre.mean, std: pre.std, layout: pre.layout, paddedWidth: maxWidth)
            }
        }
        let shape = pre.layout == .chw ? [samples.count, 3, pre.height, maxWidth] : [samples.count, pre.height, maxWidth, 3]
        return LoadedBatch(samples: samples, pixels: pixels, shape: shape, widths: samples.map(\.image.width), nextIndex: nextIndex)
    }
}
