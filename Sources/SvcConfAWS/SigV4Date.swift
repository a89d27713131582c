#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A SigV4 date: `YYYYMMDDTHHMMSSZ` (the `X-Amz-Date` value) and its `YYYYMMDD` stamp (the credential
/// scope's date), always UTC, whole seconds.
///
/// Signing output depends on the time, so the signer takes the date as a parameter: production code
/// passes ``now()``, tests pin a fixed date. Dates cover the years 0000...9999 (what the 4-digit format
/// can say); `init(secondsSinceEpoch:)` clamps anything outside to that range.
public struct SigV4Date: Sendable, Equatable {
    /// Seconds since 1970-01-01T00:00:00Z.
    public let secondsSinceEpoch: Int64

    /// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
    static let representable: ClosedRange<Int64> = -62_167_219_200 ... 253_402_300_799

    /// The date `secondsSinceEpoch` seconds after 1970-01-01T00:00:00Z (clamped to the years 0000...9999).
    public init(secondsSinceEpoch: Int64) {
        self.secondsSinceEpoch = min(max(secondsSinceEpoch, Self.representable.lowerBound), Self.representable.upperBound)
    }

    /// Parses an `X-Amz-Date` value, `20150830T123600Z`: exactly 16 characters, a real calendar date and
    /// a time of day 00:00:00...23:59:59. Nil for anything else.
    public init?(amzDate: String) {
        let b = Array(amzDate.utf8)
        guard b.count == 16, b[8] == UInt8(ascii: "T"), b[15] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int64? {
            var n: Int64 = 0
            for i in range {
                guard b[i] >= 0x30, b[i] <= 0x39 else { return nil }
                n = n * 10 + Int64(b[i] - 0x30)
            }
            return n
        }
        guard let year = number(0 ..< 4), let month = number(4 ..< 6), let day = number(6 ..< 8),
              let hour = number(9 ..< 11), let minute = number(11 ..< 13), let second = number(13 ..< 15),
              (1 ... 12).contains(month), day >= 1, day <= Self.daysInMonth(year: year, month: month),
              hour < 24, minute < 60, second < 60
        else { return nil }
        let days = Self.daysFromCivil(year: year, month: month, day: day)
        self.init(secondsSinceEpoch: days * 86_400 + hour * 3_600 + minute * 60 + second)
    }

    /// The current time from the system's real-time clock (`clock_gettime(CLOCK_REALTIME)`).
    public static func now() -> SigV4Date {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return SigV4Date(secondsSinceEpoch: Int64(ts.tv_sec))
    }

    /// `20150830T123600Z`.
    public var amzDate: String {
        String(unsafeUninitializedCapacity: 16) { write(into: $0); return 16 }
    }

    /// `20150830`.
    public var dateStamp: String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 16) { buffer in
            write(into: buffer)
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[0 ..< 8]), as: UTF8.self)
        }
    }

    /// Days since 1970-01-01 (floor division, so dates before 1970 fall on the right day).
    var dayNumber: Int64 {
        secondsSinceEpoch >= 0 ? secondsSinceEpoch / 86_400 : -((-secondsSinceEpoch + 86_399) / 86_400)
    }

    /// Writes the 16 ASCII bytes of ``amzDate`` (the first 8 are ``dateStamp``) to `out[0 ..< 16]`.
    private func write(into out: UnsafeMutableBufferPointer<UInt8>) {
        let days = dayNumber
        let secondOfDay = secondsSinceEpoch - days * 86_400
        let (year, month, day) = Self.civilFromDays(days)
        let hour = secondOfDay / 3_600, minute = secondOfDay / 60 % 60, second = secondOfDay % 60
        func put(_ value: Int64, _ at: Int, _ width: Int) {
            var v = value
            for i in stride(from: at + width - 1, through: at, by: -1) {
                out[i] = UInt8(truncatingIfNeeded: v % 10) + 0x30
                v /= 10
            }
        }
        put(year, 0, 4); put(month, 4, 2); put(day, 6, 2)
        out[8] = UInt8(ascii: "T")
        put(hour, 9, 2); put(minute, 11, 2); put(second, 13, 2)
        out[15] = UInt8(ascii: "Z")
    }

    // MARK: - Proleptic Gregorian calendar (H. Hinnant's days_from_civil / civil_from_days)

    static func isLeap(_ y: Int64) -> Bool { y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) }

    static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilFromDays(_ days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
