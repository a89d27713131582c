/// Turns S3 error answers into ``AWSError``s.
///
/// S3 answers errors with an XML body, `<Error><Code>NoSuchKey</Code><Message>...</Message>
/// <RequestId>...</RequestId>...</Error>`; HEAD answers have no body, so their code comes from the
/// status alone. Only the code, AWS's message, the status and the request id are kept: never the
/// request's headers or body, nor other elements of the answer.
public enum S3Errors {
    /// The `<Error><Code>` of an XML error body, if it has one.
    public static func code(of response: HTTPResponse) -> String? {
        guard let root = try? XMLReader.parse(response.body), root.localName == "Error" else { return nil }
        return root.childText("Code").map(clean)
    }

    /// The error for an S3 answer that is not a success. `what` names the operation and its target,
    /// e.g. `get s3://bucket/key`; it starts the message.
    public static func error(from response: HTTPResponse, what: String) -> AWSError {
        let headerRequestId = response.header("x-amz-request-id")
        var code: String?
        var message: String?
        var requestId: String?
        if !response.body.isEmpty, let root = try? XMLReader.parse(response.body), root.localName == "Error" {
            code = root.childText("Code").map(clean).flatMap { $0.isEmpty ? nil : $0 }
            message = root.childText("Message").map(clean).flatMap { $0.isEmpty ? nil : $0 }
            requestId = root.childText("RequestId").map(clean).flatMap { $0.isEmpty ? nil : $0 }
        } else if !response.body.isEmpty {
            message = "HTTP \(response.status) with a body that is not an S3 error document"
        }
        if code == nil { code = codeForStatus(response.status) }
        var text = message ?? defaultMessage(response.status)
        if response.status == 301 || response.status == 307 || code == "PermanentRedirect" || code == "AuthorizationHeaderMalformed",
           let region = response.header("x-amz-bucket-region").map(clean), !region.isEmpty {
            text += " (the bucket is in region \(region))"
        }
        return AWSError(.service, what + ": " + text, status: response.status, code: code,
                        requestId: requestId ?? headerRequestId.map(clean))
    }

    /// The code for a bodiless answer (HEAD), as the AWS SDKs name them.
    static func codeForStatus(_ status: Int) -> String? {
        switch status {
        case 301: return "PermanentRedirect"
        case 304: return "NotModified"
        case 307: return "TemporaryRedirect"
        case 400: return "BadRequest"
        case 403: return "Forbidden"
        case 404: return "NotFound"
        case 405: return "MethodNotAllowed"
        case 409: return "Conflict"
        case 412: return "PreconditionFailed"
        case 500: return "InternalError"
        case 503: return "ServiceUnavailable"
        default: return nil
        }
    }

    static func defaultMessage(_ status: Int) -> String {
        switch status {
        case 301, 307: return "redirected to another endpoint (wrong region?)"
        case 304: return "not modified"
        case 400: return "bad request"
        case 403: return "access denied"
        case 404: return "not found"
        case 412: return "precondition failed"
        case 500...599: return "server error (HTTP \(status))"
        default: return "HTTP \(status)"
        }
    }

    /// Server text goes into terminals and logs: control characters become spaces, and it is cut at
    /// 500 characters.
    static func clean(_ s: String) -> String {
        var out = ""
        for ch in s.unicodeScalars.prefix(500) {
            out.unicodeScalars.append(ch.value < 0x20 || (0x7F...0x9F).contains(ch.value) ? " " : ch)
        }
        var trimmed = Substring(out)
        while trimmed.first == " " { trimmed.removeFirst() }
        while trimmed.last == " " { trimmed.removeLast() }
        return String(trimmed)
    }
}

extension AWSError {
    /// A missing object: 404 `NoSuchKey` (or `NotFound`, from a HEAD), not a missing bucket
    /// (`NoSuchBucket`). A HEAD answer has no body, so there a missing bucket looks the same.
    /// (Added by the S3 client; not part of the shared error API.)
    public var isNotFound: Bool {
        kind == .service && status == 404 && code != "NoSuchBucket"
    }

    /// A conditional write lost: 412 `PreconditionFailed` (`If-None-Match: *` on an existing key,
    /// `If-Match` with a stale ETag), or 409 `ConditionalRequestConflict` (a concurrent conditional
    /// write on AWS). (Added by the S3 client.)
    public var isPreconditionFailed: Bool {
        kind == .service && (status == 412 || (status == 409 && code == "ConditionalRequestConflict"))
    }
}
