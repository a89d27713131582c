/// Capped exponential backoff with full jitter, for retries after a lost race.
enum Backoff {
    static func sleep(attempt: Int, baseMillis: UInt64 = 5, capMillis: UInt64 = 500) async {
        let ceiling = min(capMillis, baseMillis << UInt64(min(attempt, 16)))
        let ms = UInt64.random(in: 0...max(1, ceiling))
        try? await Task.sleep(nanoseconds: ms * 1_000_000)
    }
}
