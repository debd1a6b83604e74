// Elementwise operations, operators and type conversion.

import CMLXKernels
import CMLXShim

// MARK: - Unary

@inline(__always)
func unary(_ a: MLXArray, _ op: cmlx_unary_op, _ name: String) -> MLXArray {
    call(name) { cmlx_unary($0, a.handle, op) }
}

public func abs(_ a: MLXArray) -> MLXArray { unary(a, CMLX_ABS, "abs") }
public func exp(_ a: MLXArray) -> MLXArray { unary(a, CMLX_EXP, "exp") }
public func expm1(_ a: MLXArray) -> MLXArray { unary(a, CMLX_EXPM1, "expm1") }
public func log(_ a: MLXArray) -> MLXArray { unary(a, CMLX_LOG, "log") }
public func log1p(_ a: MLXArray) -> MLXArray { unary(a, CMLX_LOG1P, "log1p") }
public func sqrt(_ a: MLXArray) -> MLXArray { unary(a, CMLX_SQRT, "sqrt") }
public func rsqrt(_ a: MLXArray) -> MLXArray { unary(a, CMLX_RSQRT, "rsqrt") }
public func sin(_ a: MLXArray) -> MLXArray { unary(a, CMLX_SIN, "sin") }
public func cos(_ a: MLXArray) -> MLXArray { unary(a, CMLX_COS, "cos") }
public func tanh(_ a: MLXArray) -> MLXArray { unary(a, CMLX_TANH, "tanh") }
/// The logistic sigmoid (float32 on the CPU: ocrtune's vectorized kernel).
public func sigmoid(_ a: MLXArray) -> MLXArray { call("sigmoid") { cmlx_kernel_sigmoid($0, a.handle) } }
public func erf(_ a: MLXArray) -> MLXArray { unary(a, CMLX_ERF, "erf") }
public func erfInverse(_ a: MLXArray) -> MLXArray { unary(a, CMLX_ERFINV, "erfinv") }
public func sign(_ a: MLXArray) -> MLXArray { unary(a, CMLX_SIGN, "sign") }
public func floor(_ a: MLXArray) -> MLXArray { unary(a, CMLX_FLOOR, "floor") }
public func ceil(_ a: MLXArray) -> MLXArray { unary(a, CMLX_CEIL, "ceil") }
public func round(_ a: MLXArray) -> MLXArray { unary(a, CMLX_ROUND, "round") }
public func square(_ a: MLXArray) -> MLXArray { unary(a, CMLX_SQUARE, "square") }
public func reciprocal(_ a: MLXArray) -> MLXArray { unary(a, CMLX_RECIPROCAL, "reciprocal") }
public func logicalNot(_ a: MLXArray) -> MLXArray { unary(a, CMLX_LOGICAL_NOT, "logical_not") }
/// The identity whose gradient is zero.
public func stopGradient(_ a: MLXArray) -> MLXArray { unary(a, CMLX_STOP_GRADIENT, "stop_gradient") }
public func isNaN(_ a: MLXArray) -> MLXArray { unary(a, CMLX_ISNAN, "isnan") }
public func isInf(_ a: MLXArray) -> MLXArray { unary(a, CMLX_ISINF, "isinf") }
/// A row-major contiguous copy.
public func contiguous(_ a: MLXArray) -> MLXArray { unary(a, CMLX_CONTIGUOUS, "contiguous") }

// MARK: - Binary

@inline(__always)
func binary(_ a: MLXArray, _ b: MLXArray, _ op: cmlx_binary_op, _ name: String) -> MLXArray {
    call(name) { cmlx_binary($0, a.handle, b.handle, op) }
}

public func add(_ a: MLXArray, _ b: MLXArray) -> MLXArray { binary(a, b, CMLX_ADD, "add") }
public func subtract(_ a: MLXArray, _ b: MLXArray) -> MLXArray { binary(a, b, CMLX_SUBTRACT, "subtract") }
public func multiply(_ a: MLXArray, _ b: MLXArray) -> MLXArray { binary(a, b, CMLX_MULTIPLY, "multiply") }
public func divide(_ a: MLXArray, _ b: MLXArray) -> MLXArray { binary(a, b, CMLX_DIVIDE, "divide") }
public func pow(_ a: MLXArray, _ b: MLXArray) -> MLXArray { binary(a, b, CMLX_POWER, "power") }
public func maximum(_ a: MLXArray, _ b: MLXArray) -> MLXArray { binary(a, b, CMLX_MAXIMUM, "maximum") }
public func minimum(_ a: MLXArray, _ b: MLXArray) -> MLXArray { binary(a, b, CMLX_MINIMUM, "minimum") }
public func matmul(_ a: MLXArray, _ b: MLXArray) -> MLXArray { binary(a, b, CMLX_MATMUL, "matmul") }
public func floorDivide(_ a: MLXArray, _ b: MLXArray) -> MLXArray { binary(a, b, CMLX_FLOOR_DIVIDE, "floor_divide") }
public func remainder(_ a: MLXArray, _ b: MLXArray) -> MLXArray { binary(a, b, CMLX_REMAINDER, "remainder") }
public func logAddExp(_ a: MLXArray, _ b: MLXArray) -> MLXArray { binary(a, b, CMLX_LOGADDEXP, "logaddexp") }
public func arctan2(_ a: MLXArray, _ b: MLXArray) -> MLXArray { binary(a, b, CMLX_ARCTAN2, "arctan2") }
public func logicalAnd(_ a: MLXArray, _ b: MLXArray) -> MLXArray { binary(a, b, CMLX_LOGICAL_AND, "logical_and") }
public func logicalOr(_ a: MLXArray, _ b: MLXArray) -> MLXArray { binary(a, b, CMLX_LOGICAL_OR, "logical_or") }

