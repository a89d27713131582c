import Hummingbird
import SvcConf
import SvcConfCrypto

/// Server-rendered HTML for the review pages (`/ui/...`): escaping, the page frame, and the headers
/// every page carries. No script, no external asset: the one stylesheet is inline and allowed by
/// its SHA-256 in a strict Content-Security-Policy.
enum HTML {
    /// `s` with `&`, `<`, `>`, `"` and `'` escaped: safe in text and in quoted attribute values.
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// A path segment or query value percent-encoded (unreserved characters kept).
    static func urlComponent(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                out += "%"
                out.unicodeScalars.append(hex[Int(b >> 4)])
                out.unicodeScalars.append(hex[Int(b & 0xF)])
            }
        }
        return out
    }

    /// The stylesheet (inline; its hash is in the CSP).
    static let css = """
    body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1b1b1b;background:#fafafa}
    header{background:#1f3a5f;color:#fff;padding:.6em 1.2em;display:flex;gap:1em;align-items:center}
    header a{color:#fff}header form{margin-left:auto}main{padding:1em 1.2em;max-width:75em}
    table{border-collapse:collapse;margin:.6em 0;background:#fff}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
    th{background:#eef1f5}code,.v{font-family:ui-monospace,monospace;font-size:13px;white-space:pre-wrap;word-break:break-all}
    .added{background:#e8f6e8}.removed{background:#fbeaea}.changed{background:#fff7e0}.secret{color:#6a3d9a}
    .err{border:1px solid #c33;background:#fdecec;padding:.6em}.muted{color:#666}form.inline{display:inline}
    """

    /// `'sha256-...'` of the stylesheet.
    static let cssHash: String = "'sha256-" + Base64.encode(SHA256.hash(Array(css.utf8))) + "'"

    /// The policy: nothing loads or runs except the inline stylesheet; forms post only here; no framing.
    static let contentSecurityPolicy =
        "default-src 'none'; style-src \(cssHash); img-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    /// Headers of every page.
    static func headers(_ extra: HTTPFields = [:]) -> HTTPFields {
        var h = extra
        h[.contentType] = "text/html; charset=utf-8"
        h[.contentSecurityPolicy] = contentSecurityPolicy
        h[.cacheControl] = "no-store"
        h[HTTPFields.Element.Name("X-Content-Type-Options")!] = "nosniff"
        h[HTTPFields.Element.Name("X-Frame-Options")!] = "DENY"
        h[HTTPFields.Element.Name("Referrer-Policy")!] = "same-origin"  // no-referrer would make browsers send Origin: null on our own forms
        h[HTTPFields.Element.Name("Cross-Origin-Opener-Policy")!] = "same-origin"
        return h
    }

    /// A whole page. `title` is text (escaped here); `body` is HTML built with ``escape(_:)``.
    /// `who`: the signed-in token's name, for the header (with a sign-out button when by cookie).
    static func page(title: String, who: String? = nil, signedInByCookie: Bool = false, body: String) -> String {
        var s = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        s += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        s += "<meta name=\"referrer\" content=\"same-origin\">"
        s += "<title>\(escape(title)) - svcconf</title><style>\(css)</style></head><body>"
        s += "<header><strong>svcconf review</strong><a href=\"/ui/\">configs</a>"
        if let who {
            s += "<span class=\"muted\">token: \(escape(who))</span>"
            if signedInByCookie {
                s += "<form class=\"inline\" method=\"post\" action=\"/ui/logout\"><button type=\"submit\">Sign out</button></form>"
            }
        }
        s += "</header><main><h1>\(escape(title))</h1>\n\(body)\n</main></body></html>\n"
        return s
    }

    /// A page as a response.
    static func response(_ html: String, status: HTTPResponse.Status = .ok, headers extra: HTTPFields = [:]) -> Response {
        Response(status: status, headers: headers(extra), body: .init(byteBuffer: ByteBuffer(string: html)))
    }
}
