import ArgumentParser
import Foundation

/// `bench`: the Dr.LLM Bench command line. Each subcommand parses its options and delegates.
@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Dr.LLM Bench: run language models with dynamic layer routing and score them on benchmarks.",
        version: BenchVersion.string,
        subcommands: [
            Tokenize.self, Score.self, Generate.self, Perf.self, PerfAttention.self,
            Models.self, Tasks.self, Prompt.self,
            Run.self, Merge.self, Compare.self, Report.self, Export.self, Serve.self,
            MCTS.self, TrainRouter.self, Oracle.self, StaticPath.self, ControlReportCommand.self, PerfRouted.self,
        ]
    )
}

/// The version recorded in results.
enum BenchVersion {
    static let string = "0.1.0"
}
