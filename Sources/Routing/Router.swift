import Foundation
import Support

/// What a router decides for its block; the raw values are the class indices and the block's
/// multiplicity in the path.
public enum RoutingDecision: Int, CaseIterable, Sendable, Codable {
    /// Class 0: the block is skipped (its input passes through unchanged).
    case skip = 0
    /// Class 1: the block runs once.
    case execute = 1
    /// Class 2: the block runs twice in a row.
    case repeated = 2

    /// Short name used in metric keys and reports (`skip`, `execute`, `repeat`).
    public var name: String {
        switch self {
        case .skip: return "skip"
        case .execute: return "execute"
        case .repeated: return "repeat"
        }
    }
}

/// GELU in its tanh form, as the paper's routers use (`nn.GELU(approximate="tanh")`).
public enum GELU {
    /// √(2/π).
    static let k0: Float = 0.797_884_560_802_865_4
    static let k1: Float = 0.044_715

    /// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
    @inline(__always)
    public static func value(_ x: Float) -> Float {
        let u = k0 * (x + k1 * x * x * x)
        return 0.5 * x * (1 + tanh(u))
    }

    /// d GELU / dx for the tanh form.
    @inline(__always)
    public static func derivative(_ x: Float) -> Float {
        let u = k0 * (x + k1 * x * x * x)
        let t = tanh(u)
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k0 * (1 + 3 * k1 * x * x)
    }
}

/// Where each tensor of a router lives in its flat parameter vector.
///
/// Layout (also the on-disk layout): `w1[bottleneck][width]` row-major (output-major, as
/// PyTorch's `nn.Linear.weight`), `b1[bottleneck]`, `w2[3][bottleneck]`, `b2[3]`.
public struct RouterParameterLayout: Sendable, Equatable {
    public let width: Int
    public let bottleneck: Int
    public var w1: Range<Int> { 0..<(bottleneck * width) }
    public var b1: Range<Int> { w1.upperBound..<(w1.upperBound + bottleneck) }
    public var w2: Range<Int> { b1.upperBound..<(b1.upperBound + Router.classCount * bottleneck) }
    public var b2: Range<Int> { w2.upperBound..<(w2.upperBound + Router.classCount) }
    /// Total parameters: `bottleneck·width + bottleneck + 3·bottleneck + 3`.
    public var count: Int { b2.upperBound }

    public init(width: Int, bottleneck: Int) {
        self.width = width
        self.bottleneck = bottleneck
    }
}

/// One block's router: Linear(width→bottleneck) → GELU(tanh) → Linear(bottleneck→3), applied to
/// each pooled window vector; the window logits are averaged (docs/METHOD.md §1).
public struct Router: Sendable, Equatable {
    /// Number of decisions (skip, execute, repeat).
    public static let classCount = 3

    /// Input width d (the model's hidden size).
    public let width: Int
    /// Hidden size of the router MLP (128 in the paper).
    public let bottleneck: Int
    /// All weights and biases, laid out as `layout` describes.
    public internal(set) var parameters: [Float]

    /// Where each tensor lives in `parameters`.
    public var layout: RouterParameterLayout { RouterParameterLayout(width: width, bottleneck: bottleneck) }

    /// Number of parameters of a router of this shape.
    public static func parameterCount(width: Int, bottleneck: Int) -> Int {
        RouterParameterLayout(width: width, bottleneck: bottleneck).count
    }

    /// Wraps existing parameters; fails when their count does not fit the shape.
    public init(width: Int, bottleneck: Int, parameters: [Float], source: String = "<memory>",
                layer: Int = 0) throws(RoutingError) {
        guard width > 0, bottleneck > 0 else {
            throw .invalidHyperParameters(source: source, reason: "width \(width) and bottleneck \(bottleneck) must be positive")
        }
        let expected = Router.parameterCount(width: width, bottleneck: bottleneck)
        guard parameters.count == expected else {
            throw .parameterCountMismatch(source: source, layer: layer, expected: expected, actual: parameters.count)
        }
        self.width = width
        self.bottleneck = bottleneck
        self.parameters = parameters
    }

