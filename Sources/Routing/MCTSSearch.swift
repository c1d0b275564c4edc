import Foundation
import Engine
import Support

/// Judges a layer path on one example: does the frozen model, run along `path`, answer correctly?
///
/// The harness builds this from the engine and a benchmark's answer checker (and may reuse hidden
/// states of shared path prefixes inside it). `MCTSSearch` calls it at most once per distinct path.
public protocol PathScorer {
    /// True when the model's answer along `path` is correct.
    func isCorrect(_ path: LayerPath) throws -> Bool
}

/// A `PathScorer` made from a closure (handy in tests and small tools).
public struct ClosurePathScorer: PathScorer {
    let body: (LayerPath) throws -> Bool
    public init(_ body: @escaping (LayerPath) throws -> Bool) { self.body = body }
    public func isCorrect(_ path: LayerPath) throws -> Bool { try body(path) }
}

/// Settings of the per-example path search (docs/METHOD.md §2). Defaults are the paper's.
public struct MCTSConfig: Codable, Sendable, Equatable {
    /// Simulations per example; each expands (and evaluates) at most one new path.
    public var simulations: Int = 50
    /// UCB exploration constant c.
    public var exploration: Double = 1.8
    /// Length penalty λ in `− λ·|π|/L` (L is the model's real block count).
    public var lengthPenalty: Double = 3.0
    /// Probability of descending into a uniformly random child instead of the best-scoring one.
    public var randomChildProbability: Double = 0.1
    /// Stop early when a correct path at least this many blocks shorter than the default is found
    /// (and when a wrong default becomes right). Set `earlyStop` to false to spend the full budget.
    public var targetSaving: Int = 2
    /// Whether the two early-stop rules apply.
    public var earlyStop: Bool = true
    /// Longest run of consecutive path positions one skip action removes (the paper: 1 or 2).
    public var maxSkipRun: Int = 2
    /// Progressive widening: a node with `v` visits may have at most `max(1, ⌊k·v^α⌋)` children,
    /// with k = `wideningConstant`, α = `wideningExponent` (see `MCTSSearch`).
    public var wideningConstant: Double = 1.0
    /// α of the progressive-widening rule.
    public var wideningExponent: Double = 0.5

    public init(simulations: Int = 50, exploration: Double = 1.8, lengthPenalty: Double = 3.0,
                randomChildProbability: Double = 0.1, targetSaving: Int = 2, earlyStop: Bool = true,
                maxSkipRun: Int = 2, wideningConstant: Double = 1.0, wideningExponent: Double = 0.5) {
        self.simulations = simulations
        self.exploration = exploration
        self.lengthPenalty = lengthPenalty
        self.randomChildProbability = randomChildProbability
        self.targetSaving = targetSaving
        self.earlyStop = earlyStop
        self.maxSkipRun = maxSkipRun
        self.wideningConstant = wideningConstant
        self.wideningExponent = wideningExponent
    }

    /// Missing keys take their defaults (so a stored configuration survives new settings).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = MCTSConfig()
        simulations = try c.decodeIfPresent(Int.self, forKey: .simulations) ?? d.simulations
        exploration = try c.decodeIfPresent(Double.self, forKey: .exploration) ?? d.exploration
        lengthPenalty = try c.decodeIfPresent(Double.self, forKey: .lengthPenalty) ?? d.lengthPenalty
        randomChildProbability = try c.decodeIfPresent(Double.self, forKey: .randomChildProbability) ?? d.randomChildProbability
        targetSaving = try c.decodeIfPresent(Int.self, forKey: .targetSaving) ?? d.targetSaving
        earlyStop = try c.decodeIfPresent(Bool.self, forKey: .earlyStop) ?? d.earlyStop
        maxSkipRun = try c.decodeIfPresent(Int.self, forKey: .maxSkipRun) ?? d.maxSkipRun
        wideningConstant = try c.decodeIfPresent(Double.self, forKey: .wideningConstant) ?? d.wideningConstant
        wideningExponent = try c.decodeIfPresent(Double.self, forKey: .wideningExponent) ?? d.wideningExponent
    }

    /// Refuses values outside their meaningful range.
    public func check() throws(RoutingError) {
        if simulations < 0 { throw .invalidConfiguration(item: "mcts.simulations", reason: "\(simulations) is negative") }
        if !(exploration >= 0) { throw .invalidConfiguration(item: "mcts.exploration", reason: "\(exploration) must be ≥ 0") }
        if !(lengthPenalty >= 0) { throw .invalidConfiguration(item: "mcts.lengthPenalty", reason: "\(lengthPenalty) must be ≥ 0") }
        if !(randomChildProbability >= 0 && randomChildProbability <= 1) {
            throw .invalidConfiguration(item: "mcts.randomChildProbability", reason: "\(randomChildProbability) must be in [0, 1]")
        }
        if targetSaving < 1 { throw .invalidConfiguration(item: "mcts.targetSaving", reason: "\(targetSaving) must be ≥ 1") }
        if maxSkipRun < 1 { throw .invalidConfiguration(item: "mcts.maxSkipRun", reason: "\(maxSkipRun) must be ≥ 1") }
        if !(wideningConstant > 0) || !(wideningExponent >= 0) {
            throw .invalidConfiguration(item: "mcts.widening", reason: "constant must be > 0 and exponent ≥ 0")
        }
    }
}

