#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Foundation
import SvcConfAWS

/// Placeholder until the transport is written; see the issue.
public struct URLSessionTransport: HTTPTransport {
    public init() {}
    public func send(_ request: HTTPRequest, timeout: Double) async throws -> HTTPResponse {
        throw AWSError(.connection, "not implemented")
    }
}
