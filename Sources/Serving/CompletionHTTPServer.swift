import Foundation
import Hummingbird
import Logging

/// `CompletionService` on a socket (Hummingbird 2, HTTP/1.1).
public struct CompletionHTTPServer: Sendable {
    public let service: CompletionService
    public let host: String
    public let port: Int

    /// - Parameter port: 0 picks a free port (reported to `onReady`).
    public init(service: CompletionService, host: String = "127.0.0.1", port: Int = 8000) {
        self.service = service
        self.host = host
        self.port = port
    }

    /// Serves until the task is cancelled (`gracefulShutdown`: also until SIGINT/SIGTERM);
    /// `onReady` gets the port once the server listens.
    public func run(gracefulShutdown: Bool = false, logLevel: Logger.Level = .warning,
                    onReady: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        var logger = Logger(label: "bench-serve")
        logger.logLevel = logLevel
        let fallbackPort = port
        let app = Application(
            responder: ServiceResponder(service: service),
            configuration: .init(address: .hostname(host, port: port), serverName: "drllm-bench"),
            onServerRunning: { channel in onReady(channel.localAddress?.port ?? fallbackPort) },
            logger: logger)
        if gracefulShutdown { try await app.runService() } else { try await app.run() }
    }
}

/// Hands every request to the service: the body is read up to the service's limit (a larger one
/// is answered 413 without reading the rest).
struct ServiceResponder: HTTPResponder {
    typealias Context = BasicRequestContext
    let service: CompletionService

    func respond(to request: Request, context: Context) async throws -> Response {
        let limit = service.settings.maxBodyBytes
        var body = Data()
        for try await chunk in request.body {
            guard body.count + chunk.readableBytes <= limit else {
                return Self.response(service.bodyTooLargeReply)
            }
            body.append(contentsOf: chunk.readableBytesView)
        }
        let reply = await service.handle(method: request.method.rawValue, path: request.uri.path,
                                         authorization: request.headers[.authorization], body: body)
        return Self.response(reply)
    }

    static func response(_ reply: ServiceReply) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: HTTPResponse.Status(code: reply.status), headers: headers,
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: reply.body)))
    }
}

/// `bench serve` as a library function: serves `service` until SIGINT or SIGTERM, blocking the
/// calling thread; `onReady` gets the port once the server listens.
public enum ServeWorkflow {
    public static func run(_ service: CompletionService, host: String, port: Int,
                           onReady: @escaping @Sendable (Int) -> Void) throws {
        let done = DispatchSemaphore(value: 0)
        let failure = FailureBox()
        Task.detached {
            do {
                try await CompletionHTTPServer(service: service, host: host, port: port)
                    .run(gracefulShutdown: true, onReady: onReady)
            } catch {
                failure.error = error
            }
            done.signal()
        }
        done.wait()
        service.stop()
        if let error = failure.error {
            let text = String(describing: error)
            if text.contains("Address already in use") {
                throw ServeError.cannotListen(host: host, port: port, reason: "the address is already in use (another server?); pick another --port, or 0 for any free port")
            }
            if text.contains("bind(") { throw ServeError.cannotListen(host: host, port: port, reason: text) }
            throw error
        }
    }
}

/// Why `bench serve` could not start.
public enum ServeError: LocalizedError, CustomStringConvertible {
    case cannotListen(host: String, port: Int, reason: String)

    public var errorDescription: String? { description }

    public var description: String {
        switch self {
        case let .cannotListen(host, port, reason): return "cannot listen on \(host):\(port): \(reason)"
        }
    }
}

private final class FailureBox: @unchecked Sendable {
    var error: (any Error)?
}
