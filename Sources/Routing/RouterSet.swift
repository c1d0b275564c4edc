import Engine
import Support

/// The shape of a router set: one router per block, all with the same MLP.
public struct RouterHyperParameters: Codable, Sendable, Equatable {
    /// Number of blocks (routers) L.
    public var layerCount: Int
    /// Hidden width d of the model the routers read.
    public var width: Int
    /// Router MLP hidden size (128 in the paper).
    public var bottleneck: Int
    /// Maximum number of pooling windows (8 in the paper).
    public var windows: Int

    public init(layerCount: Int, width: Int, bottleneck: Int = 128, windows: Int = 8) {
        self.layerCount = layerCount
        self.width = width
        self.bottleneck = bottleneck
        self.windows = windows
    }

    /// Parameters of one router.
    public var parametersPerRouter: Int { Router.parameterCount(width: width, bottleneck: bottleneck) }

    /// Checks that every size is positive.
    public func check(source: String) throws(RoutingError) {
        for (name, v) in [("layerCount", layerCount), ("width", width), ("bottleneck", bottleneck), ("windows", windows)] where v <= 0 {
            throw .invalidHyperParameters(source: source, reason: "\(name) is \(v), expected a positive integer")
        }
    }
}

/// Where a router set came from: enough to reproduce it and to refuse it for the wrong model.
public struct RouterProvenance: Codable, Sendable, Equatable {
    /// Model identifier the routers were trained for (e.g. `smollm2-135m-instruct`).
    public var modelName: String
    /// SHA-256 (hex) of the model file, when known.
    public var modelSHA256: String?
    /// SHA-256 (hex) of the training data (the MCTS records), when known.
    public var trainingDataSHA256: String?
    /// The command line that produced the file.
    public var commandLine: String
    /// Source revision (git commit) of the code that trained the routers, when known.
    public var commit: String?
    /// Seed of the training run.
    public var seed: UInt64
    /// Training and held-out metrics (keys such as `heldout.macro_f1`; see `RouterMetrics.dictionary`).
    public var metrics: [String: Double]
    /// Training settings and any other free-form facts (learning rate, epochs, …), as text.
    public var settings: [String: String]

    public init(modelName: String = "", modelSHA256: String? = nil, trainingDataSHA256: String? = nil,
                commandLine: String = "", commit: String? = nil, seed: UInt64 = 0,
                metrics: [String: Double] = [:], settings: [String: String] = [:]) {
        self.modelName = modelName
        self.modelSHA256 = modelSHA256
        self.trainingDataSHA256 = trainingDataSHA256
        self.commandLine = commandLine
        self.commit = commit
        self.seed = seed
        self.metrics = metrics
        self.settings = settings
    }

    /// Missing keys take their defaults, so hand-written or older headers still load.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        modelName = try c.decodeIfPresent(String.self, forKey: .modelName) ?? ""
        modelSHA256 = try c.decodeIfPresent(String.self, forKey: .modelSHA256)
        trainingDataSHA256 = try c.decodeIfPresent(String.self, forKey: .trainingDataSHA256)
        commandLine = try c.decodeIfPresent(String.self, forKey: .commandLine) ?? ""
        commit = try c.decodeIfPresent(String.self, forKey: .commit)
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? 0
        metrics = try c.decodeIfPresent([String: Double].self, forKey: .metrics) ?? [:]
        settings = try c.decodeIfPresent([String: String].self, forKey: .settings) ?? [:]
    }
}

/// All routers of one model, with their shape, provenance and an optional decision bias.
///
/// A `RouterSet` is a `PathDecider`: hand it to the engine as `LayerPolicy.decided(routerSet)` and
/// the engine asks it, block by block at prefill, whether to skip, execute or repeat. Call
/// `validate(layerCount:width:)` against the model first; `decide` treats a mismatch as a
/// programming error.
public struct RouterSet: PathDecider, Sendable, Equatable {
    /// Shape shared by all routers.
    public let hyperParameters: RouterHyperParameters
    /// One router per block, index = block index.
    public internal(set) var routers: [Router]
    /// Where the routers came from.
    public var provenance: RouterProvenance
    /// Per-class logit bias added before the argmax (skip, execute, repeat), stored in the router
    /// file. A positive `bias[0]` favours skipping, a positive `bias[1]` favours the full model.
    /// Zero is the plain router.
    public var bias: SIMD3<Float>
    /// The paper's probability-blending knob (App. C), applied after `bias`; nil is the plain
    /// router. A run setting (`bench run --router-blend`), not stored in router files.
    public var blend: RouterBlend?
    /// What the routers read for a scoring request (`RoutingInput`); `.context` is the paper's
    /// setting. A run setting (`bench run --routing-input`), not stored in router files.
    public var routingInput: RoutingInput = .context
    /// The file this set was read from (or `<memory>`), used to name the file in errors.
    /// Not part of the file contents and ignored by `==`.
    public var source: String

