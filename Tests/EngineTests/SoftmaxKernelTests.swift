@testable import Engine
import XCTest

/// Prefill attention's softmax takes its first pass 16 lanes at a time and sums four rows in
/// lockstep; decode attention sums the heads of a group in lockstep. Every stored number depends on
/// these softmaxes, so each must equal, bit for bit, the one-row running computation it replaced.
final class SoftmaxKernelTests: XCTestCase {
    private struct Values {
        var state: UInt64
        /// Wide magnitudes, exact zeros and repeats, so that another order of additions or another
        /// maximum would show in the last bits.
        mutating func next() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let r = Int(state >> 33)
            switch r % 11 {
            case 0: return 0
            case 1: return 7.25
            default: return Float(r % 200_001 - 100_000) / Float(1 + (r >> 8) % 5_000)
            }
        }
    }

    /// The softmax each prefill row took before: scale and maximum, exp, a running sum, times 1/sum,
    /// zero past the row's length.
    private func referenceRow(_ row: inout [Float], count: Int, scale: Float) {
        var m = -Float.infinity
        for i in 0..<count { row[i] *= scale; m = max(m, row[i]) }
        row.withUnsafeMutableBufferPointer { VectorExp.expInPlace($0.baseAddress!, count: count, adding: -m) }
        var s: Float = 0
        for i in 0..<count { s += row[i] }
        let inv = 1 / s
        for i in 0..<count { row[i] *= inv }
        for i in count..<row.count { row[i] = 0 }
    }

    func testCausalSoftmaxEqualsTheRowByRowComputationBitForBit() {
        var values = Values(state: 5)
        for firstLength in [1, 2, 15, 16, 17, 40, 301] {
            for rows in [1, 2, 3, 4, 5, 7, 8, 9, 13] {
                for extra in [0, 3] {
                    let total = firstLength + rows - 1 + extra
                    let scale: Float = 0.125
                    var scores = (0..<(rows * total)).map { _ in values.next() }
                    var expected: [Float] = []
                    for t in 0..<rows {
                        var row = Array(scores[(t * total)..<((t + 1) * total)])
                        referenceRow(&row, count: firstLength + t, scale: scale)
                        expected += row
                    }
                    scores.withUnsafeMutableBufferPointer {
                        Kernels.causalSoftmax($0.baseAddress!, rows: rows, stride: total, firstLength: firstLength, scale: scale)
                    }
                    XCTAssertEqual(scores.map(\.bitPattern), expected.map(\.bitPattern),
                                   "first length \(firstLength), \(rows) rows, stride \(total)")
                }
            }
        }
    }

    func testRowSumsAreRunningSumsInIndexOrder() {
        var values = Values(state: 9)
        for rows in 1...9 {
            let stride = 70
            let data = (0..<(rows * stride)).map { _ in values.next() }
            let counts = (0..<rows).map { [0, 1, 16, 33, 69, 70, 5, 64, 2][$0] }
            var sums = [Float](repeating: .nan, count: rows)
            data.withUnsafeBufferPointer { d in
                sums.withUnsafeMutableBufferPointer { s in
                    Kernels.sumRowsInOrder(d.baseAddress!, stride: stride, rows: rows, counts: { counts[$0] }, into: s.baseAddress!)
                }
            }
            for r in 0..<rows {
                var running: Float = 0
                for i in 0..<counts[r] { running += data[r * stride + i] }
                XCTAssertEqual(sums[r].bitPattern, running.bitPattern, "\(rows) rows, row \(r)")
            }
        }
    }

    func testLaneMaximaEqualTheRunningMaximum() {
        var values = Values(state: 21)
        for count in [0, 1, 15, 16, 17, 31, 32, 100] {
            var x = (0..<count).map { _ in values.next() }
            var expected = x, m = -Float.infinity
            for i in 0..<count { expected[i] *= 0.3; m = max(m, expected[i]) }
            let got = x.withUnsafeMutableBufferPointer {
                Kernels.scaleInPlaceReturningMaximum($0.baseAddress!, count: count, scale: 0.3)
            }
            XCTAssertEqual(got, m, "\(count) values")
            XCTAssertEqual(x.map(\.bitPattern), expected.map(\.bitPattern))
        }
        let v = SIMD16<Float>((0..<16).map { Float(($0 * 7) % 16) - 3 })
        XCTAssertEqual(Kernels.horizontalMaximum(v), 12)
    }
}
