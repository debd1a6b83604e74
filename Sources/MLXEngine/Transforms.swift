// Evaluation and function transforms: value-and-grad, vjp, compile, checkpoint.

import CMLXShim

// MARK: - Evaluation

/// Computes all `arrays` (one graph evaluation).
public func eval(_ arrays: [MLXArray]) throws {
    try withVector(arrays) { try check(cmlx_eval($0), "eval") }
}

public func eval(_ arrays: MLXArray...) throws { try eval(arrays) }

/// Schedules evaluation and returns at once.
public func asyncEval(_ arrays: [MLXArray]) throws {
    try withVector(arrays) { try check(cmlx_async_eval($0), "async_eval") }
}

// MARK: - Closures

/// A function over arrays owned by the engine. Swift closures cross the C boundary as
/// function pointer + retained payload + destructor; errors thrown by the Swift body
/// become engine failures and are rethrown at the transform's call site.
public final class ArrayFunction {
    public typealias Body = ([MLXArray]) throws -> [MLXArray]

    let handle: OpaquePointer

    init(handle: OpaquePointer) {
        self.handle = handle
    }

    public convenience init(_ body: @escaping Body) {
        let box = Unmanaged.passRetained(ClosureBox(body)).toOpaque()
        var out: OpaquePointer?
        let status = cmlx_closure_new(&out, closureTrampoline, box, closureRelease)
        precondition(status == 0 && out != nil, "cmlx_closure_new failed: \(lastEngineMessage())")
        self.init(handle: out!)
    }

    deinit {
        cmlx_closure_free(handle)
    }

    public func callAsFunction(_ inputs: [MLXArray]) throws -> [MLXArray] {
        var out: OpaquePointer?
        try withVector(inputs) { try check(cmlx_closure_apply(&out, handle, $0), "apply") }
        defer { cmlx_vec_free(out) }
        return arrays(of: out!)
    }
}

final class ClosureBox {
    let body: ArrayFunction.Body
    init(_ body: @escaping ArrayFunction.Body) { self.body = body }
}

private let closureTrampoline: cmlx_closure_fn = { payload, inputs, outputs in
    let box = Unmanaged<ClosureBox>.fromOpaque(payload!).takeUnretainedValue()
    do {
        let results = try withEngineErrors { try box.body(arrays(of: inputs!)) }
        for r in results { _ = cmlx_vec_push(outputs, r.handle) }
        return 0
    } catch {
        cmlx_set_last_error("\(error)")
        return 1
    }
}

private let closureRelease: cmlx_payload_dtor = { payload in
    Unmanaged<ClosureBox>.fromOpaque(payload!).release()
}

// MARK: - Gradients

/// Evaluates `f(inputs)` and the gradient of its first output (a scalar) with respect to
/// the inputs at positions `argnums` (all inputs when nil).
public func valueAndGrad(
    _ f: @escaping ArrayFunction.Body, _ inputs: [MLXArray], argnums: [Int]? = nil
) throws -> (values: [MLXArray], gradients: [MLXArray]) {
    let function = ArrayFunction(f)
    var values: OpaquePointer?
    var grads: OpaquePointer?
    let nums = argnums ?? Array(0 ..< inputs.count)
    try withVector(inputs) { v in
        try withInts(nums) { ptr, n in
            try check(cmlx_value_and_grad(&values, &grads, function.handle, v, ptr, n), "value_and_grad")
        }
    }
    defer {
        cmlx_vec_free(values)
        cmlx_vec_free(grads)
    }
    return (arrays(of: values!), arrays(of: grads!))
}

/// Gradient of the scalar `f(x)` at `x`.
public func grad(_ f: @escaping (MLXArray) throws -> MLXArray, at x: MLXArray) throws -> MLXArray {
    try valueAndGrad({ [try f($0[0])] }, [x]).gradients[0]
}

