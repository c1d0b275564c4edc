import CBLAS
import Foundation

/// Elementwise and small kernels of the forward pass. All operate on raw f32 buffers, allocate
/// nothing, and reduce in a fixed order so results never depend on batch size or thread count.
enum Kernels {
    /// y[t] = x[t] / sqrt(mean(x[t]²) + eps) * w, for each of `rows` rows of width `n`.
    static func rmsNorm(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                        rows: Int, width n: Int, epsilon: Float) {
        for t in 0..<rows {
            let xr = x + t * n, yr = y + t * n
            var s: Double = 0
            for i in 0..<n { let v = Double(xr[i]); s += v * v }
            let scale = Float(1.0 / (s / Double(n) + Double(epsilon)).squareRoot())
            for i in 0..<n { yr[i] = xr[i] * scale * w[i] }
        }
    }

    /// Adds `bias` to each of `rows` rows.
    static func addBias(_ x: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>, rows: Int, width n: Int) {
        for t in 0..<rows { let r = x + t * n; for i in 0..<n { r[i] += bias[i] } }
    }

    /// x += y over `count` values.
    static func add(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { x[i] += y[i] }
    }

    /// C[m×n] = A[m×k] · B[n×k]ᵀ (row-major, B is a weight matrix stored by output rows).
    static func sgemmABt(_ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
                         _ c: UnsafeMutablePointer<Float>, ldc: Int, m: Int, n: Int, k: Int, beta: Float = 0) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k), 1,
                    a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// C[m×n] = A[m×k] · B[k×n] (row-major).
    static func sgemmAB(_ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
                        _ c: UnsafeMutablePointer<Float>, ldc: Int, m: Int, n: Int, k: Int) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1,
                    a, Int32(lda), b, Int32(ldb), 0, c, Int32(ldc))
    }
}

extension Kernels {
    /// One query attending over `count` cached positions: scores, softmax, weighted sum of values.
    /// Dot products use 8-lane SIMD partial sums reduced in a fixed order.
    static func attendOneHead(query: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
                              stride: Int, count: Int, dimension hd: Int, scale: Float,
                              scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) {
        let lanes = hd / 16 * 16
        var m = -Float.infinity
        for t in 0..<count {
            let k = keys + t * stride
            var acc = SIMD16<Float>(repeating: 0)
            var j = 0
            while j < lanes {
                acc = acc.addingProduct(UnsafeRawPointer(query + j).loadUnaligned(as: SIMD16<Float>.self),
                                        UnsafeRawPointer(k + j).loadUnaligned(as: SIMD16<Float>.self))
                j += 16
            }
            var s = acc.sum()
            while j < hd { s += query[j] * k[j]; j += 1 }
            s *= scale
            scores[t] = s
            m = max(m, s)
        }
        var total: Float = 0
        VectorExp.expInPlace(scores, count: count, adding: -m)
        for t in 0..<count { total += scores[t] }
        let inv = 1 / total
        out.update(repeating: 0, count: hd)
        var j = 0
        while j < lanes {
            // One 16-lane slice of the output, accumulated over all positions in registers.
            var o = SIMD16<Float>(repeating: 0)
            for t in 0..<count {
                o = o.addingProduct(SIMD16<Float>(repeating: scores[t] * inv),
                                    UnsafeRawPointer(values + t * stride + j).loadUnaligned(as: SIMD16<Float>.self))
            }
            UnsafeMutableRawPointer(out + j).storeBytes(of: o, as: SIMD16<Float>.self)
            j += 16
        }
        while j < hd {
            var o: Float = 0
            for t in 0..<count { o += scores[t] * inv * values[t * stride + j] }
            out[j] = o
            j += 1
        }
    }
}

/// Precomputed RoPE rotations (cos, sin) for positions `0..<capacity`, computed in f64.
struct RopeTable {
    let cos: [Float]
    let sin: [Float]
    let half: Int
    let layout: RopeLayout

    init(headDimension: Int, base: Double, capacity: Int, layout: RopeLayout) {
        half = headDimension / 2
        self.layout = layout
        var c = [Float](repeating: 0, count: capacity * half), s = c
        for p in 0..<capacity {
            for i in 0..<half {
                let angle = Double(p) * pow(base, -Double(2 * i) / Double(headDimension))
                c[p * half + i] = Float(Foundation.cos(angle))
                s[p * half + i] = Float(Foundation.sin(angle))
            }
        }
        cos = c
        sin = s
    }

    /// Rotates `heads` heads of one token at `position` in place (row = heads × headDimension).
    func apply(_ x: UnsafeMutablePointer<Float>, heads: Int, position: Int) {
        let hd = half * 2
        cos.withUnsafeBufferPointer { cp in
            sin.withUnsafeBufferPointer { sp in
                let c = cp.baseAddress! + position * half, s = sp.baseAddress! + position * half
                for h in 0..<heads {
                    let v = x + h * hd
                    switch layout {
                    case .interleaved:
                        for i in 0..<half {
                            let a = v[2 * i], b = v[2 * i + 1]
                            v[2 * i] = a * c[i] - b * s[i]
                            v[2 * i + 1] = a * s[i] + b * c[i]
                        }
                    case .neox:
                        for i in 0..<half {
                            let a = v[i], b = v[i + half]
                            v[i] = a * c[i] - b * s[i]
                            v[i + half] = a * s[i] + b * c[i]
                        }
                    }
                }
            }
        }
    }
}
