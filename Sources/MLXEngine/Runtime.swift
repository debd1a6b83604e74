// Engine version, BLAS, devices and memory statistics.

import CMLXKernels
import CMLXShim
import Foundation

// MARK: - Engine

public enum Engine {
    /// The MLX library version (e.g. "0.32.4").
    public static var version: String { String(cString: cmlx_version()) }

    /// The BLAS libmlx resolved at run time ("OpenBLAS …" when it is OpenBLAS).
    public static var blas: String {
        var buffer = [CChar](repeating: 0, count: 1024)
        _ = cmlx_blas_info(&buffer, buffer.count)
        return String(cString: buffer)
    }

    public static var usesOpenBLAS: Bool { blas.hasPrefix("OpenBLAS") }

    /// Waits for all scheduled work.
    public static func synchronize() throws { try check(cmlx_synchronize(), "synchronize") }
}

// MARK: - Device

public enum Device: String, Sendable, CaseIterable, CustomStringConvertible {
    case cpu, gpu

    var code: Int32 { self == .cpu ? 0 : 1 }

    /// Whether the installed MLX build can run on this device.
    public var isAvailable: Bool {
        var available = false
        return cmlx_device_available(code, &available) == 0 && available
    }

    /// The device new arrays and ops run on.
    public static var defaultDevice: Device {
        var code: Int32 = 0
        _ = cmlx_default_device(&code)
        return code == 1 ? .gpu : .cpu
    }

    /// Makes `device` the default, with a clear error when this MLX build lacks it.
    public static func setDefault(_ device: Device) throws {
        guard device.isAvailable else {
            throw EngineError(
                operation: "set device",
                message: "the installed MLX build has no \(device) backend "
                    + "(install mlx-cuda-13 on NVIDIA Linux, or use macOS for Metal)")
        }
        try check(cmlx_set_default_device(device.code), "set device")
    }

    public var description: String { rawValue }
}

// MARK: - Threads

/// The CPU threads the engine computes with: OpenBLAS's (MLX's matmuls) and those of ocrtune's
/// own kernels (one per core, kept in a pool).
public enum Threads {
    /// ocrtune's kernel threads, the calling thread included.
    public static var kernels: Int {
        var v: Int32 = 0
        _ = cmlx_kernel_threads(&v)
        return Int(v)
    }

    /// OpenBLAS's thread count; nil when the BLAS is not OpenBLAS.
    public static var blas: Int? {
        var v: Int32 = 0
        _ = cmlx_blas_threads(&v)
        return v > 0 ? Int(v) : nil
    }

    /// Sets OpenBLAS's thread count.
    public static func setBLAS(_ threads: Int) throws {
        try check(cmlx_set_blas_threads(Int32(threads)), "set_blas_threads")
    }

    /// Makes OpenBLAS's idle workers sleep soon after each multi-threaded call: they spin for about
    /// 2^`log2Cycles` cycles (OpenBLAS's `OPENBLAS_THREAD_TIMEOUT`; its default, 28, is ~0.1 s)
    /// instead of 2^28. While they spin they hold a core in `sched_yield`, which costs nothing when
    /// the process is alone on the machine but takes the core from everything else that runs beside
    /// the BLAS: a server's request handling, its clients on the same host (measured with `serve`
    /// and a tiny Qwen-VL on 2 cores). Call before any BLAS work runs (the workers are restarted).
    /// Returns false where the BLAS is not OpenBLAS or does not export what this needs.
    @discardableResult
    public static func setBLASIdleSpin(log2Cycles: Int) throws -> Bool {
        var applied: Int32 = 0
        try check(cmlx_set_blas_idle_spin(Int32(log2Cycles), &applied), "set_blas_idle_spin")
        return applied != 0
    }

    /// Runs `body` with OpenBLAS single-threaded, then restores its thread count (no-op when the
    /// BLAS is not OpenBLAS). For inference whose large matmuls are ocrtune's fused kernels
    /// (``matmulAffineActivation(_:_:bias:preScale:preBias:activation:postScale:postBias:)``):
    /// those then split their rows over the kernel threads, and OpenBLAS's worker, which spins
    /// for a while after each threaded call, no longer competes with them for the cores.
    /// Evaluate inside `body`: the setting applies when the graph runs. Not for concurrent use.
    /// With `condition` false, `body` runs with OpenBLAS as it is.
    public static func withSingleThreadedBLAS<T>(if condition: Bool = true, _ body: () throws -> T) rethrows -> T {
        guard condition, let previous = blas, previous != 1 else { return try body() }
        try? setBLAS(1)
        defer { try? setBLAS(previous) }
        return try body()
    }
}

// MARK: - Memory

public enum Memory {
    /// Bytes currently held by live arrays.
    public static var activeBytes: Int { read(cmlx_memory_active) }
    /// Highest `activeBytes` since start or the last ``resetPeak()``.
    public static var peakBytes: Int { read(cmlx_memory_peak) }
    /// Bytes kept by the allocator's cache for reuse.
    public static var cacheBytes: Int { read(cmlx_memory_cache) }

    public static func resetPeak() { _ = cmlx_memory_reset_peak() }
    public static func clearCache() { _ = cmlx_memory_clear_cache() }

    /// Sets the engine's memory limit; returns the previous one.
    @discardableResult
    public static func setLimit(_ bytes: Int) -> Int {
        var previous = 0
        _ = cmlx_memory_set_limit(bytes, &previous)
        return previous
    }

    /// Sets how many bytes of freed buffers the allocator keeps for reuse (MLX's CPU allocator
    /// keeps 32 MB by default: past that a freed buffer goes back to the C library, and the next
    /// one of its size is fresh memory that the kernel zeroes page by page); returns the previous.
    @discardableResult
    public static func setCacheLimit(_ bytes: Int) -> Int {
        var previous = 0
        _ = cmlx_memory_set_cache_limit(bytes, &previous)
        return previous
    }

    /// The cache a training run keeps: a sixteenth of the machine's memory, within 256 MB … 2 GB
    /// (what the process holds beyond its live arrays at most; PP-OCRv6 full fine-tuning used 0.4 GB).
    /// A step frees and then allocates the same large buffers again; past the default 32 MB they
    /// would come back as fresh pages (a PP-OCRv6 full fine-tuning step spent about a fifth of its
    /// CPU time in page faults and the kernel zeroing pages).
    public static var trainingCacheLimit: Int {
        min(max(Int(clamping: ProcessInfo.processInfo.physicalMemory / 16), 256 << 20), 2 << 30)
    }

    /// Sets ``trainingCacheLimit`` (the trainer does at its start).
    public static func useTrainingCache() { setCacheLimit(trainingCacheLimit) }

    private static func read(_ f: (UnsafeMutablePointer<Int>?) -> Int32) -> Int {
        var v = 0
        _ = f(&v)
        return v
    }
}
