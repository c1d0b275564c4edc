import Foundation

/// How a benchmark is configured for one run.
public struct BenchmarkOptions: Sendable {
    /// `--fewshot`: overrides the default number of examples where lm-eval lets it.
    public var fewshot: Int?
    /// lm-eval's `fewshot_random_seed`.
    public var fewshotSeed: Int
    /// The model's chat template; used by the paper's in-domain prompts (ARC letter form, DART).
    /// `PlainTemplate` (base models) selects the paper's base-model prompts.
    public var chatTemplate: any ChatTemplate
    /// Which split to load: the evaluation split, or the training split for MCTS (ARC, DART).
    public var split: DocumentSplit
    /// Overrides generative tasks' token cap (lm-eval's `--gen_kwargs max_gen_toks=N`; needed for
    /// AIME, whose 32768 exceeds small models' context). Ignored by the paper's short-answer forms.
    public var maxGenerationTokens: Int?
    /// The global Python seed lm-eval starts from (GPQA's answer shuffle).
    public var pythonSeed: Int

    public init(fewshot: Int? = nil, fewshotSeed: Int = 1234, chatTemplate: any ChatTemplate = PlainTemplate(),
                split: DocumentSplit = .evaluation, maxGenerationTokens: Int? = nil, pythonSeed: Int = 0) {
        self.fewshot = fewshot
        self.fewshotSeed = fewshotSeed
        self.chatTemplate = chatTemplate
        self.split = split
        self.maxGenerationTokens = maxGenerationTokens
        self.pythonSeed = pythonSeed
    }
}

/// One benchmark of the registry: its name and how to build it. Everything else the harness
/// needs — suites, metrics and their scale, whether MCTS can search its training split — is the
/// benchmark's own `BenchmarkInfo`, so nothing about a benchmark is written anywhere else.
public struct BenchmarkDescriptor: Sendable {
    /// Registry name (lm-eval's where there is one).
    public let name: String
    /// Builds the benchmark for a run's options (no data is read).
    public let make: @Sendable (BenchmarkOptions) -> any Benchmark

    public init(_ name: String, make: @escaping @Sendable (BenchmarkOptions) -> any Benchmark) {
        self.name = name
        self.make = make
    }
}

/// All benchmarks by name, their subtasks and the suites.
///
/// Names follow lm-evaluation-harness: `arc_easy`, `arc_challenge`, `dart_1`…`dart_5`, `mmlu`
/// (+ `mmlu_<subject>`), `gsm8k`, `aime24`, `truthfulqa_mc1`, `truthfulqa_mc2`, `squadv2`,
/// `gpqa_diamond`, `piqa`, `agieval_en` (+ `agieval_<subset>`). The paper's letter form of ARC is
/// registered beside the cloze form as `arc_easy_letter` / `arc_challenge_letter`, outside the suites.
///
/// Adding a benchmark: one source file with its `Benchmark` type, its data folder under `tasks/`,
/// and one line in `descriptors` (see tasks/README.md).
public enum BenchmarkRegistry {
    /// Every top-level benchmark, in display order (a suite runs its members in this order).
    public static let descriptors: [BenchmarkDescriptor] = [
        BenchmarkDescriptor("arc_easy") { _ in ARCBenchmark(set: .easy) },
        BenchmarkDescriptor("arc_challenge") { _ in ARCBenchmark(set: .challenge) },
        BenchmarkDescriptor("arc_easy_letter") { ARCLetterBenchmark(set: .easy, template: $0.chatTemplate) },
        BenchmarkDescriptor("arc_challenge_letter") { ARCLetterBenchmark(set: .challenge, template: $0.chatTemplate) },
    ] + (1...5).map { level in
        BenchmarkDescriptor("dart_\(level)") { DARTBenchmark(level: level, template: $0.chatTemplate) }
    } + [
        BenchmarkDescriptor("mmlu") { _ in MMLUBenchmark() },
        BenchmarkDescriptor("gsm8k") { GSM8KBenchmark(maxTokens: $0.maxGenerationTokens ?? 256) },
        BenchmarkDescriptor("aime24") { AIMEBenchmark(maxTokens: $0.maxGenerationTokens ?? 32768) },
        BenchmarkDescriptor("truthfulqa_mc1") { _ in TruthfulQABenchmark(variant: .mc1) },
        BenchmarkDescriptor("truthfulqa_mc2") { _ in TruthfulQABenchmark(variant: .mc2) },
        BenchmarkDescriptor("gpqa_diamond") { GPQABenchmark(shuffleSeed: $0.pythonSeed) },
        BenchmarkDescriptor("squadv2") { SQuADv2Benchmark(maxTokens: $0.maxGenerationTokens ?? 256) },
        BenchmarkDescriptor("piqa") { _ in PIQABenchmark() },
        BenchmarkDescriptor("agieval_en") { _ in AGIEvalBenchmark() },
    ]

