// Failures reported by the engine, and the scope that turns them into Swift errors.

import CMLXShim
import Foundation

// MARK: - Error

/// A failure inside the MLX engine (invalid shapes, dtypes, unavailable device, ...).
public struct EngineError: Error, CustomStringConvertible, Equatable {
    /// The operation that failed.
    public let operation: String
    /// The engine's message.
    public let message: String

    public init(operation: String, message: String) {
        self.operation = operation
        self.message = message
    }

    public var description: String { "\(operation): \(message)" }
}

// MARK: - Error scope

/// Ops return arrays rather than throwing, as in mlx-swift. A failing op inside
/// ``withEngineErrors(_:)`` records its error (the first one wins) and returns a
/// placeholder; the scope then throws it. Outside any scope a failure is a programming
/// error and traps with the engine's message.
final class EngineErrorScope {
    var first: EngineError?

    private static let key = "ocrtune.engine.error-scopes"

    static var stack: [EngineErrorScope] {
        get { Thread.current.threadDictionary[key] as? [EngineErrorScope] ?? [] }
        set { Thread.current.threadDictionary[key] = newValue }
    }
}

/// Runs `body`, turning engine failures of the ops it calls into a thrown ``EngineError``.
public func withEngineErrors<R>(_ body: () throws -> R) throws -> R {
    let scope = EngineErrorScope()
    EngineErrorScope.stack.append(scope)
    defer { EngineErrorScope.stack.removeLast() }
    let result = try body()
    if let error = scope.first { throw error }
    return result
}

/// The shim's message for the last failure on this thread.
func lastEngineMessage() -> String {
    String(cString: cmlx_last_error())
}

/// Records (inside a scope) or traps (outside) for a failed op.
func reportFailure(_ operation: String) {
    let error = EngineError(operation: operation, message: lastEngineMessage())
    if let scope = EngineErrorScope.stack.last {
        if scope.first == nil { scope.first = error }
    } else {
        fatalError("MLX engine error in \(error)")
    }
}

/// Throws for a non-zero shim status (used by calls that are `throws` by nature).
@inline(__always)
func check(_ status: Int32, _ operation: @autoclosure () -> String) throws {
    if status != 0 { throw EngineError(operation: operation(), message: lastEngineMessage()) }
}