/// One path the search evaluated.
public struct MCTSEvaluation: Codable, Sendable, Equatable {
    /// The path.
    public var path: LayerPath
    /// The scorer's verdict.
    public var correct: Bool
    /// The simulation that evaluated it (0 for the default path, evaluated before the first).
    public var simulation: Int

    public init(path: LayerPath, correct: Bool, simulation: Int) {
        self.path = path
        self.correct = correct
        self.simulation = simulation
    }
}

/// Result of searching one example.
public struct MCTSOutcome: Codable, Sendable, Equatable {
    /// Block count L of the model.
    public var layerCount: Int
    /// Whether the default path π0 (every block once) answers correctly.
    public var defaultCorrect: Bool
    /// The shortest correct path found (tie rule in `MCTSSearch`), or nil when no evaluated
    /// path was correct.
    public var bestPath: LayerPath?
    /// Per-block label: multiplicity (0 skip, 1 execute, 2 repeat) of each block in `bestPath`;
    /// nil when the example has no label.
    public var labels: [Int]?
    /// Whether the example is kept for training: its best path is at least as accurate as π0,
    /// i.e. some path is correct. Examples with no correct path are not kept (no label).
    public var kept: Bool
    /// Whether a wrong default was made right by some path.
    public var improved: Bool
    /// Distinct paths evaluated (scorer calls), including the default path.
    public var evaluations: Int
    /// Simulations run (≤ the budget; fewer when stopped early).
    public var simulations: Int
    /// Whether an early-stop rule ended the search.
    public var stoppedEarly: Bool
    /// Every evaluated path, in evaluation order.
    public var evaluated: [MCTSEvaluation]

    /// Blocks saved by the best path relative to π0 (negative when it repeats more than it skips).
    public var layersSaved: Int? { bestPath.map { layerCount - $0.count } }
    /// Number of distinct correct paths found.
    public var correctPaths: Int { evaluated.filter(\.correct).count }
}

/// Monte Carlo tree search over layer paths for one example (docs/METHOD.md §2).
///
/// The root is the default path π0. An edge is one edit of its parent's path (`edits(of:)`):
/// remove 1 or 2 consecutive path positions (skip), or insert a second copy of a block that
/// appears once (repeat). Every path stays valid: non-empty, non-decreasing, no block more than
/// twice (so |π| ≤ 2L).
///
/// Each simulation descends from the root; at every node it either expands (creates and evaluates
/// one child from the node's untried edits, shuffled with the seeded generator) or, when the node
/// may not widen, moves to a child: with probability `randomChildProbability` a uniformly random
/// one, otherwise the one maximising `Q/v + c·√(ln V / v) − λ·|π|/L` (V = the node's visits; ties
/// to the oldest child). The reward (1 correct, 0 wrong) is added to every node on the way.
///
/// Choices the paper leaves open, and ours:
/// - **Branching vs. budget.** A node has about 3L edits but the budget is 50 simulations, so
///   plain "expand until fully expanded" would never go below depth 1, while the released code
///   expands only leaves (a single random chain). We use progressive widening: a node with `v`
///   visits may hold `max(1, ⌊k·v^α⌋)` children (k = 1, α = 0.5 by default), which lets the tree
///   grow both deep (compound edits, needed to save ≥ 2 blocks) and wide.
/// - **Transpositions.** Different edit orders reach the same path; an edit whose path was already
///   evaluated is dropped from the untried list, so each path is one node and one scorer call.
///   A node with nothing left to try and no children re-uses its cached reward (a simulation
///   without an evaluation).
/// - **Best path.** Among correct paths: fewest blocks; then fewest blocks whose multiplicity
///   differs from 1 (the smallest edit of π0); then the lexicographically smallest block list.
///   This depends only on the set of correct paths found, not on evaluation order.
/// - **No correct path.** The example is not kept and has no label: the default path is as wrong
///   as everything else, and labelling it "execute everything" would only reinforce the majority
///   class with an example the model gets wrong. (The released code also drops these.)
/// - **Early stop** (when `earlyStop`): right after a correct path with ≤ L − `targetSaving`
///   blocks is found, or right after any correct path is found for a wrong default.
public struct MCTSSearch: Sendable {
    /// Block count L of the model.
    public let layerCount: Int
    /// Search settings.
    public let config: MCTSConfig

