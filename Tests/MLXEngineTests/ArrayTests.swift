// Array creation, dtypes, copying out, operators, errors, compile, memory and runtime.

import MLXEngine
import XCTest

final class ArrayTests: XCTestCase {
    func testRoundTripOfSwiftValuesAcrossDTypes() {
        XCTAssertEqual(MLXArray([1, 2, 3, 4] as [Float], [2, 2]).asArray(Float.self), [1, 2, 3, 4])
        XCTAssertEqual(MLXArray([Int32(-7), 9], [2]).asArray(Int32.self), [-7, 9])
        XCTAssertEqual(MLXArray([UInt8(255), 0]).asArray(UInt8.self), [255, 0])
        XCTAssertEqual(MLXArray([Int64.max]).asArray(Int64.self), [Int64.max])
        XCTAssertEqual(MLXArray([true, false]).asArray(Bool.self), [true, false])
        XCTAssertEqual(MLXArray([0.1, 0.2] as [Double]).dtype, .float64)
        let bf = MLXArray([1.5, -2.25] as [Float]).asType(.bfloat16)
        XCTAssertEqual(bf.dtype, .bfloat16)
        XCTAssertEqual(bf.nbytes, 4)
        XCTAssertEqual(bf.asArray(Float.self), [1.5, -2.25])
        XCTAssertEqual(MLXArray([1, 2] as [Float]).asType(.float16).bytes(), [0x00, 0x3C, 0x00, 0x40])
    }

    func testShapesAndArithmetic() {
        let a = MLXArray([1, 2, 3, 4, 5, 6] as [Float], [2, 3])
        XCTAssertEqual(a.shape, [2, 3])
        XCTAssertEqual(a.ndim, 2)
        XCTAssertEqual(a.size, 6)
        XCTAssertEqual((a * 2 + 1).asArray(Float.self), [3, 5, 7, 9, 11, 13])
        XCTAssertEqual(a.T.asArray(Float.self), [1, 4, 2, 5, 3, 6])
        XCTAssertEqual(a.sum(axis: 1).asArray(Float.self), [6, 15])
        XCTAssertEqual(matmul(a, a.T).asArray(Float.self), [14, 32, 32, 77])
        XCTAssertEqual(a.argMax(axis: 1).asArray(Int32.self), [2, 2])
        XCTAssertEqual((a .> 3.5).asArray(Bool.self), [false, false, false, true, true, true])
        XCTAssertEqual(a.sliced(axis: 1, from: -2).asArray(Float.self), [2, 3, 5, 6])
        XCTAssertEqual(a.split(parts: 3, axis: 1).map { $0.shape }, [[2, 1], [2, 1], [2, 1]])
        XCTAssertEqual(arange(5).asArray(Int32.self), [0, 1, 2, 3, 4])
        XCTAssertEqual(MLXArray([3, 1, 2] as [Float]).sorted().asArray(Float.self), [1, 2, 3])
        // Scalars keep a half-precision array's dtype.
        XCTAssertEqual((a.asType(.bfloat16) * 0.5).dtype, .bfloat16)
    }

    func testEngineErrorsBecomeSwiftErrorsInsideAScope() {
        let a = MLXArray([1, 2, 3] as [Float])
        let b = MLXArray([1, 2] as [Float])
        XCTAssertThrowsError(try withEngineErrors { (a + b).eval() }) { error in
            let e = error as? EngineError
            XCTAssertEqual(e?.operation, "add")
            XCTAssertTrue(e?.message.contains("broadcast") ?? false, "\(error)")
        }
        XCTAssertThrowsError(try withEngineErrors { _ = a.reshaped(2, 2) })
    }

    func testErrorsThrownInsideAClosurePropagateThroughTransforms() {
        struct Boom: Error {}
        XCTAssertThrowsError(try valueAndGrad({ _ in throw Boom() }, [MLXArray(Float(1))])) { error in
            XCTAssertTrue("\(error)".contains("Boom"), "\(error)")
        }
    }

