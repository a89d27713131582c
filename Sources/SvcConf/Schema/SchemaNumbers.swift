/// Exact number handling for `multipleOf` and the comparison keywords.
///
/// A ``ConfigNumber`` is an Int64 or a binary64 double. Comparisons are exact between the two kinds.
/// `multipleOf` works on the shortest decimal text of each number (what the JSON said, for any number
/// a double can round-trip), so `0.0075` is a multiple of `0.0001` and `1e308` is a multiple of `0.5`.
struct SchemaDecimal: Sendable, Equatable {
    /// |value| = mantissa × 10^exponent, mantissa without trailing zeros (0 for zero).
    var mantissa: UInt64
    var exponent: Int

    init?(_ n: ConfigNumber) {
        switch n {
        case .int(let i):
            mantissa = i.magnitude
            exponent = 0
        case .double(let d):
            guard d.isFinite else { return nil }
            // Swift prints the shortest text that round-trips: "0.0075", "1e-08", "1.2345e+52", "4.5".
            var digits: UInt64 = 0
            var ndigits = 0
            var fracDigits = 0
            var exp = 0
            var inFraction = false
            var text = Substring(d.magnitude.description)
            if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
                guard let x = Int(text[text.index(after: e)...].replacing("+", with: "")) else { return nil }
                exp = x
                text = text[..<e]
            }
            for c in text.utf8 {
                if c == 0x2E { inFraction = true; continue }
                guard c >= 0x30 && c <= 0x39 else { return nil }
                if ndigits >= 19 { return nil }
                digits = digits * 10 + UInt64(c - 0x30)
                if digits > 0 { ndigits += 1 }
                if inFraction { fracDigits += 1 }
            }
            mantissa = digits
            exponent = exp - fracDigits
        }
        if mantissa == 0 { exponent = 0; return }
        while mantissa % 10 == 0 {
            mantissa /= 10
            exponent += 1
        }
    }

    /// (a × b) mod m, for a, b < m.
    private static func mulmod(_ a: UInt64, _ b: UInt64, _ m: UInt64) -> UInt64 {
        let (hi, lo) = a.multipliedFullWidth(by: b)
        return m.dividingFullWidth((hi, lo)).remainder
    }

    /// True when `x` is an integer multiple of `self` (which is positive).
    func divides(_ x: SchemaDecimal) -> Bool {
        if x.mantissa == 0 { return true }
        let m = mantissa
        if x.exponent >= exponent {
            // x.mantissa × 10^(x.exponent − exponent) ≡ 0 (mod m)
            var r = x.mantissa % m
            var e = x.exponent - exponent
            var p: UInt64 = 10 % m
            var acc: UInt64 = 1 % m
            while e > 0 {
                if e & 1 == 1 { acc = Self.mulmod(acc, p, m) }
                p = Self.mulmod(p, p, m)
                e >>= 1
            }
            r = Self.mulmod(r, acc, m)
            return r == 0
        } else {
            // x.mantissa must be divisible by m × 10^(exponent − x.exponent)
            var d = m
            for _ in 0..<(exponent - x.exponent) {
                let (v, o) = d.multipliedReportingOverflow(by: 10)
                if o || v > x.mantissa { return false }
                d = v
            }
            return x.mantissa % d == 0
        }
    }
}

enum SchemaNumbers {
    /// -1, 0 or 1 as `a` is less than, equal to or greater than `b`, exactly.
    static func compare(_ a: ConfigNumber, _ b: ConfigNumber) -> Int {
        switch (a, b) {
        case (.int(let x), .int(let y)): return x < y ? -1 : (x == y ? 0 : 1)
        case (.double(let x), .double(let y)): return x < y ? -1 : (x == y ? 0 : 1)
        case (.int(let x), .double(let y)): return compareIntDouble(x, y)
        case (.double(let x), .int(let y)): return -compareIntDouble(y, x)
        }
    }

    private static func compareIntDouble(_ i: Int64, _ d: Double) -> Int {
        if d >= 9_223_372_036_854_775_808.0 { return -1 }
        if d < -9_223_372_036_854_775_808.0 { return 1 }
        let t = d.rounded(.down)
        let ti = Int64(t)  // in range
        if i < ti { return -1 }
        if i > ti { return 1 }
        return t == d ? 0 : -1  // i == floor(d): equal, or d has a fraction above i
    }
}
