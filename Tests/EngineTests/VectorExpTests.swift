@testable import Engine
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The vectorised exp must equal the C library's `expf` bit for bit (glibc), so that using it
/// changes no number the engine computes.
final class VectorExpTests: XCTestCase {
    func testEqualsExpfOnADenseSampleOfAllFloats() {
        // Every 2053rd bit pattern (a prime stride: all exponents, many mantissas), both signs.
        var inputs: [Float] = []
        var bits: UInt32 = 0
        while true {
            inputs.append(Float(bitPattern: bits))
            let (next, overflow) = bits.addingReportingOverflow(2053)
            if overflow { break }
            bits = next
        }
        inputs += [0, -0, 88, -88, 87.99999, -87.99999, 88.72283, -103.97208, .infinity, -.infinity, .nan,
                   .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .greatestFiniteMagnitude]
        while inputs.count % 8 != 0 { inputs.append(1) }
        var mismatches = 0
        var first: Float?
        inputs.withUnsafeBufferPointer { x in
            for i in stride(from: 0, to: x.count, by: 8) {
                let v = VectorExp.exp(UnsafeRawPointer(x.baseAddress! + i).loadUnaligned(as: SIMD8<Float>.self))
                for l in 0..<8 {
                    let want = expf(x[i + l])
                    if v[l].bitPattern != want.bitPattern && !(v[l].isNaN && want.isNaN) {
                        mismatches += 1
                        if first == nil { first = x[i + l] }
                    }
                }
            }
        }
        XCTAssertEqual(mismatches, 0, "first mismatch at \(String(describing: first)) of \(inputs.count) inputs")
    }

    func testSwigluAndExpInPlaceMatchTheScalarForms() {
        let count = 37   // not a multiple of 8: the tails too
        let gate0 = (0..<count).map { Float($0 - 18) * 0.731 }
        let up = (0..<count).map { Float($0) * 0.1 - 1.3 }
        var gate = gate0
        gate.withUnsafeMutableBufferPointer { g in up.withUnsafeBufferPointer { VectorExp.swiglu(g.baseAddress!, $0.baseAddress!, into: g.baseAddress!, count: count) } }
        for i in 0..<count {
            let g = gate0[i]
            XCTAssertEqual(gate[i].bitPattern, (g / (1 + expf(-g)) * up[i]).bitPattern, "swiglu \(i)")
        }
        var x = gate0
        x.withUnsafeMutableBufferPointer { VectorExp.expInPlace($0.baseAddress!, count: count, adding: -2.5) }
        for i in 0..<count { XCTAssertEqual(x[i].bitPattern, expf(gate0[i] - 2.5).bitPattern, "exp \(i)") }
    }
}