    /// A freshly initialised router: Xavier-uniform weights, zero biases (as the paper says).
    ///
    /// Weights are drawn w1 first, then w2, row-major, each as `(2u − 1)·a` with
    /// `a = √(6 / (fan_in + fan_out))` and `u` uniform in [0, 1).
    public init(width: Int, bottleneck: Int, generator: inout SplitMix64) {
        precondition(width > 0 && bottleneck > 0, "Router: width and bottleneck must be positive")
        self.width = width
        self.bottleneck = bottleneck
        let layout = RouterParameterLayout(width: width, bottleneck: bottleneck)
        var p = [Float](repeating: 0, count: layout.count)
        let a1 = (6.0 / Double(width + bottleneck)).squareRoot()
        for i in layout.w1 { p[i] = Float((2 * generator.nextUnit() - 1) * a1) }
        let a2 = (6.0 / Double(bottleneck + Router.classCount)).squareRoot()
        for i in layout.w2 { p[i] = Float((2 * generator.nextUnit() - 1) * a2) }
        parameters = p
    }

    /// Logits of one window vector (`width` floats).
    public func windowLogits(_ window: UnsafeBufferPointer<Float>) -> SIMD3<Float> {
        precondition(window.count >= width, "windowLogits: got \(window.count) floats, expected \(width)")
        return parameters.withUnsafeBufferPointer { p in
            Router.forward(parameters: p, width: width, bottleneck: bottleneck, input: window.baseAddress!)
        }
    }

    /// Logits averaged over `windowCount` pooled windows (`pooled` is `[windowCount × width]`).
    ///
    /// Windows are summed in order and divided by their count, so the result does not depend on
    /// anything but the inputs. With no windows (empty prompt) the logits are zero.
    public func logits(pooled: UnsafeBufferPointer<Float>, windowCount: Int) -> SIMD3<Float> {
        precondition(pooled.count >= windowCount * width,
                     "logits: pooled holds \(pooled.count) floats, expected \(windowCount) × \(width)")
        guard windowCount > 0 else { return .zero }
        return parameters.withUnsafeBufferPointer { p in
            var sum = SIMD3<Float>.zero
            var w = 0
            // Four windows per pass over the first layer's weights (read once for the four rather
            // than once per window); each window's logits are bitwise those of `forward`.
            while w + 4 <= windowCount {
                let l = Router.forward4(parameters: p, width: width, bottleneck: bottleneck,
                                        inputs: pooled.baseAddress! + w * width)
                sum += l.0; sum += l.1; sum += l.2; sum += l.3
                w += 4
            }
            while w < windowCount {
                sum += Router.forward(parameters: p, width: width, bottleneck: bottleneck,
                                      input: pooled.baseAddress! + w * width)
                w += 1
            }
            return sum / Float(windowCount)
        }
    }

    /// Array convenience for `logits(pooled:windowCount:)`.
    public func logits(pooled: [Float], windowCount: Int) -> SIMD3<Float> {
        pooled.withUnsafeBufferPointer { logits(pooled: $0, windowCount: windowCount) }
    }

    /// Argmax of `logits + bias`, or of the blended probabilities when `blend` is given; ties go
    /// to the lowest class index.
    ///
    /// A NaN logit means the router's input was broken; rather than let NaN comparisons fall
    /// through to "skip", the block is executed (the baseline behaviour).
    public static func decision(logits: SIMD3<Float>, bias: SIMD3<Float> = .zero, blend: RouterBlend? = nil) -> Int {
        let z = logits + bias
        if z[0].isNaN || z[1].isNaN || z[2].isNaN { return RoutingDecision.execute.rawValue }
        return blend?.decide(logits: z) ?? argmax(z)
    }

    /// Index of the largest component, ties to the lowest index.
    @inline(__always)
    static func argmax(_ z: SIMD3<Float>) -> Int {
        var best = 0
        for c in 1..<classCount where z[c] > z[best] { best = c }
        return best
    }

    // MARK: - Implementation

