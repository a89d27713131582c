import Hummingbird
import SvcConf

/// Responses: JSON documents written with the core's canonical JSON writer, plain text, errors.
enum JSONReply {
    /// `value` as JSON with `status`.
    static func json(_ value: ConfigValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var bytes = JSON.canonical(value)
        bytes.append(0x0A)
        var h = headers
        h[.contentType] = "application/json"
        return Response(status: status, headers: h, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// `text` as `contentType` (UTF-8).
    static func text(_ text: String, contentType: String, headers: HTTPFields = [:]) -> Response {
        var h = headers
        h[.contentType] = contentType
        return Response(status: .ok, headers: h, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// The error document with the error's status and headers.
    static func error(_ e: APIError) -> Response {
        json(e.jsonValue, status: e.status, headers: e.headers)
    }
}
