// Data-parallel communication through the engine's distributed layer (mlx/distributed: the ring
// backend over TCP in every Linux build, MPI and NCCL where present), bound in shim_distributed.cpp.
// Reference: mlx/distributed/distributed.h and ops.h (MLX 0.32), and mlx.launch's environment
// (MLX_RANK, MLX_HOSTFILE: a JSON list with one list of "ip:port" strings per rank).

import CMLXShim
import Foundation

// MARK: - Errors

/// Why a distributed group could not be formed or used.
public enum DistributedError: Error, CustomStringConvertible, Equatable {
    /// This build of the engine has no such backend.
    case backendUnavailable(String)
    /// The backend was found but could not connect the ranks (bad hostfile, unreachable peer, ...).
    case initializationFailed(backend: String, message: String)
    /// A collective failed, usually because a peer died or its connection dropped.
    case communicationFailed(operation: String, message: String)

    public var description: String {
        switch self {
        case .backendUnavailable(let b):
            return "distributed backend '\(b)' is not available in this build of MLX (ring is; mpi needs libmpi, nccl a CUDA build)"
        case .initializationFailed(let b, let m):
            return "could not start the '\(b)' distributed backend: \(m) (check MLX_RANK and MLX_HOSTFILE, or start the ranks with `ocrtune launch`)"
        case .communicationFailed(let op, let m):
            return "\(op) failed: \(m) (another rank probably stopped)"
        }
    }
}

// MARK: - Backend

/// The engine's communication backends; `any` takes the first that initializes.
public enum DistributedBackend: String, CaseIterable, Sendable, Codable {
    case any, ring, mpi, nccl, jaccl

    /// Whether this build of the engine has the backend.
    public var isAvailable: Bool {
        var out = false
        return cmlx_distributed_is_available(rawValue, &out) == 0 && out
    }
}

// MARK: - Group

/// The processes of a run that communicate (rank 0 ..< size). Collectives are lazy ops like any
/// other: the communication happens when their result is evaluated, and a failure then surfaces
/// as an ``EngineError`` from `eval` (see ``DistributedGroup/evaluate(_:)`` for a typed one).
public final class DistributedGroup: @unchecked Sendable {
    let handle: OpaquePointer
    public let rank: Int
    public let size: Int

    init(handle: OpaquePointer) {
        self.handle = handle
        var r: Int32 = 0, s: Int32 = 1
        _ = cmlx_group_rank(handle, &r)
        _ = cmlx_group_size(handle, &s)
        rank = Int(r)
        size = Int(s)
    }

    deinit { cmlx_group_free(handle) }

    /// Joins the run's group. `strict` fails when no backend initializes; otherwise a process
    /// started alone gets a one-process group on which every collective is the identity.
    public static func initialize(backend: DistributedBackend = .any, strict: Bool = false) throws -> DistributedGroup {
        if strict, backend != .any, !backend.isAvailable { throw DistributedError.backendUnavailable(backend.rawValue) }
        var out: OpaquePointer?
        guard cmlx_distributed_init(&out, strict, backend.rawValue) == 0, let out else {
            throw DistributedError.initializationFailed(backend: backend.rawValue, message: lastEngineMessage())
        }
        return DistributedGroup(handle: out)
    }

