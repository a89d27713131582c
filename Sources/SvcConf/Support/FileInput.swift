/// Reading user-named input files and standard input, with size limits and the core's error classes.
public enum FileInput {
    /// Reads a regular file of at most `limit` bytes.
    public static func read(_ path: String, limit: Int = 16 << 20) throws(SvcConfError) -> [UInt8] {
        try LocalFS.read(path, limit: limit)
    }

    /// Reads all of standard input, at most `limit` bytes.
    public static func readStandardInput(limit: Int = 16 << 20) throws(SvcConfError) -> [UInt8] {
        try LocalFS.readAll(fd: 0, limit: limit)
    }
}