    func testValueAndGradOfQuadratic() throws {
        // f(x) = sum(x^2 * c) ⇒ df/dx = 2 c x
        let x = MLXArray([1, -2, 3] as [Float])
        let c = MLXArray([0.5, 1, 2] as [Float])
        let (values, grads) = try valueAndGrad({ [($0[0].square() * c).sum()] }, [x])
        XCTAssertEqual(values[0].item(Float.self), 0.5 + 4 + 18)
        XCTAssertEqual(grads[0].asArray(Float.self), [1, -4, 12])
    }

    func testCompiledFunctionMatchesEager() throws {
        let f: ArrayFunction.Body = { [sigmoid($0[0] * $0[1]) + $0[0].square()] }
        let compiled = try compile(f)
        let x = randn([4, 8], seed: 40)
        let y = randn([4, 8], seed: 41)
        let eager = try f([x, y])[0].asArray(Float.self)
        let fast = try compiled([x, y])[0].asArray(Float.self)
        for (e, c) in zip(eager, fast) { XCTAssertEqual(e, c, accuracy: 1e-6) }
    }

    func testRandomKeysAreReproducible() {
        let a = MLXRandom.normal([5], key: MLXRandom.key(7)).asArray(Float.self)
        let b = MLXRandom.normal([5], key: MLXRandom.key(7)).asArray(Float.self)
        let c = MLXRandom.normal([5], key: MLXRandom.key(8)).asArray(Float.self)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
        let keys = MLXRandom.split(MLXRandom.key(7), count: 3)
        XCTAssertEqual(keys.count, 3)
        XCTAssertNotEqual(keys[0].asArray(UInt32.self), keys[1].asArray(UInt32.self))
        let perm = MLXRandom.permutation(10, key: MLXRandom.key(1)).asArray(Int32.self)
        XCTAssertEqual(perm.sorted(), Array(0 ..< 10))
    }

    func testQuantizeDequantizeIsClose() throws {
        let w = randn([16, 64], seed: 42)
        for bits in [4, 8] {
            let q = try quantized(w, groupSize: 32, bits: bits)
            let back = dequantized(q)
            let err = abs(back - w).max().item(Float.self)
            XCTAssertLessThan(err, bits == 8 ? 0.03 : 0.5, "bits \(bits)")
            let x = randn([3, 64], seed: 43)
            let diff = abs(quantizedMatmul(x, q) - matmul(x, back.T)).max().item(Float.self)
            XCTAssertLessThan(diff, 1e-3, "bits \(bits)")
        }
    }

    func testMemoryStatisticsTrackAllocations() throws {
        Memory.resetPeak()
        let big = zeros([1024, 1024])
        try eval(big)
        XCTAssertGreaterThanOrEqual(Memory.peakBytes, 4 * 1024 * 1024)
        XCTAssertGreaterThan(Memory.activeBytes, 0)
    }

    /// Freed buffers stay in the cache up to its limit: a 16 MB buffer is kept under a 64 MB
    /// limit and let go under a 1 MB one; the training limit lies within 256 MB … 2 GB.
    func testCacheLimitDecidesWhatFreedBuffersKeep() throws {
        let original = Memory.setCacheLimit(64 << 20)
        defer { Memory.setCacheLimit(original) }
        XCTAssertEqual(Memory.setCacheLimit(64 << 20), 64 << 20)
        Memory.clearCache()
        do {
            let big = zeros([4096, 1024])
            try eval(big)
        }
        XCTAssertGreaterThanOrEqual(Memory.cacheBytes, 16 << 20)
        Memory.clearCache()
        Memory.setCacheLimit(1 << 20)
        do {
            let big = zeros([4096, 1024])
            try eval(big)
        }
        XCTAssertLessThan(Memory.cacheBytes, 16 << 20)
        XCTAssertTrue((256 << 20 ... 2 << 30).contains(Memory.trainingCacheLimit))
    }

    func testRuntimeReportsVersionAndDevices() throws {
        XCTAssertEqual(Engine.version, "0.32.4")
        XCTAssertTrue(Device.cpu.isAvailable)
        XCTAssertEqual(Device.defaultDevice, .cpu)
        if !Device.gpu.isAvailable {
            XCTAssertThrowsError(try Device.setDefault(.gpu)) { error in
                XCTAssertTrue("\(error)".contains("no gpu backend"), "\(error)")
            }
        }
    }
}