    /// The members of the groups (`mmlu_<subject>`, `agieval_<subset>`), loadable on their own.
    public static let subtaskDescriptors: [BenchmarkDescriptor] =
        MMLUSubjects.all.map { subject in BenchmarkDescriptor("mmlu_" + subject) { _ in MMLUBenchmark(subject: subject) } }
        + AGIEvalSubsets.english.map { subset in
            BenchmarkDescriptor("agieval_" + subset.name) { _ in AGIEvalBenchmark(subset: subset.name) }
        }

    /// The top-level benchmarks, in display order.
    public static var names: [String] { descriptors.map(\.name) }

    /// Subtask names of the groups (`mmlu_<subject>`, `agieval_<subset>`).
    public static var subtaskNames: [String] { subtaskDescriptors.map(\.name) }

    /// Every name `load` accepts.
    public static var allNames: [String] { names + subtaskNames }

    /// The benchmarks of a suite, in display order, as each benchmark's `info.suites` declares.
    public static func names(in suite: BenchmarkSuite) -> [String] {
        switch suite {
        case .indomain, .ood:
            return descriptors.filter { $0.make(BenchmarkOptions()).info.suites.contains(suite) }.map(\.name)
        case .all: return names(in: .indomain) + names(in: .ood)
        }
    }

    /// The benchmarks whose training split MCTS path search can read (`info.searchableTrainingSplit`).
    public static var searchableNames: [String] {
        descriptors.filter { $0.make(BenchmarkOptions()).info.searchableTrainingSplit }.map(\.name)
    }

    /// Expands a comma-separated list of benchmark and suite names (e.g. `ood`, `arc_easy,gsm8k`)
    /// into benchmark names, keeping order and dropping repeats.
    public static func resolve(_ list: String) throws -> [String] {
        var result: [String] = []
        for item in list.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
            let expanded: [String]
            if let suite = BenchmarkSuite(rawValue: item) {
                expanded = names(in: suite)
            } else if allNames.contains(item) {
                expanded = [item]
            } else {
                throw BenchmarkDataError.unknownBenchmark(name: item, known: names + BenchmarkSuite.allCases.map(\.rawValue))
            }
            for name in expanded where !result.contains(name) { result.append(name) }
        }
        return result
    }

    /// The benchmark called `name`, configured by `options`.
    public static func benchmark(named name: String, options: BenchmarkOptions = BenchmarkOptions()) throws -> any Benchmark {
        guard let descriptor = (descriptors + subtaskDescriptors).first(where: { $0.name == name }) else {
            throw BenchmarkDataError.unknownBenchmark(name: name, known: names + BenchmarkSuite.allCases.map(\.rawValue))
        }
        return descriptor.make(options)
    }

    /// `bench tasks` information for `name` (no data is read).
    public static func info(_ name: String, options: BenchmarkOptions = BenchmarkOptions(chatTemplate: ChatMLTemplate(defaultSystemPrompt: nil))) throws -> BenchmarkInfo {
        try benchmark(named: name, options: options).info
    }

    /// Loads `name` from `tasksDirectory`: reads and verifies its data and draws its few-shot examples.
    public static func load(_ name: String, from tasksDirectory: URL, options: BenchmarkOptions = BenchmarkOptions()) throws -> LoadedBenchmark {
        let benchmark = try benchmark(named: name, options: options)
        return try LoadedBenchmark(benchmark, tasksDirectory: tasksDirectory, split: options.split,
                                   fewshot: options.fewshot, fewshotSeed: options.fewshotSeed)
    }
}