    /// Forward pass for one window in a fixed reduction order (SIMD16 lanes, then lanes 0…15,
    /// then the tail; the second layer sums hidden units in ascending order).
    @inline(__always)
    static func forward(parameters p: UnsafeBufferPointer<Float>, width: Int, bottleneck: Int,
                        input x: UnsafePointer<Float>) -> SIMD3<Float> {
        let base = p.baseAddress!
        let b1 = base + bottleneck * width
        let w2 = b1 + bottleneck
        let b2 = w2 + classCount * bottleneck
        var l0: Float = 0, l1: Float = 0, l2: Float = 0
        @inline(__always) func accumulate(_ j: Int, _ d: Float) {
            let a = GELU.value(b1[j] + d)
            l0 += w2[j] * a
            l1 += w2[bottleneck + j] * a
            l2 += w2[2 * bottleneck + j] * a
        }
        var j = 0
        // Four hidden units at a time: their dot products are independent, so interleaving them
        // hides the add latency; each is formed exactly as `dot` forms it, and the second layer
        // still sums units in ascending order, so the logits are bitwise those of one at a time.
        while j + 4 <= bottleneck {
            let row = base + j * width
            let d = dot4(row, row + width, row + 2 * width, row + 3 * width, x, x, x, x, width)
            for u in 0..<4 { accumulate(j + u, d[u]) }
            j += 4
        }
        while j < bottleneck {
            accumulate(j, dot(base + j * width, x, width))
            j += 1
        }
        return SIMD3(b2[0] + l0, b2[1] + l1, b2[2] + l2)
    }

    /// `forward` of four consecutive windows (`inputs`, `4 × width`), sharing each weight row's loads.
    static func forward4(parameters p: UnsafeBufferPointer<Float>, width: Int, bottleneck: Int,
                         inputs x: UnsafePointer<Float>) -> (SIMD3<Float>, SIMD3<Float>, SIMD3<Float>, SIMD3<Float>) {
        let base = p.baseAddress!
        let b1 = base + bottleneck * width
        let w2 = b1 + bottleneck
        let b2 = w2 + classCount * bottleneck
        var l0 = SIMD4<Float>(), l1 = SIMD4<Float>(), l2 = SIMD4<Float>()
        for j in 0..<bottleneck {
            let row = base + j * width
            let d = dot4(row, row, row, row, x, x + width, x + 2 * width, x + 3 * width, width)
            for u in 0..<4 {
                let a = GELU.value(b1[j] + d[u])
                l0[u] += w2[j] * a
                l1[u] += w2[bottleneck + j] * a
                l2[u] += w2[2 * bottleneck + j] * a
            }
        }
        // A tuple, not an array: no allocation per four windows.
        func window(_ u: Int) -> SIMD3<Float> { SIMD3(b2[0] + l0[u], b2[1] + l1[u], b2[2] + l2[u]) }
        return (window(0), window(1), window(2), window(3))
    }

    /// `dot(a_u, b_u, n)` for u = 0…3, each with `dot`'s operations in `dot`'s order. Callers
    /// share one side (four weight rows against one window, or one row against four windows);
    /// inlined, the repeated pointer's loads are shared.
    @inline(__always)
    static func dot4(_ a0: UnsafePointer<Float>, _ a1: UnsafePointer<Float>, _ a2: UnsafePointer<Float>, _ a3: UnsafePointer<Float>,
                     _ b0: UnsafePointer<Float>, _ b1: UnsafePointer<Float>, _ b2: UnsafePointer<Float>, _ b3: UnsafePointer<Float>,
                     _ n: Int) -> SIMD4<Float> {
        @inline(__always) func load(_ p: UnsafePointer<Float>, _ i: Int) -> SIMD16<Float> {
            UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self)
        }
        var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>(), acc2 = SIMD16<Float>(), acc3 = SIMD16<Float>()
        var i = 0
        while i + 16 <= n {
            acc0 += load(a0, i) * load(b0, i)
            acc1 += load(a1, i) * load(b1, i)
            acc2 += load(a2, i) * load(b2, i)
            acc3 += load(a3, i) * load(b3, i)
            i += 16
        }
        var s = SIMD4<Float>()
        for lane in 0..<16 { s += SIMD4(acc0[lane], acc1[lane], acc2[lane], acc3[lane]) }
        while i < n {
            s += SIMD4(a0[i], a1[i], a2[i], a3[i]) * SIMD4(b0[i], b1[i], b2[i], b3[i])
            i += 1
        }
        return s
    }

    /// Dot product in a fixed order: 16 lane accumulators, lanes summed 0…15, then the tail.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD16<Float>()
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        var i = 0
        while i + 16 <= n {
            acc += ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
                * rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            i += 16
        }
        var s: Float = 0
        for lane in 0..<16 { s += acc[lane] }
        while i < n {
            s += a[i] * b[i]
            i += 1
        }
        return s
    }
}
