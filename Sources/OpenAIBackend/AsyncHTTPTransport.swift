import AsyncHTTPClient
import Foundation
import NIOCore

/// `HTTPTransport` over one process-wide AsyncHTTPClient (pooled connections, no shutdown needed,
/// like `HTTPClient.shared`).
public struct AsyncHTTPTransport: HTTPTransport {
    /// AsyncHTTPClient's shared client retries a refused connection until the request's deadline
    /// (minutes here); ours fails it at once, so `CompletionsClient`'s retries and backoff, which
    /// count attempts and name them in the error, are the only ones.
    private static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(10)
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// Largest body accepted: echoed log-probabilities of long prompts run to megabytes.
    public var maxResponseBytes: Int

    public init(maxResponseBytes: Int = 256 << 20) {
        self.maxResponseBytes = maxResponseBytes
    }

    public func post(_ url: URL, json: Data, headers: [(String, String)], timeoutSeconds: Double) async throws -> HTTPAnswer {
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: json))
        let response = try await Self.client.execute(request, timeout: .milliseconds(Int64(timeoutSeconds * 1000)))
        let body = try await response.body.collect(upTo: maxResponseBytes)
        return HTTPAnswer(status: Int(response.status.code), body: Data(body.readableBytesView))
    }
}