    /// The group of a process started by a distributed launcher (`ocrtune launch`, `mlx.launch`,
    /// mpirun): one is when `MLX_RANK` (ring, NCCL, JACCL) or `OMPI_COMM_WORLD_SIZE` (MPI) is set;
    /// nil otherwise. The backend is `OCRTUNE_DISTRIBUTED_BACKEND` (default: any). Strict: a
    /// launched process that cannot join its peers fails instead of training alone.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> DistributedGroup? {
        guard environment["MLX_RANK"] != nil || environment["OMPI_COMM_WORLD_SIZE"] != nil else { return nil }
        let name = environment["OCRTUNE_DISTRIBUTED_BACKEND"] ?? "any"
        guard let backend = DistributedBackend(rawValue: name) else {
            throw DistributedError.initializationFailed(
                backend: name, message: "unknown backend (OCRTUNE_DISTRIBUTED_BACKEND: one of \(DistributedBackend.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        return try initialize(backend: backend, strict: true)
    }

    /// The processes with the same `color`, ordered by `key` (the current rank when negative).
    public func split(color: Int, key: Int = -1) throws -> DistributedGroup {
        var out: OpaquePointer?
        guard cmlx_group_split(&out, handle, Int32(color), Int32(key)) == 0, let out else {
            throw DistributedError.initializationFailed(backend: "split", message: lastEngineMessage())
        }
        return DistributedGroup(handle: out)
    }

    // MARK: Collectives

    /// The element-wise sum of `x` over all ranks.
    public func allSum(_ x: MLXArray) -> MLXArray { call("all_sum") { cmlx_all_sum($0, x.handle, handle) } }
    public func allMax(_ x: MLXArray) -> MLXArray { call("all_max") { cmlx_all_max($0, x.handle, handle) } }
    public func allMin(_ x: MLXArray) -> MLXArray { call("all_min") { cmlx_all_min($0, x.handle, handle) } }
    /// Every rank's `x` concatenated along axis 0 in rank order.
    public func allGather(_ x: MLXArray) -> MLXArray { call("all_gather") { cmlx_all_gather($0, x.handle, handle) } }

    /// Sends `x` to rank `destination` (evaluate the result to send).
    public func send(_ x: MLXArray, to destination: Int) -> MLXArray {
        call("send") { out in cmlx_send(out, x.handle, Int32(destination), handle) }
    }

    /// Receives an array of `shape` and `dtype` from rank `source`.
    public func receive(shape: [Int], dtype: DType, from source: Int) -> MLXArray {
        call("recv") { out in withInts(shape) { cmlx_recv(out, $0, $1, dtype.cValue, Int32(source), handle) } }
    }

    /// Evaluates collectives' results, turning a failed exchange into ``DistributedError``.
    public func evaluate(_ arrays: [MLXArray], operation: String = "all_sum") throws {
        do {
            try withEngineErrors { try eval(arrays) }
        } catch let error as EngineError {
            throw DistributedError.communicationFailed(operation: operation, message: error.message)
        }
    }

    // MARK: Packed sums

    /// Sums `arrays` over all ranks with few large collectives: the arrays are flattened into
    /// float32 buffers of at most `bucketElements` elements (an array larger than that gets its
    /// own buffer), each summed once, and split back into the original shapes and dtypes.
    /// Evaluated before returning; a failed exchange throws ``DistributedError``.
    public func allSum(packed arrays: [MLXArray], bucketElements: Int = 1 << 24) throws -> [MLXArray] {
        if arrays.isEmpty { return [] }
        var buckets: [[Int]] = [[]]
        var filled = 0
        for (i, a) in arrays.enumerated() {
            if filled > 0, filled + a.size > bucketElements {
                buckets.append([])
                filled = 0
            }
            buckets[buckets.count - 1].append(i)
            filled += a.size
        }
        var results = [MLXArray?](repeating: nil, count: arrays.count)
        for bucket in buckets {
            let flat = bucket.map { arrays[$0].asType(.float32).reshaped([-1]) }
            let summed = allSum(flat.count == 1 ? flat[0] : concatenated(flat))
            var offsets: [Int] = []
            var o = 0
            for i in bucket.dropLast() {
                o += arrays[i].size
                offsets.append(o)
            }
            let parts = offsets.isEmpty ? [summed] : summed.split(indices: offsets)
            for (i, part) in zip(bucket, parts) {
                results[i] = part.reshaped(arrays[i].shape).asType(arrays[i].dtype)
            }
        }
        let out = results.map { $0! }
        try evaluate(out)
        return out
    }
}