/// Outputs of `f(primals)` and the vector–Jacobian products with `cotangents`.
public func vjp(
    _ f: @escaping ArrayFunction.Body, primals: [MLXArray], cotangents: [MLXArray]
) throws -> (outputs: [MLXArray], vjps: [MLXArray]) {
    let function = ArrayFunction(f)
    var outs: OpaquePointer?
    var vjps: OpaquePointer?
    try withVector(primals) { p in
        try withVector(cotangents) { c in try check(cmlx_vjp(&outs, &vjps, function.handle, p, c), "vjp") }
    }
    defer {
        cmlx_vec_free(outs)
        cmlx_vec_free(vjps)
    }
    return (arrays(of: outs!), arrays(of: vjps!))
}

// MARK: - Compile and checkpoint

/// A compiled version of `f`: the graph is traced once per input shape and fused.
/// `f` must depend only on its inputs (captured arrays are frozen as constants).
public func compile(_ f: @escaping ArrayFunction.Body, shapeless: Bool = false) throws -> ArrayFunction {
    let function = ArrayFunction(f)
    var out: OpaquePointer?
    try check(cmlx_compile(&out, function.handle, shapeless), "compile")
    return ArrayFunction(handle: out!)
}

/// `f` with gradient checkpointing: activations are recomputed in the backward pass.
public func checkpointed(_ f: @escaping ArrayFunction.Body) throws -> ArrayFunction {
    let function = ArrayFunction(f)
    var out: OpaquePointer?
    try check(cmlx_checkpoint(&out, function.handle), "checkpoint")
    return ArrayFunction(handle: out!)
}

/// `body(inputs)` under gradient checkpointing when `body` also reads live parameter arrays
/// (a layer's weights, possibly the tracers of an enclosing ``valueAndGrad(parameters:_:)``):
/// they become explicit inputs of the checkpointed function, so gradients reach them, and
/// `body` runs again in the backward pass instead of keeping its intermediate activations.
/// Like an op it does not throw: a failure is recorded in the enclosing ``withEngineErrors(_:)``
/// scope (and `body` runs plainly), or traps outside one.
public func checkpointedCall(
    _ inputs: [MLXArray], parameters: [MLXArray], _ body: @escaping ([MLXArray]) -> [MLXArray]
) -> [MLXArray] {
    let count = inputs.count
    do {
        let function = try checkpointed { arrays in
            let values = Array(arrays[count...])
            for (object, value) in zip(parameters, values) { object.swapHandle(with: value) }
            defer { for (object, value) in zip(parameters, values) { object.swapHandle(with: value) } }
            return body(Array(arrays[..<count]))
        }
        return try function(inputs + parameters)
    } catch {
        let failure = error as? EngineError ?? EngineError(operation: "checkpoint", message: "\(error)")
        guard let scope = EngineErrorScope.stack.last else { fatalError("MLX engine error in \(failure)") }
        if scope.first == nil { scope.first = failure }
        return body(inputs)
    }
}

// MARK: - Gradients over named parameters

/// Evaluates `loss()` and its gradient with respect to each array in `parameters`.
///
/// The parameter arrays are the live objects the computation reads (module weights): for
/// the duration of the call each one's handle is exchanged with the engine's tracer, so
/// `loss` needs no explicit inputs. Gradients come back under the same names.
public func valueAndGrad(
    parameters: [(name: String, array: MLXArray)], _ loss: @escaping () throws -> MLXArray
) throws -> (value: MLXArray, gradients: [String: MLXArray]) {
    let objects = parameters.map(\.array)
    let (values, grads) = try valueAndGrad(
        { tracers in
            for (object, tracer) in zip(objects, tracers) { object.swapHandle(with: tracer) }
            defer { for (object, tracer) in zip(objects, tracers) { object.swapHandle(with: tracer) } }
            return [try loss()]
        }, objects.map { MLXArray(handle: $0.retainedHandle()) })
    var named = [String: MLXArray](minimumCapacity: grads.count)
    for (p, g) in zip(parameters, grads) { named[p.name] = g }
    return (values[0], named)
}

extension MLXArray {
    /// A new engine handle to the same array.
    func retainedHandle() -> OpaquePointer {
        var copy: OpaquePointer?
        _ = cmlx_array_copy_handle(&copy, handle)
        return copy!
    }
}