    public init(layerCount: Int, config: MCTSConfig = MCTSConfig()) {
        precondition(layerCount > 0, "MCTSSearch needs at least one layer")
        self.layerCount = layerCount
        self.config = config
    }

    /// All distinct single-edit neighbours of `path`, in a fixed order: skips of 1…`maxSkipRun`
    /// consecutive positions (by start position), then repeats (by position).
    public static func edits(of path: LayerPath, layerCount: Int, maxSkipRun: Int = 2) -> [LayerPath] {
        let b = path.blocks
        let n = b.count
        var counts = [Int](repeating: 0, count: layerCount)
        for x in b where x >= 0 && x < layerCount { counts[x] += 1 }
        var out: [LayerPath] = []
        var seen = Set<[Int]>()
        seen.insert(b)
        func add(_ candidate: [Int]) {
            guard !candidate.isEmpty, candidate.count <= 2 * layerCount else { return }
            if seen.insert(candidate).inserted { out.append(LayerPath(candidate)) }
        }
        if maxSkipRun >= 1 {
            for size in 1...maxSkipRun where size <= n {
                for start in 0...(n - size) {
                    add(Array(b[..<start]) + Array(b[(start + size)...]))
                }
            }
        }
        for p in 0..<n where counts[b[p]] < 2 {
            var c = b
            c.insert(b[p], at: p + 1)
            add(c)
        }
        return out
    }

    /// The tie rule for best paths: true when `a` is preferred to `b`.
    public static func isPreferred(_ a: LayerPath, over b: LayerPath, layerCount: Int) -> Bool {
        if a.count != b.count { return a.count < b.count }
        let ea = a.multiplicities(layerCount: layerCount).filter { $0 != 1 }.count
        let eb = b.multiplicities(layerCount: layerCount).filter { $0 != 1 }.count
        if ea != eb { return ea < eb }
        return a.blocks.lexicographicallyPrecedes(b.blocks)
    }

    fileprivate struct Node {
        var path: LayerPath
        var children: [Int] = []
        /// Edits not tried yet, consumed from the end; nil until the node is first asked to expand.
        var untried: [LayerPath]?
        var visits = 0
        var totalReward = 0.0
        /// This node's own reward (its path's correctness).
        var reward: Double
    }

    /// Searches one example. Deterministic for a given `seed`, scorer and configuration.
    /// Errors thrown by the scorer end the search and propagate.
    public func run(scorer: some PathScorer, seed: UInt64) throws -> MCTSOutcome {
        var state = try start(seed: seed)
        while true {
            switch state.step {
            case let .evaluate(path): state.resume(verdict: try scorer.isCorrect(path))
            case let .finished(outcome): return outcome
            }
        }
    }

    /// The search of one example as a value that stops at every path it needs judged, so that
    /// several examples' searches can have their paths evaluated together (one batch per round);
    /// `run` is this driven by a scorer, so both give the same outcome.
    public func start(seed: UInt64) throws -> MCTSSearchState {
        try config.check()
        return MCTSSearchState(search: self, seed: seed)
    }

    // MARK: - Implementation

    fileprivate func wideningLimit(visits: Int) -> Int {
        let limit = config.wideningConstant * pow(Double(max(visits, 1)), config.wideningExponent)
        return max(1, Int(limit.rounded(.down)))
    }

    /// Pops untried edits until one whose path has not been evaluated yet.
    fileprivate func popFresh(_ untried: inout [LayerPath], cache: [LayerPath: Bool]) -> LayerPath? {
        while let candidate = untried.popLast() {
            if cache[candidate] == nil { return candidate }
        }
        return nil
    }

    fileprivate func selectChild(of parent: Int, nodes: [Node], rng: inout SplitMix64) -> Int {
        let children = nodes[parent].children
        if rng.nextUnit() < config.randomChildProbability {
            return children[rng.nextInt(below: children.count)]
        }
        let logV = log(Double(nodes[parent].visits))
        var best = children[0]
        var bestScore = -Double.infinity
        for c in children {
            let n = nodes[c]
            let v = Double(n.visits)
            let score = n.totalReward / v + config.exploration * (logV / v).squareRoot()
                - config.lengthPenalty * Double(n.path.count) / Double(layerCount)
            if score > bestScore {
                bestScore = score
                best = c
            }
        }
        return best
    }
}

