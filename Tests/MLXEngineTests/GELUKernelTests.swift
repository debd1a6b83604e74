// exactGELU: the vectorized kernel in float32 on the CPU against GELU in Swift's Double, its
// gradient against Φ(v) + v·φ(v), and other dtypes through MLX's composition.

import Foundation
import MLXEngine
import XCTest

final class GELUKernelTests: XCTestCase {
    private let x = randn([3, 517], seed: 41) * 4

    private func reference(_ v: Double) -> Double { 0.5 * v * (1 + erf(v / 2.0.squareRoot())) }

    func testMatchesTheExactFormInDouble() throws {
        let got = exactGELU(x).asArray(Float.self)
        let error = zip(got, x.asArray(Float.self)).map { Swift.abs(Double($0) - reference(Double($1))) }.max()!
        XCTAssertLessThan(error, 2e-6)
        XCTAssertEqual(exactGELU(x).shape, [3, 517])
    }

    func testGradientIsCdfPlusDensity() throws {
        let g = try grad({ exactGELU($0).sum() }, at: x)
        for (d, v) in zip(g.asArray(Float.self), x.asArray(Float.self)) {
            let v = Double(v)
            let want = 0.5 * (1 + erf(v / 2.0.squareRoot())) + v * Foundation.exp(-v * v / 2) / (2 * Double.pi).squareRoot()
            XCTAssertEqual(Double(d), want, accuracy: 2e-6)
        }
    }

    func testOtherDtypesKeepTheirDtype() throws {
        let half = exactGELU(x.asType(.float16))
        XCTAssertEqual(half.dtype, .float16)
        let error = abs(half.asType(.float32) - exactGELU(x)).max().item(Float.self)
        XCTAssertLessThan(error, 0.02)
    }
}
