import ArgumentParser
import Engine
import Foundation
import Routing
import Runs
import Serving
import Support

/// `bench serve`: the engine behind an OpenAI-compatible API.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the model behind an OpenAI-compatible API (GET /v1/models, POST /v1/completions, POST /v1/chat/completions, GET /health).",
        discussion: """
        The model name picks the layers: M runs every block, M:routed the model's routers, \
        M:path=0,1,1,3,… a fixed path. Greedy decoding only (temperature 0). Prints one JSON line \
        with the address once listening; stops on SIGINT or SIGTERM.
        """)

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "Address to listen on (loopback by default; another address exposes the engine to the network).")
    var host: String = "127.0.0.1"
    @Option(help: "Port (0: any free port, printed once listening).") var port: Int = 8000
    @Option(name: .customLong("api-key"), help: "Require 'Authorization: Bearer <key>' on every request but GET /health.")
    var apiKey: String?
    @Option(help: "Router file for M:routed (default: the model's routers from the registry, when the file is there; 'none': no routed model).")
    var router: String?
    @Option(help: "Requests that may wait for the engine; one more is answered 429.") var queue: Int = 256
    @Option(name: .customLong("max-body-bytes"), help: "Largest request body taken; a larger one is answered 413.")
    var maxBodyBytes: Int = 4 << 20

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        guard queue >= 1 else { throw ValidationError("--queue must be at least 1") }
        guard maxBodyBytes >= 1024 else { throw ValidationError("--max-body-bytes must be at least 1024") }
        if let apiKey, apiKey.isEmpty { throw ValidationError("--api-key must not be empty") }
    }

    func run() throws {
        let resolved = try modelOptions.resolve()
        let template = try modelOptions.template(of: resolved)
        var routers: RouterFilesResult?
        let routerFile = router ?? resolved.entry?.routers
        if routerFile != "none", let routerFile, router != nil || FileManager.default.fileExists(atPath: routerFile) {
            let loaded = try RouterFiles.load(routerFile, for: resolved, modelSHA256: try FileDigest.sha256(path: resolved.path),
                                              hint: "train one with `bench train-router`, or pass --router none")
            routers = RouterFilesResult(set: loaded.set, file: loaded.file)
        }
        let model = try TransformerModel(path: resolved.path, name: resolved.name, threads: modelOptions.threads)
        let service = CompletionService(engine: model, routers: routers?.set, chatTemplate: template,
                                        settings: .init(apiKey: apiKey, maxBodyBytes: maxBodyBytes, queueCapacity: queue))
        let host = self.host
        let names = service.selector.listedNames
        let routerFileName = routers?.file
        try ServeWorkflow.run(service, host: host, port: port) { port in
            var line: [String: Any] = ["listening": "http://\(host):\(port)/v1", "models": names]
            if let routerFileName { line["router"] = routerFileName }
            if let data = try? JSONSerialization.data(withJSONObject: line, options: [.sortedKeys, .withoutEscapingSlashes]) {
                FileHandle.standardOutput.write(data + Data("\n".utf8))
            }
        }
    }
}

private struct RouterFilesResult {
    let set: RouterSet
    let file: String
}