    /// Wraps existing routers; fails when a router's shape disagrees with the hyper-parameters.
    public init(hyperParameters: RouterHyperParameters, routers: [Router], provenance: RouterProvenance,
                bias: SIMD3<Float> = .zero, source: String = "<memory>") throws(RoutingError) {
        try hyperParameters.check(source: source)
        guard routers.count == hyperParameters.layerCount else {
            throw .invalidHyperParameters(source: source,
                                          reason: "\(routers.count) routers for layerCount \(hyperParameters.layerCount)")
        }
        for (l, r) in routers.enumerated() where r.width != hyperParameters.width || r.bottleneck != hyperParameters.bottleneck {
            throw .invalidHyperParameters(source: source,
                                          reason: "router \(l) is \(r.width)→\(r.bottleneck), expected \(hyperParameters.width)→\(hyperParameters.bottleneck)")
        }
        self.hyperParameters = hyperParameters
        self.routers = routers
        self.provenance = provenance
        self.bias = bias
        self.source = source
    }

    /// Freshly initialised routers (Xavier-uniform weights, zero biases). Router `l` draws from
    /// its own stream `SplitMix64.derive(seed, "router-init/l")`, so a layer's initial weights do
    /// not depend on how many layers there are.
    public init(hyperParameters: RouterHyperParameters, seed: UInt64,
                provenance: RouterProvenance = RouterProvenance()) throws(RoutingError) {
        try hyperParameters.check(source: "<memory>")
        var routers: [Router] = []
        routers.reserveCapacity(hyperParameters.layerCount)
        for l in 0..<hyperParameters.layerCount {
            var g = SplitMix64(seed: SplitMix64.derive(seed, "router-init/\(l)"))
            routers.append(Router(width: hyperParameters.width, bottleneck: hyperParameters.bottleneck, generator: &g))
        }
        try self.init(hyperParameters: hyperParameters, routers: routers, provenance: provenance)
    }

    /// Number of blocks this set routes.
    public var layerCount: Int { hyperParameters.layerCount }

    /// Total trainable parameters, L·(128d + 128 + 3·128 + 3) for the paper's shape.
    public var parameterCount: Int { hyperParameters.layerCount * hyperParameters.parametersPerRouter }

    /// Refuses routers whose provenance names another model file than `modelSHA256` (files
    /// without a recorded model digest are checked by shape only, in `validate(layerCount:width:)`).
    public func checkTrained(forModel model: String, sha256 modelSHA256: String) throws(RoutingError) {
        if let trained = provenance.modelSHA256, trained != modelSHA256 {
            throw .trainedForAnotherModel(source: source, routersModel: provenance.modelName, routersSHA256: trained,
                                          model: model, modelSHA256: modelSHA256)
        }
    }

    /// Checks the set against a model: same number of blocks and same hidden width.
    /// The error names `source` (the file) and both values.
    public func validate(layerCount: Int, width: Int) throws(RoutingError) {
        if hyperParameters.layerCount != layerCount {
            throw .layerCountMismatch(source: source, routers: hyperParameters.layerCount, model: layerCount)
        }
        if hyperParameters.width != width {
            throw .widthMismatch(source: source, routers: hyperParameters.width, model: width)
        }
    }

    /// Averaged router logits for block `layer` from the prompt's hidden states entering it
    /// (`[tokens × width]`, row-major). Bias not included.
    public func logits(layer: Int, hidden: UnsafeBufferPointer<Float>, tokens: Int, width: Int) -> SIMD3<Float> {
        precondition(layer >= 0 && layer < hyperParameters.layerCount,
                     "router set '\(source)' has \(hyperParameters.layerCount) routers; asked for layer \(layer)")
        precondition(width == hyperParameters.width,
                     "router set '\(source)' expects width \(hyperParameters.width), got \(width); call validate(layerCount:width:) first")
        let pooled = WindowPooling.pool(hidden: hidden, tokens: tokens, width: width, maxWindows: hyperParameters.windows)
        let w = WindowPooling.windowCount(tokens: tokens, maxWindows: hyperParameters.windows)
        return routers[layer].logits(pooled: pooled, windowCount: w)
    }

    /// Applications (0 skip, 1 execute, 2 repeat) of block `layer`: argmax of the averaged logits
    /// plus `bias` (blended by `blend` when set), ties to the lowest class. An empty prompt (no
    /// tokens) executes the block.
    public func decide(layer: Int, hidden: UnsafeBufferPointer<Float>, tokens: Int, width: Int) -> Int {
        guard tokens > 0 else { return RoutingDecision.execute.rawValue }
        return Router.decision(logits: logits(layer: layer, hidden: hidden, tokens: tokens, width: width),
                               bias: bias, blend: blend)
    }

    /// Decision of block `layer` from already pooled windows (`[windowCount × width]`), as
    /// training and evaluation use it.
    public func decide(layer: Int, pooled: UnsafeBufferPointer<Float>, windowCount: Int) -> Int {
        guard windowCount > 0 else { return RoutingDecision.execute.rawValue }
        return Router.decision(logits: routers[layer].logits(pooled: pooled, windowCount: windowCount),
                               bias: bias, blend: blend)
    }

    /// Equality of shape, weights (by value), provenance, bias, blend and routing input; `source`
    /// is ignored.
    public static func == (a: RouterSet, b: RouterSet) -> Bool {
        a.hyperParameters == b.hyperParameters && a.routers == b.routers && a.provenance == b.provenance
            && a.bias == b.bias && a.blend == b.blend && a.routingInput == b.routingInput
    }
}