/// `c * beta + (a @ b) * alpha` in one kernel.
public func addMM(_ c: MLXArray, _ a: MLXArray, _ b: MLXArray, alpha: Float = 1, beta: Float = 1) -> MLXArray {
    call("addmm") { cmlx_addmm($0, c.handle, a.handle, b.handle, alpha, beta) }
}

/// Elements of `a` where `condition` holds, else of `b`.
public func which(_ condition: MLXArray, _ a: MLXArray, _ b: MLXArray) -> MLXArray {
    call("where") { cmlx_where($0, condition.handle, a.handle, b.handle) }
}

public func clip(_ a: MLXArray, min lo: MLXArray? = nil, max hi: MLXArray? = nil) -> MLXArray {
    call("clip") { cmlx_clip($0, a.handle, lo?.handle, hi?.handle) }
}

// MARK: - Scalars

extension MLXArray {
    /// A scalar that combines with `self` without promoting it: floating arrays keep
    /// their dtype (as Python scalars do in MLX), integer arrays keep theirs for whole values.
    public func scalar(_ value: Double) -> MLXArray {
        let d = dtype
        if d.isFloatingPoint || (d.isInteger && value.rounded() == value) {
            return MLXArray(value, dtype: d)
        }
        return MLXArray(value, dtype: .float32)
    }
}

// MARK: - Operators

extension MLXArray {
    public static func + (a: MLXArray, b: MLXArray) -> MLXArray { add(a, b) }
    public static func - (a: MLXArray, b: MLXArray) -> MLXArray { subtract(a, b) }
    public static func * (a: MLXArray, b: MLXArray) -> MLXArray { multiply(a, b) }
    public static func / (a: MLXArray, b: MLXArray) -> MLXArray { divide(a, b) }
    public static prefix func - (a: MLXArray) -> MLXArray { unary(a, CMLX_NEGATIVE, "negative") }

    public static func + (a: MLXArray, b: Double) -> MLXArray { add(a, a.scalar(b)) }
    public static func - (a: MLXArray, b: Double) -> MLXArray { subtract(a, a.scalar(b)) }
    public static func * (a: MLXArray, b: Double) -> MLXArray { multiply(a, a.scalar(b)) }
    public static func / (a: MLXArray, b: Double) -> MLXArray { divide(a, a.scalar(b)) }
    public static func + (a: Double, b: MLXArray) -> MLXArray { add(b.scalar(a), b) }
    public static func - (a: Double, b: MLXArray) -> MLXArray { subtract(b.scalar(a), b) }
    public static func * (a: Double, b: MLXArray) -> MLXArray { multiply(b.scalar(a), b) }
    public static func / (a: Double, b: MLXArray) -> MLXArray { divide(b.scalar(a), b) }

    public static func .== (a: MLXArray, b: MLXArray) -> MLXArray { binary(a, b, CMLX_EQUAL, "equal") }
    public static func .!= (a: MLXArray, b: MLXArray) -> MLXArray { binary(a, b, CMLX_NOT_EQUAL, "not_equal") }
    public static func .< (a: MLXArray, b: MLXArray) -> MLXArray { binary(a, b, CMLX_LESS, "less") }
    public static func .<= (a: MLXArray, b: MLXArray) -> MLXArray { binary(a, b, CMLX_LESS_EQUAL, "less_equal") }
    public static func .> (a: MLXArray, b: MLXArray) -> MLXArray { binary(a, b, CMLX_GREATER, "greater") }
    public static func .>= (a: MLXArray, b: MLXArray) -> MLXArray { binary(a, b, CMLX_GREATER_EQUAL, "greater_equal") }
    public static func .== (a: MLXArray, b: Double) -> MLXArray { a .== a.scalar(b) }
    public static func .!= (a: MLXArray, b: Double) -> MLXArray { a .!= a.scalar(b) }
    public static func .< (a: MLXArray, b: Double) -> MLXArray { a .< a.scalar(b) }
    public static func .<= (a: MLXArray, b: Double) -> MLXArray { a .<= a.scalar(b) }
    public static func .> (a: MLXArray, b: Double) -> MLXArray { a .> a.scalar(b) }
    public static func .>= (a: MLXArray, b: Double) -> MLXArray { a .>= a.scalar(b) }
}

// MARK: - Methods

extension MLXArray {
    public func asType(_ dtype: DType) -> MLXArray {
        if dtype == self.dtype { return self }
        return call("astype") { cmlx_astype($0, handle, dtype.cValue) }
    }

    public func matmul(_ other: MLXArray) -> MLXArray { MLXEngine.matmul(self, other) }
    public func square() -> MLXArray { MLXEngine.square(self) }
    public func sqrt() -> MLXArray { MLXEngine.sqrt(self) }
    public func exp() -> MLXArray { MLXEngine.exp(self) }
    public func log() -> MLXArray { MLXEngine.log(self) }
    public func abs() -> MLXArray { MLXEngine.abs(self) }
    public func pow(_ exponent: Double) -> MLXArray { MLXEngine.pow(self, scalar(exponent)) }
}
