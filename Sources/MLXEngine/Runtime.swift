// Engine version, BLAS, devices and memory statistics.

import CMLXShim

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

    private static func read(_ f: (UnsafeMutablePointer<Int>?) -> Int32) -> Int {
        var v = 0
        _ = f(&v)
        return v
    }
}