/// One example's search in progress (`MCTSSearch.start`): `step` says what it needs next, a path
/// judged or nothing (finished); `resume(verdict:)` gives the verdict on the path asked for.
public struct MCTSSearchState: Sendable {
    /// What the search needs next.
    public enum Step: Sendable, Equatable {
        /// Is the model correct along this path? Answer with `resume(verdict:)`.
        case evaluate(LayerPath)
        /// The search is over.
        case finished(MCTSOutcome)
    }

    public private(set) var step: Step
    private let search: MCTSSearch
    private var rng: SplitMix64
    private var cache: [LayerPath: Bool] = [:]
    private var evaluated: [MCTSEvaluation] = []
    private var nodes: [MCTSSearch.Node] = []
    private var simulations = 0
    private var stoppedEarly = false
    private var defaultCorrect = false
    /// The expansion waiting for its verdict: the parent node and the simulation's trail.
    private var expansion: (parent: Int, trail: [Int], path: LayerPath)?

    init(search: MCTSSearch, seed: UInt64) {
        self.search = search
        rng = SplitMix64(seed: seed)
        step = .evaluate(LayerPath.full(search.layerCount))
    }

    /// Takes the verdict on the path `step` asked for and runs the search to its next question.
    public mutating func resume(verdict: Bool) {
        guard case let .evaluate(path) = step else { preconditionFailure("the search asked for no verdict") }
        cache[path] = verdict
        evaluated.append(MCTSEvaluation(path: path, correct: verdict, simulation: simulations))
        let reward: Double = verdict ? 1 : 0
        if let (parent, trail, fresh) = expansion {
            expansion = nil
            nodes.append(MCTSSearch.Node(path: fresh, reward: reward))
            nodes[parent].children.append(nodes.count - 1)
            finishSimulation(trail: trail + [nodes.count - 1], reward: reward, newlyCorrect: verdict ? fresh : nil)
        } else {
            // The root: the default path π0.
            defaultCorrect = verdict
            nodes = [MCTSSearch.Node(path: path, reward: reward)]
            nodes[0].visits = 1
            nodes[0].totalReward = reward
        }
        advance()
    }

    /// Runs simulations until one expands a node (a path to judge) or the budget or an early stop
    /// ends the search.
    private mutating func advance() {
        let config = search.config
        while simulations < config.simulations && !stoppedEarly {
            simulations += 1
            var index = 0
            var trail = [0]
            while true {
                if nodes[index].untried == nil {
                    var edits = MCTSSearch.edits(of: nodes[index].path, layerCount: search.layerCount, maxSkipRun: config.maxSkipRun)
                    rng.shuffle(&edits)
                    nodes[index].untried = edits
                }
                if nodes[index].children.count < search.wideningLimit(visits: nodes[index].visits),
                   let fresh = search.popFresh(&nodes[index].untried!, cache: cache) {
                    expansion = (index, trail, fresh)
                    step = .evaluate(fresh)
                    return
                }
                if nodes[index].children.isEmpty {
                    finishSimulation(trail: trail, reward: nodes[index].reward, newlyCorrect: nil)
                    break
                }
                index = search.selectChild(of: index, nodes: nodes, rng: &rng)
                trail.append(index)
            }
        }
        step = .finished(outcome())
    }

    /// Backs the reward up the trail and applies the early-stop rules.
    private mutating func finishSimulation(trail: [Int], reward: Double, newlyCorrect: LayerPath?) {
        for i in trail {
            nodes[i].visits += 1
            nodes[i].totalReward += reward
        }
        let config = search.config
        if config.earlyStop, let found = newlyCorrect {
            if !defaultCorrect || found.count <= search.layerCount - config.targetSaving { stoppedEarly = true }
        }
    }

    private func outcome() -> MCTSOutcome {
        let L = search.layerCount
        var best: LayerPath?
        for e in evaluated where e.correct {
            if let b = best, !MCTSSearch.isPreferred(e.path, over: b, layerCount: L) { continue }
            best = e.path
        }
        return MCTSOutcome(layerCount: L, defaultCorrect: defaultCorrect, bestPath: best,
                           labels: best?.multiplicities(layerCount: L), kept: best != nil,
                           improved: !defaultCorrect && best != nil, evaluations: evaluated.count,
                           simulations: simulations, stoppedEarly: stoppedEarly, evaluated: evaluated)
    }
}
